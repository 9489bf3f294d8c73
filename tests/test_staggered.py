"""Tests for neighbourhood.staggered (the imputation estimator for staggered starts) and
neighbourhood.appraise (the analysis behind the page and ``evaluate`` on the command line).

The point estimates are checked against a reference implementation: Wooldridge's extended two-way
fixed effects, fitted in statsmodels as one regression with ward and month dummies plus a dummy
for every funded ward-month (a saturated model whose untreated part is the imputation's first
step). pyfixest is compared too when it is installed (it is not a dependency).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from benchmarks.sim_evaluation import SCENARIOS, Scenario, staggered_panel
from neighbourhood import appraise, evaluation, staggered
from neighbourhood.evaluation import Programme, programmes_from_config, programmes_from_spend

DYNAMIC = SCENARIOS["dynamic"]


def _saturated(panel: pd.DataFrame, prog: Programme, column: str, poisson: bool) -> float:
    """Reference: one statsmodels fit with ward, month and funded-cell dummies."""
    df = panel.copy()
    starts = prog.starts()
    df["start"] = df["ward_code"].map(starts)
    df["D"] = df["start"].notna() & (df["period_start"] >= df["start"])
    wards = pd.get_dummies(df["ward_code"], dtype=float)
    months = pd.get_dummies(df["period_start"], dtype=float).iloc[:, 1:]
    cells = np.zeros((len(df), int(df["D"].sum())))
    cells[np.flatnonzero(df["D"]), np.arange(int(df["D"].sum()))] = 1.0
    x = np.hstack([wards.to_numpy(), months.to_numpy(), cells])
    y = df[column].to_numpy(float)
    if poisson:
        fit = sm.GLM(y, x, family=sm.families.Poisson()).fit(tol=1e-12, maxiter=200)
    else:
        fit = sm.OLS(y, x).fit()
    k = wards.shape[1] + months.shape[1]
    xb0 = x[:, :k] @ fit.params[:k]
    d = df["D"].to_numpy()
    if poisson:
        return float(y[d].sum() / np.exp(xb0[d]).sum() - 1)
    return float((y[d] - xb0[d]).mean())


def test_levels_match_saturated_extended_twfe_in_statsmodels() -> None:
    panel, prog, _ = staggered_panel(
        Scenario(
            "small", n_wards=14, n_months=20, cohort_starts=(8, 12), cohort_size=3, days0=-1.0
        ),
        3,
    )
    r = staggered.estimate(panel, prog, "median_days_to_close", check_pretrends=False)
    assert r.estimate == pytest.approx(
        _saturated(panel, prog, "median_days_to_close", False), abs=1e-9
    )


def test_rates_match_saturated_poisson_in_statsmodels() -> None:
    panel, prog, _ = staggered_panel(
        Scenario(
            "small", n_wards=14, n_months=20, cohort_starts=(8, 12), cohort_size=3, effect0=-0.2
        ),
        4,
    )
    r = staggered.estimate(panel, prog, "cases_per_1k", check_pretrends=False)
    assert r.estimate == pytest.approx(_saturated(panel, prog, "cases_per_1k", True), abs=1e-7)


def test_levels_match_pyfixest_when_installed() -> None:
    """pyfixest (not a dependency) as a second reference for the least-squares first step.

    Its Poisson models are not used: in pyfixest 0.60 ``fepois("y ~ 1 | ward + t")`` returned
    fixed effects whose predictions were far from the data, and models with ``i()`` terms
    support neither ``fixef()`` nor ``predict(newdata=...)``; the saturated statsmodels GLM
    above is the reference for rates.
    """
    pf = pytest.importorskip("pyfixest")
    panel, prog, _ = staggered_panel(
        Scenario(
            "small", n_wards=14, n_months=20, cohort_starts=(8, 12), cohort_size=3, days0=-1.0
        ),
        5,
    )
    df = panel.copy()
    df["start"] = df["ward_code"].map(prog.starts())
    df["D"] = df["start"].notna() & (df["period_start"] >= df["start"])
    df["t"] = df["period_start"].dt.strftime("%Y%m")
    m = pf.feols("median_days_to_close ~ 1 | ward_code + t", data=df[~df["D"]])
    fe = m.fixef()
    funded = df[df["D"]]
    y0 = funded["ward_code"].map(dict(fe["C(ward_code)"].items())).astype(float) + funded["t"].map(
        {str(k): v for k, v in fe["C(t)"].items()}
    ).astype(float)
    ref = float((funded["median_days_to_close"] - y0).mean())
    r = staggered.estimate(panel, prog, "median_days_to_close", check_pretrends=False)
    assert r.estimate == pytest.approx(ref, abs=1e-8)


def test_one_start_date_agrees_with_the_two_way_model() -> None:
    """With a single start and a constant effect the imputation and TWFE estimates are close."""
    panel, prog, truth = staggered_panel(
        Scenario("one", cohort_starts=(24,), cohort_size=8, effect0=-0.15), 7
    )
    r = staggered.estimate(panel, prog, "cases_per_1k", check_pretrends=False)
    d = evaluation.did(panel, prog, "cases_per_1k", check_pretrends=False, inference="analytic")
    assert r.estimate == pytest.approx(d.estimate, abs=0.01)
    assert r.ci_low <= truth["overall"] <= r.ci_high
    assert len(r.cohorts) == 1 and r.cohorts.iloc[0]["n_wards"] == 8


@pytest.mark.slow
def test_staggered_dynamic_roll_out_is_unbiased_where_one_start_twfe_is_not() -> None:
    est, twfe, truth = [], [], []
    for seed in range(20, 32):
        panel, prog, t = staggered_panel(DYNAMIC, seed)
        est.append(staggered.estimate(panel, prog, "cases_per_1k", check_pretrends=False).estimate)
        one = evaluation.did(
            panel, prog, "cases_per_1k", check_pretrends=False, inference="analytic"
        )
        twfe.append(one.estimate)
        truth.append(t["overall"])
    bias = np.mean(np.array(est) - truth)
    assert abs(bias) < 0.01  # within 1 point of the truth on average
    assert np.mean(np.array(twfe) - truth) > 0.015  # pooled from the earliest start: toward zero


def test_cohorts_event_study_and_ward_table() -> None:
    panel, prog, truth = staggered_panel(DYNAMIC, 2)
    r = staggered.estimate(panel, prog, "cases_per_1k")
    assert list(r.cohorts["n_wards"]) == [4, 4, 4]
    assert list(r.cohorts["start"]) == sorted(truth["cohorts"])
    es = r.event_study
    assert es["relative_period"].is_monotonic_increasing
    assert (es.loc[es["lead"], "relative_period"] < 0).all()
    assert (es.loc[~es["lead"], "relative_period"] >= 0).all()
    assert len(es[es["lead"]]) == staggered.LEADS_SHOWN
    assert ((es["ci_low"] <= es["estimate"]) & (es["estimate"] <= es["ci_high"])).all()
    # effects grow with time funded: the last months are larger than the first
    post = es[~es["lead"]].set_index("relative_period")["estimate"]
    assert post.loc[12:].mean() < post.loc[:2].mean()
    assert set(r.wards["ward_code"]) == set(prog.treated_wards)
    assert {"before", "after", "expected", "effect", "comparison_change"} <= set(r.wards.columns)
    assert r.pretrend is not None and 0 <= r.pretrend.p_value <= 1
    assert "fair" not in r.pretrend.sentence and "passed" not in r.pretrend.sentence


def test_pretrend_evidence_flags_a_drift_and_sensitivity_states_the_breakdown() -> None:
    sc = Scenario("drift", effect0=-0.10, drift=0.02)
    panel, prog, _ = staggered_panel(sc, 8)
    r = staggered.estimate(panel, prog, "cases_per_1k")
    assert r.pretrend.p_value < 0.10
    assert r.pretrend.slope > 0.01  # 2% a month drift, measured
    assert "larger than chance would usually give" in r.pretrend.sentence
    # the drift needed to erase the effect has the effect's sign, and a drift that large
    # is within what was measured before the start
    assert r.pretrend.breakdown < 0 or r.estimate > 0
    assert "A drift of" in r.pretrend.sentence


def test_placebo_start_a_year_earlier_finds_nothing_without_an_effect_before() -> None:
    panel, prog, _ = staggered_panel(DYNAMIC, 9)
    pl = staggered.placebo_start(panel, prog, "cases_per_1k")
    assert pl.estimate is not None and pl.ci_low <= 0 <= pl.ci_high
    assert "as it should" in pl.sentence


def test_placebo_start_without_enough_data_says_so() -> None:
    panel, prog, _ = staggered_panel(Scenario("short", n_months=20, cohort_starts=(6, 8)), 1)
    pl = staggered.placebo_start(panel, prog, "cases_per_1k")
    assert pl.estimate is None and "cannot be run" in pl.sentence


def test_funded_ward_without_any_period_before_its_start_is_left_out_with_a_note() -> None:
    panel, prog, _ = staggered_panel(DYNAMIC, 1)
    first = panel["period_start"].min()
    starts = dict(prog.ward_starts)
    starts["E05000000"] = first
    r = staggered.estimate(
        panel,
        Programme("P", first, tuple(starts), ward_starts=tuple(starts.items())),
        "cases_per_1k",
        check_pretrends=False,
    )
    assert "E05000000" not in r.treated_wards
    assert any("no period before their start" in n for n in r.notes)


# --- programmes: a start per ward ------------------------------------------------------------


def test_programmes_csv_rows_with_the_same_name_are_one_staggered_programme(tmp_path) -> None:
    path = tmp_path / "programmes.csv"
    path.write_text(
        "programme,start_date,treated_wards,description,placebo_outcome\n"
        "Roll-out,2024-04-01,E1;E2,first wave,cases_per_1k:weeds\n"
        "Roll-out,01/10/2024,E3,,\n"
        "Single,2024-01-01,E9,,\n"
    )
    progs = programmes_from_config(path)
    assert [p.name for p in progs] == ["Roll-out", "Single"]
    roll = progs[0]
    assert roll.start == pd.Timestamp("2024-04-01") and roll.staggered
    assert roll.starts() == {
        "E1": pd.Timestamp("2024-04-01"),
        "E2": pd.Timestamp("2024-04-01"),
        "E3": pd.Timestamp("2024-10-01"),
    }
    assert roll.description == "first wave" and roll.placebo_outcome == "cases_per_1k:weeds"
    assert not progs[1].staggered and progs[1].ward_starts == ()


def test_programmes_from_spend_take_each_wards_first_funded_period() -> None:
    spend = pd.DataFrame(
        {
            "ward_code": ["E1", "E1", "E2", "citywide"],
            "period_start": pd.to_datetime(
                ["2024-04-01", "2024-07-01", "2024-10-01", "2024-01-01"]
            ),
            "period_end": pd.to_datetime(["2024-06-30", "2024-09-30", "2024-12-31", "2024-12-31"]),
            "programme": ["Pride"] * 4,
            "service": ["cleansing"] * 4,
            "amount_gbp": [1000.0, 1000.0, 2000.0, 500.0],
        }
    )
    (p,) = programmes_from_spend(spend)
    assert p.starts() == {"E1": pd.Timestamp("2024-04-01"), "E2": pd.Timestamp("2024-10-01")}
    assert p.start == pd.Timestamp("2024-04-01")


def test_complete_periods_leaves_out_part_months_at_either_end() -> None:
    panel = pd.DataFrame(
        {
            "ward_code": ["E1"] * 4,
            "period_start": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]
            ),
        }
    )
    kept, gone = appraise.complete_periods(
        panel, pd.Timestamp("2024-01-10"), pd.Timestamp("2024-04-12 10:00")
    )
    assert gone == ["Jan 2024", "Apr 2024"]
    assert list(kept["period_start"].dt.month) == [2, 3]
    kept, gone = appraise.complete_periods(
        panel, pd.Timestamp("2024-01-01 07:00"), pd.Timestamp("2024-04-30 23:00")
    )
    assert gone == [] and len(kept) == 4


def test_value_for_money_only_for_count_outcomes() -> None:
    r = evaluation.DidResult(
        "Pride",
        "median_days_to_close",
        -2.0,
        -3.0,
        -1.0,
        0.001,
        scale="level",
        unit="days",
        treated_wards=("E1",),
        post_start=pd.Timestamp("2024-04-01"),
        post_end=pd.Timestamp("2024-06-30"),
    )
    spend = pd.DataFrame(
        {
            "ward_code": ["E1"],
            "programme": ["Pride"],
            "period_start": pd.to_datetime(["2024-04-01"]),
            "period_end": pd.to_datetime(["2024-06-30"]),
            "amount_gbp": [90_000.0],
        }
    )
    ce = evaluation.cost_effectiveness(
        r, spend, Programme("Pride", pd.Timestamp("2024-04-01"), ("E1",))
    )
    assert ce.cost_per_unit is None
    assert "per day off" not in evaluation.describe(ce)
    assert "counts" in ce.no_cost_reason


# --- the command line --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """The full-size demo store (the small page-test store is too noisy for fly-tipping alone)."""
    from neighbourhood.demo import build_demo
    from neighbourhood.store import Store

    path = tmp_path_factory.mktemp("evaluate") / "store"
    build_demo(Store(path))
    return path


@pytest.mark.slow
def test_cli_evaluate_prints_the_json_the_issue_asks_for(demo) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "neighbourhood",
            "evaluate",
            "--programme",
            "Neighbourhood Pride Fund",
            "--outcome",
            "cases_per_1k",
            "--category",
            "fly_tipping",
            "--store",
            str(demo),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    for key in (
        "estimate",
        "ci_low",
        "ci_high",
        "method",
        "cohorts",
        "event_study",
        "pretrend",
        "placebo",
    ):
        assert key in summary
    assert summary["ci_low"] < summary["estimate"] < summary["ci_high"] < 0  # planted −15%
    assert summary["ci_low"] <= -0.15 <= summary["ci_high"]
    (cohort,) = summary["cohorts"]
    assert cohort["start"] == "2025-04-01" and len(cohort["wards"]) == 8
    assert {"start", "wards", "estimate", "ci_low", "ci_high"} <= set(cohort)
    rel = [e["relative_period"] for e in summary["event_study"]]
    assert min(rel) < 0 <= max(rel)
    assert all({"estimate", "ci_low", "ci_high"} <= set(e) for e in summary["event_study"])
    assert summary["placebo"][0]["kind"] == "start"


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, words",
    [
        (["--programme", "No such", "--outcome", "cases_per_1k"], "no programme named"),
        (["--programme", "Neighbourhood Pride Fund", "--outcome", "bogus"], "unknown outcome"),
        (
            [
                "--programme",
                "Neighbourhood Pride Fund",
                "--outcome",
                "cases_per_1k",
                "--category",
                "nope",
            ],
            "unknown type of case",
        ),
    ],
)
def test_cli_evaluate_refuses_bad_choices_with_exit_2(demo, args, words) -> None:
    from neighbourhood.store import Store

    before = Store(demo).revision()
    out = subprocess.run(
        [sys.executable, "-m", "neighbourhood", "evaluate", *args, "--store", str(demo)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 2
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert last["status"] == "refused" and words in last["message"]
    assert "Traceback" not in out.stderr
    assert Store(demo).revision() == before


@pytest.mark.slow
def test_appraise_a_staggered_programme_with_a_placebo_outcome_on_the_demo_store(
    demo, tmp_path
) -> None:
    from neighbourhood.store import Store

    (pride,) = programmes_from_config(appraise.PROGRAMMES_CSV)
    first, second = pride.treated_wards[:4], pride.treated_wards[4:]
    config = tmp_path / "programmes.csv"
    config.write_text(
        "programme,start_date,treated_wards,placebo_outcome\n"
        f"Waves,2025-04-01,{';'.join(first)},cases_per_1k:abandoned_vehicle\n"
        f"Waves,2025-10-01,{';'.join(second)},\n"
    )
    store = Store(demo)
    (prog,) = [p for p in appraise.programmes(store, config) if p.name == "Waves"]
    a = appraise.appraise(store, prog, "cases_per_1k", "fly_tipping")
    assert not a.error
    summary = appraise.to_json(a)
    assert [c["start"] for c in summary["cohorts"]] == ["2025-04-01", "2025-10-01"]
    assert [len(c["wards"]) for c in summary["cohorts"]] == [4, 4]
    kinds = [p["kind"] for p in summary["placebo"]]
    assert kinds == ["start", "outcome"]
    assert "Abandoned vehicle" in summary["placebo"][1]["label"]
    assert all(w["ward_name"] for w in summary["wards"])
    json.dumps(summary)  # plain JSON: no Timestamps or numpy scalars left
