"""Metrics against small hand-computed examples (exact values), both engines."""

from __future__ import annotations

import contextlib
import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from neighbourhood import periods as P
from neighbourhood.metrics import (
    TABLE_COLUMNS,
    MetricInputs,
    allocate_spend,
    case_crosswalk,
    hex_density,
    load_inputs,
    population_year,
    remap_to_boundary_set,
    top_repeat_locations,
    ward_period_table,
)
from neighbourhood.repeats import EARTH_RADIUS_M, flag_repeats, flag_repeats_bruteforce
from neighbourhood.sdc import disclosure_view, poisson_ci, suppress_small_counts

TZ = "Europe/London"
SLA = pd.DataFrame({"category": ["litter", "fly_tipping"], "sla_working_days": [1, 5]})
LAT0, LON0 = 53.4, -2.98
WARDS = pd.DataFrame({"ward_code": ["W1", "W2"], "ward_name": ["Alpha", "Beta"]})


def ts(s: str | None) -> pd.Timestamp:
    return pd.NaT if s is None else pd.Timestamp(s, tz=TZ)


def cases(*rows: dict) -> pd.DataFrame:
    base = {
        "category": "litter",
        "closed_at": None,
        "status": "open",
        "latitude": np.nan,
        "longitude": np.nan,
        "ward_code": "W1",
        "cost_gbp": np.nan,
    }
    out = []
    for i, r in enumerate(rows):
        row = {**base, "case_id": f"C{i}", **r}
        row["reported_at"] = ts(row["reported_at"])
        row["closed_at"] = ts(row["closed_at"])
        out.append(row)
    df = pd.DataFrame(out)
    df["reported_at"] = pd.to_datetime(df["reported_at"]).dt.tz_convert(TZ)
    df["closed_at"] = pd.to_datetime(df["closed_at"], utc=True).dt.tz_convert(TZ)
    df["ward_name"] = df["ward_code"].map({"W1": "Alpha", "W2": "Beta"})
    return df


def table(inputs: MetricInputs, **kw) -> pd.DataFrame:
    """Both engines; assert they agree; return the pandas one."""
    a = ward_period_table(inputs, engine="pandas", **kw)
    b = ward_period_table(inputs, engine="duckdb", **kw)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    return a


def row(t: pd.DataFrame, ward: str, period: str) -> pd.Series:
    r = t[(t["ward_code"] == ward) & (t["period"] == period)]
    assert len(r) == 1, (ward, period)
    return r.iloc[0]


def inputs(df: pd.DataFrame, **kw) -> MetricInputs:
    return MetricInputs(cases=df, sla=kw.pop("sla", SLA), wards=kw.pop("wards", WARDS), **kw)


# ---------------------------------------------------------------- periods and labels


def test_period_labels_month_financial_quarter_and_financial_year():
    s = pd.Series(
        [ts("2024-04-01 00:00"), ts("2024-12-31 23:59"), ts("2025-01-01"), ts("2025-03-31 23:59")]
    )
    month = [P.period_label(k, "month") for k in P.period_keys(s, "month")]
    quarter = [P.period_label(k, "quarter") for k in P.period_keys(s, "quarter")]
    year = [P.period_label(k, "year") for k in P.period_keys(s, "year")]
    assert month == ["2024-04", "2024-12", "2025-01", "2025-03"]
    assert quarter == ["2024/25 Q1", "2024/25 Q3", "2024/25 Q4", "2024/25 Q4"]
    assert year == ["2024/25"] * 4
    assert P.period_label(1999, "year") == "1999/00"
    assert P.period_start(2024 * 4 + 3, "quarter") == pd.Timestamp("2025-01-01")
    assert population_year(2025 * 12 + 0, "month") == 2024


def test_bst_changeover_case_at_0030_bst_on_1_april_belongs_to_april():
    # 00:30 BST on 1 April 2024 is 23:30 UTC on 31 March
    df = cases(
        {"reported_at": "2024-04-01 00:30"},
        {"reported_at": "2024-03-31 23:30"},
        {"reported_at": "2024-03-31 02:30"},  # first BST hour of the spring changeover day
    )
    assert df["reported_at"].iloc[0].tz_convert("UTC") == pd.Timestamp("2024-03-31 23:30", tz="UTC")
    t = table(inputs(df))
    assert row(t, "W1", "2024-03")["cases"] == 2
    assert row(t, "W1", "2024-04")["cases"] == 1
    assert list(t["period_start"].unique()) == [
        pd.Timestamp("2024-03-01"),
        pd.Timestamp("2024-04-01"),
    ]
    assert list(t.columns) == list(TABLE_COLUMNS)


def test_bst_days_to_close_is_elapsed_time_across_the_clock_change():
    # reported 00:30 GMT on 31 March 2024, closed 00:30 BST on 1 April: 23 hours elapsed
    df = cases(
        {"reported_at": "2024-03-31 00:30", "closed_at": "2024-04-01 00:30", "status": "closed"}
    )
    r = row(table(inputs(df)), "W1", "2024-04")
    assert r["closed"] == 1
    assert r["median_days_to_close"] == 23 / 24


