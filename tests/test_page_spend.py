"""AppTest: the Spend vs results page (pages/3_Spend_vs_results.py) on the demo store.

The demo plants a −15% effect on fly-tipping reports in the funded wards of the "Neighbourhood
Pride Fund", so the headline sentence must say that reports "fell".
"""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from page_support import demo_store, page, texts

from neighbourhood.demo import PROGRAMME_NAME
from neighbourhood.evaluation import programmes_from_config

PAGE = "3_Spend_vs_results.py"
PROGRAMMES = Path(__file__).resolve().parents[1] / "data" / "programmes.csv"


pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_store(tmp_path_factory.mktemp("spend"))


@pytest.fixture
def store(template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(template))  # read-only page
    return template


@pytest.fixture(scope="module")
def shown(template: Path):
    mp = pytest.MonkeyPatch()
    mp.setenv("NEIGHBOURHOOD_STORE", str(template))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = page(PAGE)
    at.run()
    mp.undo()
    return at


def test_no_exception_and_demo_programme_chosen(shown) -> None:
    assert not shown.exception
    assert shown.selectbox(key="spend_programme").value == PROGRAMME_NAME
    assert shown.selectbox(key="spend_outcome").value == "cases_per_1k"
    assert shown.selectbox(key="spend_category").value == "all"
    assert "All types of case" in shown.selectbox(key="spend_category").options


def test_plain_sentence_says_fly_tipping_fell(store: Path) -> None:
    at = _choose(_ran(), "cases_per_1k", "fly_tipping")
    sentence = next(m.value for m in at.markdown if m.value.startswith("####"))
    sentence = sentence.replace("\\", "")
    assert "Fly-tipping reports" in sentence
    assert "fell" in sentence
    assert "95% range" in sentence


def test_estimate_ci_and_p_value_shown(shown) -> None:
    metrics = {m.label: m.value for m in shown.metric}
    assert metrics["Estimated effect"].startswith("−")
    assert " to " in metrics["95% range"]
    assert metrics["Could it be chance?"] != "–"


def test_caveats_shown_prominently(shown) -> None:
    warnings = [w.value for w in shown.warning]
    assert any(w.startswith("**Before you quote this number**") for w in warnings)
    assert "Reports measure reporting" in texts(shown)


def test_chart_and_sections(shown) -> None:
    assert len(shown.get("plotly_chart")) >= 1
    subheaders = [s.value for s in shown.subheader]
    assert "Before and after, funded wards only" in subheaders
    assert "Were they moving in step before?" in subheaders
    assert "Value for money" in subheaders
    metrics = {m.label for m in shown.metric}
    assert {"Programme spend in funded wards", "Per case closed"} <= metrics


def test_other_outcome_runs(store: Path) -> None:
    at = page(PAGE)
    at.run()
    at.selectbox(key="spend_outcome").set_value("median_days_to_close")
    at.run()
    assert not at.exception
    assert "funded wards" in texts(at)


# --- defects found by the tester -----------------------------------------------------------------


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _ran():
    at = page(PAGE)
    at.run()
    return at


def _choose(at, outcome: str, category: str | None = None):
    at.selectbox(key="spend_outcome").set_value(outcome)
    at.run()
    if category is not None:
        at.selectbox(key="spend_category").set_value(category)
        at.run()
    assert not at.exception
    return at


def _gbp(text: str) -> float:
    return float(text.replace("£", "").replace(",", ""))


def test_per_case_closed_does_not_move_with_outcome_or_type_of_case(store: Path) -> None:
    """Graffiti showed £2,606 / £2,613 by outcome; each was the whole programme / one category."""
    from neighbourhood import metrics
    from neighbourhood.store import Store

    at = page(PAGE)
    at.run()
    seen = set()
    for category in ("graffiti", "fly_tipping"):
        for outcome in ("cases_per_1k", "median_days_to_close", "pct_within_sla"):
            m = _metrics(_choose(at, outcome, category))
            seen.add((m["Programme spend in funded wards"], m["Per case closed"]))
    assert len(seen) == 1
    spent, per_case = (_gbp(v) for v in seen.pop())
    # Every type of case closed in the funded wards from the start (April 2025) on.
    table = metrics.ward_period_table(Store(store), period="month")
    funded = next(p for p in programmes_from_config(PROGRAMMES) if p.name == PROGRAMME_NAME)
    after = table[table.ward_code.isin(funded.treated_wards) & (table.period_start >= "2025-04-01")]
    assert spent / per_case == pytest.approx(after["closed"].sum(), rel=0.01)


