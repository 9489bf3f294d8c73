"""The shared sidebar filters, kept across pages and mirrored in the URL.

One call per page: ``f = ui.filters.sidebar(options)``. The widgets have stable keys; their values
live in ``st.session_state`` and are re-assigned on every run (so they survive a page switch,
where Streamlit would otherwise drop the state of widgets that are not drawn), and they are written
to ``st.query_params`` so a view can be shared as a link. On a fresh session the URL wins.

URL parameters: ``from``/``to`` (ISO dates), ``period`` (month, quarter, year), ``cat`` and
``wards`` (repeated), and ``ward`` (the ward on the map and profile pages). The dates are always
written (their default moves with the data); other values equal to the default are left out of
the URL; invalid values are ignored.

A page's own controls (a measure, a period on a slider, a toggle) are ``Control`` objects:
``url_control`` before the widget, ``mirror_control`` after it (docs/ui.md lists every
parameter).

The parsing and URL-building functions are pure and unit-tested without a Streamlit runtime.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from ui.format import PERIOD_LABELS, category_label, date_range_text, plural

PERIODS: tuple[str, ...] = ("month", "quarter", "year")
DEFAULT_YEARS = 2

# session-state key → URL parameter
K_DATES, K_PERIOD, K_CATS, K_WARDS, K_WARD = (
    "filter_dates",
    "filter_period",
    "filter_categories",
    "filter_wards",
    "ward",
)
#: (dates asked for in a link, the dates they were moved to) when a link's dates fell outside the data
K_ASKED = "filter_dates_asked"


@dataclass(frozen=True)
class FilterOptions:
    """What the filters can offer, read from the store."""

    min_date: dt.date
    max_date: dt.date
    categories: tuple[str, ...]
    wards: Mapping[str, str] = field(default_factory=dict)  # ward_code → ward_name


@dataclass(frozen=True)
class Filters:
    """The current view. Empty ``categories``/``wards`` never happen: empty means all."""

    start: dt.date
    end: dt.date
    period: str
    categories: tuple[str, ...]
    wards: tuple[str, ...]
    all_categories: bool = True
    all_wards: bool = True
    #: The dates a link asked for, when they were outside the data and moved into it.
    asked: tuple[dt.date, dt.date] | None = None
    #: The last date with data (the date picker's upper bound).
    data_end: dt.date | None = None

    def describe(self) -> str:
        """One line for captions: "01 Apr 2024 to 31 Mar 2025 · 3 categories · all wards"."""
        return f"{date_range_text(self.start, self.end)} · {self.selection()}"

    def selection(self, *, wards: bool = True) -> str:
        """The category and ward choice: "3 categories · 1 ward", "Litter · all wards".

        ``wards=False`` leaves the wards out (the ward profile shows one ward whatever the
        filter says).
        """
        cats = (
            "all categories"
            if self.all_categories
            else plural(len(self.categories), "category", "categories")
        )
        if not self.all_categories and len(self.categories) == 1:
            cats = category_label(self.categories[0])
        if not wards:
            return cats
        chosen = "all wards" if self.all_wards else plural(len(self.wards), "ward")
        return f"{cats} · {chosen}"


def default_values(options: FilterOptions) -> dict[str, Any]:
    """Default filter values: the last two years of data, by month, everything selected."""
    start = max(options.min_date, _years_before(options.max_date, DEFAULT_YEARS))
    return {
        K_DATES: (start, options.max_date),
        K_PERIOD: "month",
        K_CATS: list(options.categories),
        K_WARDS: [],
    }


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years) + dt.timedelta(days=1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28) + dt.timedelta(days=1)


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def parse_query(params: Mapping[str, Sequence[str]], options: FilterOptions) -> dict[str, Any]:
    """Filter values found in URL parameters (each a list of strings); invalid ones are dropped.

    Examples
    --------
    >>> o = FilterOptions(dt.date(2023, 1, 1), dt.date(2024, 12, 31), ("litter",), {"E1": "A"})
    >>> parse_query({"period": ["quarter"], "wards": ["E1", "nope"]}, o)
    {'filter_period': 'quarter', 'filter_wards': ['E1']}
    """
    defaults = default_values(options)
    found: dict[str, Any] = {}
    start = _date(next(iter(params.get("from", [])), None))
    end = _date(next(iter(params.get("to", [])), None))
    if start or end:
        lo = min(max(start or defaults[K_DATES][0], options.min_date), options.max_date)
        hi = max(min(end or defaults[K_DATES][1], options.max_date), options.min_date)
        found[K_DATES] = (min(lo, hi), max(lo, hi))
    period = next(iter(params.get("period", [])), None)
    if period in PERIODS:
        found[K_PERIOD] = period
    cats = [c for c in params.get("cat", []) if c in options.categories]
    if cats:
        found[K_CATS] = list(dict.fromkeys(cats))
    wards = [w for w in params.get("wards", []) if w in options.wards]
    if wards:
        found[K_WARDS] = list(dict.fromkeys(wards))
    ward = next(iter(params.get("ward", [])), None)
    if ward in options.wards:
        found[K_WARD] = ward
    return found


def asked_dates(
    params: Mapping[str, Sequence[str]], options: FilterOptions
) -> tuple[dt.date, dt.date] | None:
    """The date range a link asks for, before it is moved into the data (``None``: no dates).

    Examples
    --------
    >>> o = FilterOptions(dt.date(2023, 1, 1), dt.date(2024, 12, 31), ("litter",), {"E1": "A"})
    >>> asked_dates({"from": ["2027-01-01"], "to": ["2027-03-31"]}, o)
    (datetime.date(2027, 1, 1), datetime.date(2027, 3, 31))
    """
    start = _date(next(iter(params.get("from", [])), None))
    end = _date(next(iter(params.get("to", [])), None))
    if not (start or end):
        return None
    lo, hi = default_values(options)[K_DATES]
    lo, hi = start or lo, end or hi
    return (min(lo, hi), max(lo, hi))


def to_query(values: Mapping[str, Any], options: FilterOptions) -> dict[str, list[str]]:
    """URL parameters for filter values, leaving out those equal to the defaults, except the
    dates: they are always written, so a link keeps its dates when later data arrive (the
    default range ends at the latest case).

    Examples
    --------
    >>> o = FilterOptions(dt.date(2023, 1, 1), dt.date(2024, 12, 31), ("litter",), {"E1": "A"})
    >>> to_query({"filter_period": "year", "filter_categories": ["litter"]}, o)
    {'period': ['year']}
    """
    defaults = default_values(options)
    out: dict[str, list[str]] = {}
    dates = values.get(K_DATES)
    if isinstance(dates, dt.date):
        dates = (dates,)
    if dates:  # always: the default dates move when later data arrive, a link's must not
        out["from"] = [dates[0].isoformat()]
        out["to"] = [dates[-1].isoformat()]
    if values.get(K_PERIOD, "month") != "month":
        out["period"] = [str(values[K_PERIOD])]
    cats = list(values.get(K_CATS) or [])
    if cats and set(cats) != set(defaults[K_CATS]):
        out["cat"] = [str(c) for c in cats]
    wards = list(values.get(K_WARDS) or [])
    if wards:
        out["wards"] = [str(w) for w in wards]
    if values.get(K_WARD):
        out["ward"] = [str(values[K_WARD])]
    return out


def _sanitise(key: str, value: Any, options: FilterOptions) -> Any:
    """Keep a remembered value only if it still fits the options (the store may have changed)."""
    defaults = default_values(options)
    if key == K_DATES:
        if not isinstance(value, (tuple, list)) or not value:
            return defaults[K_DATES]
        lo = min(max(value[0], options.min_date), options.max_date)
        hi = max(min(value[-1], options.max_date), lo)
        return (lo, hi)
    if key == K_PERIOD:
        return value if value in PERIODS else "month"
    if key == K_CATS:
        kept = [c for c in (value or []) if c in options.categories]
        return kept
    if key == K_WARDS:
        return [w for w in (value or []) if w in options.wards]
    return value


def _restore(options: FilterOptions) -> None:
    """Seed widget state from the URL on a fresh session; afterwards re-assign it each run."""
    state = st.session_state
    from_url = parse_query({k: st.query_params.get_all(k) for k in st.query_params.keys()}, options)
    for key, default in default_values(options).items():
        if key in state:
            state[key] = _sanitise(key, state[key], options)
        else:
            state[key] = from_url.get(key, default)
            if key == K_DATES and key in from_url:
                asked = asked_dates(
                    {k: st.query_params.get_all(k) for k in st.query_params.keys()}, options
                )
                if asked is not None and asked != tuple(from_url[key]):
                    state[K_ASKED] = (asked, tuple(from_url[key]))
    if K_WARD in state:
        state[K_WARD] = state[K_WARD]  # keep the chosen ward while on pages without the picker
    elif K_WARD in from_url:
        state[K_WARD] = from_url[K_WARD]


#: The URL parameters the shared filters own (pages' own controls have theirs).
FILTER_PARAMS: tuple[str, ...] = ("from", "to", "period", "cat", "wards", "ward")


def _mirror(options: FilterOptions) -> None:
    """Write the current values to the URL (the dates, and what differs from the defaults).

    Only the filters' own parameters are touched: a page's controls (``url_control``) keep
    theirs, so a fresh session still finds them when the page reads them later in the run.
    """
    wanted = to_query(st.session_state, options)
    for name in FILTER_PARAMS:
        values = wanted.get(name, [])
        if st.query_params.get_all(name) != values:
            if values:
                st.query_params[name] = values
            else:
                del st.query_params[name]


def sidebar(options: FilterOptions) -> Filters:
    """Draw the shared filters in the sidebar and return the current view."""
    _restore(options)
    with st.sidebar:
        st.header("Filters")
        dates = st.date_input(
            "Dates",
            min_value=options.min_date,
            max_value=options.max_date,
            format="DD/MM/YYYY",
            key=K_DATES,
            help="Cases reported between these dates (inclusive).",
        )
        st.selectbox(
            "Show figures by",
            PERIODS,
            format_func=lambda p: PERIOD_LABELS[p],
            key=K_PERIOD,
            help="Financial years and quarters run April to March.",
        )
        st.multiselect(
            "Categories",
            options.categories,
            format_func=category_label,
            key=K_CATS,
            placeholder="All categories",
        )
        st.multiselect(
            "Wards",
            list(options.wards),
            format_func=lambda c: options.wards.get(c, c),
            key=K_WARDS,
            placeholder="All wards",
        )
    _mirror(options)
    start, end = _complete_range(dates, options)
    cats = tuple(st.session_state[K_CATS]) or options.categories
    wards = tuple(st.session_state[K_WARDS]) or tuple(options.wards)
    moved = st.session_state.get(K_ASKED)
    asked = moved[0] if moved and tuple(moved[1]) == (start, end) else None
    if moved and asked is None:  # the visitor has chosen other dates since
        del st.session_state[K_ASKED]
    return Filters(
        start=start,
        end=end,
        period=st.session_state[K_PERIOD],
        categories=cats,
        wards=wards,
        all_categories=set(cats) == set(options.categories),
        all_wards=set(wards) == set(options.wards),
        asked=asked,
        data_end=options.max_date,
    )


def _complete_range(dates: Any, options: FilterOptions) -> tuple[dt.date, dt.date]:
    """A half-chosen range (one date picked so far) runs to the latest date."""
    if isinstance(dates, dt.date):
        return dates, options.max_date
    if not dates:
        return default_values(options)[K_DATES]
    return dates[0], dates[-1] if len(dates) > 1 else options.max_date


def keep_valid(key: str, options: Sequence[Any], default: Any) -> None:
    """Before drawing a page widget: reset its remembered value if it is no longer an option."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default


