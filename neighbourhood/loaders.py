"""Read one extract (bytes + file name + kind) into a canonical frame and a rejects report.

This module implements the "Loader contract" in ``docs/architecture.md``; the decisions it takes
(aliases, date rules, duplicates, rule codes) are written down in ``docs/loaders.md``.

The pipeline for one file is:

1. **Container**: gzip / zip / xlsx are recognised by their magic bytes and unpacked with a cap on
   the decompressed size (``ReadOptions.max_bytes``); anything else that is not text is refused.
2. **Text**: the encoding is detected (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252,
   then charset-normalizer) and the delimiter sniffed from the header line.
3. **Header**: raw headers are matched to canonical names through :data:`COLUMN_ALIASES`
   (case, space and punctuation insensitive). Personal columns are dropped, others ignored; both
   are reported. Missing required columns and duplicate headers refuse the file.
4. **Values**: every column is read as text by the pandas C engine and coerced here, column by
   column and vectorised, into the canonical types. Each failure becomes a row of the rejects
   report with a stable rule code from :data:`RULES`. Rows with an ``error`` are removed from the
   frame; ``warning`` rows are kept.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from neighbourhood import headers
from neighbourhood import schemas as S
from neighbourhood.schemas import REJECT_COLUMNS

__all__ = [
    "COLUMN_ALIASES",
    "FILE_RULES",
    "RULES",
    "UK_BOUNDS",
    "Extract",
    "FileRefused",
    "ReadOptions",
    "load_category_map",
    "load_value_map",
    "drop_warnings_of_rejected_rows",
    "normalise_label",
    "options_key",
    "read_extract",
]

DATA_DIR: Final[Path] = Path(__file__).resolve().parents[1] / "data"
CATEGORY_MAP_PATH: Final[Path] = DATA_DIR / "category_map.csv"
VALUE_MAP_PATH: Final[Path] = DATA_DIR / "value_map.csv"

LOADER_KINDS: Final[tuple[str, ...]] = ("cleansing", "enforcement", "spend", "population")

DEFAULT_MAX_BYTES: Final[int] = 2 * 1024**3
"""Largest decompressed size accepted (2 GiB); protects against gzip/zip bombs."""

UK_BOUNDS: Final[tuple[float, float, float, float]] = (49.8, 60.95, -8.7, 1.9)
"""(lat_min, lat_max, lon_min, lon_max) of the United Kingdom, islands included."""

BNG_BOUNDS: Final[tuple[float, float, float, float]] = (0.0, 700_000.0, 0.0, 1_300_000.0)
"""(easting_min, easting_max, northing_min, northing_max) of the British National Grid."""

MAX_CELL_CHARS: Final[int] = 1_000
"""Longest value accepted in any column read (labels, ids, streets); longer rows are rejected."""

EARLIEST: Final[pd.Timestamp] = pd.Timestamp("2000-01-01", tz=S.TIMEZONE)

# ---------------------------------------------------------------------------------------------
# Rule codes: stable, published, with plain-English messages (docs/loaders.md lists them too).
# ---------------------------------------------------------------------------------------------

FILE_RULES: Final[dict[str, str]] = {
    "F_EMPTY": "The file is empty.",
    "F_NO_ROWS": "The file has a header but no data rows.",
    "F_BINARY": "The file is not text (it looks like a binary file).",
    "F_ENCODING": "The file's text encoding could not be recognised.",
    "F_FORMAT": "The file format is not supported (use CSV, CSV in .gz or .zip, or .xlsx).",
    "F_TOO_LARGE": "The file is larger than the limit once decompressed.",
    "F_MALFORMED": "The file could not be parsed as a table.",
    "F_DUPLICATE_HEADER": "The header has the same column name more than once.",
    "F_MISSING_COLUMNS": "A required column is missing.",
    "F_AMBIGUOUS_COLUMNS": "Columns could not be told apart; say which is which.",
    "F_NOT_HEAD_COUNT": "The population column holds percentages or rates, not head counts.",
    "F_DATE_MONTHFIRST": "Dates look month-first (US style); say so to read them.",
    "F_OPTIONS": "The read options are not valid for this file.",
}
"""Whole-file refusal codes (``FileRefused.code``)."""

RULES: Final[dict[str, str]] = {
    # errors: the row is rejected
    "E_REQUIRED": "A required value is empty.",
    "E_TOTAL_ROW": "This looks like a total or summary row, not a record.",
    "E_DATE_FORMAT": "Not a date in the format used by the rest of the column.",
    "E_DATE_ORDER": "The end date is before the start date.",
    "E_DATE_FUTURE": "The date is in the future.",
    "E_DATE_TOO_OLD": "The date is before 1 January 2000.",
    "E_NUMBER": "Not a number.",
    "E_NEGATIVE": "The amount is negative.",
    "E_NOT_INTEGER": "Not a whole number.",
    "E_COORD_INVALID": "Coordinates are not finite numbers, or only one of the pair is given.",
    "E_COORD_RANGE": "Coordinates are outside the United Kingdom.",
    "E_UNKNOWN_VALUE": "The value is not one the loader recognises for this column.",
    "E_TOO_LONG": "The value is longer than 1,000 characters (free text or a damaged file).",
    "E_DUPLICATE_ID": "Another row has the same id; the newest (by updated_at, else the last) was kept.",
    # warnings: the row is kept
    "W_DATE_FORMAT": "Not a date in the format of the rest of the column; left empty, case kept.",
    "W_DATE_ORDER": "The end date is days before the start date; left empty, case kept.",
    "W_DATE_FUTURE": "The date is in the future; left empty, case kept.",
    "W_DATE_TOO_OLD": "The date is before 1 January 2000 (a placeholder?); left empty, case kept.",
    "W_NUMBER": "Not an amount in pounds; left empty, case kept.",
    "W_NEGATIVE": "The amount is negative; left empty, case kept.",
    "W_UNMAPPED_CATEGORY": "Category label not in data/category_map.csv; stored as 'other'.",
    "W_UNMAPPED_OFFENCE": "Offence label not recognised; stored as 'other'.",
    "W_UNMAPPED_SERVICE": "Service label not recognised; stored as 'other'.",
    "W_UNKNOWN_STATUS": "Status label not recognised; status inferred from the closed date.",
    "W_UNKNOWN_OUTCOME": "Outcome label not recognised; outcome left empty.",
    "W_CLOSED_NO_DATE": "Status is closed but there is no closed date.",
    "W_DST_AMBIGUOUS": "Time falls in the repeated autumn hour; the earlier (BST) instant was used.",
    "W_DST_NONEXISTENT": "Time does not exist (spring clocks-forward hour); shifted forward.",
    "W_COORD_SWAPPED": "Latitude and longitude were swapped; they have been put back.",
}
"""Row-level rule codes (``Extract.rejects['rule']``). ``E_`` rejects the row, ``W_`` keeps it."""

# ---------------------------------------------------------------------------------------------
# Header aliases (data, not code). Keys are canonical names; values are raw headers, matched
# after normalise_label() (lower case, punctuation and spacing ignored). Earlier aliases win when
# two raw columns map to the same canonical name.
# ---------------------------------------------------------------------------------------------

_COMMON_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "latitude": ("latitude", "lat", "wgs84 latitude", "latitude wgs84", "location latitude"),
    "longitude": (
        "longitude",
        "lon",
        "lng",
        "long",
        "wgs84 longitude",
        "longitude wgs84",
        "location longitude",
    ),
    "easting": ("easting", "eastings", "os easting", "grid easting", "bng easting", "x bng"),
    "northing": ("northing", "northings", "os northing", "grid northing", "bng northing", "y bng"),
    "ward_code": (
        "ward code",
        "wardcode",
        "ward id",
        "ons ward code",
        "ward ons code",
        "ward gss code",
        "electoral ward code",
        "electoral wards and divisions code",
        "wd24cd",
        "wd23cd",
        "wd22cd",
        "wd21cd",
        "wd20cd",
        "wd19cd",
    ),
    "ward_name": (
        "ward name",
        "wardname",
        "ward",
        "electoral ward",
        "electoral wards and divisions",
        "wd24nm",
        "wd23nm",
        "wd22nm",
        "wd21nm",
        "wd20nm",
        "wd19nm",
    ),
    "updated_at": (
        "updated at",
        "updated",
        "last updated",
        "last update",
        "date updated",
        "updated date",
        "updated datetime",
        "last modified",
        "date modified",
        "modified",
        "resolution action updated date",
    ),
}

COLUMN_ALIASES: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "cleansing": {
        "case_id": (
            "case id",
            "case ref",
            "case reference",
            "case number",
            "case no",
            "service request id",
            "service request number",
            "service request ref",
            "request id",
            "request number",
            "sr number",
            "sr id",
            "unique key",
            "report id",
            "problem id",
            "incident id",
            "incident number",
            "enquiry id",
            "enquiry number",
            "job id",
            "job number",
            "job ref",
            "reference number",
            "reference",
            "ref",
            "id",
        ),
        "category": (
            "category",
            "request type",
            "complaint type",
            "service request type",
            "problem type",
            "issue type",
            "incident type",
            "enquiry type",
            "report type",
            "service type",
            "service name",
            "subcategory",
            "sub category",
            "type",
        ),
        "reported_at": (
            "reported at",
            "date received",
            "received date",
            "received",
            "date reported",
            "reported date",
            "reported",
            "created date",
            "created at",
            "date created",
            "created",
            "date logged",
            "logged date",
            "requested datetime",
            "open date",
            "date opened",
            "opened",
            "report date",
            "incident date",
            "date",
        ),
        "closed_at": (
            "closed at",
            "closed date",
            "date closed",
            "closed",
            "closure date",
            "completed date",
            "date completed",
            "completion date",
            "resolved date",
            "date resolved",
            "fixed date",
            "date fixed",
            "fixed",
            "cleared date",
            "date cleared",
        ),
        "status": ("status", "case status", "request status", "current status", "state"),
        "street": ("street", "street name", "road name", "road"),
        "size": ("size", "size band", "waste size", "load size", "fly tipping size", "quantity"),
        "cost_gbp": (
            "cost gbp",
            "cost",
            "clearance cost",
            "removal cost",
            "cost of clearance",
            "cost of removal",
        ),
        "channel": (
            "channel",
            "source",
            "reported via",
            "report channel",
            "open data channel type",
            "contact method",
            "method",
            "device type",
        ),
        **_COMMON_ALIASES,
    },
    "enforcement": {
        "case_id": (
            "case id",
            "enforcement id",
            "action id",
            "case ref",
            "case reference",
            "case number",
            "fpn number",
            "fpn reference",
            "notice number",
            "notice reference",
            "reference number",
            "reference",
            "ref",
            "id",
        ),
        "offence": (
            "offence",
            "offense",
            "offence type",
            "offence category",
            "type of offence",
            "offence description",
        ),
        "action": (
            "action",
            "action type",
            "enforcement action",
            "action taken",
            "notice type",
            "sanction",
        ),
        "issued_at": (
            "issued at",
            "date issued",
            "issue date",
            "issued",
            "action date",
            "date of action",
            "served date",
            "date served",
            "offence date",
            "date",
        ),
        "outcome": (
            "outcome",
            "result",
            "case outcome",
            "court outcome",
            "payment status",
            "status",
        ),
        "outcome_at": (
            "outcome at",
            "outcome date",
            "date of outcome",
            "result date",
            "paid date",
            "payment date",
            "date paid",
            "hearing date",
            "court date",
        ),
        "amount_gbp": (
            "amount gbp",
            "amount",
            "fine",
            "fine amount",
            "penalty",
            "penalty amount",
            "fpn amount",
            "fee",
            "value",
        ),
        "linked_case_id": (
            "linked case id",
            "linked case",
            "related case",
            "related case id",
            "cleansing case id",
            "service request id",
            "original case",
            "parent case",
        ),
        **_COMMON_ALIASES,
    },
    "spend": {
        "ward_code": (
            "ward code",
            "wardcode",
            "ward id",
            "ons ward code",
            "wd23cd",
            "ward",
            "area code",
            "area",
        ),
        "period_start": (
            "period start",
            "start date",
            "date from",
            "period from",
            "from",
            "start",
            "month",
            "period",
            "date",
        ),
        "period_end": ("period end", "end date", "date to", "period to", "to", "end"),
        "programme": (
            "programme",
            "program",
            "scheme",
            "project",
            "initiative",
            "funding stream",
            "budget line",
            "budget",
        ),
        "service": ("service", "service area", "function", "category", "type"),
        "amount_gbp": (
            "amount gbp",
            "amount",
            "spend gbp",
            "spend",
            "expenditure",
            "net amount",
            "actual",
            "actuals",
            "cost",
            "value",
            "gbp",
        ),
    },
    "population": {
        "ward_code": (
            "ward code",
            "wardcode",
            "ward id",
            "ons ward code",
            "electoral wards and divisions code",
            "wd24cd",
            "wd23cd",
            "wd22cd",
            "wd21cd",
            "wd20cd",
            "wd19cd",
            "geography code",
            "area code",
            "gss code",
            "code",
        ),
        "ward_name": (
            "ward name",
            "wardname",
            "ward",
            "electoral wards and divisions",
            "wd24nm",
            "wd23nm",
            "wd22nm",
            "wd21nm",
            "wd20nm",
            "wd19nm",
            "area name",
            "geography",
            "name",
        ),
        "population": (
            "population",
            "total population",
            "usual residents",
            "all usual residents",
            "usual resident population",
            "all ages",
            "residents",
            "persons",
            "pop",
        ),
        "year": ("year", "mid year", "census year"),
    },
}
"""Header aliases per kind: ``{kind: {canonical: (alias, ...)}}``, matched after normalisation.

Deliberately absent: bare ``x``/``y`` (taken only when no other coordinate columns exist, see
``_XY_ALIASES``), ``Observation`` (ONS census outputs use it for densities as well as counts) and
any column that is in a foreign grid (``X Coordinate (State Plane)``)."""

_XY_ALIASES: Final[dict[str, str]] = {"x": "x", "y": "y", "x coordinate": "x", "y coordinate": "y"}

# Personal data: unmatched columns whose normalised name has one of these words are dropped as
# personal (never stored) and reported in report["dropped_personal_columns"].
_PERSONAL_WORDS: Final[frozenset[str]] = frozenset(
    {
        "email",
        "e mail",
        "phone",
        "telephone",
        "tel",
        "mobile",
        "surname",
        "forename",
        "firstname",
        "lastname",
        "dob",
        "birth",
        "address",
        "postcode",
        "reporter",
        "complainant",
        "offender",
        "customer",
        "contact",
        "resident",
        "owner",
        "driver",
        "notes",
        "note",
        "comment",
        "comments",
        "description",
        "details",
        "detail",
        "text",
        "title",
        "registration",
        "vrm",
        "nino",
        "witness",
        "person",
        "photo",
    }
)
_PERSONAL_NAME_PREFIXES: Final[frozenset[str]] = frozenset(
    {"first", "last", "full", "user", "given", "family", "officer", "staff", "middle", "maiden"}
)

# ---------------------------------------------------------------------------------------------
# Date formats. Families are never mixed inside one column; month-first is only ever used when
# the analyst says so (ReadOptions(date_format="monthfirst")).
# ---------------------------------------------------------------------------------------------

_ISO_FORMATS: Final[tuple[str, ...]] = (
    "ISO8601",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)
_DAYFIRST_FORMATS: Final[tuple[str, ...]] = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
    "%d/%m/%Y %I:%M:%S %p",
    "%d/%m/%Y %I:%M %p",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
    "%d/%m/%y %H:%M",
    "%d/%m/%y %H:%M:%S",
    "%d/%m/%y",
    "%d-%m-%y %H:%M",
    "%d-%m-%y",
    "%d.%m.%y",
    "%d %b %Y %H:%M",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y",
    "%d %B %Y %H:%M",
    "%d %B %Y",
    "%d %b %y",
    "%d-%b-%Y %H:%M",
    "%d-%b-%Y %H:%M:%S",
    "%d-%b-%Y",
    "%d-%b-%y %H:%M",
    "%d-%b-%y",
    "%d/%b/%Y",
    "%d/%b/%y",
)
_MONTHFIRST_FORMATS: Final[tuple[str, ...]] = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%m-%d-%Y %H:%M:%S",
    "%m-%d-%Y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y %I:%M %p",
    "%m/%d/%y",
)
_MONTH_ONLY_FORMATS: Final[tuple[str, ...]] = ("%Y-%m", "%b %Y", "%B %Y", "%b-%y", "%b-%Y", "%m/%Y")
_DATE_SAMPLE: Final[int] = 2000
EXCEL_SERIAL: Final[str] = "excel-serial"
"""``report["date_formats"]`` value for a column of Excel serial day numbers."""
_EXCEL_EPOCH: Final[pd.Timestamp] = pd.Timestamp("1899-12-30")
#: Serial numbers read as dates: 1 January 2000 to 31 December 2099 (fractions are the time).
_EXCEL_RANGE: Final[tuple[float, float]] = (36526.0, 73051.0)
_OFFSET_RE: Final[str] = r"(?:Z|[+-]\d\d:?\d\d)$"

_NULL_TOKENS: Final[frozenset[str]] = frozenset(
    {"null", "none", "n/a", "na", "#n/a", "-", "--", "nil", "not known", "unknown"}
)
_TOTAL_RE: Final[str] = r"^\s*(?:grand\s+|sub\s*-?\s*)?totals?\b"
_WARD_CODE_RE: Final[str] = r"^(?:E05|W05|S13|N08)\d{6}$"
_AREA_CODE_RE: Final[str] = "^" + S.AREA_CODE_RE + "$"
_CONTROL_RE: Final[str] = r"[\x00-\x1f\x7f]"


# ---------------------------------------------------------------------------------------------
# Public types
# ---------------------------------------------------------------------------------------------


class FileRefused(ValueError):  # noqa: N818 (name fixed by the architecture contract)
    """The whole file is refused; nothing from it may be stored.

    Parameters
    ----------
    code : str
        A stable code from :data:`FILE_RULES` (``F_…``).
    message : str
        A plain-English explanation for council staff.

    Examples
    --------
    >>> try:
    ...     read_extract(b"", "empty.csv", "cleansing")
    ... except FileRefused as exc:
    ...     exc.code
    'F_EMPTY'
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ReadOptions:
    """What the analyst can override when the detection is wrong.

    Parameters
    ----------
    encoding : str, optional
        Text encoding, e.g. ``"cp1252"``. Detected when ``None``.
    delimiter : str, optional
        Field separator. Sniffed from the header line when ``None``.
    date_format : str, optional
        ``"dayfirst"`` (the default behaviour), ``"monthfirst"``, ``"iso"`` or an explicit
        strftime format such as ``"%d/%m/%Y %H:%M"``.
    column_map : mapping, optional
        Raw header → field, by its plain name ("case reference") or internal name
        (``case_id``), or ``""``/"ignore" to leave the column out; applied before the aliases.
        A header it names must be in the file.
    saved_map : mapping, optional
        The same, from a saved mapping profile: headers the file lacks are passed over, and
        ``column_map`` wins where both name a header.
    sheet : str or int, optional
        Worksheet of an ``.xlsx`` file. By default the first sheet whose headers are recognised.
    max_bytes : int
        Largest decompressed size accepted (gzip/zip bomb guard).
    bounds : tuple of float, optional
        ``(lat_min, lat_max, lon_min, lon_max)`` accepted for coordinates; ``None`` turns the
        range check off (for test data from outside the UK).
    now : pandas.Timestamp, optional
        The reference time for the "date in the future" rule (default: the current time).

    Examples
    --------
    >>> ReadOptions(date_format="monthfirst").date_format
    'monthfirst'
    """

    encoding: str | None = None
    delimiter: str | None = None
    date_format: str | None = None
    column_map: Mapping[str, str] | None = None
    saved_map: Mapping[str, str] | None = None
    sheet: str | int | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    bounds: tuple[float, float, float, float] | None = UK_BOUNDS
    now: pd.Timestamp | None = None


def options_key(options: ReadOptions | None) -> str:
    """The read options that change how a file's bytes are read, as one canonical text.

    Empty for the defaults. The store's duplicate-file check compares it with the file's digest,
    so the same file loaded again with a corrected encoding, date format, delimiter, column map
    or sheet is read again instead of being taken for the earlier load (``now`` and
    ``max_bytes`` decide nothing about how a row reads and are left out).

    Examples
    --------
    >>> options_key(None) == options_key(ReadOptions(date_format="DayFirst")) == ""
    True
    >>> options_key(ReadOptions(date_format="monthfirst"))
    '{"date_format": "monthfirst"}'
    """
    opts = options or ReadOptions()
    fmt = opts.date_format
    if fmt is not None and fmt.lower() in ("dayfirst", "monthfirst", "iso", "excel"):
        fmt = fmt.lower()
    chosen: dict[str, Any] = {
        "encoding": opts.encoding,
        "delimiter": opts.delimiter,
        "date_format": None if fmt == "dayfirst" else fmt,
        "column_map": sorted(opts.column_map.items()) if opts.column_map else None,
        "saved_map": sorted(opts.saved_map.items()) if opts.saved_map else None,
        "sheet": opts.sheet,
        "bounds": None if opts.bounds == UK_BOUNDS else (opts.bounds or "off"),
    }
    given = {k: v for k, v in chosen.items() if v is not None}
    return json.dumps(given, sort_keys=True) if given else ""


@dataclass
class Extract:
    """One file read into canonical form.

    Attributes
    ----------
    kind : str
        ``cleansing``, ``enforcement``, ``spend`` or ``population``.
    frame : pandas.DataFrame
        Accepted rows: the canonical columns of the kind (``schemas.*_COLUMNS``) plus
        ``source_line``. Timestamps are tz-aware Europe/London.
    rejects : pandas.DataFrame
        One row per (source row, column, rule): ``source_line``, ``case_id``, ``column``,
        ``value``, ``rule``, ``message``, ``severity``.
    report : dict
        What was detected (see ``docs/architecture.md``, "Loader contract").
    """

    kind: str
    frame: pd.DataFrame
    rejects: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_rejected(self) -> int:
        """Number of source rows with at least one error."""
        errors = self.rejects[self.rejects["severity"] == "error"]
        return int(errors["source_line"].nunique())


# ---------------------------------------------------------------------------------------------
# Mapping tables
# ---------------------------------------------------------------------------------------------


def normalise_label(label: object) -> str:
    """Normalise a header or category label for matching.

    Lower case, ``&`` read as "and", every run of non-alphanumeric characters as one space.

    Parameters
    ----------
    label : object
        The raw label (``None``/NaN give ``""``).

    Returns
    -------
    str
        The normalised label.

    Examples
    --------
    >>> normalise_label("  Fly-Tipping ")
    'fly tipping'
    >>> normalise_label("\\ufeffWard_Code")
    'ward code'
    """
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return ""
    text = str(label).replace("\ufeff", "").replace("&", " and ").lower()
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


def maps_digest() -> str:
    """SHA-256 of the two label tables as they are now (16 hex digits); recorded in each
    case file's report (``maps_digest``) so that an edit of a table can be noticed.

    Examples
    --------
    >>> len(maps_digest())
    16
    """
    import hashlib

    h = hashlib.sha256()
    for path in (CATEGORY_MAP_PATH, VALUE_MAP_PATH):
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _read_map_csv(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    first = table.columns[0]
    return table[~table[first].str.startswith("#")]


@functools.lru_cache(maxsize=8)
def _category_lookup(path: str) -> dict[str, str]:
    return dict(load_category_map(Path(path)))


def load_category_map(path: Path | None = None) -> dict[str, str]:
    """Read the user-extendable category table (``data/category_map.csv``).

    Parameters
    ----------
    path : Path, optional
        Another ``label,category`` CSV. Lines whose label starts with ``#`` are comments.

    Returns
    -------
    dict
        Normalised label → canonical category.

    Examples
    --------
    >>> load_category_map()["fly tipping"]
    'fly_tipping'
    """
    table = _read_map_csv(path or CATEGORY_MAP_PATH)
    bad = sorted(set(table["category"]) - set(S.CATEGORIES))
    if bad:
        raise ValueError(f"category_map.csv names unknown categories: {bad}")
    lookup = {normalise_label(c): c for c in S.CATEGORIES}
    lookup.update(zip(table["label"].map(normalise_label), table["category"], strict=True))
    return lookup


@functools.lru_cache(maxsize=8)
def load_value_map(path: str | None = None) -> dict[str, dict[str, str]]:
    """Read the label tables for status, action, outcome, offence, service and citywide.

    Parameters
    ----------
    path : str, optional
        Another ``field,label,value`` CSV (default ``data/value_map.csv``).

    Returns
    -------
    dict
        ``{field: {normalised label: canonical value}}``; canonical values always map to
        themselves.

    Examples
    --------
    >>> load_value_map()["action"]["fpn"]
    'fixed_penalty_notice'
    """
    table = _read_map_csv(Path(path) if path else VALUE_MAP_PATH)
    allowed = {
        "status": S.STATUSES,
        "action": S.ACTIONS,
        "outcome": S.OUTCOMES,
        "offence": S.OFFENCES,
        "service": S.SERVICES,
        "citywide": (S.CITYWIDE,),
    }
    out: dict[str, dict[str, str]] = {
        name: {normalise_label(v): v for v in values} for name, values in allowed.items()
    }
    for fld, label, value in table[["field", "label", "value"]].itertuples(index=False):
        if fld not in allowed or value not in allowed[fld]:
            raise ValueError(f"value_map.csv: {fld},{label},{value} is not a known field/value")
        out[fld][normalise_label(label)] = value
    return out


_STATUTE_RE: Final[re.Pattern[str]] = re.compile(
    r"\b(?:s|sec|sect|section)\s*\.?\s*(\d{1,3}[a-z]{0,2})\b", re.IGNORECASE
)
_ACT_RE: Final[re.Pattern[str]] = re.compile(
    r"\b(?:e\.?p\.?a\.?|environmental\s+protection\s+act|asbcpa|asb\s+act|"
    r"anti[-\s]?social\s+behaviour[\w\s,]*?act|cnea|clean\s+neighbourhoods[\w\s]*?act|"
    r"act|of\s+the|(?:19|20)\d\d)\b",
    re.IGNORECASE,
)


def _collapse_initials(label: str) -> str:
    """ "F.P.N." and "F P N" read as "FPN" (initials with dots or spaces between them).

    Examples
    --------
    >>> _collapse_initials("F.P.N. issued"), _collapse_initials("N.F.A")
    ('FPN issued', 'NFA')
    """
    return re.sub(
        r"\b(?:[A-Za-z][.\s]\s*){1,}[A-Za-z]\b\.?",
        lambda m: re.sub(r"[.\s]", "", m.group()) if "." in m.group() else m.group(),
        label,
    )


def label_variants(label: str, *, prefixes: bool = False) -> list[str]:
    """The forms of a council label tried, in order, when it is not in a map as written.

    The label itself; with initials closed up ("F.P.N." → "FPN"); with statute references
    read as "Section NN" and act names dropped ("EPA s.34" → "Section 34"); without bracketed
    parts ("Paid (reduced)"); each part around a dash or colon ("Unpaid - referred to court"),
    and the part before " on "/" in "/" at "; then, with ``prefixes``, its leading words, longest
    first ("Warning letter sent" → "Warning letter"). A bracketed statute alone is tried last
    ("Offence (s33)" → "Section 33").

    Examples
    --------
    >>> label_variants("Fly-tipping (s33 EPA)")[:3]
    ['Fly-tipping (s33 EPA)', 'Fly-tipping (Section 33 )', 'Fly-tipping']
    >>> "Unpaid" in label_variants("Unpaid - referred to court")
    True
    """
    out: list[str] = []

    def add(text: str) -> None:
        text = re.sub(r"\s+", " ", text).strip(" -:;,.")
        if text and text not in out:
            out.append(text)

    add(label)
    closed = _collapse_initials(label)
    add(closed)
    statute = _ACT_RE.sub(" ", _STATUTE_RE.sub(lambda m: f"Section {m.group(1)}", closed))
    add(statute)
    for text in (closed, statute):
        bare = re.sub(r"[\(\[][^\)\]]*[\)\]]", " ", text)
        add(bare)
        parts = re.split(r"\s+[-\u2013\u2014]\s+|:|\s+/\s+", bare)
        for part in parts:
            add(part)
            add(re.split(r"\s+(?:on|in|at|for|by|to)\s+", part)[0])
    if prefixes:
        words = normalise_label(statute).split()
        for n in range(len(words) - 1, 0, -1):
            add(" ".join(words[:n]))
    for found in _STATUTE_RE.finditer(closed):
        add(f"Section {found.group(1)}")
    return out


def _map_labels(
    raw: pd.Series,
    lookup: Mapping[str, str],
    fallback_raw: bool = True,
    prefixes: bool = False,
) -> tuple[pd.Series, pd.Series]:
    """Map raw labels through a lookup, working on the distinct labels only.

    Returns (mapped values with NA where unmapped, mask of non-empty unmapped labels).
    Unmatched labels are retried in the forms of :func:`label_variants` (brackets, dashes,
    statute references, initials; leading words with ``prefixes``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = _pa(raw).dictionary_encode()
    table: list[str | None] = []
    for label in encoded.dictionary.to_pylist():
        hit = lookup.get(normalise_label(label))
        if hit is None and fallback_raw:
            for variant in label_variants(label, prefixes=prefixes)[1:]:
                hit = lookup.get(normalise_label(variant))
                if hit is not None:
                    break
        table.append(hit)
    mapped = pc.take(pa.array(table, type=pa.large_string()), encoded.indices)
    out = _from_pa(mapped, raw.index)
    unmapped = raw.notna() & out.isna()
    return out, unmapped


def _pa(values: pd.Series) -> Any:
    """A text column as a pyarrow string array (zero-copy for pandas' arrow-backed str)."""
    import pyarrow as pa

    arr = pa.array(values, from_pandas=True)
    if not pa.types.is_large_string(arr.type) and not pa.types.is_string(arr.type):
        arr = arr.cast(pa.large_string())
    return arr


def _from_pa(arr: Any, index: pd.Index) -> pd.Series:
    import pyarrow as pa

    if hasattr(arr, "combine_chunks"):
        arr = arr.combine_chunks()
    if pa.types.is_string(arr.type):
        arr = arr.cast(pa.large_string())
    return pd.Series(pd.array(arr, dtype="str"), index=index)


def _regex_mask(values: pd.Series, pattern: str) -> np.ndarray:
    """Vectorised case-insensitive regex search (RE2 via pyarrow); False for missing values."""
    import pyarrow.compute as pc

    hit = pc.match_substring_regex(_pa(values), pattern, ignore_case=True)
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False).astype(bool)


# ---------------------------------------------------------------------------------------------
# Container and text decoding
# ---------------------------------------------------------------------------------------------


def _gunzip(data: bytes, limit: int) -> bytes:
    out = io.BytesIO()
    remaining = data
    total = 0
    while remaining:
        dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
        buf = remaining
        while buf:
            try:
                chunk = dec.decompress(buf, 16 * 1024 * 1024)
            except zlib.error as exc:
                raise FileRefused("F_MALFORMED", f"The .gz file is corrupt ({exc}).") from None
            total += len(chunk)
            if total > limit:
                raise FileRefused(
                    "F_TOO_LARGE",
                    f"The compressed file expands to more than {limit:,} bytes; "
                    "split the extract or raise the limit.",
                )
            out.write(chunk)
            buf = dec.unconsumed_tail
        if not dec.eof:
            raise FileRefused("F_MALFORMED", "The .gz file is truncated or corrupt.")
        remaining = dec.unused_data
        if remaining and not remaining.startswith(b"\x1f\x8b"):
            break
    return out.getvalue()


def _unzip_one(data: bytes, name: str, limit: int) -> tuple[bytes, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FileRefused("F_MALFORMED", f"The .zip file is corrupt ({exc}).") from None
    members = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__")]
    if len(members) != 1:
        raise FileRefused(
            "F_FORMAT", f"The .zip file must hold exactly one data file (it holds {len(members)})."
        )
    info = members[0]
    if info.file_size > limit:
        raise FileRefused("F_TOO_LARGE", f"{info.filename} expands to more than {limit:,} bytes.")
    try:
        with archive.open(info) as handle:
            content = handle.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        # A damaged member, or headers that lie about its size (a crafted zip bomb).
        raise FileRefused(
            "F_MALFORMED", f"The .zip file is corrupt: {info.filename} cannot be read ({exc})."
        ) from None
    except (NotImplementedError, RuntimeError) as exc:  # unsupported method, encrypted
        raise FileRefused(
            "F_FORMAT", f"{info.filename} in the .zip file cannot be opened ({exc})."
        ) from None
    if len(content) > limit:
        raise FileRefused("F_TOO_LARGE", f"{info.filename} expands to more than {limit:,} bytes.")
    return content, info.filename


def _is_xlsx(data: bytes) -> bool:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        return False
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


_BOUNDARY_SUFFIXES: Final[frozenset[str]] = frozenset({"json", "geojson", "shp", "gpkg"})
REFUSED_SUFFIXES: Final[frozenset[str]] = frozenset(
    {"json", "geojson", "parquet", "pdf", "xls", "shp", "gpkg", "docx"}
)
"""File name endings refused as ``F_FORMAT`` whatever the bytes look like."""


def _unwrap(data: bytes, name: str, limit: int, report: dict[str, Any]) -> tuple[bytes, str]:
    """Return (payload, format) where format is "csv" or "xlsx"; unpack gzip/zip layers."""
    layers: list[str] = []
    for _ in range(3):
        if not data:
            break
        if data[:2] == b"\x1f\x8b":
            layers.append("gzip")
            data = _gunzip(data, limit)
            name = name[:-3] if name.lower().endswith(".gz") else name
            continue
        if data[:4] == b"PK\x03\x04":
            if _is_xlsx(data):
                total = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
                if total > limit:
                    raise FileRefused(
                        "F_TOO_LARGE", f"The workbook expands to more than {limit:,} bytes."
                    )
                report["format"] = "+".join([*layers, "xlsx"])
                return data, "xlsx"
            layers.append("zip")
            data, name = _unzip_one(data, name, limit)
            continue
        break
    if len(data) > limit:
        raise FileRefused("F_TOO_LARGE", f"The file is larger than {limit:,} bytes.")
    magic = data[:8]
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRefused(
            "F_FORMAT", "Old Excel .xls files are not supported: save as .xlsx or CSV."
        )
    for sig, label in ((b"%PDF", "PDF"), (b"PAR1", "Parquet"), (b"SQLite format", "SQLite")):
        if data.startswith(sig):
            raise FileRefused("F_FORMAT", f"This is a {label} file; upload CSV or .xlsx.")
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix in REFUSED_SUFFIXES:
        hint = (
            " If it holds ward boundaries, load it as ward boundaries (command line: --kind "
            "wards; Load data page: Ward boundaries)."
            if suffix in _BOUNDARY_SUFFIXES
            else ""
        )
        raise FileRefused(
            "F_FORMAT", f"'.{suffix}' files are not read here; upload CSV or .xlsx.{hint}"
        )
    report["format"] = "+".join([*layers, "csv"])
    return data, "csv"


def _valid_utf8(data: bytes) -> bool:
    """Strict UTF-8 check without building a Python str (pyarrow's SIMD validator)."""
    import pyarrow as pa

    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    # A one-value binary array over the caller's bytes (no copy of the file), cast to validate.
    arr = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        arr.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _decode(data: bytes, opts: ReadOptions) -> tuple[str, bytes]:
    """Return (encoding detected, the text as UTF-8 bytes without a BOM).

    Never returns bytes in another encoding, so no reader can hand back binary columns or
    mojibake; the order is UTF-8 with BOM, UTF-16 with BOM, strict UTF-8, Windows-1252, then
    charset-normalizer.
    """
    if opts.encoding:
        try:
            text = data.decode(opts.encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise FileRefused(
                "F_ENCODING", f"The file is not valid {opts.encoding} ({exc})."
            ) from None
        return opts.encoding, text.lstrip("\ufeff").encode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return "utf-16", data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise FileRefused("F_ENCODING", "The file starts like UTF-16 but is not.") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise FileRefused(
            "F_BINARY",
            f"The file contains a NUL byte on line {line:,}: it is "
            "binary (or damaged), not a CSV extract.",
        )
    if data.startswith(b"\xef\xbb\xbf") and _valid_utf8(data[3:]):
        return "utf-8-sig", data[3:]
    if _valid_utf8(data):
        return "utf-8", data
    high = _high_bytes(data)
    _refuse_mixed_encodings(data, high)
    try:
        return "cp1252", _cp1252_to_utf8(data, high)
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 4 * 1024 * 1024]).best()
    if best is None:
        raise FileRefused(
            "F_ENCODING",
            "The text encoding could not be recognised; save the file as 'CSV UTF-8'.",
        )
    try:
        return best.encoding, data.decode(best.encoding).encode("utf-8")
    except UnicodeDecodeError:
        raise FileRefused(
            "F_ENCODING", f"The file looks like {best.encoding} but does not decode as it."
        ) from None


# A complete multi-byte UTF-8 character (never produced by Windows-1252 text in practice).
_UTF8_MULTIBYTE: Final[re.Pattern[bytes]] = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _count_byte(data: bytes | memoryview, byte: int) -> int:
    """How many times ``byte`` occurs in ``data`` (numpy, without holding the GIL).

    Examples
    --------
    >>> _count_byte(b"a,b,c", ord(","))
    2
    """
    return int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == byte))


