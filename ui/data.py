"""Cached accessors over the store: the only place pages get data from.

Every ``@st.cache_data`` function takes ``revision`` (``Store.revision()``, which changes with
every ingest or undo) plus the filter values, so new data invalidates the cache by itself.
``@st.cache_resource`` holds only the ward GeoDataFrame (never mutated by callers).

Each page makes one call (``overview``, ``ward_map``, ``trends``, ``ward_profile``) and gets a
small view object back with everything it draws, already in display order. The metric
definitions live in ``neighbourhood.metrics``; this module only picks rows and columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from shapely.geometry import mapping

from neighbourhood import evaluation, metrics, periods
from neighbourhood.geo import simplify_for_map
from neighbourhood.repeats import flag_repeats, stored_repeat_cases
from neighbourhood.schemas import CATEGORIES, CITYWIDE
from neighbourhood.sdc import suppress_small_counts
from neighbourhood.store import Store
from ui import disclosure
from ui.filters import FilterOptions, Filters
from ui.format import (
    category_label,
    date_range_text,
    is_complete,
    metric_kind,
    metric_label,
    metric_value,
    period_label,
    period_last_day,
    periods_shown,
    plural,
    so_far_text,
    uk_date,
)

PROGRAMMES_CSV = Path(__file__).resolve().parents[1] / "data" / "programmes.csv"
KPI_METRICS = (
    "cases",
    "cases_per_1k",
    "median_days_to_close",
    "pct_within_sla",
    "enforcement_actions",
    "spend_gbp",
)
MAP_METRICS = (
    "cases_per_1k",
    "cases",
    "median_days_to_close",
    "pct_within_sla",
    "repeat_location_share",
    "open_at_end",
    "enforcement_actions",
    "spend_gbp",
)
CI_COLUMNS = {
    "cases": ("cases_lo", "cases_hi"),
    "cases_per_1k": ("cases_per_1k_lo", "cases_per_1k_hi"),
}
TREND_METRICS = (
    "cases_per_1k",
    "cases",
    "median_days_to_close",
    "pct_within_sla",
    "enforcement_actions",
    "spend_gbp",
)
HEX_RESOLUTION = 9
#: Fewer cases than this in a period (either side of a change) and no change is shown: on 2
#: cases one case more reads "+100.0%". The same 10 as the ranking's minimum.
MIN_CASES_TO_COMPARE = metrics.DEFAULT_MIN_COUNT_FOR_RANK
POINT_CAP = 25_000  # keeps the deck under 5 MB with points on (about 150 bytes a point)
FUNNEL = (
    ("investigation", "Investigations"),
    ("warning_letter", "Warning letters"),
    ("fixed_penalty_notice", "Fixed penalty notices issued"),
    ("fpn_paid", "Fixed penalty notices paid"),
    ("prosecution", "Prosecutions"),
)


# --- the store ---------------------------------------------------------------------------------


def store() -> Store:
    """The store the pages read (``ui.stores.in_use``): the council's once it holds data, else
    the demo's when the visitor chose it."""
    from ui import stores

    return stores.in_use()


def ensure_store() -> None:
    """Before a page draws: the first-run choice on a fresh start, or the demo when chosen.

    The demo is only ever built into its own store (``ui.stores.ensure``), never into the
    council's, however that folder looks (a database without its lock file is a store).
    """
    from ui import stores

    stores.ensure()


_REVISIONS: dict[tuple, str] = {}


def revision() -> str:
    """The store revision that keys every cache.

    ``Store.revision()`` opens a DuckDB connection (~0.1 s), so it is remembered against the
    size and modification time of the store file and its write-ahead log: any ingest or undo
    changes one of them, and then the revision is read again.
    """
    s = store()
    stamp = tuple(
        (p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else None
        for p in (s.db_path, Path(str(s.db_path) + ".wal"))
    )
    key = (str(s.path.resolve()), stamp)
    if key not in _REVISIONS:
        if len(_REVISIONS) > 32:
            _REVISIONS.clear()
        found = s.revision()
        # qualified by the folder: the demo's and the council's stores can share an ingest id
        _REVISIONS[key] = f"{found}@{key[0]}" if found else ""
    return _REVISIONS[key]


# --- reference data ----------------------------------------------------------------------------


@st.cache_resource(max_entries=4)
def map_wards(revision: str) -> Any:
    """The active ward boundaries, simplified for the browser (about 5 m, 5 dp). Read-only.

    A GeoDataFrame with an extra ``geojson`` column (each geometry as a GeoJSON dict), so maps
    can hand pydeck plain records instead of re-serialising shapely geometries on every run.
    """
    wards = store().wards()
    if wards.empty:
        return wards.assign(geojson=[])
    small = simplify_for_map(wards)[["ward_code", "ward_name", "geometry"]]
    return small.assign(geojson=[mapping(g) for g in small.geometry])


@st.cache_data(max_entries=4)
def filter_options(revision: str) -> FilterOptions | None:
    """Date bounds, categories and wards for the sidebar; ``None`` when no cases are stored."""
    row = (
        store()
        .query(
            "SELECT min(reported_at) AS first, max(reported_at) AS last, count(*) AS n FROM cases"
        )
        .iloc[0]
    )
    if not row["n"]:
        return None
    cats = set(store().query("SELECT DISTINCT category FROM cases")["category"].dropna())
    ordered = [c for c in CATEGORIES if c in cats] + sorted(cats - set(CATEGORIES))
    wards = store().query(
        "SELECT ward_code, any_value(ward_name) AS ward_name FROM cases "
        "WHERE ward_code IS NOT NULL GROUP BY ward_code"
    )
    known = map_wards(revision)
    names = dict(zip(known["ward_code"], known["ward_name"], strict=True)) if len(known) else {}
    if not names:  # only the boundary set in use is offered; cases' own codes without one
        for code, name in zip(wards["ward_code"], wards["ward_name"], strict=True):
            names.setdefault(code, name if isinstance(name, str) else code)
    ordered_wards = dict(sorted(names.items(), key=lambda kv: str(kv[1]).lower()))
    return FilterOptions(
        min_date=row["first"].date(),
        max_date=row["last"].date(),
        categories=tuple(ordered),
        wards=ordered_wards,
    )


@st.cache_data(max_entries=4)
def data_date(revision: str) -> dt.date | None:
    """The data date ``as_of`` as a Europe/London date (``docs/metrics.md``): the latest
    ``reported_at`` or ``closed_at`` of any case. Periods ending after it are incomplete."""
    last = (
        store()
        .query(
            "SELECT max(greatest(reported_at, coalesce(closed_at, reported_at))) AS t FROM cases"
        )["t"]
        .iloc[0]
    )
    if pd.isna(last):
        return None
    last = pd.Timestamp(last)
    last = last.tz_localize("UTC") if last.tzinfo is None else last
    return last.tz_convert("Europe/London").date()


def shown_text(table: pd.DataFrame, f: Filters, as_of: dt.date | None) -> str:
    """Which whole periods a page shows (``ui.format.periods_shown``) for a ward × period table."""
    starts = table["period_start"] if len(table) else pd.Series([], dtype="datetime64[ns]")
    return periods_shown(
        starts.min() if len(starts) else None,
        starts.max() if len(starts) else None,
        f.period,
        chosen=(f.start, f.end),
        as_of=as_of,
        asked=f.asked,
        data_end=f.data_end,
    )


@dataclass(frozen=True)
class Funding:
    """The funding programme the charts mark (from ``data/programmes.csv`` or the spend table)."""

    name: str
    start: pd.Timestamp
    end: pd.Timestamp | None
    wards: tuple[str, ...]
    description: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} starts ({uk_date(self.start)})"


