"""How fast could a 1M-row ingest be on this machine? A lower bound, against the bare read.

Usage::

    python benchmarks/generate.py --rows 1000000 --out benchmarks/out/cases_1m.csv \\
        --wards ../shared/data/liverpool-wards-2023/liverpool_wards_2023_wgs84.geojson
    python benchmarks/bench_floor.py benchmarks/out/cases_1m.csv          # median of 3

Issue #8 asks for the full ingest of 1M rows within 3× a bare ``pd.read_csv`` of the file. This
script measures what an ingest *without* most of the product's guarantees would cost, to tell
whether 3× is reachable by a rewrite of the loader, or by no design at all on 2 cores:

- ``imports``: importing the ingest's modules (``neighbourhood.ingest``, ``neighbourhood.store``);
- ``read_rules``: DuckDB's multi-threaded CSV reader with a lean version of the row rules fused
  into one query (trim, blank → NULL, two date formats each, numbers, a required-field flag), from
  a UTF-8 copy of the file made beforehand and not timed (DuckDB reads no cp1252). Left out:
  line numbers, reject reasons, the category and value maps, the month-first check,
  Europe/London localisation, totals rows, duplicate ids, value lengths;
- ``bng``: pyproj's transform of the easting/northing to WGS84 (which the maps need);
- ``repeats``: the product's repeat-location flags (``repeats.repeat_flags_arrays``) over the rows;
- ``persist``: ``CREATE TABLE`` of the rows with their flags in a DuckDB file, and a checkpoint.

Also left out altogether: the file's scan (SHA-256, encoding), ward assignment, the upsert plan
and the derived columns. Each step needs the one before it: the rules need the parsed rows, the
transform their coordinates, the repeat flags every row's place and time, and the stored rows
their flags. So the steps' wall times add up, and their sum is the floor of this lean pipeline.
Half the CPU of all steps is printed too: the bound of a pipeline that kept both cores busy from
start to end, which those dependencies do not allow. Both are printed against the 3× budget.

The steps run in one fresh process after the imports; the bare read runs in a process of its
own. Each figure is the median of ``--repeat`` runs. The query names the headers that
``benchmarks/generate.py`` writes, so the file must come from that generator.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.bench_loaders import detect_encoding  # noqa: E402
from benchmarks.child import run_json  # noqa: E402

# The lean rules: what any loader must do to every row at the least, in one pass.
RULES = r"""
WITH t AS (
  SELECT nullif(trim("Case Reference"), '') AS case_id,
         nullif(trim("Date Received"), '') AS rec, nullif(trim("Date Closed"), '') AS clo,
         nullif(trim("Last Updated"), '') AS upd, *
  FROM read_csv(?, all_varchar = true, header = true)
)
SELECT case_id,
  coalesce(try_strptime(rec, '%d/%m/%Y %H:%M'), try_strptime(rec, '%d/%m/%Y')) AS reported_at,
  coalesce(try_strptime(clo, '%d/%m/%Y %H:%M'), try_strptime(clo, '%d/%m/%Y')) AS closed_at,
  coalesce(try_strptime(upd, '%d/%m/%Y %H:%M'), try_strptime(upd, '%d/%m/%Y')) AS updated_at,
  lower(nullif(trim("Request Type"), '')) AS category,
  lower(nullif(trim("Status"), '')) AS status,
  nullif(trim("Street"), '') AS street,
  nullif(trim("Ward"), '') AS ward_name,
  try_cast(replace(trim("Easting"), ',', '') AS DOUBLE) AS easting,
  try_cast(replace(trim("Northing"), ',', '') AS DOUBLE) AS northing,
  nullif(trim("Size"), '') AS size,
  try_cast(replace(replace(trim("Cost (£)"), ',', ''), '£', '') AS DOUBLE) AS cost_gbp,
  nullif(trim("Channel"), '') AS channel,
  case_id IS NULL OR rec IS NULL AS bad
