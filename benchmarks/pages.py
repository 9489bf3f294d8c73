"""Warm AppTest render time of each dashboard page, and the map payload (a benchmark, not a test).

Usage::

    python benchmarks/pages.py /path/to/store      # e.g. a store built with 1M demo cases

``measure_pages(store)`` is also called by ``benchmarks/run.py``. For each page: one cold run
(fills the caches), then the median of ``repeats`` warm reruns of the same AppTest. The map
payload is the JSON that ``st.pydeck_chart`` sends for the ward map, default view and with
hotspots on. Targets (issue #4): under 1.5 s warm per page with 1M cases; map payload under 5 MB.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = {
    "overview": None,
    "ward_map": "pages/1_Ward_map.py",
    "trends": "pages/2_Trends.py",
    "ward_profile": "pages/5_Ward_profile.py",
}


def _timed(at: object) -> float:
    t0 = time.perf_counter()
    at.run()  # type: ignore[attr-defined]
    return time.perf_counter() - t0


def measure_pages(store: str, repeats: int = 5) -> dict:
    """Cold and warm render seconds per page, and the ward map payload in bytes."""
    os.environ["NEIGHBOURHOOD_STORE"] = str(store)
    os.chdir(REPO)
    sys.path.insert(0, str(REPO))
    from streamlit.testing.v1 import AppTest

    out: dict[str, dict] = {}
    for name, page in PAGES.items():
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
        at.secrets = {}
        cold = _timed(at)
        if page:
            at.switch_page(page)
            cold = _timed(at)
        if at.exception:
            raise RuntimeError(f"{name}: {at.exception}")
        warm = statistics.median(_timed(at) for _ in range(repeats))
        entry: dict[str, float | int | None] = {
            "cold_s": cold,
            "warm_s": warm,
            "payload_bytes": None,
        }
        if name == "ward_map":
            entry["payload_bytes"] = len(at.get("deck_gl_json_chart")[0].proto.json.encode())
            at.toggle(key="map_hexes").set_value(True)
            _timed(at)
            entry["warm_hotspots_s"] = statistics.median(_timed(at) for _ in range(repeats))
            entry["payload_hotspots_bytes"] = len(
                at.get("deck_gl_json_chart")[0].proto.json.encode()
            )
        out[name] = entry
    return {"pages": out}


if __name__ == "__main__":
    result = measure_pages(sys.argv[1])
    print(json.dumps(result, indent=2))
    for name, fig in result["pages"].items():
        mb = f", map {fig['payload_bytes'] / 2**20:.2f} MB" if fig.get("payload_bytes") else ""
        print(f"{name:13s} cold {fig['cold_s']:6.2f} s  warm {fig['warm_s']:5.2f} s{mb}")
