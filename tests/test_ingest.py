"""Ingest end to end (loaders → geo → store) on tiny hand-written files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from neighbourhood.ingest import NO_WARDS_MESSAGE, FileRefused, ingest_bytes, ingest_path
from neighbourhood.store import Store


def square(x: float, y: float, d: float = 0.01) -> list:
    return [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]


def wards_geojson(names: tuple[str, str] = ("Anfield", "Kensington & Fairfield")) -> bytes:
    features = [
        {
            "type": "Feature",
            "properties": {"WD23CD": code, "WD23NM": name},
            "geometry": {"type": "Polygon", "coordinates": square(x, 53.40)},
        }
        for code, name, x in zip(("E05000001", "E05000002"), names, (-3.00, -2.99), strict=True)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


HEADER = "Case ID,Date Received,Request Type,Latitude,Longitude,Status,Last Updated\n"
CASES = (
    HEADER
    + "C1,01/02/2024 10:00,Fly tipping,53.405,-2.995,Open,01/02/2024 10:00\n"
    + "C2,02/07/2024 10:00,Graffiti,53.405,-2.985,Open,02/07/2024 10:00\n"
    + "C3,02/07/2024 10:00,Graffiti,54.100,-2.985,Open,02/07/2024 10:00\n"  # outside every ward
    + "C4,31/02/2024 10:00,Graffiti,53.405,-2.985,Open,02/07/2024 10:00\n"  # impossible date
).encode()
NEWER = (
    HEADER
    + "C1,01/02/2024 10:00,Fly tipping,53.405,-2.995,Open,01/02/2024 10:00\n"  # unchanged
    + "C2,02/07/2024 10:00,Graffiti,53.405,-2.985,Closed,05/07/2024 10:00\n"  # updated
    + "C5,03/07/2024 10:00,Litter,53.405,-2.995,Open,03/07/2024 10:00\n"  # new
).encode()


def folder_hash(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def store(store_dir: Path) -> Store:
    s = Store(store_dir)
    result = ingest_bytes(s, wards_geojson(), "wards-2023.geojson", "wards")
    assert result.status == "committed"
    return s


def test_the_same_file_after_new_boundaries_is_read_again_onto_the_new_wards(
    store: Store,
) -> None:
    first = ingest_bytes(store, CASES, "cases.csv", "cleansing")
    assert set(store.table("cases")["ward_code"]) == {"E05000001", "E05000002"}
    again = ingest_bytes(store, CASES, "cases.csv", "cleansing")
    assert again.status == "duplicate_file"  # same boundaries: nothing to do
    new_set = wards_geojson().replace(b"E0500000", b"E0590000")  # the same shapes, new codes
    swap = ingest_bytes(store, new_set, "wards-2027.geojson", "wards")
    assert swap.status == "committed"
    # the stored cases keep the old codes until read again: the result says so
    assert f"ward codes not in this set ({first.rows_new} cases)" in swap.message
    moved = ingest_bytes(store, CASES, "cases.csv", "cleansing")
    assert (moved.status, moved.rows_updated) == ("committed", first.rows_new)
    assert set(store.table("cases")["ward_code"]) == {"E05900001", "E05900002"}
    assert ingest_bytes(store, CASES, "cases.csv", "cleansing").status == "duplicate_file"
    # the new boundaries undone: the old set is in use again, and the extract loaded again
    # goes back onto it (its newest load was under the undone set, so it is no duplicate)
    store.undo(swap.ingest_id)
    back = ingest_bytes(store, CASES, "cases.csv", "cleansing")
    assert (back.status, back.rows_updated) == ("committed", first.rows_new)
    assert set(store.table("cases")["ward_code"]) == {"E05000001", "E05000002"}
    # a boundary file loaded before makes its set the one in use again when loaded again
    assert ingest_bytes(store, new_set, "wards-2027.geojson", "wards").status == "committed"
    again_old = ingest_bytes(store, wards_geojson(), "wards-2023.geojson", "wards")
    assert again_old.status == "committed"
    assert store.active_boundary_set() == "wards-2023"
    # and while it is the set in use, loading it once more changes nothing
    assert ingest_bytes(store, wards_geojson(), "wards-2023.geojson", "wards").status == (
        "duplicate_file"
    )


def test_the_same_file_with_corrected_read_options_is_read_again(store: Store) -> None:
    from neighbourhood.ingest import ReadOptions

    us = (
        b"Case Ref,Date Received,Request Type,Latitude,Longitude\n"
        b"D0,01/02/2024,Litter,53.405,-2.995\n"
        b"D1,03/25/2024,Litter,53.405,-2.995\n"
        b"D2,05/06/2024,Litter,53.405,-2.995\n"
    )
    wrong = ingest_bytes(
        store, us, "us.csv", "cleansing", options=ReadOptions(date_format="%d/%m/%Y")
    )
    assert (wrong.status, wrong.rows_new, wrong.rows_rejected) == ("committed", 2, 1)
    right = ingest_bytes(
        store, us, "us.csv", "cleansing", options=ReadOptions(date_format="monthfirst")
    )
    assert (right.status, right.rows_new, right.rows_updated) == ("committed", 1, 2)
    when = store.table("cases").set_index("case_id")["reported_at"].dt.strftime("%Y-%m-%d")
    assert when.to_dict() == {"D0": "2024-01-02", "D1": "2024-03-25", "D2": "2024-05-06"}
    # the same options again (a keyword in another case included) is the same load
    again = ingest_bytes(
        store, us, "us.csv", "cleansing", options=ReadOptions(date_format="MonthFirst")
    )
    assert again.status == "duplicate_file" and right.ingest_id in again.message
    # no options and "dayfirst" read the same way: a default load, then dayfirst, is a duplicate
    plain = CASES.replace(b"C1,", b"P1,")
    first = ingest_bytes(store, plain, "p.csv", "cleansing")
    dup = ingest_bytes(
        store, plain, "p.csv", "cleansing", options=ReadOptions(date_format="dayfirst")
    )
    assert (first.status, dup.status) == ("committed", "duplicate_file")
    assert first.ingest_id in dup.message


def test_a_boundary_file_of_one_local_authority_loads_with_its_warnings_shown(
    tmp_path: Path,
) -> None:
    city = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"LAD22CD": "E08000012"},
                "geometry": {"type": "Polygon", "coordinates": square(-3.0, 53.4, 0.1)},
            }
        ],
    }
    out = ingest_bytes(Store(tmp_path / "s"), json.dumps(city).encode(), "city.geojson", "wards")
    assert out.status == "committed"
    assert "local-authority or region code, not a ward code (E08000012)" in out.message
    assert "No ward name column found" in out.message
    assert out.summary()["warnings"] == 2


def test_cases_before_wards_are_refused_and_create_nothing(tmp_path: Path) -> None:
    s = Store(tmp_path / "store")
    with pytest.raises(FileRefused) as err:
        ingest_bytes(s, CASES, "cases.csv", "cleansing")
    assert err.value.message == NO_WARDS_MESSAGE
    assert not (tmp_path / "store").exists()


def test_wards_file_creates_store_and_active_boundary_set(store: Store) -> None:
    assert store.active_boundary_set() == "wards-2023"
    wards = store.wards()
    assert wards["ward_code"].tolist() == ["E05000001", "E05000002"]
    assert wards["ward_name"].tolist() == ["Anfield", "Kensington & Fairfield"]
    again = ingest_bytes(store, wards_geojson(), "copy.geojson", "wards")
    assert again.status == "duplicate_file"


def test_wards_boundary_set_option(store: Store) -> None:
    out = ingest_bytes(
        store, wards_geojson(("A", "B")), "w.geojson", "wards", boundary_set="council-2024"
    )
    assert (out.boundary_set, store.active_boundary_set()) == ("council-2024", "council-2024")
    assert store.wards()["ward_name"].tolist() == ["A", "B"]


def test_refused_boundary_file_creates_nothing(tmp_path: Path) -> None:
    s = Store(tmp_path / "store")
    with pytest.raises(FileRefused):
        ingest_bytes(s, b"not a boundary file", "wards.geojson", "wards")
    assert not (tmp_path / "store").exists()


def test_cleansing_ingest_assigns_wards_and_keeps_rejects(store: Store) -> None:
    out = ingest_bytes(store, CASES, "cases.csv", "cleansing", actor="tester")
    assert out.status == "committed"
    assert (out.rows_read, out.rows_accepted, out.rows_rejected) == (4, 2, 2)
    assert (out.rows_new, out.rows_updated, out.rows_unchanged) == (2, 0, 0)
    cases = store.table("cases").set_index("case_id")
    assert cases.loc["C1", "ward_code"] == "E05000001"
    assert cases.loc["C2", "ward_code"] == "E05000002"
    assert str(cases["reported_at"].dtype) == "datetime64[us, Europe/London]"
    assert cases.loc["C2", "reported_at"] == pd.Timestamp("2024-07-02 10:00", tz="Europe/London")
    stored = store.rejects(out.ingest_id)
    errors = stored[stored["severity"] == "error"]
    assert errors[["source_line", "rule"]].values.tolist() == [
        [4, "E_OUTSIDE_WARDS"],
        [5, "E_DATE_FORMAT"],
    ]
    assert set(stored["source_file"]) == {"cases.csv"}
    assert len(stored) == len(out.rejects)
    log = store.log().iloc[0]
    assert (log["actor"], log["status"], log["rows_rejected"]) == ("tester", "committed", 2)
    assert log["boundary_set"] == "wards-2023"
    assert json.loads(log["details"])["rows_read"] == 4


def test_reingest_same_file_is_duplicate_and_changes_no_byte_of_data(store: Store) -> None:
    first = ingest_bytes(store, CASES, "cases.csv", "cleansing")
    before = store.table("cases")
    again = ingest_bytes(store, CASES, "renamed.csv", "cleansing")
    assert again.status == "duplicate_file"
    assert (again.rows_new, again.rows_updated) == (0, 0)
    assert first.ingest_id in again.message
    pd.testing.assert_frame_equal(store.table("cases"), before)
    assert len(store.rejects(again.ingest_id)) == 0


def test_overlapping_newer_extract_updates_in_place(store: Store) -> None:
    ingest_bytes(store, CASES, "cases.csv", "cleansing")
    out = ingest_bytes(store, NEWER, "newer.csv", "cleansing")
    assert (out.rows_new, out.rows_updated, out.rows_unchanged) == (1, 1, 1)
    cases = store.table("cases").set_index("case_id")
    assert sorted(cases.index) == ["C1", "C2", "C5"]
    assert cases.loc["C2", "status"] == "closed"
    store.undo(out.ingest_id)
    assert store.table("cases").set_index("case_id").loc["C2", "status"] == "open"


def test_refused_file_leaves_store_byte_identical(store: Store) -> None:
    ingest_bytes(store, CASES, "cases.csv", "cleansing")
    before = folder_hash(store.path)
    for data in (b"", b"Colour,Size\nred,big\n", b"\x00\x01\x02binary"):
        with pytest.raises(FileRefused):
            ingest_bytes(store, data, "bad.csv", "cleansing")
    assert folder_hash(store.path) == before


def test_population_maps_ward_names_to_codes(store: Store) -> None:
    data = (
        b"Ward,Population,Year\n"
        b"Anfield,14000,2021\n"
        b"kensington and fairfield,15000,2021\n"
        b"Nowhere,1,2021\n"
        b"E05000001,14100,2022\n"
    )
    out = ingest_bytes(store, data, "population.csv", "population")
    assert (out.rows_accepted, out.rows_rejected, out.rows_new) == (3, 1, 3)
    assert out.rejects["rule"].tolist() == ["E_UNKNOWN_WARD"]
    pop = store.table("population").sort_values(["ward_code", "year"])
    assert pop[["ward_code", "year", "population"]].values.tolist() == [
        ["E05000001", 2021, 14000],
        ["E05000001", 2022, 14100],
        ["E05000002", 2021, 15000],
    ]
    assert pop["ward_name"].tolist() == ["Anfield", "Anfield", "Kensington & Fairfield"]


def test_spend_allows_citywide_and_ward_names(store: Store) -> None:
    data = (
        b"Ward,Period start,Period end,Programme,Service,Amount\n"
        b"Anfield,01/04/2024,30/06/2024,Clean,cleansing,1000\n"
        b"citywide,01/04/2024,30/06/2024,Clean,enforcement,50\n"
        b"Mars,01/04/2024,30/06/2024,Clean,cleansing,10\n"
    )
    out = ingest_bytes(store, data, "spend.csv", "spend")
    assert (out.rows_accepted, out.rows_rejected) == (2, 1)
    spend = store.table("spend").sort_values("amount_gbp")
    assert spend["ward_code"].tolist() == ["citywide", "E05000001"]
    assert spend["period_start"].tolist() == [pd.Timestamp("2024-04-01")] * 2


def test_a_ward_given_by_code_and_by_name_is_one_key_and_the_repeat_is_rejected(
    store: Store,
) -> None:
    spend = (
        b"Ward,Period start,Period end,Programme,Service,Amount\n"
        b"E05000001,01/04/2024,30/06/2024,Clean,cleansing,100\n"
        b"Anfield,01/04/2024,30/06/2024,Clean,cleansing,200\n"
    )
    out = ingest_bytes(store, spend, "spend.csv", "spend")
    assert (out.rows_accepted, out.rows_rejected, out.rows_new, out.rows_unchanged) == (1, 1, 1, 0)
    assert store.table("spend")["amount_gbp"].tolist() == [200.0]
    rejected = out.rejects[out.rejects["severity"] == "error"]
    assert rejected[["source_line", "rule"]].values.tolist() == [[2, "E_DUPLICATE_ID"]]
    pop = (
        b"Ward,Year,Population\n"
        b"Kensington and Fairfield,2023,3000\n"
        b"Kensington & Fairfield,2023,3100\n"
    )
    out = ingest_bytes(store, pop, "pop.csv", "population")
    assert (out.rows_accepted, out.rows_rejected) == (1, 1)
    assert store.table("population")["population"].tolist() == [3100]


def test_ingest_path_and_summary(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.write_bytes(CASES)
    out = ingest_path(store, path, "cleansing")
    summary = out.summary()
    json.dumps(summary)  # plain types only
    assert summary["file_name"] == "cases.csv"
    assert summary["sha256"] == hashlib.sha256(CASES).hexdigest()
    assert summary["rows_new"] == 2
    with pytest.raises(FileRefused):
        ingest_path(store, tmp_path / "missing.csv", "cleansing")


@pytest.mark.realdata
def test_real_liverpool_wards_become_the_active_set(shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "liverpool-wards-2023" / "liverpool_wards_2023_wgs84.geojson"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    s = Store(tmp_path / "store")
    out = ingest_path(s, path, "wards")
    assert out.status == "committed"
    assert out.boundary_set == "liverpool_wards_2023_wgs84"
    wards = s.wards()
    assert len(wards) == out.rows_new > 20
    assert wards["ward_code"].str.match(r"^E05\d{6}$").all()
    assert wards.crs.to_epsg() == 4326
    assert (wards["area_m2"] > 100_000).all()
    # A case at the Liver Building lands in a ward; one in Manchester is rejected.
    csv = (
        HEADER + "L1,01/02/2024 10:00,Litter,53.4058,-2.9958,Open,01/02/2024 10:00\n"
        "M1,01/02/2024 10:00,Litter,53.4794,-2.2453,Open,01/02/2024 10:00\n"
    ).encode()
    res = ingest_bytes(s, csv, "cases.csv", "cleansing")
    assert (res.rows_new, res.rows_rejected) == (1, 1)
    assert res.rejects.loc[res.rejects["severity"] == "error", "rule"].tolist() == [
        "E_OUTSIDE_WARDS"
    ]
