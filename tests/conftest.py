"""Shared fixtures.

Real public data lives beside the checkout in ``../shared/data`` and is reached only through the
``NEIGHBOURHOOD_SHARED_DATA`` environment variable (set by ``.ci/run``); tests that need it skip
cleanly when it is unset. Never copy those files into the repository.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parents[1]

# CI runs the property tests on a fixed, reproducible set of examples (a green run stays green);
# developers' runs explore new random examples every time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public data sets, or skip the test."""
    value = os.environ.get("NEIGHBOURHOOD_SHARED_DATA")
    if not value:
        pytest.skip("NEIGHBOURHOOD_SHARED_DATA is not set (real-data test)")
    path = Path(value)
    if not path.is_dir():
        pytest.skip(f"NEIGHBOURHOOD_SHARED_DATA={value} is not a folder")
    return path


@pytest.fixture(autouse=True)
def _demo_store_apart(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Never let a test build the demo into the repository's data/demo-store: the demo's own
    store is a temporary folder (a test that needs a built one sets NEIGHBOURHOOD_DEMO_STORE)."""
    if not os.environ.get("NEIGHBOURHOOD_DEMO_STORE"):
        base = tmp_path_factory.getbasetemp()
        monkeypatch.setenv("NEIGHBOURHOOD_DEMO_STORE", str(base / "unbuilt-demo-store"))


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty store folder, also exported as NEIGHBOURHOOD_STORE."""
    path = tmp_path / "store"
    path.mkdir()
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(path))
    return path


@pytest.fixture
def streamlit_caches_cleared() -> Iterator[None]:
    """Clear Streamlit's caches before and after a page test: they leak between AppTest
    instances (STYLE.md §19). Page test modules use it through ``pytestmark``."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every CSV a page builds for ``st.download_button`` (as text), recorded as it is built."""
    import ui.components

    made: list[str] = []
    real = ui.components.to_csv_bytes

    def record(frame: pd.DataFrame) -> bytes:
        data = real(frame)
        made.append(data.decode("utf-8-sig"))
        return data

    monkeypatch.setattr(ui.components, "to_csv_bytes", record)
    return made
