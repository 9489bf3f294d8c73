"""pydeck deck builders and map-selection helpers (pure: no Streamlit).

- Ward choropleth: a ``GeoJsonLayer`` over a simplified ward GeoDataFrame, with a precomputed
  ``fill_color`` from the shared colour-blind-safe sequential scale.
- Hotspots: an ``H3HexagonLayer`` over server-side hexagon counts.
- Individual cleansing cases: a ``ScatterplotLayer``, capped. Enforcement cases are never drawn
  as points (they concern individuals).

Every layer carries top-level ``tooltip_title``/``tooltip_detail`` fields, so one text tooltip
(rendered as text, not HTML) serves all of them. Every layer has an ``id``; decks use the CARTO
"light" basemap, which needs no token.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

import numpy as np
import pandas as pd
import pydeck as pdk
from plotly.colors import sample_colorscale, unlabel_rgb
from shapely.geometry import mapping

from ui import SEQUENTIAL_SCALE
from ui.format import metric_label, metric_value, number

WARD_LAYER: Final[str] = "wards"
HEX_LAYER: Final[str] = "hotspots"
POINT_LAYER: Final[str] = "cases"
SELECTED_LAYER: Final[str] = "selected_ward"
POINT_CAP: Final[int] = 100_000
NO_DATA_RGBA: Final[list[int]] = [200, 200, 200, 110]
#: Fill of a ward drawn as an outline only: alpha 1 keeps it clickable (deck.gl does not pick
#: fully transparent pixels) while looking empty.
OUTLINE_FILL: Final[tuple[int, int, int, int]] = (255, 255, 255, 1)

TOOLTIP: Final[dict[str, Any]] = {
    "text": "{tooltip_title}\n{tooltip_detail}",
    "style": {"backgroundColor": "#1f2a44", "color": "white", "fontSize": "13px"},
}


def fill_colours(
    values: Iterable[float],
    vmin: float | None = None,
    vmax: float | None = None,
    alpha: int = 190,
) -> list[list[int]]:
    """RGBA colours for values on the shared sequential scale; missing values are light grey.

    Examples
    --------
    >>> fill_colours([0, 10])[0][:3], fill_colours([0, 10])[1][:3]
    ([0, 34, 78], [254, 232, 56])
    """
    arr = np.asarray(list(values), dtype="float64")
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return [list(NO_DATA_RGBA) for _ in arr]
    lo = float(finite.min()) if vmin is None else float(vmin)
    hi = float(finite.max()) if vmax is None else float(vmax)
    span = hi - lo if hi > lo else 1.0
    out: list[list[int]] = []
    positions = np.clip((np.nan_to_num(arr, nan=lo) - lo) / span, 0.0, 1.0)
    colours = sample_colorscale(SEQUENTIAL_SCALE, positions.tolist())
    for value, colour in zip(arr, colours, strict=True):
        if not np.isfinite(value):
            out.append(list(NO_DATA_RGBA))
        else:
            r, g, b = (round(c) for c in unlabel_rgb(colour))
            out.append([r, g, b, alpha])
    return out


def choropleth_data(wards: Any, table: pd.DataFrame, metric: str) -> Any:
    """Join one metric onto the ward polygons and precompute colour and tooltip fields.

    Parameters
    ----------
    wards
        Simplified ward GeoDataFrame (``ward_code``, ``ward_name``, ``geometry``, WGS84).
    table
        One row per ward with ``ward_code`` and ``metric``. A text value that is not a number
        (a suppressed enforcement count, ``"<5"``) colours the ward grey and is shown as it is in
        the tooltip.

    Returns
    -------
    DataFrame with ``ward_code``, ``ward_name``, ``value``, ``fill_color``, ``tooltip_title``,
    ``tooltip_detail`` and ``geometry`` (GeoJSON dicts: pydeck sends plain records, and each
    record's top-level fields are what the tooltip and colour accessors read).
    """
    values = table[["ward_code", metric]].rename(columns={metric: "value"})
    geojson = wards["geojson"] if "geojson" in wards.columns else wards.geometry.map(mapping)
    shapes = pd.DataFrame(
        {
            "ward_code": wards["ward_code"].to_numpy(),
            "ward_name": wards["ward_name"].to_numpy(),
            "geometry": list(geojson),
        }
    )
    data = shapes.merge(values, on="ward_code", how="left")
    shown = data["value"]
    data["value"] = pd.to_numeric(shown, errors="coerce").round(3)
    data["fill_color"] = fill_colours(data["value"])
    data["tooltip_title"] = data["ward_name"].astype(str)
    label = metric_label(metric)
    # A hidden count arrives as text ("<5"): the ward is grey and the tooltip says "<5".
    data["tooltip_detail"] = [
        f"{label}: {text if isinstance(text, str) and pd.isna(v) and text else metric_value(metric, v)}"
        for text, v in zip(shown, data["value"], strict=True)
    ]
    data["value"] = data["value"].astype("float64").where(data["value"].notna(), None)
    return data


def ward_layer(data: Any, *, outline: bool = False) -> pdk.Layer:
    """The ward choropleth layer (pickable, so a click selects a ward).

    ``outline=True`` draws the wards as grey outlines with no colour (all but invisible fill,
    still clickable): used when hotspot hexagons are drawn on top, so that one colour scale is
    on the map at a time.
    """
    return pdk.Layer(
        "GeoJsonLayer",
        data,
        id=WARD_LAYER,
        pickable=True,
        stroked=True,
        filled=True,
        get_fill_color=list(OUTLINE_FILL) if outline else "fill_color",
        get_line_color=[90, 90, 90, 200] if outline else [255, 255, 255, 220],
        line_width_min_pixels=1,
        auto_highlight=True,
        highlight_color=[255, 120, 0, 160],
    )


def highlight_layer(data: Any) -> pdk.Layer:
    """A thick outline around the chosen ward(s), so the map mirrors the select box."""
    return pdk.Layer(
        "GeoJsonLayer",
        data,
        id=SELECTED_LAYER,
        pickable=False,
        stroked=True,
        filled=False,
        get_line_color=[230, 90, 30, 255],
        line_width_min_pixels=4,
    )


def hex_data(hexes: pd.DataFrame, hex_column: str = "hex", value: str = "cases") -> pd.DataFrame:
    """Hexagon counts with colour and tooltip fields (columns: ``hex``, ``value``, …)."""
    data = pd.DataFrame(
        {"hex": hexes[hex_column].astype(str), "value": pd.to_numeric(hexes[value])}
    )
    data["fill_color"] = fill_colours(data["value"], alpha=200)
    data["tooltip_title"] = "Hotspot"
    data["tooltip_detail"] = [f"{number(v)} cases" for v in data["value"]]
    return data


def hex_layer(data: pd.DataFrame) -> pdk.Layer:
    """Server-side hexagon bins (H3 cell ids) as a flat hexagon layer."""
    return pdk.Layer(
        "H3HexagonLayer",
        data,
        id=HEX_LAYER,
        pickable=True,
        stroked=False,
        filled=True,
        extruded=False,
        get_hexagon="hex",
        get_fill_color="fill_color",
    )


def point_data(points: pd.DataFrame, cap: int = POINT_CAP) -> pd.DataFrame:
    """Individual cleansing cases, at most ``cap`` of them (a reproducible sample beyond that)."""
    rows = points.dropna(subset=["latitude", "longitude"])
    if len(rows) > cap:
        rows = rows.sample(n=cap, random_state=0)
    data = pd.DataFrame(
        {
            "longitude": rows["longitude"].round(5).to_numpy(),
            "latitude": rows["latitude"].round(5).to_numpy(),
        }
    )
    data["tooltip_title"] = rows["tooltip_title"].astype(str).to_numpy()
    data["tooltip_detail"] = rows["tooltip_detail"].astype(str).to_numpy()
    return data


def point_layer(data: pd.DataFrame) -> pdk.Layer:
    """Individual cleansing cases as small dots (never enforcement cases)."""
    return pdk.Layer(
        "ScatterplotLayer",
        data,
        id=POINT_LAYER,
        pickable=True,
        get_position=["longitude", "latitude"],
        get_fill_color=[230, 90, 30, 160],
        get_radius=12,
        radius_min_pixels=1.5,
        radius_max_pixels=6,
    )


def bounds_of(data: pd.DataFrame) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` of the GeoJSON ``geometry`` dicts in ``data``."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if coords and isinstance(coords[0], (int, float)):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        else:
            for c in coords:
                walk(c)

    for geom in data["geometry"]:
        walk(geom["coordinates"])
    return (min(xs), min(ys), max(xs), max(ys)) if xs else (-3.0, 53.4, -2.9, 53.5)


def view_for_bounds(bounds: Iterable[float], pitch: float = 0) -> pdk.ViewState:
    """A view that fits a ``(minx, miny, maxx, maxy)`` box in WGS84."""
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    extent = max(maxx - minx, (maxy - miny) * 1.6, 1e-4)
    zoom = max(1.0, min(16.0, math.log2(360.0 / extent) - 0.6))
    return pdk.ViewState(
        longitude=(minx + maxx) / 2, latitude=(miny + maxy) / 2, zoom=round(zoom, 2), pitch=pitch
    )


def ward_deck(layers: list[pdk.Layer], bounds: Iterable[float]) -> pdk.Deck:
    """A deck on the CARTO "light" basemap (no token) with the shared text tooltip."""
    return pdk.Deck(
        layers=layers,
        initial_view_state=view_for_bounds(bounds),
        map_provider="carto",
        map_style="light",
        tooltip=TOOLTIP,
    )


def payload_bytes(deck: pdk.Deck) -> int:
    """Size of the JSON that ``st.pydeck_chart`` sends to the browser."""
    return len(deck.to_json().encode("utf-8"))


def selected_ward_codes(
    selection: Mapping[str, Any] | None, layer_id: str = WARD_LAYER
) -> list[str]:
    """Ward codes picked on the map, from ``st.pydeck_chart``'s selection state.

    Accepts the whole event (``{"selection": {...}}``) or its ``selection`` part; objects may
    carry ``ward_code`` at the top level or under ``properties``. Unknown shapes give ``[]``.

    Examples
    --------
    >>> selected_ward_codes({"selection": {"objects": {"wards": [{"ward_code": "E05000001"}]}}})
    ['E05000001']
    """
    if not selection:
        return []
    inner = selection.get("selection", selection)
    if not isinstance(inner, Mapping):
        return []
    objects = (inner.get("objects") or {}).get(layer_id) or []
    codes: list[str] = []
    for obj in objects:
        if not isinstance(obj, Mapping):
            continue
        code = obj.get("ward_code")
        if code is None and isinstance(obj.get("properties"), Mapping):
            code = obj["properties"].get("ward_code")
        if code is not None and str(code) not in codes:
            codes.append(str(code))
    return codes
