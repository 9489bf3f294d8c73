"""One script that measures the product at realistic sizes and prints ratios against a plain baseline.

Usage::

    python benchmarks/run.py                    # 100k, 1M and 5M rows (about 5 minutes)
    python benchmarks/run.py --sizes 100000     # the CI smoke size (no timing assertions anywhere)
    python benchmarks/run.py --repeat 1         # one run of each step instead of three

For each size it generates a realistic cleansing extract (council headers, UK day-first dates,
BNG coordinates, the synthetic city's wards) with ``benchmarks/generate.py``'s generator, then
measures, each in a fresh child process so that peak memory is that of the step alone:

- ``bare_read``: ``pd.read_csv`` of the same file (the plain baseline);
- ``ingest``: the full ingest (parse, validate, assign wards, store) into an empty store;
- ``reingest_10pct``: ingest of an extract where 10 % of cases changed;
- ``metrics``: the ward × month table from the store;
- AppTest warm render time of each page, and the map payload in bytes.

The bare reads, the ingest and the re-ingest run three times (``--repeat``; each ingest round
starts from a copy of the same store): the table gives the median time and the highest peak, and
the JSON every run's time, since a single run of the bare read moved by up to 15 % between runs.

It prints one line per measurement and a table of ratios, and writes ``benchmarks/out/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.child import run_json  # noqa: E402

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
step, args = sys.argv[1], json.loads(sys.argv[2])
t0 = time.perf_counter()
extra = {{}}
if step == "bare_read":
    import pandas as pd
    df = pd.read_csv(args["file"], encoding=args.get("encoding", "utf-8"))
    extra["rows"] = len(df)
elif step == "ingest":
    from pathlib import Path
    from neighbourhood.ingest import ingest_path
    from neighbourhood.store import Store
    r = ingest_path(Store(args["store"]), Path(args["file"]), "cleansing", actor="bench")
    extra = {{"accepted": r.rows_accepted, "rejected": r.rows_rejected, "new": r.rows_new,
              "updated": r.rows_updated}}
elif step == "metrics":
    from neighbourhood.metrics import ward_period_table
    from neighbourhood.store import Store
    t0 = time.perf_counter()
    table = ward_period_table(Store(args["store"]), period="month")
    extra["rows"] = len(table)
elif step == "pages":
    from benchmarks.pages import measure_pages
    t0 = time.perf_counter()
    extra = measure_pages(args["store"])
elapsed = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"step": step, "seconds": elapsed, "peak_mb": peak_mb, **extra}}))
"""


def run_child(step: str, **args: object) -> dict:
    """Run one measured step in a fresh Python process and return its JSON line."""
    return run_json(CHILD.format(repo=str(REPO)), [step, json.dumps(args)], step)[0]


