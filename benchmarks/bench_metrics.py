"""Time the ward × period metrics on N synthetic stored cases (default 5,000,000).

Usage::

    python benchmarks/bench_metrics.py            # 5M cases (run it once: the machine is shared)
    python benchmarks/bench_metrics.py --n 200000 # quick

It writes N synthetic cases (Liverpool-sized box, 64 wards, 11 categories, 4 financial years,
~12 % open, 10 % cancelled/duplicate) plus enforcement and population into a temporary DuckDB
file, then times, once each:

- ``baseline``: plain pandas ``groupby`` (str keys) of count + median days to close by
  ward × month, on a frame already in memory (the reference point from notes/performance.md);
- ``table_stored_repeats``: ``ward_period_table(store)`` on a store with the per-case columns
  ingest writes (``is_repeat``, ``reported_day``, ``closed_day``, ``issued_day``): SQL in
  place over the stored columns, nothing per case leaves DuckDB (what the app does);
- ``table_cached_repeats``: the same on a store without ``is_repeat``, second call: flags come
  from the in-process cache keyed by the store revision (the app's situation);
- ``flag_repeats_cold``: computing the repeat flags for all N cases;
- ``table_pandas``: the pandas reference engine (only when N ≤ 1M; it is the slow path).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neighbourhood import metrics  # noqa: E402
from neighbourhood.repeats import flag_repeats  # noqa: E402
from neighbourhood.store import (  # noqa: E402
    CODES_COLUMNS,
    _add_codes,
    _case_codes_select,
    _create_sql,
    _local_day_array,
)

CATS = ["fly_tipping", "litter", "detritus", "graffiti", "fly_posting", "dog_fouling", "overflowing_bin",
        "weeds", "abandoned_vehicle", "needles", "other"]  # fmt: skip


class BenchStore:
    def __init__(self, path: Path, revision: str) -> None:
        self.path = path
        self._rev = revision

    @contextlib.contextmanager
    def read(self):
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            yield con
        finally:
            con.close()

    def revision(self) -> str:
        return self._rev


def generate(n: int, seed: int = 1) -> tuple[pa.Table, pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    start_us = pd.Timestamp("2021-04-01", tz="UTC").value // 1000
    rep_us = start_us + rng.integers(0, 4 * 365 * 86400, n) * 1_000_000
    status = rng.choice(["open", "closed", "cancelled", "duplicate"], n, p=[0.12, 0.78, 0.06, 0.04])
    dur_us = (rng.exponential(4 * 86400, n) * 1e6).astype(np.int64)
    closed = np.where(status == "open", np.iinfo(np.int64).min, rep_us + dur_us)
    # clustered locations: half around 3,000 hotspots, half uniform
    hot_lat = 53.33 + rng.random(3000) * 0.2
    hot_lon = -3.0 + rng.random(3000) * 0.25
    h = rng.integers(0, 3000, n)
    near = rng.random(n) < 0.5
    lat = np.where(near, hot_lat[h] + rng.normal(0, 0.0003, n), 53.33 + rng.random(n) * 0.2)
    lon = np.where(near, hot_lon[h] + rng.normal(0, 0.0005, n), -3.0 + rng.random(n) * 0.25)
    wards = np.array([f"E0501{5000 + i:04d}" for i in range(64)])
    wi = np.clip(((lat - 53.33) / 0.2 * 8).astype(int), 0, 7) * 8 + np.clip(
        ((lon + 3.0) / 0.25 * 8).astype(int), 0, 7
    )
    ts = pa.timestamp("us", tz="UTC")
    cases = pa.table(
        {
            "case_id": pa.array(np.char.add("C", np.arange(n).astype(str))),
            "category": pa.array(rng.choice(CATS, n)),
            "reported_at": pa.array(rep_us, ts),
            "closed_at": pa.array(
                np.where(closed == np.iinfo(np.int64).min, 0, closed),
                ts,
                mask=closed == np.iinfo(np.int64).min,
            ),
            "status": pa.array(status),
            "latitude": pa.array(lat),
            "longitude": pa.array(lon),
            "ward_code": pa.array(wards[wi]),
            "ward_name": pa.array(np.char.add("Ward ", wards[wi])),
            "cost_gbp": pa.array(rng.choice([np.nan, 25.0, 60.0], n)),
        }
    )
    m = n // 10
    enf = pa.table(
        {
            "case_id": pa.array(np.char.add("E", np.arange(m).astype(str))),
            "offence": pa.array(
                rng.choice(["fly_tipping", "littering", "duty_of_care", "dog_fouling"], m)
            ),
            "action": pa.array(
                rng.choice(
                    [
                        "investigation",
                        "warning_letter",
                        "fixed_penalty_notice",
                        "prosecution",
                        "no_further_action",
                    ],
                    m,
                )
            ),
            "issued_at": pa.array(start_us + rng.integers(0, 4 * 365 * 86400, m) * 1_000_000, ts),
            "outcome": pa.array(rng.choice(["paid", "unpaid", "pending", "withdrawn"], m)),
            "amount_gbp": pa.array(np.full(m, 100.0)),
            "ward_code": pa.array(wards[rng.integers(0, 64, m)]),
        }
    )
    pop = pa.table(
        {
            "ward_code": pa.array(np.tile(wards, 5)),
            "year": pa.array(np.repeat(np.arange(2020, 2025), 64)),
            "population": pa.array(rng.integers(6000, 20000, 320)),
        }
    )
    return cases, enf, pop


def write_store(
    path: Path, cases: pa.Table, enf: pa.Table, pop: pa.Table, *, codes: bool = False
) -> None:
    """Write the tables; ``codes=True`` adds the schema-3 per-case codes as ingest does."""
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    for name, tbl in (("cases", cases), ("enforcement", enf), ("population", pop)):
        con.register("src", tbl)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM src")
        con.unregister("src")
    con.execute("ALTER TABLE cases ALTER reported_at TYPE TIMESTAMPTZ")
    con.execute("ALTER TABLE cases ALTER closed_at TYPE TIMESTAMPTZ")
    con.execute("ALTER TABLE enforcement ALTER issued_at TYPE TIMESTAMPTZ")
    if codes:
        add_codes(con)
    con.close()


def add_codes(con: duckdb.DuckDBPyConnection) -> None:
    """The schema-3 columns (store.CODED_COLUMNS) and ``value_codes``, with the store's SQL."""
    con.execute(_create_sql("value_codes", CODES_COLUMNS))
    _add_codes(con, "cases")
    con.execute(f"CREATE TABLE cases_coded AS SELECT c.*, {_case_codes_select('c')} FROM cases c")
    con.execute("DROP TABLE cases")
    con.execute("ALTER TABLE cases_coded RENAME TO cases")
    con.execute("CHECKPOINT")


