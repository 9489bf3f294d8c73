"""Pure helpers behind the upload page (ui/upload.py), tested without a Streamlit runtime."""

from __future__ import annotations

import gzip

import pandas as pd

from ui.upload import (
    AUTO,
    IGNORE,
    allowed_types,
    column_map_from_table,
    header_table,
    log_for_csv,
    log_table,
    mapping_table,
    options_key,
    plain,
    preview_sample,
    raw_header,
    undo_choices,
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
    assert options_key({}) == (None, None, None, ())


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
