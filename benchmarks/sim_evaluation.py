"""Simulation study of the Spend vs results estimator (issue 18): not a CI timing test.

Panels of wards × months with Poisson report counts (ward and month effects, seasonal) and a
level outcome (days to close with normal noise). Funded wards join in cohorts (a staggered
roll-out) and the effect can be constant or grow with time funded. For each scenario and seed the
imputation estimator (``neighbourhood.staggered.estimate``) and, for contrast, the one-start
two-way fixed effects model (``neighbourhood.evaluation.did``) are run; the script reports the
false-positive rate, bias and coverage of the overall effect, per-cohort coverage, and the size
and power of the pre-trend test.

Run: ``python benchmarks/sim_evaluation.py --reps 400 --out results.json`` (about a second per
replication and scenario on one core). The figures in ``docs/evaluation.md`` come from it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neighbourhood.evaluation import Programme  # noqa: E402


@dataclass(frozen=True)
class Scenario:
    """One data-generating process."""

    name: str
    n_wards: int = 30
    n_months: int = 48
    cohort_starts: tuple[int, ...] = (18, 24, 30)
    cohort_size: int = 4
    effect0: float = 0.0  # proportional effect in the first funded month
    growth: float = 0.0  # extra proportional effect per month funded (capped at 12 months)
    days0: float = 0.0
    days_growth: float = 0.0
    drift: float = 0.0  # funded wards' log-rate drift per month before their start


def staggered_panel(sc: Scenario, seed: int) -> tuple[pd.DataFrame, Programme, dict[str, object]]:
    """One simulated panel, its programme (a start per ward) and the true effects.

    Returns
    -------
    (panel, programme, truth)
        ``truth`` has ``overall`` (ratio ATT: Σ y1 / Σ y0 − 1 in expectation), ``cohorts``
        (start → ratio ATT), ``days`` (mean additive days effect) and ``days_cohorts``.
    """
    rng = np.random.default_rng(seed)
    wards = [f"E0500{i:04d}" for i in range(sc.n_wards)]
    months = pd.date_range("2022-04-01", periods=sc.n_months, freq="MS")
    pop = rng.integers(8_000, 20_000, sc.n_wards)
    ward_fx = rng.normal(0, 0.4, sc.n_wards)
    month_fx = 0.2 * np.sin(2 * np.pi * np.arange(sc.n_months) / 12) + rng.normal(
        0, 0.05, sc.n_months
    )
    start_of: dict[int, int] = {}
    for c, s in enumerate(sc.cohort_starts):
        for j in range(sc.cohort_size):
            start_of[c * sc.cohort_size + j] = s
    num: dict[int, float] = {}
    den: dict[int, float] = {}
    dsum: dict[int, float] = {}
    dn: dict[int, int] = {}
    rows = []
    for i, w in enumerate(wards):
        s = start_of.get(i)
        for t, m in enumerate(months):
            lam = pop[i] / 1000 * 3.0 * np.exp(ward_fx[i] + month_fx[t])
            days = 6 + 2 * ward_fx[i] + 3 * month_fx[t]
            if s is not None and t < s:
                lam *= np.exp(sc.drift * (t - s))
            if s is not None and t >= s:
                e = min(t - s, 12)
                tau = sc.effect0 + sc.growth * e
                # the estimator works on rates per 1,000 residents: weight by the rate
                rate = lam / pop[i]
                num[s] = num.get(s, 0.0) + rate * (1 + tau)
                den[s] = den.get(s, 0.0) + rate
                lam *= 1 + tau
                dtau = sc.days0 + sc.days_growth * e
                days += dtau
                dsum[s] = dsum.get(s, 0.0) + dtau
                dn[s] = dn.get(s, 0) + 1
            cases = int(rng.poisson(lam))
            rows.append(
                {
                    "ward_code": w,
                    "period_start": m,
                    "cases": cases,
                    "cases_per_1k": cases / pop[i] * 1000,
                    "median_days_to_close": days + rng.normal(0, 1.0),
                }
            )
    starts = tuple((wards[i], months[s]) for i, s in start_of.items())
    prog = Programme(
        "Simulated",
        months[min(sc.cohort_starts)],
        tuple(w for w, _ in starts),
        ward_starts=starts if len(set(sc.cohort_starts)) > 1 else (),
    )
    truth = {
        "overall": sum(num.values()) / sum(den.values()) - 1 if den else 0.0,
        "cohorts": {months[s]: num[s] / den[s] - 1 for s in den},
        "days": sum(dsum.values()) / sum(dn.values()) if dn else 0.0,
        "days_cohorts": {months[s]: dsum[s] / dn[s] for s in dn},
    }
    return pd.DataFrame(rows), prog, truth


SCENARIOS = {
    "null": Scenario("no effect, staggered", effect0=0.0),
    "constant": Scenario("constant −15%, staggered", effect0=-0.15, days0=-1.5),
    "dynamic": Scenario(
        "dynamic (−6% growing to −18%), staggered",
        effect0=-0.06,
        growth=-0.01,
        days0=-0.5,
        days_growth=-0.15,
    ),
    "pretrend_null_64": Scenario("parallel trends, 64 wards", n_wards=64, cohort_size=8),
    "pretrend_drift": Scenario("funded wards rising 1% a month before their start", drift=0.01),
}


def run(
    scenario: str,
    reps: int,
    seed0: int = 1000,
    did_too: bool = False,
    pretrends: bool = True,
    days: bool = True,
) -> dict[str, object]:
    """Run one scenario ``reps`` times; return the summary figures."""
    from neighbourhood import evaluation, staggered

    sc = SCENARIOS[scenario]
    est, cover, cohort_cover, cohort_n, rej, ptest, days_err, days_cover = [], 0, 0, 0, 0, 0, [], 0
    twfe, truths = [], []
    t0 = time.process_time()
    for r in range(reps):
        panel, prog, truth = staggered_panel(sc, seed0 + r)
        res = staggered.estimate(panel, prog, "cases_per_1k", check_pretrends=pretrends)
        truths.append(truth["overall"])
        est.append(res.estimate)
        cover += res.ci_low <= truth["overall"] <= res.ci_high
        rej += not (res.ci_low <= 0 <= res.ci_high)
        for row in res.cohorts.itertuples():
            t = truth["cohorts"].get(row.start)
            if t is not None:
                cohort_n += 1
                cohort_cover += row.ci_low <= t <= row.ci_high
        if res.pretrend is not None and res.pretrend.p_value is not None:
            ptest += res.pretrend.p_value < 0.10
        if days:
            dres = staggered.estimate(panel, prog, "median_days_to_close", check_pretrends=False)
            days_err.append(dres.estimate - truth["days"])
            days_cover += dres.ci_low <= truth["days"] <= dres.ci_high
        if did_too:
            one = evaluation.did(
                panel, prog, "cases_per_1k", check_pretrends=False, inference="analytic"
            )
            twfe.append(one.estimate)
    est_a, tr = np.array(est), np.array(truths)
    out = {
        "scenario": sc.name,
        "replications": reps,
        "true_effect_mean": float(tr.mean()),
        "mean_estimate": float(est_a.mean()),
        "bias_points": float((est_a - tr).mean() * 100),
        "sd_points": float(est_a.std(ddof=1) * 100) if reps > 1 else math.nan,
        "coverage": cover / reps,
        "rejects_zero": rej / reps,
        "cohort_coverage": cohort_cover / cohort_n if cohort_n else math.nan,
        "pretrend_warns_at_10pct": ptest / reps if pretrends else None,
        "days_bias": float(np.mean(days_err)) if days else None,
        "days_coverage": days_cover / reps if days else None,
        "cpu_seconds": round(time.process_time() - t0, 1),
    }
    if did_too:
        out["one_start_twfe_bias_points"] = float((np.array(twfe) - tr).mean() * 100)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--scenarios``, ``--reps``, ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--twfe", action="store_true", help="also run the one-start TWFE model")
    ap.add_argument("--no-pretrends", action="store_true", help="skip the pre-trend evidence")
    ap.add_argument("--no-days", action="store_true", help="skip the level outcome")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    results = []
    for name in args.scenarios:
        res = run(
            name,
            args.reps,
            did_too=args.twfe,
            pretrends=not args.no_pretrends,
            days=not args.no_days,
        )
        print(json.dumps(res), flush=True)
        results.append(res)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
