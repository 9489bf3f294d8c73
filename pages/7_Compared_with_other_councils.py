"""Compared with other councils: the council's fly-tipping returns to DEFRA beside a group's."""

import streamlit as st

from neighbourhood import compare as cmp
from neighbourhood.export import to_csv_bytes
from ui import charts, components, data, filters
from ui import compare as view
from ui.auth import current_visitor, writer
from ui.nav import sidebar_nav
from ui.upload import plain

st.set_page_config(
    page_title="Compared with other councils", page_icon=":material/leaderboard:", layout="wide"
)
sidebar_nav()
st.title("Compared with other councils")
current_visitor()
data.ensure_store()
revision = data.revision()
st.caption(view.SOURCE_LINE)

returns = view.returns(revision)
names = cmp.council_choices(returns)
own = view.store_council(revision, view.setting_stamp())
start = view.initial_council(own, names)
c1, c2, c3 = st.columns([2, 2, 1])
# Every control is in the URL (ui.filters.Control): a link opens the same comparison.
council_ctl = filters.Control("compare_council", "council", tuple(names), start, pin=True)
filters.url_control(council_ctl)
if st.session_state.get(council_ctl.key) is None:
    del st.session_state[council_ctl.key]
council = c1.selectbox(
    "Council",
    list(names),
    index=None if council_ctl.key not in st.session_state else 0,
    format_func=names.get,
    placeholder="Choose your council",
    key=council_ctl.key,
)
filters.mirror_control(council_ctl)
if council is None:
    st.info("Choose your council to compare it with others; analysts can then remember it.")
    st.stop()
groups = tuple(cmp.GROUPS)
group_ctl = filters.Control(
    f"compare_group_{council}", "group", groups, view.default_group(council), pin=True
)
filters.url_control(group_ctl)
group = c2.selectbox("Compared with", list(groups), format_func=cmp.GROUPS.get, key=group_ctl.key)
filters.mirror_control(group_ctl)
try:
    table = view.comparison(revision, council, group)
except cmp.CompareError as exc:
    st.error(plain(exc))
    st.stop()
mine = table[table["is_council"]]
years = tuple(sorted(mine["year"].unique(), reverse=True))
year_ctl = filters.Control("compare_year", "year", years, years[0], pin=True)
filters.url_control(year_ctl)
year = c3.selectbox(
    "Financial year", list(years), format_func=lambda y: y.replace("-", "/"), key=year_ctl.key
)
filters.mirror_control(year_ctl)
if own.demo and own.code is None:
    st.caption(
        "Demo data: Merseyford is fictional, so the page opens on Liverpool's real returns as "
        "an example. Its synthetic cases are never set beside a real council's return."
    )
if council != own.code and not own.demo:
    visitor = writer("choose the council this dashboard is about")
    if visitor is not None:
        st.button(
            f"Remember {plain(names[council])} as our council",
            on_click=view.remember,
            args=(council,),
            key="compare_remember",
        )

row = mine[mine["year"] == year].iloc[0]
st.subheader(
    f"{plain(names[council])} in {year.replace('-', '/')}, compared with {view.PHRASES[group]}"
)
view.kpis(row)

with st.container(border=True):
    st.subheader("The group this year")
    components.dataframe(
        view.group_table(table, year), hide_index=True, column_config=view.GROUP_COLUMNS
    )
    st.download_button(
        "Download every council and year as CSV",
        data=to_csv_bytes(table),
        file_name=f"fly-tipping-returns-{council}-{group}.csv",
        mime="text/csv",
        on_click="ignore",
        key="compare_download",
    )
    st.caption("How each council counted its incidents that year (DEFRA's reporting basis):")
    for note in cmp.basis_notes(table, year):
        st.text(note)

with st.container(border=True):
    metrics = tuple(view.TREND_METRICS)
    trend_ctl = filters.Control("compare_trend", "trend", metrics, metrics[0])
    filters.url_control(trend_ctl)
    metric = st.selectbox(
        "Trend of", list(metrics), format_func=view.TREND_METRICS.get, key=trend_ctl.key
    )
    filters.mirror_control(trend_ctl)
    st.markdown(view.trend_sentence(table, council, metric))
    st.plotly_chart(
        view.trend_figure(table, council, metric),
        key="compare_trend_chart",
        config=charts.PLOTLY_CONFIG,
    )
    st.caption(
        "Black: the council; dashed: the group's median; grey: each other council in the group. "
        "DEFRA gives populations from 2019/20 only, so rates per 1,000 residents start there."
    )

with st.container(border=True):
    st.subheader("Where and how big")
    left, right = st.columns(2)
    land = view.mix_frame(table, year, cmp.LAND)
    size = view.mix_frame(table, year, cmp.SIZE)
    left.plotly_chart(
        view.mix_figure(land, "Land type"), key="compare_land", config=charts.PLOTLY_CONFIG
    )
    right.plotly_chart(
        view.mix_figure(size, "Size"), key="compare_size", config=charts.PLOTLY_CONFIG
    )
    st.caption("Shares of incidents; the group's bar pools its councils' incidents.")

with st.container(border=True):
    st.subheader("Our own extract beside our return")
    if own.demo:
        st.caption("Not shown for the synthetic demo data: its cases describe no real council.")
    elif council != own.code:
        st.caption("Shown for the council this dashboard is about, when it is the one chosen.")
    else:
        view.own_section(view.own_extract(revision, council), names[council])
