"""Tests for neighbourhood.geo: boundary reading, ward assignment, transforms, maps, crosswalk.

Synthetic polygons are written in the tests; real Liverpool/NYC files are read through the
``shared_data`` fixture (skipped when NEIGHBOURHOOD_SHARED_DATA is unset) and never copied.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from neighbourhood import geo
from neighbourhood.geo import (
    REJECT_COLUMNS,
    RULE_NO_LOCATION,
    RULE_OUTSIDE_WARDS,
    RULE_UNKNOWN_WARD,
    RULE_WARD_MISMATCH,
    BoundaryRefused,
    assign_wards,
    assign_wards_sjoin,
    bng_to_wgs84,
    crosswalk,
    hex_bins,
    hex_boundary,
    normalise_ward_name,
    read_boundaries,
    simplify_for_map,
    wards_from_wkb,
    wards_to_wkb,
    wgs84_to_bng,
)

# Two squares sharing the edge x = -2.99. The *right* one has the lower code, so the boundary
# rule (lowest code wins) is not the same as "first in the file".
X0, X1, X2 = -3.0, -2.99, -2.98
Y0, Y1 = 53.40, 53.41
LEFT, RIGHT = "E05000002", "E05000001"


def two_squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"ward_code": [LEFT, RIGHT], "ward_name": ["Left Ward", "Right Ward"]},
        geometry=[box(X0, Y0, X1, Y1), box(X1, Y0, X2, Y1)],
        crs="EPSG:4326",
    )


def named_wards() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "ward_code": ["E05015323", "E05015302", "E05015310"],
            "ward_name": ["St Michaels", "Kensington & Fairfield", "Old Swan East"],
        },
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
        crs="EPSG:4326",
    )


def voronoi_wards(n: int = 40, seed: int = 1) -> gpd.GeoDataFrame:
    """Edge-matched wards (a Voronoi tessellation of a box) with integer-ish codes."""
    rng = np.random.default_rng(seed)
    frame = box(-3.05, 53.33, -2.80, 53.48)
    seeds = shapely.MultiPoint(
        np.column_stack([rng.uniform(-3.05, -2.80, n), rng.uniform(53.33, 53.48, n)])
    )
    cells = [c.intersection(frame) for c in shapely.voronoi_polygons(seeds, extend_to=frame).geoms]
    codes = [f"E0501{i:04d}" for i in rng.permutation(len(cells))]
    return gpd.GeoDataFrame(
        {"ward_code": codes, "ward_name": [f"Ward {c}" for c in codes]},
        geometry=cells,
        crs="EPSG:4326",
    )


def cases(**columns: object) -> pd.DataFrame:
    return pd.DataFrame(columns)


# ---------------------------------------------------------------------------------------------
# assign_wards: the boundary rule
# ---------------------------------------------------------------------------------------------


def test_point_on_shared_edge_goes_to_lowest_ward_code() -> None:
    frame = cases(case_id=["C1"], latitude=[53.405], longitude=[X1])
    for fn in (assign_wards, assign_wards_sjoin):
        assigned, rejects = fn(frame, two_squares())
        assert assigned["ward_code"].tolist() == [RIGHT]
        assert rejects.empty


def test_point_on_shared_vertex_goes_to_lowest_ward_code() -> None:
    frame = cases(latitude=[Y1, Y0], longitude=[X1, X1])
    assigned, _ = assign_wards(frame, two_squares())
    assert assigned["ward_code"].tolist() == [RIGHT, RIGHT]


def test_point_on_outer_vertex_and_outer_edge_belongs_to_that_ward() -> None:
    frame = cases(latitude=[Y0, 53.405, Y1], longitude=[X0, X0, X2])
    for fn in (assign_wards, assign_wards_sjoin):
        assigned, rejects = fn(frame, two_squares())
        assert assigned["ward_code"].tolist() == [LEFT, LEFT, RIGHT]
        assert rejects.empty


def test_point_outside_every_ward_is_rejected() -> None:
    frame = cases(
        case_id=["C1", "C2"],
        source_line=[2, 3],
        latitude=[53.5, 53.405],
        longitude=[-2.9, -2.995],
        ward_code=[LEFT, None],
    )
    assigned, rejects = assign_wards(frame, two_squares())
    assert assigned["case_id"].tolist() == ["C2"]
    assert list(rejects.columns) == list(REJECT_COLUMNS)
    row = rejects.iloc[0]
    assert (row["rule"], row["severity"], row["case_id"], row["source_line"]) == (
        RULE_OUTSIDE_WARDS,
        "error",
        "C1",
        2,
    )
    assert "outside every ward of the city boundary" in row["message"]
    assert LEFT in row["message"]  # the code it carried is mentioned, but the point wins


def test_assigned_frame_keeps_index_and_columns() -> None:
    frame = cases(
        case_id=["a", "b", "c"], latitude=[53.405, 60.0, 53.405], longitude=[-2.995, 0, -2.985]
    )
    frame.index = [10, 20, 30]
    assigned, _ = assign_wards(frame, two_squares())
    assert assigned.index.tolist() == [10, 30]
    assert assigned["ward_name"].tolist() == ["Left Ward", "Right Ward"]
    assert assigned.attrs["ward_assignment"] == {"point": 2, "code": 0, "name": 0}


def test_point_wins_over_disagreeing_ward_code_with_warning() -> None:
    frame = cases(case_id=["C1"], latitude=[53.405], longitude=[-2.995], ward_code=[RIGHT])
    assigned, rejects = assign_wards(frame, two_squares())
    assert assigned["ward_code"].tolist() == [LEFT]
    assert rejects[["rule", "severity", "column", "value"]].values.tolist() == [
        [RULE_WARD_MISMATCH, "warning", "ward_code", RIGHT]
    ]


def test_agreeing_ward_code_gives_no_warning() -> None:
    frame = cases(latitude=[53.405], longitude=[-2.995], ward_code=[f" {LEFT.lower()} "])
    assigned, rejects = assign_wards(frame, two_squares())
    assert assigned["ward_code"].tolist() == [LEFT]
    assert rejects.empty


def test_wards_in_bng_are_reprojected_before_assignment() -> None:
    wards = two_squares().to_crs("EPSG:27700")
    assigned, _ = assign_wards(cases(latitude=[53.405], longitude=[-2.995]), wards)
    assert assigned["ward_code"].tolist() == [LEFT]


def test_no_rows_and_no_coordinate_columns() -> None:
    assigned, rejects = assign_wards(cases(latitude=[], longitude=[]), two_squares())
    assert assigned.empty and rejects.empty
    assert list(rejects.columns) == list(REJECT_COLUMNS)
    assigned, rejects = assign_wards(cases(case_id=["C1"]), two_squares())
    assert assigned.empty
    assert rejects["rule"].tolist() == [RULE_NO_LOCATION]


# ---------------------------------------------------------------------------------------------
# assign_wards: fast path agrees with the sjoin reference
# ---------------------------------------------------------------------------------------------


def _edge_and_vertex_points(wards: gpd.GeoDataFrame, rng: np.random.Generator) -> np.ndarray:
    xy = shapely.get_coordinates(wards.geometry.to_numpy())
    ring_pairs = np.column_stack([xy[:-1], xy[1:]])
    t = rng.uniform(0, 1, len(ring_pairs))[:, None]
    midpoints = ring_pairs[:, :2] + t * (ring_pairs[:, 2:] - ring_pairs[:, :2])
    return np.vstack([xy, midpoints])


def test_fast_path_agrees_with_sjoin_on_random_edge_and_vertex_points() -> None:
    wards = voronoi_wards()
    rng = np.random.default_rng(7)
    n = 10_000
    random_xy = np.column_stack([rng.uniform(-3.07, -2.78, n), rng.uniform(53.32, 53.49, n)])
    xy = np.vstack([random_xy, _edge_and_vertex_points(wards, rng)])
    frame = cases(case_id=[f"C{i}" for i in range(len(xy))], latitude=xy[:, 1], longitude=xy[:, 0])
    fast, fast_rejects = assign_wards(frame, wards)
    ref, ref_rejects = assign_wards_sjoin(frame, wards)
    pd.testing.assert_frame_equal(fast, ref)
    pd.testing.assert_frame_equal(fast_rejects, ref_rejects)
    assert fast_rejects["rule"].eq(RULE_OUTSIDE_WARDS).all()
    assert len(fast) > n * 0.8


def test_fast_path_agrees_with_sjoin_on_grid_with_axis_aligned_edges() -> None:
    cells = [box(x, y, x + 1, y + 1) for x in range(4) for y in range(4)]
    wards = gpd.GeoDataFrame(
        {
            "ward_code": [f"W{15 - i:02d}" for i in range(16)],
            "ward_name": [f"n{i}" for i in range(16)],
        },
        geometry=cells,
        crs="EPSG:4326",
    )
    grid = np.arange(0, 4.001, 0.25)
    xx, yy = np.meshgrid(grid, grid)
    frame = cases(latitude=yy.ravel(), longitude=xx.ravel())
    fast, _ = assign_wards(frame, wards)
    ref, _ = assign_wards_sjoin(frame, wards)
    pd.testing.assert_frame_equal(fast, ref)
    # The centre vertex (2, 2) touches four cells; the lowest code among them wins.
    centre = fast[(fast["latitude"] == 2) & (fast["longitude"] == 2)]
    touching = wards[wards.intersects(Point(2, 2))]["ward_code"].min()
    assert centre["ward_code"].tolist() == [touching]


# ---------------------------------------------------------------------------------------------
# assign_wards: the grid lookup gives the direct test's answer
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def grid_always(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the grid whatever the number of points, from an empty cache."""
    monkeypatch.setattr(geo, "GRID_MIN_POINTS", 0)
    monkeypatch.setattr(geo, "_GRIDS", {})


