"""AppTest: every CSV download on the pages applies the small-count rule and says so.

Walks the overview, the ward map coloured by enforcement actions, the trends of every
enforcement measure and several ward profiles (their enforcement table) on the demo store with
the default threshold. Each CSV a page builds is read back: no column of enforcement counts holds
1 to 4, and every file with such a column ends with a "Disclosure" column giving the rule.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from page_support import LOCAL_SECRETS, REPO, demo_store
from streamlit.testing.v1 import AppTest

from neighbourhood.store import Store
from ui import data, disclosure
from ui.format import metric_label

pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")

#: Download headers of enforcement counts: the metrics' labels and the ward profile's "Number".
PROTECTED_HEADERS = {metric_label(m) for m in disclosure.PROTECTED} | {"Number"}


@pytest.fixture
def store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = demo_store(tmp_path_factory.getbasetemp())
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(path))
    monkeypatch.delenv("NEIGHBOURHOOD_SDC_THRESHOLD", raising=False)
    monkeypatch.chdir(REPO)
    return path


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def test_every_download_hides_small_enforcement_counts_and_says_so(
    store: Path, downloads: list[str]
) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.secrets = dict(LOCAL_SECRETS)
    at.user = {}
    _run(at)
    at.switch_page("pages/1_Ward_map.py")
    _run(at)
    at.selectbox(key="map_metric").set_value("enforcement_actions")
    _run(at)
    at.switch_page("pages/2_Trends.py")
    _run(at)
    for metric in (m for m in data.TREND_METRICS if disclosure.is_protected(m)):
        at.selectbox(key="trend_metric").set_value(metric)
        _run(at)
    at.switch_page("pages/5_Ward_profile.py")
    _run(at)
    for code in Store(store).wards()["ward_code"].head(6):
        at.selectbox(key="ward").set_value(code)
        _run(at)

    protected_files = hidden = 0
    for text in downloads:
        rows = list(csv.reader(io.StringIO(text)))
        header, body = rows[0], rows[1:]
        cols = [i for i, h in enumerate(header) if h in PROTECTED_HEADERS]
        if not cols:
            continue
        protected_files += 1
        values = [row[i] for row in body for i in cols]
        assert not {"1", "2", "3", "4"} & set(values), (header, values)
        hidden += values.count("<5")
        assert header[-1] == "Disclosure", header
        assert {row[-1] for row in body} <= {disclosure.note()}
    assert protected_files >= 3 and hidden > 0  # the walk met small counts to hide
