"""Several processes on one store: the lock serialises writers; a killed ingest loses nothing.

The test-only hook ``NEIGHBOURHOOD_TEST_PAUSE_IN_TXN=<seconds>`` makes an ingest sleep inside its
transaction (after every data statement, before COMMIT), having written its ingest id to the
file named by ``NEIGHBOURHOOD_TEST_PAUSE_MARKER``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_ingest import wards_geojson

from conftest import REPO
from neighbourhood.ingest import ingest_bytes
from neighbourhood.store import Store

HEADER = "Case ID,Date Received,Request Type,Latitude,Longitude,Status,Last Updated\n"


def cases_csv(ids: range, status: str = "Open") -> bytes:
    rows = [
        f"C{i:05d},01/02/2024 10:00,Litter,53.40{i % 10},-2.99{i % 10},{status},01/02/2024 10:00"
        for i in ids
    ]
    return (HEADER + "\n".join(rows) + "\n").encode()


def spawn(store: Path, path: Path, *, pause: float = 0, marker: Path | None = None):
    env = dict(os.environ)
    env.pop("NEIGHBOURHOOD_TEST_PAUSE_IN_TXN", None)
    if pause:
        env["NEIGHBOURHOOD_TEST_PAUSE_IN_TXN"] = str(pause)
    if marker is not None:
        env["NEIGHBOURHOOD_TEST_PAUSE_MARKER"] = str(marker)
    return subprocess.Popen(
        [sys.executable, "-m", "neighbourhood", "ingest", str(path), "--kind", "cleansing"]
        + ["--store", str(store)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def content(store: Store) -> dict[str, pd.DataFrame]:
    """Everything a user can see, in a canonical order (for before/after comparisons)."""
    out = {}
    for name in ("cases", "enforcement", "spend", "population", "wards", "rejects"):
        frame = store.table(name)
        out[name] = frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)
    out["ingest_log"] = store.log()
    return out


@pytest.fixture
def store(store_dir: Path) -> Store:
    s = Store(store_dir)
    ingest_bytes(s, wards_geojson(), "wards.geojson", "wards")
    return s


def test_two_parallel_ingests_each_case_lands_exactly_once(store: Store, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_bytes(cases_csv(range(0, 300)))
    second.write_bytes(cases_csv(range(200, 500)))  # 100 cases in both files, same content
    start = time.monotonic()
    procs = [spawn(store.path, p, pause=1.0) for p in (first, second)]
    outputs = [p.communicate(timeout=120) for p in procs]
    elapsed = time.monotonic() - start
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert elapsed >= 2.0  # both paused 1 s inside their transaction: they ran one after another
    cases = store.table("cases", ["case_id"])
    assert len(cases) == 500
    assert cases["case_id"].is_unique
    log = store.log()
    assert log["status"].tolist()[:2] == ["committed", "committed"]
    assert sorted(log["rows_new"].tolist()[:2]) == [200, 300]
    assert sorted(log["rows_unchanged"].tolist()[:2]) == [0, 100]


def test_store_survives_sigkill_inside_the_transaction(store: Store, tmp_path: Path) -> None:
    ingest_bytes(store, cases_csv(range(0, 100)), "first.csv", "cleansing")
    before = content(store)
    update = tmp_path / "update.csv"
    update.write_bytes(cases_csv(range(50, 400), status="Closed"))
    marker = tmp_path / "in-transaction"
    proc = spawn(store.path, update, pause=60, marker=marker)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the ingest never reached its transaction"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    after = content(store)  # the store still opens (read-only) and shows the old state
    assert after.keys() == before.keys()
    for name in before:
        pd.testing.assert_frame_equal(after[name], before[name], check_dtype=False)
    assert len(store.table("case_versions")) == 0

    # The lock died with the process, and the store takes writes again.
    again = ingest_bytes(store, update.read_bytes(), "update.csv", "cleansing")
    assert (again.rows_new, again.rows_updated) == (300, 50)
    assert again.ingest_id == "ingest-000003"


def test_reader_waits_for_a_running_ingest(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(cases_csv(range(0, 50)))
    marker = tmp_path / "in-transaction"
    proc = spawn(store.path, path, pause=1.5, marker=marker)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cases = store.table("cases", ["case_id"])  # blocks until the writer has committed
    assert len(cases) == 50
    proc.communicate(timeout=60)
    assert proc.returncode == 0
