"""Repeat-location flag: was there an earlier case of the same category close by, recently?

A case ``i`` is a *repeat* when some other case ``j`` of the same category exists with

- ``reported_at[j]`` strictly earlier than ``reported_at[i]`` and strictly later than
  ``reported_at[i] - window`` (the window is the open interval ``(t - 90 days, t)``: a case
  exactly 90 days earlier does not count, neither does one reported at the same instant), and
- a ground distance of at most ``distance_m`` metres (inclusive, with a 1 mm tolerance for
  floating point; 6-decimal coordinates are only good to ~0.1 m anyway).

Only eligible cases take part, as either side: status not ``cancelled``/``duplicate``, a
category, and both coordinates. Everything else is ``False``.

Distance is equirectangular on the mean-radius sphere (R = 6,371,008.8 m) using the mean latitude
of the pair; at 50 m this differs from the haversine distance by far less than a millimetre.

The search is vectorised: points are hashed into square cells of side ``2 * distance`` (in a local
equirectangular projection that never overstates east-west distance), so every neighbour within
``distance`` lies in the point's own cell or the 3 cells nearest to it. Cases are sorted once by
(cell, time); for each of the 4 cells a binary search finds the cases inside the time window,
and the candidates are checked newest first until one is close enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

EARTH_RADIUS_M = 6_371_008.8
TOLERANCE_M = 1e-3
EXCLUDED_STATUSES = ("cancelled", "duplicate")


def _time_units(t_us: np.ndarray) -> tuple[np.ndarray, int]:
    """Shrink microsecond times to the coarsest exact unit (s, ms, us); return (t, us per unit)."""
    for unit in (1_000_000, 1_000):
        if not np.any(t_us % unit):
            return t_us // unit, unit
    return t_us, 1


def repeat_flags_arrays(
    category_codes: np.ndarray,
    t_us: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    eligible: np.ndarray,
    distance_m: float = 50.0,
    window_days: float = 90.0,
) -> np.ndarray:
    """Core of :func:`flag_repeats` on plain arrays.

    Parameters
    ----------
    category_codes : int array (negative = no category)
    t_us : int64 array of epoch microseconds
    lat, lon : float arrays (NaN = no location)
    eligible : bool array
    distance_m, window_days : float

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> repeat_flags_arrays(np.array([0, 0]), np.array([0, 10**6]), np.array([53.4, 53.4]),
    ...                     np.array([-2.98, -2.98]), np.array([True, True])).tolist()
    [False, True]
    """
    n = len(t_us)
    out = np.zeros(n, dtype=bool)
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    ok = (
        np.asarray(eligible, dtype=bool)
        & (np.asarray(category_codes) >= 0)
        & np.isfinite(lat)
        & np.isfinite(lon)
    )
    idx = np.flatnonzero(ok)
    if len(idx) < 2 or distance_m < 0:
        return out
    cat = np.asarray(category_codes, dtype=np.int64)[idx]
    t, unit = _time_units(np.asarray(t_us, dtype=np.int64)[idx])
    t = t - t.min()
    window = int(np.ceil(window_days * 86_400_000_000 / unit))  # exact for whole-unit windows
    phi = np.radians(lat[idx])
    lam = np.radians(lon[idx])

    d_eff = distance_m + TOLERANCE_M
    cell = 2.0 * d_eff * (1 + 1e-9) + 1e-9
    c_min = np.cos(np.abs(phi).max())  # smallest cosine → grid never overstates east-west distance
    gx = EARTH_RADIUS_M * lam * c_min / cell
    gy = EARTH_RADIUS_M * phi / cell
    cx_f = np.floor(gx)
    cy_f = np.floor(gy)
    sx = np.where(gx - cx_f < 0.5, -1, 1).astype(np.int8)
    sy = np.where(gy - cy_f < 0.5, -1, 1).astype(np.int8)
    del gx, gy
    cx = (cx_f - cx_f.min()).astype(np.int64) + 1
    cy = (cy_f - cy_f.min()).astype(np.int64) + 1
    del cx_f, cy_f
    nx = int(cx.max()) + 2
    ny = int(cy.max()) + 2
    key = (cat * nx + cx) * ny + cy
    del cx, cy, cat

    # time axis: raw units if (key, time) packs into int64, else dense rank of time
    span = int(t.max()) + 1
    if (int(key.max()) + 2) * span >= 2**62:
        uniq_t, t_rank = np.unique(t, return_inverse=True)
        lower_t = np.searchsorted(uniq_t, t - window, side="right")  # first time > t - window
        t_axis, span = t_rank.astype(np.int64), len(uniq_t)
    else:
        lower_t = np.maximum(t - window + 1, 0)
        t_axis = t
    if (int(key.max()) + 2) * span >= 2**62:
        uk, key = np.unique(key, return_inverse=True)
        raise_ = uk  # keys are made dense; neighbour lookups below then go through uk
    else:
        raise_ = None

    comb = key * span + t_axis
    order = np.argsort(comb, kind="stable")
    cs = comb[order]
    key_s = key[order]
    t_s = t_axis[order]
    low_s = lower_t[order]
    phi_s = phi[order]
    lam_s = lam[order]
    sx_s = sx[order]
    sy_s = sy[order]
    # Only the sorted copies are used from here on (peak memory: one set of arrays, not two).
    del comb, key, t_axis, lower_t, phi, lam, sx, sy, t
    found = np.zeros(len(order), dtype=bool)
    d2max = (d_eff / EARTH_RADIUS_M) ** 2

    def neighbour_key(k: np.ndarray, dx: np.ndarray | int, dy: np.ndarray | int) -> np.ndarray:
        raw = k + dx * ny + dy
        if raise_ is None:
            return raw
        # dense keys: map back to raw, shift, and look the raw key up again
        rawk = raise_[k] + dx * ny + dy
        pos = np.searchsorted(raise_, rawk)
        pos = np.minimum(pos, len(raise_) - 1)
        hit = raise_[pos] == rawk
        return np.where(hit, pos, -1)

    def check(sel: np.ndarray, nk: np.ndarray) -> None:
        good = nk >= 0
        sel, nk = sel[good], nk[good]
        if len(sel) == 0:
            return
        lo = np.searchsorted(cs, nk * span + low_s[sel], side="left")
        hi = np.searchsorted(cs, nk * span + t_s[sel], side="left")
        has = hi > lo
        sel, lo, hi = sel[has], lo[has], hi[has]
        j = hi - 1
        while len(sel):
            dphi = phi_s[j] - phi_s[sel]
            dlam = (lam_s[j] - lam_s[sel]) * np.cos(0.5 * (phi_s[j] + phi_s[sel]))
            close = dphi * dphi + dlam * dlam <= d2max
            found[sel[close]] = True
            keep = ~close & (j - 1 >= lo)
            sel, lo, j = sel[keep], lo[keep], j[keep] - 1
            keep = ~found[sel]
            sel, lo, j = sel[keep], lo[keep], j[keep]

    allpos = np.arange(len(order))
    check(allpos, neighbour_key(key_s, 0, 0))
    for use_x, use_y in ((True, False), (False, True), (True, True)):
        for sgn_x in (-1, 1) if use_x else (0,):
            for sgn_y in (-1, 1) if use_y else (0,):
                m = ~found
                if use_x:
                    m &= sx_s == sgn_x
                if use_y:
                    m &= sy_s == sgn_y
                sel = np.flatnonzero(m)
                check(sel, neighbour_key(key_s[sel], sgn_x, sgn_y))

    res = np.zeros(len(order), dtype=bool)
    res[order] = found
    out[idx] = res
    return out


def _epoch_us(ts: pd.Series) -> np.ndarray:
    """Epoch microseconds of a datetime Series (tz-aware → UTC instant; NaT → INT64 min)."""
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.to_datetime(ts).to_numpy(dtype="datetime64[us]").astype(np.int64)


def flag_repeats(
    cases: pd.DataFrame, distance_m: float = 50.0, window_days: float = 90.0
) -> pd.Series:
    """Flag each case that has an earlier case of the same category nearby (see module doc).

    Parameters
    ----------
    cases : pd.DataFrame
        Canonical cleansing cases: ``category``, ``reported_at``, ``latitude``, ``longitude``,
        ``status`` (optional).
    distance_m : float
        Inclusive distance threshold in metres (default 50).
    window_days : float
        Look-back window in days; an earlier case must be reported strictly within it
        (default 90).

    Returns
    -------
    pd.Series of bool, aligned with ``cases.index``, named ``is_repeat``.

    Examples
    --------
    >>> t = pd.to_datetime(["2024-01-01", "2024-02-01"]).tz_localize("Europe/London")
    >>> df = pd.DataFrame({"category": ["litter"] * 2, "reported_at": t,
    ...                    "latitude": [53.4, 53.4003], "longitude": [-2.98, -2.98]})
    >>> flag_repeats(df).tolist()  # 33 m apart, 31 days later
    [False, True]
    """
    if len(cases) == 0:
        return pd.Series(False, index=cases.index, name="is_repeat", dtype=bool)
    codes = pd.Categorical(cases["category"]).codes.astype(np.int64)
    rep = cases["reported_at"]
    t_us = _epoch_us(rep)
    eligible = rep.notna().to_numpy().copy()
    if "status" in cases.columns:
        eligible &= ~cases["status"].isin(EXCLUDED_STATUSES).to_numpy()
    flags = repeat_flags_arrays(
        codes,
        t_us,
        pd.to_numeric(cases["latitude"], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        ),
        pd.to_numeric(cases["longitude"], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        ),
        eligible,
        distance_m,
        window_days,
    )
    return pd.Series(flags, index=cases.index, name="is_repeat")


def flag_repeats_bruteforce(
    cases: pd.DataFrame, distance_m: float = 50.0, window_days: float = 90.0
) -> pd.Series:
    """O(n²) restatement of the definition, for tests only."""
    codes = pd.Categorical(cases["category"]).codes
    t = _epoch_us(cases["reported_at"])
    lat = np.radians(cases["latitude"].to_numpy(dtype=np.float64, na_value=np.nan))
    lon = np.radians(cases["longitude"].to_numpy(dtype=np.float64, na_value=np.nan))
    ok = (
        cases["reported_at"].notna().to_numpy() & (codes >= 0) & np.isfinite(lat) & np.isfinite(lon)
    )
    if "status" in cases.columns:
        ok &= ~cases["status"].isin(EXCLUDED_STATUSES).to_numpy()
    w = window_days * 86_400_000_000
    out = np.zeros(len(cases), dtype=bool)
    for i in np.flatnonzero(ok):
        dt = t[i] - t
        m = ok & (codes == codes[i]) & (dt > 0) & (dt < w)
        if not m.any():
            continue
        dphi = lat[m] - lat[i]
        dlam = (lon[m] - lon[i]) * np.cos(0.5 * (lat[m] + lat[i]))
        dist = EARTH_RADIUS_M * np.sqrt(dphi**2 + dlam**2)
        out[i] = bool((dist <= distance_m + TOLERANCE_M).any())
    return pd.Series(out, index=cases.index, name="is_repeat")


#: What :func:`stored_repeat_cases` returns besides ``is_repeat``.
REPEAT_CASE_COLUMNS = (
    "case_id",
    "category",
    "reported_at",
    "closed_at",
    "status",
    "latitude",
    "longitude",
    "ward_code",
    "street",
)


def stored_repeat_cases(store: Any, where: str, params: Sequence[Any]) -> pd.DataFrame | None:
    """Cases matching ``where`` with the repeat flag the store keeps, or None without one.

    The store writes ``is_repeat`` at ingest with the default rule over the *whole* table (50 m,
    90 days, an earlier case in another ward or before a date filter counts) and refreshes it on
    every write and undo, so a page needs no look-back read and no repeat search. A store
    written before schema 2 has no such column: then this returns None and the caller computes
    flags with :func:`flag_repeats`.

    Parameters
    ----------
    store : neighbourhood.store.Store
    where : str
        SQL condition on ``cases`` (with ``?`` placeholders).
    params : sequence
        Values of the placeholders.

    Returns
    -------
    pd.DataFrame or None
        :data:`REPEAT_CASE_COLUMNS` present in the store plus boolean ``is_repeat``.
    """
    have = set(
        store.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'cases'"
        )["column_name"]
    )
    if "is_repeat" not in have:
        return None
    cols = ", ".join(c for c in REPEAT_CASE_COLUMNS if c in have)
    cases = store.query(
        f"SELECT {cols}, coalesce(is_repeat, false) AS is_repeat FROM cases WHERE {where}",
        list(params),
    )
    cases["is_repeat"] = cases["is_repeat"].astype(bool)
    return cases
