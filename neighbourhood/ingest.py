"""One ingest end to end: read the file, assign wards, write the store in one transaction.

Flow (docs/architecture.md, "Ingest API"):

1. SHA-256 of the bytes. A file already committed with the same digest and kind is logged as
   ``duplicate_file`` without being parsed and changes nothing.
2. Parse and validate with :func:`neighbourhood.loaders.read_extract` (or
   :func:`neighbourhood.geo.read_boundaries` for ``kind="wards"``). This touches no store file, so
   a refused file (:class:`~neighbourhood.loaders.FileRefused`) leaves the store byte-identical.
3. Under the store's exclusive lock: look up the active ward boundaries, assign every case a ward
   (:func:`neighbourhood.geo.assign_wards`) or map ward names to codes (spend, population), then
   :meth:`neighbourhood.store.Store.apply_ingest` writes rows, rejects and the log row in one
   transaction.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from neighbourhood import geo, loaders, safe_io, schemas, stream
from neighbourhood.loaders import FileRefused, ReadOptions
from neighbourhood.store import (
    DEMO,
    KEYS,
    IngestBatch,
    Store,
    kind_of_channel,
    kind_refusal,
    read_parquet_sql,
)

__all__ = [
    "NO_WARDS_MESSAGE",
    "FileRefused",
    "IngestResult",
    "ReadOptions",
    "ingest_bytes",
    "ingest_path",
]

NO_WARDS_MESSAGE = "load ward boundaries first: python -m neighbourhood ingest FILE --kind wards"
NO_WARDS_CODE = "F_NO_WARDS"
WARDS_CHANGED_CODE = "F_WARDS_CHANGED"
WARDS_CHANGED_MESSAGE = (
    "The ward boundaries changed while this file was being read (a load of ward boundaries "
    "finished meanwhile), so its cases were assigned to wards that are no longer the active "
    "ones. Nothing was stored: load the file again."
)
DEMO_STORE_CODE = "F_DEMO_STORE"
COUNCIL_STORE_CODE = "F_COUNCIL_STORE"
REJECT_COLUMNS: tuple[str, ...] = ("source_file", *schemas.REJECT_COLUMNS)
SLICED_KINDS: tuple[str, ...] = ("cleansing", "enforcement")
"""Kinds whose big plain CSV files are read in slices (:mod:`neighbourhood.stream`)."""
NO_WARD_KINDS: tuple[str, ...] = ("wards", "la-returns")
"""Kinds read without the store's wards (DEFRA's returns are per council, not per ward)."""


@dataclass
class IngestResult:
    """What one ingest did.

    ``status`` is ``committed`` or ``duplicate_file`` (a refused file raises instead).
    ``rejects`` lists every rejected row and every warning (``severity``), ``report`` is what the
    reader detected.
    """

    ingest_id: str
    kind: str
    file_name: str
    sha256: str
    status: str
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_new: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rejects: pd.DataFrame = field(default_factory=lambda: _empty_rejects())
    report: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    boundary_set: str | None = None
    store: str = ""

    def summary(self) -> dict[str, Any]:
        """The one-line JSON summary (plain types only).

        Returns
        -------
        dict

        Examples
        --------
        >>> IngestResult("ingest-000001", "spend", "s.csv", "ab", "committed").summary()["status"]
        'committed'
        """
        return {
            "ingest_id": self.ingest_id,
            "kind": self.kind,
            "file_name": self.file_name,
            "sha256": self.sha256,
            "status": self.status,
            "rows_read": int(self.rows_read),
            "rows_accepted": int(self.rows_accepted),
            "rows_rejected": int(self.rows_rejected),
            "rows_new": int(self.rows_new),
            "rows_updated": int(self.rows_updated),
            "rows_unchanged": int(self.rows_unchanged),
            # row warnings, and for boundaries the file's own (no rows to reject)
            "warnings": (
                int((self.rejects["severity"] == "warning").sum())
                if "severity" in self.rejects
                else 0
            )
            + (len(self.report.get("warnings") or []) if self.kind == "wards" else 0),
            "boundary_set": self.boundary_set,
            "message": self.message,
            "store": self.store,
            # which column became which field, and every column not used with the reason
            "columns": dict(self.report.get("columns") or {}),
            "ignored_columns": dict(self.report.get("ignored_why") or {}),
        }


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in REJECT_COLUMNS})


def _utc_now() -> datetime:
    return datetime.now(UTC)


def refused_summary(exc: FileRefused, file_name: str, kind: str, store: Store) -> dict[str, Any]:
    """The JSON summary for a refused file (the store is not written; the CLI prints this).

    Parameters
    ----------
    exc
        The refusal.
    file_name, kind
        What was being ingested.
    store
        The target store.

    Returns
    -------
    dict

    Examples
    --------
    >>> refused_summary(FileRefused("F_EMPTY", "x is empty."), "x.csv", "spend", Store("s"))["code"]
    'F_EMPTY'
    """
    return {
        "ingest_id": None,
        "kind": kind,
        "file_name": file_name,
        "status": "refused",
        "code": exc.code,
        "message": exc.message,
        "rows_new": 0,
        "rows_updated": 0,
        "store": str(store.path),
    }


def ingest_path(store: Store, path: str | os.PathLike[str], kind: str, **kw: Any) -> IngestResult:
    """Ingest a file from disk (see :func:`ingest_bytes`).

    Parameters
    ----------
    store
        The target store.
    path
        The file; its base name is what the log records.
    kind
        ``cleansing``, ``enforcement``, ``spend``, ``population`` or ``wards``.
    **kw
        Passed to :func:`ingest_bytes` (``options``, ``actor``, ``channel``, ``boundary_set``).

    Returns
    -------
    IngestResult

    Examples
    --------
    >>> ingest_path(Store("data/store"), "wards.geojson", "wards")  # doctest: +SKIP
    """
    p = Path(path)
    options = kw.get("options")
    limit = options.max_bytes if options is not None else loaders.DEFAULT_MAX_BYTES
    if kind == "wards" and p.suffix.lower() == ".shp":
        try:  # a regular file only: never a link, folder, FIFO or device (docs/security.md)
            safe_io.check_regular(p, limit)
        except safe_io.InputRefused as exc:
            raise FileRefused(exc.code, exc.message) from None
        # A shapefile is several files: read it with its .shx/.dbf/.prj/.cpg, as one zip.
        try:
            data = geo.bundle_shapefile(p) if p.is_file() else b""
        except geo.BoundaryRefused as exc:
            raise FileRefused(f"F_BOUNDARY_{exc.code.upper()}", exc.message) from None
        if data:
            return ingest_bytes(store, data, p.name, kind, **kw)
    try:  # a regular file only: never a link, folder, FIFO or device (docs/security.md)
        source = safe_io.open_regular(p, limit)
    except safe_io.InputRefused as exc:
        raise FileRefused(exc.code, exc.message) from None
    with source:
        found = None
        if kind in SLICED_KINDS:
            try:
                found = stream.scan(source, p.name, kw.get("options"))
            except OSError as exc:
                raise _unreadable(p, exc) from exc
        if found is not None:  # a big plain CSV: read in slices, never whole
            return _ingest_slices(store, source, found, p.name, kind, **kw)
        try:
            data = safe_io.read_capped(source, limit, str(p))
        except safe_io.InputRefused as exc:
            raise FileRefused(exc.code, exc.message) from None
    return ingest_bytes(store, data, p.name, kind, **kw)


def _unreadable(path: Path, exc: OSError) -> FileRefused:
    return FileRefused("F_UNREADABLE", f"{path} could not be read: {exc.strerror or exc}")


def ingest_bytes(
    store: Store,
    data: bytes,
    name: str,
    kind: str,
    *,
    options: ReadOptions | None = None,
    actor: str = "cli",
    channel: str = "cli",
    boundary_set: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> IngestResult:
    """Read, validate, assign wards and store one file in one transaction.

    Parameters
    ----------
    store
        The target store (created by the first accepted ``wards`` file).
    data
        The file's bytes.
    name
        Its file name (display and format hint only).
    kind
        ``cleansing``, ``enforcement``, ``spend``, ``population`` or ``wards``.
    options
        Reader overrides (encoding, delimiter, date format, column map).
    actor, channel
        Who and through what (``cli`` / ``upload``), for the log.
    boundary_set
        ``wards`` only: the boundary set's name (default: the file name without extension).
        It replaces a stored set of that name and becomes the active set.
    progress
        Called with the share of the file read so far (0–1) after each slice of a big case
        file (:mod:`neighbourhood.stream`), on the calling thread; not called for files read
        whole.

    Returns
    -------
    IngestResult

    Raises
    ------
    FileRefused
        The whole file is refused (unreadable, missing required columns, not a boundary file,
        or no ward boundaries stored yet for a kind that needs them). The store is untouched.

    Examples
    --------
    >>> res = ingest_bytes(Store(), open("cases.csv", "rb").read(), "cases.csv", "cleansing")  # doctest: +SKIP
    >>> res.summary()["rows_new"]  # doctest: +SKIP
    1200
    """
    if kind not in schemas.KINDS:
        raise ValueError(f"kind must be one of {schemas.KINDS}")
    safe_io.sweep_stale_temp_dirs()  # what killed ingests left in the temporary folder
    check_store_kind(store, channel)
    data = bytes(data)
    if kind in SLICED_KINDS:
        source = io.BytesIO(data)  # shares the bytes until written to (never, here)
        found = stream.scan(source, name, options)
        if found is not None:
            return _ingest_slices(
                store,
                source,
                found,
                name,
                kind,
                options=options,
                actor=actor,
                channel=channel,
                progress=progress,
            )
    current = _current_wards(store) if kind not in NO_WARD_KINDS else None
    identity = _read_identity(kind, options, current[2] if current else None)
    base = _batch(kind, name, hashlib.sha256(data).hexdigest(), len(data), actor, channel, identity)
    duplicate = _as_duplicate(store, base)
    if duplicate is not None:
        return duplicate

    if kind == "wards":
        return _ingest_wards(store, base, data, name, boundary_set)
    if kind == "la-returns":
        return _ingest_returns(store, base, data, name)

    if not store.exists():
        raise FileRefused(NO_WARDS_CODE, NO_WARDS_MESSAGE)
    extract = loaders.read_extract(data, name, kind, options)
    with store.writing():
        wards = store.wards()
        if wards.empty:
            raise FileRefused(NO_WARDS_CODE, NO_WARDS_MESSAGE)
        active = store.active_boundary_set()
        if kind in ("cleansing", "enforcement"):
            assigned, ward_rejects = geo.assign_wards(extract.frame, wards)
        else:
            assigned, ward_rejects = map_ward_names(extract.frame, wards, kind)
        rejects = _combine_rejects(name, extract.rejects, ward_rejects)
        base.frame = assigned
        base.rejects = rejects
        base.report = extract.report
        base.rows_read = int(extract.report.get("rows_read", len(extract.frame)))
        base.rows_rejected = base.rows_read - len(assigned)
        base.boundary_set = active
        outcome = store.apply_ingest(base)
    return _result(store, base, outcome, rejects, extract.report)


STAGING_PREFIX = "neighbourhood-ingest-"
STAGING_OWNER = "owner.pid"
#: Staging folders without an owner file (made before it was written) are swept once this old.
STAGING_ORPHAN_SECONDS = 6 * 3600


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def sweep_stale_staging(base: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove staging folders (Parquet copies of case rows) that a killed ingest left behind.

    An ingest of a big file stages its rows in ``<temp>/neighbourhood-ingest-*`` and removes
    the folder on success and on failure; a process killed mid-ingest cannot. Each folder
    records its process id (``owner.pid``): a folder whose process is gone is removed at the
    start of the next such ingest. A folder without the file (left by an older version) is
    removed once it is :data:`STAGING_ORPHAN_SECONDS` old.

    Parameters
    ----------
    base
        The temporary folder to look in (default ``tempfile.gettempdir()``).

    Returns
    -------
    list of Path
        The folders removed.

    Examples
    --------
    >>> import tempfile
    >>> sweep_stale_staging(tempfile.mkdtemp())
    []
    """
    import shutil
    import time

    removed: list[Path] = []
    root = Path(base or tempfile.gettempdir())
    for folder in root.glob(STAGING_PREFIX + "*"):
        try:
            if not folder.is_dir() or folder.is_symlink():
                continue
            owner = folder / STAGING_OWNER
            if owner.is_file():
                text = owner.read_text().strip()
                stale = text.isdigit() and not _alive(int(text))
            else:
                stale = time.time() - folder.stat().st_mtime > STAGING_ORPHAN_SECONDS
            if stale:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        except OSError:
            continue  # another user's folder, or gone meanwhile
    return removed


