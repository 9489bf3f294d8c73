"""Spend vs results: did the funded wards get cleaner streets, faster service and more enforcement?

Pure functions on DataFrames (no Streamlit). The input is the ward × period table from
``neighbourhood.metrics`` (one row per ward and period, with ``ward_code``, ``period_start`` and the
outcome columns listed in :data:`OUTCOMES`). The method is written up in ``docs/evaluation.md``.

The main entry points:

- :func:`did`: difference-in-differences of funded wards against comparison wards, as a panel
  regression with ward and period fixed effects and ward-clustered standard errors (statsmodels).
  Counts and rates use Poisson pseudo-maximum likelihood (PPML) and report a % change; levels
  (days, percentages) use OLS and report an absolute change.
- :func:`pretrend_check`: event-study leads before the money started, with a joint Wald test and a
  plain-English warning when funded and comparison wards were already moving apart.
- :func:`before_after`: funded wards only, before vs after (no counterfactual).
- :func:`spend_per_case_closed`: programme spend per case closed (every type of case) in the
  funded wards after the start; the same whatever outcome is shown.
- :func:`cost_effectiveness`: spend per unit of change, with the confidence interval carried
  through, only when the effect is an improvement distinguishable from no change.
- :func:`describe` / :func:`caveats`: council-English sentences for the page.
- :func:`treated_vs_comparison_series`: the tidy frame behind the "funded vs comparison" chart.
"""

from __future__ import annotations

import ctypes
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from neighbourhood.schemas import CITYWIDE

__all__ = [
    "OUTCOMES",
    "BeforeAfterResult",
    "CostEffectiveness",
    "DidResult",
    "Outcome",
    "PretrendResult",
    "Programme",
    "SpendPerCase",
    "before_after",
    "caveats",
    "cost_effectiveness",
    "describe",
    "did",
    "pretrend_check",
    "programmes_from_config",
    "programmes_from_spend",
    "spend_per_case_closed",
    "treated_vs_comparison_series",
]

FUNDED = "Funded wards"
COMPARISON = "Comparison wards"

#: Below these numbers of wards the usual cluster-robust formula is known to be too optimistic
#: (MacKinnon & Webb 2017), so ``inference="auto"`` switches to the wild cluster bootstrap.
FEW_TREATED = 10
FEW_CLUSTERS = 30
BOOTSTRAP_DRAWS = 999
PRETREND_ALPHA = 0.10


# --------------------------------------------------------------------------------------------
# Programmes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Programme:
    """A funding programme: extra money in some wards from a given date.

    Parameters
    ----------
    name
        Programme name as it appears in the spend table (e.g. ``"Neighbourhood Pride Fund"``).
    start
        First day of the extra money. Periods that begin on or after this date are "after"; the
        period that contains the start date (if it does not begin on it) is left out as a
        transition period.
    treated_wards
        ONS ward codes of the funded wards.
    end
        Optional last day of the extra money; periods beginning after it are left out.
    description
        Free text for the page.
    ward_starts
        Optional ``(ward_code, first day of the money)`` pairs when wards joined at different
        dates (a staggered roll-out). Wards not listed start on ``start``; ``start`` is moved to
        the earliest of them. See :meth:`starts`.
    placebo_outcome
        Optional outcome the money should not move, ``"key"`` or ``"key:category"`` (e.g.
        ``"cases_per_1k:abandoned_vehicle"``), run as a placebo beside the result.

    Examples
    --------
    >>> p = Programme("Pride", pd.Timestamp("2024-04-01"), ("E05000001", "E05000002"))
    >>> p.treated_wards
    ('E05000001', 'E05000002')
    """

    name: str
    start: pd.Timestamp
    treated_wards: tuple[str, ...]
    end: pd.Timestamp | None = None
    description: str = ""
    ward_starts: tuple[tuple[str, pd.Timestamp], ...] = ()
    placebo_outcome: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _naive(pd.Timestamp(self.start)))
        if self.ward_starts:
            given = {str(w): _naive(pd.Timestamp(d)) for w, d in dict(self.ward_starts).items()}
            object.__setattr__(self, "ward_starts", tuple(sorted(given.items())))
            wards = set(self.treated_wards) | set(given)
            object.__setattr__(self, "treated_wards", tuple(wards))
            object.__setattr__(self, "start", min([*given.values(), self.start]))
        if self.end is not None and not pd.isna(self.end):
            object.__setattr__(self, "end", _naive(pd.Timestamp(self.end)))
        else:
            object.__setattr__(self, "end", None)
        object.__setattr__(
            self, "treated_wards", tuple(sorted({str(w) for w in self.treated_wards}))
        )

    def starts(self) -> dict[str, pd.Timestamp]:
        """Each funded ward's first day of the money (``start`` unless given per ward).

        Returns
        -------
        dict[str, pandas.Timestamp]

        Examples
        --------
        >>> p = Programme("Pride", pd.Timestamp("2024-04-01"), ("E1", "E2"),
        ...               ward_starts=(("E2", pd.Timestamp("2024-10-01")),))
        >>> {w: f"{d:%Y-%m-%d}" for w, d in p.starts().items()}
        {'E1': '2024-04-01', 'E2': '2024-10-01'}
        """
        given = dict(self.ward_starts)
        return {w: given.get(w, self.start) for w in self.treated_wards}

    @property
    def staggered(self) -> bool:
        """True when the funded wards did not all start on the same day."""
        return len(set(self.starts().values())) > 1


def programmes_from_config(path: str | Path, *, missing_ok: bool = True) -> list[Programme]:
    """Read programmes from a config CSV (``data/programmes.csv``).

    Parameters
    ----------
    path
        CSV with columns ``programme``, ``start_date`` (ISO ``yyyy-mm-dd`` or day-first),
        ``treated_wards`` (ward codes separated by ``;``) and optionally ``end_date``,
        ``description`` and ``placebo_outcome`` (``key`` or ``key:category``). A programme whose
        wards joined at different dates takes one row per start date (a group of wards, or a
        single ward), all with the same ``programme`` name; the rows are merged into one
        programme with a start per ward. A ward listed on two rows keeps its earliest start.
    missing_ok
        When the file does not exist, return an empty list (``True``) or raise
        ``FileNotFoundError`` (``False``).

    Returns
    -------
    list[Programme]
        One programme per name, in the order each name first appears.

    Examples
    --------
    >>> programmes_from_config("no/such/file.csv")
    []
    """
    path = Path(path)
    if not path.exists():
        if missing_ok:
            return []
        raise FileNotFoundError(path)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.columns = [c.strip().lower() for c in table.columns]
    missing = {"programme", "start_date", "treated_wards"} - set(table.columns)
    if missing:
        raise ValueError(f"{path.name}: missing column(s) {', '.join(sorted(missing))}")
    groups: dict[str, list[object]] = {}
    for row in table.itertuples(index=False):
        name = str(row.programme).strip()
        if name:
            groups.setdefault(name, []).append(row)
    out: list[Programme] = []
    for name, rows in groups.items():
        starts: dict[str, pd.Timestamp] = {}
        ends: list[pd.Timestamp] = []
        text = placebo = ""
        for row in rows:
            start = _parse_date(row.start_date)
            for w in (w.strip() for w in str(row.treated_wards).split(";")):
                if w and (w not in starts or start < starts[w]):
                    starts[w] = start
            end = getattr(row, "end_date", "") or None
            if end:
                ends.append(_parse_date(end))
            text = text or str(getattr(row, "description", "") or "")
            placebo = placebo or str(getattr(row, "placebo_outcome", "") or "").strip()
        if not starts:
            raise ValueError(f"{path.name}: programme {name!r} names no funded ward")
        first = min(starts.values())
        out.append(
            Programme(
                name=name,
                start=first,
                treated_wards=tuple(starts),
                end=max(ends) if ends else None,
                description=text,
                ward_starts=tuple(starts.items()) if len(set(starts.values())) > 1 else (),
                placebo_outcome=placebo,
            )
        )
    return out


def programmes_from_spend(spend: pd.DataFrame) -> list[Programme]:
    """Infer programmes from the spend table.

    A programme is a ``programme`` name with ward-level lines (``ward_code`` not ``"citywide"``,
    positive ``amount_gbp``). Its start is the earliest ``period_start`` of those lines, its end
    the latest ``period_end``, and its funded wards the wards named on them. City-wide lines never
    define treatment (they reach every ward, so there is nothing to compare against). Each ward's
    own start is its first funded period (``ward_starts`` when the wards did not all start
    together: a staggered roll-out).

    Parameters
    ----------
    spend
        Spend table with ``ward_code``, ``period_start``, ``period_end``, ``programme``,
        ``amount_gbp``.

    Returns
    -------
    list[Programme]
        Sorted by start date, then name. Programmes with only city-wide lines are left out.

    Examples
    --------
    >>> spend = pd.DataFrame({"ward_code": ["E1", "E2", "citywide"],
    ...     "period_start": pd.to_datetime(["2024-04-01"] * 3),
    ...     "period_end": pd.to_datetime(["2025-03-31"] * 3),
    ...     "programme": ["Pride"] * 3, "service": ["cleansing"] * 3,
    ...     "amount_gbp": [1000.0, 2000.0, 5000.0]})
    >>> [(p.name, p.treated_wards) for p in programmes_from_spend(spend)]
    [('Pride', ('E1', 'E2'))]
    """
    if spend is None or spend.empty or "programme" not in spend.columns:
        return []
    s = spend.copy()
    s = s[s["programme"].notna() & (s["programme"].astype(str).str.strip() != "")]
    s = s[s["ward_code"].astype(str).str.lower() != CITYWIDE]
    s = s[pd.to_numeric(s["amount_gbp"], errors="coerce").fillna(0) > 0]
    out = []
    for name, g in s.groupby("programme", sort=True):
        starts = _naive_series(g["period_start"])
        ends = _naive_series(g["period_end"]) if "period_end" in g else pd.Series(dtype="object")
        first = starts.groupby(g["ward_code"].astype(str)).min()
        out.append(
            Programme(
                name=str(name),
                start=starts.min(),
                treated_wards=tuple(g["ward_code"].astype(str)),
                end=ends.max() if len(ends.dropna()) else None,
                ward_starts=tuple(first.items()) if first.nunique() > 1 else (),
            )
        )
    return sorted(out, key=lambda p: (p.start, p.name))


