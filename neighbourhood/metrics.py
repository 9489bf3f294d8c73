"""Ward × period metrics, city totals, hotspots and boundary remapping.

Definitions live in ``docs/metrics.md``; this module is their reference implementation.

Two engines compute the heavy per-case aggregation ("partials"):

- ``"pandas"``: the tested reference (categorical group keys, ``numpy.busday_count`` for SLAs);
- ``"duckdb"``: the same definitions as SQL over Arrow (a working-day calendar table instead
  of ``busday_count``), used for large stores.

Both feed one shared, small finishing step (grid of wards × periods, cumulative backlog, rates,
Poisson intervals, changes, ranks), so the table is the same whichever engine ran.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from neighbourhood import periods as P
from neighbourhood.repeats import _epoch_us, flag_repeats
from neighbourhood.schemas import CITYWIDE, TIMEZONE
from neighbourhood.sdc import poisson_ci

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

Engine = Literal["auto", "pandas", "duckdb"]

SLA_PATH = Path(__file__).resolve().parents[1] / "data" / "sla.csv"
CITY_NAME = "City total"
DEFAULT_MIN_COUNT_FOR_RANK = 10
AUTO_DUCKDB_ROWS = 200_000
_EPOCH0_S = 946_684_800  # 2000-01-01T00:00:00Z, origin of the integer-second sums
FLY_TIPPING_OFFENCES = ("fly_tipping", "duty_of_care")
#: Which cleansing category an enforcement offence belongs to (for the ``categories`` filter).
OFFENCE_CATEGORY: dict[str, str] = {
    "fly_tipping": "fly_tipping",
    "duty_of_care": "fly_tipping",
    "littering": "litter",
    "dog_fouling": "dog_fouling",
    "graffiti": "graffiti",
    "fly_posting": "fly_posting",
    "waste_receptacle": "overflowing_bin",
    "other": "other",
}
FPN_FINAL_OUTCOMES = ("paid", "unpaid", "cancelled", "withdrawn")
NOT_AN_ACTION = ("no_further_action",)

CASE_COLUMNS = (
    "case_id",
    "category",
    "reported_at",
    "closed_at",
    "status",
    "latitude",
    "longitude",
    "ward_code",
    "ward_name",
    "cost_gbp",
)
ENFORCEMENT_COLUMNS = (
    "case_id",
    "offence",
    "action",
    "issued_at",
    "outcome",
    "amount_gbp",
    "ward_code",
)

#: Per-(ward, period) partial sums that both engines produce, in this order.
PARTIAL_COUNTS = (
    "cases",
    "excluded_cases",
    "tracked_reported",
    "fly_tips",
    "repeat_base",
    "repeat_cases",
    "closed",
    "sla_due",
    "sla_met",
    "overdue_start",
    "overdue_end",
    "enforcement_actions",
    "fly_tipping_actions",
    "fpn_issued",
    "fpn_paid",
    "fpn_with_outcome",
    "prosecutions",
)
PARTIAL_SUMS = ("r_sec_tracked", "r_sec_closed")  # int64 seconds since 2000-01-01
PARTIAL_FLOATS = ("clearance_cost_gbp", "median_days_to_close", "p90_days_to_close")
PARTIAL_COLUMNS = ("ward_code", "key", *PARTIAL_COUNTS, *PARTIAL_SUMS, *PARTIAL_FLOATS)

#: Output columns of :func:`ward_period_table`, in order.
TABLE_COLUMNS = (
    "ward_code",
    "ward_name",
    "period",
    "period_start",
    "cases",
    "cases_lo",
    "cases_hi",
    "population",
    "cases_per_1k",
    "cases_per_1k_lo",
    "cases_per_1k_hi",
    "closed",
    "median_days_to_close",
    "p90_days_to_close",
    "sla_due",
    "sla_met",
    "pct_within_sla",
    "open_at_end",
    "backlog_mean_age_days",
    "backlog_over_sla",
    "repeat_cases",
    "repeat_location_share",
    "excluded_cases",
    "clearance_cost_gbp",
    "fly_tips",
    "enforcement_actions",
    "fly_tipping_actions",
    "fpn_issued",
    "fpn_paid",
    "fpn_with_outcome",
    "fpn_paid_rate",
    "fpn_paid_rate_provisional",
    "prosecutions",
    "actions_per_100_fly_tips",
    "spend_gbp",
    "cost_per_case_closed",
    "cases_change_prev_pct",
    "cases_change_yoy_pct",
    "cases_per_1k_change_prev_pct",
    "cases_per_1k_change_yoy_pct",
    "rank_cases_per_1k",
    "note",
)
#: Additive columns: the ones that may be summed across wards or re-weighted onto new wards.
ADDITIVE_COLUMNS = (
    "cases",
    "closed",
    "sla_due",
    "sla_met",
    "open_at_end",
    "backlog_over_sla",
    "repeat_cases",
    "excluded_cases",
    "clearance_cost_gbp",
    "fly_tips",
    "enforcement_actions",
    "fly_tipping_actions",
    "fpn_issued",
    "fpn_paid",
    "fpn_with_outcome",
    "prosecutions",
    "spend_gbp",
)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass
class MetricInputs:
    """The frames the metrics need (canonical columns, tz-aware Europe/London times).

    Parameters
    ----------
    cases : pd.DataFrame
        Cleansing cases: ``case_id, category, reported_at, closed_at, status, latitude,
        longitude, ward_code, ward_name, cost_gbp`` (optional: ``is_repeat``).
    enforcement, spend, population, wards : pd.DataFrame or None
        Canonical frames; ``wards`` needs only ``ward_code, ward_name``.
    sla : pd.DataFrame or None
        ``category, sla_working_days``; ``None`` reads ``data/sla.csv``.
    repeat_params : tuple or None
        ``(distance_m, window_days)`` that a stored ``is_repeat`` column was computed with.

    Examples
    --------
    >>> MetricInputs(cases=pd.DataFrame(columns=list(CASE_COLUMNS))).cases.shape
    (0, 10)
    """

    cases: pd.DataFrame
    enforcement: pd.DataFrame | None = None
    spend: pd.DataFrame | None = None
    population: pd.DataFrame | None = None
    wards: pd.DataFrame | None = None
    sla: pd.DataFrame | None = None
    repeat_params: tuple[float, float] | None = None
    as_of: pd.Timestamp | None = field(default=None)


def read_sla(path: str | Path | None = None) -> pd.DataFrame:
    """The SLA table (``category``, ``sla_working_days``) from ``data/sla.csv``.

    Examples
    --------
    >>> int(read_sla().set_index("category").loc["needles", "sla_working_days"])
    1
    """
    df = pd.read_csv(path or SLA_PATH, dtype={"category": str})
    df["sla_working_days"] = pd.to_numeric(df["sla_working_days"]).astype("int64")
    return df[["category", "sla_working_days"]].drop_duplicates("category", keep="last")


def _to_london(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    for c in cols:
        if c in df.columns:
            s = df[c]
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                df[c] = s.dt.tz_convert(TIMEZONE)
            elif pd.api.types.is_datetime64_any_dtype(s):
                df[c] = s.dt.tz_localize("UTC").dt.tz_convert(TIMEZONE)
    return df


def _read_arrow(con: Any, sql: str) -> pa.Table:
    res = con.sql(sql)
    return res.to_arrow_table() if hasattr(res, "to_arrow_table") else res.fetch_arrow_table()


def _table_columns(con: Any, name: str) -> list[str] | None:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position",
        [name],
    ).fetchall()
    return [r[0] for r in rows] or None


def _select(con: Any, name: str, wanted: Sequence[str]) -> pa.Table | None:
    have = _table_columns(con, name)
    if have is None:
        return None
    cols = [c for c in wanted if c in have]
    return _read_arrow(con, f"SELECT {', '.join(cols)} FROM {name}")


def _has_view(con: Any, name: str) -> bool:
    try:
        return bool(
            con.execute(
                "SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [name]
            ).fetchall()[0][0]
        )
    except Exception:  # a connection that is not DuckDB's (tests hand in other stores)
        return False


def _small_inputs(con: Any) -> dict[str, pd.DataFrame | None]:
    """Spend, population and the wards of the newest boundary set (small tables)."""
    spend = _select(
        con, "spend", ("ward_code", "period_start", "period_end", "service", "amount_gbp")
    )
    pop = _select(con, "population", ("ward_code", "year", "population"))
    ward_cols = _table_columns(con, "wards") or []
    wards = None
    if ward_cols:
        if _has_view(con, "active_wards"):  # the store's rule: the newest committed load
            sql = "SELECT DISTINCT ward_code, ward_name FROM active_wards"
        elif "boundary_set" in ward_cols and "ingest_id" in ward_cols:
            sql = (
                "SELECT DISTINCT ward_code, ward_name FROM wards WHERE boundary_set = "
                "(SELECT boundary_set FROM wards ORDER BY ingest_id DESC LIMIT 1)"
            )
        else:
            sql = "SELECT DISTINCT ward_code, ward_name FROM wards"
        wards = _read_arrow(con, sql).to_pandas()
    return {
        "spend": None if spend is None else spend.to_pandas(),
        "population": None if pop is None else pop.to_pandas(),
        "wards": wards,
    }


def load_inputs(store: Any, *, as_arrow: bool = False) -> MetricInputs:
    """Read what the metrics need from the store, through Arrow (never ``.df()``).

    Parameters
    ----------
    store : neighbourhood.store.Store
        Anything with a ``read()`` context manager yielding a DuckDB connection with the tables
        ``cases``, ``enforcement``, ``spend``, ``population``, ``wards``.
    as_arrow : bool
        Keep ``cases`` as a ``pyarrow.Table`` (the DuckDB engine scans it directly).

    Returns
    -------
    MetricInputs

    Examples
    --------
    >>> # inputs = load_inputs(Store("data/store"))
    """
    with store.read() as con:
        cases = _select(con, "cases", (*CASE_COLUMNS, "is_repeat"))
        enf = _select(con, "enforcement", ENFORCEMENT_COLUMNS)
        small = _small_inputs(con)
    if cases is None:
        raise ValueError("the store has no cases table")

    def pdf(t: pa.Table | None, times: Sequence[str]) -> pd.DataFrame | None:
        return None if t is None else _to_london(t.to_pandas(), times)

    repeat_params = (50.0, 90.0) if "is_repeat" in cases.column_names else None
    return MetricInputs(
        cases=cases if as_arrow else pdf(cases, ("reported_at", "closed_at")),  # type: ignore[arg-type]
        enforcement=pdf(enf, ("issued_at",)),
        spend=small["spend"],
        population=small["population"],
        wards=small["wards"],
        repeat_params=repeat_params,
    )


# --------------------------------------------------------------------------------------------
# Per-case derivations (pandas reference)
# --------------------------------------------------------------------------------------------


def effective_status(cases: pd.DataFrame) -> pd.Series:
    """``status``, with a missing status read as ``closed`` if ``closed_at`` is set, else ``open``.

    Examples
    --------
    >>> df = pd.DataFrame({"status": [None, "cancelled"], "closed_at": [pd.NaT, pd.NaT]})
    >>> effective_status(df).tolist()
    ['open', 'cancelled']
    """
    status = (
        cases["status"].astype(object)
        if "status" in cases.columns
        else pd.Series(None, index=cases.index, dtype=object)
    )
    guess = np.where(cases["closed_at"].notna(), "closed", "open")
    return status.where(status.notna(), pd.Series(guess, index=cases.index)).astype(str)


def _local_date(ts: pd.Series) -> np.ndarray:
    return P.to_local(ts).to_numpy(dtype="datetime64[us]").astype("datetime64[D]")


def _epoch_seconds(ts: pd.Series) -> np.ndarray:
    us = _epoch_us(ts)
    return us // 1_000_000 - _EPOCH0_S


def case_frame(
    cases: pd.DataFrame,
    *,
    period: P.Period,
    sla: pd.DataFrame,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Per-case derived columns used by the aggregation (the pandas reference).

    Parameters
    ----------
    cases : pd.DataFrame
        Canonical cases, with a boolean ``is_repeat`` column.
    period : {"month", "quarter", "year"}
    sla : pd.DataFrame
        ``category, sla_working_days``.
    as_of : pd.Timestamp
        Data date: SLA deadlines on or after its local date are still pending.

    Returns
    -------
    pd.DataFrame
        ``ward_code, category, valid, tracked, closed_ok, kr, kc, days_to_close,
        working_days_to_close, sla_working_days, deadline, kd, sla_met, sla_failed, is_repeat,
        has_xy, r_sec, cost_gbp``.

    Examples
    --------
    >>> # see tests/test_metrics.py
    """
    st = effective_status(cases)
    valid = st.isin(("open", "closed")).to_numpy()
    rep = cases["reported_at"]
    clo = cases["closed_at"]
    closed_ok = ((st == "closed") & clo.notna() & (clo >= rep)).to_numpy()
    tracked = valid & ((st == "open").to_numpy() | closed_ok)
    kr = P.period_keys(rep, period)
    kc = P.period_keys(clo.where(closed_ok), period)
    r_us = _epoch_us(rep)
    c_us = _epoch_us(clo)
    days = np.where(closed_ok, (c_us - r_us) / 86_400_000_000.0, np.nan)

    r_day = _local_date(rep)
    c_day = np.where(closed_ok, _local_date(clo), np.datetime64("NaT"))
    sla_map = sla.set_index("category")["sla_working_days"]
    sla_days = cases["category"].astype(object).map(sla_map).astype("float64").to_numpy()
    has_sla = np.isfinite(sla_days)
    wd = P.working_days_between(r_day, c_day)
    deadline = P.sla_deadline(r_day, np.where(valid, sla_days, np.nan))
    as_of_day = np.datetime64(pd.Timestamp(as_of).tz_convert(TIMEZONE).date(), "D")
    met = tracked & has_sla & closed_ok & (wd <= np.nan_to_num(sla_days, nan=-1))
    failed = tracked & has_sla & ~met & (deadline < as_of_day)
    dl = pd.Series(pd.to_datetime(deadline), index=cases.index)
    kd = P.period_keys(dl, period)
    return pd.DataFrame(
        {
            "ward_code": cases["ward_code"].astype(object),
            "category": cases["category"].astype(object),
            "valid": valid,
            "tracked": tracked,
            "closed_ok": closed_ok,
            "kr": kr,
            "kc": kc,
            "days_to_close": days,
            "working_days_to_close": np.where(closed_ok, wd, -1),
            "sla_working_days": sla_days,
            "deadline": dl,
            "kd": kd,
            "sla_met": met,
            "sla_failed": failed,
            "is_repeat": cases["is_repeat"].to_numpy(dtype=bool) & valid,
            "has_xy": (cases["latitude"].notna() & cases["longitude"].notna()).to_numpy() & valid,
            "r_sec": _epoch_seconds(rep),
            "cost_gbp": pd.to_numeric(cases.get("cost_gbp"), errors="coerce")
            if "cost_gbp" in cases.columns
            else np.nan,
        },
        index=cases.index,
    )


