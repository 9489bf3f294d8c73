"""Upload page helpers: dry-run preview with corrections, the load itself, and the results.

The pure parts (sampling a big file for the preview, turning the analyst's corrections into
``ReadOptions``, escaping file-supplied text for Markdown) are unit-tested without Streamlit;
the drawing functions keep ``pages/4_Upload.py`` thin.
"""

from __future__ import annotations

import gzip
import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd
import streamlit as st

from neighbourhood import schemas
from ui import components
from ui.format import MISSING, percent
from ui.text import md

_LOG = logging.getLogger(__name__)

KIND_LABELS: Final[dict[str, str]] = {
    "cleansing": "Street-cleansing cases",
    "enforcement": "Enforcement cases",
    "spend": "Spend",
    "wards": "Ward boundaries",
    "population": "Ward population",
}
#: Kinds loaded only from the command line, labelled in the ingest log (not offered for upload).
LOG_ONLY_KIND_LABELS: Final[dict[str, str]] = {"la-returns": "DEFRA fly-tipping returns"}
TABLE_TYPES: Final[list[str]] = ["csv", "gz", "xlsx"]
BOUNDARY_TYPES: Final[list[str]] = ["geojson", "json", "gpkg", "zip"]

ENCODINGS: Final[dict[str | None, str]] = {
    None: "Detect automatically",
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM (Excel 'CSV UTF-8')",
    "cp1252": "Windows-1252 (older Excel 'CSV')",
    "latin-1": "Latin-1 (ISO-8859-1)",
}
DELIMITERS: Final[dict[str | None, str]] = {
    None: "Detect automatically",
    ",": "Comma ( , )",
    ";": "Semicolon ( ; )",
    "\t": "Tab",
    "|": "Pipe ( | )",
}
DATE_FORMATS: Final[dict[str | None, str]] = {
    None: "Detect (UK: day first)",
    "dayfirst": "Day first (31/01/2024)",
    "monthfirst": "Month first (01/31/2024)",
    "iso": "Year first, ISO (2024-01-31)",
}
IGNORE: Final[str] = "(not used)"
#: Keys of a file's options dict that are for the page, not ``ReadOptions``.
PAGE_ONLY_OPTIONS: Final[frozenset[str]] = frozenset({"save_profile"})
AUTO: Final[str] = "(detect automatically)"
PREVIEW_BYTES: Final[int] = 8 * 1024 * 1024
PREVIEW_ROWS: Final[int] = 20
PREVIEW_PROBLEMS: Final[int] = 200


# --- pure helpers -----------------------------------------------------------------------------


def allowed_types(kind: str) -> list[str]:
    """File extensions the uploader accepts for a kind (``gz`` covers ``.csv.gz``)."""
    return BOUNDARY_TYPES if kind == "wards" else TABLE_TYPES


def canonical_columns(kind: str) -> tuple[str, ...]:
    """The canonical column names an analyst may map a file's header onto."""
    return {
        "cleansing": schemas.CLEANSING_COLUMNS,
        "enforcement": schemas.ENFORCEMENT_COLUMNS,
        "spend": schemas.SPEND_COLUMNS,
        "population": schemas.POPULATION_COLUMNS,
    }.get(kind, ())


def plain(text: Any, limit: int = 300) -> str:
    """File-supplied text, cut to ``limit`` characters, made safe inside Markdown (st.error,
    st.status labels): :func:`ui.text.md`, the one escaping rule."""
    return md(text, limit)


