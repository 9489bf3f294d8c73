"""Formula-injection-safe exports (notes/reliability.md §3)."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pandas as pd

from neighbourhood.export import (
    atomic_write_bytes,
    neutralise_formulas,
    to_csv_bytes,
    to_xlsx_bytes,
)

NASTY = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(1,1)",
    "\tTAB",
    "\rCR",
    "\0NUL",
    "plain",
    None,
]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "value": NASTY,
            "amount": [-5.0, 1.0, -2.0, 0.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "line": list(range(2, 11)),
        }
    )


def test_neutralise_prefixes_text_only_and_keeps_numbers() -> None:
    out = neutralise_formulas(frame())
    assert out["value"].tolist()[:7] == ["'" + v for v in NASTY[:7]]
    assert out["value"].iloc[7] == "plain"
    assert pd.isna(out["value"].iloc[8])
    assert out["amount"].tolist() == frame()["amount"].tolist()  # -5.0 stays a number
    assert out["line"].dtype == frame()["line"].dtype


def test_neutralise_mixed_object_column_keeps_non_strings() -> None:
    out = neutralise_formulas(pd.DataFrame({"v": pd.Series([-1, "-1", "=x"], dtype=object)}))
    assert out["v"].tolist() == [-1, "'-1", "'=x"]


def test_neutralise_header_and_does_not_mutate_input() -> None:
    df = pd.DataFrame({"=cmd": ["=x"]})
    out = neutralise_formulas(df)
    assert list(out.columns) == ["'=cmd"]
    assert df.iloc[0, 0] == "=x"


def test_csv_bytes_round_trip() -> None:
    text = to_csv_bytes(frame()).decode("utf-8-sig")
    assert text.startswith("value,amount,line\n")
    assert '\n"\'=HYPERLINK(""http://evil.example"",""click"")",-5,2\n' in text
    assert "\n'@SUM(1,1)" not in text  # it contains a comma, so it is quoted
    assert '"\'@SUM(1,1)",0,5\n' in text
    assert "\n'+1+1,1,3\n" in text  # floats in 15 significant digits: 1.0 is written 1
    assert "'-" not in text.replace("'-2+3", "")  # numbers are never prefixed
    clean = pd.DataFrame({"v": ["=1", "x"], "n": [-5.0, 2.0]})
    back = pd.read_csv(io.BytesIO(to_csv_bytes(clean)), encoding="utf-8-sig")
    assert back["v"].tolist() == ["'=1", "x"]
    assert back["n"].tolist() == [-5.0, 2.0]


def test_xlsx_text_cells_are_strings_not_formulas() -> None:
    data = to_xlsx_bytes(frame())
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [ws.cell(row=r, column=1) for r in range(2, 9)]
    assert all(c.data_type == "s" for c in values)
    assert values[0].value == NASTY[0]  # literal text, no visible quote
    assert values[6].value == "\ufffdNUL"
    amount = ws.cell(row=2, column=2)
    assert (amount.value, amount.data_type) == (-5, "n")


def test_xlsx_handles_timestamps_and_missing() -> None:
    df = pd.DataFrame(
        {
            "t": pd.to_datetime(["2024-07-01 09:00", None]).tz_localize("Europe/London"),
            "s": ["a", None],
        }
    )
    ws = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(df))).active
    assert ws.cell(row=2, column=1).value.hour == 9
    assert ws.cell(row=3, column=2).value is None


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
