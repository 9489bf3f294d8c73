"""The hostile-input corpus of issue #15: files built to attack ``python -m neighbourhood ingest``.

Every entry is written by :func:`generate` into a folder (nothing large is checked in) and says
what must happen when it is ingested into a copy of the demo store (26 fictional wards):

* **refused** (``refused=CODE``): exit 2, the one-line JSON summary last with that code, no
  traceback, and the store folder byte-identical; or
* **loaded** (``accepted=N, rejected=M``): exit 0 with those counts.

``hides`` lists strings that must appear nowhere in what the command prints (the content of a
file the input pointed at). ``awaits`` names the helper branch whose fix the entry needs (``geo``:
VRT, network, CRS and NaN-coordinate defences in ``neighbourhood/geo.py``).

Run ``python tests/hostile_corpus.py OUT_DIR`` to write the files for a manual look; the test is
``tests/test_hostile_corpus.py``. Row builders are shared with ``tests/test_bad_input.py``.
"""

from __future__ import annotations

import gzip
import io
import json
import lzma
import os
import socket
import sqlite3
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from test_bad_input import (  # noqa: E402 (the tests folder is put on the path first)
    HEADER,
    LAT,
    LON,
    geojson,
    good,
    square,
    table,
    ward_feature,
    zip_with_declared_size,
    zipped,
)

SECRET = "SECRET-WARD-Q7X"
"""A ward name in a local CSV that hostile boundary files point at: it must never come back."""


@dataclass(frozen=True)
class Entry:
    """One corpus file and what must happen to it."""

    name: str
    kind: str
    make: Callable[[Path, dict[str, Any]], Path]
    refused: str | None = None  # the FileRefused code (exit 2)
    accepted: int | None = None  # rows stored (exit 0)
    rejected: int | None = None
    hides: tuple[str, ...] = ()
    awaits: str | None = None
    network: bool = False  # must never reach the loopback server
    either: bool = False  # refused, or loaded with a warning (a CRS corrected as BNG is)


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------


def rows(n: int, **over: str) -> list[dict[str, str]]:
    """``n`` valid cleansing rows (ids HC-0…) inside demo ward E05900006."""
    return [good(i, Case_ID=f"HC-{i}", **over) for i in range(n)]


def csv_rows(n: int, first: int = 0) -> bytes:
    return table([good(i, Case_ID=f"HC-{i}") for i in range(first, first + n)])


def body(data: bytes) -> bytes:
    """The rows of a CSV without its header line."""
    return data.split(b"\n", 1)[1]


def file(name: str, build: Callable[[], bytes]) -> Callable[[Path, dict[str, Any]], Path]:
    def make(folder: Path, ctx: dict[str, Any]) -> Path:
        path = folder / name
        path.write_bytes(build())
        return path

    return make