def _high_bytes(data: bytes) -> np.ndarray:
    """Positions of the non-ASCII bytes (>= 0x80), in order; a chunked numpy scan."""
    arr = np.frombuffer(data, dtype=np.uint8)
    step = 1 << 22
    found = []
    for start in range(0, len(arr), step):
        idx = np.flatnonzero(arr[start : start + step] >= 0x80)
        if len(idx):
            found.append(idx + start)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _first_utf8_multibyte(data: bytes, high: np.ndarray) -> re.Match[bytes] | None:
    """The same match as ``_UTF8_MULTIBYTE.search(data)``, tried only where one can start.

    Every alternative of the pattern starts with a lead byte (0xC2-0xF4) followed by a
    continuation byte (0x80-0xBF), so only those positions are tried, in file order, and the
    first one that matches is the leftmost match. (The regex over the whole file took seconds.)
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    lead = high[(arr[high] >= 0xC2) & (arr[high] <= 0xF4) & (high + 1 < len(arr))]
    lead = lead[(arr[lead + 1] & 0xC0) == 0x80]
    for pos in lead.tolist():
        found = _UTF8_MULTIBYTE.match(data, pos)
        if found is not None:
            return found
    return None


_CP1252_UTF8: Final[dict[int, bytes]] = {
    i: bytes([i]).decode("cp1252").encode("utf-8")
    for i in range(0x80, 0x100)
    if i not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)  # undefined in Windows-1252
}


def _cp1252_to_utf8(data: bytes, high: np.ndarray) -> bytes:
    """``data.decode("cp1252").encode("utf-8")`` without building a Python str.

    Only the non-ASCII bytes change, and extracts have few of them, so the ASCII runs between
    them are copied as they are. Raises ``UnicodeDecodeError`` exactly when the codec would.
    """
    if len(high) > len(data) // 64:
        return data.decode("cp1252").encode("utf-8")
    codes = np.frombuffer(data, dtype=np.uint8)[high].tolist()
    if any(c not in _CP1252_UTF8 for c in codes):
        return data.decode("cp1252").encode("utf-8")  # raises, as the codec does
    view = memoryview(data)
    pieces: list[Any] = []
    prev = 0
    for pos, code in zip(high.tolist(), codes, strict=True):
        pieces.append(view[prev:pos])
        pieces.append(_CP1252_UTF8[code])
        prev = pos + 1
    pieces.append(view[prev:])
    return b"".join(pieces)


def _refuse_mixed_encodings(data: bytes, high: np.ndarray | None = None) -> None:
    """Refuse a file that is not valid UTF-8 but contains UTF-8 text (lines pasted together).

    Decoding it as Windows-1252 would silently turn the UTF-8 part into mojibake ("CafÃ©").
    ``ReadOptions(encoding=...)`` overrides this check.
    """
    found = _first_utf8_multibyte(data, _high_bytes(data) if high is None else high)
    if found is None:
        return
    try:
        data.decode("utf-8")
        return
    except UnicodeDecodeError as exc:
        bad = exc.start
    good_line = data.count(b"\n", 0, found.start()) + 1
    bad_line = data.count(b"\n", 0, bad) + 1
    raise FileRefused(
        "F_ENCODING",
        f"The file mixes text encodings: line {good_line:,} has UTF-8 text "
        f"({found.group().decode('utf-8')!r}) but line {bad_line:,} is not UTF-8 (byte "
        f"0x{data[bad]:02X}, probably Windows-1252). Reading it either way would garble some "
        "names. Save the whole file again as 'CSV UTF-8', or say which encoding to use.",
    )


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    if not sample:
        return False
    controls = len(re.findall(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", sample))
    return controls / len(sample) > 0.01


def _sniff_delimiter(header_line: str) -> str:
    best, best_count = ",", 0
    for delim in (",", ";", "\t", "|"):
        count = header_line.count(delim)
        if count > best_count:
            best, best_count = delim, count
    return best


# ---------------------------------------------------------------------------------------------
# Header matching
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _alias_lookup(kind: str) -> dict[str, tuple[str, int]]:
    lookup: dict[str, tuple[str, int]] = {}
    for canonical, aliases in COLUMN_ALIASES[kind].items():
        for rank, alias in enumerate((canonical, *aliases)):
            key = normalise_label(alias)
            if key in lookup and lookup[key][0] != canonical:
                raise ValueError(f"alias {alias!r} maps to two columns in {kind}")
            lookup.setdefault(key, (canonical, rank))
    return lookup


def _is_personal(norm: str) -> bool:
    words = norm.split()
    if not words:
        return False
    if norm in _PERSONAL_WORDS or any(w in _PERSONAL_WORDS for w in words):
        return True
    if words[-1] == "by" and len(words) > 1:  # "Reported By", "Closed By": a person
        return True
    if words[-1] == "name" and (len(words) == 1 or words[-2] in _PERSONAL_NAME_PREFIXES):
        return True
    return norm in {"e mail", "date of birth", "house number", "flat number"}


def _user_map(kind: str, opts: ReadOptions) -> dict[str, str]:
    """The analyst's column map (``column_map`` and a saved profile's ``saved_map``), keyed by
    normalised header, targets resolved from plain names ("case reference") to fields."""
    user: dict[str, str] = {}
    for source in (opts.saved_map, opts.column_map):
        for raw, target in (source or {}).items():
            field = headers.resolve_field(str(target), kind)
            if field is None or (field and field not in COLUMN_ALIASES[kind]):
                choices = ", ".join(repr(v) for v in headers.FIELD_NAMES[kind].values())
                raise FileRefused(
                    "F_OPTIONS",
                    f"The column map names {target!r}, which is not a field of a {kind} "
                    f"extract. The fields are: {choices} (or 'ignore').",
                )
            user[normalise_label(raw)] = field
    return user


def _check_map_present(header: list[str], opts: ReadOptions) -> None:
    """Refuse a ``column_map`` that names a column the file does not have (a typo in --map).

    A saved profile's map (``saved_map``) is not checked: next month's file may lack a column.
    """
    if not opts.column_map:
        return
    present = {normalise_label(h) for h in header}
    missing = [k for k in opts.column_map if normalise_label(k) not in present]
    if missing:
        shown = ", ".join(repr(h) for h in header[:20])
        raise FileRefused(
            "F_OPTIONS",
            f"The column map names {', '.join(repr(m) for m in missing)}, which the file "
            f"does not have. Its columns are: {shown}.",
        )


def _unmatched_reason(raw: str, kind: str) -> str:
    words, _ = headers.header_words(raw)
    known = headers.known_words(kind)
    foreign = [w for w in words if w not in known]
    if not words:
        return "it has no heading"
    if foreign:
        shown = ", ".join(repr(w) for w in dict.fromkeys(foreign))
        return f"no {kind} field has the word(s) {shown}"
    return f"its words fit no single {kind} field"


def _match_header(
    header: list[str], kind: str, opts: ReadOptions, report: dict[str, Any]
) -> dict[int, str]:
    """Map column positions to canonical names; fill the header parts of the report.

    Each header gets its best field: the analyst's map, then an exact alias (score 1000 minus
    its rank), then the word match of :mod:`neighbourhood.headers`. Each field takes its
    best-scoring header; ties are recorded in ``report["ambiguous_columns"]`` (and refused by
    :func:`_check_required`), never guessed.
    """
    lookup = _alias_lookup(kind)
    user = _user_map(kind, opts)
    plain = functools.partial(headers.plain_field, kind)
    cands: dict[str, list[tuple[int, int]]] = {}  # field -> [(score, position)]
    why: dict[str, str] = {}
    ignored: list[str] = []
    personal: list[str] = []
    ambiguous: list[dict[str, Any]] = []
    for pos, raw in enumerate(header):
        norm = normalise_label(raw)
        if norm in user:
            if user[norm]:
                cands.setdefault(user[norm], []).append((10_000, pos))
            else:
                ignored.append(raw)
                why[raw] = "left out, as the column map asks"
            continue
        hit = lookup.get(norm)
        if hit is not None:
            cands.setdefault(hit[0], []).append((1000 - hit[1], pos))
            continue
        if norm in _XY_ALIASES:
            cands.setdefault("_" + _XY_ALIASES[norm], []).append((1000, pos))
            continue
        scored = headers.score_header(raw, kind)
        if not scored:
            if _is_personal(norm):
                personal.append(raw)
                why[raw] = "personal data: never read or stored"
            elif norm:
                ignored.append(raw)
                why[raw] = _unmatched_reason(raw, kind)
            continue
        top = [f for f, sc in scored if sc == scored[0][1]]
        if len(top) > 1:
            ambiguous.append({"columns": [raw], "fields": [plain(f) for f in top]})
            why[raw] = "could be " + " or ".join(plain(f) for f in top)
            continue
        cands.setdefault(scored[0][0], []).append((scored[0][1], pos))
    best: dict[str, int] = {}
    for fld, found in cands.items():
        found.sort(key=lambda sp: (-sp[0], sp[1]))
        # exact aliases never tie (each has its own rank); two word matches are told apart
        # only by a core word more (10 points), never by context words alone
        top = found[0][0]
        tied = [
            header[p]
            for sc, p in sorted(found, key=lambda sp: sp[1])
            if sc == top or (top < 1000 and top - sc < 10)
        ]
        if len(tied) > 1:
            ambiguous.append({"columns": tied, "fields": [plain(fld)]})
            for raw in tied:
                why[raw] = f"one of {len(tied)} columns that could be the {plain(fld)}"
            continue
        best[fld] = found[0][1]
        for _, pos in found[1:]:
            ignored.append(header[pos])
            why[header[pos]] = (
                f"also looks like the {plain(fld)}, but {header[found[0][1]]!r} fits it better"
            )
    xy = {k: best.pop(k) for k in ("_x", "_y") if k in best}
    coord_cols = {"latitude", "longitude", "easting", "northing"}
    if len(xy) == 2 and not (coord_cols & set(best)) and kind in ("cleansing", "enforcement"):
        best.update(xy)
    else:
        for pos in xy.values():
            ignored.append(header[pos])
            why[header[pos]] = (
                "a bare X or Y is read only as a pair, and only when the file has no other "
                "coordinate columns"
            )
    mapping = {pos: canonical for canonical, pos in best.items()}
    report["columns"] = {header[p]: c for p, c in sorted(mapping.items())}
    order = {raw: i for i, raw in enumerate(header)}
    report["ignored_columns"] = sorted(ignored, key=lambda r: order.get(r, 0))
    report["dropped_personal_columns"] = personal
    report["ignored_why"] = {r: why[r] for r in header if r in why}
    report["ambiguous_columns"] = ambiguous
    return mapping


def _check_required(
    kind: str,
    mapped: set[str],
    header: list[str],
    ambiguous: list[dict[str, Any]] | None = None,
) -> None:
    if ambiguous:
        parts = []
        for item in ambiguous:
            cols = " and ".join(repr(c) for c in item["columns"])
            fields = " or ".join(repr(f) for f in item["fields"])
            parts.append(
                f"{cols} could each be the {fields}"
                if len(item["columns"]) > 1
                else f"{cols} could be the {fields}"
            )
        first = ambiguous[0]
        raise FileRefused(
            "F_AMBIGUOUS_COLUMNS",
            "Some columns could not be told apart, and the loader does not guess: "
            + "; ".join(parts)
            + ". Say which column is which (command line: --map "
            + f'"{first["columns"][0]}={first["fields"][0]}", or --map "COLUMN=ignore"; '
            "Load data page: the Columns table).",
        )
    required = list(S.REQUIRED[kind])
    if kind == "population":
        # metrics take each period's population by year; a ward name may stand for the code
        required = [c for c in required if c != "ward_code"]
        if not {"ward_code", "ward_name"} & mapped:
            required.append("ward_code")
    if kind in ("cleansing", "enforcement") and {"_x", "_y"} <= mapped:
        mapped = mapped | {"easting", "northing"}
    missing = [c for c in required if c not in mapped]
    if not missing:
        return
    hints = "; ".join(
        f"{c} (a header such as {', '.join(repr(a.title()) for a in COLUMN_ALIASES[kind][c][:3])})"
        for c in missing
    )
    shown = ", ".join(repr(h) for h in header[:12]) + (" …" if len(header) > 12 else "")
    extra = ""
    if kind == "population" and "population" in missing:
        likely, rates = headers.head_count_candidates(header)
        if rates:
            extra += (
                f" {', '.join(repr(r) for r in rates)} is a density, percentage or rate, not a "
                "head count, so it is not read as the population."
            )
        if likely:
            extra += (
                f" The head count is probably in {likely[0]!r} (check that it counts residents, "
                f'not a rate): --map "{likely[0]}=population".'
            )
    raise FileRefused(
        "F_MISSING_COLUMNS",
        f"Missing required column(s) for a {kind} extract: {hints}. "
        f"The file's columns are: {shown}.{extra} Rename a column in the file, or map it to the "
        'missing one (command line: --map "COLUMN=field"; Load data page: the Columns table; '
        "Python: ReadOptions(column_map=...)).",
    )


# ---------------------------------------------------------------------------------------------
# Reading the table
# ---------------------------------------------------------------------------------------------


def _refuse_duplicates(header: list[str]) -> None:
    seen: dict[str, str] = {}
    dups: list[str] = []
    for raw in header:
        key = raw.strip().lower()
        if not key:
            continue
        if key in seen:
            dups.append(raw)
        seen[key] = raw
    if dups:
        raise FileRefused(
            "F_DUPLICATE_HEADER",
            f"The header repeats column name(s) {sorted(set(dups))}; every column needs its own "
            "name so that values are not silently merged.",
        )


def _read_csv(
    data: bytes, opts: ReadOptions, kind: str, report: dict[str, Any]
) -> tuple[pd.DataFrame, np.ndarray]:
    encoding, utf8 = _decode(data, opts)
    report["encoding"] = encoding
    if b"\n" not in utf8 and b"\r" in utf8:
        # Old Mac line ends (Excel's "CSV (Macintosh)"): a lone CR ends every line.
        utf8 = utf8.replace(b"\r", b"\n")
        report["line_ends"] = "cr"
    text = utf8[:1_000_000].decode("utf-8", errors="ignore")
    if _looks_binary(text):
        raise FileRefused("F_BINARY", "The file is mostly control characters: it is not text.")
    if re.search(rb"\S", utf8[:1_000_000]) is None and not utf8[1_000_000:].strip():
        raise FileRefused("F_EMPTY", "The file is empty.")
    first_line = text[: text.find("\n")] if "\n" in text else text
    delimiter = opts.delimiter or _sniff_delimiter(first_line)
    report["delimiter"] = delimiter
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise FileRefused("F_MALFORMED", f"The header line could not be read ({exc}).") from None
    header = [h.replace("\ufeff", "").strip() for h in header]
    _refuse_duplicates(header)
    mapping = _match_header(header, kind, opts, report)
    _check_map_present(header, opts)
    try:
        _check_required(kind, set(mapping.values()), header, report["ambiguous_columns"])
    except FileRefused as exc:
        line = _header_further_down(text, kind, opts)
        if line is None:
            raise
        raise FileRefused(
            exc.code,
            f"The column headings seem to be on line {line}, below title or blank lines: delete "
            f"the lines above them and load the file again. ({exc.message})",
        ) from None

    usecols = sorted(mapping)
    physical = _count_byte(utf8, 0x0A) + (0 if utf8.endswith(b"\n") else 1)
    frame = _read_arrow(utf8, len(header), usecols, delimiter)
    lines: np.ndarray | None = None
    if frame is not None and physical == len(frame) + 1:
        lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    elif frame is not None and b'"' in utf8:
        # Newlines inside quoted values (free-text columns): count them with pyarrow rather
        # than re-reading the whole file with the much slower C engine.
        lines = _arrow_lines(utf8, len(header), delimiter, physical, len(frame))
    if frame is None or lines is None:
        # Blank lines, newlines inside quoted fields or ragged rows: the C engine keeps every
        # line, so the physical line of each row can be worked out.
        frame, lines = _read_c(utf8, len(header), usecols, delimiter)
    frame.columns = [mapping[c] for c in usecols]
    for col in frame.columns:
        if frame[col].dtype == object and frame[col].map(type).eq(bytes).any():
            raise FileRefused("F_ENCODING", f"Column {col} came back as bytes, not text.")
    return frame, lines


def _header_further_down(text: str, kind: str, opts: ReadOptions) -> int | None:
    """The line (2-20) whose cells would satisfy the required columns, if the first does not."""
    lines = text.splitlines()[1:20]
    for number, line in enumerate(lines, start=2):
        sep = opts.delimiter or _sniff_delimiter(line)  # the title line may have no delimiter
        try:
            cells = next(csv.reader([line], delimiter=sep), [])
        except csv.Error:
            continue
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        found: dict[str, Any] = {}
        mapping = _match_header(cells, kind, opts, found)
        try:
            _check_required(kind, set(mapping.values()), cells, found["ambiguous_columns"])
        except FileRefused:
            continue
        return number
    return None


def _xlsx_header_further_down(ws: Any, kind: str, opts: ReadOptions) -> int | None:
    """The row (2-20) of a worksheet whose cells would satisfy the required columns."""
    for number, row in enumerate(ws.iter_rows(min_row=2, max_row=20, values_only=True), start=2):
        cells = ["" if v is None else str(v).strip() for v in row]
        if not any(cells):
            continue
        found: dict[str, Any] = {}
        mapping = _match_header(cells, kind, opts, found)
        try:
            _check_required(kind, set(mapping.values()), cells, found["ambiguous_columns"])
        except FileRefused:
            continue
        return number
    return None


def _read_arrow(utf8: bytes, ncols: int, usecols: list[int], delimiter: str) -> pd.DataFrame | None:
    """Fast path: pyarrow's multi-threaded reader, every column as text. None if it balks."""
    import pyarrow as pa
    import pyarrow.csv as pv

    names = [f"c{i}" for i in range(ncols)]
    try:
        table = pv.read_csv(
            pa.BufferReader(utf8),  # zero-copy; a BytesIO would be copied block by block
            # 16 MB blocks: a quarter less CPU than the 1 MB default, still parallel on big files.
            read_options=pv.ReadOptions(
                column_names=names, skip_rows=1, encoding="utf8", block_size=1 << 24
            ),
            parse_options=pv.ParseOptions(
                delimiter=delimiter, newlines_in_values=b'"' in utf8, ignore_empty_lines=True
            ),
            convert_options=pv.ConvertOptions(
                # large_string is what pandas' str dtype holds: to_pandas() copies nothing.
                column_types={names[i]: pa.large_string() for i in usecols},
                include_columns=[names[i] for i in usecols],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    # One contiguous array per column (the reader gives one chunk per block), combined a column
    # at a time so that the peak holds one extra column, not a second table.
    columns = [table.column(i) for i in range(table.num_columns)]
    del table
    for i, col in enumerate(columns):
        columns[i] = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    frame = pa.table(columns, names=[str(c) for c in usecols]).to_pandas()
    frame.columns = usecols
    return frame


def _arrow_lines(
    utf8: bytes, ncols: int, delimiter: str, physical: int, nrows: int
) -> np.ndarray | None:
    """Physical line of each row from the newlines inside values, or None if that cannot tell.

    Every column is read (a newline in an ignored column moves the lines too). The answer is used
    only when the newlines inside values account for every line of the file exactly; blank lines
    or ``\r``-only line ends leave a difference and the caller falls back to the C engine.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    names = [f"c{i}" for i in range(ncols)]
    try:
        table = pv.read_csv(
            pa.BufferReader(utf8),
            read_options=pv.ReadOptions(
                column_names=names, skip_rows=1, encoding="utf8", block_size=1 << 24
            ),
            parse_options=pv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True
            ),
            convert_options=pv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != nrows:
        return None
    extra = np.zeros(nrows, dtype=np.int64)
    for i in range(table.num_columns):
        counts = pc.fill_null(pc.count_substring(table.column(i), "\n"), 0)
        extra += counts.to_numpy().astype(np.int64, copy=False)
    del table
    if physical != nrows + 1 + int(extra.sum()):
        return None
    lines = 2 + np.arange(nrows, dtype=np.int64)
    lines[1:] += np.cumsum(extra)[:-1]
    return lines


_C_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _record_line(utf8: bytes, record: int) -> int:
    """The physical line on which record ``record`` (1 = the header) starts.

    pandas counts records in its messages; a quoted value holding a line break makes the two
    differ. A line break ends a record when an even number of quotes comes before it.
    """
    data = np.frombuffer(utf8, dtype=np.uint8)
    breaks = np.flatnonzero(data == 0x0A)
    quotes = np.flatnonzero(data == 0x22)
    ends = np.flatnonzero(np.searchsorted(quotes, breaks) % 2 == 0)  # indices into breaks
    if record < 2 or record - 2 >= len(ends):
        return record
    return int(ends[record - 2]) + 2


def _parser_message(text: str, utf8: bytes | None = None) -> str:
    """pandas' C-parser error in plain words ("Line 3 has 17 fields where the header has 15").

    Examples
    --------
    >>> _parser_message("Error tokenizing data. C error: Expected 15 fields in line 3, saw 17\\n")
    'The file is not a regular table: line 3 has 17 fields where the header has 15. Check that line for an extra separator, or a value with a separator in it that is not in quotes.'
    """
    found = _C_FIELDS.search(text)
    if found:
        header, line, saw = (int(g) for g in found.groups())
        if utf8 is not None:
            line = _record_line(utf8, line)
        return (
            # plain line numbers, as in every other message (stream._shifted moves them)
            f"The file is not a regular table: line {line} has {saw} fields where the "
            f"header has {header}. Check that line for an extra separator, or a value with a "
            "separator in it that is not in quotes."
        )
    return f"The file is not a regular table: {text.strip()[:300]}"


def _read_c(
    utf8: bytes, ncols: int, usecols: list[int], delimiter: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """The pandas C engine, keeping blank lines, with the physical line of every row."""
    try:
        full = pd.read_csv(
            io.BytesIO(utf8),
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            index_col=False,
            encoding="utf-8",
            engine="c",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise FileRefused("F_MALFORMED", _parser_message(str(exc), utf8)) from None
    if full.shape[1] != ncols:
        raise FileRefused(
            "F_MALFORMED", "The rows have a different number of fields from the header."
        )
    n = len(full)
    extra = np.zeros(n, dtype=np.int64)
    for col in full.columns:
        values = full[col]
        has_nl = values.str.contains("\n", regex=False).fillna(False).to_numpy(bool)
        if has_nl.any():
            extra += values.str.count("\n").fillna(0).to_numpy(np.int64)
    # physical line of row i (the header is row 0, line 1) = 1 + i + newlines in earlier rows
    lines = 1 + np.arange(n, dtype=np.int64)
    lines[1:] += np.cumsum(extra)[:-1]
    full = full.iloc[1:].reset_index(drop=True)
    lines = lines[1:]
    return full[usecols], lines


def _read_xlsx(
    data: bytes, opts: ReadOptions, kind: str, report: dict[str, Any]
) -> tuple[pd.DataFrame, np.ndarray]:
    import openpyxl

    report["encoding"] = "xlsx"
    report["delimiter"] = None
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for corrupt files
        raise FileRefused("F_MALFORMED", f"The workbook could not be opened ({exc}).") from None
    try:
        names = book.sheetnames
        if opts.sheet is not None:
            chosen = names[opts.sheet] if isinstance(opts.sheet, int) else opts.sheet
            if chosen not in names:
                raise FileRefused("F_OPTIONS", f"The workbook has no sheet {opts.sheet!r}.")
            candidates = [chosen]
        else:
            candidates = names
        picked: tuple[str, list[str], dict[int, str], dict[str, Any]] | None = None
        for sheet in candidates:
            rows = book[sheet].iter_rows(min_row=1, max_row=1, values_only=True)
            first = next(rows, None)
            header = ["" if v is None else str(v).strip() for v in (first or ())]
            sub: dict[str, Any] = {}
            mapping = _match_header(header, kind, opts, sub)
            try:
                _check_required(kind, set(mapping.values()), header, sub["ambiguous_columns"])
            except FileRefused:
                if picked is None:
                    picked = (sheet, header, mapping, sub)
                continue
            picked = (sheet, header, mapping, sub)
            break
        if picked is None:
            raise FileRefused("F_NO_ROWS", "The workbook has no sheets.")
        sheet, header, mapping, sub = picked
        _refuse_duplicates(header)
        report.update(sub)
        report["sheet"] = sheet
        _check_map_present(header, opts)
        try:
            _check_required(kind, set(mapping.values()), header, sub["ambiguous_columns"])
        except FileRefused as exc:
            # As for a CSV: headings below title rows are pointed to, never skipped silently.
            row = _xlsx_header_further_down(book[sheet], kind, opts)
            if row is None:
                raise
            raise FileRefused(
                exc.code,
                f"The column headings of sheet {sheet!r} seem to be on row {row}, below title "
                f"or blank rows: delete the rows above them and load the file again. "
                f"({exc.message})",
            ) from None
        rows_out: list[list[Any]] = []
        cols = sorted(mapping)
        for row in book[sheet].iter_rows(min_row=2, values_only=True):
            rows_out.append([row[c] if c < len(row) else None for c in cols])
    finally:
        book.close()
    frame = pd.DataFrame(rows_out, columns=[mapping[c] for c in cols], dtype=object)
    for col in frame.columns:
        values = frame[col]
        is_dt = values.map(lambda v: hasattr(v, "isoformat"))
        text = values.map(lambda v: None if v is None else str(v))
        if is_dt.any():
            text[is_dt] = values[is_dt].map(lambda v: v.isoformat(sep=" "))
        # Excel stores whole numbers as floats: 1234.0 -> "1234".
        is_float = values.map(lambda v: isinstance(v, float) and float(v).is_integer())
        if is_float.any():
            text[is_float] = values[is_float].map(lambda v: str(int(v)))
        frame[col] = text.replace("", None).astype("str")
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)
    return frame, lines


# ---------------------------------------------------------------------------------------------
# Rejects bookkeeping
# ---------------------------------------------------------------------------------------------


class _Rejects:
    """Collects (mask, column, rule) findings; vectorised, built into one frame at the end."""

    def __init__(self, lines: np.ndarray, case_ids: pd.Series) -> None:
        self.lines = lines
        self.case_ids = case_ids
        self.parts: list[pd.DataFrame] = []
        self.bad = np.zeros(len(lines), dtype=bool)

    def add(
        self,
        mask: np.ndarray | pd.Series,
        column: str,
        rule: str,
        values: pd.Series | None,
        message: str | None = None,
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        severity = "error" if rule.startswith("E_") else "warning"
        if severity == "error":
            self.bad[idx] = True
        if values is None:
            shown = pd.Series([""] * len(idx), dtype="str")
        else:
            shown = values.iloc[idx].astype("str").fillna("").reset_index(drop=True)
        self.parts.append(
            pd.DataFrame(
                {
                    "source_line": self.lines[idx],
                    "case_id": self.case_ids.iloc[idx].reset_index(drop=True),
                    "column": column,
                    "value": shown,
                    "rule": rule,
                    "message": message or RULES[rule],
                    "severity": severity,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            out = pd.DataFrame({c: pd.Series(dtype="str") for c in REJECT_COLUMNS})
            out["source_line"] = out["source_line"].astype("int64")
            return out
        out = pd.concat(self.parts, ignore_index=True)
        out["value"] = (
            out["value"].str.replace(_CONTROL_RE, " ", regex=True).str.slice(0, 100).fillna("")
        )
        out["case_id"] = out["case_id"].astype("str")
        out = out.sort_values(["source_line", "severity"], kind="stable", ignore_index=True)
        return drop_warnings_of_rejected_rows(out[list(REJECT_COLUMNS)])


def drop_warnings_of_rejected_rows(rejects: pd.DataFrame) -> pd.DataFrame:
    """The report without the warnings of rows that are rejected anyway.

    A rejected row is not stored, so a warning about it (an unmapped category on a row with a
    bad date) only swells the warning count; its errors say why it was left out.

    Examples
    --------
    >>> r = pd.DataFrame({"source_line": [2, 2, 3], "severity": ["error", "warning", "warning"]})
    >>> drop_warnings_of_rejected_rows(r)["source_line"].tolist()
    [2, 3]
    """
    if rejects.empty:
        return rejects
    error = rejects["severity"].eq("error")
    rejected = rejects.loc[error, "source_line"].unique()
    keep = error | ~rejects["source_line"].isin(rejected)
    return rejects if keep.all() else rejects[keep].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Value coercion (all vectorised; slow paths only run on the failing subset)
# ---------------------------------------------------------------------------------------------


def _text(frame: pd.DataFrame, col: str) -> pd.Series:
    """Stripped text column (NA when blank); an all-NA column when the file lacks it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if col not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="str")
    raw = _pa(frame[col])
    if frame[col].dtype == "str" and _nothing_to_trim(raw):
        if isinstance(raw, pa.ChunkedArray) and raw.num_chunks != 1:
            return _from_pa(raw, frame.index)  # the checks below expect one contiguous array
        return pd.Series(frame[col].array, index=frame.index)
    arr = pc.utf8_trim_whitespace(raw)
    empty = pc.equal(arr, "")
    if pc.any(empty).as_py():
        arr = pc.if_else(empty, pa.scalar(None, arr.type), arr)
    return _from_pa(arr, frame.index)


# First or last UTF-8 byte of a value that utf8_trim_whitespace may strip: ASCII whitespace
# (0x09-0x0D, 0x1C-0x20) or any non-ASCII byte (NBSP, U+2000-U+200A ... are checked exactly).
_EDGE_SPACE: Final[np.ndarray] = np.zeros(256, dtype=bool)
_EDGE_SPACE[[*range(0x09, 0x0E), *range(0x1C, 0x21), *range(0x80, 0x100)]] = True


def _nothing_to_trim(arr: Any) -> bool:
    """True when no value is empty or starts or ends with whitespace (then trimming is a no-op).

    Looks only at the first and last byte of each value through the Arrow buffers, so a clean
    column costs a few milliseconds instead of a trim and a copy. Values whose edge byte might be
    whitespace (non-ASCII included) are trimmed to find out.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    for chunk in chunks:
        if not pa.types.is_large_string(chunk.type) or len(chunk) == 0:
            return False if len(chunk) else True
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)
        offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
        starts, ends = offsets[:-1], offsets[1:]
        filled = ends > starts
        if chunk.null_count == 0:
            if not filled.all():
                return False  # an empty string becomes NA
        else:
            valid = chunk.is_valid().to_numpy(zero_copy_only=False)
            if (valid & ~filled).any():
                return False
            filled &= valid
        if not filled.any():
            continue
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)
        # Gather every row's first and last byte (clamped for empty slots), then mask: cheaper
        # than gathering through a boolean mask.
        first = data[np.minimum(starts, len(data) - 1)]
        last = data[np.maximum(ends - 1, 0)]
        edge = (_EDGE_SPACE[first] | _EDGE_SPACE[last]) & filled
        if edge.any():
            sub = chunk.filter(pa.array(edge))
            if not pc.all(pc.equal(pc.utf8_trim_whitespace(sub), sub)).as_py():
                return False
    return True


class _Cols:
    """Memoised :func:`_text` for one frame (each column is stripped once)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.cache: dict[str, pd.Series] = {}

    def __call__(self, col: str) -> pd.Series:
        if col not in self.cache:
            self.cache[col] = _text(self.frame, col)
        return self.cache[col]


def _numbers(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse numbers, allowing "£1,234.50", "1 234", "(12.00)". Returns (values, bad mask)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:  # fast path: every value is a plain number
        arr = pc.cast(_pa(raw), pa.float64())
        values = pd.Series(arr.to_numpy(zero_copy_only=False), index=raw.index, dtype="float64")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = pd.to_numeric(raw, errors="coerce")
    failed = raw.notna() & values.isna()
    if failed.any():
        sub = raw[failed]
        tokens = sub.str.lower()
        is_null = tokens.isin(_NULL_TOKENS)
        cleaned = sub.str.replace(r"(?i)gbp|£|\s", "", regex=True)
        # A comma may only group thousands ("1,234.50"): "5,00" or "1.234,50" is a decimal
        # comma, which would be misread as 500 or 1.2345 if commas were simply dropped.
        grouped = cleaned.str.fullmatch(r"\(?[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?\)?")
        comma = cleaned.str.contains(",", regex=False).fillna(False).to_numpy(bool)
        cleaned = cleaned.mask(comma & ~grouped.fillna(False).to_numpy(bool))
        cleaned = cleaned.str.replace(",", "", regex=False)
        negative = cleaned.str.match(r"^\(.*\)$")
        cleaned = cleaned.str.replace(r"^\((.*)\)$", r"\1", regex=True)
        retry = pd.to_numeric(cleaned, errors="coerce")
        retry[negative.fillna(False).to_numpy(bool)] *= -1
        retry[is_null.to_numpy(bool)] = np.nan
        values = values.astype("float64")
        values[failed] = retry.to_numpy()
        failed = failed & values.isna() & ~raw.str.lower().isin(_NULL_TOKENS)
    values = values.astype("float64")
    inf = ~np.isfinite(values.to_numpy(float)) & values.notna().to_numpy(bool)
    bad = failed.to_numpy(bool) | inf
    values[inf] = np.nan
    return values, bad


def _fmt_regex(fmt: str) -> str:
    """A regex equivalent to a strftime format, with the day captured as group ``d``."""
    parts = {
        "%d": r"(?P<d>\d{1,2})",
        "%m": r"\d{1,2}",
        "%Y": r"\d{4}",
        "%y": r"\d{2}",
        "%H": r"\d{1,2}",
        "%I": r"\d{1,2}",
        "%M": r"\d{1,2}",
        "%S": r"\d{1,2}",
        "%b": r"[A-Za-z]+",
        "%B": r"[A-Za-z]+",
        "%p": r"[AaPp][Mm]",
    }
    out = []
    for token in re.split(r"(%[a-zA-Z])", fmt):
        out.append(parts.get(token, re.escape(token)))
    return "^" + "".join(out) + "$"


def _arrow_strptime(values: pd.Series, fmt: str) -> pd.Series:
    """Parse with pyarrow's strptime (fast), rejecting day overflow ("31/02" is not 2 March)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _pa(values)
    parsed = pc.strptime(arr, format=fmt, unit="s", error_is_null=True)
    if "%Y" in fmt:  # strptime reads "24" as the year 24: %Y takes four digits only
        short = pc.fill_null(pc.less(pc.year(parsed), 1000), False)
        if pc.any(short).as_py():
            parsed = pc.if_else(short, pa.scalar(None, parsed.type), parsed)
    if "%d" in fmt:
        suspect = pc.fill_null(pc.less_equal(pc.day(parsed), 3), False)
        if pc.any(suspect).as_py():
            idx = np.flatnonzero(suspect.to_numpy(zero_copy_only=False))
            days = pc.struct_field(pc.extract_regex(arr.take(idx), _fmt_regex(fmt)), "d")
            real = pc.cast(days, pa.int64()).to_numpy(zero_copy_only=False)
            got = pc.day(parsed.take(idx)).to_numpy(zero_copy_only=False)
            wrong = idx[real != got]
            if len(wrong):
                mask = np.zeros(len(arr), dtype=bool)
                mask[wrong] = True
                parsed = pc.if_else(pa.array(mask), pa.scalar(None, parsed.type), parsed)
    out = parsed.to_numpy(zero_copy_only=False).astype("datetime64[s]")
    # Clamp to pandas' nanosecond range (1678-2261) instead of letting the cast wrap around:
    # the date-range rules then reject those values as too old or in the future.
    out = np.clip(out, np.datetime64("1678-01-01", "s"), np.datetime64("2261-12-31", "s"))
    return pd.Series(out.astype("datetime64[ns]"), index=values.index)


def _count_ok(values: pd.Series, fmt: str) -> int:
    if fmt == "ISO8601":
        return int(pd.to_datetime(values, format=fmt, errors="coerce", utc=True).notna().sum())
    return int(_arrow_strptime(values, fmt).notna().sum())


@functools.lru_cache(maxsize=256)
def _loose_regex(fmt: str) -> re.Pattern[str]:
    """A case-insensitive regex that every value the format reads matches (and more): used to
    leave out formats that cannot fit before trying them (:func:`_plausible_formats`)."""
    pattern = _fmt_regex(fmt)[1:-1].replace("\\ ", r"\s*").replace(" ", r"\s*")
    return re.compile(r"\s*" + pattern + r"\s*", re.IGNORECASE)


def _plausible_formats(values: pd.Series, formats: tuple[str, ...]) -> tuple[str, ...]:
    """The formats whose shape fits at least one of the first values (all when none does).

    Parsing is tried per format over the whole sample; with some sixty formats that cost more
    than the rest of a small file's read. A regex on the first 64 values decides which are worth
    trying; ISO 8601 and Excel serials are always kept.
    """
    head = [str(v) for v in values.iloc[:64].tolist()]
    kept = tuple(
        f
        for f in formats
        if f in ("ISO8601", EXCEL_SERIAL) or any(_loose_regex(f).fullmatch(v) for v in head)
    )
    return kept or formats


def _try_formats(values: pd.Series, formats: tuple[str, ...]) -> tuple[str | None, int]:
    best, best_ok = None, -1
    formats = _plausible_formats(values, formats) if len(formats) > 1 else formats
    for fmt in formats:
        ok = _count_ok(values, fmt)
        if ok > best_ok:
            best, best_ok = fmt, ok
        if ok == len(values):
            break
    return best, best_ok


def _parse_with(values: pd.Series, fmt: str) -> pd.Series:
    """Parse one column with one format: naive wall times, or tz-aware when offsets are given."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if fmt != "ISO8601":
        return _arrow_strptime(values, fmt)
    try:  # fast path: every value is ISO without an offset
        arr = pc.cast(_pa(values), pa.timestamp("ns"))
        return pd.Series(arr.to_numpy(zero_copy_only=False), index=values.index)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    offset = values.str.contains(_OFFSET_RE, regex=True).fillna(False).to_numpy(bool)
    if offset.any():
        out = pd.Series(pd.NaT, index=values.index, dtype=f"datetime64[ns, {S.TIMEZONE}]")
        aware = _to_ns(pd.to_datetime(values[offset], format=fmt, errors="coerce", utc=True))
        out[offset] = aware.dt.tz_convert(S.TIMEZONE)
        naive = _to_ns(pd.to_datetime(values[~offset], format=fmt, errors="coerce"))
        if len(naive):
            out[~offset] = _localise(naive)[0]
        return out
    return _to_ns(pd.to_datetime(values, format=fmt, errors="coerce"))


def _to_ns(values: pd.Series) -> pd.Series:
    """Datetimes at nanosecond resolution, clamped to 1678-2261 (see :func:`_arrow_strptime`)."""
    tz = getattr(values.dtype, "tz", None)
    naive = values.dt.tz_convert("UTC").dt.tz_localize(None) if tz is not None else values
    if naive.dtype != "datetime64[ns]":
        naive = naive.clip(pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31"))
        naive = naive.astype("datetime64[ns]")
    return naive.dt.tz_localize("UTC").dt.tz_convert(tz) if tz is not None else naive


_DAY_NS: Final[int] = 86_400 * 10**9
#: Wall times the transition table of :func:`_transitions` covers (others go through pandas).
_FAST_TZ_RANGE: Final[tuple[str, str]] = ("1999-01-01", "2100-01-01")


@functools.cache
def _transitions() -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]:
    """Europe/London's offset changes over :data:`_FAST_TZ_RANGE`, read off pandas' own zone.

    Returns ``(starts, ends, offsets, day0, day_stretch)``: in nanoseconds, one entry per
    stretch of constant offset ``j``, the wall times ``starts[j] <= w < ends[j]`` that the
    stretch gives a UTC instant ``w - offsets[j]`` (the first stretch starts, and the last ends,
    outside the range); and per wall-clock day from day number ``day0`` (the range's start), the
    stretch holding the whole day (-1 on the days the clocks change). Found on an hourly grid
    and refined by bisection to the nanosecond, so the table is exactly the zone pandas uses,
    whatever the tz database says.
    """
    lo, hi = (pd.Timestamp(t, tz="UTC") for t in _FAST_TZ_RANGE)
    lo, hi = lo - pd.Timedelta(days=2), hi + pd.Timedelta(days=2)

    def offset(utc: np.ndarray) -> np.ndarray:
        idx = pd.DatetimeIndex(utc.astype("datetime64[ns]")).tz_localize("UTC")
        wall = idx.tz_convert(S.TIMEZONE).tz_localize(None)
        return wall.asi8 - idx.asi8

    hours = pd.date_range(lo, hi, freq="h", unit="ns").tz_localize(None).asi8
    off = offset(hours.view("datetime64[ns]"))
    change = np.flatnonzero(np.diff(off))
    left, right = hours[change], hours[change + 1]  # offset(left) is the old, (right) the new
    before = off[change]
    while np.any(right - left > 1):
        mid = left + (right - left) // 2
        old = offset(mid.view("datetime64[ns]")) == before
        left = np.where(old, mid, left)
        right = np.where(old, right, mid)
    offsets = np.concatenate([[off[0]], off[change + 1]])
    big = np.iinfo(np.int64).max
    starts = np.concatenate([[-big], right + offsets[1:]])
    ends = np.concatenate([right + offsets[:-1], [big]])
    # Per wall-clock day of the range: the one stretch the whole day lies in, or -1 for the
    # days on which the clocks change (those few times are looked up in the table).
    day0 = pd.Timestamp(_FAST_TZ_RANGE[0]).value // _DAY_NS
    days = np.arange(day0, pd.Timestamp(_FAST_TZ_RANGE[1]).value // _DAY_NS + 1) * _DAY_NS
    stretch = np.searchsorted(starts, days, side="right") - 1
    following = starts[np.minimum(stretch + 1, len(starts) - 1)]
    whole = (
        (ends[stretch] >= days + _DAY_NS)  # the stretch lasts all day ...
        & (np.searchsorted(ends, days, side="right") == stretch)  # ... alone at midnight ...
        & ((stretch + 1 == len(starts)) | (following >= days + _DAY_NS))  # ... and all day
    )
    day_stretch = np.where(whole, stretch, -1).astype(np.int32)
    return starts, ends, offsets, int(day0), day_stretch


def _localise_fast(wall: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_localise` on wall times (int64 ns) inside :data:`_FAST_TZ_RANGE`, vectorised.

    Returns (UTC ns, ambiguous, nonexistent): an ambiguous time is taken as the first of its two
    instants (summer time), a time that does not exist is moved forward to the end of the gap,
    as pandas' ``ambiguous=True, nonexistent="shift_forward"`` do.
    """
    starts, ends, offsets, day0, day_stretch = _transitions()
    stretch = day_stretch[wall // _DAY_NS - day0]
    utc = wall - offsets[stretch]
    ambiguous = np.zeros(len(wall), dtype=bool)
    nonexistent = np.zeros(len(wall), dtype=bool)
    change = np.flatnonzero(stretch < 0)  # on a day the clocks change: through the table
    if len(change):
        w = wall[change]
        first = np.searchsorted(ends, w, side="right")  # stretches ending at or before w: out
        last = np.searchsorted(starts, w, side="right") - 1  # ... starting after w: out
        seen = last - first + 1  # 1: one instant; 2: ambiguous; 0: in a gap
        utc[change] = w - offsets[first]  # the earlier instant when ambiguous
        gap = seen < 1
        utc[change[gap]] = starts[first[gap]] - offsets[first[gap]]  # when the clocks went on
        ambiguous[change] = seen > 1
        nonexistent[change] = gap
    return utc, ambiguous, nonexistent


def _localise(naive: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Europe/London wall time → tz-aware. Returns (values, ambiguous mask, nonexistent mask).

    Wall times from 1999 to 2099 are localised through the zone's transition table in numpy
    (0.07 s instead of 0.16 s for 3M values); the others, and NaT, through pandas.
    """
    naive = naive.astype("datetime64[ns]")
    wall = naive.to_numpy().view(np.int64)
    lo, hi = (pd.Timestamp(t).value for t in _FAST_TZ_RANGE)
    fast = (wall >= lo) & (wall < hi)  # NaT is int64's minimum: never inside
    if not fast.any():
        return _localise_pandas(naive)
    everywhere = bool(fast.all())
    utc, ambiguous, nonexistent = _localise_fast(wall if everywhere else wall[fast])
    out = utc
    if not everywhere:
        rest = ~fast
        local, amb, gap = _localise_pandas(naive[rest])
        out = np.empty(len(wall), dtype=np.int64)
        out[fast] = utc
        out[rest] = local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().view(np.int64)
        full_amb, full_gap = np.zeros(len(wall), bool), np.zeros(len(wall), bool)
        full_amb[fast], full_gap[fast] = ambiguous, nonexistent
        full_amb[rest], full_gap[rest] = amb, gap
        ambiguous, nonexistent = full_amb, full_gap
    values = pd.DatetimeIndex(out.view("datetime64[ns]")).tz_localize("UTC")
    local = pd.Series(values.tz_convert(S.TIMEZONE), index=naive.index)
    return local, ambiguous, nonexistent


def _localise_pandas(naive: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """:func:`_localise` through pandas' ``tz_localize`` (any wall time, NaT kept)."""
    local = naive.dt.tz_localize(S.TIMEZONE, ambiguous="NaT", nonexistent="NaT")
    problem = (local.isna() & naive.notna()).to_numpy(bool)
    n = len(naive)
    ambiguous = np.zeros(n, dtype=bool)
    nonexistent = np.zeros(n, dtype=bool)
    if problem.any():
        sub = naive[problem]
        earlier = np.ones(len(sub), dtype=bool)
        probe = sub.dt.tz_localize(S.TIMEZONE, ambiguous=earlier, nonexistent="NaT")
        gap = probe.isna().to_numpy(bool)
        nonexistent[np.flatnonzero(problem)[gap]] = True
        ambiguous[np.flatnonzero(problem)[~gap]] = True
        fixed = sub.dt.tz_localize(S.TIMEZONE, ambiguous=earlier, nonexistent="shift_forward")
        local = local.copy()
        local[problem] = fixed.to_numpy()
    return local, ambiguous, nonexistent


def _date_family(opts: ReadOptions) -> tuple[tuple[str, ...], str]:
    choice = (opts.date_format or "dayfirst").lower() if opts.date_format else "dayfirst"
    if choice == "dayfirst":
        return _ISO_FORMATS + _DAYFIRST_FORMATS + _MONTH_ONLY_FORMATS, "dayfirst"
    if choice == "monthfirst":
        return _ISO_FORMATS + _MONTHFIRST_FORMATS + _MONTH_ONLY_FORMATS, "monthfirst"
    if choice == "iso":
        return _ISO_FORMATS, "iso"
    if choice in ("excel", EXCEL_SERIAL):
        return (EXCEL_SERIAL,), "excel"
    fmt = str(opts.date_format)
    if not _usable_pattern(fmt):
        raise FileRefused(
            "F_OPTIONS",
            f"The date format {fmt!r} is neither one of dayfirst, monthfirst or iso nor a date "
            "pattern such as %d/%m/%Y %H:%M (with at least a day, a month and a year).",
        )
    return (fmt,), "explicit"


@functools.lru_cache(maxsize=32)
def _usable_pattern(fmt: str) -> bool:
    """A strptime pattern with a day, a month and a year that reads back what it writes."""
    if not ("%d" in fmt and ("%m" in fmt or "%b" in fmt or "%B" in fmt)):
        return False
    if "%Y" not in fmt and "%y" not in fmt:
        return False
    sample = datetime(2024, 11, 23, 14, 35, 56, tzinfo=UTC)
    try:
        return datetime.strptime(sample.strftime(fmt), fmt).date() == sample.date()
    except ValueError:
        return False


def _dates(
    raw: pd.Series,
    col: str,
    opts: ReadOptions,
    rejects: _Rejects,
    report: dict[str, Any],
    *,
    file_name: str,
    defining: bool = True,
) -> pd.Series:
    """Parse one date column with a format chosen for the column, localised to Europe/London.

    A value that does not read is ``E_DATE_FORMAT`` in a column that defines the row
    (``defining``), else ``W_DATE_FORMAT`` (the value is left empty, the row kept).
    """
    values = raw
    present = values.dropna()
    out_dtype = f"datetime64[ns, {S.TIMEZONE}]"
    if present.empty:
        return pd.Series(pd.NaT, index=raw.index, dtype=out_dtype)
    formats, family = _date_family(opts)
    if len(present) > _DATE_SAMPLE:
        sample = present.iloc[np.linspace(0, len(present) - 1, _DATE_SAMPLE).astype(int)]
    else:
        sample = present
    serial = _excel_serials(values, sample, forced=family == "excel")
    if serial is not None:  # Excel day numbers; any text dates among them read as usual
        serial_mask = serial.notna().to_numpy(bool)
        values = values.mask(serial_mask)
        present = values.dropna()
        sample = present.iloc[:_DATE_SAMPLE]
        if family == "excel" or present.empty:
            formats = (EXCEL_SERIAL,)
    if formats == (EXCEL_SERIAL,):
        fmt = EXCEL_SERIAL
        parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    else:
        fmt, _ = _try_formats(sample, formats)
        assert fmt is not None
        parsed = _parse_with(values, fmt)
    failed = values.notna() & parsed.isna()
    if failed.any():  # "n/a", "null", "-" … mean no date
        tokens = failed & values.str.lower().isin(_NULL_TOKENS)
        if tokens.any():
            values = values.mask(tokens)
            failed = failed & ~tokens
    extra: list[str] = []
    if failed.any():
        for other in _plausible_formats(values[failed], formats):
            if other in (fmt, EXCEL_SERIAL) or not failed.any():
                continue
            retry = _parse_with(values[failed], other)
            ok = retry.notna()
            if ok.any():
                if isinstance(parsed.dtype, pd.DatetimeTZDtype) != isinstance(
                    retry.dtype, pd.DatetimeTZDtype
                ):
                    continue
                parsed[ok[ok].index] = retry[ok]
                extra.append(other)
                failed = values.notna() & parsed.isna()
        if family == "dayfirst" and failed.any():
            # A column that reads better month-first is refused, never silently swapped.
            mf_fmt, mf_ok = _try_formats(present, _MONTHFIRST_FORMATS)
            df_ok = int(parsed.notna().sum())
            if mf_ok > df_ok:
                example = str(values[failed].iloc[0])
                raise FileRefused(
                    "F_DATE_MONTHFIRST",
                    f"The dates in column {col!r} of {file_name} look month-first (US style, "
                    f"e.g. {example!r} only makes sense as month/day/year: {mf_ok} of "
                    f"{len(present)} values read as {mf_fmt}, only {df_ok} as day-first). "
                    "UK extracts are read day-first. If this file really is month-first, "
                    "load it again with the date format set to month first (command line: "
                    '--date-format monthfirst; Load data page: Date format "Month first"; '
                    'Python: ReadOptions(date_format="monthfirst")).',
                )
    if serial is not None and fmt != EXCEL_SERIAL:
        extra.append(EXCEL_SERIAL)
    report["date_formats"][col] = fmt
    if extra:
        report.setdefault("date_formats_extra", {})[col] = extra
    if serial is not None:
        serial_mask = serial.notna().to_numpy(bool)
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.astype(out_dtype)
            parsed[serial_mask] = _localise(serial)[0][serial_mask]
        else:
            parsed = parsed.where(~serial_mask, serial)
        failed = failed & ~serial_mask
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        local = parsed.astype(out_dtype)
    else:
        local, ambiguous, nonexistent = _localise(parsed)
        rejects.add(ambiguous, col, "W_DST_AMBIGUOUS", raw)
        rejects.add(nonexistent, col, "W_DST_NONEXISTENT", raw)
    rule = "E_DATE_FORMAT" if defining else "W_DATE_FORMAT"
    if failed.any():
        message = _date_message(col, fmt, extra, raw[failed]) + (
            "" if defining else " Left empty; the case is kept."
        )
        rejects.add(failed, col, rule, raw, message)
    return local


def date_option(fmt: str) -> str:
    """How to ask for a date format on the command line (``--date-format …``).

    Examples
    --------
    >>> date_option("%d/%m/%y %H:%M"), date_option("ISO8601"), date_option("excel-serial")
    ('--date-format "%d/%m/%y %H:%M"', '--date-format iso', '--date-format excel')
    """
    if fmt == "ISO8601" or fmt in _ISO_FORMATS:
        return "--date-format iso"
    if fmt == EXCEL_SERIAL:
        return "--date-format excel"
    if fmt in _MONTHFIRST_FORMATS:
        return "--date-format monthfirst"
    if fmt in _MONTH_ONLY_FORMATS:
        return "--date-format dayfirst"
    return f'--date-format "{fmt}"'


_ALL_FORMATS: Final[tuple[str, ...]] = (
    _ISO_FORMATS + _DAYFIRST_FORMATS + _MONTHFIRST_FORMATS + _MONTH_ONLY_FORMATS
)


def _suggest_format(values: pd.Series) -> str | None:
    """The format that reads most of these (failing) values, from every family; None if none."""
    sample = values.dropna().iloc[:200]
    if sample.empty:
        return None
    if _excel_serials(sample, sample) is not None:
        return EXCEL_SERIAL
    fmt, ok = _try_formats(sample, _ALL_FORMATS)
    return fmt if ok > 0 else None


def _date_message(col: str, fmt: str, extra: list[str], failing: pd.Series | None = None) -> str:
    shown = " or ".join(_strftime_plain(f) for f in [fmt, *extra])
    text = f"{col} is not a date in the format used by this column ({shown})."
    other = _suggest_format(failing) if failing is not None else None
    if other is not None and other != fmt and other not in extra:
        return (
            f"{text} Values like this read as {_strftime_plain(other)}: if the whole column is "
            f"written so, load the file with {date_option(other)}."
        )
    return (
        f"{text} The rest of the column reads with {date_option(fmt)}; this value reads with none."
    )


def _strftime_plain(fmt: str) -> str:
    """A format as people write it ("DD/MM/YY HH:MM").

    Examples
    --------
    >>> _strftime_plain("%d-%b-%Y %H:%M"), _strftime_plain("ISO8601")
    ('DD-Mon-YYYY HH:MM', 'ISO 8601 (YYYY-MM-DD)')
    """
    if fmt == "ISO8601":
        return "ISO 8601 (YYYY-MM-DD)"
    if fmt == EXCEL_SERIAL:
        return "Excel day numbers"
    words = {
        "%d": "DD",
        "%m": "MM",
        "%Y": "YYYY",
        "%y": "YY",
        "%H": "HH",
        "%I": "hh",
        "%M": "MM",
        "%S": "SS",
        "%b": "Mon",
        "%B": "Month",
        "%p": "AM/PM",
    }
    return re.sub(r"%[a-zA-Z]", lambda m: words.get(m.group(), m.group()), fmt)


def _excel_serials(
    values: pd.Series, sample: pd.Series, *, forced: bool = False
) -> pd.Series | None:
    """Excel serial day numbers (``45358.58`` = 7 March 2024 14:00) as naive wall times.

    Used when at least half of the column's sample are numbers in 1 January 2000 to 2099
    (:data:`_EXCEL_RANGE`; Excel's day 0 is 30 December 1899), or ``forced``. Values that are
    not such numbers are NaT. None when the column is not one of serial numbers.
    """
    if sample.empty:
        return None
    pattern = r"^\d{5}(?:\.\d+)?$"
    looks = sample.str.fullmatch(pattern).fillna(False)
    if not forced and looks.mean() < 0.5:
        return None
    numbers = pd.to_numeric(
        values.where(values.str.fullmatch(pattern).fillna(False)), errors="coerce"
    )
    lo, hi = _EXCEL_RANGE
    numbers = numbers.where((numbers >= lo) & (numbers < hi))
    if not forced and numbers.notna().sum() == 0:
        return None
    seconds = (numbers * 86400).round()
    out = _EXCEL_EPOCH + pd.to_timedelta(seconds, unit="s")
    return out.astype("datetime64[ns]")


def _check_date_range(
    values: pd.Series,
    col: str,
    raw: pd.Series,
    rejects: _Rejects,
    now: pd.Timestamp,
    *,
    future: bool = True,
    defining: bool = True,
    fmt: str | None = None,
) -> np.ndarray:
    """Date range rules; returns the mask of values out of range (to blank when not defining)."""
    prefix = "E_" if defining else "W_"
    old = (values < EARLIEST).fillna(False).to_numpy(bool)
    message = None
    if old.any() and fmt:
        message = (
            f"{col} is before 1 January 2000 as the column is read ({_strftime_plain(fmt)}, "
            f"{date_option(fmt)}): a placeholder, or a different format"
            + (" (left empty; the case is kept)." if not defining else ".")
        )
    rejects.add(old, col, prefix + "DATE_TOO_OLD", raw, message)
    bad = old
    if future:
        ahead = (values > now).fillna(False).to_numpy(bool)
        rejects.add(ahead, col, prefix + "DATE_FUTURE", raw)
        bad = bad | ahead
    return bad


def _coordinate_pair(
    txt: _Cols, first: str, second: str, rejects: _Rejects
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Parse two coordinate columns (lat/lon or easting/northing) as numbers.

    A value that is not a number, and a pair with only one half given (reported on ``first``),
    are ``E_COORD_INVALID``. Returns both numeric series and both raw text series.
    """
    raw_a, raw_b = txt(first), txt(second)
    a, bad_a = _numbers(raw_a)
    b, bad_b = _numbers(raw_b)
    rejects.add(bad_a, first, "E_COORD_INVALID", raw_a)
    rejects.add(bad_b, second, "E_COORD_INVALID", raw_b)
    half = (a.isna() ^ b.isna()).to_numpy(bool) & ~bad_a & ~bad_b
    rejects.add(half, first, "E_COORD_INVALID", raw_a)
    return a, b, raw_a, raw_b


def _coordinates(
    frame: pd.DataFrame, opts: ReadOptions, rejects: _Rejects, report: dict[str, Any]
) -> dict[str, pd.Series]:
    txt = _Cols(frame)
    n = len(frame)
    out: dict[str, pd.Series] = {
        c: pd.Series(np.nan, index=frame.index, dtype="float64")
        for c in ("latitude", "longitude", "easting", "northing")
    }
    systems: list[str] = []
    cols = set(frame.columns)
    if {"_x", "_y"} <= cols:
        x, bad_x = _numbers(txt("_x"))
        y, bad_y = _numbers(txt("_y"))
        if x.abs().median() <= 180 and y.abs().median() <= 90:
            frame = frame.rename(columns={"_x": "longitude", "_y": "latitude"})
            report["coordinate_note"] = "X/Y read as longitude/latitude (values in degrees)"
        else:
            frame = frame.rename(columns={"_x": "easting", "_y": "northing"})
            report["coordinate_note"] = "X/Y read as British National Grid easting/northing"
        cols = set(frame.columns)
        txt = _Cols(frame)
    if {"latitude", "longitude"} & cols:
        lat, lon, raw_lat, raw_lon = _coordinate_pair(txt, "latitude", "longitude", rejects)
        if opts.bounds is not None:
            la0, la1, lo0, lo1 = opts.bounds
            inside = lat.between(la0, la1) & lon.between(lo0, lo1)
            swapped = ~inside & lon.between(la0, la1) & lat.between(lo0, lo1)
            sw = swapped.to_numpy(bool)
            if sw.any():
                lat, lon = lat.where(~swapped, lon), lon.where(~swapped, lat)
                rejects.add(sw, "latitude", "W_COORD_SWAPPED", raw_lat)
            outside = lat.notna() & lon.notna() & ~(lat.between(la0, la1) & lon.between(lo0, lo1))
            if outside.any():
                both = raw_lat.fillna("") + "," + raw_lon.fillna("")
                rejects.add(outside.to_numpy(bool), "latitude", "E_COORD_RANGE", both)
        out["latitude"], out["longitude"] = lat, lon
        systems.append("wgs84")
    if {"easting", "northing"} & cols:
        east, north, raw_e, raw_n = _coordinate_pair(txt, "easting", "northing", rejects)
        e0, e1, n0, n1 = BNG_BOUNDS
        outside = east.notna() & north.notna() & ~(east.between(e0, e1) & north.between(n0, n1))
        if outside.any():
            both = raw_e.fillna("") + "," + raw_n.fillna("")
            rejects.add(outside.to_numpy(bool), "easting", "E_COORD_RANGE", both)
        out["easting"], out["northing"] = east, north
        fill = (east.notna() & north.notna() & ~outside).to_numpy(bool) & out[
            "latitude"
        ].isna().to_numpy(bool)
        if fill.any():
            lon_f, lat_f = _bng_transformer().transform(
                east.to_numpy(float)[fill], north.to_numpy(float)[fill]
            )
            lat_all = out["latitude"].to_numpy(float, copy=True)
            lon_all = out["longitude"].to_numpy(float, copy=True)
            lat_all[fill], lon_all[fill] = lat_f, lon_f
            out["latitude"] = pd.Series(lat_all, index=frame.index)
            out["longitude"] = pd.Series(lon_all, index=frame.index)
        systems.append("bng")
    report["coordinates"] = "+".join(systems) if systems else "none"
    del n
    return out


@functools.lru_cache(maxsize=1)
def _bng_transformer() -> Any:
    from pyproj import Transformer

    return Transformer.from_crs(27700, 4326, always_xy=True)


def _enum(
    raw: pd.Series, lookup: Mapping[str, str], fallback: bool = False
) -> tuple[pd.Series, np.ndarray]:
    mapped, unmapped = _map_labels(raw, lookup, fallback_raw=fallback, prefixes=fallback)
    return mapped.astype("str"), unmapped.to_numpy(bool)


def _total_rows(
    frame: pd.DataFrame, candidates: np.ndarray, columns: tuple[str, ...]
) -> np.ndarray:
    """Rows among candidates where any text column starts with 'Total' / 'Grand total'."""
    hit = np.zeros(len(frame), dtype=bool)
    if not candidates.any():
        return hit
    idx = np.flatnonzero(candidates)
    for col in columns:
        if col in frame:
            sub = frame[col].iloc[idx].astype("str")
            hit[idx] |= _regex_mask(sub, _TOTAL_RE)
    return hit


def _all_distinct(arr: Any) -> bool:
    """True when the values (no nulls) are all different; cheap when they are in sorted order."""
    import pyarrow.compute as pc

    if arr.null_count == 0 and len(arr) > 1:
        # Extracts are usually sorted by id: strictly increasing values are all distinct, and
        # comparing neighbours is far cheaper than hashing a million strings.
        if pc.all(pc.less(arr[:-1], arr[1:])).as_py():
            return True
    return len(pc.unique(arr)) == len(arr)


DUPLICATE_NEWEST: Final[str] = (
    "Another row has the same id; the row with the newest updated_at was kept."
)
DUPLICATE_LAST: Final[str] = "Another row has the same id; the last one in the file was kept."


def _dedupe(
    keys: pd.DataFrame,
    order_by: pd.Series | None,
    rejects: _Rejects,
    values: pd.Series,
    col: str,
    last_message: str = DUPLICATE_LAST,
) -> None:
    """Among rows without errors, keep the newest per key (by order_by, then file order).

    ``last_message`` is the reason given where file order decided (what the key is named).
    """

    ok = ~rejects.bad
    sub = keys if ok.all() else keys[ok]
    if sub.shape[1] == 1 and _all_distinct(_pa(sub.iloc[:, 0])):
        return  # fast path: every id is distinct
    dup_any = sub.duplicated(keep=False)
    if not dup_any.any():
        return
    cand = sub[dup_any.to_numpy(bool)].copy()
    cand["_pos"] = np.flatnonzero(ok)[dup_any.to_numpy(bool)]
    sort_cols = ["_pos"]
    if order_by is not None:
        cand["_when"] = order_by.iloc[cand["_pos"].to_numpy()].to_numpy()
        sort_cols = ["_when", "_pos"]
    cand = cand.sort_values(sort_cols, na_position="first", kind="stable")
    lost = cand.duplicated(subset=list(keys.columns), keep="last")
    # the message says how the kept row was chosen: by updated_at where the key's rows have
    # one, else by file order
    by_when = (
        cand.groupby(list(keys.columns), sort=False, dropna=False)["_when"].transform(
            lambda s: s.notna().any()
        )
        if order_by is not None
        else pd.Series(False, index=cand.index)
    ).astype(bool)
    for chosen, rule_msg in ((by_when, DUPLICATE_NEWEST), (~by_when, last_message)):
        mask = np.zeros(len(keys), dtype=bool)
        mask[cand.loc[lost & chosen, "_pos"].to_numpy()] = True
        rejects.add(mask, col, "E_DUPLICATE_ID", values, rule_msg)


# ---------------------------------------------------------------------------------------------
# Per-kind assembly
# ---------------------------------------------------------------------------------------------


def _empty_like(index: pd.Index, dtype: str) -> pd.Series:
    return pd.Series(pd.NA if dtype == "str" else np.nan, index=index, dtype=dtype)


def _cases(
    kind: str,
    frame: pd.DataFrame,
    lines: np.ndarray,
    opts: ReadOptions,
    report: dict[str, Any],
    file_name: str,
    now: pd.Timestamp,
) -> tuple[pd.DataFrame, _Rejects]:
    txt = _Cols(frame)
    values = load_value_map()
    out: dict[str, pd.Series] = {}
    case_id = txt("case_id")
    rejects = _Rejects(lines, case_id.fillna(""))
    out["case_id"] = case_id

    label_cols = (
        "case_id",
        "category",
        "ward_name",
        "ward_code",
        "street",
        "status",
        "offence",
        "action",
    )
    blank_or_total = (case_id.isna() | _regex_mask(case_id, _TOTAL_RE)).to_numpy(bool)
    total = _total_rows(frame, blank_or_total, label_cols)
    # A row with no id, no date and no label but some numbers is a sums row.
    start_col = "reported_at" if kind == "cleansing" else "issued_at"
    label_col = "category" if kind == "cleansing" else "action"
    sums_only = (case_id.isna() & txt(start_col).isna() & txt(label_col).isna()).to_numpy(bool)
    total |= sums_only
    rejects.add(total, "case_id", "E_TOTAL_ROW", case_id)
    rejects.add(
        blank_or_total & ~total,
        "case_id",
        "E_REQUIRED",
        case_id,
        "case_id is empty: every row needs its own reference.",
    )

    end_col = "closed_at" if kind == "cleansing" else "outcome_at"
    for col in (start_col, end_col, "updated_at"):
        raw = txt(col)
        if col in frame:
            defining = col == start_col  # row policy: only the start date defines the case
            parsed = _dates(raw, col, opts, rejects, report, file_name=file_name, defining=defining)
            bad = _check_date_range(
                parsed,
                col,
                raw,
                rejects,
                now,
                defining=defining,
                fmt=report["date_formats"].get(col),
            )
            if not defining and bad.any():
                parsed = parsed.mask(bad)
            out[col] = parsed
        else:
            out[col] = pd.Series(pd.NaT, index=frame.index, dtype=f"datetime64[ns, {S.TIMEZONE}]")
    raw_start = txt(start_col)
    rejects.add(
        raw_start.isna().to_numpy(bool) & ~blank_or_total,
        start_col,
        "E_REQUIRED",
        raw_start,
        f"{start_col} is empty.",
    )
    # "n/a", "unknown", "-" … mean no date: fine where a date may be missing, not here
    placeholder = raw_start.str.lower().isin(_NULL_TOKENS).to_numpy(bool)
    rejects.add(
        placeholder & ~blank_or_total,
        start_col,
        "E_REQUIRED",
        raw_start,
        f"{start_col} is a placeholder for no date: every row needs one.",
    )
    # Row policy: an end date before the start keeps the case. On the same local day it is kept
    # as supplied (a clock or data-entry slip, common in CRM exports; the metrics count such a
    # case but not as a valid closure), and only counted in the report; days before, the end
    # date is left empty with a warning.
    order = (out[end_col] < out[start_col]).fillna(False).to_numpy(bool)
    blanked_end = np.zeros(len(frame), dtype=bool)
    if order.any():
        same_day = (out[end_col].dt.normalize() == out[start_col].dt.normalize()).fillna(
            False
        ).to_numpy(bool) & order
        if same_day.any():
            report["end_before_start_same_day"] = int(same_day.sum())
        days = order & ~same_day
        rejects.add(
            days,
            end_col,
            "W_DATE_ORDER",
            txt(end_col),
            f"{end_col} is days before {start_col}: left empty, the case is kept.",
        )
        if days.any():
            out[end_col] = out[end_col].mask(days)
            blanked_end = days
    raw_end = txt(end_col)
    blanked_end = blanked_end | (
        raw_end.notna().to_numpy(bool) & out[end_col].isna().to_numpy(bool)
    )

    if kind == "cleansing":
        raw_cat = txt("category")
        cat, unmapped = _map_labels(raw_cat, _category_lookup(str(CATEGORY_MAP_PATH)))
        out["category"] = cat.fillna("other").astype("str")
        out["category_raw"] = raw_cat
        rejects.add(unmapped.to_numpy(bool), "category", "W_UNMAPPED_CATEGORY", raw_cat)

        raw_status = txt("status")
        status, unknown = _enum(raw_status, values["status"])
        rejects.add(unknown, "status", "W_UNKNOWN_STATUS", raw_status)
        missing = status.isna().to_numpy(bool)
        if missing.any():
            closed = out["closed_at"].notna().to_numpy(bool)
            filled = status.to_numpy(dtype=object, na_value=None)
            filled[missing] = np.where(closed[missing], "closed", "open")
            status = pd.Series(filled, index=frame.index, dtype="str")
        out["status"] = status
        if "status" not in frame:
            report["status_inferred"] = True
        no_date = ((out["status"] == "closed") & out["closed_at"].isna()).to_numpy(bool)
        # a closed date left empty by the row policy has its own warning already
        rejects.add(no_date & ~blanked_end, "closed_at", "W_CLOSED_NO_DATE", raw_status)
        out["street"] = txt("street")
        out["size"] = txt("size")
        out["channel"] = txt("channel")
        money_col = "cost_gbp"
    else:
        raw_action = txt("action")
        action, unknown = _enum(raw_action, values["action"], fallback=True)
        rejects.add(
            unknown,
            "action",
            "E_UNKNOWN_VALUE",
            raw_action,
            "action is not a recognised enforcement action (see data/value_map.csv).",
        )
        rejects.add(
            raw_action.isna().to_numpy(bool) & ~blank_or_total,
            "action",
            "E_REQUIRED",
            raw_action,
            "action is empty.",
        )
        out["action"] = action
        raw_off = txt("offence")
        offence, unknown = _enum(raw_off, values["offence"], fallback=True)
        rejects.add(unknown, "offence", "W_UNMAPPED_OFFENCE", raw_off)
        out["offence"] = offence.fillna("other").astype("str")
        raw_out = txt("outcome")
        outcome, unknown = _enum(raw_out, values["outcome"], fallback=True)
        rejects.add(unknown, "outcome", "W_UNKNOWN_OUTCOME", raw_out)
        out["outcome"] = outcome
        out["linked_case_id"] = txt("linked_case_id")
        money_col = "amount_gbp"

    raw_money = txt(money_col)
    money, bad = _numbers(raw_money)
    decimal_comma = raw_money.str.fullmatch(r"[£\s]*-?\d+,\d{1,2}").fillna(False).to_numpy(bool)
    rejects.add(
        bad & ~decimal_comma,
        money_col,
        "W_NUMBER",
        raw_money,
        f"{money_col} is not an amount in pounds: left empty, the case is kept.",
    )
    rejects.add(
        bad & decimal_comma,
        money_col,
        "W_NUMBER",
        raw_money,
        f"{money_col} has a decimal comma (12,50), which could also be a thousands separator: "
        "left empty, the case is kept. Export amounts with a decimal point.",
    )
    negative = (money < 0).fillna(False).to_numpy(bool)
    rejects.add(negative, money_col, "W_NEGATIVE", raw_money)
    out[money_col] = money.mask(negative)

    out.update(_coordinates(frame, opts, rejects, report))
    out["ward_code"] = txt("ward_code").str.upper()
    out["ward_name"] = txt("ward_name")

    _dedupe(
        pd.DataFrame({"case_id": case_id}),
        out["updated_at"] if "updated_at" in frame else None,
        rejects,
        case_id,
        "case_id",
    )
    if kind == "cleansing":  # labels of the rows kept, duplicates that lost left out
        counts = out["category_raw"][unmapped.to_numpy(bool) & ~rejects.bad].value_counts()
        report["unmapped_categories"] = {str(k): int(v) for k, v in counts.items()}
    columns = S.CLEANSING_COLUMNS if kind == "cleansing" else S.ENFORCEMENT_COLUMNS
    return pd.DataFrame({c: out[c] for c in columns}), rejects


def _spend(
    frame: pd.DataFrame,
    lines: np.ndarray,
    opts: ReadOptions,
    report: dict[str, Any],
    file_name: str,
) -> tuple[pd.DataFrame, _Rejects]:
    txt = _Cols(frame)
    values = load_value_map()
    raw_ward = txt("ward_code")
    rejects = _Rejects(lines, pd.Series("", index=frame.index, dtype="str"))
    citywide, _ = _map_labels(raw_ward, values["citywide"], fallback_raw=False)
    ward = raw_ward.where(citywide.isna(), S.CITYWIDE)
    code_like = ward.str.match(r"^[A-Za-z]\d{8}$").fillna(False)
    ward = ward.where(~code_like, ward.str.upper())
    label_cols = ("ward_code", "programme", "service", "period_start")
    total = _total_rows(frame, np.ones(len(frame), dtype=bool), label_cols)
    area = ward.str.match(_AREA_CODE_RE).fillna(False).to_numpy(bool) & ~total
    rejects.add(total, "ward_code", "E_TOTAL_ROW", raw_ward)
    rejects.add(
        area,
        "ward_code",
        "E_TOTAL_ROW",
        raw_ward,
        "This is a local-authority or region code, not a ward: use 'citywide' for "
        "spend that covers the whole city.",
    )
    rejects.add(
        raw_ward.isna().to_numpy(bool),
        "ward_code",
        "E_REQUIRED",
        raw_ward,
        "ward_code is empty: give a ward code or 'citywide'.",
    )

    raw_start = txt("period_start")
    start = _dates(raw_start, "period_start", opts, rejects, report, file_name=file_name)
    rejects.add(
        raw_start.isna().to_numpy(bool) & ~total,
        "period_start",
        "E_REQUIRED",
        raw_start,
        "period_start is empty.",
    )
    _check_date_range(
        start,
        "period_start",
        raw_start,
        rejects,
        opts.now or pd.Timestamp.now(tz=S.TIMEZONE),
        future=False,
    )
    raw_end = txt("period_end")
    if "period_end" in frame:
        end = _dates(raw_end, "period_end", opts, rejects, report, file_name=file_name)
    else:
        end = pd.Series(pd.NaT, index=frame.index, dtype=start.dtype)
    default_end = (start.dt.tz_localize(None) + pd.offsets.MonthEnd(0)).dt.normalize()
    default_end = default_end.dt.tz_localize(S.TIMEZONE)
    defaulted = end.isna() & start.notna()
    if defaulted.any():
        report["period_end_defaulted"] = int(defaulted.sum())
    end = end.where(~defaulted, default_end)
    order = (end < start).fillna(False).to_numpy(bool)
    rejects.add(order, "period_end", "E_DATE_ORDER", raw_end, "period_end is before period_start.")

    raw_service = txt("service")
    service, unknown = _enum(raw_service, values["service"])
    rejects.add(unknown, "service", "W_UNMAPPED_SERVICE", raw_service)
    raw_amount = txt("amount_gbp")
    amount, bad = _numbers(raw_amount)
    rejects.add(bad, "amount_gbp", "E_NUMBER", raw_amount, "amount_gbp is not an amount in pounds.")
    rejects.add((amount < 0).to_numpy(bool), "amount_gbp", "E_NEGATIVE", raw_amount)
    rejects.add(
        raw_amount.isna().to_numpy(bool) & ~total,
        "amount_gbp",
        "E_REQUIRED",
        raw_amount,
        "amount_gbp is empty.",
    )
    out = pd.DataFrame(
        {
            "ward_code": ward.astype("str"),
            "period_start": start,
            "period_end": end,
            "programme": txt("programme"),
            "service": service.fillna("other").astype("str"),
            "amount_gbp": amount,
        }
    )
    keys = out[["ward_code", "period_start", "period_end", "programme", "service"]].astype("str")
    _dedupe(
        keys,
        None,
        rejects,
        raw_ward,
        "ward_code",
        "Another row has the same ward, period, programme and service; the last one in the "
        "file was kept.",
    )
    return out[list(S.SPEND_COLUMNS)], rejects


def _population(
    frame: pd.DataFrame, lines: np.ndarray, opts: ReadOptions, report: dict[str, Any]
) -> tuple[pd.DataFrame, _Rejects]:
    txt = _Cols(frame)
    code = txt("ward_code").str.upper()
    name = txt("ward_name")
    rejects = _Rejects(lines, pd.Series("", index=frame.index, dtype="str"))
    total = _total_rows(frame, np.ones(len(frame), dtype=bool), ("ward_code", "ward_name"))
    area = code.str.match(_AREA_CODE_RE).fillna(False).to_numpy(bool) & ~total
    rejects.add(total, "ward_code", "E_TOTAL_ROW", code.fillna(name))
    rejects.add(
        area,
        "ward_code",
        "E_TOTAL_ROW",
        code,
        "This is a local-authority or region code (a total row), not a ward.",
    )
    rejects.add(
        (code.isna() & name.isna()).to_numpy(bool),
        "ward_code",
        "E_REQUIRED",
        code,
        "Neither ward_code nor ward_name is given.",
    )
    raw_pop = txt("population")
    pop, bad = _numbers(raw_pop)
    rejects.add(bad, "population", "E_NUMBER", raw_pop)
    rejects.add(
        raw_pop.isna().to_numpy(bool) & ~total,
        "population",
        "E_REQUIRED",
        raw_pop,
        "population is empty.",
    )
    _refuse_rate_column(frame, pop, report)
    frac = (pop.notna() & (pop != np.floor(pop))).to_numpy(bool)
    rejects.add(
        frac,
        "population",
        "E_NOT_INTEGER",
        raw_pop,
        "population must be a head count (a whole number), not a rate or density.",
    )
    rejects.add((pop < 0).to_numpy(bool), "population", "E_NEGATIVE", raw_pop)
    raw_year = txt("year")
    year, bad_year = _numbers(raw_year)
    bad_year = bad_year | (
        (year.notna()) & ((year != np.floor(year)) | ~year.between(1900, 2100))
    ).to_numpy(bool)
    rejects.add(bad_year, "year", "E_NOT_INTEGER", raw_year, "year is not a year such as 2021.")
    no_year = (raw_year.isna() | raw_year.str.lower().isin(_NULL_TOKENS)).to_numpy(bool)
    rejects.add(
        no_year & ~total,
        "year",
        "E_REQUIRED",
        raw_year,
        "year is empty or a placeholder: give the year of the population estimate, such as 2021.",
    )
    out = pd.DataFrame(
        {
            "ward_code": code,
            "ward_name": name,
            "population": pop.where(~frac & ~(pop < 0)).round().astype("Int64"),
            "year": year.where(~bad_year).round().astype("Int64"),
        }
    )
    keys = pd.DataFrame({"w": code.fillna(name.str.lower()), "y": out["year"].astype("str")})
    _dedupe(
        keys,
        None,
        rejects,
        code.fillna(name),
        "ward_code",
        "Another row has the same ward and year; the last one in the file was kept.",
    )
    return out[list(S.POPULATION_COLUMNS)], rejects


def _refuse_rate_column(frame: pd.DataFrame, pop: pd.Series, report: dict[str, Any]) -> None:
    """Refuse a population column that holds a percentage or a rate, judged by its values.

    Whole-ward head counts run to thousands; a column of three or more values that are all at
    most 100 with any fraction, or all at most 1, is a percentage, a share or a density of
    people per hectare, even when its header says "Population". (A column of small whole
    numbers is left alone: test files have them.)
    """
    values = pop.dropna()
    if len(values) < 3:
        return
    fractional = bool((values != np.floor(values)).any())
    if not ((values.max() <= 100 and fractional) or values.max() <= 1):
        return
    column = next((h for h, c in (report.get("columns") or {}).items() if c == "population"), "")
    likely, _ = headers.head_count_candidates(
        [h for h in report.get("ignored_columns") or () if h != column]
    )
    hint = (
        f" The head count is probably in {likely[0]!r}: load the file again with "
        f'--map "{likely[0]}=population".'
        if likely
        else " Load a table of usual residents per ward (ONS TS001) instead."
    )
    raise FileRefused(
        "F_NOT_HEAD_COUNT",
        f"The population column {column!r} holds percentages or rates (every value is "
        f"{values.max():g} or less, with fractions), not head counts.{hint}",
    )


def _max_bytes(arr: Any) -> int:
    """Longest value in bytes, from the Arrow offsets; a large number when it cannot tell."""
    import pyarrow as pa

    longest = 0
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        if not pa.types.is_large_string(chunk.type):
            return 1 << 62
        if len(chunk) == 0:
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)
        offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
        longest = max(longest, int(np.diff(offsets).max()))
    return longest


def _reject_too_long(frame: pd.DataFrame, rejects: _Rejects) -> None:
    """Reject rows with a value over :data:`MAX_CELL_CHARS` characters in any column read."""
    import pyarrow.compute as pc

    for col in frame.columns:
        if _max_bytes(_pa(frame[col])) <= MAX_CELL_CHARS:
            continue  # no value has more bytes, so none has more characters
        lengths = pc.utf8_length(_pa(frame[col].astype("str")))
        long = pc.fill_null(pc.greater(lengths, MAX_CELL_CHARS), False)
        if pc.any(long).as_py():
            name = {"_x": "x", "_y": "y"}.get(col, col)
            rejects.add(
                long.to_numpy(zero_copy_only=False),
                name,
                "E_TOO_LONG",
                frame[col].astype("str"),
                f"{name} is longer than {MAX_CELL_CHARS:,} characters: free text, or a damaged "
                "file (a missing quote or delimiter).",
            )


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def read_extract(data: bytes, name: str, kind: str, options: ReadOptions | None = None) -> Extract:
    """Read one extract into canonical columns plus a per-row rejects report.

    Parameters
    ----------
    data : bytes
        The file as uploaded (CSV, CSV in ``.gz``/``.zip``, or ``.xlsx``).
    name : str
        The file name, for messages and the report only (never opened as a path).
    kind : {"cleansing", "enforcement", "spend", "population"}
        What the file holds.
    options : ReadOptions, optional
        Overrides for encoding, delimiter, date format, column names, size limit.

    Returns
    -------
    Extract
        ``frame`` (accepted rows, canonical columns + ``source_line``), ``rejects`` and
        ``report``.

    Raises
    ------
    FileRefused
        When the whole file must be refused (see :data:`FILE_RULES`).

    Examples
    --------
    >>> ex = read_extract(
    ...     b"Case ID,Date Received,Request Type\\nC1,05/03/2024 14:22,Fly tipping\\n",
    ...     "cases.csv",
    ...     "cleansing",
    ... )
    >>> ex.frame.loc[0, "reported_at"].isoformat(), ex.frame.loc[0, "category"]
    ('2024-03-05T14:22:00+00:00', 'fly_tipping')
    >>> ex.report["date_formats"]
    {'reported_at': '%d/%m/%Y %H:%M'}
    """
    if kind not in LOADER_KINDS:
        raise ValueError(f"kind must be one of {LOADER_KINDS} (wards are read by geo)")
    opts = options or ReadOptions()
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("data must be bytes")
    _date_family(opts)  # a date format that is no format is refused before any reading
    data = bytes(data)
    report: dict[str, Any] = {
        "file_name": name,
        "kind": kind,
        "bytes": len(data),
        "encoding": None,
        "delimiter": None,
        "format": None,
        "columns": {},
        "ignored_columns": [],
        "dropped_personal_columns": [],
        "date_formats": {},
        "unmapped_categories": {},
        "rows_read": 0,
    }
    if re.search(rb"\S", data[:1_000_000]) is None and not data[1_000_000:].strip():
        raise FileRefused("F_EMPTY", f"{name} is empty.")
    payload, fmt = _unwrap(data, name, opts.max_bytes, report)
    if re.search(rb"\S", payload[:1_000_000]) is None and not payload[1_000_000:].strip():
        raise FileRefused("F_EMPTY", f"{name} is empty once decompressed.")
    if fmt == "xlsx":
        frame, lines = _read_xlsx(payload, opts, kind, report)
    else:
        frame, lines = _read_csv(payload, opts, kind, report)

    blank = np.ones(len(frame), dtype=bool)  # column by column: no 2-D stack of the frame
    for col in frame.columns:
        blank &= frame[col].isna().to_numpy(bool)
    if blank.any():
        report["blank_rows"] = int(blank.sum())
        frame = frame[~blank].reset_index(drop=True)
        lines = lines[~blank]
    if frame.empty:
        raise FileRefused("F_NO_ROWS", f"{name} has a header but no data rows.")
    report["rows_read"] = len(frame)
    now = opts.now if opts.now is not None else pd.Timestamp.now(tz=S.TIMEZONE)

    if kind in ("cleansing", "enforcement"):
        report["maps_digest"] = maps_digest()
        out, rejects = _cases(kind, frame, lines, opts, report, name, now)
    elif kind == "spend":
        out, rejects = _spend(frame, lines, opts, report, name)
    else:
        out, rejects = _population(frame, lines, opts, report)

    _reject_too_long(frame, rejects)
    keep = ~rejects.bad
    if keep.all():  # nothing rejected: the frame is already ours, no need to copy it
        out["source_line"] = lines
    else:
        out = out[keep].copy()
        out["source_line"] = lines[keep]
        out = out.reset_index(drop=True)
    rej = rejects.frame()
    report["rows_accepted"] = len(out)
    report["rows_rejected"] = int(rejects.bad.sum())
    report["rows_warned"] = int(rej.loc[rej["severity"] == "warning", "source_line"].nunique())
    report["rules"] = {str(k): int(v) for k, v in rej["rule"].value_counts().items()}
    return Extract(kind=kind, frame=out, rejects=rej, report=report)
