"""End to end in Chromium: a fresh start, then the demo path and the council's own-data path.

Follows ``tests/test_e2e.py``: ``streamlit run app.py`` on a free loopback port, Debian's
Chromium driven by Playwright, screenshots under ``artifacts/screenshots/first-run-*.png``.
The council's store does not exist at the start; the demo store is a small one built before
(``NEIGHBOURHOOD_DEMO_STORE``), so choosing the demo does not wait for the 60,000-case build.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_support import folder_digest
from test_e2e import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, _wait_until_idle, streamlit_server
from test_first_run import synthetic_council

from neighbourhood.demo import PROGRAMME_NAME, build_demo
from neighbourhood.store import Store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("e2e-first-run")
    demo = base / "demo-store"
    build_demo(Store(demo), n_cases=3000)
    return base / "council-store", demo


@pytest.fixture(scope="module")
def server(stores: tuple[Path, Path]) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (bash .ci/run installs it)")
    council, demo = stores
    env = {"NEIGHBOURHOOD_STORE": str(council), "NEIGHBOURHOOD_DEMO_STORE": str(demo)}
    with streamlit_server(env) as (url, log):
        yield url
    assert "Traceback" not in log[0], log[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _shot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SCREENSHOTS / f"first-run-{name}.png"), full_page=True)


def _no_errors(page: object) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()


def _body(page: object) -> str:
    return page.locator('[data-testid="stApp"]').inner_text()


def test_1_a_fresh_start_then_the_demo(
    server: str, browser: object, stores: tuple[Path, Path]
) -> None:
    council, demo = stores
    digest = folder_digest(demo)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server, wait_until="domcontentloaded")
        _wait_until_idle(page)
        assert "Welcome to Neighbourhood" in _body(page)
        _shot(page, "1-choice")
        page.get_by_role("button", name="Explore the demo").first.click()
        _wait_until_idle(page)
        body = _body(page)
        assert "Street cleansing and enforcement: overview" in body
        assert "fictional city" in body and "synthetic" in body
        _no_errors(page)
        _shot(page, "2-demo-overview")
    finally:
        page.close()
    assert not council.exists(), "choosing the demo creates no council store"
    assert folder_digest(demo) == digest


def _choose_kind(page: object, label: str) -> None:
    page.locator('[data-testid="stSelectbox"]').filter(has_text="What are you loading?").click()
    page.get_by_role("option", name=label).click()
    _wait_until_idle(page)


def _load(page: object, path: Path, label: str) -> None:
    _choose_kind(page, label)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    _wait_until_idle(page)
    page.get_by_role("button", name="Load 1 file").click()
    _wait_until_idle(page, 120)
    body = _body(page)
    assert "Last load" in body, body[-2000:]
    _no_errors(page)


def test_2_a_fresh_start_then_the_councils_own_data(
    server: str, browser: object, stores: tuple[Path, Path], tmp_path: Path
) -> None:
    council, _ = stores
    wards, population, cases, _names = synthetic_council()
    files = {
        "wards": tmp_path / "our_wards.geojson",
        "population": tmp_path / "population.csv",
        "cases": tmp_path / "cases.csv",
    }
    for (_key, path), data in zip(files.items(), (wards, population, cases), strict=True):
        path.write_bytes(data)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server, wait_until="domcontentloaded")
        _wait_until_idle(page)
        page.get_by_role("button", name="Load your council's data").click()
        _wait_until_idle(page)
        body = _body(page)
        assert "Your council's data, step by step" in body
        assert "rates per 1,000 residents stay blank" in body
        _shot(page, "3-load-data-empty")
        _load(page, files["wards"], "Ward boundaries")
        # each further step in a fresh page (the file list starts empty)
        for key, label in (("population", "Ward population"), ("cases", "Street-cleansing cases")):
            page.goto(f"{server}/Upload", wait_until="domcontentloaded")
            _wait_until_idle(page)
            _load(page, files[key], label)
        page.goto(f"{server}/Upload", wait_until="domcontentloaded")
        _wait_until_idle(page)
        body = _body(page)
        assert "6 wards loaded" in body and "cases loaded" in body
        _shot(page, "4-load-data-done")
        for path, label in (
            ("", "overview"),
            ("Ward_map", "ward-map"),
            ("Spend_vs_results", "spend"),
        ):
            page.goto(f"{server}/{path}", wait_until="domcontentloaded")
            _wait_until_idle(page)
            page.wait_for_timeout(1500)
            body = _body(page)
            _no_errors(page)
            assert "synthetic" not in body.lower() and "fictional" not in body.lower(), label
            assert PROGRAMME_NAME not in body and not re.search(r"E059\d{5}", body), label
            assert "Welcome to Neighbourhood" not in body, label
            _shot(page, f"5-own-{label}")
    finally:
        page.close()
    assert Store(council).kind() == "council"
