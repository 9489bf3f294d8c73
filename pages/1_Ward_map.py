"""Ward map: every ward coloured by one measure, with hotspots, a detail panel and a table twin."""

import streamlit as st

from ui import charts, components, data, filters, maps
from ui.auth import current_visitor
from ui.format import metric_label, metric_value

st.set_page_config(page_title="Ward map", page_icon=":material/map:", layout="wide")
current_visitor()
data.ensure_store()
options = data.filter_options(data.revision())
if options is None:
    components.no_data()
f = filters.sidebar(options)

st.title("Ward map")
choices = data.period_choices(f)
filters.keep_valid("map_period", list(choices), list(choices)[-1] if choices else None)
pick, when, hex_on, points_on = st.columns([3, 3, 1, 1], vertical_alignment="bottom")
metric = pick.selectbox(
    "Colour wards by", data.MAP_METRICS, format_func=metric_label, key="map_metric"
)
period = when.select_slider("Period", list(choices), format_func=choices.get, key="map_period")
hexes = hex_on.toggle("Hotspots", key="map_hexes", help="Cases counted in small hexagons.")
points = points_on.toggle(
    "Individual cases",
    key="map_points",
    help=f"Street-cleansing cases only, at most {data.POINT_CAP:,}. "
    "Enforcement cases are never shown as points: they concern individuals.",
)
view = data.ward_map(f, period, hexes=hexes, points=points)


@st.fragment
def map_and_detail() -> None:
    shapes = maps.choropleth_data(view.wards, view.table, metric)
    left, right = st.columns([3, 2])
    with right.container(border=True):
        code = filters.ward_picker(dict(zip(shapes["ward_code"], shapes["ward_name"], strict=True)))
        row = view.table[view.table["ward_code"] == code]
        if row.empty:
            st.caption("Click a ward on the map, or choose one above, to see its figures.")
        else:
            r = row.iloc[0]
            for m in (
                "cases",
                "cases_per_1k",
                "median_days_to_close",
                "pct_within_sla",
                "spend_gbp",
            ):
                st.metric(metric_label(m), metric_value(m, r[m]))
            if st.button("Open the ward profile", type="primary", icon=":material/open_in_new:"):
                st.switch_page("pages/5_Ward_profile.py")
    layers = [maps.ward_layer(shapes)]
    if view.hexes is not None:
        layers.append(maps.hex_layer(maps.hex_data(view.hexes)))
    if view.points is not None:
        layers.append(maps.point_layer(maps.point_data(view.points)))
    layers.append(maps.highlight_layer(shapes[shapes["ward_code"] == code]))
    with left:
        st.pydeck_chart(
            maps.ward_deck(layers, view.wards.total_bounds),
            on_select=lambda: filters.select_ward_from_map("ward_map_deck"),
            selection_mode="single-object",
            key="ward_map_deck",
            height=560,
            alt=f"Map of wards coloured by {metric_label(metric).lower()}, {view.period}.",
        )
        values = shapes["value"].astype("float64")
        st.plotly_chart(
            charts.colour_legend(values.min(), values.max(), metric, values.isna().any()),
            key="map_legend",
            config={"displayModeBar": False},
        )
        if view.points is not None and view.points_total > len(view.points):
            st.caption(f"Showing {len(view.points):,} of {view.points_total:,} cases.")


map_and_detail()

with st.container(border=True):
    st.subheader(f"All wards, {view.period}")
    st.caption("The same figures as the map. Click a column heading to sort.")
    components.table(
        view.table,
        {
            "ward_name": st.column_config.TextColumn("Ward"),
            "cases": st.column_config.NumberColumn("Cases", format="localized"),
            "cases_per_1k": st.column_config.NumberColumn(
                metric_label("cases_per_1k"), format="%.2f"
            ),
            "median_days_to_close": st.column_config.NumberColumn(
                "Median days to close", format="%.1f"
            ),
            "pct_within_sla": st.column_config.NumberColumn(
                "Closed within target time", format="%.0f%%"
            ),
            "open_at_end": st.column_config.NumberColumn(
                "Still open at period end", format="localized"
            ),
            "enforcement_actions": st.column_config.TextColumn("Enforcement actions"),
            "spend_gbp": st.column_config.NumberColumn("Spend", format="£%.0f"),
            "rank_cases_per_1k": st.column_config.NumberColumn("Rank (1 = most cases per 1,000)"),
        },
        file_name="wards.csv",
        key="map_wards",
    )
    st.caption("Enforcement counts from 1 to 4 are shown as “<5” to protect individuals.")
