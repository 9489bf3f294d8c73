"""Trends: chosen wards against the city and comparison wards, and cases by category."""

import streamlit as st

from ui import charts, columns, components, data, disclosure, filters
from ui.format import metric_label, so_far_text
from ui.nav import dashboard_page
from ui.text import md

options, f = dashboard_page("Trends", ":material/show_chart:")

st.title("Trends")
controls = [
    filters.Control("trend_metric", "measure", data.TREND_METRICS, data.TREND_METRICS[0]),
    filters.Control("trend_comparison", "compare", tuple(options.wards), [], multi=True),
    filters.toggle_control("trend_city", "city", default=True),
]
for control in controls:
    filters.url_control(control)
pick, compare, city = st.columns([2, 3, 1], vertical_alignment="bottom")
metric = pick.selectbox("Measure", data.TREND_METRICS, format_func=metric_label, key="trend_metric")
comparison = compare.multiselect(
    "Comparison wards (grey lines)",
    list(options.wards),
    format_func=options.wards.get,
    key="trend_comparison",
    placeholder="None",
)
show_city = city.toggle("Whole city", key="trend_city")
for control in controls:
    filters.mirror_control(control)
view = data.trends(f, comparison)
fund = view.funding
st.caption(f"Periods shown: {view.periods_shown}")

with st.container(border=True):
    st.plotly_chart(
        charts.trend_figure(
            view.table,
            metric,
            wards=view.wards,
            comparison=view.comparison,
            show_city=show_city,
            ci=data.CI_COLUMNS.get(metric),
            funding_start=fund.start if fund else None,
            funding_end=fund.end if fund else None,
            funding_label=fund.label if fund else "",
            period=f.period,
            as_of=view.as_of,
        ),
        key="trend_wards",
        config=charts.PLOTLY_CONFIG,
    )
    st.caption(
        ("" if view.wards else "Choose wards in the sidebar to draw them in colour. ")
        + "Dotted line: the whole city. Grey lines: comparison wards. "
        + ("Open circles: the last period, not over yet. " if view.partial else "")
        + (
            "Shaded bands: the range expected by chance (95%). "
            if metric in data.CI_COLUMNS
            else ""
        )
        + (f"Dashed line: {md(fund.label)}; the funded period is shaded. " if fund else "")
        + (
            disclosure.note() + " Ward lines have a gap there."
            if disclosure.is_protected(metric)
            else ""
        )
    )
    components.table(
        data.trend_rows(view, metric),
        columns.trend_table(metric),
        file_name=f"trend_{metric}.csv",
        key="trend_table",
        height=250,
    )

with st.container(border=True):
    st.plotly_chart(
        charts.category_trend_figure(
            view.categories,
            funding_start=fund.start if fund else None,
            funding_label=fund.label if fund else "",
            title=f"Cases by category, {view.scope}",
        ),
        key="trend_categories",
        config=charts.PLOTLY_CONFIG,
    )
    st.caption(
        "Cases reported in each whole period, one line per category (cancelled and duplicate "
        "cases left out)."
        + (
            f" The last period is not over yet ({so_far_text(view.table['period_start'].max(), view.period, view.as_of)}): "
            "its count is not comparable with the others."
            if view.partial and view.as_of is not None
            else ""
        )
    )
    components.table(
        view.categories,
        {
            "category_label": st.column_config.TextColumn("Category"),
            "period": st.column_config.TextColumn("Period"),
            "cases": st.column_config.NumberColumn("Cases", format="localized"),
        },
        file_name="cases_by_category.csv",
        key="trend_category_table",
        height=250,
    )