# ---------------------------------------------------------------- counts and closure


def test_cancelled_and_duplicate_cases_excluded_from_cases_and_closure_metrics():
    df = cases(
        {"reported_at": "2024-05-01 09:00", "closed_at": "2024-05-02 09:00", "status": "closed"},
        {"reported_at": "2024-05-01 09:00", "closed_at": "2024-05-01 10:00", "status": "cancelled"},
        {"reported_at": "2024-05-01 09:00", "closed_at": "2024-05-01 11:00", "status": "duplicate"},
        {"reported_at": "2024-05-03 09:00", "status": "duplicate"},
    )
    r = row(table(inputs(df)), "W1", "2024-05")
    assert (r["cases"], r["excluded_cases"], r["closed"], r["open_at_end"]) == (1, 3, 1, 0)
    assert r["median_days_to_close"] == 1.0


def test_median_and_p90_days_to_close_by_closure_month():
    days = [1, 2, 3, 4, 10]
    df = cases(
        *[
            {
                "reported_at": "2024-06-01 08:00",
                "closed_at": str(pd.Timestamp("2024-06-01 08:00") + pd.Timedelta(days=d)),
                "status": "closed",
            }
            for d in days
        ]
    )
    r = row(table(inputs(df)), "W1", "2024-06")
    assert r["closed"] == 5
    assert r["median_days_to_close"] == 3.0
    assert r["p90_days_to_close"] == pytest.approx(7.6, abs=1e-12)  # 4 + 0.6 * (10 - 4)


def test_case_closed_next_month_counts_as_closed_in_closure_month_and_open_at_first_month_end():
    df = cases(
        {"reported_at": "2024-06-30 12:00", "closed_at": "2024-07-02 12:00", "status": "closed"}
    )
    t = table(inputs(df))
    june, july = row(t, "W1", "2024-06"), row(t, "W1", "2024-07")
    assert (june["cases"], june["closed"], june["open_at_end"]) == (1, 0, 1)
    assert (july["cases"], july["closed"], july["open_at_end"]) == (0, 1, 0)
    # open from 30 June 12:00 to 1 July 00:00 BST = 0.5 days
    assert june["backlog_mean_age_days"] == 0.5


def test_reopened_case_with_status_open_counts_as_open_not_closed():
    # closed once (closed_at kept) but now open again: the newest status wins
    df = cases(
        {"reported_at": "2024-06-03 09:00", "closed_at": "2024-06-04 09:00", "status": "open"}
    )
    r = row(table(inputs(df)), "W1", "2024-06")
    assert (r["cases"], r["closed"], r["open_at_end"]) == (1, 0, 1)
    assert math.isnan(r["median_days_to_close"])


def test_closed_case_without_valid_closed_at_counts_in_cases_only():
    df = cases(
        {"reported_at": "2024-06-03 09:00", "status": "closed"},
        {"reported_at": "2024-06-03 09:00", "closed_at": "2024-06-01 09:00", "status": "closed"},
    )
    r = row(table(inputs(df)), "W1", "2024-06")
    assert (r["cases"], r["closed"], r["open_at_end"]) == (2, 0, 0)


def test_open_cases_backlog_mean_age_at_period_end():
    df = cases(
        {"reported_at": "2024-04-21 00:00"},  # 10 days before 1 May 00:00 BST
        {"reported_at": "2024-04-11 00:00"},  # 20 days
        {"reported_at": "2024-05-20 00:00"},
    )
    t = table(inputs(df))
    apr, may = row(t, "W1", "2024-04"), row(t, "W1", "2024-05")
    assert (apr["open_at_end"], apr["backlog_mean_age_days"]) == (2, 15.0)
    # as_of (latest timestamp, 20 May 00:00) caps the age in the last, incomplete month
    assert may["open_at_end"] == 3
    assert may["backlog_mean_age_days"] == pytest.approx((29 + 39 + 0) / 3, abs=1e-12)


# ---------------------------------------------------------------- SLA


def test_sla_bank_holiday_in_window_easter_2024():
    # Good Friday 29 March and Easter Monday 1 April 2024 are not working days
    df = cases(
        # Thu 28 Mar → Tue 2 Apr: working days in (28 Mar, 2 Apr] = {2 Apr} = 1 ≤ 1: met
        {"reported_at": "2024-03-28 10:00", "closed_at": "2024-04-02 16:00", "status": "closed"},
        # Thu 28 Mar → Wed 3 Apr: 2 working days > 1: failed, deadline Tue 2 Apr → April
        {"reported_at": "2024-03-28 10:00", "closed_at": "2024-04-03 09:00", "status": "closed"},
    )
    assert P.working_days_between(
        np.array(["2024-03-28"], "datetime64[D]"), np.array(["2024-04-02"], "datetime64[D]")
    ).tolist() == [1]
    r = row(table(inputs(df)), "W1", "2024-04")
    assert (r["sla_due"], r["sla_met"], r["pct_within_sla"]) == (2, 1, 50.0)