@st.cache_data(max_entries=4)
def funding(revision: str) -> Funding | None:
    """The ward-level programme to mark on charts: configured first, else inferred from spend."""
    try:
        found = evaluation.programmes_from_config(PROGRAMMES_CSV)
    except ValueError:
        found = []
    in_use = set(map_wards(revision)["ward_code"].astype(str))
    # only programmes whose wards are all in the boundary set in use (never the demo's
    # programme on a council's store), funding some of its wards but not all
    found = [p for p in found if p.treated_wards and set(p.treated_wards) <= in_use]
    if not found:
        spend = evaluation.programmes_from_spend(store().table("spend"))
        found = [p for p in spend if p.treated_wards and set(p.treated_wards) <= in_use]
    partial = [p for p in found if len(set(p.treated_wards)) < len(in_use)]
    if not partial:
        return None
    p = partial[0]
    return Funding(p.name, p.start, p.end, p.treated_wards, p.description)


# --- the ward × period table ------------------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner="Working out the figures…")
def ward_period(
    revision: str,
    period: str,
    start: Any,
    end: Any,
    categories: tuple[str, ...] | None,
    wards: tuple[str, ...] | None,
) -> pd.DataFrame:
    """``metrics.ward_period_table`` for the filters (``None`` = no filter), with only the wards
    of the boundary set in use (:func:`in_use_only`)."""
    table = metrics.ward_period_table(
        store(),
        period=period,
        start=start,
        end=end,
        categories=list(categories) if categories is not None else None,
        wards=list(wards) if wards is not None else None,
    )
    return in_use_only(table, set(map_wards(revision)["ward_code"].astype(str)))


def in_use_only(table: pd.DataFrame, codes: set[str]) -> pd.DataFrame:
    """The rows of wards in the boundary set in use (``codes``) and the city-total rows, with
    the ranks worked out again among those wards.

    Rows still on an old boundary set (stored before new boundaries were loaded) are left out
    of every ward figure; the city totals keep them (the city is the same place on either set)
    and :func:`old_set_rows` counts them so each page can say so.

    Examples
    --------
    >>> t = pd.DataFrame({"ward_code": ["E1", "OLD", CITYWIDE], "period_start": [0, 0, 0],
    ...     "cases_per_1k": [1.0, 9.0, 2.0], "rank_cases_per_1k": pd.array([2, 1, None], "Int64")})
    >>> in_use_only(t, {"E1"})[["ward_code", "rank_cases_per_1k"]].values.tolist()
    [['E1', 1], ['citywide', <NA>]]
    """
    if not codes or "ward_code" not in table.columns:
        return table
    keep = table["ward_code"].isin(codes) | (table["ward_code"] == CITYWIDE)
    if keep.all():
        return table
    out = table[keep].reset_index(drop=True)
    if "rank_cases_per_1k" in out.columns and "period_start" in out.columns:
        ranked = out["rank_cases_per_1k"].notna()
        rank = (
            out["cases_per_1k"]
            .where(ranked)
            .groupby(out["period_start"])
            .rank(method="min", ascending=False)
        )
        out["rank_cases_per_1k"] = rank.astype("Int64")
    return out


@st.cache_data(max_entries=4)
def old_set_rows(revision: str) -> dict[str, tuple[int, int]]:
    """Per table (cases, enforcement, spend): (rows on wards not in the boundary set in use,
    rows with a ward). Empty when every such row is on the set in use.

    Population rows of old wards are left out: no figure of the set in use reads them (each
    ward's rate uses its own population), and loading again cannot remove them.
    """
    from neighbourhood.ingest import rows_outside_wards

    codes = map_wards(revision)["ward_code"].astype(str).tolist()
    if not revision or not codes:
        return {}
    found = rows_outside_wards(store(), codes)
    return {t: (int(m), int(n)) for t, (m, n) in found.items() if m and t != "population"}


