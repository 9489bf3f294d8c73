"""Pure helpers behind the upload page (ui/upload.py), tested without a Streamlit runtime."""

from __future__ import annotations

import gzip

import pandas as pd

from neighbourhood.ingest import unmatched_ward_rows
from ui.upload import (
    AUTO,
    IGNORE,
    allowed_types,
    boundary_notes,
    boundary_reason,
    column_map_from_table,
    display_table,
    header_table,
    load_button_label,
    log_for_csv,
    log_table,
    mapping_table,
    options_key,
    plain,
    preview_sample,
    problems_table,
    projection_sentence,
    raw_header,
    refused_note,
    status_label,
    undo_choices,
    ward_change_warning,
)


def test_allowed_types_per_kind() -> None:
    assert allowed_types("cleansing") == ["csv", "gz", "xlsx"]
    assert set(allowed_types("wards")) == {"geojson", "json", "gpkg", "zip"}


def test_plain_neutralises_markdown_links_images_and_line_breaks() -> None:
    out = plain("![x](https://tracker) [click](https://evil)\nnext :red[x]")
    assert "\n" not in out
    assert "](" not in out  # no live link or image syntax survives
    assert "\\[" in out and "\\:" in out


def test_plain_truncates_long_text() -> None:
    assert len(plain("a" * 1000, limit=50)) == 50


def test_preview_sample_small_file_is_whole() -> None:
    data = b"a,b\n1,2\n"
    assert preview_sample(data, "x.csv") == (data, "x.csv", False)


def test_preview_sample_big_csv_cut_at_line_break() -> None:
    data = b"a,b\n" + b"1,2\n" * 100
    sample, name, truncated = preview_sample(data, "x.csv", limit=50)
    assert truncated and name == "x.csv"
    assert sample.endswith(b"\n") and len(sample) <= 50
    assert sample.startswith(b"a,b\n")


def test_preview_sample_gz_is_decompressed_and_renamed() -> None:
    raw = b"a,b\n" + b"1,2\n" * 100
    sample, name, truncated = preview_sample(gzip.compress(raw), "x.CSV.gz", limit=10_000)
    assert (sample, name, truncated) == (raw, "x.CSV", False)
    sample, name, truncated = preview_sample(gzip.compress(raw), "x.csv.gz", limit=50)
    assert truncated and name == "x.csv" and sample.endswith(b"\n") and len(sample) <= 50


def test_preview_sample_bad_gz_is_passed_through_for_the_loader_to_refuse() -> None:
    assert preview_sample(b"not gzip", "x.csv.gz") == (b"not gzip", "x.csv.gz", False)


def test_preview_sample_never_cuts_xlsx() -> None:
    data = b"PK" + b"\0" * 100
    assert preview_sample(data, "x.xlsx", limit=10) == (data, "x.xlsx", False)


def test_mapping_table_includes_ignored_columns() -> None:
    report = {
        "columns": {"Date Received": "reported_at", "Ref": "case_id"},
        "ignored_columns": ["X"],
    }
    table = mapping_table(report)
    assert list(table["file_column"]) == ["Date Received", "Ref", "X"]
    assert list(table["use_as"]) == ["reported_at", "case_id", IGNORE]


def test_column_map_none_when_unchanged() -> None:
    detected = mapping_table({"columns": {"Ref": "case_id"}})
    assert column_map_from_table(detected.copy(), detected) is None


def test_column_map_when_changed_includes_every_row_and_ignores() -> None:
    detected = mapping_table({"columns": {"Ref": "case_id", "When": "closed_at"}})
    edited = detected.copy()
    edited.loc[1, "use_as"] = "reported_at"
    edited.loc[0, "use_as"] = IGNORE
    assert column_map_from_table(edited, detected) == {"Ref": "", "When": "reported_at"}


def test_options_key_is_hashable_and_order_independent() -> None:
    a = options_key({"encoding": "cp1252", "column_map": {"a": "x", "b": "y"}})
    b = options_key({"encoding": "cp1252", "column_map": {"b": "y", "a": "x"}})
    assert a == b and hash(a) == hash(b)
    assert options_key({}) == (None, None, None, (), ())  # the last: a saved profile's map


def test_mapping_table_empty_report() -> None:
    assert mapping_table({}).empty
    assert isinstance(mapping_table({}), pd.DataFrame)


def _log() -> pd.DataFrame:
    when = pd.to_datetime(
        ["2024-07-01 09:05", "2024-07-01 10:00", "2024-07-02 11:30", "2024-07-03 08:00"], utc=True
    )
    return pd.DataFrame(
        {
            "seq": [1, 2, 3, 4],
            "ingest_id": ["ingest-000001", "ingest-000002", "ingest-000003", "ingest-000004"],
            "started_at": when,
            "actor": ["cli", "a@council.gov.uk", "a@council.gov.uk", "b@council.gov.uk"],
            "kind": ["wards", "cleansing", "cleansing", "cleansing"],
            "file_name": ["w.geojson", "c1.csv", "c2.csv", "c2.csv"],
            "file_sha256": ["a" * 64, "b" * 64, "c" * 64, "c" * 64],
            "rows_read": [10, 100, 50, 50],
            "rows_accepted": [10, 98, 50, 0],
            "rows_rejected": [0, 2, 0, 0],
            "rows_new": [10, 98, 20, 0],
            "rows_updated": [0, 0, 30, 0],
            "status": ["committed", "committed", "committed", "duplicate_file"],
        }
    )


