"""Rows: per kind, which values make a row and which problems reject it (the row policy), duplicates and totals.

Part of :mod:`neighbourhood.loaders` (see its docstring for the whole read path).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from neighbourhood import headers
from neighbourhood import schemas as S
from neighbourhood.loaders import base as _base
from neighbourhood.loaders.base import (
    _AREA_CODE_RE,
    _NULL_TOKENS,
    _TOTAL_RE,
    MAX_AMOUNT_GBP,
    MAX_CELL_CHARS,
    MAX_POPULATION,
    FileRefused,
    ReadOptions,
    _pa,
    _regex_mask,
    _Rejects,
)
from neighbourhood.loaders.dates import _check_date_range, _dates
from neighbourhood.loaders.values import (
    _category_lookup,
    _Cols,
    _coordinates,
    _enum,
    _map_labels,
    _numbers,
    load_value_map,
)

_NUMERIC_LITERAL: Final[str] = (
    # a number as _numbers reads one (thousands grouped by commas only: "1,50" is not one)
    r"^\s*\(?\s*[+-]?\s*(?:£|gbp)?\s*(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)"
    r"(?:e[+-]?\d+)?\s*\)?\s*$"
)


def _reject_too_big(
    raw: pd.Series,
    values: pd.Series,
    bad: np.ndarray,
    col: str,
    limit: float,
    rejects: _Rejects,
) -> np.ndarray:
    """``E_OUT_OF_RANGE`` for numbers above ``limit``, and for numbers written out that are too
    large for a float (``1e309`` reads as infinity); returns ``bad`` without them.

    Only the values, never an exception: every number column goes through here or through a
    range check of its own (coordinates, years).
    """
    overflow = bad & _regex_mask(raw, _NUMERIC_LITERAL)
    over = (values > limit).fillna(False).to_numpy(bool) | overflow
    if over.any():
        shown = f"£{limit:,.0f}" if col.endswith("_gbp") else f"{limit:,.0f}"
        rejects.add(
            over,
            col,
            "E_OUT_OF_RANGE",
            raw,
            f"{col} is out of range (real values are at most {shown}): a typo, a total or a "
            "damaged file.",
        )
    return bad & ~overflow


def _total_rows(
    frame: pd.DataFrame, candidates: np.ndarray, columns: tuple[str, ...]
) -> np.ndarray:
    """Rows among candidates where any text column starts with 'Total' / 'Grand total'."""
    hit = np.zeros(len(frame), dtype=bool)
    if not candidates.any():
        return hit
    idx = np.flatnonzero(candidates)
    for col in columns:
        if col in frame:
            sub = frame[col].iloc[idx].astype("str")
            hit[idx] |= _regex_mask(sub, _TOTAL_RE)
    return hit


def _all_distinct(arr: Any) -> bool:
    """True when the values (no nulls) are all different; cheap when they are in sorted order."""
    import pyarrow.compute as pc

    if arr.null_count == 0 and len(arr) > 1:
        # Extracts are usually sorted by id: strictly increasing values are all distinct, and
        # comparing neighbours is far cheaper than hashing a million strings.
        if pc.all(pc.less(arr[:-1], arr[1:])).as_py():
            return True
    return len(pc.unique(arr)) == len(arr)


DUPLICATE_NEWEST: Final[str] = (
    "Another row has the same id; the row with the newest updated_at was kept."
)


DUPLICATE_LAST: Final[str] = "Another row has the same id; the last one in the file was kept."


def _dedupe(
    keys: pd.DataFrame,
    order_by: pd.Series | None,
    rejects: _Rejects,
    values: pd.Series,
    col: str,
    last_message: str = DUPLICATE_LAST,
) -> None:
    """Among rows without errors, keep the newest per key (by order_by, then file order).

    ``last_message`` is the reason given where file order decided (what the key is named).
    """

    ok = ~rejects.bad
    sub = keys if ok.all() else keys[ok]
    if sub.shape[1] == 1 and _all_distinct(_pa(sub.iloc[:, 0])):
        return  # fast path: every id is distinct
    dup_any = sub.duplicated(keep=False)
    if not dup_any.any():
        return
    cand = sub[dup_any.to_numpy(bool)].copy()
    cand["_pos"] = np.flatnonzero(ok)[dup_any.to_numpy(bool)]
    sort_cols = ["_pos"]
    if order_by is not None:
        cand["_when"] = order_by.iloc[cand["_pos"].to_numpy()].to_numpy()
        sort_cols = ["_when", "_pos"]
    cand = cand.sort_values(sort_cols, na_position="first", kind="stable")
    lost = cand.duplicated(subset=list(keys.columns), keep="last")
    # the message says how the kept row was chosen: by updated_at where the key's rows have
    # one, else by file order
    by_when = (
        cand.groupby(list(keys.columns), sort=False, dropna=False)["_when"].transform(
            lambda s: s.notna().any()
        )
        if order_by is not None
        else pd.Series(False, index=cand.index)
    ).astype(bool)
    for chosen, rule_msg in ((by_when, DUPLICATE_NEWEST), (~by_when, last_message)):
        mask = np.zeros(len(keys), dtype=bool)
        mask[cand.loc[lost & chosen, "_pos"].to_numpy()] = True
        rejects.add(mask, col, "E_DUPLICATE_ID", values, rule_msg)


def _empty_like(index: pd.Index, dtype: str) -> pd.Series:
    return pd.Series(pd.NA if dtype == "str" else np.nan, index=index, dtype=dtype)


def _cases(
    kind: str,
    frame: pd.DataFrame,
    lines: np.ndarray,
    opts: ReadOptions,
    report: dict[str, Any],
    file_name: str,
    now: pd.Timestamp,
) -> tuple[pd.DataFrame, _Rejects]:
    txt = _Cols(frame)
    values = load_value_map()
    out: dict[str, pd.Series] = {}
    case_id = txt("case_id")
    rejects = _Rejects(lines, case_id.fillna(""))
    out["case_id"] = case_id

    label_cols = (
        "case_id",
        "category",
        "ward_name",
        "ward_code",
        "street",
        "status",
        "offence",
        "action",
    )
    blank_or_total = (case_id.isna() | _regex_mask(case_id, _TOTAL_RE)).to_numpy(bool)
    total = _total_rows(frame, blank_or_total, label_cols)
    # A row with no id, no date and no label but some numbers is a sums row.
    start_col = "reported_at" if kind == "cleansing" else "issued_at"
    label_col = "category" if kind == "cleansing" else "action"
    sums_only = (case_id.isna() & txt(start_col).isna() & txt(label_col).isna()).to_numpy(bool)
    total |= sums_only
    rejects.add(total, "case_id", "E_TOTAL_ROW", case_id)
    rejects.add(
        blank_or_total & ~total,
        "case_id",
        "E_REQUIRED",
        case_id,
        "case_id is empty: every row needs its own reference.",
    )

    end_col = "closed_at" if kind == "cleansing" else "outcome_at"
    for col in (start_col, end_col, "updated_at"):
        raw = txt(col)
        if col in frame:
            defining = col == start_col  # row policy: only the start date defines the case
            parsed = _dates(raw, col, opts, rejects, report, file_name=file_name, defining=defining)
            bad = _check_date_range(
                parsed,
                col,
                raw,
                rejects,
                now,
                defining=defining,
                fmt=report["date_formats"].get(col),
            )
            if not defining and bad.any():
                parsed = parsed.mask(bad)
            out[col] = parsed
        else:
            out[col] = pd.Series(pd.NaT, index=frame.index, dtype=f"datetime64[ns, {S.TIMEZONE}]")
    raw_start = txt(start_col)
    rejects.add(
        raw_start.isna().to_numpy(bool) & ~blank_or_total,
        start_col,
        "E_REQUIRED",
        raw_start,
        f"{start_col} is empty.",
    )
    # "n/a", "unknown", "-" … mean no date: fine where a date may be missing, not here
    placeholder = raw_start.str.lower().isin(_NULL_TOKENS).to_numpy(bool)
    rejects.add(
        placeholder & ~blank_or_total,
        start_col,
        "E_REQUIRED",
        raw_start,
        f"{start_col} is a placeholder for no date: every row needs one.",
    )
    # Row policy: an end date before the start keeps the case. On the same local day it is kept
    # as supplied (a clock or data-entry slip, common in CRM exports; the metrics count such a
    # case but not as a valid closure), and only counted in the report; days before, the end
    # date is left empty with a warning.
    order = (out[end_col] < out[start_col]).fillna(False).to_numpy(bool)
    blanked_end = np.zeros(len(frame), dtype=bool)
    if order.any():
        same_day = (out[end_col].dt.normalize() == out[start_col].dt.normalize()).fillna(
            False
        ).to_numpy(bool) & order
        if same_day.any():
            report["end_before_start_same_day"] = int(same_day.sum())
        days = order & ~same_day
        rejects.add(
            days,
            end_col,
            "W_DATE_ORDER",
            txt(end_col),
            f"{end_col} is days before {start_col}: left empty, the case is kept.",
        )
        if days.any():
            out[end_col] = out[end_col].mask(days)
            blanked_end = days
    raw_end = txt(end_col)
    blanked_end = blanked_end | (
        raw_end.notna().to_numpy(bool) & out[end_col].isna().to_numpy(bool)
    )

    if kind == "cleansing":
        raw_cat = txt("category")
        cat, unmapped = _map_labels(raw_cat, _category_lookup(str(_base.CATEGORY_MAP_PATH)))
        out["category"] = cat.fillna("other").astype("str")
        out["category_raw"] = raw_cat
        rejects.add(unmapped.to_numpy(bool), "category", "W_UNMAPPED_CATEGORY", raw_cat)

        raw_status = txt("status")
        status, unknown = _enum(raw_status, values["status"])
        rejects.add(unknown, "status", "W_UNKNOWN_STATUS", raw_status)
        missing = status.isna().to_numpy(bool)
        if missing.any():
            closed = out["closed_at"].notna().to_numpy(bool)
            filled = status.to_numpy(dtype=object, na_value=None)
            filled[missing] = np.where(closed[missing], "closed", "open")
            status = pd.Series(filled, index=frame.index, dtype="str")
        out["status"] = status
        if "status" not in frame:
            report["status_inferred"] = True
        no_date = ((out["status"] == "closed") & out["closed_at"].isna()).to_numpy(bool)
        # a closed date left empty by the row policy has its own warning already
        rejects.add(no_date & ~blanked_end, "closed_at", "W_CLOSED_NO_DATE", raw_status)
        out["street"] = txt("street")
        out["size"] = txt("size")
        out["channel"] = txt("channel")
        money_col = "cost_gbp"
    else:
        raw_action = txt("action")
        action, unknown = _enum(raw_action, values["action"], fallback=True)
        rejects.add(
            unknown,
            "action",
            "E_UNKNOWN_VALUE",
            raw_action,
            "action is not a recognised enforcement action (see data/value_map.csv).",
        )
        rejects.add(
            raw_action.isna().to_numpy(bool) & ~blank_or_total,
            "action",
            "E_REQUIRED",
            raw_action,
            "action is empty.",
        )
        out["action"] = action
        raw_off = txt("offence")
        offence, unknown = _enum(raw_off, values["offence"], fallback=True)
        rejects.add(unknown, "offence", "W_UNMAPPED_OFFENCE", raw_off)
        out["offence"] = offence.fillna("other").astype("str")
        raw_out = txt("outcome")
        outcome, unknown = _enum(raw_out, values["outcome"], fallback=True)
        rejects.add(unknown, "outcome", "W_UNKNOWN_OUTCOME", raw_out)
        out["outcome"] = outcome
        out["linked_case_id"] = txt("linked_case_id")
        money_col = "amount_gbp"

    raw_money = txt(money_col)
    money, bad = _numbers(raw_money)
    bad = _reject_too_big(raw_money, money, bad, money_col, MAX_AMOUNT_GBP, rejects)
    decimal_comma = raw_money.str.fullmatch(r"[£\s]*-?\d+,\d{1,2}").fillna(False).to_numpy(bool)
    rejects.add(
        bad & ~decimal_comma,
        money_col,
        "W_NUMBER",
        raw_money,
        f"{money_col} is not an amount in pounds: left empty, the case is kept.",
    )
    rejects.add(
        bad & decimal_comma,
        money_col,
        "W_NUMBER",
        raw_money,
        f"{money_col} has a decimal comma (12,50), which could also be a thousands separator: "
        "left empty, the case is kept. Export amounts with a decimal point.",
    )
    negative = (money < 0).fillna(False).to_numpy(bool)
    rejects.add(negative, money_col, "W_NEGATIVE", raw_money)
    out[money_col] = money.mask(negative)

    out.update(_coordinates(frame, opts, rejects, report))
    out["ward_code"] = txt("ward_code").str.upper()
    out["ward_name"] = txt("ward_name")

    _dedupe(
        pd.DataFrame({"case_id": case_id}),
        out["updated_at"] if "updated_at" in frame else None,
        rejects,
        case_id,
        "case_id",
    )
    if kind == "cleansing":  # labels of the rows kept, duplicates that lost left out
        counts = out["category_raw"][unmapped.to_numpy(bool) & ~rejects.bad].value_counts()
        report["unmapped_categories"] = {str(k): int(v) for k, v in counts.items()}
    columns = S.CLEANSING_COLUMNS if kind == "cleansing" else S.ENFORCEMENT_COLUMNS
    return pd.DataFrame({c: out[c] for c in columns}), rejects


def _spend(
    frame: pd.DataFrame,
    lines: np.ndarray,
    opts: ReadOptions,
    report: dict[str, Any],
    file_name: str,
) -> tuple[pd.DataFrame, _Rejects]:
    txt = _Cols(frame)
    values = load_value_map()
    raw_ward = txt("ward_code")
    rejects = _Rejects(lines, pd.Series("", index=frame.index, dtype="str"))
    citywide, _ = _map_labels(raw_ward, values["citywide"], fallback_raw=False)
    ward = raw_ward.where(citywide.isna(), S.CITYWIDE)
    code_like = ward.str.match(r"^[A-Za-z]\d{8}$").fillna(False)
    ward = ward.where(~code_like, ward.str.upper())
    label_cols = ("ward_code", "programme", "service", "period_start")
    total = _total_rows(frame, np.ones(len(frame), dtype=bool), label_cols)
    area = ward.str.match(_AREA_CODE_RE).fillna(False).to_numpy(bool) & ~total
    rejects.add(total, "ward_code", "E_TOTAL_ROW", raw_ward)
    rejects.add(
        area,
        "ward_code",
        "E_TOTAL_ROW",
        raw_ward,
        "This is a local-authority or region code, not a ward: use 'citywide' for "
        "spend that covers the whole city.",
    )
    rejects.add(
        raw_ward.isna().to_numpy(bool),
        "ward_code",
        "E_REQUIRED",
        raw_ward,
        "ward_code is empty: give a ward code or 'citywide'.",
    )

    raw_start = txt("period_start")
    start = _dates(raw_start, "period_start", opts, rejects, report, file_name=file_name)
    rejects.add(
        raw_start.isna().to_numpy(bool) & ~total,
        "period_start",
        "E_REQUIRED",
        raw_start,
        "period_start is empty.",
    )
    _check_date_range(
        start,
        "period_start",
        raw_start,
        rejects,
        opts.now or pd.Timestamp.now(tz=S.TIMEZONE),
        future=False,
    )
    raw_end = txt("period_end")
    if "period_end" in frame:
        end = _dates(raw_end, "period_end", opts, rejects, report, file_name=file_name)
    else:
        end = pd.Series(pd.NaT, index=frame.index, dtype=start.dtype)
    default_end = (start.dt.tz_localize(None) + pd.offsets.MonthEnd(0)).dt.normalize()
    default_end = default_end.dt.tz_localize(S.TIMEZONE)
    defaulted = end.isna() & start.notna()
    if defaulted.any():
        report["period_end_defaulted"] = int(defaulted.sum())
    end = end.where(~defaulted, default_end)
    order = (end < start).fillna(False).to_numpy(bool)
    rejects.add(order, "period_end", "E_DATE_ORDER", raw_end, "period_end is before period_start.")

    raw_service = txt("service")
    service, unknown = _enum(raw_service, values["service"])
    rejects.add(unknown, "service", "W_UNMAPPED_SERVICE", raw_service)
    raw_amount = txt("amount_gbp")
    amount, bad = _numbers(raw_amount)
    bad = _reject_too_big(raw_amount, amount, bad, "amount_gbp", MAX_AMOUNT_GBP, rejects)
    rejects.add(bad, "amount_gbp", "E_NUMBER", raw_amount, "amount_gbp is not an amount in pounds.")
    rejects.add((amount < 0).to_numpy(bool), "amount_gbp", "E_NEGATIVE", raw_amount)
    rejects.add(
        raw_amount.isna().to_numpy(bool) & ~total,
        "amount_gbp",
        "E_REQUIRED",
        raw_amount,
        "amount_gbp is empty.",
    )
    out = pd.DataFrame(
        {
            "ward_code": ward.astype("str"),
            "period_start": start,
            "period_end": end,
            "programme": txt("programme"),
            "service": service.fillna("other").astype("str"),
            "amount_gbp": amount,
        }
    )
    keys = out[["ward_code", "period_start", "period_end", "programme", "service"]].astype("str")
    _dedupe(
        keys,
        None,
        rejects,
        raw_ward,
        "ward_code",
        "Another row has the same ward, period, programme and service; the last one in the "
        "file was kept.",
    )
    return out[list(S.SPEND_COLUMNS)], rejects


def _population(
    frame: pd.DataFrame, lines: np.ndarray, opts: ReadOptions, report: dict[str, Any]
) -> tuple[pd.DataFrame, _Rejects]:
    txt = _Cols(frame)
    code = txt("ward_code").str.upper()
    name = txt("ward_name")
    rejects = _Rejects(lines, pd.Series("", index=frame.index, dtype="str"))
    total = _total_rows(frame, np.ones(len(frame), dtype=bool), ("ward_code", "ward_name"))
    area = code.str.match(_AREA_CODE_RE).fillna(False).to_numpy(bool) & ~total
    rejects.add(total, "ward_code", "E_TOTAL_ROW", code.fillna(name))
    rejects.add(
        area,
        "ward_code",
        "E_TOTAL_ROW",
        code,
        "This is a local-authority or region code (a total row), not a ward.",
    )
    rejects.add(
        (code.isna() & name.isna()).to_numpy(bool),
        "ward_code",
        "E_REQUIRED",
        code,
        "Neither ward_code nor ward_name is given.",
    )
    raw_pop = txt("population")
    pop, bad = _numbers(raw_pop)
    bad = _reject_too_big(raw_pop, pop, bad, "population", MAX_POPULATION, rejects)
    pop = pop.where(pop <= MAX_POPULATION)  # never cast 1e20 to an integer (it overflows)
    rejects.add(bad, "population", "E_NUMBER", raw_pop)
    rejects.add(
        raw_pop.isna().to_numpy(bool) & ~total,
        "population",
        "E_REQUIRED",
        raw_pop,
        "population is empty.",
    )
    _refuse_rate_column(frame, pop, report)
    frac = (pop.notna() & (pop != np.floor(pop))).to_numpy(bool)
    rejects.add(
        frac,
        "population",
        "E_NOT_INTEGER",
        raw_pop,
        "population must be a head count (a whole number), not a rate or density.",
    )
    rejects.add((pop < 0).to_numpy(bool), "population", "E_NEGATIVE", raw_pop)
    raw_year = txt("year")
    year, bad_year = _numbers(raw_year)
    bad_year = bad_year | (
        (year.notna()) & ((year != np.floor(year)) | ~year.between(1900, 2100))
    ).to_numpy(bool)
    rejects.add(bad_year, "year", "E_NOT_INTEGER", raw_year, "year is not a year such as 2021.")
    no_year = (raw_year.isna() | raw_year.str.lower().isin(_NULL_TOKENS)).to_numpy(bool)
    rejects.add(
        no_year & ~total,
        "year",
        "E_REQUIRED",
        raw_year,
        "year is empty or a placeholder: give the year of the population estimate, such as 2021.",
    )
    out = pd.DataFrame(
        {
            "ward_code": code,
            "ward_name": name,
            "population": pop.where(~frac & ~(pop < 0)).round().astype("Int64"),
            "year": year.where(~bad_year).round().astype("Int64"),
        }
    )
    keys = pd.DataFrame({"w": code.fillna(name.str.lower()), "y": out["year"].astype("str")})
    _dedupe(
        keys,
        None,
        rejects,
        code.fillna(name),
        "ward_code",
        "Another row has the same ward and year; the last one in the file was kept.",
    )
    return out[list(S.POPULATION_COLUMNS)], rejects


def _refuse_rate_column(frame: pd.DataFrame, pop: pd.Series, report: dict[str, Any]) -> None:
    """Refuse a population column that holds a percentage or a rate, judged by its values.

    Whole-ward head counts run to thousands; a column of three or more values that are all at
    most 100 with any fraction, or all at most 1, is a percentage, a share or a density of
    people per hectare, even when its header says "Population". (A column of small whole
    numbers is left alone: test files have them.)
    """
    values = pop.dropna()
    if len(values) < 3:
        return
    fractional = bool((values != np.floor(values)).any())
    if not ((values.max() <= 100 and fractional) or values.max() <= 1):
        return
    column = next((h for h, c in (report.get("columns") or {}).items() if c == "population"), "")
    likely, _ = headers.head_count_candidates(
        [h for h in report.get("ignored_columns") or () if h != column]
    )
    hint = (
        f" The head count is probably in {likely[0]!r}: load the file again with "
        f'--map "{likely[0]}=population".'
        if likely
        else " Load a table of usual residents per ward (ONS TS001) instead."
    )
    raise FileRefused(
        "F_NOT_HEAD_COUNT",
        f"The population column {column!r} holds percentages or rates (every value is "
        f"{values.max():g} or less, with fractions), not head counts.{hint}",
    )


def _max_bytes(arr: Any) -> int:
    """Longest value in bytes, from the Arrow offsets; a large number when it cannot tell."""
    import pyarrow as pa

    longest = 0
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        if not pa.types.is_large_string(chunk.type):
            return 1 << 62
        if len(chunk) == 0:
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)
        offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
        longest = max(longest, int(np.diff(offsets).max()))
    return longest


def _reject_too_long(frame: pd.DataFrame, rejects: _Rejects) -> None:
    """Reject rows with a value over :data:`MAX_CELL_CHARS` characters in any column read."""
    import pyarrow.compute as pc

    for col in frame.columns:
        if _max_bytes(_pa(frame[col])) <= MAX_CELL_CHARS:
            continue  # no value has more bytes, so none has more characters
        lengths = pc.utf8_length(_pa(frame[col].astype("str")))
        long = pc.fill_null(pc.greater(lengths, MAX_CELL_CHARS), False)
        if pc.any(long).as_py():
            name = {"_x": "x", "_y": "y"}.get(col, col)
            rejects.add(
                long.to_numpy(zero_copy_only=False),
                name,
                "E_TOO_LONG",
                frame[col].astype("str"),
                f"{name} is longer than {MAX_CELL_CHARS:,} characters: free text, or a damaged "
                "file (a missing quote or delimiter).",
            )