OLD_SET_NOUNS: dict[str, tuple[str, str]] = {
    "cases": ("street-cleansing case", "street-cleansing cases"),
    "enforcement": ("enforcement case", "enforcement cases"),
    "spend": ("spend row", "spend rows"),
    "population": ("population row", "population rows"),
}


def old_set_text(found: dict[str, tuple[int, int]], boundary_set: str | None = None) -> str | None:
    """The plain warning for rows still on an old boundary set, with the one action that fixes
    it; ``None`` when there are none.

    Examples
    --------
    >>> old_set_text({}) is None
    True
    >>> old_set_text({"cases": (5, 20)}).startswith("**5 of 20 street-cleansing cases")
    True
    """
    parts = []
    for table, (missing, total) in found.items():
        if not missing:
            continue
        one, many = OLD_SET_NOUNS.get(table, (table, table))
        parts.append(f"{missing:,} of {total:,} {one if total == 1 else many}")
    if not parts:
        return None
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    named = f" (“{boundary_set}”)" if boundary_set else ""
    return (
        f"**{listed} are on wards that are not in the boundary set in use{named}.** They "
        "count in the whole-city figures but in no ward's: the ward lists, the movers, the "
        "rankings, the map and the ward profiles leave them out. To fix this, load those "
        "extracts again on the **Load data** page: each row is then given its ward in the set "
        "in use."
    )


def old_set_warning() -> None:
    """On every page whose ward figures the old-set rows would change: say so, once."""
    rev = revision()
    if not rev:
        return
    try:
        found = old_set_rows(rev)
        name = store().active_boundary_set() if found else None
    except Exception:  # a warning never takes the page down
        return
    from ui.upload import plain

    text = old_set_text(found, plain(name) if name else None)
    if text:
        st.warning(text, icon=":material/map:")


def _table(revision: str, f: Filters, *, own_wards: bool = False) -> pd.DataFrame:
    cats = None if f.all_categories else tuple(sorted(f.categories))
    wards = tuple(sorted(f.wards)) if own_wards and not f.all_wards else None
    return ward_period(revision, f.period, f.start, f.end, cats, wards)


def public_view(table: pd.DataFrame) -> pd.DataFrame:
    """Ward rows for a table: enforcement counts of 1–4 as "<5", rates on them blank (text)."""
    return disclosure.protect(table, text=True)


# --- overview ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    """One KPI card."""

    metric: str
    label: str
    value: float | None
    text: str
    delta: str | None
    delta_color: str
    help: str
    spark: tuple[float, ...] = ()
    delta_arrow: str = "auto"


NO_CHANGE = "no change"
TOO_FEW = "too few cases to compare"
_NO_ARROW = (NO_CHANGE, TOO_FEW, "too few to compare")
#: The count a card's change rests on: the cases (or the enforcement actions themselves).
_CHANGE_BASIS = {
    "cases": "cases",
    "cases_per_1k": "cases",
    "median_days_to_close": "cases",
    "pct_within_sla": "cases",
    "enforcement_actions": "enforcement_actions",
}


def too_few(now: Any, before: Any, minimum: int = MIN_CASES_TO_COMPARE) -> bool:
    """Whether a change between two counts would rest on fewer than ``minimum`` cases.

    Examples
    --------
    >>> too_few(2, 1), too_few(10, 12), too_few(None, 40)
    (True, False, True)
    """
    counts = [0.0 if v is None or pd.isna(v) else float(v) for v in (now, before)]
    return min(counts) < minimum


def _delta(metric: str, now: Any, before: Any) -> str | None:
    """The change as shown on a KPI card ("+2.3 days", "-4.0%"); "no change" when it rounds to 0.

    Rounding happens before the sign is chosen, so a change of -0.04 days never reads "-0.0".
    """
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return None
    kind = metric_kind(metric)
    if kind in ("days", "pct", "share"):
        change, unit = (
            (now - before) * (100 if kind == "share" else 1),
            (" days" if kind == "days" else " points"),
        )
    elif before == 0:
        return None
    else:
        change, unit = (now - before) / before * 100, "%"
    change = round(float(change), 1)
    if change == 0:
        return NO_CHANGE
    return f"{change:+.1f}{unit}"


_DELTA_COLOURS = {
    "cases": "inverse",
    "cases_per_1k": "inverse",
    "median_days_to_close": "inverse",
    "pct_within_sla": "normal",
    "enforcement_actions": "off",
    "spend_gbp": "off",
}


