"""The DuckDB store: schema, locks, read connections, upserts, ingest log, rejects and undo.

The store is one folder holding ``store.duckdb`` and ``store.lock`` (docs/architecture.md, "Store
contract"). A store is recognised by its database alone: a folder whose ``store.lock`` is missing
(a store copied, restored from a backup or moved) opens normally and gets a new lock file. What
the store holds, the synthetic demo or a council's own data, is recorded inside it (``meta`` key
``store_kind``, :meth:`Store.kind`), and the two never share a store. No DuckDB connection
outlives an operation:

- readers take a *shared* ``fcntl.flock`` on ``store.lock`` and open a read-only connection only
  while they copy what they need into memory (:meth:`Store.read`);
- writers take an *exclusive* lock for the whole ingest (:meth:`Store.writing`) and write one
  transaction (:meth:`Store.apply_ingest`, :meth:`Store.undo`) that ends with a ``CHECKPOINT`` so no
  ``.wal`` file is left behind.

Times are stored as ``TIMESTAMPTZ`` (UTC instants, the session time zone is pinned to UTC) and
returned to pandas as tz-aware ``Europe/London`` columns. Results are fetched through Arrow, never
``.df()`` (notes/performance.md: 3 GB peak for 5M rows).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from neighbourhood import safe_io, schemas

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

DB_NAME = "store.duckdb"
LOCK_NAME = "store.lock"
SCHEMA_VERSION = 3  # 2: derived columns (reported_day, closed_day, is_repeat, issued_day)
# 3: per-case codes for the metrics (case_state, days_to_close, category_id, ward_id) and the
#    value_codes table they refer to
DEFAULT_STORE = Path("data") / "store"
ENV_STORE = "NEIGHBOURHOOD_STORE"
# The synthetic demo lives in a store of its own, never in the council's (docs/architecture.md).
DEFAULT_DEMO_STORE = Path("data") / "demo-store"
ENV_DEMO_STORE = "NEIGHBOURHOOD_DEMO_STORE"
#: ``meta`` key recording what a store holds: :data:`DEMO` or :data:`COUNCIL`.
KIND_KEY = "store_kind"
DEMO: Final = "demo"
COUNCIL: Final = "council"
#: The ingest-log channel of the demo's loads (``neighbourhood.demo.build_demo``).
DEMO_CHANNEL: Final = "demo"
ENV_LOCK_TIMEOUT = "NEIGHBOURHOOD_LOCK_TIMEOUT"
# Test-only hooks (tests/test_concurrency.py): sleep this many seconds inside the ingest
# transaction, after every data statement and before COMMIT, having written the ingest id to the
# marker file (outside the store) so the test knows when to kill the process.
ENV_TEST_PAUSE = "NEIGHBOURHOOD_TEST_PAUSE_IN_TXN"
ENV_TEST_PAUSE_MARKER = "NEIGHBOURHOOD_TEST_PAUSE_MARKER"

_TS = "TIMESTAMPTZ"

# Stored tables: column -> DuckDB type, in storage order (canonical names from schemas.py).
_CANONICAL_TYPES: dict[str, str] = {
    "case_id": "VARCHAR",
    "category": "VARCHAR",
    "category_raw": "VARCHAR",
    "reported_at": _TS,
    "closed_at": _TS,
    "status": "VARCHAR",
    "latitude": "DOUBLE",
    "longitude": "DOUBLE",
    "easting": "DOUBLE",
    "northing": "DOUBLE",
    "ward_code": "VARCHAR",
    "ward_name": "VARCHAR",
    "street": "VARCHAR",
    "size": "VARCHAR",
    "cost_gbp": "DOUBLE",
    "channel": "VARCHAR",
    "updated_at": _TS,
    "offence": "VARCHAR",
    "action": "VARCHAR",
    "issued_at": _TS,
    "outcome": "VARCHAR",
    "outcome_at": _TS,
    "amount_gbp": "DOUBLE",
    "linked_case_id": "VARCHAR",
    "period_start": "DATE",
    "period_end": "DATE",
    "programme": "VARCHAR",
    "service": "VARCHAR",
    "population": "BIGINT",
    "year": "INTEGER",
    "boundary_set": "VARCHAR",
    "geometry_wkb": "BLOB",
    "area_m2": "DOUBLE",
    "ingest_id": "VARCHAR",
}


def _columns(*names: str) -> dict[str, str]:
    return {name: _CANONICAL_TYPES[name] for name in names}


#: Columns the store derives from each row at ingest (never read from a file), so that the
#: metrics need no per-case time-zone work: local (Europe/London) calendar dates, and the
#: repeat-location flag with the default rule (50 m, 90 days; ``repeats.flag_repeats``) over the
#: whole table. ``is_repeat`` depends on other rows: every write that changes a case's category,
#: time, place or status refreshes the flags it can affect (:func:`_refresh_repeats`).
#:
#: Schema 3 adds per-case values that depend on the row alone, so that the ward × period SQL
#: compares integers instead of text (docs/metrics.md, "Performance"):
#:
#: - ``case_state`` (:data:`CASE_STATES`): 0 open, 1 closed with a valid ``closed_at`` (not
#:   before ``reported_at``), 2 closed without one, 3 not counted (cancelled, duplicate, any other
#:   status); a missing status reads as closed when ``closed_at`` is set, else open;
#: - ``days_to_close``: elapsed days ``closed_at - reported_at`` of state-1 cases, else NULL (the
#:   same expression the metrics used on read, so the values are identical);
#: - ``category_id``, ``ward_id``: integer codes of ``category`` and ``ward_code`` from the
#:   ``value_codes`` table (a code, once given, never changes or gets reused).
DERIVED_COLUMNS: dict[str, dict[str, str]] = {
    "cases": {
        "reported_day": "DATE",
        "closed_day": "DATE",
        "is_repeat": "BOOLEAN",
        "case_state": "UTINYINT",
        "days_to_close": "DOUBLE",
        "category_id": "INTEGER",
        "ward_id": "INTEGER",
    },
    "enforcement": {"issued_day": "DATE"},
}
#: ``case_state`` values.
CASE_STATES = {"open": 0, "closed_ok": 1, "closed_no_date": 2, "not_counted": 3}
#: Derived columns computed in SQL from the row itself (:func:`_case_codes_select`).
CODED_COLUMNS = ("case_state", "days_to_close", "category_id", "ward_id")
#: Columns given integer codes in ``value_codes`` (column -> derived code column).
CODED_VALUES = {"category": "category_id", "ward_code": "ward_id"}
CODES_COLUMNS: dict[str, str] = {"col": "VARCHAR", "value": "VARCHAR", "code": "INTEGER"}
#: (local-date column, timestamp column) pairs of DERIVED_COLUMNS.
LOCAL_DAY_OF: dict[str, tuple[tuple[str, str], ...]] = {
    "cases": (("reported_day", "reported_at"), ("closed_day", "closed_at")),
    "enforcement": (("issued_day", "issued_at"),),
}
REPEAT_DISTANCE_M = 50.0
REPEAT_WINDOW_DAYS = 90.0

#: ``la_returns`` columns (neighbourhood.la_returns.RETURNS_COLUMNS, kept in step by a test):
#: text identity, then DEFRA's figures as DOUBLE (a missing figure is NULL, never 0).
LA_RETURNS_TEXT: Final[tuple[str, ...]] = (
    "ons_code",
    "la_name",
    "region",
    "fin_year",
    "part",
    "reporting_basis",
)
LA_RETURNS_MEASURES: Final[tuple[str, ...]] = (
    "incidents",
    "land_highway",
    "land_footpath",
    "land_back_alley",
    "land_railway",
    "land_council",
    "land_agricultural",
    "land_private",
    "land_commercial",
    "land_watercourse",
    "land_other",
    "size_black_bag",
    "size_single_item",
    "size_car_boot",
    "size_small_van",
    "size_transit_van",
    "size_tipper_lorry",
    "size_significant",
    "clearance_cost_gbp",
    "la_population",
    "actions",
    "investigations",
    "warning_letters",
    "statutory_notices",
    "fpns",
    "fpns_fly_tipping",
    "duty_of_care_inspections",
    "stop_and_search",
    "vehicles_seized",
    "formal_cautions",
    "prosecutions",
    "injunctions",
    "fines_gbp",
)

DATA_TABLES: dict[str, dict[str, str]] = {
    "cases": {
        **_columns(*schemas.CLEANSING_COLUMNS, "ingest_id"),
        **DERIVED_COLUMNS["cases"],
    },
    "enforcement": {
        **_columns(*schemas.ENFORCEMENT_COLUMNS, "ingest_id"),
        **DERIVED_COLUMNS["enforcement"],
    },
    "spend": _columns(*schemas.SPEND_COLUMNS, "ingest_id"),
    "population": _columns("ward_code", "ward_name", "year", "population", "ingest_id"),
    "wards": _columns(
        "boundary_set", "ward_code", "ward_name", "geometry_wkb", "area_m2", "ingest_id"
    ),
    # DEFRA's fly-tipping returns loaded from a newer release (`ingest --kind la-returns`); the
    # release bundled in data/la_returns/ is read from its file, not copied here
    # (neighbourhood.compare.load_returns puts the two together, these rows winning).
    "la_returns": {
        **{c: "VARCHAR" for c in LA_RETURNS_TEXT},
        **{c: "DOUBLE" for c in LA_RETURNS_MEASURES},
        "ingest_id": "VARCHAR",
    },
}
TABLE_FOR_KIND: dict[str, str] = {
    "cleansing": "cases",
    "enforcement": "enforcement",
    "spend": "spend",
    "population": "population",
    "wards": "wards",
    "la-returns": "la_returns",
}
KEYS: dict[str, tuple[str, ...]] = {
    "cases": ("case_id",),
    "enforcement": ("case_id",),
    "spend": ("ward_code", "period_start", "period_end", "programme", "service"),
    "population": ("ward_code", "year"),
    "wards": ("boundary_set", "ward_code"),
    "la_returns": ("ons_code", "fin_year", "part"),
}
LOG_COLUMNS: dict[str, str] = {
    "seq": "INTEGER",
    "ingest_id": "VARCHAR",
    "started_at": _TS,
    "finished_at": _TS,
    "actor": "VARCHAR",
    "channel": "VARCHAR",
    "kind": "VARCHAR",
    "file_name": "VARCHAR",
    "file_sha256": "VARCHAR",
    "bytes": "BIGINT",
    "encoding": "VARCHAR",
    "delimiter": "VARCHAR",
    "rows_read": "BIGINT",
    "rows_accepted": "BIGINT",
    "rows_rejected": "BIGINT",
    "rows_new": "BIGINT",
    "rows_updated": "BIGINT",
    "rows_unchanged": "BIGINT",
    "status": "VARCHAR",
    "message": "VARCHAR",
    "details": "VARCHAR",
    "boundary_set": "VARCHAR",
    "undone_at": _TS,
    "undone_by": "VARCHAR",
}
REJECT_COLUMNS: dict[str, str] = {
    "ingest_id": "VARCHAR",
    "source_file": "VARCHAR",
    "source_line": "BIGINT",
    "case_id": "VARCHAR",
    "column": "VARCHAR",
    "value": "VARCHAR",
    "rule": "VARCHAR",
    "message": "VARCHAR",
    "severity": "VARCHAR",
}
# case_versions holds the previous version of every row an ingest replaced: the union of all data
# table columns (types agree by construction) plus which table and which ingest replaced it.
VERSION_COLUMNS: dict[str, str] = {"table_name": "VARCHAR", "replaced_by": "VARCHAR"}
for _cols in DATA_TABLES.values():
    VERSION_COLUMNS.update(_cols)
#: Saved column mappings (``neighbourhood.profiles``): one row per (name, kind); ``column_map``
#: is JSON ``{file header: field}``.
PROFILE_COLUMNS: dict[str, str] = {
    "name": "VARCHAR",
    "kind": "VARCHAR",
    "column_map": "VARCHAR",
    "saved_at": _TS,
    "saved_by": "VARCHAR",
}
ALL_TABLES: dict[str, dict[str, str]] = {
    **DATA_TABLES,
    "ingest_log": LOG_COLUMNS,
    "rejects": REJECT_COLUMNS,
    "case_versions": VERSION_COLUMNS,
    "value_codes": CODES_COLUMNS,
    "mapping_profiles": PROFILE_COLUMNS,
}
STATUSES = ("committed", "duplicate_file", "refused", "undone")
# Readers that want the active boundary set in SQL use this view (same rule as
# Store.active_boundary_set: the set of the newest committed wards ingest).
ACTIVE_WARDS_VIEW = (
    "CREATE OR REPLACE VIEW active_wards AS SELECT * FROM wards WHERE boundary_set = ("
    "SELECT boundary_set FROM ingest_log WHERE kind = 'wards' AND status = 'committed' "
    "ORDER BY seq DESC LIMIT 1)"
)


class StoreError(RuntimeError):
    """Base class for store errors the CLI and the app report as plain sentences."""


class StoreNotFound(StoreError, FileNotFoundError):
    """The store folder has no ``store.duckdb``."""


class StoreReadOnly(StoreError, PermissionError):
    """The store (its folder, database or lock file) cannot be written by this process."""


class StoreKindMismatch(StoreError, ValueError):
    """Demo rows aimed at a council's store, or a council's rows aimed at the demo store."""


def council_store_path() -> Path:
    """The council's store folder: ``$NEIGHBOURHOOD_STORE``, else ``data/store`` (relative to
    the working directory).

    Examples
    --------
    >>> import os; os.environ.pop("NEIGHBOURHOOD_STORE", None) and None
    >>> str(council_store_path())
    'data/store'
    """
    return Path(os.environ.get(ENV_STORE) or DEFAULT_STORE)


def demo_store_path() -> Path:
    """The demo's own store folder: ``$NEIGHBOURHOOD_DEMO_STORE``, else ``data/demo-store``.

    Examples
    --------
    >>> import os; os.environ.pop("NEIGHBOURHOOD_DEMO_STORE", None) and None
    >>> str(demo_store_path())
    'data/demo-store'
    """
    return Path(os.environ.get(ENV_DEMO_STORE) or DEFAULT_DEMO_STORE)


def kind_of_channel(channel: str) -> str:
    """The store kind a load through ``channel`` belongs in (``demo`` only for the demo's own).

    Examples
    --------
    >>> kind_of_channel("demo"), kind_of_channel("upload")
    ('demo', 'council')
    """
    return DEMO if channel == DEMO_CHANNEL else COUNCIL


def _read_only_error(path: Path, exc: BaseException | None = None) -> StoreReadOnly:
    reason = f" ({exc.strerror})" if isinstance(exc, OSError) and exc.strerror else ""
    return StoreReadOnly(
        f"the store at {path} cannot be written{reason}: its folder or files are read-only for "
        "this user. Nothing was changed. Load into a store folder you can write to, or ask "
        "whoever runs the server to make this one writable."
    )


_UNWRITABLE_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)


class StoreBusy(StoreError, TimeoutError):
    """The store lock could not be taken within the timeout."""


class UndoRefused(StoreError, ValueError):
    """An undo that would not restore a consistent state (see :meth:`Store.undo`)."""


def _read_options_of(details: str | None) -> str:
    """The read options an ingest was read with, from its log details ("" = the defaults)."""
    if not details:
        return ""
    try:
        return str(json.loads(details).get("read_options", ""))
    except (ValueError, AttributeError):
        return ""


@dataclass
class IngestBatch:
    """Everything one ingest writes, prepared before the store is opened for writing.

    ``frame`` holds canonical columns (extra columns are ignored); for ``kind="wards"`` it is a
    GeoDataFrame with ``ward_code``, ``ward_name``, ``geometry`` (EPSG:4326). ``frame=None`` is
    only valid for a file already known to be a duplicate, or with ``staged``.

    ``staged`` (big files read in slices, :mod:`neighbourhood.stream`) lists Parquet files of
    rows already prepared by :meth:`Store.prepare_rows`, each with a ``source_line`` column;
    they are read in the transaction instead of ``frame``. Rows whose ``source_line`` is in
    ``staged_exclude`` are left out (ids repeated across slices that lost to a newer row).
    """

    kind: str
    file_name: str
    sha256: str
    n_bytes: int
    frame: pd.DataFrame | None
    rejects: pd.DataFrame | None = None
    report: dict[str, Any] = field(default_factory=dict)
    actor: str = "cli"
    channel: str = "cli"
    started_at: datetime | None = None
    rows_read: int = 0
    rows_rejected: int = 0
    boundary_set: str | None = None
    message: str = ""
    staged: list[str] | None = None
    staged_exclude: list[int] | None = None
    staged_rows: int = 0
    #: What besides the bytes decides how the file reads: the read options
    #: (``loaders.options_key``, "" = the defaults) and the boundary set the rows are given
    #: wards from (``ingest._read_identity``). With ``sha256`` and ``kind``, what makes a file a
    #: duplicate of an earlier load.
    read_options: str = ""


@dataclass
class IngestOutcome:
    """What :meth:`Store.apply_ingest` wrote."""

    ingest_id: str
    status: str
    rows_accepted: int
    rows_new: int
    rows_updated: int
    rows_unchanged: int
    message: str
    duplicate_of: str | None = None
    rows_removed: int = 0


# --------------------------------------------------------------------------------------------
# locking

_held = threading.local()  # per thread: {lock path: [mode, depth, fd]}


def _lock_timeout(timeout: float | None) -> float:
    if timeout is not None:
        return timeout
    return float(os.environ.get(ENV_LOCK_TIMEOUT, "300"))


@contextlib.contextmanager
def _flock(lock_path: Path, exclusive: bool, timeout: float | None) -> Iterator[None]:
    """Hold ``flock`` on ``lock_path``; re-entrant per thread (exclusive covers shared).

    The lock file is opened read-only, so taking a lock changes no byte of the store. A store
    recognised by its database whose lock file is missing (copied, restored from a backup,
    moved) gets a new, empty one here; when the folder is read-only a reader goes on without
    it (:func:`_open_lock`).
    """
    table: dict[str, list[Any]] = getattr(_held, "locks", None) or {}
    _held.locks = table
    key = str(lock_path)
    if key in table:
        mode, _depth, _fd = table[key]
        if exclusive and mode == "shared":
            raise StoreError("cannot upgrade a shared store lock to exclusive; release it first")
        table[key][1] += 1
        try:
            yield
        finally:
            table[key][1] -= 1
        return
    fd = _open_lock(lock_path, exclusive)
    if fd is None:  # a read-only store without a lock file: nobody can write it, read unlocked
        table[key] = ["shared", 1, None]
        try:
            yield
        finally:
            del table[key]
        return
    try:
        flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + _lock_timeout(timeout)
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, flags)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreBusy(
                        f"the store at {lock_path.parent} is busy (another ingest is running); "
                        "try again shortly"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        table[key] = ["exclusive" if exclusive else "shared", 1, fd]
        try:
            yield
        finally:
            del table[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open_lock(lock_path: Path, exclusive: bool) -> int | None:
    """Open ``store.lock`` read-only, creating it when the store's database is there without it.

    Returns ``None`` for a reader when the lock file is missing and cannot be created (a
    read-only folder: no process can write the store either, so reading needs no lock).

    Raises
    ------
    StoreNotFound
        No ``store.duckdb`` in the folder.
    StoreReadOnly
        A writer that cannot open or create the lock file.
    """
    try:
        return os.open(lock_path, os.O_RDONLY)
    except FileNotFoundError:
        if not (lock_path.parent / DB_NAME).is_file():
            raise StoreNotFound(f"no store at {lock_path.parent} (no {DB_NAME})") from None
    except PermissionError as exc:
        if exclusive:
            raise _read_only_error(lock_path.parent, exc) from exc
        return None
    try:
        fd = os.open(lock_path, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno not in _UNWRITABLE_ERRNOS:
            raise
        if exclusive:
            raise _read_only_error(lock_path.parent, exc) from exc
        return None
    _log.info("created the missing lock file %s", lock_path)
    return fd


def _held_mode(lock_path: Path) -> str | None:
    table = getattr(_held, "locks", None) or {}
    entry = table.get(str(lock_path))
    return entry[0] if entry else None


# --------------------------------------------------------------------------------------------
# frame <-> Arrow conversion


def _q(name: str) -> str:
    """Quote an identifier (all our names are plain ASCII; ``"`` is rejected for safety)."""
    if '"' in name:
        raise ValueError(f"bad identifier {name!r}")
    return f'"{name}"'


_log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Integer key of each incoming cases row within one ingest (the file line for staged rows, the
#: row position otherwise): the plan and the repeat flags join on it instead of on case_id.
ROW_KEY: Final[str] = "_rowkey"

ENV_WRITE_MEMORY: Final[str] = "NEIGHBOURHOOD_DUCKDB_MEMORY"
DEFAULT_WRITE_MEMORY: Final[str] = "128MB"
#: DuckDB memory a writing connection starts with per incoming row (ingest). The rows a
#: transaction inserts stay pinned until it commits: 1M rows need more than 96 MB, 128 MB ran
#: out now and then when worker threads were busy too, 160 MB never did in our runs.
WRITE_MEMORY_PER_ROW: Final[int] = 160
#: When DuckDB runs out of its limit, the ingest is rolled back and tried again with 4× the room,
#: then with 80 % of the machine's memory (DuckDB's own default).
WRITE_MEMORY_RETRIES: Final[int] = 2
_SIZE_RE: Final[re.Pattern[str]] = re.compile(
    r"\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|KIB|MIB|GIB)\s*", re.IGNORECASE
)
_UNITS: Final[dict[str, int]] = {
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
}


def write_memory_limit() -> str:
    """DuckDB's memory limit for writing connections (undo, migration; ingest starts here).

    ``NEIGHBOURHOOD_DUCKDB_MEMORY`` (a DuckDB size such as ``512MB`` or ``2GB``) overrides
    :data:`DEFAULT_WRITE_MEMORY`. Above the limit DuckDB spills to a temporary folder beside the
    database; what cannot spill raises, and an ingest is then tried again with more room
    (docs/architecture.md, "Memory").

    Returns
    -------
    str

    Examples
    --------
    >>> write_memory_limit()[-2:]
    'MB'
    """
    value = os.environ.get(ENV_WRITE_MEMORY, "").strip()
    if value and _SIZE_RE.fullmatch(value):
        return value
    return DEFAULT_WRITE_MEMORY


def _size_bytes(value: str) -> int:
    m = _SIZE_RE.fullmatch(value)
    assert m is not None
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def _incoming_rows(batch: IngestBatch) -> int:
    if batch.staged is not None:
        return int(batch.staged_rows)
    return len(batch.frame) if batch.frame is not None else 0


def _memory_limits(rows: int) -> list[str]:
    """Memory limits to try a writing transaction with, in order (more each time it runs out).

    The first is :func:`write_memory_limit`, or :data:`WRITE_MEMORY_PER_ROW` per incoming row
    when that is more; then 4x as much; the last is DuckDB's own default share of the machine.
    """
    start = max(_size_bytes(write_memory_limit()), WRITE_MEMORY_PER_ROW * int(rows))
    machine = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.8)
    limits = [start]
    for _ in range(WRITE_MEMORY_RETRIES - 1):
        limits.append(limits[-1] * 4)
    limits.append(machine)
    kept = sorted({min(x, machine) for x in limits})
    return [f"{x // 1_000_000}MB" for x in kept]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _to_timestamptz(values: pd.Series) -> pa.Array:
    s = values
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = pd.to_datetime(s, errors="coerce")
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            pass
        else:
            # Naive wall times are Europe/London; the earlier (BST) instant in the autumn hour,
            # shifted forward in the spring gap (docs/architecture.md, "Time zone").
            s = s.dt.tz_localize(
                schemas.TIMEZONE,
                ambiguous=np.ones(len(s), dtype=bool),
                nonexistent="shift_forward",
            )
    s = s.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    return pa.array(s, type=pa.timestamp("us", tz="UTC"), from_pandas=True)


def _to_date(values: pd.Series) -> pa.Array:
    s = values
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = pd.to_datetime(s, errors="coerce")
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(schemas.TIMEZONE).dt.tz_localize(None)
    days = s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return pa.array(days, type=pa.date32(), mask=s.isna().to_numpy())


def _to_arrow_column(values: pd.Series, sql_type: str) -> pa.Array:
    if sql_type == "VARCHAR":
        if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
            try:
                return pa.array(values, type=pa.string(), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                pass
        return pa.array(values.astype("string"), type=pa.string(), from_pandas=True)
    if sql_type == "DOUBLE":
        return pa.array(
            pd.to_numeric(values, errors="coerce").astype("float64"),
            type=pa.float64(),
            from_pandas=True,
        )
    if sql_type in ("BIGINT", "INTEGER"):
        num = pd.to_numeric(values, errors="coerce").round().astype("Int64")
        arrow = pa.array(num, type=pa.int64(), from_pandas=True)
        return arrow.cast(pa.int32()) if sql_type == "INTEGER" else arrow
    if sql_type == _TS:
        return _to_timestamptz(values)
    if sql_type == "DATE":
        return _to_date(values)
    if sql_type == "BLOB":
        return pa.array(values, type=pa.binary(), from_pandas=True)
    raise ValueError(f"unsupported column type {sql_type}")


def _arrow_type(sql_type: str) -> pa.DataType:
    return {
        "VARCHAR": pa.string(),
        "DOUBLE": pa.float64(),
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        _TS: pa.timestamp("us", tz="UTC"),
        "DATE": pa.date32(),
        "BLOB": pa.binary(),
        "BOOLEAN": pa.bool_(),
        "UTINYINT": pa.uint8(),
    }[sql_type]


def frame_to_arrow(frame: pd.DataFrame, columns: dict[str, str]) -> pa.Table:
    """Coerce ``frame`` to exactly ``columns`` (name -> DuckDB type) as an Arrow table.

    Missing columns become nulls, extra columns are dropped, naive timestamps are read as
    Europe/London wall time and every timestamp is converted to UTC.

    Parameters
    ----------
    frame
        Canonical columns, any pandas dtypes.
    columns
        Target column names and DuckDB types, in order.

    Returns
    -------
    pyarrow.Table

    Examples
    --------
    >>> frame_to_arrow(pd.DataFrame({"case_id": ["C1"]}), {"case_id": "VARCHAR"}).num_rows
    1
    """
    n = len(frame)
    arrays = []
    for name, sql_type in columns.items():
        if name in frame.columns:
            arrays.append(_to_arrow_column(frame[name].reset_index(drop=True), sql_type))
        else:
            arrays.append(pa.nulls(n, type=_arrow_type(sql_type)))
    return pa.Table.from_arrays(arrays, names=list(columns))


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow → pandas: timestamps tz-aware Europe/London, DATE columns naive ``datetime64``.

    Parameters
    ----------
    table
        A result fetched from DuckDB with ``.to_arrow_table()``.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> arrow_to_frame(pa.table({"a": [1]})).shape
    (1, 1)
    """
    frame = table.to_pandas(date_as_object=False)
    for name, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype):
            frame[name] = frame[name].dt.tz_convert(schemas.TIMEZONE)
    return frame


def _create_sql(name: str, columns: dict[str, str]) -> str:
    body = ", ".join(f"{_q(c)} {t}" for c, t in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {name} ({body})"


def _join(left: str, right: str, keys: tuple[str, ...]) -> str:
    return " AND ".join(f"{left}.{_q(k)} IS NOT DISTINCT FROM {right}.{_q(k)}" for k in keys)


def _format_ingest_id(seq: int) -> str:
    return f"ingest-{seq:06d}"


def normalise_ingest_id(value: str) -> str:
    """Accept ``ingest-000007``, ``000007`` or ``7`` and return ``ingest-000007``.

    Parameters
    ----------
    value
        What the analyst typed.

    Returns
    -------
    str

    Examples
    --------
    >>> normalise_ingest_id("7")
    'ingest-000007'
    """
    text = value.strip()
    if text.isdigit():
        return _format_ingest_id(int(text))
    return text


# --------------------------------------------------------------------------------------------
# the store


class Store:
    """One store folder (``store.duckdb`` + ``store.lock``).

    Parameters
    ----------
    path
        The folder. ``None`` → ``$NEIGHBOURHOOD_STORE`` or ``data/store/`` relative to the
        working directory. Nothing is created until :meth:`initialise` (called by the first
        accepted ingest).

    Examples
    --------
    >>> Store("/tmp/nowhere-at-all").exists()
    False
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            path = os.environ.get(ENV_STORE) or DEFAULT_STORE
        self.path: Path = Path(path)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def db_path(self) -> Path:
        """``store.duckdb`` inside the folder."""
        return self.path / DB_NAME

    @property
    def lock_path(self) -> Path:
        """``store.lock`` inside the folder."""
        return self.path / LOCK_NAME

    # ---- life cycle -----------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the folder holds a store: its database ``store.duckdb`` (never the lock file,
        which is created again when missing).

        Returns
        -------
        bool

        Examples
        --------
        >>> Store("/tmp/nowhere-at-all").exists()
        False
        """
        return self.db_path.is_file()

    def initialise(self, kind: str = COUNCIL) -> None:
        """Create the folder, the lock file and the schema (idempotent, safe in parallel).

        Called only once a file has been accepted, so a refused first file creates nothing.

        Parameters
        ----------
        kind
            What the new store holds, recorded in it (``meta`` key ``store_kind``):
            ``"council"`` (default) or ``"demo"``. An existing store keeps its own.

        Raises
        ------
        StoreReadOnly
            The folder cannot be created or written.

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise(); s.exists()
        True
        """
        if kind not in (DEMO, COUNCIL):
            raise ValueError(f"kind must be {DEMO!r} or {COUNCIL!r}")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno in _UNWRITABLE_ERRNOS:
                raise _read_only_error(self.path, exc) from exc
            raise
        os.close(fd)
        with _flock(self.lock_path, exclusive=True, timeout=None):
            if self.db_path.is_file() and self._schema_ok():
                return
            con = self._connect(read_only=False)
            try:
                con.execute("BEGIN")
                for name, cols in ALL_TABLES.items():
                    con.execute(_create_sql(name, cols))
                con.execute(ACTIVE_WARDS_VIEW)
                con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR, value VARCHAR)")
                con.execute("DELETE FROM meta WHERE key = 'schema_version'")
                con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
                if not _stored_kind(con):
                    con.execute("INSERT INTO meta VALUES (?, ?)", [KIND_KEY, kind])
                con.execute("COMMIT")
                con.execute("CHECKPOINT")
            finally:
                con.close()

    def _schema_ok(self) -> bool:
        con = self._connect(read_only=True)
        try:
            names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
            names |= {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
        finally:
            con.close()
        return set(ALL_TABLES) | {"meta", "active_wards"} <= names

    def kind(self) -> str | None:
        """What the store holds: ``"demo"`` (the synthetic demo) or ``"council"`` (own data).

        Read from the store itself (``meta`` key ``store_kind``, written when the store is
        created). A store made before the marker existed is judged by its ingest log: only
        the demo's loads (channel ``demo``) → ``"demo"``, any other load → ``"council"``; the
        next write records it. ``None`` when there is no store or it holds no load and no
        marker.

        Returns
        -------
        str or None

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.kind() is None
        True
        >>> s.initialise(); s.kind()
        'council'
        """
        if not self.exists():
            return None
        with self.read() as con:
            return _stored_kind(con) or _inferred_kind(con)

    def _connect(
        self, read_only: bool, memory_limit: str | None = None
    ) -> duckdb.DuckDBPyConnection:
        if not read_only and _held_mode(self.lock_path) == "exclusive":
            # no other connection can be open now: a spill folder left by a killed process goes
            safe_io.remove_stale_spill(self.db_path)
        try:
            con = duckdb.connect(str(self.db_path), read_only=read_only)
        except duckdb.IOException as exc:
            if read_only or "ermission denied" not in str(exc) and "ead-only" not in str(exc):
                raise
            raise _read_only_error(self.path) from exc
        con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            # Row order in a table carries no meaning here (reads that need one ORDER BY), and
            # dropping it lets DuckDB insert in parallel with less memory.
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET memory_limit = ?", [memory_limit or write_memory_limit()])
        return con

    # ---- locks and connections ------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the exclusive store lock (re-entrant within a thread) for a whole ingest.

        Parameters
        ----------
        timeout
            Seconds to wait for other readers/writers (default ``$NEIGHBOURHOOD_LOCK_TIMEOUT``
            or 300); :class:`StoreBusy` after that.

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise()
        >>> with s.writing():
        ...     pass
        """
        if not self.exists():
            raise StoreNotFound(f"no store at {self.path}")
        with _flock(self.lock_path, exclusive=True, timeout=timeout):
            if not (os.access(self.db_path, os.W_OK) and os.access(self.path, os.W_OK)):
                raise _read_only_error(self.path)
            self._sweep_spill()
            yield

    def _sweep_spill(self) -> None:
        """Remove DuckDB's spill folder (``store.duckdb.tmp``) that a killed writer left behind.

        Only under the exclusive lock, taken once (not re-entered): no other connection to the
        store is open then, so nothing can be using it.
        """
        table = getattr(_held, "locks", None) or {}
        entry = table.get(str(self.lock_path))
        spill = Path(str(self.db_path) + ".tmp")
        if entry and entry[1] == 1 and spill.is_dir() and not spill.is_symlink():
            import shutil

            shutil.rmtree(spill, ignore_errors=True)

    @contextlib.contextmanager
    def read(self, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection under a shared lock, closed on exit.

        Copy what you need into memory inside the block (``.to_arrow_table()``); the lock makes
        sure no ingest is half-written while you read. The session time zone is UTC.

        Parameters
        ----------
        timeout
            Seconds to wait for a running ingest to finish.

        Yields
        ------
        duckdb.DuckDBPyConnection

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise()
        >>> with s.read() as con:
        ...     con.execute("SELECT count(*) FROM cases").fetchall()[0][0]
        0
        """
        if not self.exists():
            raise StoreNotFound(
                f"no store at {self.path}: load ward boundaries first (the Load data page, or "
                "`python -m neighbourhood ingest FILE --kind wards`)"
            )
        with _flock(self.lock_path, exclusive=False, timeout=timeout):
            con = self._connect(read_only=True)
            try:
                yield con
            finally:
                con.close()

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run one read-only SQL query and return it as pandas (times in Europe/London).

        Parameters
        ----------
        sql
            A SELECT statement.
        params
            Positional ``?`` parameters.

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise()
        >>> s.query("SELECT count(*) AS n FROM cases")["n"].iloc[0]
        np.int64(0)
        """
        with self.read() as con:
            return arrow_to_frame(con.sql(sql, params=params or None).to_arrow_table())

    # ---- reads ----------------------------------------------------------------------------

    def table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A whole stored table as pandas, times tz-aware Europe/London.

        Parameters
        ----------
        name
            One of ``cases``, ``enforcement``, ``spend``, ``population``, ``wards``,
            ``ingest_log``, ``rejects``, ``case_versions``.
        columns
            A subset of its columns (default all).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise()
        >>> list(s.table("spend").columns)[:2]
        ['ward_code', 'period_start']
        """
        if name not in ALL_TABLES:
            raise ValueError(f"unknown table {name!r}; expected one of {sorted(ALL_TABLES)}")
        known = ALL_TABLES[name]
        cols = list(known) if columns is None else list(columns)
        unknown = [c for c in cols if c not in known]
        if unknown:
            raise ValueError(f"unknown columns for {name}: {unknown}")
        select = ", ".join(_q(c) for c in cols)
        return self.query(f"SELECT {select} FROM {name}")

    def log(self) -> pd.DataFrame:
        """The ingest log, newest first.

        Returns
        -------
        pandas.DataFrame
            Columns as in ``LOG_COLUMNS``.

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise(); len(s.log())
        0
        """
        cols = ", ".join(_q(c) for c in LOG_COLUMNS)
        return self.query(f"SELECT {cols} FROM ingest_log ORDER BY seq DESC")

    def rejects(self, ingest_id: str) -> pd.DataFrame:
        """The rows one ingest rejected (or warned about), in file order.

        Parameters
        ----------
        ingest_id
            As in the log (``ingest-000007`` or ``7``).

        Returns
        -------
        pandas.DataFrame

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise(); len(s.rejects("1"))
        0
        """
        cols = ", ".join(_q(c) for c in REJECT_COLUMNS)
        return self.query(
            f"SELECT {cols} FROM rejects WHERE ingest_id = ? ORDER BY source_line, {_q('column')}",
            [normalise_ingest_id(ingest_id)],
        )

    def revision(self) -> str:
        """An opaque id that changes whenever the stored data changes ("" for an empty store).

        It is ``<newest committed ingest id>`` followed by ``+u<n>`` when ``n`` ingests have been
        undone, so an undo also invalidates caches keyed on it.

        Returns
        -------
        str

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise(); s.revision()
        ''
        """
        if not self.exists():
            return ""
        with self.read() as con:
            newest, undone = con.execute(
                "SELECT max(ingest_id) FILTER (WHERE status = 'committed'), "
                "count(*) FILTER (WHERE status = 'undone') FROM ingest_log"
            ).fetchall()[0]
        if newest is None and not undone:
            return ""
        return (newest or "") + (f"+u{undone}" if undone else "")

    def setting(self, key: str) -> str | None:
        """A value remembered in the store (``meta`` row ``setting:<key>``), or None.

        Parameters
        ----------
        key
            e.g. ``council`` (the council the comparison page is about).

        Returns
        -------
        str or None
            None too when the store does not exist yet.

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise(); s.set_setting("council", "E08000012")
        >>> s.setting("council")
        'E08000012'
        """
        if not self.exists():
            return None
        with self.read() as con:
            rows = con.execute(
                "SELECT value FROM meta WHERE key = ? LIMIT 1", [f"setting:{key}"]
            ).fetchall()
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def set_setting(self, key: str, value: str | None) -> None:
        """Remember ``value`` under ``key`` (None forgets it), in one transaction.

        A setting is not data: it changes neither the ingest log nor :meth:`revision`.

        Parameters
        ----------
        key
            The setting's name.
        value
            Its value; None removes it.

        Raises
        ------
        StoreNotFound
            The store does not exist.
        """
        if not self.exists():
            raise StoreNotFound(f"no store at {self.path}")
        name = f"setting:{key}"

        def write(con: duckdb.DuckDBPyConnection) -> None:
            con.execute("DELETE FROM meta WHERE key = ?", [name])
            if value is not None:
                con.execute("INSERT INTO meta VALUES (?, ?)", [name, str(value)])

        with self.writing():
            self._with_room(_memory_limits(0), f"setting {key}", write)

    def active_boundary_set(self) -> str | None:
        """Name of the active boundary set: that of the newest committed ``wards`` ingest.

        Returns
        -------
        str or None

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise(); s.active_boundary_set() is None
        True
        """
        with self.read() as con:
            rows = con.execute(
                "SELECT boundary_set FROM ingest_log WHERE kind = 'wards' AND status = 'committed' "
                "ORDER BY seq DESC LIMIT 1"
            ).fetchall()
        return rows[0][0] if rows else None

    def wards(self, boundary_set: str | None = None) -> gpd.GeoDataFrame:
        """Ward polygons (EPSG:4326) of a boundary set, the active one by default.

        Parameters
        ----------
        boundary_set
            Name of a stored set; ``None`` → the active set (empty frame when there is none).

        Returns
        -------
        geopandas.GeoDataFrame
            ``ward_code``, ``ward_name``, ``area_m2``, ``boundary_set``, ``geometry``, sorted by
            ``ward_code``.

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise(); len(s.wards())
        0
        """
        import geopandas as gpd
        import shapely

        name = boundary_set if boundary_set is not None else self.active_boundary_set()
        frame = self.query(
            "SELECT ward_code, ward_name, area_m2, boundary_set, geometry_wkb FROM wards "
            "WHERE boundary_set IS NOT DISTINCT FROM ? ORDER BY ward_code",
            [name],
        )
        geometry = shapely.from_wkb(frame.pop("geometry_wkb").to_numpy(dtype=object))
        return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")

    def find_duplicate(
        self, sha256: str, kind: str, read_options: str = ""
    ) -> dict[str, Any] | None:
        """The committed ingest this file would repeat, if any.

        The newest committed ingest of the same bytes and kind decides: the file repeats it
        when it was read the same way (``read_options``, ``IngestBatch.read_options``) and, for
        boundaries, while its set is still the one in use. Otherwise loading the file is a
        change (read again), not a duplicate.

        Parameters
        ----------
        sha256
            Hex digest of the file.
        kind
            Dataset kind.
        read_options
            How the file would be read now (``""`` = the default options, no wards).

        Returns
        -------
        dict or None
            ``ingest_id``, ``file_name``, ``finished_at`` of the earlier ingest.

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise(); s.find_duplicate("00", "wards") is None
        True
        """
        if not self.exists():
            return None
        with self.read() as con:
            return self._find_duplicate(con, sha256, kind, read_options)

    @staticmethod
    def _find_duplicate(
        con: duckdb.DuckDBPyConnection, sha256: str, kind: str, read_options: str = ""
    ) -> dict[str, Any] | None:
        # The newest committed load of these bytes decides: a file read since with other
        # options or boundaries (or, for boundaries, a set loaded after it) wrote what is stored
        # now, so loading it as before is a change, not a duplicate (an undone boundary load
        # is put right by loading the extracts again).
        rows = con.execute(
            "SELECT ingest_id, file_name, strftime(finished_at, '%Y-%m-%d %H:%M:%S UTC'), "
            "details, seq FROM ingest_log WHERE file_sha256 = ? AND kind = ? "
            "AND status = 'committed' ORDER BY seq DESC LIMIT 1",
            [sha256, kind],
        ).fetchall()
        if not rows:
            return None
        ingest_id, file_name, finished_at, details, seq = rows[0]
        if _read_options_of(details) != read_options:
            return None
        if kind == "wards":  # a duplicate only while it is still the set in use
            later = con.execute(
                "SELECT count(*) FROM ingest_log WHERE kind = 'wards' AND status = 'committed' "
                "AND seq > ?",
                [seq],
            ).fetchall()[0][0]
            if later:
                return None
        return {"ingest_id": ingest_id, "file_name": file_name, "finished_at": finished_at}

    # ---- writes ---------------------------------------------------------------------------

    def apply_ingest(self, batch: IngestBatch) -> IngestOutcome:
        """Write one ingest (data upsert + rejects + log row) in one transaction.

        Takes the exclusive lock (re-entrant: callers that already hold :meth:`writing` keep
        it). A file that repeats a committed ingest (:meth:`find_duplicate`: same SHA-256,
        kind and read options) is logged as ``duplicate_file`` and changes no data. Otherwise
        the newest version of each key wins: by ``updated_at`` when both versions have one, else
        the incoming (newer) ingest; a row
        identical to the stored one counts as unchanged and is not rewritten. Replaced rows are
        copied to ``case_versions`` for :meth:`undo`. For ``wards`` the boundary set named
        ``batch.boundary_set`` is replaced as a whole and becomes the active set.

        Parameters
        ----------
        batch
            The prepared, validated, ward-assigned rows.

        Returns
        -------
        IngestOutcome

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise()
        >>> b = IngestBatch("population", "p.csv", "ab", 10,
        ...     pd.DataFrame({"ward_code": ["E1"], "year": [2024], "population": [900]}))
        >>> s.apply_ingest(b).rows_new
        1
        """
        if batch.kind not in TABLE_FOR_KIND:
            raise ValueError(f"unknown kind {batch.kind!r}")
        wanted = kind_of_channel(batch.channel)
        if not self.exists():
            self.initialise(wanted)
        table = TABLE_FOR_KIND[batch.kind]

        def apply(con: duckdb.DuckDBPyConnection) -> IngestOutcome:
            _claim_kind(con, wanted, self.path)
            before = _stored_rows(con, table)
            outcome = self._apply(con, batch)
            if not _compaction_due(before, outcome):
                # The replaced rows stay in the file as dead rows until a later ingest compacts
                # the table: compacting rewrote most of it (0.6 s of a re-extract of 1M cases
                # with 10 % changed), so it runs only once dead rows are a fair share.
                con.execute("SET max_vacuum_tasks = 0")
            return outcome

        with self.writing():
            return self._with_room(
                _memory_limits(_incoming_rows(batch)), f"ingest of {batch.file_name}", apply
            )

    def _with_room(
        self,
        limits: list[str],
        what: str,
        work: Callable[[duckdb.DuckDBPyConnection], _T],
    ) -> _T:
        """Run ``work`` in one writing transaction, with more DuckDB memory each time it runs out.

        The transaction brings the schema up to date first, commits and checkpoints (no
        ``.wal`` is left behind); on any error it is rolled back, so a try that ran out of
        memory wrote nothing.
        """
        for i, limit in enumerate(limits):
            con = self._connect(read_only=False, memory_limit=limit)
            try:
                con.execute("BEGIN")
                try:
                    _migrate(con)
                    result = work(con)
                    con.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(duckdb.Error):
                        con.execute("ROLLBACK")
                    raise
                con.execute("CHECKPOINT")
                return result
            except duckdb.OutOfMemoryException as exc:
                if i == len(limits) - 1:
                    raise
                _log.warning(
                    "%s ran out of DuckDB memory at %s; trying again with %s (%s)",
                    what,
                    limit,
                    limits[i + 1],
                    str(exc).splitlines()[0][:200],
                )
            finally:
                con.close()
        raise AssertionError("unreachable")  # pragma: no cover

    def _next_seq(self, con: duckdb.DuckDBPyConnection) -> int:
        return int(con.execute("SELECT coalesce(max(seq), 0) + 1 FROM ingest_log").fetchall()[0][0])

    def _apply(self, con: duckdb.DuckDBPyConnection, batch: IngestBatch) -> IngestOutcome:
        """The ingest's writes, inside the transaction :meth:`_with_room` opened."""
        started = batch.started_at or _utc_now()
        seq = self._next_seq(con)
        ingest_id = _format_ingest_id(seq)
        duplicate = self._find_duplicate(con, batch.sha256, batch.kind, batch.read_options)
        if duplicate is not None:
            outcome = IngestOutcome(
                ingest_id=ingest_id,
                status="duplicate_file",
                rows_accepted=0,
                rows_new=0,
                rows_updated=0,
                rows_unchanged=0,
                message=(
                    f"identical to {duplicate['ingest_id']} ({duplicate['file_name']}, "
                    f"{duplicate['finished_at']}): nothing changed"
                ),
                duplicate_of=duplicate["ingest_id"],
            )
            rows_read, rows_rejected = batch.rows_read, 0
        else:
            if batch.frame is None and batch.staged is None:
                raise StoreError(
                    "the earlier identical ingest was undone meanwhile; please ingest again"
                )
            outcome = self._upsert(con, batch, ingest_id)
            rows_read, rows_rejected = batch.rows_read, batch.rows_rejected
            self._insert_rejects(con, batch, ingest_id)
        self._insert_log(con, batch, seq, ingest_id, started, outcome, rows_read, rows_rejected)
        self._test_pause(ingest_id)
        return outcome

    @staticmethod
    def _test_pause(ingest_id: str) -> None:
        pause = os.environ.get(ENV_TEST_PAUSE)
        if not pause:
            return
        marker = os.environ.get(ENV_TEST_PAUSE_MARKER)
        if marker:
            Path(marker).write_text(ingest_id)
        time.sleep(float(pause))

    def _prepare(self, batch: IngestBatch) -> pa.Table:
        """The incoming rows as Arrow: the canonical columns, then the derived local dates."""
        assert batch.frame is not None
        return self.prepare_rows(batch.kind, batch.frame, batch.boundary_set)

    @staticmethod
    def prepare_rows(kind: str, frame: pd.DataFrame, boundary_set: str | None = None) -> pa.Table:
        """Rows of one kind as the Arrow table the store writes (columns, types, local dates).

        Parameters
        ----------
        kind
            ``cleansing``, ``enforcement``, ``spend``, ``population`` or ``wards``.
        frame
            Canonical columns (extra columns are ignored).
        boundary_set
            ``wards`` only: the set's name.

        Returns
        -------
        pyarrow.Table

        Examples
        --------
        >>> f = pd.DataFrame({"ward_code": ["E1"], "year": [2024], "population": [900]})
        >>> Store.prepare_rows("population", f).column_names
        ['ward_code', 'ward_name', 'year', 'population']
        """
        table = TABLE_FOR_KIND[kind]
        columns = dict.fromkeys(_data_columns(table))
        columns = {c: DATA_TABLES[table][c] for c in columns}
        if table == "wards":
            frame = _wards_frame(frame, boundary_set or "default")
        arrow = frame_to_arrow(frame, columns)
        for day_col, ts_col in LOCAL_DAY_OF.get(table, ()):
            arrow = arrow.append_column(day_col, _local_day_array(arrow.column(ts_col)))
        return arrow

    @staticmethod
    def _plan(
        con: duckdb.DuckDBPyConnection,
        table: str,
        keys: tuple[str, ...],
        data_cols: list[str],
        source: str,
    ) -> None:
        """Temp table ``plan``: the incoming keys plus ``_action`` (new/stale/same/update).

        Rows are compared by a 64-bit hash of every data column, computed on both sides in the
        same query (so it never depends on a stored hash or on the DuckDB version): the stored
        side of the join is three narrow columns instead of whole rows, which halves the cost of
        a re-ingest, and an incoming row is hashed only when its key is stored. Two different
        rows with equal hashes (probability 2^-64 per changed row) would count as unchanged.
        For ``cases`` the plan also says whether the fields the repeat flag reads (category,
        time, place, cancelled/duplicate) changed (``_rep``).
        """
        types = DATA_TABLES[table]

        def row_hash(a: str) -> str:
            return "hash(" + ", ".join(f"CAST({a}{_q(c)} AS {types[c]})" for c in data_cols) + ")"

        has_upd = "updated_at" in data_cols
        stale = (
            "s.updated_at IS NOT NULL AND t.updated_at IS NOT NULL AND s.updated_at < t.updated_at"
            if has_upd
            else "FALSE"
        )
        key_cols = ", ".join(_q(k) for k in keys)
        upd = ", updated_at" if has_upd else ""
        cases = table == "cases"
        rep_hash = f", {_repeat_hash('')} AS _rh" if cases else ""
        rep = (
            f", (t._h IS NULL OR {_repeat_hash('s.')} <> t._rh) AS _rep, s.{ROW_KEY}"
            if cases
            else ", TRUE AS _rep"
        )
        # The incoming rows' hashes are computed inside the CASE, so only for rows whose key is
        # stored (DuckDB evaluates a branch only for the rows that reach it): a load of new
        # cases hashes nothing.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE plan AS SELECT {', '.join('s.' + _q(k) for k in keys)}, "
            "CASE WHEN t._h IS NULL THEN 'new' "
            f"WHEN {stale} THEN 'stale' WHEN {row_hash('s.')} = t._h THEN 'same' "
            f"ELSE 'update' END AS _action{rep} FROM {source} s "
            f"LEFT JOIN (SELECT {key_cols}{upd}, {row_hash('')} AS _h{rep_hash} FROM {table}) t "
            f"ON {_join('s', 't', keys)}"
        )

    def _upsert(
        self, con: duckdb.DuckDBPyConnection, batch: IngestBatch, ingest_id: str
    ) -> IngestOutcome:
        table = TABLE_FOR_KIND[batch.kind]
        keys = KEYS[table]
        data_cols = _data_columns(table)
        key_list = ", ".join(_q(k) for k in keys)
        staged = batch.staged is not None
        if staged:
            _stage_view(con, batch.staged or [], batch.staged_exclude or [])
            accepted = int(con.execute("SELECT count(*) FROM incoming_batch").fetchall()[0][0])
        else:
            incoming = self._prepare(batch)
            accepted = incoming.num_rows
            if table == "cases":
                incoming = incoming.append_column(
                    ROW_KEY, pa.array(np.arange(accepted, dtype=np.int64))
                )
            con.register("incoming_batch", incoming)
            del incoming
        try:
            repeated = con.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM incoming_batch GROUP BY {key_list} "
                "HAVING count(*) > 1)"
            ).fetchall()[0][0]
            source = "incoming_batch"
            if repeated:
                # A key repeated inside one file: the newest version (then the later row) wins.
                # The loaders already reject such repeats; this is the store's own guarantee.
                order = ["updated_at DESC NULLS LAST"] if "updated_at" in data_cols else []
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE stage AS SELECT * EXCLUDE (_row) FROM ("
                    "SELECT *, row_number() OVER () AS _row FROM incoming_batch) "
                    f"QUALIFY row_number() OVER (PARTITION BY {key_list} "
                    f"ORDER BY {', '.join([*order, '_row DESC'])}) = 1"
                )
                source = "stage"
            outcome = self._write_plan(con, batch, ingest_id, source, accepted, repeated)
        finally:
            # After a failed statement the transaction is aborted and these would raise too,
            # hiding the first error; the ROLLBACK drops the temp objects anyway.
            with contextlib.suppress(duckdb.Error):
                if staged:
                    con.execute("DROP VIEW IF EXISTS incoming_batch")
                    con.execute("DROP TABLE IF EXISTS staged_exclude")
                else:
                    con.unregister("incoming_batch")
                con.execute("DROP TABLE IF EXISTS stage")
                con.execute("DROP TABLE IF EXISTS plan")
        return outcome

    def _write_plan(
        self,
        con: duckdb.DuckDBPyConnection,
        batch: IngestBatch,
        ingest_id: str,
        source: str,
        accepted: int,
        repeated: int,
    ) -> IngestOutcome:
        table = TABLE_FOR_KIND[batch.kind]
        keys = KEYS[table]
        data_cols = _data_columns(table)
        key_list = ", ".join(_q(k) for k in keys)
        self._plan(con, table, keys, data_cols, source)
        tally = con.execute(
            "SELECT _action, count(*), count(*) FILTER (WHERE _rep) FROM plan GROUP BY _action"
        ).fetchall()
        counts = {action: n for action, n, _ in tally}
        skipped = sum(n for a, n in counts.items() if a not in ("new", "update"))
        moving = sum(r for a, _, r in tally if a in ("new", "update"))
        replaced = f"(SELECT {key_list} FROM plan WHERE _action = 'update')"
        if counts.get("update"):
            con.execute(
                f"INSERT INTO case_versions BY NAME SELECT '{table}' AS table_name, "
                f"? AS replaced_by, t.* FROM {table} t SEMI JOIN {replaced} p ON "
                f"{_join('t', 'p', keys)}",
                [ingest_id],
            )
            con.execute(f"DELETE FROM {table} USING {replaced} p WHERE {_join(table, 'p', keys)}")
        removed = 0
        if table == "wards":
            # The set is replaced as a whole: wards missing from the new file leave the set.
            gone = (
                "boundary_set = ? AND ward_code NOT IN (SELECT ward_code FROM plan "
                "WHERE ward_code IS NOT NULL)"
            )
            set_name = batch.boundary_set or "default"
            removed = int(
                con.execute(f"SELECT count(*) FROM wards WHERE {gone}", [set_name]).fetchall()[0][0]
            )
            if removed:
                con.execute(
                    "INSERT INTO case_versions BY NAME SELECT 'wards' AS table_name, "
                    f"? AS replaced_by, * FROM wards WHERE {gone}",
                    [ingest_id, set_name],
                )
                con.execute(f"DELETE FROM wards WHERE {gone}", [set_name])
        written = f"(SELECT {key_list} FROM plan WHERE _action IN ('new', 'update'))"
        derived = [c for c, _ in LOCAL_DAY_OF.get(table, ())]
        select = ", ".join(f"s.{_q(c)}" for c in (*data_cols, *derived))
        if table == "cases" and (counts.get("new") or counts.get("update")):
            # Repeat flags: those of the written rows are computed here (after the replaced
            # rows left, before the new ones arrive); stored rows that flip are updated.
            # Source rows are matched to the plan by their integer row key, not by case_id:
            # a join on a million strings cost more than the rest of the insert.
            total = sum(counts.values())
            written_only = _plan_filter("_action IN ('new', 'update')", total - skipped, total)
            moved = _plan_filter("_action IN ('new', 'update') AND _rep", moving, total)
            touched = (
                f"SELECT category, reported_at FROM {source} s{moved} UNION ALL "
                "SELECT category, reported_at FROM case_versions WHERE "
                "table_name = 'cases' AND replaced_by = $ingest AND case_id IN (SELECT case_id "
                "FROM plan WHERE _action = 'update' AND _rep)"
            )
            pending = f"(SELECT s.* FROM {source} s{written_only})"
            _refresh_repeats(
                con, touched, {"ingest": ingest_id}, pending=pending, flags_table="pending_flags"
            )
            if counts.get("update"):
                # An updated row whose flag was not recomputed just now keeps the one its
                # replaced version had (its category, time, place and status did not change).
                con.execute(
                    f"INSERT INTO pending_flags SELECT p.{ROW_KEY}, v.is_repeat FROM plan p "
                    "JOIN case_versions v ON v.case_id = p.case_id "
                    f"ANTI JOIN pending_flags f ON f.{ROW_KEY} = p.{ROW_KEY} "
                    "WHERE p._action = 'update' AND v.table_name = 'cases' AND v.replaced_by = ?",
                    [ingest_id],
                )
            _add_codes(con, source)
            try:
                con.execute(
                    f"INSERT INTO cases BY NAME SELECT {select}, ? AS ingest_id, "
                    "coalesce(f.is_repeat, false) AS is_repeat, "
                    f"{_case_codes_select('s')} FROM {source} s{written_only} "
                    f"LEFT JOIN pending_flags f ON f.{ROW_KEY} = s.{ROW_KEY}",
                    [ingest_id],
                )
            finally:
                with contextlib.suppress(duckdb.Error):
                    con.execute("DROP TABLE IF EXISTS pending_flags")
        else:
            con.execute(
                f"INSERT INTO {table} BY NAME SELECT {select}, ? AS ingest_id FROM {source} s "
                f"SEMI JOIN {written} p ON {_join('s', 'p', keys)}",
                [ingest_id],
            )
        new = int(counts.get("new", 0))
        updated = int(counts.get("update", 0))
        unchanged = accepted - new - updated
        parts = [f"{new} new, {updated} updated, {unchanged} unchanged"]
        if counts.get("stale"):
            parts.append(f"{counts['stale']} older than the stored version (stored one kept)")
        if repeated:
            parts.append(f"{accepted - sum(counts.values())} repeated keys within the file")
        if removed:
            parts.append(f"{removed} wards no longer in boundary set {batch.boundary_set!r}")
        return IngestOutcome(
            ingest_id=ingest_id,
            status="committed",
            rows_accepted=accepted,
            rows_new=new,
            rows_updated=updated,
            rows_unchanged=unchanged,
            message="; ".join(parts),
            rows_removed=removed,
        )

    def _insert_rejects(
        self, con: duckdb.DuckDBPyConnection, batch: IngestBatch, ingest_id: str
    ) -> None:
        rejects = batch.rejects
        if rejects is None or rejects.empty:
            return
        frame = rejects.copy()
        frame["ingest_id"] = ingest_id
        if "source_file" not in frame.columns:
            frame["source_file"] = batch.file_name
        if "value" in frame.columns:
            frame["value"] = frame["value"].map(lambda v: None if _is_missing(v) else str(v))
        for name in ("case_id", "column", "rule", "message", "severity"):
            if name in frame.columns:
                frame[name] = frame[name].map(lambda v: None if _is_missing(v) else str(v))
        arrow = frame_to_arrow(frame, REJECT_COLUMNS)
        con.register("incoming_rejects", arrow)
        try:
            con.execute("INSERT INTO rejects BY NAME SELECT * FROM incoming_rejects")
        finally:
            con.unregister("incoming_rejects")

    def _insert_log(
        self,
        con: duckdb.DuckDBPyConnection,
        batch: IngestBatch,
        seq: int,
        ingest_id: str,
        started: datetime,
        outcome: IngestOutcome,
        rows_read: int,
        rows_rejected: int,
    ) -> None:
        report = batch.report or {}
        if batch.read_options:
            report = {**report, "read_options": batch.read_options}
        message = "; ".join(m for m in (batch.message, outcome.message) if m)
        row = {
            "seq": seq,
            "ingest_id": ingest_id,
            "started_at": started,
            "finished_at": _utc_now(),
            "actor": batch.actor,
            "channel": batch.channel,
            "kind": batch.kind,
            "file_name": batch.file_name,
            "file_sha256": batch.sha256,
            "bytes": batch.n_bytes,
            "encoding": _str_or_none(report.get("encoding")),
            "delimiter": _str_or_none(report.get("delimiter")),
            "rows_read": rows_read,
            "rows_accepted": outcome.rows_accepted,
            "rows_rejected": rows_rejected,
            "rows_new": outcome.rows_new,
            "rows_updated": outcome.rows_updated,
            "rows_unchanged": outcome.rows_unchanged,
            "status": outcome.status,
            "message": message,
            "details": json.dumps(report, default=str, sort_keys=True),
            "boundary_set": batch.boundary_set,
            "undone_at": None,
            "undone_by": None,
        }
        frame = pd.DataFrame([row])
        frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
        frame["finished_at"] = pd.to_datetime(frame["finished_at"], utc=True)
        arrow = frame_to_arrow(frame, LOG_COLUMNS)
        con.register("incoming_log", arrow)
        try:
            con.execute("INSERT INTO ingest_log BY NAME SELECT * FROM incoming_log")
        finally:
            con.unregister("incoming_log")

    def undo(self, ingest_id: str, actor: str = "cli") -> dict[str, Any]:
        """Undo one committed ingest in one transaction, restoring what it replaced.

        Rule: only the newest committed ingest *of its kind* can be undone (undo newer ones of
        that kind first, newest first). Every row that ingest wrote is deleted and every row it
        replaced is restored from ``case_versions``, so the table is exactly as it was before
        the ingest. Its rejects stay for the audit trail; the log row becomes ``undone`` (with
        ``undone_at``/``undone_by``). Undoing a ``wards`` ingest makes the previous boundary set
        active again; cases keep the ward codes they were assigned.

        Parameters
        ----------
        ingest_id
            ``ingest-000007`` or ``7``.
        actor
            Who asked (recorded in the log).

        Returns
        -------
        dict
            ``ingest_id``, ``kind``, ``status`` (``"undone"``), ``rows_deleted``,
            ``rows_restored``, ``message``.

        Raises
        ------
        UndoRefused
            Unknown id, not committed (duplicate, already undone), or a newer committed ingest
            of the same kind exists.

        Examples
        --------
        >>> import tempfile
        >>> s = Store(tempfile.mkdtemp()); s.initialise()
        >>> b = IngestBatch("population", "p.csv", "ab", 10,
        ...     pd.DataFrame({"ward_code": ["E1"], "year": [2024], "population": [900]}))
        >>> s.undo(s.apply_ingest(b).ingest_id)["rows_deleted"]
        1
        """
        wanted = normalise_ingest_id(ingest_id)
        with self.writing():
            return self._with_room(
                _memory_limits(0), f"undo of {wanted}", lambda con: self._undo(con, wanted, actor)
            )

    def _undo(self, con: duckdb.DuckDBPyConnection, ingest_id: str, actor: str) -> dict[str, Any]:
        rows = con.execute(
            "SELECT seq, kind, status FROM ingest_log WHERE ingest_id = ?", [ingest_id]
        ).fetchall()
        if not rows:
            raise UndoRefused(f"no ingest {ingest_id} in the log")
        seq, kind, status = rows[0]
        if status != "committed":
            raise UndoRefused(f"{ingest_id} is {status}: there is nothing to undo")
        later = [
            r[0]
            for r in con.execute(
                "SELECT ingest_id FROM ingest_log WHERE kind = ? AND status = 'committed' "
                "AND seq > ? ORDER BY seq DESC",
                [kind, seq],
            ).fetchall()
        ]
        if later:
            raise UndoRefused(
                f"{ingest_id} is not the newest {kind} ingest; undo {', '.join(later)} first "
                "(newest first), because a later file may have relied on its rows"
            )
        table = TABLE_FOR_KIND[kind]
        cols = ", ".join(_q(c) for c in DATA_TABLES[table])
        starts = None
        if table == "cases":  # the rows that leave and the versions that return
            starts = _repeat_starts(
                con,
                "SELECT category, reported_at FROM cases WHERE ingest_id = $i UNION ALL "
                "SELECT category, reported_at FROM case_versions WHERE table_name = 'cases' "
                "AND replaced_by = $i",
                {"i": ingest_id},
            )
        deleted = int(
            con.execute(
                f"SELECT count(*) FROM {table} WHERE ingest_id = ?", [ingest_id]
            ).fetchall()[0][0]
        )
        con.execute(f"DELETE FROM {table} WHERE ingest_id = ?", [ingest_id])
        restored = int(
            con.execute(
                "SELECT count(*) FROM case_versions WHERE table_name = ? AND replaced_by = ?",
                [table, ingest_id],
            ).fetchall()[0][0]
        )
        con.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM case_versions "
            "WHERE table_name = ? AND replaced_by = ?",
            [table, ingest_id],
        )
        con.execute(
            "DELETE FROM case_versions WHERE table_name = ? AND replaced_by = ?",
            [table, ingest_id],
        )
        if starts is not None:
            _refresh_repeats(con, starts)
        message = (
            f"undone by {actor}: {deleted} rows removed, {restored} previous versions restored"
        )
        con.execute(
            "UPDATE ingest_log SET status = 'undone', undone_at = now(), undone_by = ?, "
            "message = concat_ws('; ', nullif(message, ''), ?) WHERE ingest_id = ?",
            [actor, message, ingest_id],
        )
        return {
            "ingest_id": ingest_id,
            "kind": kind,
            "status": "undone",
            "rows_deleted": deleted,
            "rows_restored": restored,
            "message": message,
        }


