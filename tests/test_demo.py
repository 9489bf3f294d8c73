"""Tests for neighbourhood.demo: the synthetic Merseyford data set and its planted effects."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from neighbourhood import demo
from neighbourhood.demo import (
    CLEANSING_HEADERS,
    DATA_START,
    ENFORCEMENT_HEADERS,
    EXTRACT_DATE,
    PLANTED_EFFECTS,
    POPULATION_HEADERS,
    PROGRAMME_NAME,
    PROGRAMME_START,
    SPEND_HEADERS,
    DemoFiles,
    change_extract,
    generate_cleansing_extract,
    generate_demo,
)
from neighbourhood.schemas import ACTIONS, CATEGORIES, OFFENCES, OUTCOMES, SERVICES

REPO = Path(__file__).resolve().parents[1]
N_CASES = 60_000
UK_DATETIME = r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$"
UK_DATE = r"^\d{2}/\d{2}/\d{4}$"
FILE_FIELDS = ("wards", "population", "cleansing", "enforcement", "spend", "programmes")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return generate_demo(tmp_path_factory.mktemp("demo"), n_cases=N_CASES)


@pytest.fixture(scope="module")
def wards(files: DemoFiles) -> gpd.GeoDataFrame:
    return gpd.read_file(files.wards)


@pytest.fixture(scope="module")
def cases(files: DemoFiles) -> pd.DataFrame:
    frame = pd.read_csv(files.cleansing, encoding="cp1252", dtype=str, keep_default_na=False)
    for col in ("Date Received", "Date Closed", "Last Updated"):
        frame[col + " (parsed)"] = pd.to_datetime(frame[col], format="%d/%m/%Y %H:%M")
    cat_map = _category_map()
    frame["category"] = frame["Request Type"].map(cat_map)
    frame["month"] = frame["Date Received (parsed)"].dt.to_period("M")
    return frame


@pytest.fixture(scope="module")
def enforcement(files: DemoFiles) -> pd.DataFrame:
    frame = pd.read_csv(files.enforcement, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    frame["issued"] = pd.to_datetime(frame["Date Issued"], format="%d/%m/%Y")
    frame["month"] = frame["issued"].dt.to_period("M")
    return frame


@pytest.fixture(scope="module")
def ward_codes(wards: gpd.GeoDataFrame) -> dict[str, str]:
    return dict(zip(wards["WD23NM"], wards["WD23CD"], strict=True))


def _category_map() -> dict[str, str]:
    lines = (REPO / "data" / "category_map.csv").read_text(encoding="utf-8").splitlines()
    rows = csv.reader(line for line in lines if line and not line.startswith("#"))
    next(rows)
    return {label: cat for label, cat, *_ in rows}


def _value_map() -> dict[tuple[str, str], str]:
    lines = (REPO / "data" / "value_map.csv").read_text(encoding="utf-8").splitlines()
    rows = csv.reader(line for line in lines if line and not line.startswith("#"))
    next(rows)
    return {(field, label): value for field, label, value, *_ in rows}


def _did_ratio(table: pd.DataFrame, treated: set[str], value: str) -> float:
    """(treated post / treated pre) / (comparison post / comparison pre) of a summed value."""
    post = table["month"] >= pd.Period(PROGRAMME_START, "M")
    is_t = table["ward"].isin(treated)
    cell = table.groupby([is_t, post])[value].sum()
    return (cell[True, True] / cell[True, False]) / (cell[False, True] / cell[False, False])


# ------------------------------------------------------------------------------------------
# Determinism and files
# ------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(files: DemoFiles, tmp_path: Path) -> None:
    again = generate_demo(tmp_path / "again", n_cases=N_CASES)
    for field in FILE_FIELDS:
        assert getattr(files, field).read_bytes() == getattr(again, field).read_bytes(), field
    assert again.treated_wards == files.treated_wards


def test_other_seed_differs_but_n_cases_does_not_move_wards(
    files: DemoFiles, tmp_path: Path
) -> None:
    other = generate_demo(tmp_path / "other", seed=7, n_cases=2_000)
    assert other.cleansing.read_bytes() != files.cleansing.read_bytes()
    smaller = generate_demo(tmp_path / "smaller", n_cases=2_000)
    assert smaller.wards.read_bytes() == files.wards.read_bytes()
    assert smaller.treated_wards == files.treated_wards


def test_encodings_and_headers(files: DemoFiles) -> None:
    raw = files.cleansing.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # Windows-1252: "£" is a single 0xA3 byte
    header = next(csv.reader(io.StringIO(raw.decode("cp1252"))))
    assert tuple(header) == CLEANSING_HEADERS
    assert "\u2019" in raw.decode("cp1252")  # curly apostrophes in street names survive
    for path, headers in (
        (files.enforcement, ENFORCEMENT_HEADERS),
        (files.spend, SPEND_HEADERS),
    ):
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")
        assert tuple(next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))) == headers
    pop = files.population.read_text(encoding="utf-8")
    assert tuple(next(csv.reader(io.StringIO(pop)))) == POPULATION_HEADERS


def test_cleansing_extract_function_matches_demo(files: DemoFiles, tmp_path: Path) -> None:
    path = generate_cleansing_extract(tmp_path / "c.csv", n_cases=N_CASES)
    assert path.read_bytes() == files.cleansing.read_bytes()


# ------------------------------------------------------------------------------------------
# Wards, population
# ------------------------------------------------------------------------------------------


def test_wards_valid_non_overlapping_with_fake_codes(wards: gpd.GeoDataFrame) -> None:
    assert 24 <= len(wards) <= 30
    assert wards.crs.to_epsg() == 4326
    assert wards["WD23CD"].is_unique and wards["WD23NM"].is_unique
    assert wards["WD23CD"].str.fullmatch(r"E059\d{5}").all()
    # Codes are allocated alphabetically by name, as ONS does.
    assert list(wards.sort_values("WD23CD")["WD23NM"]) == sorted(wards["WD23NM"])
    assert wards.geometry.is_valid.all()
    assert (wards.geom_type == "Polygon").all()
    bng = wards.to_crs(27700)
    areas = bng.area.to_numpy()
    assert (areas > 1e6).all()  # every ward at least 1 km²
    union = shapely.union_all(bng.geometry.values)
    assert union.area == pytest.approx(areas.sum(), rel=1e-6)  # no overlaps
    geoms = bng.geometry.values
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert overlap.max() < 1.0  # m²: neighbours share edges only
    # Placed on real UK coordinates around 53.43 N, 2.95 W.
    minx, miny, maxx, maxy = wards.total_bounds
    assert -3.1 < minx < maxx < -2.8 and 53.35 < miny < maxy < 53.52


def test_population_per_ward_and_year(files: DemoFiles, wards: gpd.GeoDataFrame) -> None:
    pop = pd.read_csv(files.population)
    assert set(pop["Ward Code"]) == set(wards["WD23CD"])
    assert sorted(pop["Year"].unique()) == list(range(DATA_START.year, EXTRACT_DATE.year + 1))
    assert not pop.duplicated(["Ward Code", "Year"]).any()
    assert pop["Population"].between(7_500, 19_000).all()


# ------------------------------------------------------------------------------------------
# Cleansing cases
# ------------------------------------------------------------------------------------------


def test_case_counts_refs_and_labels(cases: pd.DataFrame) -> None:
    assert len(cases) == N_CASES
    assert cases["Case Reference"].is_unique
    assert cases["category"].notna().all(), "every Request Type is in data/category_map.csv"
    assert set(cases["category"]) == set(CATEGORIES) - {"other"}
    share = cases["category"].value_counts(normalize=True)
    assert share.index[0] == "fly_tipping" and 0.25 < share["fly_tipping"] < 0.40
    values = _value_map()
    assert {values[("status", s)] for s in cases["Status"].unique()} == {
        "open",
        "closed",
        "cancelled",
        "duplicate",
    }
    assert set(cases["Channel"]) == {"Web", "App", "Phone", "Staff"}


def test_dates_uk_format_and_within_range(cases: pd.DataFrame) -> None:
    assert cases["Date Received"].str.fullmatch(UK_DATETIME).all()
    assert cases["Last Updated"].str.fullmatch(UK_DATETIME).all()
    closed = cases["Date Closed"] != ""
    assert cases.loc[closed, "Date Closed"].str.fullmatch(UK_DATETIME).all()
    start = pd.Timestamp(DATA_START)
    end = pd.Timestamp(EXTRACT_DATE) + pd.Timedelta(hours=23, minutes=59)
    for col in ("Date Received", "Date Closed", "Last Updated"):
        parsed = cases[col + " (parsed)"].dropna()
        assert parsed.min() >= start and parsed.max() <= end, col
        # No wall times in the 01:00 hour: nothing ambiguous or missing at the clock changes.
        assert (parsed.dt.hour != 1).all(), col
    received = cases["Date Received (parsed)"]
    assert (cases["Date Closed (parsed)"][closed] > received[closed]).all()
    assert (cases["Last Updated (parsed)"] >= received).all()
    assert (received.dt.day > 12).any()  # day-first is visible in the data
    assert received.is_monotonic_increasing  # references follow report order
    status = cases["Status"]
    assert (status[~closed].isin(["Open", "In progress"])).all()
    assert not status[closed].isin(["Open", "In progress"]).any()
    # Open cases at the extract end exist, mostly recent ones.
    assert 0.005 < (~closed).mean() < 0.08


def test_cases_lie_inside_their_ward(cases: pd.DataFrame, wards: gpd.GeoDataFrame) -> None:
    has_bng = cases["Easting"] != ""
    has_ll = cases["Latitude"] != ""
    assert not (has_bng & has_ll).any()
    assert 0.5 < has_bng.mean() < 0.7 and 0.3 < has_ll.mean() < 0.45
    lon = pd.to_numeric(cases["Longitude"], errors="coerce").to_numpy()
    lat = pd.to_numeric(cases["Latitude"], errors="coerce").to_numpy()
    e = pd.to_numeric(cases["Easting"], errors="coerce").to_numpy()
    n = pd.to_numeric(cases["Northing"], errors="coerce").to_numpy()
    assert np.all(e[has_bng] == np.round(e[has_bng]))  # whole metres
    lo, la = Transformer.from_crs(27700, 4326, always_xy=True).transform(e, n)
    lon = np.where(has_bng, lo, lon)
    lat = np.where(has_bng, la, lat)
    located = has_bng | has_ll
    geom_by_name = dict(zip(wards["WD23NM"], wards.geometry, strict=True))
    ward = cases["Ward"].to_numpy()
    inside = np.zeros(len(cases), dtype=bool)
    for name, geom in geom_by_name.items():
        sel = located.to_numpy() & (ward == name)
        inside[sel] = shapely.contains_xy(geom, lon[sel], lat[sel])
    assert inside[located.to_numpy()].all()
    # And the reference spatial join agrees on every located case.
    points = gpd.GeoDataFrame(
        {"Ward": ward[located]},
        geometry=gpd.points_from_xy(lon[located], lat[located]),
        crs=4326,
    )
    joined = gpd.sjoin(points, wards[["WD23NM", "geometry"]], predicate="within")
    assert len(joined) == located.sum()
    assert (joined["Ward"] == joined["WD23NM"]).all()


def test_repeat_hotspots(cases: pd.DataFrame) -> None:
    fly = cases[(cases["category"] == "fly_tipping") & (cases["Easting"] != "")]
    xy = fly[["Easting", "Northing"]].astype(float).to_numpy()
    counts = np.array([len(n) for n in cKDTree(xy).query_ball_point(xy, r=50.0)])
    # Uniform scatter would put almost no fly-tips within 50 m of 5 others.
    assert (counts >= 6).mean() > 0.2
    # … while most fly-tips are not at a hotspot.
    assert (counts <= 3).mean() > 0.4


def test_sizes_costs_and_seasonality(cases: pd.DataFrame) -> None:
    fly = cases["category"] == "fly_tipping"
    sizes = {s[0] for s in demo.SIZE_BANDS}
    assert set(cases.loc[fly & (cases["Size"] != ""), "Size"]) == sizes
    assert (cases.loc[~fly, "Size"] == "").all()
    has_cost = cases["Cost (£)"] != ""
    assert (fly | ~has_cost).all()
    cost = cases.loc[has_cost, "Cost (£)"].astype(float)
    assert cost.gt(0).all() and cost.median() < 150
    assert cases.loc[has_cost, "Status"].isin(["Closed", "Completed"]).all()
    month = cases["Date Received (parsed)"].dt.month
    weeds = cases["category"] == "weeds"
    assert weeds[month.isin([5, 6, 7])].mean() > 3 * weeds[month.isin([12, 1, 2])].mean()
    litter = cases["category"] == "litter"
    assert litter[month.isin([6, 7, 8])].mean() > litter[month.isin([11, 12, 1])].mean()


# ------------------------------------------------------------------------------------------
# Enforcement, spend, programme configuration
# ------------------------------------------------------------------------------------------


def test_enforcement_actions(enforcement: pd.DataFrame, cases: pd.DataFrame) -> None:
    values = _value_map()
    for field, column, allowed in (
        ("action", "Action Taken", ACTIONS),
        ("offence", "Offence", OFFENCES),
    ):
        mapped = {values[(field, v)] for v in enforcement[column].unique()}
        assert mapped <= set(allowed)
    outcomes = enforcement.loc[enforcement["Outcome"] != "", "Outcome"].unique()
    assert {values[("outcome", v)] for v in outcomes} <= set(OUTCOMES)
    assert enforcement["Enforcement ID"].is_unique
    assert enforcement["Date Issued"].str.fullmatch(UK_DATE).all()
    assert enforcement["issued"].max() <= pd.Timestamp(EXTRACT_DATE)
    linked = enforcement["Linked Case"] != ""
    assert 0.3 < linked.mean() < 0.9
    by_ref = cases.set_index("Case Reference")
    assert (by_ref.loc[enforcement.loc[linked, "Linked Case"], "category"] == "fly_tipping").all()
    fpn = enforcement["Action Taken"] == "Fixed penalty notice"
    amounts = enforcement.loc[fpn, "Amount (£)"].astype(float)
    assert set(amounts) <= {80.0, 100.0, 150.0, 400.0, 1000.0}
    fly_fpn = fpn & (enforcement["Offence"] == "Fly-tipping")
    assert set(enforcement.loc[fly_fpn, "Amount (£)"].astype(float)) == {400.0, 1000.0}
    pros = enforcement["Action Taken"] == "Prosecution"
    assert set(enforcement.loc[pros, "Outcome"]) <= {
        "Convicted",
        "Acquitted",
        "Withdrawn",
        "Pending",
    }
    has_outcome_date = enforcement["Outcome Date"] != ""
    assert enforcement.loc[has_outcome_date, "Outcome Date"].str.fullmatch(UK_DATE).all()
    # No personal data columns at all.
    assert set(enforcement.columns) >= set(ENFORCEMENT_HEADERS)
    assert not any("name" in c.lower() or "address" in c.lower() for c in ENFORCEMENT_HEADERS)


def test_spend_lines(files: DemoFiles, ward_codes: dict[str, str]) -> None:
    spend = pd.read_csv(files.spend, encoding="utf-8-sig", dtype=str)
    start = pd.to_datetime(spend["Period Start"], format="%d/%m/%Y")
    end = pd.to_datetime(spend["Period End"], format="%d/%m/%Y")
    assert (end >= start).all() and spend["Period Start"].str.fullmatch(UK_DATE).all()
    values = _value_map()
    assert {values[("service", s)] for s in spend["Service"].unique()} == set(SERVICES)
    assert values[("citywide", demo.CITYWIDE_LABEL)] == "citywide"
    programme = spend["Programme"] == PROGRAMME_NAME
    in_ward = spend["Ward Code"] != "citywide"
    assert set(spend.loc[programme & in_ward, "Ward Code"]) == set(files.treated_wards)
    assert start[programme].min() == pd.Timestamp(PROGRAMME_START)
    assert (spend.loc[programme, "Amount (£)"].astype(float) > 0).all()
    baseline = spend[~programme & in_ward]
    assert set(baseline["Ward Code"]) == set(ward_codes.values())
    assert (spend.loc[~in_ward, "Ward"] == demo.CITYWIDE_LABEL).all()


def test_programmes_csv_in_repo_matches_demo(files: DemoFiles) -> None:
    repo = pd.read_csv(REPO / "data" / "programmes.csv", dtype=str)
    made = pd.read_csv(files.programmes, dtype=str)
    assert list(made.columns) == ["programme", "start_date", "treated_wards", "description"]
    row = repo[repo["programme"] == PROGRAMME_NAME]
    assert len(row) == 1
    pd.testing.assert_frame_equal(row.reset_index(drop=True), made)
    assert tuple(made["treated_wards"].iloc[0].split(";")) == files.treated_wards
    assert made["start_date"].iloc[0] == PROGRAMME_START.isoformat()


# ------------------------------------------------------------------------------------------
# The planted effect, visible in the raw extracts
# ------------------------------------------------------------------------------------------


def test_treated_wards_are_comparable(
    files: DemoFiles, cases: pd.DataFrame, ward_codes: dict[str, str]
) -> None:
    assert len(files.treated_wards) == 8
    pre = cases[cases["Date Received (parsed)"] < pd.Timestamp(PROGRAMME_START)]
    volume = pre.groupby("Ward").size().sort_values()
    ranks = [i for i, name in enumerate(volume.index) if ward_codes[name] in files.treated_wards]
    # Not only the cleanest (or only the dirtiest) wards: treated wards span the range.
    assert min(ranks) < len(volume) / 2 < max(ranks)


def test_planted_fly_tipping_drop(
    files: DemoFiles, cases: pd.DataFrame, ward_codes: dict[str, str]
) -> None:
    fly = cases[cases["category"] == "fly_tipping"].assign(ward=lambda f: f["Ward"].map(ward_codes))
    table = fly.groupby(["ward", "month"]).size().rename("n").reset_index()
    ratio = _did_ratio(table, set(files.treated_wards), "n")
    assert ratio == pytest.approx(PLANTED_EFFECTS["fly_tipping_reports"], abs=0.06)
    # Parallel pre-trends: the treated share of fly-tips is flat before the start.
    pre = table[table["month"] < pd.Period(PROGRAMME_START, "M")]
    monthly = (
        pre.groupby(["month", pre["ward"].isin(set(files.treated_wards))])["n"].sum().unstack()
    )
    share = (monthly[True] / monthly.sum(axis=1)).to_numpy()
    slope = np.polyfit(np.arange(len(share)), share, 1)[0]
    assert abs(slope * len(share)) < 0.03  # drift of the share over the whole pre-period
    # Placebo: litter is untouched.
    litter = cases[cases["category"] == "litter"].assign(ward=lambda f: f["Ward"].map(ward_codes))
    lt = litter.groupby(["ward", "month"]).size().rename("n").reset_index()
    assert _did_ratio(lt, set(files.treated_wards), "n") == pytest.approx(1.0, abs=0.08)


def test_planted_faster_closures(
    files: DemoFiles, cases: pd.DataFrame, ward_codes: dict[str, str]
) -> None:
    done = cases[cases["Status"].isin(["Closed", "Completed"])].copy()
    done["days"] = (
        done["Date Closed (parsed)"] - done["Date Received (parsed)"]
    ).dt.total_seconds() / 86_400
    treated = done["Ward"].map(ward_codes).isin(set(files.treated_wards))
    post = done["Date Received (parsed)"] >= pd.Timestamp(PROGRAMME_START)
    med = done.groupby([treated, post])["days"].median()
    ratio = (med[True, True] / med[True, False]) / (med[False, True] / med[False, False])
    assert ratio == pytest.approx(PLANTED_EFFECTS["median_days_to_close"], abs=0.07)


def test_planted_enforcement_rise(
    files: DemoFiles,
    cases: pd.DataFrame,
    enforcement: pd.DataFrame,
    ward_codes: dict[str, str],
) -> None:
    treated = set(files.treated_wards)
    fly = cases[cases["category"] == "fly_tipping"]
    fly_n = fly.groupby([fly["Ward"].map(ward_codes), "month"]).size().rename("fly")
    act_n = enforcement.groupby([enforcement["Ward"].map(ward_codes), "month"]).size()
    table = pd.concat([fly_n, act_n.rename("actions")], axis=1).fillna(0)
    table.index.names = ["ward", "month"]
    table = table.reset_index()
    # Leave out the last quarter: chains started there are cut off by the extract date.
    table = table[table["month"] < pd.Period(EXTRACT_DATE, "M") - 3]
    per_fly = _did_ratio(table, treated, "actions") / _did_ratio(table, treated, "fly")
    assert per_fly == pytest.approx(PLANTED_EFFECTS["enforcement_per_100_fly_tips"], abs=0.2)


# ------------------------------------------------------------------------------------------
# Real boundaries, changed extracts, the benchmark CLI, build_demo
# ------------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_wards_file_liverpool_2023(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "liverpool-wards-2023" / "liverpool_wards_2023_wgs84.geojson"
    made = generate_demo(tmp_path, n_cases=5_000, wards_file=source)
    wards = gpd.read_file(made.wards)
    assert len(wards) == 64
    assert wards["WD23CD"].min() == "E05015277" and wards["WD23CD"].max() == "E05015340"
    assert set(made.treated_wards) <= set(wards["WD23CD"])
    assert 10 <= len(made.treated_wards) <= 25
    frame = pd.read_csv(made.cleansing, encoding="cp1252", dtype=str, keep_default_na=False)
    assert set(frame["Ward"]) <= set(wards["WD23NM"])
    ll = frame["Latitude"] != ""
    geom = dict(zip(wards["WD23NM"], wards.geometry, strict=True))
    for name, group in frame[ll].groupby("Ward"):
        assert shapely.contains_xy(
            geom[name], group["Longitude"].astype(float), group["Latitude"].astype(float)
        ).all()
    spend = pd.read_csv(made.spend, encoding="utf-8-sig", dtype=str)
    assert set(spend["Ward Code"]) - {"citywide"} == set(wards["WD23CD"])


@pytest.mark.realdata
@pytest.mark.parametrize("reader", ["geo", "fallback"])
def test_wards_file_liverpool_shapefile_with_crlf_codes(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    if reader == "fallback":  # as if neighbourhood.geo were not there: demo's own reader
        monkeypatch.setitem(sys.modules, "neighbourhood.geo", None)
    made = generate_demo(
        tmp_path, n_cases=1_000, wards_file=shared_data / "liverpool-wards-2023" / "Lwards.shp"
    )
    codes = gpd.read_file(made.wards)["WD23CD"]
    assert codes.str.fullmatch(r"E05015\d{3}").all() and len(codes) == 64


def test_change_extract(tmp_path: Path) -> None:
    src = generate_cleansing_extract(tmp_path / "v1.csv", n_cases=5_000)
    changed = change_extract(src, tmp_path / "v2.csv", fraction=0.1)
    assert changed == 500
    a = src.read_bytes().split(b"\r\n")
    b = (tmp_path / "v2.csv").read_bytes().split(b"\r\n")
    assert len(a) == len(b) and a[0] == b[0]
    assert sum(x != y for x, y in zip(a, b, strict=True)) == 500
    v1 = pd.read_csv(src, encoding="cp1252", dtype=str, keep_default_na=False)
    v2 = pd.read_csv(tmp_path / "v2.csv", encoding="cp1252", dtype=str, keep_default_na=False)
    diff = (v1 != v2).any(axis=1)
    newest = pd.to_datetime(v1["Last Updated"], format="%d/%m/%Y %H:%M").max()
    assert (pd.to_datetime(v2.loc[diff, "Last Updated"], format="%d/%m/%Y %H:%M") > newest).all()
    assert (v1["Case Reference"] == v2["Case Reference"]).all()
    reopened = diff & v1["Status"].isin(["Open", "In progress"])
    assert reopened.any() and (v2.loc[reopened, "Status"] == "Closed").all()
    assert (v2.loc[reopened, "Date Closed"] != "").all()


def test_benchmark_cli(tmp_path: Path) -> None:
    out = tmp_path / "bench.csv"
    script = REPO / "benchmarks" / "generate.py"
    run = subprocess.run(
        [sys.executable, str(script), "--rows", "3000", "--out", str(out), "--coords", "wgs84"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"rows": 3000' in run.stdout.strip().splitlines()[-1]
    frame = pd.read_csv(out, encoding="cp1252", dtype=str, keep_default_na=False)
    assert len(frame) == 3000 and (frame["Latitude"] != "").all() and (frame["Easting"] == "").all()
    changed = tmp_path / "bench2.csv"
    subprocess.run(
        [
            sys.executable,
            str(script),
            "--changed-from",
            str(out),
            "--fraction",
            "0.2",
            "--out",
            str(changed),
        ],
        capture_output=True,
        check=True,
    )
    assert len(pd.read_csv(changed, encoding="cp1252")) == 3000


def test_bng_only_extract(tmp_path: Path) -> None:
    path = generate_cleansing_extract(tmp_path / "bng.csv", n_cases=2_000, coords="bng")
    frame = pd.read_csv(path, encoding="cp1252", dtype=str, keep_default_na=False)
    assert (frame["Easting"] != "").all() and (frame["Latitude"] == "").all()


def test_build_demo_into_store(store_dir: Path) -> None:
    ingest = pytest.importorskip("neighbourhood.ingest")
    store_mod = pytest.importorskip("neighbourhood.store")
    if not hasattr(ingest, "ingest_path") or not hasattr(store_mod, "Store"):
        pytest.skip("ingest_path / Store not available yet")
    store = store_mod.Store(store_dir)
    results = demo.build_demo(store, n_cases=5_000)
    assert [r.kind for r in results] == ["wards", "population", "spend", "cleansing", "enforcement"]
    assert all(r.status == "committed" for r in results), [r.summary() for r in results]
    by_kind = {r.kind: r for r in results}
    cleansing = by_kind["cleansing"]
    assert cleansing.rows_read == 5_000
    # Every case is accepted: labels, dates, encodings and coordinates all load.
    assert cleansing.rows_accepted == 5_000, cleansing.rejects.head(20).to_string()
    assert by_kind["enforcement"].rows_rejected == 0, by_kind["enforcement"].rejects.head(20)
    assert by_kind["spend"].rows_rejected == 0, by_kind["spend"].rejects.head(20)
    assert len(store.table("cases")) == 5_000
    # Ingesting the same demo again changes nothing.
    again = demo.build_demo(store, n_cases=5_000)
    assert all(r.status == "duplicate_file" for r in again)


def test_demo_period() -> None:
    start, end = demo.demo_period()
    assert start == datetime(2023, 10, 1) and end == datetime(2026, 9, 30, 23, 59)


# ------------------------------------------------------------------------------------------
# Parallel pre-trends by construction, and the evaluation on the demo store
# ------------------------------------------------------------------------------------------


def test_balanced_draws_fix_group_totals() -> None:
    rng = np.random.default_rng(7)
    weights = rng.gamma(2.0, 1.0, (36, 26))
    groups = (np.arange(26) % 3 == 0).astype(np.int64)
    s_i, w_i = demo._balanced_draw(rng, weights, groups, 20_000)
    got = np.zeros((36, 2))
    np.add.at(got, (s_i, groups[w_i]), 1)
    want = np.stack([weights[:, groups == g].sum(axis=1) for g in (0, 1)], axis=1)
    want *= 20_000 / weights.sum()
    assert np.abs(got - want).max() < 1 + 1e-9  # group totals: expected count, rounded
    per_ward = np.bincount(s_i * 26 + w_i, minlength=36 * 26).reshape(36, 26)
    assert np.std(per_ward - weights * 20_000 / weights.sum()) > 2  # wards still vary
    p = rng.uniform(0.05, 0.3, 5_000)
    blocks = rng.integers(0, 40, 5_000)
    sel = demo._pps(rng, p, blocks)
    assert np.abs(np.bincount(blocks, sel) - np.bincount(blocks, p)).max() < 1 + 1e-9
    u = demo._stratified_uniform(rng, blocks)
    assert ((u >= 0) & (u < 1)).all()
    assert np.abs(np.bincount(blocks, u < 0.25) - np.bincount(blocks) * 0.25).max() <= 1


@pytest.mark.slow
def test_demo_store_recovers_planted_effects_with_parallel_pretrends(store_dir: Path) -> None:
    """The Spend vs results page on the default demo: effects inside the CIs, no pre-trend
    warning (issue #5). Mirrors ui/spend.py: monthly panel without the city-total rows."""
    from neighbourhood import evaluation as ev
    from neighbourhood import metrics
    from neighbourhood.store import Store

    store = Store(store_dir)
    demo.build_demo(store, n_cases=demo.DEFAULT_N_CASES)
    (programme,) = [
        p
        for p in ev.programmes_from_config(REPO / "data" / "programmes.csv")
        if p.name == PROGRAMME_NAME
    ]

    def panel(categories: list[str] | None) -> pd.DataFrame:
        table = metrics.ward_period_table(store, period="month", categories=categories)
        return table[table["ward_code"].astype(str) != "citywide"].reset_index(drop=True)

    fly = panel(["fly_tipping"])
    reports = ev.did(fly, programme, "cases_per_1k", subject="Fly-tipping reports")
    assert reports.n_treated == 8
    assert reports.ci_low <= PLANTED_EFFECTS["fly_tipping_reports"] - 1 <= reports.ci_high
    assert reports.pretrend is not None and reports.pretrend.warning is None, reports.pretrend
    days = ev.did(fly, programme, "median_days_to_close")
    assert days.pretrend is not None and days.pretrend.warning is None, days.pretrend
    planted_days = (PLANTED_EFFECTS["median_days_to_close"] - 1) * days.treated_pre_mean
    assert days.ci_low <= planted_days <= days.ci_high
    actions = ev.did(panel(None), programme, "actions_per_100_fly_tips")
    assert actions.pretrend is not None and actions.pretrend.warning is None, actions.pretrend
    assert actions.ci_low <= PLANTED_EFFECTS["enforcement_per_100_fly_tips"] - 1 <= actions.ci_high