def kpis(
    city: pd.DataFrame,
    compare: str = "previous",
    period: str = "month",
    *,
    protect: bool = False,
    as_of: dt.date | None = None,
) -> tuple[list[Kpi], str, str]:
    """KPI cards for the latest period of the city rows, with deltas against an earlier period.

    ``compare`` is ``"previous"`` (the period before) or ``"year"`` (the same period a year
    earlier). Returns the cards, the latest period's label and the comparison period's label.

    ``as_of`` is the data date. When the latest period ends after it (incomplete: half a
    financial year, say), its label says so ("2026/27 (Apr–Sep 2026 so far)"), no delta is
    shown (part of a period is not compared with a whole one), the comparison label is empty
    and the trend line holds whole periods only.

    ``protect=True`` (the rows are one ward or a few chosen wards): an enforcement count from 1
    to 4 reads "<5" with no delta and no trend line, and a delta or trend line that would reveal
    such a count (the count it is compared with, or any point of the line) is left out.
    """
    rows = city.sort_values("period_start").reset_index(drop=True)
    if rows.empty:
        return [], "", ""
    latest = rows.iloc[-1]
    partial = as_of is not None and not is_complete(latest["period_start"], period, as_of)
    lag = {"previous": 1, "year": _lag(rows)}[compare]
    base = rows.iloc[-1 - lag] if len(rows) > lag and not partial else None
    whole = rows.iloc[:-1] if partial else rows
    cards = []
    for m in KPI_METRICS:
        now = latest[m]
        before = None if base is None else base[m]
        spark = tuple(float(v) for v in whole[m].fillna(0).tail(24))
        delta = _delta(m, now, before)
        help_text = _label(latest, period) + (
            "" if base is None else f", compared with {_label(base, period)}"
        )
        basis = _CHANGE_BASIS.get(m)
        if base is not None and basis and delta is not None:
            if too_few(latest.get(basis), base.get(basis)):
                delta = TOO_FEW if basis == "cases" else "too few to compare"
                noun = "enforcement actions" if basis == "enforcement_actions" else "cases"
                help_text += (
                    f": no change is shown, as {_label(latest, period)} or "
                    f"{_label(base, period)} has fewer than {MIN_CASES_TO_COMPARE} {noun} "
                    "(one more or less would read as a large change)"
                )
        if partial:
            help_text += (
                f" ({so_far_text(latest['period_start'], period, as_of)}: the period is not "
                "over, so no change is shown; the small line shows whole periods only)"
            )
        if m == "spend_gbp":
            help_text += (
                ". Spend is not recorded by category: this is all spend, whatever categories "
                "are chosen"
            )
        hide = protect and disclosure.is_protected(m)
        if hide:
            help_text += ". " + disclosure.note()
            if disclosure.any_small(spark):
                spark = ()
            if disclosure.is_small(now) or disclosure.is_small(before):
                delta = None
        small = hide and disclosure.is_small(now)
        cards.append(
            Kpi(
                metric=m,
                label=metric_label(m),
                value=None if small or pd.isna(now) else float(now),
                text=disclosure.small_text() if small else metric_value(m, now),
                delta=delta,
                delta_color="off" if delta in _NO_ARROW else _DELTA_COLOURS[m],
                help=help_text,
                spark=spark,
                delta_arrow="off" if delta in _NO_ARROW else "auto",
            )
        )
    label = _label(latest, period)
    if partial:
        label += f" ({so_far_text(latest['period_start'], period, as_of)})"
    return cards, label, "" if base is None else _label(base, period)


def _label(row: pd.Series, period: str) -> str:
    return period_label(row["period_start"], period)


def _lag(rows: pd.DataFrame) -> int:
    if len(rows) < 2:
        return 1
    gap = (rows["period_start"].iloc[-1] - rows["period_start"].iloc[-2]).days
    return 12 if gap < 40 else 4 if gap < 120 else 1


