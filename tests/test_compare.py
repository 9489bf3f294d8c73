"""Compared with other councils: DEFRA's returns (reader, store, comparison, command line)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from neighbourhood import compare as cmp
from neighbourhood import la_returns
from neighbourhood.ingest import ingest_bytes
from neighbourhood.loaders import FileRefused
from neighbourhood.store import LA_RETURNS_MEASURES, LA_RETURNS_TEXT, IngestBatch, Store

LIVERPOOL = "E08000012"
MANCHESTER = "E08000003"

INCIDENTS_HEADER = (
    "Year,ONS Code,LA Name,Region,Total Incidents,Highway Incidents,"
    "Total Incidents Clearance Costs (£),Mid population estimates ,Reporting basis"
)
ACTIONS_HEADER = "Year,ONS Code,LA Name,Region,Total Actions,Total Fixed Penalty Notice Actions"


def folder_hash(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def run_cli(*args: str, cwd: Path = REPO) -> tuple[int, dict, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "neighbourhood", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    last = proc.stdout.strip().splitlines()[-1]
    return proc.returncode, json.loads(last), proc.stderr


# ---- the real figures, on a fresh install (the bundled copy only) -------------------------------


def test_liverpool_and_manchester_2021_22_from_the_bundled_returns() -> None:
    result = cmp.compare(cmp.load_returns(), LIVERPOOL, "core-cities", "2021-22")
    summary = result.summary()
    assert (summary["incidents"], summary["incidents_per_1k"], summary["actions"]) == (
        18976,
        39.17,
        1,
    )
    table = result.table.set_index(["ons_code", "year"])
    assert round(table.loc[(MANCHESTER, "2021-22"), "incidents_per_1k"], 2) == 25.46
    assert table.loc[(MANCHESTER, "2021-22"), "in_group"]
    # Liverpool's enforcement collapse, as the issue tells it
    assert table.loc[(LIVERPOOL, "2012-13"), "actions"] == 3633
    later = [table.loc[(LIVERPOOL, y), "actions"] for y in ("2018-19", "2019-20", "2020-21")]
    assert all(0 <= a <= 5 for a in later)


def test_compare_command_on_a_fresh_install_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "liverpool.csv"
    code, summary, stderr = run_cli(
        "compare",
        "--council",
        LIVERPOOL,
        "--year",
        "2021-22",
        "--out",
        str(out),
        "--store",
        str(tmp_path / "no-store"),
    )
    assert code == 0, stderr
    assert (summary["incidents"], summary["incidents_per_1k"], summary["actions"]) == (
        18976,
        39.17,
        1,
    )
    assert summary["sources"] == ["bundled"]
    assert not (tmp_path / "no-store").exists()  # compare never creates a store
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"ons_code": str})
    for col in (
        "ons_code",
        "name",
        "year",
        "incidents",
        "incidents_per_1k",
        "actions",
        "actions_per_100_incidents",
        "in_group",
    ):
        assert col in table.columns
    assert set(table["year"]) == {"2021-22"}
    assert table["ons_code"].is_unique
    manchester = table[table["ons_code"] == MANCHESTER].iloc[0]
    assert round(manchester["incidents_per_1k"], 2) == 25.46
    assert table["in_group"].sum() == 8  # the English Core Cities


@pytest.mark.parametrize(
    ("args", "code_name"),
    [
        (["--council", "E99999999"], "COMPARE"),
        (["--council", LIVERPOOL, "--year", "2031-32"], "COMPARE"),
        ([], "NO_COUNCIL"),
    ],
)
def test_compare_command_refuses_plainly(tmp_path: Path, args: list[str], code_name: str) -> None:
    code, summary, stderr = run_cli("compare", *args, "--store", str(tmp_path / "s"))
    assert code == 2
    assert summary["status"] == "refused" and summary["code"] == code_name
    assert "Traceback" not in stderr


@pytest.mark.realdata
def test_the_bundled_copy_is_what_the_reader_makes_of_defra_s_sheets(shared_data: Path) -> None:
    folder = shared_data / "defra-flytipping-la"
    frames = []
    for sheet in ("incidents", "actions"):
        path = folder / f"flytipping_la_{sheet}_2012-13_to_2021-22.csv"
        frames.append(la_returns.read_returns(path.read_bytes(), path.name).frame)
    rebuilt = la_returns.wide(pd.concat(frames, ignore_index=True))
    bundled = la_returns.read_bundled()
    pd.testing.assert_frame_equal(
        rebuilt.reset_index(drop=True), bundled.reset_index(drop=True), check_dtype=False
    )
    raw = pd.read_csv(folder / "flytipping_la_incidents_2012-13_to_2021-22.csv", dtype=str)
    liverpool = raw[(raw["ONS Code"] == LIVERPOOL) & (raw["Year"] == "2021-22")].iloc[0]
    assert float(liverpool["Incidents per 1,000 people"]) == pytest.approx(39.1671207542808)
    assert liverpool["Total Incidents Clearance Costs (£)"] == ":"
    mine = bundled[(bundled["ons_code"] == LIVERPOOL) & (bundled["fin_year"] == "2021-22")]
    assert np.isnan(mine["clearance_cost_gbp"].item())  # ':' is missing, not 0


# ---- the reader --------------------------------------------------------------------------------


def test_markers_are_missing_values_never_zeros() -> None:
    rows = [
        "2022-23,E08000012,Liverpool,North West,100,:,..,484488,All incidents",
        "2022-23,E08000003,Manchester,North West,200,[x],-,549853,[z]",
        "2022-23,E06000018,Nottingham,E Midlands,300,c,[c],,:",
        '2022-23,E08000025,Birmingham,W Midlands,"1,234",z,x,"1,100,000",All incidents',
    ]
    data = ("\n".join([INCIDENTS_HEADER, *rows]) + "\n").encode()
    frame = la_returns.read_returns(data, "inc.csv").frame.set_index("ons_code")
    assert frame["land_highway"].isna().all()
    assert frame["clearance_cost_gbp"].isna().all()
    assert frame.loc["E06000018", "la_population"] != 0
    assert np.isnan(frame.loc["E06000018", "la_population"])
    assert frame.loc["E08000025", "incidents"] == 1234
    assert frame.loc["E08000025", "la_population"] == 1_100_000
    assert frame.loc["E06000018", "region"] == "East Midlands"
    assert frame.loc["E08000025", "region"] == "West Midlands"
    assert pd.isna(frame.loc["E08000003", "reporting_basis"])


def test_title_rows_other_delimiters_and_spelt_out_years() -> None:
    text = (
        "Fly-tipping actions reported by local authorities\n"
        "TOTAL;;;;\n"
        "Year;ONS Code;LA Name;Region;Total Actions;Total Fixed Penalty Notice Actions\n"
        "2022/2023;E08000012;Liverpool ;North West;7;2\n"
    )
    extract = la_returns.read_returns(text.encode("cp1252"), "actions.csv")
    row = extract.frame.iloc[0]
    assert (row["fin_year"], row["la_name"], row["actions"], row["fpns"]) == (
        "2022-23",
        "Liverpool",
        7.0,
        2.0,
    )
    assert row["part"] == "actions" and np.isnan(row["incidents"])
    assert extract.report["delimiter"] == ";"


def test_rows_that_are_not_a_council_s_return_are_rejected_with_reasons() -> None:
    rows = [
        "2021-22,*Total,*Total,*Total England,5,1,1",  # England total
        "2021-22,E12000002,North West,North West,5,1,1",  # a region
        "2021-22,W06000015,Cardiff,Wales,5,1,1",  # not English
        "2021-2023,E08000012,Liverpool,North West,5,1,1",  # not a financial year
        "2021-22,E08000003,Manchester,North West,-4,1,1",  # negative
        "2021-22,E08000019,Sheffield,Yorkshire and The Humber,lots,1,1",  # not a number
        "2021-22,E08000035,Leeds,Yorkshire and The Humber,5,1,1",
        "2021-22,E08000035,Leeds,Yorkshire and The Humber,6,1,1",  # same key: last kept
    ]
    header = "Year,ONS Code,LA Name,Region,Total Actions,Warning Letter Actions,Prosecution Actions"
    extract = la_returns.read_returns(("\n".join([header, *rows]) + "\n").encode(), "a.csv")
    rules = dict(zip(extract.rejects["source_line"], extract.rejects["rule"], strict=True))
    assert rules == {
        2: "E_TOTAL_ROW",
        3: "E_TOTAL_ROW",
        4: "E_CODE",
        5: "E_YEAR",
        6: "E_NEGATIVE",
        7: "E_NUMBER",
        8: "E_DUPLICATE_ID",
    }
    assert extract.frame["ons_code"].tolist() == ["E08000035"]
    assert extract.frame["actions"].tolist() == [6.0]
    assert extract.report["rows_read"] == 8


@pytest.mark.parametrize(
    "data",
    [b"", b"case_id,reported_at\n1,2024-01-01\n", b"Year,ONS Code,LA Name,Total Actions\n"],
)
def test_files_that_are_not_returns_are_refused(data: bytes) -> None:
    with pytest.raises(FileRefused):
        la_returns.read_returns(data, "x.csv")


def _workbook(engine: str) -> bytes:
    """DEFRA's layout: a notes sheet, then two sheets with a title and a band above the header."""
    incidents = pd.DataFrame(
        [
            ["Fly-tipping incidents", None, None, None, None, None, None, None, None],
            ["TOTAL", None, None, None, "Land type", None, None, None, None],
            INCIDENTS_HEADER.split(","),
            ["2022-23", "*Total", "*Total", "*Total England", 1000, 1, ":", ":", ":"],
            [
                "2022-23",
                LIVERPOOL,
                "Liverpool",
                "North West",
                19500,
                14000,
                ":",
                486100,
                "All incidents",
            ],
        ]
    )
    actions = pd.DataFrame(
        [
            ["Fly-tipping actions", None, None, None, None, None],
            ACTIONS_HEADER.split(","),
            ["2022-23", LIVERPOOL, "Liverpool", "North West", 4, 3],
        ]
    )
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine=engine) as writer:
        pd.DataFrame([["Notes"], ["Source: Defra"]]).to_excel(
            writer, sheet_name="Notes", header=False, index=False
        )
        incidents.to_excel(writer, sheet_name="LA_incidents", header=False, index=False)
        actions.to_excel(writer, sheet_name="LA_actions", header=False, index=False)
    return buffer.getvalue()


