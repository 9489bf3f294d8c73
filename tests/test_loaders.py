"""Tests for neighbourhood.loaders: small files written here as bytes, plus real public data."""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neighbourhood import schemas as S
from neighbourhood.loaders import (
    COLUMN_ALIASES,
    DUPLICATE_LAST,
    DUPLICATE_NEWEST,
    FILE_RULES,
    RULES,
    Extract,
    FileRefused,
    ReadOptions,
    load_category_map,
    load_value_map,
    normalise_label,
    read_extract,
)

NOW = pd.Timestamp("2025-06-01 12:00", tz="Europe/London")
OPTS = ReadOptions(now=NOW)

HEADER = "Case ID,Date Received,Request Type,Status,Closed Date,Latitude,Longitude,Cost\n"


def cases(
    *rows: str, header: str = HEADER, opts: ReadOptions = OPTS, name: str = "x.csv"
) -> Extract:
    return read_extract(
        (header + "".join(r + "\n" for r in rows)).encode(), name, "cleansing", opts
    )


def rules_at(ex: Extract, line: int) -> set[str]:
    return set(ex.rejects.loc[ex.rejects["source_line"] == line, "rule"])


def refused(data: bytes, kind: str = "cleansing", name: str = "x.csv", **kw: object) -> FileRefused:
    with pytest.raises(FileRefused) as info:
        read_extract(data, name, kind, ReadOptions(now=NOW, **kw))  # type: ignore[arg-type]
    assert info.value.code in FILE_RULES
    return info.value


# --- whole-file refusals --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("above", "line"),
    [("\n\n", 3), ("Liverpool City Council - Street Cleansing Export\n", 2), ("Export;;\n\n", 3)],
)
def test_a_header_below_title_or_blank_lines_is_pointed_at(above: str, line: int):
    body = "Case Ref;Date Received;Request Type\nC1;01/02/2024;Litter\n"
    info = refused((above + body).encode())
    assert info.code == "F_MISSING_COLUMNS"
    assert info.message.startswith(f"The column headings seem to be on line {line}")
    assert "delete the lines above" in info.message
    # no such line: the plain message
    plain = refused(b"Colour,Size\nred,big\n")
    assert plain.message.startswith("Missing required column(s)")


def test_a_boundary_file_given_as_cases_is_pointed_at_the_ward_boundaries():
    info = refused(b'{"type": "FeatureCollection", "features": []}', name="wards.geojson")
    assert info.code == "F_FORMAT" and "--kind wards" in info.message
    assert "--kind wards" not in refused(b"%PDF-1.4", name="x.pdf").message


def test_empty_file_is_refused():
    assert refused(b"").code == "F_EMPTY"
    assert refused(b"  \r\n \n").code == "F_EMPTY"


def test_header_only_is_refused_no_data_rows():
    exc = refused(HEADER.encode())
    assert exc.code == "F_NO_ROWS"
    assert "no data rows" in exc.message


def test_binary_garbage_is_refused():
    rng = np.random.default_rng(0)
    assert refused(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()).code in {
        "F_BINARY",
        "F_ENCODING",
    }
    assert refused(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100).code == "F_BINARY"


def test_other_formats_are_refused_with_a_reason():
    assert refused(b"%PDF-1.7 ...", name="x.pdf").code == "F_FORMAT"
    assert (
        refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, name="x.xls").code == "F_FORMAT"
    )


def test_gzip_bomb_is_refused():
    bomb = gzip.compress(b"0" * 20_000_000)  # ~20 kB expanding to 20 MB
    exc = refused(bomb, name="bomb.csv.gz", max_bytes=1_000_000)
    assert exc.code == "F_TOO_LARGE"


def test_zip_bomb_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("cases.csv", HEADER + "C1,05/03/2024,Litter,,,,,\n" + "," * 10_000_000)
    assert refused(buf.getvalue(), name="x.zip", max_bytes=1_000_000).code == "F_TOO_LARGE"


def test_corrupt_or_lying_archives_are_refused_not_crashed():
    body = (HEADER + "C1,05/03/2024,Litter,,,,,\n" * 500).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("cases.csv", body)
    lying = bytearray(buf.getvalue())  # headers claim 100 bytes: a crafted bomb's trick
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = lying.find(sig) + offset
        lying[at : at + 4] = (100).to_bytes(4, "little")
    exc = refused(bytes(lying), name="x.zip")
    assert exc.code == "F_MALFORMED" and "cases.csv cannot be read" in exc.message
    damaged = bytearray(buf.getvalue())
    start = damaged.find(b"cases.csv") + 17
    damaged[start : start + 48] = b"\xff" * 48
    assert refused(bytes(damaged), name="x.zip").code == "F_MALFORMED"
    gz = gzip.compress(body)
    exc = refused(gz[:20] + b"\xff" * 64 + gz[84:], name="x.csv.gz")
    assert exc.code == "F_MALFORMED" and "corrupt" in exc.message


def test_nul_byte_anywhere_is_refused_with_its_line():
    body = HEADER + "C1,05/03/2024,Litter,,,,,\n" * 3000 + "C9,05/03/2024,Lit\0ter,,,,,\n"
    exc = refused(body.encode())
    assert exc.code == "F_BINARY" and "NUL byte on line 3,002" in exc.message


def test_mixed_utf8_and_cp1252_lines_are_refused_unless_the_encoding_is_given():
    data = (HEADER + "C1,05/03/2024,Café litter,,,,,\n").encode() + (
        "C2,05/03/2024,£5 litter,,,,,\n"
    ).encode("cp1252")
    exc = refused(data)
    assert exc.code == "F_ENCODING"
    assert "line 2 has UTF-8 text ('é')" in exc.message and "line 3 is not UTF-8" in exc.message
    ex = read_extract(data, "x.csv", "cleansing", ReadOptions(now=NOW, encoding="cp1252"))
    assert ex.frame["category_raw"].tolist() == ["CafÃ© litter", "£5 litter"]


_ODD_BYTES = [0x41, 0x0A, 0x80, 0x81, 0x92, 0x9D, 0xA3, 0xBF, 0xC2, 0xC3, 0xDF, 0xE0, 0xE2, 0xED]
_ODD_BYTES += [0xEF, 0xF0, 0xF4, 0xF5, 0xFF]


@pytest.mark.parametrize("seed", range(4))
def test_fast_encoding_scans_match_the_regex_and_the_codec(seed: int):
    """The numpy scans used on big cp1252 files give exactly what the regex and codec give."""
    from neighbourhood import loaders as L

    rng = np.random.default_rng(seed)
    for _ in range(2000):
        data = bytes(rng.choice(_ODD_BYTES, rng.integers(0, 30)).tolist())
        data += b"A" * int(rng.integers(0, 3)) * 64 * len(data)  # both transcoding paths
        high = L._high_bytes(data)
        want, got = L._UTF8_MULTIBYTE.search(data), L._first_utf8_multibyte(data, high)
        assert (want is None) == (got is None)
        if want is not None and got is not None:
            assert (want.start(), want.group()) == (got.start(), got.group())
        try:
            expected: bytes | None = data.decode("cp1252").encode("utf-8")
        except UnicodeDecodeError:
            expected = None
        try:
            actual: bytes | None = L._cp1252_to_utf8(data, high)
        except UnicodeDecodeError:
            actual = None
        assert actual == expected