def test_sla_report_day_does_not_count_and_weekend_report_runs_from_monday():
    df = cases(
        # Sat 8 Jun → Mon 10 Jun: (Sat, Mon] = 1 working day: met
        {"reported_at": "2024-06-08 10:00", "closed_at": "2024-06-10 17:00", "status": "closed"},
        # Mon 10 Jun → Mon 10 Jun: 0: met
        {"reported_at": "2024-06-10 08:00", "closed_at": "2024-06-10 17:00", "status": "closed"},
        # Mon 10 Jun → Wed 12 Jun: 2: failed (deadline Tue 11 Jun)
        {"reported_at": "2024-06-10 08:00", "closed_at": "2024-06-12 08:00", "status": "closed"},
    )
    r = row(table(inputs(df)), "W1", "2024-06")
    assert (r["sla_due"], r["sla_met"]) == (3, 2)
    assert r["pct_within_sla"] == pytest.approx(200 / 3, abs=1e-12)


def test_sla_open_case_past_deadline_fails_in_deadline_period_and_pending_is_not_counted():
    # Thu 9 May 2024, SLA 1 → deadline Sun 12 May
    df = cases({"reported_at": "2024-05-09 10:00"})
    late = row(table(inputs(df), as_of="2024-05-20"), "W1", "2024-05")
    assert (late["sla_due"], late["sla_met"], late["pct_within_sla"], late["backlog_over_sla"]) == (
        1,
        0,
        0.0,
        1,
    )
    pending = row(table(inputs(df), as_of="2024-05-12 18:00"), "W1", "2024-05")
    assert (pending["sla_due"], pending["backlog_over_sla"]) == (0, 0)
    assert math.isnan(pending["pct_within_sla"])


def test_sla_failure_after_the_last_month_with_reports_still_gets_its_period():
    # Thu 30 May 2024, SLA 1 -> deadline Sun 2 Jun; still open at as_of 20 Jun. Nothing was
    # reported or closed in June, but the failure is booked there, so June is in the table.
    df = cases({"reported_at": "2024-05-30 10:00"})
    t = table(inputs(df), as_of="2024-06-20")
    assert t["period"].unique().tolist() == ["2024-05", "2024-06"]
    for ward in ("W1", "citywide"):
        jun = row(t, ward, "2024-06")
        assert (jun["cases"], jun["sla_due"], jun["sla_met"], jun["backlog_over_sla"]) == (
            0,
            1,
            0,
            1,
        )
        assert (jun["open_at_end"], jun["pct_within_sla"]) == (1, 0.0)
    # pending at as_of: no outcome yet, so the table still ends in May
    assert table(inputs(df), as_of="2024-06-02 18:00")["period"].unique().tolist() == ["2024-05"]


def test_sla_category_without_sla_is_not_counted():
    df = cases(
        {
            "reported_at": "2024-05-09 10:00",
            "category": "weeds",
            "closed_at": "2024-05-10",
            "status": "closed",
        }
    )
    r = row(table(inputs(df)), "W1", "2024-05")
    assert (r["cases"], r["sla_due"]) == (1, 0)


def test_sla_deadline_with_bank_holiday_monday():
    # Thu 2 May 2024 + 1 working day: Fri 3 May is the 1st, Mon 6 May is a bank holiday,
    # Tue 7 May is the 2nd → closure up to Mon 6 May is within SLA
    d = P.sla_deadline(np.array(["2024-05-02"], "datetime64[D]"), np.array([1]))
    assert d.astype(str).tolist() == ["2024-05-06"]


# ---------------------------------------------------------------- population, CI, rank, change


def test_poisson_ci_known_values_count_0_and_10():
    lo, hi = poisson_ci([0, 10])
    assert lo[0] == 0.0 and round(hi[0], 3) == 3.689
    assert (round(lo[1], 3), round(hi[1], 3)) == (4.795, 18.390)


def test_cases_per_1k_with_exact_poisson_interval():
    df = cases(*[{"reported_at": "2024-07-01 10:00"}] * 10)
    pop = pd.DataFrame(
        {"ward_code": ["W1", "W2"], "year": [2024, 2024], "population": [2000, 1000]}
    )
    t = table(inputs(df, population=pop))
    r = row(t, "W1", "2024-07")
    assert r["population"] == 2000.0 and r["cases_per_1k"] == 5.0
    lo, hi = poisson_ci([10])
    assert (r["cases_per_1k_lo"], r["cases_per_1k_hi"]) == (lo[0] / 2, hi[0] / 2)
    city = row(t, "citywide", "2024-07")
    assert (city["ward_name"], city["population"], city["cases_per_1k"]) == (
        "City total",
        3000.0,
        10 / 3,
    )