# --------------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How one outcome is modelled and worded.

    ``scale="ratio"``: a count or rate, modelled by PPML (multiplicative), reported as % change.
    ``scale="level"``: days or a percentage, modelled by OLS, reported as an absolute change in
    ``unit`` (``"days"`` or ``"percentage points"``).
    """

    key: str
    label: str
    column: str
    scale: Literal["ratio", "level"]
    lower_is_better: bool
    subject: str
    unit: str = "%"
    count_column: str | None = None
    unit_noun: str = ""


OUTCOMES: dict[str, Outcome] = {
    o.key: o
    for o in (
        Outcome(
            "cases_per_1k",
            "Cases per 1,000 residents",
            "cases_per_1k",
            "ratio",
            True,
            "Reports per 1,000 residents",
            count_column="cases",
            unit_noun="report",
        ),
        Outcome(
            "median_days_to_close",
            "Median days to close",
            "median_days_to_close",
            "level",
            True,
            "The median time to close a case",
            unit="days",
            unit_noun="day off the median time to close",
        ),
        Outcome(
            "pct_within_sla",
            "% closed within target time",
            "pct_within_sla",
            "level",
            False,
            "The share of cases closed within target time",
            unit="percentage points",
            unit_noun="percentage point more closed within target",
        ),
        Outcome(
            "repeat_location_share",
            "Share of reports at repeat locations",
            "repeat_location_share",
            "level",
            True,
            "The share of reports at repeat locations",
            unit="percentage points",
            unit_noun="percentage point off the repeat-location share",
        ),
        Outcome(
            "actions_per_100_fly_tips",
            "Enforcement actions per 100 fly-tips",
            "actions_per_100_fly_tips",
            "ratio",
            False,
            "Enforcement actions per 100 fly-tips",
            count_column="enforcement_actions",
            unit_noun="enforcement action",
        ),
    )
}


def _outcome(outcome: str | Outcome) -> Outcome:
    if isinstance(outcome, Outcome):
        return outcome
    try:
        return OUTCOMES[outcome]
    except KeyError:
        raise ValueError(
            f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}"
        ) from None


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class PretrendResult:
    """Event-study check of parallel trends before the money started.

    ``leads`` has one row per pre-period bin (``first_period``, ``last_period``, ``estimate``,
    ``ci_low``, ``ci_high``, in the outcome's reporting units, relative to the ``reference`` bin
    just before the start). ``p_value`` is the joint test that all leads are zero; ``warning`` is a
    plain-English sentence when ``p_value < alpha`` (or when the check cannot be run), else None.
    """

    programme: str
    outcome: str
    p_value: float | None
    warning: str | None
    leads: pd.DataFrame
    reference: tuple[pd.Timestamp, pd.Timestamp] | None = None
    n_leads: int = 0
    alpha: float = PRETREND_ALPHA


@dataclass
class DidResult:
    """Difference-in-differences estimate for one programme and outcome.

    ``estimate``/``ci_low``/``ci_high`` are in reporting units: a proportional change for
    ``scale="ratio"`` outcomes (``-0.12`` = 12% lower than the comparison trend predicts), an
    absolute change in ``unit`` for ``scale="level"`` outcomes. ``coef``/``se`` are on the model
    scale (log for ratio outcomes).
    """

    programme: str
    outcome: str
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    label: str = ""
    scale: str = "ratio"
    unit: str = "%"
    lower_is_better: bool = True
    subject: str = ""
    coef: float = math.nan
    se: float = math.nan
    method: str = ""
    inference: str = ""
    ci_low_analytic: float = math.nan
    ci_high_analytic: float = math.nan
    p_value_analytic: float = math.nan
    n_treated: int = 0
    n_comparison: int = 0
    n_periods: int = 0
    n_pre_periods: int = 0
    n_post_periods: int = 0
    n_obs: int = 0
    treated_wards: tuple[str, ...] = ()
    comparison_wards: tuple[str, ...] = ()
    comparison: str = "all untreated wards"
    matched_on: tuple[str, ...] = ()
    start: pd.Timestamp | None = None
    post_start: pd.Timestamp | None = None
    post_end: pd.Timestamp | None = None
    treated_pre_mean: float = math.nan
    comparison_pre_mean: float = math.nan
    treated_post_mean: float = math.nan
    comparison_post_mean: float = math.nan
    treated_post_totals: dict[str, float] = field(default_factory=dict)
    pct_scale: float = 1.0
    pretrend: PretrendResult | None = None
    few_clusters: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class BeforeAfterResult:
    """Funded wards only: the mean after vs before the money started (no comparison wards)."""

    programme: str
    outcome: str
    pre_mean: float
    post_mean: float
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    label: str = ""
    scale: str = "ratio"
    unit: str = "%"
    lower_is_better: bool = True
    subject: str = ""
    method: str = ""
    inference: str = ""
    n_wards: int = 0
    n_pre_periods: int = 0
    n_post_periods: int = 0
    pct_scale: float = 1.0
    notes: list[str] = field(default_factory=list)


@dataclass
class SpendPerCase:
    """Programme spend per case closed in the funded wards after the start (every type of case).

    It is an accounting ratio, not an effect, and it does not depend on the outcome or the type of
    case shown: the numerator is all of the programme's ward-level spend in its funded wards, so
    the denominator is every case closed there, not one category's.

    ``spend_gbp`` is the programme's ward-level lines in ``wards``, pro-rated by days to the window
    ``window_start`` .. ``window_end`` (inclusive); ``all_spend_gbp`` is every ward-level line in
    those wards (core budgets included) over the same window, for context; ``cases_closed`` the
    ``closed`` column of the ward × period table summed over those wards and the window's periods.
    """

    programme: str
    wards: tuple[str, ...]
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    spend_gbp: float
    all_spend_gbp: float
    cases_closed: float
    per_case: float | None


@dataclass
class CostEffectiveness:
    """Programme spend in the funded wards over the "after" window, and what it bought.

    ``units_changed`` (with ``units_ci``) is the change in the outcome's natural unit attributable
    to the programme (e.g. fly-tip reports: negative = avoided) over the whole after window, from
    the difference-in-differences estimate and its CI. ``cost_per_unit`` (with
    ``cost_per_unit_ci``) is spend divided by the size of the *improvement*. It is None, with the
    reason in ``no_cost_reason``, when the estimate is not an improvement or when its 95% CI
    includes no change (a cost per unit of an effect that may be zero is not a number to quote).
    ``per_case`` is :func:`spend_per_case_closed` when the all-types table was given.
    """

    programme: str
    outcome: str
    spend_gbp: float
    citywide_gbp: float
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    cases_closed: float
    spend_per_case_closed: float | None
    units_changed: float
    units_ci: tuple[float, float]
    unit_noun: str
    cost_per_unit: float | None
    cost_per_unit_ci: tuple[float, float] | None
    bounded: bool
    improvement: bool
    distinguishable: bool = True
    no_cost_reason: str = ""
    per_case: SpendPerCase | None = None
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Panel preparation
# --------------------------------------------------------------------------------------------


def _parse_date(value: object) -> pd.Timestamp:
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return pd.to_datetime(text, format=fmt)
        except (ValueError, TypeError):
            continue
    raise ValueError(f"cannot read date {text!r} (use yyyy-mm-dd or dd/mm/yyyy)")


def _naive(ts: pd.Timestamp) -> pd.Timestamp:
    if ts.tzinfo is not None:
        ts = ts.tz_convert("Europe/London").tz_localize(None)
    return ts


def _naive_series(s: pd.Series) -> pd.Series:
    s = pd.to_datetime(s)
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("Europe/London").dt.tz_localize(None)
    return s


@dataclass
class _Prepared:
    frame: pd.DataFrame  # ward_code, period_start, y, treated, post, pidx, e
    outcome: Outcome
    programme: Programme
    treated: tuple[str, ...]
    comparison: tuple[str, ...]
    comparison_kind: str
    matched_on: tuple[str, ...]
    pct_scale: float
    post_start: pd.Timestamp | None
    post_end: pd.Timestamp | None
    notes: list[str]


def _period_table(panel: pd.DataFrame) -> pd.DataFrame:
    """Each period's start, end (the next period's start) and index."""
    starts = pd.Series(sorted(_naive_series(panel["period_start"]).dropna().unique()))
    starts = pd.to_datetime(starts)
    if len(starts) > 1:
        step = starts.diff().median()
        months = round(step.days / 30.44)
        last = starts.iloc[-1]
        if months >= 1 and last.day == 1:  # months, quarters, years: calendar arithmetic
            after = last + pd.DateOffset(months=months)
        else:
            after = last + step
        ends = pd.concat([starts.iloc[1:], pd.Series([after])], ignore_index=True)
    else:
        ends = starts + pd.DateOffset(months=1)
    return pd.DataFrame({"period_start": starts, "period_end": ends, "pidx": range(len(starts))})


def _prepare(
    panel: pd.DataFrame,
    programme: Programme,
    outcome: str | Outcome,
    *,
    comparison: str | Sequence[str] = "untreated",
    exclude: Iterable[str] = (),
    match_on: Sequence[str] | None = None,
    deprivation: pd.Series | None = None,
    n_matches: int = 2,
    treated_only: bool = False,
) -> _Prepared:
    out = _outcome(outcome)
    need = {"ward_code", "period_start", out.column}
    missing = need - set(panel.columns)
    if missing:
        raise ValueError(f"panel is missing column(s): {', '.join(sorted(missing))}")
    notes: list[str] = []
    df = panel.copy()
    df["ward_code"] = df["ward_code"].astype(str).astype(object)
    df = df[df["ward_code"].str.lower() != CITYWIDE]  # the metrics table's city-total rows
    df["period_start"] = _naive_series(df["period_start"])
    periods = _period_table(df)
    df = df.merge(periods, on="period_start", how="left")
    df["y"] = pd.to_numeric(df[out.column], errors="coerce").astype(float)

    pct_scale = 1.0
    if out.unit == "percentage points":
        top = np.nanmax(np.abs(df["y"].to_numpy())) if df["y"].notna().any() else 0.0
        if top <= 1.0:
            pct_scale = 100.0  # stored as a fraction: report in percentage points
    start, end = programme.start, programme.end
    df["post"] = df["period_start"] >= start
    transition = (df["period_start"] < start) & (df["period_end"] > start)
    if transition.any():
        first = df.loc[transition, "period_start"].iloc[0]
        notes.append(
            f"The period starting {first:%d %b %Y} contains the start date and is left out "
            "(partly before, partly after)."
        )
    keep = ~transition
    if end is not None:
        late = df["period_start"] > end
        if late.any():
            notes.append(f"Periods after the money ended ({end:%d %b %Y}) are left out.")
        keep &= ~late
    df = df[keep]

    wards_in_panel = set(df["ward_code"].unique())
    treated = tuple(w for w in programme.treated_wards if w in wards_in_panel)
    absent = sorted(set(programme.treated_wards) - wards_in_panel)
    if absent:
        notes.append(
            f"{len(absent)} funded ward(s) have no data and are left out: {', '.join(absent)}."
        )
    if not treated:
        raise ValueError(f"none of the funded wards of {programme.name!r} has any data")
    exclude = {str(w) for w in exclude}

    comparison_kind = "all untreated wards"
    matched: tuple[str, ...] = ()
    if treated_only:
        comp: tuple[str, ...] = ()
    else:
        if isinstance(comparison, str):
            if comparison != "untreated":
                raise ValueError('comparison must be "untreated" or a list of ward codes')
            comp = tuple(sorted(wards_in_panel - set(treated) - exclude))
        else:
            comp = tuple(sorted({str(w) for w in comparison} & wards_in_panel - set(treated)))
            comparison_kind = "chosen comparison wards"
        if match_on:
            comp, matched = _match(df, treated, comp, list(match_on), deprivation, n_matches, out)
            comparison_kind = (
                "matched comparison wards ("
                + " and ".join(
                    {"pre_level": "level before the start", "deprivation": "deprivation"}[m]
                    for m in matched
                )
                + ")"
            )
        if not comp:
            raise ValueError("no comparison wards left")
    df = df[df["ward_code"].isin(set(treated) | set(comp))].copy()
    df["treated"] = df["ward_code"].isin(set(treated))

    n_bad = int((~np.isfinite(df["y"])).sum())
    df = df[np.isfinite(df["y"])]
    if n_bad:
        notes.append(f"{n_bad} ward-period(s) with no value for this outcome are left out.")
    if out.scale == "ratio":
        if (df["y"] < 0).any():
            raise ValueError(f"{out.label}: negative values cannot be modelled as a rate")
        # Poisson PML: a ward whose outcome is zero in every period carries no information (its
        # fixed effect runs to minus infinity), so it is dropped, as ppmlhdfe does.
        sums = df.groupby("ward_code")["y"].sum()
        zero = sorted(sums.index[sums <= 0])
        if zero:
            notes.append(f"{len(zero)} ward(s) with zero in every period are left out.")
            df = df[~df["ward_code"].isin(zero)]
        psums = df.groupby("pidx")["y"].sum()
        df = df[~df["pidx"].isin(psums.index[psums <= 0])]

    left = set(df["ward_code"].unique())
    treated = tuple(w for w in treated if w in left)
    comp = tuple(w for w in comp if w in left)
    if not treated:
        raise ValueError("no funded ward has data for this outcome")
    post_rows = df[df["post"]]
    pre_rows = df[~df["post"]]
    if post_rows.empty or pre_rows.empty:
        raise ValueError(
            f"need periods both before and after {start:%d %b %Y} to evaluate {programme.name!r}"
        )
    post_start = post_rows["period_start"].min()
    post_end = post_rows["period_end"].max() - pd.Timedelta(days=1)
    if end is not None:
        post_end = min(post_end, end)
    # event time: 0 = first period after the start, -1 = the period before it, ...
    first_post = int(post_rows["pidx"].min())
    df["e"] = df["pidx"] - first_post
    return _Prepared(
        frame=df.reset_index(drop=True),
        outcome=out,
        programme=programme,
        treated=treated,
        comparison=comp,
        comparison_kind=comparison_kind,
        matched_on=matched,
        pct_scale=pct_scale,
        post_start=post_start,
        post_end=post_end,
        notes=notes,
    )


def _match(
    df: pd.DataFrame,
    treated: tuple[str, ...],
    candidates: tuple[str, ...],
    match_on: list[str],
    deprivation: pd.Series | None,
    n_matches: int,
    out: Outcome,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Greedy nearest-neighbour matching (without replacement) on standardised features."""
    unknown = set(match_on) - {"pre_level", "deprivation"}
    if unknown:
        raise ValueError(f"match_on accepts 'pre_level' and 'deprivation', not {sorted(unknown)}")
    wards = list(treated) + list(candidates)
    feats = pd.DataFrame(index=wards)
    if "pre_level" in match_on:
        pre = df[~df["post"] & np.isfinite(df["y"])].groupby("ward_code")["y"].mean()
        level = pre.reindex(wards)
        feats["pre_level"] = np.log1p(level) if out.scale == "ratio" else level
    if "deprivation" in match_on:
        if deprivation is None:
            raise ValueError("match_on includes 'deprivation' but no deprivation scores were given")
        dep = pd.Series(deprivation, dtype=float)
        dep.index = dep.index.astype(str)
        feats["deprivation"] = dep.reindex(wards)
    feats = feats.dropna()
    z = (feats - feats.mean()) / feats.std(ddof=0).replace(0, 1)
    pool = [w for w in candidates if w in z.index]
    chosen: list[str] = []
    for w in treated:
        if w not in z.index or not pool:
            continue
        d = ((z.loc[pool] - z.loc[w]) ** 2).sum(axis=1).sort_values(kind="stable")
        pick = list(d.index[:n_matches])
        chosen += pick
        pool = [p for p in pool if p not in pick]
    return tuple(sorted(chosen)), tuple(match_on)


