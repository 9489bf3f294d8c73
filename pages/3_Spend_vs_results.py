"""Spend vs results: did the funded wards do better than similar wards without the money?"""

import streamlit as st

from neighbourhood.evaluation import OUTCOMES
from ui import charts, components, data, filters, spend
from ui.auth import current_visitor
from ui.format import uk_date
from ui.nav import sidebar_nav
from ui.spend_charts import event_study_figure, funded_vs_comparison_figure
from ui.upload import plain

st.set_page_config(page_title="Spend vs results", page_icon=":material/savings:", layout="wide")
sidebar_nav()
st.title("Spend vs results")
current_visitor()
data.ensure_store()
revision = data.revision()
data.old_set_warning()

programmes = spend.programmes(revision)
if not programmes:
    st.info("No funding programme found: load a spend file with ward-level programme lines.")
    st.stop()
names = tuple(p.name for p in programmes)
# Every control is in the URL (ui.filters.Control): a link opens the same evaluation.
controls = [
    filters.Control("spend_programme", "programme", names, names[0]),
    filters.Control("spend_outcome", "outcome", tuple(OUTCOMES), next(iter(OUTCOMES))),
]
for control in controls:
    filters.url_control(control)
c1, c2, c3 = st.columns(3)
name = c1.selectbox("Programme", list(names), key="spend_programme")
outcome = c2.selectbox(
    "Outcome", list(OUTCOMES), format_func=lambda k: OUTCOMES[k].label, key="spend_outcome"
)
chosen = next(p for p in programmes if p.name == name)
category = None
if outcome in spend.CATEGORY_OUTCOMES:
    counts = spend.case_counts(revision, chosen.treated_wards)
    kinds = tuple(spend.category_options(counts) or spend.category_options())
    controls.append(filters.Control("spend_category", "type", kinds, kinds[0]))
    filters.url_control(controls[-1])
    category = c3.selectbox(
        "Type of case",
        list(kinds),
        format_func=spend.type_label,
        key="spend_category",
        help="All types together, or one type: only the types reported in the funded wards are "
        "listed.",
    )
elif "type" in st.query_params:
    del st.query_params["type"]
for control in controls:
    filters.mirror_control(control)

view = spend.evaluate(revision, name, outcome, category)
p = view.programme
st.caption(
    f"{plain(p.name)}: {len(p.treated_wards)} funded wards from {uk_date(p.start)}. "
    f"{plain(p.description)}"
)
st.markdown(
    "**Funded wards:** " + plain(spend.funded_wards_text(p.starts(), view.ward_names), 3000)
)
if view.periods_left_out:
    st.caption(
        "Left out because the data do not cover the whole month: "
        + ", ".join(view.periods_left_out)
        + "."
    )
if view.error:
    st.warning(plain(view.error))
    st.stop()

r = view.did
with st.container(border=True):
    st.subheader("What changed in funded wards, compared with the others")
    st.markdown(f"#### {plain(view.sentence, 2000)}")
    spend.effect_cards(r)
    st.caption(spend.MULTIPLE_COMPARISONS)
    st.warning(
        "**Before you quote this number**\n\n"
        + "\n".join(f"- {plain(c, 2000)}" for c in view.caveats),
        icon=":material/warning:",
    )

with st.container(border=True):
    st.plotly_chart(
        funded_vs_comparison_figure(
            view.series, start=p.start, end=p.end, y_title=view.label, programme=p.name
        ),
        key="spend_chart",
        config=charts.PLOTLY_CONFIG,
    )
    st.caption(
        f"Average {view.label.lower()} per month in funded wards (coloured, with its 95% range) "
        "and comparison wards (grey). The dashed line marks the start of the money; the shaded "
        "area is the funded period."
    )

left, right = st.columns(2)
with left.container(border=True):
    st.subheader("Before and after, funded wards only")
    ba = view.before_after
    st.metric(
        "Average after the start",
        spend.level_text(ba.post_mean, outcome),
        delta=spend.delta_text(ba.estimate, ba.scale, ba.unit),
        delta_color="inverse" if ba.lower_is_better else "normal",
        border=True,
    )
    st.caption(
        f"Before the start: {spend.level_text(ba.pre_mean, outcome)}. "
        f"{plain(view.before_after_sentence, 2000)}"
    )
with right.container(border=True):
    st.subheader("Were they moving in step before?")
    pre = view.result.pretrend
    if pre is None:
        st.info("There are too few months before the start to look at trends before the money.")
    else:
        st.info(plain(pre.sentence, 3000), icon=":material/timeline:")
        st.caption(spend.pretrend_caption(pre.p_value, pre.method))

with st.container(border=True):
    res = view.result
    st.plotly_chart(
        event_study_figure(
            res.event_study, y_title=view.label, percent=res.scale == "ratio", period=res.period
        ),
        key="event_study_chart",
        config=charts.PLOTLY_CONFIG,
    )
    st.caption(spend.event_caption(res.period, res.scale))

left, right = st.columns(2)
with left.container(border=True):
    st.subheader("By start date")
    components.dataframe(spend.cohort_table(res, view.ward_names), hide_index=True)
with right.container(border=True):
    st.subheader("Checks that should find nothing")
    for placebo in view.placebos:
        st.markdown(f"**{plain(placebo.label)}.** {plain(placebo.sentence, 2000)}")

with st.container(border=True):
    st.subheader("Each funded ward")
    table, config = spend.ward_table(res, view.ward_names, outcome)
    components.dataframe(table, hide_index=True, column_config=config)
    st.caption(spend.WARD_TABLE_CAPTION)

with st.container(border=True):
    st.subheader("Value for money")
    ce = view.cost
    if ce is not None:
        spend.cost_cards(ce, outcome)
    st.markdown(plain(view.cost_sentence, 2000))
    for note in ce.notes if ce is not None else ():
        st.caption(plain(note, 2000))