def test_missing_population_gives_nan_rate_with_note_not_zero():
    df = cases(
        {"reported_at": "2024-07-01 10:00"}, {"reported_at": "2024-07-01", "ward_code": "W2"}
    )
    pop = pd.DataFrame({"ward_code": ["W1"], "year": [2023], "population": [1000]})
    t = table(inputs(df, population=pop))
    r = row(t, "W1", "2024-07")
    assert math.isnan(r["population"]) and math.isnan(r["cases_per_1k"])
    assert "population missing for 2024" in r["note"]
    assert math.isnan(row(t, "citywide", "2024-07")["cases_per_1k"])
    # the mid-2023 estimate serves FY 2023/24, e.g. March 2024
    t2 = table(inputs(cases({"reported_at": "2024-03-05"}), population=pop))
    assert row(t2, "W1", "2024-03")["cases_per_1k"] == 1.0


def test_a_population_row_without_a_year_is_left_out_not_a_crash():
    # the loaders refuse such rows now; a store written before may still hold them
    df = cases({"reported_at": "2024-07-01 10:00"})
    pop = pd.DataFrame(
        {"ward_code": ["W1", "W1"], "year": [pd.NA, 2024], "population": [500, 1000]},
    ).astype({"year": "Int64"})
    assert row(table(inputs(df, population=pop)), "W1", "2024-07")["population"] == 1000.0


def test_zero_population_gives_nan_rate_with_note():
    df = cases({"reported_at": "2024-07-01 10:00"})
    pop = pd.DataFrame({"ward_code": ["W1", "W2"], "year": [2024, 2024], "population": [0, 10]})
    r = row(table(inputs(df, population=pop)), "W1", "2024-07")
    assert math.isnan(r["cases_per_1k"]) and "population is 0" in r["note"]


def test_min_count_rule_ward_below_threshold_is_not_ranked():
    wards = pd.DataFrame({"ward_code": ["W1", "W2", "W3"], "ward_name": ["Alpha", "Beta", "Gamma"]})
    df = cases(
        *[{"reported_at": "2024-08-01"}] * 12,
        *[{"reported_at": "2024-08-01", "ward_code": "W2"}] * 10,
        *[{"reported_at": "2024-08-01", "ward_code": "W3"}] * 9,
    )
    pop = pd.DataFrame(
        {"ward_code": ["W1", "W2", "W3"], "year": 2024, "population": [1000, 500, 100]}
    )
    t = table(inputs(df, population=pop, wards=wards), min_count_for_rank=10)
    ranks = t.set_index("ward_code")["rank_cases_per_1k"]
    assert (ranks["W2"], ranks["W1"]) == (1, 2)
    assert ranks["W3"] is pd.NA and ranks["citywide"] is pd.NA
    assert "fewer than 10 cases: not ranked" in t.set_index("ward_code").loc["W3", "note"]


def test_change_vs_previous_period_and_same_period_last_year():
    df = cases(
        *[{"reported_at": "2023-04-10"}] * 4,
        *[{"reported_at": "2024-03-10"}] * 5,
        *[{"reported_at": "2024-04-10"}] * 6,
    )
    t = table(inputs(df), period="month", start="2024-04-01")
    r = row(t, "W1", "2024-04")
    assert (r["cases_change_prev_pct"], r["cases_change_yoy_pct"]) == (20.0, 50.0)
    assert list(t["period"].unique()) == ["2024-04"]  # earlier data used, not shown
    # previous period with 0 cases → NaN, not inf
    assert math.isnan(row(t, "W2", "2024-04")["cases_change_prev_pct"])


# ---------------------------------------------------------------- repeats


def _north(metres: float) -> float:
    return LAT0 + np.degrees(metres / EARTH_RADIUS_M)


def test_repeat_flag_at_exactly_50_m_counts_and_just_over_does_not():
    df = cases(
        {"reported_at": "2024-01-01 10:00", "latitude": LAT0, "longitude": LON0},
        {"reported_at": "2024-01-02 10:00", "latitude": _north(50.0), "longitude": LON0},
        {"reported_at": "2024-01-03 10:00", "latitude": _north(-50.5), "longitude": LON0},
    )
    assert flag_repeats(df).tolist() == [False, True, False]
    assert flag_repeats_bruteforce(df).tolist() == [False, True, False]


def test_repeat_flag_exactly_90_days_earlier_does_not_count():
    df = cases(
        {"reported_at": "2024-01-01 10:00", "latitude": LAT0, "longitude": LON0},
        {"reported_at": "2024-03-31 11:00", "latitude": LAT0, "longitude": LON0},  # 90 d (DST!)
        {
            "reported_at": "2024-07-01 10:00",
            "latitude": LAT0,
            "longitude": LON0,
            "category": "graffiti",
        },
        {
            "reported_at": "2024-09-29 09:59:59",
            "latitude": LAT0,
            "longitude": LON0,
            "category": "graffiti",
        },
    )
    # 1 Jan 10:00 GMT → 31 Mar 11:00 BST is exactly 90 × 24 h; 1 Jul → 29 Sep is 90 d − 1 s
    assert flag_repeats(df).tolist() == [False, False, False, True]