# --------------------------------------------------------------------------------------------
# Estimation
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _openblas_local() -> Callable[[int], int] | None:
    """numpy's bundled OpenBLAS ``openblas_set_num_threads_local``, if there is one."""
    try:
        libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
        for lib in sorted(libs.glob("libscipy_openblas*.so*")):
            fn = ctypes.CDLL(str(lib)).openblas_set_num_threads_local
            fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
            return fn
    except (OSError, AttributeError):
        pass
    return None


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run the small dense solves of a fit on one BLAS thread (this thread only).

    The matrices here are about 1,000 × 70; threading them gains nothing and, on a busy
    two-core server, made each fit 10-15 times slower (measured). A no-op where numpy does not
    bundle OpenBLAS.
    """
    fn = _openblas_local()
    if fn is None:
        yield
        return
    previous = fn(1)
    try:
        yield
    finally:
        fn(previous)


@dataclass
class _Fit:
    coef: np.ndarray
    cov: np.ndarray
    n_clusters: int


class _Layout:
    """Ward dummies, period dummies (first dropped) and a few regressors, never built densely.

    Products with the fixed-effect blocks are group sums (``np.bincount``), so a Poisson Newton
    step costs O(rows) plus one small solve, not a dense matrix product.
    """

    def __init__(self, df: pd.DataFrame, z: np.ndarray, period_fe: bool) -> None:
        self.wc = pd.Categorical(df["ward_code"]).codes.astype(np.int64)
        self.g = int(self.wc.max()) + 1
        if period_fe:
            self.pc = pd.Categorical(df["pidx"]).codes.astype(np.int64)
            self.t = int(self.pc.max()) + 1
        else:
            self.pc = np.zeros(len(df), dtype=np.int64)
            self.t = 1
        self.z = np.asarray(z, float).reshape(len(df), -1)
        self.k = self.z.shape[1]
        self.m = self.g + self.t - 1 + self.k

    def dense(self) -> np.ndarray:
        n = len(self.wc)
        x = np.zeros((n, self.m))
        x[np.arange(n), self.wc] = 1.0
        rows = self.pc > 0
        x[np.flatnonzero(rows), self.g + self.pc[rows] - 1] = 1.0
        x[:, self.g + self.t - 1 :] = self.z
        return x

    def xb(self, beta: np.ndarray) -> np.ndarray:
        per = np.concatenate([[0.0], beta[self.g : self.g + self.t - 1]])
        return beta[self.wc] + per[self.pc] + self.z @ beta[self.g + self.t - 1 :]

    def xt(self, v: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                np.bincount(self.wc, v, self.g),
                np.bincount(self.pc, v, self.t)[1:],
                self.z.T @ v,
            ]
        )

    def xtwx(self, w: np.ndarray) -> np.ndarray:
        g, t, k = self.g, self.t, self.k
        h = np.zeros((self.m, self.m))
        h[np.arange(g), np.arange(g)] = np.bincount(self.wc, w, g)
        pw = np.bincount(self.pc, w, t)[1:]
        h[np.arange(g, g + t - 1), np.arange(g, g + t - 1)] = pw
        wp = np.bincount(self.wc * t + self.pc, w, g * t).reshape(g, t)[:, 1:]
        h[:g, g : g + t - 1] = wp
        h[g : g + t - 1, :g] = wp.T
        zw = self.z * w[:, None]
        for j in range(k):
            col = g + t - 1 + j
            h[:g, col] = h[col, :g] = np.bincount(self.wc, zw[:, j], g)
            h[g : g + t - 1, col] = h[col, g : g + t - 1] = np.bincount(self.pc, zw[:, j], t)[1:]
        h[g + t - 1 :, g + t - 1 :] = zw.T @ self.z
        return h


def _solve(h: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(h, b)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(h, b, rcond=None)[0]


def _ppml(
    y: np.ndarray, lay: _Layout, offset: np.ndarray, start: np.ndarray | None = None
) -> np.ndarray:
    """Poisson PML by Newton's method (the log-likelihood is concave; step halving for safety)."""
    if start is None:
        beta = np.zeros(lay.m)
        ward_mean = np.bincount(lay.wc, y, lay.g) / np.bincount(lay.wc, minlength=lay.g)
        beta[: lay.g] = np.log(ward_mean + 1e-9)
    else:
        beta = start.copy()

    def loglik(b: np.ndarray) -> float:
        eta = np.clip(lay.xb(b) + offset, -50, 50)
        return float(np.sum(y * eta - np.exp(eta)))

    ll = loglik(beta)
    for _ in range(100):
        mu = np.exp(np.clip(lay.xb(beta) + offset, -50, 50))
        step = _solve(lay.xtwx(mu), lay.xt(y - mu))
        t = 1.0
        while True:
            new = beta + t * step
            new_ll = loglik(new)
            if new_ll >= ll - 1e-9 * abs(ll) or t < 1e-4:
                break
            t /= 2
        beta, ll = new, new_ll
        if np.max(np.abs(t * step)) < 1e-9:
            break
    return beta


