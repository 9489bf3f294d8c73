"""Per-case columns the store derives at ingest (local dates, repeat flags) and the metrics
path that reads them in place: they must always equal a from-scratch computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neighbourhood import periods as P
from neighbourhood import store as st
from neighbourhood.metrics import MetricInputs, effective_status, ward_period_table
from neighbourhood.repeats import flag_repeats
from neighbourhood.store import IngestBatch, Store

TZ = "Europe/London"
WARDS = ["E05000001", "E05000002", "E05000003"]


def frame(n: int, seed: int, id_offset: int = 0, days: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rep = pd.Timestamp("2023-01-01", tz=TZ) + pd.to_timedelta(rng.integers(0, days * 86400, n), "s")
    status = rng.choice(
        ["open", "closed", "cancelled", "duplicate", None], n, p=[0.1, 0.7, 0.08, 0.07, 0.05]
    )
    clo = pd.Series(rep + pd.to_timedelta(rng.exponential(5 * 86400, n).astype(int), "s"))
    # small area so that repeats are common; some cases without coordinates
    lat = 53.4 + rng.random(n) * 0.004
    lat[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "case_id": [f"C{i + id_offset}" for i in range(n)],
            "category": rng.choice(["litter", "fly_tipping", "weeds"], n),
            "reported_at": rep,
            "closed_at": clo.where(pd.Series(status) != "open").to_numpy(),
            "status": status,
            "latitude": lat,
            "longitude": -2.98 + rng.random(n) * 0.006,
            "ward_code": rng.choice(WARDS, n),
            "ward_name": "Ward",
            "cost_gbp": rng.choice([np.nan, 12.5, 40.0], n),
            "updated_at": rep,
        }
    )


def enforcement(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "case_id": [f"E{i}" for i in range(n)],
            "offence": rng.choice(["fly_tipping", "littering", "duty_of_care"], n),
            "action": rng.choice(
                ["investigation", "fixed_penalty_notice", "prosecution", "no_further_action"], n
            ),
            "issued_at": pd.Timestamp("2023-01-01", tz=TZ)
            + pd.to_timedelta(rng.integers(0, 400 * 86400, n), "s"),
            "outcome": rng.choice(["paid", "unpaid", "pending", None], n),
            "ward_code": rng.choice(WARDS, n),
        }
    )


def ingest(store: Store, kind: str, df: pd.DataFrame, sha: str):
    return store.apply_ingest(IngestBatch(kind, f"{sha}.csv", sha, 1, df, rows_read=len(df)))


def assert_derived_exact(store: Store) -> None:
    cases = store.table("cases")
    want = flag_repeats(cases)
    assert cases["is_repeat"].notna().all()
    assert (cases["is_repeat"].astype(bool) == want).all(), int((cases["is_repeat"] != want).sum())
    for day, ts in st.LOCAL_DAY_OF["cases"]:
        local = cases[ts].dt.tz_convert(TZ).dt.tz_localize(None).dt.normalize()
        got = pd.to_datetime(cases[day])
        assert ((got == local) | (got.isna() & local.isna())).all(), day
    assert_codes_exact(store, cases)
    enf = store.table("enforcement")
    if len(enf):
        local = enf["issued_at"].dt.tz_convert(TZ).dt.tz_localize(None).dt.normalize()
        assert (pd.to_datetime(enf["issued_day"]) == local).all()


def assert_codes_exact(store: Store, cases: pd.DataFrame) -> None:
    """Schema-3 columns equal the pandas definitions (metrics.effective_status, case_frame)."""
    status = effective_status(cases)
    rep, clo = cases["reported_at"], cases["closed_at"]
    closed_ok = (status == "closed") & clo.notna() & (clo >= rep)
    state = np.select(
        [status == "open", closed_ok, status == "closed"], [0, 1, 2], default=3
    ).astype(np.int64)
    assert (cases["case_state"].astype("int64").to_numpy() == state).all()
    days = (clo - rep) / pd.Timedelta(days=1)
    got = cases["days_to_close"].astype("float64")
    assert got[closed_ok].to_numpy().tolist() == days[closed_ok].to_numpy().tolist()
    assert got[~closed_ok].isna().all()
    codes = store.table("value_codes")
    for col, code_col in st.CODED_VALUES.items():
        mine = codes[codes["col"] == col]
        assert mine["code"].is_unique and mine["value"].is_unique
        lookup = dict(zip(mine["value"], mine["code"], strict=True))
        want = cases[col].map(lookup)
        have = cases[code_col].astype("Int64")
        assert (have.isna() == cases[col].isna()).all(), col
        assert (have[have.notna()].astype("int64") == want[have.notna()]).all(), col


@pytest.fixture
def store(store_dir: Path) -> Store:
    s = Store(store_dir)
    s.initialise()
    return s


def test_local_dates_across_clock_changes():
    utc = np.array(
        ["2024-03-30T23:30", "2024-03-31T23:30", "2024-10-26T23:30", "2024-10-27T23:30"],
        "datetime64[us]",
    )
    assert P.local_dates(utc).astype(str).tolist() == [
        "2024-03-30",  # GMT
        "2024-04-01",  # BST: 00:30 local
        "2024-10-27",  # BST
        "2024-10-27",  # GMT again
    ]


@pytest.mark.parametrize("chunk", [st.REPEAT_CHUNK_ROWS, 97])
def test_repeat_flags_stay_exact_through_ingests_updates_and_undo(
    store: Store, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # chunk=97: every category is searched in many short spans of time, each with its look-back
    monkeypatch.setattr(st, "REPEAT_CHUNK_ROWS", chunk)
    if chunk < st.REPEAT_CHUNK_ROWS:
        monkeypatch.setattr(st, "REPEAT_CHUNK_MIN_WINDOWS", 0)
    base = frame(1500, 1)
    ingest(store, "cleansing", base, "a")
    assert_derived_exact(store)
    # an overlapping extract: moved cases, new categories, cancellations, new cases
    nxt = base.sample(400, random_state=2).copy()
    rng = np.random.default_rng(3)
    nxt["latitude"] = nxt["latitude"] + rng.normal(0, 0.0004, len(nxt))
    nxt.loc[nxt.index[:50], "status"] = "cancelled"
    nxt.loc[nxt.index[50:100], "category"] = "litter"
    nxt.loc[nxt.index[100:150], "reported_at"] -= pd.Timedelta(days=30)
    nxt["updated_at"] = nxt["updated_at"] + pd.Timedelta(days=500)
    nxt = pd.concat([nxt, frame(300, 4, id_offset=10_000)], ignore_index=True)
    second = ingest(store, "cleansing", nxt, "b")
    assert second.rows_updated > 300 and second.rows_new == 300
    assert_derived_exact(store)
    # street-only corrections touch no flag and keep them
    third = store.table("cases").drop(columns=["ingest_id", *st.DERIVED_COLUMNS["cases"]])
    third["street"] = "Renamed Road"
    third["updated_at"] = third["updated_at"] + pd.Timedelta(days=900)
    assert ingest(store, "cleansing", third, "c").rows_updated == len(third)
    assert_derived_exact(store)
    store.undo("ingest-000003")
    assert_derived_exact(store)
    store.undo(second.ingest_id)
    assert_derived_exact(store)


@pytest.mark.parametrize("unchanged", [10, 1200])
def test_flags_exact_when_some_rows_are_unchanged(store: Store, unchanged: int) -> None:
    # A few unchanged rows (the insert skips them with an anti join) or most of them (a semi
    # join keeps the written ones); either way the written rows and their flags are exact.
    base = frame(1500, 5)
    ingest(store, "cleansing", base, "a")
    nxt = base.copy()
    changed = nxt.index[unchanged:]
    nxt.loc[changed, "updated_at"] += pd.Timedelta(days=1)
    moved = changed[::2]  # the others change their cost only: same place, time and status
    nxt.loc[moved, "longitude"] += 0.0005
    nxt.loc[changed[1::2], "cost_gbp"] = 99.0
    stale = nxt.index[:3]  # older than the stored version: kept as stored
    nxt.loc[stale, "street"] = "Old Road"
    nxt.loc[stale, "updated_at"] -= pd.Timedelta(days=1)
    nxt = pd.concat([nxt, frame(40, 6, id_offset=50_000)], ignore_index=True)
    out = ingest(store, "cleansing", nxt, "b")
    assert (out.rows_new, out.rows_updated) == (40, 1500 - unchanged)
    assert out.rows_unchanged == unchanged
    cases = store.table("cases").set_index("case_id")
    assert len(cases) == 1540
    assert (cases.loc[base["case_id"][stale], "street"].isna()).all()
    assert (cases.loc[base["case_id"][changed[1::2]], "cost_gbp"] == 99.0).all()
    assert_derived_exact(store)
    store.undo(out.ingest_id)
    assert_derived_exact(store)


def test_replaced_rows_are_compacted_once_they_are_a_fair_share(store: Store) -> None:
    # Checkpoints skip DuckDB's compaction of deleted (replaced) rows until they are
    # COMPACT_DEAD_SHARE of the table, so the file never fills up with dead rows.
    import duckdb

    def stored() -> tuple[int, int]:
        con = duckdb.connect(str(store.db_path), read_only=True)
        try:
            return st._stored_rows(con, "cases")
        finally:
            con.close()

    base = frame(3000, 7)
    ingest(store, "cleansing", base, "a")
    assert stored() == (3000, 3000)
    seen = []
    for i in range(8):
        nxt = base.iloc[(i * 700) % 2300 :][:700].copy()
        nxt["cost_gbp"] = 1000.0 + i
        nxt["updated_at"] += pd.Timedelta(days=i + 1)
        assert ingest(store, "cleansing", nxt, f"b{i}").rows_updated == 700
        physical, live = stored()
        assert live == 3000
        assert physical - live <= 0.5 * physical  # bounded, whatever DuckDB's own heuristics
        seen.append(physical)
    assert seen[0] == 3700  # the first ingest left its dead rows (18 % of the file)
    assert min(seen[1:]) < max(seen)  # ... and a later one compacted them
    cases = store.table("cases").set_index("case_id")
    assert (cases.loc[base["case_id"].iloc[300:1000], "cost_gbp"] == 1007.0).all()  # the last
    assert_derived_exact(store)


def test_migration_of_a_version_1_store_fills_derived_columns(store: Store) -> None:
    ingest(store, "cleansing", frame(800, 5), "a")
    ingest(store, "enforcement", enforcement(200, 6), "e")
    con = store._connect(read_only=False)
    try:
        for table, cols in st.DERIVED_COLUMNS.items():
            for col in cols:
                con.execute(f"ALTER TABLE {table} DROP COLUMN {col}")
                con.execute(f"ALTER TABLE case_versions DROP COLUMN {col}")
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    before = ward_period_table(store)  # old store: the general path (flags computed on read)
    ingest(store, "cleansing", frame(100, 7, id_offset=50_000), "b")  # migrates, then writes
    assert_derived_exact(store)
    assert store.query("SELECT value FROM meta WHERE key = 'schema_version'")["value"][0] == str(
        st.SCHEMA_VERSION
    )
    store.undo("ingest-000003")
    pd.testing.assert_frame_equal(ward_period_table(store), before, check_exact=False, rtol=1e-12)


def test_migration_of_a_version_2_store_adds_codes_and_keeps_the_table(store: Store) -> None:
    ingest(store, "cleansing", frame(800, 15), "a")
    nxt = frame(200, 16)  # updates: versions in case_versions need codes too
    nxt["status"] = "closed"
    nxt["updated_at"] = nxt["updated_at"] + pd.Timedelta(days=900)
    ingest(store, "cleansing", nxt, "b")
    want = ward_period_table(store)
    con = store._connect(read_only=False)
    try:
        for col in st.CODED_COLUMNS:
            con.execute(f"ALTER TABLE cases DROP COLUMN {col}")
            con.execute(f"ALTER TABLE case_versions DROP COLUMN {col}")
        con.execute("DROP TABLE value_codes")
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    pd.testing.assert_frame_equal(ward_period_table(store), want)  # v2 path, read-only
    ingest(store, "cleansing", frame(50, 17, id_offset=70_000), "c")  # migrates, then writes
    assert_derived_exact(store)
    assert store.query("SELECT value FROM meta WHERE key = 'schema_version'")["value"][0] == "3"
    store.undo("ingest-000003")  # restores nothing, removes the new rows
    pd.testing.assert_frame_equal(ward_period_table(store), want)
    store.undo("ingest-000002")  # versions restored from case_versions carry their codes
    assert_derived_exact(store)


@pytest.mark.parametrize("period", ["month", "quarter"])
def test_store_path_equals_pandas_reference(store: Store, period: str) -> None:
    cases = frame(3000, 8)
    enf = enforcement(500, 9)
    pop = pd.DataFrame(
        {"ward_code": WARDS * 2, "year": [2022] * 3 + [2023] * 3, "population": 5000}
    )
    ingest(store, "cleansing", cases, "a")
    ingest(store, "enforcement", enf, "e")
    ingest(store, "population", pop, "p")
    stored = store.table("cases")
    ref_inputs = MetricInputs(
        cases=stored.drop(columns=["is_repeat", "reported_day", "closed_day"]),
        enforcement=store.table("enforcement"),
        population=pop,
        wards=pd.DataFrame({"ward_code": WARDS, "ward_name": "Ward"}),
    )
    for kw in (
        {},
        {"categories": ["litter", "fly_tipping"]},
        {"wards": ["E05000002"], "start": "2023-06-01"},
        {"as_of": "2023-09-15 12:00"},
    ):
        got = ward_period_table(store, period=period, **kw)
        ref = ward_period_table(ref_inputs, period=period, engine="pandas", **kw)
        pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-12)
        assert got["repeat_cases"].sum() > 0 and got["sla_due"].sum() > 0


def test_stored_repeat_cases_reads_the_whole_store_flag(store: Store) -> None:
    from neighbourhood.repeats import stored_repeat_cases

    ingest(store, "cleansing", frame(1200, 21), "a")
    cases = store.table("cases")
    want = pd.Series(flag_repeats(cases).to_numpy(), index=cases["case_id"])
    ward = WARDS[1]
    got = stored_repeat_cases(store, "ward_code = ?", [ward])
    assert got is not None and len(got) == int((cases["ward_code"] == ward).sum())
    # flags of one ward's cases still see earlier cases in other wards (whole-store rule)
    assert (got["is_repeat"].to_numpy() == want.loc[got["case_id"]].to_numpy()).all()
    assert got["is_repeat"].any()
    con = store._connect(read_only=False)
    try:
        con.execute("ALTER TABLE cases DROP COLUMN is_repeat")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    assert stored_repeat_cases(store, "TRUE", []) is None  # schema 1: the caller computes flags


@pytest.mark.parametrize("period", ["month", "year"])
def test_coded_store_path_equals_pandas_on_edge_cases(
    store: Store, period: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import neighbourhood.metrics as m

    def text_path(*args, **kwargs):  # the schema-2 SQL must not run on a schema-3 store
        raise AssertionError("schema-2 path used")

    monkeypatch.setattr(m, "_partials_sql", text_path)
    cases = frame(2000, 31)
    n = len(cases)
    rng = np.random.default_rng(32)
    pick = rng.permutation(n)
    back = cases.index[pick[:60]]  # closed before reported: counted, never a valid closure
    cases.loc[back, "closed_at"] = cases.loc[back, "reported_at"] - pd.Timedelta(hours=5)
    cases.loc[cases.index[pick[60:90]], ["status", "closed_at"]] = ["closed", pd.NaT]
    stale = cases.index[pick[90:120]]  # reopened: open with a stale closed_at
    cases.loc[stale, "status"] = "open"
    cases.loc[stale, "closed_at"] = cases.loc[stale, "reported_at"] + pd.Timedelta(days=2)
    cases.loc[cases.index[pick[120:150]], "ward_code"] = None
    cases.loc[cases.index[pick[150:180]], "category"] = "needles"  # 1-day SLA
    cases.loc[cases.index[pick[180:200]], "category"] = "not_in_sla_csv"
    ingest(store, "cleansing", cases, "a")
    ref_inputs = MetricInputs(
        cases=store.table("cases").drop(columns=list(st.DERIVED_COLUMNS["cases"])),
        wards=pd.DataFrame({"ward_code": WARDS, "ward_name": "Ward"}),
    )
    for kw in (
        {},
        {"categories": ["needles", "not_in_sla_csv", "no_such_category"]},
        {"categories": ["no_such_category"]},
        {"wards": [WARDS[0], "E05999999"], "as_of": "2023-11-30 23:00"},
    ):
        got = ward_period_table(store, period=period, **kw)
        ref = ward_period_table(ref_inputs, period=period, engine="pandas", **kw)
        pd.testing.assert_frame_equal(got, ref, check_exact=False, rtol=1e-12)
