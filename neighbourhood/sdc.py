"""Exact Poisson confidence intervals and statistical disclosure control for small counts.

Disclosure rule (``docs/metrics.md``, ``notes/reliability.md`` §5): enforcement counts relate to
identifiable people, so viewer-facing tables and every export show 1 to ``threshold - 1`` as
``"<5"``; 0 stays 0 (a true zero discloses nothing about a person); larger counts are shown as
they are, or rounded to the nearest ``round_to`` (half away from zero) when the caller asks for it.
Rates whose denominator is below the threshold are blanked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.stats import chi2

from neighbourhood.schemas import CITYWIDE

#: The one setting for the disclosure threshold, shared by the pages and every export.
THRESHOLD_ENV = "NEIGHBOURHOOD_SDC_THRESHOLD"
DEFAULT_THRESHOLD = 5
#: The column an exported ward × period table carries to say how it was protected.
DISCLOSURE_COLUMN = "disclosure"

#: Enforcement count columns of the ward × period table that are suppressed in public views.
ENFORCEMENT_COUNT_COLUMNS: tuple[str, ...] = (
    "enforcement_actions",
    "fpn_issued",
    "fpn_paid",
    "fpn_with_outcome",
    "prosecutions",
    "fly_tipping_actions",
)
#: Rates built on enforcement counts, with the counts each rate would reveal.
ENFORCEMENT_RATE_COUNTS: dict[str, tuple[str, ...]] = {
    "fpn_paid_rate": ("fpn_paid", "fpn_with_outcome"),
    "actions_per_100_fly_tips": ("fly_tipping_actions",),
}
#: How each of those rates is made: (numerator, denominator, scale), as in ``docs/metrics.md``.
ENFORCEMENT_RATE_FORMULAS: dict[str, tuple[str, str, float]] = {
    "fpn_paid_rate": ("fpn_paid", "fpn_with_outcome", 1.0),
    "actions_per_100_fly_tips": ("fly_tipping_actions", "fly_tips", 100.0),
}


def poisson_ci(
    counts: np.ndarray | pd.Series | float, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) confidence interval for a Poisson count.

    ``lo = chi2.ppf(a/2, 2k) / 2`` (0 when k = 0) and ``hi = chi2.ppf(1 - a/2, 2k + 2) / 2``.
    Divide both by the exposure to get an interval for a rate. NaN counts give NaN.

    Parameters
    ----------
    counts : array-like of non-negative numbers
    level : float
        Confidence level, default 0.95.

    Returns
    -------
    (lo, hi) : tuple of numpy.ndarray of float64

    Examples
    --------
    >>> lo, hi = poisson_ci([0, 10])
    >>> [round(float(x), 3) for x in (*lo, *hi)]
    [0.0, 4.795, 3.689, 18.39]
    """
    k = np.asarray(counts, dtype=np.float64)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, chi2.ppf(alpha / 2, 2 * k) / 2, 0.0)
        hi = chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    nan = np.isnan(k)
    lo = np.where(nan, np.nan, lo)
    hi = np.where(nan, np.nan, hi)
    return np.atleast_1d(lo).astype(np.float64), np.atleast_1d(hi).astype(np.float64)


def _suppress_value(v: object, threshold: int, round_to: int | None) -> object:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return v
    x = float(v)  # type: ignore[arg-type]
    if x == 0:
        return 0
    if abs(x) < threshold:
        return f"<{threshold}"
    if round_to and round_to > 1:
        return int(np.sign(x) * np.floor(abs(x) / round_to + 0.5) * round_to)
    return int(x) if x == int(x) else x


def suppress_small_counts(
    df: pd.DataFrame,
    columns: Iterable[str],
    threshold: int = 5,
    round_to: int | None = None,
) -> pd.DataFrame:
    """Replace small counts by ``"<threshold"`` for public views and exports.

    Parameters
    ----------
    df : pd.DataFrame
    columns : iterable of str
        Count columns to protect; absent columns are ignored.
    threshold : int
        Counts from 1 to ``threshold - 1`` become ``"<threshold"``. 0 stays 0.
    round_to : int or None
        Round the remaining counts to the nearest multiple (half away from zero), e.g. 5 for the
        NHS/ONS style; ``None`` (default) leaves them exact.

    Returns
    -------
    pd.DataFrame
        A copy; protected columns have ``object`` dtype (ints and strings). NaN stays NaN.

    Examples
    --------
    >>> t = pd.DataFrame({"fpn_issued": [0, 3, 12, 13]})
    >>> suppress_small_counts(t, ["fpn_issued"])["fpn_issued"].tolist()
    [0, '<5', 12, 13]
    >>> suppress_small_counts(t, ["fpn_issued"], round_to=5)["fpn_issued"].tolist()
    [0, '<5', 10, 15]
    """
    out = df.copy()
    for col in columns:
        if col in out.columns:
            out[col] = pd.Series(
                [_suppress_value(v, threshold, round_to) for v in out[col].tolist()],
                index=out.index,
                dtype=object,
            )
    return out


