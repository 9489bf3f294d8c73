"""AppTest: every page on a store holding hostile strings (notes/reliability.md §2–3).

After the demo build, a cleansing extract is ingested through ``neighbourhood.ingest.ingest_bytes``
with a category label ``<img src=x onerror=alert(1)>`` (also the file name), a street
``=HYPERLINK("http://evil","x")`` repeated at one spot (so it tops the ward's repeat places) and a
ward name with a Cyrillic look-alike letter. Every page must render without an exception, never
pass the tag to the browser as HTML (no ``unsafe_allow_html``; no markdown, chart or map text
carrying the raw tag) and offer CSV downloads where the formula starts with ``'=``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from page_support import REPO, copy_store, council_store
from streamlit.testing.v1 import AppTest

from neighbourhood.ingest import ingest_bytes
from neighbourhood.store import Store

TAG = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://evil","x")'
PAGES = (
    "pages/1_Ward_map.py",
    "pages/2_Trends.py",
    "pages/3_Spend_vs_results.py",
    "pages/4_Upload.py",
    "pages/5_Ward_profile.py",
    "pages/6_Ingest_log.py",
)


pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo files loaded as a council's own, plus the hostile extract; returns the folder and the ward it lands in."""
    base = tmp_path_factory.mktemp("hostile")
    path = copy_store(council_store(base), base / "store")
    store = Store(path)
    wards = store.wards()
    ward = wards.iloc[2]
    spot = ward.geometry.representative_point()
    last = store.query("SELECT max(reported_at) AS t FROM cases")["t"].iloc[0]
    last = last.tz_convert("Europe/London")
    # One letter swapped for its Cyrillic look-alike ("a" → "а", "e" → "е", "o" → "о").
    confusable = str(ward["ward_name"]).translate(str.maketrans("aeo", "\u0430\u0435\u043e"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Case Reference", "Date Received", "Request Type", "Status", "Street",
                     "Ward", "Latitude", "Longitude"])  # fmt: skip
    for i in range(30):
        when = last - pd.Timedelta(days=40 - i, hours=2)
        category = TAG if i % 3 == 0 else "Fly Tipping"
        writer.writerow(
            [
                f"HOSTILE-{i:03d}",
                when.strftime("%d/%m/%Y %H:%M"),
                category,
                "Open",
                FORMULA,
                confusable,
                f"{spot.y:.6f}",
                f"{spot.x:.6f}",
            ]
        )
    result = ingest_bytes(store, out.getvalue().encode(), f"{TAG}.csv", "cleansing")
    assert result.status == "committed", result.message
    assert result.rows_accepted > 0, result.rejects
    return path, str(ward["ward_code"])


@pytest.fixture(autouse=True)
def _env(hostile_store: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(hostile_store[0]))
    monkeypatch.chdir(REPO)


def _app(ward: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.secrets = {"roles": {"analysts": []}}  # local mode, never a developer's secrets.toml
    at.user = {}
    at.query_params["ward"] = ward
    return at


def _assert_no_html(at: AppTest, page: str) -> None:
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning",
                 "error", "success", "metric"):  # fmt: skip
        for element in getattr(at, kind):
            proto = element.proto
            assert not getattr(proto, "allow_html", False), (page, kind)
            text = " ".join(
                str(getattr(element, a, ""))
                for a in ("value", "label", "body")
                if hasattr(element, a)
            )
            assert "<img" not in text, (page, kind, text)
    for chart in at.get("plotly_chart"):
        assert "<img" not in chart.proto.spec, page  # Plotly text is HTML-escaped (safe_text)
    for deck in at.get("deck_gl_json_chart"):
        assert "html" not in json.loads(deck.proto.tooltip or "{}"), page  # text tooltips only


def test_every_page_renders_hostile_strings_as_text(hostile_store: tuple[Path, str]) -> None:
    at = _app(hostile_store[1]).run()
    assert not at.exception, at.exception
    _assert_no_html(at, "app.py")
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.title, page
        _assert_no_html(at, page)


def test_the_hostile_file_name_is_shown_as_plain_text(hostile_store: tuple[Path, str]) -> None:
    at = _app(hostile_store[1]).run()
    assert not at.exception
    assert any(TAG in t.value for t in at.text)  # st.text: never markup
    at.switch_page("pages/6_Ingest_log.py").run()
    assert not at.exception
    assert f"{TAG}.csv" in set(at.dataframe[0].value["file_name"].astype(str))


def test_csv_downloads_neutralise_the_formula(
    hostile_store: tuple[Path, str], downloads: list[str]
) -> None:
    at = _app(hostile_store[1]).run()
    at.switch_page("pages/5_Ward_profile.py").run()
    assert not at.exception
    shown = at.dataframe[0].value  # places with repeat problems
    assert FORMULA in set(shown["street"])  # the table shows the text as it is
    cells = [cell for text in downloads for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + FORMULA in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
