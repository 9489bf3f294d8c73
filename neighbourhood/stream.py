"""Big plain CSV extracts read in slices of whole rows, so that memory stays flat as files grow.

A council's case extract of a few years can be a million rows and more. Read whole, the file's
bytes, the parsed frame and its intermediate columns are all in memory at once (about 6× the
file at 1M rows). Read in slices, only one slice's frame is in memory at a time and the accepted
rows wait on disk (Parquet, in a private temporary folder) until the store's transaction reads
them back (docs/loaders.md, "Big files").

The slices give the same result as the whole file would:

* :func:`scan` reads the file once in blocks: SHA-256, NUL bytes, strict UTF-8, Windows-1252.
  The encoding is decided for the whole file, as the whole-file reader decides it. Anything the
  whole-file reader would refuse, or that a slice could read differently (compressed or Excel
  files, UTF-16, a NUL byte, mixed or unknown encodings, an explicit encoding, a header that
  is not one line), makes :func:`scan` return ``None`` and the caller reads the file whole.
* :func:`iter_slices` cuts the body at line ends outside quoted values (an even number of
  ``"`` since the start of the body), prefixes each slice with the header line, and gives the
  number of line ends before it so that every row keeps its physical line in the file.
* Repeated ids across slices are settled afterwards by the loader's own rule (newest
  ``updated_at``, then the later row; see :func:`neighbourhood.ingest`).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import os
import re
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from queue import Queue
from typing import Any, BinaryIO, Final

import numpy as np
import pandas as pd

from neighbourhood import loaders, schemas

__all__ = [
    "DEFAULT_SLICE_BYTES",
    "Scan",
    "iter_slices",
    "merge_reports",
    "read_ahead",
    "read_slices",
    "release_memory",
    "use_lean_allocator",
    "scan",
    "slice_bytes",
]

DEFAULT_SLICE_BYTES: Final[int] = 12 * 1024 * 1024
"""Bytes of rows per slice (about 80,000 cases): files up to this size are read whole.

Measured at 1M rows (docs/loaders.md, "Big files"): 12 MB slices took 0.2 s less than 8 MB ones
(per-slice overhead is about 20 ms) at the same peak, which is the store's transaction's; with
16 MB slices the reading peaked 40-60 MB above it."""

ENV_SLICE_BYTES: Final[str] = "NEIGHBOURHOOD_SLICE_BYTES"
ENV_READ_AHEAD: Final[str] = "NEIGHBOURHOOD_READ_AHEAD"
DEFAULT_READ_AHEAD: Final[int] = 1

_BLOCK: Final[int] = 16 * 1024 * 1024
_HEADER_LIMIT: Final[int] = 1_000_000
_CP1252_UNDEFINED: Final[frozenset[int]] = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
_NOT_CSV_MAGIC: Final[tuple[bytes, ...]] = (
    b"\x1f\x8b",  # gzip
    b"PK\x03\x04",  # zip / xlsx
    b"\xd0\xcf\x11\xe0",  # old Excel
    b"%PDF",
    b"PAR1",
    b"SQLite format",
    b"\xff\xfe",  # UTF-16 BOMs
    b"\xfe\xff",
)
_ASCII_COMPATIBLE: Final[frozenset[str]] = frozenset(
    {"utf-8", "utf-8-sig", "cp1252", "latin-1", "iso8859-1", "iso8859-15", "ascii"}
)


@functools.cache
def use_lean_allocator() -> str:
    """Make jemalloc Arrow's memory pool for this process, unless the user chose one.

    Arrow's default here is mimalloc, which keeps freed blocks of worker threads' heaps; with
    slices read in threads the ingest's peak was about 80 MB higher than with jemalloc for the
    same time (1M rows); jemalloc returning freed pages at once saves about 45 MB more.
    ``ARROW_DEFAULT_MEMORY_POOL`` set by the user is left alone.

    Returns
    -------
    str
        The backend in use afterwards.
    """
    import pyarrow as pa

    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
            pa.jemalloc_set_decay_ms(0)  # give freed pages back at once, not a second later
        except NotImplementedError:  # a pyarrow built without jemalloc
            pass
    return str(pa.default_memory_pool().backend_name)


def release_memory() -> None:
    """Hand memory freed by the last slice back to the operating system.

    Arrow's allocator and glibc's keep freed blocks for reuse; between slices that only raises
    the process's resident size (the next slice allocates afresh), so both are asked to let go.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim  # glibc only
    except (OSError, AttributeError):
        return None


