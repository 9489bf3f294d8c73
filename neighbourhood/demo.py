"""The bundled SYNTHETIC demo data set: "Merseyford (synthetic demo)", a fictional city.

Everything here is invented. The city sits on real UK coordinates (around 53.43 N, 2.95 W, so
British National Grid conversion works), but its wards, names, codes, people, cases, enforcement
actions and spend are generated from a seed. Nothing here describes a real place or person.

What is generated (deterministic from ``seed`` through ``numpy.random.Generator``):

- **Wards**: 26 Voronoi cells (Lloyd-relaxed, clipped to an irregular city outline) with invented
  names and fake ONS-style codes ``E05900001`` … Real ward codes are allocated sequentially
  (``E05000001`` … ``E0501xxxx`` in 2026), so the ``E059`` block cannot clash with a real ward for
  decades. Written as GeoJSON (WGS84) with ONS-style fields ``WD23CD``/``WD23NM``.
- **Population** per ward per year (mid-year style, 8k–18k).
- **Street-cleansing cases** with a realistic category mix, seasonality, bank-holiday bumps,
  deprivation-like ward intensity, repeat hotspots, log-normal closure times, open / cancelled /
  duplicate cases, DEFRA size bands and clearance costs, channels and ``Last Updated``. Written as a
  messy-but-valid council extract (Windows-1252, CRLF, day-first dates, mixed BNG / WGS84 rows).
- **Enforcement actions** (investigations, warning letters, FPNs, CPNs, statutory notices,
  prosecutions, …), many linked to the fly-tipping case that led to them. No personal data.
- **Spend**: baseline cleansing in every ward, city-wide lines, and the "Neighbourhood Pride Fund"
  programme in the treated wards from :data:`PROGRAMME_START`.

A **planted effect** (:data:`PLANTED_EFFECTS`) makes the programme work in the treated wards, with
parallel pre-trends (all ward differences are constant multipliers), so the evaluation module can be
tested for recovery. Sampling noise is balanced between the two groups of wards: each month's count
of each category, the month's cancellations and enforcement chains, and the wards' month-to-month
service swings are exact (rounded) totals over the funded wards and over the others, and only the
split between the wards of a group is random. Free Poisson noise (about 20 fly-tips per ward and
month) made the parallel-trends check warn by chance on the default seed (p = 0.04).

Labels in the extracts are taken verbatim from ``data/category_map.csv`` and ``data/value_map.csv``
(see :data:`CATEGORY_RAW_LABELS` and the ``*_LABELS`` constants), so the loaders know every one.
"""

from __future__ import annotations

import functools
import io
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely
from pyproj import Transformer
from scipy.special import ndtri

if TYPE_CHECKING:
    from neighbourhood.ingest import IngestResult
    from neighbourhood.store import Store

__all__ = [
    "CITY_NAME",
    "DATA_START",
    "DEFAULT_N_CASES",
    "DEFAULT_SEED",
    "EXTRACT_DATE",
    "PLANTED_EFFECTS",
    "PROGRAMME_NAME",
    "PROGRAMME_START",
    "DemoFiles",
    "build_demo",
    "change_extract",
    "demo_period",
    "generate_cleansing_extract",
    "generate_demo",
    "programmes_frame",
]

# ---------------------------------------------------------------------------------------------
# Fixed facts of the demo world
# ---------------------------------------------------------------------------------------------

CITY_NAME: Final[str] = "Merseyford (synthetic demo)"
DEFAULT_SEED: Final[int] = 2024
DEFAULT_N_CASES: Final[int] = 60_000
N_SYNTHETIC_WARDS: Final[int] = 26
#: Fake ONS ward codes: ``E059`` + 5 digits (real codes are E05000001 … E0501xxxx).
WARD_CODE_PREFIX: Final[str] = "E059"

#: First day of generated data (inclusive).
DATA_START: Final[date] = date(2023, 10, 1)
#: The extract date: data runs up to 23:59 on this day (inclusive).
EXTRACT_DATE: Final[date] = date(2026, 9, 30)
PROGRAMME_NAME: Final[str] = "Neighbourhood Pride Fund"
PROGRAMME_START: Final[date] = date(2025, 4, 1)
PROGRAMME_DESCRIPTION: Final[str] = (
    "Synthetic demo: extra cleansing rounds and enforcement patrols in selected wards of "
    "Merseyford (fictional), funded from 1 April 2025."
)
#: Share of wards that get the programme (8 of 26 synthetic wards).
TREATED_SHARE: Final[float] = 8 / 26

#: Planted programme effects, as multiplicative ratios (treated wards after PROGRAMME_START
#: relative to what they would have been, i.e. relative to comparison wards: every other
#: difference between wards is a constant multiplier, so pre-trends are parallel on the log scale
#: and a difference-in-differences on log rates recovers these):
#:
#: - ``fly_tipping_reports``: rate of fly-tipping reports (by report date) × 0.85 (−15 %).
#:   Other categories are unaffected (placebo outcomes).
#: - ``median_days_to_close``: every closure time of a case reported on/after the start in a
#:   treated ward is multiplied by 0.70, so any median days to close (all categories or one) is
#:   −30 % (before censoring at the extract date, which hits both groups alike).
#: - ``enforcement_per_100_fly_tips``: enforcement actions per fly-tipping report × 1.50 (+50 %),
#:   for every offence type (fly-tipping chains are started 1.5× as often per fly-tip; patrol
#:   actions such as littering FPNs are scaled so their ratio to fly-tips also rises 1.5×).
#: - ``enforcement_actions``: the resulting raw count ratio, 1.5 × 0.85 = 1.275.
PLANTED_EFFECTS: Final[dict[str, float]] = {
    "fly_tipping_reports": 0.85,
    "median_days_to_close": 0.70,
    "enforcement_per_100_fly_tips": 1.50,
    "enforcement_actions": 1.50 * 0.85,
}

_BNG = 27700
_WGS84 = 4326
_CENTRE_LONLAT = (-2.95, 53.43)
_CITY_RADIUS_M = 5_000.0

_WARD_NAME_POOL: Final[tuple[str, ...]] = (
    "Ashgrove",
    "Bellfield",
    "Brackenfield",
    "Canalside",
    "Castle Mount",
    "Copperhythe",
    "Dunmore Heath",
    "Eastbank",
    "Elmstead",
    "Fairholme",
    "Foxcote",
    "Gorsemoor",
    "Harbour & Quays",
    "Ironmarket",
    "Jubilee Fields",
    "Kingsmere",
    "Larkhill Rise",
    "Marlpit",
    "Northgate",
    "Oakenshaw Park",
    "Pennyfold",
    "Quarrybank Vale",
    "Ropewalk",
    "St Bride's",
    "Tannery Row",
    "Upper Merse",
    "Velvet Hill",
    "Westbrook",
    "Wharfside",
    "Yewdale",
)
_STREET_STEMS: Final[tuple[str, ...]] = (
    "Albion", "Alder", "Anchor", "Argyle", "Beech", "Birch", "Bridge", "Brunswick", "Canal",
    "Cedar", "Chapel", "Church", "Clarence", "Cobden", "Coronation", "Dale", "Derby", "Dock",
    "Elm", "Exchange", "Ferry", "Foundry", "Garden", "George", "Gladstone", "Granby", "Hawthorn",
    "Heath", "High", "Hollybank", "Jubilee", "King\u2019s", "Larch", "Lime", "Lord", "Maple",
    "Market", "Mill", "Moss", "Nelson", "New", "Oak", "Orchard", "Park", "Pier", "Pilgrim",
    "Princes", "Queen\u2019s", "Railway", "Regent", "Rope", "Rowan", "St Anne\u2019s",
    "St Bride\u2019s", "Salt", "School", "Seel", "Ship", "Smithy", "Spring", "Stanley", "Station",
    "Tithebarn", "Tower", "Trafalgar", "Union", "Vauxhall", "Victoria", "Water", "Wellington",
    "Wharf", "Willow", "Windsor", "York",
)  # fmt: skip
_STREET_SUFFIXES: Final[tuple[str, ...]] = (
    "Street", "Road", "Lane", "Avenue", "Close", "Way", "Terrace", "Grove", "Place", "Crescent",
    "Drive", "Walk",
)  # fmt: skip
_STREETS_PER_WARD = 30
_HOTSPOTS_PER_WARD_CATEGORY = 4
_HOTSPOT_WEIGHTS = np.array([0.45, 0.25, 0.18, 0.12])
_HOTSPOT_RADIUS_M = 25.0  # any two cases of one hotspot are within 50 m
_HOTSPOT_INSET_M = 60.0
_POINT_INSET_M = 5.0

# ---------------------------------------------------------------------------------------------
# Categories: shares, seasonality, ward gradients, closure times, council labels
# ---------------------------------------------------------------------------------------------

