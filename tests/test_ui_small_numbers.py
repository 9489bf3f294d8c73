"""Empty and tiny data read honestly (issue #17): no change on fewer than 10 cases, and a
movers list that is empty says why. Pure parts of ui/data.py, on hand-built frames."""

from __future__ import annotations

import pandas as pd

from neighbourhood.schemas import CITYWIDE
from ui.data import (
    MIN_CASES_TO_COMPARE,
    TOO_FEW,
    changes_text,
    kpis,
    movers,
    movers_reasons,
)


def _months(cases: list[int], within: list[float] | None = None) -> pd.DataFrame:
    n = len(cases)
    starts = pd.date_range("2026-05-01", periods=n, freq="MS")
    return pd.DataFrame(
        {
            "period_start": starts,
            "cases": cases,
            "cases_per_1k": [c / 10 for c in cases],
            "median_days_to_close": [3.0 + i for i in range(n)],
            "pct_within_sla": within or [50.0] * n,
            "enforcement_actions": [20.0] * n,
            "spend_gbp": [1000.0 * (i + 1) for i in range(n)],
        }
    )


def test_two_cases_against_one_show_no_percentage_but_say_why() -> None:
    # issue #17: "+100.0%" and "−100.0 points" on 2 cases
    cards, _, base = kpis(_months([1, 2], within=[100.0, 0.0]), "previous", "month")
    by = {c.metric: c for c in cards}
    for m in ("cases", "cases_per_1k", "median_days_to_close", "pct_within_sla"):
        assert by[m].delta == TOO_FEW, m
        assert by[m].delta_arrow == "off" and by[m].delta_color == "off"
        assert f"fewer than {MIN_CASES_TO_COMPARE} cases" in by[m].help
    assert base == "May 2026"
    assert by["spend_gbp"].delta == "+100.0%"  # money is not a count of cases


def test_enough_cases_on_both_sides_keep_their_change() -> None:
    cards, _, _ = kpis(_months([10, 20]), "previous", "month")
    assert next(c for c in cards if c.metric == "cases").delta == "+100.0%"


def test_nine_cases_in_the_period_compared_with_is_too_few() -> None:
    cards, _, _ = kpis(_months([9, 40]), "previous", "month")
    assert next(c for c in cards if c.metric == "cases_per_1k").delta == TOO_FEW


def _wards(changes: dict[str, tuple[int, float, float]]) -> pd.DataFrame:
    """One whole month; per ward (cases, change in cases %, change in rate %)."""
    rows = []
    for code, (cases, case_change, rate_change) in changes.items():
        rows.append(
            {
                "ward_code": code,
                "ward_name": code.lower(),
                "period_start": pd.Timestamp(2026, 8, 1),
                "cases": cases,
                "cases_per_1k": cases / 10,
                "rank_cases_per_1k": 1 if cases >= 10 else None,
                "cases_change_prev_pct": case_change,
                "cases_per_1k_change_prev_pct": rate_change,
                "cases_change_yoy_pct": case_change,
                "cases_per_1k_change_yoy_pct": rate_change,
            }
        )
    rows.append({**rows[-1], "ward_code": CITYWIDE, "rank_cases_per_1k": None})
    return pd.DataFrame(rows)


def test_a_ward_with_few_cases_in_the_period_before_is_not_a_mover() -> None:
    # 12 cases now, 3 before: +300%, on 3 cases
    table = _wards({"W1": (12, 300.0, 300.0), "W2": (40, -20.0, -20.0)})
    best, worst, _ = movers(table)
    assert worst.empty and best["ward_code"].tolist() == ["W2"]
    fell, rose = movers_reasons(table)
    assert fell == "" and rose.startswith("No ward's rate rose")


def test_one_rare_category_leaves_the_movers_empty_with_the_reason() -> None:
    table = _wards({"W1": (2, 100.0, 100.0), "W2": (1, -50.0, -50.0), "W3": (3, 0.0, 0.0)})
    best, worst, _ = movers(table)
    assert best.empty and worst.empty
    fell, rose = movers_reasons(table)
    assert fell == rose
    assert f"at least {MIN_CASES_TO_COMPARE} cases in both periods" in fell
    assert "Aug 2026 against Jul 2026" in fell


def test_no_whole_period_says_so() -> None:
    table = _wards({"W1": (50, 10.0, 10.0)})
    import datetime as dt

    fell, rose = movers_reasons(table, as_of=dt.date(2026, 8, 10))
    assert fell == rose == "No whole period to compare yet."


def test_the_ward_profile_says_what_its_changes_are_compared_with() -> None:
    assert changes_text("Aug 2026", "Jul 2026", "month").endswith(
        "Changes are against Jul 2026, the month before."
    )
    assert "not over yet" in changes_text("2026/27 (Apr–Sep 2026 so far)", "", "year")
    assert "no quarter before it" in changes_text("Q1 2024/25", "", "quarter")