@pytest.mark.parametrize(("engine", "name"), [("openpyxl", "fly.xlsx"), ("odf", "fly.ods")])
def test_defra_s_workbook_reads_both_sheets(engine: str, name: str) -> None:
    extract = la_returns.read_returns(_workbook(engine), name)
    frame = extract.frame.set_index("part")
    assert frame.loc["incidents", "incidents"] == 19500
    assert frame.loc["incidents", "la_population"] == 486100
    assert np.isnan(frame.loc["incidents", "clearance_cost_gbp"])
    assert frame.loc["actions", "actions"] == 4 and frame.loc["actions", "fpns"] == 3
    assert extract.rejects["rule"].tolist() == ["E_TOTAL_ROW"]
    assert set(extract.report["sheets"]) == {"LA_incidents:incidents", "LA_actions:actions"}


def test_store_table_matches_the_reader_s_columns() -> None:
    assert (*LA_RETURNS_TEXT, *LA_RETURNS_MEASURES) == la_returns.RETURNS_COLUMNS


# ---- a newer release in the store --------------------------------------------------------------


def test_a_newer_release_overrides_the_bundled_one_sheet_by_sheet_and_undo_restores(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "store")
    rows = "2021-22,E08000012,Liverpool,North West,20000,1,:,500000,All incidents\n"
    rows += "2022-23,E08000012,Liverpool,North West,21000,1,:,500000,All incidents\n"
    result = ingest_bytes(store, (INCIDENTS_HEADER + "\n" + rows).encode(), "new.csv", "la-returns")
    assert (result.status, result.rows_new, result.rows_rejected) == ("committed", 2, 0)
    merged = cmp.load_returns(store).set_index(["ons_code", "fin_year"])
    assert merged.loc[(LIVERPOOL, "2021-22"), "incidents"] == 20000
    assert merged.loc[(LIVERPOOL, "2021-22"), "actions"] == 1  # the actions sheet is untouched
    assert merged.loc[(LIVERPOOL, "2021-22"), "source"] == result.ingest_id
    assert merged.loc[(LIVERPOOL, "2022-23"), "incidents"] == 21000  # a year not bundled
    assert merged.loc[(MANCHESTER, "2021-22"), "source"] == "bundled"
    assert "2022-23" in cmp.years(merged.reset_index())
    store.undo(result.ingest_id)
    again = cmp.load_returns(store).set_index(["ons_code", "fin_year"])
    assert again.loc[(LIVERPOOL, "2021-22"), "incidents"] == 18976
    assert (LIVERPOOL, "2022-23") not in again.index