def preview_sample(data: bytes, name: str, limit: int = PREVIEW_BYTES) -> tuple[bytes, str, bool]:
    """The bytes to dry-run for the preview: the whole file, or its first ``limit`` bytes.

    A ``.gz`` file is decompressed up to ``limit`` (the name loses ``.gz``); a plain text file is
    cut at the last line break within ``limit``. XLSX and boundary files are never cut.

    Returns
    -------
    (sample, name, truncated)
    """
    lower = name.lower()
    if lower.endswith(".gz"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                head = fh.read(limit + 1)
        except (OSError, EOFError):
            return data, name, False  # let the loader refuse it with its own reason
        if len(head) <= limit:
            return head, name[:-3], False
        data, name = head, name[:-3]
        lower = name.lower()
    if len(data) <= limit or not lower.endswith((".csv", ".txt", ".tsv")):
        return data, name, False
    cut = data.rfind(b"\n", 0, limit)
    return (data[: cut + 1] if cut > 0 else data[:limit]), name, True


def field_choices(kind: str) -> list[str]:
    """The fields an analyst may map a column onto, by their plain names ("case reference")."""
    from neighbourhood.headers import plain_field

    return [plain_field(kind, c) for c in canonical_columns(kind)]


def field_help(kind: str) -> str:
    """Help text pairing each plain field name with the internal one the store uses.

    Examples
    --------
    >>> field_help("population")
    'Fields (name in the store): ward code (ward_code), ward name (ward_name), population (population), year (year)'
    """
    from neighbourhood.headers import plain_field

    pairs = ", ".join(f"{plain_field(kind, c)} ({c})" for c in canonical_columns(kind))
    return f"Fields (name in the store): {pairs}"


def mapping_table(report: dict[str, Any], kind: str | None = None) -> pd.DataFrame:
    """The loader's detected header mapping as an editable table (file column → field).

    With ``kind`` the fields are given by their plain names, and a ``why`` column says why each
    column not used was left out (``report["ignored_why"]``).
    """
    from neighbourhood.headers import plain_field

    columns = dict(report.get("columns") or {})
    for raw in report.get("ignored_columns") or ():
        columns.setdefault(str(raw), None)
    shown = [
        (plain_field(kind, v) if kind and v and not v.startswith("_") else v) if v else IGNORE
        for v in columns.values()
    ]
    table = pd.DataFrame({"file_column": [str(k) for k in columns], "use_as": shown})
    if kind:
        why = report.get("ignored_why") or {}
        table["why"] = [str(why.get(k, "")) for k in table["file_column"]]
    return table


def header_table(header: list[str]) -> pd.DataFrame:
    """An editable mapping for a file the loader refused: every column left to detection."""
    return pd.DataFrame({"file_column": [str(h) for h in header], "use_as": [AUTO] * len(header)})


def raw_header(data: bytes, name: str, encoding: str | None, delimiter: str | None) -> list[str]:
    """The header row of a CSV file, read plainly (for correcting a refused file's columns).

    Returns ``[]`` for Excel, zip or anything that does not decode.
    """
    import csv

    if name.lower().endswith((".xlsx", ".zip")) or data[:2] == b"PK":
        return []
    text = None
    for enc in [encoding] if encoding else ["utf-8-sig", "cp1252"]:
        try:
            text = data[:65536].decode(enc, errors="strict")
            break
        except (UnicodeDecodeError, LookupError):
            continue
    if not text or not text.strip():
        return []
    line = text.lstrip("\ufeff").splitlines()[0]
    delim = delimiter or max(",;\t|", key=line.count)
    return [h.strip() for h in next(csv.reader([line], delimiter=delim), []) if h.strip()]


def column_map_from_table(edited: pd.DataFrame, detected: pd.DataFrame) -> dict[str, str] | None:
    """The analyst's changes as ``ReadOptions.column_map``, or ``None`` when nothing changed.

    Only changed rows are passed (the loader's aliases handle the rest): "(not used)" maps to
    ``""`` (ignore the column) and "(detect automatically)" is left out.
    """
    if edited is None or len(edited) != len(detected):
        return None
    out: dict[str, str] = {}
    for raw, use, before in zip(
        edited["file_column"], edited["use_as"], detected["use_as"], strict=True
    ):
        if use is None or pd.isna(use) or use == before or use == AUTO:
            continue
        out[str(raw)] = "" if use == IGNORE else str(use)
    return out or None


def options_key(options: dict[str, Any]) -> tuple:
    """A hashable key for a set of read options (for memoising dry runs)."""
    cmap = options.get("column_map") or {}
    saved = options.get("saved_map") or {}
    return (
        options.get("encoding"),
        options.get("delimiter"),
        options.get("date_format"),
        tuple(sorted(cmap.items())),
        tuple(sorted(saved.items())),
    )


# --- plain words -------------------------------------------------------------------------------

_GDAL_AT = re.compile(r"At line (\d+), character (\d+): ([^;]+)")


def boundary_reason(exc: BaseException) -> str:
    """Why a boundary file was refused, in plain words, with the reader's own reason.

    ``geo.BoundaryRefused`` keeps only the first part of GDAL's message ("Failed to read
    GeoJSON data"); the useful part ("At line 6, character 549: Unterminated object") is in the
    exception it was raised from, so the whole chain is read.

    Examples
    --------
    >>> from neighbourhood.geo import BoundaryRefused
    >>> boundary_reason(BoundaryRefused("empty", "The boundary file is empty (0 bytes)."))
    'The boundary file is empty (0 bytes).'
    """
    message = str(getattr(exc, "message", exc)).strip()
    chain: list[str] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 5:
        chain.append(str(cause))
        cause = cause.__cause__ or cause.__context__
    text = " ".join(chain)
    found = _GDAL_AT.search(text)
    if found:
        line, char, detail = found.group(1), found.group(2), found.group(3).strip().rstrip(".")
        where = f"line {int(line):,}, character {int(char):,}: {detail}"
        if "unterminated" in detail.lower() or "end of" in detail.lower():
            return (
                f"The file stops part-way through ({where}), so it is not complete GeoJSON. It "
                "was probably cut short while it was downloaded or copied: get a new copy of the "
                "file and add that."
            )
        return (
            f"The file is not valid GeoJSON: the reader stopped at {where}. Check that line in "
            "a text editor, or export the file again."
        )
    if "not recognized as being in a supported file format" in text:
        return (
            "The file is not in a format this page can read as ward boundaries (GeoJSON, "
            "GeoPackage or a zipped Shapefile). Check that it is the right file, saved in one of "
            "those formats."
        )
    return message


def refused_note(n_refused: int, kind: str) -> str:
    """The page's warning when some files would be refused (boundary files have no settings).

    Examples
    --------
    >>> refused_note(1, "wards")
    '1 file would be refused as it stands and will not be loaded. Remove it, or correct the file and add it again.'
    """
    files = "1 file" if n_refused == 1 else f"{n_refused:,} files"
    it = "it" if n_refused == 1 else "them"
    head = f"{files} would be refused as it stands and will not be loaded."
    if n_refused != 1:
        head = head.replace("as it stands", "as they stand")
    if kind == "wards":
        return f"{head} Remove {it}, or correct the file and add it again."
    return f"{head} Correct the settings or the Columns table above, or remove {it}."


STATUS_WORDS: Final[dict[str, str]] = {
    "committed": "loaded",
    "duplicate_file": "already loaded: nothing changed",
}


def status_label(name: str, status: str) -> str:
    """The label of a file's progress box once loaded ("cases.csv: loaded").

    Examples
    --------
    >>> status_label("cases", "duplicate_file")
    'cases: already loaded: nothing changed'
    """
    return f"{plain(name)}: {STATUS_WORDS.get(status, plain(status.replace('_', ' ')))}"


def load_button_label(n_pending: int, n_loaded: int) -> str:
    """The Load button's label: what a press would load, or that everything is loaded.

    Examples
    --------
    >>> load_button_label(2, 0), load_button_label(0, 1)
    ('Load 2 files', 'Loaded: see the result below')
    """
    if n_pending == 0 and n_loaded:
        return "Loaded: see the result below"
    return "Load 1 file" if n_pending == 1 else f"Load {n_pending:,} files"


#: The problems table's headings (rejects column → heading), in display order.
PROBLEM_COLUMNS: Final[dict[str, str]] = {
    "source_line": "Line",
    "case_id": "Case",
    "column": "Column in your file",
    "value": "Value",
    "message": "Problem",
    "severity": "Severity",
    "rule": "Code",
}
SEVERITY_WORDS: Final[dict[str, str]] = {
    "error": "Row not loaded",
    "warning": "Loaded, with a warning",
}
_STRFTIME_WORDS: Final[dict[str, str]] = {
    "%d": "dd",
    "%m": "mm",
    "%Y": "yyyy",
    "%y": "yy",
    "%H": "hh",
    "%I": "hh",
    "%M": "mm",
    "%S": "ss",
    "%p": "am/pm",
    "%b": "Mon",
    "%B": "Month",
}


def _strftime_words(text: str) -> str:
    return re.sub(r"%[a-zA-Z]", lambda m: _STRFTIME_WORDS.get(m.group(0), m.group(0)), text)


def file_names(report: dict[str, Any] | None) -> dict[str, str]:
    """Canonical column name → the file's own header, from the loader's report.

    Examples
    --------
    >>> file_names({"columns": {"Date Received": "reported_at", "X": None}})
    {'reported_at': 'Date Received'}
    """
    return {str(v): str(k) for k, v in ((report or {}).get("columns") or {}).items() if v}


def problems_table(rejects: pd.DataFrame, report: dict[str, Any] | None = None) -> pd.DataFrame:
    """Row-level problems for people: plain headings, the file's own column names, the plain
    message, what happened to the row; the rule code kept as the last column ("Code").

    ``report["columns"]`` (file header → canonical name, from the loader) turns ``reported_at``
    back into "Date Received"; a column the file did not have keeps its canonical name.

    Examples
    --------
    >>> r = pd.DataFrame({"source_line": [4], "case_id": ["C1"], "column": ["reported_at"],
    ...     "value": ["x"], "rule": ["E_DATE_FORMAT"], "severity": ["error"],
    ...     "message": ["reported_at is not a date in the format used by this column (%d/%m/%Y)."]})
    >>> t = problems_table(r, {"columns": {"Date Received": "reported_at"}})
    >>> t.loc[0, "Column in your file"], t.loc[0, "Problem"]
    ('Date Received', "'Date Received' is not a date in the format used by this column (dd/mm/yyyy).")
    """
    from neighbourhood.loaders import RULES

    out = pd.DataFrame(index=rejects.index)
    for col in PROBLEM_COLUMNS:
        out[col] = rejects[col] if col in rejects else pd.NA
    names = file_names(report)
    canonical = out["column"].astype("string").fillna("")
    shown = canonical.map(lambda c: names.get(c, c))
    rule = out["rule"].astype("string").fillna("")
    message = out["message"].astype("string")
    message = message.where(message.notna() & (message != ""), rule.map(RULES).astype("string"))
    message = message.fillna("")
    # the loader's messages start with the canonical column name: use the file's header there
    message = pd.Series(
        [
            f"'{names[c]}'{m[len(c) :]}" if c in names and m.startswith(c + " ") else m
            for c, m in zip(canonical, message, strict=True)
        ],
        index=out.index,
        dtype="string",
    ).map(_strftime_words)
    out["column"] = shown
    out["message"] = message
    out["severity"] = out["severity"].map(lambda v: SEVERITY_WORDS.get(str(v), str(v)))
    out["source_line"] = pd.to_numeric(out["source_line"], errors="coerce").astype("Int64")
    for col in ("case_id", "value"):
        out[col] = out[col].astype("string").fillna("")
    return out.rename(columns=PROBLEM_COLUMNS).reset_index(drop=True)


def display_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A preview of rows as text: empty values blank (not "None"), times as "dd Mon yyyy HH:MM".

    Examples
    --------
    >>> display_table(pd.DataFrame({"a": ["x", None], "b": [1.5, None]})).to_dict("list")
    {'a': ['x', ''], 'b': ['1.5', '']}
    """
    from ui.format import uk_datetime

    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_datetime64_any_dtype(values):
            text = values.map(lambda v: "" if pd.isna(v) else uk_datetime(v))
        else:
            text = values.map(lambda v: "" if _is_blank(v) else str(v))
        out[str(col)] = text.astype(str)
    return out


def _is_blank(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists, arrays
        return False


_CRS_WARNING_STARTS: Final[tuple[str, ...]] = (
    "The file declares no coordinate system",
    "The file says its coordinates are",
)
_CRS_WORDS: Final[dict[str, str]] = {
    "EPSG:4326": "longitude/latitude in degrees (WGS84, EPSG:4326)",
    "EPSG:27700": "British National Grid metres (EPSG:27700)",
}


def projection_sentence(report: dict[str, Any]) -> str:
    """One statement about a boundary file's map projection: what the file says, what its
    coordinates look like, and which was used (never two statements that disagree).

    Examples
    --------
    >>> projection_sentence({"source_crs": "EPSG:27700", "crs_used": "EPSG:27700"})
    'Map projection: British National Grid metres (EPSG:27700), as the file says.'
    >>> projection_sentence({"source_crs": "EPSG:4326", "crs_used": "EPSG:27700",
    ...     "driver": "ESRI Shapefile"})  # doctest: +NORMALIZE_WHITESPACE
    "The file's .prj says longitude/latitude in degrees (WGS84, EPSG:4326), but the coordinates
    are British National Grid metres (EPSG:27700), so they were read as British National Grid
    metres (EPSG:27700). The .prj file is probably wrong; the wards were placed correctly."
    """
    declared, used = report.get("source_crs"), report.get("crs_used")
    used_words = _CRS_WORDS.get(str(used), plain(used or "unknown"))
    shapefile = "shapefile" in str(report.get("driver") or "").lower()
    source = "The file's .prj" if shapefile else "The file"
    if not declared:
        return (
            f"{source} does not say which map projection it uses; the coordinates look like "
            f"{used_words}, so that was used."
        )
    declared_words = _CRS_WORDS.get(str(declared), plain(declared))
    if not used or declared == used:
        return f"Map projection: {declared_words}, as the file says."
    wrong = "The .prj file" if shapefile else "The file's projection information"
    return (
        f"{source} says {declared_words}, but the coordinates are {used_words}, so they were "
        f"read as {used_words}. {wrong} is probably wrong; the wards were placed correctly."
    )


def boundary_notes(report: dict[str, Any]) -> list[str]:
    """The reader's warnings about a boundary file, less those :func:`projection_sentence`
    already states (so the preview never says the projection twice, differently)."""
    return [
        str(w) for w in report.get("warnings") or () if not str(w).startswith(_CRS_WARNING_STARTS)
    ]


# --- ward codes of the stored rows against a boundary set ---------------------------------------

#: Stored tables that carry a ward code (table → singular, plural), in the order they are named.
WARD_TABLES: Final[dict[str, tuple[str, str]]] = {
    "cases": ("street-cleansing case", "street-cleansing cases"),
    "enforcement": ("enforcement case", "enforcement cases"),
    "spend": ("spend row", "spend rows"),
    "population": ("population row", "population rows"),
}


def _count_phrase(table: str, missing: int, total: int) -> str:
    one, many = WARD_TABLES.get(table, (table, table))
    noun = one if total == 1 else many
    return f"{missing:,} of {total:,} {noun}"


def ward_change_warning(unmatched: dict[str, tuple[int, int]], *, loaded: bool) -> str | None:
    """The plain warning that stored rows carry ward codes a boundary set does not have.

    ``loaded=False`` is the preview's (before Load), ``True`` the result's. ``None`` when every
    stored row's ward is in the set (or nothing is stored).

    Examples
    --------
    >>> ward_change_warning({"cases": (0, 10)}, loaded=False) is None
    True
    >>> ward_change_warning({"cases": (10, 10)}, loaded=False).startswith("**Check before")
    True
    """
    parts = [_count_phrase(t, m, n) for t, (m, n) in unmatched.items() if m]
    if not parts:
        return None
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    effect = (
        "The ward map, trends, ward profiles and every ward figure leave those rows out (shown "
        "as grey or 0), while the overview's whole-city totals still count them, so the pages "
        "will not agree"
    )
    remedy = (
        "until those extracts are loaded again so that each row is given a ward in the new set "
        "(the same files will do for rows placed by coordinates or by a ward name the new set "
        "has, as a file loaded under other boundaries is read again; rows that give only an "
        "old ward code need a new export), or"
    )
    if loaded:
        return (
            "**These ward boundaries do not match the data already stored.** "
            f"{listed} in the store carry ward codes that are not in the boundary set now in "
            f"use. {effect} {remedy} that boundary load is undone on the **Ingest log** page."
        )
    return (
        "**Check before you load: these ward boundaries do not match the data already "
        f"stored.** {listed} in the store carry ward codes that are not in this file. Loading "
        f"it makes these boundaries the ones in use. {effect} {remedy} the load is undone on "
        "the **Ingest log** page."
    )


def ward_mismatch(codes: Any, *, loaded: bool) -> str | None:
    """:func:`ward_change_warning` for the stored rows against ``codes`` (``None`` on failure:
    the page never shows a traceback for a warning)."""
    try:
        from neighbourhood.ingest import rows_outside_wards
        from neighbourhood.store import Store

        return ward_change_warning(rows_outside_wards(Store(), codes), loaded=loaded)
    except Exception:
        _LOG.exception("could not compare the stored ward codes with the boundary set")
        return None


def active_ward_mismatch() -> str | None:
    """The warning for the boundary set in use now (``None`` when every row's ward is in it)."""
    from neighbourhood.store import Store

    try:
        store = Store()
        if not store.exists() or store.active_boundary_set() is None:
            return None
        codes = store.wards()["ward_code"].astype(str).tolist()
    except Exception:
        _LOG.exception("could not read the active boundary set")
        return None
    return ward_mismatch(codes, loaded=True)


# --- dry run ----------------------------------------------------------------------------------


@dataclass
class Preview:
    """What the dry run found (kept small: a head of the frame, not the frame)."""

    ok: bool
    message: str = ""
    code: str = ""
    report: dict[str, Any] = field(default_factory=dict)
    head: pd.DataFrame | None = None
    rows: int = 0
    problems: int = 0
    sampled: bool = False
    #: The first row-level problems (loader rejects and warnings), for the preview's table.
    rejects: pd.DataFrame | None = None
    #: Boundary files only: every ward code in the file (to compare with the stored rows).
    ward_codes: tuple[str, ...] = ()


NO_WARDS_HINT: Final[str] = (
    "No ward boundaries are loaded yet, and every case, spend or population row is given its "
    "ward as it loads. Choose **Ward boundaries** under *What are you loading?* and load the "
    "boundary file (GeoJSON, GeoPackage or zipped Shapefile) first."
)


def wards_missing(kind: str) -> bool:
    """True when files of ``kind`` would be refused because no ward boundaries are loaded yet.

    Examples
    --------
    >>> wards_missing("wards")
    False
    """
    if kind == "wards":
        return False
    from neighbourhood.store import Store

    store = Store()
    try:
        return not store.exists() or store.active_boundary_set() is None
    except Exception:  # never a traceback on the page; the load itself says what is wrong
        _LOG.exception("could not check the store for ward boundaries")
        return False


def _read_options(options: dict[str, Any]) -> Any:
    from neighbourhood.loaders import ReadOptions

    given = {
        k: v for k, v in options.items() if v not in (None, {}, "") and k not in PAGE_ONLY_OPTIONS
    }
    return ReadOptions(**given) if given else None


def dry_run(data: bytes, name: str, kind: str, options: dict[str, Any]) -> Preview:
    """Read the file (or its first few MB) without touching the store."""
    from neighbourhood.geo import BoundaryRefused
    from neighbourhood.loaders import FileRefused

    sample, sample_name, sampled = preview_sample(data, name)
    try:
        if kind == "wards":
            from neighbourhood.geo import read_boundaries

            bounds = read_boundaries(sample, sample_name)
            wards = bounds.wards
            head = pd.DataFrame(wards.drop(columns="geometry", errors="ignore")).head(PREVIEW_ROWS)
            report = {**(bounds.report or {}), "format": "boundaries"}
            codes = tuple(str(c) for c in wards["ward_code"])
            return Preview(ok=True, report=report, head=head, rows=len(wards), ward_codes=codes)
        from neighbourhood.loaders import read_extract

        extract = read_extract(sample, sample_name, kind, _read_options(options))
    except BoundaryRefused as exc:
        return Preview(ok=False, message=boundary_reason(exc), code=f"F_BOUNDARY_{exc.code}")
    except FileRefused as exc:
        message = str(getattr(exc, "message", exc))
        return Preview(ok=False, message=message, code=str(getattr(exc, "code", "")))
    except Exception as exc:  # never a traceback on the page
        _LOG.exception("dry run failed for %s", name)
        return Preview(ok=False, message=f"the file could not be read ({type(exc).__name__}).")
    rejects = extract.rejects
    ward_rejects = _ward_rejects(extract.frame, kind)
    if len(ward_rejects):  # what the load would reject for its ward, found before the load
        from neighbourhood.loaders import drop_warnings_of_rejected_rows

        both = pd.concat([rejects, ward_rejects], ignore_index=True)
        rejects = drop_warnings_of_rejected_rows(
            both.sort_values("source_line", kind="stable", ignore_index=True)
        )
    frame = extract.frame.drop(columns=["source_line"], errors="ignore")
    return Preview(
        ok=True,
        report=dict(extract.report or {}),
        head=frame.head(PREVIEW_ROWS),
        rows=int((extract.report or {}).get("rows_read", len(extract.frame))),
        problems=len(rejects),
        sampled=sampled,
        rejects=rejects.head(PREVIEW_PROBLEMS),
    )


def _ward_rejects(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The rows the load would reject (or warn about) for their ward, against the stored wards.

    Read-only; empty without a store or wards (the page then says to load boundaries first)
    and on any failure (a preview never shows a traceback).
    """
    from neighbourhood.store import Store

    try:
        store = Store()
        if not store.exists() or frame.empty:
            return pd.DataFrame()
        wards = store.wards()
        if wards.empty:
            return pd.DataFrame()
        if kind in ("cleansing", "enforcement"):
            from neighbourhood.geo import assign_wards

            return assign_wards(frame, wards)[1]
        from neighbourhood.ingest import map_ward_names

        return map_ward_names(frame, wards, kind)[1]
    except Exception:
        _LOG.exception("could not check the preview's wards")
        return pd.DataFrame()


def _memo_dry_run(file: Any, kind: str, options: dict[str, Any]) -> Preview:
    memo: dict = st.session_state.setdefault("_upload_previews", {})
    key = (file.file_id, kind, options_key(options))
    if key not in memo:
        with st.spinner(f"Reading {plain(file.name)}…"):
            memo[key] = dry_run(file.getvalue(), file.name, kind, options)
    return memo[key]


def _report_line(report: dict[str, Any]) -> str:
    delim = report.get("delimiter")
    parts = [
        f"Format: **{plain(report.get('format') or '–')}**",
        f"Encoding: **{plain(report.get('encoding') or '–')}**",
        f"Delimiter: **{plain(DELIMITERS.get(delim, repr(delim)) if delim else '–')}**",
    ]
    return " · ".join(parts)


def previews(files: list[Any], kind: str) -> dict[str, dict[str, Any] | None]:
    """A preview card per file; returns file id → read options (``None`` = refused as it stands).

    Dry runs are remembered per file and settings, and forgotten once a file is removed.
    """
    memo: dict = st.session_state.setdefault("_upload_previews", {})
    current = {f.file_id for f in files}
    for key in [k for k in memo if k[0] not in current]:
        del memo[key]
    loaded: dict = st.session_state.get(_LOADED_KEY, {})
    for key in [k for k in loaded if k[0] not in current]:
        del loaded[key]
    return {f.file_id: preview_card(f, kind) for f in files}


def preview_card(file: Any, kind: str) -> dict[str, Any] | None:
    """Draw one file's preview with its correction widgets; return the read options to load
    with, or ``None`` when the file is refused as it stands."""
    fid = file.file_id
    with st.container(border=True):
        st.subheader(f"Preview: {plain(file.name)}", divider="gray")
        options: dict[str, Any] = {}
        if kind != "wards":
            cols = st.columns(3)
            options["encoding"] = cols[0].selectbox(
                "Text encoding", list(ENCODINGS), format_func=ENCODINGS.get, key=f"enc_{fid}"
            )
            options["delimiter"] = cols[1].selectbox(
                "Column separator", list(DELIMITERS), format_func=DELIMITERS.get, key=f"del_{fid}"
            )
            options["date_format"] = cols[2].selectbox(
                "Date format", list(DATE_FORMATS), format_func=DATE_FORMATS.get, key=f"dte_{fid}"
            )
        if kind != "wards":
            saved = _profile_picker(kind, fid)
            if saved:
                options["saved_map"] = saved
        base = _memo_dry_run(file, kind, options)
        preview = base
        if kind != "wards":
            if base.ok:
                detected = mapping_table(base.report, kind)
            else:
                sample, sample_name, _ = preview_sample(file.getvalue(), file.name)
                header = raw_header(sample, sample_name, options["encoding"], options["delimiter"])
                detected = header_table(header)
            column_map = _mapping_editor(detected, kind, fid) if len(detected) else None
            if column_map:
                options["column_map"] = column_map
                preview = _memo_dry_run(file, kind, options)
            if preview.ok:
                name = st.text_input(
                    "Save these column choices as a profile (optional)",
                    key=f"prof_save_{fid}",
                    placeholder="e.g. Confirm monthly export",
                    help="Kept in the store when the file is loaded; next month's file, here or "
                    "with `ingest --profile NAME`, is then read the same way.",
                )
                if name.strip():
                    options["save_profile"] = (name.strip(), profile_map(preview.report))
        _show_preview(preview, loaded_as(file, kind, options))
    return options if preview.ok else None


def profile_map(report: dict[str, Any]) -> dict[str, str]:
    """What a saved profile keeps: every column read and the field it became, and the columns
    left out as asked ("ignore")."""
    out = {str(k): str(v) for k, v in (report.get("columns") or {}).items() if v}
    for raw, why in (report.get("ignored_why") or {}).items():
        if why == "left out, as the column map asks":
            out[str(raw)] = "ignore"
    return out


def _profile_picker(kind: str, fid: str) -> dict[str, str] | None:
    """A choice of the saved mapping profiles of this kind (none shown when there are none)."""
    from neighbourhood.profiles import ProfileError, list_profiles, load_profile
    from neighbourhood.store import Store

    try:
        store = Store()
        names = list_profiles(store, kind)
        if not names:
            return None
        chosen = st.selectbox(
            "Column profile",
            [None, *names],
            format_func=lambda n: "None (detect the columns)" if n is None else n,
            key=f"prof_use_{fid}",
            help="A saved set of column choices, applied before detection.",
        )
        return load_profile(store, chosen, kind) if chosen else None
    except (ProfileError, OSError, RuntimeError):
        _LOG.exception("could not read the mapping profiles")
        return None


def _mapping_editor(detected: pd.DataFrame, kind: str, fid: str) -> dict[str, str] | None:
    st.markdown("**Columns**: change *Use as* if a column was matched wrongly or not at all.")
    config: dict[str, Any] = {
        "file_column": st.column_config.TextColumn("Column in the file"),
        "use_as": st.column_config.SelectboxColumn(
            "Use as",
            options=[AUTO, IGNORE, *field_choices(kind)],
            required=True,
            help=field_help(kind),
        ),
    }
    if "why" in detected:
        config["why"] = st.column_config.TextColumn("Why not used")
    edited = st.data_editor(
        detected,
        placeholder=MISSING,
        key=f"map_{fid}",
        hide_index=True,
        disabled=["file_column", "why"],
        column_config=config,
    )
    return column_map_from_table(edited, detected)


def _show_preview(preview: Preview, loaded: str | None = None) -> None:
    if not preview.ok:
        hint = ""
        if preview.code in ("F_MISSING_COLUMNS", "F_AMBIGUOUS_COLUMNS"):
            hint = " Use the Columns table above to say which column holds what."
        st.error(f"This file would be refused: {plain(preview.message, 1000)}{hint}")
        return
    report = preview.report
    if report.get("format") == "boundaries":
        st.markdown(
            f"Read **{preview.rows:,} wards** from {plain(report.get('driver') or 'the file')}; "
            f"ward code from **{plain(report.get('code_field') or '–')}**, name from "
            f"**{plain(report.get('name_field') or '–')}**."
        )
        st.markdown(projection_sentence(report))
        for warning in boundary_notes(report):
            st.caption(plain(warning))
        if not loaded:
            change = ward_mismatch(preview.ward_codes, loaded=False)
            if change:
                st.warning(change, icon=":material/warning:")
    else:
        st.markdown(_report_line(report))
        dates = report.get("date_formats") or {}
        names = file_names(report)
        if dates:
            st.markdown(
                "Dates read as: "
                + ", ".join(
                    f"{plain(names.get(c, c))} ({plain(_strftime_words(str(f)))})"
                    for c, f in dates.items()
                )
            )
        for label, key in (
            ("Personal data columns that will be dropped", "dropped_personal_columns"),
            ("Columns that will be ignored", "ignored_columns"),
        ):
            if report.get(key):
                why = report.get("ignored_why") or {}
                st.caption(
                    f"{label}: "
                    + "; ".join(
                        plain(c) + (f" ({plain(why[c])})" if why.get(c) else "")
                        for c in report[key]
                    )
                )
        unmapped = report.get("unmapped_categories") or {}
        if unmapped:
            st.caption(
                f"{len(unmapped)} category label(s) are not in the category list and will be "
                "counted as 'other': " + ", ".join(plain(c) for c in list(unmapped)[:10])
            )
    n_rejects = preview.problems
    scope = "the first part of the file" if preview.sampled else "the whole file"
    if loaded:
        again = (
            ""
            if report.get("format") == "boundaries"  # boundary files have no settings
            else " To load this file again, for example with other settings, change the "
            "settings above."
        )
        st.success(
            f"Loaded ({plain(loaded)}): see **Last load** below.{again}",
            icon=":material/check_circle:",
        )
    else:
        st.caption(
            f"Dry run on {scope}: {preview.rows:,} rows read, {n_rejects:,} problems found. "
            "Nothing has been loaded yet."
        )
    if preview.head is not None:
        components.dataframe(
            display_table(preview.head),
            legend=f"{MISSING} : the cell is empty in the file.",
            hide_index=True,
            height=240,
        )
    if not loaded and preview.rejects is not None and len(preview.rejects):
        shown = (
            "" if n_rejects <= len(preview.rejects) else f" (the first {len(preview.rejects):,})"
        )
        with st.expander(f"Problems found{shown}"):
            components.dataframe(problems_table(preview.rejects, report), hide_index=True)


# --- what was loaded in this session ---------------------------------------------------------

_LOADED_KEY: Final[str] = "_upload_loaded"


def _loaded_key(file: Any, kind: str, options: dict[str, Any] | None) -> tuple:
    return (file.file_id, kind, options_key(options or {}))


def loaded_as(file: Any, kind: str, options: dict[str, Any] | None) -> str | None:
    """How this file was loaded in this session with these settings ("ingest-000007"), or
    ``None`` when it has not been (changing a setting makes it loadable again)."""
    return st.session_state.get(_LOADED_KEY, {}).get(_loaded_key(file, kind, options))


def pending(files: list[Any], kind: str, options: dict[str, dict[str, Any] | None]) -> list[Any]:
    """The loadable files not yet loaded in this session with their current settings."""
    return [f for f in files if loaded_as(f, kind, options.get(f.file_id)) is None]


def remember_loaded(
    files: list[Any], kind: str, options: dict[str, dict[str, Any] | None], outcomes: list[Any]
) -> None:
    """Note which files were loaded (or found already loaded), so the page stops offering them."""
    memo: dict = st.session_state.setdefault(_LOADED_KEY, {})
    for file, outcome in zip(files, outcomes, strict=False):
        if outcome.ok:
            label = "already loaded before" if outcome.status == "duplicate_file" else ""
            memo[_loaded_key(file, kind, options.get(file.file_id))] = (
                label or outcome.ingest_id or "loaded"
            )


# --- load -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """The result of loading one file, kept in session state so it survives reruns."""

    file_name: str
    ok: bool
    message: str = ""
    status: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    rejects: pd.DataFrame | None = None
    ingest_id: str = ""
    #: What to do about a refusal, in the page's own words (our text, shown as Markdown).
    hint: str = ""
    #: The loader's report (file headers → canonical names, for the problems table).
    report: dict[str, Any] = field(default_factory=dict)
    #: Whether the file's column choices were saved as a profile (plain text).
    profile_note: str = ""
    #: Boundary loads: stored rows whose ward codes are not in the new set (our Markdown).
    warning: str = ""


COUNT_LABELS: Final[dict[str, str]] = {
    "rows_read": "Rows read",
    "rows_accepted": "Accepted",
    "rows_rejected": "Rejected",
    "rows_new": "New",
    "rows_updated": "Updated",
}


def load_files(
    files: list[Any], kind: str, options: dict[str, dict[str, Any]], actor: str
) -> list[Outcome]:
    """Load each file in turn (one transaction each) with progress, then clear every cache."""
    from neighbourhood.ingest import NO_WARDS_CODE, ingest_bytes
    from neighbourhood.loaders import FileRefused
    from neighbourhood.store import Store, StoreError

    store = Store()
    outcomes: list[Outcome] = []
    try:
        from neighbourhood.remap import remap_due

        due = kind == "cleansing" and remap_due(store)
    except Exception:
        _LOG.exception("could not check whether the label maps changed")
        due = False
    progress = st.progress(0.0, text="Starting…")
    for i, file in enumerate(files):
        name = file.name
        progress.progress(i / len(files), text=f"Loading file {i + 1} of {len(files)}")
        with st.status(f"Loading {plain(name)}…", expanded=False) as status:
            try:
                result = ingest_bytes(
                    store,
                    file.getvalue(),
                    name,
                    kind,
                    options=_read_options(options.get(file.file_id, {})),
                    actor=actor,
                    channel="upload",
                    progress=_file_progress(progress, i, len(files)),
                )
            except FileRefused as exc:
                message = str(getattr(exc, "message", exc))
                if kind == "wards":
                    message = boundary_reason(exc)
                hint = NO_WARDS_HINT if getattr(exc, "code", "") == NO_WARDS_CODE else ""
                outcomes.append(Outcome(name, False, message, hint=hint))
                status.update(label=f"{plain(name)}: refused", state="error")
                continue
            except StoreError as exc:  # read-only, busy, or the demo's store: a plain sentence
                outcomes.append(Outcome(name, False, str(exc)))
                status.update(label=f"{plain(name)}: refused", state="error")
                continue
            except Exception as exc:
                _LOG.exception("upload of %s failed", name)
                outcomes.append(Outcome(name, False, f"loading failed ({type(exc).__name__})."))
                status.update(label=f"{plain(name)}: failed", state="error")
                continue
            counts = {k: int(getattr(result, k, 0) or 0) for k in COUNT_LABELS}
            outcomes.append(
                Outcome(
                    name,
                    True,
                    str(getattr(result, "message", "") or ""),
                    str(result.status),
                    counts,
                    result.rejects,
                    str(result.ingest_id),
                    report=dict(getattr(result, "report", None) or {}),
                )
            )
            status.update(label=status_label(name, str(result.status)), state="complete")
            _save_profile(store, options.get(file.file_id) or {}, kind, actor, outcomes[-1])
    progress.progress(1.0, text="Done")
    if due and any(o.ok and o.status == "committed" for o in outcomes):
        from neighbourhood.remap import remap

        try:  # the maps were edited since the stored cases were mapped: re-apply them too
            done = remap(store, actor=actor, channel="upload")
            st.session_state["_remap_done"] = f"{done['ingest_id']}: {done['message']}"
        except Exception:
            _LOG.exception("remap after load failed")
    if kind == "wards" and any(o.ok and o.status == "committed" for o in outcomes):
        warning = active_ward_mismatch() or ""
        for outcome in outcomes:
            if outcome.ok and outcome.status == "committed":
                outcome.warning = warning
    st.cache_data.clear()
    st.cache_resource.clear()
    return outcomes


def _save_profile(store: Any, options: dict[str, Any], kind: str, actor: str, outcome: Any) -> None:
    """Save the file's column choices as a profile when the analyst named one (after a load)."""
    wanted = options.get("save_profile")
    if not wanted:
        return
    from neighbourhood.profiles import ProfileError, save_profile

    name, mapping = wanted
    try:
        save_profile(store, name, kind, mapping, actor)
    except (ProfileError, OSError, RuntimeError) as exc:
        outcome.profile_note = f"The column profile was not saved: {exc}"
        return
    outcome.profile_note = f"Column choices saved as profile '{name}'."


def remap_panel(actor: str) -> None:
    """When data/category_map.csv changed since the cases were stored: a button that maps
    every stored case's own label again (logged, undoable; ``neighbourhood.remap``)."""
    from neighbourhood.remap import remap, remap_due
    from neighbourhood.store import Store

    try:
        store = Store()
        due = remap_due(store)
    except Exception:  # never a traceback on the page
        _LOG.exception("could not check whether the label maps changed")
        return
    done = st.session_state.pop("_remap_done", None)
    if done:
        st.success(plain(done))
    if not due:
        return
    st.info(
        "The category table (data/category_map.csv) or the value table changed since the "
        "stored cases were mapped. Re-apply it to see every stored case under today's labels.",
        icon=":material/sync:",
    )
    if st.button("Re-apply the label maps", key="upload_remap", icon=":material/sync:"):
        try:
            result = remap(store, actor=actor, channel="upload")
        except Exception as exc:
            _LOG.exception("remap failed")
            st.error(f"The label maps could not be re-applied ({type(exc).__name__}).")
            return
        st.session_state["_remap_done"] = f"{result['ingest_id']}: {result['message']}"
        st.cache_data.clear()
        st.rerun()


def progress_text(index: int, total: int, share: float) -> str:
    """What the progress bar says while a big file is read in slices.

    Examples
    --------
    >>> progress_text(0, 2, 0.25)
    'Loading file 1 of 2: 25% of the rows read'
    >>> progress_text(1, 2, 1.0)
    'Loading file 2 of 2: all rows read, writing them to the store'
    """
    head = f"Loading file {index + 1} of {total}: "
    if share >= 1.0:
        return head + "all rows read, writing them to the store"
    return head + percent(share * 100) + " of the rows read"


def _file_progress(bar: Any, index: int, total: int) -> Any:
    """A callback for :func:`neighbourhood.ingest.ingest_bytes` that moves the bar within a file.

    Reading is taken as 80 % of a file's time (the store's transaction is the rest).
    """

    def update(share: float) -> None:
        share = min(max(float(share), 0.0), 1.0)
        bar.progress((index + 0.8 * share) / total, text=progress_text(index, total, share))

    return update


def show_outcome(outcome: Outcome, index: int) -> None:
    """Counts as metrics, rejects as a table with a safe CSV download, or the refusal reason."""
    from neighbourhood.export import to_csv_bytes

    name = plain(outcome.file_name)
    if not outcome.ok:
        st.error(
            f"**{name}** was refused: {plain(outcome.message, 1000)} Nothing from this file was "
            "loaded." + (f"\n\n{outcome.hint}" if outcome.hint else "")
        )
        return
    if outcome.status == "duplicate_file":
        st.info(f"**{name}** was loaded before. Nothing changed.")
    else:
        st.success(f"**{name}** loaded.")
    if outcome.warning:
        st.warning(outcome.warning, icon=":material/warning:")
    if outcome.profile_note:
        st.caption(plain(outcome.profile_note))
    if (
        outcome.status == "committed"
        and outcome.counts.get("rows_read", 0)
        and not (outcome.counts.get("rows_accepted", 0))
    ):
        st.warning(
            "Nothing was stored from this file: every row was rejected. The problems table "
            "below says why.",
            icon=":material/warning:",
        )
    with st.container(horizontal=True):
        for key, label in COUNT_LABELS.items():
            st.metric(label, f"{outcome.counts.get(key, 0):,}", border=True)
    rejects = outcome.rejects
    if rejects is not None and len(rejects):
        table = problems_table(rejects, outcome.report)
        st.markdown(f"**Rejected rows and warnings** ({len(rejects):,})")
        components.dataframe(table, hide_index=True, height=300)
        st.download_button(
            "Download the problems as CSV",
            data=to_csv_bytes(table),
            file_name=f"rejects-{outcome.ingest_id or index}.csv",
            mime="text/csv",
            key=f"rejects_dl_{index}",
            on_click="ignore",
        )


# --- ingest log -------------------------------------------------------------------------------

#: In display order: the status next to the time, so it is on screen on a laptop whatever the
#: length of a file name or an e-mail address (it was last, and off-screen at 1440 px).
LOG_COLUMNS: Final[dict[str, str]] = {
    "started_at": "When",
    "status": "Status",
    "kind": "What",
    "file_name": "File",
    "rows_read": "Rows read",
    "rows_accepted": "Accepted",
    "rows_rejected": "Rejected",
    "rows_new": "New",
    "rows_updated": "Updated",
    "actor": "Who",
    "sha256_short": "SHA-256 (short)",
}
STATUS_LABELS: Final[dict[str, str]] = {
    "committed": "Loaded",
    "duplicate_file": "Already loaded (no change)",
    "refused": "Refused",
    "undone": "Undone",
}


def log_table(log: pd.DataFrame) -> pd.DataFrame:
    """The ingest log for display: newest first, plain labels, times in Europe/London.

    Keeps ``ingest_id`` (hidden on the page) so a row can be chosen for undo.
    """
    out = pd.DataFrame(index=log.index)
    out["ingest_id"] = log.get("ingest_id", pd.Series("", index=log.index)).astype(str)
    for col in LOG_COLUMNS:
        if col == "sha256_short":
            sha = log.get("file_sha256", pd.Series("", index=log.index))
            out[col] = sha.fillna("").astype(str).str[:12]
        elif col in log:
            out[col] = log[col]
        else:
            out[col] = pd.NA
    when = pd.to_datetime(out["started_at"], utc=True, errors="coerce")
    out["started_at"] = when.dt.tz_convert(schemas.TIMEZONE)
    out["kind_code"] = out["kind"].astype(str)
    out["status_code"] = out["status"].astype(str)
    labels = {**LOG_ONLY_KIND_LABELS, **KIND_LABELS}
    out["kind"] = out["kind"].map(lambda k: labels.get(str(k), str(k)))
    out["status"] = out["status"].map(lambda s: STATUS_LABELS.get(str(s), str(s)))
    order = log["seq"] if "seq" in log else out["started_at"]
    out = out.iloc[order.to_numpy().argsort(kind="stable")[::-1]]
    return out.reset_index(drop=True)


def log_for_csv(table: pd.DataFrame) -> pd.DataFrame:
    """The displayed log with readable headers and "dd Mon yyyy HH:MM" times, for download."""
    from ui.format import uk_datetime

    out = table[["ingest_id", *LOG_COLUMNS]].copy()
    out["started_at"] = out["started_at"].map(uk_datetime)
    return out.rename(columns={**LOG_COLUMNS, "ingest_id": "Ingest id"})


def undo_choices(table: pd.DataFrame) -> dict[str, str]:
    """Loads that can be undone, as ingest id → a plain label.

    The store only undoes the newest committed load of each kind (newer ones first), so only
    those are offered.
    """
    from ui.format import uk_datetime

    committed = table[table["status_code"] == "committed"]
    newest = committed.drop_duplicates("kind_code", keep="first")  # table is newest first
    return {
        r.ingest_id: f"{uk_datetime(r.started_at)} – {r.file_name} ({r.kind}, by {r.actor})"
        for r in newest.itertuples()
    }


def log_column_config() -> dict[str, Any]:
    """Column headers and formats for the ingest-log table."""
    config: dict[str, Any] = {}
    for col, label in LOG_COLUMNS.items():
        if col == "started_at":
            config[col] = st.column_config.DatetimeColumn(label, format="DD MMM YYYY HH:mm")
        elif col.startswith("rows_"):
            config[col] = st.column_config.NumberColumn(label, format="localized")
        else:
            config[col] = st.column_config.TextColumn(label)
    return config


def ingest_log() -> pd.DataFrame:
    """The whole ingest log (small; read fresh on every run so an undo shows at once)."""
    from neighbourhood.store import Store

    store = Store()
    return store.log() if store.exists() else pd.DataFrame(columns=["ingest_id", *LOG_COLUMNS])


def undo_load(ingest_id: str, actor: str) -> None:
    """Button callback: undo one load, clear every cache, and leave a message for the page."""
    from neighbourhood.store import Store, StoreError

    try:
        result = Store().undo(ingest_id, actor=actor)
    except StoreError as exc:  # the store explains why, in a plain sentence
        st.session_state["undo_message"] = ("error", f"This load could not be undone: {exc}.")
    except Exception as exc:
        _LOG.exception("undo of %s by %s failed", ingest_id, actor)
        st.session_state["undo_message"] = ("error", f"Undo failed ({type(exc).__name__}).")
    else:
        st.session_state["undo_message"] = (
            "success",
            f"Load {ingest_id} was undone: {result.get('rows_deleted', 0):,} rows removed, "
            f"{result.get('rows_restored', 0):,} earlier versions put back.",
        )
        st.cache_data.clear()
        st.cache_resource.clear()
    st.session_state["undo_confirm"] = False


def show_undo_message() -> None:
    """Show (once) the result of the last undo."""
    kind, text = st.session_state.pop("undo_message", (None, ""))
    if kind == "error":
        st.error(plain(text))
    elif kind == "success":
        st.success(plain(text))