def check_store_kind(store: Store, channel: str) -> None:
    """Refuse a load that would mix the synthetic demo with a council's own data.

    A store marked ``demo`` takes only the demo's own loads (channel ``demo``); any other store
    never takes them (docs/architecture.md, "The demo store").

    Parameters
    ----------
    store
        The target store (nothing to check when it does not exist yet).
    channel
        The load's channel (``demo`` for :func:`neighbourhood.demo.build_demo`).

    Raises
    ------
    FileRefused
        ``F_DEMO_STORE`` (own data aimed at the demo store) or ``F_COUNCIL_STORE`` (demo rows
        aimed at a council's store); nothing is read or written.

    Examples
    --------
    >>> import tempfile
    >>> check_store_kind(Store(tempfile.mkdtemp()), "upload") is None
    True
    """
    if not store.exists():
        return
    have, wanted = store.kind(), kind_of_channel(channel)
    if have is not None and have != wanted:
        code = DEMO_STORE_CODE if have == DEMO else COUNCIL_STORE_CODE
        raise FileRefused(code, kind_refusal(store.path, have, wanted))


def _current_wards(store: Store) -> tuple[str | None, Any, tuple[str | None, str]] | None:
    """The boundary set in use, its wards and their fingerprint; None without any."""
    if not store.exists():
        return None
    active = store.active_boundary_set()
    wards = store.wards(active)
    if wards.empty:
        return None
    return active, wards, _wards_fingerprint(active, wards)