FROM t
"""

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
step, path, encoding, db = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
out = {{}}
def timed(name, fn):
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn()
    out[name] = {{"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}}
    return result
if step == "bare":
    import pandas
    frame = timed("bare", lambda: pandas.read_csv(path, encoding=encoding))
    out["rows"] = len(frame)
else:
    def imports():
        import neighbourhood.ingest, neighbourhood.store  # noqa: F401
    timed("imports", imports)
    import duckdb, numpy as np, pandas as pd
    from neighbourhood import repeats
    from neighbourhood.loaders import _bng_transformer
    con = duckdb.connect(db)
    rules = {rules!r}
    timed("read_rules", lambda: con.execute("CREATE TEMP TABLE v AS " + rules, [path]))
    def bng():
        e, n = con.execute("SELECT easting, northing FROM v").fetchnumpy().values()
        return _bng_transformer().transform(np.asarray(e, float), np.asarray(n, float))
    lon, lat = timed("bng", bng)
    def flags():
        got = con.execute("SELECT category, epoch_us(reported_at) AS t, bad FROM v").df()
        codes = pd.factorize(got["category"])[0].astype(np.int64)
        t = got["t"].fillna(0).to_numpy(np.int64)
        return repeats.repeat_flags_arrays(codes, t, lat, lon, ~got["bad"].to_numpy(bool))
    is_repeat = timed("repeats", flags)
    def persist():
        con.register("f", pd.DataFrame({{"lat": lat, "lon": lon, "is_repeat": is_repeat}}))
        con.execute("CREATE TABLE cases AS SELECT * FROM v POSITIONAL JOIN f")
        con.execute("CHECKPOINT")
    timed("persist", persist)
    out["rows"] = con.execute("SELECT count(*) FROM cases").fetchone()[0]
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""

STEPS = ("imports", "read_rules", "bng", "repeats", "persist")


def run_child(step: str, path: Path, encoding: str, db: Path) -> dict:
    """One measurement in a fresh process."""
    code = CHILD.format(repo=str(REPO), rules=RULES)
    return run_json(code, [step, str(path), encoding, str(db)], step)[0]


def utf8_copy(path: Path, encoding: str, folder: Path) -> Path:
    """The file as UTF-8 (DuckDB reads no cp1252), written once and not timed."""
    copy = folder / (path.stem + "_utf8.csv")
    copy.write_bytes(path.read_bytes().decode(encoding).encode("utf-8"))
    return copy


def main(argv: list[str] | None = None) -> int:
    """Measure and print one JSON line per run, then the floor against the 3× budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="extract written by benchmarks/generate.py")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step (median)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    encoding = detect_encoding(args.csv)
    csv_mb = args.csv.stat().st_size / 2**20
    bare: list[dict] = []
    lean: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        copy = utf8_copy(args.csv, encoding, folder)
        for i in range(args.repeat):
            bare.append(run_child("bare", args.csv, encoding, folder / "unused.duckdb"))
            print(json.dumps(bare[-1]), flush=True)
            lean.append(run_child("lean", copy, "utf-8", folder / f"floor{i}.duckdb"))
            print(json.dumps(lean[-1]), flush=True)
    if {r["rows"] for r in bare} != {r["rows"] for r in lean}:
        raise SystemExit("the bare read and the lean ingest counted different rows")

    def med(runs: list[dict], step: str, key: str) -> float:
        return statistics.median(r[step][key] for r in runs)

    bare_wall = med(bare, "bare", "wall_s")
    budget = 3 * bare_wall
    lines = [
        f"\n{args.csv.name}: {bare[0]['rows']:,} rows, {csv_mb:.0f} MB, {encoding}, "
        f"{os.cpu_count()} cores, median of {args.repeat}",
        "| step | wall s | CPU s |",
        "|---|---|---|",
        f"| bare pd.read_csv (baseline) | {bare_wall:.2f} | {med(bare, 'bare', 'cpu_s'):.2f} |",
    ]
    for step in STEPS:
        lines.append(
            f"| {step} | {med(lean, step, 'wall_s'):.2f} | {med(lean, step, 'cpu_s'):.2f} |"
        )
    serial = sum(med(lean, s, "wall_s") for s in STEPS)
    cpu = sum(med(lean, s, "cpu_s") for s in STEPS)
    cores = os.cpu_count() or 1
    peak = max(r["peak_mb"] for r in lean)
    lines += [
        f"3× budget: {budget:.2f} s",
        f"steps one after the other, as the data require: {serial:.2f} s = "
        f"{serial / bare_wall:.2f}× the bare read",
        f"all {cores} cores busy from start to end (an unreachable bound): {cpu / cores:.2f} s = "
        f"{cpu / cores / bare_wall:.2f}×",
        f"peak {peak:.0f} MB = {peak / csv_mb:.2f}× the CSV (target 3×)",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
