"""Tests for neighbourhood.evaluation on synthetic ward × month panels with planted effects."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neighbourhood.evaluation import (
    COMPARISON,
    FUNDED,
    OUTCOMES,
    BeforeAfterResult,
    CostEffectiveness,
    DidResult,
    Programme,
    before_after,
    caveats,
    cost_effectiveness,
    describe,
    did,
    pretrend_check,
    programmes_from_config,
    programmes_from_spend,
    spend_per_case_closed,
    treated_vs_comparison_series,
)

START = pd.Timestamp("2023-10-01")


def make_panel(
    seed: int,
    *,
    n_wards: int = 30,
    n_months: int = 36,
    start_month: int = 18,
    n_treated: int = 8,
    effect: float = 0.0,
    days_effect: float = 0.0,
    pre_trend: float = 0.0,
    sla_as_fraction: bool = False,
) -> tuple[pd.DataFrame, Programme]:
    """A ward × month panel: Poisson report counts with ward and month effects.

    ``effect`` multiplies the funded wards' report rate after the start (``-0.15`` = 15% fewer),
    ``days_effect`` adds to their median days to close, and ``pre_trend`` makes the funded wards'
    log rate drift by that much a month before the start (diverging pre-trends).
    """
    rng = np.random.default_rng(seed)
    wards = [f"E0500{i:04d}" for i in range(n_wards)]
    months = pd.date_range("2022-04-01", periods=n_months, freq="MS")
    treated = wards[:n_treated]
    pop = rng.integers(8_000, 20_000, n_wards)
    ward_fx = rng.normal(0, 0.4, n_wards)
    month_fx = 0.2 * np.sin(2 * np.pi * np.arange(n_months) / 12) + rng.normal(0, 0.05, n_months)
    rows = []
    for i, w in enumerate(wards):
        funded = i < n_treated
        for t, m in enumerate(months):
            post = t >= start_month
            lam = pop[i] / 1000 * 3.0 * np.exp(ward_fx[i] + month_fx[t])
            if funded and post:
                lam *= 1 + effect
            if funded and not post:
                lam *= np.exp(pre_trend * (t - start_month))
            cases = int(rng.poisson(lam))
            days = 6 + 2 * ward_fx[i] + 3 * month_fx[t] + rng.normal(0, 1.0)
            days += days_effect if funded and post else 0.0
            sla = float(np.clip(80 - 5 * ward_fx[i] + rng.normal(0, 3), 0, 100))
            fly = int(rng.poisson(lam / 3)) + 1
            actions = int(rng.poisson(fly * 0.1))
            rows.append(
                {
                    "ward_code": w,
                    "ward_name": f"Ward {i}",
                    "period": str(m.to_period("M")),
                    "period_start": m,
                    "population": int(pop[i]),
                    "cases": cases,
                    "cases_per_1k": cases / pop[i] * 1000,
                    "closed": int(round(cases * 0.9)),
                    "median_days_to_close": days,
                    "pct_within_sla": sla / 100 if sla_as_fraction else sla,
                    "enforcement_actions": actions,
                    "actions_per_100_fly_tips": 100 * actions / fly,
                }
            )
    programme = Programme("Neighbourhood Pride Fund", months[start_month], tuple(treated))
    return pd.DataFrame(rows), programme


# ---------------------------------------------------------------------------------------------
# Difference-in-differences: planted effects and no effect
# ---------------------------------------------------------------------------------------------


def test_did_recovers_planted_15pct_fall_in_reports_within_ci() -> None:
    panel, prog = make_panel(1, effect=-0.15)
    r = did(panel, prog, "cases_per_1k")
    assert r.ci_low <= -0.15 <= r.ci_high
    assert r.estimate == pytest.approx(-0.15, abs=0.04)
    assert r.ci_high < 0 and r.p_value < 0.05
    assert (r.n_treated, r.n_comparison, r.n_periods) == (8, 22, 36)
    assert (r.n_pre_periods, r.n_post_periods, r.n_obs) == (18, 18, 30 * 36)
    assert r.few_clusters and "bootstrap" in r.inference  # 8 funded wards: bootstrap
    assert r.ci_low_analytic < r.estimate < r.ci_high_analytic
    assert r.post_start == START and r.post_end == pd.Timestamp("2025-03-31")
    assert (
        r.treated_post_totals["cases"]
        == panel.loc[
            panel.ward_code.isin(prog.treated_wards) & (panel.period_start >= START), "cases"
        ].sum()
    )


def test_did_recovers_planted_change_in_days_on_level_scale() -> None:
    panel, prog = make_panel(2, days_effect=-2.0)
    r = did(panel, prog, "median_days_to_close", inference="analytic")
    assert r.scale == "level" and r.unit == "days"
    assert r.ci_low <= -2.0 <= r.ci_high
    assert r.estimate == pytest.approx(-2.0, abs=0.4)
    assert "CR1" in r.inference and r.p_value < 0.001


def test_did_no_effect_ci_covers_zero_in_at_least_17_of_20_seeds() -> None:
    covered = 0
    for seed in range(100, 120):
        panel, prog = make_panel(seed)
        r = did(panel, prog, "cases_per_1k", check_pretrends=False)
        covered += r.ci_low <= 0 <= r.ci_high
    assert covered >= 17


def test_did_analytic_and_bootstrap_agree_roughly_with_many_wards() -> None:
    panel, prog = make_panel(3, n_wards=40, n_treated=15, effect=-0.15)
    a = did(panel, prog, "cases_per_1k", check_pretrends=False)
    assert not a.few_clusters and "CR1" in a.inference
    b = did(panel, prog, "cases_per_1k", inference="bootstrap", check_pretrends=False)
    assert b.estimate == a.estimate
    assert b.ci_low == pytest.approx(a.ci_low, abs=0.03)
    assert b.ci_high == pytest.approx(a.ci_high, abs=0.03)


def test_did_bootstrap_is_reproducible_with_the_same_seed() -> None:
    panel, prog = make_panel(4, effect=-0.1)
    r1 = did(panel, prog, "cases_per_1k", check_pretrends=False)
    r2 = did(panel, prog, "cases_per_1k", check_pretrends=False)
    assert (r1.ci_low, r1.ci_high, r1.p_value) == (r2.ci_low, r2.ci_high, r2.p_value)


def test_did_chosen_comparison_wards_and_exclude() -> None:
    panel, prog = make_panel(5)
    chosen = [f"E0500{i:04d}" for i in range(10, 20)]
    r = did(panel, prog, "cases_per_1k", comparison=chosen, check_pretrends=False)
    assert r.comparison_wards == tuple(chosen) and r.comparison == "chosen comparison wards"
    r = did(panel, prog, "cases_per_1k", exclude=chosen, check_pretrends=False)
    assert r.n_comparison == 12 and not set(chosen) & set(r.comparison_wards)


def test_did_matched_on_pre_level_and_deprivation_takes_nearest_wards() -> None:
    panel, prog = make_panel(6)
    codes = sorted(panel.ward_code.unique())
    # Deprivation equal to each funded ward's for wards 8..15, far away for the rest.
    dep = pd.Series(np.r_[np.arange(8.0), np.arange(8.0), np.full(14, 100.0)], index=codes)
    r = did(panel, prog, "cases_per_1k", match_on=["deprivation"], deprivation=dep, n_matches=1)
    assert r.comparison_wards == tuple(codes[8:16])
    assert r.matched_on == ("deprivation",)
    r = did(
        panel,
        prog,
        "cases_per_1k",
        match_on=["pre_level", "deprivation"],
        deprivation=dep,
        check_pretrends=False,
    )
    assert r.n_comparison == 16 and "matched" in r.comparison
    assert any("matched on their level" in c for c in caveats(r))
    with pytest.raises(ValueError, match="deprivation"):
        did(panel, prog, "cases_per_1k", match_on=["deprivation"])


def test_did_transition_month_is_left_out_when_start_is_mid_month() -> None:
    panel, prog = make_panel(7)
    mid = Programme(prog.name, pd.Timestamp("2023-10-15"), prog.treated_wards)
    r = did(panel, mid, "cases_per_1k", check_pretrends=False)
    assert r.n_periods == 35 and r.post_start == pd.Timestamp("2023-11-01")
    assert any("01 Oct 2023" in n for n in r.notes)


def test_did_share_stored_as_fraction_is_reported_in_percentage_points() -> None:
    panel, prog = make_panel(8, sla_as_fraction=True)
    r = did(panel, prog, "pct_within_sla", inference="analytic", check_pretrends=False)
    assert r.pct_scale == 100.0 and r.unit == "percentage points"
    assert 70 < r.treated_pre_mean < 90
    assert abs(r.estimate) < 3


def test_did_handles_ratio_outcome_with_missing_values_and_zero_wards() -> None:
    panel, prog = make_panel(9)
    panel.loc[panel.ward_code == "E05000029", "actions_per_100_fly_tips"] = 0.0
    panel.loc[panel.index[:5], "actions_per_100_fly_tips"] = np.nan
    r = did(panel, prog, "actions_per_100_fly_tips", check_pretrends=False)
    assert r.n_comparison == 21 and math.isfinite(r.estimate)
    assert any("zero in every period" in n for n in r.notes)
    assert any("no value" in n for n in r.notes)


def test_did_rejects_bad_input() -> None:
    panel, prog = make_panel(10)
    with pytest.raises(ValueError, match="unknown outcome"):
        did(panel, prog, "happiness")
    with pytest.raises(ValueError, match="before and after"):
        did(
            panel, Programme("Late", pd.Timestamp("2030-01-01"), prog.treated_wards), "cases_per_1k"
        )
    with pytest.raises(ValueError, match="none of the funded wards"):
        did(panel, Programme("X", START, ("E09999999",)), "cases_per_1k")


# ---------------------------------------------------------------------------------------------
# Pre-trends
# ---------------------------------------------------------------------------------------------


def test_pretrend_warning_appears_when_pre_trends_diverge() -> None:
    panel, prog = make_panel(11, pre_trend=0.02)
    chk = pretrend_check(panel, prog, "cases_per_1k")
    assert chk.p_value < 0.10
    assert chk.warning is not None and "already moving differently" in chk.warning
    assert len(chk.leads) == chk.n_leads == 4
    # leads run from clearly below the reference (funded wards rising towards it) upwards
    assert chk.leads["estimate"].iloc[0] < chk.leads["estimate"].iloc[-1] < 0.05
    r = did(panel, prog, "cases_per_1k")
    assert r.pretrend is not None and r.pretrend.warning == chk.warning
    assert chk.warning in caveats(r)


def test_pretrend_no_warning_when_trends_are_parallel() -> None:
    panel, prog = make_panel(12, effect=-0.15)
    chk = pretrend_check(panel, prog, "cases_per_1k")
    assert chk.warning is None and chk.p_value >= 0.10
    assert chk.reference == (pd.Timestamp("2023-07-01"), pd.Timestamp("2023-09-01"))
    assert list(chk.leads.columns) == [
        "first_period",
        "last_period",
        "estimate",
        "ci_low",
        "ci_high",
    ]


def test_pretrend_on_rates_is_calibrated_not_stuck_at_one() -> None:
    """Defect 3: p ≈ 1.000 for every 'cases per 1,000' category on the demo. On free Poisson
    noise the rate-scale test spreads p over (0, 1) when trends are parallel and finds a 2% a
    month drift, so the test itself is not stuck at one (see the next test for the demo)."""
    null = np.array(
        [pretrend_check(*make_panel(3000 + i), "cases_per_1k").p_value for i in range(16)]
    )
    assert (null < 0.10).sum() <= 4 and (null > 0.95).sum() <= 3
    assert 0.2 < np.median(null) < 0.8
    drift = [
        pretrend_check(*make_panel(4000 + i, pre_trend=0.02), "cases_per_1k").p_value
        for i in range(6)
    ]
    assert max(drift) < 0.10


def _balanced(panel: pd.DataFrame, prog: Programme) -> pd.DataFrame:
    """Each group's monthly total rescaled to follow its expected path exactly, as the demo
    generator does (only the split between the wards of a group stays random)."""
    out = panel.copy()
    funded = out["ward_code"].isin(prog.treated_wards)
    month_total = out.groupby("period_start")["cases"].transform("sum")
    group_total = out.groupby([funded, out["period_start"]])["cases"].transform("sum")
    group_share = out.groupby(funded)["cases"].transform("sum") / out["cases"].sum()
    out["cases"] = out["cases"] * month_total * group_share / group_total
    out["cases_per_1k"] = out["cases"] / out["population"] * 1000
    return out


def test_pretrend_p_near_one_when_group_totals_follow_their_expected_path() -> None:
    """Why the demo shows p ≈ 1 for report rates: its groups are parallel by construction, so
    the funded wards' score is ~0 while the ward-level bootstrap draws are not."""
    for seed in (5000, 5001, 5002):
        panel, prog = make_panel(seed, pre_trend=0.0)
        assert pretrend_check(_balanced(panel, prog), prog, "cases_per_1k").p_value > 0.95