def read_parquet_sql(files: list[str]) -> str:
    """``read_parquet([...])`` over these files, each path quoted as a SQL string.

    Examples
    --------
    >>> read_parquet_sql(["/tmp/a.parquet", "/tmp/o'b.parquet"])
    "read_parquet(['/tmp/a.parquet', '/tmp/o''b.parquet'])"
    """
    return "read_parquet([" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "])"


#: Rows that an ingest replaces are deleted, and DuckDB keeps deleted rows in the file until a
#: checkpoint compacts their row groups ("vacuum"). An ingest's checkpoint compacts only when
#: the dead rows of its table will be at least this share of the rows in the file.
COMPACT_DEAD_SHARE: Final[float] = 0.25


def _stored_rows(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    """``(rows in the file, live rows)`` of a table as committed (dead = the difference)."""
    physical = con.execute(
        "SELECT coalesce(sum(count), 0) FROM pragma_storage_info(?) WHERE column_id = 0 "
        "AND segment_type <> 'VALIDITY'",
        [table],
    ).fetchall()[0][0]
    live = con.execute(f"SELECT count(*) FROM {_q(table)}").fetchall()[0][0]
    return int(physical), int(live)


def _compaction_due(before: tuple[int, int], outcome: IngestOutcome) -> bool:
    """Whether the checkpoint after this ingest should compact its table's dead rows.

    Examples
    --------
    >>> done = IngestOutcome("ingest-000002", "committed", 10, 0, 10, 0, "")
    >>> _compaction_due((100, 100), done), _compaction_due((100, 80), done)
    (False, True)
    """
    physical, live = before
    deleted = outcome.rows_updated + outcome.rows_removed
    dead = max(physical - live, 0) + deleted
    rows = physical + outcome.rows_new + outcome.rows_updated
    return deleted > 0 and dead >= COMPACT_DEAD_SHARE * max(rows, 1)


def _plan_filter(keep: str, kept: int, total: int) -> str:
    """Join clause that keeps the source rows (alias ``s``) whose ``plan`` row matches ``keep``.

    ``kept`` of the plan's ``total`` rows match. A semi join with the matching rows' keys cost
    a third of the insert of a million new rows, so it is left out when every row matches (a
    load into an empty store) and is an anti join with the rows that do not match when those
    are the fewer.

    Examples
    --------
    >>> _plan_filter("_rep", 10, 10)
    ''
    >>> _plan_filter("_rep", 9, 10)
    ' ANTI JOIN (SELECT _rowkey FROM plan WHERE NOT (_rep)) p ON s._rowkey = p._rowkey'
    """
    if kept == total:
        return ""
    if 2 * (total - kept) < total:
        rows, join = f"NOT ({keep})", "ANTI"
    else:
        rows, join = keep, "SEMI"
    return f" {join} JOIN (SELECT {ROW_KEY} FROM plan WHERE {rows}) p ON s.{ROW_KEY} = p.{ROW_KEY}"


def _stage_view(con: duckdb.DuckDBPyConnection, files: list[str], exclude: list[int]) -> None:
    """Temp view ``incoming_batch`` over staged Parquet files, less the excluded lines.

    The file line is the row key (:data:`ROW_KEY`): unique within one file.
    """
    if not files:
        raise StoreError("a staged ingest needs at least one staged file")
    where = ""
    if exclude:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE staged_exclude AS SELECT unnest(?::BIGINT[]) AS line",
            [[int(x) for x in exclude]],
        )
        where = " WHERE source_line NOT IN (SELECT line FROM staged_exclude)"
    con.execute(
        "CREATE OR REPLACE TEMP VIEW incoming_batch AS SELECT * EXCLUDE (source_line), "
        f"source_line AS {ROW_KEY} FROM {read_parquet_sql(files)}{where}"
    )


