"""DEFRA's fly-tipping returns by local authority, read as DEFRA publishes them.

Every English council reports its fly-tipping incidents and enforcement actions to DEFRA
(WasteDataFlow); DEFRA publishes them each year, under the Open Government Licence v3.0, as a
workbook ("Fly-tipping incidents and actions reported by local authorities") with one sheet of
incidents and one of actions per council and year. :func:`read_returns` reads that workbook
(``.ods`` or ``.xlsx``) or a CSV export of either sheet into one canonical frame:

- one row per council, financial year and *part* (``incidents`` or ``actions``), so that a CSV of
  the incidents sheet alone never blanks a council's actions;
- headers matched by their letters and digits only (``Total Incidents Clearance Costs (£)`` →
  ``totalincidentsclearancecosts``), wherever the header row is (title rows above it are skipped);
- DEFRA's markers for a missing value (``:``, ``..``, ``x``, ``[x]``, ``-``, ``c``, ``[c]``,
  ``z``, ``[z]``, ``[low]``, ``[u]``, an empty cell) read as missing, never as zero;
- England and region total rows, codes that are not a council's, bad years, negative or
  non-numeric counts are rejected row by row with the loaders' reject columns; a file with no
  returns sheet at all is refused (:class:`~neighbourhood.loaders.FileRefused`).

The bundled copy (``data/la_returns/``) was made by this same reader from DEFRA's sheets
(``tools/build_la_returns.py``); :mod:`neighbourhood.compare` reads both.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from neighbourhood.loaders import MAX_CELL_CHARS, FileRefused

__all__ = [
    "ACTION_MEASURES",
    "BUNDLED_RETURNS",
    "INCIDENT_MEASURES",
    "KEY",
    "MISSING_MARKERS",
    "RETURNS_COLUMNS",
    "ReturnsExtract",
    "financial_year",
    "read_bundled",
    "read_returns",
]

DATA_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "data" / "la_returns"
BUNDLED_RETURNS: Final[Path] = DATA_DIR / "defra_flytipping_la.csv.gz"
"""The bundled returns (DEFRA, OGL v3.0): one row per council and year, both parts."""

ID_COLUMNS: Final[tuple[str, ...]] = ("ons_code", "la_name", "region", "fin_year")
#: Incidents sheet: canonical column -> normalised DEFRA headers it may have.
INCIDENT_MEASURES: Final[dict[str, tuple[str, ...]]] = {
    "incidents": ("totalincidents",),
    "land_highway": ("highwayincidents",),
    "land_footpath": ("footpathbridlewayincidents",),
    "land_back_alley": ("backalleywayincidents",),
    "land_railway": ("railwayincidents",),
    "land_council": ("councillandincidents",),
    "land_agricultural": ("agriculturalincidents",),
    "land_private": ("privateresidentialincidents",),
    "land_commercial": ("commercialindustrialincidents",),
    "land_watercourse": ("watercoursebankincidents",),
    "land_other": ("otherunidentifiedincidents", "otherlandincidents"),
    "size_black_bag": ("singleblackbagincidents",),
    "size_single_item": ("singleitemincidents",),
    "size_car_boot": ("carbootorlessincidents",),
    "size_small_van": ("smallvanloadincidents",),
    "size_transit_van": ("transitvanloadincidents",),
    "size_tipper_lorry": ("tipperlorryloadincidents",),
    "size_significant": ("significantmultiloadsincidents", "sigmultiloadsincidents"),
    "clearance_cost_gbp": ("totalincidentsclearancecosts", "totalclearancecosts"),
    "la_population": (
        "midpopulationestimates",
        "midyearpopulationestimates",
        "midyearpopulationestimate",
        "population",
    ),
}
#: Actions sheet: canonical column -> normalised DEFRA headers.
ACTION_MEASURES: Final[dict[str, tuple[str, ...]]] = {
    "actions": ("totalactions",),
    "investigations": ("investigationactions",),
    "warning_letters": ("warningletteractions",),
    "statutory_notices": ("statutorynoticeactions",),
    "fpns": ("totalfixedpenaltynoticeactions",),
    "fpns_fly_tipping": ("fixedpenaltynoticesissuedspecificallyforflytipping",),
    "duty_of_care_inspections": ("dutyofcareinspectionactions",),
    "stop_and_search": ("stopandsearchactions",),
    "vehicles_seized": ("vehiclesseized",),
    "formal_cautions": ("formalcautionactions",),
    "prosecutions": ("prosecutionactions",),
    "injunctions": ("injunctionactions",),
    "fines_gbp": ("totalfines",),
}
TEXT_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "fin_year": ("year", "financialyear"),
    "ons_code": ("onscode", "lacode", "localauthoritycode", "onslacode", "gsscode"),
    "la_name": ("laname", "localauthority", "localauthorityname", "authority", "authorityname"),
    "region": ("region", "regionname"),
    "reporting_basis": ("reportingbasis",),
}
PARTS: Final[dict[str, tuple[str, dict[str, tuple[str, ...]]]]] = {
    "incidents": ("incidents", INCIDENT_MEASURES),
    "actions": ("actions", ACTION_MEASURES),
}
MEASURES: Final[tuple[str, ...]] = (*INCIDENT_MEASURES, *ACTION_MEASURES)
RETURNS_COLUMNS: Final[tuple[str, ...]] = (
    "ons_code",
    "la_name",
    "region",
    "fin_year",
    "part",
    "reporting_basis",
    *MEASURES,
)
"""Columns of the canonical frame and of the store's ``la_returns`` table (plus ``ingest_id``)."""
KEY: Final[tuple[str, ...]] = ("ons_code", "fin_year", "part")