def test_repeat_flag_same_instant_other_category_cancelled_are_not_repeats():
    df = cases(
        {"reported_at": "2024-01-01 10:00", "latitude": LAT0, "longitude": LON0},
        {"reported_at": "2024-01-01 10:00", "latitude": LAT0, "longitude": LON0},  # same instant
        {
            "reported_at": "2024-01-02 10:00",
            "latitude": LAT0,
            "longitude": LON0,
            "category": "graffiti",
        },
        {
            "reported_at": "2024-01-03 10:00",
            "latitude": LAT0,
            "longitude": LON0,
            "status": "cancelled",
        },
        {"reported_at": "2024-01-04 10:00", "latitude": np.nan, "longitude": LON0},
    )
    assert flag_repeats(df).tolist() == [False, False, False, False, False]


def test_repeat_flag_matches_bruteforce_on_random_frame():
    rng = np.random.default_rng(7)
    n = 1500
    df = pd.DataFrame(
        {
            "category": rng.choice(["a", "b"], n),
            "reported_at": pd.Timestamp("2024-01-01", tz=TZ)
            + pd.to_timedelta(rng.integers(0, 200 * 86400, n), "s"),
            "latitude": LAT0 + rng.random(n) * 0.004,
            "longitude": LON0 + rng.random(n) * 0.006,
            "status": rng.choice(["open", "closed", "duplicate"], n),
        }
    )
    a, b = flag_repeats(df), flag_repeats_bruteforce(df)
    assert 0 < a.sum() < n
    pd.testing.assert_series_equal(a, b)


def test_repeat_location_share_uses_cases_with_coordinates_as_denominator():
    df = cases(
        {"reported_at": "2024-02-01 10:00", "latitude": LAT0, "longitude": LON0},
        {"reported_at": "2024-02-05 10:00", "latitude": _north(10), "longitude": LON0},
        {"reported_at": "2024-02-06 10:00", "latitude": _north(500), "longitude": LON0},
        {"reported_at": "2024-02-07 10:00"},  # no coordinates
    )
    r = row(table(inputs(df)), "W1", "2024-02")
    assert (r["cases"], r["repeat_cases"], r["repeat_location_share"]) == (4, 1, 1 / 3)


def test_repeat_lookback_crosses_start_filter_and_ward_boundary():
    df = cases(
        {"reported_at": "2024-02-28 10:00", "latitude": LAT0, "longitude": LON0, "ward_code": "W2"},
        {"reported_at": "2024-03-02 10:00", "latitude": _north(20), "longitude": LON0},
    )
    t = table(inputs(df), start="2024-03-01", wards=["W1"])
    assert row(t, "W1", "2024-03")["repeat_cases"] == 1


# ---------------------------------------------------------------- enforcement, spend


def enforcement(*rows: dict) -> pd.DataFrame:
    base = {"offence": "fly_tipping", "outcome": None, "amount_gbp": np.nan, "ward_code": "W1"}
    df = pd.DataFrame([{**base, "case_id": f"E{i}", **r} for i, r in enumerate(rows)])
    df["issued_at"] = pd.to_datetime(df["issued_at"]).dt.tz_localize(TZ)
    return df


def test_enforcement_fpn_paid_rate_excludes_pending_and_no_further_action_is_not_an_action():
    enf = enforcement(
        {"action": "fixed_penalty_notice", "outcome": "paid", "issued_at": "2024-09-01"},
        {"action": "fixed_penalty_notice", "outcome": "paid", "issued_at": "2024-09-02"},
        {"action": "fixed_penalty_notice", "outcome": "unpaid", "issued_at": "2024-09-03"},
        {"action": "fixed_penalty_notice", "outcome": "pending", "issued_at": "2024-09-04"},
        {"action": "fixed_penalty_notice", "outcome": None, "issued_at": "2024-09-05"},
        {"action": "investigation", "issued_at": "2024-09-06", "offence": "littering"},
        {
            "action": "prosecution",
            "outcome": "convicted",
            "issued_at": "2024-09-07",
            "offence": "duty_of_care",
        },
        {"action": "no_further_action", "issued_at": "2024-09-08"},
    )
    df = cases(
        *[{"reported_at": "2024-09-10", "category": "fly_tipping"}] * 4,
        {"reported_at": "2024-09-10"},
    )
    t = table(inputs(df, enforcement=enf))
    r = row(t, "W1", "2024-09")
    assert (
        r["enforcement_actions"],
        r["fpn_issued"],
        r["fpn_paid"],
        r["fpn_with_outcome"],
        r["prosecutions"],
    ) == (
        7,
        5,
        2,
        3,
        1,
    )
    assert r["fpn_paid_rate"] == 2 / 3
    assert bool(r["fpn_paid_rate_provisional"])  # 2 of 5 notices have no final outcome yet
    assert (r["fly_tips"], r["fly_tipping_actions"], r["actions_per_100_fly_tips"]) == (4, 6, 150.0)
    # category filter keeps only enforcement whose offence maps onto the category
    lit = row(table(inputs(df, enforcement=enf), categories=["litter"]), "W1", "2024-09")
    assert (lit["cases"], lit["enforcement_actions"], lit["fly_tips"]) == (1, 1, 0)
    assert math.isnan(lit["actions_per_100_fly_tips"])


