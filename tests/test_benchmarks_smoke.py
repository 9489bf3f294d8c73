"""The benchmark script at its smallest size (100k rows), as a smoke test.

No timing assertions (timings belong in benchmarks/, not in unit tests): this only checks that the
script runs end to end and that every measurement it reports is present and sane.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


def test_benchmark_script_runs_at_100k_rows(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "benchmarks/run.py",
            "--sizes",
            "100000",
            "--repeat",
            "2",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    [result] = json.loads((tmp_path / "results.json").read_text())
    assert result["rows"] == 100_000
    assert result["ingest"]["accepted"] == 100_000
    assert result["ingest"]["rejected"] == 0
    assert result["reingest_10pct"]["updated"] > 0
    for step in ("bare_read", "ingest", "bare_read_changed", "reingest_10pct"):
        runs = result[step]["runs_s"]
        assert len(runs) == 2 and min(runs) <= result[step]["seconds"] <= max(runs)
    # each round starts from the same store (run.py refuses runs whose counts differ): a round
    # on top of the previous one would find every case stored and add none
    assert result["ingest"]["new"] > 90_000
    assert result["metrics"]["rows"] > 0
    for page in ("overview", "ward_map", "trends", "ward_profile"):
        assert result["pages"]["pages"][page]["warm_s"] > 0
    assert result["pages"]["pages"]["ward_map"]["payload_bytes"] < 5 * 2**20
    assert "| 100,000 |" in (tmp_path / "results.md").read_text()


def test_floor_script_runs_on_a_small_extract(tmp_path: Path) -> None:
    extract = tmp_path / "cases.csv"
    subprocess.run(
        [sys.executable, "benchmarks/generate.py", "--rows", "20000", "--out", str(extract)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )
    out = subprocess.run(
        [sys.executable, "benchmarks/bench_floor.py", str(extract), "--repeat", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    runs = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [r["rows"] for r in runs] == [20_000, 20_000]  # the bare read, then the lean ingest
    for step in ("imports", "read_rules", "bng", "repeats", "persist"):
        assert runs[1][step]["wall_s"] > 0 and runs[1][step]["cpu_s"] >= 0
    assert "steps one after the other" in out.stdout and "3× budget" in out.stdout