def select_ward_from_map(deck_key: str) -> None:
    """``on_select`` callback for the ward map: the clicked ward becomes the chosen ward."""
    from ui.maps import selected_ward_codes

    codes = selected_ward_codes(st.session_state.get(deck_key))
    if codes:
        st.session_state[K_WARD] = codes[0]


def ward_picker(
    wards: Mapping[str, str], label: str = "Ward", *, where: Any = None, default: str | None = None
) -> str | None:
    """The single-ward select box shared by the map and profile pages (kept in the URL)."""
    state = st.session_state
    if K_WARD in state and state[K_WARD] in wards:
        state[K_WARD] = state[K_WARD]
    else:
        code = st.query_params.get(K_WARD)
        state[K_WARD] = code if code in wards else (default if default in wards else None)
    target = where if where is not None else st
    code = target.selectbox(
        label,
        list(wards),
        format_func=lambda c: wards.get(c, c),
        key=K_WARD,
        placeholder="Choose a ward",
    )
    if code and st.query_params.get(K_WARD) != code:
        st.query_params[K_WARD] = code
    return code


# --- page controls in the URL ------------------------------------------------------------------


@dataclass(frozen=True)
class Control:
    """A page's own control (a measure, a period, a toggle) kept in the URL.

    ``options`` are the values the widget offers; the URL holds ``text(value)``, and a URL
    value that is not one of the options' texts is ignored. ``default`` is the value when the
    URL says nothing; it is left out of the URL unless ``pin`` is set (a default that depends
    on the data, such as the latest period, must be written or the link moves with the data).
    """

    key: str
    param: str
    options: tuple[Any, ...]
    default: Any
    multi: bool = False
    pin: bool = False
    text: Callable[[Any], str] = str


