"""``ingest --map``, mapping profiles kept in the store, and exit 3 when nothing was stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_ingest import wards_geojson

from neighbourhood.__main__ import EXIT_NOTHING_STORED, main, parse_maps

ODD = (
    b"Tag,Moment,What,Latitude,Longitude,Officer No\n"
    b"K1,01/02/2024 10:00,Fly tipping,53.405,-2.995,12\n"
    b"K2,02/03/2024 10:00,Litter,53.405,-2.985,14\n"
)


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, json.loads(captured.out.strip().splitlines()[-1]), captured.err


@pytest.fixture
def store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    wards = tmp_path / "wards.geojson"
    wards.write_bytes(wards_geojson())
    folder = str(tmp_path / "store")
    code, _, _ = call(capsys, "ingest", str(wards), "--kind", "wards", "--store", folder)
    assert code == 0
    return folder


def test_map_on_the_command_line_with_plain_field_names(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(ODD)
    args = ["ingest", str(path), "--kind", "cleansing", "--store", store]
    code, out, err = call(capsys, *args)
    assert code == 2 and out["code"] == "F_MISSING_COLUMNS"
    code, out, err = call(
        capsys, *args, "--map", "Tag=case reference", "--map", "Moment=reported date"
    )
    assert code == 0, err
    assert out["rows_new"] == 2
    assert out["columns"]["Tag"] == "case_id"
    # every column not used is in the JSON summary and on stderr, with the reason
    assert "Officer No" in out["ignored_columns"]
    assert "'officer'" in out["ignored_columns"]["Officer No"]
    assert "column 'Officer No' not used" in err


def test_map_with_an_unknown_field_is_a_usage_error(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(ODD)
    code, out, err = call(
        capsys, "ingest", str(path), "--kind", "cleansing", "--store", store, "--map", "Tag=ref"
    )
    assert code == 2 and out["status"] == "usage_error"
    assert "case reference" in out["message"]


def test_saved_profile_is_reused_by_next_months_job(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "jan.csv"
    first.write_bytes(ODD)
    code, _, err = call(
        capsys,
        "ingest", str(first), "--kind", "cleansing", "--store", store,
        "--map", "Tag=case reference", "--map", "Moment=reported date",
        "--save-profile", "Confirm export",
    )  # fmt: skip
    assert code == 0 and "saved" in err
    code, out, _ = call(capsys, "profiles", "--store", store)
    assert out["profiles"] == [
        {
            "name": "Confirm export",
            "kind": "cleansing",
            "column_map": {"Tag": "case reference", "Moment": "reported date"},
        }
    ]
    nxt = tmp_path / "feb.csv"  # next month: one column fewer, one row more
    nxt.write_bytes(
        b"Tag,Moment,What,Latitude,Longitude\nK3,03/04/2024 10:00,Graffiti,53.405,-2.995\n"
    )
    code, out, err = call(
        capsys, "ingest", str(nxt), "--kind", "cleansing", "--store", store,
        "--profile", "Confirm export",
    )  # fmt: skip
    assert code == 0, err
    assert out["rows_new"] == 1
    code, out, _ = call(
        capsys, "ingest", str(nxt), "--kind", "cleansing", "--store", store, "--profile", "Nope"
    )
    assert code == 2 and "Confirm export" in out["message"]


def test_a_load_that_stored_no_row_exits_3_and_says_why(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "far.csv"
    path.write_bytes(
        b"Case ID,Date Received,Request Type,Latitude,Longitude\n"
        b"F1,01/02/2024 10:00,Litter,54.405,-2.995\n"
        b"F2,01/02/2024 10:00,Litter,54.405,-2.985\n"
    )
    code, out, err = call(capsys, "ingest", str(path), "--kind", "cleansing", "--store", store)
    assert code == EXIT_NOTHING_STORED == 3
    assert out["rows_accepted"] == 0
    assert out["nothing_stored"].startswith("nothing was stored: all 2 rows were rejected")
    assert "E_OUTSIDE_WARDS" in out["nothing_stored"]
    assert out["nothing_stored"] in err


def test_parse_maps() -> None:
    assert parse_maps(["A=B=case reference"], "cleansing") == {"A=B": "case_id"}
    with pytest.raises(ValueError, match="COLUMN=field"):
        parse_maps(["no equals sign"], "cleansing")
