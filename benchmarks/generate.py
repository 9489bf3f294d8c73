"""Generate large, realistic street-cleansing extracts for benchmarks (synthetic data).

Uses the demo generator (:mod:`neighbourhood.demo`): council headers, Windows-1252, CRLF,
``dd/mm/yyyy HH:MM`` dates, seasonality, hotspots, open / cancelled / duplicate cases. Over the
synthetic Merseyford wards by default, or over a real boundary file (``--wards``; 64 wards for the
Liverpool 2023 file).

Examples
--------
::

    python benchmarks/generate.py --rows 1000000 --out benchmarks/out/cases_1m.csv
    python benchmarks/generate.py --rows 1000000 --out benchmarks/out/cases_1m_lpool.csv \\
        --coords wgs84 --wards ../shared/data/liverpool-wards-2023/liverpool_wards_2023_wgs84.geojson
    python benchmarks/generate.py --changed-from benchmarks/out/cases_1m.csv --fraction 0.1 \\
        --out benchmarks/out/cases_1m_changed.csv

``benchmarks/out/`` is gitignored.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neighbourhood.demo import DEFAULT_SEED, change_extract, generate_cleansing_extract  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--rows", type=int, default=1_000_000, help="number of cases")
    parser.add_argument(
        "--coords",
        choices=["bng", "wgs84", "mixed"],
        default="bng",
        help="Easting/Northing, Latitude/Longitude, or the demo's mix (default bng)",
    )
    parser.add_argument("--wards", type=Path, help="real boundary file (default: synthetic wards)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--changed-from", type=Path, help="write a later version of this extract instead"
    )
    parser.add_argument("--fraction", type=float, default=0.1, help="share of rows changed")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.changed_from is not None:
        changed = change_extract(
            args.changed_from, args.out, fraction=args.fraction, seed=args.seed
        )
        summary = {"out": str(args.out), "from": str(args.changed_from), "changed": changed}
    else:
        generate_cleansing_extract(
            args.out, seed=args.seed, n_cases=args.rows, wards_file=args.wards, coords=args.coords
        )
        summary = {"out": str(args.out), "rows": args.rows, "coords": args.coords}
    summary["bytes"] = args.out.stat().st_size
    summary["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