def test_log_table_newest_first_with_plain_labels_and_london_time() -> None:
    table = log_table(_log())
    assert list(table["ingest_id"]) == [f"ingest-00000{i}" for i in (4, 3, 2, 1)]
    assert list(table["sha256_short"].str.len()) == [12] * 4
    assert table.loc[0, "status"] == "Already loaded (no change)"
    assert table.loc[3, "kind"] == "Ward boundaries"
    # 09:05 UTC in July is 10:05 BST
    assert table.loc[3, "started_at"].strftime("%d %b %Y %H:%M") == "01 Jul 2024 10:05"


def test_log_for_csv_formats_time_as_dd_mon_yyyy_hh_mm() -> None:
    out = log_for_csv(log_table(_log()))
    assert out.loc[3, "When"] == "01 Jul 2024 10:05"
    assert "Status" in out and "kind_code" not in out


def test_undo_offers_only_newest_committed_load_of_each_kind() -> None:
    choices = undo_choices(log_table(_log()))
    assert set(choices) == {"ingest-000003", "ingest-000001"}
    assert "c2.csv" in choices["ingest-000003"]
    assert choices["ingest-000003"].startswith("02 Jul 2024 12:30")


def test_log_table_of_empty_log() -> None:
    assert log_table(pd.DataFrame(columns=["ingest_id", "started_at", "kind", "status"])).empty


def test_column_map_only_changed_rows_and_auto_left_out() -> None:
    detected = mapping_table({"columns": {"Ref": "case_id", "When": "closed_at", "X": "street"}})
    edited = detected.copy()
    edited.loc[1, "use_as"] = "reported_at"
    edited.loc[2, "use_as"] = AUTO
    assert column_map_from_table(edited, detected) == {"When": "reported_at"}


def test_raw_header_of_refused_csv_for_correction() -> None:
    data = "\ufeffRéf;Reçu le;Type\n1;2;3\n".encode()
    assert raw_header(data, "x.csv", None, None) == ["Réf", "Reçu le", "Type"]
    assert raw_header("A,B\n".encode("cp1252"), "x.csv", None, None) == ["A", "B"]
    assert raw_header(b"A|B\n", "x.csv", None, "|") == ["A", "B"]
    assert raw_header(b"PK\x03\x04", "x.xlsx", None, None) == []
    assert raw_header(b"", "x.csv", None, None) == []


def test_header_table_defaults_to_detection() -> None:
    table = header_table(["A", "B"])
    assert list(table["use_as"]) == [AUTO, AUTO]
    edited = table.copy()
    edited.loc[0, "use_as"] = "case_id"
    assert column_map_from_table(edited, table) == {"A": "case_id"}


# --- plain words on the page (tester's defects 2, 3 and 5) -------------------------------------


def _rejects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_file": ["c.csv", "c.csv"],
            "source_line": [3, 4],
            "case_id": ["UP-0002", "UP-0004"],
            "column": ["category", "reported_at"],
            "value": ["Weird thing", "not a date"],
            "rule": ["W_UNMAPPED_CATEGORY", "E_DATE_FORMAT"],
            "message": [
                "Category label not in data/category_map.csv; stored as 'other'.",
                "reported_at is not a date in the format used by this column (%d/%m/%Y %H:%M).",
            ],
            "severity": ["warning", "error"],
        }
    )


def test_problems_table_has_plain_headings_the_files_column_names_and_keeps_the_code() -> None:
    report = {"columns": {"Date Received": "reported_at", "Request Type": "category"}}
    table = problems_table(_rejects(), report)
    assert list(table.columns) == [
        "Line",
        "Case",
        "Column in your file",
        "Value",
        "Problem",
        "Severity",
        "Code",
    ]
    assert list(table["Column in your file"]) == ["Request Type", "Date Received"]
    assert table.loc[1, "Problem"] == (
        "'Date Received' is not a date in the format used by this column (dd/mm/yyyy hh:mm)."
    )
    assert list(table["Severity"]) == ["Loaded, with a warning", "Row not loaded"]
    assert list(table["Code"]) == ["W_UNMAPPED_CATEGORY", "E_DATE_FORMAT"]
    assert list(table["Line"]) == [3, 4]


def test_problems_table_without_a_report_keeps_canonical_names_and_fills_missing_messages() -> None:
    rejects = _rejects().drop(columns="message")
    table = problems_table(rejects)
    assert list(table["Column in your file"]) == ["category", "reported_at"]
    assert table.loc[0, "Problem"].startswith("Category label not in")  # from loaders.RULES


