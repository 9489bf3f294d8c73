"""What a person sees on the dashboard pages (issue #17): true hexagon colours, tables that
show "–" for missing values, comparisons that say what they compare, tiny data read honestly.

AppTest on the session's demo store (``tests/page_support.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import page_support as ps
import pytest
from streamlit.testing.v1 import AppTest

from neighbourhood.store import Store

pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ps.demo_store(tmp_path_factory.mktemp("view"))


@pytest.fixture(autouse=True)
def _env(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(store))
    monkeypatch.chdir(ps.REPO)


def _open(page: str) -> AppTest:
    at = ps.page(page).run()
    assert not at.exception, at.exception
    return at


def _decks(at: AppTest) -> list:
    return list(at.get("deck_gl_json_chart"))


def test_ward_map_with_hotspots_takes_no_map_selection_that_would_tint_the_hexagons(
    store: Path,
) -> None:
    at = _open("1_Ward_map.py")
    code = Store(store).wards()["ward_code"].iloc[2]
    at.selectbox(key="ward").set_value(code).run()
    at.toggle(key="map_hexes").set_value(True).run()
    assert not at.exception
    deck = _decks(at)[0]
    # Streamlit fades every object but the selected one on a map with a selection: the
    # hexagons would no longer have the colours of their legend.
    assert not list(deck.proto.selection_mode)
    layers = json.loads(deck.proto.json)["layers"]
    ids = [layer["id"] for layer in layers]
    assert ids.index("hotspots") > ids.index("wards")
    outline = layers[ids.index("selected_ward")]
    assert outline["filled"] is False and ids.index("selected_ward") > ids.index("hotspots")
    # without hotspots the map stays clickable
    at.toggle(key="map_hexes").set_value(False).run()
    assert list(_decks(at)[0].proto.selection_mode)
