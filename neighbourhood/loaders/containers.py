"""Bytes: gzip, zip and workbook containers, the text encoding, the delimiter (the first step of the read path).

Part of :mod:`neighbourhood.loaders` (see its docstring for the whole read path).
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any, Final

import numpy as np

from neighbourhood import safe_io
from neighbourhood.loaders.base import FileRefused, ReadOptions


def _gunzip(data: bytes, limit: int) -> bytes:
    """Every member of a gzip file, capped as it inflates (:func:`safe_io.gunzip`)."""
    try:
        return safe_io.gunzip(data, limit)
    except safe_io.InputRefused as exc:
        raise FileRefused(exc.code, exc.message) from None


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
    try:
        return safe_io.unzip_member(archive, info, len(data), limit), info.filename
    except safe_io.InputRefused as exc:
        raise FileRefused(exc.code, exc.message) from None


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
                book = zipfile.ZipFile(io.BytesIO(data))
                try:  # openpyxl reads each part through zipfile: capped at the declared sizes
                    safe_io.check_zip_sizes(book, len(data), limit, "The workbook")
                except safe_io.InputRefused as exc:
                    raise FileRefused(exc.code, exc.message) from None
                report["format"] = "+".join([*layers, "xlsx"])
                return data, "xlsx"
            layers.append("zip")
            data, name = _unzip_one(data, name, limit)
            continue
        break
    else:
        if data[:2] == b"\x1f\x8b" or data[:4] == b"PK\x03\x04":
            raise FileRefused(
                "F_FORMAT",
                "The file is an archive inside an archive more than three levels deep; "
                "unpack it and upload the CSV, .csv.gz, .zip or .xlsx inside.",
            )
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
