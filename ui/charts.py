"""Plotly figure builders for the dashboard (pure: no Streamlit, every one returns ``go.Figure``).

Inputs are tidy frames from ``ui.data``: one row per ward (or ``citywide``) and period, with a
``period_start`` timestamp column and the metric columns named in DESIGN.md. Text that comes from
data (ward names, category labels) is HTML-escaped before it reaches Plotly, which otherwise
interprets a small set of tags in trace names and labels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from neighbourhood.schemas import CITYWIDE
from ui import SEQUENTIAL_SCALE, text
from ui.format import (
    category_label,
    is_complete,
    is_missing,
    metric_kind,
    metric_label,
    metric_value,
    period_label,
    so_far_text,
)

CITY_COLOUR = "#222222"
MUTED_COLOUR = "rgba(140, 140, 140, 0.55)"
FUNDED_FILL = "rgba(225, 204, 85, 0.18)"  # a pale tint of the scale's yellow end


#: ``st.plotly_chart(config=PLOTLY_CONFIG)`` on every dashboard chart: no Plotly toolbar (on a
#: phone a tap shows it, over the chart's title); the data are in the table beside each chart.
PLOTLY_CONFIG: dict[str, Any] = {"displayModeBar": False, "responsive": True}

#: Characters on one line of a chart title: about 320 px at Plotly's title size, the
#: width of a chart on a 390 px phone.
TITLE_LINE = 44
#: Characters on one line of the funding label beside its dashed line.
FUNDING_LINE = 24


def wrap_text(text: str, width: int = TITLE_LINE) -> str:
    """Break a chart title or note into lines of at most ``width`` characters (``<br>``):
    Plotly does not wrap text, and a long title was cut off on a phone.

    Examples
    --------
    >>> wrap_text("Cases per 1,000 residents: this ward and the whole city")
    'Cases per 1,000 residents: this ward and the<br>whole city'
    """
    import textwrap

    return "<br>".join(textwrap.wrap(text, width, break_long_words=False)) or text


def safe_text(value: Any) -> str:
    """Data text made inert for Plotly: ``<img src=x>`` displays literally, never as markup
    (:func:`ui.text.plotly`, the one escaping rule)."""
    return text.plotly(value)


def line_colours(n: int) -> list[str]:
    """``n`` distinct colours from the shared sequential scale, avoiding its palest end."""
    if n <= 0:
        return []
    if n == 1:
        return sample_colorscale(SEQUENTIAL_SCALE, [0.0])
    return sample_colorscale(SEQUENTIAL_SCALE, [0.8 * i / (n - 1) for i in range(n)])


#: Okabe & Ito's colour-blind-safe qualitative palette, for categories (no order between
#: them, so not the sequential scale); the pale yellow last, as it is weak on white.
CATEGORY_COLOURS: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
_DASHES: tuple[str, ...] = ("solid", "dash", "dot", "dashdot")


def category_styles(n: int) -> list[tuple[str, str]]:
    """``n`` distinct (colour, dash) pairs for category lines: colours first, then dashes.

    Examples
    --------
    >>> category_styles(2)
    [('#0072B2', 'solid'), ('#E69F00', 'solid')]
    >>> category_styles(9)[-1]
    ('#0072B2', 'dash')
    """
    k = len(CATEGORY_COLOURS)
    return [(CATEGORY_COLOURS[i % k], _DASHES[(i // k) % len(_DASHES)]) for i in range(n)]


def _rgba(colour: str, alpha: float) -> str:
    """``"rgb(1, 2, 3)"`` or ``"#010203"`` → ``"rgba(1, 2, 3, alpha)"``."""
    if colour.startswith("#"):
        r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgba({r}, {g}, {b}, {alpha})"
    inner = colour[colour.index("(") + 1 : colour.index(")")]
    parts = [p.strip() for p in inner.split(",")][:3]
    return f"rgba({', '.join(parts)}, {alpha})"


def has_points(fig: go.Figure) -> bool:
    """Whether any trace of the figure has a value to draw."""
    for trace in fig.data:
        for axis in ("x", "y"):
            values = getattr(trace, axis, None)
            if values is not None and any(not is_missing(v) for v in values):
                return True
    return False


NO_DATA_TEXT = "No data to draw for the choices made"


def _layout(
    fig: go.Figure,
    title: str,
    y_title: str,
    x_title: str | None = None,
    *,
    empty: str = NO_DATA_TEXT,
) -> go.Figure:
    """Shared layout. Value axes never run below zero (every figure here is a count, rate,
    share or amount), and a figure with nothing to draw has no axes at all, only ``empty``
    (Plotly's empty axes ran from −1 to 4)."""
    # Titles may hold a ward name (the chosen ward, a programme): escaped like every label,
    # then wrapped (textwrap breaks only at spaces, never inside an entity).
    text = wrap_text(safe_text(title))
    lines = text.count("<br>") + 1
    fig.update_layout(
        title={"text": text},
        yaxis_title=safe_text(y_title),
        xaxis_title=None if x_title is None else safe_text(x_title),
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        margin={"l": 10, "r": 10, "t": 50 + 22 * (lines - 1), "b": 10},
    )
    fig.update_yaxes(rangemode="nonnegative")
    if not has_points(fig):
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        fig.add_annotation(
            text=safe_text(empty),
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            showarrow=False,
            name="no_data",
            font={"size": 14, "color": "#555555"},
        )
    return fig


def add_funding(
    fig: go.Figure,
    start: Any,
    end: Any = None,
    label: str = "Funding starts",
) -> go.Figure:
    """Mark a funding start with a dashed vertical line and shade the funded period.

    ``start``/``end`` become ``pd.Timestamp`` (Plotly mis-handles ``datetime.date`` with
    annotations). With no ``end`` the shading runs to the right edge of the data.
    """
    if start is None or pd.isna(start):
        return fig
    if any(a.name == "no_data" for a in fig.layout.annotations):
        return fig  # a chart with nothing to draw gets no funding line either
    x0 = (
        pd.Timestamp(start).tz_localize(None) if pd.Timestamp(start).tzinfo else pd.Timestamp(start)
    )
    xs = [x for trace in fig.data for x in (trace.x if trace.x is not None else ())]
    stamps = [pd.Timestamp(x) for x in xs if not pd.isna(x)]
    stamps = [t.tz_localize(None) if t.tzinfo else t for t in stamps]
    # The label reads into the chart, on the side of the line with more room (written to the
    # left of a line near the left edge, it was cut off on a phone), in short lines.
    first, last = (min(stamps), max(stamps)) if stamps else (x0, x0)
    room_right = (last - x0) >= (x0 - first)
    fig.add_vline(
        x=x0,
        line_dash="dash",
        line_color=CITY_COLOUR,
        line_width=1.5,
        annotation_text=wrap_text(safe_text(label), FUNDING_LINE),
        annotation_position="top right" if room_right else "top left",
        annotation_align="left" if room_right else "right",
        annotation_font_size=11,
    )
    if end is None or pd.isna(end):
        x1 = last if stamps else x0
    else:
        x1 = pd.Timestamp(end)
    if x1 > x0:
        fig.add_vrect(x0=x0, x1=x1, fillcolor=FUNDED_FILL, line_width=0, layer="below")
    return fig


def _band(
    fig: go.Figure, x: pd.Series, low: pd.Series, high: pd.Series, colour: str, name: str
) -> None:
    """A shaded confidence band between ``low`` and ``high`` (two traces, filled between)."""
    fig.add_trace(
        go.Scatter(
            x=x,
            y=high,
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
            legendgroup=name,
            name=f"{name} (upper)",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=low,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=_rgba(colour, 0.18),
            hoverinfo="skip",
            showlegend=False,
            legendgroup=name,
            name=f"{name} (95% range)",
        )
    )


def trend_figure(
    frame: pd.DataFrame,
    metric: str,
    *,
    wards: Sequence[str] = (),
    comparison: Sequence[str] = (),
    show_city: bool = True,
    ci: tuple[str, str] | None = None,
    funding_start: Any = None,
    funding_end: Any = None,
    funding_label: str = "Funding starts",
    period: str = "month",
    title: str | None = None,
    city_label: str = "Whole city",
    as_of: dt.date | None = None,
) -> go.Figure:
    """Line chart of one metric over time: chosen wards, muted comparison wards, the city.

    Parameters
    ----------
    frame
        Ward × period rows with ``ward_code``, ``ward_name``, ``period_start`` and ``metric``
        (the city total has ``ward_code == "citywide"``).
    wards, comparison
        Ward codes drawn in colour, and ward codes drawn as thin grey lines.
    ci
        Names of the lower and upper confidence-limit columns, drawn as shaded bands.
    funding_start, funding_end
        Marked with a dashed line and a shaded funded period.
    city_label
        Legend name of the ``citywide`` rows (the total of the chosen wards when the table was
        filtered by ward).
    as_of
        The data date: when the last period ends after it, its points are open circles and a
        note above the chart says the period is not over.
    """
    fig = go.Figure()
    rows = frame.sort_values("period_start")
    has_ci = ci is not None and all(c in rows.columns for c in ci)
    last = rows["period_start"].max() if len(rows) else None
    partial = None
    if as_of is not None and last is not None and not is_complete(last, period, as_of):
        partial = pd.Timestamp(last)

    for i, code in enumerate(comparison):
        part = rows[rows["ward_code"] == code]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["period_start"],
                y=part[metric],
                mode="lines",
                name="Comparison wards",
                legendgroup="comparison",
                showlegend=i == 0,
                line={"color": MUTED_COLOUR, "width": 1},
                hovertext=[safe_text(n) for n in part["ward_name"]],
                hovertemplate="%{hovertext}: %{y:,.1f}<extra></extra>",
            )
        )

    series: list[tuple[str, pd.DataFrame, str, dict[str, Any]]] = []
    if show_city:
        series.append(
            (
                safe_text(city_label),
                rows[rows["ward_code"] == CITYWIDE],
                CITY_COLOUR,
                {"dash": "dot"},
            )
        )
    colours = line_colours(len(wards))
    for code, colour in zip(wards, colours, strict=True):
        part = rows[rows["ward_code"] == code]
        name = str(part["ward_name"].iloc[0]) if not part.empty else str(code)
        series.append((safe_text(name), part, colour, {}))

    for name, part, colour, style in series:
        if part.empty:
            continue
        # The period not over yet stands apart: an open circle the line does not reach, so
        # half a year's cases never read as a fall against the whole years before it.
        open_last = np.array(
            [partial is not None and pd.Timestamp(x) == partial for x in part["period_start"]],
            dtype=bool,
        )
        whole, tail = part[~open_last], part[open_last]
        if has_ci and len(whole):
            _band(fig, whole["period_start"], whole[ci[0]], whole[ci[1]], colour, name)
        if len(whole):
            fig.add_trace(
                go.Scatter(
                    x=whole["period_start"],
                    y=whole[metric],
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    line={"color": colour, "width": 2.5, **style},
                    marker={"size": 4},
                    hovertemplate=f"{name}: %{{y:,.1f}}<extra></extra>",
                )
            )
        if len(tail):
            fig.add_trace(
                go.Scatter(
                    x=tail["period_start"],
                    y=tail[metric],
                    mode="markers",
                    name=f"{name} (not over yet)",
                    legendgroup=name,
                    showlegend=not len(whole),
                    marker={"size": 9, "symbol": "circle-open", "color": colour},
                    hovertemplate=f"{name}, so far: %{{y:,.1f}}<extra></extra>",
                )
            )

    fig = _layout(fig, title or metric_label(metric), metric_label(metric))
    fig.update_xaxes(title=None, tickformat="%b %Y" if period == "month" else None)
    if partial is not None:
        fig.add_annotation(
            x=partial,
            y=1,
            yref="paper",
            yanchor="bottom",
            xanchor="right",
            showarrow=False,
            text=f"{period_label(partial, period)}: {so_far_text(partial, period, as_of)}",
            name="incomplete",
            font={"size": 11, "color": "#555555"},
        )
    return add_funding(fig, funding_start, funding_end, funding_label)