def test_display_table_shows_empty_values_blank_not_none() -> None:
    head = pd.DataFrame(
        {
            "case_id": ["A1", None],
            "cost_gbp": [1.5, float("nan")],
            "reported_at": pd.to_datetime(["2025-03-05 14:22", None]).tz_localize("Europe/London"),
        }
    )
    shown = display_table(head)
    assert shown.to_dict("list") == {
        "case_id": ["A1", ""],
        "cost_gbp": ["1.5", ""],
        "reported_at": ["05 Mar 2025 14:22", ""],
    }


def test_status_labels_are_plain_words() -> None:
    assert status_label("cases", "committed") == "cases: loaded"
    assert status_label("cases", "duplicate_file") == "cases: already loaded: nothing changed"
    assert status_label("cases.csv", "committed") == plain("cases.csv") + ": loaded"


def test_load_button_label_once_everything_is_loaded() -> None:
    assert load_button_label(1, 0) == "Load 1 file"
    assert load_button_label(3, 1) == "Load 3 files"
    assert load_button_label(0, 2) == "Loaded: see the result below"


def test_refused_note_for_boundary_files_mentions_no_settings() -> None:
    assert "settings" not in refused_note(1, "wards")
    assert "settings" not in refused_note(2, "wards")
    assert "settings" in refused_note(1, "cleansing")
    assert refused_note(2, "spend").startswith("2 files would be refused as they stand")


def test_boundary_reason_of_a_cut_short_geojson_names_the_line() -> None:
    from neighbourhood.geo import BoundaryRefused, read_boundaries

    cut = b'{"type": "FeatureCollection",\n "features": [{"type": "Feature", "geometry": {'
    try:
        read_boundaries(cut, "wards.geojson")
    except BoundaryRefused as exc:
        reason = boundary_reason(exc)
    else:  # pragma: no cover
        raise AssertionError("a cut-short GeoJSON must be refused")
    assert "line 2" in reason and "Unterminated" in reason
    assert "cut short" in reason
    assert "BoundaryRefused" not in reason and "settings" not in reason


def test_projection_is_one_statement_when_the_prj_disagrees_with_the_coordinates() -> None:
    from neighbourhood.geo import read_boundaries

    report = read_boundaries(_bng_shapefile_with_wgs84_prj(), "wards.zip").report
    assert (report["source_crs"], report["crs_used"]) == ("EPSG:4326", "EPSG:27700")
    sentence = projection_sentence(report)
    assert sentence.startswith("The file's .prj says longitude/latitude")
    assert "read as British National Grid metres (EPSG:27700)" in sentence
    assert boundary_notes(report) == []  # the reader's own CRS warning is not repeated


def test_projection_sentence_as_declared_and_when_undeclared() -> None:
    assert projection_sentence({"source_crs": "EPSG:4326", "crs_used": "EPSG:4326"}) == (
        "Map projection: longitude/latitude in degrees (WGS84, EPSG:4326), as the file says."
    )
    undeclared = projection_sentence({"source_crs": None, "crs_used": "EPSG:27700"})
    assert "does not say" in undeclared and "British National Grid" in undeclared


def _bng_shapefile_with_wgs84_prj() -> bytes:
    import io
    import tempfile
    import zipfile
    from pathlib import Path

    import geopandas as gpd
    from shapely.geometry import box

    wards = gpd.GeoDataFrame(
        {"WD23CD": ["E05000001", "E05000002"], "WD23NM": ["North", "South"]},
        geometry=[box(333000, 390000, 334000, 391000), box(333000, 389000, 334000, 390000)],
        crs="EPSG:4326",  # wrong on purpose: the coordinates are BNG metres
    )
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        wards.to_file(Path(tmp) / "wards.shp")
        with zipfile.ZipFile(buf, "w") as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, part.name)
    return buf.getvalue()


# --- stored ward codes against a new boundary set (tester's defect 1) -------------------------


def test_unmatched_ward_rows_leaves_out_citywide_spend() -> None:
    stored = {
        "cases": pd.Series({"E1": 5, "E2": 3}),
        "enforcement": pd.Series({"E2": 2}, dtype="int64"),
        "spend": pd.Series({"citywide": 4, "E1": 1}),
        "population": pd.Series(dtype="int64"),
    }
    assert unmatched_ward_rows(stored, ["E1"]) == {
        "cases": (3, 8),
        "enforcement": (2, 2),
        "spend": (0, 1),
        "population": (0, 0),
    }


def test_ward_change_warning_names_every_count_and_both_ways_back() -> None:
    text = ward_change_warning(
        {"cases": (4980, 5000), "enforcement": (1, 1), "spend": (0, 10), "population": (104, 104)},
        loaded=False,
    )
    assert text is not None and text.startswith("**Check before you load")
    assert "4,980 of 5,000 street-cleansing cases, 1 of 1 enforcement case and 104 of 104 " in text
    assert "spend" not in text  # none of the spend rows is affected
    assert "loaded again" in text and "**Ingest log**" in text
    after = ward_change_warning({"cases": (3, 8)}, loaded=True)
    assert after is not None and "now in use" in after and "undone" in after
    assert ward_change_warning({"cases": (0, 8), "spend": (0, 0)}, loaded=True) is None
    assert ward_change_warning({}, loaded=False) is None
