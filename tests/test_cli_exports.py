"""The command line's exports apply the pages' small-count rule by default (issue #15, item 5).

``metrics --out`` writes enforcement counts from 1 to 4 in ward rows as ``<5`` and blanks the
rates built on them, with a ``disclosure`` column saying so; ``--unsuppressed`` gives an analyst
the exact figures and the column says they are unsuppressed. The whole-city rows are exact in
both, as on the pages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from neighbourhood.__main__ import main
from neighbourhood.sdc import DISCLOSURE_COLUMN, ENFORCEMENT_COUNT_COLUMNS, ENFORCEMENT_RATE_COUNTS

SMALL = {"1", "2", "3", "4"}


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo store: a few hundred cases, so many ward-months hold 1 to 4 actions."""
    store = tmp_path_factory.mktemp("exports") / "store"
    assert main(["demo", "--store", str(store), "--cases", "400", "--seed", "7"]) == 0
    return store


def _export(
    store: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[pd.DataFrame, dict]:
    capsys.readouterr()
    assert main(["metrics", "--store", str(store), "--out", str(out), *extra]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return table, summary


def test_metrics_out_suppresses_enforcement_counts_of_1_to_4_by_default(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exact, _ = _export(small_store, tmp_path / "exact.csv", capsys, "--unsuppressed")
    table, summary = _export(small_store, tmp_path / "metrics.csv", capsys)
    wards = table["ward_code"] != "citywide"
    counts = [c for c in ENFORCEMENT_COUNT_COLUMNS if c in table.columns]
    assert "enforcement_actions" in counts and "fpn_issued" in counts
    exact_small = exact.loc[wards, counts].isin(SMALL)
    assert exact_small.to_numpy().any()  # the store has small counts to hide
    assert not table.loc[wards, counts].isin(SMALL).to_numpy().any()
    assert (table.loc[wards, counts][exact_small] == "<5").to_numpy()[exact_small.to_numpy()].all()
    # every other figure is as the exact export has it
    keep = [c for c in table.columns if c not in (*counts, *ENFORCEMENT_RATE_COUNTS)]
    pd.testing.assert_frame_equal(
        table[keep], exact[keep].assign(**{DISCLOSURE_COLUMN: table[DISCLOSURE_COLUMN]})
    )
    # a rate built on a small count is blank: it would give the count back
    for rate, parts in ENFORCEMENT_RATE_COUNTS.items():
        if rate in table.columns:
            hidden = (
                exact.loc[wards, [p for p in parts if p in exact.columns]].isin(SMALL).any(axis=1)
            )
            assert (table.loc[wards, rate][hidden] == "").all(), rate
    # the whole-city rows stay exact, as on the pages
    city = ~wards
    assert table.loc[city, counts].equals(exact.loc[city, counts])
    # the file and the summary say what was done and why
    notes = set(table[DISCLOSURE_COLUMN])
    assert len(notes) == 1 and next(iter(notes)).startswith("Enforcement counts from 1 to 4")
    assert "<5" in next(iter(notes)) and "protect" in next(iter(notes))
    assert summary["suppressed"] is True


def test_unsuppressed_export_has_exact_figures_and_says_so(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table, summary = _export(small_store, tmp_path / "exact.csv", capsys, "--unsuppressed")
    counts = [c for c in ENFORCEMENT_COUNT_COLUMNS if c in table.columns]
    assert table[counts].isin(SMALL).to_numpy().any()
    assert not table[counts].isin({"<5"}).to_numpy().any()
    assert set(table[DISCLOSURE_COLUMN]) == {table[DISCLOSURE_COLUMN].iloc[0]}
    assert table[DISCLOSURE_COLUMN].iloc[0].startswith("UNSUPPRESSED")
    assert summary["suppressed"] is False and summary["disclosure"].startswith("UNSUPPRESSED")


def test_the_threshold_setting_applies_to_exports(
    small_store: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEIGHBOURHOOD_SDC_THRESHOLD", "10")
    table, _ = _export(small_store, tmp_path / "metrics.csv", capsys)
    wards = table["ward_code"] != "citywide"
    counts = [c for c in ENFORCEMENT_COUNT_COLUMNS if c in table.columns]
    assert not table.loc[wards, counts].isin({str(n) for n in range(1, 10)}).to_numpy().any()
    assert table[DISCLOSURE_COLUMN].iloc[0].startswith("Enforcement counts from 1 to 9")


def test_the_printed_table_is_suppressed_too(
    small_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["metrics", "--store", str(small_store)]) == 0
    printed = capsys.readouterr().err
    assert "<5" in printed
