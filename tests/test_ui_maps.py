"""pydeck deck builders and selection helpers (ui/maps.py): pure, no Streamlit runtime."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ui.maps import (
    HEX_LAYER,
    NO_DATA_RGBA,
    POINT_LAYER,
    WARD_LAYER,
    bounds_of,
    choropleth_data,
    fill_colours,
    hex_data,
    hex_layer,
    payload_bytes,
    point_data,
    point_layer,
    selected_ward_codes,
    view_for_bounds,
    ward_deck,
    ward_layer,
)

HOSTILE = "<img src=x onerror=alert(1)>"


def _wards() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"ward_code": ["E1", "E2", "E3"], "ward_name": ["Anfield", HOSTILE, "Everton"]},
        geometry=[
            shapely.box(-3.0, 53.4, -2.99, 53.41),
            shapely.box(-2.99, 53.4, -2.98, 53.41),
            shapely.box(-2.98, 53.4, -2.97, 53.41),
        ],
        crs=4326,
    )


def test_fill_colours_run_from_dark_to_light_on_cividis_and_grey_for_missing():
    colours = fill_colours([0.0, 5.0, 10.0, np.nan])
    assert colours[0] == [0, 34, 78, 190]
    assert colours[2] == [254, 232, 56, 190]
    assert colours[3] == NO_DATA_RGBA
    assert all(len(c) == 4 and all(isinstance(x, int) for x in c) for c in colours)


def test_fill_colours_of_a_constant_column_do_not_divide_by_zero():
    assert fill_colours([3.0, 3.0]) == [[0, 34, 78, 190]] * 2


def test_choropleth_data_has_top_level_tooltip_fields_and_precomputed_colour():
    table = pd.DataFrame({"ward_code": ["E1", "E2"], "cases_per_1k": [4.0, 12.5]})
    data = choropleth_data(_wards(), table, "cases_per_1k")
    assert list(data["tooltip_detail"]) == [
        "Cases per 1,000 residents: 4.00",
        "Cases per 1,000 residents: 12.5",
        "Cases per 1,000 residents: –",
    ]
    assert data.loc[2, "fill_color"] == NO_DATA_RGBA
    deck = ward_deck([ward_layer(data)], bounds_of(data))
    spec = json.loads(deck.to_json())
    layer = spec["layers"][0]
    assert layer["id"] == WARD_LAYER and layer["@@type"] == "GeoJsonLayer"
    assert layer["data"][0]["tooltip_title"] == "Anfield"
    assert spec["mapStyle"].startswith("https://basemaps.cartocdn.com")
    # Text tooltip only: data is never interpolated into HTML.
    assert "html" not in spec["views"][0] if "views" in spec else True
    assert set(deck._tooltip) == {"text", "style"}


def test_hostile_ward_name_stays_plain_text_in_the_text_tooltip():
    data = choropleth_data(_wards(), pd.DataFrame({"ward_code": ["E2"], "cases": [1]}), "cases")
    assert data.loc[1, "tooltip_title"] == HOSTILE  # a text tooltip shows it literally
    assert "html" not in ward_deck([ward_layer(data)], bounds_of(data))._tooltip


def test_hex_layer_and_point_layer_ids_and_fields():
    hexes = pd.DataFrame({"hex": ["8919540c2a3ffff", "8919540c2a7ffff"], "cases": [5, 9]})
    hdata = hex_data(hexes)
    assert list(hdata["tooltip_detail"]) == ["5 cases", "9 cases"]
    assert hex_layer(hdata).id == HEX_LAYER
    points = pd.DataFrame(
        {
            "latitude": [53.4, 53.41, None],
            "longitude": [-2.99, -2.98, -2.97],
            "tooltip_title": ["Litter", HOSTILE, "x"],
            "tooltip_detail": ["a", "b", "c"],
        }
    )
    pdata = point_data(points)
    assert len(pdata) == 2
    assert point_layer(pdata).id == POINT_LAYER


def test_points_are_capped():
    n = 1_000
    points = pd.DataFrame(
        {
            "latitude": np.full(n, 53.4),
            "longitude": np.full(n, -2.9),
            "tooltip_title": "x",
            "tooltip_detail": "y",
        }
    )
    assert len(point_data(points, cap=100)) == 100


def test_view_fits_the_bounds():
    view = view_for_bounds((-3.0, 53.3, -2.8, 53.5))
    assert view.longitude == pytest.approx(-2.9)
    assert view.latitude == pytest.approx(53.4)
    assert 9 < view.zoom < 12


def test_payload_bytes_counts_the_deck_json():
    data = choropleth_data(_wards(), pd.DataFrame({"ward_code": ["E1"], "cases": [1]}), "cases")
    deck = ward_deck([ward_layer(data)], bounds_of(data))
    assert payload_bytes(deck) == len(deck.to_json().encode())


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (None, []),
        ({}, []),
        ({"selection": {"indices": {}, "objects": {}}}, []),
        ({"selection": {"objects": {"wards": [{"ward_code": "E1", "ward_name": "A"}]}}}, ["E1"]),
        ({"objects": {"wards": [{"properties": {"ward_code": "E2"}}]}}, ["E2"]),
        ({"selection": {"objects": {"hotspots": [{"hex": "89"}]}}}, []),
        (
            {
                "selection": {
                    "objects": {
                        "wards": [{"ward_code": "E1"}, {"ward_code": "E1"}, {"ward_code": "E3"}]
                    }
                }
            },
            ["E1", "E3"],
        ),
        ({"selection": {"objects": {"wards": ["junk", {"other": 1}]}}}, []),
        ({"selection": "junk"}, []),
    ],
)
def test_selected_ward_codes(event, expected):
    assert selected_ward_codes(event) == expected


def test_wards_under_hotspots_are_outlines_that_stay_clickable():
    import json

    shapes = choropleth_data(
        _wards(), pd.DataFrame({"ward_code": ["E1", "E2"], "cases": [1, 2]}), "cases"
    )
    coloured = json.loads(ward_deck([ward_layer(shapes)], (-3, 53, -2, 54)).to_json())["layers"][0]
    outlined = json.loads(
        ward_deck([ward_layer(shapes, outline=True)], (-3, 53, -2, 54)).to_json()
    )["layers"][0]
    assert coloured["getFillColor"] == "@@=fill_color"
    assert outlined["getFillColor"] == [255, 255, 255, 1]  # no colour, but pickable (alpha > 0)
    assert outlined["pickable"] is True