def flag_text(value: Any) -> str:
    """A toggle in the URL: ``"1"`` (on) or ``"0"`` (off)."""
    return "1" if value else "0"


def toggle_control(key: str, param: str, default: bool = False) -> Control:
    """A Control for an on/off switch (``?param=1`` or ``?param=0``)."""
    return Control(key, param, (False, True), default, text=flag_text)


def parse_control(params: Mapping[str, Sequence[str]], control: Control) -> Any:
    """The control's value found in URL parameters, or ``None`` (absent or not an option).

    Examples
    --------
    >>> c = Control("map_metric", "measure", ("cases", "cases_per_1k"), "cases_per_1k")
    >>> parse_control({"measure": ["cases"]}, c), parse_control({"measure": ["<b>"]}, c)
    ('cases', None)
    >>> t = toggle_control("map_hexes", "hotspots")
    >>> parse_control({"hotspots": ["1"]}, t), parse_control({"hotspots": ["yes"]}, t)
    (True, None)
    """
    by_text: dict[str, Any] = {}
    for option in control.options:
        by_text.setdefault(control.text(option), option)
    raw = [str(v) for v in params.get(control.param, [])]
    if control.multi:
        found = [by_text[r] for r in dict.fromkeys(raw) if r in by_text]
        return found if raw and found else None
    return by_text.get(raw[0]) if raw else None