def movers(
    table: pd.DataFrame,
    n: int = 5,
    *,
    compare: str = "previous",
    period: str = "month",
    wards: tuple[str, ...] | None = None,
    as_of: dt.date | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Wards with the biggest falls and rises in cases per 1,000 residents.

    The change is on the period before (``compare="previous"``) or the same period a year
    earlier (``"year"``), in the latest **whole** period (a period not over at ``as_of`` is
    skipped: it would show every ward falling). ``wards`` limits the lists to chosen wards.
    Only wards with at least ``MIN_CASES_TO_COMPARE`` cases in both periods take part (ranked
    in the latest, and as many in the period compared with, worked out from the change in
    cases); a ward is "improved" only if its rate fell and "getting worse" only if it rose.

    Returns the falls, the rises and what they compare ("Aug 2026 against Jul 2026"; empty
    when there is nothing to compare). :func:`movers_reasons` says why a list is empty.
    """
    frame, last = _comparable(table, compare=compare, period=period, wards=wards, as_of=as_of)
    if last is None:
        empty = pd.DataFrame(columns=[*_MOVER_COLUMNS])
        return empty, empty, ""
    frame = frame[frame["comparable"]][[*_MOVER_COLUMNS]]
    best = frame[frame["change_pct"] < 0].nsmallest(n, "change_pct").reset_index(drop=True)
    worst = frame[frame["change_pct"] > 0].nlargest(n, "change_pct").reset_index(drop=True)
    return best, worst, _compared_text(last, compare, period)


_MOVER_COLUMNS = ("ward_code", "ward_name", "cases_per_1k", "cases", "change_pct")


def _compared_text(last: Any, compare: str, period: str) -> str:
    months = {"month": 1, "quarter": 3, "year": 12}[period] if compare == "previous" else 12
    before = pd.Timestamp(last) - pd.DateOffset(months=months)
    return f"{period_label(last, period)} against {period_label(before, period)}"


def _comparable(
    table: pd.DataFrame,
    *,
    compare: str,
    period: str,
    wards: tuple[str, ...] | None,
    as_of: dt.date | None,
) -> tuple[pd.DataFrame, Any]:
    """The wards of the latest whole period with their change and whether it may be shown."""
    rows = table[table["ward_code"] != CITYWIDE]
    if wards is not None:
        rows = rows[rows["ward_code"].isin(wards)]
    starts = sorted(rows["period_start"].drop_duplicates())
    if as_of is not None:
        starts = [p for p in starts if is_complete(p, period, as_of)]
    if not starts:
        return rows.iloc[0:0], None
    last = starts[-1]
    latest = rows[rows["period_start"] == last]
    suffix = {"previous": "prev", "year": "yoy"}[compare]
    frame = latest.assign(change_pct=latest[f"cases_per_1k_change_{suffix}_pct"])
    cases = pd.to_numeric(frame["cases"], errors="coerce").astype("float64")
    enough = cases >= MIN_CASES_TO_COMPARE
    change_col = f"cases_change_{suffix}_pct"
    if change_col in frame.columns:  # the cases the period compared with had
        before = cases / (1 + pd.to_numeric(frame[change_col], errors="coerce") / 100)
        enough &= before.round() >= MIN_CASES_TO_COMPARE
    frame = frame.assign(
        enough=enough,
        comparable=enough & frame["rank_cases_per_1k"].notna() & frame["change_pct"].notna(),
    )
    return frame, last


def movers_reasons(
    table: pd.DataFrame,
    *,
    compare: str = "previous",
    period: str = "month",
    wards: tuple[str, ...] | None = None,
    as_of: dt.date | None = None,
) -> tuple[str, str]:
    """Why the "most improved" and the "getting worse" lists would be empty ("" when not).

    Examples: no whole period yet; no ward with enough cases in both periods (one rare type of
    case chosen); every ward compared rose (so none improved), or fell.
    """
    frame, last = _comparable(table, compare=compare, period=period, wards=wards, as_of=as_of)
    if last is None:
        text = "No whole period to compare yet."
        return text, text
    what = _compared_text(last, compare, period)
    if frame.empty:
        text = f"No ward has cases in {period_label(last, period)}."
        return text, text
    ok = frame[frame["comparable"]]
    if ok.empty:
        text = (
            f"No ward to list: none has at least {MIN_CASES_TO_COMPARE} cases in both "
            f"periods ({what}) with the types of case chosen, and a change on fewer cases "
            "is mostly chance. Choose more types of case, or a longer period (quarter or year)."
        )
        return text, text
    compared = plural(len(ok), "ward")
    fell = (
        ""
        if (ok["change_pct"] < 0).any()
        else f"No ward's rate fell ({what}, {compared} compared)."
    )
    rose = (
        ""
        if (ok["change_pct"] > 0).any()
        else f"No ward's rate rose ({what}, {compared} compared)."
    )
    return fell, rose


@dataclass(frozen=True)
class Freshness:
    latest_case: pd.Timestamp | None
    last_ingest: pd.Timestamp | None
    last_file: str


@st.cache_data(max_entries=4)
def freshness(revision: str) -> Freshness:
    """Latest case reported, and the newest committed load."""
    last = store().query("SELECT max(reported_at) AS last FROM cases")["last"].iloc[0]
    log = store().log()
    log = log[log["status"] == "committed"] if "status" in log.columns else log
    if log.empty:
        return Freshness(None if pd.isna(last) else last, None, "")
    newest = log.iloc[0]
    return Freshness(
        None if pd.isna(last) else last, newest["finished_at"], str(newest["file_name"])
    )


@dataclass
class OverviewView:
    kpis: list[Kpi]
    period: str
    compared_with: str
    city: pd.DataFrame
    best: pd.DataFrame
    worst: pd.DataFrame
    fresh: Freshness
    funding: Funding | None
    scope: str
    shown: str = ""  # which whole periods the figures cover (and why)
    partial: bool = False  # the latest period is not over yet
    movers_compare: str = ""  # "Aug 2026 against Jul 2026"
    movers_scope: str = "all wards"
    best_empty: str = ""  # why no ward is listed as improved ("" when some are)
    worst_empty: str = ""
    city_label: str = "Whole city"
    as_of: dt.date | None = None


def scope_text(f: Filters, names: dict[str, str] | None = None) -> str:
    """ "the whole city", "Anfield (the chosen ward)" or "the 3 chosen wards"."""
    if f.all_wards:
        return "the whole city"
    if len(f.wards) == 1:
        code = f.wards[0]
        return f"{(names or {}).get(code, code)} (the chosen ward)"
    return f"the {plural(len(f.wards), 'chosen ward')}"


def overview(f: Filters, compare: str = "previous") -> OverviewView:
    """Everything the overview page draws."""
    rev = revision()
    own = ward_period(
        rev,
        f.period,
        f.start,
        f.end,
        None if f.all_categories else tuple(sorted(f.categories)),
        None if f.all_wards else tuple(sorted(f.wards)),
    )
    city = own[own["ward_code"] == CITYWIDE].reset_index(drop=True)
    as_of = data_date(rev)
    # The whole city's total stays exact; the total of a few chosen wards is protected.
    cards, latest, base = kpis(city, compare, f.period, protect=not f.all_wards, as_of=as_of)
    ward_rows = _table(rev, f)
    best, worst, moved = movers(
        ward_rows, compare=compare, period=f.period, wards=_wards(f), as_of=as_of
    )
    best_empty, worst_empty = movers_reasons(
        ward_rows, compare=compare, period=f.period, wards=_wards(f), as_of=as_of
    )
    options = filter_options(rev)
    names = dict(options.wards) if options else {}
    last = city["period_start"].max() if len(city) else None
    return OverviewView(
        kpis=cards,
        period=latest,
        compared_with=base,
        city=city if f.all_wards else disclosure.protect(city, text=False, city_exact=False),
        best=best,
        worst=worst,
        fresh=freshness(rev),
        funding=funding(rev),
        scope=scope_text(f, names),
        shown=shown_text(city, f, as_of),
        partial=last is not None and as_of is not None and not is_complete(last, f.period, as_of),
        movers_compare=moved,
        best_empty=best_empty,
        worst_empty=worst_empty,
        as_of=as_of,
        movers_scope="all wards" if f.all_wards else scope_text(f, names),
        city_label="Whole city"
        if f.all_wards
        else ("Chosen ward" if len(f.wards) == 1 else "Chosen wards (total)"),
    )


# --- ward map ---------------------------------------------------------------------------------


@dataclass
class MapView:
    period: str
    table: pd.DataFrame  # one row per ward for the chosen period
    wards: Any  # simplified GeoDataFrame
    hexes: pd.DataFrame | None
    points: pd.DataFrame | None
    points_total: int
    funding: Funding | None
    dates: str = ""  # the days the hotspots and case points cover: the chosen period


def period_choices(f: Filters) -> dict[pd.Timestamp, str]:
    """The periods in view (start → display label), oldest first."""
    starts = _table(revision(), f)["period_start"].drop_duplicates().sort_values()
    return {s: period_label(s, f.period) for s in starts}


def ward_map(
    f: Filters, period: pd.Timestamp | None, *, hexes: bool = False, points: bool = False
) -> MapView:
    """Ward values for one period (latest by default), plus optional hotspots and case points."""
    rev = revision()
    table = _table(rev, f)
    starts = list(table["period_start"].drop_duplicates().sort_values())
    chosen = period if period in starts else (starts[-1] if starts else None)
    rows = table[(table["period_start"] == chosen) & (table["ward_code"] != CITYWIDE)]
    if not f.all_wards:
        rows = rows[rows["ward_code"].isin(f.wards)]
    # Hotspots and points cover the chosen period, like the ward colours (whole period).
    first = pd.Timestamp(chosen).date() if chosen is not None else f.start
    last = period_last_day(chosen, f.period) if chosen is not None else f.end
    hex_frame = hotspots(rev, first, last, _cats(f), _wards(f)) if hexes else None
    pts, total = (None, 0)
    if points:
        pts, total = case_points(rev, first, last, _cats(f), _wards(f))
    as_of = data_date(rev)
    label = "" if chosen is None else period_label(chosen, f.period)
    if chosen is not None and as_of is not None and not is_complete(chosen, f.period, as_of):
        label += f" ({so_far_text(chosen, f.period, as_of)})"
        last = min(last, as_of)
    return MapView(
        period=label,
        table=public_view(rows.reset_index(drop=True)),
        wards=map_wards(rev),
        hexes=hex_frame,
        points=pts,
        points_total=total,
        funding=funding(rev),
        dates=date_range_text(first, last),
    )


def _cats(f: Filters) -> tuple[str, ...] | None:
    return None if f.all_categories else tuple(sorted(f.categories))


def _wards(f: Filters) -> tuple[str, ...] | None:
    return None if f.all_wards else tuple(sorted(f.wards))


def _where(start: Any, end: Any, cats: tuple[str, ...] | None, wards: tuple[str, ...] | None):
    """SQL conditions on ``cases`` for the filters (London-local dates, inclusive)."""
    sql = [
        "status NOT IN ('cancelled', 'duplicate')",
        "CAST(reported_at AT TIME ZONE 'Europe/London' AS DATE) BETWEEN ? AND ?",
    ]
    params: list[Any] = [pd.Timestamp(start).date(), pd.Timestamp(end).date()]
    if cats is not None:
        sql.append(f"category IN ({', '.join('?' * len(cats))})")
        params += list(cats)
    if wards is not None:
        sql.append(f"ward_code IN ({', '.join('?' * len(wards))})")
        params += list(wards)
    return " AND ".join(sql), params


@st.cache_data(max_entries=16, show_spinner="Finding hotspots…")
def hotspots(
    revision: str,
    start: Any,
    end: Any,
    cats: tuple[str, ...] | None,
    wards: tuple[str, ...] | None,
) -> pd.DataFrame:
    """Cleansing cases counted in H3 hexagons (server-side bins; no points leave the server).

    Returns ``hex`` (H3 cell id) and ``cases``, most cases first.
    """
    where, params = _where(start, end, cats, wards)
    pts = store().query(
        f"SELECT latitude, longitude, status, closed_at FROM cases WHERE {where}", params
    )
    bins = metrics.hex_density(pts, resolution=HEX_RESOLUTION)
    return pd.DataFrame(
        {"hex": bins["h3_cell"].astype(str), "cases": bins["count"].astype("int64")}
    )


@st.cache_data(max_entries=16, show_spinner="Finding repeat locations…")
def repeat_locations(
    revision: str, start: Any, end: Any, cats: tuple[str, ...] | None, ward: str, n: int = 10
) -> pd.DataFrame:
    """A ward's locations with most repeat cases (``metrics.top_repeat_locations``).

    Uses the repeat flag the store keeps (``repeats.stored_repeat_cases``: the whole-store rule,
    the same as the ward table's ``repeat_cases``). A store without it (schema 1, until its next
    ingest) falls back to computing flags from the cases 90 days before ``start`` onwards.
    """
    where, params = _where(start, end, cats, (ward,))
    cases = stored_repeat_cases(store(), where, params)
    if cases is None:
        look_back = pd.Timestamp(start) - pd.Timedelta(days=90)
        where, params = _where(look_back, end, cats, (ward,))
        cases = store().query(
            "SELECT case_id, category, reported_at, closed_at, status, latitude, longitude, "
            f"ward_code, street FROM cases WHERE {where}",
            params,
        )
        if not cases.empty:
            cases["is_repeat"] = flag_repeats(cases).to_numpy()
            local = cases["reported_at"].dt.tz_convert("Europe/London").dt.date
            cases = cases[local >= pd.Timestamp(start).date()]
    if cases.empty:
        return pd.DataFrame(columns=["street", "top_category", "cases", "repeat_cases", "where"])
    top = metrics.top_repeat_locations(cases, ward, n=n)
    if top.empty:
        return pd.DataFrame(columns=["street", "top_category", "cases", "repeat_cases", "where"])
    top["top_category"] = [category_label(c) for c in top["top_category"]]
    top["last_reported"] = [uk_date(t) for t in top["last_reported"]]
    # each row is a 50 m square: a long street can hold several, told apart by where they are
    top["where"] = [
        f"{la:.4f}, {lo:.4f}" for la, lo in zip(top["latitude"], top["longitude"], strict=True)
    ]
    cols = ["street", "top_category", "cases", "repeat_cases", "last_reported", "where"]
    return top[[c for c in cols if c in top.columns]].reset_index(drop=True)


@st.cache_data(max_entries=4, show_spinner="Fetching cases…")
def case_points(
    revision: str,
    start: Any,
    end: Any,
    cats: tuple[str, ...] | None,
    wards: tuple[str, ...] | None,
    cap: int = POINT_CAP,
) -> tuple[pd.DataFrame, int]:
    """Individual *cleansing* cases (never enforcement), at most ``cap``, and how many cases
    with a location there are in all (cases without coordinates cannot be drawn)."""
    where, params = _where(start, end, cats, wards)
    total = int(
        store()
        .query(f"SELECT count(*) AS n FROM cases WHERE {where} AND latitude IS NOT NULL", params)[
            "n"
        ]
        .iloc[0]
    )
    rows = store().query(
        f"SELECT latitude, longitude, category, reported_at FROM cases "
        f"WHERE {where} AND latitude IS NOT NULL ORDER BY hash(case_id) LIMIT {int(cap)}",
        params,
    )
    rows["tooltip_title"] = [category_label(c) for c in rows["category"]]
    rows["tooltip_detail"] = [f"Reported {uk_date(t)}" for t in rows["reported_at"]]
    return rows[["latitude", "longitude", "tooltip_title", "tooltip_detail"]], total


# --- trends ------------------------------------------------------------------------------------


@dataclass
class TrendsView:
    table: pd.DataFrame  # all wards + city, every period in range (ward counts 1–4 as NaN)
    shown: pd.DataFrame  # the same rows for tables (ward counts 1–4 as "<5")
    wards: list[str]
    comparison: list[str]
    categories: pd.DataFrame  # category × period counts for the chosen wards (or city)
    funding: Funding | None
    scope: str
    period: str
    periods_shown: str = ""  # which whole periods the figures cover (and why)
    as_of: dt.date | None = None

    @property
    def partial(self) -> bool:
        """Whether the last period shown is not over yet (at ``as_of``)."""
        if self.as_of is None or self.table.empty:
            return False
        return not is_complete(self.table["period_start"].max(), self.period, self.as_of)


def trends(f: Filters, comparison: list[str]) -> TrendsView:
    """Ward × period table for the chart, plus cases by category over time."""
    rev = revision()
    cats = category_periods(rev, f.period, f.start, f.end, _cats(f), _wards(f))
    table = _table(rev, f)
    return TrendsView(
        table=disclosure.protect(table, text=False),
        shown=disclosure.protect(table, text=True),
        wards=[] if f.all_wards else list(f.wards),
        comparison=[c for c in comparison if f.all_wards or c not in f.wards],
        categories=cats.assign(category_label=[category_label(c) for c in cats["category"]]),
        funding=funding(rev),
        scope=scope_text(f, dict(filter_options(rev).wards) if filter_options(rev) else {}),
        period=f.period,
        periods_shown=shown_text(table, f, data_date(rev)),
        as_of=data_date(rev),
    )


def trend_rows(view: TrendsView, metric: str) -> pd.DataFrame:
    """The rows behind the ward trend chart (city, chosen and comparison wards) for the table."""
    codes = [CITYWIDE, *view.wards, *view.comparison]
    rows = view.shown[view.shown["ward_code"].isin(codes)]
    rows = rows.assign(period=[period_label(s, view.period) for s in rows["period_start"]])
    return rows[["ward_name", "period", metric]].reset_index(drop=True)


@st.cache_data(max_entries=16)
def category_periods(
    revision: str,
    period: str,
    start: Any,
    end: Any,
    cats: tuple[str, ...] | None,
    wards: tuple[str, ...] | None,
) -> pd.DataFrame:
    """Cases per category and period (months grouped into financial quarters or years).

    The dates are widened to whole periods, as the ward × period table's are (``start``/``end``
    select whole periods, docs/metrics.md): a chosen start in November must not make its
    quarter look half as busy as the next.
    """
    first = periods.key_of_timestamp(pd.Timestamp(start), period)  # type: ignore[arg-type]
    whole_start = periods.period_start(first, period)  # type: ignore[arg-type]
    where, params = _where(whole_start, period_last_day(end, period), cats, wards)
    monthly = store().query(
        "SELECT category, year(local) AS y, month(local) AS m, count(*) AS cases FROM ("
        "SELECT category, reported_at AT TIME ZONE 'Europe/London' AS local FROM cases "
        f"WHERE {where}) GROUP BY ALL",
        params,
    )
    if monthly.empty:
        return pd.DataFrame(columns=["category", "period_start", "period", "cases"])
    keys = periods.period_keys_from_parts(
        monthly["y"].to_numpy(np.int64), monthly["m"].to_numpy(np.int64), period
    )
    monthly["key"] = keys
    out = monthly.groupby(["category", "key"], as_index=False)["cases"].sum()
    out["period_start"] = [periods.period_start(int(k), period) for k in out["key"]]
    out["period"] = [period_label(s, period) for s in out["period_start"]]
    return out[["category", "period_start", "period", "cases"]]


# --- ward profile -----------------------------------------------------------------------------


@dataclass
class ProfileView:
    ward_code: str
    ward_name: str
    rows: pd.DataFrame  # the ward's rows, every period
    city: pd.DataFrame  # city rows, every period
    latest: pd.DataFrame  # every ward, latest period (for the rank)
    period: str
    rank: int | None
    n_ranked: int
    kpis: list[Kpi]
    categories: pd.DataFrame
    hexes: pd.DataFrame
    streets: pd.DataFrame
    funnel: pd.DataFrame
    spend: pd.DataFrame
    funded: bool
    funding: Funding | None
    bounds: tuple[float, float, float, float] | None = None
    wards_geo: Any = field(default=None)
    shown: str = ""  # which whole periods the figures cover (and why)
    as_of: dt.date | None = None
    compared_with: str = ""  # the period the cards' changes are against ("" when none)


def ward_profile(f: Filters, ward: str) -> ProfileView:
    """One ward on one page: its figures, trend, categories, hotspots, enforcement and spend."""
    rev = revision()
    table = _table(rev, f)
    rows = table[table["ward_code"] == ward].reset_index(drop=True)
    city = table[table["ward_code"] == CITYWIDE].reset_index(drop=True)
    last = table["period_start"].max()
    latest = table[(table["period_start"] == last) & (table["ward_code"] != CITYWIDE)]
    rank = rows.loc[rows["period_start"] == last, "rank_cases_per_1k"]
    rank_value = None if rank.empty or pd.isna(rank.iloc[0]) else int(rank.iloc[0])
    as_of = data_date(rev)
    cards, period, base = kpis(rows, "previous", f.period, protect=True, as_of=as_of)
    # Nothing below draws enforcement columns, but keep the exact ward counts out of the view.
    rows = disclosure.protect(rows, text=False)
    latest = disclosure.protect(latest, text=False)
    cats = category_periods(rev, f.period, f.start, f.end, _cats(f), (ward,))
    by_cat = cats.groupby("category", as_index=False)["cases"].sum()
    geo = map_wards(rev)
    shape = geo[geo["ward_code"] == ward]
    fund = funding(rev)
    return ProfileView(
        ward_code=ward,
        ward_name=str(rows["ward_name"].iloc[0]) if len(rows) else ward,
        rows=rows,
        city=city,
        latest=latest.reset_index(drop=True),
        period=period,
        rank=rank_value,
        n_ranked=int(latest["rank_cases_per_1k"].notna().sum()),
        kpis=cards,
        categories=by_cat,
        hexes=hotspots(rev, f.start, f.end, _cats(f), (ward,)),
        streets=repeat_locations(rev, f.start, f.end, _cats(f), ward),
        funnel=enforcement_funnel(rev, f.start, f.end, ward, disclosure.threshold()),
        # pounds and pence: spend spread over days leaves float noise (48099.94000000001)
        spend=rows[["period_start", "spend_gbp", "cost_per_case_closed"]]
        .round({"spend_gbp": 2, "cost_per_case_closed": 2})
        .assign(period=[period_label(p, f.period) for p in rows["period_start"]]),
        funded=fund is not None and ward in fund.wards,
        funding=fund,
        bounds=tuple(shape.total_bounds) if len(shape) else None,
        wards_geo=shape,
        shown=shown_text(rows, f, as_of),
        as_of=as_of,
        compared_with=base,
    )


def changes_text(period: str, compared_with: str, grain: str) -> str:
    """What a row of KPI cards compares, in words.

    Examples
    --------
    >>> changes_text("Aug 2026", "Jul 2026", "month")
    'Latest period: Aug 2026. Changes are against Jul 2026, the month before.'
    >>> changes_text("2026/27 (Apr–Sep 2026 so far)", "", "year")
    'Latest period: 2026/27 (Apr–Sep 2026 so far). No changes are shown: this period is not over yet, and part of a period is not compared with a whole one.'
    """
    noun = {"month": "month", "quarter": "quarter", "year": "financial year"}[grain]
    if not period:
        return ""
    if compared_with:
        return f"Latest period: {period}. Changes are against {compared_with}, the {noun} before."
    if "so far" in period:
        return (
            f"Latest period: {period}. No changes are shown: this period is not over yet, and "
            "part of a period is not compared with a whole one."
        )
    return f"Latest period: {period}. No changes are shown: there is no {noun} before it to compare with."


def ward_and_city(view: ProfileView) -> pd.DataFrame:
    """The ward's rows and the city rows together, for the profile trend chart."""
    return pd.concat([view.city, view.rows], ignore_index=True)


