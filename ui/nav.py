"""The sidebar navigation drawn by every page (plain labels instead of file names).

Classic ``pages/`` discovery stays (STYLE.md §1: no ``st.navigation``). Streamlit's own list is
turned off (``client.showSidebarNavigation = false`` in ``.streamlit/config.toml``) because it
labels the overview "app"; :func:`sidebar_nav` draws the same links with council labels instead.
URL paths are unchanged (``/``, ``/Ward_map``, …).
"""

from __future__ import annotations

from typing import Final

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from neighbourhood.store import Store
from ui.auth import current_visitor, sign_out_button
from ui.filters import FilterOptions, Filters

#: (script path relative to app.py, label, icon), in menu order.
PAGES: Final[tuple[tuple[str, str, str], ...]] = (
    ("app.py", "Overview", ":material/home:"),
    ("pages/1_Ward_map.py", "Ward map", ":material/map:"),
    ("pages/2_Trends.py", "Trends", ":material/show_chart:"),
    ("pages/5_Ward_profile.py", "Ward profile", ":material/location_city:"),
    ("pages/3_Spend_vs_results.py", "Spend vs results", ":material/savings:"),
    (
        "pages/7_Compared_with_other_councils.py",
        "Compared with other councils",
        ":material/leaderboard:",
    ),
    ("pages/4_Upload.py", "Load data", ":material/upload:"),
    ("pages/6_Ingest_log.py", "Ingest log", ":material/history:"),
)


@st.cache_data(max_entries=8, show_spinner=False)
def demo_in_use(revision: str) -> bool:
    """Whether any data still in the store came from the bundled synthetic demo."""
    log = Store().log()
    if log.empty or "channel" not in log.columns:
        return False
    live = log[log["status"] == "committed"] if "status" in log.columns else log
    return bool((live["channel"] == "demo").any())


DEMO_LINE: Final[str] = (
    ":material/science: Demo data: Merseyford is a fictional city and every figure here is "
    "synthetic."
)


def demo_notice() -> None:
    """Say plainly, on every page, when the figures come from the synthetic demo data set.

    The full notice is in the sidebar; a one-line caption at the top of the page body says
    the same for phones, where the sidebar starts collapsed.
    """
    from ui.data import revision

    store = Store()
    if store.exists() and demo_in_use(revision()):
        st.sidebar.info(
            "**Demo data.** Merseyford is a fictional city: every figure on these pages is "
            "synthetic. For your council's own data, see *Your council's data* in the README.",
            icon=":material/science:",
        )
        st.caption(DEMO_LINE)


def sidebar_nav() -> None:
    """Links to every page at the top of the sidebar, then a sign-out button when signed in.

    A link whose page Streamlit does not know is left out: that only happens when a page file
    is itself the entry point (``AppTest.from_file("pages/4_Upload.py")`` in tests), never under
    ``streamlit run app.py`` (tests/test_pages.py asserts every link is drawn from app.py).
    """
    with st.sidebar:
        for path, label, icon in PAGES:
            try:
                st.page_link(path, label=label, icon=icon)
            except StreamlitPageNotFoundError:
                continue
        st.divider()
    demo_notice()
    sign_out_button()


def dashboard_page(page_title: str, icon: str) -> tuple[FilterOptions, Filters]:
    """The opening every viewing page shares, in order.

    Page config, the navigation, the sign-in gate, the store (built from the demo data on first
    start), then the shared sidebar filters. Stops the page with a plain message when no cases
    have been loaded yet.

    Returns
    -------
    tuple of FilterOptions and Filters
        What the filters could offer (wards, categories, dates) and what the visitor chose.
    """
    from ui import components, data, filters

    st.set_page_config(page_title=page_title, page_icon=icon, layout="wide")
    sidebar_nav()
    current_visitor()
    data.ensure_store()
    options = data.filter_options(data.revision())
    if options is None:
        components.no_data()
    return options, filters.sidebar(options)
