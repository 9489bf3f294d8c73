"""AppTest: the "Compared with other councils" page (pages/7_Compared_with_other_councils.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from page_support import demo_store, page, texts, viewer

from neighbourhood import compare as cmp
from neighbourhood.store import IngestBatch, Store

PAGE = "7_Compared_with_other_councils.py"
LIVERPOOL = "E08000012"

pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_store(tmp_path_factory.mktemp("compare"))


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_demo_opens_on_liverpool_s_real_returns(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(template))
    at = page(PAGE)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Compared with other councils"
    shown = metrics(at)
    assert shown["Incidents"] == "18,976"
    assert shown["Incidents per 1,000 residents"] == "39.17"
    assert shown["Enforcement actions"] == "1"
    table = at.dataframe[0].value.set_index("name")
    assert round(table.loc["Manchester", "incidents_per_1k"], 2) == 25.46
    assert len(table) == 8  # Liverpool and the seven other English Core Cities
    words = texts(at)
    assert "Open Government Licence v3.0" in words
    assert "Merseyford is fictional" in words
    assert "Not shown for the synthetic demo data" in words

    at.selectbox(key="compare_council").set_value("E08000003").run()
    assert not at.exception
    assert metrics(at)["Incidents per 1,000 residents"] == "25.46"


def test_a_council_store_without_a_council_asks_then_remembers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "store")
    store.initialise()
    frame = pd.DataFrame(
        {
            "case_id": ["A", "B"],
            "category": ["fly_tipping", "fly_tipping"],
            "status": ["open", "open"],
            "reported_at": pd.to_datetime(["2021-04-02 10:00", "2022-03-30 10:00"]).tz_localize(
                "Europe/London"
            ),
            "ward_code": ["E05015277", "E05015277"],
            "ward_name": ["Aigburth", "Aigburth"],
        }
    )
    store.apply_ingest(IngestBatch("cleansing", "c.csv", "ab", 10, frame, rows_read=2))
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(store.path))
    at = page(PAGE)
    at.run()
    assert not at.exception
    assert "Choose your council" in texts(at)
    assert not at.metric

    at.selectbox(key="compare_council").set_value(LIVERPOOL).run()
    assert not at.exception
    assert metrics(at)["Incidents"] == "18,976"
    at.button(key="compare_remember").click().run()
    assert not at.exception
    assert store.setting(cmp.SETTING) == LIVERPOOL

    again = page(PAGE)
    again.run()
    assert not again.exception
    assert again.selectbox(key="compare_council").value == LIVERPOOL
    words = texts(again)
    assert "2 fly-tipping cases, 18,974 fewer than the 18,976 incidents" in words


def test_viewers_cannot_remember_a_council(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "store")
    store.initialise()
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(store.path))
    at = viewer(PAGE)
    # an empty store is a fresh start: this visitor chose "own data" on the first-run screen
    at.session_state["neighbourhood_data_choice"] = "own"
    at.run()
    at.selectbox(key="compare_council").set_value(LIVERPOOL).run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "compare_remember"]
    assert store.setting(cmp.SETTING) is None


def test_trend_figure_orders_financial_years_and_names_the_council() -> None:
    from ui import compare as view

    table = cmp.comparison_table(cmp.load_returns(), LIVERPOOL, "core-cities")
    fig = view.trend_figure(table, LIVERPOOL, "actions")
    mine = fig.data[-1]
    assert mine.name == "Liverpool"
    assert list(mine.x)[0] == "2012/13" and list(mine.y)[0] == 3633
    assert list(fig.layout.xaxis.categoryarray)[-1] == "2021/22"
    assert len(fig.data) == 8 + 1  # seven other cities, the median and the council


def test_mix_frame_pools_the_group_by_incidents() -> None:
    from ui import compare as view

    table = cmp.comparison_table(cmp.load_returns(), LIVERPOOL, "core-cities", "2021-22")
    mix = view.mix_frame(table, "2021-22", cmp.LAND)
    liverpool = mix[mix["who"] == "Liverpool"].set_index("type")["share"]
    assert round(liverpool["Highway"], 1) == round(100 * 13664 / 18976, 1)
    group = mix[mix["who"] == "Group"]["share"]
    assert group.sum() == pytest.approx(100.0)


def test_a_council_with_no_neighbours_gets_a_message_not_a_traceback(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(template))
    at = page(PAGE)
    at.run()
    at.selectbox(key="compare_council").set_value("E07000026").run()  # Allerdale, gone in 2023
    at.selectbox(key="compare_group_E07000026").set_value("neighbours").run()
    assert not at.exception
    assert "no nearest neighbours" in at.error[0].value


def test_trend_sentence_tells_liverpool_s_enforcement_story() -> None:
    from ui import compare as view

    table = cmp.comparison_table(cmp.load_returns(), LIVERPOOL, "core-cities")
    text = view.trend_sentence(table, LIVERPOOL, "actions")
    assert text.startswith("Liverpool: enforcement actions 3,633 in 2012/13, 1 in 2021/22 (-100%)")
    rates = view.trend_sentence(table, LIVERPOOL, "incidents_per_1k")
    assert "41.72 in 2019/20, 39.17 in 2021/22" in rates  # rates start when populations do


def test_the_table_behind_the_page_downloads(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(template))
    at = page(PAGE)
    at.run()
    labels = [b.label for b in at.get("download_button")]
    assert "Download every council and year as CSV" in labels