def test_values_over_the_length_limit_reject_the_row():
    ex = cases("C1,05/03/2024,Litter,,,,,", "C2,05/03/2024," + "x" * 1001 + ",,,,,")
    assert ex.frame["case_id"].tolist() == ["C1"]
    assert "E_TOO_LONG" in rules_at(ex, 3)
    assert "category is longer than 1,000 characters" in " ".join(ex.rejects["message"])


def test_duplicate_headers_are_refused():
    exc = refused(b"Case ID,Date Received,Case ID\nC1,05/03/2024,C2\n")
    assert exc.code == "F_DUPLICATE_HEADER"
    assert "Case ID" in exc.message


def test_missing_required_column_is_named():
    exc = refused(b"Case ID,Request Type\nC1,Litter\n")
    assert exc.code == "F_MISSING_COLUMNS"
    assert "reported_at" in exc.message
    assert "Date Received" in exc.message


def test_unknown_column_map_target_is_refused():
    exc = refused(HEADER.encode() + b"C1,05/03/2024,Litter,,,,,\n", column_map={"Cost": "nope"})
    assert exc.code == "F_OPTIONS"


def test_ragged_rows_are_refused_as_malformed():
    assert refused(HEADER.encode() + b"C1,05/03/2024,Litter,,,,,,,,,,\n").code == "F_MALFORMED"


# --- encodings, delimiters, containers ---------------------------------------------------------


def test_cp1252_with_pound_and_e_acute():
    data = (
        "Case ID,Date Received,Request Type,Street,Cost\n"
        "C1,05/03/2024 10:00,Litter,Rue de l'Église,£12.50\n"
        'C2,06/03/2024 10:00,Graffiti,Café Street,"£1,234.50"\n'
    ).encode("cp1252")
    ex = read_extract(data, "x.csv", "cleansing", OPTS)
    assert ex.report["encoding"] == "cp1252"
    assert ex.frame["street"].tolist() == ["Rue de l'Église", "Café Street"]
    assert ex.frame["cost_gbp"].tolist() == [12.5, 1234.5]
    assert all(isinstance(v, str) for v in ex.frame["street"])  # never bytes


def test_utf8_bom_and_crlf():
    data = b"\xef\xbb\xbfCase ID,Date Received,Request Type\r\nC1,05/03/2024,Litter\r\nC2,06/03/2024,Weeds\r\n"
    ex = read_extract(data, "x.csv", "cleansing", OPTS)
    assert ex.report["encoding"] == "utf-8-sig"
    assert ex.report["columns"]["Case ID"] == "case_id"
    assert ex.frame["category_raw"].tolist() == ["Litter", "Weeds"]
    assert ex.frame["source_line"].tolist() == [2, 3]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiters_are_sniffed(sep: str):
    data = sep.join(["Case ID", "Date Received", "Request Type", "Cost"]) + "\n"
    data += sep.join(["C1", "05/03/2024", "Litter", "1.50"]) + "\n"
    # a decimal comma, common in semicolon files, is never read as 150: the cost is left
    # empty with a warning and the case kept (row policy)
    data += sep.join(["C2", "05/03/2024", "Litter", "1,50"]) + "\n"
    ex = read_extract(data.encode(), "x.csv", "cleansing", OPTS)
    assert ex.report["delimiter"] == sep
    assert ex.frame["case_id"].tolist() == ["C1", "C2"]
    assert ex.frame["cost_gbp"].tolist()[0] == 1.5 and pd.isna(ex.frame["cost_gbp"].tolist()[1])
    assert rules_at(ex, 3) == {"W_NUMBER"}


def test_old_mac_line_ends_are_lines():
    body = HEADER + "C1,05/03/2024,Litter,,,,,\n" + '"C2",06/03/2024,"Dog\nfouling",,,,,\n'
    body += "C3,31/02/2024,Litter,,,,,\n"
    ex = read_extract(body.replace("\n", "\r").encode(), "mac.csv", "cleansing", OPTS)
    assert ex.report["line_ends"] == "cr"
    assert ex.frame["case_id"].tolist() == ["C1", "C2"]
    assert ex.frame["source_line"].tolist() == [2, 3]
    assert rules_at(ex, 5) == {"E_DATE_FORMAT"}  # the quoted line end counts as a line