def _read_identity(
    kind: str, options: ReadOptions | None, boundaries: tuple[str | None, str] | None
) -> str:
    """What besides its bytes and kind decides how a file reads (``IngestBatch.read_options``).

    The read options (:func:`loaders.options_key`), for case files the label maps in use
    (:func:`loaders.maps_digest`: a file loaded again after a map was edited is read again), and,
    for the kinds given wards, the boundary
    set in use (``boundaries``, :func:`_wards_fingerprint`): a file loaded again after new
    boundaries is read again, so that its rows take the new wards, instead of being "already
    loaded".
    """
    if kind in NO_WARD_KINDS:
        return ""
    key = loaders.options_key(options)
    if kind in SLICED_KINDS:  # the label maps decide the stored categories and values too
        key = f"{key}#maps={loaders.maps_digest()}"
    return key if boundaries is None else f"{key}#wards={boundaries[1][:16]}"


def _batch(
    kind: str,
    name: str,
    sha: str,
    n_bytes: int,
    actor: str,
    channel: str,
    identity: str = "",
) -> IngestBatch:
    return IngestBatch(
        kind=kind,
        file_name=name,
        sha256=sha,
        n_bytes=n_bytes,
        frame=None,
        actor=actor,
        channel=channel,
        started_at=_utc_now(),
        read_options=identity,
    )