MISSING_MARKERS: Final[frozenset[str]] = frozenset(
    {"", ":", "..", "...", "x", "[x]", "-", "–", "c", "[c]", "z", "[z]", "[low]", "[u]", "n/a"}
)
"""Cell values that mean "no figure" in DEFRA and GSS tables (compared lower-cased, trimmed)."""

COUNCIL_CODE_RE: Final[re.Pattern[str]] = re.compile(r"E0[6-9]\d{6}|E10\d{6}")
"""English councils that report to DEFRA: unitary (E06), district (E07), metropolitan (E08),
London borough (E09) and county (E10) codes."""
_TOTAL_CODE_RE: Final[re.Pattern[str]] = re.compile(r"E12\d{6}|E92\d{6}|E13\d{6}|K0\d{7}")
_YEAR_RE: Final[re.Pattern[str]] = re.compile(r"(\d{4})\s*[-/–]\s*(\d{2}|\d{4})")
REGION_ALIASES: Final[dict[str, str]] = {
    "e midlands": "East Midlands",
    "east midlands": "East Midlands",
    "w midlands": "West Midlands",
    "west midlands": "West Midlands",
    "eastern": "East",
    "east": "East",
    "east of england": "East",
    "london": "London",
    "north east": "North East",
    "north west": "North West",
    "south east": "South East",
    "south west": "South West",
    "yorkshire and the humber": "Yorkshire and The Humber",
    "yorkshire and humber": "Yorkshire and The Humber",
    "yorkshire & the humber": "Yorkshire and The Humber",
}
"""DEFRA spelt some regions three ways over the years; one name each (English regions)."""
_HEADER_SCAN_ROWS: Final[int] = 30
MAX_BYTES: Final[int] = 200 * 1024**2
"""Largest file accepted once decompressed (DEFRA's whole workbook is a few MB)."""
MAX_FIGURE: Final[float] = 1e12
"""Largest count or cost accepted (England records about a million incidents a year)."""
FIRST_YEAR, LAST_YEAR = 2000, 2099
_MESSAGES: Final[dict[str, str]] = {
    "E_TOTAL_ROW": "An England or region total, not a council: not stored (group figures are "
    "summed from the councils).",
    "E_CODE": "Not an English council's ONS code (E06, E07, E08, E09 or E10 and six digits).",
    "E_YEAR": "Not a financial year such as 2021-22.",
    "E_NUMBER": "Not a number (and not one of DEFRA's markers for a missing figure, such as ':').",
    "E_NEGATIVE": "A count or cost below zero.",
    "E_RANGE": "A figure too large to be a council's count or cost.",
    "E_TOO_LONG": f"A value longer than {MAX_CELL_CHARS:,} characters.",
    "E_DUPLICATE_ID": "Another row gives the same council, year and sheet; the last one in the "
    "file was kept.",
}


