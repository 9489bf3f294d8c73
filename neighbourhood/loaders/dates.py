"""Values, dates: the formats tried per column, two-digit years, Excel serials, Europe/London and the date messages.

Part of :mod:`neighbourhood.loaders` (see its docstring for the whole read path).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from neighbourhood import schemas as S
from neighbourhood.loaders.base import (
    _NULL_TOKENS,
    EARLIEST,
    FileRefused,
    ReadOptions,
    _pa,
    _Rejects,
)

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