def _fit(df: pd.DataFrame, z: np.ndarray, ratio: bool, period_fe: bool = True) -> _Fit:
    """statsmodels fit with ward (and period) dummies and covariance clustered by ward."""
    lay = _Layout(df, z, period_fe)
    y = df["y"].to_numpy(float)
    x = lay.dense()
    kw = {"cov_type": "cluster", "cov_kwds": {"groups": lay.wc}}
    if ratio:
        # statsmodels does the fit and the clustered covariance; the fast Newton solve supplies
        # starting values so that its IRLS only has to confirm convergence.
        start = _ppml(y, lay, np.zeros(len(y)))
        res = sm.GLM(y, x, family=sm.families.Poisson()).fit(start_params=start, **kw)
    else:
        res = sm.OLS(y, x).fit(**kw)
    return _Fit(np.asarray(res.params), np.asarray(res.cov_params()), lay.g)


class _ScoreBootstrap:
    """Wild cluster *restricted* score bootstrap (Kline & Santos 2012).

    Works for OLS and Poisson PML alike. Under H0 (the tested coefficients equal ``b0``; one
    coefficient, or several at zero) fit the model with those coefficients fixed, take their
    efficient scores summed by ward, and compare the score (LM) statistic with its distribution
    when each ward's score is re-weighted at random (Webb's six-point weights, which behave
    better than +/-1 signs with few wards). For one coefficient the CI is the set of ``b0`` that
    are not rejected (test inversion).
    """

    def __init__(
        self,
        df: pd.DataFrame,
        d: np.ndarray,
        ratio: bool,
        period_fe: bool,
        draws: int,
        seed: int,
        z: np.ndarray | None = None,
    ) -> None:
        n = len(df)
        self.y = df["y"].to_numpy(float)
        self.d = np.asarray(d, float).reshape(n, -1)
        self.lay = _Layout(df, np.zeros((n, 0)) if z is None else z, period_fe)
        self.ratio = ratio
        rng = np.random.default_rng(seed)
        webb = np.sqrt(np.array([1.5, 1.0, 0.5]))
        webb = np.concatenate([-webb, webb])
        self.w = webb[rng.integers(0, 6, size=(self.lay.g, draws))]
        self._start: np.ndarray | None = None
        if not ratio:
            h = self.lay.xtwx(np.ones(n))
            by = _solve(h, self.lay.xt(self.y))
            self._ry = self.y - self.lay.xb(by)  # y net of the nuisance terms
            self._dt = np.column_stack(
                [c - self.lay.xb(_solve(h, self.lay.xt(c))) for c in self.d.T]
            )

    def _cluster_scores(self, b0: float) -> np.ndarray:
        """Ward sums of the efficient scores (wards × tested coefficients) under H0."""
        if self.ratio:
            off = b0 * self.d[:, 0] if b0 else np.zeros(len(self.y))
            beta = _ppml(self.y, self.lay, off, self._start)
            self._start = beta
            mu = np.exp(np.clip(self.lay.xb(beta) + off, -50, 50))
            h = self.lay.xtwx(mu)
            dt = np.column_stack(
                [c - self.lay.xb(_solve(h, self.lay.xt(mu * c))) for c in self.d.T]
            )
            s = dt * (self.y - mu)[:, None]
        else:
            r = self._ry - b0 * self._dt[:, 0] if b0 else self._ry
            s = self._dt * r[:, None]
        return np.column_stack([np.bincount(self.lay.wc, c, self.lay.g) for c in s.T])

    def p_value(self, b0: float = 0.0) -> float:
        sg = self._cluster_scores(b0)  # G × q
        q = sg.shape[1]
        v = sg.T @ sg
        tot = sg.sum(axis=0)
        try:
            lm = float(tot @ np.linalg.solve(v, tot))
        except np.linalg.LinAlgError:
            return math.nan
        num = self.w.T @ sg  # B × q
        if q == 1:
            den = (self.w**2).T @ (sg[:, 0] ** 2)
            lm_star = np.divide(num[:, 0] ** 2, den, out=np.zeros_like(den), where=den > 0)
        else:
            vs = np.einsum("gb,gi,gj->bij", self.w**2, sg, sg)
            try:
                lm_star = np.einsum("bi,bi->b", num, np.linalg.solve(vs, num[:, :, None])[..., 0])
            except np.linalg.LinAlgError:
                return math.nan
        return float((1 + np.sum(lm_star >= lm * (1 - 1e-12))) / (1 + len(lm_star)))

    def bound(self, inside: float, guess: float, alpha: float, tol: float) -> float:
        """Bisect between a value not rejected and one rejected (pushing ``guess`` out first)."""
        step = guess - inside
        outside = guess
        for _ in range(8):
            if self.p_value(outside) < alpha:
                break
            outside = outside + step
            step *= 2
        else:
            return math.inf if step > 0 else -math.inf
        lo, hi = inside, outside
        while abs(hi - lo) > tol:
            mid = 0.5 * (lo + hi)
            if self.p_value(mid) < alpha:
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)


@_one_blas_thread()
def _estimate(
    df: pd.DataFrame,
    d: np.ndarray,
    ratio: bool,
    *,
    period_fe: bool,
    bootstrap: bool,
    seed: int,
    alpha: float = 0.05,
) -> dict[str, float | str]:
    """Fit y ~ ward FE (+ period FE) + d, cluster by ward; return coef, se, CI and p."""
    fit = _fit(df, d, ratio, period_fe)
    coef = float(fit.coef[-1])
    se = float(math.sqrt(max(fit.cov[-1, -1], 0.0)))
    dof = max(fit.n_clusters - 1, 1)
    tcrit = float(stats.t.ppf(1 - alpha / 2, dof))
    p_an = float(2 * stats.t.sf(abs(coef) / se, dof)) if se > 0 else math.nan
    out: dict[str, float | str] = {
        "coef": coef,
        "se": se,
        "lo_an": coef - tcrit * se,
        "hi_an": coef + tcrit * se,
        "p_an": p_an,
        "lo": coef - tcrit * se,
        "hi": coef + tcrit * se,
        "p": p_an,
        "inference": f"cluster-robust by ward (CR1), t with {dof} degrees of freedom",
    }
    if bootstrap and se > 0:
        boot = _ScoreBootstrap(df, d, ratio, period_fe, BOOTSTRAP_DRAWS, seed)
        out["p"] = boot.p_value(0.0)
        tol = se / 25
        out["lo"] = boot.bound(coef, coef - tcrit * se, alpha, tol)
        out["hi"] = boot.bound(coef, coef + tcrit * se, alpha, tol)
        out["inference"] = (
            f"wild cluster restricted score bootstrap by ward ({BOOTSTRAP_DRAWS} draws, Webb "
            "weights); CI by test inversion"
        )
    return out


def _to_report(value: float, prep_scale: str, pct_scale: float) -> float:
    if prep_scale == "ratio":
        return math.expm1(value) if math.isfinite(value) else (math.inf if value > 0 else -1.0)
    return value * pct_scale