def _grid_probe_points(wards: gpd.GeoDataFrame, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Random points, every vertex and random edge points, and the grid's own lines and corners."""
    xmin, ymin, xmax, ymax = wards.total_bounds
    n = 20_000
    random_xy = np.column_stack(
        [
            rng.uniform(xmin - 0.01, xmax + 0.01, n),
            rng.uniform(ymin - 0.01, ymax + 0.01, n),
        ]
    )
    xe, ye = np.linspace(xmin, xmax, cells + 1), np.linspace(ymin, ymax, cells + 1)
    corners = np.column_stack([g.ravel() for g in np.meshgrid(xe, ye)])
    on_x_lines = np.column_stack([rng.choice(xe, n), rng.uniform(ymin, ymax, n)])
    on_y_lines = np.column_stack([rng.uniform(xmin, xmax, n), rng.choice(ye, n)])
    return np.vstack(
        [random_xy, _edge_and_vertex_points(wards, rng), corners, on_x_lines, on_y_lines]
    )


def _holes_and_overlaps() -> gpd.GeoDataFrame:
    """A ward with a hole, a ward inside that hole, a two-part ward and two overlapping wards."""
    outer = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(3, 3), (7, 3), (7, 7), (3, 7)]])
    island = box(4, 4, 6, 6)
    two_parts = shapely.MultiPolygon([box(11, 0, 12, 1), box(11, 2, 12.5, 3.5)])
    late = box(8, 8, 14, 14)  # overlaps ``outer``; the lower code (``outer``) wins there
    return gpd.GeoDataFrame(
        {
            "ward_code": ["A1", "A2", "A3", "A4"],
            "ward_name": ["Outer", "Island", "Two parts", "Late"],
        },
        geometry=[outer, island, two_parts, late],
        crs="EPSG:4326",
    )


