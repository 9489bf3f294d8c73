"""Spend vs results: the cached evaluation behind ``pages/3_Spend_vs_results.py``.

One call per page run, :func:`evaluate`, keyed on the store revision and the choices, returns a
:class:`SpendView` with everything the page draws. The statistics live in
``neighbourhood.evaluation``; this module only gathers the inputs, runs it and words the numbers.
The formatting helpers are pure and unit-tested.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pandas as pd
import streamlit as st

from neighbourhood import appraise
from neighbourhood import evaluation as ev
from neighbourhood import staggered as sg
from neighbourhood.schemas import CATEGORIES
from ui.format import category_label

_LOG = logging.getLogger(__name__)

PROGRAMMES_CSV: Final[Path] = appraise.PROGRAMMES_CSV
#: Outcomes that are counted from cleansing cases, so a type of case can be chosen.
CATEGORY_OUTCOMES: Final[frozenset[str]] = appraise.CATEGORY_OUTCOMES
DEFAULT_CATEGORY: Final[str] = appraise.ALL_TYPES


# --- pure wording -----------------------------------------------------------------------------

EFFECT_HELP: Final[str] = (
    "The change in funded wards beyond what the comparison wards' change over the same months "
    "predicts, each ward measured from its own start (an imputation difference-in-differences "
    "estimate with ward and month effects, robust to wards starting at different dates)."
)
RANGE_HELP: Final[str] = (
    "The 95% confidence interval: the effect is very probably somewhere in this range. When the "
    "range includes zero, the money may have made no difference."
)
PROGRAMME_SPEND_HELP: Final[str] = (
    "Only this programme's own spend lines for the funded wards, from the start to the last "
    "month loaded. Core budgets in the same wards and the programme's city-wide lines are not "
    "included."
)
PER_CASE_HELP: Final[str] = (
    "Programme spend in the funded wards divided by all cases closed there (every type of "
    "case) over the same months. An accounting figure, not an effect: it does not change with "
    "the outcome or type of case chosen above."
)


def chance_help(p: float | None, inference: str = "") -> str:
    """Tooltip for the "Could it be chance?" card, with the precise terms."""
    how = f" Worked out by {inference}." if inference else ""
    return (
        f"p-value {p_text(p)}: how often a difference at least this large would turn up by "
        "chance if the money had made no difference. Below 0.05 is usually read as unlikely to "
        f"be chance.{how}"
    )


def pretrend_caption(p: float | None, method: str = "") -> str:
    """The precise result under the plain pre-trend evidence (never a verdict)."""
    how = f", {method}" if method else ""
    return (
        f"Pre-trend test: p-value {p_text(p)}{how}. A high p-value is not proof of parallel "
        "trends: with few wards the test misses small drifts, so read it with the drift "
        "statement above."
    )


MULTIPLE_COMPARISONS: Final[str] = (
    "This page offers several outcomes and many types of case. Look at enough of them and some "
    "will show a clear-looking change by chance alone (about 1 in 20 at the 95% level, even if "
    "the money did nothing). Decide which outcome matters before looking, and treat one clear "
    "result among many unclear ones with caution."
)


def type_label(category: str | None) -> str:
    """``"all"`` → "All types of case"; otherwise the council label."""
    if category is None or category == appraise.ALL_TYPES:
        return "All types of case"
    return category_label(category)


def funded_wards_text(starts: dict[str, pd.Timestamp], names: dict[str, str]) -> str:
    """ "Anfield, Everton (from 01 Apr 2025); Kirkdale (from 01 Oct 2025)" — the funded wards,
    by name, grouped by start date."""
    groups: dict[pd.Timestamp, list[str]] = {}
    for ward, start in starts.items():
        groups.setdefault(start, []).append(names.get(ward) or ward)
    return "; ".join(
        f"{', '.join(sorted(wards))} (from {d:%d %b %Y})" for d, wards in sorted(groups.items())
    )


def event_caption(period: str, scale: str) -> str:
    """Plain words under the event-study chart."""
    what = "% difference" if scale == "ratio" else "difference"
    return (
        f"Each dot is the {what} between funded wards and what the comparison wards suggest they "
        f"would have had without the money, {period} by {period} around each ward's own start "
        f"(0 = the first {period} with the money), with its 95% range. Dots left of the dashed "
        "line are before the money: they should sit near zero if the two groups were moving in "
        "step."
    )


def all_spend_caption(pc: ev.SpendPerCase) -> str:
    """Context for the programme spend card: everything spent in those wards."""
    return (
        f"All spend in the funded wards over the same months, core budgets included, was "
        f"{gbp_or_dash(pc.all_spend_gbp)}; the programme's share was "
        f"{gbp_or_dash(pc.spend_gbp)}."
    )


def signed(value: float, scale: str, unit: str, decimals: int = 1) -> str:
    """An effect with its sign and unit: ``-0.152`` (ratio) → ``"−15.2%"``; ``-1.25`` days →
    ``"−1.3 days"``."""
    if value is None or not math.isfinite(value):
        return "–"
    if scale == "ratio":
        text = f"{abs(value) * 100:,.{decimals}f}%"
    else:
        text = f"{abs(value):,.{decimals}f} {unit}"
    sign = "−" if value < 0 else "+" if value > 0 else ""
    return sign + text


def delta_text(value: float, scale: str, unit: str) -> str:
    """Like :func:`signed` but with an ASCII minus, which ``st.metric`` reads as "down"."""
    return signed(value, scale, unit).replace("−", "-")


def ci_text(low: float, high: float, scale: str, unit: str) -> str:
    """``"−22.0% to −8.1%"``."""
    return f"{signed(low, scale, unit)} to {signed(high, scale, unit)}"


def article(word: str) -> str:
    """``"a"`` or ``"an"`` for the word that follows: "an overflowing bins case", "a graffiti
    case", "a one-off". By sound for the few council words that break the vowel rule."""
    w = word.strip().lower()
    if w.startswith(("one", "uni", "use", "eu", "ur")):
        return "a"
    if w.startswith(("hour", "honest")):
        return "an"
    return "an" if w[:1] in set("aeiou") else "a"