def test_ingest_command_refuses_a_file_that_is_not_returns_and_leaves_the_store(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "store")
    ingest_bytes(
        store, (ACTIONS_HEADER + "\n2021-22,E08000012,L,NW,2,1\n").encode(), "a.csv", "la-returns"
    )
    before = folder_hash(store.path)
    bad = tmp_path / "cases.csv"
    bad.write_text("case_id,reported_at\n1,01/02/2024\n")
    code, summary, stderr = run_cli(
        "ingest", str(bad), "--kind", "la-returns", "--store", str(store.path)
    )
    assert code == 2 and summary["status"] == "refused"
    assert "Traceback" not in stderr
    assert folder_hash(store.path) == before
    good = tmp_path / "actions.csv"
    good.write_text(
        ACTIONS_HEADER + "\n2021-22,*Total,*Total,*Total England,9,9\n2022-23,E08000012,L,NW,3,1\n"
    )
    code, summary, _ = run_cli(
        "ingest", str(good), "--kind", "la-returns", "--store", str(store.path)
    )
    assert code == 0
    assert (summary["rows_read"], summary["rows_accepted"], summary["rows_rejected"]) == (2, 1, 1)


# ---- groups and ranks --------------------------------------------------------------------------


def test_rank_intervals_are_ranks_with_chance_around_them() -> None:
    rank, low, high = cmp.rank_intervals(
        np.array([100.0, 101.0, 5000.0, np.nan]),
        np.array([1000.0, 1000.0, 1000.0, 1000.0]),
        denominator_is_count=False,
    )
    assert rank[:3].tolist() == [3.0, 2.0, 1.0] and np.isnan(rank[3])
    # 100 and 101 in 1,000 are indistinguishable: each could be 2nd or 3rd; 5,000 is surely 1st
    assert (low[0], high[0], low[1], high[1]) == (2.0, 3.0, 2.0, 3.0)
    assert (low[2], high[2]) == (1.0, 1.0)
    again = cmp.rank_intervals(
        np.array([100.0, 101.0, 5000.0, np.nan]), np.array([1000.0] * 4), denominator_is_count=False
    )
    assert np.array_equal(again[1], low, equal_nan=True)  # the same table every time