def _data_columns(table: str) -> list[str]:
    """The columns an ingest writes from the file (no ``ingest_id``, no derived columns)."""
    derived = DERIVED_COLUMNS.get(table, {})
    return [c for c in DATA_TABLES[table] if c != "ingest_id" and c not in derived]


def _local_day_array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """UTC timestamps → Europe/London calendar dates (``date32``), nulls kept."""
    from neighbourhood.periods import local_dates

    utc = column.to_numpy(zero_copy_only=False) if len(column) else np.array([], "datetime64[us]")
    if utc.dtype.kind != "M":
        utc = utc.astype("datetime64[us]")
    days = local_dates(utc)
    return pa.array(days, type=pa.date32(), mask=np.isnat(days))


_EXCLUDED = "('cancelled', 'duplicate')"


def _repeat_hash(a: str) -> str:
    """SQL hash of what the repeat flag reads from a row (columns prefixed with ``a``).

    A change in any of these (repeats.flag_repeats) may flip flags.
    """
    return (
        f"hash(CAST({a}category AS VARCHAR), CAST({a}reported_at AS TIMESTAMPTZ), "
        f"CAST({a}latitude AS DOUBLE), CAST({a}longitude AS DOUBLE), "
        f"coalesce(CAST({a}status AS VARCHAR) IN {_EXCLUDED}, false))"
    )