def timed(label: str, fn, results: dict) -> object:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    results[label] = time.perf_counter() - t0
    cpu = time.process_time() - c0
    print(f"{label:28s} {results[label]:7.2f} s wall {cpu:7.2f} s CPU", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5_000_000)
    ap.add_argument("--period", default="month")
    args = ap.parse_args()
    n = args.n
    res: dict[str, float] = {}
    cases, enf, pop = timed("generate", lambda: generate(n), res)
    with tempfile.TemporaryDirectory() as tmp:
        frame = cases.select(["ward_code", "reported_at", "closed_at"]).to_pandas()

        def baseline(frame: pd.DataFrame = frame):
            local = frame["reported_at"].dt.tz_convert("Europe/London")
            month = local.dt.tz_localize(None).dt.to_period("M")
            days = (frame["closed_at"] - frame["reported_at"]) / pd.Timedelta(days=1)
            return (
                frame.assign(month=month, days=days)
                .groupby(["ward_code", "month"])
                .agg(cases=("days", "size"), median=("days", "median"))
            )

        timed("baseline_pandas_groupby", baseline, res)
        del frame
        flags = timed(
            "flag_repeats_cold",
            lambda: flag_repeats(
                _to_frame(
                    cases.select(["category", "reported_at", "latitude", "longitude", "status"])
                )
            ),
            res,
        )
        print(f"  repeat share {flags.mean():.3f}")
        stored = cases.append_column("is_repeat", pa.array(flags.to_numpy()))
        for day, ts in (("reported_day", "reported_at"), ("closed_day", "closed_at")):
            stored = stored.append_column(day, _local_day_array(stored.column(ts)))
        enf_stored = enf.append_column("issued_day", _local_day_array(enf.column("issued_at")))
        p1, p2 = Path(tmp) / "a.duckdb", Path(tmp) / "b.duckdb"
        timed(
            "write_stores",
            lambda: (
                write_store(p1, stored, enf_stored, pop, codes=True),
                write_store(p2, cases, enf, pop),
            ),
            res,
        )
        s1, s2 = BenchStore(p1, "r1"), BenchStore(p2, "r2")
        t1 = timed(
            "table_stored_repeats", lambda: metrics.ward_period_table(s1, period=args.period), res
        )
        timed(
            "table_first_call_no_flag",
            lambda: metrics.ward_period_table(s2, period=args.period),
            res,
        )
        t2 = timed(
            "table_cached_repeats", lambda: metrics.ward_period_table(s2, period=args.period), res
        )
        pd.testing.assert_frame_equal(t1, t2)
        if n <= 1_000_000:
            inp = metrics.load_inputs(s1)
            t3 = timed(
                "table_pandas_engine",
                lambda: metrics.ward_period_table(inp, period=args.period, engine="pandas"),
                res,
            )
            pd.testing.assert_frame_equal(t1, t3, check_exact=False, rtol=1e-9)
        print(
            f"rows in table: {len(t1)}; cases counted: {int(t1.loc[t1.ward_code == 'citywide', 'cases'].sum())}"
        )
    base = res["baseline_pandas_groupby"]
    print("\nratio vs plain pandas groupby (count + median only):")
    for k in (
        "table_stored_repeats",
        "table_cached_repeats",
        "table_first_call_no_flag",
        "table_pandas_engine",
    ):
        if k in res:
            print(f"  {k:28s} {res[k] / base:5.2f}×  ({res[k]:.2f} s)")


def _to_frame(t: pa.Table) -> pd.DataFrame:
    df = t.to_pandas()
    df["reported_at"] = df["reported_at"].dt.tz_convert("Europe/London")
    return df


if __name__ == "__main__":
    main()