def _as_duplicate(store: Store, base: IngestBatch) -> IngestResult | None:
    """A file already committed with the same digest, kind and read options: logged, never parsed."""
    found = store.exists() and store.find_duplicate(base.sha256, base.kind, base.read_options)
    if not found:
        return None
    outcome = store.apply_ingest(base)
    if outcome.status != "duplicate_file":
        return None
    return _result(store, base, outcome, _empty_rejects(), {})


def _ingest_slices(
    store: Store,
    source: BinaryIO,
    found: stream.Scan,
    name: str,
    kind: str,
    *,
    options: ReadOptions | None = None,
    actor: str = "cli",
    channel: str = "cli",
    boundary_set: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> IngestResult:
    """:func:`ingest_bytes` for a big case extract, read and assigned one slice at a time.

    Each slice's accepted rows are prepared for the store and written to a Parquet file in a
    private temporary folder; the store's one transaction then reads them back. Nothing is
    written to the store until every slice has been read, so a refusal anywhere in the file
    leaves it untouched. Ids repeated across slices are settled as the loader settles them
    within a file (:func:`_cross_slice_duplicates`).
    """
    del boundary_set  # wards are never read in slices
    # The slices are read and assigned without the writer's lock (readers and other loads go on
    # meanwhile); the boundaries they were assigned to are checked again under the lock.
    current = _current_wards(store)
    identity = _read_identity(kind, options, current[2] if current else None)
    base = _batch(kind, name, found.sha256, found.size, actor, channel, identity)
    duplicate = _as_duplicate(store, base)
    if duplicate is not None:
        return duplicate
    if current is None:
        raise FileRefused(NO_WARDS_CODE, NO_WARDS_MESSAGE)
    active, wards, boundaries = current
    sweep_stale_staging()
    with tempfile.TemporaryDirectory(prefix=STAGING_PREFIX) as tmp:
        Path(tmp, STAGING_OWNER).write_text(str(os.getpid()))
        reports: list[dict[str, Any]] = []
        loader_rejects: list[pd.DataFrame] = []
        ward_rejects: list[pd.DataFrame] = []
        keys: list[pa.Table] = []  # ids of rows the loader kept but no ward took (few)
        bounds: list[tuple[bool, str | None, str | None]] = []
        files: list[str] = []
        staged_rows = 0
        read_bytes = 0
        for i, extract in enumerate(stream.read_slices(source, found, name, kind, options)):
            reports.append(extract.report)
            read_bytes += int(extract.report.get("bytes", 0)) - found.header_end
            loader_rejects.append(extract.rejects)
            frame = extract.frame
            bounds.append(_id_bounds(frame))
            assigned, rejected = geo.assign_wards(frame, wards)
            if len(assigned) < len(frame):
                keys.append(_slice_keys(frame[~frame.index.isin(assigned.index)]))
            del extract, frame
            ward_rejects.append(rejected)
            rows = Store.prepare_rows(kind, assigned)
            rows = rows.append_column(
                "source_line", pa.array(assigned["source_line"].to_numpy(np.int64))
            )
            del assigned
            path = os.path.join(tmp, f"rows-{i:05d}.parquet")
            pq.write_table(
                rows, path, compression="lz4", use_dictionary=False, write_statistics=False
            )
            staged_rows += rows.num_rows
            files.append(path)
            del rows
            stream.release_memory()
            if progress is not None:
                progress(min(1.0, (found.header_end + read_bytes) / max(found.size, 1)))
        report = stream.merge_reports(reports, found)
        with_updated = "updated_at" in (report.get("columns") or {}).values()
        losers = _cross_slice_duplicates(files, keys, bounds, with_updated)
        unplaced = {line for k in keys for line in k.column("source_line").to_pylist()}
        del keys
        loser_lines = set(losers["source_line"].tolist())
        if loser_lines:
            # As in one file: a row that lost to a newer one is never assigned a ward.
            ward_rejects = [p[~p["source_line"].isin(loser_lines)] for p in ward_rejects]
            report["rows_accepted"] = int(report.get("rows_accepted", 0)) - len(losers)
            report["rows_rejected"] = int(report.get("rows_rejected", 0)) + len(losers)
            rules = report.setdefault("rules", {})
            rules["E_DUPLICATE_ID"] = int(rules.get("E_DUPLICATE_ID", 0)) + len(losers)
        loaded = loaders.drop_warnings_of_rejected_rows(_sorted_rejects([*loader_rejects, losers]))
        del loader_rejects
        if loser_lines:
            # the losers' warnings went with them: count as the whole-file reader does
            warned = loaded.loc[loaded["severity"] == "warning", "source_line"].nunique()
            report["rows_warned"] = int(warned)
            report["rules"] = {str(k): int(v) for k, v in loaded["rule"].value_counts().items()}
        rejects = _combine_rejects(name, loaded, *ward_rejects)
        base.rejects = rejects
        base.report = report
        base.rows_read = int(report.get("rows_read", 0))
        # read_slices yields at least one slice (else it refuses), so there is a staged file.
        base.staged = files
        base.staged_exclude = sorted(loser_lines)
        kept_rows = staged_rows - len(loser_lines - unplaced)  # losers no ward took: not staged
        base.staged_rows = kept_rows
        base.rows_rejected = base.rows_read - kept_rows
        base.boundary_set = active
        stream.release_memory()  # what the slices left behind, before DuckDB takes its share
        with store.writing():
            now = store.active_boundary_set()
            if _wards_fingerprint(now, store.wards(now)) != boundaries:
                raise FileRefused(WARDS_CHANGED_CODE, WARDS_CHANGED_MESSAGE)
            outcome = store.apply_ingest(base)
    return _result(store, base, outcome, rejects, report)


def _wards_fingerprint(active: str | None, wards: Any) -> tuple[str | None, str]:
    """The active boundary set and a digest of its codes and shapes."""
    codes = wards["ward_code"].astype(str).tolist()
    return active, geo.geometry_digest(wards.geometry.to_numpy(), codes)


def _slice_keys(frame: pd.DataFrame) -> pa.Table:
    """``case_id``, ``updated_at`` (epoch µs), ``source_line`` of some of a slice's rows."""
    updated = frame["updated_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    return pa.table(
        {
            "case_id": pa.array(frame["case_id"].array, type=pa.large_string()),
            "updated_us": pa.array(
                updated.to_numpy(dtype="datetime64[us]").astype(np.int64),
                mask=updated.isna().to_numpy(bool),
            ),
            "source_line": pa.array(frame["source_line"].to_numpy(np.int64)),
        }
    )


def _id_bounds(frame: pd.DataFrame) -> tuple[bool, str | None, str | None]:
    """(ids strictly increasing?, first id, last id) of one slice's accepted rows."""
    import pyarrow.compute as pc

    ids = pa.array(frame["case_id"].array, type=pa.large_string())
    if len(ids) == 0:
        return True, None, None
    ordered = len(ids) < 2 or bool(pc.all(pc.less(ids[:-1], ids[1:])).as_py())
    return ordered, ids[0].as_py(), ids[-1].as_py()


def _cross_slice_duplicates(
    files: list[str],
    unplaced: list[pa.Table],
    bounds: list[tuple[bool, str | None, str | None]],
    with_updated: bool,
) -> pd.DataFrame:
    """Reject rows for ids repeated across slices: the loader's rule for repeats in one file.

    Among the rows each slice's loader kept (staged rows, and those no ward took), the one with
    the newest ``updated_at`` (rows without one lose to rows with one), then the later row, is
    kept; the others get ``E_DUPLICATE_ID`` with the loader's message. Slices whose ids are
    sorted and do not overlap (the usual extract, ordered by reference) need no join.
    """
    empty = _empty_rejects().drop(columns=["source_file"])
    spans = [(lo, hi) for ordered, lo, hi in bounds if lo is not None]
    if len(spans) < 2:
        return empty
    if all(ordered for ordered, _, _ in bounds) and all(
        spans[i][1] < spans[i + 1][0] for i in range(len(spans) - 1)
    ):
        return empty
    import duckdb

    sql = (
        "SELECT CAST(case_id AS VARCHAR) AS case_id, epoch_us(updated_at) AS updated_us, "
        f"source_line FROM {read_parquet_sql(files)}"
    )
    con = duckdb.connect()
    try:
        con.execute("SET memory_limit = '256MB'")
        if unplaced:
            con.register("unplaced", pa.concat_tables(unplaced))
            sql += (
                " UNION ALL SELECT CAST(case_id AS VARCHAR), updated_us, source_line FROM unplaced"
            )
        found = con.execute(
            "SELECT source_line, case_id, bool_or(updated_us IS NOT NULL) OVER "
            f"(PARTITION BY case_id) AS by_when FROM ({sql}) QUALIFY row_number() OVER "
            "(PARTITION BY case_id ORDER BY updated_us DESC NULLS LAST, source_line DESC) > 1 "
            "ORDER BY source_line"
        ).df()
    finally:
        con.close()
    if found.empty:
        return empty
    # as the loader says it: by updated_at where the id's rows have one, else by file order
    by_when = found["by_when"].fillna(False).astype(bool).to_numpy() & with_updated
    message = np.where(by_when, loaders.DUPLICATE_NEWEST, loaders.DUPLICATE_LAST)
    return pd.DataFrame(
        {
            "source_line": found["source_line"].astype("int64"),
            "case_id": found["case_id"].astype("str"),
            "column": "case_id",
            "value": found["case_id"].astype("str").str.slice(0, 100),
            "rule": "E_DUPLICATE_ID",
            "message": message,
            "severity": "error",
        }
    )


def _sorted_rejects(parts: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [p for p in parts if len(p)]
    if not frames:
        return _empty_rejects().drop(columns=["source_file"])
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["source_line", "severity"], kind="stable", ignore_index=True)


#: Stored tables whose rows carry a ward code of the boundary set they were loaded under.
WARD_TABLES: tuple[str, ...] = ("cases", "enforcement", "spend", "population")


def unmatched_ward_rows(stored: dict[str, pd.Series], codes: Any) -> dict[str, tuple[int, int]]:
    """Per stored table, (rows whose ward code is not in ``codes``, rows with a ward code).

    ``stored`` maps a table to its row count per ward code (``ward_code`` → n). Rows without a
    ward code and whole-city spend (``citywide``) are left out: no boundary set places them.

    Examples
    --------
    >>> stored = {"cases": pd.Series({"E1": 5, "E2": 3}), "spend": pd.Series({"citywide": 4})}
    >>> unmatched_ward_rows(stored, ["E1", "E9"])
    {'cases': (3, 8), 'spend': (0, 0)}
    """
    known = {str(c) for c in codes}
    out: dict[str, tuple[int, int]] = {}
    for table, counts in stored.items():
        counts = counts[[str(k) not in ("", schemas.CITYWIDE) for k in counts.index]]
        missing = counts[[str(k) not in known for k in counts.index]]
        out[table] = (int(missing.sum()), int(counts.sum()))
    return out


def rows_outside_wards(store: Store, codes: Any) -> dict[str, tuple[int, int]]:
    """:func:`unmatched_ward_rows` of what ``store`` holds (read-only; ``{}`` without a store).

    After new boundaries, these rows drop out of every ward figure until their extracts are
    loaded again (the same files will do: the boundary set is part of a file's identity).
    """
    if not store.exists():
        return {}
    stored: dict[str, pd.Series] = {}
    for table in WARD_TABLES:
        frame = store.query(
            f"SELECT ward_code, count(*) AS n FROM {table} "  # noqa: S608 (fixed table names)
            "WHERE ward_code IS NOT NULL GROUP BY ward_code"
        )
        stored[table] = pd.Series(
            frame["n"].to_numpy(dtype="int64"), index=frame["ward_code"].astype(str)
        )
    return unmatched_ward_rows(stored, codes)


def _ingest_wards(
    store: Store, base: IngestBatch, data: bytes, name: str, boundary_set: str | None
) -> IngestResult:
    try:
        boundaries = geo.read_boundaries(data, name)
    except geo.BoundaryRefused as exc:
        raise FileRefused(f"F_BOUNDARY_{exc.code.upper()}", exc.message) from exc
    wards = boundaries.wards
    report = dict(boundaries.report)
    base.frame = wards
    base.rejects = _empty_rejects()
    base.report = report
    base.rows_read = int(report.get("features_read", len(wards)))
    base.rows_rejected = 0
    base.boundary_set = boundary_set or Path(name).stem or "wards"
    warnings = report.get("warnings") or []
    base.message = f"boundary set {base.boundary_set!r} is now active" + (
        "; warnings: " + " ".join(str(w) for w in warnings) if warnings else ""
    )
    # the file is accepted: only now may the store folder be created
    store.initialise(kind_of_channel(base.channel))
    outcome = store.apply_ingest(base)
    if outcome.status == "committed":
        left = {t: m for t, (m, _) in rows_outside_wards(store, wards["ward_code"]).items() if m}
        if left:
            listed = ", ".join(f"{m:,} {t}" for t, m in left.items())
            outcome.message += (
                f"; stored rows with ward codes not in this set ({listed}) drop out of every "
                "ward figure until their extracts are loaded again (the same files will do for "
                "rows placed by coordinates or by a ward name this set has; rows that give only "
                "an old ward code need a new export), or this load is undone"
            )
    return _result(store, base, outcome, base.rejects, report)


def _ingest_returns(store: Store, base: IngestBatch, data: bytes, name: str) -> IngestResult:
    """DEFRA's fly-tipping returns (:mod:`neighbourhood.la_returns`): no wards needed.

    A newer release replaces the figures of every council, year and sheet it gives (DEFRA
    revises earlier years in each release); the bundled release is never written to the store.
    """
    from neighbourhood import la_returns

    extract = la_returns.read_returns(data, name)
    report = dict(extract.report)
    base.frame = extract.frame
    base.rejects = _combine_rejects(name, extract.rejects)
    base.report = report
    base.rows_read = int(report.get("rows_read", len(extract.frame)))
    base.rows_rejected = int(report.get("rows_rejected", 0))
    years = report.get("years") or []
    if years:
        base.message = (
            f"DEFRA returns for {report.get('councils', 0)} councils, {years[0]} to {years[-1]}"
        )
    store.initialise()  # the file is accepted: only now may the store folder be created
    outcome = store.apply_ingest(base)
    return _result(store, base, outcome, base.rejects, report)


def _result(
    store: Store,
    batch: IngestBatch,
    outcome: Any,
    rejects: pd.DataFrame,
    report: dict[str, Any],
) -> IngestResult:
    duplicate = outcome.status == "duplicate_file"
    errors = 0 if duplicate else int(batch.rows_rejected)
    return IngestResult(
        ingest_id=outcome.ingest_id,
        kind=batch.kind,
        file_name=batch.file_name,
        sha256=batch.sha256,
        status=outcome.status,
        rows_read=int(batch.rows_read),
        rows_accepted=int(outcome.rows_accepted),
        rows_rejected=errors,
        rows_new=int(outcome.rows_new),
        rows_updated=int(outcome.rows_updated),
        rows_unchanged=int(outcome.rows_unchanged),
        rejects=rejects if not duplicate else _empty_rejects(),
        report=report,
        message="; ".join(m for m in (batch.message, outcome.message) if m),
        boundary_set=batch.boundary_set,
        store=str(store.path),
    )


def _combine_rejects(name: str, *parts: pd.DataFrame | None) -> pd.DataFrame:
    frames = [p for p in parts if p is not None and len(p)]
    if not frames:
        return _empty_rejects()
    out = pd.concat(frames, ignore_index=True)
    out["source_file"] = name
    for col in REJECT_COLUMNS:
        if col not in out.columns:
            out[col] = None
    out = out.sort_values("source_line", kind="stable").reset_index(drop=True)
    return loaders.drop_warnings_of_rejected_rows(out[list(REJECT_COLUMNS)])


def map_ward_names(
    frame: pd.DataFrame, wards: pd.DataFrame, kind: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map the ward column of a spend or population frame onto the active ward codes.

    The ``ward_code`` value, then the ``ward_name`` value, is matched to a ward by code (trimmed,
    case-insensitive), else by name after :func:`neighbourhood.geo.normalise_ward_name` (exact,
    never fuzzy). For spend ``citywide`` is kept as is. Rows that match no
    ward are rejected with ``E_UNKNOWN_WARD``.

    Parameters
    ----------
    frame
        ``loaders`` output for ``spend`` or ``population`` (with ``source_line``).
    wards
        The active wards (``ward_code``, ``ward_name``).
    kind
        ``spend`` or ``population``.

    Returns
    -------
    assigned, rejects
        The kept rows with canonical ``ward_code`` (and ``ward_name`` for population), and one
        reject row per unmatched row.

    Examples
    --------
    >>> w = pd.DataFrame({"ward_code": ["E05000001"], "ward_name": ["Anfield"]})
    >>> f = pd.DataFrame({"ward_code": ["anfield", "citywide"], "source_line": [2, 3]})
    >>> map_ward_names(f, w, "spend")[0]["ward_code"].tolist()
    ['E05000001', 'citywide']
    """
    by_code = {str(c).strip().upper(): str(c) for c in wards["ward_code"]}
    by_name: dict[str, str] = {}
    for code, ward_name in zip(wards["ward_code"], wards["ward_name"], strict=True):
        key = geo.normalise_ward_name(ward_name)
        if key is not None:
            by_name.setdefault(key, str(code))
    names_by_code = dict(zip(wards["ward_code"].astype(str), wards["ward_name"], strict=True))

    n = len(frame)
    raw_code = frame["ward_code"] if "ward_code" in frame else pd.Series([None] * n)
    raw_name = frame["ward_name"] if "ward_name" in frame else pd.Series([None] * n)
    raw_code = raw_code.reset_index(drop=True)
    raw_name = raw_name.reset_index(drop=True)

    def _match(code: Any, name: Any) -> str | None:
        for value in (code, name):
            if not isinstance(value, str) or not value.strip():
                continue
            text = value.strip()
            if kind == "spend" and text.lower() == schemas.CITYWIDE:
                return schemas.CITYWIDE
            hit = by_code.get(text.upper()) or by_name.get(geo.normalise_ward_name(text) or "")
            if hit is not None:
                return hit
        return None

    matched = np.array(
        [_match(c, m) for c, m in zip(raw_code.tolist(), raw_name.tolist(), strict=True)],
        dtype=object,
    )
    ok = pd.notna(pd.Series(matched)).to_numpy(bool)
    out = frame.reset_index(drop=True).copy()
    out["ward_code"] = matched
    if kind == "population":
        out["ward_name"] = [names_by_code.get(c) if c is not None else None for c in matched]
    lines = (
        out["source_line"] if "source_line" in out else pd.Series(np.arange(n) + 2, dtype="int64")
    )
    shown = raw_code.where(raw_code.notna(), raw_name)
    rejects = pd.DataFrame(
        {
            "source_line": lines[~ok].to_numpy(),
            "case_id": "",
            "column": "ward_code",
            "value": shown[~ok].astype("object").to_numpy(),
            "rule": geo.RULE_UNKNOWN_WARD,
            "message": "Not a ward of the active boundary set (by code or by name)"
            + (" and not 'citywide'." if kind == "spend" else "."),
            "severity": "error",
        }
    )
    kept = out[ok].reset_index(drop=True)
    # Rows that only now share their key (a ward given by code on one row and by name on
    # another) would be folded together by the store without a word: the last one is kept and
    # the others rejected, as the loaders do for keys repeated as written.
    keys = [k for k in KEYS[kind] if k in kept.columns]
    repeated = kept.duplicated(subset=keys, keep="last").to_numpy(bool)
    if repeated.any():
        what = "year" if kind == "population" else "period, programme and service"
        dup_lines = kept["source_line"] if "source_line" in kept else pd.Series(np.arange(n) + 2)
        dups = pd.DataFrame(
            {
                "source_line": dup_lines[repeated].to_numpy(),
                "case_id": "",
                "column": "ward_code",
                "value": shown[ok].reset_index(drop=True)[repeated].astype("object").to_numpy(),
                "rule": "E_DUPLICATE_ID",
                "message": f"Another row names the same ward (by code or by name) for the same "
                f"{what}; the last one in the file was kept.",
                "severity": "error",
            }
        )
        rejects = pd.concat([rejects, dups], ignore_index=True)
        kept = kept[~repeated].reset_index(drop=True)
    return kept, rejects
