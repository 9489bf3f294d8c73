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

PAGE = "3_Spend_vs_results.py"


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
    assert shown.selectbox(key="spend_category").value == "fly_tipping"


def test_plain_sentence_says_fly_tipping_fell(shown) -> None:
    sentence = next(m.value for m in shown.markdown if m.value.startswith("####"))
    sentence = sentence.replace("\\", "")
    assert "Fly-tipping reports" in sentence
    assert "fell" in sentence
    assert "95% CI" in sentence


def test_estimate_ci_and_p_value_shown(shown) -> None:
    metrics = {m.label: m.value for m in shown.metric}
    assert metrics["Estimated effect"].startswith("−")
    assert " to " in metrics["95% range"]
    assert metrics["p-value"] != "–"


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
    assert {"Spent in funded wards", "Per case closed"} <= metrics


def test_other_outcome_runs(store: Path) -> None:
    at = page(PAGE)
    at.run()
    at.selectbox(key="spend_outcome").set_value("median_days_to_close")
    at.run()
    assert not at.exception
    assert "funded wards" in texts(at)
