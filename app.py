"""Overview: the city's street-cleansing and enforcement figures at a glance."""

import streamlit as st

from ui import charts, components, data, filters
from ui.format import metric_label
from ui.nav import dashboard_page
from ui.text import md

options, f = dashboard_page("Neighbourhood: overview", ":material/home:")

st.title("Street cleansing and enforcement: overview")
compare_ctl = filters.Control("overview_compare", "compare", ("previous", "year"), "previous")
filters.url_control(compare_ctl)
st.segmented_control(
    "Compare with",
    ["previous", "year"],
    format_func={"previous": "The period before", "year": "Same period a year earlier"}.get,
    required=True,
    key="overview_compare",
)
compare = filters.mirror_control(compare_ctl)
view = data.overview(f, compare)
st.caption(
    f"Figures for {md(view.scope)} · {md(f.selection(wards=False))}. Periods shown: {view.shown}"
)

st.subheader(f"Latest period: {view.period}")
if view.compared_with:
    st.caption(f"Changes are against {view.compared_with}.")
elif view.partial:
    st.caption(
        "No changes are shown: this period is not over yet, and part of a period is not "
        "compared with a whole one. The chart below has the whole periods before it."
    )
components.kpi_row(view.kpis)
if not f.all_categories:
    st.caption("Spend is for all categories: spending is not recorded by category.")

with st.container(border=True):
    fund = view.funding
    st.plotly_chart(
        charts.trend_figure(
            view.city,
            "cases_per_1k",
            ci=("cases_per_1k_lo", "cases_per_1k_hi"),
            funding_start=fund.start if fund else None,
            funding_end=fund.end if fund else None,
            funding_label=fund.label if fund else "",
            period=f.period,
            title=f"{metric_label('cases_per_1k')}, {view.scope}",
            city_label=view.city_label,
            as_of=view.as_of,
        ),
        key="overview_trend",
        config=charts.PLOTLY_CONFIG,
    )
    st.caption(
        f"Dotted line: cases reported per 1,000 residents in {md(view.scope)}, each period. "
        "Shaded band: the range the rate would be expected to fall in by chance (95%). "
        + ("Open circle: the last period, not over yet. " if view.partial else "")
        + (f"Dashed line: {md(fund.label)}; shading: the funded period." if fund else "")
    )

# The change is what the table is about: second, so a phone shows it without scrolling.
movers = {
    "ward_name": st.column_config.TextColumn("Ward"),
    "change_pct": st.column_config.NumberColumn("Change", format="%+.1f%%"),
    "cases_per_1k": st.column_config.NumberColumn(
        "Per 1,000", format="%.2f", help=metric_label("cases_per_1k")
    ),
    "cases": st.column_config.NumberColumn("Cases", format="localized"),
}
best, worst = st.columns(2)
with best.container(border=True):
    st.subheader("Most improved wards")
    st.caption(
        f"Biggest falls in cases per 1,000 residents, {view.movers_compare}, "
        f"among {md(view.movers_scope)}."
        if view.movers_compare
        else "No whole period to compare yet."
    )
    components.table(
        view.best, movers, file_name="most_improved_wards.csv", key="best", empty=view.best_empty
    )
with worst.container(border=True):
    st.subheader("Wards getting worse")
    st.caption(
        f"Biggest rises in cases per 1,000 residents, {view.movers_compare}, "
        f"among {md(view.movers_scope)}."
        if view.movers_compare
        else "No whole period to compare yet."
    )
    components.table(
        view.worst, movers, file_name="wards_getting_worse.csv", key="worst", empty=view.worst_empty
    )

components.freshness(view.fresh)
