"""Ingest log: every load, who made it and what it changed; analysts can undo a load."""

import streamlit as st

from neighbourhood.export import to_csv_bytes
from ui import components, upload
from ui.auth import current_visitor, writer
from ui.nav import sidebar_nav

st.set_page_config(page_title="Ingest log", page_icon=":material/history:", layout="wide")
sidebar_nav()
st.title("Ingest log")
current_visitor()
st.caption(
    "Every file loaded into the dashboard, newest first: when, by whom, which file (with its "
    "SHA-256 fingerprint) and how many rows it added or changed."
)

mismatch = upload.active_ward_mismatch()  # stored rows the ward boundaries in use do not place
if mismatch:
    st.warning(mismatch, icon=":material/warning:")

table = upload.log_table(upload.ingest_log())
if table.empty:
    st.info("Nothing has been loaded yet.")
    st.stop()

components.dataframe(
    table,
    hide_index=True,
    column_order=list(upload.LOG_COLUMNS),
    column_config=upload.log_column_config(),
)
st.download_button(
    "Download the log as CSV",
    data=to_csv_bytes(upload.log_for_csv(table)),
    file_name="ingest-log.csv",
    mime="text/csv",
    on_click="ignore",
    key="log_download",
)

st.header("Undo a load")
visitor = writer("undo a load")
if visitor is not None:
    choices = upload.undo_choices(table)
    if not choices:
        st.caption("There is no load that can be undone.")
    else:
        st.caption("Only the newest load of each kind can be undone: undo newer ones first.")
        ingest_id = st.selectbox(
            "Load to undo", list(choices), format_func=choices.get, key="undo_choice"
        )
        st.warning(
            "Undoing removes the rows this load added and puts back the versions it replaced. "
            "It is recorded in this log."
        )
        sure = st.checkbox("Yes, I want to undo this load", key="undo_confirm")
        st.button(
            "Undo this load",
            type="primary",
            disabled=not sure,
            key="undo_button",
            on_click=upload.undo_load,
            args=(ingest_id, visitor.actor),
        )
upload.show_undo_message()