def test_no_cost_per_report_when_the_range_includes_no_change(store: Path) -> None:
    """Graffiti reports: an effect near zero whose range includes zero has no cost per unit."""
    at = page(PAGE)
    at.run()
    _choose(at, "cases_per_1k", "graffiti")
    metrics = _metrics(at)
    assert not any(label.startswith("Per report") for label in metrics)
    assert "there is no cost per report to quote" in texts(at)


def test_only_types_of_case_reported_in_funded_wards_are_offered(shown) -> None:
    options = shown.selectbox(key="spend_category").options
    assert "Other" not in options and "Fly-tipping" in options
    assert options[0] == "All types of case"
    assert "in the panel" not in texts(shown)


def test_levels_carry_their_units(store: Path) -> None:
    at = page(PAGE)
    at.run()
    assert _metrics(at)["Average after the start"].endswith("per 1,000 residents")
    assert "Before the start: " in texts(at) and " per 1,000 residents." in texts(at)
    _choose(at, "median_days_to_close")
    assert _metrics(at)["Average after the start"].endswith(" days")
    _choose(at, "pct_within_sla")
    assert _metrics(at)["Average after the start"].endswith("%")


def test_sentence_says_what_each_group_did_and_cards_are_short(shown) -> None:
    sentence = next(m.value for m in shown.markdown if m.value.startswith("####"))
    assert "more in funded wards than" not in sentence
    assert "in funded wards and" in sentence and "in comparison wards" in sentence
    metrics = _metrics(shown)
    funded, comparison = metrics["Funded vs comparison wards"].split(" vs ")
    assert funded == "8" and int(comparison) > 0  # "8 vs 18": fits a 390px phone card
    assert "p-value" not in metrics and "Wards" not in metrics
    assert "95% CI" not in texts(shown)


def test_grammar_an_overflowing_bins_case(store: Path) -> None:
    at = page(PAGE)
    at.run()
    _choose(at, "median_days_to_close", "overflowing_bin")
    assert "an overflowing bins case" in texts(at)
    assert "a overflowing" not in texts(at)


# --- issue 18: staggered starts, event study, placebos, per-ward table ---------------------------


def test_event_study_cohorts_placebos_and_ward_table_shown(shown) -> None:
    keys = {c.proto.id for c in shown.get("plotly_chart")}
    assert len(shown.get("plotly_chart")) >= 2 and keys
    subheaders = [s.value for s in shown.subheader]
    for title in ("By start date", "Checks that should find nothing", "Each funded ward"):
        assert title in subheaders
    frames = [d.value for d in shown.dataframe]
    wards = next(f for f in frames if "Expected without the money" in f.columns)
    assert len(wards) == 8 and not wards["Ward"].str.startswith("E059").any()  # by name
    cohorts = next(f for f in frames if "Start" in f.columns and "95% range" in f.columns)
    assert list(cohorts["Start"]) == ["01 Apr 2025"]
    assert "a year earlier" in texts(shown)


def test_funded_wards_named_and_no_verdict_words(shown) -> None:
    body = texts(shown)
    assert "**Funded wards:**" in body
    names = next(f for f in (d.value for d in shown.dataframe) if "Ward" in f.columns)["Ward"]
    assert all(n in body for n in names)
    lowered = body.lower()
    assert "fair" not in lowered and "passed" not in lowered
    assert "by chance alone" in body  # the word on multiple comparisons


def test_no_cost_per_day_for_level_outcomes(store: Path) -> None:
    at = _choose(_ran(), "median_days_to_close")
    assert not any(label.startswith("Per day") for label in _metrics(at))
    assert "per day off" not in texts(at)
    assert "only for counts" in texts(at)
