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

from neighbourhood import evaluation as ev
from neighbourhood.schemas import CATEGORIES, CITYWIDE
from ui.format import category_label

_LOG = logging.getLogger(__name__)

PROGRAMMES_CSV: Final[Path] = Path(__file__).resolve().parents[1] / "data" / "programmes.csv"
#: Outcomes that are counted from cleansing cases, so a type of case can be chosen.
CATEGORY_OUTCOMES: Final[frozenset[str]] = frozenset(
    {"cases_per_1k", "median_days_to_close", "pct_within_sla", "repeat_location_share"}
)
DEFAULT_CATEGORY: Final[str] = "fly_tipping"


# --- pure wording -----------------------------------------------------------------------------


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
        "median_days_to_close": f"The median time to close a {label.lower()} case",
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


def merge_programmes(
    configured: list[ev.Programme], from_spend: list[ev.Programme]
) -> list[ev.Programme]:
    """Programmes from ``data/programmes.csv`` first, then any others found in the spend table."""
    names = {p.name for p in configured}
    return [*configured, *(p for p in from_spend if p.name not in names)]


def comparable(progs: list[ev.Programme], wards: set[str]) -> list[ev.Programme]:
    """Programmes that leave some wards unfunded (so there is something to compare with),
    newest first. Core budgets that reach every ward are left out."""
    keep = [p for p in progs if wards - set(p.treated_wards)] if wards else list(progs)
    return sorted(keep, key=lambda p: p.start, reverse=True)


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


def _store() -> Any:
    from neighbourhood.store import Store

    return Store()


@st.cache_data(max_entries=8, show_spinner=False)
def programmes(revision: str) -> list[ev.Programme]:
    """Funding programmes: the config table, plus programmes inferred from the spend table."""
    try:
        configured = ev.programmes_from_config(PROGRAMMES_CSV)
    except ValueError:
        _LOG.exception("data/programmes.csv could not be read")
        configured = []
    if not revision:
        return configured
    store = _store()
    found = merge_programmes(configured, ev.programmes_from_spend(store.table("spend")))
    wards = set(store.wards()["ward_code"].astype(str))
    return comparable(found, wards)


def _panel(revision: str, outcome: str, category: str | None) -> pd.DataFrame:
    """The ward × month table for the evaluation (all dates: the before period must be whole)."""
    from neighbourhood import metrics

    cats = [category] if category and outcome in CATEGORY_OUTCOMES else None
    table = metrics.ward_period_table(_store(), period="month", categories=cats)
    return table[table["ward_code"].astype(str) != CITYWIDE].reset_index(drop=True)


@st.cache_data(max_entries=16, show_spinner="Working out the estimate…")
def evaluate(revision: str, programme_name: str, outcome: str, category: str | None) -> SpendView:
    """Run the evaluation for one programme, outcome and (for case outcomes) type of case."""
    progs = {p.name: p for p in programmes(revision)}
    programme = progs[programme_name]
    # Wards funded by another programme are no fair comparison.
    others = {w for p in progs.values() if p.name != programme_name for w in p.treated_wards}
    exclude = sorted(others - set(programme.treated_wards))
    out = ev.OUTCOMES[outcome]
    category = category if outcome in CATEGORY_OUTCOMES else None
    label = out.label + (f" ({category_label(category)})" if category else "")
    view = SpendView(programme, outcome, label, category)
    subject = subject_for(outcome, category)
    try:
        panel = _panel(revision, outcome, category)
        view.series = ev.treated_vs_comparison_series(panel, programme, outcome, exclude=exclude)
        view.did = ev.did(panel, programme, outcome, exclude=exclude, subject=subject)
        view.sentence = ev.describe(view.did, subject=subject)
        view.caveats = ev.caveats(view.did)
        view.before_after = ev.before_after(panel, programme, outcome, subject=subject)
        view.before_after_sentence = ev.describe(view.before_after, subject=subject)
    except ValueError as exc:  # e.g. no comparison wards, no periods before the start
        view.error = f"This comparison cannot be made with the data loaded: {exc}"
        return view
    try:
        view.cost = ev.cost_effectiveness(view.did, _store().table("spend"), programme)
        view.cost_sentence = ev.describe(view.cost)
    except ValueError as exc:
        view.cost_sentence = f"Value for money cannot be worked out from the spend loaded: {exc}"
    return view


def category_options() -> list[str]:
    """Types of case for the outcome, fly-tipping first."""
    return [DEFAULT_CATEGORY, *(c for c in CATEGORIES if c != DEFAULT_CATEGORY)]