def test_csv_gz_and_zip():
    body = (HEADER + "C1,05/03/2024,Litter,,,,,\n").encode()
    ex = read_extract(gzip.compress(body), "x.csv.gz", "cleansing", OPTS)
    assert ex.report["format"] == "gzip+csv"
    assert ex.frame["case_id"].tolist() == ["C1"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("cases.csv", body)
    ex = read_extract(buf.getvalue(), "x.zip", "cleansing", OPTS)
    assert ex.report["format"] == "zip+csv"


def test_xlsx_picks_the_sheet_with_recognised_headers():
    import openpyxl

    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append(["This extract was produced by the CRM"])
    data = book.create_sheet("Cases")
    data.append(
        ["Service Request ID", "Created Date", "Request Type", "Cost", "Easting", "Northing"]
    )
    data.append(["SR1", datetime(2024, 3, 5, 14, 22), "Fly-Tipping", 12.5, 334300, 390400])
    data.append(["SR2", "06/03/2024 09:00", "Dog Mess", None, None, None])
    data.append([None, None, None, None, None, None])
    buf = io.BytesIO()
    book.save(buf)
    ex = read_extract(buf.getvalue(), "x.xlsx", "cleansing", OPTS)
    assert ex.report["format"] == "xlsx"
    assert ex.report["sheet"] == "Cases"
    f = ex.frame
    assert f["case_id"].tolist() == ["SR1", "SR2"]
    assert f["category"].tolist() == ["fly_tipping", "dog_fouling"]
    assert f.loc[0, "reported_at"] == pd.Timestamp("2024-03-05 14:22", tz="Europe/London")
    assert f.loc[1, "reported_at"] == pd.Timestamp("2024-03-06 09:00", tz="Europe/London")
    assert f.loc[0, "cost_gbp"] == 12.5
    assert f["source_line"].tolist() == [2, 3]


def test_physical_line_numbers_survive_embedded_newlines_and_blank_lines():
    data = (
        b"Case ID,Date Received,Request Type,Description\n"
        b'C1,05/03/2024,Litter,"two\nlines"\n'
        b"\n"
        b'C2,05/03/2024,"Fly\ntipping",x\n'
        b"C3,99/99/2024,Litter,x\n"
    )
    ex = read_extract(data, "x.csv", "cleansing", OPTS)
    assert ex.frame["source_line"].tolist() == [2, 5]
    assert ex.rejects["source_line"].tolist() == [7]
    assert ex.report["blank_rows"] == 1


def test_line_numbers_with_newlines_in_values_agree_between_the_two_readers():
    """Newlines inside quoted values (also in an ignored column) are counted by pyarrow; the same
    file with a blank line, or with \r\n inside values, goes through the C engine."""
    from neighbourhood import loaders as L

    body = (
        b"Case ID,Date Received,Request Type,Description\n"
        b'C1,05/03/2024,Litter,"two\nlines"\n'
        b'C2,05/03/2024,"Fly\ntipping",x\n'
        b'C3,99/99/2024,Litter,"a\r\nb\n\nc"\n'
        b"C4,06/03/2024,Litter,x"
    )
    calls: list[int] = []
    real = L.table._read_c

    def spy(*args: object) -> object:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    L.table._read_c = spy  # type: ignore[assignment]
    try:
        fast = read_extract(body, "x.csv", "cleansing", OPTS)
        assert not calls  # pyarrow counted the lines
        slow = read_extract(body.replace(b"C4", b"\nC4"), "x.csv", "cleansing", OPTS)
        assert calls  # a blank line: the C engine
    finally:
        L.table._read_c = real  # type: ignore[assignment]
    assert fast.frame["source_line"].tolist() == [2, 4, 10]
    assert fast.rejects["source_line"].tolist() == [6]
    assert slow.frame["source_line"].tolist() == [2, 4, 11]
    assert slow.rejects["source_line"].tolist() == [6]
    assert fast.frame["category_raw"].tolist() == slow.frame["category_raw"].tolist()


# --- header mapping ----------------------------------------------------------------------------


def test_header_aliases_are_case_space_and_punctuation_insensitive():
    header = "SERVICE_REQUEST_ID,created-date, Ward Name ,EASTING,northing,Closed Date,lat_x\n"
    ex = read_extract(
        (header + "A1,05/03/2024,Anfield,334300,390400,,\n").encode(), "x.csv", "cleansing", OPTS
    )
    cols = ex.report["columns"]
    assert cols["SERVICE_REQUEST_ID"] == "case_id"
    assert cols["created-date"] == "reported_at"
    assert cols["Ward Name"] == "ward_name"
    assert cols["EASTING"] == "easting"
    assert ex.report["ignored_columns"] == ["lat_x"]


def test_personal_columns_are_dropped_and_reported():
    header = "Case ID,Date Received,Request Type,Reporter Name,Email,Phone,Notes,Incident Address,Agency Name\n"
    ex = read_extract(
        (header + "C1,05/03/2024,Litter,Ann Smith,a@b.uk,0151,she said,1 High St,DSNY\n").encode(),
        "x.csv",
        "cleansing",
        OPTS,
    )
    dropped = ex.report["dropped_personal_columns"]
    assert dropped == ["Reporter Name", "Email", "Phone", "Notes", "Incident Address"]
    assert ex.report["ignored_columns"] == ["Agency Name"]
    flat = ex.frame.astype(str).to_numpy().ravel().tolist()
    assert not any(v in flat for v in ("Ann Smith", "a@b.uk", "she said", "1 High St"))
    assert list(ex.frame.columns) == [*S.CLEANSING_COLUMNS, "source_line"]


def test_column_map_option_overrides_aliases():
    data = b"Ref,When,What\nC1,05/03/2024,Litter\n"
    ex = read_extract(
        data,
        "x.csv",
        "cleansing",
        ReadOptions(
            now=NOW, column_map={"Ref": "case_id", "When": "reported_at", "What": "category"}
        ),
    )
    assert ex.frame["category"].tolist() == ["litter"]


def test_bare_x_y_only_when_unambiguous():
    data = b"Case ID,Date Received,X,Y\nC1,05/03/2024,334300,390400\n"
    ex = read_extract(data, "x.csv", "cleansing", OPTS)
    assert ex.frame.loc[0, "easting"] == 334300
    data = b"Case ID,Date Received,Latitude,Longitude,X,Y\nC1,05/03/2024,53.4,-2.99,1,2\n"
    ex = read_extract(data, "x.csv", "cleansing", OPTS)
    assert set(ex.report["ignored_columns"]) == {"X", "Y"}


def test_alias_tables_have_no_clashes_and_use_canonical_names():
    allowed = {
        "cleansing": set(S.CLEANSING_COLUMNS),
        "enforcement": set(S.ENFORCEMENT_COLUMNS),
        "spend": set(S.SPEND_COLUMNS),
        "population": set(S.POPULATION_COLUMNS),
    }
    for kind, table in COLUMN_ALIASES.items():
        assert set(table) <= allowed[kind]
        seen: dict[str, str] = {}
        for canonical, aliases in table.items():
            for alias in aliases:
                key = normalise_label(alias)
                assert seen.setdefault(key, canonical) == canonical, (kind, alias)


def test_rule_codes_are_stable_and_prefixed():
    assert all(code.startswith(("E_", "W_")) for code in RULES)
    assert all(code.startswith("F_") for code in FILE_RULES)
    assert {"E_DUPLICATE_ID", "E_DATE_FORMAT", "W_UNMAPPED_CATEGORY"} <= set(RULES)


# --- dates -----------------------------------------------------------------------------------


def test_uk_date_is_day_first_and_the_format_is_reported():
    ex = cases("C1,05/03/2024,Litter,,,,,", "C2,01/12/2024 14:22,Litter,,,,,")
    assert ex.frame.loc[0, "reported_at"] == pd.Timestamp("2024-03-05", tz="Europe/London")
    assert ex.frame.loc[1, "reported_at"] == pd.Timestamp("2024-12-01 14:22", tz="Europe/London")
    used = [
        ex.report["date_formats"]["reported_at"],
        *ex.report["date_formats_extra"]["reported_at"],
    ]
    assert sorted(used) == ["%d/%m/%Y", "%d/%m/%Y %H:%M"]


def test_iso_dates_and_offsets():
    ex = cases("C1,2024-03-05T14:22:00,Litter,,,,,", "C2,2024-07-01T12:00:00Z,Litter,,,,,")
    assert ex.report["date_formats"]["reported_at"] == "ISO8601"
    assert ex.frame.loc[0, "reported_at"] == pd.Timestamp("2024-03-05 14:22", tz="Europe/London")
    assert ex.frame.loc[1, "reported_at"] == pd.Timestamp("2024-07-01 13:00", tz="Europe/London")


def test_impossible_day_is_rejected_not_rolled_over():
    ex = cases("C1,31/02/2024 10:00,Litter,,,,,", "C2,28/02/2024 10:00,Litter,,,,,")
    assert rules_at(ex, 2) == {"E_DATE_FORMAT"}
    assert ex.frame["case_id"].tolist() == ["C2"]


def test_month_first_is_refused_unless_told():
    rows = ["C1,03/25/2015 09:14:00 PM,Litter,,,,,", "C2,03/01/2015 10:00:00 AM,Litter,,,,,"]
    with pytest.raises(FileRefused) as info:
        cases(*rows)
    assert info.value.code == "F_DATE_MONTHFIRST"
    assert "month-first" in info.value.message
    assert 'date_format="monthfirst"' in info.value.message
    ex = cases(*rows, opts=ReadOptions(now=NOW, date_format="monthfirst"))
    assert ex.frame["reported_at"].tolist() == [
        pd.Timestamp("2015-03-25 21:14", tz="Europe/London"),
        pd.Timestamp("2015-03-01 10:00", tz="Europe/London"),
    ]
    assert ex.report["date_formats"]["reported_at"] == "%m/%d/%Y %I:%M:%S %p"


def test_explicit_date_format_option():
    ex = cases("C1,2024.03.05,Litter,,,,,", opts=ReadOptions(now=NOW, date_format="%Y.%m.%d"))
    assert ex.frame.loc[0, "reported_at"] == pd.Timestamp("2024-03-05", tz="Europe/London")


def test_bst_ambiguous_autumn_hour_takes_the_earlier_instant():
    ex = cases("C1,27/10/2024 01:30,Litter,,,,,")
    ts = ex.frame.loc[0, "reported_at"]
    assert ts.tz_convert("UTC") == pd.Timestamp("2024-10-27 00:30", tz="UTC")  # 01:30 BST
    assert rules_at(ex, 2) == {"W_DST_AMBIGUOUS"}


def test_bst_nonexistent_spring_time_is_shifted_forward():
    ex = cases("C1,31/03/2024 01:30,Litter,,,,,")
    ts = ex.frame.loc[0, "reported_at"]
    assert ts == pd.Timestamp("2024-03-31 02:00", tz="Europe/London")
    assert rules_at(ex, 2) == {"W_DST_NONEXISTENT"}


def test_fast_localise_equals_pandas_on_every_clock_change_1998_to_2101():
    # The numpy transition-table path must give pandas' tz_localize answers exactly: every 15
    # minutes of every day on which Europe/London's clocks change, the edges of the table's
    # range, random times from 1700 to 2260 and NaT.
    from neighbourhood import loaders

    days = pd.date_range("1998-01-01", "2101-12-31", freq="D", unit="ns")
    start = days.tz_localize("Europe/London", ambiguous=True, nonexistent="shift_forward")
    end = (days + pd.Timedelta(hours=23)).tz_localize(
        "Europe/London", ambiguous=True, nonexistent="shift_forward"
    )
    changing = days[(start.strftime("%z") != end.strftime("%z"))]
    assert len(changing) >= 2 * 102  # spring and autumn of every year
    quarter = np.arange(96, dtype=np.int64) * 15 * 60 * 10**9
    grid = (changing.asi8[:, None] + quarter[None, :]).ravel()
    rng = np.random.default_rng(5)
    edges = [pd.Timestamp(t).value + d for t in loaders._FAST_TZ_RANGE for d in (-1, 0, 1)]
    spread = rng.integers(pd.Timestamp("1700-01-01").value, pd.Timestamp("2260-01-01").value, 5000)
    wall = pd.Series(np.concatenate([grid, edges, spread]).view("datetime64[ns]"))
    wall[::37] = pd.NaT
    fast, amb, gap = loaders._localise(wall)
    slow, amb_ref, gap_ref = loaders._localise_pandas(wall)
    assert fast.dtype == slow.dtype
    assert ((fast == slow) | (fast.isna() & slow.isna())).all()
    assert (amb == amb_ref).all() and (gap == gap_ref).all()
    assert min(amb.sum(), gap.sum()) > 3 * len(changing) // 2  # both kinds, most changes


def test_dates_outside_the_nanosecond_range_are_too_old_or_future_not_wrapped_or_crashing():
    ex = cases(
        "C1,10/03/1504 13:06,Litter,,,,,",  # used to wrap round to the future
        "C2,05/03/2024 10:00,Litter,,,,,",
    )
    assert rules_at(ex, 2) == {"E_DATE_TOO_OLD"}
    iso = cases(
        "C1,4186-05-17T05:46:37,Litter,,,,,",
        "C2,0472-02-22T22:25:09,Litter,,,,,",
        "C3,2024-03-01T10:00+01:00,Litter,,,,,",
        "C4,2024-03-01T10:00,Litter,,,,,",
    )
    assert rules_at(iso, 2) == {"E_DATE_FUTURE"} and rules_at(iso, 3) == {"E_DATE_TOO_OLD"}
    assert iso.frame["case_id"].tolist() == ["C3", "C4"]


def test_closed_days_before_reported_keeps_the_case_without_the_closed_date():
    ex = cases(
        "C1,05/03/2024,Litter,Closed,04/03/2024,,,", "C2,05/03/2024,Litter,Closed,06/03/2024,,,"
    )
    assert rules_at(ex, 2) == {"W_DATE_ORDER"}  # not also W_CLOSED_NO_DATE
    assert ex.frame["case_id"].tolist() == ["C1", "C2"]
    assert pd.isna(ex.frame.loc[0, "closed_at"]) and ex.frame.loc[0, "status"] == "closed"


def test_closed_earlier_the_same_day_is_kept_as_supplied_without_a_flag():
    ex = cases("C1,05/03/2024 14:05,Litter,Closed,05/03/2024 09:30,,,")
    assert ex.rejects.empty
    assert ex.frame.loc[0, "closed_at"] == pd.Timestamp("2024-03-05 09:30", tz="Europe/London")
    assert ex.report["end_before_start_same_day"] == 1


def test_secondary_date_problems_blank_the_field_and_keep_the_case():
    ex = cases(
        "C1,05/03/2024,Litter,Closed,01/01/1900,,,",  # placeholder closed date
        "C2,05/03/2024,Litter,Closed,not a date,,,",
        "C3,05/03/2024,Litter,Closed,05/03/2031,,,",
    )
    assert ex.frame["case_id"].tolist() == ["C1", "C2", "C3"]
    assert ex.frame["closed_at"].isna().all()
    assert rules_at(ex, 2) == {"W_DATE_TOO_OLD"}
    assert rules_at(ex, 3) == {"W_DATE_FORMAT"}
    assert rules_at(ex, 4) == {"W_DATE_FUTURE"}
    assert (ex.rejects["severity"] == "warning").all()


def test_future_and_too_old_dates_are_rejected():
    ex = cases(
        "C1,05/03/2030,Litter,,,,,", "C2,05/03/1999,Litter,,,,,", "C3,05/03/2024,Litter,,,,,"
    )
    assert rules_at(ex, 2) == {"E_DATE_FUTURE"}
    assert rules_at(ex, 3) == {"E_DATE_TOO_OLD"}
    assert ex.frame["case_id"].tolist() == ["C3"]


def test_closed_status_without_closed_date_is_a_warning():
    ex = cases("C1,05/03/2024,Litter,Completed,,,,")
    assert rules_at(ex, 2) == {"W_CLOSED_NO_DATE"}
    assert ex.frame["status"].tolist() == ["closed"]


def test_status_labels_and_inference():
    ex = cases(
        "C1,05/03/2024,Litter,Resolved,06/03/2024,,,",
        "C2,05/03/2024,Litter,In Progress,,,,",
        "C3,05/03/2024,Litter,,06/03/2024,,,",
        "C4,05/03/2024,Litter,Mystery,,,,",
    )
    assert ex.frame["status"].tolist() == ["closed", "open", "closed", "open"]
    assert rules_at(ex, 5) == {"W_UNKNOWN_STATUS"}


# --- coordinates -------------------------------------------------------------------------------


def test_bng_is_converted_to_wgs84_and_kept():
    ex = read_extract(
        b"Case ID,Date Received,Easting,Northing\nC1,05/03/2024,334300,390400\n",
        "x.csv",
        "cleansing",
        OPTS,
    )
    row = ex.frame.iloc[0]
    assert row["latitude"] == pytest.approx(53.407, abs=0.002)
    assert row["longitude"] == pytest.approx(-2.991, abs=0.003)
    assert (row["easting"], row["northing"]) == (334300, 390400)
    assert ex.report["coordinates"] == "bng"


def test_swapped_coordinates_are_fixed_with_a_warning():
    ex = cases("C1,05/03/2024,Litter,,,-2.99,53.41,")
    assert rules_at(ex, 2) == {"W_COORD_SWAPPED"}
    assert ex.frame.loc[0, ["latitude", "longitude"]].tolist() == [53.41, -2.99]


def test_bad_coordinates_are_rejected():
    ex = cases(
        "C1,05/03/2024,Litter,,,nan,-2.99,",
        "C2,05/03/2024,Litter,,,inf,-2.99,",
        "C3,05/03/2024,Litter,,,40.7,-73.9,",
        "C4,05/03/2024,Litter,,,53.4,,",
        "C5,05/03/2024,Litter,,,53.4,-2.99,",
    )
    assert rules_at(ex, 2) == {"E_COORD_INVALID"}
    assert rules_at(ex, 3) == {"E_COORD_INVALID"}
    assert rules_at(ex, 4) == {"E_COORD_RANGE"}
    assert rules_at(ex, 5) == {"E_COORD_INVALID"}
    assert ex.frame["case_id"].tolist() == ["C5"]


def test_ward_only_rows_are_kept_for_geo():
    data = b"Case ID,Date Received,Ward Code,Ward\nC1,05/03/2024,e05015300,Anfield\n"
    ex = read_extract(data, "x.csv", "cleansing", OPTS)
    assert ex.frame.loc[0, "ward_code"] == "E05015300"
    assert ex.frame.loc[0, "ward_name"] == "Anfield"
    assert pd.isna(ex.frame.loc[0, "latitude"])


# --- rows: ids, totals, numbers, categories ----------------------------------------------------


def test_duplicate_ids_keep_the_newest_by_updated_at():
    header = "Case ID,Date Received,Request Type,Last Updated\n"
    ex = cases(
        "C1,05/03/2024,Litter,07/03/2024 10:00",
        "C1,05/03/2024,Graffiti,06/03/2024 10:00",
        "C2,05/03/2024,Litter,",
        header=header,
    )
    assert ex.frame["category"].tolist() == ["litter", "litter"]
    assert ex.frame["source_line"].tolist() == [2, 4]
    assert rules_at(ex, 3) == {"E_DUPLICATE_ID"}
    assert ex.rejects.loc[ex.rejects["source_line"] == 3, "message"].tolist() == [DUPLICATE_NEWEST]


def test_duplicate_ids_whose_rows_have_no_updated_at_say_the_last_row_was_kept():
    header = "Case ID,Date Received,Request Type,Last Updated\n"
    ex = cases("C1,05/03/2024,Litter,", "C1,06/03/2024,Weeds,", header=header)
    assert ex.frame["category"].tolist() == ["weeds"]
    assert ex.rejects.loc[ex.rejects["source_line"] == 2, "message"].tolist() == [DUPLICATE_LAST]


def test_duplicate_ids_without_updated_at_keep_the_last_row():
    ex = cases("C1,05/03/2024,Litter,,,,,", "C1,06/03/2024,Weeds,,,,,")
    assert ex.frame["category"].tolist() == ["weeds"]
    assert rules_at(ex, 2) == {"E_DUPLICATE_ID"}


def test_total_rows_are_rejected_with_a_reason():
    ex = cases("C1,05/03/2024,Litter,,,,,5", "Total,,,,,,,5", ",,,,,,,5", "Grand total,,,,,,,5")
    assert rules_at(ex, 3) == {"E_TOTAL_ROW"}
    assert rules_at(ex, 4) == {"E_TOTAL_ROW"}
    assert rules_at(ex, 5) == {"E_TOTAL_ROW"}
    assert ex.frame["case_id"].tolist() == ["C1"]


def test_blank_case_id_is_required():
    ex = cases(",05/03/2024,Litter,,,,,")
    assert rules_at(ex, 2) == {"E_REQUIRED"}


@pytest.mark.parametrize("fmt", ["day-first", "us", "banana", "%Q/%m/%Y", "%H:%M", "%m/%Y"])
def test_a_date_format_that_is_no_format_is_refused(fmt: str):
    info = refused((HEADER + "C1,05/03/2024,Litter,,,,,\n").encode(), date_format=fmt)
    assert info.code == "F_OPTIONS" and repr(fmt) in info.message


@pytest.mark.parametrize("fmt", ["DayFirst", "%d/%m/%Y", "%d %b %Y", "%Y-%m-%dT%H:%M:%S%z"])
def test_keywords_and_real_patterns_are_date_formats(fmt: str):
    read_extract(
        (HEADER + "C1,,Litter,,,,,\n").encode(),
        "x.csv",
        "cleansing",
        ReadOptions(now=NOW, date_format=fmt),
    )


def test_unmapped_categories_count_only_the_rows_kept():
    ex = cases(
        "V1,05/03/2024,Weird thing,,,,,",
        "V1,05/03/2024,Litter,,,,,",
        "V2,05/03/2024,Weird thing,,,,,",
    )
    assert ex.report["unmapped_categories"] == {"Weird thing": 1}  # V1's first row lost
    assert ex.report["rows_warned"] == 1


def test_a_decimal_comma_is_not_read_as_a_thousands_separator():
    ex = cases(
        'C1,05/03/2024,Litter,,,,,"5,00"',
        'C2,05/03/2024,Litter,,,,,"1.234,50"',
        'C3,05/03/2024,Litter,,,,,"1,234,567.5"',
        'C4,05/03/2024,Litter,,,,,"(1,234)"',
        'C5,05/03/2024,Litter,,,"53,40","-2,98",',
        'C6,05/03/2024,Litter,,,,,"£ 12,345"',
    )
    assert rules_at(ex, 2) == {"W_NUMBER"}
    assert "decimal comma" in ex.rejects.loc[ex.rejects["source_line"] == 2, "message"].iloc[0]
    assert rules_at(ex, 3) == {"W_NUMBER"}
    assert rules_at(ex, 5) == {"W_NEGATIVE"}
    assert rules_at(ex, 6) == {"E_COORD_INVALID"}  # location defines the case: rejected
    kept = dict(zip(ex.frame["case_id"], ex.frame["cost_gbp"], strict=True))
    assert kept.pop("C3") == 1234567.5 and kept.pop("C6") == 12345.0
    assert set(kept) == {"C1", "C2", "C4"} and all(pd.isna(v) for v in kept.values())


def test_a_placeholder_in_the_required_date_is_rejected_like_a_blank():
    ex = cases(
        "C1,05/03/2024,Litter,,,,,",
        "C2,,Litter,,,,,",
        "C3,n/a,Litter,,,,,",
        "C4, Unknown ,Litter,,,,,",
        "C5,05/03/2024,Litter,Closed,-,,,",  # a placeholder where a date may be missing is fine
    )
    assert ex.frame["case_id"].tolist() == ["C1", "C5"]
    for line in (3, 4, 5):
        assert rules_at(ex, line) == {"E_REQUIRED"}, line
    msg = ex.rejects.loc[ex.rejects["source_line"] == 4, "message"].iat[0]
    assert "placeholder" in msg and "reported_at" in msg
    enf = read_extract(
        b"Ref,Date Issued,Action,Offence\nF1,n/a,FPN,Littering\nF2,01/03/2024,FPN,Littering\n",
        "e.csv",
        "enforcement",
        OPTS,
    )
    assert enf.frame["case_id"].tolist() == ["F2"]
    assert set(enf.rejects.loc[enf.rejects["source_line"] == 2, "rule"]) == {"E_REQUIRED"}


def test_costs_non_numeric_and_negative_are_left_empty_and_the_case_kept():
    ex = cases(
        "C1,05/03/2024,Litter,,,,,abc",
        "C2,05/03/2024,Litter,,,,,-5",
        'C3,05/03/2024,Litter,,,,,"£1,234.50"',
        "C4,05/03/2024,Litter,,,,,n/a",
    )
    assert rules_at(ex, 2) == {"W_NUMBER"}
    assert rules_at(ex, 3) == {"W_NEGATIVE"}
    costs = ex.frame["cost_gbp"].tolist()
    assert pd.isna(costs[0]) and pd.isna(costs[1]) and costs[2] == 1234.5 and pd.isna(costs[3])


def test_formula_strings_are_kept_as_text():
    ex = cases(
        'C1,05/03/2024,"=HYPERLINK(""http://x"",""y"")",,,,,',
        "C2,05/03/2024,+cmd|' /C calc'!A0,,,,,",
    )
    assert ex.frame["category_raw"].tolist() == ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0"]
    assert ex.frame["category"].tolist() == ["other", "other"]


def test_unmapped_category_is_reported_not_dropped():
    ex = cases(
        "C1,05/03/2024,Pothole,,,,,", "C2,05/03/2024,Pothole,,,,,", "C3,05/03/2024,Fly Tipping,,,,,"
    )
    assert ex.frame["category"].tolist() == ["other", "other", "fly_tipping"]
    assert ex.frame["category_raw"].tolist() == ["Pothole", "Pothole", "Fly Tipping"]
    assert ex.report["unmapped_categories"] == {"Pothole": 2}
    warn = ex.rejects[ex.rejects["rule"] == "W_UNMAPPED_CATEGORY"]
    assert warn["severity"].unique().tolist() == ["warning"]
    assert len(warn) == 2


@pytest.mark.parametrize(
    ("label", "category"),
    [
        ("Fly-Tipping", "fly_tipping"),
        ("Flytipping (TfL)", "fly_tipping"),
        ("Fly tipping - Enforcement Request", "fly_tipping"),
        ("Fly-tipping – large", "fly_tipping"),  # en dash, as Word and Excel type it
        ("Graffiti — offensive", "graffiti"),  # em dash
        ("White Goods", "fly_tipping"),
        ("Black Bags – Household", "fly_tipping"),
        ("Dog Mess", "dog_fouling"),
        ("Graffiti (Offensive)", "graffiti"),
        ("Graffiti/Flyposting: Non-Offen", "graffiti"),
        ("Discarded Syringes", "needles"),
        ("Dog Bin Overflowing", "overflowing_bin"),
        ("Derelict Vehicle", "abandoned_vehicle"),
        ("Illegal Dumping", "fly_tipping"),
        ("Dirty Conditions", "litter"),
        ("Sanitation Condition", "litter"),
        ("STREET  CLEANSING", "litter"),
    ],
)
def test_category_map_variants(label: str, category: str):
    ex = cases(f'C1,05/03/2024,"{label}",,,,,')
    assert ex.frame.loc[0, "category"] == category


def test_value_and_control_characters_are_cleaned_in_rejects():
    long = "x" * 300
    ex = cases(f"C1,05/03/2024,Litter,,,,,{long}", 'C2,05/03/2024,Litter,,,,,"a\tb"')
    values = ex.rejects["value"].tolist()
    assert len(values[0]) == 100
    assert values[1] == "a b"


def test_rejects_frame_shape():
    ex = cases("C1,05/03/2024,Litter,,,,,")
    assert list(ex.rejects.columns) == [
        "source_line",
        "case_id",
        "column",
        "value",
        "rule",
        "message",
        "severity",
    ]
    assert ex.rejects.empty
    assert ex.report["rows_read"] == 1


def test_category_and_value_maps_load():
    cats = load_category_map()
    assert set(cats.values()) <= set(S.CATEGORIES)
    values = load_value_map()
    assert values["action"][normalise_label("Fixed Penalty Notice")] == "fixed_penalty_notice"


# --- enforcement, spend, population ------------------------------------------------------------


def test_enforcement_labels_are_mapped():
    data = (
        "Enforcement ID,Offence,Action,Date Issued,Outcome,Outcome Date,Amount,Offender Name\n"
        "E1,Fly tipping,FPN,05/03/2024,Paid,20/03/2024,£400,A Person\n"
        "E2,Litter,Fixed Penalty Notice,05/03/2024,Unpaid,,150,B Person\n"
        "E3,Dog fouling,Prosecution,05/03/2024,Guilty,01/05/2024,,C Person\n"
        "E4,Odd thing,Tea and biscuits,05/03/2024,,,,D\n"
        "E5,Odd thing,Warning Letter,05/03/2024,Maybe,,,E\n"
    ).encode()
    ex = read_extract(data, "x.csv", "enforcement", OPTS)
    f = ex.frame
    assert f["action"].tolist() == [
        "fixed_penalty_notice",
        "fixed_penalty_notice",
        "prosecution",
        "warning_letter",
    ]
    assert f["offence"].tolist() == ["fly_tipping", "littering", "dog_fouling", "other"]
    assert f["outcome"].tolist()[:3] == ["paid", "unpaid", "convicted"]
    assert f["amount_gbp"].tolist()[0] == 400
    assert rules_at(ex, 5) >= {"E_UNKNOWN_VALUE"}
    assert rules_at(ex, 6) == {"W_UNMAPPED_OFFENCE", "W_UNKNOWN_OUTCOME"}
    assert ex.report["dropped_personal_columns"] == ["Offender Name"]
    assert list(f.columns) == [*S.ENFORCEMENT_COLUMNS, "source_line"]


def test_spend_amounts_citywide_and_default_period_end():
    data = (
        "Ward,Period Start,Period End,Programme,Service,Amount\n"
        'E05015300,01/04/2024,30/06/2024,Clean Streets,Street Cleansing,"£1,234.50"\n'
        "City wide,01/05/2024,,Enforcement pilot,Enforcement,500\n"
        "E05015301,01/04/2024,,Other,Parks,-20\n"
        "E08000012,01/04/2024,,Other,Parks,20\n"
        "Total,,,,,1754.50\n"
    ).encode()
    ex = read_extract(data, "x.csv", "spend", OPTS)
    f = ex.frame
    assert f["ward_code"].tolist() == ["E05015300", "citywide"]
    assert f["service"].tolist() == ["cleansing", "enforcement"]
    assert f["amount_gbp"].tolist() == [1234.5, 500.0]
    assert f.loc[1, "period_end"] == pd.Timestamp("2024-05-31", tz="Europe/London")
    # a rejected row gets its errors only: warnings about a row not kept are noise
    assert rules_at(ex, 4) == {"E_NEGATIVE"}
    assert rules_at(ex, 5) == {"E_TOTAL_ROW"}
    assert "E_TOTAL_ROW" in rules_at(ex, 6)
    assert list(f.columns) == [*S.SPEND_COLUMNS, "source_line"]


def test_population_counts_and_guards():
    data = (
        b"Ward Code,Ward Name,Population,Year\n"
        b'E05015300,Anfield,"14,500",2021\n'
        b"E05015301,Belle Vale,2401.1,2021\n"
        b"E08000012,Liverpool,486100,2021\n"
        b"E05015302,Central,-3,2021\n"
    )
    ex = read_extract(data, "x.csv", "population", OPTS)
    assert ex.frame["population"].tolist() == [14500]
    assert ex.frame["year"].tolist() == [2021]
    assert rules_at(ex, 3) == {"E_NOT_INTEGER"}
    assert rules_at(ex, 4) == {"E_TOTAL_ROW"}
    assert rules_at(ex, 5) == {"E_NEGATIVE"}


def test_population_needs_the_year_of_each_estimate():
    info = refused(b"Ward Code,Population\nE05015300,5000\n", kind="population")
    assert info.code == "F_MISSING_COLUMNS" and "year" in info.message
    ex = read_extract(
        b"Ward Code,Population,Year\nE05015300,5000,2023\nE05015301,6000,\nE05015302,7000,n/a\n",
        "p.csv",
        "population",
        OPTS,
    )
    assert ex.frame["ward_code"].tolist() == ["E05015300"]
    assert rules_at(ex, 3) == {"E_REQUIRED"}
    assert rules_at(ex, 4) == {"E_REQUIRED"}  # a placeholder is no year either


def test_repeated_population_and_spend_keys_are_named_as_what_they_are():
    pop = read_extract(
        b"Ward Code,Population,Year\nE05015279,8000,2024\nE05015279,8100,2024\n",
        "p.csv",
        "population",
        OPTS,
    )
    assert pop.frame["population"].tolist() == [8100]
    assert pop.rejects["message"].tolist() == [
        "Another row has the same ward and year; the last one in the file was kept."
    ]
    spend = read_extract(
        b"Ward,Period Start,Period End,Programme,Service,Amount\n"
        b"E05015300,01/04/2024,30/06/2024,Clean,Street Cleansing,10\n"
        b"E05015300,01/04/2024,30/06/2024,Clean,Street Cleansing,20\n",
        "s.csv",
        "spend",
        OPTS,
    )
    assert spend.frame["amount_gbp"].tolist() == [20.0]
    assert "same ward, period, programme and service" in spend.rejects["message"].iat[0]


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="kind"):
        read_extract(b"a\n1\n", "x.csv", "wards")