def did(
    panel: pd.DataFrame,
    programme: Programme,
    outcome: str,
    *,
    comparison: str | Sequence[str] = "untreated",
    exclude: Iterable[str] = (),
    match_on: Sequence[str] | None = None,
    deprivation: pd.Series | None = None,
    n_matches: int = 2,
    inference: Literal["auto", "analytic", "bootstrap"] = "auto",
    check_pretrends: bool = True,
    subject: str | None = None,
    seed: int = 12345,
) -> DidResult:
    """Difference-in-differences of funded against comparison wards.

    The model is ``g(E[y_wt]) = a_w + b_t + beta * funded_w * after_t`` with ward and period fixed
    effects and standard errors clustered by ward. For counts and rates (``scale="ratio"``) ``g``
    is the log and the model is fitted by Poisson pseudo-maximum likelihood, so
    ``exp(beta) - 1`` is the % change; for levels (days, percentages) ``g`` is the identity (OLS)
    and ``beta`` is the change in days or percentage points.

    Parameters
    ----------
    panel
        Ward × period table (``ward_code``, ``period_start`` and the outcome column).
    programme
        The programme (funded wards and start date).
    outcome
        A key of :data:`OUTCOMES`.
    comparison
        ``"untreated"`` (every ward not funded and not in ``exclude``) or a list of ward codes.
    exclude
        Wards never to use for comparison (e.g. wards funded by another programme).
    match_on
        ``None``, or any of ``"pre_level"`` (the outcome's mean before the start) and
        ``"deprivation"``: keep the ``n_matches`` nearest comparison wards per funded ward.
    deprivation
        Deprivation score by ward code (e.g. IMD score); needed for ``match_on=["deprivation"]``.
    n_matches
        Comparison wards per funded ward when matching (without replacement).
    inference
        ``"analytic"``: cluster-robust (CR1) with t(G-1) critical values. ``"bootstrap"``: wild
        cluster restricted score bootstrap with the CI by test inversion. ``"auto"`` uses the
        bootstrap when there are fewer than 10 funded or comparison wards or fewer than 30 wards
        in all, where the analytic formula is known to be too optimistic.
    check_pretrends
        Also run :func:`pretrend_check` and attach it as ``result.pretrend``.
    subject
        Words for the sentence, e.g. ``"Fly-tipping reports"`` (default: the outcome's subject).
    seed
        Seed of the bootstrap weights (results are reproducible).

    Returns
    -------
    DidResult
        Estimate, 95% CI and p-value in reporting units, plus ward counts and periods.

    Examples
    --------
    >>> r = did(panel, programme, "cases_per_1k")  # doctest: +SKIP
    >>> describe(r)  # doctest: +SKIP
    'Reports per 1,000 residents fell by 12% more in funded wards than ... (95% CI 4% to 20%).'
    """
    prep = _prepare(
        panel,
        programme,
        outcome,
        comparison=comparison,
        exclude=exclude,
        match_on=match_on,
        deprivation=deprivation,
        n_matches=n_matches,
    )
    df, out = prep.frame, prep.outcome
    ratio = out.scale == "ratio"
    n_t, n_c = len(prep.treated), len(prep.comparison)
    few = _few(prep)
    use_boot = _use_bootstrap(prep, inference)
    d = (df["treated"] & df["post"]).to_numpy(float)
    est = _estimate(df, d, ratio, period_fe=True, bootstrap=use_boot, seed=seed)

    def rep(v: float | str) -> float:
        return _to_report(float(v), out.scale, prep.pct_scale)

    totals: dict[str, float] = {}
    tp = df[df["treated"] & df["post"]]
    for col in {"cases", "closed", "enforcement_actions", out.count_column} - {None}:
        if col in tp.columns:
            totals[col] = float(pd.to_numeric(tp[col], errors="coerce").sum())
    pre, post = df[~df["post"]], df[df["post"]]
    result = DidResult(
        programme=programme.name,
        outcome=out.key,
        estimate=rep(est["coef"]),
        ci_low=rep(est["lo"]),
        ci_high=rep(est["hi"]),
        p_value=float(est["p"]),
        label=out.label,
        scale=out.scale,
        unit=out.unit,
        lower_is_better=out.lower_is_better,
        subject=subject or out.subject,
        coef=float(est["coef"]),
        se=float(est["se"]),
        method=(
            "Poisson pseudo-maximum likelihood with ward and period fixed effects"
            if ratio
            else "OLS with ward and period fixed effects"
        ),
        inference=str(est["inference"]),
        ci_low_analytic=rep(est["lo_an"]),
        ci_high_analytic=rep(est["hi_an"]),
        p_value_analytic=float(est["p_an"]),
        n_treated=n_t,
        n_comparison=n_c,
        n_periods=int(df["pidx"].nunique()),
        n_pre_periods=int(pre["pidx"].nunique()),
        n_post_periods=int(df.loc[df["post"], "pidx"].nunique()),
        n_obs=len(df),
        treated_wards=prep.treated,
        comparison_wards=prep.comparison,
        comparison=prep.comparison_kind,
        matched_on=prep.matched_on,
        start=programme.start,
        post_start=prep.post_start,
        post_end=prep.post_end,
        treated_pre_mean=float(pre.loc[pre["treated"], "y"].mean()) * prep.pct_scale,
        comparison_pre_mean=float(pre.loc[~pre["treated"], "y"].mean()) * prep.pct_scale,
        treated_post_mean=float(post.loc[post["treated"], "y"].mean()) * prep.pct_scale,
        comparison_post_mean=float(post.loc[~post["treated"], "y"].mean()) * prep.pct_scale,
        treated_post_totals=totals,
        pct_scale=prep.pct_scale,
        few_clusters=few,
        notes=list(prep.notes),
    )
    if check_pretrends:
        result.pretrend = _pretrend(prep, bootstrap=use_boot, seed=seed)
    return result


def before_after(
    panel: pd.DataFrame,
    programme: Programme,
    outcome: str,
    *,
    subject: str | None = None,
) -> BeforeAfterResult:
    """Funded wards only: after vs before the start (Maryland scale level 1, no counterfactual).

    Fits ``g(E[y_wt]) = a_w + beta * after_t`` on the funded wards (PPML for ratio outcomes, OLS
    for levels) with standard errors clustered by ward and t(G-1) critical values. Anything that
    changed everywhere at the same time (weather, a new reporting app, the season mix) is mixed
    into the estimate; use :func:`did` for the comparison with unfunded wards.

    Parameters
    ----------
    panel
        Ward × period table.
    programme
        The programme.
    outcome
        A key of :data:`OUTCOMES`.
    subject
        Words for the sentence (default: the outcome's subject).

    Returns
    -------
    BeforeAfterResult
        Means before and after, the change (proportional or absolute), 95% CI and p-value.

    Examples
    --------
    >>> r = before_after(panel, programme, "median_days_to_close")  # doctest: +SKIP
    >>> round(r.post_mean - r.pre_mean, 1)  # doctest: +SKIP
    -2.3
    """
    prep = _prepare(panel, programme, outcome, treated_only=True)
    df, out = prep.frame, prep.outcome
    d = df["post"].to_numpy(float)
    est = _estimate(df, d, out.scale == "ratio", period_fe=False, bootstrap=False, seed=0)

    def rep(v: float | str) -> float:
        return _to_report(float(v), out.scale, prep.pct_scale)

    return BeforeAfterResult(
        programme=programme.name,
        outcome=out.key,
        pre_mean=float(df.loc[~df["post"], "y"].mean()) * prep.pct_scale,
        post_mean=float(df.loc[df["post"], "y"].mean()) * prep.pct_scale,
        estimate=rep(est["coef"]),
        ci_low=rep(est["lo"]),
        ci_high=rep(est["hi"]),
        p_value=float(est["p"]),
        label=out.label,
        scale=out.scale,
        unit=out.unit,
        lower_is_better=out.lower_is_better,
        subject=subject or out.subject,
        method=("Poisson pseudo-maximum likelihood" if out.scale == "ratio" else "OLS")
        + " with ward fixed effects, funded wards only",
        inference=str(est["inference"]),
        n_wards=len(prep.treated),
        n_pre_periods=int(df.loc[~df["post"], "pidx"].nunique()),
        n_post_periods=int(df.loc[df["post"], "pidx"].nunique()),
        pct_scale=prep.pct_scale,
        notes=list(prep.notes),
    )


# --------------------------------------------------------------------------------------------
# Pre-trends
# --------------------------------------------------------------------------------------------


def pretrend_check(
    panel: pd.DataFrame,
    programme: Programme,
    outcome: str,
    *,
    leads: int = 4,
    comparison: str | Sequence[str] = "untreated",
    exclude: Iterable[str] = (),
    match_on: Sequence[str] | None = None,
    deprivation: pd.Series | None = None,
    n_matches: int = 2,
    alpha: float = PRETREND_ALPHA,
    inference: Literal["auto", "analytic", "bootstrap"] = "auto",
    seed: int = 12345,
) -> PretrendResult:
    """Event-study check that funded and comparison wards moved in parallel before the money.

    The periods before the start are split into ``leads + 1`` consecutive bins of (nearly) equal
    length; the last bin (just before the start) is the reference. The model adds one
    ``funded × bin`` term per earlier bin (plus ``funded × after``) to the ward and period fixed
    effects, and jointly tests that the lead terms are zero: a cluster-robust Wald test (F with
    G-1 denominator degrees of freedom) with many wards, or, with few wards (as in :func:`did`),
    the wild cluster restricted score bootstrap, because the Wald test then warns far too often
    (about a quarter of the time with 8 funded wards out of 30 at the 10% level, against
    about 10% for the bootstrap, in our simulations).

    Parameters
    ----------
    panel, programme, outcome, comparison, exclude, match_on, deprivation, n_matches
        As for :func:`did`.
    leads
        Number of lead bins to test (fewer when there are not enough periods before the start).
    alpha
        Warn when the joint test's p-value is below this (default 0.10: the check is weak with
        few wards, so it errs towards warning).
    inference, seed
        As for :func:`did`; the lead CIs in the table are always the analytic ones.

    Returns
    -------
    PretrendResult
        ``p_value``, ``warning`` (None when trends look parallel) and the ``leads`` table.

    Examples
    --------
    >>> chk = pretrend_check(panel, programme, "cases_per_1k")  # doctest: +SKIP
    >>> chk.warning is None  # doctest: +SKIP
    True
    """
    prep = _prepare(
        panel,
        programme,
        outcome,
        comparison=comparison,
        exclude=exclude,
        match_on=match_on,
        deprivation=deprivation,
        n_matches=n_matches,
    )
    return _pretrend(
        prep, leads=leads, alpha=alpha, bootstrap=_use_bootstrap(prep, inference), seed=seed
    )


