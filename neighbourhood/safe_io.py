"""Hostile bytes and paths: capped decompression, regular-file checks, temporary-folder sweeps.

Everything that reads bytes a user controls before the loaders see them goes through here
(docs/security.md, "Threats and controls"):

* **Decompression** (:func:`gunzip`, :func:`unzip_member`, :func:`check_zip_sizes`): output is
  counted as it comes out of zlib, in slices of at most :data:`OUT_CHUNK` bytes, and the read
  stops one slice past the cap, so a bomb never expands past the cap in memory. A gzip file is
  first checked end to end without keeping its output (flat memory), and only then inflated.
  Every member of a multi-member gzip is read (as ``gzip -d`` does); bytes after the last member
  are refused unless they are all zero (tape padding). Expansion more than :data:`MAX_RATIO`
  times the compressed size, beyond the first :data:`RATIO_FLOOR` bytes, is refused as a bomb:
  real extracts compress 2–10 times.
* **Paths** (:func:`open_regular`, :func:`check_regular`): only a regular file is read. A
  symbolic link, folder, FIFO, device or socket is refused before it is opened (a FIFO would
  block, ``/dev/zero`` never ends), and so is a file larger than the cap. Messages name only the
  path the user gave, never the target of a link nor a byte of what it points at.
* **Temporary folders** (:func:`private_temp_dir`, :func:`sweep_stale_temp_dirs`): folders are
  named with the owning process id, and folders of processes that are gone (killed ingests) are
  removed at the start of the next ingest.

Refusals raise :class:`InputRefused` (a code from ``loaders.FILE_RULES`` and a sentence); the
callers turn it into their own refusal type.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

__all__ = [
    "DEFAULT_MAX_BYTES",
    "InputRefused",
    "MAX_RATIO",
    "RATIO_FLOOR",
    "check_regular",
    "check_zip_sizes",
    "gunzip",
    "open_regular",
    "private_temp_dir",
    "read_capped",
    "read_regular",
    "remove_stale_spill",
    "sweep_stale_temp_dirs",
    "unzip_member",
]

DEFAULT_MAX_BYTES: Final[int] = 2 * 1024**3
"""Largest file read from disk, and largest decompressed size (2 GiB; ``ReadOptions.max_bytes``)."""

OUT_CHUNK: Final[int] = 1024 * 1024
"""Bytes zlib may produce per call: the cap is checked at least this often."""

IN_CHUNK: Final[int] = 256 * 1024
"""Compressed bytes fed to zlib per call (never the whole rest: its tail would be copied)."""

MAX_RATIO: Final[int] = 100
"""Largest expansion accepted (decompressed ÷ compressed) past :data:`RATIO_FLOOR`."""

RATIO_FLOOR: Final[int] = 64 * 1024 * 1024
"""Decompressed bytes before :data:`MAX_RATIO` applies (small files may compress very well)."""

TEMP_PREFIX: Final[str] = "neighbourhood-ingest-"
"""Prefix of an ingest's private temporary folder; ``<pid>@<host>-`` of its owner follows it."""

LEGACY_TEMP_AGE_S: Final[float] = 24 * 3600.0
"""Folders of the old naming (no process id) are removed when untouched for this long."""

_GZIP_MAGIC: Final[bytes] = b"\x1f\x8b"


