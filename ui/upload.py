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
from ui.format import percent

_LOG = logging.getLogger(__name__)

KIND_LABELS: Final[dict[str, str]] = {
    "cleansing": "Street-cleansing cases",
    "enforcement": "Enforcement cases",
    "spend": "Spend",
    "wards": "Ward boundaries",
    "population": "Ward population",
}
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
AUTO: Final[str] = "(detect automatically)"
PREVIEW_BYTES: Final[int] = 8 * 1024 * 1024
PREVIEW_ROWS: Final[int] = 20

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


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
    """Make file-supplied text safe to show inside Markdown (st.error, st.status labels).

    Backslash-escapes Markdown and Streamlit directive characters, flattens line breaks and
    control characters, and truncates. Links and images in a header name stay plain text.
    """
    s = re.sub(r"[\x00-\x1f\x7f]+", " ", str(text))
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", s)


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


def mapping_table(report: dict[str, Any]) -> pd.DataFrame:
    """The loader's detected header mapping as an editable table (file column → canonical)."""
    columns = dict(report.get("columns") or {})
    for raw in report.get("ignored_columns") or ():
        columns.setdefault(str(raw), None)
    return pd.DataFrame(
        {
            "file_column": [str(k) for k in columns],
            "use_as": [v if v else IGNORE for v in columns.values()],
        }
    )


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
    return (
        options.get("encoding"),
        options.get("delimiter"),
        options.get("date_format"),
        tuple(sorted(cmap.items())),
    )


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

    given = {k: v for k, v in options.items() if v not in (None, {}, "")}
    return ReadOptions(**given) if given else None


def dry_run(data: bytes, name: str, kind: str, options: dict[str, Any]) -> Preview:
    """Read the file (or its first few MB) without touching the store."""
    from neighbourhood.loaders import FileRefused

    sample, sample_name, sampled = preview_sample(data, name)
    try:
        if kind == "wards":
            from neighbourhood.geo import read_boundaries

            bounds = read_boundaries(sample, sample_name)
            wards = bounds.wards
            head = pd.DataFrame(wards.drop(columns="geometry", errors="ignore")).head(PREVIEW_ROWS)
            report = {**(bounds.report or {}), "format": "boundaries"}
            return Preview(ok=True, report=report, head=head, rows=len(wards))
        from neighbourhood.loaders import read_extract

        extract = read_extract(sample, sample_name, kind, _read_options(options))
    except FileRefused as exc:
        message = str(getattr(exc, "message", exc))
        return Preview(ok=False, message=message, code=str(getattr(exc, "code", "")))
    except Exception as exc:  # never a traceback on the page
        _LOG.exception("dry run failed for %s", name)
        return Preview(ok=False, message=f"the file could not be read ({type(exc).__name__}).")
    frame = extract.frame.drop(columns=["source_line"], errors="ignore")
    return Preview(
        ok=True,
        report=dict(extract.report or {}),
        head=frame.head(PREVIEW_ROWS),
        rows=int((extract.report or {}).get("rows_read", len(extract.frame))),
        problems=len(extract.rejects),
        sampled=sampled,
    )


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
        base = _memo_dry_run(file, kind, options)
        preview = base
        if kind != "wards":
            if base.ok:
                detected = mapping_table(base.report)
            else:
                sample, sample_name, _ = preview_sample(file.getvalue(), file.name)
                header = raw_header(sample, sample_name, options["encoding"], options["delimiter"])
                detected = header_table(header)
            column_map = _mapping_editor(detected, kind, fid) if len(detected) else None
            if column_map:
                options["column_map"] = column_map
                preview = _memo_dry_run(file, kind, options)
        _show_preview(preview)
    return options if preview.ok else None