_CATS: Final[tuple[str, ...]] = (
    "fly_tipping",
    "litter",
    "overflowing_bin",
    "detritus",
    "dog_fouling",
    "graffiti",
    "weeds",
    "abandoned_vehicle",
    "fly_posting",
    "needles",
)
_FLY = 0
_SHARE = np.array([0.32, 0.14, 0.12, 0.09, 0.08, 0.08, 0.06, 0.05, 0.04, 0.02])
# Monthly multipliers, Jan … Dec (normalised later).
_SEASON = np.array(
    [
        [0.85, 0.85, 0.95, 1.10, 1.15, 1.10, 1.10, 1.10, 1.00, 0.95, 0.90, 0.85],  # fly-tipping
        [0.80, 0.80, 0.90, 1.00, 1.15, 1.25, 1.30, 1.30, 1.05, 0.90, 0.80, 0.75],  # litter
        [0.90, 0.80, 0.90, 1.00, 1.10, 1.20, 1.30, 1.30, 1.00, 0.90, 0.90, 1.25],  # bins
        [1.10, 0.90, 0.80, 0.80, 0.80, 0.80, 0.80, 0.90, 1.00, 1.50, 1.60, 1.20],  # detritus
        [1.30, 1.20, 1.10, 1.00, 0.90, 0.80, 0.80, 0.80, 0.90, 1.00, 1.10, 1.20],  # dog fouling
        [0.95, 0.95, 1.00, 1.00, 1.05, 1.05, 1.05, 1.05, 1.00, 1.00, 0.95, 0.95],  # graffiti
        [0.20, 0.20, 0.50, 1.20, 2.00, 2.20, 2.00, 1.60, 1.00, 0.60, 0.30, 0.20],  # weeds
        [1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00],  # vehicles
        [0.90, 0.90, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.10, 1.10, 1.00, 0.90],  # fly-posting
        [0.90, 0.90, 0.95, 1.00, 1.05, 1.10, 1.10, 1.10, 1.00, 0.95, 0.95, 0.90],  # needles
    ]
)
# City-wide growth per year (same in every ward: parallel trends).
_GROWTH = np.array([0.06, 0.0, 0.02, 0.0, -0.03, 0.02, 0.0, 0.03, 0.0, 0.0])
# Log-intensity gradient with ward deprivation (0 … 1).
_DEPRIVATION_BETA = np.array([1.4, 0.8, 0.5, 0.6, 0.7, 0.9, -0.6, 0.8, 0.9, 1.6])
# Bank-holiday bump (day after a bank holiday) applies to these categories.
_HOLIDAY_BUMP = np.array([1.6, 1.5, 1.6, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
_DOW = np.array([1.25, 1.10, 1.05, 1.00, 0.95, 0.80, 0.75])  # Mon … Sun
# City-wide month-to-month swing per category (log sd), the same in every ward.
_CITY_MONTH_SD = 0.06
# Month-to-month swing of each ward's closure times (log sd), balanced within funded / other wards.
_SERVICE_MONTH_SD = 0.12
_HOTSPOT_SHARE = np.array([0.30, 0.15, 0.35, 0.10, 0.15, 0.25, 0.05, 0.05, 0.30, 0.30])
# Log-normal closure times: median days and sigma.
_CLOSE_MEDIAN_DAYS = np.array([2.5, 3.0, 1.5, 7.0, 4.0, 9.0, 18.0, 21.0, 6.0, 0.4])
_CLOSE_SIGMA = np.array([0.9, 0.9, 0.8, 0.9, 0.9, 1.0, 0.8, 0.9, 1.0, 0.8])
_DUPLICATE_RATE = np.array([0.06, 0.02, 0.03, 0.01, 0.02, 0.02, 0.01, 0.03, 0.02, 0.01])
_STATES: Final[tuple[str, ...]] = ("open", "closed", "cancelled", "duplicate")
_CANCELLED_RATE = 0.025
_STUCK_OPEN_RATE = 0.004
_NO_COORDS_RATE = 0.02  # "mixed" coordinates: phone reports with a street and ward only
_BNG_ROW_RATE = 0.60  # "mixed": share of rows with Easting/Northing (rest Latitude/Longitude)
# Reports by hour of day (no reports stamped 01:xx: no DST-ambiguous or missing wall times).
_HOUR_WEIGHTS = np.array(
    [0.6, 0.0, 0.3, 0.2, 0.2, 0.4, 1.0, 2.5, 4.5, 6.0, 6.5, 6.5,
     6.0, 6.0, 6.0, 5.5, 5.0, 4.5, 4.0, 3.5, 3.0, 2.5, 1.8, 1.2]
)  # fmt: skip

#: Council labels per canonical category, with weights; every label is in data/category_map.csv.
CATEGORY_RAW_LABELS: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "fly_tipping": (
        ("Fly tipping", 0.45),
        ("Fly-tipping", 0.25),
        ("Fly Tipping on a road, footway, verge or open space", 0.15),
        ("Dumped rubbish", 0.10),
        ("Black Bags - Household", 0.05),
    ),
    "litter": (
        ("Litter", 0.70),
        ("Litter On Road/Street Cleaning", 0.20),
        ("Accumulated Litter", 0.10),
    ),
    "overflowing_bin": (
        ("Overflowing litter bin", 0.60),
        ("Litter Bin overflow", 0.20),
        ("Dog bin overflowing", 0.20),
    ),
    "detritus": (("Detritus", 0.50), ("Street sweeping", 0.30), ("Leaf fall", 0.20)),
    "dog_fouling": (("Dog Fouling", 0.80), ("Dog fouling", 0.20)),
    "graffiti": (
        ("Graffiti", 0.75),
        ("Graffiti on private property", 0.15),
        ("Offensive graffiti", 0.10),
    ),
    "weeds": (("Weeds", 0.70), ("Weeds on roads or footpaths", 0.30)),
    "abandoned_vehicle": (("Abandoned vehicle", 0.85), ("Untaxed vehicle", 0.15)),
    "fly_posting": (("Fly posting", 0.70), ("Illegal advertising", 0.30)),
    "needles": (("Discarded needles", 0.60), ("Sharps", 0.40)),
}
#: Council status labels (all in data/value_map.csv, field ``status``).
STATUS_LABELS: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "open": (("Open", 0.7), ("In progress", 0.3)),
    "closed": (("Closed", 0.85), ("Completed", 0.15)),
    "cancelled": (("Cancelled", 1.0),),
    "duplicate": (("Duplicate", 1.0),),
}
#: DEFRA WasteDataFlow size bands, share of incidents and standard clearance cost (£, ~2025).
SIZE_BANDS: Final[tuple[tuple[str, float, float], ...]] = (
    ("Single Black Bag", 0.06, 9.0),
    ("Single Item", 0.18, 38.0),
    ("Car Boot or Less", 0.24, 38.0),
    ("Small Van Load", 0.33, 73.0),
    ("Transit Van Load", 0.15, 150.0),
    ("Tipper Lorry Load", 0.03, 455.0),
    ("Significant/Multi Loads", 0.01, 900.0),
)
CHANNELS: Final[tuple[tuple[str, float], ...]] = (
    ("Web", 0.42),
    ("App", 0.25),
    ("Phone", 0.23),
    ("Staff", 0.10),
)

#: Enforcement labels, all in data/value_map.csv (fields ``offence``, ``action``, ``outcome``).
OFFENCE_LABELS: Final[dict[str, str]] = {
    "fly_tipping": "Fly-tipping",
    "duty_of_care": "Household duty of care",
    "littering": "Littering",
    "dog_fouling": "Dog fouling",
    "graffiti": "Graffiti",
    "fly_posting": "Fly-posting",
    "waste_receptacle": "Waste receptacle",
}
ACTION_LABELS: Final[dict[str, str]] = {
    "investigation": "Investigation",
    "warning_letter": "Warning letter",
    "fixed_penalty_notice": "Fixed penalty notice",
    "community_protection_notice": "Community Protection Notice",
    "statutory_notice": "Statutory notice",
    "formal_caution": "Formal caution",
    "prosecution": "Prosecution",
    "vehicle_seized": "Vehicle seized",
    "no_further_action": "No further action",
}
OUTCOME_LABELS: Final[dict[str, str]] = {
    "paid": "Paid",
    "unpaid": "Unpaid",
    "cancelled": "Cancelled",
    "withdrawn": "Withdrawn",
    "convicted": "Convicted",
    "acquitted": "Acquitted",
    "pending": "Pending",
}
#: Spend labels, all in data/value_map.csv (fields ``service`` and ``citywide``).
SERVICE_LABELS: Final[dict[str, str]] = {
    "cleansing": "Street cleansing",
    "enforcement": "Environmental enforcement",
    "other": "Other",
}
CITYWIDE_LABEL: Final[str] = "City-wide"

CLEANSING_HEADERS: Final[tuple[str, ...]] = (
    "Case Reference",
    "Date Received",
    "Request Type",
    "Status",
    "Date Closed",
    "Street",
    "Ward",
    "Easting",
    "Northing",
    "Latitude",
    "Longitude",
    "Size",
    "Cost (£)",
    "Channel",
    "Last Updated",
)
ENFORCEMENT_HEADERS: Final[tuple[str, ...]] = (
    "Enforcement ID",
    "Offence",
    "Action Taken",
    "Date Issued",
    "Outcome",
    "Outcome Date",
    "Amount (£)",
    "Ward",
    "Linked Case",
    "Last Updated",
)
SPEND_HEADERS: Final[tuple[str, ...]] = (
    "Ward Code",
    "Ward",
    "Period Start",
    "Period End",
    "Programme",
    "Service",
    "Amount (£)",
)
POPULATION_HEADERS: Final[tuple[str, ...]] = ("Ward Code", "Ward Name", "Population", "Year")


Coords = Literal["mixed", "bng", "wgs84"]


@dataclass(frozen=True)
class DemoFiles:
    """Paths of one generated demo data set and the programme it carries.

    Attributes
    ----------
    wards, population, cleansing, enforcement, spend, programmes
        The files written (GeoJSON, then CSVs).
    treated_wards
        Ward codes that get the programme, sorted.
    programme_start
        First day of the programme.
    programme
        Programme name.
    extract_date
        Last day covered by the extracts.
    """

    wards: Path
    population: Path
    cleansing: Path
    enforcement: Path
    spend: Path
    programmes: Path
    treated_wards: tuple[str, ...]
    programme_start: date
    programme: str = PROGRAMME_NAME
    extract_date: date = EXTRACT_DATE


