"""Figure builders for the Spend vs results page (ui/spend_charts.py), without Streamlit."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from ui.charts import MUTED_COLOUR
from ui.spend_charts import (
    COMPARISON,
    FUNDED,
    FUNDED_COLOUR,
    funded_vs_comparison_figure,
    pretrend_figure,
)


def _series() -> pd.DataFrame:
    periods = pd.date_range("2023-01-01", periods=6, freq="MS")
    rows = []
    for group, base in ((FUNDED, 10.0), (COMPARISON, 8.0)):
        for i, p in enumerate(periods):
            rows.append(
                {
                    "period_start": p,
                    "group": group,
                    "value": base + i,
                    "lo": base + i - 1,
                    "hi": base + i + 1,
                    "n_wards": 4 if group == FUNDED else 12,
                }
            )
    return pd.DataFrame(rows)


def _fig(**kw) -> go.Figure:
    args = {"start": "2023-04-01", "y_title": "Cases per 1,000 residents"}
    args.update(kw)
    return funded_vs_comparison_figure(_series(), **args)


def test_vline_at_funding_start_as_timestamp() -> None:
    fig = _fig()
    vlines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(vlines) == 1
    assert pd.Timestamp(vlines[0].x0) == pd.Timestamp("2023-04-01")
    assert vlines[0].line.dash == "dash"


def test_funded_period_shaded_from_start_to_end() -> None:
    fig = _fig(end=pd.Timestamp("2023-06-01"))
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 1
    assert pd.Timestamp(rects[0].x0) == pd.Timestamp("2023-04-01")
    assert pd.Timestamp(rects[0].x1) == pd.Timestamp("2023-06-01")


def test_tz_aware_start_is_accepted() -> None:
    fig = _fig(start=pd.Timestamp("2023-04-01", tz="Europe/London"))
    vline = [s for s in fig.layout.shapes if s.type == "line"][0]
    assert pd.Timestamp(vline.x0) == pd.Timestamp("2023-04-01")


def test_comparison_is_muted_and_funded_coloured() -> None:
    fig = _fig()
    named = {t.name: t for t in fig.data if t.showlegend is not False}
    assert set(named) == {FUNDED, COMPARISON}
    assert named[COMPARISON].line.color == MUTED_COLOUR
    assert named[FUNDED].line.color == FUNDED_COLOUR
    assert named[FUNDED].line.width > named[COMPARISON].line.width


def test_funded_band_present() -> None:
    fig = _fig()
    assert any(t.fill == "tonexty" for t in fig.data)


def test_axis_title_plain_and_programme_escaped_in_annotation() -> None:
    fig = _fig(programme="<b>Pride</b>")
    assert fig.layout.yaxis.title.text == "Cases per 1,000 residents"
    texts = [a.text for a in fig.layout.annotations]
    assert any("&lt;b&gt;Pride" in t for t in texts)
    assert not any("<b>" in t for t in texts)


def test_empty_series_still_builds() -> None:
    empty = _series().iloc[0:0]
    fig = funded_vs_comparison_figure(empty, start="2023-04-01", y_title="x")
    assert isinstance(fig, go.Figure)


def test_pretrend_figure_percent_scaling_and_zero_line() -> None:
    leads = pd.DataFrame(
        {
            "first_period": pd.to_datetime(["2022-01-01", "2022-07-01"]),
            "last_period": pd.to_datetime(["2022-06-01", "2022-12-01"]),
            "estimate": [0.02, -0.01],
            "ci_low": [-0.05, -0.08],
            "ci_high": [0.09, 0.06],
        }
    )
    fig = pretrend_figure(leads, y_title="Gap (%)", percent=True)
    assert list(fig.data[0].y) == [2.0, -1.0]
    assert list(fig.data[0].error_y.array) == [7.0, 7.0]
    assert any(s.type == "line" and s.y0 == 0 for s in fig.layout.shapes)
    assert fig.layout.yaxis.ticksuffix == "%"


def test_event_study_figure_leads_muted_and_start_marked() -> None:
    from ui.spend_charts import event_study_figure

    events = pd.DataFrame(
        {
            "relative_period": [-2, -1, 0, 1],
            "estimate": [0.01, -0.02, -0.10, -0.15],
            "ci_low": [-0.05, -0.08, -0.16, -0.22],
            "ci_high": [0.07, 0.04, -0.04, -0.08],
            "n_wards": [8, 8, 8, 8],
            "lead": [True, True, False, False],
        }
    )
    fig = event_study_figure(events, y_title="Reports", percent=True)
    before, after = fig.data
    assert list(before.x) == [-2, -1] and list(after.x) == [0, 1]
    assert list(after.y) == pytest.approx([-10.0, -15.0])
    assert list(after.error_y.arrayminus) == pytest.approx([6.0, 7.0])
    assert before.marker.color != after.marker.color
    assert any(s.x0 == -0.5 for s in fig.layout.shapes)  # the start, between −1 and 0
    assert fig.layout.yaxis.ticksuffix == "%"