def disclosure_view(
    table: pd.DataFrame, threshold: int = 5, round_to: int | None = 5
) -> pd.DataFrame:
    """Public version of a ward × period table: enforcement counts suppressed, weak rates blanked.

    Applies :func:`suppress_small_counts` to :data:`ENFORCEMENT_COUNT_COLUMNS` and sets the
    enforcement rates in :data:`ENFORCEMENT_RATE_COUNTS` to NaN where any count they are built
    on (and would reveal) is between 1 and ``threshold - 1``. When counts are rounded, each rate
    whose numerator and denominator are in the table is worked out again from the counts as
    published (:data:`ENFORCEMENT_RATE_FORMULAS`): a rate from the exact counts would give
    back the exact count behind a rounded one (70 actions per 100 fly-tips beside 10 fly-tips
    is 7 actions, shown as 5). Street-cleansing counts describe events, not people, and are
    left alone. No secondary suppression is applied (see ``docs/metrics.md``).

    Parameters
    ----------
    table : pd.DataFrame
        Output of ``metrics.ward_period_table``.
    threshold : int
    round_to : int or None
        Rounding base for counts at or above the threshold (default 5).

    Returns
    -------
    pd.DataFrame

    Examples
    --------
    >>> t = pd.DataFrame({"fpn_paid": [3], "fpn_with_outcome": [12], "fpn_paid_rate": [0.25]})
    >>> v = disclosure_view(t)
    >>> v["fpn_paid"].iat[0], v["fpn_with_outcome"].iat[0], bool(v["fpn_paid_rate"].isna().iat[0])
    ('<5', 10, True)
    """
    out = table.copy()
    for rate, counts in ENFORCEMENT_RATE_COUNTS.items():
        if rate not in out.columns:
            continue
        small = pd.Series(False, index=out.index)
        for col in counts:
            if col in out.columns:
                n = pd.to_numeric(out[col], errors="coerce").fillna(0)
                small |= (n > 0) & (n < threshold)
        out[rate] = out[rate].astype("float64").mask(small)
    shown = suppress_small_counts(out, ENFORCEMENT_COUNT_COLUMNS, threshold, round_to)
    if round_to and round_to > 1:
        for rate, (num, den, scale) in ENFORCEMENT_RATE_FORMULAS.items():
            if not {rate, num, den} <= set(shown.columns):
                continue
            top = pd.to_numeric(shown[num], errors="coerce").astype("float64")
            bottom = pd.to_numeric(shown[den], errors="coerce").astype("float64")
            again = (scale * top / bottom.where(bottom != 0)).where(shown[rate].notna())
            shown[rate] = again
    return shown


def threshold() -> int:
    """The disclosure threshold: ``NEIGHBOURHOOD_SDC_THRESHOLD`` if a whole number ≥ 2, else 5.

    Examples
    --------
    >>> threshold() >= 2
    True
    """
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_THRESHOLD
    return value if value >= 2 else DEFAULT_THRESHOLD


def export_note(*, unsuppressed: bool, t: int | None = None) -> str:
    """What an exported table says about its enforcement figures (the ``disclosure`` column).

    Examples
    --------
    >>> export_note(unsuppressed=False, t=5).startswith("Enforcement counts from 1 to 4")
    True
    >>> export_note(unsuppressed=True, t=5).startswith("UNSUPPRESSED")
    True
    """
    t = threshold() if t is None else t
    if unsuppressed:
        return (
            f"UNSUPPRESSED: exact enforcement counts, for analysts only; do not publish or "
            f"share (counts from 1 to {t - 1} can identify the people involved)"
        )
    return (
        f"Enforcement counts from 1 to {t - 1} are shown as <{t} and rates built on them are "
        "left blank, to protect the people involved; the whole-city rows are exact"
    )


def export_view(
    table: pd.DataFrame, *, unsuppressed: bool = False, t: int | None = None
) -> pd.DataFrame:
    """A ward × period table as every export writes it: protected as the pages show it.

    Ward rows get :func:`disclosure_view` with exact counts from the threshold up (the pages'
    rule, ``ui/disclosure.py``); rows with ``ward_code == "citywide"`` stay exact, as on the
    pages. A last column, :data:`DISCLOSURE_COLUMN`, says on every row what was done and why
    (:func:`export_note`). ``unsuppressed=True`` keeps every figure exact and says so there.

    Parameters
    ----------
    table : pd.DataFrame
        Output of ``metrics.ward_period_table`` (any subset of its columns).
    unsuppressed : bool
        Exact figures for analysts (``metrics --unsuppressed``).
    t : int or None
        Threshold; default :func:`threshold`.

    Returns
    -------
    pd.DataFrame

    Examples
    --------
    >>> t = pd.DataFrame({"ward_code": ["E1", "E2", "citywide"], "fpn_issued": [3, 0, 3]})
    >>> export_view(t, t=5)["fpn_issued"].tolist()
    ['<5', 0, 3]
    >>> export_view(t, unsuppressed=True, t=5)["fpn_issued"].tolist()
    [3, 0, 3]
    """
    t = threshold() if t is None else t
    out = table.copy()
    if not unsuppressed:
        city = (
            (out["ward_code"].astype(str) == CITYWIDE).to_numpy()
            if "ward_code" in out.columns
            else np.zeros(len(out), dtype=bool)
        )
        shown = disclosure_view(out.loc[~city], threshold=t, round_to=None)
        protected = [c for c in (*ENFORCEMENT_COUNT_COLUMNS, *ENFORCEMENT_RATE_COUNTS) if c in out]
        for col in protected:
            values = out[col].astype(object if col in ENFORCEMENT_COUNT_COLUMNS else "float64")
            values.loc[~city] = shown[col]
            out[col] = values
    out[DISCLOSURE_COLUMN] = export_note(unsuppressed=unsuppressed, t=t)
    return out
