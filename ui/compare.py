"""Streamlit helpers for the "Compared with other councils" page (cached accessors, figures,
sections). The figures are pure functions returning ``go.Figure`` (tested without Streamlit);
the comparison itself is :mod:`neighbourhood.compare`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from neighbourhood import compare as cmp
from ui import components
from ui.charts import CATEGORY_COLOURS, CITY_COLOUR, MUTED_COLOUR, safe_text
from ui.data import ordinal as ordinal_text
from ui.format import gbp, number
from ui.upload import plain

#: The example council when the store names none and holds the synthetic demo (Merseyford is
#: fictional; it sits where Liverpool is, so Liverpool's returns make a sensible first view).
DEMO_EXAMPLE: Final[str] = "E08000012"
SOURCE_LINE: Final[str] = (
    "Source: DEFRA, fly-tipping incidents and actions reported by local authorities in England "
    "(WasteDataFlow). Contains public sector information licensed under the Open Government "
    "Licence v3.0."
)
PHRASES: Final[dict[str, str]] = {
    "region": "the councils in its region",
    "core-cities": "the English Core Cities",
    "neighbours": f"its {cmp.NEIGHBOURS_K} nearest neighbours by population and deprivation",
    "england": "every council in England",
}
TREND_METRICS: Final[dict[str, str]] = {
    "incidents": "Incidents",
    "incidents_per_1k": "Incidents per 1,000 residents",
    "actions": "Enforcement actions",
    "actions_per_100_incidents": "Enforcement actions per 100 incidents",
    "fpns": "Fixed penalty notices",
    "prosecutions": "Prosecutions",
}


# --- cached accessors -------------------------------------------------------------------------


@st.cache_data(max_entries=4, show_spinner=False)
def returns(revision: str) -> pd.DataFrame:
    """DEFRA's returns: the bundled release and any newer one loaded into the store."""
    from ui.data import store

    return cmp.load_returns(store())


@st.cache_data(max_entries=16, show_spinner="Ranking the councils…")
def comparison(revision: str, council: str, group: str) -> pd.DataFrame:
    """Every year of :func:`neighbourhood.compare.comparison_table` for this council and group."""
    return cmp.comparison_table(returns(revision), council, group, None)


@st.cache_data(max_entries=8, show_spinner=False)
def own_extract(revision: str, council: str) -> pd.DataFrame:
    """The store's fly-tipping count per financial year beside the council's return."""
    from ui.data import store

    return cmp.own_extract(store(), returns(revision), council)


@dataclass(frozen=True)
class StoreCouncil:
    """The store's council (remembered or from its wards), and whether the store is the demo."""

    code: str | None
    how: str
    demo: bool


@st.cache_data(max_entries=8, show_spinner=False)
def store_council(revision: str, stamp: Any) -> StoreCouncil:
    """Which council the store is about (``stamp`` changes when the setting does)."""
    from ui.data import store

    s = store()
    choice = cmp.default_council(s)
    return StoreCouncil(choice.code, choice.how, cmp.is_demo_store(s))


