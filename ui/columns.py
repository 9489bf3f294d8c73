"""``st.column_config`` entries shared by the page tables (labels and number formats in one place).

Enforcement counts are text columns: the tables show them through
:func:`ui.disclosure.protect`, where counts from 1 to 4 read "<5".
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import disclosure
from ui.format import metric_kind, metric_label

_FORMATS = {
    "count": "localized",
    "rate": "%.2f",
    "days": "%.1f",
    "pct": "%.0f%%",
    "share": "percent",
    "gbp": "£%,.0f",
}


def metric_column(metric: str, label: str | None = None) -> Any:
    """The column for one metric: a number in its unit, or text for a protected count."""
    text = label or metric_label(metric)
    if disclosure.is_protected(metric) and metric_kind(metric) == "count":
        return st.column_config.TextColumn(text, help=disclosure.note())
    return st.column_config.NumberColumn(text, format=_FORMATS.get(metric_kind(metric)))


def ward_table() -> dict[str, Any]:
    """Columns of the "all wards" table on the ward map."""
    return {
        "ward_name": st.column_config.TextColumn("Ward"),
        "cases": st.column_config.NumberColumn("Cases", format="localized"),
        "cases_per_1k": metric_column("cases_per_1k"),
        "median_days_to_close": metric_column("median_days_to_close"),
        "pct_within_sla": metric_column("pct_within_sla"),
        "open_at_end": st.column_config.NumberColumn(
            "Still open at period end", format="localized"
        ),
        "enforcement_actions": metric_column("enforcement_actions"),
        "spend_gbp": metric_column("spend_gbp"),
        "rank_cases_per_1k": st.column_config.NumberColumn("Rank (1 = most cases per 1,000)"),
    }


def trend_table(metric: str) -> dict[str, Any]:
    """Columns of the table under the trend chart."""
    return {
        "ward_name": st.column_config.TextColumn("Ward"),
        "period": st.column_config.TextColumn("Period"),
        metric: metric_column(metric),
    }


def repeat_streets() -> dict[str, Any]:
    """Columns of "Places with repeat problems" on the ward profile."""
    return {
        "street": st.column_config.TextColumn("Street"),
        "top_category": st.column_config.TextColumn("Main problem"),
        "cases": st.column_config.NumberColumn("Cases", format="localized"),
        "repeat_cases": st.column_config.NumberColumn("Repeats", format="localized"),
        "last_reported": st.column_config.TextColumn("Last reported"),
        "where": st.column_config.TextColumn(
            "Where (latitude, longitude)",
            width="medium",
            help="The middle of the 50 m square's cases: a long street can have several squares.",
        ),
    }


def enforcement_funnel() -> dict[str, Any]:
    """Columns of the enforcement table on the ward profile (``shown`` is already protected)."""
    return {
        "stage": st.column_config.TextColumn("Stage"),
        "shown": st.column_config.TextColumn("Number", help=disclosure.note()),
    }


def ward_spend() -> dict[str, Any]:
    """Columns of the spend table on the ward profile."""
    return {
        "period": st.column_config.TextColumn("Period"),
        "spend_gbp": metric_column("spend_gbp"),
        "cost_per_case_closed": st.column_config.NumberColumn(
            metric_label("cost_per_case_closed"), format="£%,.2f"
        ),
    }