def category_figure(
    frame: pd.DataFrame, value: str = "cases", title: str | None = None
) -> go.Figure:
    """Horizontal bars of a value by category (``category`` column holds canonical codes)."""
    rows = frame.sort_values(value)
    labels = [safe_text(category_label(c)) for c in rows["category"]]
    fig = go.Figure(
        go.Bar(
            x=rows[value],
            y=labels,
            orientation="h",
            marker_color=sample_colorscale(SEQUENTIAL_SCALE, [0.25])[0],
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    fig = _layout(fig, title or "Cases by category", "", metric_label(value))
    fig.update_xaxes(rangemode="nonnegative")
    fig.update_layout(hovermode="closest", height=max(260, 34 * len(rows) + 80))
    return fig


def category_trend_figure(
    frame: pd.DataFrame,
    value: str = "cases",
    *,
    funding_start: Any = None,
    funding_label: str = "Funding starts",
    title: str | None = None,
) -> go.Figure:
    """One line per category over time (``category``, ``period_start``, ``value`` columns)."""
    fig = go.Figure()
    cats = list(frame.groupby("category")[value].sum().sort_values(ascending=False).index)
    for cat, (colour, dash) in zip(cats, category_styles(len(cats)), strict=True):
        part = frame[frame["category"] == cat].sort_values("period_start")
        name = safe_text(category_label(cat))
        fig.add_trace(
            go.Scatter(
                x=part["period_start"],
                y=part[value],
                mode="lines",
                name=name,
                line={"color": colour, "width": 2, "dash": dash},
                hovertemplate=f"{name}: %{{y:,}}<extra></extra>",
            )
        )
    fig = _layout(fig, title or "Cases by category", metric_label(value))
    fig.update_xaxes(title=None)
    return add_funding(fig, funding_start, None, funding_label)


def funnel_figure(stages: pd.DataFrame, title: str = "Enforcement funnel") -> go.Figure:
    """Funnel of enforcement stages (``stage`` label and ``count`` columns, in order)."""
    fig = go.Figure(
        go.Funnel(
            y=[safe_text(s) for s in stages["stage"]],
            x=stages["count"],
            marker={"color": line_colours(len(stages))},
            textinfo="value+percent initial",
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    fig = _layout(fig, title, "")
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig


def rank_figure(
    frame: pd.DataFrame, metric: str, highlight: str, title: str | None = None
) -> go.Figure:
    """Every ward's value of one metric as sorted bars, the chosen ward highlighted."""
    rows = frame[frame["ward_code"] != CITYWIDE].sort_values(metric, ascending=False)
    colours = [
        sample_colorscale(SEQUENTIAL_SCALE, [0.0])[0] if c == highlight else MUTED_COLOUR
        for c in rows["ward_code"]
    ]
    names = [safe_text(n) for n in rows["ward_name"]]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=rows[metric],
            marker_color=colours,
            hovertemplate="%{x}: %{y:,.1f}<extra></extra>",
        )
    )
    fig = _layout(fig, title or f"{metric_label(metric)}: all wards", metric_label(metric))
    fig.update_layout(hovermode="closest", showlegend=False)
    fig.update_xaxes(showticklabels=False, title="Wards, highest first")
    return fig


def bar_over_time(
    frame: pd.DataFrame,
    value: str,
    *,
    period: str = "month",
    funding_start: Any = None,
    funding_label: str = "Funding starts",
    title: str | None = None,
) -> go.Figure:
    """Bars of one value per period (e.g. spend), with the funding start marked."""
    rows = frame.sort_values("period_start")
    fig = go.Figure(
        go.Bar(
            x=rows["period_start"],
            y=rows[value],
            marker_color=sample_colorscale(SEQUENTIAL_SCALE, [0.25])[0],
            hovertext=[period_label(p, period) for p in rows["period_start"]],
            hovertemplate="%{hovertext}: %{y:,.0f}<extra></extra>",
        )
    )
    fig = _layout(fig, title or metric_label(value), metric_label(value))
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(title=None)
    return add_funding(fig, funding_start, None, funding_label)


def nice_ticks(vmin: float, vmax: float, target: int = 5, *, integer: bool = False) -> list[float]:
    """Evenly spaced, round tick values inside ``[vmin, vmax]`` (steps of 1, 2, 2.5 or 5 × 10^k).

    ``integer=True`` (counts) keeps the step a whole number, so a legend over 0–5 cases reads
    "0 1 2 3 4 5", never "0 1 2 4 5" (labels of 1.25, 2.5 and 3.75 rounded).

    Examples
    --------
    >>> nice_ticks(0, 5, integer=True)
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> nice_ticks(0, 100)
    [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    >>> nice_ticks(3.2, 17.9)
    [5.0, 7.5, 10.0, 12.5, 15.0, 17.5]
    """
    if pd.isna(vmin) or pd.isna(vmax):
        return []
    lo, hi = float(min(vmin, vmax)), float(max(vmin, vmax))
    if hi - lo <= 0:
        return [lo]
    # the smallest round step that gives at most ``target + 1`` ticks
    magnitude = 10 ** np.floor(np.log10((hi - lo) / max(target, 1))) / 10
    step = magnitude
    for _ in range(40):
        for m in (1, 2, 2.5, 5):
            step = m * magnitude
            if integer and (step < 1 or step != int(step)):
                continue
            if np.floor(hi / step + 1e-9) - np.ceil(lo / step - 1e-9) + 1 <= target + 1:
                break
        else:
            magnitude *= 10
            continue
        break
    first = np.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(float(round(value, 10)) + 0.0)
        value += step
    return ticks


def colour_legend(
    vmin: float,
    vmax: float,
    metric: str,
    missing: bool = False,
    steps: int = 5,
    missing_label: str = "no data",
    title: str | None = None,
) -> go.Figure:
    """A slim horizontal legend for the map's colour scale, labelled with formatted values.

    ``title`` replaces the metric's label as the legend's heading. Ticks are round values
    (:func:`nice_ticks`; whole numbers for counts), each label different from the next.

    The bottom margin leaves room for the tick labels (they were cut off at 10 px).
    """
    if pd.isna(vmin) or pd.isna(vmax):
        vmin, vmax = 0.0, 1.0
    span = vmax - vmin if vmax > vmin else 1.0
    ticks, labels = [], []
    candidates = (
        nice_ticks(vmin, vmax, steps, integer=metric_kind(metric) in ("count", "gbp"))
        if vmax > vmin
        else [vmin]
    )
    for t in candidates:
        label = metric_value(metric, t)
        if label not in labels:
            ticks.append(t)
            labels.append(label)
    grid = [[vmin + span * i / 99 for i in range(100)]]
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            x=[vmin + span * i / 99 for i in range(100)],
            colorscale=SEQUENTIAL_SCALE,
            showscale=False,
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        height=120,
        margin={"l": 16, "r": 16, "t": 32, "b": 44},
        title={
            "text": (title or metric_label(metric))
            + (f" (grey: {missing_label})" if missing else ""),
            "x": 0,
        },
    )
    fig.update_xaxes(
        tickvals=ticks,
        ticktext=labels,
        ticks="outside",
        automargin=True,
    )
    fig.update_yaxes(visible=False)
    return fig
