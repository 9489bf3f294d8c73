"""What a killed ingest leaves behind is cleaned at the next start (issue #15, item 9).

- Staging folders (``<temp>/neighbourhood-ingest-*``, Parquet copies of case rows) of a process
  that is gone are removed when the next big file is loaded.
- DuckDB's spill folder ``store.duckdb.tmp`` is removed when the next writer takes the lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from test_concurrency import cases_csv
from test_ingest import wards_geojson

from conftest import REPO
from neighbourhood.ingest import STAGING_OWNER, STAGING_PREFIX, ingest_bytes, sweep_stale_staging
from neighbourhood.store import Store


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_only_folders_whose_process_is_gone(tmp_path: Path) -> None:
    dead = tmp_path / f"{STAGING_PREFIX}dead"
    live = tmp_path / f"{STAGING_PREFIX}live"
    orphan_old = tmp_path / f"{STAGING_PREFIX}old"
    orphan_new = tmp_path / f"{STAGING_PREFIX}new"
    other = tmp_path / "something-else"
    for folder in (dead, live, orphan_old, orphan_new, other):
        folder.mkdir()
        (folder / "slice-0.parquet").write_bytes(b"rows")
    (dead / STAGING_OWNER).write_text(str(_dead_pid()))
    (live / STAGING_OWNER).write_text(str(os.getpid()))
    long_ago = time.time() - 7 * 3600
    os.utime(orphan_old, (long_ago, long_ago))
    removed = sweep_stale_staging(tmp_path)
    assert sorted(removed) == sorted([dead, orphan_old])
    assert not dead.exists() and not orphan_old.exists()
    assert live.exists() and orphan_new.exists() and other.exists()


def test_a_killed_ingest_leaves_staging_that_the_next_big_load_removes(tmp_path: Path) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    store = Store(tmp_path / "store")
    ingest_bytes(store, wards_geojson(), "wards.geojson", "wards")
    first = tmp_path / "first.csv"
    first.write_bytes(cases_csv(range(400)))
    marker = tmp_path / "marker"
    env = {
        **os.environ,
        "TMPDIR": str(temp),
        "NEIGHBOURHOOD_SLICE_BYTES": "2000",
        "NEIGHBOURHOOD_TEST_PAUSE_IN_TXN": "60",
        "NEIGHBOURHOOD_TEST_PAUSE_MARKER": str(marker),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "neighbourhood", "ingest", str(first), "--kind", "cleansing",
         "--store", str(store.path)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the ingest never reached its transaction"
        left = list(temp.glob(STAGING_PREFIX + "*"))
        assert left, "a file read in slices stages its rows"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert all(p.exists() for p in left), "SIGKILL leaves the staging folder behind"
    second = tmp_path / "second.csv"
    second.write_bytes(cases_csv(range(400, 800)))
    env = {**env, "NEIGHBOURHOOD_TEST_PAUSE_IN_TXN": ""}
    run = subprocess.run(
        [sys.executable, "-m", "neighbourhood", "ingest", str(second), "--kind", "cleansing",
         "--store", str(store.path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert not any(p.exists() for p in left)
    assert not list(temp.glob(STAGING_PREFIX + "*")), "its own staging is removed too"
    assert len(store.table("cases")) == 400, "the killed load wrote nothing"


def test_a_spill_folder_left_beside_the_database_is_removed_by_the_next_writer(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "store")
    ingest_bytes(store, wards_geojson(), "wards.geojson", "wards")
    spill = Path(str(store.db_path) + ".tmp")
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"\0" * 4096)
    store.query("SELECT count(*) FROM cases")  # readers leave it alone
    assert spill.exists()
    result = ingest_bytes(store, cases_csv(range(5)), "cases.csv", "cleansing")
    assert result.status == "committed"
    assert not spill.exists()


def test_a_symlinked_spill_folder_is_not_followed(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    ingest_bytes(store, wards_geojson(), "wards.geojson", "wards")
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    Path(str(store.db_path) + ".tmp").symlink_to(target)
    ingest_bytes(store, cases_csv(range(5)), "cases.csv", "cleansing")
    assert (target / "keep.txt").read_text() == "keep"
