"""End-to-end checks in a real headless browser.

Starts ``streamlit run app.py`` on a free loopback port against a council's store holding the demo's files,
opens every page in Debian's Chromium (driven by Playwright through ``executable_path``; no browser
download), asserts that no error element is shown and saves a screenshot of each page under
``artifacts/screenshots/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def page_urls() -> list[tuple[str, str]]:
    """(label, url path) for the overview and every page Streamlit discovers in pages/."""
    urls = [("Overview", "")]
    for path in sorted((REPO / "pages").glob("*.py")):
        if path.name.startswith("_"):
            continue
        slug = re.sub(r"^\d+_", "", path.stem)
        urls.append((slug, slug))
    return urls


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(env: dict[str, str]) -> Iterator[tuple[str, list[str]]]:
    """``streamlit run app.py`` on a free loopback port with ``env`` added to the environment.

    Yields ``(url, log)``; once the server has stopped, ``log`` holds what it printed.
    """
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--browser.gatherUsageStats=false",
        ],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited early:\n{proc.stdout.read() if proc.stdout else ''}")
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start within 60 s")
    log: list[str] = []
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        log.append(out or "")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (bash .ci/run installs it)")
    from page_support import demo_files_as_council

    # the demo's files loaded as a council's own: the council's store (NEIGHBOURHOOD_STORE)
    # never holds the demo itself (tests/test_e2e_first_run.py drives the demo path)
    store_path = demo_files_as_council(tmp_path_factory.mktemp("e2e") / "store", 6000)
    with streamlit_server({"NEIGHBOURHOOD_STORE": str(store_path)}) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _wait_until_idle(page: object, timeout_s: float = 60) -> None:
    """Wait until Streamlit has finished running the script (no running indicator, no spinner)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        running = page.locator(
            '[data-testid="stStatusWidget"], [data-testid="stSpinner"], [data-testid="stSkeleton"]'
        ).count()
        if running == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.5:
                return
        else:
            quiet_since = None
        time.sleep(0.25)
    raise AssertionError("the page kept running for more than the timeout")


@pytest.mark.parametrize(("label", "path"), page_urls())
def test_every_page_renders_without_error_in_chromium(
    server: str, browser: object, label: str, path: str
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{server}/{path}", wait_until="domcontentloaded")
        _wait_until_idle(page)
        # Maps and charts draw after the script finishes.
        page.wait_for_timeout(1500)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{label}.png"), full_page=True)
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, exceptions.first.inner_text()
        errors = page.locator('[data-testid="stAlertContentError"]')
        assert errors.count() == 0, errors.first.inner_text()
        heading = page.locator("h1").first.inner_text()
        assert heading.strip(), f"{label} has no page title"
    finally:
        page.close()