def level_text(value: float | None, outcome: str) -> str:
    """An outcome's level with its unit: ``"93.1%"``, ``"2.1 days"``, ``"8.62 per 1,000
    residents"``, ``"12.0 per 100 fly-tips"``; "–" when missing."""
    if value is None or not math.isfinite(value):
        return "–"
    out = ev.OUTCOMES.get(outcome)
    if out is None:
        return f"{value:,.2f}"
    if out.unit == "percentage points":
        return f"{value:,.1f}%"
    if out.unit == "days":
        return f"{value:,.1f} days"
    if outcome == "cases_per_1k":
        return f"{value:,.2f} per 1,000 residents"
    if outcome == "actions_per_100_fly_tips":
        return f"{value:,.1f} per 100 fly-tips"
    return f"{value:,.2f}"


def chance_text(p: float | None) -> str:
    """How likely chance alone is, in words, for the "Could it be chance?" card."""
    if p is None or not math.isfinite(p):
        return "–"
    if p < 0.01:
        return "Very unlikely"
    if p < 0.05:
        return "Unlikely"
    if p < 0.10:
        return "Possibly"
    return "Quite possibly"


def p_text(p: float | None) -> str:
    """A p-value for council readers: ``"0.003"``, ``"below 0.001"``, ``"–"``."""
    if p is None or not math.isfinite(p):
        return "–"
    return "below 0.001" if p < 0.001 else f"{p:.3f}"