@pytest.mark.usefixtures("grid_always")
@pytest.mark.parametrize("cells", [4, 64, 257])
@pytest.mark.parametrize("which", ["voronoi", "holes"])
def test_grid_lookup_agrees_with_direct_test(
    monkeypatch: pytest.MonkeyPatch, cells: int, which: str
) -> None:
    monkeypatch.setattr(geo, "GRID_CELLS", cells)
    wards = voronoi_wards() if which == "voronoi" else _holes_and_overlaps()
    xy = _grid_probe_points(wards, cells, np.random.default_rng(cells))
    geoms = geo._ward_index(wards).geoms
    direct = geo._locate_fast(xy[:, 0], xy[:, 1], geoms)
    grid = geo._ward_grid(geoms, build=True)
    assert grid is not None and grid.cell.shape == (cells, cells)
    # With 4 cells every cell is near an edge (all points go the direct way); finer grids
    # settle many cells, which is what the comparison has to cover.
    settled = (grid.cell != geo._NEAR_EDGE).mean()
    assert settled == 0 if cells == 4 else settled > 0.3
    np.testing.assert_array_equal(geo._locate_grid(xy[:, 0], xy[:, 1], geoms), direct)
    frame = cases(latitude=xy[:, 1], longitude=xy[:, 0])
    fast, fast_rejects = assign_wards(frame, wards)
    ref, ref_rejects = assign_wards_sjoin(frame, wards)
    pd.testing.assert_frame_equal(fast, ref)
    pd.testing.assert_frame_equal(fast_rejects, ref_rejects)


def _assert_grid_sound(wards: gpd.GeoDataFrame, cells: int) -> None:
    """No settled cell's closed box touches a ward boundary, and its answer is its corners'."""
    geoms = geo._ward_index(wards).geoms
    grid = geo._build_grid(geoms, cells)
    assert grid is not None
    jy, ix = np.nonzero(grid.cell != geo._NEAR_EDGE)
    boxes = shapely.box(grid.xe[ix], grid.ye[jy], grid.xe[ix + 1], grid.ye[jy + 1])
    touching = shapely.STRtree(shapely.boundary(geoms)).query(boxes, predicate="intersects")
    assert touching.size == 0
    for cx, cy in [(ix, jy), (ix + 1, jy), (ix, jy + 1), (ix + 1, jy + 1)]:
        corner = geo._locate_fast(grid.xe[cx], grid.ye[cy], geoms)
        np.testing.assert_array_equal(corner, grid.cell[jy, ix])


@pytest.mark.parametrize("cells", [64, 257])
@pytest.mark.parametrize("which", ["voronoi", "holes"])
def test_grid_cells_away_from_edges_touch_no_boundary(cells: int, which: str) -> None:
    _assert_grid_sound(voronoi_wards() if which == "voronoi" else _holes_and_overlaps(), cells)


@pytest.mark.usefixtures("grid_always")
def test_grid_answers_holes_islands_and_overlaps_by_the_first_ward_rule() -> None:
    wards = _holes_and_overlaps()
    frame = cases(
        latitude=[1.0, 5.0, 3.0, 9.0, 12.0, 0.5, 2.5, 15.0, 10.0],
        longitude=[1.0, 5.0, 3.0, 9.0, 12.0, 11.5, 11.5, 15.0, 10.0],
    )
    assigned, rejects = assign_wards(frame, wards)
    # (1,1) outer; (5,5) island in the hole; (3,3) on the hole's ring: outer (A1 < A2 is not
    # in play: the island starts at 4); (9,9) in both outer and late: outer; (12,12) late;
    # the two parts; (15,15) outside; (10,10) a corner shared by outer and late: outer.
    assert assigned["ward_code"].tolist() == ["A1", "A2", "A1", "A1", "A4", "A3", "A3", "A1"]
    assert rejects["rule"].tolist() == [RULE_OUTSIDE_WARDS]


def test_grid_is_built_once_per_boundary_set_and_not_for_few_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(geo, "_GRIDS", {})
    monkeypatch.setattr(geo, "GRID_MIN_POINTS", 1_000)
    built: list[int] = []
    real_build = geo._build_grid

    def counting(geoms: np.ndarray, cells: int) -> geo._WardGrid | None:
        built.append(cells)
        return real_build(geoms, cells)

    monkeypatch.setattr(geo, "_build_grid", counting)
    wards = voronoi_wards()
    rng = np.random.default_rng(3)

    def frame(n: int) -> pd.DataFrame:
        return cases(latitude=rng.uniform(53.33, 53.48, n), longitude=rng.uniform(-3.05, -2.8, n))

    assign_wards(frame(999), wards)
    assert built == []  # too few points to be worth a grid
    assign_wards(frame(1_000), wards)
    assign_wards(frame(5_000), wards)
    assign_wards(frame(10), wards)  # a grid already built serves small calls too
    assert built == [geo.GRID_CELLS]
    assign_wards(frame(2_000), voronoi_wards(seed=2))  # another boundary set: its own grid
    assert len(built) == 2


@pytest.mark.usefixtures("grid_always")
@pytest.mark.parametrize(("n_wards", "dtype"), [(127, np.int8), (130, np.int16)])
def test_grid_cells_hold_every_ward_index(
    monkeypatch: pytest.MonkeyPatch, n_wards: int, dtype: type
) -> None:
    monkeypatch.setattr(geo, "GRID_CELLS", 256)
    cells = [box(i, 0, i + 1, 1) for i in range(n_wards)]  # a row of unit squares
    wards = gpd.GeoDataFrame(
        {
            "ward_code": [f"W{i:04d}" for i in range(n_wards)],
            "ward_name": [f"n{i}" for i in range(n_wards)],
        },
        geometry=cells,
        crs="EPSG:4326",
    )
    geoms = geo._ward_index(wards).geoms
    grid = geo._ward_grid(geoms, build=True)
    assert grid is not None and grid.cell.dtype == dtype
    x = np.arange(n_wards) + 0.5
    y = np.full(n_wards, 0.5)
    np.testing.assert_array_equal(geo._locate_grid(x, y, geoms), np.arange(n_wards))


