"""``python -m neighbourhood`` driven through subprocess: exit codes and the JSON last line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_ingest import CASES, wards_geojson

from conftest import REPO
from neighbourhood.__main__ import main


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    """Run the CLI; return (exit code, parsed last stdout line, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "neighbourhood", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr
    return proc.returncode, json.loads(lines[-1]), proc.stderr


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    """Run the CLI in-process (fast setup steps); return (exit code, parsed last stdout line)."""
    code = main(list(args))
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def folder_hash(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "wards": tmp_path / "wards.geojson",
        "cases": tmp_path / "cases.csv",
        "formula": tmp_path / "formula.csv",
        "bad": tmp_path / "bad.csv",
    }
    paths["wards"].write_bytes(wards_geojson())
    paths["cases"].write_bytes(CASES)
    paths["formula"].write_bytes(
        b"Case ID,Date Received,Request Type,Latitude,Longitude\n"
        b'F1,01/02/2024 10:00,"=HYPERLINK(""http://evil.example"",""x"")",53.405,-2.995\n'
        b"F2,01/02/2024 10:00,Litter,53.405,-3.500\n"
    )
    paths["bad"].write_bytes(b"Colour,Size\nred,big\n")
    return paths


def test_ingest_wards_then_cases_exit_0_with_json_last(tmp_path: Path, files: dict) -> None:
    store = tmp_path / "store"
    code, out, _ = run("ingest", str(files["wards"]), "--kind", "wards", "--store", str(store))
    assert code == 0
    assert (out["status"], out["kind"], out["rows_new"]) == ("committed", "wards", 2)
    code, out, err = run(
        "ingest", str(files["cases"]), "--kind", "cleansing", "--store", str(store)
    )
    assert code == 0, err
    assert (out["rows_accepted"], out["rows_rejected"], out["rows_new"]) == (2, 2, 2)
    assert out["ingest_id"] == "ingest-000002"
    assert "E_OUTSIDE_WARDS" in err  # rejected rows are listed on stderr, not fatal
    code, out, _ = run("ingest", str(files["cases"]), "--kind", "cleansing", "--store", str(store))
    assert (code, out["status"], out["rows_new"], out["rows_updated"]) == (
        0,
        "duplicate_file",
        0,
        0,
    )


def test_refused_file_exit_2_and_store_untouched(tmp_path: Path, files: dict, capsys) -> None:
    store = tmp_path / "store"
    assert (
        call(capsys, "ingest", str(files["wards"]), "--kind", "wards", "--store", str(store))[0]
        == 0
    )
    before = folder_hash(store)
    code, out, err = run("ingest", str(files["bad"]), "--kind", "cleansing", "--store", str(store))
    assert code == 2
    assert out["status"] == "refused"
    assert out["code"] == "F_MISSING_COLUMNS"
    assert "unchanged" in err
    code, out = call(
        capsys,
        "ingest",
        str(tmp_path / "missing.csv"),
        "--kind",
        "cleansing",
        "--store",
        str(store),
    )
    assert (code, out["status"]) == (2, "refused")
    assert folder_hash(store) == before


def test_cases_before_wards_exit_2_and_no_store_created(tmp_path: Path, files: dict) -> None:
    store = tmp_path / "store"
    code, out, _ = run("ingest", str(files["cases"]), "--kind", "cleansing", "--store", str(store))
    assert code == 2
    assert "load ward boundaries first" in out["message"]
    assert not store.exists()


def test_multiple_files_and_safe_rejects_csv(tmp_path: Path, files: dict, capsys) -> None:
    store = tmp_path / "store"
    call(capsys, "ingest", str(files["wards"]), "--kind", "wards", "--store", str(store))
    rejects = tmp_path / "rejects.csv"
    code, out = call(
        capsys,
        "ingest",
        str(files["cases"]),
        str(files["formula"]),
        str(files["bad"]),
        "--kind",
        "cleansing",
        "--store",
        str(store),
        "--rejects",
        str(rejects),
    )
    assert code == 2  # one of the three files was refused; the other two landed
    assert out["status"] == "mixed"
    assert [f["status"] for f in out["files"]] == ["committed", "committed", "refused"]
    assert out["rows_new"] == 3
    table = pd.read_csv(rejects, encoding="utf-8-sig", keep_default_na=False)
    assert set(table["source_file"]) == {"cases.csv", "formula.csv"}
    formula = table[table["value"].str.contains("HYPERLINK")]
    assert len(formula) >= 1
    assert all(v.startswith("'=") for v in formula["value"])
    assert table["source_line"].dtype.kind == "i"  # numbers stay numbers


def test_log_and_undo(tmp_path: Path, files: dict, capsys) -> None:
    store = tmp_path / "store"
    call(capsys, "ingest", str(files["wards"]), "--kind", "wards", "--store", str(store))
    call(capsys, "ingest", str(files["cases"]), "--kind", "cleansing", "--store", str(store))
    code, out, err = run("log", "--store", str(store))
    assert code == 0
    assert [e["ingest_id"] for e in out["entries"]] == ["ingest-000002", "ingest-000001"]
    assert out["entries"][0]["rows_new"] == 2
    assert "cases.csv" in err
    code, out, _ = run("undo", "2", "--store", str(store), "--actor", "tester")
    assert (code, out["status"], out["rows_deleted"]) == (0, "undone", 2)
    code, out, _ = run("undo", "ingest-000002", "--store", str(store))
    assert (code, out["status"]) == (2, "refused")
    code, out = call(capsys, "log", "--store", str(store))
    assert out["entries"][0]["status"] == "undone"
    assert out["entries"][0]["undone_by"] == "tester"


def test_log_on_missing_store_and_usage_error(tmp_path: Path, capsys) -> None:
    code, out = call(capsys, "log", "--store", str(tmp_path / "none"))
    assert (code, out["entries"]) == (0, [])
    assert not (tmp_path / "none").exists()
    code, out, _ = run("ingest", "x.csv", "--kind", "nonsense")
    assert (code, out["status"]) == (2, "usage_error")


def test_a_store_path_that_is_a_file_is_refused(
    tmp_path: Path, files: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_folder = tmp_path / "store.txt"
    not_a_folder.write_text("notes")
    kinds = (("ingest", str(files["wards"]), "--kind", "wards"), ("log",), ("metrics",))
    for args, where in [(a, not_a_folder) for a in kinds] + [(kinds[0], not_a_folder / "sub")]:
        code, out = call(capsys, *args, "--store", str(where))
        assert (code, out["status"]) == (2, "refused"), (args, where)
        assert "is a file, not a store folder" in out["message"]
    assert not_a_folder.read_text() == "notes"


def test_a_rejects_file_that_cannot_be_written_stops_before_any_load(
    tmp_path: Path, files: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    assert (
        call(capsys, "ingest", "--kind", "wards", "--store", str(store), str(files["wards"]))[0]
        == 0
    )
    before = folder_hash(store)
    targets = [tmp_path / "no-such-folder" / "r.csv", tmp_path]
    if Path("/proc/version").exists():
        targets.append(Path("/proc/r.csv"))  # a folder that takes no new file, even for root
    for target in targets:
        code, out = call(
            capsys,
            "ingest",
            str(files["cases"]),
            "--kind",
            "cleansing",
            "--store",
            str(store),
            "--rejects",
            str(target),
        )
        assert (code, out["status"]) == (2, "usage_error")
        assert str(target) in out["message"]
        assert folder_hash(store) == before


def test_demo_refuses_a_store_with_the_councils_own_data(
    tmp_path: Path, files: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    ingest = ("ingest", "--kind", "wards", "--store", str(store), str(files["wards"]))
    assert call(capsys, *ingest)[0] == 0
    before = folder_hash(store)
    code, out = call(capsys, "demo", "--store", str(store), "--cases", "400")
    assert (code, out["status"], out["code"]) == (2, "refused", "NOT_A_DEMO_STORE")
    assert "wards.geojson" in out["message"] and "store of its own" in out["message"]
    assert folder_hash(store) == before
    # the store stays the council's even once its only load is undone (the marker inside it)
    log = call(capsys, "log", "--store", str(store))[1]
    assert call(capsys, "undo", log["entries"][0]["ingest_id"], "--store", str(store))[0] == 0
    before = folder_hash(store)
    code, out = call(capsys, "demo", "--store", str(store), "--cases", "400")
    assert (code, out["code"]) == (2, "NOT_A_DEMO_STORE")
    assert "council's own data" in out["message"] and "NEIGHBOURHOOD_DEMO_STORE" in out["message"]
    assert folder_hash(store) == before


def test_metrics_and_demo_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    assert main(["demo", "--store", str(store), "--cases", "400", "--seed", "7"]) == 0
    demo = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [i["kind"] for i in demo["ingests"]] == [
        "wards",
        "population",
        "spend",
        "cleansing",
        "enforcement",
    ]
    assert all(i["status"] == "committed" for i in demo["ingests"])
    out_csv = tmp_path / "metrics.csv"
    assert main(["metrics", "--store", str(store), "--period", "year", "--out", str(out_csv)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    table = pd.read_csv(out_csv, encoding="utf-8-sig")
    assert summary["rows"] == len(table) > 0
    for col in ("ward_code", "ward_name", "period", "cases", "cases_per_1k", "spend_gbp"):
        assert col in table.columns
    # Building the demo again with the same seed changes nothing (duplicate files).
    assert main(["demo", "--store", str(store), "--cases", "400", "--seed", "7"]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {i["status"] for i in again["ingests"]} == {"duplicate_file"}
