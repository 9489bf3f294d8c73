"""Editing data/category_map.csv re-derives stored cases: on the next load, with
``python -m neighbourhood remap``, and with the ingest log recording it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_ingest import wards_geojson

from neighbourhood import loaders
from neighbourhood.__main__ import main
from neighbourhood.store import Store

CASES = (
    b"Case ID,Date Received,Request Type,Latitude,Longitude\n"
    b"M1,01/02/2024 10:00,Bulky dumped items,53.405,-2.995\n"
    b"M2,02/02/2024 10:00,Litter,53.405,-2.985\n"
)


@pytest.fixture
def maps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the category map that the test may edit."""
    path = tmp_path / "category_map.csv"
    path.write_bytes(loaders.CATEGORY_MAP_PATH.read_bytes())
    monkeypatch.setattr(loaders.base, "CATEGORY_MAP_PATH", path)
    loaders._category_lookup.cache_clear()
    yield path
    loaders._category_lookup.cache_clear()


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, json.loads(out.out.strip().splitlines()[-1]), out.err


def categories(store: str) -> dict[str, str]:
    table = Store(store).query("SELECT case_id, category FROM cases ORDER BY case_id")
    return dict(zip(table["case_id"], table["category"], strict=True))


def test_editing_the_map_re_derives_stored_cases(
    tmp_path: Path, maps: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    wards = tmp_path / "w.geojson"
    wards.write_bytes(wards_geojson())
    cases = tmp_path / "cases.csv"
    cases.write_bytes(CASES)
    assert call(capsys, "ingest", str(wards), "--kind", "wards", "--store", store)[0] == 0
    assert call(capsys, "ingest", str(cases), "--kind", "cleansing", "--store", store)[0] == 0
    assert categories(store) == {"M1": "other", "M2": "litter"}

    with maps.open("a") as fh:
        fh.write("Bulky dumped items,fly_tipping\n")
    loaders._category_lookup.cache_clear()
    code, out, err = call(capsys, "remap", "--store", store)
    assert code == 0, err
    assert out["rows_updated"] == 1 and out["changes"] == {"other → fly_tipping": 1}
    assert categories(store) == {"M1": "fly_tipping", "M2": "litter"}
    log = Store(store).log()
    assert log.iloc[0]["channel"] == "remap" and "re-applied" in log.iloc[0]["message"]
    # undo puts the old category back
    assert call(capsys, "undo", out["ingest_id"], "--store", store)[0] == 0
    assert categories(store) == {"M1": "other", "M2": "litter"}


def test_the_next_load_re_applies_an_edited_map_and_reads_the_same_file_again(
    tmp_path: Path, maps: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    wards = tmp_path / "w.geojson"
    wards.write_bytes(wards_geojson())
    cases = tmp_path / "cases.csv"
    cases.write_bytes(CASES)
    call(capsys, "ingest", str(wards), "--kind", "wards", "--store", store)
    call(capsys, "ingest", str(cases), "--kind", "cleansing", "--store", store)
    with maps.open("a") as fh:
        fh.write("Bulky dumped items,fly_tipping\n")
    loaders._category_lookup.cache_clear()
    code, out, err = call(capsys, "ingest", str(cases), "--kind", "cleansing", "--store", store)
    assert code == 0, err
    assert out["status"] == "committed"  # not "already loaded": the maps changed
    assert out["rows_updated"] == 1
    assert categories(store)["M1"] == "fly_tipping"