@pytest.mark.usefixtures("grid_always")
def test_grid_is_not_used_for_invalid_polygons_or_collections() -> None:
    bowtie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # self-crossing ring
    wards = gpd.GeoDataFrame(
        {"ward_code": ["B1", "B2"], "ward_name": ["Bowtie", "Square"]},
        geometry=[bowtie, box(3, 0, 4, 1)],
        crs="EPSG:4326",
    )
    geoms = geo._ward_index(wards).geoms
    assert geo._ward_grid(geoms, build=True) is None
    collection = shapely.GeometryCollection([box(0, 0, 2, 2), shapely.LineString([(0, 0), (5, 5)])])
    other = geo._ward_index(wards.set_geometry([collection, box(3, 0, 4, 1)], crs="EPSG:4326"))
    assert geo._ward_grid(other.geoms, build=True) is None
    x = np.array([0.5, 1.5, 3.5, 5.0])
    y = np.array([0.2, 0.2, 0.5, 5.0])
    np.testing.assert_array_equal(geo._locate_grid(x, y, geoms), geo._locate_fast(x, y, geoms))


def test_cell_index_puts_values_on_edges_in_a_cell_that_holds_them() -> None:
    edges = np.linspace(-3.0517, -2.8003, 2049)
    rng = np.random.default_rng(5)
    values = np.concatenate(
        [edges, np.nextafter(edges, np.inf)[:-1], rng.uniform(-3.0517, -2.8003, 10_000)]
    )
    i = geo._cell_index(values, edges)
    assert ((edges[i] <= values) & (values <= edges[i + 1])).all()
    assert i.min() == 0 and i.max() == len(edges) - 2


# ---------------------------------------------------------------------------------------------
# assign_wards: rows without coordinates, codes and names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("St. Michael's", "st michaels"),
        ("st michaels", "st michaels"),
        ("ST MICHAEL’S", "st michaels"),
        ("Kensington & Fairfield", "kensington and fairfield"),
        ("kensington and  fairfield", "kensington and fairfield"),
        ("Old Swan-East", "old swan east"),
        ("ＳＴ ＭＩＣＨＡＥＬＳ", "st michaels"),  # full-width: NFKC folds it
        ("  ", None),
        (None, None),
    ],
)
def test_normalise_ward_name(given: str | None, expected: str | None) -> None:
    assert normalise_ward_name(given) == expected


def test_rows_without_coordinates_match_by_code_then_name() -> None:
    frame = cases(
        case_id=[f"C{i}" for i in range(9)],
        source_line=range(2, 11),
        latitude=[np.nan, np.nan, np.nan, np.nan, np.nan, 53.4, np.nan, np.nan, np.nan],
        longitude=[np.nan] * 9,
        ward_code=[" e05015302 ", None, None, None, None, None, "E05099999", "E05099999", None],
        ward_name=[
            None,
            "St. Michael's",
            "st michaels",
            "KENSINGTON AND FAIRFIELD",
            "ＳＴ ＭＩＣＨＡＥＬＳ",
            "Old Swan East",  # latitude without longitude: no usable point, matched by name
            "Old Swan East",
            None,
            None,
        ],
    )
    assigned, rejects = assign_wards(frame, named_wards())
    assert assigned["case_id"].tolist() == [f"C{i}" for i in range(7)]
    assert assigned["ward_code"].tolist() == [
        "E05015302",
        "E05015323",
        "E05015323",
        "E05015302",
        "E05015323",
        "E05015310",
        "E05015310",
    ]
    assert assigned.attrs["ward_assignment"] == {"point": 0, "code": 1, "name": 6}
    got = rejects[["case_id", "rule", "severity", "column"]].values.tolist()
    assert got == [
        ["C6", RULE_WARD_MISMATCH, "warning", "ward_code"],
        ["C7", RULE_UNKNOWN_WARD, "error", "ward_code"],
        ["C8", RULE_NO_LOCATION, "error", "latitude/longitude"],
    ]


def test_name_is_not_fuzzy_matched() -> None:
    frame = cases(ward_name=["Kensington", "St Michael", "Kensington & Fairfield (Liverpool)"])
    assigned, rejects = assign_wards(frame, named_wards())
    assert assigned.empty
    assert rejects["rule"].tolist() == [RULE_UNKNOWN_WARD] * 3
    assert rejects["value"].tolist() == frame["ward_name"].tolist()


def test_a_ward_code_in_the_name_column_is_matched_by_code() -> None:
    frame = cases(ward_name=[" e05015302 ", "E05099999"])  # a column headed "Ward" with codes
    assigned, rejects = assign_wards(frame, named_wards())
    assert assigned["ward_code"].tolist() == ["E05015302"]
    assert assigned.attrs["ward_assignment"]["name"] == 1
    assert rejects["rule"].tolist() == [RULE_UNKNOWN_WARD]


def test_confusable_cyrillic_letter_is_rejected_with_explanation() -> None:
    spoof = "Kensington & F\u0430irfield"  # Cyrillic small a
    assert normalise_ward_name(spoof) != normalise_ward_name("Kensington & Fairfield")
    assigned, rejects = assign_wards(cases(ward_name=[spoof]), named_wards())
    assert assigned.empty
    row = rejects.iloc[0]
    assert row["rule"] == RULE_UNKNOWN_WARD
    assert "U+0430" in row["message"] and "CYRILLIC" in row["message"]


def test_code_wins_over_disagreeing_name_with_warning() -> None:
    frame = cases(ward_code=["E05015323"], ward_name=["Old Swan East"])
    assigned, rejects = assign_wards(frame, named_wards())
    assert assigned["ward_name"].tolist() == ["St Michaels"]
    assert rejects[["rule", "severity", "column"]].values.tolist() == [
        [RULE_WARD_MISMATCH, "warning", "ward_name"]
    ]


def test_numeric_codes_match_string_codes() -> None:
    wards = two_squares().assign(ward_code=["101", "102"])
    assigned, rejects = assign_wards(cases(ward_code=[101.0, 102]), wards)
    assert assigned["ward_code"].tolist() == ["101", "102"]
    assert rejects.empty


def test_ambiguous_names_are_rejected() -> None:
    wards = two_squares().assign(ward_name=["Central", "central"])
    assigned, rejects = assign_wards(cases(ward_name=["Central"]), wards)
    assert assigned.empty
    assert "more than one ward" in rejects["message"].iloc[0]


