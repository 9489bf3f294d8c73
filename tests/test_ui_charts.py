"""Plotly figure builders (ui/charts.py): pure, no Streamlit runtime."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from ui.charts import (
    add_funding,
    bar_over_time,
    category_figure,
    category_styles,
    category_trend_figure,
    colour_legend,
    funnel_figure,
    nice_ticks,
    rank_figure,
    safe_text,
    trend_figure,
)

HOSTILE = "<img src=x onerror=alert(1)>"


def _frame() -> pd.DataFrame:
    months = pd.date_range("2023-04-01", periods=12, freq="MS")
    rows = []
    for code, name, base in [
        ("citywide", "Whole city", 10.0),
        ("E1", "Anfield", 12.0),
        ("E2", HOSTILE, 8.0),
        ("E3", "Everton", 9.0),
    ]:
        for i, m in enumerate(months):
            v = base + i
            rows.append(
                {
                    "ward_code": code,
                    "ward_name": name,
                    "period_start": m,
                    "cases_per_1k": v,
                    "cases_per_1k_low": v - 1,
                    "cases_per_1k_high": v + 1,
                }
            )
    return pd.DataFrame(rows)


def _named(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data if t.showlegend is not False]


def test_trend_marks_funding_start_with_a_dashed_vline_at_the_timestamp():
    fig = trend_figure(
        _frame(),
        "cases_per_1k",
        wards=["E1"],
        funding_start=pd.Timestamp("2023-10-01"),
        funding_label="Neighbourhood Pride Fund starts",
    )
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 1
    assert pd.Timestamp(lines[0].x0) == pd.Timestamp("2023-10-01")
    assert lines[0].line.dash == "dash"
    assert any("Neighbourhood Pride Fund" in a.text for a in fig.layout.annotations)


def test_funded_period_is_shaded_from_start_to_end():
    fig = trend_figure(
        _frame(),
        "cases_per_1k",
        funding_start="2023-10-01",
        funding_end="2024-01-01",
    )
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 1
    assert pd.Timestamp(rects[0].x0) == pd.Timestamp("2023-10-01")
    assert pd.Timestamp(rects[0].x1) == pd.Timestamp("2024-01-01")


def test_open_ended_funding_is_shaded_to_the_last_period():
    fig = trend_figure(_frame(), "cases_per_1k", funding_start=pd.Timestamp("2023-10-01"))
    rect = next(s for s in fig.layout.shapes if s.type == "rect")
    assert pd.Timestamp(rect.x1) == pd.Timestamp("2024-03-01")


def test_funding_date_given_as_a_tz_aware_timestamp_is_drawn_naive():
    fig = add_funding(go.Figure(), pd.Timestamp("2023-10-01", tz="Europe/London"))
    assert pd.Timestamp(fig.layout.shapes[0].x0).tzinfo is None


def test_no_funding_no_shapes():
    fig = trend_figure(_frame(), "cases_per_1k", wards=["E1"])
    assert not fig.layout.shapes


def test_trend_has_city_selected_ward_and_one_muted_comparison_legend_entry():
    fig = trend_figure(_frame(), "cases_per_1k", wards=["E1"], comparison=["E2", "E3"])
    names = _named(fig)
    assert names == ["Comparison wards", "Whole city", "Anfield"]
    comparison = [t for t in fig.data if t.name == "Comparison wards"]
    assert len(comparison) == 2
    assert all("rgba(140, 140, 140" in t.line.color for t in comparison)
    assert fig.layout.yaxis.title.text == "Cases per 1,000 residents"


def test_confidence_bands_are_drawn_when_ci_columns_are_given():
    fig = trend_figure(
        _frame(),
        "cases_per_1k",
        wards=["E1"],
        ci=("cases_per_1k_low", "cases_per_1k_high"),
    )
    bands = [t for t in fig.data if t.fill == "tonexty"]
    assert len(bands) == 2  # city and Anfield
    anfield = next(t for t in bands if t.legendgroup == "Anfield")
    assert list(anfield.y[:2]) == [11.0, 12.0]


def test_hostile_ward_and_category_names_are_escaped_for_plotly():
    fig = trend_figure(_frame(), "cases_per_1k", wards=["E2"], show_city=False)
    assert fig.data[-1].name == "&lt;img src=x onerror=alert(1)&gt;"
    cats = pd.DataFrame({"category": ["litter", HOSTILE], "cases": [5, 3]})
    bars = category_figure(cats)
    assert "<img" not in " ".join(bars.data[0].y)
    assert safe_text(HOSTILE).startswith("&lt;img")


def test_category_figure_uses_council_labels():
    fig = category_figure(pd.DataFrame({"category": ["fly_tipping", "litter"], "cases": [9, 3]}))
    assert list(fig.data[0].y) == ["Litter", "Fly-tipping"]
    assert list(fig.data[0].x) == [3, 9]


def test_funnel_keeps_stage_order():
    stages = pd.DataFrame(
        {"stage": ["Investigations", "Fixed penalty notices", "Paid"], "count": [50, 20, 12]}
    )
    fig = funnel_figure(stages)
    assert list(fig.data[0].y) == ["Investigations", "Fixed penalty notices", "Paid"]
    assert list(fig.data[0].x) == [50, 20, 12]


def test_rank_figure_highlights_the_ward_and_leaves_out_the_city():
    table = pd.DataFrame(
        {
            "ward_code": ["citywide", "E1", "E2", "E3"],
            "ward_name": ["Whole city", "A", "B", "C"],
            "cases_per_1k": [10.0, 5.0, 20.0, 1.0],
        }
    )
    fig = rank_figure(table, "cases_per_1k", highlight="E1")
    assert list(fig.data[0].x) == ["B", "A", "C"]
    colours = list(fig.data[0].marker.color)
    assert colours[1] != colours[0] and colours[0] == colours[2]


def test_bar_over_time_and_legend():
    spend = pd.DataFrame(
        {"period_start": pd.date_range("2024-04-01", periods=3, freq="MS"), "spend_gbp": [1, 2, 3]}
    )
    fig = bar_over_time(spend, "spend_gbp", funding_start="2024-05-01")
    assert list(fig.data[0].y) == [1, 2, 3]
    assert fig.layout.shapes[0].x0 == pd.Timestamp("2024-05-01")
    legend = colour_legend(0, 100, "pct_within_sla")
    assert list(legend.layout.xaxis.ticktext) == ["0%", "20%", "40%", "60%", "80%", "100%"]


def test_trend_marks_an_incomplete_last_period_with_open_circles_and_a_note():
    import datetime as dt

    fig = trend_figure(_frame(), "cases_per_1k", wards=["E1"], as_of=dt.date(2024, 3, 10))
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    points = [t for t in fig.data if t.mode == "markers"]
    assert lines and len(points) == len(lines)  # the city and the ward, each with its point
    for line, point in zip(lines, points, strict=True):
        # the line stops before March; March is an open circle of its own, not joined
        assert max(line.x) < pd.Timestamp("2024-03-01") == min(point.x)
        assert point.marker.symbol == "circle-open" and point.legendgroup == line.legendgroup
    notes = [a.text for a in fig.layout.annotations]
    assert "Mar 2024: 01 Mar to 10 Mar 2024 so far" in notes


def test_trend_with_complete_periods_has_no_open_circles():
    import datetime as dt

    fig = trend_figure(_frame(), "cases_per_1k", as_of=dt.date(2024, 3, 31))
    assert not [t for t in fig.data if t.mode == "markers"]  # no point stands apart
    assert not fig.layout.annotations


def test_trend_city_line_takes_the_label_given():
    fig = trend_figure(_frame(), "cases_per_1k", city_label="Chosen wards (total)")
    assert "Chosen wards (total)" in _named(fig)
    assert "Whole city" not in _named(fig)
    city = next(t for t in fig.data if t.name == "Chosen wards (total)")
    assert city.line.dash == "dot"  # the captions say "Dotted line"


def test_colour_legend_takes_a_title():
    assert colour_legend(1, 9, "cases", title="Hotspots").layout.title.text == "Hotspots"


def test_category_lines_can_be_told_apart_by_colour_and_dash() -> None:
    cats = [f"cat{i}" for i in range(11)]  # the demo has 11 types of case
    months = pd.date_range("2024-04-01", periods=3, freq="MS")
    frame = pd.DataFrame(
        [
            {"category": c, "period_start": m, "cases": 10 + i}
            for i, c in enumerate(cats)
            for m in months
        ]
    )
    fig = category_trend_figure(frame)
    styles = [(t.line.color, t.line.dash) for t in fig.data]
    assert len(styles) == 11 and len(set(styles)) == 11
    # the first eight are eight different colours of the colour-blind-safe palette, solid
    assert len({c for c, _ in styles[:8]}) == 8 and {d for _, d in styles[:8]} == {"solid"}
    assert category_styles(20) == list(dict.fromkeys(category_styles(20)))  # all distinct


def test_a_count_legend_over_0_to_5_reads_every_whole_number_in_order():
    # issue #17: the hexagon legend read "0 1 2 4 5" (1.25, 2.5, 3.75 rounded)
    legend = colour_legend(0, 5, "cases")
    assert list(legend.layout.xaxis.ticktext) == ["0", "1", "2", "3", "4", "5"]


@pytest.mark.parametrize(
    ("vmin", "vmax", "integer"),
    [
        (0, 5, True),
        (1, 9, True),
        (0, 47, True),
        (3, 1234567, True),
        (0.05, 0.37, False),
        (2.13, 9.71, False),
        (0, 100, False),
        (12.3, 12.9, False),
        (0, 2, True),
    ],
)
def test_nice_ticks_are_round_evenly_spaced_and_inside_the_range(vmin, vmax, integer):
    ticks = nice_ticks(vmin, vmax, 5, integer=integer)
    assert 2 <= len(ticks) <= 6
    assert all(vmin - 1e-9 <= t <= vmax + 1e-9 for t in ticks)
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1
    step = steps.pop()
    mantissa = step / 10 ** np.floor(np.log10(step))
    assert round(mantissa, 6) in (1, 2, 2.5, 5)
    if integer:
        assert all(float(t).is_integer() for t in ticks) and step >= 1


def test_count_legend_labels_are_distinct_and_whole():
    for top in range(1, 60):
        labels = list(colour_legend(0, top, "cases").layout.xaxis.ticktext)
        assert len(labels) == len(set(labels)) >= 2
        assert all("." not in label for label in labels)


_EMPTY_TREND = pd.DataFrame(
    columns=["ward_code", "ward_name", "period_start", "cases_per_1k", "cases"]
).astype({"period_start": "datetime64[ns]"})


@pytest.mark.parametrize(
    "build",
    [
        lambda: trend_figure(_EMPTY_TREND, "cases_per_1k", funding_start="2024-05-01"),
        lambda: category_figure(pd.DataFrame({"category": [], "cases": []})),
        lambda: category_trend_figure(
            pd.DataFrame({"category": [], "period_start": [], "cases": []}),
            funding_start="2024-05-01",
        ),
        lambda: rank_figure(_EMPTY_TREND, "cases_per_1k", "E1"),
        lambda: bar_over_time(
            pd.DataFrame({"period_start": [], "spend_gbp": []}),
            "spend_gbp",
            funding_start="2024-05-01",
        ),
    ],
)
def test_an_empty_chart_has_no_axes_and_says_there_is_nothing_to_draw(build):
    # issue #17: empty charts showed axes running from −1 to 4
    fig = build()
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
    assert [a.text for a in fig.layout.annotations if a.name == "no_data"]
    assert not fig.layout.shapes  # no funding line on an empty chart


def test_value_axes_never_run_below_zero():
    frame = _frame()
    frame["cases_per_1k"] = 0.0
    fig = trend_figure(frame, "cases_per_1k")
    assert fig.layout.yaxis.rangemode == "nonnegative"
    bars = category_figure(pd.DataFrame({"category": ["litter"], "cases": [0]}))
    assert bars.layout.xaxis.rangemode == "nonnegative"


def test_long_titles_wrap_to_fit_a_phone():
    from ui.charts import TITLE_LINE

    fig = trend_figure(
        _frame(), "cases_per_1k", title="Cases per 1,000 residents: this ward and the whole city"
    )
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) == 2 and all(len(line) <= TITLE_LINE for line in lines)
    assert fig.layout.margin.t > 50  # room for the second line


def test_the_funding_label_reads_into_the_chart_in_short_lines():
    # issue #17: written to the left of a line near the left edge, it was cut off at 390 px
    from ui.charts import FUNDING_LINE

    early = trend_figure(
        _frame(),
        "cases_per_1k",
        funding_start="2023-06-01",
        funding_label="Neighbourhood Pride Fund starts (01 Apr 2025)",
    )
    note = early.layout.annotations[0]
    assert note.xanchor == "left"  # text to the right of the line, inside the chart
    assert all(len(line) <= FUNDING_LINE for line in note.text.split("<br>"))
    late = trend_figure(_frame(), "cases_per_1k", funding_start="2024-02-01", funding_label="x")
    assert late.layout.annotations[0].xanchor == "right"


def test_dashboard_charts_have_no_plotly_toolbar_over_their_titles():
    from ui.charts import PLOTLY_CONFIG

    assert PLOTLY_CONFIG["displayModeBar"] is False
