"""Dates as council extracts write them: two-digit years, month names, Excel serial numbers."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from neighbourhood.loaders import ReadOptions, date_option, read_extract

NOW = pd.Timestamp("2025-01-01", tz="Europe/London")
OPTS = ReadOptions(now=NOW)
TZ = "Europe/London"


def read(values: list[str], header: str = "Ref No,Date Raised", **kw: object):
    body = "".join(f"R{i},{v}\n" for i, v in enumerate(values))
    return read_extract(
        (header + "\n" + body).encode(), "x.csv", "cleansing", ReadOptions(now=NOW, **kw)
    )


@pytest.mark.parametrize(
    ("values", "first", "fmt"),
    [
        (["7/3/24", "28/3/24"], "2024-03-07 00:00", "%d/%m/%y"),
        (["07/03/24 14:05", "28/03/24 09:00"], "2024-03-07 14:05", "%d/%m/%y %H:%M"),
        (["07/03/24 14:05:09", "28/03/24 09:00:00"], "2024-03-07 14:05:09", "%d/%m/%y %H:%M:%S"),
        (["7-Mar-24", "28-Mar-24"], "2024-03-07 00:00", "%d-%b-%y"),
        (["07-Mar-2024", "28-Mar-2024"], "2024-03-07 00:00", "%d-%b-%Y"),
        (["07-Mar-2024 14:05", "28-Mar-2024 09:00"], "2024-03-07 14:05", "%d-%b-%Y %H:%M"),
        (["7 March 2024", "28 March 2024"], "2024-03-07 00:00", "%d %b %Y"),
        (["7 March 2024 14:05", "28 March 2024 09:00"], "2024-03-07 14:05", "%d %b %Y %H:%M"),
        (["07-MAR-24", "28-MAR-24"], "2024-03-07 00:00", "%d-%b-%y"),
        (["07.03.24", "28.03.24"], "2024-03-07 00:00", "%d.%m.%y"),
        (["7-3-24", "28-3-24"], "2024-03-07 00:00", "%d-%m-%y"),
    ],
)
def test_two_digit_years_and_month_names(values: list[str], first: str, fmt: str) -> None:
    ex = read(values)
    assert ex.rejects.empty, ex.rejects.to_dict("records")
    assert ex.frame.loc[0, "reported_at"] == pd.Timestamp(first, tz=TZ)
    assert ex.report["date_formats"]["reported_at"] == fmt


def test_two_digit_year_pivot_is_posix() -> None:
    """00-68 are 2000-2068, 69-99 are 1969-1999 (and so before 2000: too old)."""
    ex = read(["01/01/68", "31/12/69", "05/03/24"], header="Ref No,Date Raised")
    assert ex.frame["case_id"].tolist() == ["R2"]
    rules = dict(zip(ex.rejects["source_line"], ex.rejects["rule"], strict=True))
    assert rules == {2: "E_DATE_FUTURE", 3: "E_DATE_TOO_OLD"}
    message = ex.rejects.loc[ex.rejects["source_line"] == 3, "message"].iloc[0]
    assert '--date-format "%d/%m/%y"' in message


def test_excel_serial_numbers_in_csv_text() -> None:
    ex = read(["45358.5833333333", "45359", "45360.25"])
    assert ex.report["date_formats"]["reported_at"] == "excel-serial"
    got = ex.frame["reported_at"].tolist()
    assert got == [
        pd.Timestamp("2024-03-07 14:00", tz=TZ),
        pd.Timestamp("2024-03-08 00:00", tz=TZ),
        pd.Timestamp("2024-03-09 06:00", tz=TZ),
    ]


def test_excel_serials_mixed_with_text_dates_and_out_of_range_numbers() -> None:
    ex = read(["45358", "08/03/2024", "45360", "12345"])
    assert ex.frame["case_id"].tolist() == ["R0", "R1", "R2"]
    assert ex.report["date_formats_extra"]["reported_at"] == ["excel-serial"]
    bad = ex.rejects.iloc[0]
    assert bad["rule"] == "E_DATE_FORMAT" and bad["value"] == "12345"


def test_excel_serial_numbers_in_xlsx_cells() -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Reference No", "Date Logged", "Closed"])
    sheet.append(["R1", 45358.5833333333, 45359])
    sheet.append(["R2", 45359, None])
    buf = io.BytesIO()
    book.save(buf)
    ex = read_extract(buf.getvalue(), "x.xlsx", "cleansing", OPTS)
    assert ex.frame["reported_at"].tolist() == [
        pd.Timestamp("2024-03-07 14:00", tz=TZ),
        pd.Timestamp("2024-03-08", tz=TZ),
    ]
    assert ex.frame.loc[0, "closed_at"] == pd.Timestamp("2024-03-08", tz=TZ)


def test_forced_excel_date_format() -> None:
    ex = read(["45358", "45359"], date_format="excel")
    assert ex.report["date_formats"]["reported_at"] == "excel-serial"


def test_a_date_message_names_the_date_format_that_reads_the_value() -> None:
    ex = read(["2024-03-07", "2024-03-08", "07/03/2024 14:05"], date_format="iso")
    message = ex.rejects["message"].iloc[0]
    assert 'load the file with --date-format "%d/%m/%Y %H:%M"' in message
    ex = read(["07/03/2024 14:05", "08/03/2024 09:00", "31/02/2024 10:00"])
    message = ex.rejects["message"].iloc[0]
    assert "DD/MM/YYYY HH:MM" in message
    assert 'The rest of the column reads with --date-format "%d/%m/%Y %H:%M"' in message


def test_a_placeholder_closed_date_is_too_old_with_the_format_named() -> None:
    ex = read(["07/03/2024,01/01/1900"], header="Ref No,Date Raised,Date Closed")
    row = ex.rejects.iloc[0]
    assert row["rule"] == "W_DATE_TOO_OLD" and "left empty" in row["message"]
    assert ex.frame["case_id"].tolist() == ["R0"]


def test_date_option_spellings() -> None:
    assert date_option("%m/%d/%Y") == "--date-format monthfirst"
    assert date_option("%d %b %Y") == '--date-format "%d %b %Y"'