def _mapping_editor(detected: pd.DataFrame, kind: str, fid: str) -> dict[str, str] | None:
    st.markdown("**Columns**: change *Use as* if a column was matched wrongly or not at all.")
    edited = st.data_editor(
        detected,
        key=f"map_{fid}",
        hide_index=True,
        disabled=["file_column"],
        column_config={
            "file_column": st.column_config.TextColumn("Column in the file"),
            "use_as": st.column_config.SelectboxColumn(
                "Use as", options=[AUTO, IGNORE, *canonical_columns(kind)], required=True
            ),
        },
    )
    return column_map_from_table(edited, detected)


def _show_preview(preview: Preview) -> None:
    if not preview.ok:
        hint = ""
        if preview.code == "F_MISSING_COLUMNS":
            hint = " Use the Columns table above to say which column holds what."
        st.error(f"This file would be refused: {plain(preview.message, 1000)}{hint}")
        return
    report = preview.report
    if report.get("format") == "boundaries":
        st.markdown(
            f"Read **{preview.rows:,} wards** from {plain(report.get('driver') or 'the file')}; "
            f"ward code from **{plain(report.get('code_field') or '–')}**, name from "
            f"**{plain(report.get('name_field') or '–')}**, map projection "
            f"{plain(report.get('source_crs') or '–')}."
        )
        for warning in report.get("warnings") or ():
            st.caption(plain(warning))
    else:
        st.markdown(_report_line(report))
        dates = report.get("date_formats") or {}
        if dates:
            st.markdown(
                "Dates read as: " + ", ".join(f"{plain(c)} ({plain(f)})" for c, f in dates.items())
            )
        for label, key in (
            ("Personal data columns that will be dropped", "dropped_personal_columns"),
            ("Columns that will be ignored", "ignored_columns"),
        ):
            if report.get(key):
                st.caption(f"{label}: " + ", ".join(plain(c) for c in report[key]))
        unmapped = report.get("unmapped_categories") or {}
        if unmapped:
            st.caption(
                f"{len(unmapped)} category label(s) are not in the category list and will be "
                "counted as 'other': " + ", ".join(plain(c) for c in list(unmapped)[:10])
            )
    n_rejects = preview.problems
    scope = "the first part of the file" if preview.sampled else "the whole file"
    st.caption(
        f"Dry run on {scope}: {preview.rows:,} rows read, {n_rejects:,} problems found. "
        "Nothing has been loaded yet."
    )
    if preview.head is not None:
        st.dataframe(preview.head, hide_index=True, height=240)


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
    from neighbourhood.store import Store

    store = Store()
    outcomes: list[Outcome] = []
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
                hint = NO_WARDS_HINT if getattr(exc, "code", "") == NO_WARDS_CODE else ""
                outcomes.append(Outcome(name, False, message, hint=hint))
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
                )
            )
            status.update(label=f"{plain(name)}: {result.status}", state="complete")
    progress.progress(1.0, text="Done")
    st.cache_data.clear()
    st.cache_resource.clear()
    return outcomes


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
    with st.container(horizontal=True):
        for key, label in COUNT_LABELS.items():
            st.metric(label, f"{outcome.counts.get(key, 0):,}", border=True)
    rejects = outcome.rejects
    if rejects is not None and len(rejects):
        st.markdown(f"**Rejected rows and warnings** ({len(rejects):,})")
        st.dataframe(rejects, hide_index=True, height=300)
        st.download_button(
            "Download the problems as CSV",
            data=to_csv_bytes(rejects),
            file_name=f"rejects-{outcome.ingest_id or index}.csv",
            mime="text/csv",
            key=f"rejects_dl_{index}",
            on_click="ignore",
        )


# --- ingest log -------------------------------------------------------------------------------

LOG_COLUMNS: Final[dict[str, str]] = {
    "started_at": "When",
    "actor": "Who",
    "file_name": "File",
    "sha256_short": "SHA-256 (short)",
    "kind": "What",
    "rows_read": "Rows read",
    "rows_accepted": "Accepted",
    "rows_rejected": "Rejected",
    "rows_new": "New",
    "rows_updated": "Updated",
    "status": "Status",
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
    out["kind"] = out["kind"].map(lambda k: KIND_LABELS.get(str(k), str(k)))
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