# --- real public data (skipped unless NEIGHBOURHOOD_SHARED_DATA is set) ------------------------


@pytest.mark.realdata
def test_real_liverpool_ward_stats_bom_crlf_total_rows(shared_data: Path):
    path = shared_data / "liverpool-wards-2004" / "Food_Poverty_Health_stats.csv"
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    # No head count in this file: refused, and the message names the missing column.
    with pytest.raises(FileRefused) as info:
        read_extract(data, path.name, "population", OPTS)
    assert info.value.code == "F_MISSING_COLUMNS"
    assert "population" in info.value.message
    # A percentage column is refused even when it is named as the population (issue #16).
    opts = ReadOptions(now=NOW, column_map={"Ward_Reception_Overweight_Obese": "population"})
    with pytest.raises(FileRefused) as info:
        read_extract(data, path.name, "population", opts)
    assert info.value.code == "F_NOT_HEAD_COUNT"
    # Told which column to use, the BOM, CRLF and the five city-total rows are handled.
    opts = ReadOptions(now=NOW, column_map={"Ward_alcohol_specific_admissions": "population"})
    ex = read_extract(data, path.name, "population", opts)
    assert ex.report["encoding"] == "utf-8-sig"
    assert ex.report["columns"]["WardCode"] == "ward_code"
    assert ex.report["rows_read"] == 155
    totals = ex.rejects[ex.rejects["rule"] == "E_TOTAL_ROW"]
    assert totals["source_line"].tolist() == [32, 63, 94, 125, 156]
    assert set(totals["value"]) == {"E08000012"}
    kept_or_rejected = set(ex.frame["source_line"]) | set(ex.rejects["source_line"])
    assert kept_or_rejected == set(range(2, 157))
    assert not ex.frame["ward_name"].str.contains("\r").any()
    # Rates are not head counts: fractional values are rejected, not rounded.
    assert "E_NOT_INTEGER" in set(ex.rejects["rule"])


