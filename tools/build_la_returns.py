"""Build the compact copies under ``data/la_returns/`` from the shared public files.

    python tools/build_la_returns.py [SHARED_DATA]   # default $NEIGHBOURHOOD_SHARED_DATA or ../shared/data

What it writes (every file is derived, never a copy of a shared file):

- ``defra_flytipping_la.csv.gz``: DEFRA's LA_incidents and LA_actions sheets read by the product's
  own reader (:func:`neighbourhood.la_returns.read_returns`, the one ``ingest --kind la-returns``
  uses), England and region totals left out, one row per council and year with only the columns
  the product uses (incidents by land type and size, clearance cost, population, reporting basis,
  actions by type, fines). DEFRA's ":" stays missing (an empty cell). Gzip with no time stamp,
  so a rebuild from the same files gives the same bytes.
- ``imd2025_la.csv``: the council-level IMD 2025 average score and its rank (MHCLG, OGL v3.0),
  for the nearest-neighbour comparison group; 296 councils, 4 columns.
- ``ward_la_lookup.csv``: ward code → council code for the ward sets in the shared data (Liverpool's
  wards of 2004–2023 and of 2023); the default council is read from it (extend it with ONS's
  "Ward to Local Authority District" lookup for other councils).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neighbourhood import la_returns  # noqa: E402

OUT = ROOT / "data" / "la_returns"
LIVERPOOL = "E08000012"


def _deterministic_gzip(text: str) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as z:
        z.write(text.encode("utf-8"))
    return buffer.getvalue()


def build_returns(shared: Path) -> pd.DataFrame:
    folder = shared / "defra-flytipping-la"
    parts = []
    for sheet in ("incidents", "actions"):
        path = folder / f"flytipping_la_{sheet}_2012-13_to_2021-22.csv"
        extract = la_returns.read_returns(path.read_bytes(), path.name)
        unexpected = extract.rejects[extract.rejects["rule"] != "E_TOTAL_ROW"]
        if len(unexpected):
            raise SystemExit(f"{path.name}: unexpected rejects\n{unexpected.to_string()}")
        parts.append(extract.frame)
    wide = la_returns.wide(pd.concat(parts, ignore_index=True))
    text = wide.to_csv(index=False, float_format="%.15g", lineterminator="\n")
    (OUT / la_returns.BUNDLED_RETURNS.name).write_bytes(_deterministic_gzip(text))
    return wide


def build_imd(shared: Path) -> pd.DataFrame:
    imd = pd.read_csv(shared / "imd" / "imd2025_england_ltla24.csv")
    out = imd[
        ["ltla24_code", "ltla24_name", "imd_average_score", "imd_rank_of_average_score"]
    ].rename(columns={"ltla24_code": "ons_code", "ltla24_name": "la_name"})
    out.to_csv(OUT / "imd2025_la.csv", index=False, lineterminator="\n")
    return out


def build_ward_lookup(shared: Path) -> pd.DataFrame:
    old = pd.read_csv(
        shared / "imd" / "imd2019_liverpool_ward19_aggregated.csv", usecols=["ward_code"]
    )
    new = json.loads(
        (shared / "liverpool-wards-2023" / "liverpool_wards_2023_wgs84.geojson").read_text()
    )
    codes = sorted(
        {*old["ward_code"].astype(str)}
        | {str(f["properties"]["wd23cd"]).strip() for f in new["features"]}
    )
    out = pd.DataFrame({"ward_code": codes, "ons_code": LIVERPOOL})
    out.to_csv(OUT / "ward_la_lookup.csv", index=False, lineterminator="\n")
    return out


def main(argv: list[str]) -> int:
    shared = Path(
        argv[0]
        if argv
        else os.environ.get("NEIGHBOURHOOD_SHARED_DATA", ROOT.parent / "shared" / "data")
    )
    OUT.mkdir(parents=True, exist_ok=True)
    wide = build_returns(shared)
    imd = build_imd(shared)
    wards = build_ward_lookup(shared)
    print(
        f"returns: {len(wide)} council-years, {wide['ons_code'].nunique()} councils; "
        f"IMD: {len(imd)} councils; ward lookup: {len(wards)} wards"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
