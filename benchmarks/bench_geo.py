"""Time the geo hot paths on N random points over a real ward file (default 1,000,000).

Usage::

    python benchmarks/bench_geo.py --wards ../shared/data/liverpool-wards-2023/liverpool_wards_2023_wgs84.geojson
    python benchmarks/bench_geo.py --wards FILE --n 200000 --repeat 1

Points are uniform over the wards' bounding box plus 2.5 % on each side (the notes/performance.md
A2 set-up; for Liverpool about half fall outside, because the city is a diagonal strip), or
``--inside`` to sample only points that fall in a ward. Reports the median wall time and CPU time
of ``repeat`` runs for:

- ``assign_wards`` and ``assign_wards_sjoin`` end to end (frame in → assigned + rejects out);
- the point-in-polygon step alone (grid lookup, the direct fast path, the sjoin reference) and
  the grid's build;
- ``hex_bins`` at resolution 8;
- ``simplify_for_map`` and the GeoJSON size before/after.

The machine is shared: look at the load average printed first before comparing runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from neighbourhood import geo


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wards", type=Path, required=True)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--inside", action="store_true")
    args = parser.parse_args()

    print(f"load average {os.getloadavg()}, cpus {os.cpu_count()}")
    wards = geo.read_boundaries(args.wards).wards
    rng = np.random.default_rng(0)
    xmin, ymin, xmax, ymax = wards.total_bounds
    dx, dy = (xmax - xmin) * 0.025, (ymax - ymin) * 0.025
    x = rng.uniform(xmin - dx, xmax + dx, args.n * (3 if args.inside else 1))
    y = rng.uniform(ymin - dy, ymax + dy, len(x))
    if args.inside:
        hit = geo._locate_fast(x, y, wards.geometry.to_numpy()) >= 0
        x, y = x[hit][: args.n], y[hit][: args.n]
    frame = pd.DataFrame(
        {
            "case_id": pd.array([f"C{i}" for i in range(len(x))], dtype="str"),
            "source_line": np.arange(2, len(x) + 2),
            "latitude": y,
            "longitude": x,
        }
    )
    _, rejects = geo.assign_wards(frame, wards)
    print(f"{len(frame):,} points over {len(wards)} wards; {len(rejects):,} outside")
    geoms = wards.sort_values("ward_code").geometry.to_numpy()
    rows = {
        "assign_wards (fast, end to end)": lambda: geo.assign_wards(frame, wards),
        "assign_wards_sjoin (end to end)": lambda: geo.assign_wards_sjoin(frame, wards),
        "point-in-polygon only, grid (built)": lambda: geo._locate_grid(x, y, geoms),
        "point-in-polygon only, fast": lambda: geo._locate_fast(x, y, geoms),
        "point-in-polygon only, sjoin": lambda: geo._locate_sjoin(x, y, geoms),
        "hex_bins res 8": lambda: geo.hex_bins(frame["latitude"], frame["longitude"], 8),
    }
    wall, cpu = timed(lambda: geo._build_grid(geoms, geo.GRID_CELLS), args.repeat)
    print(f"{'grid build (once per boundary set)':36s} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    for label, fn in rows.items():
        wall, cpu = timed(fn, args.repeat)
        print(f"{label:36s} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    for method in ("coverage", "douglas_peucker"):
        small = geo.simplify_for_map(wards, 5.0, method=method)
        print(
            f"GeoJSON bytes ({method}): {len(wards.to_json()):,} → {len(small.to_json()):,}"
            f" (compact: {len(small.to_json(separators=(',', ':'))):,})"
        )


if __name__ == "__main__":
    main()