def test_pretrend_with_one_period_before_cannot_be_checked() -> None:
    panel, prog = make_panel(13, start_month=1)
    chk = pretrend_check(panel, prog, "cases_per_1k")
    assert chk.p_value is None and "too few periods" in chk.warning


# ---------------------------------------------------------------------------------------------
# Before/after
# ---------------------------------------------------------------------------------------------


def test_before_after_means_and_change_on_level_scale() -> None:
    panel, prog = make_panel(14, days_effect=-2.0)
    r = before_after(panel, prog, "median_days_to_close")
    funded = panel[panel.ward_code.isin(prog.treated_wards)]
    pre = funded.loc[funded.period_start < START, "median_days_to_close"].mean()
    post = funded.loc[funded.period_start >= START, "median_days_to_close"].mean()
    assert r.pre_mean == pytest.approx(pre) and r.post_mean == pytest.approx(post)
    assert r.estimate == pytest.approx(post - pre)  # balanced panel: OLS = difference of means
    assert r.ci_low < r.estimate < r.ci_high and r.n_wards == 8
    assert any("before-and-after" in c for c in caveats(r))


# ---------------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------------


def _r(
    e: float,
    lo: float,
    hi: float,
    outcome: str = "cases_per_1k",
    means: tuple[float, float, float, float] | None = None,
) -> DidResult:
    """A hand-made result; ``means`` = funded pre, funded post, comparison pre, comparison post."""
    o = OUTCOMES[outcome]
    r = DidResult("Pride", outcome, e, lo, hi, 0.01, scale=o.scale, unit=o.unit, subject=o.subject)
    if means is not None:
        r.treated_pre_mean, r.treated_post_mean = means[0], means[1]
        r.comparison_pre_mean, r.comparison_post_mean = means[2], means[3]
    return r


