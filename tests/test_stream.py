"""Big files read in slices (neighbourhood/stream.py) give what the whole-file reader gives.

Each test forces small slices (``NEIGHBOURHOOD_SLICE_BYTES``) so that a file of a few thousand
rows is cut into several, and compares the sliced ingest with the whole-file ingest of the same
bytes into a copy of the same store: the stored cases, every rejects row and the report's counts.
"""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from page_support import copy_store, demo_files_as_council, folder_digest

from neighbourhood import ingest, loaders, stream
from neighbourhood.demo import generate_cleansing_extract, generate_demo
from neighbourhood.store import Store, write_memory_limit

SMALL = 40_000  # bytes of rows per slice in these tests (a few hundred rows)
NO_SLICES = str(10**12)


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "store"
    return demo_files_as_council(path, 200)  # a council's store: it takes further loads


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("extract") / "cases.csv"
    generate_cleansing_extract(path, n_cases=3000, seed=7)
    return path.read_bytes()


@pytest.fixture
def target(base_store: Path, tmp_path: Path) -> Path:
    """A copy of the base store for one test."""
    return copy_store(base_store, tmp_path / "store")


def messy(data: bytes, seed: int = 3) -> bytes:
    """The extract with what real ones have: blank lines, quoted line breaks, bad dates,
    points outside the city, totals rows, and ids repeated far apart in the file."""
    rng = random.Random(seed)
    lines = data.split(b"\r\n")
    header, body = lines[0], [x for x in lines[1:] if x]
    out = [header]
    for i, row in enumerate(body):
        r = rng.random()
        if r < 0.01:
            out.append(b"")
        if r < 0.03:
            row = row.replace(b'"Closed"', b'"Closed\r\nreally"', 1)
        elif r < 0.04:
            row = row.replace(b"/2024 ", b"/13/2024 ", 1)
        elif r < 0.05:
            fields = row.split(b",")
            fields[7] = b"450000"  # on the grid, outside the city
            row = b",".join(fields)
        elif r < 0.06 and i:
            out.append(body[rng.randrange(0, i)])  # an earlier row again, further down
        elif r < 0.062:
            row = b'"Total",,,,,,,,,,,,,,'
        out.append(row)
    for j in range(0, 400, 9):  # rows from the top repeated at the bottom
        out.append(body[j])
    # an id whose newest version lies outside the city: the older one must still lose
    first = body[0].split(b",")
    newer = list(first)
    newer[7] = b"450000"
    newer[-1] = b'"31/12/2026 23:59"'
    out.append(b",".join(newer))
    return b"\r\n".join(out) + b"\r\n"


def both_ways(
    base: Path,
    tmp_path: Path,
    data: bytes,
    monkeypatch: pytest.MonkeyPatch,
    name: str = "x.csv",
    kind: str = "cleansing",
) -> tuple[ingest.IngestResult, ingest.IngestResult, Store, Store]:
    path = tmp_path / name
    path.write_bytes(data)
    results = []
    stores = []
    for mode, size in (("whole", NO_SLICES), ("sliced", str(SMALL))):
        target = tmp_path / mode
        copy_store(base, target)
        monkeypatch.setenv(stream.ENV_SLICE_BYTES, size)
        store = Store(target)
        results.append(
            ingest.ingest_path(store, path, kind, options=loaders.ReadOptions(now=NOW), actor="t")
        )
        stores.append(store)
    return results[0], results[1], stores[0], stores[1]


NOW = pd.Timestamp("2027-06-01", tz="Europe/London")


def stored(store: Store) -> pd.DataFrame:
    return store.query("SELECT * EXCLUDE (ingest_id) FROM cases ORDER BY case_id")


def assert_same(whole: ingest.IngestResult, sliced: ingest.IngestResult) -> None:
    assert sliced.report["slices"] > 1
    assert whole.report.get("slices") is None
    a, b = whole.summary(), sliced.summary()
    assert {k: v for k, v in a.items() if k != "store"} == {
        k: v for k, v in b.items() if k != "store"
    }
    pd.testing.assert_frame_equal(
        whole.rejects.reset_index(drop=True).astype(str),
        sliced.rejects.reset_index(drop=True).astype(str),
    )
    for key in ("rows_read", "rows_accepted", "rows_rejected", "rows_warned", "rules", "encoding"):
        assert whole.report.get(key) == sliced.report.get(key), key
    assert whole.report["date_formats"] == sliced.report["date_formats"]


