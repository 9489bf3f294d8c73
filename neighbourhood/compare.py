"""Compared with other councils: DEFRA's fly-tipping returns (docs/metrics.md, "Compared with
other councils").

The returns come from two places, put together by :func:`load_returns`: the release bundled in
``data/la_returns/`` (so the comparison works on a fresh install) and any newer release loaded
into the store with ``ingest --kind la-returns`` (its rows win, council by council, year by year
and sheet by sheet). :func:`comparison_table` is the table behind the page and the
``compare`` command: one row per council and year, the metrics, whether the council is in the
comparison group and its rank in the group with a rank interval.

Groups (:data:`GROUPS`): the council's region, the English Core Cities, all of England, or its
nearest neighbours by population and deprivation (:func:`nearest_neighbours`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from neighbourhood import la_returns

if TYPE_CHECKING:  # pragma: no cover
    from neighbourhood.store import Store

__all__ = [
    "GROUPS",
    "Comparison",
    "comparison_table",
    "council_choices",
    "default_council",
    "group_members",
    "load_returns",
    "nearest_neighbours",
    "own_extract",
    "rank_intervals",
]

DATA_DIR: Final[Path] = la_returns.DATA_DIR
CORE_CITIES_PATH: Final[Path] = DATA_DIR / "core_cities.csv"
IMD_PATH: Final[Path] = DATA_DIR / "imd2025_la.csv"
WARD_LOOKUP_PATH: Final[Path] = DATA_DIR / "ward_la_lookup.csv"
SETTING: Final[str] = "council"
"""Store setting (``Store.setting``) that remembers the council the page is about."""

GROUPS: Final[dict[str, str]] = {
    "region": "Councils in its region",
    "core-cities": "The English Core Cities",
    "neighbours": "Nearest neighbours (population and deprivation)",
    "england": "All councils in England",
}
NEIGHBOURS_K: Final[int] = 15
"""How many nearest neighbours (the CIPFA convention for council comparator groups)."""
RANK_DRAWS: Final[int] = 1000
RANK_LEVEL: Final[float] = 0.90
RANK_SEED: Final[int] = 20
RANKED: Final[tuple[str, ...]] = ("incidents_per_1k", "actions_per_100_incidents")
"""Metrics ranked within the group (1 = the highest value)."""
LAND: Final[dict[str, str]] = {
    "land_highway": "Highway",
    "land_footpath": "Footpath or bridleway",
    "land_back_alley": "Back alleyway",
    "land_railway": "Railway",
    "land_council": "Council land",
    "land_agricultural": "Agricultural",
    "land_private": "Private or residential",
    "land_commercial": "Commercial or industrial",
    "land_watercourse": "Watercourse or bank",
    "land_other": "Other or unidentified",
}
SIZE: Final[dict[str, str]] = {
    "size_black_bag": "Single black bag",
    "size_single_item": "Single item",
    "size_car_boot": "Car boot or less",
    "size_small_van": "Small van load",
    "size_transit_van": "Transit van load",
    "size_tipper_lorry": "Tipper lorry load",
    "size_significant": "Significant or multiple loads",
}
TABLE_COLUMNS: Final[tuple[str, ...]] = (
    "ons_code",
    "name",
    "region",
    "year",
    "in_group",
    "is_council",
    "incidents",
    "population",
    "incidents_per_1k",
    "actions",
    "actions_per_100_incidents",
    "fpns",
    "fpns_per_100_incidents",
    "prosecutions",
    "prosecutions_per_100_incidents",
    "clearance_cost_gbp",
    "cost_per_incident",
    "reporting_basis",
    "rank_incidents_per_1k",
    "rank_incidents_per_1k_low",
    "rank_incidents_per_1k_high",
    "rank_actions_per_100_incidents",
    "rank_actions_per_100_incidents_low",
    "rank_actions_per_100_incidents_high",
    "group_size",
    "source",
)
"""Columns of :func:`comparison_table`, then the land-type and size shares (percent)."""


class CompareError(ValueError):
    """A comparison that cannot be made (unknown council, year or group): a plain sentence."""


# ---- the returns -------------------------------------------------------------------------------


def _store_has_returns(store: Store) -> bool:
    if store is None or not store.exists():
        return False
    tables = store.query("SELECT table_name FROM duckdb_tables() WHERE table_name = 'la_returns'")
    return len(tables) > 0


def load_returns(store: Store | None = None, bundled: Path | None = None) -> pd.DataFrame:
    """DEFRA's returns, one row per council and year: the bundled release, then the store's.

    A newer release loaded into the store replaces the bundled figures of each council, year
    and sheet (incidents or actions) it gives; the bundled copy is never changed.

    Parameters
    ----------
    store
        The store (None or one without returns: the bundled release alone).
    bundled
        Another bundled file (default ``data/la_returns/defra_flytipping_la.csv.gz``).

    Returns
    -------
    pandas.DataFrame
        ``ons_code``, ``la_name``, ``region``, ``fin_year``, ``reporting_basis``, every measure
        of :mod:`neighbourhood.la_returns` and ``source`` (``bundled`` or the ingest id).

    Examples
    --------
    >>> r = load_returns()
    >>> r.query("ons_code == 'E08000012' and fin_year == '2021-22'")["actions"].item()
    1.0
    """
    base = la_returns.read_bundled(bundled)
    base["source"] = "bundled"
    if store is None or not _store_has_returns(store):
        return base
    loaded = store.query("SELECT * FROM la_returns")
    if loaded.empty:
        return base
    keys = ["ons_code", "fin_year"]
    out = base.set_index(keys)
    for part, (_, measures) in la_returns.PARTS.items():
        rows = loaded[loaded["part"] == part].set_index(keys)
        if rows.empty:
            continue
        cols = list(measures)
        ident = ["la_name", "region"] + (["reporting_basis"] if part == "incidents" else [])
        new_index = rows.index.difference(out.index)
        if len(new_index):
            out = pd.concat([out, pd.DataFrame(index=new_index, columns=out.columns)])
        out.loc[rows.index, cols] = rows[cols].to_numpy(dtype="float64")
        for col in ident:
            given = rows[col].where(rows[col].notna(), out.loc[rows.index, col])
            out.loc[rows.index, col] = given.to_numpy()
        out.loc[rows.index, "source"] = rows["ingest_id"].to_numpy()
    out = out.reset_index()
    for m in la_returns.MEASURES:
        out[m] = pd.to_numeric(out[m], errors="coerce").astype("float64")
    out["region"] = out["region"].map(la_returns.region_name)
    return out.sort_values(keys, ignore_index=True)


def council_choices(returns: pd.DataFrame) -> dict[str, str]:
    """Council code → its latest name (``Liverpool``), every council in the returns, by name.

    Examples
    --------
    >>> council_choices(load_returns())["E08000012"]
    'Liverpool'
    """
    latest = returns.sort_values("fin_year").groupby("ons_code").tail(1)
    names = dict(zip(latest["ons_code"], latest["la_name"].fillna(latest["ons_code"]), strict=True))
    return dict(sorted(names.items(), key=lambda kv: (str(kv[1]).lower(), kv[0])))


def years(returns: pd.DataFrame) -> list[str]:
    """Financial years in the returns, oldest first (``2012-13`` …)."""
    return sorted(returns["fin_year"].dropna().unique().tolist())


# ---- metrics -----------------------------------------------------------------------------------


def _ratio(num: pd.Series, den: pd.Series, scale: float) -> pd.Series:
    den = den.where(den > 0)
    return (num * scale / den).astype("float64")


def with_metrics(returns: pd.DataFrame) -> pd.DataFrame:
    """Add the comparison metrics and the land-type and size shares (percent) to the returns.

    Parameters
    ----------
    returns
        :func:`load_returns` rows.

    Returns
    -------
    pandas.DataFrame
        The rows with ``incidents_per_1k`` (incidents × 1000 / the return's population),
        ``actions_per_100_incidents``, ``fpns_per_100_incidents``,
        ``prosecutions_per_100_incidents``, ``cost_per_incident``, ``share_<land or size>``;
        NaN wherever a figure or a denominator is missing or zero.

    Examples
    --------
    >>> r = with_metrics(load_returns()).set_index(["ons_code", "fin_year"])
    >>> round(r.loc[("E08000012", "2021-22"), "incidents_per_1k"], 2)
    39.17
    """
    out = returns.copy()
    out["incidents_per_1k"] = _ratio(out["incidents"], out["la_population"], 1000.0)
    out["actions_per_100_incidents"] = _ratio(out["actions"], out["incidents"], 100.0)
    out["fpns_per_100_incidents"] = _ratio(out["fpns"], out["incidents"], 100.0)
    out["prosecutions_per_100_incidents"] = _ratio(out["prosecutions"], out["incidents"], 100.0)
    out["cost_per_incident"] = _ratio(out["clearance_cost_gbp"], out["incidents"], 1.0)
    for family in (LAND, SIZE):
        cols = list(family)
        total = out[cols].sum(axis=1, min_count=len(cols))
        for col in cols:
            out[f"share_{col}"] = _ratio(out[col], total, 100.0)
    return out


# ---- groups ------------------------------------------------------------------------------------


def core_cities(path: Path | None = None) -> pd.DataFrame:
    """The English Core Cities (``data/la_returns/core_cities.csv``: ``ons_code``, ``name``…)."""
    return pd.read_csv(path or CORE_CITIES_PATH, dtype=str, comment="#")


def imd_scores(path: Path | None = None) -> pd.Series:
    """IMD 2025 average score per council code (MHCLG; higher = more deprived)."""
    imd = pd.read_csv(path or IMD_PATH, dtype={"ons_code": str})
    return imd.set_index("ons_code")["imd_average_score"].astype("float64")


def _latest_population(returns: pd.DataFrame) -> pd.Series:
    given = returns[returns["la_population"] > 0].sort_values("fin_year")
    return given.groupby("ons_code")["la_population"].last()


def nearest_neighbours(
    returns: pd.DataFrame,
    council: str,
    k: int = NEIGHBOURS_K,
    imd: pd.Series | None = None,
) -> list[str]:
    """The ``k`` councils most like ``council`` in population and deprivation, nearest first.

    Distance: Euclidean over two standardised measures, the natural log of the population
    (the latest population the returns give for each council) and the IMD 2025 average score,
    each divided by its standard deviation across all councils that have both. Councils without
    either (former districts abolished before IMD 2025, for example) are left out.

    Parameters
    ----------
    returns
        :func:`load_returns` rows.
    council
        The council's ONS code.
    k
        How many neighbours.
    imd
        IMD score per code (default :func:`imd_scores`).

    Returns
    -------
    list of str
        Codes, the council itself not included.

    Raises
    ------
    CompareError
        The council has no population in the returns or no IMD 2025 score.

    Examples
    --------
    >>> "E08000003" in nearest_neighbours(load_returns(), "E08000012")  # Manchester
    True
    """
    imd = imd_scores() if imd is None else imd
    pop = _latest_population(returns)
    both = pd.DataFrame({"log_pop": np.log(pop), "imd": imd}).dropna()
    if council not in both.index:
        raise CompareError(
            f"{council} has no population in DEFRA's returns or no IMD 2025 score, so it has no "
            "nearest neighbours: choose another group."
        )
    scaled = both / both.std(ddof=0)
    distance = np.sqrt(((scaled - scaled.loc[council]) ** 2).sum(axis=1)).drop(council)
    return distance.sort_values(kind="stable").head(k).index.tolist()


def group_members(returns: pd.DataFrame, council: str, group: str, year: str) -> set[str]:
    """Codes in ``council``'s comparison group for ``year`` (the council always included).

    Parameters
    ----------
    returns
        :func:`load_returns` rows.
    council
        The council's ONS code.
    group
        One of :data:`GROUPS`.
    year
        A financial year (``2021-22``): the region is the council's region that year.

    Returns
    -------
    set of str

    Examples
    --------
    >>> r = load_returns()
    >>> sorted(group_members(r, "E08000012", "core-cities", "2021-22"))[:2]
    ['E06000018', 'E06000023']
    """
    if group not in GROUPS:
        raise CompareError(f"unknown group {group!r}: choose one of {', '.join(GROUPS)}")
    that_year = returns[returns["fin_year"] == year]
    if group == "england":
        members = set(that_year["ons_code"])
    elif group == "region":
        mine = returns[returns["ons_code"] == council].sort_values("fin_year")
        here = mine[mine["fin_year"] == year]
        region = (here if len(here) else mine)["region"].dropna()
        if region.empty:
            raise CompareError(f"{council} has no region in DEFRA's returns.")
        members = set(that_year.loc[that_year["region"] == region.iloc[-1], "ons_code"])
    elif group == "core-cities":
        members = set(core_cities()["ons_code"])
    else:
        members = set(nearest_neighbours(returns, council))
    return members | {council}


# ---- rank intervals ----------------------------------------------------------------------------


def _ranks_desc(values: np.ndarray) -> np.ndarray:
    """Rank 1 = highest; ties share the lower number (as ``rank(method='min')``). Rows × draws."""
    from scipy.stats import rankdata

    return rankdata(-values, axis=0, method="min").astype("float64")


def rank_intervals(
    numerator: np.ndarray,
    denominator: np.ndarray,
    *,
    denominator_is_count: bool,
    draws: int = RANK_DRAWS,
    level: float = RANK_LEVEL,
    seed: int = RANK_SEED,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranks of ``numerator / denominator`` (1 = highest) and a Poisson rank interval for each.

    Each draw replaces every count by a draw from its Jeffreys posterior, Gamma(count + ½, 1)
    (so a count of 0 still varies), the denominator too when it is a count (incidents), not
    when it is a population; the rates are ranked in every draw, and the interval is the
    central ``level`` share of a council's ranks. It says how far the rank could move by the
    chance in the counts alone; it says nothing about councils counting differently.

    Parameters
    ----------
    numerator, denominator
        Counts per council (NaN or a denominator ≤ 0: not ranked).
    denominator_is_count
        Draw the denominator too (True for incidents, False for a population).
    draws, level, seed
        Number of draws, interval level, random seed (fixed: the same table every time).

    Returns
    -------
    rank, low, high
        Float arrays (NaN where not ranked).

    Examples
    --------
    >>> r, lo, hi = rank_intervals(np.array([10.0, 5000.0, 20.0]), np.array([1.0, 1.0, 1.0]),
    ...     denominator_is_count=False)
    >>> r.tolist(), hi.tolist()[1]
    ([3.0, 1.0, 2.0], 1.0)
    """
    num = np.asarray(numerator, dtype="float64")
    den = np.asarray(denominator, dtype="float64")
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    n = len(num)
    rank = np.full(n, np.nan)
    low = np.full(n, np.nan)
    high = np.full(n, np.nan)
    if not ok.any():
        return rank, low, high
    idx = np.flatnonzero(ok)
    rank[idx] = _ranks_desc((num[idx] / den[idx])[:, None])[:, 0]
    rng = np.random.default_rng(seed)
    sim_num = rng.gamma(num[idx][:, None] + 0.5, 1.0, size=(len(idx), draws))
    if denominator_is_count:
        sim_den = rng.gamma(den[idx][:, None] + 0.5, 1.0, size=(len(idx), draws))
    else:
        sim_den = np.repeat(den[idx][:, None], draws, axis=1)
    ranks = _ranks_desc(sim_num / sim_den)
    tail = (1.0 - level) / 2.0
    low[idx] = np.floor(np.quantile(ranks, tail, axis=1))
    high[idx] = np.ceil(np.quantile(ranks, 1.0 - tail, axis=1))
    return rank, low, high


# ---- the table ---------------------------------------------------------------------------------


def comparison_table(
    returns: pd.DataFrame,
    council: str,
    group: str = "core-cities",
    year: str | None = None,
) -> pd.DataFrame:
    """The table behind the page and ``compare``: one row per council and year.

    Parameters
    ----------
    returns
        :func:`load_returns` rows.
    council
        The council's ONS code (``E08000012``).
    group
        One of :data:`GROUPS`.
    year
        One financial year (``2021-22``); None for every year.

    Returns
    -------
    pandas.DataFrame
        :data:`TABLE_COLUMNS` and the land-type and size shares: every council in the returns
        for the year(s), ``in_group`` for the group of each year (the council included),
        ``is_council`` for the council, ranks within the group (in-group rows only).

    Raises
    ------
    CompareError
        Unknown council, year or group, or no nearest neighbours for this council.

    Examples
    --------
    >>> t = comparison_table(load_returns(), "E08000012", "core-cities", "2021-22")
    >>> t.loc[t["is_council"], ["incidents", "actions"]].values.tolist()
    [[18976.0, 1.0]]
    """
    known = set(returns["ons_code"])
    if council not in known:
        raise CompareError(
            f"{council!r} is not a council in DEFRA's returns: give an English council's ONS "
            "code such as E08000012 (Liverpool)."
        )
    all_years = years(returns)
    if year is not None and year not in all_years:
        given = la_returns.financial_year(year)
        if given not in all_years:
            raise CompareError(
                f"no returns for {year!r}: the years are {all_years[0]} to {all_years[-1]}"
            )
        year = given
    if group not in GROUPS:
        raise CompareError(f"unknown group {group!r}: choose one of {', '.join(GROUPS)}")
    rows = with_metrics(returns)
    if year is not None:
        rows = rows[rows["fin_year"] == year]
    names = council_choices(returns)
    if group == "neighbours":
        fixed = group_members(returns, council, group, all_years[-1])
    parts: list[pd.DataFrame] = []
    for fin_year, block in rows.groupby("fin_year", sort=True):
        block = block.copy()
        members = (
            fixed if group == "neighbours" else group_members(returns, council, group, fin_year)
        )
        block["in_group"] = block["ons_code"].isin(members)
        block["is_council"] = block["ons_code"] == council
        block["group_size"] = int(block["in_group"].sum())
        inside = block["in_group"].to_numpy()
        for metric, num, den, counted in (
            ("incidents_per_1k", "incidents", "la_population", False),
            ("actions_per_100_incidents", "actions", "incidents", True),
        ):
            rank = np.full(len(block), np.nan)
            low = rank.copy()
            high = rank.copy()
            r, lo, hi = rank_intervals(
                block.loc[inside, num].to_numpy(),
                block.loc[inside, den].to_numpy(),
                denominator_is_count=counted,
            )
            rank[inside], low[inside], high[inside] = r, lo, hi
            block[f"rank_{metric}"] = pd.array(rank, dtype="Float64").astype("Int64")
            block[f"rank_{metric}_low"] = pd.array(low, dtype="Float64").astype("Int64")
            block[f"rank_{metric}_high"] = pd.array(high, dtype="Float64").astype("Int64")
        parts.append(block)
    table = pd.concat(parts, ignore_index=True)
    table["name"] = table["ons_code"].map(names).fillna(table["la_name"])
    table = table.rename(columns={"fin_year": "year", "la_population": "population"})
    shares = [f"share_{c}" for c in (*LAND, *SIZE)]
    table = table[[*TABLE_COLUMNS, *shares]]
    return table.sort_values(
        ["year", "in_group", "incidents_per_1k"],
        ascending=[True, False, False],
        ignore_index=True,
        na_position="last",
    )


# ---- the council -------------------------------------------------------------------------------


def ward_lookup(path: Path | None = None) -> dict[str, str]:
    """Ward code → council code (``data/la_returns/ward_la_lookup.csv``, extendable).

    The file takes ``ward_code, ons_code`` or ONS's lookup headers (``WD23CD``…``LAD23CD``).
    """
    table = pd.read_csv(path or WARD_LOOKUP_PATH, dtype=str)
    cols = {c.lower(): c for c in table.columns}
    ward = cols.get("ward_code") or next((c for k, c in cols.items() if k.startswith("wd")), None)
    lad = cols.get("ons_code") or next(
        (c for k, c in cols.items() if k.startswith("lad") and k.endswith("cd")), None
    )
    if ward is None or lad is None:
        return {}
    pairs = table[[ward, lad]].dropna()
    return dict(zip(pairs[ward].str.strip(), pairs[lad].str.strip(), strict=True))


@dataclass(frozen=True)
class CouncilChoice:
    """The council a store is about, and how that was decided."""

    code: str | None
    how: str  # "remembered", "wards", "none"


def council_from_wards(codes: list[str], lookup: dict[str, str] | None = None) -> str | None:
    """The council most of these ward codes belong to (at least half of them), else None.

    Examples
    --------
    >>> council_from_wards(["E05015277", "E05015278", "E05900001"])
    'E08000012'
    >>> council_from_wards(["E05900001", "E05900002"]) is None
    True
    """
    lookup = ward_lookup() if lookup is None else lookup
    found = pd.Series([lookup.get(str(c).strip()) for c in codes], dtype="object").dropna()
    if found.empty or not codes:
        return None
    top = found.value_counts()
    return str(top.index[0]) if top.iloc[0] * 2 >= len(codes) else None


_NAME_NOISE = re.compile(
    r"\b(city of|county of|royal borough of|london borough of|metropolitan borough of|"
    r"borough of|district of|city council|county council|borough council|district council|"
    r"council|metropolitan)\b"
)


def name_key(name: object) -> str:
    """A council's name without the words councils vary on, letters and digits only.

    Examples
    --------
    >>> name_key("Bristol, City of") == name_key("Bristol City Council") == "bristol"
    True
    >>> name_key("Newcastle-upon-Tyne") == name_key("Newcastle upon Tyne")
    True
    """
    text = _NAME_NOISE.sub(" ", str(name).lower())
    return re.sub(r"[^0-9a-z]", "", text)


def council_from_name(name: str, returns: pd.DataFrame) -> str | None:
    """The one council whose name in the returns (any year) is ``name``; None if none or several.

    Examples
    --------
    >>> council_from_name("Liverpool City Council", load_returns())
    'E08000012'
    """
    key = name_key(name)
    if not key:
        return None
    names = returns[["ons_code", "la_name"]].dropna().drop_duplicates()
    codes = set(names.loc[names["la_name"].map(name_key) == key, "ons_code"])
    return codes.pop() if len(codes) == 1 else None


def _boundary_council(store: Store) -> str | None:
    """The council the active boundary file named in its own columns (its ingest report)."""
    log = store.query(
        "SELECT details FROM ingest_log WHERE kind = 'wards' AND status = 'committed' "
        "ORDER BY seq DESC LIMIT 1"
    )
    if log.empty:
        return None
    try:
        found = json.loads(str(log["details"].iloc[0])).get("local_authority") or {}
    except (ValueError, AttributeError):
        return None
    if not isinstance(found, dict):
        return None
    code = str(found.get("code") or "").strip().upper()
    returns = load_returns(store)
    if code and code in set(returns["ons_code"]):
        return code
    name = found.get("name")
    return council_from_name(str(name), returns) if name else None


def default_council(store: Store | None) -> CouncilChoice:
    """The store's council: remembered (``Store.setting('council')``), else from its wards.

    Parameters
    ----------
    store
        The store (None or missing: no council).

    Returns
    -------
    CouncilChoice
        ``how`` is ``remembered``, ``wards`` (the active ward codes, through the ward lookup),
        ``boundary file`` (a council code or name column of the active boundary file, such as
        ``LAD23CD`` or ``district``, with one value for every ward) or ``none``. The synthetic
        demo's invented ward codes and fields reveal no council.
    """
    if store is None or not store.exists():
        return CouncilChoice(None, "none")
    remembered = store.setting(SETTING)
    if remembered:
        return CouncilChoice(remembered, "remembered")
    wards = store.query("SELECT ward_code FROM active_wards")
    code = council_from_wards(wards["ward_code"].astype(str).tolist()) if len(wards) else None
    if code:
        return CouncilChoice(code, "wards")
    code = _boundary_council(store)
    return CouncilChoice(code, "boundary file") if code else CouncilChoice(None, "none")


def is_demo_store(store: Store | None) -> bool:
    """Whether the store is the synthetic demo's (the marker inside it, ``Store.kind``)."""
    if store is None or not store.exists():
        return False
    return store.kind() == "demo"


# ---- the council's own extract -----------------------------------------------------------------

COVERAGE_SLACK_DAYS: Final[int] = 7
"""A financial year counts as covered when the extract starts within a week of 1 April and
ends within a week of 31 March (over every type of case)."""


def _fy_bounds(fin_year: str) -> tuple[dt.date, dt.date]:
    start = int(fin_year[:4])
    return dt.date(start, 4, 1), dt.date(start + 1, 3, 31)


def own_extract(store: Store | None, returns: pd.DataFrame, council: str) -> pd.DataFrame:
    """The store's own fly-tipping count per financial year beside what the council told DEFRA.

    Own count: cleansing cases of category ``fly_tipping`` reported in the year (Europe/London
    dates), cancelled and duplicate cases left out (as everywhere in the product).

    Parameters
    ----------
    store
        The council's store.
    returns
        :func:`load_returns` rows.
    council
        The council whose return is set beside the extract.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``own_cases``, ``reported_to_defra``, ``gap`` (own − reported),
        ``gap_pct`` (gap as a percent of the reported figure), ``covered`` (the extract spans
        the whole year), ``first_day``, ``last_day`` (of the extract within that year); only
        years the store has fly-tipping cases for; ``gap`` is NA where the year is not covered
        or DEFRA has no figure.
    """
    columns = [
        "year",
        "own_cases",
        "reported_to_defra",
        "gap",
        "gap_pct",
        "covered",
        "first_day",
        "last_day",
    ]
    if store is None or not store.exists():
        return pd.DataFrame(columns=columns)
    span = store.query(
        "SELECT min(CAST(timezone('Europe/London', reported_at) AS DATE)) AS first_day, "
        "max(CAST(timezone('Europe/London', reported_at) AS DATE)) AS last_day FROM cases"
    )
    counts = store.query(
        "SELECT CAST(timezone('Europe/London', reported_at) AS DATE) AS day, count(*) AS n "
        "FROM cases WHERE category = 'fly_tipping' "
        "AND (status IS NULL OR status NOT IN ('cancelled', 'duplicate')) GROUP BY ALL"
    )
    if counts.empty or span["first_day"].isna().all():
        return pd.DataFrame(columns=columns)
    first = pd.Timestamp(span["first_day"].iloc[0]).date()
    last = pd.Timestamp(span["last_day"].iloc[0]).date()
    days = pd.to_datetime(counts["day"])
    fy_start = np.where(days.dt.month >= 4, days.dt.year, days.dt.year - 1)
    labels = [f"{y}-{str(y + 1)[-2:]}" for y in fy_start]
    own = counts.assign(year=labels).groupby("year")["n"].sum()
    mine = returns[returns["ons_code"] == council].set_index("fin_year")["incidents"]
    rows = []
    slack = dt.timedelta(days=COVERAGE_SLACK_DAYS)
    for year, n in own.items():
        start, end = _fy_bounds(str(year))
        covered = first <= start + slack and last >= end - slack
        reported = mine.get(year, np.nan)
        gap = n - reported if covered and pd.notna(reported) else np.nan
        rows.append(
            {
                "year": year,
                "own_cases": int(n),
                "reported_to_defra": reported,
                "gap": gap,
                "gap_pct": gap * 100.0 / reported if pd.notna(gap) and reported > 0 else np.nan,
                "covered": bool(covered),
                "first_day": max(first, start),
                "last_day": min(last, end),
            }
        )
    return pd.DataFrame(rows, columns=columns)


# ---- a summary for the page and the command line -----------------------------------------------


@dataclass
class Comparison:
    """One council against its group in one year (what the page's headline says)."""

    council: str
    name: str
    year: str
    group: str
    table: pd.DataFrame

    @property
    def row(self) -> pd.Series:
        """The council's own row for the year."""
        mine = self.table[self.table["is_council"] & (self.table["year"] == self.year)]
        return mine.iloc[0]

    def summary(self) -> dict[str, Any]:
        """Plain values for the JSON summary line.

        Examples
        --------
        >>> c = compare(load_returns(), "E08000012", "core-cities", "2021-22")
        >>> c.summary()["incidents"], c.summary()["incidents_per_1k"]
        (18976, 39.17)
        """
        row = self.row

        def num(value: Any, digits: int | None = None) -> Any:
            if value is None or pd.isna(value):
                return None
            if digits is None:
                return int(value)
            return round(float(value), digits)

        return {
            "council": self.council,
            "name": self.name,
            "year": self.year,
            "group": self.group,
            "group_size": int(row["group_size"]),
            "incidents": num(row["incidents"]),
            "incidents_per_1k": num(row["incidents_per_1k"], 2),
            "actions": num(row["actions"]),
            "actions_per_100_incidents": num(row["actions_per_100_incidents"], 2),
            "fpns": num(row["fpns"]),
            "prosecutions": num(row["prosecutions"]),
            "cost_per_incident": num(row["cost_per_incident"], 2),
            "reporting_basis": row["reporting_basis"] if pd.notna(row["reporting_basis"]) else None,
            "rank_incidents_per_1k": num(row["rank_incidents_per_1k"]),
            "rank_incidents_per_1k_interval": [
                num(row["rank_incidents_per_1k_low"]),
                num(row["rank_incidents_per_1k_high"]),
            ],
            "rank_actions_per_100_incidents": num(row["rank_actions_per_100_incidents"]),
            "rank_actions_per_100_incidents_interval": [
                num(row["rank_actions_per_100_incidents_low"]),
                num(row["rank_actions_per_100_incidents_high"]),
            ],
        }


def compare(
    returns: pd.DataFrame, council: str, group: str = "core-cities", year: str | None = None
) -> Comparison:
    """:func:`comparison_table` for every year, focused on one year (default: the latest).

    Parameters
    ----------
    returns
        :func:`load_returns` rows.
    council, group, year
        As for :func:`comparison_table`; ``year`` None → the latest year the council reported.

    Returns
    -------
    Comparison
    """
    table = comparison_table(returns, council, group, None)
    mine = table[table["is_council"]]
    if year is None:
        year = str(mine["year"].max())
    elif year not in set(table["year"]):
        given = la_returns.financial_year(year)
        if given is None or given not in set(table["year"]):
            span = years(returns)
            raise CompareError(f"no returns for {year!r}: the years are {span[0]} to {span[-1]}")
        year = given
    if not (mine["year"] == year).any():
        raise CompareError(f"{council} made no return for {year} (a council created later?)")
    return Comparison(council, council_choices(returns)[council], year, group, table)


def basis_notes(table: pd.DataFrame, year: str) -> list[str]:
    """Plain sentences on how the group's councils counted in ``year`` (reporting basis).

    Examples
    --------
    >>> t = comparison_table(load_returns(), "E08000012", "core-cities", "2021-22")
    >>> any("Manchester" in s for s in basis_notes(t, "2021-22"))
    True
    """
    rows = table[(table["year"] == year) & table["in_group"]]
    notes = []
    basis = rows["reporting_basis"].fillna("not stated")
    if basis.eq("not stated").all():
        notes.append(
            "DEFRA's returns did not say how councils counted before 2019-20, so differences "
            "between councils may partly be differences in what they count."
        )
        return notes
    counts = basis.value_counts()
    for label, n in counts.items():
        names = ", ".join(rows.loc[basis == label, "name"].astype(str).tolist()[:8])
        more = "" if n <= 8 else f" and {n - 8} more"
        notes.append(f"{label}: {names}{more}.")
    return notes
