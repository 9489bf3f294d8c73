"""End-to-end in Chromium (issue #17): every page's link carries its whole view, and every page
is photographed at a phone's width (390 px) and a laptop's (1440 px).

For each page: open it, change its controls as a visitor would, copy the address, open that
address in a new browser context (no shared state: a fresh browser) and compare what is shown
(KPI cards, captions, headings, widget values). Screenshots go to ``artifacts/screenshots/``
(gitignored); look at them after a change to the layout.

Uses ``tests/test_e2e.py``'s server and browser (Debian's ``/usr/bin/chromium`` through
Playwright's ``executable_path``; no browser download).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import test_e2e as e2e
from test_e2e import SCREENSHOTS, _wait_until_idle, page_urls

# the server (demo store, free port) and the browser of tests/test_e2e.py
server = e2e.server
browser = e2e.browser

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
#: Seconds a page may take to settle: the ward profile's first render on a busy shared machine
#: took 30 s.
SETTLE = 240


def _idle(page: object) -> None:
    _wait_until_idle(page, SETTLE)


LAPTOP = {"width": 1440, "height": 900}


def _open(browser: object, url: str, viewport: dict) -> tuple[object, object]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(url, wait_until="domcontentloaded")
    _idle(page)
    page.wait_for_timeout(1200)  # maps and charts draw after the script
    return context, page


def _screenshot(page: object, name: str, viewport: dict) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the window is made as tall
    as the content first (``full_page`` alone stops at the window's height)."""
    height = page.evaluate(
        '() => Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], '
        '[data-testid="stMainBlockContainer"]\')].map(e => e.scrollHeight))'
    )
    page.set_viewport_size(
        {"width": viewport["width"], "height": max(viewport["height"], height + 80)}
    )
    page.wait_for_timeout(1500)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _shown(page: object) -> dict[str, list[str]]:
    """What a visitor reads on the page body: cards, headings, captions, widget values."""

    def texts(selector: str) -> list[str]:
        return [
            re.sub(r"\s+", " ", t).strip()
            for t in page.locator(f'[data-testid="stMain"] {selector}').all_inner_texts()
        ]

    return {
        "metrics": texts('[data-testid="stMetric"]'),
        "headings": texts("h1, h2, h3"),
        "captions": texts('[data-testid="stCaptionContainer"]'),
        "alerts": texts('[data-testid="stAlert"]'),
        "selects": texts('[data-testid="stSelectbox"], [data-testid="stMultiSelect"]'),
        "slider": texts('[data-testid="stSlider"]'),
        "toggles": [
            str(c.is_checked())
            for c in page.locator(
                '[data-testid="stMain"] [role="switch"], '
                '[data-testid="stMain"] input[type="checkbox"]'
            ).all()
        ],
        "plots": [str(n) for n in [page.locator('[data-testid="stPlotlyChart"]').count()]],
    }


def _choose(page: object, label: str, option: str, where: str = "stMain") -> None:
    """Pick ``option`` in the select box labelled ``label`` (in the main area or sidebar)."""
    page.locator(f'[data-testid="{where}"]').get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).first.click()
    _idle(page)


def _toggle(page: object, label: str) -> None:
    page.locator('[data-testid="stMain"] [data-testid="stCheckbox"]').filter(
        has_text=label
    ).first.locator("label").first.click()
    _idle(page)


def _sidebar_period(page: object, label: str) -> None:
    _choose(page, "Show figures by", label, where="stSidebar")


def _overview(page: object) -> None:
    page.locator('[data-testid="stMain"] button').filter(
        has_text="Same period a year earlier"
    ).first.click()
    _idle(page)
    _sidebar_period(page, "Quarter")


def _ward_map(page: object) -> None:
    _choose(page, "Colour wards by", "Median days to close")
    slider = page.locator('[data-testid="stMain"]').get_by_role("slider").first
    slider.focus()
    for _ in range(4):
        slider.press("ArrowLeft")
    _idle(page)
    _toggle(page, "Hotspots")
    _toggle(page, "Individual cases")


def _trends(page: object) -> None:
    _choose(page, "Measure", "Median days to close")
    _toggle(page, "Whole city")
    _sidebar_period(page, "Quarter")


def _profile(page: object) -> None:
    page.locator('[data-testid="stMain"]').get_by_role("combobox", name="Ward").click()
    page.get_by_role("option").nth(3).click()
    _idle(page)
    _sidebar_period(page, "Quarter")


def _spend(page: object) -> None:
    _choose(page, "Outcome", "Median days to close")


def _type_choose(page: object, label: str, option: str) -> None:
    """Pick ``option`` by typing it: a long list is drawn only in part."""
    page.locator('[data-testid="stMain"]').get_by_role("combobox", name=label).click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).first.click()
    _idle(page)


def _compare(page: object) -> None:
    # the demo's files loaded as a council's own name no real council: choose one first
    _type_choose(page, "Council", "Manchester")
    _choose(page, "Compared with", "The English Core Cities")
    _choose(page, "Financial year", "2018/19")
    _type_choose(page, "Trend of", "Prosecutions")


#: page path → what a visitor changes there (None: the page has no view controls to change)
CHANGES: dict[str, Callable[[object], None] | None] = {
    "": _overview,
    "Ward_map": _ward_map,
    "Trends": _trends,
    "Ward_profile": _profile,
    "Spend_vs_results": _spend,
    "Compared_with_other_councils": _compare,
    "Upload": None,
    "Ingest_log": None,
}


@pytest.mark.parametrize(("label", "path"), page_urls())
def test_a_copied_link_opens_the_same_view_in_a_new_browser(
    server: str, browser: object, label: str, path: str
) -> None:
    if path not in CHANGES:
        pytest.skip(f"{label}: its controls are not in the URL yet")
    change = CHANGES[path]
    if change is None:
        pytest.skip(f"{label} has no controls that change what it shows")
    context, page = _open(browser, f"{server}/{path}", LAPTOP)
    try:
        before = _shown(page)
        change(page)
        page.wait_for_timeout(800)
        link = page.url
        after = _shown(page)
        assert after != before, f"{label}: the controls changed nothing"
    finally:
        context.close()
    fresh, again = _open(browser, link, LAPTOP)
    try:
        assert again.url.split("?", 1)[-1] == link.split("?", 1)[-1] or "?" in again.url
        assert _shown(again) == after, f"{label}: {link} opened a different view"
    finally:
        fresh.close()


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["390px", "1440px"])
@pytest.mark.parametrize(("label", "path"), page_urls())
def test_every_page_at_phone_and_laptop_width(
    server: str, browser: object, label: str, path: str, viewport: dict
) -> None:
    context, page = _open(browser, f"{server}/{path}", viewport)
    try:
        _screenshot(page, f"{label}-{viewport['width']}.png", viewport)
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, exceptions.first.inner_text()
        # Nothing in the page body is wider than the window (no sideways scrolling).
        overflow = page.evaluate(
            "() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth"
            " - document.querySelector('[data-testid=\"stMain\"]').clientWidth"
        )
        assert overflow <= 1, f"{label} is {overflow}px wider than the window"
    finally:
        context.close()
