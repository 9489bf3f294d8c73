"""URL ↔ filter values (ui/filters.py pure helpers), without a Streamlit runtime."""

from __future__ import annotations

import datetime as dt

from ui.filters import (
    K_CATS,
    K_DATES,
    K_PERIOD,
    K_WARD,
    K_WARDS,
    FilterOptions,
    default_values,
    parse_query,
    to_query,
)

OPTIONS = FilterOptions(
    min_date=dt.date(2021, 4, 1),
    max_date=dt.date(2025, 3, 31),
    categories=("fly_tipping", "litter", "graffiti"),
    wards={"E1": "Anfield", "E2": "Everton"},
)


def test_defaults_are_the_last_two_years_by_month_with_everything():
    d = default_values(OPTIONS)
    assert d[K_DATES] == (dt.date(2023, 4, 1), dt.date(2025, 3, 31))
    assert d[K_PERIOD] == "month"
    assert d[K_CATS] == ["fly_tipping", "litter", "graffiti"]
    assert d[K_WARDS] == []


def test_defaults_are_left_out_of_the_url():
    assert to_query(default_values(OPTIONS), OPTIONS) == {}


def test_round_trip_through_the_url():
    values = {
        K_DATES: (dt.date(2024, 1, 1), dt.date(2024, 6, 30)),
        K_PERIOD: "quarter",
        K_CATS: ["litter"],
        K_WARDS: ["E2", "E1"],
        K_WARD: "E1",
    }
    query = to_query(values, OPTIONS)
    assert query == {
        "from": ["2024-01-01"],
        "to": ["2024-06-30"],
        "period": ["quarter"],
        "cat": ["litter"],
        "wards": ["E2", "E1"],
        "ward": ["E1"],
    }
    assert parse_query(query, OPTIONS) == values


def test_invalid_url_values_are_ignored():
    query = {
        "from": ["not-a-date"],
        "period": ["fortnight"],
        "cat": ["<script>", "litter"],
        "wards": ["E999"],
        "ward": ["=HYPERLINK(1)"],
    }
    assert parse_query(query, OPTIONS) == {K_CATS: ["litter"]}


def test_url_dates_are_clipped_to_the_data_and_put_in_order():
    found = parse_query({"from": ["2030-01-01"], "to": ["2019-01-01"]}, OPTIONS)
    assert found[K_DATES] == (dt.date(2021, 4, 1), dt.date(2025, 3, 31))
