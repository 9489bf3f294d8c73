"""Display formatting (ui/format.py): pure, no Streamlit runtime."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from ui.format import (
    MISSING,
    category_label,
    date_range_text,
    days,
    financial_year,
    gbp,
    metric_label,
    metric_value,
    number,
    percent,
    period_label,
    uk_date,
    ward_label,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1234.5, "£1,234"), (1235.5, "£1,236"), (0, "£0"), (-20, "-£20"), (1_000_000, "£1,000,000")],
)
def test_gbp(value, expected):
    assert gbp(value) == expected


def test_gbp_with_pence():
    assert gbp(12.5, 2) == "£12.50"


@pytest.mark.parametrize("missing", [None, math.nan, pd.NA, pd.NaT])
def test_missing_values_show_a_dash_not_nan(missing):
    assert gbp(missing) == MISSING
    assert number(missing) == MISSING
    assert percent(missing) == MISSING
    assert uk_date(missing) == MISSING
    assert financial_year(missing) == MISSING


def test_uk_date_is_dd_mon_yyyy():
    assert uk_date(dt.date(2024, 3, 5)) == "05 Mar 2024"
    assert uk_date("2024-12-31") == "31 Dec 2024"


def test_uk_date_of_a_utc_instant_is_shown_in_london_time():
    # 23:30 UTC on 30 June is 00:30 BST on 1 July.
    assert uk_date(pd.Timestamp("2024-06-30 23:30", tz="UTC")) == "01 Jul 2024"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2024, 4, 1), "2024/25"),
        (dt.date(2025, 3, 31), "2024/25"),
        (dt.date(2024, 3, 31), "2023/24"),
        (dt.date(1999, 6, 1), "1999/00"),
    ],
)
def test_financial_year_runs_april_to_march(day, expected):
    assert financial_year(day) == expected


def test_financial_year_of_a_pandas_q_mar_period_is_not_the_raw_label():
    period = pd.Timestamp("2024-04-15").to_period("Q-MAR")
    assert str(period) == "2025Q1"  # what pandas would show
    assert financial_year(period) == "2024/25"
    assert period_label(period, "quarter") == "Q1 2024/25"


@pytest.mark.parametrize(
    ("start", "period", "expected"),
    [
        ("2024-03-01", "month", "Mar 2024"),
        ("2024-04-01", "quarter", "Q1 2024/25"),
        ("2024-10-01", "quarter", "Q3 2024/25"),
        ("2025-01-01", "quarter", "Q4 2024/25"),
        ("2024-04-01", "year", "2024/25"),
    ],
)
def test_period_labels(start, period, expected):
    assert period_label(pd.Timestamp(start), period) == expected


def test_category_labels_are_council_english_and_unknown_codes_pass_through_as_text():
    assert category_label("fly_tipping") == "Fly-tipping"
    hostile = "<img src=x onerror=alert(1)>"
    assert category_label(hostile) == hostile


def test_metric_labels_and_values():
    assert metric_label("cases_per_1k") == "Cases per 1,000 residents"
    assert metric_value("spend_gbp", 12345.6) == "£12,346"
    assert metric_value("pct_within_sla", 87.26) == "87%"
    assert metric_value("median_days_to_close", 2.04) == "2.0 days"
    assert metric_value("cases_per_1k", 12.345) == "12.3"
    assert days(1) == "1.0 day"


def test_ward_label_and_date_range_text():
    assert ward_label("citywide") == "Whole city"
    assert ward_label("E05000001", {"E05000001": "Anfield"}) == "Anfield"
    assert (
        date_range_text(dt.date(2024, 4, 1), dt.date(2025, 3, 31)) == "01 Apr 2024 to 31 Mar 2025"
    )