# ---------------------------------------------------------------------------------------------
# read_boundaries: formats, CRSs, fields and refusals
# ---------------------------------------------------------------------------------------------


def ons_frame(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {
            "WD23CD": ["E05015278\r\n", "E05015277\r\n"],
            "WD23NM": ["Allerton", "Aigburth"],
            "LAD23CD": ["E08000012", "E08000012"],
        },
        geometry=[box(-2.90, 53.36, -2.88, 53.38), box(-2.95, 53.36, -2.90, 53.38)],
        crs="EPSG:4326",
    )
    return frame.to_crs(crs)


def write(frame: gpd.GeoDataFrame, path: Path, **kw: object) -> bytes:
    frame.to_file(path, **kw)
    return path.read_bytes()


def zip_shapefile(frame: gpd.GeoDataFrame, folder: Path, skip: tuple[str, ...] = ()) -> bytes:
    folder.mkdir(exist_ok=True)
    frame.to_file(folder / "wards.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for part in sorted(folder.iterdir()):
            if part.suffix not in skip:
                zf.write(part, f"wards/{part.name}")
    return buf.getvalue()


def assert_same_wards(result: gpd.GeoDataFrame, expected: gpd.GeoDataFrame) -> None:
    expected = expected.to_crs("EPSG:4326")
    assert result.crs.to_epsg() == 4326
    assert list(result.columns) == ["ward_code", "ward_name", "geometry"]
    assert result["ward_code"].tolist() == ["E05015277", "E05015278"]
    assert result["ward_name"].tolist() == ["Aigburth", "Allerton"]
    by_code = expected.set_index(expected["WD23CD"].str.strip()).geometry
    for code, geom in zip(result["ward_code"], result.geometry, strict=True):
        assert geom.hausdorff_distance(by_code[code]) < 1e-7


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:27700"])
@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "zip"])
def test_round_trip_bytes(tmp_path: Path, fmt: str, crs: str) -> None:
    frame = ons_frame(crs)
    if fmt == "geojson":
        data = write(frame, tmp_path / "w.geojson", driver="GeoJSON")
    elif fmt == "gpkg":
        data = write(frame, tmp_path / "w.gpkg", driver="GPKG")
    else:
        data = zip_shapefile(frame, tmp_path / "shp")
    result = read_boundaries(data, f"wards.{fmt}")
    assert_same_wards(result.wards, ons_frame())
    report = result.report
    assert (report["code_field"], report["name_field"]) == ("WD23CD", "WD23NM")
    assert report["crs_used"] == crs
    assert report["warnings"] == []


def test_shp_path_with_sidecars(tmp_path: Path) -> None:
    ons_frame("EPSG:27700").to_file(tmp_path / "w.shp")
    result = read_boundaries(tmp_path / "w.shp")
    assert_same_wards(result.wards, ons_frame())
    assert result.report["source_name"] == "w.shp"


def test_geojson_text_and_topojson(tmp_path: Path) -> None:
    topo = {
        "type": "Topology",
        "objects": {
            "wards": {
                "type": "GeometryCollection",
                "geometries": [
                    {
                        "type": "Polygon",
                        "arcs": [[0]],
                        "properties": {"ward_code": "X2", "ward_name": "B"},
                    },
                    {
                        "type": "Polygon",
                        "arcs": [[1]],
                        "properties": {"ward_code": "X1", "ward_name": "A"},
                    },
                ],
            }
        },
        "arcs": [
            [[-3.0, 53.4], [-2.99, 53.4], [-2.99, 53.41], [-3.0, 53.41], [-3.0, 53.4]],
            [[-2.99, 53.4], [-2.98, 53.4], [-2.98, 53.41], [-2.99, 53.41], [-2.99, 53.4]],
        ],
    }
    result = read_boundaries(json.dumps(topo).encode(), "wards.topojson")
    assert result.wards["ward_code"].tolist() == ["X1", "X2"]
    assert result.report["driver"] == "TopoJSON"
    text = two_squares().to_json(drop_id=True)
    assert read_boundaries(text).wards["ward_code"].tolist() == [RIGHT, LEFT]


def test_lying_prj_bng_coordinates_labelled_wgs84(tmp_path: Path) -> None:
    lying = ons_frame("EPSG:27700").set_crs("EPSG:4326", allow_override=True)
    data = zip_shapefile(lying, tmp_path / "shp")
    result = read_boundaries(data, "wards.zip")
    assert_same_wards(result.wards, ons_frame())
    assert result.report["source_crs"] == "EPSG:4326"
    assert result.report["crs_used"] == "EPSG:27700"
    assert any("impossible as degrees" in w for w in result.report["warnings"])


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:27700"])
def test_no_crs_is_inferred_from_coordinate_ranges(tmp_path: Path, crs: str) -> None:
    data = zip_shapefile(ons_frame(crs), tmp_path / "shp", skip=(".prj",))
    result = read_boundaries(data, "wards.zip")
    assert_same_wards(result.wards, ons_frame())
    assert result.report["source_crs"] is None
    assert result.report["crs_used"] == crs
    assert any("declares no coordinate system" in w for w in result.report["warnings"])


def test_no_crs_and_impossible_coordinates_are_refused(tmp_path: Path) -> None:
    far = ons_frame().set_geometry([box(5e6, 5e6, 5.1e6, 5.1e6)] * 2, crs=None)
    with pytest.raises(BoundaryRefused) as err:
        read_boundaries(zip_shapefile(far, tmp_path / "shp", skip=(".prj",)))
    assert err.value.code == "unknown_crs"


def feature_collection(*features: tuple[dict, dict]) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": props, "geometry": geom}
                for props, geom in features
            ],
        }
    ).encode()