def test_a_count_of_zero_still_has_an_interval() -> None:
    _, low, high = cmp.rank_intervals(
        np.array([0.0, 1.0]), np.array([50.0, 50.0]), denominator_is_count=True
    )
    assert (low[0], high[0]) == (1.0, 2.0)


def test_nearest_neighbours_by_population_and_deprivation() -> None:
    returns = pd.DataFrame(
        {
            "ons_code": ["A", "B", "C", "D"],
            "fin_year": ["2021-22"] * 4,
            "la_population": [100_000.0, 110_000.0, 1_000_000.0, 100_000.0],
        }
    )
    imd = pd.Series({"A": 30.0, "B": 31.0, "C": 30.0, "D": 10.0})
    assert cmp.nearest_neighbours(returns, "A", k=2, imd=imd) == ["B", "D"]
    with pytest.raises(cmp.CompareError):
        cmp.nearest_neighbours(returns, "Z", k=2, imd=imd)


def test_groups_region_core_cities_england() -> None:
    returns = cmp.load_returns()
    region = cmp.group_members(returns, LIVERPOOL, "region", "2012-13")
    assert MANCHESTER in region and "E09000001" not in region
    assert len(cmp.group_members(returns, LIVERPOOL, "core-cities", "2021-22")) == 8
    assert len(cmp.group_members(returns, LIVERPOOL, "england", "2021-22")) == 309
    neighbours = cmp.group_members(returns, LIVERPOOL, "neighbours", "2021-22")
    assert len(neighbours) == cmp.NEIGHBOURS_K + 1 and LIVERPOOL in neighbours