def _few(prep: _Prepared) -> bool:
    n_t, n_c = len(prep.treated), len(prep.comparison)
    return min(n_t, n_c) < FEW_TREATED or (n_t + n_c) < FEW_CLUSTERS


def _use_bootstrap(prep: _Prepared, inference: str) -> bool:
    if inference not in {"auto", "analytic", "bootstrap"}:
        raise ValueError('inference must be "auto", "analytic" or "bootstrap"')
    return inference == "bootstrap" or (inference == "auto" and _few(prep))


@_one_blas_thread()
def _pretrend(
    prep: _Prepared,
    leads: int = 4,
    alpha: float = PRETREND_ALPHA,
    bootstrap: bool = False,
    seed: int = 12345,
) -> PretrendResult:
    df, out = prep.frame, prep.outcome
    empty = pd.DataFrame(columns=["first_period", "last_period", "estimate", "ci_low", "ci_high"])
    pre_e = np.sort(df.loc[~df["post"], "e"].unique())
    n_bins = min(leads + 1, len(pre_e))
    if n_bins < 2:
        return PretrendResult(
            prep.programme.name,
            out.key,
            None,
            "There are too few periods before the money started to check whether funded and "
            "comparison wards were already moving differently.",
            empty,
            alpha=alpha,
        )
    bins = np.array_split(pre_e, n_bins)
    ref = bins[-1]
    treated = df["treated"].to_numpy()
    cols = []
    for b in bins[:-1]:
        cols.append((treated & df["e"].isin(b).to_numpy()).astype(float))
    cols.append((treated & df["post"].to_numpy()).astype(float))
    reg = np.column_stack(cols)
    fit = _fit(df, reg, out.scale == "ratio")
    q = n_bins - 1
    k0 = len(fit.coef) - reg.shape[1]
    b = fit.coef[k0 : k0 + q]
    v = fit.cov[k0 : k0 + q, k0 : k0 + q]
    dof = max(fit.n_clusters - 1, 1)
    if bootstrap:
        boot = _ScoreBootstrap(
            df, reg[:, :q], out.scale == "ratio", True, BOOTSTRAP_DRAWS, seed, z=reg[:, q:]
        )
        p = boot.p_value()
    else:
        try:
            wald = float(b @ np.linalg.solve(v, b))
            p = float(stats.f.sf(wald / q, q, dof))
        except np.linalg.LinAlgError:
            p = math.nan
    tcrit = float(stats.t.ppf(0.975, dof))
    period_of = df.drop_duplicates("e").set_index("e")["period_start"]
    rows = []
    for i, bn in enumerate(bins[:-1]):
        se = math.sqrt(max(v[i, i], 0.0))
        rows.append(
            {
                "first_period": period_of[bn[0]],
                "last_period": period_of[bn[-1]],
                "estimate": _to_report(b[i], out.scale, prep.pct_scale),
                "ci_low": _to_report(b[i] - tcrit * se, out.scale, prep.pct_scale),
                "ci_high": _to_report(b[i] + tcrit * se, out.scale, prep.pct_scale),
            }
        )
    warning = None
    if not math.isfinite(p):
        warning = "The check of trends before the money started could not be computed."
    elif p < alpha:
        warning = (
            "Before the money started, funded wards were already moving differently from the "
            f"comparison wards (check of the months before the start: p = {_fmt_p(p)}, where "
            f"below {alpha:.2f} is a warning), so the estimate may be biased: treat it with "
            "caution."
        )
    return PretrendResult(
        programme=prep.programme.name,
        outcome=out.key,
        p_value=p,
        warning=warning,
        leads=pd.DataFrame(rows),
        reference=(period_of[ref[0]], period_of[ref[-1]]),
        n_leads=q,
        alpha=alpha,
    )


# --------------------------------------------------------------------------------------------
# Cost-effectiveness
# --------------------------------------------------------------------------------------------


def _pro_rated(
    spend: pd.DataFrame | None, w0: pd.Timestamp | None, w1: pd.Timestamp | None
) -> pd.DataFrame:
    """Spend lines with ``in_window``: the amount pro-rated by days to the inclusive window."""
    cols = ["ward_code", "programme", "in_window"]
    if spend is None or spend.empty:
        return pd.DataFrame(columns=cols)
    s = spend.copy()
    s["period_start"] = _naive_series(s["period_start"])
    ends = s["period_end"] if "period_end" in s else s["period_start"]
    s["period_end"] = _naive_series(ends).fillna(s["period_start"])
    s["amount_gbp"] = pd.to_numeric(s["amount_gbp"], errors="coerce").fillna(0.0)
    s["in_window"] = s["amount_gbp"] * _overlap_share(s["period_start"], s["period_end"], w0, w1)
    s["ward_code"] = s["ward_code"].astype(str)
    s["programme"] = s["programme"].astype(str)
    return s[cols]


def spend_per_case_closed(
    spend: pd.DataFrame, programme: Programme, cases: pd.DataFrame
) -> SpendPerCase:
    """Programme spend per case closed, every type of case, in the funded wards after the start.

    The window is the periods of ``cases`` that begin on or after the programme's start (and not
    after its end): the period containing the start is left out, as in :func:`did`. The spend is
    the programme's ward-level lines in its funded wards, pro-rated by days to that window; the
    cases are the ``closed`` column (closures in the period) summed over the same wards and
    periods, for every type of case. The ratio therefore does not change with the outcome or the
    type of case on show, and never charges the whole programme to one category.

    Parameters
    ----------
    spend
        Spend table (``ward_code``, ``period_start``, ``period_end``, ``programme``,
        ``amount_gbp``).
    programme
        The programme.
    cases
        Ward × period table for **all** types of case (``ward_code``, ``period_start``,
        ``closed``); city-total rows are ignored.

    Returns
    -------
    SpendPerCase
        ``per_case`` is None when nothing was closed or no programme spend falls in the window.

    Examples
    --------
    >>> prog = Programme("Pride", pd.Timestamp("2024-04-01"), ("E1",))
    >>> cases = pd.DataFrame({"ward_code": ["E1", "E1", "E2"],
    ...     "period_start": pd.to_datetime(["2024-03-01", "2024-04-01", "2024-04-01"]),
    ...     "closed": [7, 40, 99]})
    >>> spend = pd.DataFrame({"ward_code": ["E1"], "programme": ["Pride"],
    ...     "period_start": pd.to_datetime(["2024-04-01"]),
    ...     "period_end": pd.to_datetime(["2024-04-30"]), "amount_gbp": [1000.0]})
    >>> spend_per_case_closed(spend, prog, cases).per_case
    25.0
    """
    if "closed" not in cases.columns:
        raise ValueError("the ward × period table has no 'closed' column")
    df = cases[cases["ward_code"].astype(str).str.lower() != CITYWIDE].copy()
    df["ward_code"] = df["ward_code"].astype(str)
    df["period_start"] = _naive_series(df["period_start"])
    periods = _period_table(df)
    after = periods["period_start"] >= programme.start
    if programme.end is not None:
        after &= periods["period_start"] <= programme.end
    periods = periods[after]
    wards = tuple(programme.treated_wards)
    if periods.empty:
        return SpendPerCase(programme.name, wards, None, None, 0.0, 0.0, 0.0, None)
    w0 = periods["period_start"].min()
    w1 = periods["period_end"].max() - pd.Timedelta(days=1)
    if programme.end is not None:
        w1 = min(w1, programme.end)
    rows = df["ward_code"].isin(set(wards)) & df["period_start"].isin(set(periods["period_start"]))
    closed = float(pd.to_numeric(df.loc[rows, "closed"], errors="coerce").sum())
    s = _pro_rated(spend, w0, w1)
    in_wards = s["ward_code"].isin(set(wards))
    prog_gbp = float(s.loc[in_wards & (s["programme"] == programme.name), "in_window"].sum())
    all_gbp = float(s.loc[in_wards, "in_window"].sum())
    per_case = prog_gbp / closed if closed > 0 and prog_gbp > 0 else None
    return SpendPerCase(programme.name, wards, w0, w1, prog_gbp, all_gbp, closed, per_case)