def test_describe_says_what_each_group_did_when_funded_fell_and_comparison_rose() -> None:
    # Funded 10.0 → 9.6 (−4%), comparison 10.0 → 11.1 (+11%): never "fell by 15% more".
    r = _r(-0.15, -0.20, -0.10, means=(10.0, 9.6, 10.0, 11.1))
    assert describe(r, subject="Fly-tipping reports") == (
        "Fly-tipping reports fell 4% in funded wards and rose 11% in comparison wards: the "
        "estimated effect of the money is −15% (95% range −20% to −10%)."
    )


def test_describe_rose_in_both_groups() -> None:
    r = _r(0.5, 0.2, 0.85, "actions_per_100_fly_tips", means=(4.0, 6.4, 4.0, 4.4))
    assert describe(r) == (
        "Enforcement actions per 100 fly-tips rose 60% in funded wards and rose 10% in "
        "comparison wards: the estimated effect of the money is +50% (95% range +20% to +85%)."
    )


def test_describe_without_group_means_states_the_effect_only() -> None:
    assert describe(_r(-0.12, -0.20, -0.04), subject="Fly-tipping reports") == (
        "Set against comparison wards, the estimated effect of the money on fly-tipping reports "
        "in funded wards is −12% (95% range −20% to −4%)."
    )


