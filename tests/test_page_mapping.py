"""AppTest: the Load data page's column mapping: plain field names, the reasons columns are not
used, and mapping profiles saved from the page and reused."""

from __future__ import annotations

from pathlib import Path

import pytest
from page_support import copy_store, council_store, page, texts

from neighbourhood.profiles import list_profiles, load_profile
from neighbourhood.store import Store
from ui import upload

PAGE = "4_Upload.py"
LOCAL = {"roles": {"analysts": []}}

pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return council_store(tmp_path_factory.mktemp("mapping"))


@pytest.fixture
def store(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = copy_store(template, tmp_path / "store")
    monkeypatch.setenv("NEIGHBOURHOOD_STORE", str(path))
    return path


def _upload(at, name: str, data: bytes) -> str:
    at.file_uploader(key="upload_files").set_value((name, data, "text/csv"))
    at.run()
    assert not at.exception
    editor_key = next(k for k in at.session_state.keys() if k.startswith("map_"))
    return editor_key[len("map_") :]


def test_plain_field_names_reasons_and_a_profile_saved_then_reused(store: Path) -> None:
    ward = list(Store(store).wards()["ward_name"][:1])[0]
    data = f"Tag,Moment,Request Type,Ward Name,Officer No\nMAP-1,05/03/2025 14:22,Litter,{ward},7\n"
    at = page(PAGE, secrets=LOCAL)
    at.run()
    fid = _upload(at, "odd.csv", data.encode())
    assert at.error  # Tag / Moment are not recognised
    at.session_state[f"map_{fid}"] = {
        "edited_rows": {0: {"use_as": "case reference"}, 1: {"use_as": "reported date"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception and not at.error
    shown = texts(at)
    assert "Officer No (no cleansing field has the word(s) 'officer')" in shown
    at.text_input(key=f"prof_save_{fid}").input("Monthly CRM")
    at.run()
    at.button(key="upload_load").click()
    at.run()
    assert not at.exception
    assert "saved as profile 'Monthly CRM'" in texts(at)
    assert list_profiles(Store(store), "cleansing") == ["Monthly CRM"]
    saved = load_profile(Store(store), "Monthly CRM", "cleansing")
    assert saved["Tag"] == "case reference" and saved["Moment"] == "reported date"

    # next month: a fresh page, the profile picked, and the file reads without any change
    nxt = f"Tag,Moment,Request Type,Ward Name\nMAP-2,05/04/2025 10:00,Litter,{ward}\n"
    at = page(PAGE, secrets=LOCAL)
    at.run()
    at.file_uploader(key="upload_files").set_value(("next.csv", nxt.encode(), "text/csv"))
    at.run()
    assert at.error
    key = next(k for k in at.session_state.keys() if k.startswith("prof_use_"))
    at.selectbox(key=key).set_value("Monthly CRM")
    at.run()
    assert not at.exception and not at.error
    at.button(key="upload_load").click()
    at.run()
    assert {m.label: m.value for m in at.metric}["New"] == "1"


def test_field_choices_are_plain_names() -> None:
    choices = upload.field_choices("cleansing")
    assert "case reference" in choices and "case_id" not in choices
    assert "case reference (case_id)" in upload.field_help("cleansing")
    table = upload.mapping_table(
        {"columns": {"Ref No": "case_id"}, "ignored_columns": ["X"], "ignored_why": {"X": "why"}},
        "cleansing",
    )
    assert table.to_dict("list") == {
        "file_column": ["Ref No", "X"],
        "use_as": ["case reference", upload.IGNORE],
        "why": ["", "why"],
    }


def test_remap_button_appears_when_the_category_map_changed(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neighbourhood import loaders

    at = page(PAGE, secrets=LOCAL)
    at.run()
    before = [b.key for b in at.button]
    edited = tmp_path / "category_map.csv"
    edited.write_bytes(loaders.CATEGORY_MAP_PATH.read_bytes() + b"Some new label,litter\n")
    monkeypatch.setattr(loaders.base, "CATEGORY_MAP_PATH", edited)
    loaders._category_lookup.cache_clear()
    try:
        at = page(PAGE, secrets=LOCAL)
        at.run()
        assert "upload_remap" not in before
        at.button(key="upload_remap").click()
        at.run()
        assert not at.exception
        assert "label maps re-applied" in texts(at)
        assert Store(store).log().iloc[0]["channel"] == "upload"
    finally:
        loaders._category_lookup.cache_clear()
