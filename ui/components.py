"""Small Streamlit drawing helpers shared by the dashboard pages (KPI row, tables, freshness).

Data strings are only ever drawn through ``st.metric`` labels we write ourselves,
``st.dataframe`` cells, ``st.text`` or Plotly/pydeck text: never ``unsafe_allow_html`` and never
Markdown built from data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from neighbourhood.export import to_csv_bytes
from ui import charts, disclosure
from ui.data import Freshness, Kpi
from ui.format import (
    MISSING,
    MISSING_LEGEND,
    display_frame,
    has_missing,
    metric_label,
    metric_value,
    uk_date,
    uk_datetime,
)

#: The figures in the ward map's detail panel.
DETAIL_METRICS = ("cases", "cases_per_1k", "median_days_to_close", "pct_within_sla", "spend_gbp")


def kpi_row(kpis: Sequence[Kpi]) -> None:
    """KPI cards with deltas and a small trend line, in one horizontal row."""
    with st.container(horizontal=True):
        for k in kpis:
            st.metric(
                k.label,
                k.text,
                delta=k.delta,
                delta_color=k.delta_color,
                delta_arrow=k.delta_arrow,
                help=k.help,
                border=True,
                chart_data=list(k.spark) if len(k.spark) > 1 else None,
                chart_type="line",
            )


def dataframe(frame: pd.DataFrame, *, legend: str | None = MISSING_LEGEND, **kwargs: Any) -> None:
    """``st.dataframe`` as every table in the app draws it: missing cells read "–" (never
    "None", "nan" or "NaT") and, when there are any, a caption says what "–" means.

    ``legend=None`` leaves the caption out (the page explains the blanks itself).
    """
    shown = display_frame(frame)
    st.dataframe(shown, placeholder=MISSING, **kwargs)
    if legend and has_missing(shown):
        st.caption(legend)


def table(
    frame: pd.DataFrame,
    columns: Mapping[str, Any],
    *,
    file_name: str,
    key: str,
    height: int | str = "auto",
    legend: str | None = MISSING_LEGEND,
    empty: str | None = None,
) -> None:
    """A sortable table (only ``columns``, in that order) with a formula-safe CSV download.

    ``columns`` maps a frame column to its ``st.column_config`` entry (or a plain label).
    Missing cells read "–", explained by ``legend`` under the table. A table with no rows is
    not drawn (Streamlit would show the bare word "empty"): ``empty`` says why there is none.
    A download that holds enforcement figures (already protected, as the table shows them)
    ends with a "Disclosure" column saying what was hidden and why.
    """
    shown = frame[[c for c in columns if c in frame.columns]]
    if shown.empty and empty:
        st.info(empty, icon=":material/info:")
        return
    dataframe(
        shown,
        legend=legend,
        hide_index=True,
        column_config=dict(columns),
        height=height,
        key=f"{key}_table",
    )
    labels = {c: _label(v, c) for c, v in columns.items() if c in shown.columns}
    export = shown.rename(columns=labels)
    if disclosure.PROTECTED & set(shown.columns) or "suppressed" in frame.columns:
        export = export.assign(Disclosure=disclosure.note())
    st.download_button(
        "Download as CSV",
        to_csv_bytes(export),
        file_name=file_name,
        mime="text/csv",
        key=f"{key}_csv",
        icon=":material/download:",
        on_click="ignore",
    )


def _label(config: Any, column: str) -> str:
    if isinstance(config, str):
        return config
    if isinstance(config, Mapping) and config.get("label"):
        return str(config["label"])
    return column


def freshness(fresh: Freshness) -> None:
    """ "Latest case reported … · last data load …" as a caption (file name shown as text)."""
    latest = uk_date(fresh.latest_case) if fresh.latest_case is not None else "no cases yet"
    loaded = uk_datetime(fresh.last_ingest) if fresh.last_ingest is not None else "never"
    st.caption(f"Latest case reported: {latest} · Last data load: {loaded}")
    if fresh.last_file:
        st.text(f"Last file loaded: {fresh.last_file}")


def no_data() -> None:
    """What a page shows when the store holds no cases yet."""
    st.info(
        "No street-cleansing cases have been loaded yet. An analyst can load an extract on the "
        "Load data page.",
        icon=":material/info:",
    )
    st.stop()


def ward_detail(row: pd.Series | None) -> None:
    """The ward map's detail panel: one metric card per figure, or a hint when no ward is chosen."""
    if row is None:
        st.caption("Click a ward on the map, or choose one above, to see its figures.")
        return
    for m in DETAIL_METRICS:
        st.metric(metric_label(m), metric_value(m, row[m]))


def map_legend(shapes: pd.DataFrame, metric: str, key: str) -> None:
    """The colour legend under a ward map (grey wards explained, hidden counts included)."""
    values = shapes["value"].astype("float64")
    missing = "no data"
    if disclosure.is_protected(metric):
        missing = f"{disclosure.small_text()} or no data"
    st.plotly_chart(
        charts.colour_legend(
            values.min(), values.max(), metric, bool(values.isna().any()), missing_label=missing
        ),
        key=key,
        config={"displayModeBar": False},
    )


def hex_legend(hexes: pd.DataFrame, key: str) -> None:
    """The colour legend for hotspot hexagons (cases in each hexagon)."""
    values = pd.to_numeric(hexes["cases"]).astype("float64") if len(hexes) else pd.Series([0.0])
    st.plotly_chart(
        charts.colour_legend(
            values.min(), values.max(), "cases", title="Hotspots: cases in each small hexagon"
        ),
        key=key,
        config={"displayModeBar": False},
    )


def enforcement(funnel: pd.DataFrame, key: str) -> None:
    """The ward's enforcement stages: a funnel chart unless a stage is hidden, then the table."""
    from ui import columns

    if funnel["suppressed"].any() or not funnel["count"].any():
        st.caption(disclosure.note() + " No chart is drawn, so the hidden numbers stay hidden.")
    else:
        st.plotly_chart(
            charts.funnel_figure(funnel[["stage", "count"]]),
            key=f"{key}_funnel",
            config=charts.PLOTLY_CONFIG,
        )
    table(funnel, columns.enforcement_funnel(), file_name="enforcement.csv", key=key)
