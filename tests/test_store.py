"""The DuckDB store on small hand-built frames (no loaders, no geo)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from neighbourhood import store as st
from neighbourhood.store import IngestBatch, Store, StoreBusy, StoreNotFound, UndoRefused

LONDON = "Europe/London"


def ts(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text, tz=LONDON) if text else pd.NaT


def cases(rows: list[tuple]) -> pd.DataFrame:
    """(case_id, category, status, reported_at, updated_at) rows → canonical frame."""
    frame = pd.DataFrame(
        rows, columns=["case_id", "category", "status", "reported_at", "updated_at"]
    )
    for col in ("reported_at", "updated_at"):
        frame[col] = pd.to_datetime(frame[col]).dt.tz_localize(LONDON)
    frame["ward_code"] = "E05000001"
    frame["ward_name"] = "Anfield"
    frame["cost_gbp"] = 10.0
    return frame


def batch(kind: str, frame: pd.DataFrame | None, sha: str, **kw) -> IngestBatch:
    return IngestBatch(
        kind=kind,
        file_name=f"{sha}.csv",
        sha256=sha,
        n_bytes=100,
        frame=frame,
        rows_read=0 if frame is None else len(frame),
        **kw,
    )


def folder_hash(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def current(store: Store) -> pd.DataFrame:
    frame = store.table("cases").drop(columns=["ingest_id"])
    return frame.sort_values("case_id").reset_index(drop=True)


FIRST = [
    ("C1", "litter", "open", "2024-01-01 09:00", "2024-01-01 09:00"),
    ("C2", "graffiti", "open", "2024-01-02 09:00", "2024-01-02 09:00"),
    ("C3", "litter", "closed", "2024-01-03 09:00", "2024-01-05 09:00"),
    ("C6", "weeds", "open", "2024-01-06 09:00", "2024-01-06 09:00"),
]
SECOND = [
    # newer updated_at and a change → updated
    ("C1", "litter", "closed", "2024-01-01 09:00", "2024-01-04 09:00"),
    # identical → unchanged
    ("C2", "graffiti", "open", "2024-01-02 09:00", "2024-01-02 09:00"),
    # older updated_at than stored → unchanged (the stored, newer version is kept)
    ("C3", "litter", "open", "2024-01-03 09:00", "2024-01-04 09:00"),
    # new case
    ("C4", "fly_tipping", "open", "2024-01-04 09:00", "2024-01-04 09:00"),
    # no updated_at in the new extract → the newer ingest wins → updated
    ("C6", "weeds", "closed", "2024-01-06 09:00", None),
]


@pytest.fixture
def store(store_dir: Path) -> Store:
    s = Store(store_dir)
    s.initialise()
    return s


def test_store_path_defaults_to_env_var(store_dir: Path) -> None:
    assert Store().path == store_dir
    assert Store("elsewhere").path == Path("elsewhere")


def test_store_path_defaults_to_data_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEIGHBOURHOOD_STORE", raising=False)
    assert Store().path == Path("data/store")


def test_uninitialised_store_creates_nothing_and_reads_refuse(tmp_path: Path) -> None:
    s = Store(tmp_path / "none")
    assert not s.exists()
    assert s.revision() == ""
    assert s.find_duplicate("00", "cleansing") is None
    with pytest.raises(StoreNotFound):
        s.table("cases")
    with pytest.raises(StoreNotFound), s.writing():
        pass
    assert not (tmp_path / "none").exists()


def test_initialise_creates_db_and_lock_and_is_idempotent(store: Store) -> None:
    assert sorted(p.name for p in store.path.iterdir()) == ["store.duckdb", "store.lock"]
    before = folder_hash(store.path)
    store.initialise()
    assert folder_hash(store.path) == before
    for name, cols in st.ALL_TABLES.items():
        assert list(store.table(name).columns) == list(cols)


def test_upsert_counts_new_updated_unchanged_exact(store: Store) -> None:
    first = store.apply_ingest(batch("cleansing", cases(FIRST), "a"))
    assert (first.status, first.rows_new, first.rows_updated, first.rows_unchanged) == (
        "committed",
        4,
        0,
        0,
    )
    second = store.apply_ingest(batch("cleansing", cases(SECOND), "b"))
    assert (second.rows_new, second.rows_updated, second.rows_unchanged) == (1, 2, 2)
    assert second.rows_accepted == 5
    got = current(store).set_index("case_id")
    assert got.loc["C1", "status"] == "closed"
    assert got.loc["C2", "status"] == "open"
    assert got.loc["C3", "status"] == "closed"  # stored version was newer
    assert got.loc["C3", "updated_at"] == ts("2024-01-05 09:00")
    assert got.loc["C6", "status"] == "closed"
    assert pd.isna(got.loc["C6", "updated_at"])
    assert sorted(got.index) == ["C1", "C2", "C3", "C4", "C6"]
    owners = store.table("cases", ["case_id", "ingest_id"]).set_index("case_id")["ingest_id"]
    assert owners.to_dict() == {
        "C1": second.ingest_id,
        "C2": first.ingest_id,
        "C3": first.ingest_id,
        "C4": second.ingest_id,
        "C6": second.ingest_id,
    }
    versions = store.table("case_versions")
    assert sorted(versions["case_id"]) == ["C1", "C6"]
    assert set(versions["replaced_by"]) == {second.ingest_id}
    assert set(versions["table_name"]) == {"cases"}


def test_same_updated_at_with_changes_newer_ingest_wins(store: Store) -> None:
    store.apply_ingest(batch("cleansing", cases(FIRST[:1]), "a"))
    changed = [("C1", "litter", "closed", "2024-01-01 09:00", "2024-01-01 09:00")]
    out = store.apply_ingest(batch("cleansing", cases(changed), "b"))
    assert (out.rows_new, out.rows_updated, out.rows_unchanged) == (0, 1, 0)
    assert current(store)["status"].tolist() == ["closed"]


def test_reingesting_identical_file_is_duplicate_and_changes_nothing(store: Store) -> None:
    first = store.apply_ingest(batch("cleansing", cases(FIRST), "a"))
    before = current(store)
    again = store.apply_ingest(batch("cleansing", cases(FIRST), "a"))
    assert again.status == "duplicate_file"
    assert (again.rows_new, again.rows_updated, again.rows_unchanged) == (0, 0, 0)
    assert again.duplicate_of == first.ingest_id
    assert first.ingest_id in again.message
    pd.testing.assert_frame_equal(current(store), before)
    log = store.log()
    assert log["status"].tolist() == ["duplicate_file", "committed"]
    # The same bytes as another kind are not a duplicate.
    other = store.apply_ingest(batch("enforcement", pd.DataFrame({"case_id": []}), "a"))
    assert other.status == "committed"


def test_same_content_in_a_new_file_is_all_unchanged(store: Store) -> None:
    store.apply_ingest(batch("cleansing", cases(FIRST), "a"))
    out = store.apply_ingest(batch("cleansing", cases(FIRST), "a2"))
    assert (out.status, out.rows_new, out.rows_updated, out.rows_unchanged) == (
        "committed",
        0,
        0,
        4,
    )
    assert len(store.table("case_versions")) == 0


def test_duplicate_case_ids_within_one_file_newest_wins(store: Store) -> None:
    rows = [
        ("C1", "litter", "open", "2024-01-01 09:00", "2024-01-03 09:00"),
        ("C1", "litter", "closed", "2024-01-01 09:00", "2024-01-02 09:00"),
    ]
    out = store.apply_ingest(batch("cleansing", cases(rows), "a"))
    assert out.rows_new == 1
    assert current(store)["status"].tolist() == ["open"]


def test_undo_restores_previous_versions_and_lifo_rule(store: Store) -> None:
    first = store.apply_ingest(batch("cleansing", cases(FIRST), "a"))
    after_first = current(store)
    second = store.apply_ingest(batch("cleansing", cases(SECOND), "b"))
    revision = store.revision()

    with pytest.raises(UndoRefused, match="undo ingest-000002 first"):
        store.undo(first.ingest_id)

    result = store.undo(second.ingest_id, actor="tester")
    assert result["rows_deleted"] == 3  # C1, C4, C6 written by the second ingest
    assert result["rows_restored"] == 2  # C1, C6 previous versions
    pd.testing.assert_frame_equal(current(store), after_first)
    owners = set(store.table("cases", ["ingest_id"])["ingest_id"])
    assert owners == {first.ingest_id}
    assert len(store.table("case_versions")) == 0
    log = store.log().set_index("ingest_id")
    assert log.loc[second.ingest_id, "status"] == "undone"
    assert log.loc[second.ingest_id, "undone_by"] == "tester"
    assert pd.notna(log.loc[second.ingest_id, "undone_at"])
    assert store.revision() != revision

    with pytest.raises(UndoRefused, match="undone"):
        store.undo(second.ingest_id)
    store.undo("1")  # bare sequence numbers are accepted
    assert len(store.table("cases")) == 0
    # An undone file may be ingested again.
    again = store.apply_ingest(batch("cleansing", cases(FIRST), "a"))
    assert (again.status, again.rows_new) == ("committed", 4)


def test_undo_refuses_unknown_and_duplicate_ingests(store: Store) -> None:
    store.apply_ingest(batch("cleansing", cases(FIRST), "a"))
    dup = store.apply_ingest(batch("cleansing", None, "a"))
    assert dup.status == "duplicate_file"
    with pytest.raises(UndoRefused, match="duplicate_file"):
        store.undo(dup.ingest_id)
    with pytest.raises(UndoRefused, match="no ingest"):
        store.undo("ingest-999999")


def test_undo_other_kind_is_independent(store: Store) -> None:
    first = store.apply_ingest(batch("cleansing", cases(FIRST), "a"))
    pop = pd.DataFrame({"ward_code": ["E05000001"], "year": [2021], "population": [14000]})
    store.apply_ingest(batch("population", pop, "p"))
    store.undo(first.ingest_id)  # a later population ingest does not block it
    assert len(store.table("cases")) == 0
    assert len(store.table("population")) == 1


def test_failed_transaction_rolls_back_everything(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.apply_ingest(batch("cleansing", cases(FIRST), "a"))
    before = current(store)

    def boom(*args, **kwargs) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Store, "_insert_log", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.apply_ingest(batch("cleansing", cases(SECOND), "b"))
    monkeypatch.undo()
    pd.testing.assert_frame_equal(current(store), before)
    assert len(store.log()) == 1
    assert len(store.table("case_versions")) == 0
    assert not (store.path / "store.duckdb.wal").exists()


def test_timestamps_round_trip_as_london_including_bst(store: Store) -> None:
    frame = cases(
        [
            ("W", "litter", "open", "2024-01-15 09:00", "2024-01-15 09:00"),  # GMT
            ("S", "litter", "open", "2024-07-01 09:00", "2024-07-01 09:00"),  # BST
        ]
    )
    store.apply_ingest(batch("cleansing", frame, "a"))
    got = current(store)
    assert str(got["reported_at"].dtype) == "datetime64[us, Europe/London]"
    pd.testing.assert_series_equal(
        got["reported_at"], frame.sort_values("case_id")["reported_at"].reset_index(drop=True)
    )
    with store.read() as con:
        utc = dict(
            con.execute(
                "SELECT case_id, strftime(reported_at, '%H:%M') FROM cases ORDER BY case_id"
            ).fetchall()
        )
    assert utc == {"S": "08:00", "W": "09:00"}  # stored as UTC instants


def test_naive_times_are_london_wall_time_with_dst_rules(store: Store) -> None:
    frame = pd.DataFrame(
        {
            "case_id": ["AMBIGUOUS", "GAP"],
            # autumn: 01:30 happens twice → the earlier (BST) instant, 00:30 UTC;
            # spring: 01:30 does not exist → shifted forward to 02:00 BST, 01:00 UTC.
            "reported_at": pd.to_datetime(["2024-10-27 01:30", "2024-03-31 01:30"]),
        }
    )
    store.apply_ingest(batch("cleansing", frame, "a"))
    with store.read() as con:
        utc = dict(
            con.execute(
                "SELECT case_id, strftime(reported_at, '%Y-%m-%d %H:%M') FROM cases"
            ).fetchall()
        )
    assert utc == {"AMBIGUOUS": "2024-10-27 00:30", "GAP": "2024-03-31 01:00"}


def test_spend_upsert_with_empty_key_parts_and_dates(store: Store) -> None:
    spend = pd.DataFrame(
        {
            "ward_code": ["E05000001", "citywide"],
            # Midnight London in BST must stay the same calendar date.
            "period_start": pd.to_datetime(["2024-04-01", "2024-04-01"]).tz_localize(LONDON),
            "period_end": pd.to_datetime(["2024-06-30", "2024-06-30"]).tz_localize(LONDON),
            "programme": ["Clean Streets", None],
            "service": ["cleansing", "enforcement"],
            "amount_gbp": [1000.0, 500.0],
        }
    )
    first = store.apply_ingest(batch("spend", spend, "s1"))
    assert first.rows_new == 2
    spend.loc[1, "amount_gbp"] = 750.0
    second = store.apply_ingest(batch("spend", spend, "s2"))
    assert (second.rows_new, second.rows_updated, second.rows_unchanged) == (0, 1, 1)
    got = store.table("spend").sort_values("amount_gbp").reset_index(drop=True)
    assert got["ward_code"].tolist() == ["citywide", "E05000001"]
    assert got["amount_gbp"].tolist() == [750.0, 1000.0]
    assert got["period_start"].tolist() == [pd.Timestamp("2024-04-01")] * 2
    assert got["period_end"].tolist() == [pd.Timestamp("2024-06-30")] * 2


def test_population_upsert_by_ward_and_year(store: Store) -> None:
    pop = pd.DataFrame(
        {"ward_code": ["E1", "E1", "E2"], "year": [2021, 2022, 2021], "population": [10, 11, 20]}
    )
    store.apply_ingest(batch("population", pop, "p1"))
    pop2 = pd.DataFrame({"ward_code": ["E1", "E3"], "year": [2022, 2022], "population": [12, 30]})
    out = store.apply_ingest(batch("population", pop2, "p2"))
    assert (out.rows_new, out.rows_updated, out.rows_unchanged) == (1, 1, 0)
    got = store.table("population").sort_values(["ward_code", "year"])
    assert got["population"].tolist() == [10, 12, 20, 30]


def square(x: float, y: float) -> shapely.Polygon:
    return shapely.box(x, y, x + 0.01, y + 0.01)


def wards_frame(codes: list[str], names: list[str] | None = None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"ward_code": codes, "ward_name": names or codes},
        geometry=[square(-3.0 + 0.01 * i, 53.4) for i in range(len(codes))],
        crs="EPSG:4326",
    )


def test_boundary_sets_active_replacement_and_undo(store: Store) -> None:
    assert store.active_boundary_set() is None
    assert len(store.wards()) == 0
    a = store.apply_ingest(batch("wards", wards_frame(["E1", "E2"]), "w1", boundary_set="old"))
    assert (a.rows_new, store.active_boundary_set()) == (2, "old")
    b = store.apply_ingest(
        batch("wards", wards_frame(["E7", "E8", "E9"]), "w2", boundary_set="new")
    )
    assert b.rows_new == 3
    assert store.active_boundary_set() == "new"
    wards = store.wards()
    assert isinstance(wards, gpd.GeoDataFrame)
    assert wards.crs.to_epsg() == 4326
    assert wards["ward_code"].tolist() == ["E7", "E8", "E9"]
    assert wards.geometry.iloc[0].equals(square(-3.0, 53.4))
    assert 600_000 < wards["area_m2"].iloc[0] < 900_000  # ~0.01° square at 53.4°N
    assert store.wards("old")["ward_code"].tolist() == ["E1", "E2"]
    with store.read() as con:
        assert con.execute("SELECT count(*) FROM active_wards").fetchall() == [(3,)]

    # Re-ingesting "new" with one ward renamed and one gone replaces the set as a whole.
    c = store.apply_ingest(
        batch("wards", wards_frame(["E7", "E8"], ["E7", "Renamed"]), "w3", boundary_set="new")
    )
    assert (c.rows_new, c.rows_updated, c.rows_unchanged) == (0, 1, 1)
    assert "1 wards no longer" in c.message
    assert store.wards()["ward_name"].tolist() == ["E7", "Renamed"]

    store.undo(c.ingest_id)
    assert store.wards()["ward_name"].tolist() == ["E7", "E8", "E9"]
    store.undo(b.ingest_id)
    assert store.active_boundary_set() == "old"
    assert store.wards()["ward_code"].tolist() == ["E1", "E2"]


def test_rejects_are_stored_with_the_ingest(store: Store) -> None:
    rejects = pd.DataFrame(
        {
            "source_line": [3, 5],
            "case_id": ["C9", None],
            "column": ["reported_at", "latitude"],
            "value": ["31/02/2024", 91.0],
            "rule": ["E_DATE_FORMAT", "E_COORD_RANGE"],
            "message": ["bad date", "bad lat"],
            "severity": ["error", "error"],
        }
    )
    out = store.apply_ingest(batch("cleansing", cases(FIRST), "a", rejects=rejects))
    got = store.rejects(out.ingest_id)
    assert got["source_line"].tolist() == [3, 5]
    assert got["value"].tolist() == ["31/02/2024", "91.0"]
    assert set(got["source_file"]) == {"a.csv"}
    assert len(store.rejects("ingest-999999")) == 0


def test_log_row_has_counts_and_times(store: Store) -> None:
    store.apply_ingest(
        batch("cleansing", cases(FIRST), "a", report={"encoding": "utf-8", "delimiter": ","})
    )
    row = store.log().iloc[0]
    assert row["ingest_id"] == "ingest-000001"
    assert row["kind"] == "cleansing"
    assert row["file_sha256"] == "a"
    assert (row["rows_read"], row["rows_accepted"], row["rows_new"]) == (4, 4, 4)
    assert row["encoding"] == "utf-8"
    assert str(row["finished_at"].tz) == LONDON
    assert row["finished_at"] >= row["started_at"]
    assert store.revision() == "ingest-000001"


def test_read_connection_is_read_only_and_leaves_files_untouched(store: Store) -> None:
    store.apply_ingest(batch("cleansing", cases(FIRST), "a"))
    before = folder_hash(store.path)
    with store.read() as con, pytest.raises(Exception, match="read-only"):
        con.execute("DELETE FROM cases")
    store.table("cases")
    store.log()
    store.wards()
    store.revision()
    store.find_duplicate("a", "cleansing")
    assert folder_hash(store.path) == before
    assert sorted(p.name for p in store.path.iterdir()) == ["store.duckdb", "store.lock"]


def test_writer_blocks_readers_until_done(store: Store) -> None:
    entered, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        with store.writing():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=writer)
    thread.start()
    entered.wait(5)
    try:
        with pytest.raises(StoreBusy), store.read(timeout=0.2):
            pass
    except BaseException as exc:  # pragma: no cover - reported below
        errors.append(exc)
    finally:
        release.set()
        thread.join()
    assert not errors
    with store.read(timeout=1) as con:
        assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == 0


def test_lock_is_reentrant_for_reads_inside_a_write(store: Store) -> None:
    with store.writing():
        assert len(store.wards()) == 0  # would deadlock if not re-entrant
        out = store.apply_ingest(batch("cleansing", cases(FIRST), "a"))
    assert out.rows_new == 4