@pytest.mark.parametrize("ahead", ["0", "1", "3"])
def test_sliced_ingest_equals_whole_file_on_a_messy_extract(
    base_store: Path,
    extract: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ahead: str,
) -> None:
    monkeypatch.setenv(stream.ENV_READ_AHEAD, ahead)  # slices read in 0, 1 or 3 threads
    data = messy(extract)
    whole, sliced, s1, s2 = both_ways(base_store, tmp_path, data, monkeypatch)
    assert_same(whole, sliced)
    pd.testing.assert_frame_equal(stored(s1), stored(s2))
    rules = sliced.report["rules"]
    # the file really has each of these, so the comparison above covers them
    for rule in ("E_DUPLICATE_ID", "E_DATE_FORMAT", "E_TOTAL_ROW"):
        assert rules.get(rule, 0) > 0, rule
    assert (sliced.rejects["rule"] == "E_OUTSIDE_WARDS").sum() > 0
    assert (sliced.rejects["rule"] == "E_DUPLICATE_ID").sum() >= 40
    assert sliced.report["blank_rows"] == whole.report["blank_rows"] > 0


def test_enforcement_extract_sliced_equals_whole(
    base_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = generate_demo(tmp_path / "demo", n_cases=20_000, seed=11)
    data = files.enforcement.read_bytes()
    lines = data.split(b"\r\n") if b"\r\n" in data else data.split(b"\n")
    sep = b"\r\n" if b"\r\n" in data else b"\n"
    body = [x for x in lines[1:] if x]
    data = sep.join([lines[0], *body, *body[:30], b""])  # ids repeated across slices
    whole, sliced, s1, s2 = both_ways(base_store, tmp_path, data, monkeypatch, kind="enforcement")
    assert_same(whole, sliced)
    assert (sliced.rejects["rule"] == "E_DUPLICATE_ID").sum() == 30
    query = "SELECT * EXCLUDE (ingest_id) FROM enforcement ORDER BY case_id"
    pd.testing.assert_frame_equal(s1.query(query), s2.query(query))


def test_rows_keep_their_physical_line_across_slices(
    base_store: Path, extract: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = messy(extract)
    _, sliced, _, _ = both_ways(base_store, tmp_path, data, monkeypatch)
    text = data.decode("cp1252").split("\r\n")
    bad = sliced.rejects[sliced.rejects["rule"] == "E_DATE_FORMAT"]
    assert len(bad)
    for line, value in zip(bad["source_line"], bad["value"], strict=True):
        assert value in text[int(line) - 1], (line, value)


def test_utf8_with_bom_and_no_updated_at(
    base_store: Path, extract: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.read_csv(io.BytesIO(extract), encoding="cp1252", dtype=str)
    frame = frame.drop(columns=["Last Updated"])
    frame = pd.concat([frame, frame.iloc[:50]], ignore_index=True)  # repeats, no updated_at
    data = frame.to_csv(index=False).encode("utf-8-sig")
    whole, sliced, s1, s2 = both_ways(base_store, tmp_path, data, monkeypatch)
    assert sliced.report["encoding"] == "utf-8-sig"
    assert_same(whole, sliced)
    dup = sliced.rejects[sliced.rejects["rule"] == "E_DUPLICATE_ID"]
    assert len(dup) == 50
    assert set(dup["message"]) == {loaders.DUPLICATE_LAST}
    pd.testing.assert_frame_equal(stored(s1), stored(s2))


@pytest.mark.parametrize(
    ("label", "mutate", "code"),
    [
        ("nul byte", lambda d: d[:-500] + b"\x00" + d[-500:], "F_BINARY"),
        ("mixed encodings", lambda d: d + "Café Row,,,\r\n".encode(), "F_ENCODING"),
        (
            "ragged row late in the file",
            lambda d: d + b'"X1",1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\r\n',
            "F_MALFORMED",
        ),
        (
            # a quoted line break early on: the message still names the physical line
            "ragged row after a quoted line break",
            lambda d: (
                d[: d.index(b"\n") + 1]
                + QUOTED_BREAK_ROW
                + d[d.index(b"\n") + 1 :]
                + b'"X1",1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\r\n'
            ),
            "F_MALFORMED",
        ),
    ],
)
def test_refusals_are_the_whole_file_ones_and_store_is_untouched(
    target: Path,
    extract: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    label: str,
    mutate: object,
    code: str,
) -> None:
    data = mutate(extract)  # type: ignore[operator]
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    before = folder_digest(target)
    messages = []
    for size in (NO_SLICES, str(SMALL)):
        monkeypatch.setenv(stream.ENV_SLICE_BYTES, size)
        with pytest.raises(loaders.FileRefused) as err:
            ingest.ingest_path(Store(target), path, "cleansing")
        assert err.value.code == code, label
        messages.append(err.value.message)
        assert folder_digest(target) == before
    assert messages[0] == messages[1]
    if label.startswith("ragged"):
        physical = data.count(b"\n")  # the ragged row is the last line
        assert f"line {physical} has 18 fields" in messages[0], messages[0]


QUOTED_BREAK_ROW = (
    b'"Q1","01/10/2023 00:13","Dog\r\nFouling","Closed","02/10/2023 12:03","Seel Lane",'
    b'"Speke",343658,384400,,,,,"Phone","02/10/2023 12:28"\r\n'
)


def test_scan_sends_what_slices_cannot_read_to_the_whole_file_reader(extract: bytes) -> None:
    def found(data: bytes, name: str = "x.csv", **kw: object) -> stream.Scan | None:
        return stream.scan(io.BytesIO(data), name, loaders.ReadOptions(**kw), min_bytes=0)

    assert found(extract) is not None
    assert found(extract).encoding == "cp1252"  # type: ignore[union-attr]
    import gzip

    assert found(gzip.compress(extract), "x.csv.gz") is None
    assert found(b"PK\x03\x04" + extract) is None
    assert found(extract.decode("cp1252").encode("utf-16")) is None
    assert found(extract, encoding="utf-16") is None
    assert found(b'"Case\nID",Date\n' + extract) is None  # a header over two lines
    assert found(extract[:-10] + b"\x00" + extract[-10:]) is None
    assert found(extract + "é\n".encode()) is None  # UTF-8 beside Windows-1252
    assert stream.scan(io.BytesIO(extract), "x.csv") is None  # small: read whole


@pytest.mark.parametrize("block", [19, 23, 1 << 24])
def test_scan_decides_the_same_whatever_its_block_size(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    # Small blocks (the header must fit in the first) split multi-byte characters and lines; the
    # decision and the digest
    # must be those of the whole file read at once.
    head = b"Case ID,Street\n"
    ascii_rows = b"".join(b"C%d,High Street\n" % i for i in range(40))
    utf8 = "C99,Rue Émile Zola – “quoted”\n".encode()
    cp1252 = "C98,Caf\u00e9 \u00a3 Road\n".encode("cp1252")
    undefined = b"C97,Bad \x81 byte\n"
    cases = {
        "ascii": (head + ascii_rows, "utf-8"),
        "utf-8 late": (head + ascii_rows + utf8 + ascii_rows, "utf-8"),
        "utf-8 with BOM": (b"\xef\xbb\xbf" + head + utf8 + ascii_rows, "utf-8-sig"),
        "windows-1252": (head + ascii_rows + cp1252 + ascii_rows + cp1252, "cp1252"),
        "mixed": (head + cp1252 + ascii_rows + utf8, None),
        "mixed, UTF-8 first": (head + utf8 + ascii_rows + cp1252, None),
        "undefined in 1252": (head + ascii_rows + cp1252 + undefined, None),
        "NUL late": (head + ascii_rows + b"C1,\x00\n", None),
        "no line end at the end": (head + ascii_rows + cp1252.rstrip(b"\n"), "cp1252"),
    }
    monkeypatch.setattr(stream, "_BLOCK", block)
    for label, (data, encoding) in cases.items():
        found = stream.scan(io.BytesIO(data), "x.csv", min_bytes=0)
        if encoding is None:
            assert found is None, label
            continue
        assert found is not None, label
        assert found.encoding == encoding, label
        assert found.sha256 == hashlib.sha256(data).hexdigest(), label
        assert found.header_end == data.index(b"\n") + 1, label


@pytest.mark.parametrize("size", [1, 7, 45, 1000, 1 << 20])
def test_slices_cut_only_between_rows(size: int) -> None:
    # Sizes below one row make the reader read on past the slice size (a row longer than it).
    rows = [b'"C%d","line one\r\nline two, with ""quotes""",%d\r\n' % (i, i) for i in range(500)]
    rows[7] = b'"C7","%s",7\r\n' % (b"a long\nquoted value, " * 40)  # longer than small sizes
    body = b"".join(rows)
    data = b"id,text,n\r\n" + body
    found = stream.Scan("", len(data), "utf-8", len(b"id,text,n\r\n"))
    slices = list(stream.iter_slices(io.BytesIO(data), found, size=size))
    assert len(slices) > 10 or size != 1000
    assert b"".join(s[len(b"id,text,n\r\n") :] for s, _ in slices) == body
    for piece, offset in slices:
        assert piece.startswith(b"id,text,n\r\n")
        frame = pd.read_csv(io.BytesIO(piece), dtype=str)
        first = int(frame["n"].iloc[0])
        # two physical lines a row before this slice (row 7 has 41)
        assert offset == 2 * first + (39 if first > 7 else 0)


def test_merge_reports_adds_counts_and_lists_other_date_formats() -> None:
    found = stream.Scan("", 10, "cp1252", 4)
    merged = stream.merge_reports(
        [
            {"rows_read": 3, "rules": {"E_X": 1}, "date_formats": {"d": "%d/%m/%Y"}},
            {
                "rows_read": 4,
                "rules": {"E_X": 1, "W_Y": 2},
                "date_formats": {"d": "%d/%m/%Y %H:%M"},
                "unmapped_categories": {"Odd": 2},
            },
        ],
        found,
    )
    assert merged["rows_read"] == 7
    assert merged["rules"] == {"E_X": 2, "W_Y": 2}
    assert merged["date_formats"] == {"d": "%d/%m/%Y"}
    assert merged["date_formats_extra"] == {"d": ["%d/%m/%Y %H:%M"]}
    assert merged["unmapped_categories"] == {"Odd": 2}
    assert merged["encoding"] == "cp1252" and merged["slices"] == 2


def test_ingest_bytes_slices_too(
    target: Path, extract: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(stream.ENV_SLICE_BYTES, str(SMALL))
    res = ingest.ingest_bytes(Store(target), extract, "upload.csv", "cleansing", channel="upload")
    assert res.report["slices"] > 1
    assert res.rows_accepted == res.rows_read - res.rows_rejected
    again = ingest.ingest_bytes(Store(target), extract, "upload.csv", "cleansing")
    assert again.status == "duplicate_file"


def test_out_of_memory_is_rolled_back_and_tried_with_more_room(
    target: Path, extract: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(target)
    real = Store._apply
    calls: list[str] = []

    def tight(self: Store, con: duckdb.DuckDBPyConnection, batch: object) -> object:
        calls.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        if len(calls) == 1:
            con.execute("DELETE FROM cases")  # half-done work that the rollback must undo
            raise duckdb.OutOfMemoryException("Out of Memory Error: test")
        return real(self, con, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "_apply", tight)
    before = int(store.query("SELECT count(*) AS n FROM cases")["n"].iloc[0])
    res = ingest.ingest_bytes(store, extract, "cases.csv", "cleansing")
    assert len(calls) == 2 and calls[0] != calls[1]
    assert res.status == "committed"
    after = int(store.query("SELECT count(*) AS n FROM cases")["n"].iloc[0])
    assert after == before + res.rows_new


def test_read_ahead_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(stream.ENV_READ_AHEAD, "2")
    assert stream.read_ahead() == 2
    monkeypatch.setenv(stream.ENV_READ_AHEAD, "-1")
    assert stream.read_ahead() == 0
    monkeypatch.setenv(stream.ENV_READ_AHEAD, "many")
    assert stream.read_ahead() == stream.DEFAULT_READ_AHEAD


def test_write_memory_limit_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEIGHBOURHOOD_DUCKDB_MEMORY", "2GB")
    assert write_memory_limit() == "2GB"
    monkeypatch.setenv("NEIGHBOURHOOD_DUCKDB_MEMORY", "lots")
    assert write_memory_limit() == "128MB"


@pytest.mark.parametrize("kind", ["cleansing", "spend"])
def test_missing_or_unreadable_path_is_refused(target: Path, tmp_path: Path, kind: str) -> None:
    before = folder_digest(target)
    for path in (tmp_path / "nope.csv", tmp_path):  # missing; a folder
        with pytest.raises(loaders.FileRefused) as err:
            ingest.ingest_path(Store(target), path, kind)
        assert err.value.code == "F_UNREADABLE"
        assert "could not be read" in err.value.message
    assert folder_digest(target) == before


def test_progress_is_reported_slice_by_slice(
    target: Path, extract: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(stream.ENV_SLICE_BYTES, str(SMALL))
    seen: list[float] = []
    res = ingest.ingest_bytes(
        Store(target), extract, "cases.csv", "cleansing", progress=seen.append
    )
    assert len(seen) == res.report["slices"] > 1
    assert seen == sorted(seen) and 0 < seen[0] < 1
    assert seen[-1] == pytest.approx(1.0)


def test_boundaries_changed_while_reading_refuses_and_stores_nothing(
    target: Path, extract: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slices are read without the writer's lock; a wards load that lands meanwhile is caught."""
    monkeypatch.setenv(stream.ENV_SLICE_BYTES, str(SMALL))
    files = generate_demo(tmp_path / "w", n_cases=100)
    redrawn = tmp_path / "redrawn.geojson"
    redrawn.write_bytes(files.wards.read_bytes() + b"\n")  # not the file loaded before
    store = Store(target)
    real = stream.read_slices

    def with_a_wards_load(*args: object, **kw: object):  # type: ignore[no-untyped-def]
        for i, extract_ in enumerate(real(*args, **kw)):  # type: ignore[arg-type]
            if i == 1:  # another analyst's boundary file lands while this file is read
                ingest.ingest_path(store, redrawn, "wards", boundary_set="redrawn")
            yield extract_

    monkeypatch.setattr(stream, "read_slices", with_a_wards_load)
    cases_before = stored(store)
    with pytest.raises(loaders.FileRefused) as err:
        ingest.ingest_bytes(store, extract, "cases.csv", "cleansing")
    assert err.value.code == ingest.WARDS_CHANGED_CODE
    assert "load the file again" in err.value.message
    pd.testing.assert_frame_equal(stored(store), cases_before)
    assert store.active_boundary_set() == "redrawn"


def test_undo_that_runs_out_of_memory_is_tried_with_more_room(
    target: Path, extract: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(target)
    res = ingest.ingest_bytes(store, extract, "cases.csv", "cleansing")
    before = int(store.query("SELECT count(*) AS n FROM cases")["n"].iloc[0])
    real = Store._undo
    limits: list[str] = []

    def tight(self: Store, con: duckdb.DuckDBPyConnection, *args: object) -> object:
        limits.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        if len(limits) == 1:
            con.execute("DELETE FROM cases")  # half-done work the rollback must undo
            raise duckdb.OutOfMemoryException("Out of Memory Error: test")
        return real(self, con, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "_undo", tight)
    out = store.undo(res.ingest_id)
    assert len(limits) == 2 and limits[0] != limits[1]
    assert out["status"] == "undone"
    after = int(store.query("SELECT count(*) AS n FROM cases")["n"].iloc[0])
    assert after == before - res.rows_new