def zeros_gzip(n_bytes: int, members: int) -> bytes:
    member = gzip.compress(b"\0" * (n_bytes // members), compresslevel=9)
    return member * members


def csv_bomb_gzip() -> bytes:
    """A valid header then the same valid row ~25 million times (about 2.5 GB), multi-member."""
    head = table([]) + body(csv_rows(1))
    block = body(csv_rows(1)) * 400_000
    return gzip.compress(head) + gzip.compress(block, compresslevel=9) * 64


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buf.getvalue()


def with_flag(data: bytes, flag: int) -> bytes:
    """A zip with a general-purpose flag bit set on its member (bit 0: encrypted)."""
    raw = bytearray(data)
    local, central = raw.find(b"PK\x03\x04"), raw.find(b"PK\x01\x02")
    for at in (local + 6, central + 8):
        (old,) = struct.unpack("<H", raw[at : at + 2])
        raw[at : at + 2] = struct.pack("<H", old | flag)
    return bytes(raw)


def with_method(data: bytes, method: int) -> bytes:
    raw = bytearray(data)
    local, central = raw.find(b"PK\x03\x04"), raw.find(b"PK\x01\x02")
    raw[local + 8 : local + 10] = struct.pack("<H", method)
    raw[central + 10 : central + 12] = struct.pack("<H", method)
    return bytes(raw)


def symlink_member_zip(target: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        info = zipfile.ZipInfo("cases.csv")
        info.external_attr = (0o120777 << 16) | 0  # a Unix symbolic link
        archive.writestr(info, target)
    return buf.getvalue()


def nested(depth: int) -> bytes:
    data = csv_rows(2)
    for level in range(depth):
        data = zip_of({f"layer{level}.csv": data}) if level % 2 else gzip.compress(data)
    return data


def workbook_bomb() -> bytes:
    return zip_of(
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b" " * (200 * 1024 * 1024),
        }
    )


def workbook(n: int) -> bytes:
    import pandas as pd

    from neighbourhood.export import to_xlsx_bytes

    frame = pd.DataFrame([good(i, Case_ID=f"HC-{i}") for i in range(n)], columns=list(HEADER))
    return to_xlsx_bytes(frame)


def big_two_part_gzip() -> bytes:
    """Part 1 over 16 MiB uncompressed (wide ignored column), part 2 small: hung on main."""
    header = b"Case ID,Date Received,Request Type,Latitude,Longitude,Padding\n"
    pad = "p" * 900
    line = "HC-{i},05/03/2024 10:00,Litter," + LAT + "," + LON + "," + pad + "\n"
    part1 = header + "".join(line.format(i=i) for i in range(18_700)).encode()
    part2 = "".join(line.format(i=i) for i in range(18_700, 18_710)).encode()
    assert len(part1) > 16 * 1024 * 1024
    return gzip.compress(part1, compresslevel=1) + gzip.compress(part2)


def population(values: list[str], header: str = "Ward Code,Population,Year") -> bytes:
    lines = [header] + [f"E059000{i + 1:02d},{v},2024" for i, v in enumerate(values)]
    return ("\n".join(lines) + "\n").encode()


def population_years(years: list[str]) -> bytes:
    lines = ["Ward Code,Population,Year"] + [
        f"E059000{i + 1:02d},5000,{y}" for i, y in enumerate(years)
    ]
    return ("\n".join(lines) + "\n").encode()


def enforcement(amounts: list[str]) -> bytes:
    lines = ["Case ID,Date Issued,Offence,Action,Amount,Latitude,Longitude"] + [
        f"HE-{i},05/03/2024,Fly tipping,FPN,{a},{LAT},{LON}" for i, a in enumerate(amounts)
    ]
    return ("\n".join(lines) + "\n").encode()


def spend(amounts: list[str]) -> bytes:
    lines = ["Ward Code,Period Start,Programme,Service,Amount"] + [
        f"E0590000{i + 1},01/0{i % 9 + 1}/2024,Clean Streets,cleansing,{a}"
        for i, a in enumerate(amounts)
    ]
    return ("\n".join(lines) + "\n").encode()


def wards_squares(n: int = 3) -> list[dict[str, Any]]:
    return [
        ward_feature(f"E0599000{i + 1}", f"Corpus {i + 1}", square(-3.0 + 0.05 * i, 53.40, 0.05))
        for i in range(n)
    ]


def geojson_text(text: str) -> Callable[[], bytes]:
    return lambda: text.encode()


def raw_polygon_geojson(ring: str) -> str:
    return (
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
        '{"WD23CD":"E05990001","WD23NM":"Bad"},"geometry":{"type":"Polygon","coordinates":'
        f"[{ring}]}}}},"
        '{"type":"Feature","properties":{"WD23CD":"E05990002","WD23NM":"Fine"},"geometry":'
        '{"type":"Polygon","coordinates":[[[-2.9,53.4],[-2.85,53.4],[-2.85,53.45],[-2.9,53.45],'
        "[-2.9,53.4]]]}}]}"
    )


def secret_csv(folder: Path) -> Path:
    """A local CSV of 'wards' (WKT polygons) that hostile VRT files point at."""
    path = folder / "secret-wards.csv"
    path.write_text(
        "WD23CD,WD23NM,WKT\n"
        f'E05990001,{SECRET},"POLYGON((-3 53.4,-2.95 53.4,-2.95 53.45,-3 53.45,-3 53.4))"\n'
    )
    return path


def vrt(source: str) -> str:
    return (
        "<OGRVRTDataSource><OGRVRTLayer name='wards'>"
        f"<SrcDataSource>{source}</SrcDataSource><SrcLayer>secret-wards</SrcLayer>"
        "<GeometryType>wkbPolygon</GeometryType>"
        "<GeometryField encoding='WKT' field='WKT'/>"
        "</OGRVRTLayer></OGRVRTDataSource>"
    )


def vrt_file(name: str, url: bool, in_zip: bool) -> Callable[[Path, dict[str, Any]], Path]:
    def make(folder: Path, ctx: dict[str, Any]) -> Path:
        local = secret_csv(folder)
        stem = Path(name).stem.split(".")[0]
        source = f"/vsicurl/{ctx['url']}/{stem}/secret-wards.csv" if url else f"CSV:{local}"
        text = vrt(source).encode()
        path = folder / name
        path.write_bytes(zip_of({"wards.gml": text}) if in_zip else text)
        return path

    return make


def gpkg(folder: Path, name: str, layers: dict[str, Any]) -> Path:
    path = folder / name
    for layer, frame in layers.items():
        frame.to_file(path, layer=layer, driver="GPKG")
    return path


def gpkg_entry(kind_of: str) -> Callable[[Path, dict[str, Any]], Path]:
    def make(folder: Path, ctx: dict[str, Any]) -> Path:
        import geopandas as gpd
        import shapely

        polys = gpd.GeoDataFrame(
            {"WD23CD": ["E05990001", "E05990002"], "WD23NM": ["North", "South"]},
            geometry=[
                shapely.box(-3.0, 53.40, -2.95, 53.45),
                shapely.box(-2.95, 53.40, -2.9, 53.45),
            ],
            crs="EPSG:4326",
        )
        points = gpd.GeoDataFrame(
            {"WD23CD": ["E05990001"]}, geometry=[shapely.Point(-2.97, 53.42)], crs="EPSG:4326"
        )
        name = f"{kind_of}.gpkg"
        if kind_of == "gpkg_points_only":
            return gpkg(folder, name, {"points": points})
        if kind_of == "gpkg_two_layers":
            return gpkg(folder, name, {"wards": polys, "points": points})
        if kind_of == "gpkg_no_features":
            return gpkg(folder, name, {"wards": polys.iloc[:0]})
        path = gpkg(folder, name, {"wards": polys})
        if kind_of == "gpkg_truncated":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 3])
        elif kind_of == "gpkg_lies_epsg3857_degrees":
            with sqlite3.connect(path) as con:
                con.execute("UPDATE gpkg_geometry_columns SET srs_id = 3857")
                con.execute("UPDATE gpkg_contents SET srs_id = 3857")
                if not con.execute(
                    "SELECT 1 FROM gpkg_spatial_ref_sys WHERE srs_id=3857"
                ).fetchone():
                    con.execute(
                        "INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 / Pseudo-Mercator', "
                        "3857, 'EPSG', 3857, 'undefined', NULL)"
                    )
        return path

    return make