def test_reporting_basis_in_plain_words() -> None:
    table = cmp.comparison_table(cmp.load_returns(), LIVERPOOL, "core-cities", "2021-22")
    notes = cmp.basis_notes(table, "2021-22")
    assert any(n.startswith("Staff/contractor") and "Manchester" in n for n in notes)
    early = cmp.comparison_table(cmp.load_returns(), LIVERPOOL, "core-cities", "2015-16")
    assert "did not say how councils counted" in cmp.basis_notes(early, "2015-16")[0]


# ---- the council and its own extract -----------------------------------------------------------


def test_the_council_from_ward_codes_or_remembered(tmp_path: Path) -> None:
    assert cmp.council_from_wards(["E05015277", "E05015300"]) == LIVERPOOL
    assert cmp.council_from_wards(["E05900001", "E05900002"]) is None
    store = Store(tmp_path / "s")
    assert cmp.default_council(store).how == "none"
    store.initialise()
    store.set_setting(cmp.SETTING, MANCHESTER)
    assert cmp.default_council(store) == cmp.CouncilChoice(MANCHESTER, "remembered")
    store.set_setting(cmp.SETTING, None)
    assert cmp.default_council(store).code is None


def _cases(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["case_id", "category", "status", "reported_at"])
    frame["reported_at"] = pd.to_datetime(frame["reported_at"]).dt.tz_localize("Europe/London")
    frame["ward_code"] = "E05015277"
    frame["ward_name"] = "Aigburth"
    return frame