def outline(view: ProfileView) -> Any:
    """The ward's boundary as a see-through map layer, with tooltip fields."""
    geo = view.wards_geo
    shape = pd.DataFrame(
        {
            "ward_code": geo["ward_code"].to_numpy(),
            "ward_name": geo["ward_name"].to_numpy(),
            "geometry": list(geo["geojson"]),
        }
    )
    shape["fill_color"] = [[0, 0, 0, 0]] * len(shape)
    shape["tooltip_title"] = shape["ward_name"].astype(str)
    shape["tooltip_detail"] = ""
    return shape


@st.cache_data(max_entries=16)
def enforcement_funnel(
    revision: str, start: Any, end: Any, ward: str, threshold: int = 5
) -> pd.DataFrame:
    """Enforcement stages in a ward, with counts of 1–4 hidden ("<5") to protect individuals.

    ``count`` is exact and only used to decide whether a chart may be drawn; pages show
    ``shown``.
    """
    counts = store().query(
        "SELECT action, count(*) AS n, count(*) FILTER (WHERE outcome = 'paid') AS paid "
        "FROM enforcement WHERE ward_code = ? AND "
        "CAST(issued_at AT TIME ZONE 'Europe/London' AS DATE) BETWEEN ? AND ? GROUP BY action",
        [ward, pd.Timestamp(start).date(), pd.Timestamp(end).date()],
    )
    by = dict(zip(counts["action"], counts["n"], strict=True))
    paid = counts.loc[counts["action"] == "fixed_penalty_notice", "paid"]
    by["fpn_paid"] = int(paid.iloc[0]) if len(paid) else 0
    frame = pd.DataFrame(
        {"stage": [label for _, label in FUNNEL], "count": [int(by.get(k, 0)) for k, _ in FUNNEL]}
    )
    shown = suppress_small_counts(frame, ["count"], threshold=threshold)
    frame["shown"] = [str(v) for v in shown["count"]]
    frame["suppressed"] = (frame["count"] > 0) & (frame["count"] < threshold)
    return frame


def funnel_text(frame: pd.DataFrame) -> str:
    """A caption for the funnel in plain words."""
    parts = [f"{row.stage.lower()}: {row.shown}" for row in frame.itertuples()]
    return "; ".join(parts).capitalize()


def sentence(text: str) -> str:
    """The text with its first letter in capitals: "all categories" → "All categories"."""
    return text[:1].upper() + text[1:]


def ordinal(n: int) -> str:
    """1 → "1st", 22 → "22nd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
