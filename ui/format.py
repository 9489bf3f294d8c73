"""Display formatting in plain council English: "£", "dd Mon yyyy", financial years as "2024/25".

Pure functions (no Streamlit), so they are unit-tested directly and shared by pages, maps and charts.
Missing values display as an en dash ("–"), never as "nan" or "NaT".
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

import pandas as pd

from neighbourhood.schemas import CATEGORY_LABELS, CITYWIDE

MISSING: Final[str] = "–"

# Metric → (plain-English label, unit kind, higher is better). Kind drives formatting:
# "pct" is already 0–100 (pct_within_sla), "share" is 0–1 (repeat_location_share, fpn_paid_rate).
METRICS: Final[dict[str, tuple[str, str, bool]]] = {
    "cases": ("Cases reported", "count", False),
    "cases_per_1k": ("Cases per 1,000 residents", "rate", False),
    "closed": ("Cases closed", "count", True),
    "median_days_to_close": ("Median days to close", "days", False),
    "p90_days_to_close": ("Days to close (slowest 10%)", "days", False),
    "pct_within_sla": ("Closed within target time", "pct", True),
    "open_at_end": ("Cases still open at period end", "count", False),
    "repeat_location_share": ("Cases at repeat locations", "share", False),
    "enforcement_actions": ("Enforcement actions", "count", True),
    "fpn_issued": ("Fixed penalty notices issued", "count", True),
    "fpn_paid_rate": ("Fixed penalty notices paid", "share", True),
    "actions_per_100_fly_tips": ("Enforcement actions per 100 fly-tips", "rate", True),
    "prosecutions": ("Prosecutions", "count", True),
    "spend_gbp": ("Spend", "gbp", True),
    "cost_per_case_closed": ("Cost per case closed", "gbp", False),
}

ACTION_LABELS: Final[dict[str, str]] = {
    "investigation": "Investigations",
    "warning_letter": "Warning letters",
    "fixed_penalty_notice": "Fixed penalty notices",
    "community_protection_notice": "Community protection notices",
    "statutory_notice": "Statutory notices",
    "formal_caution": "Formal cautions",
    "prosecution": "Prosecutions",
    "vehicle_seized": "Vehicles seized",
    "no_further_action": "No further action",
}

PERIOD_LABELS: Final[dict[str, str]] = {
    "month": "Month",
    "quarter": "Quarter",
    "year": "Financial year",
}


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pandas NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


#: The caption under a table that shows "–" (a table's own reason may replace it).
MISSING_LEGEND: Final[str] = (
    f"{MISSING} : no figure (nothing recorded, or too few cases to work it out)."
)


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as a table shows it: every missing cell (None, NaN, NaT, pandas NA or an empty
    text) made a true missing value, which ``st.dataframe(placeholder=MISSING)`` draws as "–".

    Numbers stay numbers (sorting and ``column_config`` formats still work).

    Examples
    --------
    >>> t = display_frame(pd.DataFrame({"a": ["x", "", None], "b": [1.0, float("nan"), 2.0]}))
    >>> t["a"].tolist(), t["b"].isna().tolist()
    (['x', None, None], [False, True, False])
    """
    out = frame.copy()
    for col in out.columns:
        values = out[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            blank = values.map(lambda v: is_missing(v) or (isinstance(v, str) and not v.strip()))
            if blank.any():
                out[col] = values.astype(object).where(~blank, None)
    return out


def has_missing(frame: pd.DataFrame) -> bool:
    """Whether any cell would read "–" (see :func:`display_frame`)."""
    shown = display_frame(frame)
    return bool(len(shown) and shown.isna().to_numpy().any())


def gbp(value: Any, decimals: int = 0) -> str:
    """Money as pounds: ``gbp(1234.5)`` → ``"£1,235"``; ``gbp(-20)`` → ``"-£20"``."""
    if is_missing(value):
        return MISSING
    amount = float(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}£{abs(amount):,.{decimals}f}"


def number(value: Any, decimals: int = 0) -> str:
    """A count or rate with thousands separators: ``number(12345)`` → ``"12,345"``."""
    if is_missing(value):
        return MISSING
    return f"{float(value):,.{decimals}f}"


def percent(value: Any, decimals: int = 0) -> str:
    """A share given as 0–100: ``percent(87.25)`` → ``"87%"``."""
    if is_missing(value):
        return MISSING
    return f"{float(value):,.{decimals}f}%"


def days(value: Any) -> str:
    """A duration in days: ``days(3.25)`` → ``"3.3 days"``; ``days(1)`` → ``"1.0 day"``."""
    if is_missing(value):
        return MISSING
    n = float(value)
    return f"{n:,.1f} day" if math.isclose(n, 1.0) else f"{n:,.1f} days"


def _timestamp(value: Any) -> pd.Timestamp | None:
    if is_missing(value):
        return None
    if isinstance(value, pd.Period):
        return value.start_time
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("Europe/London")
    return ts


def uk_date(value: Any) -> str:
    """A date as "dd Mon yyyy": ``uk_date("2024-03-05")`` → ``"05 Mar 2024"``.

    Time-zone-aware values are shown in Europe/London time.
    """
    ts = _timestamp(value)
    return MISSING if ts is None else ts.strftime("%d %b %Y")


def uk_datetime(value: Any) -> str:
    """A moment as "dd Mon yyyy HH:MM" in Europe/London time."""
    ts = _timestamp(value)
    return MISSING if ts is None else ts.strftime("%d %b %Y %H:%M")


def financial_year(value: Any) -> str:
    """The UK financial year (April–March) containing a date: 15 Apr 2024 → ``"2024/25"``.

    Also accepts a pandas ``Period`` with an ``A-MAR``/``Y-MAR`` or ``Q-MAR`` frequency, whose
    own label would wrongly read "2025" for April 2024.
    """
    ts = _timestamp(value)
    if ts is None:
        return MISSING
    start = ts.year if ts.month >= 4 else ts.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def period_label(value: Any, period: str = "month") -> str:
    """Label a period by its start date: "Mar 2024", "Q1 2024/25" (Apr–Jun) or "2024/25"."""
    ts = _timestamp(value)
    if ts is None:
        return MISSING
    if period == "month":
        return ts.strftime("%b %Y")
    if period == "quarter":
        quarter = ((ts.month - 4) % 12) // 3 + 1
        return f"Q{quarter} {financial_year(ts)}"
    if period == "year":
        return financial_year(ts)
    raise ValueError(f"unknown period {period!r}")


def category_label(code: Any) -> str:
    """Council label for a canonical category; unknown codes are shown as given (as text)."""
    if is_missing(code):
        return MISSING
    return CATEGORY_LABELS.get(str(code), str(code))


def action_label(code: Any) -> str:
    """Council label for an enforcement action code."""
    if is_missing(code):
        return MISSING
    return ACTION_LABELS.get(str(code), str(code).replace("_", " ").capitalize())


def metric_label(metric: str) -> str:
    """Plain-English label for a metric column: ``"cases_per_1k"`` → ``"Cases per 1,000 residents"``."""
    return METRICS.get(metric, (metric.replace("_", " ").capitalize(), "count", False))[0]


def metric_value(metric: str, value: Any) -> str:
    """Format one metric value for display according to its kind."""
    kind = METRICS.get(metric, ("", "count", False))[1]
    if kind == "gbp":
        return gbp(value)
    if kind == "pct":
        return percent(value)
    if kind == "share":
        return MISSING if is_missing(value) else percent(float(value) * 100)
    if kind == "days":
        return days(value)
    if kind == "rate":
        return MISSING if is_missing(value) else number(value, 2 if abs(float(value)) < 10 else 1)
    return number(value)


def metric_kind(metric: str) -> str:
    """``"count"``, ``"rate"``, ``"days"``, ``"pct"`` (0–100), ``"share"`` (0–1) or ``"gbp"``."""
    return METRICS.get(metric, ("", "count", False))[1]


def higher_is_better(metric: str) -> bool:
    """Whether a rise in this metric is good news (drives the delta colour)."""
    return METRICS.get(metric, ("", "count", False))[2]


def ward_label(code: Any, names: dict[str, str] | None = None) -> str:
    """Ward name for a code ("Whole city" for the city total); falls back to the code."""
    if is_missing(code):
        return MISSING
    if str(code) == CITYWIDE:
        return "Whole city"
    return (names or {}).get(str(code), str(code))


def date_range_text(start: dt.date | None, end: dt.date | None) -> str:
    """ "01 Apr 2024 to 31 Mar 2025"."""
    return f"{uk_date(start)} to {uk_date(end)}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 ward", "3 wards" (``many`` for irregular plurals)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


_PERIOD_NOUNS: Final[dict[str, tuple[str, str]]] = {
    "month": ("whole month", "whole months"),
    "quarter": ("whole quarter", "whole quarters"),
    "year": ("whole financial year", "whole financial years"),
}


def period_last_day(value: Any, period: str = "month") -> dt.date:
    """The last calendar day of the period holding ``value``: Apr 2026, year → 31 Mar 2027.

    The periods are ``neighbourhood.periods``' (financial quarters and years), as the metrics'.
    """
    from neighbourhood import periods

    ts = _timestamp(value)
    if ts is None:
        raise ValueError("a period start is needed")
    key = periods.key_of_timestamp(ts.tz_localize(None), period)  # type: ignore[arg-type]
    return (periods.period_start(key + 1, period) - pd.Timedelta(days=1)).date()  # type: ignore[arg-type]


def period_name(value: Any, period: str = "month") -> str:
    """A period in words for captions: "March 2026", "Q4 2025/26", "2025/26"."""
    ts = _timestamp(value)
    if ts is None:
        return MISSING
    return ts.strftime("%B %Y") if period == "month" else period_label(ts, period)


def is_complete(value: Any, period: str, as_of: dt.date) -> bool:
    """Whether the data (to ``as_of``, a local date, inclusive) cover the whole period."""
    return as_of >= period_last_day(value, period)


def so_far_text(value: Any, period: str, as_of: dt.date) -> str:
    """What an incomplete period holds: "Apr–Sep 2026 so far", "01 Sep to 15 Sep 2026 so far"."""
    ts = _timestamp(value)
    if ts is None:
        return MISSING
    month_end = (pd.Timestamp(as_of) + pd.offsets.MonthEnd(0)).date() == as_of
    if month_end and period != "month":
        if ts.year == as_of.year:
            months = f"{ts:%b}" if ts.month == as_of.month else f"{ts:%b}–{as_of:%b}"
            return f"{months} {as_of:%Y} so far"
        return f"{ts:%b %Y}–{as_of:%b %Y} so far"
    return f"{ts:%d %b} to {uk_date(as_of)} so far"


def periods_shown(
    first: Any,
    last: Any,
    period: str,
    *,
    chosen: tuple[dt.date, dt.date] | None = None,
    as_of: dt.date | None = None,
    asked: tuple[dt.date, dt.date] | None = None,
    data_end: dt.date | None = None,
) -> str:
    """The caption that says which whole periods a page shows, and why they may differ.

    ``first``/``last`` are the starts of the first and last period shown; ``chosen`` the dates
    in the filter (widened to whole periods by the metrics); ``as_of`` the data date (the last
    period is incomplete before its last day); ``asked`` dates from a link that were moved into
    the data (``data_end`` is the last date with data).

    Examples
    --------
    >>> d = dt.date
    >>> periods_shown("2026-03-01", "2026-03-01", "month", chosen=(d(2026, 3, 29), d(2026, 3, 29)))
    'March 2026 (whole month). The dates chosen (29 Mar 2026 to 29 Mar 2026) are widened to whole months: figures are worked out for whole periods.'
    """
    one, many = _PERIOD_NOUNS[period]
    if first is None or last is None or is_missing(first) or is_missing(last):
        return "No periods with data in the chosen dates."
    if pd.Timestamp(first) == pd.Timestamp(last):
        months = ""
        if period == "quarter":
            months = f"{pd.Timestamp(first):%b}–{period_last_day(first, period):%b %Y}, "
        text = f"{period_name(first, period)} ({months}{one})"
    else:
        text = f"{period_name(first, period)} to {period_name(last, period)} ({many})"
    notes = []
    if asked is not None and data_end is not None:
        notes.append(
            f"The dates asked for ({date_range_text(*asked)}) are outside the data, which end "
            f"on {uk_date(data_end)}: the nearest whole {one.split(' ', 1)[1]} with data is shown "
            "instead"
        )
    elif chosen is not None and (
        pd.Timestamp(chosen[0]) != pd.Timestamp(first) or chosen[1] != period_last_day(last, period)
    ):
        notes.append(
            f"The dates chosen ({date_range_text(*chosen)}) are widened to {many}: "
            "figures are worked out for whole periods."
        )
    if as_of is not None and not is_complete(last, period, as_of):
        notes.append(
            f"{period_label(last, period)} is not over yet: data to {uk_date(as_of)} "
            f"({so_far_text(last, period, as_of)})."
        )
    return ". ".join([text, *[n.rstrip(".") for n in notes]]) + "."