class InputRefused(ValueError):  # noqa: N818 (a refusal, as loaders.FileRefused)
    """The input is refused before or while its bytes are read.

    Parameters
    ----------
    code : str
        A code from ``loaders.FILE_RULES`` (``F_TOO_LARGE``, ``F_MALFORMED``,
        ``F_UNREADABLE``, ``F_FORMAT``).
    message : str
        A plain sentence; names only what the user gave.

    Examples
    --------
    >>> InputRefused("F_TOO_LARGE", "too big").code
    'F_TOO_LARGE'
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------
# Decompression
# ---------------------------------------------------------------------------------------------


def _too_large(what: str, limit: int) -> InputRefused:
    return InputRefused(
        "F_TOO_LARGE",
        f"{what} expands to more than {limit:,} bytes; split the extract or raise the limit.",
    )


def _check_expansion(what: str, out: int, compressed: int, limit: int) -> None:
    """Refuse as soon as ``out`` decompressed bytes pass the cap or the ratio."""
    if out > limit:
        raise _too_large(what, limit)
    if out > RATIO_FLOOR and out > MAX_RATIO * max(compressed, 1):
        raise InputRefused(
            "F_TOO_LARGE",
            f"{what} expands more than {MAX_RATIO} times its compressed size ({compressed:,} "
            f"bytes become over {out:,}), which no real extract does: it looks like a "
            "decompression bomb and is not read.",
        )


def _gzip_members(view: memoryview, limit: int) -> list[tuple[int, int, int]]:
    """Check a gzip stream end to end without keeping its output.

    Returns one ``(start, end, decompressed size)`` per member. Memory stays at one slice.
    """
    members: list[tuple[int, int, int]] = []
    n = len(view)
    pos = 0
    total = 0
    while pos < n:
        if view[pos : pos + 2] != _GZIP_MAGIC:
            if not members:
                raise InputRefused("F_MALFORMED", "The .gz file does not start with a gzip header.")
            rest = view[pos:]
            if rest.tobytes().strip(b"\x00"):
                raise InputRefused(
                    "F_MALFORMED",
                    f"The .gz file has {n - pos:,} bytes after the end of its compressed data "
                    "(trailing garbage): the file is damaged or is not a plain .gz file; "
                    "compress the extract again.",
                )
            break  # zero padding after the last member, as gzip -d accepts
        dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
        start = pos
        size = 0
        while not dec.eof:
            if pos >= n:
                raise InputRefused("F_MALFORMED", "The .gz file is truncated (it ends too early).")
            buf: bytes | memoryview = view[pos : pos + IN_CHUNK]
            pos += len(buf)
            while True:
                try:
                    piece = dec.decompress(buf, OUT_CHUNK)
                except zlib.error as exc:
                    raise InputRefused("F_MALFORMED", f"The .gz file is corrupt ({exc}).") from None
                size += len(piece)
                total += len(piece)
                _check_expansion("The compressed file", total, pos, limit)
                if dec.eof:
                    break
                buf = dec.unconsumed_tail
                if not buf and len(piece) < OUT_CHUNK:
                    break  # this slice is used up and zlib holds nothing more for now
        pos -= len(dec.unused_data)  # the next member starts right after this one's trailer
        members.append((start, pos, size))
    return members


def gunzip(data: bytes | memoryview, limit: int = DEFAULT_MAX_BYTES) -> bytes:
    """Decompress a (possibly multi-member) gzip file with a hard cap on the output.

    The stream is first checked end to end with its output counted and dropped, so that a bomb
    is refused with flat memory, after at most ``limit`` bytes of work; then each member is
    inflated into a buffer of its known size. Members are concatenated (``cat a.gz b.gz`` reads
    as ``gzip -d`` reads it).

    Parameters
    ----------
    data : bytes
        The gzip file.
    limit : int
        Largest decompressed size accepted.

    Returns
    -------
    bytes
        The decompressed content.

    Raises
    ------
    InputRefused
        ``F_TOO_LARGE`` past the cap or the ratio; ``F_MALFORMED`` when corrupt, truncated or
        followed by anything but zero bytes.

    Examples
    --------
    >>> import gzip
    >>> gunzip(gzip.compress(b"a,b\\n") + gzip.compress(b"1,2\\n"))
    b'a,b\\n1,2\\n'
    """
    view = memoryview(data)
    members = _gzip_members(view, limit)
    if len(members) == 1:
        start, end, size = members[0]
        return zlib.decompress(view[start:end], 16 + zlib.MAX_WBITS, max(size, 1))
    out = io.BytesIO()
    for start, end, size in members:
        out.write(zlib.decompress(view[start:end], 16 + zlib.MAX_WBITS, max(size, 1)))
    return out.getvalue()


def check_zip_sizes(archive: zipfile.ZipFile, compressed: int, limit: int, what: str) -> None:
    """Refuse a zip whose headers declare more than the cap or the ratio (before any read).

    Parameters
    ----------
    archive : zipfile.ZipFile
        The open archive.
    compressed : int
        Bytes of the whole archive (headers may lie about each member's compressed size).
    limit : int
        Largest decompressed size accepted.
    what : str
        How the message names the archive or member.

    Examples
    --------
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as z:
    ...     z.writestr("a.csv", "a\\n1\\n")
    >>> check_zip_sizes(zipfile.ZipFile(buf), len(buf.getvalue()), 100, "a.csv") is None
    True
    """
    declared = sum(i.file_size for i in archive.infolist())
    _check_expansion(what, declared, compressed, limit)


def unzip_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, compressed: int, limit: int
) -> bytes:
    """Read one zip member in slices, counting as it goes, with a hard cap on the output.

    ``zipfile`` stops at the size the headers declare and checks the CRC at the end, so a header
    that lies in either direction ends in a refusal, never in more than ``limit`` bytes.

    Parameters
    ----------
    archive : zipfile.ZipFile
        The open archive.
    info : zipfile.ZipInfo
        The member.
    compressed : int
        Bytes of the whole archive (for the ratio check).
    limit : int
        Largest decompressed size accepted.

    Returns
    -------
    bytes

    Raises
    ------
    InputRefused
        ``F_TOO_LARGE``, ``F_MALFORMED`` (corrupt, lying headers) or ``F_FORMAT`` (encrypted,
        unsupported method).

    Examples
    --------
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    ...     z.writestr("a.csv", "a\\n1\\n")
    >>> z = zipfile.ZipFile(buf)
    >>> unzip_member(z, z.infolist()[0], len(buf.getvalue()), 100)
    b'a\\n1\\n'
    """
    name = info.filename
    _check_expansion(name, info.file_size, compressed, limit)
    out = io.BytesIO()
    total = 0
    try:
        with archive.open(info) as handle:
            while True:
                piece = handle.read(OUT_CHUNK)
                if not piece:
                    break
                total += len(piece)
                _check_expansion(name, total, compressed, limit)
                out.write(piece)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        # A damaged member, or headers that lie about its size (a crafted zip bomb).
        raise InputRefused(
            "F_MALFORMED", f"The .zip file is corrupt: {name} cannot be read ({exc})."
        ) from None
    except (NotImplementedError, RuntimeError) as exc:  # unsupported method, encrypted
        raise InputRefused(
            "F_FORMAT", f"{name} in the .zip file cannot be opened ({exc})."
        ) from None
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------


def _kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link (give the path of the file itself)"
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    return "not a regular file"


def check_regular(path: str | os.PathLike[str], limit: int = DEFAULT_MAX_BYTES) -> os.stat_result:
    """Refuse ``path`` unless it is a regular file of at most ``limit`` bytes (nothing is opened).

    The path itself is examined without following a symbolic link at its end; folders on the way
    may be links (mounted shares, ``/tmp`` on macOS).

    Parameters
    ----------
    path : str or PathLike
        The path the user gave; messages name it and nothing else.
    limit : int
        Largest size accepted.

    Returns
    -------
    os.stat_result

    Raises
    ------
    InputRefused
        ``F_UNREADABLE`` (missing, no permission; a link, folder, FIFO, device or socket) or
        ``F_TOO_LARGE``.

    Examples
    --------
    >>> check_regular("/dev/null")
    Traceback (most recent call last):
    ...
    neighbourhood.safe_io.InputRefused: F_UNREADABLE: /dev/null could not be read: it is a device, not a file.
    """
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise InputRefused(
            "F_UNREADABLE", f"{path} could not be read: {exc.strerror or exc}."
        ) from None
    what = _kind_of(st.st_mode)
    if what is not None:
        raise InputRefused("F_UNREADABLE", f"{path} could not be read: it is {what}.")
    if st.st_size > limit:
        raise InputRefused(
            "F_TOO_LARGE",
            f"{path} is {st.st_size:,} bytes, more than the limit of {limit:,} bytes.",
        )
    return st


def open_regular(path: str | os.PathLike[str], limit: int = DEFAULT_MAX_BYTES) -> BinaryIO:
    """Open ``path`` for reading only when it is a regular file of at most ``limit`` bytes.

    :func:`check_regular` first; then the file is opened without following a link and without
    blocking (a FIFO swapped in meanwhile cannot hang the open), and the open file is checked to
    be the very file examined.

    Parameters
    ----------
    path : str or PathLike
        The path the user gave.
    limit : int
        Largest size accepted.

    Returns
    -------
    BinaryIO
        The open file (blocking reads).

    Raises
    ------
    InputRefused
        As :func:`check_regular`.

    Examples
    --------
    >>> with open_regular(__file__) as fh:
    ...     len(fh.read(3))
    3
    """
    st = check_regular(path, limit)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputRefused(
            "F_UNREADABLE", f"{path} could not be read: {exc.strerror or exc}."
        ) from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            raise InputRefused("F_UNREADABLE", f"{path} changed while it was being opened.")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike[str], limit: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (:func:`open_regular`).

    Reads at most ``limit + 1`` bytes, so a file that grows meanwhile is refused, not followed.

    Examples
    --------
    >>> len(read_regular(__file__)) > 0
    True
    """
    with open_regular(path, limit) as handle:
        return read_capped(handle, limit, str(path))


def read_capped(handle: BinaryIO, limit: int, what: str) -> bytes:
    """Read an open regular file to its end, refusing it past ``limit`` bytes.

    The buffer is sized from the file's size (``read(limit + 1)`` would reserve the whole cap at
    once); a file that grows meanwhile is read on in slices and refused past the cap.

    Parameters
    ----------
    handle : BinaryIO
        A file opened by :func:`open_regular`.
    limit : int
        Largest size accepted.
    what : str
        How messages name the file (the path the user gave).

    Returns
    -------
    bytes

    Examples
    --------
    >>> with open_regular(__file__) as fh:
    ...     len(read_capped(fh, 10**9, "x")) > 0
    True
    """
    try:
        size = os.fstat(handle.fileno()).st_size
        data = handle.read(min(size, limit) + 1)
        if len(data) > size:  # it grew since it was examined: read on, in slices
            parts = [data]
            total = len(data)
            while total <= limit:
                piece = handle.read(OUT_CHUNK)
                if not piece:
                    break
                parts.append(piece)
                total += len(piece)
            data = b"".join(parts)
    except OSError as exc:
        raise InputRefused(
            "F_UNREADABLE", f"{what} could not be read: {exc.strerror or exc}."
        ) from None
    if len(data) > limit:
        raise InputRefused("F_TOO_LARGE", f"{what} is larger than the limit of {limit:,} bytes.")
    return data


# ---------------------------------------------------------------------------------------------
# Temporary folders
# ---------------------------------------------------------------------------------------------

_OWNED_RE: Final[re.Pattern[str]] = re.compile(r"^(\d+)@([A-Za-z0-9_.]*)-")


def _host() -> str:
    """This machine's name as it appears in folder names (process ids are per machine)."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname())[:64]


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return True
    return True


def sweep_stale_temp_dirs(base: str | os.PathLike[str] | None = None) -> list[str]:
    """Remove ingest temporary folders left by processes that are gone (killed ingests).

    A folder ``neighbourhood-ingest-<pid>@<host>-…`` of this machine is removed when no process
    ``<pid>`` runs; a folder of another machine sharing the temporary folder (process ids mean
    nothing here), or of the old naming (no process id), when untouched for
    :data:`LEGACY_TEMP_AGE_S`. Only folders of the current user are touched, links never
    followed; errors are ignored (another sweep may be removing the same folder).

    Parameters
    ----------
    base : str or PathLike, optional
        Where to look (default: the system temporary folder).

    Returns
    -------
    list of str
        The folders removed.

    Examples
    --------
    >>> isinstance(sweep_stale_temp_dirs(tempfile.mkdtemp()), list)
    True
    """
    root = Path(base) if base is not None else Path(tempfile.gettempdir())
    removed: list[str] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    now = time.time()
    host = _host()
    for entry in entries:
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or (uid is not None and st.st_uid != uid):
            continue
        owned = _OWNED_RE.match(entry.name[len(TEMP_PREFIX) :])
        if owned is not None and owned.group(2) == host:
            stale = not _pid_alive(int(owned.group(1)))
        else:
            stale = now - st.st_mtime > LEGACY_TEMP_AGE_S
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


@contextlib.contextmanager
def private_temp_dir() -> Iterator[str]:
    """A private temporary folder named with this process's id, removed on exit.

    Stale folders of dead processes are swept first (:func:`sweep_stale_temp_dirs`), so a killed
    ingest's Parquet copies of case rows do not outlive the next ingest.

    Yields
    ------
    str
        The folder's path.

    Examples
    --------
    >>> with private_temp_dir() as tmp:
    ...     os.path.basename(tmp).startswith(f"neighbourhood-ingest-{os.getpid()}@")
    True
    """
    sweep_stale_temp_dirs()
    with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}@{_host()}-") as tmp:
        yield tmp


def remove_stale_spill(db_path: str | os.PathLike[str]) -> bool:
    """Remove DuckDB's spill folder ``<db>.tmp`` left by a killed process.

    Call only while holding the store's exclusive lock: then no connection is open on the
    database, so nothing in the folder is in use. A link planted there is removed, not followed.

    Parameters
    ----------
    db_path : str or PathLike
        The database file.

    Returns
    -------
    bool
        Whether something was removed.

    Examples
    --------
    >>> remove_stale_spill(os.path.join(tempfile.mkdtemp(), "store.duckdb"))
    False
    """
    spill = Path(str(db_path) + ".tmp")
    try:
        st = os.lstat(spill)
    except OSError:
        return False
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(spill, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            spill.unlink()
    return True