def sqlite_not_gpkg(folder: Path, ctx: dict[str, Any]) -> Path:
    path = folder / "not-a-gpkg.gpkg"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (a TEXT)")
        con.execute("INSERT INTO t VALUES ('root:x:0:0')")
    return path


def fifo(name: str) -> Callable[[Path, dict[str, Any]], Path]:
    def make(folder: Path, ctx: dict[str, Any]) -> Path:
        path = folder / name
        os.mkfifo(path)
        return path

    return make


def link(name: str, target: str | Callable[[Path], Path]) -> Callable[[Path, dict[str, Any]], Path]:
    def make(folder: Path, ctx: dict[str, Any]) -> Path:
        path = folder / name
        to = target(folder) if callable(target) else target
        path.symlink_to(to)
        return path

    return make


def a_valid_csv(folder: Path) -> Path:
    path = folder / "real-cases.csv"
    path.write_bytes(csv_rows(2))
    return path


def unix_socket(folder: Path, ctx: dict[str, Any]) -> Path:
    path = folder / "sock.csv"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    ctx.setdefault("keep", []).append(sock)  # closed by the caller
    return path


def folder_input(folder: Path, ctx: dict[str, Any]) -> Path:
    path = folder / "a-folder.csv"
    path.mkdir()
    (path / "cases.csv").write_bytes(csv_rows(2))
    return path