def _env_int(name: str, default: int, minimum: int) -> int:
    """An integer setting from the environment; the default when unset or not a number."""
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = default
    return max(value, minimum)


def read_ahead() -> int:
    """Slices read ahead in worker threads: ``NEIGHBOURHOOD_READ_AHEAD`` or 1.

    Returns
    -------
    int

    Examples
    --------
    >>> read_ahead() >= 0
    True
    """
    return _env_int(ENV_READ_AHEAD, DEFAULT_READ_AHEAD, 0)


def slice_bytes() -> int:
    """The slice size in force: ``NEIGHBOURHOOD_SLICE_BYTES`` or :data:`DEFAULT_SLICE_BYTES`.

    Returns
    -------
    int

    Examples
    --------
    >>> slice_bytes() >= 1
    True
    """
    return _env_int(ENV_SLICE_BYTES, DEFAULT_SLICE_BYTES, 1)


@dataclass(frozen=True)
class Scan:
    """What one pass over the file found.

    Attributes
    ----------
    sha256 : str
        Digest of the bytes (the duplicate-file check).
    size : int
        Bytes in the file.
    encoding : str
        ``utf-8``, ``utf-8-sig`` or ``cp1252``, for the whole file.
    header_end : int
        Offset just after the header line's line end.
    """

    sha256: str
    size: int
    encoding: str
    header_end: int


def _codec(name: str) -> str | None:
    import codecs

    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _header_end(head: bytes) -> int | None:
    """Offset after the header line's ``\\n``, or None when the header is not one line."""
    end = head.find(b"\n", 0, _HEADER_LIMIT)
    if end < 0 or head.count(b'"', 0, end) % 2:
        return None
    return end + 1


def scan(
    source: BinaryIO,
    name: str,
    options: loaders.ReadOptions | None = None,
    *,
    min_bytes: int | None = None,
) -> Scan | None:
    """Read the file once; None when it must (or may as well) be read whole.

    Parameters
    ----------
    source
        The file, opened for binary reading at its start (rewound afterwards).
    name
        Its file name (a suffix the reader refuses sends the file to the whole-file path,
        which refuses it with the usual message).
    options
        The reader options; an explicit encoding other than an ASCII-compatible one, or a size
        limit the file exceeds, means the whole-file path.
    min_bytes
        Files of at most this size are read whole (default :func:`slice_bytes`).

    Returns
    -------
    Scan or None

    Examples
    --------
    >>> import io
    >>> scan(io.BytesIO(b"Case ID,Date Received\\nC1,05/03/2024\\n"), "x.csv", min_bytes=0).encoding
    'utf-8'
    """
    opts = options or loaders.ReadOptions()
    limit = slice_bytes() if min_bytes is None else min_bytes
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(0)
    if size <= limit or size > opts.max_bytes:
        return None
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix in loaders.REFUSED_SUFFIXES | {"xlsx", "gz"}:
        return None
    if opts.encoding is not None and _codec(opts.encoding) not in _ASCII_COMPATIBLE:
        return None
    digest = _Digest()
    try:
        found = _scan_blocks(source, digest)
    finally:
        sha256 = digest.close()
    source.seek(0)
    if found is None:
        return None
    header_end, bom, valid_utf8, multibyte, undefined = found
    if opts.encoding is not None:
        encoding = _codec(opts.encoding) or opts.encoding
        if encoding in ("utf-8", "utf-8-sig", "ascii") and not valid_utf8:
            return None  # the whole-file reader refuses it with the codec's message
    elif valid_utf8:
        encoding = "utf-8-sig" if bom else "utf-8"
    elif multibyte or undefined:
        return None  # mixed encodings (refused) or not Windows-1252 (charset detection)
    else:
        encoding = "cp1252"
    return Scan(sha256=sha256, size=size, encoding=encoding, header_end=header_end)