def test_describe_ci_crossing_zero_says_could_be_chance() -> None:
    r = _r(-0.05, -0.12, 0.03, means=(5.0, 5.0, 5.0, 5.25))
    assert describe(r) == (
        "Reports per 1,000 residents barely changed in funded wards and rose 5% in comparison "
        "wards: the estimated effect of the money is −5% (95% range −12% to +3%). The range "
        "includes no change, so this could be chance."
    )


def test_describe_days_and_percentage_points() -> None:
    r = _r(-2.13, -3.4, -0.8, "median_days_to_close", means=(6.0, 4.5, 6.0, 6.6))
    assert describe(r) == (
        "The median time to close a case fell 1.5 days in funded wards and rose 0.6 days in "
        "comparison wards: the estimated effect of the money is −2.1 days (95% range −3.4 to "
        "−0.8 days)."
    )
    r = _r(1.5, -2.0, 5.0, "pct_within_sla", means=(80.0, 82.0, 80.0, 80.5))
    assert describe(r) == (
        "The share of cases closed within target time rose 2.0 percentage points in funded "
        "wards and rose 0.5 percentage points in comparison wards: the estimated effect of the "
        "money is +1.5 percentage points (95% range −2.0 to +5.0 percentage points). The range "
        "includes no change, so this could be chance."
    )


