"""Spend vs results in headless Chromium: the event study, cohorts, placebos and per-ward table
render as a person sees them (issue 18). Reuses the server and browser of ``test_e2e``."""

from __future__ import annotations

import pytest
from test_e2e import SCREENSHOTS, _wait_until_idle, browser, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_spend_page_shows_event_study_cohorts_placebos_and_wards(server: str, browser) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 5200})
    try:
        page.goto(f"{server}/Spend_vs_results", wait_until="domcontentloaded")
        # the estimate takes a few seconds of CPU: wait for its last section, then for idle
        page.wait_for_selector("text=Each funded ward", timeout=300_000)
        _wait_until_idle(page, timeout_s=120)
        page.wait_for_timeout(2000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "Spend_vs_results_full.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        body = page.locator('[data-testid="stApp"]').inner_text()
        for words in (
            "Funded wards:",
            "By start date",
            "Checks that should find nothing",
            "Each funded ward",
            "Were they moving in step before?",
            "since each ward's start",
            "a year earlier",
        ):
            assert words in body, words
        assert "fair" not in body.lower() and "passed" not in body.lower()
        assert page.get_by_text("All types of case").count() >= 1  # the default type of case
        # funded vs comparison chart and the event study (plus none hidden behind an error)
        assert page.locator(".js-plotly-plot").count() >= 2
        assert page.locator('[data-testid="stDataFrame"]').count() >= 2
    finally:
        page.close()
