"""Disclosure control for what the pages show (pure: no Streamlit).

Enforcement counts concern identifiable people (``notes/reliability.md`` §5), so every
viewer-facing place (KPI cards, map colours and tooltips, trend lines, tables and their CSV
downloads) shows ward-level counts from 1 to ``threshold - 1`` as ``"<5"`` and blanks the rates
built on them. The rule itself is ``neighbourhood.sdc.disclosure_view``; this module decides
*where* it applies:

- **Ward rows** (and the total of a chosen group of wards) are protected.
- **The whole-city row** stays exact. Secondary suppression is not done, so a hidden ward value
  could in principle be derived as the city total minus every other ward (docs/ui.md).
- **Everyone** sees the protected figures, analysts included: the exact figures stay in the
  store and behind ``metrics --unsuppressed`` on the command line (whose exports are protected
  like the pages by default: ``neighbourhood.sdc.export_view``), not on the dashboard.

The threshold is set in one place: the ``NEIGHBOURHOOD_SDC_THRESHOLD`` environment variable
(default 5; a value that is not a whole number of at least 2 falls back to 5).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd

from neighbourhood import sdc
from neighbourhood.schemas import CITYWIDE
from neighbourhood.sdc import ENFORCEMENT_COUNT_COLUMNS, ENFORCEMENT_RATE_COUNTS, disclosure_view

THRESHOLD_ENV: Final[str] = sdc.THRESHOLD_ENV
DEFAULT_THRESHOLD: Final[int] = sdc.DEFAULT_THRESHOLD
#: Every column the rule touches: counts shown as "<5", rates blanked.
PROTECTED: Final[frozenset[str]] = frozenset(ENFORCEMENT_COUNT_COLUMNS) | frozenset(
    ENFORCEMENT_RATE_COUNTS
)


def threshold() -> int:
    """The disclosure threshold: ``NEIGHBOURHOOD_SDC_THRESHOLD`` if a whole number ≥ 2, else 5.

    Examples
    --------
    >>> threshold() >= 2
    True
    """
    return sdc.threshold()  # one setting for the pages and the command line's exports


def small_text(t: int | None = None) -> str:
    """How a hidden count reads: ``"<5"``."""
    return f"<{threshold() if t is None else t}"


def note(t: int | None = None) -> str:
    """The sentence shown under anything that may hide small enforcement counts."""
    t = threshold() if t is None else t
    return (
        f"Enforcement counts from 1 to {t - 1} are shown as “<{t}” (and rates built on them are "
        "left blank) to protect the people involved."
    )


def is_protected(metric: str) -> bool:
    """True for enforcement counts and the rates built on them."""
    return metric in PROTECTED


def is_small(value: Any, t: int | None = None) -> bool:
    """True for a count from 1 to ``threshold - 1`` (missing values are not small)."""
    t = threshold() if t is None else t
    try:
        x = float(value)
    except (TypeError, ValueError):
        return False
    return bool(np.isfinite(x) and 0 < abs(x) < t)


def any_small(values: Iterable[Any], t: int | None = None) -> bool:
    """True when any value in ``values`` would be hidden."""
    return any(is_small(v, t) for v in values)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return ""
    x = float(value)
    return str(int(x)) if x == int(x) else f"{x:g}"


def protect(table: pd.DataFrame, *, text: bool, city_exact: bool = True) -> pd.DataFrame:
    """A copy of a ward × period table that is safe to show.

    Parameters
    ----------
    table
        Rows of ``metrics.ward_period_table`` (any subset of its columns).
    text
        ``True`` for tables and CSV downloads: enforcement counts become text (``"0"``,
        ``"<5"``, ``"12"``; blank when missing). ``False`` for charts and map colours: they stay
        numbers and hidden counts become NaN (a gap or a grey ward).
    city_exact
        Leave the whole-city row (``ward_code == "citywide"``) exact. Pass ``False`` when that row
        is the total of a few chosen wards.

    Examples
    --------
    >>> t = pd.DataFrame({"ward_code": ["E1", "citywide"], "fpn_issued": [3, 3]})
    >>> protect(t, text=True)["fpn_issued"].tolist()
    ['<5', '3']
    >>> protect(t, text=False, city_exact=False)["fpn_issued"].isna().tolist()
    [True, True]
    """
    t = threshold()
    out = table.copy()
    if "ward_code" in out.columns and city_exact:
        rows = (out["ward_code"] != CITYWIDE).to_numpy()
    else:
        rows = np.ones(len(out), dtype=bool)
    shown = disclosure_view(out.loc[rows], threshold=t, round_to=None)
    for rate in ENFORCEMENT_RATE_COUNTS:
        if rate in out.columns:
            values = out[rate].astype("float64")
            values.loc[rows] = shown[rate].astype("float64")
            out[rate] = values
    for col in ENFORCEMENT_COUNT_COLUMNS:
        if col not in out.columns:
            continue
        if text:
            values = out[col].astype(object)
            values.loc[rows] = shown[col]
            out[col] = [_text(v) for v in values]
        else:
            numbers = pd.to_numeric(out[col], errors="coerce").astype("float64")
            hidden = rows & numbers.map(lambda v: is_small(v, t)).to_numpy(dtype=bool)
            out[col] = numbers.mask(hidden)
    return out