def test_describe_no_change_and_small_percentages() -> None:
    text = describe(_r(0.0004, -0.03, 0.04, means=(2.0, 2.0, 2.0, 2.0)))
    assert text.startswith(
        "Reports per 1,000 residents barely changed in both funded and comparison wards: the "
        "estimated effect of the money is 0.0% (95% range −3% to +4%)."
    )
    assert "is −0.5% (95% range −1% to −0.2%)" in describe(_r(-0.005, -0.01, -0.002))


def test_describe_before_after() -> None:
    r = BeforeAfterResult(
        "Pride", "cases_per_1k", 5.0, 4.5, -0.10, -0.15, -0.04, 0.01, scale="ratio", unit="%"
    )
    assert describe(r, subject="Fly-tipping reports") == (
        "Fly-tipping reports fell by 10% in funded wards after the money started (95% range 4% "
        "to 15%), but with no comparison wards this cannot separate the funding from changes "
        "across the whole city."
    )


def test_describe_did_on_a_real_fit_has_group_means() -> None:
    panel, prog = make_panel(3, effect=-0.15)
    r = did(panel, prog, "cases_per_1k", check_pretrends=False)
    df = panel.assign(
        post=panel.period_start >= prog.start, t=panel.ward_code.isin(prog.treated_wards)
    )
    means = df.groupby(["t", "post"])["cases_per_1k"].mean()
    assert r.treated_post_mean == pytest.approx(means[(True, True)])
    assert r.comparison_post_mean == pytest.approx(means[(False, True)])
    assert describe(r).startswith("Reports per 1,000 residents ")
    assert "in funded wards and" in describe(r)


def test_caveats_reporting_few_wards_spillover_and_regression_to_mean() -> None:
    r = _r(-0.12, -0.2, -0.04)
    r.n_treated, r.n_comparison, r.few_clusters = 8, 22, True
    r.treated_pre_mean, r.comparison_pre_mean = 6.0, 4.0
    text = caveats(r)
    assert text[0].startswith("Reports measure reporting as well as dirt")
    assert any("Only 8 funded and 22 comparison wards" in c for c in text)
    assert any("Spill-over" in c for c in text)
    assert any("regression to the mean" in c and "50% worse" in c for c in text)
    days = caveats(_r(-2, -3, -1, "median_days_to_close"))
    assert not any("Reports measure" in c for c in days)


# ---------------------------------------------------------------------------------------------
# Cost-effectiveness (hand example)
# ---------------------------------------------------------------------------------------------


def _ce_result(e: float, lo: float, hi: float) -> DidResult:
    r = _r(e, lo, hi)
    r.treated_wards = ("E1", "E2")
    r.post_start, r.post_end = pd.Timestamp("2024-04-01"), pd.Timestamp("2024-09-30")
    r.treated_post_totals = {"cases": 800.0, "closed": 500.0}
    return r


SPEND = pd.DataFrame(
    {
        "ward_code": ["E1", "E2", "citywide", "E9", "E1"],
        "period_start": pd.to_datetime(
            ["2024-04-01", "2024-01-01", "2024-04-01", "2024-04-01", "2024-04-01"]
        ),
        "period_end": pd.to_datetime(
            ["2024-09-30", "2024-12-31", "2024-09-30", "2024-09-30", "2024-09-30"]
        ),
        "programme": ["Pride", "Pride", "Pride", "Pride", "Other"],
        "service": ["cleansing"] * 5,
        "amount_gbp": [6_000.0, 8_000.0, 1_000.0, 500.0, 99_999.0],
    }
)