def test_spend_spread_by_day_and_cost_per_case_closed():
    spend = pd.DataFrame(
        {
            "ward_code": ["W1", "citywide"],
            "period_start": ["2024-03-01", "2024-04-01"],
            "period_end": ["2024-04-30", "2024-04-30"],
            "programme": "p",
            "service": "cleansing",
            "amount_gbp": [610.0, 1000.0],
        }
    )
    sp = allocate_spend(spend, "month")
    assert sp.values.tolist() == [
        ["W1", 2024 * 12 + 2, 310.0],
        ["W1", 2024 * 12 + 3, 300.0],
        ["citywide", 2024 * 12 + 2, 310.0],
        ["citywide", 2024 * 12 + 3, 1300.0],
    ]
    df = cases(
        *[{"reported_at": "2024-04-02 09:00", "closed_at": "2024-04-03 09:00", "status": "closed"}]
        * 2,
        {
            "reported_at": "2024-03-02 09:00",
            "closed_at": "2024-03-03 09:00",
            "status": "closed",
            "ward_code": "W2",
        },
    )
    t = table(inputs(df, spend=spend))
    apr = row(t, "W1", "2024-04")
    assert (apr["spend_gbp"], apr["cost_per_case_closed"]) == (300.0, 150.0)
    assert row(t, "citywide", "2024-04")["cost_per_case_closed"] == 650.0
    assert math.isnan(row(t, "W1", "2024-03")["cost_per_case_closed"])  # spend but nothing closed
    # a ward filter drops citywide spend from the total of the selected wards
    assert (
        row(table(inputs(df, spend=spend), wards=["W1"]), "citywide", "2024-04")["spend_gbp"]
        == 300.0
    )


# ---------------------------------------------------------------- filters, grid, engines


def test_filters_and_grid_include_wards_with_no_cases():
    df = cases(
        {"reported_at": "2024-10-01", "category": "litter"},
        {"reported_at": "2024-11-01", "category": "graffiti"},
        {"reported_at": "2024-12-01", "category": "litter"},
    )
    t = table(inputs(df), period="quarter", categories=["litter"])
    assert t[["ward_code", "period", "cases"]].values.tolist() == [
        ["W1", "2024/25 Q3", 2],
        ["W2", "2024/25 Q3", 0],
        ["citywide", "2024/25 Q3", 2],
    ]
    t = table(inputs(df), start="2024-11-15", end="2024-11-20")
    assert t["period"].unique().tolist() == ["2024-11"]


def _medium(n: int, seed: int = 3) -> MetricInputs:
    rng = np.random.default_rng(seed)
    rep = pd.Timestamp("2023-01-01", tz=TZ) + pd.to_timedelta(rng.integers(0, 700 * 86400, n), "s")
    st = rng.choice(
        ["open", "closed", "cancelled", "duplicate", None], n, p=[0.1, 0.7, 0.08, 0.07, 0.05]
    )
    dur = pd.to_timedelta(rng.exponential(5 * 86400, n).astype(int), "s")
    clo = pd.Series(rep + dur).where(st != "open")
    wards = ["W1", "W2", "W3"]
    df = pd.DataFrame(
        {
            "case_id": [f"C{i}" for i in range(n)],
            "category": rng.choice(["litter", "fly_tipping", "weeds"], n),
            "reported_at": rep,
            "closed_at": clo,
            "status": st,
            "latitude": LAT0 + rng.random(n) * 0.01,
            "longitude": LON0 + rng.random(n) * 0.015,
            "ward_code": rng.choice([*wards, None], n, p=[0.3, 0.3, 0.3, 0.1]),
            "ward_name": None,
            "cost_gbp": rng.choice([np.nan, 12.5, 40.0], n),
        }
    )
    m = n // 4
    enf = pd.DataFrame(
        {
            "case_id": [f"E{i}" for i in range(m)],
            "offence": rng.choice(["fly_tipping", "littering", "duty_of_care"], m),
            "action": rng.choice(
                ["investigation", "fixed_penalty_notice", "prosecution", "no_further_action"], m
            ),
            "issued_at": pd.Timestamp("2023-01-01", tz=TZ)
            + pd.to_timedelta(rng.integers(0, 700 * 86400, m), "s"),
            "outcome": rng.choice(["paid", "unpaid", "pending", None], m),
            "amount_gbp": 100.0,
            "ward_code": rng.choice(wards, m),
        }
    )
    pop = pd.DataFrame(
        {
            "ward_code": wards * 2,
            "year": [2022] * 3 + [2023] * 3,
            "population": rng.integers(1, 9000, 6),
        }
    )
    return MetricInputs(cases=df, enforcement=enf, population=pop, sla=SLA)


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
def test_engines_agree_on_random_medium_frame(period):
    t = table(_medium(6000), period=period)
    assert t["cases"].sum() > 0 and t["sla_due"].sum() > 0 and t["repeat_cases"].sum() > 0


