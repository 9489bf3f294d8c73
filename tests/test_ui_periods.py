"""Whole periods, incomplete last periods and the movers (pure parts of ui/format.py, ui/data.py).

Hand-built frames: a financial year that the data only half cover must not be compared with a
whole year, and the movers compare what the "Compare with" toggle says, among the chosen wards.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from neighbourhood.schemas import CITYWIDE
from ui.data import kpis, movers
from ui.format import is_complete, period_last_day, periods_shown, plural, so_far_text

D = dt.date


@pytest.mark.parametrize(
    ("start", "period", "last"),
    [
        ("2026-02-01", "month", D(2026, 2, 28)),
        ("2024-02-01", "month", D(2024, 2, 29)),
        ("2026-01-01", "quarter", D(2026, 3, 31)),
        ("2026-04-01", "year", D(2027, 3, 31)),
    ],
)
def test_period_last_day(start: str, period: str, last: dt.date) -> None:
    assert period_last_day(start, period) == last


def test_a_period_is_complete_only_when_the_data_reach_its_last_day() -> None:
    assert is_complete("2026-09-01", "month", D(2026, 9, 30))
    assert not is_complete("2026-09-01", "month", D(2026, 9, 29))
    assert not is_complete("2026-04-01", "year", D(2026, 9, 30))


def test_so_far_text_names_the_months_covered() -> None:
    assert so_far_text("2026-04-01", "year", D(2026, 9, 30)) == "Apr–Sep 2026 so far"
    assert so_far_text("2026-04-01", "year", D(2027, 2, 28)) == "Apr 2026–Feb 2027 so far"
    assert so_far_text("2026-09-01", "month", D(2026, 9, 15)) == "01 Sep to 15 Sep 2026 so far"
    assert so_far_text("2026-07-01", "quarter", D(2026, 8, 10)) == "01 Jul to 10 Aug 2026 so far"


def test_one_day_chosen_is_shown_as_its_whole_month() -> None:
    text = periods_shown("2026-03-01", "2026-03-01", "month", chosen=(D(2026, 3, 29),) * 2)
    assert text.startswith("March 2026 (whole month).")
    assert "29 Mar 2026 to 29 Mar 2026" in text and "widened to whole months" in text


def test_dates_on_period_bounds_need_no_widening_note() -> None:
    text = periods_shown(
        "2025-04-01", "2026-01-01", "quarter", chosen=(D(2025, 4, 1), D(2026, 3, 31))
    )
    assert text == "Q1 2025/26 to Q4 2025/26 (whole quarters)."


def test_dates_moved_into_the_data_say_where_the_data_end() -> None:
    text = periods_shown(
        "2026-09-01",
        "2026-09-01",
        "month",
        chosen=(D(2026, 9, 30),) * 2,
        asked=(D(2027, 1, 1), D(2027, 3, 31)),
        data_end=D(2026, 9, 30),
    )
    assert "01 Jan 2027 to 31 Mar 2027" in text
    assert "end on 30 Sep 2026" in text
    assert "September 2026 (whole month)" in text


def test_an_incomplete_last_period_is_named() -> None:
    text = periods_shown(
        "2025-04-01",
        "2026-04-01",
        "year",
        chosen=(D(2025, 4, 1), D(2027, 3, 31)),
        as_of=D(2026, 9, 30),
    )
    assert "2026/27 is not over yet: data to 30 Sep 2026 (Apr–Sep 2026 so far)" in text


def test_plural() -> None:
    assert plural(1, "ward") == "1 ward"
    assert plural(3, "ward") == "3 wards"
    assert plural(1, "category", "categories") == "1 category"
    assert plural(2, "category", "categories") == "2 categories"


# --- KPI cards: no change for a period that is not over --------------------------------------


def _years(cases: list[float]) -> pd.DataFrame:
    n = len(cases)
    starts = [pd.Timestamp(2024 + i, 4, 1) for i in range(n)]
    return pd.DataFrame(
        {
            "period_start": starts,
            "period": [f"{s.year}/{(s.year + 1) % 100:02d}" for s in starts],
            "cases": cases,
            "cases_per_1k": [c / 100 for c in cases],
            "median_days_to_close": [3.0] * n,
            "pct_within_sla": [80.0] * n,
            "enforcement_actions": [50.0] * n,
            "spend_gbp": [1000.0] * n,
        }
    )


def test_half_a_year_is_not_compared_with_a_whole_year() -> None:
    cards, latest, base = kpis(
        _years([20_000, 19_000, 10_000]), "previous", "year", as_of=D(2026, 9, 30)
    )
    assert latest == "2026/27 (Apr–Sep 2026 so far)"
    assert base == ""
    assert all(c.delta is None for c in cards)
    cases = next(c for c in cards if c.metric == "cases")
    assert cases.text == "10,000"
    assert 10_000.0 not in cases.spark  # the small line holds whole periods only
    assert "not over" in cases.help


def test_a_complete_latest_period_keeps_its_change() -> None:
    cards, latest, base = kpis(
        _years([20_000, 19_000, 10_000]), "previous", "year", as_of=D(2027, 3, 31)
    )
    assert (latest, base) == ("2026/27", "2025/26")
    assert next(c for c in cards if c.metric == "cases").delta == "-47.4%"


def test_the_spend_card_says_it_is_not_split_by_category() -> None:
    cards, _, _ = kpis(_years([1.0, 2.0]), "previous", "year")
    assert "not recorded by category" in next(c for c in cards if c.metric == "spend_gbp").help


# --- movers -------------------------------------------------------------------------------------


def _ward_table() -> pd.DataFrame:
    rows = []
    for start, partial in ((pd.Timestamp(2026, 8, 1), False), (pd.Timestamp(2026, 9, 1), True)):
        for code, prev, yoy in (("W1", -10.0, 30.0), ("W2", 20.0, -5.0), ("W3", 5.0, -40.0)):
            rows.append(
                {
                    "ward_code": code,
                    "ward_name": code.lower(),
                    "period_start": start,
                    "cases": 50,
                    "cases_per_1k": 5.0,
                    "rank_cases_per_1k": 1,
                    # the incomplete month would show every ward falling
                    "cases_per_1k_change_prev_pct": -50.0 if partial else prev,
                    "cases_per_1k_change_yoy_pct": -50.0 if partial else yoy,
                }
            )
        rows.append({**rows[-1], "ward_code": CITYWIDE, "rank_cases_per_1k": None})
    return pd.DataFrame(rows)


def test_movers_follow_the_compare_toggle_in_the_latest_whole_period() -> None:
    best, worst, what = movers(_ward_table(), compare="previous", as_of=D(2026, 9, 14))
    assert what == "Aug 2026 against Jul 2026"
    assert best["ward_code"].tolist() == ["W1"]
    assert worst["ward_code"].tolist() == ["W2", "W3"]
    best, worst, what = movers(_ward_table(), compare="year", as_of=D(2026, 9, 14))
    assert what == "Aug 2026 against Aug 2025"
    assert best["ward_code"].tolist() == ["W3", "W2"]
    assert worst["ward_code"].tolist() == ["W1"]


def test_movers_keep_to_the_chosen_wards_and_a_fall_is_never_getting_worse() -> None:
    best, worst, _ = movers(_ward_table(), compare="previous", wards=("W1",), as_of=D(2026, 9, 14))
    assert best["ward_code"].tolist() == ["W1"]
    assert worst.empty


def test_movers_with_no_whole_period_are_empty() -> None:
    table = _ward_table()
    best, worst, what = movers(
        table[table["period_start"] == table["period_start"].max()], as_of=D(2026, 9, 14)
    )
    assert best.empty and worst.empty and what == ""
