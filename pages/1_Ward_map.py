"""Ward map: every ward coloured by one measure, with hotspots, a detail panel and a table twin."""

import streamlit as st

from ui import columns, components, data, disclosure, filters, maps
from ui.format import metric_label
from ui.nav import dashboard_page

options, f = dashboard_page("Ward map", ":material/map:")

st.title("Ward map")
choices = data.period_choices(f)
# Every control is in the URL; the period always (its default, the latest, moves with the data).
controls = [
    filters.Control("map_metric", "measure", data.MAP_METRICS, data.MAP_METRICS[0]),
    filters.Control(
        "map_period",
        "when",
        tuple(choices),
        list(choices)[-1] if choices else None,
        pin=True,
        text=lambda p: p.date().isoformat(),
    ),
    filters.toggle_control("map_hexes", "hotspots"),
    filters.toggle_control("map_points", "cases"),
]
for control in controls:
    filters.url_control(control)
pick, when = st.columns(2, vertical_alignment="bottom")
metric = pick.selectbox(
    "Colour wards by", data.MAP_METRICS, format_func=metric_label, key="map_metric"
)
period = when.select_slider("Period", list(choices), format_func=choices.get, key="map_period")
with st.container(horizontal=True, gap="large"):
    hexes = st.toggle(
        "Hotspots",
        key="map_hexes",
        help="Cases in the chosen period counted in small hexagons. The wards are then drawn "
        "as outlines, so the map has one colour scale at a time; choose a ward in the box "
        "beside the map.",
    )
    points = st.toggle(
        "Individual cases",
        key="map_points",
        help=f"Street-cleansing cases reported in the chosen period, at most {data.POINT_CAP:,}. "
        "Enforcement cases are never shown as points: they concern individuals.",
    )
for control in controls:
    filters.mirror_control(control)
view = data.ward_map(f, period, hexes=hexes, points=points)


@st.fragment
def map_and_detail() -> None:
    shapes = maps.choropleth_data(view.wards, view.table, metric)
    left, right = st.columns([3, 2])
    with right.container(border=True):
        code = filters.ward_picker(dict(zip(shapes["ward_code"], shapes["ward_name"], strict=True)))
        row = view.table[view.table["ward_code"] == code]
        components.ward_detail(None if row.empty else row.iloc[0])
        if not row.empty and st.button(
            "Open the ward profile", type="primary", icon=":material/open_in_new:"
        ):
            st.switch_page("pages/5_Ward_profile.py")
    layers = [maps.ward_layer(shapes, outline=view.hexes is not None)]
    if view.hexes is not None:
        layers.append(maps.hex_layer(maps.hex_data(view.hexes)))
    if view.points is not None:
        layers.append(maps.point_layer(maps.point_data(view.points)))
    layers.append(maps.highlight_layer(shapes[shapes["ward_code"] == code]))
    # A map selection makes Streamlit recolour every layer (the picked object opaque, the rest
    # faded), which tinted the hexagons: with hotspots on, the ward is chosen in the box above.
    clickable = view.hexes is None
    with left:
        st.pydeck_chart(
            maps.ward_deck(layers, view.wards.total_bounds),
            on_select=(lambda: filters.select_ward_from_map("ward_map_deck"))
            if clickable
            else "ignore",
            selection_mode="single-object",
            key="ward_map_deck" if clickable else "ward_map_deck_hotspots",
            height=560,
            alt=f"Map of wards coloured by {metric_label(metric).lower()}, {view.period}.",
        )
        if view.hexes is None:
            components.map_legend(shapes, metric, key="map_legend")
        else:
            components.hex_legend(view.hexes, key="hex_legend")
            st.caption(
                f"Hotspots: cases reported {view.dates} (the chosen period), counted in small "
                "hexagons; lighter means more. Wards are outlined only while hotspots are on: "
                "their figures are in the table below and in each ward's tooltip."
            )
        if view.points is not None:
            shown = (
                f"a sample of {len(view.points):,} of the {view.points_total:,}"
                if view.points_total > len(view.points)
                else f"all {view.points_total:,}"
            )
            st.caption(
                f"Dots: {shown} cases with a location reported {view.dates} (the chosen period)."
            )


map_and_detail()

with st.container(border=True):
    st.subheader(f"All wards, {view.period}")
    st.caption("The same figures as the map. Click a column heading to sort.")
    components.table(view.table, columns.ward_table(), file_name="wards.csv", key="map_wards")
    st.caption(disclosure.note())