def cost_effectiveness(
    did_result: DidResult,
    spend: pd.DataFrame,
    programme: Programme,
    *,
    cases: pd.DataFrame | None = None,
    category: str | None = None,
) -> CostEffectiveness:
    """Spend per unit of change, with the CI carried through, and spend per case closed.

    Spend is the programme's ward-level lines in the funded wards, pro-rated by days to the
    "after" window of the estimate (``did_result.post_start`` to ``did_result.post_end``).
    City-wide lines of the programme are reported separately and not attributed to the effect.

    For ratio outcomes the change in units over the window is
    ``observed_total × e / (1 + e)`` for a proportional effect ``e`` (observed minus what the
    funded wards would have had without the money); the map is increasing in ``e``, so the CI
    bounds transform directly. For level outcomes the unit is the outcome's own unit (a day, a
    percentage point). Cost per unit is spend divided by the size of the improvement, given only
    when the estimate is an improvement *and* its 95% CI excludes no change; otherwise
    ``cost_per_unit`` is None and ``no_cost_reason`` says why.

    Parameters
    ----------
    did_result
        From :func:`did`.
    spend
        Spend table (``ward_code``, ``period_start``, ``period_end``, ``programme``,
        ``amount_gbp``).
    programme
        The programme evaluated.
    cases
        Ward × period table for all types of case: when given, ``per_case`` (and
        ``spend_per_case_closed``) come from :func:`spend_per_case_closed`. Without it there is
        no spend per case closed (a table filtered to one category would charge the whole
        programme to that category).
    category
        Plain name of the one type of case the outcome was measured on (e.g. ``"fly-tipping"``),
        if any: a note then says that the cost per unit charges the whole programme to it.

    Returns
    -------
    CostEffectiveness

    Examples
    --------
    >>> ce = cost_effectiveness(result, spend, programme, cases=all_types)  # doctest: +SKIP
    >>> describe(ce)  # doctest: +SKIP
    '£240,000 of programme money was spent in the funded wards ...'
    """
    out = _outcome(did_result.outcome)
    w0, w1 = did_result.post_start, did_result.post_end
    notes: list[str] = []
    s = _pro_rated(spend, w0, w1)
    s = s[s["programme"] == programme.name]
    city = s["ward_code"].str.lower() == CITYWIDE
    funded = s["ward_code"].isin(set(did_result.treated_wards))
    ward_gbp = float(s.loc[funded & ~city, "in_window"].sum())
    city_gbp = float(s.loc[city, "in_window"].sum())
    other = float(s.loc[~funded & ~city, "in_window"].sum())
    if other > 0:
        notes.append(
            f"£{other:,.0f} of this programme went to wards outside the analysis and is not counted."
        )
    if ward_gbp == 0:
        notes.append("No ward-level spend for this programme falls in the after window.")

    per_case = spend_per_case_closed(spend, programme, cases) if cases is not None else None

    e, lo, hi = did_result.estimate, did_result.ci_low, did_result.ci_high
    if out.scale == "ratio":
        total = float(did_result.treated_post_totals.get(out.count_column or "", math.nan))
        if not math.isfinite(total):
            notes.append(f"The panel has no '{out.count_column}' column to count units.")

        def units(x: float) -> float:
            return total * x / (1.0 + x) if x > -1 else -math.inf

        u, ulo, uhi = units(e), units(lo), units(hi)
    else:
        u, ulo, uhi = e, lo, hi
    better = (u < 0) if out.lower_is_better else (u > 0)
    crosses = lo <= 0 <= hi
    noun = out.unit_noun
    cost = cost_ci = None
    reason = ""
    if out.scale == "level":
        # "£2,706,502 per day off the median time to close" is arithmetic without meaning: a
        # day off a median, or a percentage point, is not a unit the money buys.
        reason = (
            "Value for money is worked out only for counts (reports, enforcement actions): a "
            "change in a median or a share is not a number of things the money bought, so there "
            "is no cost per unit for this outcome."
        )
    elif ward_gbp <= 0:
        reason = (
            f"No programme spend falls in the months after the start, so there is no cost per "
            f"{noun}."
        )
    elif not better:
        reason = (
            "The estimate shows no improvement in the funded wards, so there is no cost per "
            f"{noun} to quote."
        )
    elif crosses:
        reason = (
            "The 95% range of the estimate includes no change, so the money may have made no "
            f"difference here: there is no cost per {noun} to quote."
        )
    elif u != 0 and math.isfinite(u):
        cost = ward_gbp / abs(u)
        near, far = sorted((abs(ulo), abs(uhi)), reverse=True)
        cheap = ward_gbp / near if near > 0 else math.inf
        dear = ward_gbp / far if far > 0 else math.inf
        cost_ci = (cheap, dear)
        if category:
            notes.append(
                f"The cost per {_per_unit(out, noun)} charges all of the programme's spend to "
                f"{category} alone; "
                "the money also paid for other work, so it overstates what each one cost."
            )
    else:
        reason = f"The change cannot be counted in {noun}s, so there is no cost per {noun}."
    return CostEffectiveness(
        programme=programme.name,
        outcome=out.key,
        spend_gbp=ward_gbp,
        citywide_gbp=city_gbp,
        window_start=w0,
        window_end=w1,
        cases_closed=per_case.cases_closed if per_case is not None else math.nan,
        spend_per_case_closed=per_case.per_case if per_case is not None else None,
        units_changed=u,
        units_ci=(ulo, uhi),
        unit_noun=noun,
        cost_per_unit=cost,
        cost_per_unit_ci=cost_ci,
        bounded=not crosses,
        improvement=bool(better),
        distinguishable=not crosses,
        no_cost_reason=reason,
        per_case=per_case,
        notes=notes,
    )


def _overlap_share(
    start: pd.Series, end: pd.Series, w0: pd.Timestamp | None, w1: pd.Timestamp | None
) -> pd.Series:
    """Share of each inclusive [start, end] day range that lies in the inclusive window."""
    if w0 is None or w1 is None:
        return pd.Series(1.0, index=start.index)
    days = (end - start).dt.days + 1
    lo = start.where(start > w0, w0)
    hi = end.where(end < w1, w1)
    inside = ((hi - lo).dt.days + 1).clip(lower=0)
    return (inside / days.clip(lower=1)).fillna(0.0)


# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------


def _fmt_p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def _mag(x: float, scale: str, unit: str) -> str:
    """Magnitude of a change, without sign, e.g. '12%', '2.1 days', '5.0 percentage points'."""
    a = abs(x)
    if scale == "ratio":
        v = a * 100
        return f"{v:.1f}%" if v < 1 else f"{v:.0f}%"
    if unit == "days":
        return f"{a:.1f} days"
    if unit == "percentage points":
        return f"{a:.1f} percentage points"
    return f"{a:.2f} {unit}".strip()


def _is_zero(x: float, scale: str, unit: str) -> bool:
    return _mag(x, scale, unit) in {"0.0%", "0.0 days", "0.0 percentage points"}


def _bare(x: float, scale: str) -> str:
    """Magnitude without the unit, for the first bound of 'a to b unit'."""
    a = abs(x)
    if scale == "ratio":
        return f"{a * 100:.1f}%" if a * 100 < 1 else f"{a * 100:.0f}%"
    return f"{a:.1f}"


def _ci_words(lo: float, hi: float, scale: str, unit: str) -> str:
    """'4% to 20%' when both bounds share a sign, else 'between a 12% fall and a 3% rise'."""
    if lo > 0 or hi < 0:
        a, b = sorted((abs(lo), abs(hi)))
        return f"{_bare(a, scale)} to {_mag(b, scale, unit)}"

    def adj(v: float) -> str:
        if scale == "ratio":
            return _mag(v, scale, unit)
        short = {"days": "day", "percentage points": "percentage-point"}.get(unit, unit)
        return f"{abs(v):.1f}-{short}"

    return f"between {_a(adj(lo))} fall and {_a(adj(hi))} rise"


def _a(words: str) -> str:
    """'a 12%' but 'an 8%', 'an 11%', 'an 80%' (said 'eight', 'eleven', 'eighty')."""
    digits = words.split(".")[0].split("%")[0].split("-")[0].replace(",", "")
    n = int(digits) if digits.isdigit() else -1
    an = str(n).startswith("8") or n in (11, 18) or 11_000 <= n < 12_000 or 18_000 <= n < 19_000
    return f"{'an' if an else 'a'} {words}"


def _signed(x: float, scale: str, unit: str, with_unit: bool = True) -> str:
    """An effect with its sign: '−15%', '+0.4%', '−0.9 days', '+2.1 percentage points'."""
    if not math.isfinite(x):
        return "no limit" if x > 0 else "−100%" if scale == "ratio" else "no limit"
    text = _mag(x, scale, unit) if with_unit or scale == "ratio" else _bare(x, scale)
    if _is_zero(x, scale, unit):
        return text
    return ("−" if x < 0 else "+") + text


def _range(lo: float, hi: float, scale: str, unit: str) -> str:
    """'−20% to −10%', '−1.1 to −0.8 days'."""
    return f"{_signed(lo, scale, unit, with_unit=False)} to {_signed(hi, scale, unit)}"


def _moved(change: float, scale: str, unit: str) -> str:
    """'fell 4%', 'rose 11%', 'barely changed', 'fell 0.5 days'."""
    if _is_zero(change, scale, unit):
        return "barely changed"
    return f"{'fell' if change < 0 else 'rose'} {_mag(change, scale, unit)}"


def _change(pre: float, post: float, scale: str) -> float:
    if not (math.isfinite(pre) and math.isfinite(post)):
        return math.nan
    if scale == "ratio":
        return post / pre - 1 if pre > 0 else math.nan
    return post - pre