@pytest.mark.realdata
def test_real_census_density_is_not_taken_as_population(shared_data: Path):
    path = shared_data / "liverpool-wards-2004" / "WardPopulation_density_census2021.csv"
    with pytest.raises(FileRefused) as info:
        read_extract(path.read_bytes(), path.name, "population", OPTS)
    assert info.value.code == "F_MISSING_COLUMNS"


@pytest.mark.realdata
@pytest.mark.parametrize(
    "file_name", ["311_subset_micro_2011.csv", "311_service_requests_sample_oldschema.csv"]
)
def test_real_nyc_311_month_first(shared_data: Path, file_name: str):
    path = shared_data / "nyc-311" / file_name
    data = path.read_bytes()
    with pytest.raises(FileRefused) as info:
        read_extract(data, path.name, "cleansing", OPTS)
    assert info.value.code == "F_DATE_MONTHFIRST"
    assert 'ReadOptions(date_format="monthfirst")' in info.value.message
    assert "--date-format monthfirst" in info.value.message

    opts = ReadOptions(now=NOW, date_format="monthfirst", bounds=None)
    ex = read_extract(data, path.name, "cleansing", opts)
    assert set(ex.report["date_formats"].values()) == {"%m/%d/%Y %I:%M:%S %p"}
    raw = pd.read_csv(path, dtype=str, usecols=["Unique Key", "Created Date"])
    expected = pd.to_datetime(raw["Created Date"], format="%m/%d/%Y %I:%M:%S %p")
    expected = expected.dt.tz_localize("Europe/London", ambiguous=True, nonexistent="shift_forward")
    got = ex.frame.set_index("case_id")["reported_at"]
    want = pd.Series(expected.to_numpy(), index=raw["Unique Key"])
    assert (got == want.loc[got.index]).all()  # never silently day/month swapped
    assert ex.report["rows_read"] == len(raw)
    assert ex.report["rows_accepted"] >= len(raw) - 5
    assert "Resolution Description" in ex.report[
        "dropped_personal_columns"
    ] or file_name.startswith("311_service")
    assert "Incident Address" in ex.report["dropped_personal_columns"]
    # The UK bounds reject New York coordinates by default.
    ex_uk = read_extract(
        data, path.name, "cleansing", ReadOptions(now=NOW, date_format="monthfirst")
    )
    assert ex_uk.report["rules"].get("E_COORD_RANGE", 0) > 0