#: All types of case, ward × month, for spend per case closed. The funded wards E1 and E2 close
#: 100 + 150 (April..June) + 120 + 130 (July..September) = 500 cases after the start; March is
#: before it, E9 is not funded and the city-total row is ignored.
ALL_TYPES = pd.DataFrame(
    {
        "ward_code": ["E1", "E1", "E2", "E1", "E2", "E9", "citywide"],
        "period_start": pd.to_datetime(
            ["2024-03-01", "2024-04-01", "2024-04-01", "2024-07-01", "2024-07-01", "2024-04-01",
             "2024-04-01"]
        ),
        "closed": [999, 100, 150, 120, 130, 777, 5000],
    }
)  # fmt: skip


def _quarterly(frame: pd.DataFrame) -> pd.DataFrame:
    """ALL_TYPES on quarters: April..June and July..September (and January..March)."""
    f = frame.copy()
    f.loc[f["period_start"] == "2024-03-01", "period_start"] = pd.Timestamp("2024-01-01")
    return f


def test_spend_per_case_closed_hand_example_uses_every_type_of_case() -> None:
    prog = Programme(
        "Pride", pd.Timestamp("2024-04-01"), ("E1", "E2"), end=pd.Timestamp("2024-09-30")
    )
    pc = spend_per_case_closed(SPEND, prog, _quarterly(ALL_TYPES))
    # Window 01 Apr .. 30 Sep 2024: E1 £6,000 in full, E2 £8,000 × 183/366 = £4,000. The
    # city-wide £1,000 and E9's £500 are not in the funded wards; E1's £99,999 is another
    # programme (counted only in all_spend_gbp, the wards' total spend).
    assert (pc.window_start, pc.window_end) == (
        pd.Timestamp("2024-04-01"),
        pd.Timestamp("2024-09-30"),
    )
    assert pc.spend_gbp == pytest.approx(10_000.0)
    assert pc.cases_closed == 500
    assert pc.per_case == pytest.approx(20.0)
    assert pc.all_spend_gbp == pytest.approx(109_999.0)


def test_spend_per_case_closed_is_the_same_for_every_outcome_and_category() -> None:
    """The tester saw £2,606 vs £2,613 for graffiti by outcome: the figure must not move."""
    prog = Programme("Pride", pd.Timestamp("2024-04-01"), ("E1", "E2"))
    seen = set()
    for outcome, e in (("cases_per_1k", -0.2), ("median_days_to_close", -1.0)):
        r = _ce_result(e, 2 * e, e / 2)
        r.outcome = outcome
        for closed_in_one_category in (50.0, 7.0):  # a category-filtered panel's own count
            r.treated_post_totals = {"cases": 800.0, "closed": closed_in_one_category}
            ce = cost_effectiveness(r, SPEND, prog, cases=_quarterly(ALL_TYPES))
            seen.add(round(ce.spend_per_case_closed, 6))
    assert seen == {round(10_000.0 / 500, 6)}


def test_no_spend_per_case_closed_without_the_all_types_table() -> None:
    prog = Programme("Pride", pd.Timestamp("2024-04-01"), ("E1", "E2"))
    ce = cost_effectiveness(_ce_result(-0.2, -0.3, -0.1), SPEND, prog)
    assert ce.spend_per_case_closed is None and ce.per_case is None