def generate(
    rows: int, path: Path, changed_from: Path | None = None, wards: Path | None = None
) -> None:
    """Generate an extract with benchmarks/generate.py (same generator as the demo)."""
    cmd = [
        sys.executable,
        str(REPO / "benchmarks" / "generate.py"),
        "--rows",
        str(rows),
        "--out",
        str(path),
    ]
    if wards is not None:
        cmd += ["--wards", str(wards)]
    if changed_from is not None:
        cmd += ["--changed-from", str(changed_from), "--fraction", "0.1"]
    subprocess.run(cmd, cwd=REPO, check=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def _summary(runs: list[dict]) -> dict:
    """One step's figures over its runs: the median time, the highest peak, every run's time.

    The other fields (rows accepted, updated…) must be the same in every run: each run starts
    from the same state, so a difference is a fault of the benchmark (or of the ingest).
    """
    timing = {"seconds", "peak_mb"}
    counts = [{k: v for k, v in r.items() if k not in timing} for r in runs]
    if any(c != counts[0] for c in counts):
        raise RuntimeError(f"runs of one step disagree: {counts}")
    out = dict(runs[-1])
    out["seconds"] = statistics.median(r["seconds"] for r in runs)
    out["peak_mb"] = max(r["peak_mb"] for r in runs)
    out["runs_s"] = [r["seconds"] for r in runs]
    return out


def bench_size(
    rows: int, workdir: Path, pages: bool, wards: Path | None = None, repeat: int = 3
) -> dict:
    """Every measurement for one size (over the synthetic city's wards, or ``wards``).

    The bare reads, the ingest and the re-ingest run ``repeat`` times (each ingest round from a
    copy of the same starting store); their median time and highest peak are reported.
    """
    extract = workdir / f"cases_{rows}.csv"
    changed = workdir / f"cases_{rows}_changed.csv"
    store = workdir / f"store_{rows}"
    t0 = time.perf_counter()
    generate(rows, extract, wards=wards)
    generate(rows, changed, changed_from=extract, wards=wards)
    gen_s = time.perf_counter() - t0

    from neighbourhood.demo import generate_demo  # wards, population, spend of the synthetic city
    from neighbourhood.ingest import ingest_path
    from neighbourhood.store import Store

    # reference data (wards, population, spend) + a few cases, loaded as a council loads its
    # own files (the demo's own store takes no further load); the bench file adds the rest
    with tempfile.TemporaryDirectory(prefix="bench-reference-") as tmp:
        files = generate_demo(Path(tmp), n_cases=1000, wards_file=wards)
        for path, kind in (
            (files.wards, "wards"),
            (files.population, "population"),
            (files.spend, "spend"),
            (files.cleansing, "cleansing"),
            (files.enforcement, "enforcement"),
        ):
            ingest_path(Store(store), path, kind, actor="benchmark", channel="cli")

    head = extract.open("rb").read(1 << 20)
    try:
        head.decode("utf-8")
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "cp1252"
    result: dict = {"rows": rows, "csv_mb": extract.stat().st_size / 2**20, "generate_s": gen_s}
    result["repeat"] = repeat
    pristine = workdir / f"store_{rows}_pristine"
    shutil.copytree(store, pristine)
    ingests, reingests = [], []
    for i in range(repeat):
        if i:  # each round starts from the same store: reference data and no bench cases
            shutil.rmtree(store)
            shutil.copytree(pristine, store)
        ingests.append(run_child("ingest", file=str(extract), store=str(store)))
        reingests.append(run_child("ingest", file=str(changed), store=str(store)))
    shutil.rmtree(pristine)
    result["bare_read"] = _summary(
        [run_child("bare_read", file=str(extract), encoding=encoding) for _ in range(repeat)]
    )
    result["ingest"] = _summary(ingests)
    result["bare_read_changed"] = _summary(
        [run_child("bare_read", file=str(changed), encoding=encoding) for _ in range(repeat)]
    )
    result["reingest_10pct"] = _summary(reingests)
    result["metrics"] = run_child("metrics", store=str(store))
    if pages:
        result["pages"] = run_child("pages", store=str(store))
    result["store_mb"] = sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) / 2**20
    return result


def report(results: list[dict]) -> str:
    """A plain-text table of the figures and the ratios against the bare read."""
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        f"times: median of {results[0].get('repeat', 1)} runs; peak: the highest of them",
        "",
        "| rows | CSV MB | bare pd.read_csv s | ingest s | ratio | ingest peak MB | peak / CSV | "
        "re-ingest 10% s | ratio | metrics s (5M target < 2) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        bare, ing = r["bare_read"]["seconds"], r["ingest"]["seconds"]
        bare2, re = r["bare_read_changed"]["seconds"], r["reingest_10pct"]["seconds"]
        lines.append(
            f"| {r['rows']:,} | {r['csv_mb']:.0f} | {bare:.2f} | {ing:.2f} | {ing / bare:.2f}× | "
            f"{r['ingest']['peak_mb']:.0f} | {r['ingest']['peak_mb'] / r['csv_mb']:.2f}× | "
            f"{re:.2f} | {re / bare2:.2f}× | {r['metrics']['seconds']:.2f} |"
        )
    page_rows = [r for r in results if "pages" in r]
    if page_rows:
        lines += ["", "| rows | page | warm AppTest s | map payload MB |", "|---|---|---|---|"]
        for r in page_rows:
            for page, fig in r["pages"]["pages"].items():
                payload = fig.get("payload_bytes")
                mb = f"{payload / 2**20:.2f}" if payload else ""
                lines.append(f"| {r['rows']:,} | {page} | {fig['warm_s']:.2f} | {mb} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark sizes given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    parser.add_argument("--no-pages", action="store_true", help="skip the AppTest page timings")
    parser.add_argument(
        "--wards",
        type=Path,
        help="a real boundary file to generate the cases over (e.g. the 64 Liverpool 2023 wards "
        "in ../shared/data); default: the synthetic city's 26 wards",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder for results.json/.md")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of the bare reads, the ingest and the re-ingest (median time, highest peak)",
    )
    args = parser.parse_args(argv)
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        for rows in args.sizes:
            r = bench_size(
                rows, Path(tmp), pages=not args.no_pages, wards=args.wards, repeat=args.repeat
            )
            print(json.dumps(r), flush=True)
            results.append(r)
    text = report(results)
    if args.wards is not None:
        text = f"wards: {args.wards.name}\n" + text
    print(text)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    (out_dir / "results.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