@dataclass
class ReturnsExtract:
    """What :func:`read_returns` read: canonical rows, row rejects and a report."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)


def normalise_header(value: object) -> str:
    """A header's lower-case letters and digits only.

    Examples
    --------
    >>> normalise_header("Total Incidents Clearance Costs (£) ")
    'totalincidentsclearancecosts'
    """
    return re.sub(r"[^0-9a-z]", "", str(value).lower()) if value is not None else ""


def financial_year(value: object) -> str | None:
    """``2021-22`` for ``2021-22``, ``2021/22``, ``2021-2022`` or ``2021/2022``; else None.

    Examples
    --------
    >>> financial_year("2021/2022"), financial_year("2021-23"), financial_year("21-22")
    ('2021-22', None, None)
    """
    if value is None:
        return None
    match = _YEAR_RE.fullmatch(str(value).strip())
    if match is None:
        return None
    start, end = int(match.group(1)), match.group(2)
    end_full = int(end) if len(end) == 4 else (start // 100) * 100 + int(end)
    if len(end) == 2 and end_full < start:
        end_full += 100
    if end_full != start + 1 or not FIRST_YEAR <= start <= LAST_YEAR:
        return None
    return f"{start}-{str(start + 1)[-2:]}"


def region_name(value: object) -> str | None:
    """DEFRA's region spelt one way (``E Midlands`` → ``East Midlands``); unknown kept trimmed.

    Examples
    --------
    >>> region_name(" Eastern "), region_name("W Midlands")
    ('East', 'West Midlands')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = " ".join(str(value).split())
    if not text or text.lower() in MISSING_MARKERS:
        return None
    return REGION_ALIASES.get(text.lower(), text)


# ---- reading the bytes ---------------------------------------------------------------------


def _is_ods(data: bytes) -> bool:
    if data[:4] != b"PK\x03\x04":
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "application/vnd.oasis.opendocument.spreadsheet" in (
                z.read("mimetype").decode("ascii", "replace") if "mimetype" in z.namelist() else ""
            )
    except (zipfile.BadZipFile, KeyError, OSError):
        return False


