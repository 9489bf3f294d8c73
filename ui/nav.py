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
    """Whether the store in use is the synthetic demo's (the marker inside it, ``Store.kind``)."""
    from ui import stores

    return stores.showing_demo()


DEMO_LINE: Final[str] = (
    ":material/science: Demo data: Merseyford is a fictional city and every figure here is "
    "synthetic."
)


def demo_notice() -> None:
    """Say plainly, on every page, when the figures come from the synthetic demo data set.

    The full notice is in the sidebar; a one-line caption at the top of the page body says
    the same for phones, where the sidebar starts collapsed.
    """
    from ui import stores
    from ui.data import revision

    rev = revision()
    if rev and demo_in_use(rev):
        st.sidebar.info(
            "**Demo data.** Merseyford is a fictional city: every figure on these pages is "
            "synthetic. Your council's own data is loaded on the *Load data* page, into a "
            "store of its own.",
            icon=":material/science:",
        )
        st.caption(DEMO_LINE)
    stores.demo_switch()


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

    Page config, the navigation, the sign-in gate, the store (on a fresh start the choice
    between the demo and the council's own data, ``ui.stores``), then the shared sidebar
    filters. Stops the page with a plain message when no cases
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
    data.old_set_warning()
    return options, filters.sidebar(options)
