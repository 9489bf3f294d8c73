"""Spend vs results when wards join a programme at different dates: the imputation estimator.

Two-way fixed effects with one ``funded × after`` term is biased when wards start at different
dates and the effect changes with time funded (Goodman-Bacon 2021): already-funded wards end up
as comparisons for later ones. This module uses the **imputation estimator** of Borusyak,
Jaravel & Spiess (2024), which for levels is the same as Wooldridge's (2021) extended two-way
fixed effects with a full set of cohort × period terms, and for rates is its Poisson version
(Wooldridge 2023):

1. fit ward and period effects on the ward-periods **without** the money (wards never funded,
   and funded wards before their own start): ``g(E[y_wt]) = a_w + b_t``, by Poisson
   pseudo-maximum likelihood (rates, ``g = log``) or least squares (levels);
2. impute what each funded ward-period would have been without the money, ``y0 = g⁻¹(a_w + b_t)``;
3. compare: for a set of funded ward-periods, ``Σ y / Σ y0 − 1`` (rates: a proportional change)
   or ``mean(y − y0)`` (levels). The overall effect uses every funded ward-period; one effect per
   start-date cohort; one per period relative to the start (the event study).

Standard errors come from the estimator's influence function, clustered by ward (the first
step's uncertainty included), with t(G−1) critical values. The same machinery gives the
event-study leads (funded wards' periods before the start, left out of the first step and imputed
like funded periods), a joint pre-trend test calibrated by the wild cluster restricted score
bootstrap, a linear-drift sensitivity statement and a placebo start a year earlier. The method is
written up in ``docs/evaluation.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from neighbourhood.evaluation import (
    BOOTSTRAP_DRAWS,
    OUTCOMES,
    Outcome,
    Programme,
    _fit,
    _Layout,
    _naive_series,
    _one_blas_thread,
    _outcome,
    _period_table,
    _ppml,
    _ScoreBootstrap,
    _solve,
)
from neighbourhood.schemas import CITYWIDE

__all__ = [
    "LEADS_SHOWN",
    "Placebo",
    "Pretrend",
    "StaggeredResult",
    "estimate",
    "placebo_start",
]

#: Periods before the start shown in the event study (a year of months).
LEADS_SHOWN = 12
#: Bins the leads are grouped into for the joint pre-trend test.
LEAD_BINS = 4
METHOD_RATIO = (
    "imputation estimator (Borusyak, Jaravel & Spiess 2024) with Poisson pseudo-maximum "
    "likelihood: ward and month effects fitted on ward-months without the money"
)
METHOD_LEVEL = (
    "imputation estimator (Borusyak, Jaravel & Spiess 2024; equal to Wooldridge's extended "
    "two-way fixed effects): ward and month effects fitted by least squares on ward-months "
    "without the money"
)


@dataclass
class Pretrend:
    """What the months before the start say about parallel trends: evidence, not a gate.

    ``p_value`` is the joint test that the event-study leads (grouped into up to four bins) are
    zero, by the wild cluster restricted score bootstrap (``p_value_analytic``: the cluster-robust
    Wald test, which rejects too often with few wards). ``slope`` (``slope_ci``) is a linear drift
    of funded against comparison wards per period before the start, on the model scale (log for
    rates). ``breakdown`` is the continuing drift per period that would move the estimate to
    zero, and ``breakdown_ci`` the one that would make its 95% range reach zero (0 when it
    already does). ``sentence`` says it in plain words.
    """

    p_value: float | None
    p_value_analytic: float | None
    n_bins: int
    slope: float
    slope_ci: tuple[float, float]
    breakdown: float
    breakdown_ci: float
    sentence: str
    method: str = ""


@dataclass
class Placebo:
    """A check that should find nothing: a start a year early, or an outcome the money should
    not move. ``estimate``/``ci_low``/``ci_high`` are in reporting units; ``sentence`` reads it."""

    kind: str
    label: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    sentence: str
    outcome: str = ""
    scale: str = "ratio"
    unit: str = "%"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "kind": self.kind,
            "label": self.label,
            "outcome": self.outcome,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "p_value": self.p_value,
            "sentence": self.sentence,
        }


@dataclass
class StaggeredResult:
    """Overall effect, one effect per start-date cohort, event study and per-ward table.

    Effects are in reporting units: a proportional change for ``scale="ratio"`` (``-0.15`` = 15%
    fewer than the imputed path without the money), an absolute change in ``unit`` for
    ``scale="level"``. ``coef``/``se`` are on the model scale (log for ratio outcomes).

    ``cohorts``: ``start``, ``wards`` (tuple), ``n_wards``, ``estimate``, ``ci_low``, ``ci_high``,
    ``n_periods``. ``event_study``: ``relative_period`` (0 = first period with the money, −1 the
    one before), ``estimate``, ``ci_low``, ``ci_high``, ``n_wards``, ``lead`` (True before the
    start). ``wards``: ``ward_code``, ``start``, ``before``, ``after``, ``expected`` (imputed
    without the money), ``effect``, ``comparison_change`` (comparison wards over the same
    periods).
    """

    programme: str
    outcome: str
    label: str
    scale: str
    unit: str
    lower_is_better: bool
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    coef: float
    se: float
    method: str
    inference: str
    cohorts: pd.DataFrame
    event_study: pd.DataFrame
    wards: pd.DataFrame
    pretrend: Pretrend | None
    treated_wards: tuple[str, ...]
    comparison_wards: tuple[str, ...]
    n_obs: int
    n_treated_cells: int
    pct_scale: float = 1.0
    period: str = "month"
    placebos: list[Placebo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Panel
# --------------------------------------------------------------------------------------------


@dataclass
class _Panel:
    frame: pd.DataFrame  # ward_code, w, pidx, y, period_start, treated_ward, rel, D, start
    outcome: Outcome
    treated: tuple[str, ...]
    comparison: tuple[str, ...]
    pct_scale: float
    notes: list[str]
    period: str


def _period_word(periods: pd.DataFrame) -> str:
    if len(periods) < 2:
        return "month"
    days = (periods["period_end"] - periods["period_start"]).dt.days.median()
    return "month" if days < 40 else "quarter" if days < 120 else "year"


def _panel(
    panel: pd.DataFrame,
    programme: Programme,
    outcome: str | Outcome,
    *,
    comparison: str | Sequence[str] = "untreated",
    exclude: Iterable[str] = (),
) -> _Panel:
    out = _outcome(outcome)
    missing = {"ward_code", "period_start", out.column} - set(panel.columns)
    if missing:
        raise ValueError(f"panel is missing column(s): {', '.join(sorted(missing))}")
    notes: list[str] = []
    df = panel.copy()
    df["ward_code"] = df["ward_code"].astype(str).astype(object)
    df = df[df["ward_code"].str.lower() != CITYWIDE]
    df["period_start"] = _naive_series(df["period_start"])
    periods = _period_table(df)
    df = df.merge(periods, on="period_start", how="left")
    df["y"] = pd.to_numeric(df[out.column], errors="coerce").astype(float)
    pct_scale = 1.0
    if out.unit == "percentage points":
        top = np.nanmax(np.abs(df["y"].to_numpy())) if df["y"].notna().any() else 0.0
        if top <= 1.0:
            pct_scale = 100.0
    if programme.end is not None:
        late = df["period_start"] > programme.end
        if late.any():
            notes.append(f"Periods after the money ended ({programme.end:%d %b %Y}) are left out.")
        df = df[~late]

    starts = programme.starts()
    in_panel = set(df["ward_code"])
    absent = sorted(set(starts) - in_panel)
    if absent:
        notes.append(
            f"{len(absent)} funded ward(s) have no data and are left out: {', '.join(absent)}."
        )
    starts = {w: s for w, s in starts.items() if w in in_panel}
    if not starts:
        raise ValueError(f"none of the funded wards of {programme.name!r} has any data")
    excl = {str(w) for w in exclude}
    if isinstance(comparison, str):
        if comparison != "untreated":
            raise ValueError('comparison must be "untreated" or a list of ward codes')
        comp = sorted(in_panel - set(starts) - excl)
    else:
        comp = sorted({str(w) for w in comparison} & in_panel - set(starts))
    df = df[df["ward_code"].isin(set(starts) | set(comp))].copy()
    df["start"] = df["ward_code"].map(starts)
    df["treated_ward"] = df["start"].notna()
    # a funded ward's own transition period (contains its start but does not begin on it)
    transition = (
        df["treated_ward"] & (df["period_start"] < df["start"]) & (df["period_end"] > df["start"])
    )
    if transition.any():
        notes.append(
            f"{int(transition.sum())} funded ward-period(s) that contain the ward's start date "
            "(partly before, partly after) are left out."
        )
    df = df[~transition]
    n_bad = int((~np.isfinite(df["y"])).sum())
    df = df[np.isfinite(df["y"])]
    if n_bad:
        notes.append(f"{n_bad} ward-period(s) with no value for this outcome are left out.")
    if out.scale == "ratio":
        if (df["y"] < 0).any():
            raise ValueError(f"{out.label}: negative values cannot be modelled as a rate")
        sums = df.groupby("ward_code")["y"].sum()
        zero = sorted(sums.index[sums <= 0])
        if zero:
            notes.append(f"{len(zero)} ward(s) with zero in every period are left out.")
            df = df[~df["ward_code"].isin(zero)]
    df["D"] = df["treated_ward"] & (df["period_start"] >= df["start"])
    # a funded ward needs periods without the money to estimate its own level
    pre_n = df[~df["D"]].groupby("ward_code").size()
    no_pre = sorted(set(df.loc[df["treated_ward"], "ward_code"]) - set(pre_n.index))
    if no_pre:
        notes.append(
            f"{len(no_pre)} funded ward(s) have no period before their start and are left out: "
            f"{', '.join(no_pre)}."
        )
        df = df[~df["ward_code"].isin(no_pre)]
    # a period needs wards without the money to estimate its own level
    untreated_periods = set(df.loc[~df["D"], "pidx"])
    orphan = df["D"] & ~df["pidx"].isin(untreated_periods)
    if orphan.any():
        notes.append(
            f"{int(orphan.sum())} funded ward-period(s) in periods when every ward had the money "
            "are left out (nothing to compare them with)."
        )
        df = df[~orphan]
    if out.scale == "ratio":
        psums = df[~df["D"]].groupby("pidx")["y"].sum()
        dead = set(psums.index[psums <= 0])
        df = df[~df["pidx"].isin(dead)]
    if not df["D"].any():
        raise ValueError(
            f"need periods both before and after the start to evaluate {programme.name!r}"
        )
    # first period with the money, per funded ward: relative time counts from it
    fp = {w: periods.loc[periods["period_start"] >= s, "pidx"].min() for w, s in starts.items()}
    df["first_post"] = df["ward_code"].map(fp).astype(float)
    df["rel"] = df["pidx"] - df["first_post"]
    treated = tuple(sorted(set(df.loc[df["treated_ward"], "ward_code"])))
    comp_left = tuple(sorted(set(df.loc[~df["treated_ward"], "ward_code"])))
    df["w"] = pd.Categorical(df["ward_code"]).codes.astype(np.int64)
    return _Panel(
        frame=df.reset_index(drop=True),
        outcome=out,
        treated=treated,
        comparison=comp_left,
        pct_scale=pct_scale,
        notes=notes,
        period=_period_word(periods),
    )


# --------------------------------------------------------------------------------------------
# The imputation estimator
# --------------------------------------------------------------------------------------------


@dataclass
class _Imputed:
    coef: np.ndarray  # one per target (model scale)
    se: np.ndarray
    vcov: np.ndarray
    mu0: np.ndarray  # imputed value for each imputed cell
    dof: int
    n_clusters: int


def _impute(df: pd.DataFrame, fit_mask: np.ndarray, targets: np.ndarray, ratio: bool) -> _Imputed:
    """Fit ward + period effects on ``fit_mask`` rows, impute the others, aggregate per target.

    ``targets`` is a (rows not in ``fit_mask``) × K 0/1 matrix: which imputed cells make up each
    target. Returns each target's effect (log ratio or mean difference), its ward-clustered
    influence-function standard error (first step included) and the imputed values.
    """
    y = df["y"].to_numpy(float)
    w_all = df["w"].to_numpy(np.int64)
    p_codes = pd.Categorical(df["pidx"]).codes.astype(np.int64)
    fit = np.asarray(fit_mask, bool)
    # re-index periods to those in the fit (imputed cells in other periods are not allowed)
    fit_periods = np.unique(p_codes[fit])
    remap = -np.ones(p_codes.max() + 1, np.int64)
    remap[fit_periods] = np.arange(len(fit_periods))
    p_all = remap[p_codes]
    fit_wards = np.unique(w_all[fit])
    wmap = -np.ones(w_all.max() + 1, np.int64)
    wmap[fit_wards] = np.arange(len(fit_wards))
    w2 = wmap[w_all]
    imp = ~fit
    if (p_all[imp] < 0).any() or (w2[imp] < 0).any():
        raise ValueError("an imputed ward-period has no ward or period level to impute from")
    lay = _Layout(
        pd.DataFrame({"ward_code": w2[fit], "pidx": p_all[fit]}), np.zeros((fit.sum(), 0)), True
    )
    g, t = lay.g, lay.t
    yf = y[fit]
    if ratio:
        beta = _ppml(yf, lay, np.zeros(len(yf)))
        mu_f = np.exp(np.clip(lay.xb(beta), -50, 50))
        h = lay.xtwx(mu_f)
    else:
        h = lay.xtwx(np.ones(len(yf)))
        beta = _solve(h, lay.xt(yf))
        mu_f = lay.xb(beta)
    per = np.concatenate([[0.0], beta[g : g + t - 1]])
    wi, pi = w2[imp], p_all[imp]
    xb0 = beta[wi] + per[pi]
    mu0 = np.exp(np.clip(xb0, -50, 50)) if ratio else xb0
    yi = y[imp]
    a = np.asarray(targets, float).reshape(len(yi), -1)
    k = a.shape[1]
    # c_k = sum over the target's cells of d(imputed)/d(beta)
    dmu = mu0 if ratio else np.ones(len(yi))
    c = np.zeros((lay.m, k))
    for j in range(k):
        wt = a[:, j] * dmu
        c[:g, j] = np.bincount(wi, wt, g)
        c[g:, j] = np.bincount(pi, wt, t)[1:]
    v = (
        np.linalg.lstsq(h, c, rcond=None)[0]
        if np.linalg.matrix_rank(h) < lay.m
        else np.linalg.solve(h, c)
    )
    vper = np.vstack([np.zeros((1, k)), v[g : g + t - 1]])
    xv = v[lay.wc] + vper[lay.pc]  # x_cell' v_k for fit cells
    resid = yf - mu_f
    n_w = int(w_all.max()) + 1
    first = np.zeros((n_w, k))
    np.add.at(first, w_all[fit], xv * resid[:, None])
    second = np.zeros((n_w, k))
    if ratio:
        num = a.T @ yi
        den = a.T @ mu0
        r = np.divide(num, den, out=np.full(k, np.nan), where=den > 0)
        coef = np.log(np.where(r > 0, r, np.nan))
        np.add.at(second, w_all[imp], a * (yi[:, None] / np.where(r > 0, r, 1.0) - mu0[:, None]))
        psi = (second - first) / np.where(den > 0, den, np.nan)
    else:
        n_k = a.sum(axis=0)
        coef = np.divide(a.T @ (yi - mu0), n_k, out=np.full(k, np.nan), where=n_k > 0)
        np.add.at(second, w_all[imp], a * ((yi - mu0)[:, None] - coef[None, :]))
        psi = (second - first) / np.where(n_k > 0, n_k, np.nan)
    n_clusters = len(np.unique(w_all))
    # CR1, as Stata and statsmodels: G/(G-1) × (N-1)/(N-K), K the first step's parameters
    n_rows = len(y)
    adj = n_clusters / max(n_clusters - 1, 1) * (n_rows - 1) / max(n_rows - lay.m, 1)
    psi = np.nan_to_num(psi)
    vcov = adj * psi.T @ psi
    se = np.sqrt(np.clip(np.diag(vcov), 0, None))
    return _Imputed(coef, se, vcov, mu0, max(n_clusters - 1, 1), n_clusters)


def _dof(res: _Imputed, n_funded: int) -> int:
    """Degrees of freedom for a target's t interval: its funded wards − 1 (at most G − 1).

    The effect is learnt from the funded wards' own periods, and with few of them the clustered
    variance is too small; t(G − 1) gave 89–93% coverage with 12 funded wards of 30 in our
    simulations, t(funded − 1) brings it to the nominal 95% (docs/evaluation.md).
    """
    return int(max(1, min(res.dof, n_funded - 1)))


def _report(value: float, ratio: bool, pct_scale: float) -> float:
    if not math.isfinite(value):
        return math.nan
    return math.expm1(value) if ratio else value * pct_scale


def _ci(coef: float, se: float, dof: int, ratio: bool, pct: float) -> tuple[float, float, float]:
    tcrit = float(stats.t.ppf(0.975, dof))
    lo, hi = coef - tcrit * se, coef + tcrit * se
    p = float(2 * stats.t.sf(abs(coef) / se, dof)) if se > 0 else math.nan
    return _report(lo, ratio, pct), _report(hi, ratio, pct), p


@_one_blas_thread()
def estimate(
    panel: pd.DataFrame,
    programme: Programme,
    outcome: str,
    *,
    comparison: str | Sequence[str] = "untreated",
    exclude: Iterable[str] = (),
    leads: int = LEADS_SHOWN,
    check_pretrends: bool = True,
    seed: int = 12345,
) -> StaggeredResult:
    """Effect of a programme whose wards may have started at different dates.

    Parameters
    ----------
    panel
        Ward × period table (``ward_code``, ``period_start`` and the outcome column); city-total
        rows are ignored.
    programme
        The programme; :meth:`Programme.starts` gives each funded ward's start.
    outcome
        A key of :data:`neighbourhood.evaluation.OUTCOMES`.
    comparison, exclude
        As for :func:`neighbourhood.evaluation.did`. Funded wards that have not started yet also
        serve as comparisons (their periods before their own start are in the first step).
    leads
        Periods before the start shown in the event study (fewer when the data are shorter).
    check_pretrends
        Also run the pre-trend evidence (event-study leads, bootstrap test, drift sensitivity).
    seed
        Seed of the bootstrap weights of the pre-trend test.

    Returns
    -------
    StaggeredResult

    Examples
    --------
    >>> r = estimate(panel, programme, "cases_per_1k")  # doctest: +SKIP
    >>> r.cohorts[["start", "n_wards", "estimate"]]  # doctest: +SKIP
    """
    prep = _panel(panel, programme, outcome, comparison=comparison, exclude=exclude)
    df, out = prep.frame, prep.outcome
    ratio = out.scale == "ratio"
    pct = prep.pct_scale
    d = df["D"].to_numpy()
    imp = df[d].reset_index(drop=True)
    # targets: overall, each cohort, each relative period
    cohort_keys = sorted(imp["start"].unique())
    rels = sorted(imp["rel"].unique())
    cols = [np.ones(len(imp))]
    cols += [(imp["start"] == s).to_numpy(float) for s in cohort_keys]
    cols += [(imp["rel"] == e).to_numpy(float) for e in rels]
    res = _impute(df, ~d, np.column_stack(cols), ratio)
    dof = _dof(res, imp["ward_code"].nunique())
    lo, hi, p = _ci(res.coef[0], res.se[0], dof, ratio, pct)

    cohorts = []
    for j, s in enumerate(cohort_keys, start=1):
        part = imp[imp["start"] == s]
        c_dof = _dof(res, part["ward_code"].nunique())
        c_lo, c_hi, _ = _ci(res.coef[j], res.se[j], c_dof, ratio, pct)
        wards = tuple(sorted(part["ward_code"].unique()))
        cohorts.append(
            {
                "start": pd.Timestamp(s),
                "wards": wards,
                "n_wards": len(wards),
                "estimate": _report(res.coef[j], ratio, pct),
                "ci_low": c_lo,
                "ci_high": c_hi,
                "n_periods": int(part["pidx"].nunique()),
            }
        )
    events = []
    base = 1 + len(cohort_keys)
    for j, e in enumerate(rels):
        e_dof = _dof(res, imp.loc[imp["rel"] == e, "ward_code"].nunique())
        e_lo, e_hi, _ = _ci(res.coef[base + j], res.se[base + j], e_dof, ratio, pct)
        events.append(
            {
                "relative_period": int(e),
                "estimate": _report(res.coef[base + j], ratio, pct),
                "ci_low": e_lo,
                "ci_high": e_hi,
                "n_wards": int(imp.loc[imp["rel"] == e, "ward_code"].nunique()),
                "lead": False,
            }
        )
    notes = list(prep.notes)
    singles = [c for c in cohorts if c["n_wards"] == 1]
    if singles:
        notes.append(
            f"{len(singles)} start date(s) have a single funded ward: the range for such a "
            "cohort reflects only the uncertainty in the comparison, not the ward's own "
            "month-to-month noise, so it is too narrow."
        )
    imp = imp.assign(mu0=res.mu0)
    pre = None
    lead_rows: list[dict[str, object]] = []
    if check_pretrends:
        pre, lead_rows = _pretrend(df, imp, res, ratio, pct, leads, seed, out)
    event_study = pd.DataFrame(
        lead_rows + events,
        columns=["relative_period", "estimate", "ci_low", "ci_high", "n_wards", "lead"],
    ).sort_values("relative_period", ignore_index=True)
    return StaggeredResult(
        programme=programme.name,
        outcome=out.key,
        label=out.label,
        scale=out.scale,
        unit=out.unit,
        lower_is_better=out.lower_is_better,
        estimate=_report(res.coef[0], ratio, pct),
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        coef=float(res.coef[0]),
        se=float(res.se[0]),
        method=METHOD_RATIO if ratio else METHOD_LEVEL,
        inference=(
            f"influence-function standard errors clustered by ward (first step included), t with "
            f"{dof} degrees of freedom (funded wards − 1)"
        ),
        cohorts=pd.DataFrame(cohorts),
        event_study=event_study,
        wards=_ward_table(df, imp, ratio, pct),
        pretrend=pre,
        treated_wards=prep.treated,
        comparison_wards=prep.comparison,
        n_obs=len(df),
        n_treated_cells=int(d.sum()),
        pct_scale=pct,
        period=prep.period,
        notes=notes,
    )


def _ward_table(df: pd.DataFrame, imp: pd.DataFrame, ratio: bool, pct: float) -> pd.DataFrame:
    """Each funded ward before and after, against its imputed path and the comparison wards."""
    comp = df[~df["treated_ward"]]
    rows = []
    for ward, part in imp.groupby("ward_code", sort=True):
        own = df[df["ward_code"] == ward]
        before = own.loc[~own["D"], "y"].mean()
        after = part["y"].mean()
        expected = part["mu0"].mean()
        post_p = set(part["pidx"])
        pre_p = set(own.loc[~own["D"], "pidx"])
        c_pre = comp.loc[comp["pidx"].isin(pre_p), "y"].mean()
        c_post = comp.loc[comp["pidx"].isin(post_p), "y"].mean()
        if ratio:
            effect = after / expected - 1 if expected > 0 else math.nan
            c_change = c_post / c_pre - 1 if c_pre > 0 else math.nan
            own_change = after / before - 1 if before > 0 else math.nan
        else:
            effect = (after - expected) * pct
            c_change = (c_post - c_pre) * pct
            own_change = (after - before) * pct
        rows.append(
            {
                "ward_code": ward,
                "start": part["start"].iloc[0],
                "before": before * pct,
                "after": after * pct,
                "change": own_change,
                "comparison_change": c_change,
                "comparison_before": c_pre * pct,
                "comparison_after": c_post * pct,
                "expected": expected * pct,
                "effect": effect,
                "periods_after": len(post_p),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Pre-trends: leads, calibrated test, drift sensitivity
# --------------------------------------------------------------------------------------------


def _pretrend(
    df: pd.DataFrame,
    imp: pd.DataFrame,
    res: _Imputed,
    ratio: bool,
    pct: float,
    leads: int,
    seed: int,
    out: Outcome,
) -> tuple[Pretrend | None, list[dict[str, object]]]:
    pre_mask = df["treated_ward"] & ~df["D"]
    n_pre = df[pre_mask].groupby("ward_code").size()
    if n_pre.empty or n_pre.max() < 2:
        return None, []
    k = int(min(leads, n_pre.max() - 1))
    # lead cells: a funded ward's periods -k..-1, for wards that keep a reference period before
    keeps = set(n_pre.index[n_pre > k])
    lead = (
        pre_mask & df["ward_code"].isin(keeps) & (df["rel"] >= -k) & (df["rel"] <= -1)
    ).to_numpy()
    rows: list[dict[str, object]] = []
    if lead.any():
        sub = df[lead].reset_index(drop=True)
        rel = sorted(sub["rel"].unique())
        tmat = np.column_stack([(sub["rel"] == e).to_numpy(float) for e in rel])
        fit_mask = ~(df["D"].to_numpy() | lead)
        lres = _impute(
            df[fit_mask | lead].reset_index(drop=True), fit_mask[fit_mask | lead], tmat, ratio
        )
        for j, e in enumerate(rel):
            l_dof = _dof(lres, sub.loc[sub["rel"] == e, "ward_code"].nunique())
            lo, hi, _ = _ci(lres.coef[j], lres.se[j], l_dof, ratio, pct)
            rows.append(
                {
                    "relative_period": int(e),
                    "estimate": _report(lres.coef[j], ratio, pct),
                    "ci_low": lo,
                    "ci_high": hi,
                    "n_wards": int(sub.loc[sub["rel"] == e, "ward_code"].nunique()),
                    "lead": True,
                }
            )
    # joint test on the untreated cells: funded × lead-bin terms, bootstrap and Wald
    u = df[~df["D"]].reset_index(drop=True)
    u_lead = lead[~df["D"].to_numpy()]
    p_boot = p_wald = None
    n_bins = 0
    if u_lead.any():
        rel_vals = np.sort(u.loc[u_lead, "rel"].unique())
        bins = np.array_split(rel_vals, min(LEAD_BINS, len(rel_vals)))
        dmat = np.column_stack([(u_lead & u["rel"].isin(b).to_numpy()).astype(float) for b in bins])
        n_bins = dmat.shape[1]
        boot = _ScoreBootstrap(u, dmat, ratio, True, BOOTSTRAP_DRAWS, seed)
        p_boot = boot.p_value()
        fit = _fit(u, dmat, ratio)
        b = fit.coef[-n_bins:]
        v = fit.cov[-n_bins:, -n_bins:]
        try:
            wald = float(b @ np.linalg.solve(v, b))
            p_wald = float(stats.f.sf(wald / n_bins, n_bins, max(fit.n_clusters - 1, 1)))
        except np.linalg.LinAlgError:
            p_wald = math.nan
    # linear drift before the start (funded wards' pre-periods against the comparison)
    z = np.nan_to_num(np.where(u["treated_ward"].to_numpy(), u["rel"].to_numpy(float), 0.0))
    slope, slope_lo, slope_hi = math.nan, math.nan, math.nan
    if np.any(z != 0):
        fit = _fit(u, z, ratio)
        slope = float(fit.coef[-1])
        se = math.sqrt(max(float(fit.cov[-1, -1]), 0.0))
        tcrit = float(stats.t.ppf(0.975, max(fit.n_clusters - 1, 1)))
        slope_lo, slope_hi = slope - tcrit * se, slope + tcrit * se
    # bias of the estimate per unit of continuing drift: mean distance (in periods) of the
    # funded periods from the ward's own pre-period average, weighted as the estimator weighs
    pre_rel = df[pre_mask].groupby("ward_code")["rel"].mean()
    dist = imp["rel"] - imp["ward_code"].map(pre_rel)
    wts = imp["mu0"].clip(lower=0) if ratio else pd.Series(1.0, index=imp.index)
    lever = float((dist * wts).sum() / wts.sum()) if wts.sum() > 0 else math.nan
    tcrit = float(stats.t.ppf(0.975, _dof(res, imp["ward_code"].nunique())))
    coef, se = float(res.coef[0]), float(res.se[0])
    lo, hi = coef - tcrit * se, coef + tcrit * se
    breakdown = coef / lever if lever else math.nan
    if lo <= 0 <= hi:
        breakdown_ci = 0.0
    else:
        breakdown_ci = (hi if coef < 0 else lo) / lever if lever else math.nan
    pre = Pretrend(
        p_value=p_boot,
        p_value_analytic=p_wald,
        n_bins=n_bins,
        slope=slope,
        slope_ci=(slope_lo, slope_hi),
        breakdown=breakdown,
        breakdown_ci=breakdown_ci,
        sentence="",
        method=(
            f"joint test of {n_bins} groups of periods before the start: wild cluster restricted "
            f"score bootstrap by ward ({BOOTSTRAP_DRAWS} draws)"
        ),
    )
    pre.sentence = _pretrend_sentence(pre, ratio, pct, out)
    return pre, rows


def _drift(x: float, ratio: bool, pct: float, unit: str, period: str = "month") -> str:
    if not math.isfinite(x):
        return "–"
    if ratio:
        v = math.expm1(x) * 100
        return f"{'−' if v < 0 else '+' if v > 0 else ''}{abs(v):.2f}% a {period}"
    v = x * pct
    short = {"days": "days", "percentage points": "percentage points"}.get(unit, unit)
    return f"{'−' if v < 0 else '+' if v > 0 else ''}{abs(v):.2f} {short} a {period}"


def _pretrend_sentence(pre: Pretrend, ratio: bool, pct: float, out: Outcome) -> str:
    """Plain words: what the months before the start show, and how large a drift would have to
    be to explain the result (never a verdict that the comparison holds)."""
    parts = []
    if pre.p_value is not None and math.isfinite(pre.p_value):
        gap = (
            "the gaps between funded and comparison wards in the months before the start are "
            "larger than chance would usually give"
            if pre.p_value < 0.10
            else "the gaps between funded and comparison wards in the months before the start "
            "are within what chance would give"
        )
        parts.append(f"Before the money, {gap} (p = {pre.p_value:.2f}).")
    if math.isfinite(pre.slope):
        lo, hi = pre.slope_ci
        parts.append(
            f"As a straight-line drift, funded wards moved {_drift(pre.slope, ratio, pct, out.unit)}"
            f" against comparison wards (95% range {_drift(lo, ratio, pct, out.unit)} to "
            f"{_drift(hi, ratio, pct, out.unit)})."
        )
    if math.isfinite(pre.breakdown):
        if pre.breakdown_ci == 0.0:
            parts.append(
                "The 95% range of the effect already includes no change; a drift of "
                f"{_drift(pre.breakdown, ratio, pct, out.unit)} carrying on after the start would "
                "explain all of the central estimate."
            )
        else:
            lo, hi = pre.slope_ci
            within = (math.isfinite(lo) and min(lo, hi) <= pre.breakdown_ci <= max(lo, hi)) or (
                math.isfinite(lo)
                and pre.breakdown_ci * pre.slope > 0
                and abs(pre.slope) >= abs(pre.breakdown_ci)
            )
            verdict = (
                "The drift measured before the start cannot rule out a drift that large, so the "
                "effect may be a trend that was already under way."
                if within
                else "That is outside the range of drift measured before the start."
            )
            parts.append(
                "A drift of "
                f"{_drift(pre.breakdown_ci, ratio, pct, out.unit)} in funded wards, already "
                "under way and carrying on after the start, would be enough to make the 95% range "
                f"of the effect reach no change ({_drift(pre.breakdown, ratio, pct, out.unit)} "
                f"would erase the central estimate). {verdict}"
            )
    return " ".join(parts)


# --------------------------------------------------------------------------------------------
# Placebo: the same estimator with every start a year earlier
# --------------------------------------------------------------------------------------------


def placebo_start(
    panel: pd.DataFrame,
    programme: Programme,
    outcome: str,
    *,
    months: int = 12,
    comparison: str | Sequence[str] = "untreated",
    exclude: Iterable[str] = (),
) -> Placebo:
    """Pretend every funded ward started ``months`` earlier, on data from before the real start.

    Each funded ward's periods from its real start on (and its transition period) are dropped,
    so the placebo "effect" compares the year before the money with the years before that. It
    should be near zero; a clear placebo effect means funded and comparison wards were already
    moving apart, or something else changed at about that time.

    Parameters
    ----------
    panel, programme, outcome, comparison, exclude
        As for :func:`estimate`.
    months
        How much earlier the placebo start is (default a year).

    Returns
    -------
    Placebo
        ``estimate`` is None (with the reason in ``sentence``) when there are too few periods
        before the placebo start.

    Examples
    --------
    >>> placebo_start(panel, programme, "cases_per_1k").sentence  # doctest: +SKIP
    """
    out = _outcome(outcome)
    label = f"Start {months} months earlier" if months != 12 else "Start a year earlier"
    starts = programme.starts()
    df = panel[panel["ward_code"].astype(str).str.lower() != CITYWIDE].copy()
    df["period_start"] = _naive_series(df["period_start"])
    df = df.merge(_period_table(df), on="period_start", how="left")
    real = df["ward_code"].astype(str).map(starts)
    df = df[~(real.notna() & (df["period_end"] > real))]
    shifted = tuple((w, s - pd.DateOffset(months=months)) for w, s in starts.items())
    fake = Programme(
        programme.name,
        min(s for _, s in shifted),
        programme.treated_wards,
        ward_starts=shifted,
    )
    try:
        r = estimate(
            df.drop(columns=["period_end", "pidx"]),
            fake,
            outcome,
            comparison=comparison,
            exclude=exclude,
            check_pretrends=False,
        )
    except (ValueError, np.linalg.LinAlgError) as exc:
        return Placebo(
            "start",
            label,
            None,
            None,
            None,
            None,
            f"The placebo start a year earlier cannot be run: {exc}",
            outcome=out.key,
            scale=out.scale,
            unit=out.unit,
        )
    return Placebo(
        "start",
        label,
        r.estimate,
        r.ci_low,
        r.ci_high,
        r.p_value,
        placebo_sentence(r, f"If the money had started {months} months earlier", out),
        outcome=out.key,
        scale=out.scale,
        unit=out.unit,
    )


def placebo_outcome(
    panel: pd.DataFrame,
    programme: Programme,
    outcome: str,
    *,
    label: str,
    comparison: str | Sequence[str] = "untreated",
    exclude: Iterable[str] = (),
) -> Placebo:
    """The same estimator on an outcome the money should not move (configured per programme).

    Parameters
    ----------
    panel
        Ward × period table for the placebo outcome (already filtered to its type of case).
    programme, outcome, comparison, exclude
        As for :func:`estimate`.
    label
        Plain name of the placebo outcome for the page (e.g. "Abandoned vehicles reports").

    Returns
    -------
    Placebo

    Examples
    --------
    >>> placebo_outcome(panel, programme, "cases_per_1k", label="Abandoned vehicles")  # doctest: +SKIP
    """
    out = _outcome(outcome)
    try:
        r = estimate(
            panel, programme, outcome, comparison=comparison, exclude=exclude, check_pretrends=False
        )
    except (ValueError, np.linalg.LinAlgError) as exc:
        return Placebo(
            "outcome",
            label,
            None,
            None,
            None,
            None,
            f"The placebo outcome ({label}) cannot be run: {exc}",
            outcome=out.key,
            scale=out.scale,
            unit=out.unit,
        )
    return Placebo(
        "outcome",
        label,
        r.estimate,
        r.ci_low,
        r.ci_high,
        r.p_value,
        placebo_sentence(
            r, f"On {label[:1].lower() + label[1:]}, which the money should not move", out
        ),
        outcome=out.key,
        scale=out.scale,
        unit=out.unit,
    )


def effect_text(x: float, scale: str, unit: str) -> str:
    """An effect with its sign: ``−15%``, ``+0.4%``, ``−0.9 days``."""
    if x is None or not math.isfinite(x):
        return "–"
    if scale == "ratio":
        v = abs(x) * 100
        text = f"{v:.1f}%" if v < 1 else f"{v:.0f}%"
    else:
        text = f"{abs(x):.1f} {unit}"
    zero = text in {"0.0%", "0.0 days", "0.0 percentage points"}
    return text if zero else ("−" if x < 0 else "+") + text


def placebo_sentence(r: StaggeredResult, lead_in: str, out: Outcome) -> str:
    """``"If the money had started 12 months earlier, the method would have found −2% (95% range
    −8% to +4%): the range includes no change, as it should."``"""
    found = (
        f"{lead_in}, the method would have found {effect_text(r.estimate, r.scale, r.unit)} "
        f"(95% range {effect_text(r.ci_low, r.scale, r.unit)} to "
        f"{effect_text(r.ci_high, r.scale, r.unit)})"
    )
    if r.ci_low <= 0 <= r.ci_high:
        return f"{found}: the range includes no change, as it should."
    return (
        f"{found}: a clear change where there should be none, so something other than the money "
        "may be moving the funded wards: treat the main estimate with caution."
    )


OUTCOME_KEYS = tuple(OUTCOMES)