@pytest.mark.realdata
def test_real_fixmystreet_labels_for_our_categories_map(shared_data: Path):
    table = pd.read_csv(shared_data / "fms-category-lookup" / "SHEF_A.csv", dtype=str)
    ours = {
        "Fly-tipping": "fly_tipping",
        "Dog Fouling": "dog_fouling",
        "Discarded Syringes": "needles",
        "Abandoned Vehicles": "abandoned_vehicle",
        "Flyposting": "fly_posting",
        "Graffiti": "graffiti",
    }
    sub = table[table["SHEF_A"].isin(list(ours))].dropna(subset=["category"])
    body = "".join(
        f'C{i},05/03/2024,"{label.strip()}",,,,,\n' for i, label in enumerate(sub["category"])
    )
    ex = read_extract((HEADER + body).encode(), "fms.csv", "cleansing", OPTS)
    got = ex.frame["category"].to_numpy()
    want = sub["SHEF_A"].map(ours).to_numpy()
    misses = ex.frame.loc[got != want, "category_raw"].tolist()
    assert (got == want).mean() >= 0.9, misses


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (
            "cleansing",
            b"Case ID,Date Received,Request Type,Easting,Northing,Cost,Status\n"
            b"C1,05/03/2024,Litter,334300,390400,5,Closed\nC2,06/03/2024,Weeds,,,,\n",
        ),
        ("enforcement", b"Enforcement ID,Action,Date Issued,Outcome\nE1,FPN,05/03/2024,Paid\n"),
        ("spend", b"Ward,Period Start,Amount,Service\ncitywide,01/04/2024,5,Cleansing\n"),
        ("population", b"Ward Code,Population,Year\nE05000001,5,2021\n"),
    ],
)
def test_output_frames_satisfy_the_pandera_models(kind: str, data: bytes):
    ex = read_extract(data, "x.csv", kind, OPTS)
    S.MODELS[kind].validate(ex.frame, lazy=True)


