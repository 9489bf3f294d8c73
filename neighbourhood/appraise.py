"""Spend vs results from a store: the one analysis behind the page and ``python -m neighbourhood
evaluate``.

:func:`programmes` lists the programmes a store can evaluate (``data/programmes.csv`` first, then
programmes found in the spend table). :func:`appraise` builds the ward × month panel (complete
months only), runs the staggered-start estimator (:mod:`neighbourhood.staggered`) with its event
study, pre-trend evidence and placebos, and the funded-wards-only before/after and value for money
from :mod:`neighbourhood.evaluation`. :func:`to_json` gives the command line's summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neighbourhood import evaluation as ev
from neighbourhood import staggered as sg
from neighbourhood.schemas import CITYWIDE

__all__ = [
    "ALL_TYPES",
    "CATEGORY_OUTCOMES",
    "PROGRAMMES_CSV",
    "Appraisal",
    "appraise",
    "complete_periods",
    "programmes",
    "to_json",
]

PROGRAMMES_CSV = Path(__file__).resolve().parents[1] / "data" / "programmes.csv"
#: Outcomes counted from cleansing cases, so a type of case can be chosen.
CATEGORY_OUTCOMES = frozenset(
    {"cases_per_1k", "median_days_to_close", "pct_within_sla", "repeat_location_share"}
)
#: The default "type of case": every type together.
ALL_TYPES = "all"


@dataclass
class Appraisal:
    """Everything the Spend vs results page and the command line report for one choice."""

    programme: ev.Programme
    outcome: str
    category: str | None
    label: str
    error: str = ""
    result: sg.StaggeredResult | None = None
    did: ev.DidResult | None = None
    series: pd.DataFrame | None = None
    before_after: ev.BeforeAfterResult | None = None
    cost: ev.CostEffectiveness | None = None
    placebos: list[sg.Placebo] = field(default_factory=list)
    periods_left_out: list[str] = field(default_factory=list)
    ward_names: dict[str, str] = field(default_factory=dict)


def programmes(store: Any, config: Path | None = PROGRAMMES_CSV) -> list[ev.Programme]:
    """Programmes to offer: the config table, then others found in the spend table, keeping only
    those that leave some wards unfunded (something to compare with), newest first.

    Parameters
    ----------
    store
        A :class:`neighbourhood.store.Store` (or None for the config table only).
    config
        ``data/programmes.csv`` (None: spend table only).

    Returns
    -------
    list[Programme]

    Examples
    --------
    >>> [p.name for p in programmes(None)][:1]
    ['Neighbourhood Pride Fund']
    """
    configured = ev.programmes_from_config(config) if config is not None else []
    if store is None or not store.exists():
        return configured
    found = merge_programmes(configured, ev.programmes_from_spend(store.table("spend")))
    return comparable(found, set(store.wards()["ward_code"].astype(str)))


def merge_programmes(
    configured: list[ev.Programme], from_spend: list[ev.Programme]
) -> list[ev.Programme]:
    """Programmes from ``data/programmes.csv`` first, then any others found in the spend table.

    Examples
    --------
    >>> merge_programmes([], [])
    []
    """
    names = {p.name for p in configured}
    return [*configured, *(p for p in from_spend if p.name not in names)]


def comparable(progs: list[ev.Programme], wards: set[str]) -> list[ev.Programme]:
    """Programmes whose funded wards are all in the boundary set in use (``wards``) and that
    leave some of its wards unfunded (so there is something to compare with), newest first.

    Core budgets that reach every ward are left out, and so is a programme with a ward outside
    the set (the demo's programme on a council's store, or one set up under old boundaries):
    its funded wards could not be followed. No wards in use, no programme.

    Examples
    --------
    >>> p = ev.Programme("Fund", pd.Timestamp("2025-04-01"), ("E1",))
    >>> [x.name for x in comparable([p], {"E1", "E2"})], comparable([p], {"E2", "E3"})
    (['Fund'], [])
    """
    keep = [
        p
        for p in progs
        if p.treated_wards and set(p.treated_wards) <= wards and wards - set(p.treated_wards)
    ]
    return sorted(keep, key=lambda p: p.start, reverse=True)


def complete_periods(
    panel: pd.DataFrame, first: pd.Timestamp | None, last: pd.Timestamp | None
) -> tuple[pd.DataFrame, list[str]]:
    """Leave out periods the data do not cover in full (a part-month at either end).

    A period is complete when the data start on or before its first day and reach its last day
    (``first``/``last``: the earliest and latest report dates in the store, London time).

    Parameters
    ----------
    panel
        Ward × period table with ``period_start``.
    first, last
        Earliest and latest report timestamps (None: nothing is left out).

    Returns
    -------
    (panel, labels)
        The complete periods, and the ``"Mar 2026"``-style labels of those left out.

    Examples
    --------
    >>> p = pd.DataFrame({"ward_code": ["E1"] * 3,
    ...     "period_start": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])})
    >>> complete_periods(p, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-03-15"))[1]
    ['Mar 2024']
    """
    if panel.empty or first is None or last is None or pd.isna(first) or pd.isna(last):
        return panel, []
    starts = ev._naive_series(panel["period_start"])
    table = ev._period_table(panel.assign(period_start=starts))
    first_day = ev._naive(pd.Timestamp(first)).normalize()
    last_day = ev._naive(pd.Timestamp(last)).normalize()
    last_of = table["period_end"] - pd.Timedelta(days=1)
    bad = (table["period_start"] < first_day) | (last_of > last_day)
    dropped = table.loc[bad, "period_start"]
    labels = [f"{d:%b %Y}" for d in dropped]
    return panel[~starts.isin(set(dropped))].reset_index(drop=True), labels


def _category_label(category: str | None) -> str:
    if not category or category == ALL_TYPES:
        return "All types of case"
    return category.replace("_", " ").capitalize()


def _panel(store: Any, outcome: str, category: str | None) -> pd.DataFrame:
    from neighbourhood import metrics

    cats = (
        [category] if category and category != ALL_TYPES and outcome in CATEGORY_OUTCOMES else None
    )
    table = metrics.ward_period_table(store, period="month", categories=cats)
    return table[table["ward_code"].astype(str) != CITYWIDE].reset_index(drop=True)


def _data_span(store: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    try:
        row = store.query(
            "SELECT min(timezone('Europe/London', reported_at)) AS a, "
            "max(timezone('Europe/London', reported_at)) AS b FROM cases"
        )
    except Exception:  # noqa: BLE001 - an empty store has no cases table yet
        return None, None
    if row.empty:
        return None, None
    return row["a"].iloc[0], row["b"].iloc[0]


def parse_placebo(text: str) -> tuple[str, str | None] | None:
    """``"cases_per_1k:abandoned_vehicle"`` → ``("cases_per_1k", "abandoned_vehicle")``.

    Examples
    --------
    >>> parse_placebo("cases_per_1k:weeds")
    ('cases_per_1k', 'weeds')
    >>> parse_placebo("") is None
    True
    """
    text = (text or "").strip()
    if not text:
        return None
    key, _, cat = text.partition(":")
    key = key.strip()
    if key not in ev.OUTCOMES:
        raise ValueError(f"placebo outcome {key!r} is not one of {', '.join(ev.OUTCOMES)}")
    return key, (cat.strip() or None)


def appraise(
    store: Any,
    programme: ev.Programme,
    outcome: str,
    category: str | None = ALL_TYPES,
    *,
    others: list[ev.Programme] | None = None,
    seed: int = 12345,
) -> Appraisal:
    """Run the Spend vs results analysis for one programme, outcome and type of case.

    Parameters
    ----------
    store
        The store to read.
    programme
        The programme (a start per ward when wards joined at different dates).
    outcome
        A key of :data:`neighbourhood.evaluation.OUTCOMES`.
    category
        A type of case for case outcomes, or ``"all"`` (default) / None for every type.
    others
        Other programmes: their funded wards are left out of the comparison.
    seed
        Seed of the bootstrap weights.

    Returns
    -------
    Appraisal
        ``error`` says why nothing could be estimated (the other fields are then empty).

    Examples
    --------
    >>> a = appraise(store, programme, "cases_per_1k")  # doctest: +SKIP
    >>> to_json(a)["estimate"]  # doctest: +SKIP
    """
    if outcome not in ev.OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose one of {', '.join(ev.OUTCOMES)}")
    out = ev.OUTCOMES[outcome]
    cat = (
        category if (category and category != ALL_TYPES and outcome in CATEGORY_OUTCOMES) else None
    )
    label = out.label + (f" ({_category_label(cat)})" if cat else "")
    view = Appraisal(programme, outcome, cat, label)
    others_w = {w for p in others or [] if p.name != programme.name for w in p.treated_wards}
    exclude = sorted(others_w - set(programme.treated_wards))
    first, last = _data_span(store)
    try:
        panel = _panel(store, outcome, cat)
        if "ward_name" in panel.columns:
            names = panel.dropna(subset=["ward_name"]).drop_duplicates("ward_code")
            view.ward_names = dict(
                zip(names["ward_code"].astype(str), names["ward_name"].astype(str), strict=True)
            )
        panel, view.periods_left_out = complete_periods(panel, first, last)
        view.result = sg.estimate(panel, programme, outcome, exclude=exclude, seed=seed)
        view.series = ev.treated_vs_comparison_series(panel, programme, outcome, exclude=exclude)
        view.before_after = ev.before_after(panel, programme, outcome)
    except (ValueError, np.linalg.LinAlgError) as exc:
        view.error = f"This comparison cannot be made with the data loaded: {exc}"
        return view
    view.did = as_did(view.result, panel, programme)
    view.placebos.append(sg.placebo_start(panel, programme, outcome, exclude=exclude))
    try:
        spec = parse_placebo(programme.placebo_outcome)
    except ValueError as exc:
        view.placebos.append(
            sg.Placebo("outcome", "Placebo outcome", None, None, None, None, str(exc))
        )
        spec = None
    if spec is not None:
        p_key, p_cat = spec
        p_panel, _ = complete_periods(_panel(store, p_key, p_cat), first, last)
        p_label = ev.OUTCOMES[p_key].label + (f" ({_category_label(p_cat)})" if p_cat else "")
        view.placebos.append(
            sg.placebo_outcome(p_panel, programme, p_key, label=p_label, exclude=exclude)
        )
    try:
        all_types = _panel(store, "cases_per_1k", None)
        view.cost = ev.cost_effectiveness(
            view.did,
            store.table("spend"),
            programme,
            cases=all_types,
            category=_category_label(cat).lower() if cat else None,
        )
    except ValueError:
        view.cost = None
    return view


def as_did(r: sg.StaggeredResult, panel: pd.DataFrame, programme: ev.Programme) -> ev.DidResult:
    """The staggered result in the shape the wording and value-for-money code reads.

    Group means: funded wards before / after their own start; comparison wards over the same
    periods (averaged over funded wards).
    """
    out = ev.OUTCOMES[r.outcome]
    w = r.wards
    df = panel.copy()
    df["ward_code"] = df["ward_code"].astype(str)
    df["period_start"] = ev._naive_series(df["period_start"])
    starts = programme.starts()
    funded = df[df["ward_code"].isin(set(r.treated_wards))]
    after = funded["period_start"] >= funded["ward_code"].map(starts)
    totals = {}
    for col in {"cases", "closed", "enforcement_actions", out.count_column} - {None}:
        if col in funded.columns:
            totals[col] = float(pd.to_numeric(funded.loc[after, col], errors="coerce").sum())
    first_post = funded.loc[after, "period_start"].min()
    last = ev._period_table(df)["period_end"].max() - pd.Timedelta(days=1)
    if programme.end is not None:
        last = min(last, programme.end)
    return ev.DidResult(
        programme=r.programme,
        outcome=r.outcome,
        estimate=r.estimate,
        ci_low=r.ci_low,
        ci_high=r.ci_high,
        p_value=r.p_value,
        label=r.label,
        scale=r.scale,
        unit=r.unit,
        lower_is_better=r.lower_is_better,
        coef=r.coef,
        se=r.se,
        method=r.method,
        inference=r.inference,
        n_treated=len(r.treated_wards),
        n_comparison=len(r.comparison_wards),
        n_obs=r.n_obs,
        treated_wards=r.treated_wards,
        comparison_wards=r.comparison_wards,
        start=programme.start,
        post_start=first_post,
        post_end=last,
        treated_pre_mean=float(w["before"].mean()),
        treated_post_mean=float(w["after"].mean()),
        comparison_pre_mean=float(w["comparison_before"].mean()),
        comparison_post_mean=float(w["comparison_after"].mean()),
        treated_post_totals=totals,
        pct_scale=r.pct_scale,
        few_clusters=min(len(r.treated_wards), len(r.comparison_wards)) < ev.FEW_TREATED,
        notes=list(r.notes),
    )


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def to_json(a: Appraisal) -> dict[str, Any]:
    """The command line's one-line summary (numbers in reporting units; rates as proportions:
    −0.15 is 15% fewer).

    Examples
    --------
    >>> sorted(to_json(a))[:3]  # doctest: +SKIP
    ['category', 'ci_high', 'ci_low']
    """
    base: dict[str, Any] = {
        "programme": a.programme.name,
        "outcome": a.outcome,
        "category": a.category or ALL_TYPES,
        "label": a.label,
    }
    if a.error or a.result is None:
        return {"status": "error", **base, "message": a.error}
    r = a.result
    pre = r.pretrend
    cohorts = [
        {
            "start": f"{row.start:%Y-%m-%d}",
            "wards": list(row.wards),
            "estimate": _num(row.estimate),
            "ci_low": _num(row.ci_low),
            "ci_high": _num(row.ci_high),
        }
        for row in r.cohorts.itertuples()
    ]
    events = [
        {
            "relative_period": int(row.relative_period),
            "estimate": _num(row.estimate),
            "ci_low": _num(row.ci_low),
            "ci_high": _num(row.ci_high),
            "n_wards": int(row.n_wards),
        }
        for row in r.event_study.itertuples()
    ]
    wards = [
        {
            "ward_code": row.ward_code,
            "ward_name": a.ward_names.get(row.ward_code, ""),
            "start": f"{row.start:%Y-%m-%d}",
            "before": _num(row.before),
            "after": _num(row.after),
            "expected": _num(row.expected),
            "effect": _num(row.effect),
        }
        for row in r.wards.itertuples()
    ]
    return {
        "status": "ok",
        **base,
        "estimate": _num(r.estimate),
        "ci_low": _num(r.ci_low),
        "ci_high": _num(r.ci_high),
        "p_value": _num(r.p_value),
        "scale": r.scale,
        "unit": "proportion" if r.scale == "ratio" else r.unit,
        "method": r.method,
        "inference": r.inference,
        "relative_period_unit": r.period,
        "funded_wards": list(r.treated_wards),
        "comparison_wards": len(r.comparison_wards),
        "cohorts": cohorts,
        "event_study": events,
        "wards": wards,
        "pretrend": None
        if pre is None
        else {
            "p_value": _num(pre.p_value),
            "p_value_analytic": _num(pre.p_value_analytic),
            "method": pre.method,
            "slope_per_period": _num(pre.slope),
            "slope_ci": [_num(pre.slope_ci[0]), _num(pre.slope_ci[1])],
            "drift_to_erase_estimate": _num(pre.breakdown),
            "drift_to_reach_no_change": _num(pre.breakdown_ci),
            "statement": pre.sentence,
        },
        "placebo": [p.as_dict() for p in a.placebos],
        "periods_left_out": a.periods_left_out,
        "notes": list(r.notes),
    }