def emit_control(value: Any, control: Control) -> list[str]:
    """The URL values for a control's value (``[]``: leave the parameter out).

    Examples
    --------
    >>> c = Control("map_metric", "measure", ("cases", "cases_per_1k"), "cases_per_1k")
    >>> emit_control("cases", c), emit_control("cases_per_1k", c), emit_control("x", c)
    (['cases'], [], [])
    """
    if control.multi:
        chosen = [v for v in (value or []) if v in control.options]
        if not control.pin and chosen == list(control.default or []):
            return []
        return [control.text(v) for v in chosen]
    if value not in control.options:
        return []
    if value == control.default and not control.pin:
        return []
    return [control.text(value)]


def _valid(value: Any, control: Control) -> bool:
    if control.multi:
        return isinstance(value, (list, tuple)) and all(v in control.options for v in value)
    return value in control.options


def url_control(control: Control) -> None:
    """Before drawing the control's widget: on a fresh session take its value from the URL
    (ignoring a value that is not an option), else keep the remembered value while it is still
    an option; the widget is then drawn with ``key=control.key`` and no default of its own."""
    state = st.session_state
    if control.key in state and _valid(state[control.key], control):
        state[control.key] = state[control.key]
        return
    found = parse_control({control.param: st.query_params.get_all(control.param)}, control)
    state[control.key] = found if found is not None else control.default


def mirror_control(control: Control) -> Any:
    """After drawing the widget: write its value to the URL (or take it out at its default).

    Returns the value.
    """
    value = st.session_state.get(control.key, control.default)
    wanted = emit_control(value, control)
    if st.query_params.get_all(control.param) != wanted:
        if wanted:
            st.query_params[control.param] = wanted
        else:
            del st.query_params[control.param]
    return value