def _repeat_starts(
    con: duckdb.DuckDBPyConnection, touched: str, params: dict[str, Any] | None = None
) -> pa.Table:
    """Per category, the earliest ``reported_at`` (epoch µs) among the touched row versions."""
    return con.sql(
        f"SELECT CAST(category AS VARCHAR) AS category, min(epoch_us(reported_at)) AS t0 "
        f"FROM ({touched}) WHERE category IS NOT NULL AND reported_at IS NOT NULL GROUP BY 1",
        params=params or None,
    ).to_arrow_table()


def _refresh_repeats(
    con: duckdb.DuckDBPyConnection,
    touched: str | pa.Table,
    params: dict[str, Any] | None = None,
    *,
    pending: str | None = None,
    flags_table: str | None = None,
) -> None:
    """Recompute ``is_repeat`` wherever the touched row versions can have changed it.

    A case's flag depends only on earlier cases of its category within the window, so when
    row versions of category ``c`` reported at ``t`` appear or disappear, only cases of ``c``
    reported at or after ``min t`` can change. Those are recomputed exactly (context: from
    ``min t - window``, which contains their whole look-back); stored rows that flip are
    updated in place. Rows of ``pending`` (a relation about to be inserted) take part too and
    their flags go to ``flags_table``.

    A re-extract that only closes cases or corrects streets and costs touches nothing here.

    Parameters
    ----------
    con
        Connection inside the write transaction.
    touched
        SQL relation with ``category, reported_at`` of every row version added or removed, or
        the :func:`_repeat_starts` table of it.
    params
        Named parameters of ``touched``.
    pending
        SQL relation of rows about to be inserted (cases columns), or None.
    flags_table
        With ``pending``: the temp table (created here, held by DuckDB within its memory limit)
        that receives ``_rowkey, is_repeat`` (:data:`ROW_KEY` of ``pending``) of the pending
        rows that were recomputed.
    """
    if pending is not None and flags_table is None:
        raise ValueError("pending rows need a flags_table for their flags")
    starts = touched if isinstance(touched, pa.Table) else _repeat_starts(con, touched, params)
    if flags_table is not None:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_q(flags_table)} ({ROW_KEY} BIGINT, is_repeat BOOLEAN)"
        )
    if starts.num_rows == 0:
        return
    window = int(REPEAT_WINDOW_DAYS * 86_400_000_000)
    cols = (
        "hash(CAST(x.category AS VARCHAR)) AS category, "
        "epoch_us(x.reported_at) AS t, CAST(x.latitude AS DOUBLE) AS lat, "
        f"CAST(x.longitude AS DOUBLE) AS lon, coalesce(CAST(x.status AS VARCHAR) IN {_EXCLUDED}, "
        "false) AS excl, epoch_us(x.reported_at) >= r.t0 AS target"
    )
    on = "x.category = r.category AND epoch_us(x.reported_at) > r.t0 - " + str(window)
    # Stored rows are named by case_id (their flag may be updated), pending rows by row key.
    sql = (
        f"SELECT 0 AS src, CAST(x.case_id AS VARCHAR) AS case_id, CAST(NULL AS BIGINT) AS rk, "
        f"{cols}, x.is_repeat AS old FROM cases x JOIN rep_t0 r ON {on}"
    )
    if pending is not None:
        sql += (
            f" UNION ALL SELECT 1 AS src, CAST(NULL AS VARCHAR) AS case_id, x.{ROW_KEY} AS rk, "
            f"{cols}, CAST(NULL AS BOOLEAN) AS old FROM {pending} x JOIN rep_t0 r ON {on}"
        )
    con.register("rep_t0", starts)
    try:
        # The context once, in DuckDB (held within its memory limit, spilled beyond it); then
        # one category at a time in Python, since categories never interact.
        con.execute(f"CREATE OR REPLACE TEMP TABLE rep_ctx AS {sql}")
    finally:
        con.unregister("rep_t0")
    try:
        groups = con.execute(
            "SELECT category, count(*), min(t), max(t) FROM rep_ctx GROUP BY 1"
        ).fetchall()
        for category, own_from, until in _repeat_chunks(groups, window):
            ctx = (
                con.sql(
                    "SELECT * EXCLUDE (category) FROM rep_ctx WHERE category = $c "
                    "AND t >= $lo AND t < $hi",
                    params={"c": category, "lo": own_from - window, "hi": until},
                )
                .to_arrow_reader(1 << 17)
                .read_all()
            )
            part = _category_flags(con, ctx, own_from)
            del ctx
            if part.num_rows and flags_table is not None:
                con.register("category_flags", part)
                try:
                    con.execute(f"INSERT INTO {_q(flags_table)} SELECT * FROM category_flags")
                finally:
                    con.unregister("category_flags")
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("DROP TABLE IF EXISTS rep_ctx")