@pytest.mark.parametrize(
    "values",
    [
        ["Ship Place", "Dock Drive", None],
        ["Café", "Caf\u00e9\u00a0", " x", None],
        ["x\u2003", "\u1680y", "plain"],
        ["a\x1c", "b", "c"],
        ["", "a"],
        [None, None],
        ["naïve", "£5", "ok"],
    ],
)
def test_trim_shortcut_agrees_with_trimming(values: list[str | None]):
    """A column is left as it is only when utf8_trim_whitespace would change nothing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from neighbourhood import loaders as L

    arr = pa.array(values, type=pa.large_string())
    trimmed = pc.utf8_trim_whitespace(arr)
    unchanged = trimmed.equals(arr) and "" not in values
    assert L._nothing_to_trim(arr) == unchanged
    assert L._nothing_to_trim(pa.chunked_array([arr[:1], arr[1:]])) == unchanged
    ex = cases(*(f"C{i},05/03/2024,{v or ''},,,,," for i, v in enumerate(values)))
    raw = ex.frame["category_raw"].tolist()
    want = [None if (v or "").strip() == "" else v.strip() for v in values]
    assert [None if pd.isna(v) else v for v in raw] == [
        None if w is None else pc.utf8_trim_whitespace(pa.array([w])).to_pylist()[0] for w in want
    ]


def test_distinct_ids_shortcut_and_byte_lengths():
    import pyarrow as pa

    from neighbourhood import loaders as L

    assert L._all_distinct(pa.array(["C1", "C2", "C3"], type=pa.large_string()))
    assert not L._all_distinct(pa.array(["C1", "C2", "C2"], type=pa.large_string()))
    assert not L._all_distinct(pa.array(["C2", "C1", "C2"], type=pa.large_string()))
    assert L._all_distinct(pa.array(["C2", "C1", "C3"], type=pa.large_string()))
    assert not L._all_distinct(pa.array([None, "C1", None], type=pa.large_string()))
    assert L._max_bytes(pa.array(["é" * 600, "x", None], type=pa.large_string())) == 1200
    ex = cases("C1,05/03/2024,Litter,,,,,", "C2,05/03/2024," + "é" * 600 + ",,,,,")
    assert "E_TOO_LONG" not in set(ex.rejects["rule"])  # 1,200 bytes but 600 characters
    assert len(ex.frame) == 2