def test_invalid_bowtie_polygon_is_repaired_with_a_warning() -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    square = {"type": "Polygon", "coordinates": [[[2, 0], [3, 0], [3, 1], [2, 1], [2, 0]]]}
    data = feature_collection(
        ({"ward_code": "A1", "ward_name": "Bow Tie"}, bowtie),
        ({"ward_code": "A2", "ward_name": "Square"}, square),
    )
    result = read_boundaries(data)
    wards = result.wards
    assert wards.is_valid.all()
    assert wards.geometry.iloc[0].area == pytest.approx(0.5)
    assert result.report["repaired"] == ["A1"]
    assert any("Bow Tie (A1)" in w and "Self-intersection" in w for w in result.report["warnings"])
    assigned, _ = assign_wards(cases(latitude=[0.5, 0.5], longitude=[0.25, 0.75]), wards)
    assert assigned["ward_code"].tolist() == ["A1", "A1"]  # both lobes of the bow tie


def test_polygon_with_no_area_after_repair_is_refused() -> None:
    flat = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]]}
    square = {"type": "Polygon", "coordinates": [[[2, 0], [3, 0], [3, 1], [2, 1], [2, 0]]]}
    data = feature_collection(
        ({"code": "A1", "name": "Flat"}, flat), ({"code": "A2", "name": "Sq"}, square)
    )
    with pytest.raises(BoundaryRefused) as err:
        read_boundaries(data)
    assert err.value.code == "invalid_geometry"
    assert "Flat (A1)" in str(err.value)


def test_duplicate_codes_are_refused() -> None:
    frame = two_squares().assign(ward_code=["E05000001", "e05000001 "])
    with pytest.raises(BoundaryRefused) as err:
        read_boundaries(frame.to_json(drop_id=True).encode())
    assert err.value.code == "duplicate_codes"
    assert "E05000001" in str(err.value)


def test_missing_code_is_refused() -> None:
    frame = two_squares().assign(ward_code=["E05000001", None])
    with pytest.raises(BoundaryRefused) as err:
        read_boundaries(frame.to_json(drop_id=True).encode())
    assert err.value.code == "missing_codes"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'{"type": "FeatureCollection", "features": []}', "empty"),
        (b"this is not a boundary file", "unreadable"),
        (b"PK\x03\x04 truncated zip", "unreadable"),
    ],
)
def test_empty_and_unreadable_files_are_refused(data: bytes, code: str) -> None:
    with pytest.raises(BoundaryRefused) as err:
        read_boundaries(data, "upload")
    assert err.value.code == code
    assert isinstance(err.value, ValueError)
    assert "/vsimem" not in str(err.value)