def _group(frame: pd.DataFrame, key: str, aggs: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """Aggregate by (ward_code, key) and by key alone (ward_code = citywide)."""
    if len(frame) == 0:
        return pd.DataFrame(columns=["ward_code", "key", *aggs])
    f = frame.assign(key=frame[key].astype("int64"))
    ward = f.dropna(subset=["ward_code"]).assign(
        ward_code=lambda d: d["ward_code"].astype("category")
    )
    parts = []
    if len(ward):
        g = ward.groupby(["ward_code", "key"], observed=True, sort=False).agg(**aggs).reset_index()
        g["ward_code"] = g["ward_code"].astype(object)
        parts.append(g)
    c = f.groupby("key", sort=False).agg(**aggs).reset_index()
    c.insert(0, "ward_code", CITYWIDE)
    parts.append(c)
    return pd.concat(parts, ignore_index=True)


def _partials_pandas(c: pd.DataFrame, enf: pd.DataFrame | None, period: P.Period) -> pd.DataFrame:
    """Reference aggregation of :func:`case_frame` output (+ enforcement) to partials."""
    out = []
    r = c[c["kr"].notna()].assign(
        v=c["valid"].astype("int64"),
        x=(~c["valid"]).astype("int64"),
        tr=c["tracked"].astype("int64"),
        ft=(c["valid"] & (c["category"] == "fly_tipping")).astype("int64"),
        rb=c["has_xy"].astype("int64"),
        rc=c["is_repeat"].astype("int64"),
        rs=np.where(c["tracked"], c["r_sec"], 0),
        cost=c["cost_gbp"].where(c["valid"]),
    )
    out.append(
        _group(
            r,
            "kr",
            {
                "cases": ("v", "sum"),
                "excluded_cases": ("x", "sum"),
                "tracked_reported": ("tr", "sum"),
                "fly_tips": ("ft", "sum"),
                "repeat_base": ("rb", "sum"),
                "repeat_cases": ("rc", "sum"),
                "r_sec_tracked": ("rs", "sum"),
                "clearance_cost_gbp": ("cost", "sum"),
            },
        )
    )
    cl = c[c["closed_ok"]]
    out.append(
        _group(
            cl,
            "kc",
            {
                "closed": ("days_to_close", "size"),
                "r_sec_closed": ("r_sec", "sum"),
                "median_days_to_close": ("days_to_close", "median"),
                "p90_days_to_close": ("days_to_close", lambda s: s.quantile(0.9)),
            },
        )
    )
    due = c[c["sla_met"] | c["sla_failed"]]
    due = due.assign(k=due["kc"].where(due["sla_met"], due["kd"]), m=due["sla_met"].astype("int64"))
    out.append(_group(due, "k", {"sla_due": ("m", "size"), "sla_met": ("m", "sum")}))
    fail = c[c["sla_failed"]]
    out.append(_group(fail, "kd", {"overdue_start": ("r_sec", "size")}))
    out.append(_group(fail[fail["closed_ok"]], "kc", {"overdue_end": ("r_sec", "size")}))
    if enf is not None and len(enf):
        e = enf.assign(
            key=P.period_keys(enf["issued_at"], period),
            act=(~enf["action"].isin(NOT_AN_ACTION)).astype("int64"),
        )
        e = e[e["key"].notna()]
        is_fpn = e["action"] == "fixed_penalty_notice"
        e = e.assign(
            fta=(e["act"].astype(bool) & e["offence"].isin(FLY_TIPPING_OFFENCES)).astype("int64"),
            fpn=is_fpn.astype("int64"),
            paid=(is_fpn & (e["outcome"] == "paid")).astype("int64"),
            fin=(is_fpn & e["outcome"].isin(FPN_FINAL_OUTCOMES)).astype("int64"),
            pro=(e["action"] == "prosecution").astype("int64"),
            ward_code=e["ward_code"].astype(object),
        )
        out.append(
            _group(
                e,
                "key",
                {
                    "enforcement_actions": ("act", "sum"),
                    "fly_tipping_actions": ("fta", "sum"),
                    "fpn_issued": ("fpn", "sum"),
                    "fpn_paid": ("paid", "sum"),
                    "fpn_with_outcome": ("fin", "sum"),
                    "prosecutions": ("pro", "sum"),
                },
            )
        )
    return _merge_partials(out)


def _merge_partials(parts: list[pd.DataFrame]) -> pd.DataFrame:
    merged: pd.DataFrame | None = None
    for p in parts:
        p = p.assign(key=p["key"].astype("int64"), ward_code=p["ward_code"].astype(object))
        merged = p if merged is None else merged.merge(p, on=["ward_code", "key"], how="outer")
    assert merged is not None
    for col in PARTIAL_COUNTS + PARTIAL_SUMS:
        merged[col] = merged[col].fillna(0).astype("int64") if col in merged else 0
    for col in PARTIAL_FLOATS:
        merged[col] = merged[col].astype("float64") if col in merged else np.nan
    merged["clearance_cost_gbp"] = merged["clearance_cost_gbp"].fillna(0.0)
    return merged[list(PARTIAL_COLUMNS)].sort_values(["ward_code", "key"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# DuckDB engine
# --------------------------------------------------------------------------------------------


def _sql_key(col: str, period: P.Period) -> str:
    y, m = f"year({col})", f"month({col})"
    if period == "month":
        return f"({y} * 12 + {m} - 1)"
    fy = f"(CASE WHEN {m} >= 4 THEN {y} ELSE {y} - 1 END)"
    if period == "year":
        return fy
    return f"({fy} * 4 + (({m} + 8) % 12) // 3)"


def _day_keys(days: np.ndarray, period: P.Period) -> np.ndarray:
    """Period key of each local calendar date (``datetime64[D]``, no NaT)."""
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return P.period_keys_from_parts(year, month, period)


def _register_calendar(
    con: Any,
    first: np.datetime64,
    last: np.datetime64,
    *,
    period: P.Period,
    sla: pd.DataFrame,
) -> None:
    """Register the day tables the per-case SQL joins to (instead of per-case date arithmetic).

    ``days(day, key, wd_idx)``: every local date from a week before ``first`` to well after
    ``last``, its period key and working-day index. ``sla_days(category, day, sla_days,
    deadline, kd)``: for each SLA category and each possible report date, the SLA deadline
    (the day before the ``(sla+1)``-th working day after it) and the deadline's period key.
    """
    import pyarrow as pa

    max_sla = int(sla["sla_working_days"].max()) if len(sla) else 0
    cal = P.working_day_calendar(first, last + np.timedelta64(2 * max_sla + 40, "D"))
    day = cal["day"].to_numpy(dtype="datetime64[D]")
    wd_idx = cal["wd_idx"].to_numpy().astype(np.int64)
    is_wd = cal["is_wd"].to_numpy()
    con.register(
        "days",
        pa.table({"day": pa.array(day), "key": pa.array(_day_keys(day, period)), "wd_idx": wd_idx}),
    )
    wd_days = day[is_wd]
    n0 = int(wd_idx[is_wd][0]) if len(wd_days) else 0
    report_days = day[day <= last]
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("category", "day", "sla", "deadline")}
    for cat, n_sla in zip(sla["category"], sla["sla_working_days"], strict=True):
        pos = wd_idx[: len(report_days)] + int(n_sla) + 1 - n0
        ok = (pos >= 0) & (pos < len(wd_days))
        dl = np.full(len(report_days), np.datetime64("NaT"), dtype="datetime64[D]")
        dl[ok] = wd_days[pos[ok]] - np.timedelta64(1, "D")
        parts["category"].append(np.full(len(report_days), str(cat), dtype=object))
        parts["day"].append(report_days)
        parts["sla"].append(np.full(len(report_days), int(n_sla), dtype=np.int64))
        parts["deadline"].append(dl)
    if parts["day"]:
        dl = np.concatenate(parts["deadline"])
        nat = np.isnat(dl)
        kd = np.zeros(len(dl), dtype=np.int64)
        kd[~nat] = _day_keys(dl[~nat], period)
        table = pa.table(
            {
                "category": pa.array(np.concatenate(parts["category"]), pa.string()),
                "day": pa.array(np.concatenate(parts["day"])),
                "sla_days": pa.array(np.concatenate(parts["sla"])),
                "deadline": pa.array(dl, pa.date32(), mask=nat),
                "kd": pa.array(kd, mask=nat),
            }
        )
    else:
        table = pa.table(
            {
                "category": pa.array([], pa.string()),
                "day": pa.array([], pa.date32()),
                "sla_days": pa.array([], pa.int64()),
                "deadline": pa.array([], pa.date32()),
                "kd": pa.array([], pa.int64()),
            }
        )
    con.register("sla_days", table)


def _case_source(relation: str, columns: Sequence[str], where: str = "") -> str:
    """SELECT of what the per-case SQL needs; local dates from stored columns when present."""
    tz = TIMEZONE
    have = set(columns)

    def day(col: str, ts: str) -> str:
        return col if col in have else f"CAST(timezone('{tz}', {ts}) AS DATE)"

    cost = "nullif(CAST(cost_gbp AS DOUBLE), 'NaN'::DOUBLE)" if "cost_gbp" in have else "NULL"
    rep = "coalesce(is_repeat, false)" if "is_repeat" in have else "false"
    status = "CAST(status AS VARCHAR)" if "status" in have else "NULL"
    return (
        f"SELECT CAST(ward_code AS VARCHAR) AS ward_code, CAST(category AS VARCHAR) AS category, "
        f"coalesce({status}, CASE WHEN closed_at IS NULL THEN 'open' ELSE 'closed' END) AS st, "
        f"reported_at, closed_at, {day('reported_day', 'reported_at')} AS reported_day, "
        f"{day('closed_day', 'closed_at')} AS closed_day, {rep} AS is_repeat, "
        "(latitude IS NOT NULL AND longitude IS NOT NULL AND NOT isnan(latitude) "
        f"AND NOT isnan(longitude)) AS xy, {cost} AS cost "
        f"FROM {relation} WHERE reported_at IS NOT NULL{where}"
    )


def _partials_sql(
    con: Any,
    source: str,
    enf_source: str | None,
    *,
    period: P.Period,
    sla: pd.DataFrame,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Partials from SQL: ``source`` is a :func:`_case_source` query, ``enf_source`` selects
    ``ward_code, offence, action, outcome, issued_day`` (or is None)."""
    rng = con.execute(
        f"SELECT min(reported_day), max(greatest(reported_day, closed_day)) FROM ({source})"
    ).fetchall()[0]
    parts: list[pd.DataFrame] = []
    if rng[0] is not None:
        first = np.datetime64(rng[0], "D")
        last = np.datetime64(rng[1], "D")
        _register_calendar(con, first, last, period=period, sla=sla)
        as_of_day = pd.Timestamp(as_of).tz_convert(TIMEZONE).date().isoformat()
        # Three aggregates, each joining only the day tables it needs (materialising 5M
        # derived rows, or one generic view, costs 3-4x more at 5M cases).
        base = f"""
        WITH k AS (
            SELECT *, st IN ('open', 'closed') AS valid,
                   (st = 'closed' AND closed_at IS NOT NULL AND closed_at >= reported_at) AS closed_ok,
                   epoch_us(reported_at) // 1000000 - {_EPOCH0_S} AS r_sec
            FROM ({source})
        )"""
        tracked = "(valid AND (st = 'open' OR closed_ok))"
        rep = _read_arrow(
            con,
            f"""{base}
        SELECT ward_code, dr.key AS key, count(*) FILTER (WHERE valid) AS cases,
               count(*) FILTER (WHERE NOT valid) AS excluded_cases,
               count(*) FILTER (WHERE {tracked}) AS tracked_reported,
               count(*) FILTER (WHERE valid AND category = 'fly_tipping') AS fly_tips,
               count(*) FILTER (WHERE valid AND xy) AS repeat_base,
               count(*) FILTER (WHERE valid AND xy AND is_repeat) AS repeat_cases,
               CAST(coalesce(sum(r_sec) FILTER (WHERE {tracked}), 0) AS BIGINT) AS r_sec_tracked,
               coalesce(sum(cost) FILTER (WHERE valid), 0) AS clearance_cost_gbp
        FROM k JOIN days dr ON dr.day = k.reported_day GROUP BY ALL
        """,
        ).to_pandas()
        clo = _read_arrow(
            con,
            f"""{base}
        SELECT CASE WHEN grouping(ward_code) = 1 THEN '{CITYWIDE}' ELSE ward_code END
                   AS ward_code, dc.key AS key, grouping(ward_code) AS city, count(*) AS closed,
               CAST(sum(r_sec) AS BIGINT) AS r_sec_closed,
               quantile_cont((epoch_us(closed_at) - epoch_us(reported_at)) / 86400000000.0,
                             [0.5, 0.9]) AS q
        FROM k JOIN days dc ON dc.day = k.closed_day WHERE closed_ok
        GROUP BY GROUPING SETS ((ward_code, dc.key), (dc.key))
        """,
        ).to_pandas()
        # SLA outcomes: only tracked cases of categories with an SLA; small result grouped
        # by every key it is counted under, summed per key in pandas below.
        sla_cats = ", ".join("'" + str(c).replace("'", "''") + "'" for c in sla["category"])
        due = (
            _read_arrow(
                con,
                f"""{base}, x AS (
            SELECT k.ward_code, closed_ok, dc.key AS kc, sd.kd, sd.deadline,
                   coalesce(closed_ok AND dc.wd_idx - dr.wd_idx <= sd.sla_days, false) AS met
            FROM k JOIN days dr ON dr.day = k.reported_day
            JOIN sla_days sd ON sd.category = k.category AND sd.day = k.reported_day
            LEFT JOIN days dc ON dc.day = k.closed_day AND k.closed_ok
            WHERE {tracked} AND k.category IN ({sla_cats or "NULL"})
        )
        SELECT ward_code, kc, kd, met, NOT met AND deadline < DATE '{as_of_day}' AS failed,
               closed_ok, count(*) AS n
        FROM x WHERE met OR (NOT met AND deadline < DATE '{as_of_day}') GROUP BY ALL
        """,
            ).to_pandas()
            if sla_cats
            else pd.DataFrame(columns=["ward_code", "kc", "kd", "met", "failed", "closed_ok", "n"])
        )
        parts = _combine_partials(rep, clo, due)
    else:
        return _merge_partials([pd.DataFrame(columns=["ward_code", "key"])])
    if enf_source is not None:
        parts.extend(_enforcement_partials(con, enf_source, period))
    return _merge_partials(parts)


def _partials_coded(
    con: Any,
    *,
    categories: Sequence[str] | None,
    wards: Sequence[str] | None,
    enf_source: str | None,
    period: P.Period,
    sla: pd.DataFrame,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Partials straight from a schema-3 store: integer columns only, in place.

    The same partials as :func:`_partials_sql`, but every per-case test reads a column that
    ingest stored (``store.CODED_COLUMNS``): the state code instead of ``status`` text, stored
    ``days_to_close``, ``category_id``/``ward_id`` instead of text keys. Filters become integer
    ``IN`` lists pushed into the scan. Period keys are computed from the stored local dates;
    the SLA outcome needs one join of (category_id, report date) to a small deadline table:
    *within SLA* is ``closed_day <= deadline`` (the deadline is the last day on which closure
    counts as within SLA, docs/metrics.md).
    """
    from neighbourhood.store import CASE_STATES

    codes = _read_arrow(con, "SELECT col, value, code FROM value_codes").to_pandas()
    code_of = {
        col: dict(zip(g["value"], g["code"].astype(int), strict=True))
        for col, g in codes.groupby("col")
    }
    cat_codes = code_of.get("category", {})
    ward_names = {c: v for v, c in code_of.get("ward_code", {}).items()}

    def ids(col: str, values: Sequence[str]) -> str:
        known = sorted(
            {code_of.get(col, {})[v] for v in map(str, values) if v in code_of.get(col, {})}
        )
        return ", ".join(map(str, known)) if known else "NULL"

    where = "reported_at IS NOT NULL"
    if categories is not None:
        where += f" AND category_id IN ({ids('category', categories)})"
    if wards is not None:
        where += f" AND ward_id IN ({ids('ward_code', wards)})"
    rng = con.execute(
        f"SELECT min(reported_day), max(reported_day), max(closed_day) FROM cases WHERE {where}"
    ).fetchall()[0]
    if rng[0] is None:
        return _merge_partials([pd.DataFrame(columns=["ward_code", "key"])])
    first = np.datetime64(rng[0], "D")
    last = max(np.datetime64(rng[1], "D"), np.datetime64(rng[2] or rng[1], "D"))
    open_, ok, no_date = (CASE_STATES[k] for k in ("open", "closed_ok", "closed_no_date"))
    valid = f"case_state <= {no_date}"  # open or closed: counted
    tracked = f"case_state <= {max(open_, ok)}"  # open, or closed with a valid closed_at
    assert {open_, ok} == {0, 1} and no_date == 2
    kr, kc = _sql_key("reported_day", period), _sql_key("closed_day", period)
    xy = (
        "latitude IS NOT NULL AND longitude IS NOT NULL AND NOT isnan(latitude) "
        "AND NOT isnan(longitude)"
    )
    fly = cat_codes.get("fly_tipping")
    r_sec = f"epoch_us(reported_at) // 1000000 - {_EPOCH0_S}"
    rep = _read_arrow(
        con,
        f"""
        SELECT ward_id, {kr} AS key, count(*) FILTER (WHERE {valid}) AS cases,
               count(*) FILTER (WHERE NOT ({valid})) AS excluded_cases,
               count(*) FILTER (WHERE {tracked}) AS tracked_reported,
               count(*) FILTER (WHERE {valid} AND category_id = {fly if fly is not None else "NULL"})
                   AS fly_tips,
               count(*) FILTER (WHERE {valid} AND {xy}) AS repeat_base,
               count(*) FILTER (WHERE {valid} AND {xy} AND coalesce(is_repeat, false))
                   AS repeat_cases,
               CAST(coalesce(sum({r_sec}) FILTER (WHERE {tracked}), 0) AS BIGINT) AS r_sec_tracked,
               coalesce(sum(nullif(CAST(cost_gbp AS DOUBLE), 'NaN'::DOUBLE))
                   FILTER (WHERE {valid}), 0) AS clearance_cost_gbp
        FROM cases WHERE {where} GROUP BY ALL
        """,
    ).to_pandas()
    # Closures: medians per ward and per city need separate groups (GROUPING SETS would sort
    # every value twice in one operator; two scans of the integer columns are cheaper).
    closed = f"""count(*) AS closed, CAST(sum({r_sec}) AS BIGINT) AS r_sec_closed,
               quantile_cont(days_to_close, [0.5, 0.9]) AS q
        FROM cases WHERE {where} AND case_state = {ok}"""
    clo = pd.concat(
        [
            _read_arrow(
                con,
                f"SELECT ward_id, {kc} AS key, 0 AS city, {closed} AND ward_id IS NOT NULL "
                "GROUP BY ALL",
            ).to_pandas(),
            _read_arrow(
                con, f"SELECT NULL AS ward_id, {kc} AS key, 1 AS city, {closed} GROUP BY ALL"
            ).to_pandas(),
        ],
        ignore_index=True,
    )
    # SLA outcomes: one integer join to the deadline of (category, report date)
    _register_calendar(con, first, last, period=period, sla=sla)
    sla_ids = [cat_codes.get(str(c)) for c in sla["category"]]
    import pyarrow as pa

    # Keep the DATE type of the day columns: a pandas round trip would make them TIMESTAMP
    # and the join would cast every case's date.
    con.register(
        "sla_category_ids",
        pa.table(
            {
                "category": pa.array(list(cat_codes), pa.string()),
                "category_id": pa.array(list(cat_codes.values()), pa.int32()),
            }
        ),
    )
    deadlines = _read_arrow(
        con,
        "SELECT i.category_id, s.day, s.deadline, s.kd FROM sla_days s "
        "JOIN sla_category_ids i ON i.category = s.category",
    )
    con.unregister("sla_category_ids")
    con.register("sla_deadlines", deadlines)
    as_of_day = pd.Timestamp(as_of).tz_convert(TIMEZONE).date().isoformat()
    # reported_day is NULL exactly when reported_at is: test the column this query reads anyway
    where_day = where.replace("reported_at IS NOT NULL", "reported_day IS NOT NULL", 1)
    if any(i is not None for i in sla_ids):
        due = _read_arrow(
            con,
            f"""
            WITH x AS (
                SELECT ward_id, case_state = {ok} AS closed_ok,
                       CASE WHEN case_state = {ok} THEN {kc} END AS kc, sd.kd, sd.deadline,
                       coalesce(case_state = {ok} AND closed_day <= sd.deadline, false) AS met
                FROM (SELECT * FROM cases WHERE {where_day} AND {tracked}) k JOIN sla_deadlines sd
                    ON sd.category_id = k.category_id AND sd.day = k.reported_day

            )
            SELECT ward_id, kc, kd, met, NOT met AND deadline < DATE '{as_of_day}' AS failed,
                   closed_ok, count(*) AS n
            FROM x WHERE met OR deadline < DATE '{as_of_day}' GROUP BY ALL
            """,
        ).to_pandas()
    else:
        due = pd.DataFrame(columns=["ward_id", "kc", "kd", "met", "failed", "closed_ok", "n"])
    con.unregister("sla_deadlines")

    def named(frame: pd.DataFrame) -> pd.DataFrame:
        wid = frame.pop("ward_id")
        code = pd.Series(wid, dtype="Int64").map(ward_names).astype(object)
        frame.insert(0, "ward_code", code.where(code.notna(), None).to_numpy())
        return frame

    clo = named(clo)
    clo.loc[clo["city"].astype(bool), "ward_code"] = CITYWIDE
    parts = _combine_partials(named(rep), clo, named(due))
    if enf_source is not None:
        parts.extend(_enforcement_partials(con, enf_source, period))
    return _merge_partials(parts)


def _combine_partials(
    rep: pd.DataFrame, clo: pd.DataFrame, due: pd.DataFrame
) -> list[pd.DataFrame]:
    """Partials from the three case aggregates of the SQL paths.

    ``rep``: per (ward_code, key) of report; ``clo``: per (ward_code, key) of closure with a
    ``city`` flag for the per-key rows and ``q`` = [median, p90]; ``due``: SLA outcome counts
    ``ward_code, kc, kd, met, failed, closed_ok, n``.
    """
    parts: list[pd.DataFrame] = []
    due_key = due["kc"].where(due["met"].astype(bool), due["kd"])
    fails = due[due["failed"].astype(bool)]
    sla_parts = [
        due.assign(key=due_key, sla_due=due["n"], sla_met=due["n"].where(due["met"], 0)),
        fails.assign(key=fails["kd"], overdue_start=fails["n"]),
        fails[fails["closed_ok"].astype(bool)].assign(
            key=lambda d: d["kc"], overdue_end=lambda d: d["n"]
        ),
    ]
    for part, cols in zip(
        (rep, *sla_parts),
        (None, ["sla_due", "sla_met"], ["overdue_start"], ["overdue_end"]),
        strict=True,
    ):
        if cols is not None:
            part = part[part["key"].notna()]
            part = (
                part.assign(ward_code=part["ward_code"].astype(object))
                .groupby(["ward_code", "key"], dropna=False, as_index=False)[cols]
                .sum()
            )
        sums = [c for c in part.columns if c not in ("ward_code", "key")]
        city = part.groupby("key", as_index=False)[sums].sum()
        city.insert(0, "ward_code", CITYWIDE)
        parts.append(pd.concat([part[part["ward_code"].notna()], city], ignore_index=True))
    city_rows = clo["city"].astype(bool)
    clo = clo[city_rows | clo["ward_code"].notna()].drop(columns="city")
    parts.append(clo.drop(columns="q"))
    quant = clo[["ward_code", "key", "q"]]
    quant = quant.assign(
        median_days_to_close=[v[0] for v in quant["q"]],
        p90_days_to_close=[v[1] for v in quant["q"]],
    )
    parts.append(quant.drop(columns="q"))
    return parts


def _enforcement_partials(con: Any, enf_source: str, period: P.Period) -> list[pd.DataFrame]:
    """Enforcement partials (``enf_source`` selects ward_code, offence, action, outcome,
    issued_day)."""
    fin = ", ".join(f"'{o}'" for o in FPN_FINAL_OUTCOMES)
    fto = ", ".join(f"'{o}'" for o in FLY_TIPPING_OFFENCES)
    nfa = ", ".join(f"'{o}'" for o in NOT_AN_ACTION)
    ke = _sql_key("issued_day", period)
    esql = f"""
    WITH e2 AS (
        SELECT *, {ke} AS key, coalesce(action NOT IN ({nfa}), false) AS act,
               coalesce(action = 'fixed_penalty_notice', false) AS fpn
        FROM ({enf_source}) WHERE issued_day IS NOT NULL
    )
    SELECT CASE WHEN grouping(ward_code) = 1 THEN '{CITYWIDE}' ELSE ward_code END AS ward_code, key,
           count(*) FILTER (WHERE act) AS enforcement_actions,
           count(*) FILTER (WHERE act AND offence IN ({fto})) AS fly_tipping_actions,
           count(*) FILTER (WHERE fpn) AS fpn_issued,
           count(*) FILTER (WHERE fpn AND outcome = 'paid') AS fpn_paid,
           count(*) FILTER (WHERE fpn AND outcome IN ({fin})) AS fpn_with_outcome,
           count(*) FILTER (WHERE action = 'prosecution') AS prosecutions
    FROM e2
    GROUP BY GROUPING SETS ((ward_code, key), (key))
    HAVING grouping(ward_code) = 1 OR ward_code IS NOT NULL
    """
    e = _read_arrow(con, esql).to_pandas()
    if len(e):
        return [e]
    return []


def _enf_source(relation: str, columns: Sequence[str], where: str = "") -> str:
    day = (
        "issued_day"
        if "issued_day" in columns
        else f"CAST(timezone('{TIMEZONE}', issued_at) AS DATE)"
    )
    return (
        "SELECT CAST(ward_code AS VARCHAR) AS ward_code, CAST(offence AS VARCHAR) AS offence, "
        "CAST(action AS VARCHAR) AS action, CAST(outcome AS VARCHAR) AS outcome, "
        f"{day} AS issued_day FROM {relation} WHERE issued_at IS NOT NULL{where}"
    )


def _partials_duckdb(
    cases: pa.Table,
    enf: pd.DataFrame | None,
    *,
    period: P.Period,
    sla: pd.DataFrame,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """The same partials as :func:`_partials_pandas`, as SQL over an Arrow table."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("cases_in", cases)
        enf_source = None
        if enf is not None and len(enf):
            e = enf[
                [c for c in ("ward_code", "offence", "action", "issued_at", "outcome") if c in enf]
            ]
            con.register("enf_in", pa.Table.from_pandas(e, preserve_index=False))
            enf_source = _enf_source("enf_in", list(e.columns))
        return _partials_sql(
            con,
            _case_source("cases_in", cases.column_names),
            enf_source,
            period=period,
            sla=sla,
            as_of=as_of,
        )
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# Spend allocation, population, finishing
# --------------------------------------------------------------------------------------------


def allocate_spend(spend: pd.DataFrame | None, period: P.Period) -> pd.DataFrame:
    """Spread each spend row evenly over the days of ``[period_start, period_end]`` (inclusive).

    A missing ``period_end`` means a one-day row. Ward rows go to their ward; ``citywide`` rows
    only to the city total (which also includes every ward row).

    Parameters
    ----------
    spend : pd.DataFrame or None
        Canonical spend rows.
    period : {"month", "quarter", "year"}

    Returns
    -------
    pd.DataFrame
        ``ward_code, key, spend_gbp`` with ward rows and ``citywide`` rows.

    Examples
    --------
    >>> s = pd.DataFrame({"ward_code": ["W1"], "period_start": ["2024-03-01"],
    ...                   "period_end": ["2024-04-30"], "amount_gbp": [610.0]})
    >>> allocate_spend(s, "month")["spend_gbp"].tolist()  # 31 days in March, 30 in April
    [310.0, 300.0, 310.0, 300.0]
    """
    cols = ["ward_code", "key", "spend_gbp"]
    if spend is None or len(spend) == 0:
        return pd.DataFrame(columns=cols)

    def day(s: pd.Series) -> pd.Series:
        s = pd.to_datetime(s)
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_convert(TIMEZONE).dt.tz_localize(None)
        return s.dt.normalize()

    st = day(spend["period_start"])
    en = day(spend["period_end"]) if "period_end" in spend else st
    en = en.fillna(st)
    amount = pd.to_numeric(spend["amount_gbp"], errors="coerce").fillna(0.0).to_numpy()
    ok = st.notna().to_numpy() & (en >= st).to_numpy()
    st_d = st.to_numpy(dtype="datetime64[D]")[ok]
    n_days = (en.to_numpy(dtype="datetime64[D]")[ok] - st_d).astype(np.int64) + 1
    rows = np.repeat(np.arange(ok.sum()), n_days)
    offs = np.arange(len(rows)) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    days = st_d[rows] + offs.astype("timedelta64[D]")
    d = pd.DatetimeIndex(days)
    key = P.period_keys_from_parts(d.year.to_numpy(), d.month.to_numpy(), period)
    # days of each row in each period, then amount × days / row days (exact for whole periods)
    per_row = (
        pd.DataFrame({"row": rows, "key": key})
        .groupby(["row", "key"])
        .size()
        .rename("d")
        .reset_index()
    )
    r = per_row["row"].to_numpy()
    share = amount[ok][r] * per_row["d"].to_numpy() / n_days[r]
    wc = spend["ward_code"].astype(object).to_numpy()[ok][r]
    daily = pd.DataFrame({"ward_code": wc, "key": per_row["key"].to_numpy(), "spend_gbp": share})
    ward = daily.groupby(["ward_code", "key"], sort=True)["spend_gbp"].sum().reset_index()
    ward = ward[ward["ward_code"] != CITYWIDE]
    city = daily.groupby("key", sort=True)["spend_gbp"].sum().reset_index()
    city.insert(0, "ward_code", CITYWIDE)
    return pd.concat([ward, city], ignore_index=True)[cols]


def population_year(key: int, period: P.Period) -> int:
    """Population year used for a period: the year its financial year starts in (mid-year estimate).

    Examples
    --------
    >>> population_year(2025 * 12 + 0, "month")  # January 2025 is in 2024/25
    2024
    """
    y, m = P.key_start_parts(key, period)
    return y if m >= 4 else y - 1


def _pct_change(cur: pd.Series, base: pd.Series) -> pd.Series:
    base = base.astype("float64")
    return ((cur.astype("float64") - base) / base * 100.0).where(base > 0)


def _finish(
    partials: pd.DataFrame,
    spend: pd.DataFrame,
    *,
    period: P.Period,
    ward_list: pd.DataFrame,
    population: pd.DataFrame | None,
    key_range: tuple[int | None, int | None],
    as_of: pd.Timestamp,
    min_count_for_rank: int,
) -> pd.DataFrame:
    parts = partials.merge(spend, on=["ward_code", "key"], how="outer")
    if len(parts) == 0 and key_range[0] is None:
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    # Periods with anything to report: cases, closures, enforcement, and SLA outcomes (an open
    # case fails in its deadline period, which can come after the last report or closure).
    data_keys = partials.loc[
        partials["cases"]
        + partials["excluded_cases"]
        + partials["closed"]
        + partials["sla_due"]
        + partials["overdue_start"]
        + partials["enforcement_actions"]
        > 0,
        "key",
    ]
    k_first = int(data_keys.min()) if len(data_keys) else None
    k_last = int(data_keys.max()) if len(data_keys) else None
    start_key = key_range[0] if key_range[0] is not None else k_first
    end_key = key_range[1] if key_range[1] is not None else k_last
    if start_key is None or end_key is None or end_key < start_key:
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    lo = min([start_key, *([int(parts["key"].min())] if len(parts) else [])])
    keys = np.arange(lo, end_key + 1, dtype=np.int64)

    codes = [*ward_list["ward_code"].tolist(), CITYWIDE]
    names = dict(zip(ward_list["ward_code"], ward_list["ward_name"], strict=False))
    names[CITYWIDE] = CITY_NAME
    grid = pd.DataFrame(
        {
            "ward_code": np.repeat(np.array(codes, dtype=object), len(keys)),
            "key": np.tile(keys, len(codes)),
        }
    )
    t = grid.merge(parts, on=["ward_code", "key"], how="left")
    for col in (*PARTIAL_COUNTS, *PARTIAL_SUMS):
        t[col] = t[col].fillna(0).astype("int64")
    t["spend_gbp"] = t["spend_gbp"].astype("float64").fillna(0.0)
    t["clearance_cost_gbp"] = t["clearance_cost_gbp"].astype("float64").fillna(0.0)
    t = t.sort_values(["ward_code", "key"], kind="stable").reset_index(drop=True)
    g = t.groupby("ward_code", sort=False)

    # backlog from cumulative events (cases reported minus cases closed, per ward)
    t["open_at_end"] = g["tracked_reported"].cumsum() - g["closed"].cumsum()
    open_sec = g["r_sec_tracked"].cumsum() - g["r_sec_closed"].cumsum()
    end_s = np.array(
        [P.period_end(int(k), period).value // 1_000_000_000 - _EPOCH0_S for k in keys],
        dtype=np.int64,
    )
    end_s = np.minimum(end_s, pd.Timestamp(as_of).value // 1_000_000_000 - _EPOCH0_S)
    end_map = pd.Series(end_s, index=keys)
    n_open = t["open_at_end"].astype("float64")
    t["backlog_mean_age_days"] = (
        (n_open * t["key"].map(end_map).astype("float64") - open_sec.astype("float64"))
        / n_open
        / 86400.0
    ).where(n_open > 0)
    t["backlog_over_sla"] = g["overdue_start"].cumsum() - g["overdue_end"].cumsum()

    # population and rates
    t["pop_year"] = [population_year(int(k), period) for k in t["key"]]
    notes: list[list[str]] = [[] for _ in range(len(t))]
    if population is not None and len(population):
        year = pd.to_numeric(population["year"], errors="coerce")
        # a row without a year belongs to no period (loaders refuse them; older stores may
        # still hold some)
        pop = population[year.notna()].assign(year=year[year.notna()].astype("int64"))
        pop = pop.drop_duplicates(["ward_code", "year"], keep="last")
        t = t.merge(
            pop[["ward_code", "year", "population"]].rename(columns={"year": "pop_year"}),
            on=["ward_code", "pop_year"],
            how="left",
        )
        t["population"] = pd.to_numeric(t["population"], errors="coerce").astype("float64")
        wards_only = t[t["ward_code"] != CITYWIDE]
        city_pop = wards_only.groupby("key")["population"].agg(
            lambda s: s.sum() if s.notna().all() and len(s) else np.nan
        )
        is_city = t["ward_code"] == CITYWIDE
        t.loc[is_city, "population"] = t.loc[is_city, "key"].map(city_pop).to_numpy()
    else:
        t["population"] = np.nan
    pop = t["population"]
    years = t["pop_year"].to_numpy()
    missing = pop.isna().to_numpy()
    zero = (pop == 0).to_numpy()
    for i in np.flatnonzero(missing | zero):
        notes[i].append(f"population missing for {years[i]}" if missing[i] else "population is 0")
    good_pop = pop.where(pop > 0)
    t["cases_per_1k"] = t["cases"] * 1000.0 / good_pop
    lo_c, hi_c = poisson_ci(t["cases"].to_numpy())
    t["cases_lo"], t["cases_hi"] = lo_c, hi_c
    t["cases_per_1k_lo"] = t["cases_lo"] * 1000.0 / good_pop
    t["cases_per_1k_hi"] = t["cases_hi"] * 1000.0 / good_pop

    def ratio(num: str, den: str, scale: float = 1.0) -> pd.Series:
        d = t[den].astype("float64")
        return (t[num].astype("float64") / d * scale).where(d > 0)

    t["pct_within_sla"] = ratio("sla_met", "sla_due", 100.0)
    t["repeat_location_share"] = ratio("repeat_cases", "repeat_base")
    t["fpn_paid_rate"] = ratio("fpn_paid", "fpn_with_outcome")
    # some notices of the period have no final outcome yet: the rate counts only those that do,
    # and the unpaid ones take longest to resolve, so it reads too high until they are in
    t["fpn_paid_rate_provisional"] = (t["fpn_issued"] > t["fpn_with_outcome"]).astype(bool)
    t["actions_per_100_fly_tips"] = ratio("fly_tipping_actions", "fly_tips", 100.0)
    t["cost_per_case_closed"] = (t["spend_gbp"] / t["closed"].astype("float64")).where(
        t["closed"] > 0
    )

    # changes (the grid is consecutive per ward, so shifting by rows is shifting by periods)
    lag = {"month": 12, "quarter": 4, "year": 1}[period]
    g = t.groupby("ward_code", sort=False)
    for col in ("cases", "cases_per_1k"):
        t[f"{col}_change_prev_pct"] = _pct_change(t[col], g[col].shift(1))
        t[f"{col}_change_yoy_pct"] = _pct_change(t[col], g[col].shift(lag))

    # keep the requested periods only
    t = t[(t["key"] >= start_key) & (t["key"] <= end_key)].copy()
    notes = [notes[i] for i in t.index]
    t = t.reset_index(drop=True)

    # rank among wards (1 = highest rate); too few cases or no rate → not ranked
    is_ward = t["ward_code"] != CITYWIDE
    rankable = is_ward & (t["cases"] >= min_count_for_rank) & t["cases_per_1k"].notna()
    rank = t["cases_per_1k"].where(rankable).groupby(t["key"]).rank(method="min", ascending=False)
    t["rank_cases_per_1k"] = rank.astype("Int64")
    for i in np.flatnonzero((is_ward & (t["cases"] < min_count_for_rank)).to_numpy()):
        notes[i].append(f"fewer than {min_count_for_rank} cases: not ranked")
    t["note"] = ["; ".join(n) for n in notes]

    t["ward_name"] = t["ward_code"].map(names).fillna(t["ward_code"]).astype(object)
    labels = {int(k): P.period_label(int(k), period) for k in keys}
    starts = {int(k): P.period_start(int(k), period) for k in keys}
    t["period"] = t["key"].map(labels).astype(object)
    t["period_start"] = pd.to_datetime(t["key"].map(starts))
    order = {c: i for i, c in enumerate(codes)}
    t["_o"] = t["ward_code"].map(order)
    t = t.sort_values(["key", "_o"], kind="stable").reset_index(drop=True)
    t["ward_code"] = t["ward_code"].astype(object)
    return t[list(TABLE_COLUMNS)]


def _ward_list(
    inputs: MetricInputs, cases_wards: pd.DataFrame, wards: Sequence[str] | None
) -> pd.DataFrame:
    if inputs.wards is not None and len(inputs.wards):
        wl = inputs.wards[["ward_code", "ward_name"]].astype(object)
        extra = cases_wards[~cases_wards["ward_code"].isin(wl["ward_code"])]
        wl = pd.concat([wl, extra], ignore_index=True)
    else:
        wl = cases_wards
    wl = wl.dropna(subset=["ward_code"]).drop_duplicates("ward_code").sort_values("ward_code")
    if wards is not None:
        wl = wl[wl["ward_code"].isin(list(wards))]
    return wl.reset_index(drop=True)


def _key_of(ts: Any, period: P.Period) -> int | None:
    if ts is None:
        return None
    t = pd.Timestamp(ts)
    if t.tzinfo is not None:
        t = t.tz_convert(TIMEZONE).tz_localize(None)
    return P.key_of_timestamp(t, period)


_REPEAT_CACHE: dict[tuple[str, str, float, float], pd.Series] = {}


def _with_repeats(
    inputs: MetricInputs, distance_m: float, window_days: float, cache_key: tuple | None
) -> MetricInputs:
    """Make sure ``inputs.cases`` has an ``is_repeat`` column computed with these parameters."""
    cases = inputs.cases
    if "is_repeat" in _columns(cases) and inputs.repeat_params == (
        float(distance_m),
        float(window_days),
    ):
        return inputs
    if cache_key is not None and cache_key in _REPEAT_CACHE:
        flags = _REPEAT_CACHE[cache_key]
    else:
        frame = cases.to_pandas() if not isinstance(cases, pd.DataFrame) else cases
        if not isinstance(cases, pd.DataFrame):
            frame = _to_london(frame, ("reported_at",))
        flags = flag_repeats(frame.reset_index(drop=True), distance_m, window_days)
        if cache_key is not None:
            _REPEAT_CACHE.clear()
            _REPEAT_CACHE[cache_key] = flags
    if isinstance(cases, pd.DataFrame):
        new = cases.assign(is_repeat=flags.to_numpy())
    else:
        import pyarrow as pa

        if "is_repeat" in cases.column_names:
            cases = cases.drop_columns(["is_repeat"])
        new = cases.append_column("is_repeat", pa.array(flags.to_numpy()))
    return replace(inputs, cases=new, repeat_params=(float(distance_m), float(window_days)))


def _columns(frame: Any) -> list[str]:
    return list(frame.columns) if isinstance(frame, pd.DataFrame) else list(frame.column_names)


def _nrows(frame: Any) -> int:
    return len(frame) if isinstance(frame, pd.DataFrame) else frame.num_rows


def ward_period_table(
    data: MetricInputs | Any,
    *,
    period: P.Period = "month",
    start: Any = None,
    end: Any = None,
    categories: Sequence[str] | None = None,
    wards: Sequence[str] | None = None,
    repeat_distance_m: float = 50.0,
    repeat_window_days: float = 90.0,
    min_count_for_rank: int = DEFAULT_MIN_COUNT_FOR_RANK,
    as_of: Any = None,
    engine: Engine = "auto",
) -> pd.DataFrame:
    """The ward × period table with a city-total row per period (see ``docs/metrics.md``).

    Parameters
    ----------
    data : MetricInputs or neighbourhood.store.Store
        Frames, or a store read through :func:`load_inputs`.
    period : {"month", "quarter", "year"}
        Months (``"2024-04"``), financial quarters (``"2024/25 Q1"`` = Apr-Jun) or financial
        years (``"2024/25"``), in Europe/London local time.
    start, end : date-like or None
        Output only the whole periods containing ``start`` .. ``end``. Earlier data is still used
        for backlog, repeat look-back and changes.
    categories : sequence of str or None
        Cleansing categories to keep; enforcement is kept when its offence maps onto one of them
        (:data:`OFFENCE_CATEGORY`). Spend is not filtered by category.
    wards : sequence of ward codes or None
        Wards to keep; the ``citywide`` row then totals the selected wards (and leaves out
        citywide spend and population of other wards).
    repeat_distance_m, repeat_window_days : float
        Repeat-location rule (:func:`neighbourhood.repeats.flag_repeats`).
    min_count_for_rank : int
        Wards with fewer cases in a period get no rank (default 10).
    as_of : timestamp or None
        Data date for SLA deadlines and backlog age; default the latest ``reported_at`` or
        ``closed_at``.
    engine : {"auto", "pandas", "duckdb"}
        ``"auto"`` uses DuckDB from 200,000 cases.

    Returns
    -------
    pd.DataFrame
        Columns :data:`TABLE_COLUMNS`, one row per ward and period plus ``citywide`` ("City
        total") rows; sorted by period, then ward code, city total last.

    Examples
    --------
    >>> t = pd.to_datetime(["2024-04-01 00:30"]).tz_localize("Europe/London")
    >>> cases = pd.DataFrame({"case_id": ["1"], "category": ["litter"], "reported_at": t,
    ...     "closed_at": pd.NaT, "status": ["open"], "latitude": [53.4], "longitude": [-2.9],
    ...     "ward_code": ["W1"], "ward_name": ["Anfield"], "cost_gbp": [None]})
    >>> ward_period_table(MetricInputs(cases))[["ward_code", "period", "cases"]].values.tolist()
    [['W1', '2024-04', 1], ['citywide', '2024-04', 1]]
    """
    P._check_period(period)
    cache_key = None
    default_repeats = (float(repeat_distance_m), float(repeat_window_days)) == (50.0, 90.0)
    if not isinstance(data, MetricInputs) and engine in ("auto", "duckdb") and default_repeats:
        fast = _table_from_store(
            data,
            period=period,
            start=start,
            end=end,
            categories=categories,
            wards=wards,
            min_count_for_rank=min_count_for_rank,
            as_of=as_of,
        )
        if fast is not None:
            return fast
    if not isinstance(data, MetricInputs):
        store = data
        inputs = load_inputs(store, as_arrow=True)
        rev = store.revision() if hasattr(store, "revision") else ""
        if rev:
            cache_key = (
                str(getattr(store, "path", "")),
                rev,
                float(repeat_distance_m),
                float(repeat_window_days),
            )
    else:
        inputs = data
    n = _nrows(inputs.cases)
    eng = engine if engine != "auto" else ("duckdb" if n >= AUTO_DUCKDB_ROWS else "pandas")
    if eng not in ("pandas", "duckdb"):
        raise ValueError(f"engine must be auto, pandas or duckdb, not {engine!r}")
    if eng == "pandas" and not isinstance(inputs.cases, pd.DataFrame):
        inputs = replace(
            inputs, cases=_to_london(inputs.cases.to_pandas(), ("reported_at", "closed_at"))
        )

    if isinstance(inputs.cases, pd.DataFrame):
        naive = [
            c
            for c in ("reported_at", "closed_at")
            if c in inputs.cases and not isinstance(inputs.cases[c].dtype, pd.DatetimeTZDtype)
        ]
        if naive:  # naive or all-missing timestamps: read as London wall time
            fixed = inputs.cases.copy()
            for c in naive:
                fixed[c] = pd.to_datetime(fixed[c]).dt.tz_localize(
                    TIMEZONE, ambiguous="NaT", nonexistent="shift_forward"
                )
            inputs = replace(inputs, cases=fixed)
    inputs = _with_repeats(inputs, repeat_distance_m, repeat_window_days, cache_key)
    sla = inputs.sla if inputs.sla is not None else read_sla()
    cases = inputs.cases

    # as_of and the wards present in the cases (before filters)
    if isinstance(cases, pd.DataFrame):
        if as_of is None:
            as_of = inputs.as_of
        if as_of is None:
            mx = [cases["reported_at"].max(), cases["closed_at"].max()] if n else []
            mx = [m for m in mx if pd.notna(m)]
            as_of = max(mx) if mx else pd.Timestamp.now(tz=TIMEZONE)
        cw = (
            cases[["ward_code", "ward_name"]]
            if "ward_name" in cases
            else cases[["ward_code"]].assign(ward_name=cases["ward_code"])
        )
        cases_wards = cw.dropna(subset=["ward_code"]).drop_duplicates("ward_code").astype(object)
    else:
        import duckdb

        con = duckdb.connect()
        con.register("c", cases)
        if as_of is None:
            as_of = inputs.as_of
        if as_of is None:
            m = con.execute(
                "SELECT epoch_us(max(greatest(reported_at, coalesce(closed_at, reported_at)))) FROM c"
            ).fetchall()[0]
            as_of = (
                pd.Timestamp(m[0], unit="us", tz="UTC")
                if m and m[0] is not None
                else pd.Timestamp.now(tz=TIMEZONE)
            )
        name_col = "ward_name" if "ward_name" in cases.column_names else "ward_code"
        cases_wards = (
            _read_arrow(
                con,
                f"SELECT ward_code, any_value({name_col}) AS ward_name FROM c WHERE ward_code IS NOT NULL GROUP BY ward_code",
            )
            .to_pandas()
            .astype(object)
        )
        con.close()
    as_of = pd.Timestamp(as_of)
    as_of = as_of.tz_localize(TIMEZONE) if as_of.tzinfo is None else as_of.tz_convert(TIMEZONE)

    # filters
    enf = inputs.enforcement
    spend = inputs.spend
    if categories is not None:
        cats = list(categories)
        cases = _filter(cases, "category", cats)
        if enf is not None:
            enf = enf[enf["offence"].map(OFFENCE_CATEGORY).isin(cats)]
    if wards is not None:
        wl = list(wards)
        cases = _filter(cases, "ward_code", wl)
        if enf is not None:
            enf = enf[enf["ward_code"].isin(wl)]
        if spend is not None:
            spend = spend[spend["ward_code"].isin(wl)]

    if eng == "pandas":
        assert isinstance(cases, pd.DataFrame)
        cf = case_frame(cases, period=period, sla=sla, as_of=as_of)
        partials = _partials_pandas(cf, enf, period)
    else:
        import pyarrow as pa

        arrow = (
            cases
            if not isinstance(cases, pd.DataFrame)
            else pa.Table.from_pandas(
                cases[[c for c in (*CASE_COLUMNS, "is_repeat") if c in cases.columns]],
                preserve_index=False,
            )
        )
        partials = _partials_duckdb(arrow, enf, period=period, sla=sla, as_of=as_of)

    return _assemble(
        partials,
        spend,
        inputs,
        cases_wards,
        wards=wards,
        period=period,
        start=start,
        end=end,
        as_of=as_of,
        min_count_for_rank=min_count_for_rank,
    )


def _assemble(
    partials: pd.DataFrame,
    spend: pd.DataFrame | None,
    inputs: MetricInputs,
    cases_wards: pd.DataFrame,
    *,
    wards: Sequence[str] | None,
    period: P.Period,
    start: Any,
    end: Any,
    as_of: pd.Timestamp,
    min_count_for_rank: int,
) -> pd.DataFrame:
    """Spend allocation and the shared finishing step (both engines and the store path)."""
    sp = allocate_spend(spend, period)
    if wards is not None:
        # the total of selected wards: rebuild citywide spend from the ward rows only
        sp = sp[sp["ward_code"] != CITYWIDE]
        sp = pd.concat(
            [sp, sp.groupby("key", as_index=False)["spend_gbp"].sum().assign(ward_code=CITYWIDE)],
            ignore_index=True,
        )
    return _finish(
        partials,
        sp,
        period=period,
        ward_list=_ward_list(inputs, cases_wards, wards),
        population=inputs.population,
        key_range=(_key_of(start, period), _key_of(end, period)),
        as_of=as_of,
        min_count_for_rank=min_count_for_rank,
    )


#: Stored per-case columns (store.DERIVED_COLUMNS) the store path needs.
STORED_DERIVED = ("reported_day", "closed_day", "is_repeat")
#: Schema-3 per-case codes (store.CODED_COLUMNS): with them the store path reads no text.
CODED_COLUMNS = ("case_state", "days_to_close", "category_id", "ward_id")


def _table_from_store(
    store: Any,
    *,
    period: P.Period,
    start: Any,
    end: Any,
    categories: Sequence[str] | None,
    wards: Sequence[str] | None,
    min_count_for_rank: int,
    as_of: Any,
    sla: pd.DataFrame | None = None,
) -> pd.DataFrame | None:
    """The table straight from the store: SQL over the stored per-case columns, in place.

    Nothing per case leaves DuckDB: no Arrow copy of the cases, no time-zone conversion, no
    repeat search (``is_repeat``, ``reported_day`` and ``closed_day`` are written at ingest).
    Returns None when the store predates those columns (then the general path runs).
    """
    sla = sla if sla is not None else read_sla()
    with store.read() as con:
        have = _table_columns(con, "cases")
        if have is None or not set(STORED_DERIVED) <= set(have):
            return None
        small = _small_inputs(con)
        params: list[Any] = []
        where = ""
        enf_where = ""
        enf_params: list[Any] = []
        if categories is not None:
            cats = [str(c) for c in categories]
            where += f" AND category IN (SELECT unnest(${len(params) + 1}::VARCHAR[]))"
            params.append(cats)
            offences = [o for o, c in OFFENCE_CATEGORY.items() if c in cats]
            enf_where += f" AND offence IN (SELECT unnest(${len(enf_params) + 1}::VARCHAR[]))"
            enf_params.append(offences)
        if wards is not None:
            wl = [str(w) for w in wards]
            where += f" AND ward_code IN (SELECT unnest(${len(params) + 1}::VARCHAR[]))"
            params.append(wl)
            enf_where += f" AND ward_code IN (SELECT unnest(${len(enf_params) + 1}::VARCHAR[]))"
            enf_params.append(wl)
        pre = con.execute(
            "SELECT epoch_us(greatest(max(reported_at), max(closed_at))) FROM cases"
        ).fetchall()[0][0]
        if as_of is None:
            as_of = (
                pd.Timestamp(pre, unit="us", tz="UTC")
                if pre is not None
                else pd.Timestamp.now(tz=TIMEZONE)
            )
        as_of = pd.Timestamp(as_of)
        as_of = as_of.tz_localize(TIMEZONE) if as_of.tzinfo is None else as_of.tz_convert(TIMEZONE)
        name_col = "ward_name" if "ward_name" in have else "ward_code"
        cases_wards = (
            _read_arrow(
                con,
                f"SELECT ward_code, any_value({name_col}) AS ward_name FROM cases "
                "WHERE ward_code IS NOT NULL GROUP BY ward_code",
            )
            .to_pandas()
            .astype(object)
        )
        # parameters are inlined as literals: the queries are built from lists we control
        source = _case_source("cases", have, _inline(where, params))
        enf_cols = _table_columns(con, "enforcement")
        enf_source = None
        if (
            enf_cols is not None
            and con.execute("SELECT count(*) FROM enforcement").fetchall()[0][0]
        ):
            enf_source = _enf_source("enforcement", enf_cols, _inline(enf_where, enf_params))
        if set(CODED_COLUMNS) <= set(have):
            partials = _partials_coded(
                con,
                categories=categories,
                wards=wards,
                enf_source=enf_source,
                period=period,
                sla=sla,
                as_of=as_of,
            )
        else:  # schema 2 store, until its next write upgrades it
            partials = _partials_sql(con, source, enf_source, period=period, sla=sla, as_of=as_of)
    spend = small["spend"]
    if wards is not None and spend is not None:
        spend = spend[spend["ward_code"].isin(list(wards))]
    inputs = MetricInputs(
        cases=pd.DataFrame(), population=small["population"], wards=small["wards"]
    )
    return _assemble(
        partials,
        spend,
        inputs,
        cases_wards,
        wards=wards,
        period=period,
        start=start,
        end=end,
        as_of=as_of,
        min_count_for_rank=min_count_for_rank,
    )


def _inline(where: str, params: list[Any]) -> str:
    """Replace ``$n::VARCHAR[]`` placeholders by quoted list literals."""
    for i, values in reversed(list(enumerate(params, start=1))):
        quoted = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)
        where = where.replace(f"${i}::VARCHAR[]", f"[{quoted}]::VARCHAR[]")
    return where


def _filter(frame: Any, col: str, values: list[str]) -> Any:
    if isinstance(frame, pd.DataFrame):
        return frame[frame[col].isin(values)]
    import pyarrow as pa
    import pyarrow.compute as pc

    return frame.filter(
        pc.is_in(frame[col].cast(pa.string()), value_set=pa.array(values, pa.string()))
    )


# --------------------------------------------------------------------------------------------
# Hotspots
# --------------------------------------------------------------------------------------------


def _counted(cases: pd.DataFrame) -> pd.DataFrame:
    """Cases that count (not cancelled or duplicate) with both coordinates."""
    ok = effective_status(cases).isin(("open", "closed")) if len(cases) else pd.Series(dtype=bool)
    ok &= cases["latitude"].notna() & cases["longitude"].notna()
    return cases[ok]


def hex_density(cases: pd.DataFrame, resolution: int = 8) -> pd.DataFrame:
    """Server-side H3 hexagon bins of case density (cancelled and duplicate cases left out).

    Parameters
    ----------
    cases : pd.DataFrame
        ``latitude``, ``longitude``, ``status`` (optional), ``closed_at``.
    resolution : int
        H3 resolution (8 ≈ 0.74 km² cells, 9 ≈ 0.11 km²).

    Returns
    -------
    pd.DataFrame
        ``h3_cell`` (hex string), ``count``, ``lat``, ``lon`` (cell centre), most cases first.

    Examples
    --------
    >>> df = pd.DataFrame({"latitude": [53.4, 53.4], "longitude": [-2.98, -2.98],
    ...                    "status": ["open", "cancelled"], "closed_at": [pd.NaT, pd.NaT]})
    >>> hex_density(df)["count"].tolist()
    [1]
    """
    import h3

    cols = ["h3_cell", "count", "lat", "lon"]
    c = _counted(cases)
    if len(c) == 0:
        return pd.DataFrame(columns=cols)
    lat = c["latitude"].to_numpy(dtype=np.float64)
    lon = c["longitude"].to_numpy(dtype=np.float64)
    try:  # the geo module's vectorised binning when it exists
        from neighbourhood.geo import hex_bins  # type: ignore[attr-defined]

        cells = pd.Series(np.asarray(hex_bins(lat, lon, resolution)), dtype=object)
    except (ImportError, AttributeError):
        pts = pd.DataFrame({"lat": lat, "lon": lon})
        uniq = pts.drop_duplicates()
        ids = [
            h3.latlng_to_cell(a, b, resolution)
            for a, b in zip(uniq["lat"], uniq["lon"], strict=True)
        ]
        lookup = uniq.assign(h3_cell=ids)
        cells = pts.merge(lookup, on=["lat", "lon"], how="left")["h3_cell"]
    counts = cells.value_counts().rename_axis("h3_cell").reset_index(name="count")
    centres = [h3.cell_to_latlng(str(x)) for x in counts["h3_cell"]]
    counts["lat"] = [p[0] for p in centres]
    counts["lon"] = [p[1] for p in centres]
    counts = counts.sort_values(["count", "h3_cell"], ascending=[False, True], kind="stable")
    return counts[cols].reset_index(drop=True)


def top_repeat_locations(
    cases: pd.DataFrame,
    ward_code: str | None = None,
    n: int = 10,
    distance_m: float = 50.0,
    window_days: float = 90.0,
) -> pd.DataFrame:
    """The locations with most repeat cases, per ward.

    A *location* is a square of side ``distance_m`` on a local metric grid (the same
    equirectangular projection as the repeat flag); each counted case with coordinates falls in
    one square. Squares are ranked within each ward by repeat cases, then by cases.

    Parameters
    ----------
    cases : pd.DataFrame
        Canonical cases; ``is_repeat`` is computed with :func:`flag_repeats` when absent.
    ward_code : str or None
        One ward, or every ward.
    n : int
        Locations per ward.
    distance_m, window_days : float
        Repeat rule and square size.

    Returns
    -------
    pd.DataFrame
        ``ward_code, rank, latitude, longitude`` (mean of the cases), ``cases``,
        ``repeat_cases``, ``top_category``, ``first_reported``, ``last_reported`` (and
        ``street``, the most frequent, when the column exists).

    Examples
    --------
    >>> # top_repeat_locations(inputs.cases, "E05015283", n=5)
    """
    from neighbourhood.repeats import EARTH_RADIUS_M

    base_cols = [
        "ward_code",
        "rank",
        "latitude",
        "longitude",
        "cases",
        "repeat_cases",
        "top_category",
        "first_reported",
        "last_reported",
    ]
    if "is_repeat" not in cases.columns:
        cases = cases.assign(is_repeat=flag_repeats(cases, distance_m, window_days))
    c = _counted(cases)
    c = c[c["ward_code"].notna()]
    if ward_code is not None:
        c = c[c["ward_code"] == ward_code]
    if len(c) == 0:
        return pd.DataFrame(columns=base_cols)
    phi = np.radians(c["latitude"].to_numpy(dtype=np.float64))
    lam = np.radians(c["longitude"].to_numpy(dtype=np.float64))
    cos0 = np.cos(np.radians(53.4))  # fixed reference latitude: squares do not move with filters
    c = c.assign(
        _gx=np.floor(EARTH_RADIUS_M * lam * cos0 / distance_m).astype(np.int64),
        _gy=np.floor(EARTH_RADIUS_M * phi / distance_m).astype(np.int64),
        _rep=c["is_repeat"].astype("int64"),
    )
    aggs: dict[str, Any] = {
        "latitude": ("latitude", "mean"),
        "longitude": ("longitude", "mean"),
        "cases": ("_rep", "size"),
        "repeat_cases": ("_rep", "sum"),
        "top_category": (
            "category",
            lambda s: s.value_counts().index[0] if s.notna().any() else None,
        ),
        "first_reported": ("reported_at", "min"),
        "last_reported": ("reported_at", "max"),
    }
    if "street" in c.columns:
        aggs["street"] = (
            "street",
            lambda s: s.value_counts().index[0] if s.notna().any() else None,
        )
    g = c.groupby(["ward_code", "_gx", "_gy"], sort=True).agg(**aggs).reset_index()
    g = g[g["repeat_cases"] > 0]
    g = g.sort_values(
        ["ward_code", "repeat_cases", "cases", "_gx", "_gy"],
        ascending=[True, False, False, True, True],
        kind="stable",
    )
    g["rank"] = g.groupby("ward_code").cumcount() + 1
    g = g[g["rank"] <= n]
    cols = base_cols + (["street"] if "street" in g.columns else [])
    return g[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Boundary changes
# --------------------------------------------------------------------------------------------


def case_crosswalk(old_codes: pd.Series, new_codes: pd.Series) -> pd.DataFrame:
    """Crosswalk weighted by case location: the share of each old ward's cases in each new ward.

    Parameters
    ----------
    old_codes, new_codes : pd.Series
        For the same cases, the ward under the old and under the new boundary set (assign both
        with ``geo.assign_wards``).

    Returns
    -------
    pd.DataFrame
        ``old_code, new_code, weight``; weights of each old code sum to 1.

    Examples
    --------
    >>> case_crosswalk(pd.Series(["A", "A", "A", "B"]), pd.Series(["X", "X", "Y", "Y"])).values.tolist()
    [['A', 'X', 0.6666666666666666], ['A', 'Y', 0.3333333333333333], ['B', 'Y', 1.0]]
    """
    df = pd.DataFrame({"old_code": old_codes.to_numpy(), "new_code": new_codes.to_numpy()}).dropna()
    cw = df.groupby(["old_code", "new_code"]).size().rename("n").reset_index()
    cw["weight"] = cw["n"] / cw.groupby("old_code")["n"].transform("sum")
    return cw[["old_code", "new_code", "weight"]].reset_index(drop=True)


def remap_to_boundary_set(
    frame: pd.DataFrame,
    crosswalk: pd.DataFrame,
    *,
    new_wards: Any = None,
    value_columns: Sequence[str] | None = None,
    new_names: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Move cases or a ward table from an old boundary set onto a new one.

    Two modes:

    - **cases** (a frame with ``case_id``): a case with coordinates is re-assigned by
      point-in-polygon to ``new_wards`` when given (``geo.assign_wards``); any other case moves
      to the new ward holding the largest crosswalk weight of its old ward (ties → lowest code).
      The result is a case frame on the new wards, ready for :func:`ward_period_table`.
    - **table** (anything else, e.g. an old-boundary ward × period table): every additive column
      (:data:`ADDITIVE_COLUMNS` present, or ``value_columns``) is split over the new wards by
      weight and summed; other key columns (``period``, ``period_start``…) are kept; ratios and
      medians are dropped because they cannot be re-weighted: recompute them from the counts.
      The city total rows (``ward_code == "citywide"``) are kept as they are.

    Parameters
    ----------
    frame : pd.DataFrame
        Cases or a table with ``ward_code`` of the old set.
    crosswalk : pd.DataFrame
        ``old_code, new_code, weight`` (``geo.crosswalk`` by area, or :func:`case_crosswalk`).
    new_wards : GeoDataFrame or None
        The new boundary set, for point-in-polygon re-assignment of cases.
    value_columns : sequence of str or None
        Table mode: columns to re-weight.
    new_names : pd.DataFrame or None
        ``ward_code, ward_name`` of the new set.

    Returns
    -------
    pd.DataFrame

    Examples
    --------
    >>> cw = pd.DataFrame({"old_code": ["A", "A"], "new_code": ["X", "Y"], "weight": [0.75, 0.25]})
    >>> t = pd.DataFrame({"ward_code": ["A"], "period": ["2022-04"], "cases": [8]})
    >>> remap_to_boundary_set(t, cw)[["ward_code", "cases"]].values.tolist()
    [['X', 6.0], ['Y', 2.0]]
    """
    cw = crosswalk[["old_code", "new_code", "weight"]].copy()
    names = (
        None
        if new_names is None
        else dict(zip(new_names["ward_code"], new_names["ward_name"], strict=False))
    )
    if "case_id" in frame.columns:
        out = frame.copy()
        main = (
            cw.sort_values(["old_code", "weight", "new_code"], ascending=[True, False, True])
            .drop_duplicates("old_code")
            .set_index("old_code")["new_code"]
        )
        new_code = out["ward_code"].map(main)
        if new_wards is not None and {"latitude", "longitude"} <= set(out.columns):
            has_xy = out["latitude"].notna() & out["longitude"].notna()
            if has_xy.any():
                from neighbourhood.geo import assign_wards  # type: ignore[attr-defined]

                assigned, _rejects = assign_wards(out.loc[has_xy], new_wards)
                got = assigned["ward_code"] if "ward_code" in assigned else None
                if got is not None:
                    new_code.loc[got.index] = got.to_numpy()
        out["ward_code"] = new_code
        if "ward_name" in out.columns:
            out["ward_name"] = out["ward_code"].map(names) if names else out["ward_code"]
        return out

    values = (
        list(value_columns)
        if value_columns is not None
        else [c for c in ADDITIVE_COLUMNS if c in frame.columns]
    )
    derived = (
        set(TABLE_COLUMNS)
        - set(ADDITIVE_COLUMNS)
        - {"ward_code", "ward_name", "period", "period_start"}
    )
    keys = [
        c
        for c in frame.columns
        if c not in values and c not in derived and c not in ("ward_code", "ward_name")
    ]
    if not (cw["old_code"] == CITYWIDE).any():
        # the city is the same place on either boundary set: its total row moves as it is
        city = pd.DataFrame({"old_code": [CITYWIDE], "new_code": [CITYWIDE], "weight": [1.0]})
        cw = pd.concat([cw, city], ignore_index=True)
    if names is not None:
        names.setdefault(CITYWIDE, CITY_NAME)
    m = frame.merge(cw, left_on="ward_code", right_on="old_code", how="inner")
    for v in values:
        m[v] = pd.to_numeric(m[v], errors="coerce").astype("float64") * m["weight"]
    out = (
        m.groupby(["new_code", *keys], sort=True, dropna=False)[values]
        .sum(min_count=1)
        .reset_index()
    )
    out = out.rename(columns={"new_code": "ward_code"})
    if names:
        out.insert(1, "ward_name", out["ward_code"].map(names))
    return out
