"""Periods (months, financial quarters, financial years) and English working days.

Everything here works in Europe/London *local* time: a case reported at 00:30 BST on 1 April is
an April case even though the UTC instant is 23:30 on 31 March.

Period keys are small integers so that both engines (pandas and DuckDB) can group on them:

- month: ``year * 12 + month - 1``
- quarter (financial, April-June = Q1): ``fy * 4 + quarter - 1`` where ``fy`` is the year the
  financial year starts in
- year (financial, April-March): ``fy``
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import pandas as pd

from neighbourhood.schemas import TIMEZONE

Period = Literal["month", "quarter", "year"]
PERIODS: tuple[str, ...] = ("month", "quarter", "year")


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")


def to_local(ts: pd.Series) -> pd.Series:
    """Wall-clock Europe/London time as tz-naive timestamps.

    Parameters
    ----------
    ts : pd.Series
        tz-aware timestamps (any zone) or tz-naive timestamps already in London wall time.

    Returns
    -------
    pd.Series
        tz-naive local wall time.

    Examples
    --------
    >>> s = pd.Series(pd.to_datetime(["2024-03-31 23:30"]).tz_localize("UTC"))
    >>> str(to_local(s).iloc[0])
    '2024-04-01 00:30:00'
    """
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        return ts.dt.tz_convert(TIMEZONE).dt.tz_localize(None)
    return pd.to_datetime(ts)


def local_dates(utc: np.ndarray) -> np.ndarray:
    """Europe/London calendar date of each UTC instant (``datetime64`` naive UTC; NaT → NaT).

    Vectorised through pandas' transition table (no per-row time-zone lookups): about 0.1 s for
    a million instants. The store keeps these dates with each case (``reported_day``,
    ``closed_day``) so that metrics never convert time zones per case.

    Parameters
    ----------
    utc : numpy.ndarray of datetime64 (naive, UTC)

    Returns
    -------
    numpy.ndarray of datetime64[D]

    Examples
    --------
    >>> local_dates(np.array(["2024-03-31T23:30", "NaT"], "datetime64[us]")).astype(str).tolist()
    ['2024-04-01', 'NaT']
    """
    idx = pd.DatetimeIndex(np.asarray(utc).astype("datetime64[us]"))
    local = idx.tz_localize("UTC").tz_convert(TIMEZONE).tz_localize(None)
    return local.to_numpy().astype("datetime64[D]")


def period_keys_from_parts(year: np.ndarray, month: np.ndarray, period: Period) -> np.ndarray:
    """Integer period key from local calendar year and month (1-12).

    Examples
    --------
    >>> period_keys_from_parts(np.array([2024]), np.array([4]), "quarter").tolist()
    [8096]
    """
    _check_period(period)
    year = np.asarray(year, dtype=np.int64)
    month = np.asarray(month, dtype=np.int64)
    if period == "month":
        return year * 12 + month - 1
    fy = np.where(month >= 4, year, year - 1)
    if period == "year":
        return fy
    return fy * 4 + (month - 4) % 12 // 3


def period_keys(ts: pd.Series, period: Period) -> pd.Series:
    """Integer period key of each timestamp, bucketed in Europe/London local time.

    Parameters
    ----------
    ts : pd.Series
        Timestamps (tz-aware, or naive London wall time). NaT gives <NA>.
    period : {"month", "quarter", "year"}

    Returns
    -------
    pd.Series
        Nullable ``Int64`` keys (see module docstring).

    Examples
    --------
    >>> s = pd.Series(pd.to_datetime(["2024-04-01 00:30"]).tz_localize("Europe/London"))
    >>> period_label(int(period_keys(s, "month").iloc[0]), "month")
    '2024-04'
    """
    local = to_local(ts)
    ok = local.notna().to_numpy()
    out = np.zeros(len(local), dtype=np.int64)
    if ok.any():
        y = local.dt.year.to_numpy()[ok].astype(np.int64)
        m = local.dt.month.to_numpy()[ok].astype(np.int64)
        out[ok] = period_keys_from_parts(y, m, period)
    return pd.Series(pd.arrays.IntegerArray(out, ~ok), index=ts.index)


def key_start_parts(key: int, period: Period) -> tuple[int, int]:
    """(year, month) of the first month of period ``key``."""
    _check_period(period)
    key = int(key)
    if period == "month":
        return key // 12, key % 12 + 1
    if period == "year":
        return key, 4
    fy, q = divmod(key, 4)
    month = 4 + 3 * q
    return (fy, month) if month <= 12 else (fy + 1, month - 12)


def period_label(key: int, period: Period) -> str:
    """Display label of a period key: ``"2024-04"``, ``"2024/25 Q1"`` or ``"2024/25"``.

    Examples
    --------
    >>> period_label(2024 * 4 + 3, "quarter")
    '2024/25 Q4'
    >>> period_label(1999, "year")
    '1999/00'
    """
    _check_period(period)
    key = int(key)
    if period == "month":
        y, m = key_start_parts(key, period)
        return f"{y:04d}-{m:02d}"
    fy = key if period == "year" else key // 4
    fy_label = f"{fy}/{(fy + 1) % 100:02d}"
    if period == "year":
        return fy_label
    return f"{fy_label} Q{key % 4 + 1}"


def period_start(key: int, period: Period) -> pd.Timestamp:
    """First local day of period ``key`` as a tz-naive midnight Timestamp (for charts).

    Examples
    --------
    >>> period_start(2024 * 4, "quarter")
    Timestamp('2024-04-01 00:00:00')
    """
    y, m = key_start_parts(key, period)
    return pd.Timestamp(year=y, month=m, day=1)


def period_end(key: int, period: Period) -> pd.Timestamp:
    """Exclusive end of period ``key``: the tz-aware London instant when the next period starts.

    Examples
    --------
    >>> period_end(2024 * 12 + 2, "month")
    Timestamp('2024-04-01 00:00:00+0100', tz='Europe/London')
    """
    return period_start(int(key) + 1, period).tz_localize(TIMEZONE)


def key_of_timestamp(ts: pd.Timestamp, period: Period) -> int:
    """Period key of one timestamp (tz-aware or naive London wall time)."""
    return int(period_keys(pd.Series([pd.Timestamp(ts)]), period).iloc[0])


# --------------------------------------------------------------------------------------------
# Working days
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def bank_holidays(first_year: int, last_year: int) -> tuple[np.datetime64, ...]:
    """English bank holidays (substitute days included) from the ``holidays`` package.

    Parameters
    ----------
    first_year, last_year : int
        Inclusive range of calendar years.

    Returns
    -------
    tuple of numpy.datetime64[D]
        Sorted dates, weekends included where the holiday itself falls on one (numpy ignores them).

    Examples
    --------
    >>> np.datetime64("2024-04-01") in bank_holidays(2024, 2024)  # Easter Monday
    True
    """
    import holidays

    days = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    return tuple(sorted(np.datetime64(d, "D") for d in days))


def _holidays_for(dates: np.ndarray) -> np.ndarray:
    valid = dates[~np.isnat(dates)]
    if len(valid) == 0:
        return np.array([], dtype="datetime64[D]")
    lo = int(str(valid.min())[:4]) - 1
    hi = int(str(valid.max())[:4]) + 1
    return np.array(bank_holidays(lo, hi), dtype="datetime64[D]")


def working_days_between(start: pd.Series | np.ndarray, end: pd.Series | np.ndarray) -> np.ndarray:
    """Working days ``d`` with ``start < d <= end`` (local dates; weekends, bank holidays off).

    The day of report does not count and the day of closure does: a case reported on Friday and
    closed on Monday took 1 working day; reported and closed the same day took 0.

    Parameters
    ----------
    start, end : array-like of datetime64 (dates or naive local timestamps)
        NaT in either gives -1 (callers mask these out).

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> working_days_between(np.array(["2024-03-28"], "datetime64[D]"),
    ...                      np.array(["2024-04-02"], "datetime64[D]")).tolist()  # Easter
    [1]
    """
    s = np.asarray(start, dtype="datetime64[D]")
    e = np.asarray(end, dtype="datetime64[D]")
    ok = ~(np.isnat(s) | np.isnat(e))
    out = np.full(s.shape, -1, dtype=np.int64)
    if ok.any():
        hol = _holidays_for(np.concatenate([s[ok], e[ok]]))
        one = np.timedelta64(1, "D")
        out[ok] = np.busday_count(s[ok] + one, e[ok] + one, holidays=hol)
    return out


def sla_deadline(start: pd.Series | np.ndarray, sla_working_days: np.ndarray) -> np.ndarray:
    """Last local date on which a closure still counts as within the SLA.

    That is the day before the ``(sla + 1)``-th working day after the day of report, so a case
    reported on Thursday with a 1-working-day SLA may be closed up to Sunday.

    Parameters
    ----------
    start : array-like of datetime64
        Local dates of report.
    sla_working_days : array-like of int (negative or NaN → NaT)

    Returns
    -------
    numpy.ndarray of datetime64[D]

    Examples
    --------
    >>> sla_deadline(np.array(["2024-05-09"], "datetime64[D]"), np.array([1])).astype(str).tolist()
    ['2024-05-12']
    """
    s = np.asarray(start, dtype="datetime64[D]")
    sla = np.asarray(sla_working_days, dtype=np.float64)
    ok = ~np.isnat(s) & np.isfinite(sla) & (sla >= 0)
    out = np.full(s.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    if ok.any():
        hol = _holidays_for(s[ok])
        hi_year = int(str(s[ok].max())[:4]) + 1 + int(sla[ok].max() // 200)
        hol = np.union1d(hol, np.array(bank_holidays(hi_year, hi_year + 1), "datetime64[D]"))
        nxt = np.busday_offset(s[ok], sla[ok].astype(np.int64) + 1, roll="backward", holidays=hol)
        out[ok] = nxt - np.timedelta64(1, "D")
    return out


def working_day_calendar(first: np.datetime64, last: np.datetime64) -> pd.DataFrame:
    """Day table for SQL joins: ``day``, ``wd_idx`` (working days on or before ``day``).

    ``wd_idx(end) - wd_idx(start)`` equals :func:`working_days_between`. ``first`` is moved back
    a week so that the Friday before a weekend report is in the table.

    Examples
    --------
    >>> cal = working_day_calendar(np.datetime64("2024-03-28"), np.datetime64("2024-04-02"))
    >>> int(cal.set_index("day").loc["2024-04-02", "wd_idx"] - cal.set_index("day").loc["2024-03-28", "wd_idx"])
    1
    """
    first = np.datetime64(first, "D") - np.timedelta64(7, "D")
    last = np.datetime64(last, "D")
    days = np.arange(first, last + np.timedelta64(1, "D"), dtype="datetime64[D]")
    hol = _holidays_for(days)
    is_wd = np.is_busday(days, holidays=hol)
    return pd.DataFrame({"day": days, "wd_idx": np.cumsum(is_wd).astype(np.int64), "is_wd": is_wd})
