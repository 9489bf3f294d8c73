"""Values: text, numbers, coordinates and labels (the maps), each column vectorised.

Part of :mod:`neighbourhood.loaders` (see its docstring for the whole read path).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from neighbourhood import schemas as S
from neighbourhood.loaders import base as _base
from neighbourhood.loaders.base import (
    _NULL_TOKENS,
    BNG_BOUNDS,
    ReadOptions,
    _from_pa,
    _pa,
    _Rejects,
    normalise_label,
)


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
    for path in (_base.CATEGORY_MAP_PATH, _base.VALUE_MAP_PATH):
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
    table = _read_map_csv(path or _base.CATEGORY_MAP_PATH)
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
    table = _read_map_csv(Path(path) if path else _base.VALUE_MAP_PATH)
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