def test_empty_cases_give_empty_table():
    df = cases({"reported_at": "2024-01-01"}).iloc[:0]
    t = ward_period_table(inputs(df), engine="pandas")
    assert len(t) == 0 and list(t.columns) == list(TABLE_COLUMNS)


# ---------------------------------------------------------------- disclosure control


def test_suppress_small_counts_0_stays_3_becomes_lt5_12_stays():
    t = pd.DataFrame({"fpn_issued": [0, 3, 12, 13], "cases": [1, 2, 3, 4]})
    out = suppress_small_counts(t, ["fpn_issued"])
    assert out["fpn_issued"].tolist() == [0, "<5", 12, 13]
    assert out["cases"].tolist() == [1, 2, 3, 4]
    rounded = suppress_small_counts(t, ["fpn_issued"], round_to=5)
    assert rounded["fpn_issued"].tolist() == [0, "<5", 10, 15]


def test_disclosure_view_blanks_rates_built_on_small_counts():
    t = pd.DataFrame(
        {
            "fpn_paid": [3, 0],
            "fpn_with_outcome": [12, 6],
            "fpn_paid_rate": [0.25, 0.0],
            "cases": [3, 3],
        }
    )
    v = disclosure_view(t, round_to=None)
    assert v["fpn_paid"].tolist() == ["<5", 0]
    assert math.isnan(v["fpn_paid_rate"].iat[0]) and v["fpn_paid_rate"].iat[1] == 0.0
    assert v["cases"].tolist() == [3, 3]


def test_disclosure_view_rates_never_give_back_a_rounded_count():
    t = pd.DataFrame(
        {
            "fly_tips": [10, 0],
            "fly_tipping_actions": [7, 0],
            "actions_per_100_fly_tips": [70.0, np.nan],
            "fpn_paid": [10, 12],
            "fpn_with_outcome": [11, 13],
            "fpn_paid_rate": [10 / 11, 12 / 13],
        }
    )
    v = disclosure_view(t)  # counts of 5 or more rounded to 5
    assert v["fly_tipping_actions"].tolist() == [5, 0]
    assert v["fly_tips"].tolist() == [10, 0]  # cleansing counts are left exact
    # from the counts as shown: 100 x 5 / 10, and 10 / 10 (not 10/11, which says "1 unpaid")
    assert v["actions_per_100_fly_tips"].iat[0] == 50.0
    assert math.isnan(v["actions_per_100_fly_tips"].iat[1])
    assert v["fpn_paid"].tolist() == [10, 10] and v["fpn_with_outcome"].tolist() == [10, 15]
    assert v["fpn_paid_rate"].tolist() == [1.0, 10 / 15]
    # exact counts published: the exact rates say nothing more than the counts beside them
    exact = disclosure_view(t, round_to=None)
    assert exact["actions_per_100_fly_tips"].iat[0] == 70.0
    assert exact["fpn_paid_rate"].iat[0] == 10 / 11
    # a rate built on a hidden count stays blank when worked out again
    small = disclosure_view(
        t.assign(fly_tipping_actions=[3, 0], actions_per_100_fly_tips=[30.0, 0])
    )
    assert small["fly_tipping_actions"].iat[0] == "<5"
    assert math.isnan(small["actions_per_100_fly_tips"].iat[0])


# ---------------------------------------------------------------- hotspots, boundaries


def test_hex_density_counts_only_counted_cases():
    df = cases(
        {"reported_at": "2024-01-01", "latitude": LAT0, "longitude": LON0},
        {"reported_at": "2024-01-02", "latitude": LAT0, "longitude": LON0},
        {"reported_at": "2024-01-02", "latitude": LAT0, "longitude": LON0, "status": "duplicate"},
        {"reported_at": "2024-01-03", "latitude": 53.45, "longitude": -2.90},
        {"reported_at": "2024-01-03"},
    )
    h = hex_density(df, resolution=9)
    assert h["count"].tolist() == [2, 1]
    assert list(h.columns) == ["h3_cell", "count", "lat", "lon"]
    assert abs(h["lat"].iat[0] - LAT0) < 0.01