def _guard_zip(data: bytes, limit: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            total = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile as exc:
        raise FileRefused("F_MALFORMED", f"The workbook is corrupt ({exc}).") from None
    if total > limit:
        raise FileRefused("F_TOO_LARGE", f"The workbook expands to more than {limit:,} bytes.")


def _sheets(data: bytes, name: str, report: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """Every sheet (or the one CSV table) as rows of cells."""
    from neighbourhood import loaders
    from neighbourhood.loaders import containers

    if not data:
        raise FileRefused("F_EMPTY", f"{name} is empty.")
    if _is_ods(data):
        _guard_zip(data, MAX_BYTES)
        report["format"] = "ods"
        return _read_book(data, "odf")
    payload, fmt = containers._unwrap(data, name, MAX_BYTES, report)
    if fmt == "xlsx":
        return _read_book(payload, "openpyxl")
    encoding, utf8 = containers._decode(payload, loaders.ReadOptions())
    report["encoding"] = encoding
    text = utf8.decode("utf-8")
    lines = text.splitlines()[:_HEADER_SCAN_ROWS]
    header_line = next((ln for ln in lines if "onscode" in normalise_header(ln)), "")
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    delimiter = max(counts, key=counts.__getitem__) if any(counts.values()) else ","
    report["delimiter"] = delimiter
    try:
        rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise FileRefused("F_MALFORMED", f"The CSV could not be read ({exc}).") from None
    return {Path(name).stem or "csv": rows}


def _read_book(data: bytes, engine: str) -> dict[str, list[list[Any]]]:
    try:
        book = pd.read_excel(
            io.BytesIO(data), sheet_name=None, header=None, dtype=object, engine=engine
        )
    except Exception as exc:  # the engines raise many types for a damaged workbook
        raise FileRefused("F_MALFORMED", f"The workbook could not be opened ({exc}).") from None
    return {
        str(sheet): frame.astype(object).where(frame.notna(), None).values.tolist()
        for sheet, frame in book.items()
    }


def _header_row(rows: list[list[Any]]) -> int | None:
    for i, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        cells = {normalise_header(c) for c in row}
        if cells & set(TEXT_COLUMNS["ons_code"]) and cells & set(TEXT_COLUMNS["fin_year"]):
            return i
    return None


def _mapping(header: list[Any]) -> tuple[dict[str, int], list[str]]:
    """Canonical column -> position, and the parts this sheet holds."""
    lookup: dict[str, str] = {}
    for canon, aliases in {**TEXT_COLUMNS, **INCIDENT_MEASURES, **ACTION_MEASURES}.items():
        for alias in aliases:
            lookup.setdefault(alias, canon)
    found: dict[str, int] = {}
    for pos, cell in enumerate(header):
        canon = lookup.get(normalise_header(cell))
        if canon is not None and canon not in found:
            found[canon] = pos
    parts = [p for p, (total, _) in PARTS.items() if total in found]
    return found, parts


# ---- values ----------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if np.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def parse_number(value: Any) -> tuple[float, str | None]:
    """(number, None) for a figure; (NaN, None) for a missing marker; (NaN, rule) when bad.

    Examples
    --------
    >>> parse_number("18,976"), parse_number(":"), parse_number("[x]")[1], parse_number("lots")[1]
    ((18976.0, None), (nan, None), None, 'E_NUMBER')
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if np.isnan(number):
            return np.nan, None
        return _checked(number)
    text = _cell_text(value)
    if text.lower() in MISSING_MARKERS:
        return np.nan, None
    cleaned = text.replace(",", "").replace("£", "").replace(" ", "")
    try:
        number = float(cleaned)
    except ValueError:
        return np.nan, "E_NUMBER"
    if not np.isfinite(number):
        return np.nan, "E_NUMBER"
    return _checked(number)


def _checked(number: float) -> tuple[float, str | None]:
    if not np.isfinite(number):
        return np.nan, "E_NUMBER"
    if number < 0:
        return np.nan, "E_NEGATIVE"
    if number > MAX_FIGURE:
        return np.nan, "E_RANGE"
    return number, None


def _text_or_none(value: Any) -> str | None:
    text = " ".join(_cell_text(value).split())
    return None if text.lower() in MISSING_MARKERS else text


# ---- the reader --------------------------------------------------------------------------------


def read_returns(data: bytes, name: str) -> ReturnsExtract:
    """Read DEFRA's LA fly-tipping workbook (``.ods``/``.xlsx``) or a CSV of one of its sheets.

    Parameters
    ----------
    data
        The file's bytes (``.ods``, ``.xlsx``, ``.csv``, ``.csv.gz`` or a ``.zip`` of one CSV).
    name
        Its file name (display and format hint).

    Returns
    -------
    ReturnsExtract
        ``frame``: :data:`RETURNS_COLUMNS` plus ``source_line`` (the row's line in its sheet),
        one row per council, year and part; ``rejects``: the loaders' reject columns
        (``source_line``, ``case_id``, ``column``, ``value``, ``rule``, ``message``,
        ``severity``); ``report``: sheets read, rows read/accepted/rejected, columns found and
        missing, years.

    Raises
    ------
    FileRefused
        Empty, unreadable or too large; no sheet with DEFRA's ``ONS Code`` and ``Year``
        columns and a ``Total Incidents`` or ``Total Actions`` column; no data rows.

    Examples
    --------
    >>> csv_text = "Year,ONS Code,LA Name,Region,Total Actions\\n2021-22,E08000012,Liverpool,North West,1\\n"
    >>> read_returns(csv_text.encode(), "actions.csv").frame[["ons_code", "part", "actions"]].values.tolist()
    [['E08000012', 'actions', 1.0]]
    """
    report: dict[str, Any] = {"file": name, "kind": "la-returns"}
    sheets = _sheets(bytes(data), name, report)
    frames: list[pd.DataFrame] = []
    rejects: list[dict[str, Any]] = []
    used: dict[str, dict[str, Any]] = {}
    rows_read = 0
    for sheet, rows in sheets.items():
        at = _header_row(rows)
        if at is None:
            continue
        found, parts = _mapping(rows[at])
        if not parts:
            continue
        body = rows[at + 1 :]
        sheet_rows = 0
        for part in parts:
            _, measures = PARTS[part]
            used[f"{sheet}:{part}"] = {
                "header_line": at + 1,
                "missing_columns": [m for m in measures if m not in found],
            }
        records: list[dict[str, Any]] = []
        for offset, row in enumerate(body):
            if not any(_cell_text(c) for c in row):
                continue  # blank rows and the notes under a table
            line = at + 2 + offset
            sheet_rows += len(parts)  # a sheet with both totals gives two rows a line

            def cell(canon: str, row: list[Any] = row, found: dict[str, int] = found) -> Any:
                pos = found.get(canon)
                return row[pos] if pos is not None and pos < len(row) else None

            raw_code = _cell_text(cell("ons_code"))
            raw_year = _cell_text(cell("fin_year"))
            raw_name = _text_or_none(cell("la_name")) or ""
            ident = f"{raw_code} {raw_year}".strip()
            problem: tuple[str, str, str] | None = None
            code = raw_code.upper()
            if (
                code.startswith("*")
                or raw_name.startswith("*")
                or _TOTAL_CODE_RE.fullmatch(code)
                or (code in ("", "TOTAL", "ENGLAND") and "total" in raw_name.lower())
            ):
                problem = ("E_TOTAL_ROW", "ons_code", raw_code)
            elif not COUNCIL_CODE_RE.fullmatch(code):
                problem = ("E_CODE", "ons_code", raw_code)
            year = financial_year(raw_year)
            if problem is None and year is None:
                problem = ("E_YEAR", "fin_year", raw_year)
            if problem is None:
                for canon in ("la_name", "region", "reporting_basis"):
                    text = _cell_text(cell(canon))
                    if len(text) > MAX_CELL_CHARS:
                        problem = ("E_TOO_LONG", canon, text)
                        break
            values: dict[str, float] = {}
            if problem is None:
                for part in parts:
                    for measure in PARTS[part][1]:
                        if measure not in found:
                            continue
                        number, rule = parse_number(cell(measure))
                        if rule is not None:
                            problem = (rule, measure, _cell_text(cell(measure)))
                            break
                        values[measure] = number
                    if problem is not None:
                        break
            if problem is not None:
                rule, column, value = problem
                rejects.append(
                    {
                        "source_line": line,
                        "case_id": ident,
                        "column": f"{sheet}: {column}",
                        "value": value[:100],
                        "rule": rule,
                        "message": _MESSAGES[rule],
                        "severity": "error",
                    }
                )
                continue
            for part in parts:
                rec: dict[str, Any] = {
                    "ons_code": code,
                    "la_name": raw_name or None,
                    "region": region_name(cell("region")),
                    "fin_year": year,
                    "part": part,
                    "reporting_basis": (
                        _text_or_none(cell("reporting_basis")) if part == "incidents" else None
                    ),
                    "source_line": line,
                    "_sheet": sheet,
                }
                for measure in PARTS[part][1]:
                    rec[measure] = values.get(measure, np.nan)
                records.append(rec)
        rows_read += sheet_rows
        if records:
            frames.append(pd.DataFrame.from_records(records))
    if not used:
        raise FileRefused(
            "F_MISSING_COLUMNS",
            f"{name} is not one of DEFRA's local-authority fly-tipping tables: no sheet has the "
            "columns 'Year', 'ONS Code' and 'Total Incidents' or 'Total Actions' (the LA_incidents "
            "and LA_actions sheets of DEFRA's workbook, or a CSV of one of them).",
        )
    if rows_read == 0:
        raise FileRefused("F_NO_ROWS", f"{name} has DEFRA's header but no data rows.")
    frame = _settle_duplicates(frames, rejects)
    reject_frame = _rejects_frame(rejects)
    report.update(
        sheets=used,
        rows_read=rows_read,
        rows_rejected=int(rows_read - len(frame)),
        rows_accepted=int(len(frame)),
        years=sorted(frame["fin_year"].dropna().unique().tolist()) if len(frame) else [],
        councils=int(frame["ons_code"].nunique()) if len(frame) else 0,
        rules={str(k): int(v) for k, v in reject_frame["rule"].value_counts().items()},
    )
    return ReturnsExtract(frame=frame, rejects=reject_frame, report=report)


def _settle_duplicates(frames: list[pd.DataFrame], rejects: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per key: the last in the file wins, the others are rejected."""
    if not frames:
        empty = pd.DataFrame({c: pd.Series(dtype="object") for c in RETURNS_COLUMNS})
        for m in MEASURES:
            empty[m] = empty[m].astype("float64")
        empty["source_line"] = pd.Series(dtype="int64")
        return empty
    frame = pd.concat(frames, ignore_index=True)
    repeated = frame.duplicated(subset=list(KEY), keep="last")
    for row in frame[repeated].itertuples(index=False):
        rejects.append(
            {
                "source_line": int(row.source_line),
                "case_id": f"{row.ons_code} {row.fin_year}",
                "column": f"{row._asdict().get('_sheet', '')}: ons_code",
                "value": row.ons_code,
                "rule": "E_DUPLICATE_ID",
                "message": _MESSAGES["E_DUPLICATE_ID"],
                "severity": "error",
            }
        )
    frame = frame[~repeated].drop(columns="_sheet").reset_index(drop=True)
    for m in MEASURES:
        if m in frame:
            frame[m] = pd.to_numeric(frame[m], errors="coerce").astype("float64")
        else:
            frame[m] = np.nan
    frame["source_line"] = frame["source_line"].astype("int64")
    return frame[[*RETURNS_COLUMNS, "source_line"]]


def _rejects_frame(rejects: list[dict[str, Any]]) -> pd.DataFrame:
    columns = ("source_line", "case_id", "column", "value", "rule", "message", "severity")
    if not rejects:
        out = pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
        out["source_line"] = out["source_line"].astype("int64")
        return out
    out = pd.DataFrame.from_records(rejects, columns=list(columns))
    return out.sort_values("source_line", kind="stable", ignore_index=True)


# ---- the bundled copy --------------------------------------------------------------------------


def wide(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows per part → one row per council and year (each part's measures from its own row).

    Parameters
    ----------
    frame
        :data:`RETURNS_COLUMNS` rows (``part`` = ``incidents`` / ``actions``).

    Returns
    -------
    pandas.DataFrame
        ``ons_code``, ``la_name``, ``region``, ``fin_year``, ``reporting_basis`` and every
        measure; names and regions from the incidents row where there is one.

    Examples
    --------
    >>> f = pd.DataFrame({"ons_code": ["E1", "E1"], "la_name": ["A", "A"], "region": [None, "X"],
    ...     "fin_year": ["2021-22"] * 2, "part": ["incidents", "actions"],
    ...     "reporting_basis": [None, None], "incidents": [5.0, None], "actions": [None, 2.0]})
    >>> wide(f)[["incidents", "actions", "region"]].values.tolist()
    [[5.0, 2.0, 'X']]
    """
    keys = ["ons_code", "fin_year"]
    out: pd.DataFrame | None = None
    for part, (_, measures) in PARTS.items():
        rows = frame[frame["part"] == part]
        cols = [c for c in ("la_name", "region", "reporting_basis", *measures) if c in rows]
        piece = rows[[*keys, *cols]].rename(
            columns={c: f"{c}__{part}" for c in ("la_name", "region", "reporting_basis")}
        )
        out = piece if out is None else out.merge(piece, on=keys, how="outer")
    assert out is not None
    for col in ("la_name", "region", "reporting_basis"):
        a = out.get(f"{col}__incidents")
        b = out.get(f"{col}__actions")
        if a is None:
            out[col] = b
        elif b is None:
            out[col] = a
        else:
            out[col] = a.where(a.notna(), b)
    for m in MEASURES:
        if m not in out:
            out[m] = np.nan
    columns = ["ons_code", "la_name", "region", "fin_year", "reporting_basis", *MEASURES]
    return out[columns].sort_values(keys, ignore_index=True)


def read_bundled(path: Path | None = None) -> pd.DataFrame:
    """The bundled returns, one row per council and year (see :func:`wide`).

    Parameters
    ----------
    path
        Another copy in the same layout (default :data:`BUNDLED_RETURNS`).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> read_bundled().query("ons_code == 'E08000012' and fin_year == '2021-22'")["incidents"].item()
    18976.0
    """
    frame = pd.read_csv(
        path or BUNDLED_RETURNS,
        dtype={c: "str" for c in ("ons_code", "la_name", "region", "fin_year", "reporting_basis")},
        keep_default_na=False,
        na_values=[""],
    )
    for m in MEASURES:
        frame[m] = pd.to_numeric(frame[m], errors="coerce").astype("float64")
    for c in ("la_name", "region", "reporting_basis"):
        frame[c] = frame[c].astype("object").where(frame[c].notna(), None)
    return frame