def test_cost_effectiveness_hand_example() -> None:
    prog = Programme("Pride", pd.Timestamp("2024-04-01"), ("E1", "E2"))
    ce = cost_effectiveness(_ce_result(-0.2, -0.3, -0.1), SPEND, prog, cases=_quarterly(ALL_TYPES))
    # E1 £6,000 fully in the window; E2 £8,000 over 366 days, 183 of them in the window.
    assert ce.spend_gbp == pytest.approx(10_000.0)
    assert ce.citywide_gbp == pytest.approx(1_000.0)
    assert ce.spend_per_case_closed == pytest.approx(20.0)  # £10,000 / 500 closed, all types
    # reports avoided: 800 × e / (1 + e) → -200 (CI -342.9 to -88.9)
    assert ce.units_changed == pytest.approx(-200.0)
    assert ce.units_ci == pytest.approx((800 * -0.3 / 0.7, 800 * -0.1 / 0.9))
    assert ce.cost_per_unit == pytest.approx(50.0)
    assert ce.cost_per_unit_ci == pytest.approx((10_000 / (2400 / 7), 112.5))
    assert ce.bounded and ce.improvement and ce.distinguishable and not ce.no_cost_reason
    assert any("£500" in n for n in ce.notes)
    assert describe(ce) == (
        "£10,000 of programme money was spent in the funded wards between 01 Apr 2024 and 30 Sep "
        "2024 (£20.00 per case closed, all types of case); that is £50.00 per report avoided "
        "(95% range £29.17 to £112.50)."
    )


def test_no_cost_per_unit_when_the_interval_includes_no_change() -> None:
    """'Per report avoided £7,607,815' on an effect of about zero: not a number to quote."""
    prog = Programme("Pride", pd.Timestamp("2024-04-01"), ("E1", "E2"))
    ce = cost_effectiveness(_ce_result(-0.001, -0.12, 0.13), SPEND, prog)
    assert ce.improvement and not ce.distinguishable
    assert ce.cost_per_unit is None and ce.cost_per_unit_ci is None
    assert "includes no change" in ce.no_cost_reason
    assert "no cost per report to quote" in describe(ce)
    assert "£" not in describe(ce).split("wards")[-1]  # no per-unit pounds after the spend


def test_no_cost_per_unit_when_the_estimate_goes_the_wrong_way() -> None:
    prog = Programme("Pride", pd.Timestamp("2024-04-01"), ("E1", "E2"))
    worse = cost_effectiveness(_ce_result(0.1, 0.02, 0.2), SPEND, prog)
    assert not worse.improvement and worse.cost_per_unit is None
    assert "no improvement" in describe(worse)


def test_cost_per_unit_of_one_category_says_it_charges_the_whole_programme() -> None:
    prog = Programme("Pride", pd.Timestamp("2024-04-01"), ("E1", "E2"))
    ce = cost_effectiveness(_ce_result(-0.2, -0.3, -0.1), SPEND, prog, category="fly-tipping")
    assert any(
        "per report avoided charges all" in n and "to fly-tipping alone" in n for n in ce.notes
    )


def test_cost_effectiveness_end_to_end_on_synthetic_panel() -> None:
    panel, prog = make_panel(15, effect=-0.15)
    r = did(panel, prog, "cases_per_1k", check_pretrends=False)
    spend = pd.DataFrame(
        {
            "ward_code": list(prog.treated_wards),
            "period_start": START,
            "period_end": pd.Timestamp("2025-03-31"),
            "programme": prog.name,
            "service": "cleansing",
            "amount_gbp": 50_000.0,
        }
    )
    ce = cost_effectiveness(r, spend, prog)
    assert ce.spend_gbp == pytest.approx(400_000.0)
    assert ce.units_changed < 0 and ce.cost_per_unit > 0
    lo, hi = ce.cost_per_unit_ci
    assert lo < ce.cost_per_unit < hi


# ---------------------------------------------------------------------------------------------
# Programmes and chart data
# ---------------------------------------------------------------------------------------------


def test_programmes_from_spend_ignores_citywide_and_zero_lines() -> None:
    spend = pd.DataFrame(
        {
            "ward_code": ["E2", "E1", "citywide", "E3", "citywide"],
            "period_start": pd.to_datetime(
                ["2024-05-01", "2024-04-01", "2023-01-01", "2024-04-01", "2024-01-01"]
            ),
            "period_end": pd.to_datetime(
                ["2025-03-31", "2024-12-31", "2023-12-31", "2024-12-31", "2024-12-31"]
            ),
            "programme": ["Pride", "Pride", "Pride", "Pride", "Citywide only"],
            "service": ["cleansing"] * 5,
            "amount_gbp": [100.0, 100.0, 999.0, 0.0, 50.0],
        }
    )
    progs = programmes_from_spend(spend)
    assert len(progs) == 1
    p = progs[0]
    assert (p.name, p.start, p.end, p.treated_wards) == (
        "Pride",
        pd.Timestamp("2024-04-01"),
        pd.Timestamp("2025-03-31"),
        ("E1", "E2"),
    )