def _lower_first(text: str) -> str:
    """'Fly-tipping reports' → 'fly-tipping reports' (for mid-sentence use)."""
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def describe(
    result: DidResult | BeforeAfterResult | CostEffectiveness, *, subject: str | None = None
) -> str:
    """One plain-English sentence for the page.

    For a difference-in-differences result the sentence gives what happened in each group of
    wards (simple averages before and after) and then the model's estimated effect with its 95%
    range, so that it never says "fell by more" when one group rose.

    Parameters
    ----------
    result
        From :func:`did`, :func:`before_after` or :func:`cost_effectiveness`.
    subject
        Override the sentence's subject (e.g. ``"Fly-tipping reports"``).

    Returns
    -------
    str

    Examples
    --------
    >>> r = DidResult("Pride", "cases_per_1k", -0.15, -0.20, -0.10, 0.01,
    ...               treated_pre_mean=1.0, treated_post_mean=0.96,
    ...               comparison_pre_mean=1.0, comparison_post_mean=1.11)
    >>> describe(r, subject="Fly-tipping reports")
    'Fly-tipping reports fell 4% in funded wards and rose 11% in comparison wards: the estimated effect of the money is −15% (95% range −20% to −10%).'
    """
    if isinstance(result, CostEffectiveness):
        return _describe_cost(result)
    out = OUTCOMES.get(result.outcome)
    scale = result.scale or (out.scale if out else "ratio")
    unit = result.unit or (out.unit if out else "%")
    subj = subject or result.subject or (out.subject if out else result.outcome)
    e, lo, hi = result.estimate, result.ci_low, result.ci_high
    chance = lo <= 0 <= hi
    if isinstance(result, BeforeAfterResult):
        tail = "; the range includes no change, so this could be chance." if chance else "."
        ci = _ci_words(lo, hi, scale, unit)
        if _is_zero(e, scale, unit):
            head = f"{subj} barely changed in funded wards after the money started"
        else:
            verb = "fell" if e < 0 else "rose"
            head = (
                f"{subj} {verb} by {_mag(e, scale, unit)} in funded wards after the money started"
            )
        return (
            f"{head} (95% range {ci}), but with no comparison wards this cannot separate the "
            f"funding from changes across the whole city{tail}"
        )
    tail = ". The range includes no change, so this could be chance." if chance else "."
    effect = f"{_signed(e, scale, unit)} (95% range {_range(lo, hi, scale, unit)})"
    t = _change(result.treated_pre_mean, result.treated_post_mean, scale)
    c = _change(result.comparison_pre_mean, result.comparison_post_mean, scale)
    if math.isfinite(t) and math.isfinite(c):
        moved_t, moved_c = _moved(t, scale, unit), _moved(c, scale, unit)
        if moved_t == moved_c:
            head = f"{subj} {moved_t} in both funded and comparison wards"
        else:
            head = f"{subj} {moved_t} in funded wards and {moved_c} in comparison wards"
        return f"{head}: the estimated effect of the money is {effect}{tail}"
    return (
        f"Set against comparison wards, the estimated effect of the money on "
        f"{_lower_first(subj)} in funded wards is {effect}{tail}"
    )


def _gbp(x: float, pence: bool | None = None) -> str:
    """£ with thousands separators; pence only for small sums (below £100 unless told)."""
    if pence is None:
        pence = x < 100
    return f"£{x:,.2f}" if pence else f"£{x:,.0f}"


def _describe_cost(ce: CostEffectiveness) -> str:
    if ce.spend_gbp <= 0:
        return "No ward-level spend for this programme was found in the period after it started."
    window = ""
    if ce.window_start is not None and ce.window_end is not None:
        window = f" between {ce.window_start:%d %b %Y} and {ce.window_end:%d %b %Y}"
    head = f"{_gbp(ce.spend_gbp)} of programme money was spent in the funded wards{window}"
    pc = ce.per_case
    if pc is not None and pc.per_case is not None and math.isclose(pc.spend_gbp, ce.spend_gbp):
        head += f" ({_gbp(pc.per_case)} per case closed, all types of case)"
    if ce.cost_per_unit is None or ce.cost_per_unit_ci is None:
        return f"{head}. {ce.no_cost_reason}".rstrip()
    a, b = ce.cost_per_unit_ci
    pence = min(a, ce.cost_per_unit) < 100  # one style for the estimate and both bounds
    est, a_txt, b_txt = (_gbp(v, pence) for v in (ce.cost_per_unit, a, b))
    per = _per_unit(OUTCOMES.get(ce.outcome), ce.unit_noun)
    return f"{head}; that is {est} per {per} (95% range {a_txt} to {b_txt})."


def _per_unit(out: Outcome | None, noun: str) -> str:
    """'report avoided', 'extra enforcement action', 'day off the median time to close'."""
    if out is not None and out.scale == "level":
        return noun  # "day off the median time to close" already says which way
    return f"{noun} avoided" if out is None or out.lower_is_better else f"extra {noun}"


REPORTING_CAVEAT = (
    "Reports measure reporting as well as dirt: more patrols, publicity or an easier app can "
    "raise reports even while streets get cleaner, and the reverse."
)


def caveats(result: DidResult | BeforeAfterResult) -> list[str]:
    """Plain-English caveats to show under the estimate.

    Parameters
    ----------
    result
        From :func:`did` or :func:`before_after`.

    Returns
    -------
    list[str]
        Most important first.

    Examples
    --------
    >>> r = DidResult("Pride", "cases_per_1k", -0.12, -0.20, -0.04, 0.01, n_treated=8,
    ...               n_comparison=22, few_clusters=True)
    >>> caveats(r)[0].startswith("Reports measure reporting")
    True
    """
    out: list[str] = []
    if result.outcome in {"cases_per_1k", "actions_per_100_fly_tips", "repeat_location_share"}:
        out.append(REPORTING_CAVEAT)
    if isinstance(result, BeforeAfterResult):
        out.append(
            "This is a before-and-after comparison in the funded wards only: anything that "
            "changed across the whole city at the same time (weather, season, a new reporting "
            "app, staffing) is mixed into the change."
        )
        if result.n_wards < FEW_TREATED:
            out.append(
                f"Only {result.n_wards} funded wards, so the interval is wide and less reliable."
            )
        return out + list(result.notes)
    if result.pretrend is not None and result.pretrend.warning:
        out.append(result.pretrend.warning)
    if result.few_clusters:
        if "bootstrap" in result.inference:
            how = (
                "the ranges come from a method built for few wards (a wild cluster bootstrap), "
                "which is more honest than the usual formula"
            )
        elif "funded wards − 1" in result.inference:
            how = (
                "the ranges are widened for the small number of funded wards (t with funded "
                "wards − 1 degrees of freedom), which our simulations show brings them close to, "
                "but not always up to, their stated 95%"
            )
        else:
            how = "the usual formula understates the uncertainty: treat the interval as too narrow"
        out.append(
            f"Only {result.n_treated} funded and {result.n_comparison} comparison wards: with so "
            f"few wards the intervals are wide, and {how}."
        )
    out.append(
        "Spill-over: money in funded wards can push problems such as fly-tipping into "
        "neighbouring wards, or clean their streets too; either way the comparison with nearby "
        "wards is distorted."
    )
    worse = _pre_gap(result)
    if worse is not None and worse > 0.10:
        out.append(
            f"Funded wards started {worse:.0%} worse than comparison wards. If they were chosen "
            "because of a recent bad spell, some improvement would have happened anyway "
            "(regression to the mean)."
        )
    if "pre_level" in result.matched_on:
        out.append(
            "Comparison wards were matched on their level before the start; if that level was "
            "partly a passing blip, matching can itself create a spurious difference."
        )
    return out + list(result.notes)


def _pre_gap(r: DidResult) -> float | None:
    t, c = r.treated_pre_mean, r.comparison_pre_mean
    if not (math.isfinite(t) and math.isfinite(c)) or c == 0:
        return None
    gap = (t - c) / abs(c)
    return gap if r.lower_is_better else -gap


# --------------------------------------------------------------------------------------------
# Chart data
# --------------------------------------------------------------------------------------------


def treated_vs_comparison_series(
    panel: pd.DataFrame,
    programme: Programme,
    outcome: str,
    *,
    comparison: str | Sequence[str] = "untreated",
    exclude: Iterable[str] = (),
    match_on: Sequence[str] | None = None,
    deprivation: pd.Series | None = None,
    n_matches: int = 2,
) -> pd.DataFrame:
    """Average outcome per period in funded and comparison wards, with a 95% CI across wards.

    Parameters
    ----------
    panel, programme, outcome, comparison, exclude, match_on, deprivation, n_matches
        As for :func:`did` (every period is kept, including the transition period).

    Returns
    -------
    pandas.DataFrame
        Columns ``period_start``, ``group`` (``"Funded wards"`` / ``"Comparison wards"``),
        ``value`` (mean across wards, each ward weighted equally), ``lo``, ``hi`` (t interval of
        the mean) and ``n_wards``; sorted by group then period.

    Examples
    --------
    >>> s = treated_vs_comparison_series(panel, programme, "cases_per_1k")  # doctest: +SKIP
    >>> sorted(s["group"].unique())  # doctest: +SKIP
    ['Comparison wards', 'Funded wards']
    """
    prep = _prepare(
        panel,
        Programme(programme.name, programme.start, programme.treated_wards, None),
        outcome,
        comparison=comparison,
        exclude=exclude,
        match_on=match_on,
        deprivation=deprivation,
        n_matches=n_matches,
    )
    wards = set(prep.treated) | set(prep.comparison)
    df = panel.copy()
    df["ward_code"] = df["ward_code"].astype(str)
    df = df[df["ward_code"].isin(wards)]
    df["period_start"] = _naive_series(df["period_start"])
    df["value"] = pd.to_numeric(df[prep.outcome.column], errors="coerce") * prep.pct_scale
    df = df[np.isfinite(df["value"])]
    df["group"] = np.where(df["ward_code"].isin(set(prep.treated)), FUNDED, COMPARISON)
    g = df.groupby(["group", "period_start"])["value"]
    tab = g.agg(value="mean", sd="std", n_wards="count").reset_index()
    tcrit = stats.t.ppf(0.975, (tab["n_wards"] - 1).clip(lower=1))
    half = tcrit * tab["sd"].fillna(0) / np.sqrt(tab["n_wards"])
    tab["lo"] = tab["value"] - half
    tab["hi"] = tab["value"] + half
    tab["group"] = pd.Categorical(tab["group"], [FUNDED, COMPARISON])
    tab = tab.sort_values(["group", "period_start"]).reset_index(drop=True)
    tab["group"] = tab["group"].astype(str)
    return tab[["period_start", "group", "value", "lo", "hi", "n_wards"]]
