"""The Load data page's checklist: what of the council's data is loaded, and what is still blank.

The steps follow the order a council's data must arrive in: ward boundaries first (every row
is given its ward as it loads), then ward populations (for rates), then street-cleansing cases,
then enforcement and spend. :func:`steps` is pure (counts in, sentences out) and tested
without Streamlit; :func:`show` draws it from the council's store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import streamlit as st

from neighbourhood.store import Store

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """One line of the checklist."""

    kind: str
    title: str
    loaded: bool
    status: str
    required: bool


#: kind, title, required, (noun one, noun many), what is blank without it.
STEPS: Final[tuple[tuple[str, str, bool, tuple[str, str], str], ...]] = (
    (
        "wards",
        "Ward boundaries",
        True,
        ("ward", "wards"),
        "nothing else can be loaded yet: every case, population and spend row is given its "
        "ward as it loads, so the boundaries come first",
    ),
    (
        "population",
        "Ward population",
        True,
        ("population row", "population rows"),
        "rates per 1,000 residents stay blank on every page (the map's colours, the trends, "
        "the movers), because a rate needs the number of residents in each ward; counts of "
        "cases are still shown",
    ),
    (
        "cleansing",
        "Street-cleansing cases",
        True,
        ("case", "cases"),
        "the Overview, Ward map, Trends and Ward profile pages have nothing to show yet",
    ),
    (
        "enforcement",
        "Enforcement cases",
        False,
        ("enforcement case", "enforcement cases"),
        "enforcement figures (actions, fixed penalty notices, prosecutions) stay blank",
    ),
    (
        "spend",
        "Spend",
        False,
        ("spend row", "spend rows"),
        "spend, cost per case closed and the Spend vs results page stay blank",
    ),
)


def steps(counts: dict[str, int], boundary_set: str | None = None) -> list[Step]:
    """The checklist for the stored row counts of each kind.

    Parameters
    ----------
    counts
        Rows stored per kind (``wards`` = wards in the boundary set in use; the other kinds
        count only rows on that set's wards).
    boundary_set
        The name of the boundary set in use, when there is one.

    Returns
    -------
    list of Step

    Examples
    --------
    >>> [s.loaded for s in steps({"wards": 3, "population": 0})][:2]
    [True, False]
    >>> steps({})[1].status.startswith("Not loaded: rates per 1,000 residents")
    True
    """
    out: list[Step] = []
    for kind, title, required, (one, many), blank in STEPS:
        n = int(counts.get(kind) or 0)
        if n:
            status = f"{n:,} {one if n == 1 else many} loaded"
            if kind == "wards" and boundary_set:
                status += f" (boundary set “{boundary_set}”)"
        else:
            status = f"Not loaded: {blank}."
            if not required:
                status = "Optional. " + status
        out.append(Step(kind, title, bool(n), status, required))
    return out


def next_step(found: list[Step]) -> Step | None:
    """The first step not loaded yet (required ones first), or ``None`` when all are.

    Examples
    --------
    >>> next_step(steps({"wards": 3})).kind
    'population'
    """
    for step in found:
        if not step.loaded:
            return step
    return None


def stored_counts(store: Store) -> tuple[dict[str, int], str | None]:
    """Rows per kind on the boundary set in use, and its name (zeros for no store)."""
    if not store.exists():
        return {}, None
    on_set = "ward_code IN (SELECT ward_code FROM active_wards)"
    row = store.query(
        "SELECT (SELECT count(*) FROM active_wards) AS wards, "
        f"(SELECT count(*) FROM population WHERE {on_set}) AS population, "
        f"(SELECT count(*) FROM cases WHERE {on_set}) AS cleansing, "
        f"(SELECT count(*) FROM enforcement WHERE {on_set}) AS enforcement, "
        f"(SELECT count(*) FROM spend WHERE {on_set} OR ward_code = 'citywide') AS spend"
    ).iloc[0]
    return {k: int(row[k]) for k in row.index}, store.active_boundary_set()


def show(store: Store) -> Step | None:
    """Draw the checklist for the council's store; returns the next step (``None``: all done)."""
    try:
        counts, boundary_set = stored_counts(store)
    except Exception:  # the page still works without its checklist; the load says what is wrong
        _LOG.exception("could not count the stored rows for the checklist")
        return None
    from ui.upload import plain  # file-supplied names are shown as text, never Markdown

    found = steps(counts, plain(boundary_set) if boundary_set else None)
    nxt = next_step(found)
    with st.container(border=True):
        st.subheader("Your council's data, step by step")
        for i, step in enumerate(found, start=1):
            icon = ":material/check_circle:" if step.loaded else ":material/radio_button_unchecked:"
            st.markdown(f"{icon} **{i}. {step.title}**: {step.status}")
        if nxt is not None:
            st.caption(
                f"Next: choose **{nxt.title}** under *What are you loading?* below and add the "
                "file."
            )
        else:
            st.caption("Everything is loaded. Load newer extracts here as they come.")
    return nxt


def kind_index(kinds: list[str], nxt: Step | None) -> int:
    """Where the kind selector starts: at the next step to load (the first kind otherwise).

    Examples
    --------
    >>> kind_index(["cleansing", "wards"], Step("wards", "", False, "", True))
    1
    """
    if nxt is not None and nxt.kind in kinds:
        return kinds.index(nxt.kind)
    return 0
