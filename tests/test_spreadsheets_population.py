"""Spreadsheets read like CSV (title rows, totals rows) and population columns that are rates."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from neighbourhood.loaders import FileRefused, ReadOptions, read_extract

NOW = pd.Timestamp("2025-01-01", tz="Europe/London")
OPTS = ReadOptions(now=NOW)
openpyxl = pytest.importorskip("openpyxl")


def workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_xlsx_title_rows_point_to_the_headings_like_csv() -> None:
    rows = [
        ["Street cleansing requests, March 2024"],
        ["Produced by the CRM team"],
        [],
        ["Reference No", "Date Raised", "Request Type", "Ward"],
        ["R1", "07/03/2024", "Litter", "Anfield"],
    ]
    with pytest.raises(FileRefused) as xlsx:
        read_extract(workbook(rows), "x.xlsx", "cleansing", OPTS)
    assert "seem to be on row 4" in xlsx.value.message
    csv = "\n".join(",".join(str(c) for c in r) for r in rows).encode()
    with pytest.raises(FileRefused) as text:
        read_extract(csv, "x.csv", "cleansing", OPTS)
    assert "seem to be on line 4" in text.value.message
    assert xlsx.value.code == text.value.code == "F_MISSING_COLUMNS"


def test_xlsx_totals_row_is_rejected_like_csv() -> None:
    rows = [
        ["Reference No", "Date Raised", "Request Type", "Ward", "Cost (£)"],
        ["R1", "07/03/2024", "Litter", "Anfield", 12.5],
        ["R2", "08/03/2024", "Fly tipping", "Anfield", 40],
        ["Total", None, None, None, 52.5],
        [None, None, None, None, 52.5],
    ]
    ex = read_extract(workbook(rows), "x.xlsx", "cleansing", OPTS)
    csv = "\n".join(",".join("" if c is None else str(c) for c in r) for r in rows).encode()
    ex_csv = read_extract(csv, "x.csv", "cleansing", OPTS)
    assert ex.frame["case_id"].tolist() == ex_csv.frame["case_id"].tolist() == ["R1", "R2"]
    assert ex.rejects["rule"].tolist() == ex_csv.rejects["rule"].tolist() == ["E_TOTAL_ROW"] * 2


def test_population_percentage_column_is_refused_naming_the_head_count() -> None:
    data = (
        b"Ward Code,Population,All usual residents,Year\n"
        b"E05000001,12.5,11430,2021\nE05000002,14.1,12840,2021\nE05000003,9.7,8800,2021\n"
    )
    with pytest.raises(FileRefused) as info:
        read_extract(data, "p.csv", "population", OPTS)
    assert info.value.code == "F_NOT_HEAD_COUNT"
    assert '--map "All usual residents=population"' in info.value.message


def test_population_density_header_is_not_read_and_the_refusal_names_the_count() -> None:
    data = (
        b"Ward Code,Population density (per hectare),Usual residents (count),Year\n"
        b"E05000001,45,11430,2021\n"
    )
    ex = read_extract(data, "p.csv", "population", OPTS)  # the count column is found by its words
    assert ex.frame["population"].tolist() == [11430]
    assert "Population density (per hectare)" in ex.report["ignored_columns"]
    data = (
        b"Ward Code,Population density,Residents per km2,Persons,Year\nE05000001,45,4,11430,2021\n"
    )
    ex = read_extract(data, "p.csv", "population", OPTS)
    assert ex.frame["population"].tolist() == [11430]
    with pytest.raises(FileRefused) as info:
        read_extract(
            b"Ward Code,Population density,Observation,Year\nE05000001,45,11430,2021\n",
            "p.csv",
            "population",
            OPTS,
        )
    assert "'Population density' is a density" in info.value.message
    assert "probably in 'Observation'" in info.value.message


def test_small_whole_numbers_are_not_refused() -> None:
    data = b"Ward Code,Population,Year\nE05000001,5,2021\nE05000002,7,2021\nE05000003,9,2021\n"
    assert read_extract(data, "p.csv", "population", OPTS).frame["population"].tolist() == [5, 7, 9]