# ---------------------------------------------------------------------------------------------
# Random streams: separate child generators, so n_cases never changes the wards
# ---------------------------------------------------------------------------------------------


def _streams(seed: int) -> dict[str, np.random.Generator]:
    names = ("wards", "cases", "enforcement", "spend", "population", "streets")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(s) for n, s in zip(names, children, strict=True)}


@functools.lru_cache(maxsize=4)
def _transformer(src: int, dst: int) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _transformer(_BNG, _WGS84).transform(x, y)
    return np.asarray(lon), np.asarray(lat)


# ---------------------------------------------------------------------------------------------
# Wards
# ---------------------------------------------------------------------------------------------


def _city_outline(rng: np.random.Generator) -> shapely.Polygon:
    cx, cy = _transformer(_WGS84, _BNG).transform(*_CENTRE_LONLAT)
    theta = np.linspace(0, 2 * np.pi, 181)[:-1]
    phases = rng.uniform(0, 2 * np.pi, 3)
    r = _CITY_RADIUS_M * (
        1
        + 0.12 * np.sin(2 * theta + phases[0])
        + 0.08 * np.sin(3 * theta + phases[1])
        + 0.05 * np.sin(5 * theta + phases[2])
    )
    # A straight "river front" on the west side, like a Mersey-side city.
    x = np.maximum(cx + r * np.cos(theta), cx - 0.8 * _CITY_RADIUS_M)
    y = cy + r * np.sin(theta)
    return shapely.Polygon(np.column_stack([np.round(x, 1), np.round(y, 1)]))


def _sample_in_polygon(
    rng: np.random.Generator, poly: shapely.Geometry, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points inside ``poly`` (vectorised rejection sampling in its bounding box)."""
    if m <= 0:
        return np.empty(0), np.empty(0)
    minx, miny, maxx, maxy = poly.bounds
    ratio = max(poly.area / max((maxx - minx) * (maxy - miny), 1e-9), 0.02)
    shapely.prepare(poly)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    got = 0
    while got < m:
        k = int((m - got) / ratio * 1.2) + 16
        x = rng.uniform(minx, maxx, k)
        y = rng.uniform(miny, maxy, k)
        ok = shapely.contains_xy(poly, x, y)
        xs.append(x[ok])
        ys.append(y[ok])
        got += int(ok.sum())
    return np.concatenate(xs)[:m], np.concatenate(ys)[:m]


def _voronoi_cells(points: np.ndarray, outline: shapely.Polygon) -> list[shapely.Geometry]:
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.MultiPoint(points), extend_to=outline)
    )
    tree = shapely.STRtree(cells)
    pts = shapely.points(points)
    pt_idx, cell_idx = tree.query(pts, predicate="within")
    order = np.empty(len(points), dtype=int)
    order[pt_idx] = cell_idx
    return [shapely.intersection(cells[i], outline) for i in order]


def _synthetic_ward_geometry(rng: np.random.Generator, n_wards: int) -> gpd.GeoDataFrame:
    outline = _city_outline(rng)
    x, y = _sample_in_polygon(rng, outline.buffer(-400), n_wards)
    points = np.column_stack([x, y])
    for _ in range(5):  # Lloyd relaxation: even out ward sizes
        cells = _voronoi_cells(points, outline)
        points = shapely.get_coordinates(shapely.centroid(cells))
    cells = _voronoi_cells(points, outline)
    cells = [shapely.set_precision(c, 0.01) for c in cells]
    names = sorted(rng.choice(np.array(_WARD_NAME_POOL), size=n_wards, replace=False).tolist())
    # ONS allocates codes alphabetically by name; cells get names in a seeded random order.
    cell_order = rng.permutation(n_wards)
    codes = [f"{WARD_CODE_PREFIX}{i + 1:05d}" for i in range(n_wards)]
    return gpd.GeoDataFrame(
        {"ward_code": codes, "ward_name": names},
        geometry=[cells[i] for i in cell_order],
        crs=_BNG,
    )


def _read_wards_file(path: Path) -> gpd.GeoDataFrame:
    """Read a real boundary file into ``ward_code``, ``ward_name``, geometry (EPSG:4326)."""
    try:  # the project's reader, when it exists
        from neighbourhood.geo import read_boundaries  # noqa: PLC0415

        wards = read_boundaries(Path(path), Path(path).name).wards
        return gpd.GeoDataFrame(
            wards[["ward_code", "ward_name"]].astype(str),
            geometry=wards.geometry.values,
            crs=_WGS84,
        )
    except ImportError:
        pass
    gdf = gpd.read_file(path)
    if gdf.crs is None:
        gdf = gdf.set_crs(_BNG if abs(gdf.total_bounds[1]) > 90 else _WGS84)
    cols = {c.lower(): c for c in gdf.columns if c != "geometry"}

    def pick(patterns: Sequence[str]) -> str:
        for pat in patterns:
            for low, orig in cols.items():
                if re.fullmatch(pat, low):
                    return orig
        raise ValueError(f"{path}: no ward field matching {patterns} in {list(gdf.columns)}")

    code = pick([r"wd\d\dcd", r"ward_?code", r"code"])
    name = pick([r"wd\d\dnm", r"ward_?name", r"name"])
    out = gpd.GeoDataFrame(
        {
            "ward_code": gdf[code].astype(str).str.strip(),
            "ward_name": gdf[name].astype(str).str.strip(),
        },
        geometry=gdf.geometry.values,
        crs=gdf.crs,
    )
    return out.to_crs(_WGS84)


@dataclass(frozen=True)
class _World:
    """Wards (BNG geometry) and their fixed attributes."""

    wards: gpd.GeoDataFrame  # ward_code, ward_name, geometry (EPSG:27700)
    wards_wgs84: gpd.GeoDataFrame
    deprivation: np.ndarray
    population: np.ndarray  # base population (first year)
    treated: np.ndarray  # bool per ward
    synthetic: bool
    growth: np.ndarray  # population growth per year, per ward

    @property
    def n(self) -> int:
        return len(self.wards)

    @property
    def treated_codes(self) -> tuple[str, ...]:
        return tuple(sorted(self.wards["ward_code"][self.treated]))


def _make_world(seed: int, wards_file: Path | None) -> _World:
    rng = _streams(seed)["wards"]
    if wards_file is None:
        wards = _synthetic_ward_geometry(rng, N_SYNTHETIC_WARDS)
        wards_wgs84 = wards.to_crs(_WGS84)
        synthetic = True
    else:
        wards_wgs84 = _read_wards_file(Path(wards_file))
        wards_wgs84 = wards_wgs84.sort_values("ward_code", ignore_index=True)
        wards = wards_wgs84.to_crs(_BNG)
        synthetic = False
    n = len(wards)
    # Deprivation-like index: higher near the west ("docks") and the centre, plus noise.
    cent = shapely.get_coordinates(shapely.centroid(wards.geometry.values))
    minx, miny, maxx, maxy = wards.total_bounds
    west = 1 - (cent[:, 0] - minx) / max(maxx - minx, 1)
    centre = np.array([(minx + maxx) / 2, (miny + maxy) / 2])
    dist = np.hypot(*(cent - centre).T)
    central = 1 - dist / max(dist.max(), 1)
    raw = 0.5 * west + 0.3 * central + 0.35 * rng.random(n)
    deprivation = (raw - raw.min()) / max(raw.max() - raw.min(), 1e-9)
    population = np.round(8_000 + 10_000 * rng.beta(2, 2, n), -1)
    # Treated wards: every k-th ward by deprivation, from the most deprived: spans the range
    # (comparable to the comparison wards), tilted slightly towards need.
    n_treated = max(2, round(n * TREATED_SHARE))
    by_need = np.argsort(-deprivation, kind="stable")
    picks = by_need[np.floor(np.arange(n_treated) * n / n_treated).astype(int)]
    treated = np.zeros(n, dtype=bool)
    treated[picks] = True
    # Drawn from the population stream (not the ward stream), so the wards do not move.
    growth = _streams(seed)["population"].normal(0.004, 0.004, n)
    return _World(wards, wards_wgs84, deprivation, population, treated, synthetic, growth)


# ---------------------------------------------------------------------------------------------
# Street-cleansing cases
# ---------------------------------------------------------------------------------------------


def _minutes(d: date) -> np.datetime64:
    return np.datetime64(d, "m")


_EXTRACT_END_M = _minutes(EXTRACT_DATE) + np.timedelta64(24 * 60 - 1, "m")


def _days() -> np.ndarray:
    return np.arange(np.datetime64(DATA_START), np.datetime64(EXTRACT_DATE) + 1, dtype="M8[D]")


def _bank_holidays() -> np.ndarray:
    import holidays  # noqa: PLC0415

    years = range(DATA_START.year, EXTRACT_DATE.year + 1)
    return np.array(sorted(holidays.UK(subdiv="ENG", years=years)), dtype="M8[D]")


def _avoid_hour_one(t: np.ndarray) -> np.ndarray:
    """Move wall times at 01:xx to 02:xx (no DST-ambiguous or non-existent local times)."""
    hour = (t - t.astype("M8[D]")).astype(int) // 60
    return np.where(hour == 1, t + np.timedelta64(60, "m"), t)


def _pick(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    cdf = np.cumsum(np.asarray(weights, dtype=float))
    return np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right")


def _stratified_uniform(rng: np.random.Generator, groups: np.ndarray) -> np.ndarray:
    """Uniforms in [0, 1), one per row, stratified within each group (Latin hypercube).

    A group of ``m`` rows gets exactly one value in each of ``[0, 1/m)``, ``[1/m, 2/m)``, …, in
    random order, so every row is still uniform on its own, but a threshold ``u < p`` picks
    ``m·p`` rows of the group give or take one, and quantiles of ``F⁻¹(u)`` match ``F``'s.
    """
    groups = np.asarray(groups)
    n = len(groups)
    if n == 0:
        return np.empty(0)
    order = np.lexsort((rng.random(n), groups))
    g = groups[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, sizes)
    out = np.empty(n)
    out[order] = (rank + rng.random(n)) / np.repeat(sizes, sizes)
    return out


def _draw_within(
    rng: np.random.Generator, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """For each row, an index in ``[lo, hi)`` drawn in proportion to the weights whose running
    total is ``cum`` (``np.cumsum(weights)``)."""
    before = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
    target = before + rng.random(len(lo)) * (cum[hi - 1] - before)
    return np.clip(np.searchsorted(cum, target, side="right"), lo, hi - 1)


def _balanced_draw(
    rng: np.random.Generator, weights: np.ndarray, groups: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """``size`` cells (stratum, ward) in proportion to ``weights`` (strata × wards), balanced.

    Each stratum's count in each group of wards (``groups``: one label per ward) is its expected
    count rounded up or down (systematic sampling), so group totals carry no sampling noise;
    within a group the wards are drawn at random (multinomial). Returns (stratum, ward) indices,
    sorted by stratum.
    """
    n_w = weights.shape[1]
    order = np.argsort(groups, kind="stable")
    wp = np.asarray(weights, dtype=float)[:, order]
    g = np.asarray(groups)[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], n_w]
    totals = np.add.reduceat(wp, starts, axis=1)  # strata × groups
    s_i, g_i = np.divmod(_systematic(rng, totals.ravel(), size), len(starts))
    j = _draw_within(rng, np.cumsum(wp.ravel()), s_i * n_w + starts[g_i], s_i * n_w + ends[g_i])
    return s_i, order[j % n_w]


def _pps(rng: np.random.Generator, p: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Select rows with probability ``p`` (≤ 1) each, balanced: in every group the number
    selected is ``Σp`` rounded up or down (systematic sampling in a random order)."""
    n = len(p)
    sel = np.zeros(n, dtype=bool)
    if n == 0:
        return sel
    order = np.lexsort((rng.random(n), groups))
    g = np.asarray(groups)[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, n])
    offset = np.repeat(rng.random(len(starts)), sizes)
    cum = np.cumsum(np.asarray(p, dtype=float)[order])
    base = np.repeat(np.r_[0.0, cum][starts], sizes)  # running total before each group
    after = cum - base + offset
    before = after - np.asarray(p, dtype=float)[order]
    sel[order] = np.floor(after) > np.floor(before)
    return sel


