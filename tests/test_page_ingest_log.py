"""AppTest: the Ingest log page (pages/6_Ingest_log.py): the log, its download, and undo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from page_support import analyst, copy_store, council_store, page, texts, viewer

from neighbourhood.ingest import ingest_bytes
from neighbourhood.store import Store

PAGE = "6_Ingest_log.py"


pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return council_store(tmp_path_factory.mktemp("ingest-log"))


@pytest.fixture
def store(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = copy_store(template, tmp_path / "store")
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(path))
    return path


def _extra_load(store: Path) -> str:
    s = Store(store)
    name = s.wards()["ward_name"].iloc[0]
    data = (
        "Case Ref,Date Received,Request Type,Ward Name,Status\n"
        f"UNDO-1,05/03/2025 14:22,Litter,{name},Open\n"
        f"UNDO-2,06/03/2025 09:00,Litter,{name},Open\n"
    ).encode()
    return ingest_bytes(s, data, "extra.csv", "cleansing", actor="t@council.gov.uk").ingest_id


def test_log_is_shown_with_download(store: Path) -> None:
    at = page(PAGE)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Ingest log"
    shown = at.dataframe[0].value
    assert len(shown) == len(Store(store).log())
    assert {"started_at", "actor", "file_name", "sha256_short", "status"} <= set(shown.columns)
    assert set(shown["sha256_short"].str.len()) == {12}
    labels = [b.label for b in at.get("download_button")]
    assert "Download the log as CSV" in labels


def test_undo_as_analyst_restores_the_store(store: Path) -> None:
    before = Store(store).table("cases")
    ingest_id = _extra_load(store)
    assert len(Store(store).table("cases")) == len(before) + 2

    at = analyst(PAGE)
    at.run()
    assert not at.exception
    assert at.selectbox(key="undo_choice").value == ingest_id
    assert at.button(key="undo_button").disabled  # not until confirmed
    at.checkbox(key="undo_confirm").check()
    at.run()
    at.button(key="undo_button").click()
    at.run()
    assert not at.exception
    assert at.success and "was undone" in at.success[0].value

    after = Store(store).table("cases")
    pd.testing.assert_series_equal(
        after["case_id"].sort_values().reset_index(drop=True),
        before["case_id"].sort_values().reset_index(drop=True),
    )
    log = Store(store).log().set_index("ingest_id")
    assert log.loc[ingest_id, "status"] == "undone"
    assert "Undone" in set(at.dataframe[0].value["status"])


def test_viewer_sees_log_but_cannot_undo(store: Path) -> None:
    at = viewer(PAGE)
    at.run()
    assert not at.exception
    assert len(at.dataframe) == 1
    assert len(at.get("checkbox")) == 0
    assert not [b for b in at.button if b.key == "undo_button"]
    assert "Only analysts can undo a load" in texts(at)


def test_local_mode_says_so_next_to_undo(store: Path) -> None:
    at = page(PAGE)
    at.run()
    assert "Local mode: anyone who can open this app can load data." in texts(at)
    assert at.button(key="undo_button") is not None


def test_ward_boundaries_that_leave_stored_rows_out_are_warned_about_until_undone(
    store: Path,
) -> None:
    s = Store(store)
    wards = s.wards()[["ward_code", "ward_name", "geometry"]]
    wards = wards.rename(columns={"ward_code": "WD99CD", "ward_name": "WD99NM"})
    wards["WD99CD"] = [f"E05999{i:03d}" for i in range(len(wards))]
    new = ingest_bytes(s, wards.to_json().encode(), "wards_2023.geojson", "wards").ingest_id
    n_cases = int(s.table("cases")["ward_code"].notna().sum())

    at = analyst(PAGE)
    at.run()
    assert not at.exception
    [warning] = [w.value for w in at.warning if "do not match the data already stored" in w.value]
    assert f"{n_cases:,} of {n_cases:,} street-cleansing cases" in warning
    assert at.selectbox(key="undo_choice").value == new
    at.checkbox(key="undo_confirm").check()
    at.run()
    at.button(key="undo_button").click()
    at.run()
    assert not at.exception
    assert "do not match the data already stored" not in texts(at)
