"""Load data: preview an extract, correct what was detected, then load it on request."""

import streamlit as st

from ui import checklist, stores, upload
from ui.auth import require_analyst
from ui.nav import sidebar_nav

st.set_page_config(page_title="Load data", page_icon=":material/upload:", layout="wide")
sidebar_nav()
st.title("Load data")
visitor = require_analyst("load data")

max_mb = st.get_option("server.maxUploadSize")
st.caption(
    "Choose what you are loading and add the files. Each file is checked first and nothing is "
    f"loaded until you press **Load**. Files up to {max_mb:,} MB; for bigger extracts use the "
    "command line (`python -m neighbourhood ingest`). Every load is listed on the Ingest log page."
)

stores.where_loads_go()
next_step = checklist.show(stores.council())

kind = st.selectbox(
    "What are you loading?",
    list(upload.KIND_LABELS),
    index=checklist.kind_index(list(upload.KIND_LABELS), next_step),
    format_func=upload.KIND_LABELS.get,
    key="upload_kind",
)
files = st.file_uploader(
    "Files (CSV, CSV.GZ or Excel; boundaries as GeoJSON, GeoPackage or zipped Shapefile)",
    type=upload.allowed_types(kind),
    accept_multiple_files=True,
    key="upload_files",
)

if files and upload.wards_missing(kind):
    st.warning(upload.NO_WARDS_HINT, icon=":material/map:")
upload.remap_panel(visitor.actor)
options = upload.previews(files or [], kind)
loadable = [f for f in files or [] if options[f.file_id] is not None]
if files and len(loadable) < len(files):
    st.warning(upload.refused_note(len(files) - len(loadable), kind))

if files:
    waiting = upload.pending(loadable, kind, options)
    pressed = st.button(
        upload.load_button_label(len(waiting), len(loadable) - len(waiting)),
        type="primary",
        disabled=not waiting,
        key="upload_load",
        icon=":material/upload:",
    )
    if pressed:
        outcomes = upload.load_files(waiting, kind, options, visitor.actor)
        st.session_state["upload_outcomes"] = outcomes
        upload.remember_loaded(waiting, kind, options, outcomes)
        st.rerun()  # the previews and the button then show what was loaded

outcomes = st.session_state.get("upload_outcomes") or []
if outcomes:
    st.header("Last load")
    for i, outcome in enumerate(outcomes):
        with st.container(border=True):
            upload.show_outcome(outcome, i)