def given(path: str) -> Callable[[Path, dict[str, Any]], Path]:
    return lambda folder, ctx: Path(path)


def deep_json(depth: int) -> bytes:
    return (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"WD23CD":'
        b'"E05990001"},"geometry":{"type":"Polygon","coordinates":'
        + b"[" * depth
        + b"]" * depth
        + b"}}]}"
    )


# --------------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------------

PASSWD_LINE = "root:x:0:0"

ENTRIES: list[Entry] = [
    # ---- gzip -------------------------------------------------------------------------------
    Entry(
        "gzip_two_members_small",
        "cleansing",
        file(
            "cases.csv.gz", lambda: gzip.compress(csv_rows(3)) + gzip.compress(body(csv_rows(2, 3)))
        ),
        accepted=5,
        rejected=0,
    ),
    Entry(
        "gzip_three_members_one_empty",
        "cleansing",
        file(
            "cases.csv.gz",
            lambda: (
                gzip.compress(csv_rows(2))
                + gzip.compress(b"")
                + gzip.compress(body(csv_rows(1, 2)))
            ),
        ),
        accepted=3,
        rejected=0,
    ),
    Entry(
        "gzip_member_per_row",
        "cleansing",
        file(
            "cases.csv.gz",
            lambda: (
                gzip.compress(table([]))
                + b"".join(gzip.compress(body(csv_rows(1, i))) for i in range(40))
            ),
        ),
        accepted=40,
        rejected=0,
    ),
    Entry(
        "gzip_first_member_over_16mib",
        "cleansing",
        file("big.csv.gz", big_two_part_gzip),
        accepted=18_710,
        rejected=0,
    ),
    Entry(
        "gzip_trailing_garbage",
        "cleansing",
        file("cases.csv.gz", lambda: gzip.compress(csv_rows(3)) + b"<html>not gzip</html>"),
        refused="F_MALFORMED",
    ),
    Entry(
        "gzip_then_a_zip_appended",
        "cleansing",
        file("cases.csv.gz", lambda: gzip.compress(csv_rows(3)) + zipped("x.csv", csv_rows(1))),
        refused="F_MALFORMED",
    ),
    Entry(
        "gzip_zero_padding_accepted",
        "cleansing",
        file("cases.csv.gz", lambda: gzip.compress(csv_rows(3)) + b"\0" * 1024),
        accepted=3,
        rejected=0,
    ),
    Entry(
        "gzip_truncated",
        "cleansing",
        file("cases.csv.gz", lambda: gzip.compress(csv_rows(300))[:-40]),
        refused="F_MALFORMED",
    ),
    Entry(
        "gzip_corrupt_deflate",
        "cleansing",
        file(
            "cases.csv.gz",
            lambda: (lambda d: d[:20] + b"\xff" * 64 + d[84:])(gzip.compress(csv_rows(300))),
        ),
        refused="F_MALFORMED",
    ),
    Entry(
        "gzip_bomb_3gib_zeros_48_members",
        "cleansing",
        file("cases.csv.gz", lambda: zeros_gzip(3 * 1024**3, 48)),
        refused="F_TOO_LARGE",
    ),
    Entry(
        "gzip_bomb_valid_rows_2_5gb",
        "cleansing",
        file("cases.csv.gz", csv_bomb_gzip),
        refused="F_TOO_LARGE",
    ),
    Entry(
        "gzip_bomb_inside_gzip",
        "cleansing",
        file("cases.csv.gz.gz", lambda: gzip.compress(zeros_gzip(1024**3, 16))),
        refused="F_TOO_LARGE",
    ),
    Entry(
        "gzip_header_only_two_bytes",
        "cleansing",
        file("cases.csv.gz", lambda: b"\x1f\x8b"),
        refused="F_MALFORMED",
    ),
    Entry(
        "gzip_bomb_as_population",
        "population",
        file("population.csv.gz", lambda: zeros_gzip(512 * 1024**2, 8)),
        refused="F_TOO_LARGE",
    ),
    # ---- zip and xlsx -----------------------------------------------------------------------
    Entry(
        "zip_bomb_zeros_deflated",
        "cleansing",
        file("cases.zip", lambda: zip_of({"cases.csv": b"\0" * (300 * 1024 * 1024)})),
        refused="F_TOO_LARGE",
    ),
    Entry(
        "zip_declares_4gb",
        "cleansing",
        file("cases.zip", lambda: zip_with_declared_size(csv_rows(3), 0xFFFF_FFF0)),
        refused="F_TOO_LARGE",
    ),
    Entry(
        "zip_header_lies_small",
        "cleansing",
        file("cases.zip", lambda: zip_with_declared_size(csv_rows(300), 100)),
        refused="F_MALFORMED",
    ),
    Entry(
        "zip_nested_four_deep",
        "cleansing",
        file("cases.zip", lambda: nested(4)),
        refused="F_FORMAT",
    ),
    Entry(
        "zip_in_gzip_two_deep_valid",
        "cleansing",
        file("cases.zip.gz", lambda: nested(2)),
        accepted=2,
        rejected=0,
    ),
    Entry(
        "zip_two_data_files",
        "cleansing",
        file("cases.zip", lambda: zip_of({"a.csv": csv_rows(2), "b.csv": csv_rows(2)})),
        refused="F_FORMAT",
    ),
    Entry(
        "zip_member_flagged_encrypted",
        "cleansing",
        file("cases.zip", lambda: with_flag(zip_of({"cases.csv": csv_rows(3)}), 0x1)),
        refused="F_FORMAT",
    ),
    Entry(
        "zip_unknown_compression_method",
        "cleansing",
        file("cases.zip", lambda: with_method(zip_of({"cases.csv": csv_rows(3)}), 97)),
        refused="F_FORMAT",
    ),
    Entry(
        "zip_member_is_a_symlink_to_etc_passwd",
        "cleansing",
        file("cases.zip", lambda: symlink_member_zip("/etc/passwd")),
        refused="F_MISSING_COLUMNS",
        hides=(PASSWD_LINE,),
    ),
    Entry(
        "zip_member_name_traverses_paths",
        "cleansing",
        file("cases.zip", lambda: zip_of({"../../../../tmp/evil.csv": csv_rows(2)})),
        accepted=2,
        rejected=0,
    ),
    Entry(
        "xlsx_part_expands_like_a_bomb",
        "cleansing",
        file("cases.xlsx", workbook_bomb),
        refused="F_TOO_LARGE",
    ),
    Entry(
        "xlsx_valid", "cleansing", file("cases.xlsx", lambda: workbook(3)), accepted=3, rejected=0
    ),
    Entry(
        "xz_compressed_csv",
        "cleansing",
        file("cases.csv.xz", lambda: lzma.compress(csv_rows(3))),
        refused="F_BINARY",
    ),
    Entry(
        "raw_deflate_no_header",
        "cleansing",
        file("cases.csv.gz", lambda: zlib.compress(csv_rows(3))[2:-4]),
        refused="F_ENCODING",
    ),
    # ---- paths ------------------------------------------------------------------------------
    Entry("fifo_as_input", "cleansing", fifo("cases.csv"), refused="F_UNREADABLE"),
    Entry("fifo_as_boundary_file", "wards", fifo("wards.geojson"), refused="F_UNREADABLE"),
    Entry("dev_zero_given_directly", "cleansing", given("/dev/zero"), refused="F_UNREADABLE"),
    Entry(
        "symlink_to_dev_zero", "cleansing", link("zero.csv", "/dev/zero"), refused="F_UNREADABLE"
    ),
    Entry(
        "symlink_to_etc_passwd",
        "cleansing",
        link("passwd.csv", "/etc/passwd"),
        refused="F_UNREADABLE",
        hides=(PASSWD_LINE, "/etc/passwd"),
    ),
    Entry(
        "symlink_to_etc_passwd_as_wards",
        "wards",
        link("wards.geojson", "/etc/passwd"),
        refused="F_UNREADABLE",
        hides=(PASSWD_LINE, "/etc/passwd"),
    ),
    Entry(
        "symlink_to_a_valid_csv_refused",
        "cleansing",
        link("latest.csv", a_valid_csv),
        refused="F_UNREADABLE",
        hides=("real-cases.csv",),
    ),
    Entry(
        "dangling_symlink",
        "cleansing",
        link("gone.csv", "/nonexistent/cases.csv"),
        refused="F_UNREADABLE",
    ),
    Entry("folder_as_input", "cleansing", folder_input, refused="F_UNREADABLE"),
    Entry("unix_socket_as_input", "population", unix_socket, refused="F_UNREADABLE"),
    Entry(
        "proc_self_environ",  # a regular file of size 0 that reads as the process's environment
        "cleansing",
        given("/proc/self/environ"),
        refused="F_BINARY",
        hides=("PYTHONPATH=", "HOME="),
    ),
    # ---- text and lines ---------------------------------------------------------------------
    Entry(
        "huge_line_no_newline_30mb",
        "cleansing",
        file("cases.csv", lambda: b"A" * (30 * 1024 * 1024)),
        refused="F_MALFORMED",
    ),
    Entry(
        "huge_field_5mb_in_one_row",
        "cleansing",
        file(
            "cases.csv", lambda: table(rows(2) + [good(9, Case_ID="HC-9", Street="S" * 5_000_000)])
        ),
        accepted=2,
        rejected=1,
    ),
    Entry(
        "header_of_100k_columns",
        "cleansing",
        file("cases.csv", lambda: (",".join(f"c{i}" for i in range(100_000)) + "\n1\n").encode()),
        refused="F_MISSING_COLUMNS",
    ),
    Entry(
        "nul_byte_in_a_cell",
        "cleansing",
        file("cases.csv", lambda: table(rows(2) + [good(5, Case_ID="HC-5", Street="a\0b")])),
        refused="F_BINARY",
    ),
    Entry(
        "only_nul_bytes", "cleansing", file("cases.csv", lambda: b"\0" * 65536), refused="F_BINARY"
    ),
    Entry(
        "formula_cells",
        "cleansing",
        file(
            "cases.csv",
            lambda: table(
                [
                    good(0, Case_ID="HC-0", Request_Type='=HYPERLINK("http://evil.example","x")'),
                    good(1, Case_ID="HC-1", Street="+cmd|' /C calc'!A0"),
                    good(2, Case_ID="=1+1", Street="@SUM(1)"),
                ]
            ),
        ),
        accepted=3,
        rejected=0,
    ),
    Entry(
        "markup_labels",
        "cleansing",
        file(
            "cases.csv",
            lambda: table(
                [
                    good(0, Case_ID="HC-0", Request_Type="<script>alert(1)</script>"),
                    good(
                        1,
                        Case_ID="HC-1",
                        Street="[x](http://evil.example) ![i](http://t.example/p.png)",
                    ),
                    good(2, Case_ID="HC-2", Street="**bold** <img src=x onerror=alert(1)>"),
                ]
            ),
        ),
        accepted=3,
        rejected=0,
    ),
    Entry(
        "bidi_and_zero_width_in_labels",
        "cleansing",
        file(
            "cases.csv",
            lambda: table([good(0, Case_ID="HC-\u202e0", Street="Sch\u200bool \u2066Way\u2069")]),
        ),
        accepted=1,
        rejected=0,
    ),
    # ---- numbers ----------------------------------------------------------------------------
    Entry(
        "population_1e20_and_1e309",
        "population",
        file("population.csv", lambda: population(["1e20", "1e309", "5000"])),
        accepted=1,
        rejected=2,
    ),
    Entry(
        "population_huge_integer",
        "population",
        file("population.csv", lambda: population(["99999999999999999999999999999", "5000"])),
        accepted=1,
        rejected=1,
    ),
    Entry(
        "population_nan_inf",
        "population",
        file("population.csv", lambda: population(["nan", "inf", "-inf", "5000"])),
        accepted=1,
        rejected=3,
    ),
    Entry(
        "population_year_overflow",
        "population",
        file("population.csv", lambda: population_years(["1e309", "99999999999", "2024"])),
        accepted=1,
        rejected=2,
    ),
    Entry(
        "cleansing_cost_overflow",
        "cleansing",
        file(
            "cases.csv",
            lambda: table(
                [
                    good(0, Case_ID="HC-0", Cost="1e309"),
                    good(1, Case_ID="HC-1", Cost="1e300"),
                    good(2, Case_ID="HC-2", Cost="123456789012345678901234567890"),
                    good(3, Case_ID="HC-3", Cost="12.50"),
                ]
            ),
        ),
        accepted=1,
        rejected=3,
    ),
    Entry(
        "enforcement_amount_overflow",
        "enforcement",
        file("enforcement.csv", lambda: enforcement(["1e309", "1e20", "100"])),
        accepted=1,
        rejected=2,
    ),
    Entry(
        "spend_amount_overflow",
        "spend",
        file("spend.csv", lambda: spend(["1.7e308", "1.7e308", "1e309", "2500"])),
        accepted=1,
        rejected=3,
    ),
    Entry(
        "coordinates_nan_inf_overflow",
        "cleansing",
        file(
            "cases.csv",
            lambda: table(
                [
                    good(0, Case_ID="HC-0", Latitude="nan"),
                    good(1, Case_ID="HC-1", Longitude="inf"),
                    good(2, Case_ID="HC-2", Latitude="1e309"),
                    good(3, Case_ID="HC-3", Longitude="-1e400"),
                    good(4, Case_ID="HC-4"),
                ]
            ),
        ),
        accepted=1,
        rejected=4,
    ),
    Entry(
        "easting_northing_overflow",
        "cleansing",
        file(
            "cases.csv",
            lambda: (
                b"Case ID,Date Received,Request Type,Easting,Northing\n"
                b"HC-0,05/03/2024,Litter,1e309,390000\n"
                b"HC-1,05/03/2024,Litter,334000,99999999999999999999999\n"
                b"HC-2,05/03/2024,Litter,inf,nan\n"
            ),
        ),
        accepted=0,
        rejected=3,
    ),
    Entry(
        "dates_with_absurd_years",
        "cleansing",
        file(
            "cases.csv",
            lambda: table(
                [
                    good(0, Case_ID="HC-0", Date_Received="05/03/99999 10:00", Date_Closed=""),
                    good(1, Case_ID="HC-1", Date_Closed="06/03/275760 11:00"),
                    good(2, Case_ID="HC-2"),
                ]
            ),
        ),
        accepted=2,  # a closed date out of range is blanked with a warning (row policy)
        rejected=1,
    ),
    # ---- boundary files (geo) ---------------------------------------------------------------
    Entry(
        "geojson_nan_coordinates",
        "wards",
        file(
            "wards.geojson",
            geojson_text(raw_polygon_geojson("[[-3,53.4],[NaN,53.4],[-2.95,53.45],[-3,53.4]]")),
        ),
        refused="F_BOUNDARY_",
    ),
    Entry(
        "geojson_infinity_coordinates",
        "wards",
        file(
            "wards.geojson",
            geojson_text(
                raw_polygon_geojson("[[-3,53.4],[Infinity,53.4],[-2.95,-Infinity],[-3,53.4]]")
            ),
        ),
        refused="F_BOUNDARY_",
    ),
    Entry(
        "geojson_1e309_coordinates",
        "wards",
        file(
            "wards.geojson",
            geojson_text(raw_polygon_geojson("[[-3,53.4],[1e309,53.4],[-2.95,53.45],[-3,53.4]]")),
        ),
        refused="F_BOUNDARY_",
    ),
    Entry(
        "geojson_nested_100k_deep",
        "wards",
        file("wards.geojson", lambda: deep_json(100_000)),
        refused="F_BOUNDARY_",
    ),
    Entry(
        "vrt_disguised_as_geojson_local_csv",
        "wards",
        vrt_file("wards.geojson", url=False, in_zip=False),
        refused="F_BOUNDARY_",
        hides=(SECRET,),
    ),
    Entry(
        "vrt_disguised_as_geojson_loopback_url",
        "wards",
        vrt_file("url1.geojson", url=True, in_zip=False),
        refused="F_BOUNDARY_",
        hides=(SECRET,),
        network=True,
    ),
    Entry(
        "vrt_as_gml_in_zip_local_csv",
        "wards",
        vrt_file("wards.zip", url=False, in_zip=True),
        refused="F_BOUNDARY_",
        hides=(SECRET,),
    ),
    Entry(
        "vrt_as_gml_in_zip_loopback_url",
        "wards",
        vrt_file("url2.zip", url=True, in_zip=True),
        refused="F_BOUNDARY_",
        hides=(SECRET,),
        network=True,
    ),
    Entry(
        "geojson_claims_epsg3857_with_degrees",
        "wards",
        file("wards.geojson", lambda: geojson(wards_squares(), crs="urn:ogc:def:crs:EPSG::3857")),
        either=True,
    ),
    Entry(
        "gpkg_points_only",
        "wards",
        gpkg_entry("gpkg_points_only"),
        refused="F_BOUNDARY_NO_POLYGONS",
    ),
    Entry(
        "gpkg_two_layers_reads_the_polygons",
        "wards",
        gpkg_entry("gpkg_two_layers"),
        accepted=2,
        rejected=0,
    ),
    Entry("gpkg_no_features", "wards", gpkg_entry("gpkg_no_features"), refused="F_BOUNDARY_EMPTY"),
    Entry("gpkg_truncated", "wards", gpkg_entry("gpkg_truncated"), refused="F_BOUNDARY_"),
    Entry(
        "gpkg_claims_epsg3857_with_degrees",
        "wards",
        gpkg_entry("gpkg_lies_epsg3857_degrees"),
        either=True,
    ),
    Entry(
        "sqlite_that_is_not_a_gpkg",
        "wards",
        sqlite_not_gpkg,
        refused="F_BOUNDARY_",
        hides=(PASSWD_LINE, "neighbourhood-wards-"),  # GDAL's warning named a server temp path
    ),
    Entry(
        "csv_given_as_wards",
        "wards",
        file("wards.geojson", lambda: csv_rows(2)),
        refused="F_BOUNDARY_UNREADABLE",
    ),
]


def generate(folder: Path, ctx: dict[str, Any]) -> list[tuple[Entry, Path]]:
    """Write every entry's file into its own subfolder of ``folder``.

    Parameters
    ----------
    folder : Path
        An empty folder.
    ctx : dict
        ``url``: the loopback server's base URL (``http://127.0.0.1:PORT``); the builders add
        ``keep`` (sockets to close afterwards).

    Returns
    -------
    list of (Entry, Path)
    """
    out = []
    for entry in ENTRIES:
        sub = folder / entry.name
        sub.mkdir(parents=True)
        out.append((entry, entry.make(sub, ctx)))
    return out


if __name__ == "__main__":
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    dest.mkdir(parents=True, exist_ok=True)
    made = generate(dest, {"url": "http://127.0.0.1:9"})
    manifest = [
        {
            "name": e.name,
            "kind": e.kind,
            "path": str(p),
            "refused": e.refused,
            "accepted": e.accepted,
            "rejected": e.rejected,
            "awaits": e.awaits,
        }
        for e, p in made
    ]
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"{len(made)} files written to {dest}")
