"""URL ↔ filter values (ui/filters.py pure helpers), without a Streamlit runtime."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ui.filters import (
    K_CATS,
    K_DATES,
    K_PERIOD,
    K_WARD,
    K_WARDS,
    Control,
    FilterOptions,
    default_values,
    emit_control,
    parse_control,
    parse_query,
    to_query,
    toggle_control,
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


def test_defaults_are_left_out_of_the_url_but_the_dates_are_pinned():
    # the default dates end at the latest case: a link must not move when later data arrive
    assert to_query(default_values(OPTIONS), OPTIONS) == {
        "from": ["2023-04-01"],
        "to": ["2025-03-31"],
    }


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


# --- page controls in the URL (issue #17: the map's link lost its period and toggles) ----------


MEASURE = Control("map_metric", "measure", ("cases_per_1k", "cases", "spend_gbp"), "cases_per_1k")
STARTS = tuple(pd.date_range("2026-01-01", periods=3, freq="MS"))
WHEN = Control(
    "map_period", "when", STARTS, STARTS[-1], pin=True, text=lambda p: p.date().isoformat()
)
HEXES = toggle_control("map_hexes", "hotspots")
CITY = toggle_control("trend_city", "city", default=True)
COMPARE = Control("trend_comparison", "compare", ("E1", "E2", "E3"), [], multi=True)


@pytest.mark.parametrize(
    ("control", "value"),
    [
        (MEASURE, "cases"),
        (MEASURE, "cases_per_1k"),
        (WHEN, STARTS[0]),
        (WHEN, STARTS[-1]),
        (HEXES, True),
        (HEXES, False),
        (CITY, False),
        (CITY, True),
        (COMPARE, ["E3", "E1"]),
        (COMPARE, []),
    ],
)
def test_a_page_control_round_trips_through_the_url(control, value):
    emitted = emit_control(value, control)
    parsed = parse_control({control.param: emitted}, control)
    assert (control.default if parsed is None else parsed) == value


def test_defaults_are_left_out_but_a_pinned_default_is_written():
    assert emit_control("cases_per_1k", MEASURE) == []
    assert emit_control(False, HEXES) == [] and emit_control(True, CITY) == []
    # the latest period is the default today, and not once later data arrive
    assert emit_control(STARTS[-1], WHEN) == ["2026-03-01"]


@pytest.mark.parametrize(
    ("control", "raw"),
    [
        (MEASURE, ["<script>alert(1)</script>"]),
        (MEASURE, [""]),
        (WHEN, ["2026-02-15"]),  # not a period start
        (WHEN, ["not a date"]),
        (HEXES, ["true"]),
        (HEXES, ["2"]),
        (COMPARE, ["E9", "E0"]),
    ],
)
def test_unknown_url_values_are_ignored(control, raw):
    assert parse_control({control.param: raw}, control) is None


def test_a_multi_control_keeps_known_values_once_in_order():
    assert parse_control({"compare": ["E2", "E9", "E2", "E1"]}, COMPARE) == ["E2", "E1"]
    assert emit_control(["E2", "E9"], COMPARE) == ["E2"]
    assert parse_control({}, COMPARE) is None
