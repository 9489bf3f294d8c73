"""What a read is: limits, rule codes, the public types (FileRefused, ReadOptions, Extract), the rejects bookkeeping and small Arrow helpers.

Part of :mod:`neighbourhood.loaders` (see its docstring for the whole read path).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from neighbourhood import schemas as S
from neighbourhood.schemas import REJECT_COLUMNS

DATA_DIR: Final[Path] = Path(__file__).resolve().parents[2] / "data"


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

MAX_POPULATION: Final[int] = 1_000_000
"""Largest ward population accepted: the largest English ward has about 35,000 residents and
the largest city about 1.1 million, so more is a total row, a typo or a hostile file."""

MAX_AMOUNT_GBP: Final[float] = 1e9
"""Largest amount in pounds accepted in one row (cost, fine, spend): £1 billion is more than
any council spends on street cleansing in a year; more overflows sums and is never real."""
"""Longest value accepted in any column read (labels, ids, streets); longer rows are rejected."""
"""Longest value accepted in any column read (labels, ids, streets); longer rows are rejected."""


EARLIEST: Final[pd.Timestamp] = pd.Timestamp("2000-01-01", tz=S.TIMEZONE)


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
    "F_UNREADABLE": "The path could not be read: missing, no permission, or not a regular file.",
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
    "E_OUT_OF_RANGE": "The number is larger than any real value of this column.",
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


_NULL_TOKENS: Final[frozenset[str]] = frozenset(
    {"null", "none", "n/a", "na", "#n/a", "-", "--", "nil", "not known", "unknown"}
)


_TOTAL_RE: Final[str] = r"^\s*(?:grand\s+|sub\s*-?\s*)?totals?\b"


_WARD_CODE_RE: Final[str] = r"^(?:E05|W05|S13|N08)\d{6}$"


_AREA_CODE_RE: Final[str] = "^" + S.AREA_CODE_RE + "$"


_CONTROL_RE: Final[str] = r"[\x00-\x1f\x7f]"


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
    >>> from neighbourhood.loaders import read_extract
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
