"""Disclosure control on the dashboard (ui/disclosure.py and its use in ui/data, ui/maps, ui/charts).

Hand-computed: with the default threshold 5, ward counts 0 → "0", 3 → "<5", 12 → "12"; the
whole-city row stays exact; rates built on a hidden count are blank; KPI cards neither show a
hidden count nor let its delta or trend line give it away.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from neighbourhood.schemas import CITYWIDE
from ui import disclosure
from ui.charts import colour_legend
from ui.data import NO_CHANGE, _delta, kpis
from ui.maps import NO_DATA_RGBA, choropleth_data


@pytest.fixture(autouse=True)
def _default_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(disclosure.THRESHOLD_ENV, raising=False)


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ward_code": ["E1", "E2", "E3", CITYWIDE],
            "enforcement_actions": [0, 3, 12, 15],
            "fly_tipping_actions": [0, 2, 9, 11],
            "actions_per_100_fly_tips": [0.0, 4.0, 9.0, 8.0],
            "fpn_paid": [0, 6, 1, 7],
            "fpn_with_outcome": [0, 8, 6, 14],
            "fpn_paid_rate": [np.nan, 0.75, 1 / 6, 0.5],
            "cases": [1, 2, 3, 6],
        }
    )


@pytest.mark.parametrize(
    ("raw", "expected"), [("", 5), ("7", 7), (" 10 ", 10), ("abc", 5), ("1", 5), ("-3", 5)]
)
def test_threshold_comes_from_one_environment_variable_and_fails_safe(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: int
) -> None:
    monkeypatch.setenv(disclosure.THRESHOLD_ENV, raw)
    assert disclosure.threshold() == expected
    assert disclosure.small_text() == f"<{expected}"


def test_text_view_hides_ward_counts_1_to_4_and_keeps_the_city_total_exact() -> None:
    out = disclosure.protect(_table(), text=True)
    assert out["enforcement_actions"].tolist() == ["0", "<5", "12", "15"]
    assert out["fly_tipping_actions"].tolist() == ["0", "<5", "9", "11"]
    assert out["fpn_paid"].tolist() == ["0", "6", "<5", "7"]
    assert out["cases"].tolist() == [1, 2, 3, 6]  # cleansing counts are events, not people


def test_rates_built_on_a_hidden_count_are_blank() -> None:
    out = disclosure.protect(_table(), text=True)
    assert out["actions_per_100_fly_tips"].isna().tolist() == [False, True, False, False]
    assert out["fpn_paid_rate"].isna().tolist() == [True, False, True, False]


def test_numeric_view_turns_hidden_counts_into_gaps() -> None:
    out = disclosure.protect(_table(), text=False)
    assert out["enforcement_actions"].isna().tolist() == [False, True, False, False]
    assert out.loc[2, "enforcement_actions"] == 12


def test_a_group_of_chosen_wards_is_protected_like_a_ward() -> None:
    t = pd.DataFrame({"ward_code": [CITYWIDE], "enforcement_actions": [4]})
    assert disclosure.protect(t, text=True, city_exact=False)["enforcement_actions"].tolist() == [
        "<5"
    ]
    assert disclosure.protect(t, text=True)["enforcement_actions"].tolist() == ["4"]


def test_the_threshold_setting_reaches_the_view(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(disclosure.THRESHOLD_ENV, "10")
    out = disclosure.protect(_table(), text=True)
    assert out["enforcement_actions"].tolist() == ["0", "<10", "12", "15"]


def _rows(actions: list[float]) -> pd.DataFrame:
    n = len(actions)
    return pd.DataFrame(
        {
            "period_start": pd.date_range("2024-01-01", periods=n, freq="MS"),
            "period": [f"P{i}" for i in range(n)],
            "cases": [100.0] * n,
            "cases_per_1k": [1.0] * n,
            "median_days_to_close": [2.0] * n,
            "pct_within_sla": [90.0] * n,
            "enforcement_actions": actions,
            "spend_gbp": [1000.0] * n,
        }
    )


def _card(cards: list, metric: str):
    return next(c for c in cards if c.metric == metric)


def test_a_protected_kpi_shows_lt5_with_no_delta_and_no_trend_line() -> None:
    cards, _, _ = kpis(_rows([8, 9, 1]), protect=True)
    card = _card(cards, "enforcement_actions")
    assert card.text == "<5" and card.value is None
    assert card.delta is None
    assert card.spark == ()
    assert "<5" in card.help


def test_a_kpi_delta_that_would_reveal_the_earlier_hidden_count_is_left_out() -> None:
    cards, _, _ = kpis(_rows([9, 3, 8]), protect=True)
    card = _card(cards, "enforcement_actions")
    assert card.text == "8"
    assert card.delta is None  # 8 against 3 would give the 3 away
    assert card.spark == ()


def test_kpi_deltas_and_lines_stay_when_nothing_is_small() -> None:
    cards, _, _ = kpis(_rows([0, 10, 12]), protect=True)
    card = _card(cards, "enforcement_actions")
    assert card.text == "12" and card.delta == "+20.0%" and card.spark == (0.0, 10.0, 12.0)


def test_city_kpis_are_exact() -> None:
    cards, _, _ = kpis(_rows([8, 9, 1]), protect=False)
    assert _card(cards, "enforcement_actions").text == "1"


@pytest.mark.parametrize(
    ("metric", "now", "before", "expected"),
    [
        ("median_days_to_close", 5.02, 5.04, NO_CHANGE),
        ("median_days_to_close", 5.0, 5.0, NO_CHANGE),
        ("median_days_to_close", 3.0, 5.34, "-2.3 days"),
        ("pct_within_sla", 80.0, 80.04, NO_CHANGE),
        ("cases", 1000, 1000, NO_CHANGE),
        ("cases", 110, 100, "+10.0%"),
    ],
)
def test_a_change_that_rounds_to_zero_reads_no_change_never_minus_zero(
    metric: str, now: float, before: float, expected: str
) -> None:
    assert _delta(metric, now, before) == expected


def test_no_change_kpi_has_no_arrow_and_no_colour() -> None:
    rows = _rows([0, 0, 0])
    rows["median_days_to_close"] = [2.0, 5.04, 5.02]
    card = _card(kpis(rows)[0], "median_days_to_close")
    assert card.delta == NO_CHANGE and card.delta_arrow == "off" and card.delta_color == "off"


def test_map_colours_a_hidden_ward_grey_and_its_tooltip_says_lt5() -> None:
    wards = gpd.GeoDataFrame(
        {"ward_code": ["E1", "E2", "E3"], "ward_name": ["A", "B", "C"]},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(3)],
        crs=4326,
    )
    shown = disclosure.protect(_table().iloc[:3], text=True)
    data = choropleth_data(wards, shown, "enforcement_actions")
    assert data["tooltip_detail"].tolist() == [
        "Enforcement actions: 0",
        "Enforcement actions: <5",
        "Enforcement actions: 12",
    ]
    assert data.loc[1, "fill_color"] == NO_DATA_RGBA
    assert pd.isna(data.loc[1, "value"])


def test_map_legend_explains_grey_and_leaves_room_for_tick_labels() -> None:
    fig = colour_legend(0, 30, "enforcement_actions", True, missing_label="<5 or no data")
    assert "(grey: <5 or no data)" in fig.layout.title.text
    assert fig.layout.margin.b >= 40


def test_map_legend_ticks_never_repeat_a_label() -> None:
    fig = colour_legend(0, 1, "enforcement_actions")
    assert list(fig.layout.xaxis.ticktext) == ["0", "1"]
    single = colour_legend(0, 0, "enforcement_actions")
    assert list(single.layout.xaxis.ticktext) == ["0"]