def test_own_extract_beside_the_return_with_the_gap(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    store.initialise()
    rows = [
        ("A", "fly_tipping", "open", "2021-04-01 00:30"),  # first day of 2021-22 (BST)
        ("B", "fly_tipping", "closed", "2021-10-01 10:00"),
        ("C", "fly_tipping", "duplicate", "2021-10-02 10:00"),  # not counted
        ("D", "litter", "open", "2022-03-31 23:30"),  # dates the extract's end
        ("E", "fly_tipping", "open", "2022-04-02 10:00"),  # 2022-23, only partly covered
    ]
    store.apply_ingest(IngestBatch("cleansing", "c.csv", "ab", 10, _cases(rows), rows_read=5))
    own = cmp.own_extract(store, cmp.load_returns(), LIVERPOOL).set_index("year")
    assert own.loc["2021-22", "own_cases"] == 2
    assert own.loc["2021-22", "reported_to_defra"] == 18976
    assert own.loc["2021-22", "gap"] == 2 - 18976
    assert bool(own.loc["2021-22", "covered"])
    assert not bool(own.loc["2022-23", "covered"]) and np.isnan(own.loc["2022-23", "gap"])


def test_a_store_made_before_la_returns_takes_a_release_and_undo(tmp_path: Path) -> None:
    import duckdb

    from neighbourhood.store import DATA_TABLES, VERSION_COLUMNS

    store = Store(tmp_path / "old")
    store.initialise()
    others = {c for t, cols in DATA_TABLES.items() if t != "la_returns" for c in cols}
    con = duckdb.connect(str(store.db_path))
    con.execute("DROP TABLE la_returns")
    for col in VERSION_COLUMNS:
        if col in DATA_TABLES["la_returns"] and col not in others:
            con.execute(f'ALTER TABLE case_versions DROP COLUMN "{col}"')
    con.execute("CHECKPOINT")
    con.close()
    assert cmp.load_returns(store)["source"].eq("bundled").all()  # no table: the bundled copy

    first = ACTIONS_HEADER + "\n2021-22,E08000012,Liverpool,North West,7,2\n"
    second = ACTIONS_HEADER + "\n2021-22,E08000012,Liverpool,North West,9,2\n"
    ingest_bytes(store, first.encode(), "a.csv", "la-returns")
    result = ingest_bytes(store, second.encode(), "b.csv", "la-returns")
    assert (result.rows_updated, result.rows_new) == (1, 0)
    merged = cmp.load_returns(store).set_index(["ons_code", "fin_year"])
    assert merged.loc[(LIVERPOOL, "2021-22"), "actions"] == 9
    store.undo(result.ingest_id)
    merged = cmp.load_returns(store).set_index(["ons_code", "fin_year"])
    assert merged.loc[(LIVERPOOL, "2021-22"), "actions"] == 7


def test_the_ingest_log_names_defra_s_returns_plainly() -> None:
    from ui.upload import KIND_LABELS, log_table

    log = pd.DataFrame(
        {
            "seq": [1],
            "ingest_id": ["ingest-000001"],
            "started_at": pd.to_datetime(["2026-01-05 09:00"], utc=True),
            "kind": ["la-returns"],
            "status": ["committed"],
        }
    )
    assert log_table(log).loc[0, "kind"] == "DEFRA fly-tipping returns"
    assert "la-returns" not in KIND_LABELS  # loaded from the command line, not the upload page


def test_hostile_values_are_rejected_and_a_sheet_with_both_totals_adds_up(tmp_path: Path) -> None:
    header = "Year,ONS Code,LA Name,Region,Total Incidents,Total Actions"
    rows = [
        f"2021-22,E08000012,{'L' * 5000},North West,5,1",  # a name far too long
        "2021-22,E08000003,Manchester,North West,1e300,1",  # not a council's count
        "1899-00,E08000019,Sheffield,Yorkshire and The Humber,5,1",  # no such return year
        "2021-22,E08000035,=HYPERLINK(1),Yorkshire and The Humber,5,2",
    ]
    data = ("\n".join([header, *rows]) + "\n").encode()
    extract = la_returns.read_returns(data, "both.csv")
    assert extract.rejects["rule"].tolist() == ["E_TOO_LONG", "E_RANGE", "E_YEAR"]
    assert sorted(extract.frame["part"]) == ["actions", "incidents"]  # one line, two sheets' rows
    report = extract.report
    assert report["rows_accepted"] == report["rows_read"] - report["rows_rejected"] == 2
    store = Store(tmp_path / "s")
    result = ingest_bytes(store, data, "both.csv", "la-returns")
    assert result.rows_accepted == result.rows_read - result.rows_rejected == 2
    everything_bad = ("\n".join([header, rows[1]]) + "\n").encode()
    result = ingest_bytes(store, everything_bad, "bad.csv", "la-returns")
    assert (result.status, result.rows_accepted, result.rows_rejected) == ("committed", 0, 2)


@pytest.mark.realdata
def test_a_store_with_liverpool_s_wards_is_liverpool_s_and_can_remember_another(
    shared_data: Path, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s")
    wards = shared_data / "liverpool-wards-2023" / "liverpool_wards_2023_wgs84.geojson"
    ingest_bytes(store, wards.read_bytes(), wards.name, "wards")
    assert cmp.default_council(store) == cmp.CouncilChoice(LIVERPOOL, "wards")
    code, summary, _ = run_cli("compare", "--store", str(store.path))
    assert code == 0
    assert (summary["council"], summary["council_from"], summary["group"]) == (
        LIVERPOOL,
        "wards",
        "core-cities",
    )
    code, summary, _ = run_cli(
        "compare", "--council", "E06000001", "--remember", "--store", str(store.path)
    )
    assert code == 0 and summary["group"] == "region"  # Hartlepool is not a Core City
    assert cmp.default_council(store) == cmp.CouncilChoice("E06000001", "remembered")


def _boundary_file(properties: dict[str, str]) -> bytes:
    features = []
    for i, (x, y) in enumerate([(-2.25, 53.47), (-2.24, 53.47)]):
        ring = [[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]
        features.append(
            {
                "type": "Feature",
                "properties": {"WD23CD": f"E0599999{i}", "WD23NM": f"Ward {i}", **properties},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


@pytest.mark.parametrize(
    "properties",
    [{"LAD23CD": MANCHESTER, "LAD23NM": "Manchester"}, {"district": "Manchester City Council"}],
)
def test_the_council_a_boundary_file_names_in_its_own_columns(
    tmp_path: Path, properties: dict[str, str]
) -> None:
    store = Store(tmp_path / "s")
    ingest_bytes(store, _boundary_file(properties), "wards.geojson", "wards")
    assert cmp.default_council(store) == cmp.CouncilChoice(MANCHESTER, "boundary file")


def test_a_boundary_file_naming_no_single_council_reveals_none(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    ingest_bytes(store, _boundary_file({"district": "Nowhere Town"}), "w.geojson", "wards")
    assert cmp.default_council(store) == cmp.CouncilChoice(None, "none")