def test_top_repeat_locations_per_ward():
    df = cases(
        *[
            {"reported_at": f"2024-01-0{d} 10:00", "latitude": _north(1 + d), "longitude": LON0}
            for d in range(1, 5)
        ],
        {"reported_at": "2024-01-02 10:00", "latitude": _north(3000), "longitude": LON0},
        {"reported_at": "2024-01-03 10:00", "latitude": _north(3001), "longitude": LON0},
    )
    top = top_repeat_locations(df, "W1", n=5)
    assert top[["rank", "cases", "repeat_cases"]].values.tolist() == [[1, 4, 3], [2, 2, 1]]
    assert top["top_category"].tolist() == ["litter", "litter"]


def test_remap_table_by_area_weights_and_cases_by_majority_crosswalk():
    cw = pd.DataFrame(
        {"old_code": ["A", "A", "B"], "new_code": ["X", "Y", "Y"], "weight": [0.75, 0.25, 1.0]}
    )
    t = pd.DataFrame(
        {
            "ward_code": ["A", "B"],
            "period": ["2022-04", "2022-04"],
            "cases": [8, 2],
            "cases_per_1k": [1.0, 2.0],
        }
    )
    out = remap_to_boundary_set(t, cw)
    assert out.values.tolist() == [["X", "2022-04", 6.0], ["Y", "2022-04", 4.0]]
    # the city total row moves as it is (city-only spend belongs to no ward)
    city = pd.DataFrame(
        {"ward_code": ["citywide"], "period": ["2022-04"], "cases": [10], "spend_gbp": [3300.0]}
    )
    both = remap_to_boundary_set(
        pd.concat([t.assign(spend_gbp=[200.0, 100.0]), city]),
        cw,
        new_names=pd.DataFrame({"ward_code": ["X", "Y"], "ward_name": ["Ex", "Why"]}),
    )
    assert both.values.tolist() == [
        ["X", "Ex", "2022-04", 6.0, 150.0],
        ["Y", "Why", "2022-04", 4.0, 150.0],
        ["citywide", "City total", "2022-04", 10.0, 3300.0],
    ]
    df = cases(
        {"reported_at": "2022-04-01", "ward_code": "A"},
        {"reported_at": "2022-04-01", "ward_code": "B"},
    )
    moved = remap_to_boundary_set(
        df, cw, new_names=pd.DataFrame({"ward_code": ["X", "Y"], "ward_name": ["Ex", "Why"]})
    )
    assert moved[["ward_code", "ward_name"]].values.tolist() == [["X", "Ex"], ["Y", "Why"]]
    cc = case_crosswalk(pd.Series(["A", "A", "A", "B"]), pd.Series(["X", "X", "Y", "Y"]))
    assert cc.values.tolist() == [["A", "X", 2 / 3], ["A", "Y", 1 / 3], ["B", "Y", 1.0]]


# ---------------------------------------------------------------- store


class FakeStore:
    """The Store.read() contract on a temporary DuckDB file."""

    def __init__(self, path):
        self.path = path

    @contextlib.contextmanager
    def read(self):
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            yield con
        finally:
            con.close()

    def revision(self):
        return "r1"


def test_load_inputs_from_store_via_arrow_matches_frames(tmp_path):
    inp = _medium(800, seed=11)
    db = tmp_path / "store.duckdb"
    con = duckdb.connect(str(db))
    con.register("c", inp.cases)
    con.execute("CREATE TABLE cases AS SELECT * FROM c")
    con.register("e", inp.enforcement)
    con.execute("CREATE TABLE enforcement AS SELECT * FROM e")
    con.register("p", inp.population)
    con.execute("CREATE TABLE population AS SELECT * FROM p")
    con.close()
    store = FakeStore(db)
    loaded = load_inputs(store)
    assert str(loaded.cases["reported_at"].dtype).endswith("Europe/London]")
    expected = ward_period_table(inp, engine="pandas")
    got = ward_period_table(MetricInputs(**{**loaded.__dict__, "sla": SLA}), engine="pandas")
    pd.testing.assert_frame_equal(expected, got, check_exact=False, rtol=1e-12)
    # straight from the store (Arrow, DuckDB engine) with the default SLA table
    direct = ward_period_table(store, engine="duckdb")
    ref = ward_period_table(MetricInputs(**{**inp.__dict__, "sla": None}), engine="pandas")
    pd.testing.assert_frame_equal(ref, direct, check_exact=False, rtol=1e-12)


def test_fpn_paid_rate_is_not_provisional_once_every_notice_has_an_outcome():
    enf = enforcement(
        {"action": "fixed_penalty_notice", "outcome": "paid", "issued_at": "2024-09-01"},
        {"action": "fixed_penalty_notice", "outcome": "unpaid", "issued_at": "2024-09-03"},
    )
    df = cases({"reported_at": "2024-09-10", "category": "fly_tipping"})
    r = row(table(inputs(df, enforcement=enf)), "W1", "2024-09")
    assert r["fpn_paid_rate"] == 0.5 and not bool(r["fpn_paid_rate_provisional"])