def gbp_or_dash(value: float | None) -> str:
    """Pounds, pence under £100; "–" when missing, "no upper limit" for infinity."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "no upper limit"
    return f"£{value:,.2f}" if abs(value) < 100 else f"£{value:,.0f}"


def subject_for(outcome: str, category: str | None) -> str | None:
    """The sentence subject for a category-specific outcome ("Fly-tipping reports per 1,000
    residents"), or ``None`` to let the evaluation module word it."""
    if category is None or outcome not in CATEGORY_OUTCOMES:
        return None
    label = category_label(category)
    return {
        "cases_per_1k": f"{label} reports per 1,000 residents",
        "median_days_to_close": (f"The median time to close {article(label)} {label.lower()} case"),
        "pct_within_sla": f"The share of {label.lower()} cases closed within target time",
        "repeat_location_share": f"The share of {label.lower()} reports at repeat locations",
    }[outcome]


def per_unit_label(outcome: str, unit_noun: str) -> str:
    """Label for the cost-per-unit metric: "Per report avoided", "Per extra enforcement action",
    "Per day off the median time to close"."""
    out = ev.OUTCOMES.get(outcome)
    if out is not None and out.scale == "ratio":
        return f"Per {unit_noun} avoided" if out.lower_is_better else f"Per extra {unit_noun}"
    return f"Per {unit_noun}"


merge_programmes = appraise.merge_programmes
comparable = appraise.comparable


# --- cards (Streamlit) -------------------------------------------------------------------------


def effect_cards(r: ev.DidResult) -> None:
    """The KPI row under the headline sentence: short values, precise terms in the tooltips."""
    with st.container(horizontal=True):
        st.metric(
            "Estimated effect",
            signed(r.estimate, r.scale, r.unit),
            border=True,
            help=EFFECT_HELP,
        )
        st.metric(
            "95% range",
            ci_text(r.ci_low, r.ci_high, r.scale, r.unit),
            border=True,
            help=RANGE_HELP,
        )
        st.metric(
            "Could it be chance?",
            chance_text(r.p_value),
            border=True,
            help=chance_help(r.p_value, r.inference),
        )
        st.metric(
            "Funded vs comparison wards",
            f"{r.n_treated} vs {r.n_comparison}",
            border=True,
            help=f"{r.n_treated} funded wards compared with {r.n_comparison} wards without the "
            f"money ({r.comparison}).",
        )


def cost_cards(ce: ev.CostEffectiveness, outcome: str) -> None:
    """Programme spend, spend per case closed and (only when the effect is clear) cost per unit."""
    pc = ce.per_case
    with st.container(horizontal=True):
        st.metric(
            "Programme spend in funded wards",
            gbp_or_dash(pc.spend_gbp if pc is not None else ce.spend_gbp),
            border=True,
            help=PROGRAMME_SPEND_HELP,
        )
        st.metric(
            "Per case closed",
            gbp_or_dash(ce.spend_per_case_closed),
            border=True,
            help=PER_CASE_HELP,
        )
        if ce.cost_per_unit is not None:
            label = per_unit_label(outcome, ce.unit_noun)
            st.metric(label, gbp_or_dash(ce.cost_per_unit), border=True)
    if pc is not None and pc.all_spend_gbp > pc.spend_gbp:
        st.caption(all_spend_caption(pc))


# --- the cached evaluation --------------------------------------------------------------------


@dataclass
class SpendView:
    """Everything the Spend vs results page draws for one programme and outcome."""

    programme: ev.Programme
    outcome: str
    label: str
    category: str | None = None
    error: str = ""
    series: pd.DataFrame | None = None
    did: ev.DidResult | None = None
    sentence: str = ""
    caveats: list[str] = field(default_factory=list)
    before_after: ev.BeforeAfterResult | None = None
    before_after_sentence: str = ""
    cost: ev.CostEffectiveness | None = None
    cost_sentence: str = ""
    result: sg.StaggeredResult | None = None
    placebos: list[sg.Placebo] = field(default_factory=list)
    periods_left_out: list[str] = field(default_factory=list)
    ward_names: dict[str, str] = field(default_factory=dict)


def _store() -> Any:
    from ui.data import store

    return store()


@st.cache_data(max_entries=8, show_spinner=False)
def programmes(revision: str) -> list[ev.Programme]:
    """Funding programmes: the config table, plus programmes inferred from the spend table."""
    if not revision:
        return []  # no boundary set in use: no programme's wards can be followed
    try:
        return appraise.programmes(_store(), PROGRAMMES_CSV)
    except ValueError:
        _LOG.exception("data/programmes.csv could not be read")
        return appraise.programmes(_store(), None)


@st.cache_data(max_entries=16, show_spinner="Working out the estimate…")
def evaluate(revision: str, programme_name: str, outcome: str, category: str | None) -> SpendView:
    """Run the evaluation for one programme, outcome and (for case outcomes) type of case."""
    progs = programmes(revision)
    programme = next(p for p in progs if p.name == programme_name)
    category = category if outcome in CATEGORY_OUTCOMES else None
    if category == appraise.ALL_TYPES:
        category = None
    out = ev.OUTCOMES[outcome]
    label = out.label + (f" ({category_label(category)})" if category else "")
    view = SpendView(programme, outcome, label, category)
    subject = subject_for(outcome, category)
    if category and case_counts(revision, programme.treated_wards).get(category, 0) == 0:
        view.error = no_cases_message(category)
        return view
    a = appraise.appraise(
        _store(), programme, outcome, category or appraise.ALL_TYPES, others=progs
    )
    view.ward_names = a.ward_names
    view.periods_left_out = a.periods_left_out
    if a.error:
        view.error = a.error
        return view
    view.result, view.did, view.series = a.result, a.did, a.series
    view.placebos = a.placebos
    view.sentence = ev.describe(a.did, subject=subject)
    view.caveats = ev.caveats(a.did)
    view.before_after = a.before_after
    view.before_after_sentence = ev.describe(a.before_after, subject=subject)
    view.cost = a.cost
    view.cost_sentence = (
        ev.describe(a.cost)
        if a.cost is not None
        else "Value for money cannot be worked out from the spend loaded."
    )
    return view


def category_options(counts: dict[str, int] | None = None) -> list[str]:
    """Types of case for the outcome: "all" first, then fly-tipping and the rest. With
    ``counts`` (cases by category in the funded wards), only the types that have cases there."""
    order = ["fly_tipping", *(c for c in CATEGORIES if c != "fly_tipping")]
    if counts is None:
        return [appraise.ALL_TYPES, *order]
    known = [c for c in order if counts.get(c, 0) > 0]
    extra = sorted(c for c, n in counts.items() if n > 0 and c not in order)
    return [appraise.ALL_TYPES, *known, *extra]


def no_cases_message(category: str) -> str:
    """What to say when a type of case has no cases in the funded wards."""
    return (
        f"There are no '{category_label(category)}' cases in the funded wards, so there is "
        "nothing to compare. Choose another type of case."
    )


@st.cache_data(max_entries=8, show_spinner=False)
def case_counts(revision: str, wards: tuple[str, ...]) -> dict[str, int]:
    """Counted cases (open or closed) by category in the given wards."""
    if not revision or not wards:
        return {}
    marks = ", ".join("?" * len(wards))
    rows = _store().query(
        "SELECT category, count(*) AS n FROM cases "
        f"WHERE ward_code IN ({marks}) AND (status IS NULL OR status IN ('open', 'closed')) "
        "GROUP BY category",
        list(wards),
    )
    return {str(c): int(n) for c, n in zip(rows["category"], rows["n"], strict=True) if c}


# --- tables -----------------------------------------------------------------------------------

WARD_TABLE_CAPTION: Final[str] = (
    "Before: the ward's average before its own start. After: its average since. Expected: what "
    "the comparison wards' change over the same months suggests it would have had without the "
    "money. Effect: after against expected. One ward's figures are noisy: read the pattern, "
    "not a single row."
)


def cohort_table(r: sg.StaggeredResult, names: dict[str, str]) -> pd.DataFrame:
    """One row per start date: wards (by name), effect and 95% range, as text for the page."""
    rows = []
    for c in r.cohorts.itertuples():
        rows.append(
            {
                "Start": f"{c.start:%d %b %Y}",
                "Effect": signed(c.estimate, r.scale, r.unit),
                "95% range": ci_text(c.ci_low, c.ci_high, r.scale, r.unit),
                "Wards": ", ".join(sorted(names.get(w) or w for w in c.wards)),
            }
        )
    return pd.DataFrame(rows, columns=["Start", "Effect", "95% range", "Wards"])


def ward_table(
    r: sg.StaggeredResult, names: dict[str, str], outcome: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each funded ward before/after against its expected path and the comparison wards."""
    w = r.wards
    pct = r.scale == "ratio"
    table = pd.DataFrame(
        {
            "Ward": [names.get(c) or c for c in w["ward_code"]],
            "Start": w["start"],
            "Before": w["before"],
            "After": w["after"],
            "Expected without the money": w["expected"],
            "Effect": w["effect"] * (100 if pct else 1),
            "Comparison wards' change": w["comparison_change"] * (100 if pct else 1),
        }
    )
    unit = ev.OUTCOMES[outcome].unit
    level = "%.1f%%" if unit == "percentage points" else "%.1f" if unit == "days" else "%.2f"
    change = "%+.0f%%" if pct else "%+.1f"
    config = {
        "Start": st.column_config.DateColumn(format="DD MMM YYYY"),
        "Before": st.column_config.NumberColumn(format=level),
        "After": st.column_config.NumberColumn(format=level),
        "Expected without the money": st.column_config.NumberColumn(format=level),
        "Effect": st.column_config.NumberColumn(format=change),
        "Comparison wards' change": st.column_config.NumberColumn(format=change),
    }
    return table.sort_values("Ward", ignore_index=True), config