class _Digest:
    """SHA-256 of the blocks given to :meth:`update`, computed by a thread of its own.

    hashlib lets go of the GIL while it hashes a big block, so the file's digest costs the scan
    next to nothing on a machine with a second core (it was a third of the scan).
    """

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        # A few blocks at most wait for the hash (an ASCII file is checked faster than hashed).
        self._blocks: Queue[bytes | None] = Queue(maxsize=3)
        self._thread = threading.Thread(target=self._run, name="scan-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (block := self._blocks.get()) is not None:
            self._hash.update(block)

    def update(self, block: bytes) -> None:
        self._blocks.put(block)

    def close(self) -> str:
        """Wait for the blocks given so far; their hex digest."""
        self._blocks.put(None)
        self._thread.join()
        return self._hash.hexdigest()


def _scan_blocks(source: BinaryIO, digest: _Digest) -> tuple[int, bool, bool, bool, bool] | None:
    """Read the file once: ``(header_end, bom, valid_utf8, multibyte, undefined)``.

    None when the file must be read whole (not a CSV by its magic bytes, no header line end,
    NUL bytes). ``multibyte``: UTF-8 multi-byte characters were seen; ``undefined``: bytes that
    Windows-1252 leaves undefined were seen (both decide between the encodings).
    """
    valid_utf8 = True
    multibyte = False
    undefined = False
    header_end: int | None = None
    bom = False
    carry = b""
    first = True
    while True:
        block = source.read(_BLOCK)
        if not block and not carry:
            break
        if block:
            digest.update(block)
        if first:
            first = False
            if block.startswith(_NOT_CSV_MAGIC):
                return None
            bom = block.startswith(b"\xef\xbb\xbf")
            header_end = _header_end(block)
            if header_end is None:
                return None
        if b"\x00" in block:
            return None  # the whole-file reader refuses it with the line number
        if not carry and block.isascii():
            continue  # ends on an ASCII byte: no character is split, nothing to check
        if block:
            piece = carry + block if carry else block
            cut = piece.rfind(b"\n") + 1  # whole lines only, so no character is split
            if cut == 0:
                carry = piece
                continue
            carry = piece[cut:]
            view = memoryview(piece)[:cut]
        else:
            view, carry = memoryview(carry), b""
        high = loaders._high_bytes(view)
        if not len(high):
            continue
        if loaders._valid_utf8(view):
            multibyte = True  # valid UTF-8 with non-ASCII bytes holds multi-byte characters
            continue
        valid_utf8 = False
        if not multibyte and loaders._first_utf8_multibyte(view, high) is not None:
            multibyte = True
        if not undefined:
            values = np.frombuffer(view, dtype=np.uint8)[high]
            undefined = bool(np.isin(values, list(_CP1252_UNDEFINED)).any())
    assert header_end is not None
    return header_end, bom, valid_utf8, multibyte, undefined


def iter_slices(
    source: BinaryIO, found: Scan, size: int | None = None
) -> Iterator[tuple[bytes, int]]:
    """Yield ``(header line + rows, line ends before the rows)`` for each slice of the body.

    A slice ends at a line end with an even number of ``"`` since the start of the body, so no
    quoted value is cut. Each slice is a small CSV file of its own that the whole-file reader
    reads; a row on local line ``L`` is on line ``L + offset`` of the file.

    Parameters
    ----------
    source
        The file, opened for binary reading.
    found
        What :func:`scan` found.
    size
        Bytes of rows per slice (default :func:`slice_bytes`).

    Yields
    ------
    tuple of (bytes, int)

    Examples
    --------
    >>> import io
    >>> f = io.BytesIO(b"a,b\\n1,2\\n3,4\\n")
    >>> [(s, o) for s, o in iter_slices(f, Scan("", 12, "utf-8", 4), size=4)]
    [(b'a,b\\n1,2\\n', 0), (b'a,b\\n3,4\\n', 1)]
    """
    want = base = slice_bytes() if size is None else max(size, 1)
    source.seek(0)
    header = source.read(found.header_end)
    lines_before = 0
    carry = b""  # the rows after the last cut: no complete row outside quotes
    eof = False
    while True:
        more = b""
        while not eof and len(carry) + len(more) < want:
            # Read into a fresh block (the read lets go of the GIL); the carry is not copied
            # onto it, and the slice below is the one copy of its rows.
            block = source.read(want - len(carry) - len(more))
            eof = not block
            more = more + block if more else block
        if not carry and not more:
            return
        if eof:
            cut = len(more)
        else:
            cut = _row_boundary(more, loaders._count_byte(carry, 0x22))
            if cut == 0:  # one row longer than the slice (or an open quote): read on
                carry, want = carry + more, want + _BLOCK
                continue
            want = base
        rows = memoryview(more)[:cut]
        yield b"".join((header, carry, rows)), lines_before
        lines_before += loaders._count_byte(carry, 0x0A) + loaders._count_byte(rows, 0x0A)
        del rows
        carry = more[cut:]


def _row_boundary(buf: bytes, quotes_before: int = 0) -> int:
    """Offset after the last line end of buf that is outside quotes (0 when there is none).

    ``quotes_before``: the ``"`` in the rows before buf that belong to the same slice.
    """
    pos = buf.rfind(b"\n")
    quotes = quotes_before + (loaders._count_byte(memoryview(buf)[:pos], 0x22) if pos >= 0 else 0)
    while pos >= 0:
        if quotes % 2 == 0:
            return pos + 1
        prev = buf.rfind(b"\n", 0, pos)
        quotes -= buf.count(b'"', prev + 1 if prev >= 0 else 0, pos)
        pos = prev
    return 0


_SUMMED: Final[tuple[str, ...]] = (
    "rows_read",
    "blank_rows",
    "rows_accepted",
    "rows_rejected",
    "rows_warned",
)
_COUNTED: Final[tuple[str, ...]] = ("rules", "unmapped_categories")


def merge_reports(reports: list[dict[str, Any]], found: Scan) -> dict[str, Any]:
    """One file's report from its slices' reports.

    Counts are added up; what was detected (columns, delimiter, coordinates…) is the first
    slice's; a date format that a later slice chose differently is listed under
    ``date_formats_extra``, as a second format within one column is by the whole-file reader.

    Parameters
    ----------
    reports
        The slices' reports, in file order (at least one).
    found
        The file's :class:`Scan`.

    Returns
    -------
    dict

    Examples
    --------
    >>> a = {"rows_read": 2, "rules": {"E_X": 1}, "date_formats": {"d": "%d/%m/%Y"}}
    >>> b = {"rows_read": 3, "rules": {"E_X": 2}, "date_formats": {"d": "%Y-%m-%d"}}
    >>> m = merge_reports([a, b], Scan("", 10, "utf-8", 4))
    >>> m["rows_read"], m["rules"], m["date_formats_extra"]
    (5, {'E_X': 3}, {'d': ['%Y-%m-%d']})
    """
    out = copy.deepcopy(reports[0])
    for later in reports[1:]:
        for key in _SUMMED:
            if key in later:
                out[key] = int(out.get(key, 0)) + int(later[key])
        for key in _COUNTED:
            merged = dict(out.get(key) or {})
            for label, count in (later.get(key) or {}).items():
                merged[label] = int(merged.get(label, 0)) + int(count)
            out[key] = merged
        extra = out.setdefault("date_formats_extra", {})
        formats = out.setdefault("date_formats", {})
        for col, fmt in (later.get("date_formats") or {}).items():
            if col not in formats:
                formats[col] = fmt
            elif fmt != formats[col] and fmt not in extra.get(col, []):
                extra.setdefault(col, []).append(fmt)
        for col, fmts in (later.get("date_formats_extra") or {}).items():
            for fmt in fmts:
                if fmt != formats.get(col) and fmt not in extra.get(col, []):
                    extra.setdefault(col, []).append(fmt)
        if later.get("status_inferred"):
            out["status_inferred"] = True
        for key, value in later.items():
            out.setdefault(key, value)
        if not extra:
            out.pop("date_formats_extra", None)
    out["bytes"] = found.size
    out["encoding"] = found.encoding
    out["slices"] = len(reports)
    return out


_LINE_RE: Final[re.Pattern[str]] = re.compile(r"\b(line )(\d{1,3}(?:,\d{3})+|\d+)")


def _shifted(exc: loaders.FileRefused, offset: int) -> loaders.FileRefused:
    """The refusal with the line numbers in its message counted from the start of the file."""
    if not offset:
        return exc

    def move(m: re.Match[str]) -> str:
        line = int(m.group(2).replace(",", "")) + offset
        return f"{m.group(1)}{line:,}" if "," in m.group(2) else f"{m.group(1)}{line}"

    return loaders.FileRefused(exc.code, _LINE_RE.sub(move, exc.message))


def read_slices(
    source: BinaryIO,
    found: Scan,
    name: str,
    kind: str,
    options: loaders.ReadOptions | None = None,
    *,
    size: int | None = None,
    workers: int | None = None,
) -> Iterator[loaders.Extract]:
    """Each slice read by :func:`neighbourhood.loaders.read_extract`, lines counted in the file.

    ``source_line`` in each slice's frame and rejects is the row's line in the whole file. The
    reference time for "in the future" is fixed once for all slices. A refusal of one slice
    refuses the file (its message's line numbers moved to the file's); a slice of blank lines
    only is skipped, and a file whose every slice is blank is refused as ``F_NO_ROWS``.

    Parameters
    ----------
    source, found
        The file and what :func:`scan` found.
    name, kind, options
        As for :func:`neighbourhood.loaders.read_extract`.
    size
        Bytes of rows per slice (default :func:`slice_bytes`).
    workers
        Slices read ahead by worker threads (default :func:`read_ahead`; 0 = read each slice
        only when the caller asks for it).

    Yields
    ------
    neighbourhood.loaders.Extract

    Raises
    ------
    neighbourhood.loaders.FileRefused
        As the whole-file reader would.
    """
    opts = options or loaders.ReadOptions()
    if opts.now is None:
        opts = replace(opts, now=pd.Timestamp.now(tz=schemas.TIMEZONE))
    ahead = read_ahead() if workers is None else max(workers, 0)
    use_lean_allocator()

    def read(data: bytes, offset: int) -> loaders.Extract | None:
        try:
            extract = loaders.read_extract(data, name, kind, opts)
        except loaders.FileRefused as exc:
            if exc.code == "F_NO_ROWS":
                return None
            raise _shifted(exc, offset) from None
        if offset:
            extract.frame["source_line"] += offset
            extract.rejects["source_line"] += offset
        return extract

    def extracts() -> Iterator[loaders.Extract | None]:
        """Each slice's extract (None for a slice of blank lines), in file order."""
        if ahead == 0:
            for data, offset in iter_slices(source, found, size):
                extract = read(data, offset)
                del data
                yield extract
                del extract
            return
        # The next slices are read by worker threads while the caller works on this one (ward
        # assignment and staging overlap the reading). More than one worker gains nothing: with
        # the caller's work the process already uses 1.5-1.85 of the 2 cores, and a second
        # reader only adds contention (docs/loaders.md). At most ``ahead`` slices are in
        # flight, so memory stays that of a few slices.
        with ThreadPoolExecutor(ahead, thread_name_prefix="slice") as pool:
            queue: deque[Future[loaders.Extract | None]] = deque()
            try:
                for data, offset in iter_slices(source, found, size):
                    queue.append(pool.submit(read, data, offset))
                    del data
                    while len(queue) > ahead or (queue and queue[0].done()):
                        yield queue.popleft().result()
                while queue:
                    yield queue.popleft().result()
            finally:
                for future in queue:
                    future.cancel()

    yielded = False
    with contextlib.closing(extracts()) as results:
        for extract in results:
            if extract is not None:
                yielded = True
                yield extract
            del extract
    if not yielded:
        raise loaders.FileRefused("F_NO_ROWS", f"{name} has a header but no data rows.")
