"""Which store the pages read: the council's own, or the synthetic demo's (never both in one).

Two store folders (docs/architecture.md, "The demo store"):

- the **council's store**, ``$NEIGHBOURHOOD_STORE`` or ``data/store/``: everything loaded on the
  Load data page (or by ``python -m neighbourhood ingest``) goes there, and the first accepted
  file creates it;
- the **demo store**, ``$NEIGHBOURHOOD_DEMO_STORE`` or ``data/demo-store/``: the synthetic demo,
  built there when a visitor first asks for it.

The pages read the council's store as soon as it holds a load. Until then each visitor (session)
chooses: explore the demo, or start with the council's own data (:func:`first_run_choice`),
and can switch between the two from the sidebar (:func:`demo_switch`). Whether the store in use
is the demo is read from the store itself (:meth:`Store.kind`), never from folder names.
"""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path
from typing import Final

import streamlit as st

from neighbourhood.store import DEMO, Store, council_store_path, demo_store_path

#: Session key of the visitor's choice while the council's store holds nothing: "demo" or "own".
CHOICE_KEY: Final[str] = "neighbourhood_data_choice"
DEMO_CHOICE: Final[str] = "demo"
OWN_CHOICE: Final[str] = "own"
UPLOAD_PAGE: Final[str] = "pages/4_Upload.py"

_BUILD_LOCK = threading.Lock()
_HAS_DATA: dict[tuple, bool] = {}


def council() -> Store:
    """The council's store (``NEIGHBOURHOOD_STORE`` or ``data/store``), where loads go."""
    return Store(council_store_path())


def demo() -> Store:
    """The demo's own store (``NEIGHBOURHOOD_DEMO_STORE`` or ``data/demo-store``)."""
    return Store(demo_store_path())


def _stamp(store: Store) -> tuple:
    paths = (store.db_path, Path(str(store.db_path) + ".wal"))
    stats = tuple((p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else None for p in paths)
    return (str(store.path.resolve()), stats)


def holds_data(store: Store) -> bool:
    """Whether ``store`` holds any committed load (remembered against its file's size and time)."""
    if not store.exists():
        return False
    key = _stamp(store)
    if key not in _HAS_DATA:
        if len(_HAS_DATA) > 32:
            _HAS_DATA.clear()
        _HAS_DATA[key] = store.revision() != ""
    return _HAS_DATA[key]


def choice() -> str | None:
    """The visitor's choice while the council's store is empty (``None`` outside a session)."""
    try:
        value = st.session_state.get(CHOICE_KEY)
    except Exception:  # no Streamlit session (a unit test calling the helpers directly)
        return None
    return value if value in (DEMO_CHOICE, OWN_CHOICE) else None


def choose(value: str) -> None:
    """Remember the visitor's choice (``"demo"`` or ``"own"``) for the rest of the session."""
    st.session_state[CHOICE_KEY] = value


def council_in_use() -> bool:
    """Whether the council's store holds data, so every visitor sees it (no choice left)."""
    return holds_data(council())


def in_use() -> Store:
    """The store the pages read: the council's once it holds a load, else the demo's when the
    visitor chose it, else the (empty) council's."""
    own = council()
    if holds_data(own):
        return own
    if choice() == DEMO_CHOICE:
        return demo()
    return own


def showing_demo() -> bool:
    """Whether the store in use is marked as the demo (the marker inside it)."""
    store = in_use()
    try:
        return store.exists() and store.kind() == DEMO
    except Exception:  # a store that cannot be read says so where it is read, not here
        return False


def ensure() -> None:
    """Before a dashboard page draws: ask the first-run question, or build the demo when chosen.

    The demo is built into its own store only, never into the council's folder (refused with a
    plain ``st.error`` if the two paths are the same), under a thread lock and a file lock beside
    the demo folder so that sessions starting together build it once.
    """
    if council_in_use():
        return
    picked = choice()
    if picked is None:
        first_run_choice()
        return
    if picked == DEMO_CHOICE:
        _build_demo()


def _build_demo() -> None:
    from neighbourhood.demo import DemoRefused, build_demo, council_folder_refusal, same_folder

    target = demo()
    if holds_data(target):
        return
    if same_folder(target.path, council().path):
        st.error(council_folder_refusal(target.path), icon=":material/block:")
        st.stop()
    lock_path = Path(str(target.path) + ".build.lock")
    with _BUILD_LOCK:
        target.path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                if not holds_data(target):
                    with st.spinner(
                        "Building the demo data set (a synthetic city). This takes a minute or "
                        "two and happens once…"
                    ):
                        build_demo(target)
            except DemoRefused as exc:
                st.error(f"The demo could not be built: {exc}", icon=":material/block:")
                st.stop()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        lock_path.unlink(missing_ok=True)
    st.rerun()  # what the page drew before (the sidebar's demo notice) sees the built store


def first_run_choice() -> None:
    """The fresh start: explore the demo, or start with the council's own data. Stops the page."""
    st.title("Welcome to Neighbourhood")
    st.write(
        "No data of your council's has been loaded yet. Choose how to start; you can switch "
        "from the sidebar at any time until your own data is loaded."
    )
    left, right = st.columns(2)
    with left.container(border=True):
        st.subheader(":material/upload: Start with your council's data")
        st.write(
            "Load your ward boundaries, ward populations and case extracts on the **Load data** "
            "page, one step at a time, with a checklist of what is loaded. No command line and "
            "no restart: the dashboard shows your data as soon as it is loaded."
        )
        if st.button("Load your council's data", type="primary", key="first_run_own"):
            choose(OWN_CHOICE)
            st.switch_page(UPLOAD_PAGE)
    with right.container(border=True):
        st.subheader(":material/science: Explore the demo")
        st.write(
            "Merseyford, a fictional city: two years of synthetic street-cleansing cases, "
            "enforcement and spend over 26 invented wards. Every figure is invented, and it is "
            "kept apart from your council's data."
        )
        if st.button("Explore the demo", key="first_run_demo"):
            choose(DEMO_CHOICE)
            st.rerun()
    st.stop()


def demo_switch() -> None:
    """In the sidebar, while the council's store holds nothing: go to the demo, or leave it."""
    if council_in_use() or choice() is None:
        return
    if choice() == DEMO_CHOICE:
        if st.sidebar.button(
            "Leave the demo: load your own data", key="demo_switch_own", icon=":material/upload:"
        ):
            choose(OWN_CHOICE)
            st.switch_page(UPLOAD_PAGE)
    elif st.sidebar.button("Explore the demo", key="demo_switch_demo", icon=":material/science:"):
        choose(DEMO_CHOICE)
        st.switch_page("app.py")


def where_loads_go() -> None:
    """On the Load data page: say which store a load goes into, when that is not obvious."""
    from neighbourhood.store import kind_refusal

    own = council()
    try:
        marked = own.kind() if own.exists() else None
    except Exception:  # read errors surface with the load itself
        marked = None
    if marked == DEMO:
        st.error(
            kind_refusal(own.path, DEMO, "council") + " Nothing can be loaded here until then.",
            icon=":material/block:",
        )
    elif not holds_data(own) and choice() == DEMO_CHOICE:
        st.info(
            "You are exploring the demo. Files loaded here go into your council's own store, "
            "never into the demo; as soon as one is loaded, every page shows your data and the "
            "demo is put aside.",
            icon=":material/science:",
        )
