"""Figures for the Spend vs results page (pure: no Streamlit, each returns ``go.Figure``).

Inputs come from ``neighbourhood.evaluation``: the tidy "funded vs comparison" frame
(``period_start``, ``group``, ``value``, ``lo``, ``hi``, ``n_wards``) and the pre-trend leads.
Funding start is a dashed vline at a ``pd.Timestamp``, the funded period a shaded vrect, and the
comparison wards a muted trace (STYLE.md §9), via ``ui.charts.add_funding``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ui.charts import MUTED_COLOUR, add_funding, line_colours, safe_text

FUNDED = "Funded wards"
COMPARISON = "Comparison wards"
FUNDED_COLOUR = line_colours(1)[0]


def _naive(value: Any) -> pd.Timestamp | None:
    if value is None or pd.isna(value):
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def _rgba(colour: str, alpha: float) -> str:
    if colour.startswith("#"):
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgba({r}, {g}, {b}, {alpha})"
    inner = colour[colour.index("(") + 1 : colour.index(")")]
    return f"rgba({', '.join(p.strip() for p in inner.split(',')[:3])}, {alpha})"


def funded_vs_comparison_figure(
    series: pd.DataFrame,
    *,
    start: Any,
    end: Any = None,
    y_title: str,
    title: str = "Funded and comparison wards over time",
    programme: str = "",
) -> go.Figure:
    """Average outcome per period in funded wards (coloured, with a 95% band) and comparison
    wards (muted), with the funding start marked and the funded period shaded.

    Parameters
    ----------
    series
        From ``evaluation.treated_vs_comparison_series``.
    start, end
        Programme start (and optional end); any date-like, shown as ``pd.Timestamp``.
    y_title
        Plain-English axis title, e.g. "Cases per 1,000 residents".
    programme
        Programme name for the start annotation (escaped: it comes from a spend file).
    """
    fig = go.Figure()
    for group, colour, width in ((COMPARISON, MUTED_COLOUR, 2), (FUNDED, FUNDED_COLOUR, 3)):
        part = series[series["group"] == group].sort_values("period_start")
        if part.empty:
            continue
        x = part["period_start"].map(_naive)
        if group == FUNDED and {"lo", "hi"} <= set(part.columns):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=part["hi"],
                    mode="lines",
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    name=f"{group} (upper)",
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=part["lo"],
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=_rgba(colour, 0.15),
                    hoverinfo="skip",
                    showlegend=False,
                    name=f"{group} (95% range)",
                )
            )
        n = part["n_wards"] if "n_wards" in part else pd.Series([None] * len(part))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=part["value"],
                mode="lines+markers",
                name=group,
                line={"color": colour, "width": width},
                marker={"size": 4},
                customdata=n.to_numpy(),
                hovertemplate=f"{group}: %{{y:,.2f}} (%{{customdata}} wards)<extra></extra>",
            )
        )
    label = "Funding starts" + (f": {programme}" if programme else "")
    add_funding(fig, _naive(start), _naive(end), label=label)
    fig.update_layout(
        title={"text": safe_text(title)},
        yaxis_title=safe_text(y_title),
        xaxis_title=None,
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def pretrend_figure(leads: pd.DataFrame, *, y_title: str, percent: bool = False) -> go.Figure:
    """Gap between funded and comparison wards in each stretch before the money started,
    relative to the stretch just before it, with 95% intervals. Near zero = moving in step.

    Parameters
    ----------
    leads
        ``PretrendResult.leads``: ``first_period``, ``last_period``, ``estimate``, ``ci_low``,
        ``ci_high``.
    percent
        The leads are proportions (ratio outcomes): show them as percentages.
    """
    fig = go.Figure()
    if leads is not None and not leads.empty:
        k = 100.0 if percent else 1.0
        leads = leads.assign(
            estimate=leads["estimate"] * k, ci_low=leads["ci_low"] * k, ci_high=leads["ci_high"] * k
        )
        x = leads["first_period"].map(_naive)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=leads["estimate"],
                mode="markers",
                name="Gap before the start",
                marker={"color": FUNDED_COLOUR, "size": 9},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": leads["ci_high"] - leads["estimate"],
                    "arrayminus": leads["estimate"] - leads["ci_low"],
                    "color": MUTED_COLOUR,
                },
                hovertemplate="%{y:,.2f}<extra></extra>",
            )
        )
    fig.add_hline(y=0, line_dash="dot", line_color="#555555")
    fig.update_layout(
        title={"text": "Before the money: did funded wards already differ?"},
        yaxis_title=safe_text(y_title),
        yaxis_ticksuffix="%" if percent else "",
        showlegend=False,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def event_study_figure(
    events: pd.DataFrame, *, y_title: str, percent: bool = False, period: str = "month"
) -> go.Figure:
    """The event study: the effect by period relative to each ward's own start, with 95% ranges.

    Periods before the start (leads, muted) should sit near zero; periods from the start on
    (coloured) show how the effect built up. A dashed line separates them.

    Parameters
    ----------
    events
        ``StaggeredResult.event_study``: ``relative_period``, ``estimate``, ``ci_low``,
        ``ci_high``, ``n_wards``, ``lead``.
    y_title
        Plain-English axis title.
    percent
        The effects are proportions (rate outcomes): show them as percentages.
    period
        "month", "quarter" or "year", for the axis title.
    """
    fig = go.Figure()
    if events is not None and not events.empty:
        k = 100.0 if percent else 1.0
        for lead, name, colour in (
            (True, "Before the money", MUTED_COLOUR),
            (False, "With the money", FUNDED_COLOUR),
        ):
            part = events[events["lead"] == lead]
            if part.empty:
                continue
            est = part["estimate"] * k
            fig.add_trace(
                go.Scatter(
                    x=part["relative_period"],
                    y=est,
                    mode="markers",
                    name=name,
                    marker={"color": colour, "size": 8},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": part["ci_high"] * k - est,
                        "arrayminus": est - part["ci_low"] * k,
                        "color": colour,
                        "thickness": 1.2,
                    },
                    customdata=part["n_wards"].to_numpy(),
                    hovertemplate=(
                        f"{period.capitalize()} %{{x}}: %{{y:,.1f}}"
                        + ("%" if percent else "")
                        + " (%{customdata} wards)<extra></extra>"
                    ),
                )
            )
    fig.add_hline(y=0, line_dash="dot", line_color="#555555")
    fig.add_vline(x=-0.5, line_dash="dash", line_color="#555555")
    fig.update_layout(
        title={"text": "Effect by " + period + " since each ward's start"},
        xaxis_title=f"{period.capitalize()}s since the money started (0 = first {period})",
        yaxis_title=safe_text(y_title),
        yaxis_ticksuffix="%" if percent else "",
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig
