"""Ward profile: one ward on one page, for its councillors."""

import streamlit as st

from ui import charts, columns, components, data, filters, maps
from ui.format import date_range_text, gbp, uk_date
from ui.nav import dashboard_page
from ui.text import md

options, f = dashboard_page("Ward profile", ":material/location_city:")

st.title("Ward profile")
ward = filters.ward_picker(options.wards, "Ward", default=next(iter(options.wards)))
view = data.ward_profile(f, ward)
fund = view.funding

st.header(md(view.ward_name))
st.caption(
    f"Periods shown: {view.shown} {md(data.sentence(f.selection(wards=False)))}. "
    + (
        f"Ranked {data.ordinal(view.rank)} of {view.n_ranked} wards (1st = most) for cases per "
        f"1,000 residents in {view.period}."
        if view.rank
        else "Not ranked in the latest period."
    )
    + (f" Funded by the {md(fund.name)} from {uk_date(fund.start)}." if view.funded else "")
)
st.caption(data.changes_text(view.period, view.compared_with, f.period))
components.kpi_row(view.kpis)

trend, cats = st.columns([3, 2])
with trend.container(border=True):
    st.plotly_chart(
        charts.trend_figure(
            data.ward_and_city(view),
            "cases_per_1k",
            wards=[view.ward_code],
            ci=data.CI_COLUMNS["cases_per_1k"],
            funding_start=fund.start if view.funded else None,
            funding_end=fund.end if view.funded else None,
            funding_label=fund.label if view.funded else "",
            period=f.period,
            title="Cases per 1,000 residents: this ward and the whole city",
            as_of=view.as_of,
        ),
        key="profile_trend",
        config=charts.PLOTLY_CONFIG,
    )
    st.caption("Shaded bands: the range expected by chance (95%). Dotted line: the whole city.")
with cats.container(border=True):
    st.plotly_chart(
        charts.category_figure(view.categories),
        key="profile_categories",
        config=charts.PLOTLY_CONFIG,
    )
    st.caption("Cases reported in the periods shown, by category.")

hot, streets = st.columns([2, 3])
with hot.container(border=True):
    st.subheader("Hotspots")
    layers = [maps.ward_layer(data.outline(view)), maps.hex_layer(maps.hex_data(view.hexes))]
    st.pydeck_chart(
        maps.ward_deck(layers, view.bounds or (-3.0, 53.4, -2.9, 53.5)),
        height=360,
        key="profile_map",
        alt=f"Map of case hotspots in {view.ward_name}.",
    )
    st.caption(
        f"Cases reported {date_range_text(f.start, f.end)} (the dates chosen), counted in "
        "small hexagons: lighter means more cases."
    )
with streets.container(border=True):
    st.subheader("Places with repeat problems")
    components.table(
        view.streets,
        columns.repeat_streets(),
        file_name="repeat_locations.csv",
        key="profile_streets",
        height=300,
    )

funnel, rank = st.columns(2)
with funnel.container(border=True):
    st.subheader("Enforcement")
    components.enforcement(view.funnel, key="profile_enforcement")
with rank.container(border=True):
    st.plotly_chart(
        charts.rank_figure(view.latest, "cases_per_1k", view.ward_code),
        key="profile_rank",
        config=charts.PLOTLY_CONFIG,
    )
    st.caption(f"Every ward's cases per 1,000 residents in {view.period}; this ward in dark blue.")

with st.container(border=True):
    st.subheader("Spend")
    st.caption(
        f"Total spend in the periods shown: {gbp(view.spend['spend_gbp'].sum())}. "
        "Spend is for all categories: spending is not recorded by category."
    )
    st.plotly_chart(
        charts.bar_over_time(
            view.spend,
            "spend_gbp",
            period=f.period,
            funding_start=fund.start if view.funded else None,
            funding_label=fund.label if view.funded else "",
        ),
        key="profile_spend",
        config=charts.PLOTLY_CONFIG,
    )
    components.table(
        view.spend, columns.ward_spend(), file_name="ward_spend.csv", key="profile_spend_table"
    )
