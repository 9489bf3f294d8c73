"""The corpus of council-export variants (tests/corpus.py): every good case loads, into its
ward, as supplied; every bad row is rejected; warnings only where a secondary field was bad."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from corpus import Variant, variants, wards_geojson

from neighbourhood import geo
from neighbourhood.__main__ import main
from neighbourhood.loaders import ReadOptions, read_extract

NOW = pd.Timestamp("2025-01-01", tz="Europe/London")
VARIANTS = variants()


@pytest.fixture(scope="module")
def wards():
    return geo.read_boundaries(wards_geojson(), "wards.geojson").wards


def test_the_corpus_is_big_and_varied() -> None:
    assert len(VARIANTS) >= 60
    assert len({v.name for v in VARIANTS}) == len(VARIANTS)
    assert {v.file_name.rsplit(".", 1)[-1] for v in VARIANTS} == {"csv", "xlsx", "gz"}


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant_loads_as_supplied(variant: Variant, wards) -> None:
    ex = read_extract(variant.data, variant.file_name, "cleansing", ReadOptions(now=NOW))
    assigned, ward_rejects = geo.assign_wards(ex.frame, wards)
    rejects = pd.concat([ex.rejects, ward_rejects], ignore_index=True)
    errors = rejects[rejects["severity"] == "error"]
    assert (len(assigned), ex.report["rows_read"] - len(assigned)) == (
        variant.accepted,
        variant.rejected,
    ), errors[["source_line", "case_id", "column", "rule", "message"]].to_dict("records")
    got = dict(zip(assigned["case_id"], assigned["ward_code"], strict=True))
    assert got == variant.wards
    kept = rejects[(rejects["severity"] == "warning") & rejects["case_id"].isin(got)]
    assert dict(zip(kept["case_id"], kept["rule"], strict=True)) == variant.warned
    assert "reported_at" in ex.report["columns"].values()


def test_done_when_extract_loads_whole_with_no_flag(tmp_path: Path, capsys) -> None:
    """ "Reference No" header, CRLF, semicolons, Windows-1252, BNG and same-day closures
    before the report: every case is stored as supplied, with no warning and exit 0."""
    from corpus import _bng

    lines = [
        "Reference No;Date Raised;Request Type;Date Closed;Easting (BNG);Northing (BNG);Street"
    ]
    east, north = _bng(-2.9963, 53.4061)
    for k in range(30):
        closed = f"0{1 + k % 9}/04/2024 09:00" if k % 3 else f"0{1 + k % 9}/04/2024 16:30"
        lines.append(
            f"RN{k:05d};0{1 + k % 9}/04/2024 12:15;Fly tipping;{closed};{east};{north};"
            "St John’s Road"
        )
    path = tmp_path / "crm export.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    wards_file = tmp_path / "wards.geojson"
    wards_file.write_bytes(wards_geojson())
    store = str(tmp_path / "store")
    assert main(["ingest", str(wards_file), "--kind", "wards", "--store", store]) == 0
    capsys.readouterr()
    code = main(["ingest", str(path), "--kind", "cleansing", "--store", store])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert (out["rows_read"], out["rows_accepted"], out["rows_rejected"]) == (30, 30, 0)
    assert out["warnings"] == 0
    assert out["ignored_columns"] == {}