def _systematic(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """``size`` indices into ``weights`` by systematic sampling (sorted): index ``i`` is drawn
    ``size·w_i/Σw`` times, rounded up or down, instead of a multinomial number of times."""
    cdf = np.cumsum(np.asarray(weights, dtype=float))
    pos = (np.arange(size) + rng.random()) / max(size, 1) * cdf[-1]
    return np.minimum(np.searchsorted(cdf, pos, side="right"), len(cdf) - 1)


def _generate_cases(rng: np.random.Generator, world: _World, n_cases: int) -> pd.DataFrame:
    days = _days()
    n_w, n_k = world.n, len(_CATS)
    months = days.astype("M8[M]").astype(int) % 12  # 0 = January
    weekday = (days.astype(int) + 3) % 7  # 1970-01-01 was a Thursday
    years = (days - np.datetime64(DATA_START)).astype(int) / 365.25
    hols = _bank_holidays()
    is_hol = np.isin(days, hols)
    after_hol = np.isin(days - 1, hols)
    post = days >= np.datetime64(PROGRAMME_START)

    # Time profile per category (days × categories), normalised per category.
    time_w = _SEASON[:, months].T * (1 + _GROWTH) ** years[:, None] * _DOW[weekday][:, None]
    time_w = time_w * np.where(is_hol, 0.7, 1.0)[:, None]
    time_w = time_w * np.where(after_hol[:, None], _HOLIDAY_BUMP[None, :], 1.0)
    time_w /= time_w.sum(axis=0, keepdims=True)
    # Ward intensity per category (wards × categories), fixed over time, normalised per category.
    noise = np.exp(rng.normal(0, 0.15, (n_w, n_k)))
    ward_w = world.population[:, None] * np.exp(
        _DEPRIVATION_BETA[None, :] * (world.deprivation[:, None] - 0.5)
    )
    ward_w = ward_w * noise
    ward_w /= ward_w.sum(axis=0, keepdims=True)
    # Cases grow with each ward's population (the rates' denominators: mid-year estimate of the
    # year the financial year starts in), so rates per 1,000 residents stay parallel too.
    y, m = days.astype("M8[Y]").astype(int) + 1970, days.astype("M8[M]").astype(int) % 12
    fin_year = np.where(m >= 3, y, y - 1) - DATA_START.year
    # City-wide month-to-month swings (weather, news): the same multiplier in every ward.
    month_no = days.astype("M8[M]").astype(int)
    month_no = month_no - month_no[0]
    n_m = int(month_no[-1]) + 1
    time_w = time_w * np.exp(rng.normal(0, _CITY_MONTH_SD, (n_m, n_k)))[month_no]
    cube = time_w[:, None, :] * ward_w[None, :, :] * _SHARE[None, None, :]
    cube *= ((1 + world.growth[None, :]) ** fin_year[:, None])[:, :, None]
    # Planted effect on fly-tipping reports.
    cube[np.ix_(post, world.treated, [_FLY])] *= PLANTED_EFFECTS["fly_tipping_reports"]

    # Cases per month, category and ward. Each month's count of each category in the funded
    # wards, and in the other wards, is its expected value rounded up or down; only the split
    # between the wards of one group is random. With ~20 fly-tips per ward and month, free Poisson
    # noise moved the funded wards' pre-period path by ±8 % per 4-month bin, and the
    # parallel-trends check warned by chance (seed 2024: p = 0.04). Balanced within the groups,
    # the two groups follow their expected paths exactly (parallel by construction) while each
    # ward keeps realistic month-to-month noise.
    first_day = np.flatnonzero(np.r_[True, month_no[1:] != month_no[:-1]])
    block = np.add.reduceat(cube, first_day, axis=0)  # months × wards × categories
    group = world.treated.astype(np.int64)
    strata = block.transpose(0, 2, 1).reshape(n_m * n_k, n_w)  # (month, category) × wards
    s_i, w_i = _balanced_draw(rng, strata, group, n_cases)
    m_i, k_i = np.divmod(s_i, n_k)
    # The day within the month is random, in proportion to the daily intensity (weekdays, bank
    # holidays): cube laid out as wards × categories × days, so each block is one run of cells.
    n_d = len(days)
    run = (w_i * n_k + k_i) * n_d
    flat = np.cumsum(cube.transpose(1, 2, 0).ravel())
    d_i = _draw_within(rng, flat, run + first_day[m_i], run + np.r_[first_day[1:], n_d][m_i]) % n_d
    hour = _pick(rng, _HOUR_WEIGHTS, n_cases)
    minute = rng.integers(0, 60, n_cases)
    reported = days[d_i].astype("M8[m]") + (hour * 60 + minute).astype("m8[m]")
    order = np.argsort(reported, kind="stable")
    reported, d_i, m_i = reported[order], d_i[order], m_i[order]
    w_i, k_i = w_i[order], k_i[order]
    n = n_cases

    # Locations: hotspots (same category, within 50 m) or uniform inside the ward.
    hot_xy = np.zeros((n_w, n_k, _HOTSPOTS_PER_WARD_CATEGORY, 2))
    hot_street = rng.integers(0, _STREETS_PER_WARD, (n_w, n_k, _HOTSPOTS_PER_WARD_CATEGORY))
    geoms = world.wards.geometry.values
    for w in range(n_w):
        inner = geoms[w].buffer(-_HOTSPOT_INSET_M)
        if inner.is_empty or inner.area < 100:
            inner = geoms[w].buffer(-2 * _POINT_INSET_M)
        hx, hy = _sample_in_polygon(rng, inner, n_k * _HOTSPOTS_PER_WARD_CATEGORY)
        hot_xy[w, :, :, 0] = hx.reshape(n_k, -1)
        hot_xy[w, :, :, 1] = hy.reshape(n_k, -1)
    is_hot = rng.random(n) < _HOTSPOT_SHARE[k_i]
    h_i = _pick(rng, _HOTSPOT_WEIGHTS, n)
    r = _HOTSPOT_RADIUS_M * np.sqrt(rng.random(n))
    a = rng.uniform(0, 2 * np.pi, n)
    x = hot_xy[w_i, k_i, h_i, 0] + r * np.cos(a)
    y = hot_xy[w_i, k_i, h_i, 1] + r * np.sin(a)
    street_w = 1 / np.arange(1, _STREETS_PER_WARD + 1) ** 0.8
    street = np.where(is_hot, hot_street[w_i, k_i, h_i], _pick(rng, street_w, n))
    for w in range(n_w):
        sel = np.flatnonzero((w_i == w) & ~is_hot)
        px, py = _sample_in_polygon(rng, geoms[w].buffer(-_POINT_INSET_M), len(sel))
        x[sel], y[sel] = px, py

    # Closure times, statuses.
    close_factor = np.exp(0.25 * (world.deprivation - 0.5) * 2 + rng.normal(0, 0.08, n_w))
    # Month-to-month swings in each ward's service (staff off sick, a backlog), balanced so that
    # the average closure factor of the funded wards, and of the other wards, stays put.
    service = np.exp(rng.normal(0, _SERVICE_MONTH_SD, (n_m, n_w))) * close_factor[None, :]
    for g in (world.treated, ~world.treated):
        service[:, g] *= close_factor[g].sum() / service[:, g].sum(axis=1, keepdims=True)
    treated_post = world.treated[w_i] & post[d_i]
    median = _CLOSE_MEDIAN_DAYS[k_i] * service[m_i, w_i]
    median = np.where(treated_post, median * PLANTED_EFFECTS["median_days_to_close"], median)
    # Log-normal closure times from stratified normal scores: within each ward, category and
    # month of report the scores cover the distribution evenly (Latin hypercube), so each ward's
    # monthly median sits on its expected value instead of wandering by ±20 % with ~20 cases.
    block_id = (m_i * n_w + w_i) * n_k + k_i
    z = ndtri(np.clip(_stratified_uniform(rng, block_id), 1e-9, 1 - 1e-9))
    days_to_close = median * np.exp(_CLOSE_SIGMA[k_i] * z)
    # Cancelled / duplicate: exact shares per month, category and group of wards.
    u = _stratified_uniform(rng, (m_i * n_k + k_i) * 2 + group[w_i])
    cancelled = u < _CANCELLED_RATE
    duplicate = ~cancelled & (u < _CANCELLED_RATE + _DUPLICATE_RATE[k_i])
    stuck = ~cancelled & ~duplicate & (rng.random(n) < _STUCK_OPEN_RATE)
    quick = rng.uniform(0.02, 1.5, n)
    days_to_close = np.where(cancelled | duplicate, quick, days_to_close)
    close_min = np.maximum(np.round(days_to_close * 1440), 1).astype("m8[m]")
    closed = reported + close_min
    # Crews close cases in working hours: keep the day, draw a time 07:00-18:59 (never before
    # the report; this moves each closure by under a day, both groups alike).
    shift_time = closed.astype("M8[D]") + rng.integers(7 * 60, 19 * 60, n).astype("m8[m]")
    closed = np.where(shift_time > reported, shift_time, closed)
    closed = _avoid_hour_one(closed)
    is_closed = (closed <= _EXTRACT_END_M) & ~stuck
    # State codes: 0 open, 1 closed, 2 cancelled, 3 duplicate (see _STATES).
    state = np.where(~is_closed, 0, np.where(cancelled, 2, np.where(duplicate, 3, 1)))
    closed = np.where(is_closed, closed, np.datetime64("NaT"))
    span = (_EXTRACT_END_M - reported).astype(int)
    touched = reported + (rng.random(n) * span).astype("m8[m]")
    updated = np.where(
        is_closed,
        np.minimum(closed + rng.integers(0, 30, n).astype("m8[m]"), _EXTRACT_END_M),
        touched,
    )
    updated = _avoid_hour_one(updated)
    updated = np.minimum(updated, _EXTRACT_END_M)

    # Fly-tipping size and clearance cost.
    is_fly = k_i == _FLY
    size_i = _pick(rng, np.array([s[1] for s in SIZE_BANDS]), n)
    size_known = is_fly & (rng.random(n) > 0.04)
    unit = np.array([s[2] for s in SIZE_BANDS])[size_i]
    sigma = np.where(size_i >= 5, 0.4, 0.15)
    cost = np.round(unit * np.exp(sigma * rng.standard_normal(n)), 2)
    has_cost = size_known & (state == 1)
    channel_i = _pick(rng, np.array([c[1] for c in CHANNELS]), n)

    return pd.DataFrame(
        {
            "ward": w_i,
            "cat": k_i,
            "reported_at": reported,
            "closed_at": closed,
            "updated_at": updated,
            "state": state,
            "x": x,
            "y": y,
            "street": street,
            "size": np.where(size_known, size_i, -1),
            "cost": np.where(has_cost, cost, np.nan),
            "channel": channel_i,
            "treated_post": treated_post,
        }
    )


def _street_names(rng: np.random.Generator, n_wards: int) -> np.ndarray:
    """Street names per ward (wards × streets); names may repeat across wards, as in real cities."""
    stems = np.array(_STREET_STEMS)
    suffixes = np.array(_STREET_SUFFIXES)
    out = np.empty((n_wards, _STREETS_PER_WARD), dtype=object)
    n_combo = len(stems) * len(suffixes)
    for w in range(n_wards):
        combo = rng.choice(n_combo, _STREETS_PER_WARD, replace=False)
        out[w] = np.char.add(
            np.char.add(stems[combo // len(suffixes)], " "), suffixes[combo % len(suffixes)]
        )
    return out


# ---------------------------------------------------------------------------------------------
# Writing extracts (pyarrow: fast and byte-deterministic)
# ---------------------------------------------------------------------------------------------


_TWO_DIGITS = pa.array([f"{i:02d}" for i in range(100)])
_HHMM = pa.array([f"{m // 60:02d}:{m % 60:02d}" for m in range(1440)])


def _fmt_times(t: np.ndarray, fmt: Literal["datetime", "date"]) -> pa.Array:
    """Format naive wall times as ``dd/mm/yyyy HH:MM`` or ``dd/mm/yyyy`` (NaT → null).

    Each distinct day and minute of the day is formatted once, then looked up: ~20× faster than
    ``strftime`` on a million rows.
    """
    t = np.asarray(t).astype("M8[m]")
    mask = np.isnat(t)
    if mask.all():
        return pa.nulls(len(t), pa.string())
    day = t.astype("M8[D]")
    first, last = day[~mask].min(), day[~mask].max()
    day_idx = np.where(mask, 0, (day - first).astype(np.int64))
    days = np.arange(first, last + 1, dtype="M8[D]").astype(object)
    day_str = pa.array([d.strftime("%d/%m/%Y") for d in days])
    out = pc.take(day_str, pa.array(day_idx))
    if fmt == "datetime":
        minutes = np.where(mask, 0, (t - day).astype(np.int64))
        out = pc.binary_join_element_wise(out, pc.take(_HHMM, pa.array(minutes)), " ")
    return pc.if_else(pa.array(mask), pa.nulls(len(t), pa.string()), out)


def _fmt_money(amount: np.ndarray) -> pa.Array:
    """Format pounds as ``1234.50`` (NaN → null), vectorised."""
    amount = np.asarray(amount, dtype=float)
    mask = np.isnan(amount)
    pence = np.round(np.nan_to_num(amount) * 100).astype(np.int64)
    pounds = pc.cast(pa.array(pence // 100), pa.string())
    out = pc.binary_join_element_wise(pounds, pc.take(_TWO_DIGITS, pa.array(pence % 100)), ".")
    return pc.if_else(pa.array(mask), pa.nulls(len(amount), pa.string()), out)


def _labels(
    rng: np.random.Generator, groups: np.ndarray, table: Sequence[Sequence[tuple[str, float]]]
) -> pa.Array:
    """A council label per row: row i uses ``table[groups[i]]`` (label, weight) pairs."""
    labels: list[str] = []
    offsets = []
    cdfs = []
    for options in table:
        offsets.append(len(labels))
        labels.extend(o[0] for o in options)
        w = np.array([o[1] for o in options])
        cdfs.append(np.cumsum(w) / w.sum())
    u = rng.random(len(groups))
    idx = np.empty(len(groups), dtype=np.int64)
    for g, cdf in enumerate(cdfs):
        sel = groups == g
        idx[sel] = offsets[g] + np.minimum(np.searchsorted(cdf, u[sel], side="right"), len(cdf) - 1)
    return pc.take(pa.array(labels), pa.array(idx))


def _csv_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))
    return buf.getvalue()


def _utf8_sequences(data: bytes) -> list[bytes]:
    """The distinct multi-byte UTF-8 characters in ``data`` (vectorised scan).

    Replacing each one by its cp1252 bytes is ~10× faster than decoding and re-encoding 150 MB,
    and gives identical bytes (unencodable characters still raise).
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    lead = np.flatnonzero(arr >= 0xC2)
    if len(lead) == 0:
        return []
    width = np.where(arr[lead] >= 0xF0, 4, np.where(arr[lead] >= 0xE0, 3, 2))
    key = np.zeros(len(lead), dtype=np.uint64)
    for k in range(4):
        pos = np.minimum(lead + k, len(arr) - 1)
        byte = np.where(k < width, arr[pos], 0).astype(np.uint64)
        key = key * np.uint64(256) + byte
    uniq, first = np.unique(key, return_index=True)
    return [data[lead[i] : lead[i] + width[i]] for i in first]


def _write(
    path: Path, data: bytes, encoding: Literal["cp1252", "utf-8-sig", "utf-8"], crlf: bool = False
) -> None:
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    if encoding == "cp1252":
        for seq in _utf8_sequences(data):
            data = data.replace(seq, seq.decode("utf-8").encode("cp1252"))
    elif encoding == "utf-8-sig":
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)


def _cleansing_table(
    rng: np.random.Generator,
    world: _World,
    cases: pd.DataFrame,
    streets: np.ndarray,
    coords: Coords,
) -> pa.Table:
    n = len(cases)
    x = cases["x"].to_numpy()
    y = cases["y"].to_numpy()
    if coords == "bng":
        kind = np.zeros(n, dtype=int)
    elif coords == "wgs84":
        kind = np.ones(n, dtype=int)
    else:
        u = rng.random(n)
        kind = np.where(u < _NO_COORDS_RATE, 2, np.where(u < _NO_COORDS_RATE + _BNG_ROW_RATE, 0, 1))
    bng, ll = kind == 0, kind == 1
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if ll.any():
        lo, la = _to_wgs84(x[ll], y[ll])
        lon[ll], lat[ll] = np.round(lo, 6), np.round(la, 6)
    easting = pa.array(np.round(x).astype(np.int64), mask=~bng)
    northing = pa.array(np.round(y).astype(np.int64), mask=~bng)
    w_i = cases["ward"].to_numpy()
    k_i = cases["cat"].to_numpy()
    state_i = cases["state"].to_numpy()
    status_table = [STATUS_LABELS[s] for s in _STATES]
    refs = pc.binary_join_element_wise(
        "SC", pc.cast(pa.array(np.arange(n, dtype=np.int64) + 1_000_001), pa.string()), ""
    )
    size_i = cases["size"].to_numpy()
    size_names = pa.array([s[0] for s in SIZE_BANDS])
    size = pc.take(size_names, pa.array(np.maximum(size_i, 0), mask=size_i < 0))
    cost = cases["cost"].to_numpy()
    cost_str = _fmt_money(cost)
    street_idx = w_i * _STREETS_PER_WARD + cases["street"].to_numpy()
    closed = cases["closed_at"].to_numpy()
    columns = {
        "Case Reference": refs,
        "Date Received": _fmt_times(cases["reported_at"].to_numpy(), "datetime"),
        "Request Type": _labels(rng, k_i, [CATEGORY_RAW_LABELS[c] for c in _CATS]),
        "Status": _labels(rng, state_i, status_table),
        "Date Closed": _fmt_times(closed, "datetime"),
        "Street": pc.take(pa.array(streets.ravel().tolist()), pa.array(street_idx)),
        "Ward": pc.take(pa.array(world.wards["ward_name"].tolist()), pa.array(w_i)),
        "Easting": easting,
        "Northing": northing,
        "Latitude": pa.array(lat, mask=~ll),
        "Longitude": pa.array(lon, mask=~ll),
        "Size": size,
        "Cost (£)": cost_str,
        "Channel": pc.take(
            pa.array([c[0] for c in CHANNELS]), pa.array(cases["channel"].to_numpy())
        ),
        "Last Updated": _fmt_times(cases["updated_at"].to_numpy(), "datetime"),
    }
    assert tuple(columns) == CLEANSING_HEADERS
    return pa.table(columns)


# ---------------------------------------------------------------------------------------------
# Enforcement
# ---------------------------------------------------------------------------------------------


def _generate_enforcement(
    rng: np.random.Generator, world: _World, cases: pd.DataFrame, n_cases: int
) -> pd.DataFrame:
    """One row per action; fly-tipping chains start from fly-tip cases, patrols are unlinked."""
    end_day = np.datetime64(EXTRACT_DATE)
    ward_factor = np.exp(rng.normal(0, 0.2, world.n))
    # --- chains from fly-tipping cases ---
    fly = np.flatnonzero((cases["cat"].to_numpy() == _FLY) & (cases["state"].to_numpy() <= 1))
    w_f = cases["ward"].to_numpy()[fly]
    tp = cases["treated_post"].to_numpy()[fly]
    p = 0.10 * ward_factor[w_f] * np.where(tp, PLANTED_EFFECTS["enforcement_per_100_fly_tips"], 1.0)
    # Balanced: in each month of report, the funded wards and the other wards each start their
    # expected number of chains, rounded (free Bernoulli draws would add noise to the pre-trends).
    f_month = cases["reported_at"].to_numpy()[fly].astype("M8[M]").astype(np.int64)
    chain = fly[_pps(rng, p, f_month * 2 + world.treated[w_f])]
    m = len(chain)
    c_ward = cases["ward"].to_numpy()[chain]
    c_day = cases["reported_at"].to_numpy()[chain].astype("M8[D]")
    linked = rng.random(m) < 0.75
    inv_day = c_day + rng.integers(1, 11, m).astype("m8[D]")
    follow = _pick(rng, np.array([0.38, 0.27, 0.24, 0.05, 0.03, 0.02, 0.01]), m)
    follow_action = np.array(
        [
            "no_further_action",
            "warning_letter",
            "fixed_penalty_notice",
            "prosecution",
            "community_protection_notice",
            "statutory_notice",
            "formal_caution",
        ]
    )[follow]
    gap = np.where(follow_action == "prosecution", rng.integers(60, 181, m), rng.integers(7, 36, m))
    fol_day = inv_day + gap.astype("m8[D]")
    is_fpn = follow_action == "fixed_penalty_notice"
    duty = is_fpn & (rng.random(m) < 0.3)
    fol_offence = np.where(duty, "duty_of_care", "fly_tipping")
    fpn_amount = np.where(duty, 400.0, np.where(rng.random(m) < 0.2, 1000.0, 400.0))
    rows = [
        dict(chain=chain, ward=c_ward, offence="fly_tipping", action="investigation", day=inv_day, amount=np.nan, linked=linked),
        dict(chain=chain, ward=c_ward, offence=fol_offence, action=follow_action, day=fol_day,
             amount=np.where(is_fpn, fpn_amount, np.nan), linked=linked),
    ]  # fmt: skip
    # Vehicle seizures alongside some prosecutions.
    seize = (follow_action == "prosecution") & (rng.random(m) < 0.25)
    rows.append(
        dict(chain=chain[seize], ward=c_ward[seize], offence="fly_tipping", action="vehicle_seized",
             day=inv_day[seize] + rng.integers(3, 21, int(seize.sum())).astype("m8[D]"),
             amount=np.nan, linked=linked[seize])
    )  # fmt: skip
    # --- patrol actions, not linked to a case ---
    months = np.arange(
        np.datetime64(DATA_START, "M"), np.datetime64(EXTRACT_DATE, "M") + 1, dtype="M8[M]"
    )
    post_m = months >= np.datetime64(PROGRAMME_START, "M")
    cell_w = (
        world.population[None, :]
        * np.exp(0.8 * (world.deprivation[None, :] - 0.5))
        * ward_factor[None, :]
        * _SEASON[1, months.astype(int) % 12][:, None]
    )
    cell_w = cell_w * np.where(
        post_m[:, None] & world.treated[None, :], PLANTED_EFFECTS["enforcement_actions"], 1.0
    )
    n_patrol = int(round(0.03 * n_cases))
    mo_i, p_ward = _balanced_draw(rng, cell_w, world.treated.astype(np.int64), n_patrol)
    month_start = months[mo_i].astype("M8[D]")
    month_len = ((months[mo_i] + 1).astype("M8[D]") - month_start).astype(int)
    p_day = month_start + (rng.random(n_patrol) * month_len).astype(int).astype("m8[D]")
    kinds = np.array(
        [
            ("littering", "fixed_penalty_notice", 150.0),
            ("dog_fouling", "fixed_penalty_notice", 100.0),
            ("littering", "warning_letter", np.nan),
            ("fly_posting", "community_protection_notice", np.nan),
            ("graffiti", "community_protection_notice", np.nan),
            ("waste_receptacle", "statutory_notice", np.nan),
            ("waste_receptacle", "fixed_penalty_notice", 80.0),
        ],
        dtype=object,
    )
    kind_i = _pick(rng, np.array([0.58, 0.14, 0.06, 0.05, 0.04, 0.09, 0.04]), n_patrol)
    rows.append(
        dict(chain=np.full(n_patrol, -1), ward=p_ward, offence=kinds[kind_i, 0].astype(str),
             action=kinds[kind_i, 1].astype(str), day=p_day, amount=kinds[kind_i, 2].astype(float),
             linked=np.zeros(n_patrol, dtype=bool))
    )  # fmt: skip

    frame = pd.concat(
        [
            pd.DataFrame({k: np.broadcast_to(v, len(r["chain"])) for k, v in r.items()})
            for r in rows
        ],
        ignore_index=True,
    )
    frame = frame[frame["day"].to_numpy() <= end_day]
    frame = frame.sort_values(["day", "chain", "action"], kind="stable", ignore_index=True)
    k = len(frame)
    action = frame["action"].to_numpy()
    day = frame["day"].to_numpy().astype("M8[D]")
    # Outcomes.
    outcome = np.full(k, "", dtype=object)
    out_day = np.full(k, np.datetime64("NaT"), dtype="M8[D]")
    fpn = action == "fixed_penalty_notice"
    pay = _pick(rng, np.array([0.66, 0.24, 0.10]), k)
    fpn_outcome = np.array(["paid", "unpaid", "cancelled"])[pay]
    fpn_gap = np.choose(
        pay, [rng.integers(3, 29, k), rng.integers(29, 61, k), rng.integers(3, 31, k)]
    )
    outcome[fpn] = fpn_outcome[fpn]
    out_day[fpn] = (day + fpn_gap.astype("m8[D]"))[fpn]
    pros = action == "prosecution"
    res = _pick(rng, np.array([0.78, 0.09, 0.07, 0.06]), k)
    outcome[pros] = np.array(["convicted", "acquitted", "withdrawn", "pending"])[res][pros]
    out_day[pros] = (day + rng.integers(60, 241, k).astype("m8[D]"))[pros]
    out_day[outcome == "pending"] = np.datetime64("NaT")
    late = ~np.isnat(out_day) & (out_day > end_day)
    outcome[late] = "pending"
    out_day[late] = np.datetime64("NaT")
    amount = frame["amount"].to_numpy().copy()
    convicted = outcome == "convicted"
    amount[convicted] = (
        np.round(650 * np.exp(0.5 * rng.standard_normal(int(convicted.sum()))) / 5) * 5
    )
    frame["outcome"] = outcome
    frame["outcome_day"] = out_day
    frame["amount"] = amount
    last = np.where(np.isnat(out_day), day, out_day).astype("M8[m]")
    last = last + rng.integers(9 * 60, 17 * 60, k).astype("m8[m]")
    frame["updated_at"] = last
    return frame


def _enforcement_table(world: _World, enf: pd.DataFrame, case_refs: np.ndarray) -> pa.Table:
    k = len(enf)
    day = enf["day"].to_numpy().astype("M8[D]")
    yy = (day.astype("M8[Y]").astype(int) + 1970) % 100
    seq = np.arange(k) + 1
    refs = [f"ENF/{a:02d}/{b:05d}" for a, b in zip(yy.tolist(), seq.tolist(), strict=True)]
    chain = enf["chain"].to_numpy()
    linked = enf["linked"].to_numpy() & (chain >= 0)
    linked_ref = pa.array(
        np.where(linked, case_refs[np.maximum(chain, 0)], None).astype(object), type=pa.string()
    )
    outcome = enf["outcome"].to_numpy()
    outcome_lbl = pa.array(
        [OUTCOME_LABELS[o] if o else None for o in outcome.tolist()], type=pa.string()
    )
    amount = enf["amount"].to_numpy()
    columns = {
        "Enforcement ID": pa.array(refs),
        "Offence": pa.array([OFFENCE_LABELS[o] for o in enf["offence"].tolist()]),
        "Action Taken": pa.array([ACTION_LABELS[a] for a in enf["action"].tolist()]),
        "Date Issued": _fmt_times(day, "date"),
        "Outcome": outcome_lbl,
        "Outcome Date": _fmt_times(enf["outcome_day"].to_numpy(), "date"),
        "Amount (£)": _fmt_money(amount),
        "Ward": pc.take(
            pa.array(world.wards["ward_name"].tolist()), pa.array(enf["ward"].to_numpy())
        ),
        "Linked Case": linked_ref,
        "Last Updated": _fmt_times(enf["updated_at"].to_numpy(), "datetime"),
    }
    assert tuple(columns) == ENFORCEMENT_HEADERS
    return pa.table(columns)


# ---------------------------------------------------------------------------------------------
# Spend, population, programmes
# ---------------------------------------------------------------------------------------------


def _spend_frame(rng: np.random.Generator, world: _World) -> pd.DataFrame:
    months = pd.period_range(DATA_START, EXTRACT_DATE, freq="M")
    rows: list[tuple[str, str, pd.Period, str, str, float]] = []
    codes = world.wards["ward_code"].tolist()
    names = world.wards["ward_name"].tolist()
    base = world.population * 2.5 * (0.9 + 0.3 * world.deprivation)
    for month in months:
        post = month.start_time.date() >= PROGRAMME_START
        noise = np.exp(rng.normal(0, 0.05, world.n))
        for w in range(world.n):
            rows.append(
                (
                    codes[w],
                    names[w],
                    month,
                    "Core street cleansing",
                    "cleansing",
                    base[w] * noise[w],
                )
            )
        rows.append(
            (
                "citywide",
                CITYWIDE_LABEL,
                month,
                "Core street cleansing",
                "other",
                120_000 * np.exp(rng.normal(0, 0.04)),
            )
        )
        rows.append(
            (
                "citywide",
                CITYWIDE_LABEL,
                month,
                "Environmental enforcement",
                "enforcement",
                45_000 * np.exp(rng.normal(0, 0.06)),
            )
        )
        if post:
            for w in np.flatnonzero(world.treated):
                rows.append(
                    (
                        codes[w],
                        names[w],
                        month,
                        PROGRAMME_NAME,
                        "cleansing",
                        9_000 * np.exp(rng.normal(0, 0.1)),
                    )
                )
                rows.append(
                    (
                        codes[w],
                        names[w],
                        month,
                        PROGRAMME_NAME,
                        "enforcement",
                        4_000 * np.exp(rng.normal(0, 0.1)),
                    )
                )
            rows.append(
                (
                    "citywide",
                    CITYWIDE_LABEL,
                    month,
                    PROGRAMME_NAME,
                    "other",
                    3_500 * np.exp(rng.normal(0, 0.05)),
                )
            )
    frame = pd.DataFrame(
        rows, columns=["ward_code", "ward", "period", "programme", "service", "amount"]
    )
    frame["amount"] = frame["amount"].round(2)
    return frame  # fmt: skip


def _spend_table(frame: pd.DataFrame) -> pa.Table:
    start = frame["period"].dt.start_time.to_numpy().astype("M8[D]")
    end = frame["period"].dt.end_time.to_numpy().astype("M8[D]")
    return pa.table(
        {
            "Ward Code": pa.array(frame["ward_code"].tolist()),
            "Ward": pa.array(frame["ward"].tolist()),
            "Period Start": _fmt_times(start, "date"),
            "Period End": _fmt_times(end, "date"),
            "Programme": pa.array(frame["programme"].tolist()),
            "Service": pa.array([SERVICE_LABELS[s] for s in frame["service"]]),
            "Amount (£)": pa.array([f"{a:.2f}" for a in frame["amount"]]),
        }
    )


def _population_table(world: _World) -> pa.Table:
    years = np.arange(DATA_START.year, EXTRACT_DATE.year + 1)
    pop = np.round(
        world.population[None, :] * (1 + world.growth[None, :]) ** (years[:, None] - years[0])
    )
    return pa.table(
        {
            "Ward Code": pa.array(
                np.tile(world.wards["ward_code"].to_numpy(), len(years)).tolist()
            ),
            "Ward Name": pa.array(
                np.tile(world.wards["ward_name"].to_numpy(), len(years)).tolist()
            ),
            "Population": pa.array(pop.ravel().astype(np.int64)),
            "Year": pa.array(np.repeat(years, world.n).astype(np.int64)),
        }
    )


def programmes_frame(
    treated_wards: Sequence[str],
    *,
    programme: str = PROGRAMME_NAME,
    start_date: date = PROGRAMME_START,
    description: str = PROGRAMME_DESCRIPTION,
) -> pd.DataFrame:
    """The programme configuration table (the format of ``data/programmes.csv``).

    Parameters
    ----------
    treated_wards
        Ward codes that receive the programme.
    programme, start_date, description
        Programme name, first day, and a plain-English description.

    Returns
    -------
    pandas.DataFrame
        One row: ``programme``, ``start_date`` (ISO ``yyyy-mm-dd``), ``treated_wards``
        (``;``-separated codes, sorted), ``description``.

    Examples
    --------
    >>> programmes_frame(["E05900002", "E05900001"])["treated_wards"].iloc[0]
    'E05900001;E05900002'
    """
    return pd.DataFrame(
        {
            "programme": [programme],
            "start_date": [start_date.isoformat()],
            "treated_wards": [";".join(sorted(treated_wards))],
            "description": [description],
        }
    )


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def _write_wards(world: _World, path: Path) -> None:
    out = gpd.GeoDataFrame(
        {
            "WD23CD": world.wards_wgs84["ward_code"].to_numpy(),
            "WD23NM": world.wards_wgs84["ward_name"].to_numpy(),
            "LAD23NM": CITY_NAME if world.synthetic else "",
            "note": "SYNTHETIC demo data, not a real place"
            if world.synthetic
            else "synthetic cases over real boundaries",
        },
        geometry=world.wards_wgs84.geometry.values,
        crs=_WGS84,
    )
    if path.exists():
        path.unlink()
    out.to_file(path, driver="GeoJSON")


def generate_cleansing_extract(
    path: Path,
    *,
    seed: int = DEFAULT_SEED,
    n_cases: int = DEFAULT_N_CASES,
    wards_file: Path | None = None,
    coords: Coords = "mixed",
) -> Path:
    """Write only the street-cleansing extract (for benchmarks): same generator as the demo.

    Parameters
    ----------
    path
        The CSV to write (Windows-1252, CRLF, council headers, ``dd/mm/yyyy HH:MM``).
    seed, n_cases, wards_file
        As for :func:`generate_demo`.
    coords
        ``"mixed"`` (the demo: BNG for most rows, WGS84 for others, a few rows with none),
        ``"bng"`` (Easting/Northing on every row) or ``"wgs84"`` (Latitude/Longitude on every row).

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> generate_cleansing_extract(Path("/tmp/cases.csv"), n_cases=1000)  # doctest: +SKIP
    """
    world = _make_world(seed, wards_file)
    rngs = _streams(seed)
    cases = _generate_cases(rngs["cases"], world, n_cases)
    streets = _street_names(rngs["streets"], world.n)
    table = _cleansing_table(rngs["cases"], world, cases, streets, coords)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, _csv_bytes(table), "cp1252", crlf=True)
    return path


def change_extract(src: Path, dst: Path, *, fraction: float = 0.1, seed: int = DEFAULT_SEED) -> int:
    """Write a later version of a cleansing extract in which ``fraction`` of the cases changed.

    For re-ingest benchmarks: the chosen open cases are closed after the original extract date,
    the others get a corrected street (and a revised cost where they had one); every changed row
    gets a ``Last Updated`` after the newest one in ``src``. Unchanged rows are byte-identical.

    Parameters
    ----------
    src
        A cleansing extract written by :func:`generate_demo` or
        :func:`generate_cleansing_extract` (Windows-1252, council headers).
    dst
        Where to write the changed extract (same format).
    fraction
        Share of rows to change (0 … 1).
    seed
        Seed for the choice of rows and the new values.

    Returns
    -------
    int
        The number of rows changed.

    Examples
    --------
    >>> change_extract(Path("cases.csv"), Path("cases_v2.csv"), fraction=0.1)  # doctest: +SKIP
    100000
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    table = pacsv.read_csv(
        src,
        read_options=pacsv.ReadOptions(encoding="cp1252"),
        convert_options=pacsv.ConvertOptions(
            column_types={
                h: {"Easting": pa.int64(), "Northing": pa.int64()}.get(
                    h, pa.float64() if h in ("Latitude", "Longitude") else pa.string()
                )
                for h in CLEANSING_HEADERS
            },
            strings_can_be_null=True,
        ),
    )
    n = table.num_rows
    changed = np.zeros(n, dtype=bool)
    changed[rng.choice(n, size=int(round(fraction * n)), replace=False)] = True
    cols = {name: table.column(name).combine_chunks() for name in table.column_names}
    updated = pd.to_datetime(
        pd.Series(cols["Last Updated"].to_numpy(zero_copy_only=False)), format="%d/%m/%Y %H:%M"
    ).to_numpy()
    newest = updated.max().astype("M8[D]")
    later = newest + rng.integers(1, 21, n).astype("m8[D]")
    later = later.astype("M8[m]") + rng.integers(7 * 60, 19 * 60, n).astype("m8[m]")
    status = np.asarray(cols["Status"].to_numpy(zero_copy_only=False), dtype=object)
    was_open = np.isin(status, [lbl for lbl, _ in STATUS_LABELS["open"]])
    close_now = changed & was_open
    fix_other = changed & ~was_open
    status[close_now] = "Closed"
    cols["Status"] = pa.array(status, type=pa.string())
    closed_new = _fmt_times(later, "datetime")
    cols["Date Closed"] = pc.if_else(pa.array(close_now), closed_new, cols["Date Closed"])
    touched = later + rng.integers(1, 30, n).astype("m8[m]")
    cols["Last Updated"] = pc.if_else(
        pa.array(changed), _fmt_times(touched, "datetime"), cols["Last Updated"]
    )
    streets = cols["Street"]
    other = pc.take(streets, pa.array(rng.permutation(n)))
    cols["Street"] = pc.if_else(pa.array(fix_other), other, streets)
    cost = pc.cast(cols["Cost (£)"], pa.float64()).to_numpy(zero_copy_only=False)
    revised = np.where(fix_other & ~np.isnan(cost), np.round(cost * 1.1, 2), cost)
    cols["Cost (£)"] = _fmt_money(revised)
    out = pa.table({h: cols[h] for h in CLEANSING_HEADERS})
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    _write(Path(dst), _csv_bytes(out), "cp1252", crlf=True)
    return int(changed.sum())


def generate_demo(
    out_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    n_cases: int = DEFAULT_N_CASES,
    wards_file: Path | None = None,
) -> DemoFiles:
    """Generate the synthetic demo data set into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing). Files: ``wards.geojson``,
        ``population.csv`` (UTF-8), ``cleansing_cases.csv`` (Windows-1252, CRLF),
        ``enforcement_cases.csv`` (UTF-8 with BOM), ``spend.csv`` (UTF-8 with BOM),
        ``programmes.csv``.
    seed
        Seed for every random draw; the same seed gives byte-identical files.
    n_cases
        Number of street-cleansing cases (enforcement volume scales with it).
    wards_file
        A real boundary file (GeoJSON, GeoPackage, Shapefile, any CRS, ONS-style ``WDxxCD`` /
        ``WDxxNM`` fields) to generate the cases over, instead of the synthetic wards.

    Returns
    -------
    DemoFiles
        The paths written, the treated ward codes and the programme start.

    Examples
    --------
    >>> files = generate_demo(Path("/tmp/demo"), n_cases=5_000)  # doctest: +SKIP
    >>> len(files.treated_wards)  # doctest: +SKIP
    8
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    world = _make_world(seed, wards_file)
    rngs = _streams(seed)
    streets = _street_names(rngs["streets"], world.n)
    cases = _generate_cases(rngs["cases"], world, n_cases)
    files = DemoFiles(
        wards=out / "wards.geojson",
        population=out / "population.csv",
        cleansing=out / "cleansing_cases.csv",
        enforcement=out / "enforcement_cases.csv",
        spend=out / "spend.csv",
        programmes=out / "programmes.csv",
        treated_wards=world.treated_codes,
        programme_start=PROGRAMME_START,
    )
    _write_wards(world, files.wards)
    _write(files.population, _csv_bytes(_population_table(world)), "utf-8")
    cleansing = _cleansing_table(rngs["cases"], world, cases, streets, "mixed")
    _write(files.cleansing, _csv_bytes(cleansing), "cp1252", crlf=True)
    enf = _generate_enforcement(rngs["enforcement"], world, cases, n_cases)
    case_refs = np.asarray(cleansing.column("Case Reference").to_pylist(), dtype=object)
    _write(files.enforcement, _csv_bytes(_enforcement_table(world, enf, case_refs)), "utf-8-sig")
    _write(files.spend, _csv_bytes(_spend_table(_spend_frame(rngs["spend"], world))), "utf-8-sig")
    programmes_frame(world.treated_codes).to_csv(files.programmes, index=False, lineterminator="\n")
    return files


class DemoRefused(RuntimeError):
    """The store holds data of the council's own: the demo is not mixed in with it."""


def _own_loads(store: Store) -> pd.DataFrame:
    """Committed, not undone loads of the store that did not come from the demo."""
    if not store.exists():
        return pd.DataFrame()
    log = store.log()
    if log.empty:
        return log
    live = (log["status"] == "committed") & log["undone_at"].isna()
    return log[live & (log["channel"] != "demo")]


def build_demo(
    store: Store,
    *,
    seed: int = DEFAULT_SEED,
    n_cases: int = DEFAULT_N_CASES,
    wards_file: Path | None = None,
) -> list[IngestResult]:
    """Generate the demo data set in a temporary folder and ingest it into ``store``.

    Files are ingested in dependency order: wards → population → spend → cleansing →
    enforcement, each through :func:`neighbourhood.ingest.ingest_path` with
    ``actor="demo", channel="demo"``.

    Parameters
    ----------
    store
        The store to fill: the demo's own (``neighbourhood.store.demo_store_path()``) or an
        empty folder; never the council's.
    seed, n_cases, wards_file
        As for :func:`generate_demo`.

    Returns
    -------
    list of IngestResult
        One result per file, in ingest order.

    Raises
    ------
    DemoRefused
        When ``store`` is the council's store folder (``NEIGHBOURHOOD_STORE`` or
        ``data/store``), is marked as a council's store, or holds committed loads that did not
        come from the demo; nothing is written.

    Examples
    --------
    >>> from neighbourhood.store import Store  # doctest: +SKIP
    >>> [r.status for r in build_demo(Store("/tmp/store"), n_cases=5_000)]  # doctest: +SKIP
    ['committed', 'committed', 'committed', 'committed', 'committed']
    """
    from neighbourhood.ingest import ingest_path  # noqa: PLC0415
    from neighbourhood.store import COUNCIL, DEMO, kind_refusal  # noqa: PLC0415

    own = _own_loads(store)
    if len(own):
        newest = own.iloc[0]
        raise DemoRefused(
            f"{store.path} already holds data that is not the demo's ({len(own)} loads, the "
            f"newest {newest['file_name']!r} by {newest['actor']}). The demo's synthetic wards "
            "and cases would be mixed in with it and its wards would become the active set. "
            "Build the demo into a store of its own (python -m neighbourhood demo uses "
            "data/demo-store, or NEIGHBOURHOOD_DEMO_STORE)."
        )
    if store.kind() == COUNCIL:  # marked, or loads of its own that were undone
        raise DemoRefused(kind_refusal(store.path, COUNCIL, DEMO))
    with tempfile.TemporaryDirectory(prefix="neighbourhood-demo-") as tmp:
        files = generate_demo(Path(tmp), seed=seed, n_cases=n_cases, wards_file=wards_file)
        plan = [
            (files.wards, "wards"),
            (files.population, "population"),
            (files.spend, "spend"),
            (files.cleansing, "cleansing"),
            (files.enforcement, "enforcement"),
        ]
        store.initialise(DEMO)  # the marker first: nothing else may claim a new demo store
        return [ingest_path(store, path, kind, actor="demo", channel="demo") for path, kind in plan]


def same_folder(a: str | Path, b: str | Path) -> bool:
    """Whether two folder paths name the same place (resolved, symlinks followed).

    Examples
    --------
    >>> same_folder("data/store", "data/../data/store")
    True
    """
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def council_folder_refusal(path: str | Path) -> str:
    """Why the demo is not built into the council's store folder (the app and the CLI say it).

    Examples
    --------
    >>> "never goes there" in council_folder_refusal("data/store")
    True
    """
    return (
        f"{path} is the council's store folder (NEIGHBOURHOOD_STORE, or data/store when that "
        "is not set), and the demo never goes there. Build the demo into its own store: "
        "python -m neighbourhood demo (data/demo-store, or NEIGHBOURHOOD_DEMO_STORE)."
    )


def demo_period() -> tuple[datetime, datetime]:
    """First and last instants (naive Europe/London wall time) covered by the demo extracts.

    Returns
    -------
    tuple of datetime.datetime
        ``(DATA_START 00:00, EXTRACT_DATE 23:59)``.

    Examples
    --------
    >>> demo_period()[1]
    datetime.datetime(2026, 9, 30, 23, 59)
    """
    return datetime.combine(DATA_START, datetime.min.time()), datetime(
        EXTRACT_DATE.year, EXTRACT_DATE.month, EXTRACT_DATE.day, 23, 59
    )