#: Rows of one category searched for repeats at a time; a bigger category is cut into spans of
#: time, each with the window before it as context, so the search's arrays stay this size.
REPEAT_CHUNK_ROWS: Final[int] = 150_000
#: ... and spans are at least this many windows long (at 5M rows, 12 spans of three months each
#: doubled the search; a look-back of a quarter of the span is the most it costs).
REPEAT_CHUNK_MIN_WINDOWS: Final[int] = 4


def _repeat_chunks(
    groups: list[tuple[Any, int, int, int]], window: int
) -> Iterator[tuple[Any, int, int]]:
    """``(category, own_from, until)`` spans to search, from ``(category, rows, t_min, t_max)``.

    The rows of a span are those with ``own_from <= t < until``; the context pulled with them
    starts one window earlier, which holds every earlier case that can make one of them a
    repeat, so each span's flags are exact. Spans split the category's time range evenly and
    are at least :data:`REPEAT_CHUNK_MIN_WINDOWS` windows long, so the look-back adds at most a
    quarter to the work.
    """
    for category, rows, t_min, t_max in groups:
        lo, hi = int(t_min), int(t_max) + 1
        n = -(-int(rows) // REPEAT_CHUNK_ROWS)
        if REPEAT_CHUNK_MIN_WINDOWS:
            n = min(n, (hi - lo) // (REPEAT_CHUNK_MIN_WINDOWS * window))
        n = max(n, 1)
        step = max(1, -(-(hi - lo) // n))
        for start in range(lo, hi, step):
            yield category, start, min(start + step, hi)


def _category_flags(
    con: duckdb.DuckDBPyConnection, ctx: pa.Table, own_from: int | None = None
) -> pa.Table:
    """Repeat flags of one category's context rows; stored rows that flip are updated.

    Only rows with ``t >= own_from`` are the span's own (the others are look-back context whose
    flags another span settles). Returns the ``_rowkey, is_repeat`` of the pending rows among
    the own rows.
    """
    from neighbourhood.repeats import repeat_flags_arrays

    empty = _empty_flags()
    if ctx.num_rows == 0:
        return empty
    flags = repeat_flags_arrays(
        np.zeros(ctx.num_rows, dtype=np.int64),
        np.nan_to_num(ctx.column("t").to_numpy(zero_copy_only=False), nan=0).astype(np.int64),
        ctx.column("lat").to_numpy(zero_copy_only=False).astype(np.float64),
        ctx.column("lon").to_numpy(zero_copy_only=False).astype(np.float64),
        ~ctx.column("excl").to_numpy(zero_copy_only=False).astype(bool),
        REPEAT_DISTANCE_M,
        REPEAT_WINDOW_DAYS,
    )
    src = ctx.column("src").to_numpy(zero_copy_only=False)
    target = ctx.column("target").to_numpy(zero_copy_only=False).astype(bool)
    if own_from is not None:
        target &= ctx.column("t").to_numpy(zero_copy_only=False) >= own_from
    old = ctx.column("old")
    old_val = old.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    old_null = old.is_null().to_numpy(zero_copy_only=False).astype(bool)
    ids = ctx.column("case_id")
    flip = target & (src == 0) & (old_null | (old_val != flags))
    if flip.any():
        upd = pa.table({"case_id": ids.filter(pa.array(flip)), "flag": pa.array(flags[flip])})
        con.register("repeat_updates", upd)
        try:
            con.execute(
                "UPDATE cases SET is_repeat = u.flag FROM repeat_updates u "
                "WHERE cases.case_id = u.case_id"
            )
        finally:
            con.unregister("repeat_updates")
    mine = target & (src == 1)
    if not mine.any():
        return empty
    keys = ctx.column("rk").filter(pa.array(mine)).cast(pa.int64())
    return pa.table({ROW_KEY: keys, "is_repeat": pa.array(flags[mine])})


def _empty_flags() -> pa.Table:
    return pa.table({ROW_KEY: pa.array([], pa.int64()), "is_repeat": pa.array([], pa.bool_())})


def _add_codes(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Give every value of :data:`CODED_VALUES` in ``relation`` a code in ``value_codes``.

    New values get the next free codes (existing codes never change, so stored rows and
    ``case_versions`` stay valid through undo).
    """
    for col in CODED_VALUES:
        con.execute(
            "INSERT INTO value_codes SELECT $col, v, (SELECT coalesce(max(code), 0) FROM "
            "value_codes WHERE col = $col) + CAST(row_number() OVER (ORDER BY v) AS INTEGER) "
            f"FROM (SELECT DISTINCT CAST({_q(col)} AS VARCHAR) AS v FROM {relation} "
            f"WHERE {_q(col)} IS NOT NULL) WHERE v NOT IN (SELECT value FROM value_codes "
            "WHERE col = $col)",
            {"col": col},
        )


def _case_codes_exprs(a: str) -> dict[str, str]:
    """SQL expressions of :data:`CODED_COLUMNS` for the cases row aliased ``a``.

    ``value_codes`` must already hold the row's values (:func:`_add_codes`). The state rule is
    ``metrics.effective_status`` and the ``closed_ok`` rule of ``metrics.case_frame``.
    """
    st = (
        f"coalesce(CAST({a}.status AS VARCHAR), "
        f"CASE WHEN {a}.closed_at IS NULL THEN 'open' ELSE 'closed' END)"
    )
    ok = (
        f"coalesce({st} = 'closed' AND {a}.closed_at IS NOT NULL "
        f"AND {a}.closed_at >= {a}.reported_at, false)"
    )
    states = CASE_STATES
    exprs = {
        "case_state": f"CAST(CASE WHEN {st} = 'open' THEN {states['open']} WHEN {ok} THEN "
        f"{states['closed_ok']} WHEN {st} = 'closed' THEN {states['closed_no_date']} "
        f"ELSE {states['not_counted']} END AS UTINYINT)",
        "days_to_close": f"CASE WHEN {ok} THEN (epoch_us({a}.closed_at) - "
        f"epoch_us({a}.reported_at)) / 86400000000.0 END",
    }
    for col, code_col in CODED_VALUES.items():
        exprs[code_col] = (
            f"(SELECT code FROM value_codes WHERE col = '{col}' "
            f"AND value = CAST({a}.{_q(col)} AS VARCHAR))"
        )
    return exprs


def _case_codes_select(a: str) -> str:
    """:func:`_case_codes_exprs` as a SELECT list."""
    return ", ".join(f"{e} AS {_q(c)}" for c, e in _case_codes_exprs(a).items())


def _fill_case_codes(con: duckdb.DuckDBPyConnection) -> None:
    """Compute :data:`CODED_COLUMNS` for every stored case and case version (migration)."""
    _add_codes(
        con,
        "(SELECT category, ward_code FROM cases UNION ALL SELECT category, ward_code "
        "FROM case_versions WHERE table_name = 'cases')",
    )
    for table, where in (("cases", ""), ("case_versions", " WHERE table_name = 'cases'")):
        sets = ", ".join(f"{_q(c)} = {e}" for c, e in _case_codes_exprs(table).items())
        con.execute(f"UPDATE {table} SET {sets}{where}")


def _migrate(con: duckdb.DuckDBPyConnection) -> bool:
    """Bring a store written by an older schema up to date (inside the caller's transaction).

    Adds the missing derived columns (:data:`DERIVED_COLUMNS`) to their tables and to
    ``case_versions`` and fills only those: local dates with ICU ``timezone()`` and repeat flags
    over the whole table (schema 1 → 2), the per-case codes (:data:`CODED_COLUMNS`, 2 → 3). Then
    records the schema version. Returns whether anything changed.
    """
    con.execute(_create_sql("value_codes", CODES_COLUMNS))
    con.execute(_create_sql("la_returns", DATA_TABLES["la_returns"]))
    have: dict[str, set[str]] = {}
    for name, col in con.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
    ).fetchall():
        have.setdefault(name, set()).add(col)
    derived_cols = {c for d in DERIVED_COLUMNS.values() for c in d}
    for col, sql_type in VERSION_COLUMNS.items():
        # data columns of tables added since the store was made (la_returns): NULL in old rows
        if col not in have.get("case_versions", set()) and col not in derived_cols:
            con.execute(f"ALTER TABLE case_versions ADD COLUMN {_q(col)} {sql_type}")
            have.setdefault("case_versions", set()).add(col)
    added: set[str] = set()
    for table in (*DERIVED_COLUMNS, "case_versions"):
        wanted = (
            DERIVED_COLUMNS[table]
            if table in DERIVED_COLUMNS
            else {c: t for d in DERIVED_COLUMNS.values() for c, t in d.items()}
        )
        for col, sql_type in wanted.items():
            if col not in have.get(table, set()):
                con.execute(f"ALTER TABLE {table} ADD COLUMN {_q(col)} {sql_type}")
                added.add(col)
    if not added:
        return False
    tz = schemas.TIMEZONE
    for table, pairs in LOCAL_DAY_OF.items():
        todo = [(d, ts) for d, ts in pairs if d in added]
        if not todo:
            continue
        sets = ", ".join(f"{_q(d)} = CAST(timezone('{tz}', {_q(ts)}) AS DATE)" for d, ts in todo)
        con.execute(f"UPDATE {table} SET {sets}")
        con.execute(f"UPDATE case_versions SET {sets} WHERE table_name = '{table}'")
    if "is_repeat" in added:
        _refresh_repeats(con, "SELECT category, reported_at FROM cases")
        con.execute("UPDATE cases SET is_repeat = false WHERE is_repeat IS NULL")
    if added & set(CODED_COLUMNS):
        _fill_case_codes(con)
    con.execute("DELETE FROM meta WHERE key = 'schema_version'")
    con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    return True


def _stored_kind(con: duckdb.DuckDBPyConnection) -> str | None:
    """The ``store_kind`` marker, or ``None`` (no marker, or no ``meta`` table yet)."""
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = ?", [KIND_KEY]).fetchall()
    except duckdb.CatalogException:
        return None
    return str(rows[0][0]) if rows and rows[0][0] in (DEMO, COUNCIL) else None


def _inferred_kind(con: duckdb.DuckDBPyConnection) -> str | None:
    """A store made before the marker: any load not through the demo's channel makes it the
    council's; only demo loads make it the demo's; no load at all, ``None``."""
    try:
        other, demo = con.execute(
            "SELECT count(*) FILTER (WHERE channel IS DISTINCT FROM ?), "
            "count(*) FILTER (WHERE channel = ?) FROM ingest_log",
            [DEMO_CHANNEL, DEMO_CHANNEL],
        ).fetchall()[0]
    except duckdb.CatalogException:
        return None
    if other:
        return COUNCIL
    return DEMO if demo else None


def kind_refusal(path: Path, have: str, wanted: str) -> str:
    """The plain sentence for a load whose kind does not match the store's.

    Examples
    --------
    >>> kind_refusal(Path("data/demo-store"), "demo", "council").startswith("data/demo-store holds")
    True
    """
    if have == DEMO and Path(path).resolve() == council_store_path().resolve():
        return (
            f"{path} is where the council's own data goes, but it holds the synthetic demo "
            "(an earlier version built the demo there), and a council's data is never mixed "
            f"with it. Move that folder to {demo_store_path()} (or delete it: the demo can be "
            "built again at any time), then load your files again."
        )
    if have == DEMO:
        return (
            f"{path} holds the synthetic demo, and a council's own data is never mixed with "
            f"it. Load your files into the council's store instead ({council_store_path()}, "
            f"or the folder named by {ENV_STORE}; the Load data page always does)."
        )
    return (
        f"{path} holds a council's own data, and the synthetic demo is never written into it. "
        f"The demo has a store of its own ({demo_store_path()}, or the folder named by "
        f"{ENV_DEMO_STORE})."
    )


def _claim_kind(con: duckdb.DuckDBPyConnection, wanted: str, path: Path) -> None:
    """Inside a write transaction: refuse a load of the other kind, else record the marker."""
    have = _stored_kind(con)
    if have is None:
        have = _inferred_kind(con)
        if have is None or have == wanted:
            con.execute("DELETE FROM meta WHERE key = ?", [KIND_KEY])
            con.execute("INSERT INTO meta VALUES (?, ?)", [KIND_KEY, wanted])
            return
    if have != wanted:
        raise StoreKindMismatch(kind_refusal(path, have, wanted))


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _str_or_none(value: Any) -> str | None:
    return None if _is_missing(value) else str(value)


def _wards_frame(frame: pd.DataFrame, boundary_set: str) -> pd.DataFrame:
    """GeoDataFrame (ward_code, ward_name, geometry) → stored ward rows (WKB, area in m²)."""
    import geopandas as gpd
    import shapely

    if "geometry_wkb" in frame.columns:
        out = pd.DataFrame(frame).copy()
    else:
        gdf = frame if isinstance(frame, gpd.GeoDataFrame) else gpd.GeoDataFrame(frame)
        if gdf.crs is None:
            gdf = gdf.set_crs("EPSG:4326")
        elif gdf.crs.to_epsg() != 4326:
            gdf = gdf.to_crs("EPSG:4326")
        out = pd.DataFrame(
            {
                "ward_code": gdf["ward_code"].to_numpy(),
                "ward_name": gdf["ward_name"].to_numpy() if "ward_name" in gdf.columns else None,
                "geometry_wkb": shapely.to_wkb(gdf.geometry.to_numpy()),
            }
        )
        if "area_m2" in gdf.columns:
            out["area_m2"] = gdf["area_m2"].to_numpy()
        else:
            out["area_m2"] = gdf.geometry.to_crs("EPSG:27700").area.to_numpy()
    out["boundary_set"] = boundary_set
    return out
