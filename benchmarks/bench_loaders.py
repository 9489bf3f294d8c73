"""``read_extract`` against a bare ``pd.read_csv`` of the same file: CPU, wall and peak memory.

Usage::

    python benchmarks/generate.py --rows 1000000 --out benchmarks/out/cases_1m.csv
    python benchmarks/bench_loaders.py benchmarks/out/cases_1m.csv            # median of 3
    python benchmarks/bench_loaders.py benchmarks/out/cases_1m.csv --repeat 5 --profile

Each measurement runs in a fresh Python process, so that ``ru_maxrss`` is the peak of that step
alone. Both steps start from the path: the bare read opens the file itself (with the encoding
that ``benchmarks/run.py`` uses), the loader step reads the bytes and calls ``read_extract``, as
``ingest_path`` does. CPU is ``time.process_time`` (all threads of the process), which is the
fairer figure on a shared machine; wall is ``time.perf_counter``. ``--profile`` prints the
loader's 30 most expensive functions by CPU (``cProfile`` with ``time.process_time``).

Issue #8 budget: the whole ingest (parse, validate, assign wards, store) within 3× the bare read
and a peak within 3× the CSV's size; the loader's share is about 1.5× of the bare read.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.child import run_json  # noqa: E402

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
step, path, encoding, profile = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
import numpy, pandas, pyarrow, pyarrow.csv, pyarrow.compute  # imports are not timed
if step == "loader":
    from neighbourhood.loaders import read_extract
rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
c0, t0 = time.process_time(), time.perf_counter()
extra = {{}}
if step == "bare":
    frame = pandas.read_csv(path, encoding=encoding)
    extra["rows"] = len(frame)
else:
    if profile:
        import cProfile, io, pstats
        prof = cProfile.Profile(time.process_time)
        prof.enable()
    with open(path, "rb") as handle:
        data = handle.read()
    ex = read_extract(data, path.rsplit("/", 1)[-1], "cleansing")
    if profile:
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue(), file=sys.stderr)
    extra = {{"rows": ex.report["rows_read"], "accepted": ex.report["rows_accepted"],
              "encoding": ex.report["encoding"]}}
cpu, wall = time.process_time() - c0, time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"step": step, "cpu_s": cpu, "wall_s": wall, "peak_mb": peak,
                   "imports_mb": rss_imports, **extra}}))
"""


def run_child(step: str, path: Path, encoding: str, profile: bool = False) -> dict:
    """One measurement in a fresh process."""
    argv = [step, str(path), encoding, "1" if profile else "0"]
    fig, stderr = run_json(CHILD.format(repo=str(REPO)), argv, step)
    if profile:
        print(stderr, file=sys.stderr)
    return fig


def detect_encoding(path: Path) -> str:
    """The encoding ``benchmarks/run.py`` gives the bare read (UTF-8 if the head decodes)."""
    head = path.open("rb").read(1 << 20)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


def main(argv: list[str] | None = None) -> int:
    """Measure and print one JSON line per run, then the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="extract written by benchmarks/generate.py")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each step (median)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile (CPU)")
    args = parser.parse_args(argv)
    encoding = detect_encoding(args.csv)
    csv_mb = args.csv.stat().st_size / 2**20
    runs: dict[str, list[dict]] = {"bare": [], "loader": []}
    for _ in range(args.repeat):
        for step in ("bare", "loader"):
            fig = run_child(step, args.csv, encoding)
            print(json.dumps(fig), flush=True)
            runs[step].append(fig)
    if args.profile:
        run_child("loader", args.csv, encoding, profile=True)

    def med(step: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[step])

    bare_cpu, bare_wall = med("bare", "cpu_s"), med("bare", "wall_s")
    cpu, wall = med("loader", "cpu_s"), med("loader", "wall_s")
    rows = runs["loader"][0]["rows"]
    print(
        f"\n{args.csv.name}: {rows:,} rows, {csv_mb:.0f} MB, {encoding}, {os.cpu_count()} cores, "
        f"median of {args.repeat}\n"
        "| step | CPU s | wall s | peak RSS MB | peak / CSV |\n|---|---|---|---|---|\n"
        f"| bare pd.read_csv | {bare_cpu:.2f} | {bare_wall:.2f} | {med('bare', 'peak_mb'):.0f} | "
        f"{med('bare', 'peak_mb') / csv_mb:.2f}× |\n"
        f"| read_extract | {cpu:.2f} | {wall:.2f} | {med('loader', 'peak_mb'):.0f} | "
        f"{med('loader', 'peak_mb') / csv_mb:.2f}× |\n"
        f"| ratio | {cpu / bare_cpu:.2f}× | {wall / bare_wall:.2f}× | | |\n"
        f"(RSS after imports: bare {med('bare', 'imports_mb'):.0f} MB, "
        f"loader {med('loader', 'imports_mb'):.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
