"""Wording helpers behind the Spend vs results page (ui/spend.py), without Streamlit."""

from __future__ import annotations

import math

import pandas as pd

from neighbourhood.evaluation import Programme
from ui.spend import (
    article,
    category_options,
    chance_text,
    ci_text,
    comparable,
    delta_text,
    funded_wards_text,
    gbp_or_dash,
    level_text,
    merge_programmes,
    no_cases_message,
    p_text,
    per_unit_label,
    pretrend_caption,
    signed,
    subject_for,
    type_label,
)


def test_signed_ratio_and_level() -> None:
    assert signed(-0.152, "ratio", "%") == "−15.2%"
    assert signed(0.05, "ratio", "%") == "+5.0%"
    assert signed(-1.5, "level", "days") == "−1.5 days"
    assert signed(0.0, "level", "days") == "0.0 days"
    assert signed(math.nan, "ratio", "%") == "–"


def test_ci_text() -> None:
    assert ci_text(-0.22, -0.081, "ratio", "%") == "−22.0% to −8.1%"


def test_p_text() -> None:
    assert p_text(0.0004) == "below 0.001"
    assert p_text(0.0312) == "0.031"
    assert p_text(None) == "–"
    assert p_text(math.nan) == "–"


def test_gbp_or_dash() -> None:
    assert gbp_or_dash(12.345) == "£12.35"
    assert gbp_or_dash(123456.7) == "£123,457"
    assert gbp_or_dash(None) == "–"
    assert gbp_or_dash(math.inf) == "no upper limit"


def test_subject_for_category_outcomes_only() -> None:
    assert subject_for("cases_per_1k", "fly_tipping") == "Fly-tipping reports per 1,000 residents"
    assert subject_for("actions_per_100_fly_tips", "fly_tipping") is None
    assert subject_for("cases_per_1k", None) is None


def test_all_types_is_the_default_then_fly_tipping() -> None:
    opts = category_options()
    assert opts[:2] == ["all", "fly_tipping"] and len(opts) == len(set(opts))
    assert type_label("all") == "All types of case" and type_label(None) == "All types of case"
    assert type_label("fly_tipping") == "Fly-tipping"


def test_configured_programmes_win_over_spend_inferred() -> None:
    a = Programme("Pride", pd.Timestamp("2025-04-01"), ("E1",), description="configured")
    b = Programme("Pride", pd.Timestamp("2025-05-01"), ("E1", "E2"))
    c = Programme("Other", pd.Timestamp("2024-04-01"), ("E3",))
    merged = merge_programmes([a], [b, c])
    assert [p.name for p in merged] == ["Pride", "Other"]
    assert merged[0].description == "configured"


def test_per_unit_label() -> None:
    assert per_unit_label("cases_per_1k", "report") == "Per report avoided"
    assert per_unit_label("actions_per_100_fly_tips", "enforcement action") == (
        "Per extra enforcement action"
    )
    assert per_unit_label("median_days_to_close", "day off the median time to close") == (
        "Per day off the median time to close"
    )


def test_comparable_drops_programmes_funding_every_ward_newest_first() -> None:
    core = Programme("Core", pd.Timestamp("2023-10-01"), ("E1", "E2", "E3"))
    old = Programme("Old", pd.Timestamp("2024-01-01"), ("E1",))
    new = Programme("New", pd.Timestamp("2025-04-01"), ("E2",))
    assert [p.name for p in comparable([core, old, new], {"E1", "E2", "E3"})] == ["New", "Old"]


def test_comparable_offers_only_programmes_whose_wards_are_all_in_the_set_in_use() -> None:
    demo = Programme("Neighbourhood Pride Fund", pd.Timestamp("2025-04-01"), ("E05900003",))
    straddling = Programme("Half", pd.Timestamp("2024-04-01"), ("E1", "E9"))
    inside = Programme("Inside", pd.Timestamp("2024-04-01"), ("E1",))
    council_wards = {"E1", "E2", "E3"}
    assert [p.name for p in comparable([demo, straddling, inside], council_wards)] == ["Inside"]
    assert comparable([demo, inside], set()) == []


def test_delta_text_uses_ascii_minus_so_metric_arrow_points_down() -> None:
    assert delta_text(-0.123, "ratio", "%") == "-12.3%"
    assert delta_text(0.05, "ratio", "%") == "+5.0%"


def test_article_a_or_an() -> None:
    assert article("Overflowing bins") == "an"
    assert article("abandoned vehicles") == "an"
    assert article("Graffiti") == "a"
    assert article("fly-tipping") == "a"
    assert article("one-off") == "a"


def test_subject_for_days_uses_an_before_a_vowel() -> None:
    assert subject_for("median_days_to_close", "overflowing_bin") == (
        "The median time to close an overflowing bins case"
    )
    assert subject_for("median_days_to_close", "abandoned_vehicle") == (
        "The median time to close an abandoned vehicles case"
    )
    assert subject_for("median_days_to_close", "graffiti") == (
        "The median time to close a graffiti case"
    )


def test_level_text_carries_the_unit() -> None:
    assert level_text(93.123, "pct_within_sla") == "93.1%"
    assert level_text(2.07, "median_days_to_close") == "2.1 days"
    assert level_text(0.1149, "cases_per_1k") == "0.11 per 1,000 residents"
    assert level_text(12.04, "actions_per_100_fly_tips") == "12.0 per 100 fly-tips"
    assert level_text(math.nan, "cases_per_1k") == "–"


def test_chance_text_in_words() -> None:
    assert chance_text(0.003) == "Very unlikely"
    assert chance_text(0.03) == "Unlikely"
    assert chance_text(0.07) == "Possibly"
    assert chance_text(0.6) == "Quite possibly"
    assert chance_text(None) == "–"


def test_category_options_only_types_with_cases_fly_tipping_first() -> None:
    counts = {"graffiti": 3, "fly_tipping": 10, "other": 0, "needles": 1}
    assert category_options(counts) == ["all", "fly_tipping", "graffiti", "needles"]
    assert category_options({}) == ["all"]


def test_funded_wards_named_and_grouped_by_start() -> None:
    starts = {
        "E1": pd.Timestamp("2025-04-01"),
        "E2": pd.Timestamp("2025-04-01"),
        "E3": pd.Timestamp("2025-10-01"),
    }
    text = funded_wards_text(starts, {"E1": "Anfield", "E2": "Everton"})
    assert text == "Anfield, Everton (from 01 Apr 2025); E3 (from 01 Oct 2025)"


def test_pretrend_caption_is_evidence_not_a_verdict() -> None:
    text = pretrend_caption(0.42, "bootstrap")
    assert "0.420" in text and "not proof" in text
    for word in ("fair", "pass"):
        assert word not in text.lower()


def test_no_cases_message_is_plain() -> None:
    text = no_cases_message("other")
    assert text.startswith("There are no 'Other' cases in the funded wards")
    assert "panel" not in text