def setting_stamp() -> Any:
    """Changes when the store file changes (a remembered council does not move the revision)."""
    from ui.data import store

    path = store().db_path
    return (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None


def remember(council: str) -> None:
    """Remember ``council`` as the store's council (button callback)."""
    from ui.data import store

    store().set_setting(cmp.SETTING, council)
    st.session_state["compare_remembered"] = council


# --- choices ------------------------------------------------------------------------------------


def initial_council(own: StoreCouncil, known: dict[str, str]) -> str | None:
    """The council the page opens on: the store's, else Liverpool for the demo, else none."""
    if own.code in known:
        return own.code
    if own.demo:
        return DEMO_EXAMPLE
    return None


def default_group(council: str) -> str:
    """Core Cities for a Core City, else its region."""
    return "core-cities" if council in set(cmp.core_cities()["ons_code"]) else "region"


# --- text ---------------------------------------------------------------------------------------


def rank_text(rank: Any, low: Any, high: Any, size: int) -> str:
    """``3rd of 8 (could be 2nd–4th)``; ``not ranked`` without a figure.

    Examples
    --------
    >>> rank_text(3, 2, 4, 8), rank_text(3, 3, 3, 8), rank_text(pd.NA, pd.NA, pd.NA, 8)
    ('3rd of 8 (could be 2nd–4th)', '3rd of 8', 'not ranked')
    """
    if rank is None or pd.isna(rank):
        return "not ranked"
    text = f"{ordinal_text(int(rank))} of {size}"
    if pd.notna(low) and pd.notna(high) and (int(low) != int(rank) or int(high) != int(rank)):
        text += f" (could be {ordinal_text(int(low))}–{ordinal_text(int(high))})"
    return text


def gap_sentence(row: pd.Series, name: str) -> str:
    """One plain sentence on the gap between the extract and the return for a year."""
    year = str(row["year"]).replace("-", "/")
    own = number(row["own_cases"])
    if not row["covered"]:
        return (
            f"{year}: the extract covers only part of the year, so its {own} fly-tipping "
            f"cases are not set against the return."
        )
    if pd.isna(row["reported_to_defra"]):
        return f"{year}: {own} fly-tipping cases in the extract; no figure in the return."
    gap = float(row["gap"])
    direction = "more" if gap > 0 else "fewer"
    if gap == 0:
        return f"{year}: the extract and the return agree ({own})."
    return (
        f"{year}: the extract holds {own} fly-tipping cases, {number(abs(gap))} {direction} "
        f"than the {number(row['reported_to_defra'])} incidents {plain(name)} reported to DEFRA "
        f"({abs(row['gap_pct']):.0f}% {direction})."
    )


def trend_sentence(table: pd.DataFrame, council: str, metric: str) -> str:
    """The council's first and latest figure for ``metric`` and the group median's, in words.

    Examples
    --------
    >>> t = cmp.comparison_table(cmp.load_returns(), "E08000012", "core-cities")
    >>> trend_sentence(t, "E08000012", "actions")[:62]
    'Liverpool: enforcement actions 3,633 in 2012/13, 1 in 2021/22'
    """
    label = TREND_METRICS.get(metric, metric).lower()
    mine = table[table["is_council"] & table[metric].notna()].sort_values("year")
    if len(mine) < 2:
        return f"Too few years with a figure for {label} to describe a trend."
    digits = 0 if metric in ("incidents", "actions", "fpns", "prosecutions") else 2
    first, last = mine.iloc[0], mine.iloc[-1]
    name = plain(last["name"])
    text = (
        f"{name}: {label} {number(first[metric], digits)} in {year_label(first['year'])}, "
        f"{number(last[metric], digits)} in {year_label(last['year'])}"
    )
    if first[metric] > 0:
        text += f" ({(last[metric] - first[metric]) * 100 / first[metric]:+.0f}%)"
    group = table[table["in_group"]].groupby("year")[metric].median()
    if first["year"] in group.index and last["year"] in group.index:
        a, b = group[first["year"]], group[last["year"]]
        if pd.notna(a) and pd.notna(b):
            text += f"; the group's median {number(a, digits)}, then {number(b, digits)}" + (
                f" ({(b - a) * 100 / a:+.0f}%)" if a > 0 else ""
            )
    return text + "."


# --- figures (pure) -----------------------------------------------------------------------------


def trend_figure(table: pd.DataFrame, council: str, metric: str) -> go.Figure:
    """The council's metric by year, the group's median, and each other member muted.

    Parameters
    ----------
    table
        :func:`neighbourhood.compare.comparison_table` for every year.
    council
        The council's code.
    metric
        A column of ``table`` (:data:`TREND_METRICS`).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    label = TREND_METRICS.get(metric, metric)
    fig = go.Figure()
    group = table[table["in_group"] & ~table["is_council"]]
    for _code, rows in group.groupby("ons_code", sort=True):
        rows = rows.sort_values("year")
        fig.add_trace(
            go.Scatter(
                x=rows["year"].map(year_label),
                y=rows[metric],
                mode="lines",
                line={"color": MUTED_COLOUR, "width": 1},
                name=safe_text(rows["name"].iloc[-1]),
                showlegend=False,
                hovertemplate="%{y:,.2f}<extra>" + safe_text(rows["name"].iloc[-1]) + "</extra>",
            )
        )
    median = table[table["in_group"]].groupby("year")[metric].median().sort_index()
    fig.add_trace(
        go.Scatter(
            x=[year_label(y) for y in median.index],
            y=median.to_numpy(),
            mode="lines+markers",
            line={"color": CATEGORY_COLOURS[1], "dash": "dash", "width": 2},
            name="Group median",
        )
    )
    mine = table[table["is_council"]].sort_values("year")
    fig.add_trace(
        go.Scatter(
            x=mine["year"].map(year_label),
            y=mine[metric],
            mode="lines+markers",
            line={"color": CITY_COLOUR, "width": 3},
            name=safe_text(mine["name"].iloc[-1]) if len(mine) else "Council",
        )
    )
    fig.update_layout(
        height=380,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title=f"{label}, by financial year",
        yaxis_title=label,
        xaxis_title="Financial year",
        legend={"orientation": "h", "y": -0.25},
        xaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": [year_label(y) for y in sorted(table["year"].unique())],
        },
    )
    return fig


def mix_frame(table: pd.DataFrame, year: str, family: dict[str, str]) -> pd.DataFrame:
    """Shares (percent) of the council and of the group (its councils' counts summed).

    Returns
    -------
    pandas.DataFrame
        ``who`` (the council's name, ``Group``), ``type``, ``share``.
    """
    rows = table[table["year"] == year]
    returns_cols = [f"share_{c}" for c in family]
    mine = rows[rows["is_council"]]
    out = []
    if len(mine):
        for col, label in zip(returns_cols, family.values(), strict=True):
            out.append(
                {"who": str(mine["name"].iloc[0]), "type": label, "share": mine[col].iloc[0]}
            )
    group = rows[rows["in_group"]]
    weights = group["incidents"].to_numpy(dtype="float64")
    shares = group[returns_cols].to_numpy(dtype="float64")
    ok = np.isfinite(shares).all(axis=1) & np.isfinite(weights)
    if ok.any():
        pooled = (shares[ok] * weights[ok, None]).sum(axis=0) / weights[ok].sum()
        for label, share in zip(family.values(), pooled, strict=True):
            out.append({"who": "Group", "type": label, "share": float(share)})
    return pd.DataFrame(out, columns=["who", "type", "share"])


#: Okabe & Ito's eight colours, then two greys: ten land types, each its own colour.
MIX_COLOURS: Final[tuple[str, ...]] = (*CATEGORY_COLOURS[:8], "#7F7F7F", "#C7C7C7")


def year_label(year: Any) -> str:
    """DEFRA's ``2021-22`` as the product writes financial years: ``2021/22``."""
    return str(year).replace("-", "/")


def mix_figure(mix: pd.DataFrame, title: str) -> go.Figure:
    """100 % stacked bars: the council and its group, one colour per type."""
    fig = go.Figure()
    types = list(dict.fromkeys(mix["type"]))
    for i, kind in enumerate(types):
        part = mix[mix["type"] == kind]
        fig.add_trace(
            go.Bar(
                y=[safe_text(w) for w in part["who"]],
                x=part["share"],
                name=safe_text(kind),
                orientation="h",
                marker_color=MIX_COLOURS[i % len(MIX_COLOURS)],
                hovertemplate="%{x:.1f}%<extra>" + safe_text(kind) + "</extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        height=340,
        title=title,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"title": "Share of incidents (%)", "range": [0, 100]},
        legend={"orientation": "h", "y": -0.3, "yanchor": "top", "traceorder": "normal"},
    )
    return fig


# --- sections -----------------------------------------------------------------------------------


def kpis(row: pd.Series) -> None:
    """The council's headline figures for the year, ranks within the group underneath."""
    size = int(row["group_size"])
    with st.container(horizontal=True):
        st.metric("Incidents", number(row["incidents"]), border=True)
        st.metric(
            "Incidents per 1,000 residents",
            number(row["incidents_per_1k"], 2),
            border=True,
            help="Rank 1 = the most incidents per 1,000 residents in the group.",
        )
        st.metric("Enforcement actions", number(row["actions"]), border=True)
        st.metric(
            "Actions per 100 incidents",
            number(row["actions_per_100_incidents"], 2),
            border=True,
            help="Rank 1 = the most actions per 100 incidents in the group.",
        )
        st.metric("Fixed penalty notices", number(row["fpns"]), border=True)
        st.metric("Prosecutions", number(row["prosecutions"]), border=True)
        st.metric(
            "Clearance cost per incident",
            gbp(row["cost_per_incident"], 2),
            border=True,
            help="DEFRA's total clearance cost divided by incidents. Many councils gave no "
            "total cost from 2017/18 (shown as –); DEFRA's costs up to 2016/17 are its own "
            "standard estimates per size of incident.",
        )
    st.caption(
        "Rank in the group: incidents per 1,000 residents "
        + rank_text(
            row["rank_incidents_per_1k"],
            row["rank_incidents_per_1k_low"],
            row["rank_incidents_per_1k_high"],
            size,
        )
        + "; actions per 100 incidents "
        + rank_text(
            row["rank_actions_per_100_incidents"],
            row["rank_actions_per_100_incidents_low"],
            row["rank_actions_per_100_incidents_high"],
            size,
        )
        + " (1 = highest). Where a range is given, it is where the rank could fall by chance in "
        "the counts alone (90%); no range means chance alone would not move it. Neither can allow "
        "for councils counting differently."
    )


GROUP_COLUMNS: Final[dict[str, Any]] = {
    "name": st.column_config.TextColumn("Council"),
    "incidents": st.column_config.NumberColumn("Incidents", format="localized"),
    "incidents_per_1k": st.column_config.NumberColumn("Per 1,000 residents", format="%.2f"),
    "rank_incidents_per_1k": st.column_config.NumberColumn("Rank"),
    "rank_incidents_per_1k_low": st.column_config.NumberColumn("Rank could be from"),
    "rank_incidents_per_1k_high": st.column_config.NumberColumn("to"),
    "actions": st.column_config.NumberColumn("Actions", format="localized"),
    "actions_per_100_incidents": st.column_config.NumberColumn(
        "Actions per 100 incidents", format="%.2f"
    ),
    "fpns": st.column_config.NumberColumn("FPNs", format="localized"),
    "prosecutions": st.column_config.NumberColumn("Prosecutions", format="localized"),
    "cost_per_incident": st.column_config.NumberColumn("Cost per incident (£)", format="%.2f"),
    "reporting_basis": st.column_config.TextColumn("What it counted"),
}


def group_table(table: pd.DataFrame, year: str) -> pd.DataFrame:
    """The group's rows for the year, the council first, then by incidents per 1,000."""
    rows = table[(table["year"] == year) & table["in_group"]].copy()
    rows = rows.sort_values(
        ["is_council", "incidents_per_1k"], ascending=[False, False], na_position="last"
    )
    return rows[list(GROUP_COLUMNS)].reset_index(drop=True)


def own_section(frame: pd.DataFrame, name: str) -> None:
    """The store's own fly-tipping counts beside the council's returns, and the gap."""
    if frame.empty:
        st.caption(
            "The store holds no fly-tipping cases of this council yet: load its cleansing "
            "extract to see its own count beside what it reported."
        )
        return
    for _, row in frame.iterrows():
        st.markdown(gap_sentence(row, name))
    components.dataframe(
        frame,
        hide_index=True,
        column_config={
            "year": st.column_config.TextColumn("Financial year"),
            "own_cases": st.column_config.NumberColumn("Our extract", format="localized"),
            "reported_to_defra": st.column_config.NumberColumn(
                "Reported to DEFRA", format="localized"
            ),
            "gap": st.column_config.NumberColumn("Gap", format="localized"),
            "gap_pct": st.column_config.NumberColumn("Gap (%)", format="%.1f"),
            "covered": st.column_config.CheckboxColumn("Whole year in the extract"),
            "first_day": st.column_config.DateColumn("From", format="DD MMM YYYY"),
            "last_day": st.column_config.DateColumn("To", format="DD MMM YYYY"),
        },
    )
    st.caption(
        "Why the two differ: the extract counts reports (one incident reported twice by "
        "different people is two cases unless marked duplicate), while DEFRA counts incidents "
        "the council dealt with on public land; the council also chooses a reporting basis "
        "(all incidents, public reports only, or staff-found only), and a case's type in the "
        "extract may not be how it was returned."
    )