def test_points_only_file_is_refused() -> None:
    points = gpd.GeoDataFrame({"ward_code": ["A"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    with pytest.raises(BoundaryRefused) as err:
        read_boundaries(points.to_json(drop_id=True).encode())
    assert err.value.code == "no_polygons"


def test_mixed_file_keeps_polygons_and_warns() -> None:
    frame = gpd.GeoDataFrame(
        {"ward_code": ["A", "B"], "ward_name": ["a", "b"]},
        geometry=[box(0, 0, 1, 1), Point(5, 5)],
        crs="EPSG:4326",
    )
    result = read_boundaries(frame.to_json(drop_id=True).encode())
    assert result.wards["ward_code"].tolist() == ["A"]
    assert result.report["dropped"] == [1]


def test_no_code_field_is_refused_and_override_works() -> None:
    frame = two_squares().rename(columns={"ward_code": "reference", "ward_name": "title"})
    frame["reference"] = ["r2", "r1"]
    with pytest.raises(BoundaryRefused) as err:
        read_boundaries(frame.to_json(drop_id=True).encode())
    assert err.value.code == "no_code_field"
    result = read_boundaries(
        frame.to_json(drop_id=True).encode(), code_field="REFERENCE", name_field="title"
    )
    assert result.wards[["ward_code", "ward_name"]].values.tolist() == [
        ["R1", "Right Ward"],
        ["R2", "Left Ward"],
    ]


def test_zip_with_two_shapefiles_is_refused(tmp_path: Path) -> None:
    ons_frame().to_file(tmp_path / "a.shp")
    ons_frame().to_file(tmp_path / "b.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for part in tmp_path.iterdir():
            zf.write(part, part.name)
    with pytest.raises(BoundaryRefused) as err:
        read_boundaries(buf.getvalue(), "wards.zip")
    assert err.value.code == "ambiguous_source"


@pytest.mark.parametrize(
    ("columns", "code", "name"),
    [
        (
            {
                "WD11CD": ["x1", "x2"],
                "WD11NM": ["o1", "o2"],
                "WD23CD": ["E05000002", "E05000001"],
                "WD23NM": ["n2", "n1"],
                "WD23NMW": ["w2", "w1"],
            },
            "WD23CD",
            "WD23NM",
        ),
        (
            {"ward_code": ["A", "B"], "ward_name": ["a", "b"], "objectid": [1, 2]},
            "ward_code",
            "ward_name",
        ),
        ({"CODE": ["A", "B"], "WARD_NAME": ["a", "b"]}, "CODE", "WARD_NAME"),
        ({"boro_cd": [101, 102], "borough": ["Manhattan", "Manhattan"]}, "boro_cd", None),
        ({"gss": ["E05000001", "E05000002"], "ward": ["a", "b"]}, "gss", "ward"),
        ({"id": ["1", "2"], "name": ["a", "b"]}, "id", "name"),
    ],
)
def test_code_and_name_field_detection(columns: dict, code: str, name: str | None) -> None:
    frame = gpd.GeoDataFrame(columns, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4326")
    result = read_boundaries(frame.to_json(drop_id=True).encode())
    assert (result.report["code_field"], result.report["name_field"]) == (code, name)
    if name is None:
        assert (result.wards["ward_name"] == result.wards["ward_code"]).all()
    if code == "WD23CD":
        assert "used WD23CD" in " ".join(result.report["warnings"])
        assert result.wards["ward_name"].tolist() == ["n1", "n2"]


# ---------------------------------------------------------------------------------------------
# Transforms, maps, hexagons, crosswalk, storage
# ---------------------------------------------------------------------------------------------


def test_bng_round_trip_vectorised_and_nan() -> None:
    e, n = wgs84_to_bng(-2.9916, 53.4066)  # Liverpool Town Hall, about SJ 341 904
    assert abs(e - 334_177) < 5 and abs(n - 390_434) < 5
    lon, lat = bng_to_wgs84(np.array([e, np.nan, 450_000.0]), pd.Series([n, 1.0, 400_000.0]))
    assert lon[0] == pytest.approx(-2.9916, abs=1e-7) and lat[0] == pytest.approx(53.4066, abs=1e-7)
    assert np.isnan(lon[1]) and np.isnan(lat[1])
    assert -1.6 < lon[2] < -1.2 and 53.4 < lat[2] < 53.6


def test_simplify_for_map_rounds_and_keeps_coverage() -> None:
    wards = voronoi_wards(12).to_crs("EPSG:27700")
    # Dense vertices for the simplifier to remove, snapped to 1 mm so shared edges stay identical.
    wards["geometry"] = shapely.set_precision(wards.segmentize(20.0).to_numpy(), 0.001)
    assert shapely.coverage_is_valid(wards.geometry.to_numpy())
    wards = wards.to_crs("EPSG:4326")
    for method in ("coverage", "douglas_peucker"):
        small = simplify_for_map(wards, 5.0, method=method)
        assert small.crs.to_epsg() == 4326
        assert list(small.columns) == list(wards.columns)
        assert small.is_valid.all()
        xy = shapely.get_coordinates(small.geometry.to_numpy())
        assert np.allclose(xy, np.round(xy, 5), atol=1e-9, rtol=0)
        assert len(xy) < len(shapely.get_coordinates(wards.geometry.to_numpy())) / 5

    # Coverage simplification keeps neighbours edge-matched: no overlap appears (per-polygon
    # Douglas-Peucker opens slivers).
    def overlap_m2(method: str) -> float:
        metric = simplify_for_map(wards, 5.0, method=method).to_crs("EPSG:27700")
        return metric.area.sum() - shapely.union_all(metric.geometry.to_numpy()).area

    assert overlap_m2("coverage") < 1.0
    assert overlap_m2("douglas_peucker") > 100.0
    with pytest.raises(ValueError):
        simplify_for_map(wards, method="visvalingam")


def test_hex_bins_match_h3_and_handle_missing() -> None:
    lat = pd.Series([53.4066, np.nan, 53.40, 91.0], index=[5, 6, 7, 8])
    lon = pd.Series([-2.9916, -2.9, -2.95, 0.0], index=[5, 6, 7, 8])
    cells = hex_bins(lat, lon, resolution=9)
    assert cells.index.tolist() == [5, 6, 7, 8]
    assert cells.iloc[0] == h3.latlng_to_cell(53.4066, -2.9916, 9)
    assert cells.iloc[2] == h3.latlng_to_cell(53.40, -2.95, 9)
    assert cells.isna().tolist() == [False, True, False, True]
    outline = hex_boundary(cells.iloc[0])
    assert outline.contains(Point(-2.9916, 53.4066))
    assert hex_boundary(h3.str_to_int(cells.iloc[0])).equals(outline)


def test_crosswalk_splits_area_and_drops_slivers() -> None:
    e0, n0 = 333_000, 385_000  # Liverpool, in British National Grid metres

    def row(x0: float, x1: float) -> Polygon:
        return box(e0 + x0, n0, e0 + x1, n0 + 1000)

    old = gpd.GeoDataFrame(
        {"ward_code": ["O1", "O2"]}, geometry=[row(0, 2000), row(2000, 3000)], crs="EPSG:27700"
    )
    new = gpd.GeoDataFrame(
        {"ward_code": ["N1", "N2", "N3"]},
        # N3 reaches 0.5 m into O1: digitising noise (0.025 % of O1), dropped by min_share.
        geometry=[row(0, 1500), row(1500, 1999.5), row(1999.5, 3000)],
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    cw = crosswalk(old, new)
    assert cw[["old_code", "new_code"]].values.tolist() == [
        ["O1", "N1"],
        ["O1", "N2"],
        ["O2", "N3"],
    ]
    # The 0.5 m sliver is dropped and O1's weights renormalised over the 1,999.5 m kept.
    assert cw["weight"].tolist() == pytest.approx([1500 / 1999.5, 499.5 / 1999.5, 1.0], abs=1e-5)
    assert cw.groupby("old_code")["weight"].sum().tolist() == pytest.approx([1.0, 1.0])
    everything = crosswalk(old, new, min_share=0.0)
    assert ["O1", "N3"] in everything[["old_code", "new_code"]].values.tolist()


def test_wkb_round_trip() -> None:
    wards = two_squares().to_crs("EPSG:27700")
    wards["geometry"] = [
        box(330_000, 390_000, 331_000, 391_000),
        box(331_000, 390_000, 332_000, 391_000),
    ]
    table = wards_to_wkb(wards)
    assert list(table.columns) == ["ward_code", "ward_name", "geometry_wkb", "area_m2"]
    assert isinstance(table["geometry_wkb"].iloc[0], bytes)
    assert table["area_m2"].tolist() == pytest.approx([1e6, 1e6])
    back = wards_from_wkb(table)
    assert back.crs.to_epsg() == 4326
    for a, b in zip(back.geometry, wards.to_crs("EPSG:4326").geometry, strict=True):
        assert a.equals_exact(b, 1e-12)
    assert back["ward_code"].tolist() == wards["ward_code"].tolist()


# ---------------------------------------------------------------------------------------------
# Real data (../shared/data through NEIGHBOURHOOD_SHARED_DATA)
# ---------------------------------------------------------------------------------------------

LIVERPOOL_2023 = "liverpool-wards-2023"
TOWN_HALL = (53.4066, -2.9916)


@pytest.fixture(scope="module")
def wards_2023(shared_data: Path) -> gpd.GeoDataFrame:
    return read_boundaries(
        shared_data / LIVERPOOL_2023 / "liverpool_wards_2023_wgs84.geojson"
    ).wards


@pytest.mark.realdata
@pytest.mark.parametrize(
    "file",
    [
        "liverpool_wards_2023_wgs84.geojson",
        "Lwards.shp",
        "WardsPolygon.shp",
        "wards.shp",
        "wardsPolygon.geojson",
    ],
)
def test_real_2023_files_read_to_the_same_64_wards(
    shared_data: Path, wards_2023: gpd.GeoDataFrame, file: str
) -> None:
    result = read_boundaries(shared_data / LIVERPOOL_2023 / file)
    wards = result.wards
    assert len(wards) == 64
    assert wards["ward_code"].str.fullmatch(r"E05015\d{3}").all()
    assert wards["ward_code"].iloc[[0, -1]].tolist() == ["E05015277", "E05015340"]
    assert wards["ward_name"].tolist() == wards_2023["ward_name"].tolist()
    assert "Kensington & Fairfield" in set(wards["ward_name"])
    for a, b in zip(wards.geometry, wards_2023.geometry, strict=True):
        assert a.hausdorff_distance(b) < 1e-7
    lying = any("impossible as degrees" in w for w in result.report["warnings"])
    assert lying == (file == "wards.shp")


@pytest.mark.realdata
def test_real_zipped_shapefile_built_in_tmp(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / LIVERPOOL_2023
    archive = tmp_path / "wards.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for ext in (".shp", ".dbf", ".shx", ".prj"):
            zf.write(folder / f"WardsPolygon{ext}", f"WardsPolygon{ext}")
    result = read_boundaries(archive.read_bytes(), "wards.zip")
    assert len(result.wards) == 64
    assert result.report["source_crs"] == "EPSG:27700"
    assert read_boundaries(archive).wards.equals(result.wards)


@pytest.mark.realdata
def test_real_town_hall_is_in_city_centre_north(wards_2023: gpd.GeoDataFrame) -> None:
    frame = cases(case_id=["TH"], latitude=[TOWN_HALL[0]], longitude=[TOWN_HALL[1]])
    for fn in (assign_wards, assign_wards_sjoin):
        assigned, rejects = fn(frame, wards_2023)
        assert assigned[["ward_code", "ward_name"]].values.tolist() == [
            ["E05015288", "City Centre North"]
        ]
        assert rejects.empty


@pytest.mark.realdata
@pytest.mark.parametrize("grid", [False, True], ids=["direct", "grid"])
def test_real_fast_path_agrees_with_sjoin(
    wards_2023: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch, grid: bool
) -> None:
    monkeypatch.setattr(geo, "_GRIDS", {})
    monkeypatch.setattr(geo, "GRID_MIN_POINTS", 0 if grid else 10**9)
    rng = np.random.default_rng(11)
    xmin, ymin, xmax, ymax = wards_2023.total_bounds
    n = 10_000
    xy = np.vstack(
        [
            np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)]),
            _edge_and_vertex_points(wards_2023, rng),
        ]
    )
    frame = cases(latitude=xy[:, 1], longitude=xy[:, 0])
    fast, fast_rejects = assign_wards(frame, wards_2023)
    ref, ref_rejects = assign_wards_sjoin(frame, wards_2023)
    pd.testing.assert_frame_equal(fast, ref)
    pd.testing.assert_frame_equal(fast_rejects, ref_rejects)
    assert fast["ward_code"].nunique() == 64
    if grid:
        _assert_grid_sound(wards_2023, 512)


@pytest.mark.realdata
def test_real_names_2004_spelling_matches_2023(wards_2023: gpd.GeoDataFrame) -> None:
    frame = cases(ward_name=["St Michael's", "Kensington and Fairfield", "ST MICHAELS"])
    assigned, rejects = assign_wards(frame, wards_2023)
    assert rejects.empty
    assert assigned["ward_name"].tolist() == [
        "St Michaels",
        "Kensington & Fairfield",
        "St Michaels",
    ]


@pytest.mark.realdata
def test_real_simplified_map_is_small(wards_2023: gpd.GeoDataFrame) -> None:
    small = simplify_for_map(wards_2023)
    before, after = len(wards_2023.to_json()), len(small.to_json())
    assert after < before / 4  # measured: 1,077,823 → about 162,000 bytes
    assert small.is_valid.all() and len(small) == 64
    metric = small.to_crs("EPSG:27700")
    overlap = metric.area.sum() - shapely.union_all(metric.geometry.to_numpy()).area
    assert overlap < 200  # m²; the source itself has 7 m², Douglas-Peucker would add ~39,000
    assigned, _ = assign_wards(cases(latitude=[TOWN_HALL[0]], longitude=[TOWN_HALL[1]]), small)
    assert assigned["ward_name"].tolist() == ["City Centre North"]


@pytest.mark.realdata
def test_real_crosswalk_2004_to_2023(shared_data: Path, wards_2023: gpd.GeoDataFrame) -> None:
    old = read_boundaries(shared_data / "liverpool-wards-2004" / "Liverpool_wards.geojson").wards
    assert len(old) == 30
    cw = crosswalk(old, wards_2023)
    assert set(cw["old_code"]) == set(old["ward_code"])
    assert np.allclose(cw.groupby("old_code")["weight"].sum(), 1.0)
    assert set(cw["new_code"]) == set(wards_2023["ward_code"])  # every new ward gets area
    assert (cw["area_m2"] > 0).all()
    total_km2 = cw["area_m2"].sum() / 1e6
    assert 110 < total_km2 < 113  # README: 111.8 km²


@pytest.mark.realdata
def test_real_nyc_topojson_without_crs(shared_data: Path) -> None:
    result = read_boundaries(shared_data / "nyc-311" / "nyc_community_districts_dcp.topojson")
    assert len(result.wards) == 71
    assert result.report["code_field"] == "id"
    assert result.report["source_crs"] is None
    assert result.wards.is_valid.all()
    assert len(result.report["repaired"]) == 12


@pytest.mark.realdata
def test_real_nyc_multipart_districts_are_refused_as_duplicates(shared_data: Path) -> None:
    path = shared_data / "nyc-311" / "nyc_community_districts_pediacities_2016.geojson"
    with pytest.raises(BoundaryRefused) as err:
        read_boundaries(path)
    assert err.value.code == "duplicate_codes"
    assert "dissolve" in str(err.value)
