"""neighbourhood/safe_io.py: capped decompression, regular files only, temp folders (issue #15).

Each test names the hostile input it stands for. Memory is measured with ``tracemalloc`` (zlib's
output and zipfile's reads are Python bytes objects, so they are traced).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import signal
import subprocess
import sys
import tempfile
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from neighbourhood import loaders, safe_io
from neighbourhood.loaders import FileRefused, ReadOptions, containers, read_extract
from neighbourhood.safe_io import InputRefused

HEADER = b"Ward Code,Population,Year\n"


@contextlib.contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (the old gzip loop never ended)."""

    def fail(*_: object) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """Peak traced allocation (bytes) inside the block, in a one-item list."""
    out = [0]
    tracemalloc.start()
    try:
        yield out
    finally:
        out[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def population_rows(first: int, n: int) -> bytes:
    return b"".join(b"E%08d,%d,2024\n" % (5900000 + i, 1000 + i) for i in range(first, first + n))


def zeros_gzip(n_bytes: int, members: int = 1) -> bytes:
    """A gzip of ``n_bytes`` zero bytes (a bomb), as ``members`` identical members."""
    member = gzip.compress(b"\0" * (n_bytes // members), compresslevel=9)
    return member * members


# ---- gzip ------------------------------------------------------------------------------------


def test_two_member_gzip_with_a_first_member_over_16_mib_reads_whole_and_ends() -> None:
    """`cat part1.csv.gz part2.csv.gz` with part 1 over 16 MiB: it hung forever on main."""
    filler = b"x" * (17 * 1024 * 1024)
    data = gzip.compress(filler) + gzip.compress(b"tail\n")
    with deadline(60):
        out = containers._gunzip(data, loaders.DEFAULT_MAX_BYTES)
    assert out == filler + b"tail\n"


def test_multi_member_csv_gz_loads_every_row_of_every_member() -> None:
    part1 = gzip.compress(HEADER + population_rows(0, 3))
    part2 = gzip.compress(population_rows(3, 2))
    part3 = gzip.compress(b"")  # an empty member, as `gzip </dev/null` writes
    with deadline(60):
        ex = read_extract(part1 + part2 + part3, "population.csv.gz", "population")
    assert len(ex.frame) == 5
    assert ex.report["format"] == "gzip+csv"


def test_trailing_garbage_after_a_valid_gzip_is_refused() -> None:
    data = gzip.compress(HEADER + population_rows(0, 2)) + b"garbage, not gzip"
    with pytest.raises(FileRefused) as err:
        read_extract(data, "population.csv.gz", "population")
    assert err.value.code == "F_MALFORMED"
    assert "trailing garbage" in err.value.message
    assert "17 bytes" in err.value.message


def test_zero_padding_after_gzip_is_accepted_as_gzip_d_does() -> None:
    data = gzip.compress(HEADER + population_rows(0, 2)) + b"\0" * 512
    assert len(read_extract(data, "population.csv.gz", "population").frame) == 2


@pytest.mark.parametrize(
    "data, says",
    [
        (gzip.compress(b"a,b\n" * 1000)[:-9], "truncated"),
        (gzip.compress(b"a,b\n" * 1000)[:12] + b"\xff" * 40, "corrupt"),
        (gzip.compress(b"a,b\n") + gzip.compress(b"c,d\n")[:15], "truncated"),
    ],
    ids=["truncated_trailer", "corrupt_deflate", "truncated_second_member"],
)
def test_damaged_gzip_is_refused_as_malformed(data: bytes, says: str) -> None:
    with pytest.raises(InputRefused) as err:
        safe_io.gunzip(data)
    assert err.value.code == "F_MALFORMED"
    assert says in err.value.message


def test_gzip_bomb_is_refused_at_the_cap_without_expanding_to_it() -> None:
    """A bomb of 200 MiB under a 32 MiB cap: refused, with one slice in memory, not the cap."""
    bomb = zeros_gzip(200 * 1024 * 1024, members=4)
    with peak_memory() as peak, pytest.raises(FileRefused) as err:
        read_extract(bomb, "cases.csv.gz", "cleansing", ReadOptions(max_bytes=32 * 1024 * 1024))
    assert err.value.code == "F_TOO_LARGE"
    assert "33,554,432" in err.value.message
    assert peak[0] < 8 * 1024 * 1024, f"peak {peak[0]:,} bytes"


def test_gzip_bomb_under_the_default_cap_is_refused_by_its_ratio_with_flat_memory() -> None:
    """3 GiB of zeros in a 3 MB multi-member gzip: refused past 64 MiB, never near 2 GiB."""
    bomb = zeros_gzip(3 * 1024**3, members=48)
    with peak_memory() as peak, pytest.raises(FileRefused) as err, deadline(60):
        read_extract(bomb, "cases.csv.gz", "cleansing")
    assert err.value.code == "F_TOO_LARGE"
    assert "decompression bomb" in err.value.message
    assert peak[0] < 16 * 1024 * 1024, f"peak {peak[0]:,} bytes"


def test_gzip_output_is_never_kept_beyond_the_cap_plus_one_slice() -> None:
    """The counting pass keeps nothing; the kept pass never runs for a refused file."""
    calls: list[int] = []
    real = zlib.decompress

    def spy(data: object, *args: object) -> bytes:
        out = real(data, *args)  # type: ignore[arg-type]
        calls.append(len(out))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(safe_io.zlib, "decompress", spy)
        with pytest.raises(InputRefused):
            safe_io.gunzip(zeros_gzip(8 * 1024 * 1024), limit=1024 * 1024)
    assert calls == []


# ---- zip -------------------------------------------------------------------------------------


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buf.getvalue()


def test_zip_bomb_is_refused_from_its_headers_and_by_its_ratio_with_flat_memory() -> None:
    bomb = _zip({"cases.csv": b"\0" * (150 * 1024 * 1024)})
    with peak_memory() as peak, pytest.raises(FileRefused) as err:
        read_extract(bomb, "cases.zip", "cleansing")
    assert err.value.code == "F_TOO_LARGE"
    assert "decompression bomb" in err.value.message
    assert peak[0] < 8 * 1024 * 1024, f"peak {peak[0]:,} bytes"


def test_zip_member_is_read_in_slices_and_stops_at_the_cap() -> None:
    payload = HEADER + population_rows(0, 50_000)
    archive = zipfile.ZipFile(io.BytesIO(_zip({"p.csv": payload})))
    info = archive.infolist()[0]
    assert safe_io.unzip_member(archive, info, 10**9, len(payload)) == payload
    with pytest.raises(InputRefused) as err:
        safe_io.unzip_member(archive, info, 10**9, len(payload) - 1)
    assert err.value.code == "F_TOO_LARGE"


def test_archives_nested_four_deep_are_refused_plainly() -> None:
    data = HEADER + population_rows(0, 2)
    for depth in range(4):
        data = _zip({f"layer{depth}.csv": data}) if depth % 2 else gzip.compress(data)
    with pytest.raises(FileRefused) as err:
        read_extract(data, "p.csv.gz", "population")
    assert err.value.code == "F_FORMAT"
    assert "more than three levels deep" in err.value.message


def test_workbook_whose_parts_expand_like_a_bomb_is_refused() -> None:
    book = _zip(
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b" " * (100 * 1024 * 1024),
        }
    )
    with pytest.raises(FileRefused) as err:
        read_extract(book, "cases.xlsx", "cleansing")
    assert err.value.code == "F_TOO_LARGE"
    assert "The workbook" in err.value.message


# ---- paths -----------------------------------------------------------------------------------


def test_fifo_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "cases.csv"
    os.mkfifo(fifo)
    with deadline(10), pytest.raises(InputRefused) as err:
        safe_io.read_regular(fifo)
    assert err.value.code == "F_UNREADABLE"
    assert "named pipe" in err.value.message


def test_dev_zero_and_folders_are_refused_before_reading(tmp_path: Path) -> None:
    for path, says in (("/dev/zero", "a device"), (tmp_path, "a folder")):
        with deadline(10), pytest.raises(InputRefused) as err:
            safe_io.read_regular(path)
        assert says in err.value.message


def test_symlink_to_a_system_file_is_refused_without_a_word_of_its_target(tmp_path: Path) -> None:
    link = tmp_path / "cases.csv"
    link.symlink_to("/etc/passwd")
    with pytest.raises(InputRefused) as err:
        safe_io.read_regular(link)
    assert "symbolic link" in err.value.message
    assert "/etc" not in err.value.message and "root:" not in err.value.message
    assert str(link) in err.value.message  # only the path the user gave


def test_file_over_the_cap_is_refused_from_its_size_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with open(big, "wb") as handle:
        handle.truncate(10 * 1024 * 1024)  # sparse: nothing to read, only a size
    with peak_memory() as peak, pytest.raises(InputRefused) as err:
        safe_io.read_regular(big, limit=1024 * 1024)
    assert err.value.code == "F_TOO_LARGE"
    assert "10,485,760 bytes" in err.value.message
    assert peak[0] < 256 * 1024


def test_regular_file_is_read_with_a_buffer_of_its_size_not_of_the_cap(tmp_path: Path) -> None:
    """``read(limit + 1)`` reserved 2 GiB for every file: MemoryError under a memory limit."""
    path = tmp_path / "p.csv"
    path.write_bytes(HEADER + population_rows(0, 10))
    with peak_memory() as peak:
        assert safe_io.read_regular(path) == path.read_bytes()
    assert peak[0] < 1024 * 1024


def test_ingest_path_refuses_fifo_device_folder_and_symlink_before_reading(tmp_path: Path) -> None:
    from neighbourhood.ingest import ingest_path
    from neighbourhood.store import Store

    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    link = tmp_path / "passwd.csv"
    link.symlink_to("/etc/passwd")
    store = Store(tmp_path / "store")
    for path, says in (
        (fifo, "named pipe"),
        (Path("/dev/zero"), "a device"),
        (tmp_path, "a folder"),
        (link, "symbolic link"),
    ):
        for kind in ("cleansing", "population", "wards"):
            with deadline(20), pytest.raises(FileRefused) as err:
                ingest_path(store, path, kind)
            assert err.value.code == "F_UNREADABLE"
            assert says in err.value.message
            assert "root:" not in err.value.message and "/etc" not in err.value.message
    assert not store.path.exists()


def test_boundary_path_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    from neighbourhood import geo

    link = tmp_path / "wards.geojson"
    link.symlink_to("/etc/passwd")
    fifo = tmp_path / "wards2.geojson"
    os.mkfifo(fifo)
    for path in (link, fifo, Path("/dev/zero")):
        with deadline(10), pytest.raises(geo.BoundaryRefused) as err:
            geo.read_boundaries(path)
        assert err.value.code == "unreadable"
        assert "root:" not in err.value.message and "/etc" not in err.value.message
    assert "symbolic link" in _boundary_refusal(link)


def _boundary_refusal(path: Path) -> str:
    from neighbourhood import geo

    with pytest.raises(geo.BoundaryRefused) as err:
        geo.read_boundaries(path)
    return err.value.message


# ---- temporary folders -----------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_folders_of_dead_processes_only(tmp_path: Path) -> None:
    host = safe_io._host()
    dead = tmp_path / f"neighbourhood-ingest-{_dead_pid()}@{host}-abc"
    alive = tmp_path / f"neighbourhood-ingest-{os.getpid()}@{host}-def"
    elsewhere = tmp_path / f"neighbourhood-ingest-{_dead_pid()}@another.host-ghi"  # its pids
    other = tmp_path / "someone-elses-folder"
    for folder in (dead, alive, elsewhere, other):
        folder.mkdir()
        (folder / "rows-00000.parquet").write_bytes(b"PAR1")
    removed = safe_io.sweep_stale_temp_dirs(tmp_path)
    assert removed == [str(dead)]
    assert not dead.exists() and alive.exists() and elsewhere.exists() and other.exists()


def test_old_named_folders_are_swept_only_when_a_day_old(tmp_path: Path) -> None:
    old = tmp_path / "neighbourhood-ingest-k3j2h1"
    new = tmp_path / "neighbourhood-ingest-x9y8z7"
    for folder in (old, new):
        folder.mkdir()
    two_days = 2 * 24 * 3600
    os.utime(old, (os.path.getmtime(old) - two_days,) * 2)
    safe_io.sweep_stale_temp_dirs(tmp_path)
    assert not old.exists() and new.exists()


def test_a_killed_ingests_folder_is_swept_by_the_next_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed inside ``private_temp_dir`` leaves its folder; the next one removes it."""
    base = tmp_path / "tmp"
    base.mkdir()
    code = (
        "import os, neighbourhood.safe_io as s\n"
        "with s.private_temp_dir() as t:\n"
        "    open(os.path.join(t, 'rows-00000.parquet'), 'wb').write(b'case rows')\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    env = {**os.environ, "TMPDIR": str(base), "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.run([sys.executable, "-c", code], env=env, check=False)
    assert proc.returncode == -9
    left = [p.name for p in base.iterdir()]
    assert len(left) == 1 and left[0].startswith("neighbourhood-ingest-")
    monkeypatch.setattr(tempfile, "tempdir", str(base))
    with safe_io.private_temp_dir() as mine:
        assert [p.name for p in base.iterdir()] == [Path(mine).name]
    assert list(base.iterdir()) == []  # and its own is gone on exit


def test_every_ingest_sweeps_stale_folders_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neighbourhood.ingest import ingest_bytes
    from neighbourhood.store import Store

    stale = tmp_path / f"neighbourhood-ingest-{_dead_pid()}@{safe_io._host()}-q1w2e3"
    stale.mkdir()
    (stale / "rows-00000.parquet").write_bytes(b"case rows")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(FileRefused):  # even a refused file: the sweep comes first
        ingest_bytes(Store(tmp_path / "store"), b"", "cases.csv", "cleansing")
    assert not stale.exists()


def test_temp_folder_is_removed_on_failure_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(RuntimeError), safe_io.private_temp_dir():
        raise RuntimeError("a slice was refused")
    assert list(tmp_path.iterdir()) == []


def test_stale_duckdb_spill_folder_is_removed_when_a_writer_holds_the_lock(
    tmp_path: Path,
) -> None:
    from neighbourhood.store import Store

    store = Store(tmp_path / "store")
    store.initialise()
    spill = Path(str(store.db_path) + ".tmp")
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"\0" * 4096)
    with store.read() as con:  # a reader never removes it (others may be writing)
        con.execute("SELECT 1").fetchall()
    assert spill.exists()
    with store.writing():
        con = store._connect(read_only=False)
        con.close()
    assert not spill.exists()


def test_numbers_too_big_for_a_column_are_row_rejects_not_exceptions() -> None:
    data = (
        HEADER
        + b"E05900001,1e20,2024\n"
        + b"E05900002,1e309,2024\n"
        + b"E05900003,99999999999999999999999,2024\n"
        + b"E05900004,1000001,2024\n"
        + b"E05900005,1000000,2024\n"
    )
    ex = read_extract(data, "population.csv", "population")
    assert ex.frame["ward_code"].tolist() == ["E05900005"]
    rules = ex.rejects.set_index("source_line")["rule"].to_dict()
    assert rules == {
        2: "E_OUT_OF_RANGE",
        3: "E_OUT_OF_RANGE",
        4: "E_OUT_OF_RANGE",
        5: "E_OUT_OF_RANGE",
    }
    assert "at most 1,000,000" in ex.rejects["message"].iloc[0]


@pytest.mark.parametrize(
    "kind, header, row, column",
    [
        (
            "cleansing",
            "Case ID,Date Received,Request Type,Cost",
            "C{i},05/03/2024,Litter,{v}",
            "cost_gbp",
        ),
        (
            "enforcement",
            "Case ID,Date Issued,Action,Amount",
            "E{i},05/03/2024,FPN,{v}",
            "amount_gbp",
        ),
        (
            "spend",
            "Ward Code,Period Start,Programme,Service,Amount",
            "E0590000{i},01/04/2024,Clean,cleansing,{v}",
            "amount_gbp",
        ),
    ],
)
def test_money_overflow_is_out_of_range_in_every_kind(
    kind: str, header: str, row: str, column: str
) -> None:
    values = ["1e300", "1e309", "99999999999999999999999999", "2000000000", "125.50"]
    lines = [header] + [row.format(i=i, v=v) for i, v in enumerate(values)]
    ex = read_extract(
        ("\n".join(lines) + "\n").encode(), f"{kind}.csv", kind, ReadOptions(bounds=None)
    )
    out = ex.rejects[ex.rejects["column"] == column]
    assert out.set_index("source_line")["rule"].to_dict() == {
        2: "E_OUT_OF_RANGE",
        3: "E_OUT_OF_RANGE",
        4: "E_OUT_OF_RANGE",
        5: "E_OUT_OF_RANGE",
    }
    assert ex.frame[column].tolist() == [125.5]
    assert loaders.RULES["E_OUT_OF_RANGE"]