def test_programmes_from_config(tmp_path) -> None:
    path = tmp_path / "programmes.csv"
    path.write_text(
        "programme,start_date,treated_wards,description\n"
        "Neighbourhood Pride Fund,2024-04-01,E05000002; E05000001,Extra rounds\n",
        encoding="utf-8",
    )
    (p,) = programmes_from_config(path)
    assert p.name == "Neighbourhood Pride Fund" and p.start == pd.Timestamp("2024-04-01")
    assert p.treated_wards == ("E05000001", "E05000002") and p.description == "Extra rounds"
    assert programmes_from_config(tmp_path / "missing.csv") == []
    with pytest.raises(FileNotFoundError):
        programmes_from_config(tmp_path / "missing.csv", missing_ok=False)


def test_treated_vs_comparison_series_is_tidy_and_matches_group_means() -> None:
    panel, prog = make_panel(16)
    s = treated_vs_comparison_series(panel, prog, "cases_per_1k")
    assert list(s.columns) == ["period_start", "group", "value", "lo", "hi", "n_wards"]
    assert set(s["group"]) == {FUNDED, COMPARISON} and len(s) == 72
    first = s.iloc[0]
    expect = panel[
        panel.ward_code.isin(prog.treated_wards) & (panel.period_start == first.period_start)
    ]
    assert first.group == FUNDED and first.n_wards == 8
    assert first.value == pytest.approx(expect.cases_per_1k.mean())
    assert (s["lo"] <= s["value"]).all() and (s["value"] <= s["hi"]).all()


def test_results_are_dataclasses_with_expected_types() -> None:
    panel, prog = make_panel(17)
    r = did(panel, prog, "cases_per_1k", check_pretrends=False)
    assert isinstance(r, DidResult) and isinstance(r.treated_wards, tuple)
    assert isinstance(cost_effectiveness(r, SPEND.iloc[:0], prog), CostEffectiveness)


def _ba(e: float, lo: float, hi: float, outcome: str = "cases_per_1k") -> BeforeAfterResult:
    o = OUTCOMES[outcome]
    return BeforeAfterResult("Pride", outcome, 5.0, 5.0, e, lo, hi, 0.5, scale=o.scale, unit=o.unit)


def test_describe_uses_an_before_eight_and_eleven() -> None:
    text = describe(_ba(-0.01, -0.08, 0.11))
    assert "(95% range between an 8% fall and an 11% rise)" in text
    text = describe(_ba(-1.0, -18.0, 2.0, "median_days_to_close"))
    assert "between an 18.0-day fall and a 2.0-day rise" in text


def test_city_total_rows_of_the_metrics_table_are_ignored() -> None:
    panel, prog = make_panel(18, effect=-0.15)
    city = panel.groupby("period_start", as_index=False)[["cases", "population"]].sum()
    city["ward_code"], city["ward_name"] = "citywide", "City total"
    city["cases_per_1k"] = city.cases / city.population * 1000
    with_city = pd.concat([panel, city], ignore_index=True)
    a = did(panel, prog, "cases_per_1k", check_pretrends=False)
    b = did(with_city, prog, "cases_per_1k", check_pretrends=False)
    assert b.n_comparison == 22 and b.estimate == pytest.approx(a.estimate)
    s = treated_vs_comparison_series(with_city, prog, "cases_per_1k")
    assert s["n_wards"].max() == 22


def test_after_window_ends_on_the_last_day_of_the_last_month() -> None:
    panel, prog = make_panel(19, n_months=30)  # April 2022 .. September 2024
    r = did(panel, prog, "cases_per_1k", check_pretrends=False)
    assert r.post_end == pd.Timestamp("2024-09-30")
    ended = Programme(prog.name, prog.start, prog.treated_wards, end=pd.Timestamp("2024-06-30"))
    r = did(panel, ended, "cases_per_1k", check_pretrends=False)
    assert r.post_end == pd.Timestamp("2024-06-30") and r.n_post_periods == 9
    assert any("after the money ended" in n for n in r.notes)
