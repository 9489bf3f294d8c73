"""Bad-input corpus (issue #7): malformed and hostile extracts, each named for what is wrong.

Every case is written by the test itself (no fixture files), then run through
:func:`neighbourhood.ingest.ingest_bytes` into a copy of a demo store (26 fictional wards, 2,000
cases). A case is either

* **refused**: ``FileRefused`` with a stable code and a message that names the problem, and
  every file of the store folder is byte-identical afterwards; or
* **accepted**: the expected reject rows ``(source_line, column, rule)`` are reported, and no row
  that was rejected with ``severity == "error"`` is in the stored tables.

Case ids in the corpus start with ``BI-`` so that they never collide with the demo data.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import shutil
import struct
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from neighbourhood.export import to_csv_bytes, to_xlsx_bytes
from neighbourhood.ingest import FileRefused, IngestResult, ReadOptions, ingest_bytes
from neighbourhood.store import Store

# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------

HEADER = (
    "Case ID",
    "Date Received",
    "Date Closed",
    "Request Type",
    "Status",
    "Latitude",
    "Longitude",
    "Street",
    "Cost",
)
# A point inside the demo ward Copperhythe (E05900006).
LAT, LON = "53.418611", "-2.99228"
WARD_AT_POINT = "E05900006"


def good(i: int, **over: str) -> dict[str, str]:
    """One valid cleansing row; keyword arguments override cells by header name."""
    row = {
        "Case ID": f"BI-{i}",
        "Date Received": "05/03/2024 10:00",
        "Date Closed": "06/03/2024 11:00",
        "Request Type": "Fly tipping",
        "Status": "Closed",
        "Latitude": LAT,
        "Longitude": LON,
        "Street": "School Way",
        "Cost": "12.50",
    }
    for key, value in over.items():
        row[key.replace("_", " ")] = value
    return row


def table(
    rows: list[dict[str, str]],
    header: tuple[str, ...] = HEADER,
    *,
    sep: str = ",",
    newline: str = "\n",
    encoding: str = "utf-8",
) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator=newline)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return buf.getvalue().encode(encoding)


def rows_with(n: int = 3, at: int = 2, **over: str) -> bytes:
    """``n`` valid rows (lines 2..n+1) where the row on file line ``at`` gets ``over``."""
    return table([good(i, **over) if i + 2 == at else good(i) for i in range(n)])


def zipped(name: str, payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, payload)
    return buf.getvalue()


def zip_with_declared_size(payload: bytes, declared: int) -> bytes:
    """A zip whose headers lie about the member's uncompressed size."""
    raw = bytearray(zipped("cases.csv", payload))
    local = raw.find(b"PK\x03\x04")
    central = raw.find(b"PK\x01\x02")
    raw[local + 22 : local + 26] = struct.pack("<I", declared)
    raw[central + 24 : central + 28] = struct.pack("<I", declared)
    return bytes(raw)


def corrupt_zip() -> bytes:
    raw = bytearray(zipped("cases.csv", rows_with(200)))
    start = raw.find(b"cases.csv") + len("cases.csv") + 8
    raw[start : start + 48] = b"\xff" * 48
    return bytes(raw)


def corrupt_gzip() -> bytes:
    data = gzip.compress(rows_with(200))
    return data[:20] + b"\xff" * 64 + data[84:]


def geojson(features: list[dict[str, Any]], crs: str | None = None) -> bytes:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc).encode()


def ward_feature(code: str, name: str, ring: list[list[float]]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"WD23CD": code, "WD23NM": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def square(x: float, y: float, d: float) -> list[list[float]]:
    return [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]


def self_intersecting_wards() -> bytes:
    bowtie = [[-3.0, 53.40], [-2.95, 53.45], [-2.95, 53.40], [-3.0, 53.45], [-3.0, 53.40]]
    return geojson(
        [
            ward_feature("E05990001", "Bowtie", bowtie),
            ward_feature("E05990002", "Square", square(-2.94, 53.40, 0.05)),
        ]
    )


def zero_area_wards() -> bytes:
    line = [[-3.0, 53.40], [-2.95, 53.40], [-2.95, 53.40], [-3.0, 53.40]]  # a ring with no area
    return geojson(
        [
            ward_feature("E05990001", "Flat", line),
            ward_feature("E05990002", "Square", square(-2.94, 53.40, 0.05)),
        ]
    )


def prj_lies_shapefile() -> bytes:
    """A zipped Shapefile in British National Grid metres whose .prj says WGS84."""
    import geopandas as gpd
    import shapely

    with_bng = gpd.GeoDataFrame(
        {"WD23CD": ["E05990001", "E05990002"], "WD23NM": ["West", "East"]},
        geometry=[
            shapely.box(333000, 390000, 334500, 393000),
            shapely.box(334500, 390000, 336000, 393000),
        ],
        crs="EPSG:4326",  # the lie
    )
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wards.shp"
        with_bng.to_file(path, driver="ESRI Shapefile")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(tmp).iterdir()):
                archive.write(part, part.name)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------------

Reject = tuple[int, str, str]  # (source_line, column, rule)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], bytes]
    file_name: str = "cases.csv"
    kind: str = "cleansing"
    refused: str | None = None  # FileRefused.code
    says: tuple[str, ...] = ()  # substrings of the refusal message, or of the reject messages
    rejects: tuple[Reject, ...] = ()  # reject rows expected (errors and warnings)
    accepted: int | None = None  # rows expected to be stored by this ingest
    options: ReadOptions | None = None
    marks: tuple[Any, ...] = field(default=())


CASES: list[Case] = [
    # ---- whole-file refusals ---------------------------------------------------------------
    Case("empty_file", lambda: b"", refused="F_EMPTY", says=("cases.csv is empty",)),
    Case("whitespace_only", lambda: b" \r\n\t\n\n", refused="F_EMPTY", says=("empty",)),
    Case(
        "header_only",
        lambda: table([]),
        refused="F_NO_ROWS",
        says=("header but no data rows",),
    ),
    Case(
        "header_then_blank_lines",
        lambda: table([]) + b"\n\n,,,,,,,,\n",
        refused="F_NO_ROWS",
        says=("header but no data rows",),
    ),
    Case(
        "binary_noise_named_csv",
        lambda: bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8)),
        refused="F_BINARY",
        says=("binary",),
    ),
    Case(
        "zip_bomb_declared_4gb_named_csv",
        lambda: zip_with_declared_size(rows_with(3), 0xFFFF_FFF0),
        refused="F_TOO_LARGE",
        says=("expands to more than 2,147,483,648 bytes",),
    ),
    Case(
        "zip_bomb_named_csv",
        lambda: zipped("cases.csv", b"\0" * (32 * 1024 * 1024)),
        refused="F_TOO_LARGE",
        says=("expands to more than 8,388,608 bytes",),
        options=ReadOptions(max_bytes=8 * 1024 * 1024),
    ),
    Case(
        "gzip_bomb_named_csv",
        lambda: gzip.compress(b"a," * (16 * 1024 * 1024), compresslevel=1),
        file_name="cases.csv.gz",
        refused="F_TOO_LARGE",
        says=("expands to more than 8,388,608 bytes",),
        options=ReadOptions(max_bytes=8 * 1024 * 1024),
    ),
    Case(
        "zip_header_lies_small",
        lambda: zip_with_declared_size(rows_with(200), 100),
        refused="F_MALFORMED",
        says=("cases.csv", "corrupt"),
    ),
    Case("zip_corrupt_deflate", corrupt_zip, refused="F_MALFORMED", says=("corrupt",)),
    Case(
        "gzip_corrupt_deflate",
        corrupt_gzip,
        file_name="cases.csv.gz",
        refused="F_MALFORMED",
        says=(".gz", "corrupt"),
    ),
    Case(
        "zip_with_two_files",
        lambda: _two_member_zip(),
        refused="F_FORMAT",
        says=("exactly one data file (it holds 2)",),
    ),
    Case(
        "old_excel_xls_renamed_csv",
        lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,
        refused="F_FORMAT",
        says=("Old Excel .xls",),
    ),
    Case(
        "pdf_renamed_csv",
        lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        refused="F_FORMAT",
        says=("PDF",),
    ),
    Case(
        "wrong_delimiter_forced",
        lambda: table([good(0)], sep=";"),
        options=ReadOptions(delimiter=","),
        refused="F_MISSING_COLUMNS",
        says=("case_id", "reported_at", "'Case ID;Date Received;"),
    ),
    Case(
        "duplicate_headers",
        lambda: table([good(0)], header=(*HEADER, "Street")),
        refused="F_DUPLICATE_HEADER",
        says=("['Street']",),
    ),
    Case(
        "duplicate_headers_differing_case",
        lambda: table([good(0)], header=(*HEADER[:-1], "COST", "cost")),
        refused="F_DUPLICATE_HEADER",
        says=("cost",),
    ),
    Case(
        "missing_required_date_column",
        lambda: table([good(0)], header=("Case ID", "Request Type", "Latitude", "Longitude")),
        refused="F_MISSING_COLUMNS",
        says=("reported_at", "'Date Received'", "'Case ID', 'Request Type'"),
    ),
    Case(
        "month_first_dates",
        lambda: table(
            [
                good(0, Date_Received="03/05/2024 10:00", Date_Closed=""),
                good(1, Date_Received="03/25/2024 10:00", Date_Closed=""),
            ]
        ),
        refused="F_DATE_MONTHFIRST",
        says=("'reported_at'", "'03/25/2024 10:00'", 'date_format="monthfirst"'),
    ),
    Case(
        "ragged_row_with_extra_fields",
        lambda: rows_with(3) + b"BI-9,05/03/2024,,Litter,Open,,,,,surplus,surplus\n",
        refused="F_MALFORMED",
        says=("line 5 has 11 fields where the header has 9",),
    ),
    Case(
        "unterminated_quote",
        lambda: (
            rows_with(2) + b'BI-9,"05/03/2024,,Litter,Open,,,,\n' + rows_with(1).split(b"\n")[1]
        ),
        refused="F_MALFORMED",
        says=("EOF inside string",),
    ),
    Case(
        "header_field_over_128k",
        lambda: ("X" * 200_000 + "," + ",".join(HEADER) + "\n").encode() + rows_with(1),
        refused="F_MALFORMED",
        says=("header line could not be read",),
    ),
    Case(
        "mixed_encodings_utf8_and_cp1252",
        lambda: (
            table([good(0), good(1, Street="Café Street")])
            + table([good(2, Street="£5 Lane")], encoding="cp1252").split(b"\n", 1)[1]
        ),
        refused="F_ENCODING",
        says=("line 3", "line 4", "CSV UTF-8"),
    ),
    Case(
        "cleansing_file_uploaded_as_population",
        lambda: rows_with(2),
        kind="population",
        refused="F_MISSING_COLUMNS",
        says=("population",),
    ),
    # ---- accepted, with specific reject rows ----------------------------------------------
    Case(
        "utf8_bom",
        lambda: b"\xef\xbb\xbf" + rows_with(2),
        accepted=2,
    ),
    Case(
        "crlf_line_endings",
        lambda: table([good(0), good(1, Date_Received="31/02/2024 10:00")], newline="\r\n"),
        rejects=((3, "reported_at", "E_DATE_FORMAT"),),
        accepted=1,
    ),
    Case(
        "utf16_tab_separated_excel_unicode_text",
        lambda: table([good(0), good(1)], sep="\t").decode().encode("utf-16"),
        file_name="cases.txt",
        accepted=2,
    ),
    Case(
        "semicolon_delimited_sniffed",
        lambda: table([good(0), good(1, Cost="abc")], sep=";"),
        rejects=((3, "cost_gbp", "W_NUMBER"),),
        accepted=2,
    ),
    Case(
        "cp1252_pound_sign",
        lambda: table([good(0, Street="£5 Lane"), good(1)], encoding="cp1252"),
        accepted=2,
    ),
    Case(
        "duplicate_case_ids_within_file",
        lambda: table([good(0, Street="first"), good(1), good(0, Street="second")]),
        rejects=((2, "case_id", "E_DUPLICATE_ID"),),
        says=("the last one in the file was kept",),
        accepted=2,
    ),
    Case(
        "date_in_the_future",
        lambda: rows_with(3, at=3, Date_Received="05/03/2099 10:00", Date_Closed="", Status="Open"),
        rejects=((3, "reported_at", "E_DATE_FUTURE"),),
        accepted=2,
    ),
    Case(
        "date_before_2000",
        lambda: rows_with(3, at=4, Date_Received="31/12/1999 23:59", Date_Closed="", Status="Open"),
        rejects=((4, "reported_at", "E_DATE_TOO_OLD"),),
        accepted=2,
    ),
    Case(
        "impossible_date_31_february",
        lambda: rows_with(3, at=2, Date_Received="31/02/2024 10:00"),
        rejects=((2, "reported_at", "E_DATE_FORMAT"),),
        says=("%d/%m/%Y %H:%M",),
        accepted=2,
    ),
    Case(
        "closed_before_reported",
        lambda: rows_with(3, at=3, Date_Closed="04/03/2024 09:00"),
        rejects=((3, "closed_at", "W_DATE_ORDER"),),
        says=("closed_at is days before reported_at",),
        accepted=3,
    ),
    Case(
        "non_numeric_cost",
        lambda: rows_with(3, at=2, Cost="twelve pounds"),
        rejects=((2, "cost_gbp", "W_NUMBER"),),
        says=("cost_gbp is not an amount in pounds",),
        accepted=3,
    ),
    Case(
        "negative_cost",
        lambda: rows_with(3, at=3, Cost="-40.00"),
        rejects=((3, "cost_gbp", "W_NEGATIVE"),),
        accepted=3,
    ),
    Case(
        "bracketed_negative_cost",
        lambda: rows_with(3, at=3, Cost="(£40.00)"),
        rejects=((3, "cost_gbp", "W_NEGATIVE"),),
        accepted=3,
    ),
    Case(
        "nan_and_inf_numbers",
        lambda: table(
            [
                good(0, Latitude="nan"),
                good(1, Longitude="inf"),
                good(2, Cost="-inf"),
                good(3, Cost="1e400"),
                good(4),
            ]
        ),
        rejects=(
            (2, "latitude", "E_COORD_INVALID"),
            (3, "longitude", "E_COORD_INVALID"),
            (4, "cost_gbp", "W_NUMBER"),
            (5, "cost_gbp", "E_OUT_OF_RANGE"),  # 1e400 overflows: too big, not "not a number"
        ),
        accepted=2,
    ),
    Case(
        "coordinates_swapped",
        lambda: rows_with(2, at=3, Latitude=LON, Longitude=LAT),
        rejects=((3, "latitude", "W_COORD_SWAPPED"),),
        accepted=2,
    ),
    Case(
        "outside_the_city_in_london",
        lambda: rows_with(3, at=4, Latitude="51.5007", Longitude="-0.1246"),
        rejects=((4, "latitude/longitude", "E_OUTSIDE_WARDS"),),
        says=("51.5007, -0.1246 is outside every ward",),
        accepted=2,
    ),
    Case(
        "outside_the_uk_null_island",
        lambda: rows_with(3, at=2, Latitude="0", Longitude="0"),
        rejects=((2, "latitude", "E_COORD_RANGE"),),
        accepted=2,
    ),
    Case(
        "only_one_coordinate",
        lambda: rows_with(3, at=2, Longitude=""),
        rejects=((2, "latitude", "E_COORD_INVALID"),),
        accepted=2,
    ),
    Case(
        "blank_case_id_and_total_row",
        lambda: table([good(0), good(1, Case_ID=""), good(2, Case_ID="Grand Total")]),
        rejects=((3, "case_id", "E_REQUIRED"), (4, "case_id", "E_TOTAL_ROW")),
        accepted=1,
    ),
    Case(
        "enormous_field_5mb",
        lambda: rows_with(3, at=3, Street="A" * 5_000_000),
        rejects=((3, "street", "E_TOO_LONG"),),
        says=("street is longer than 1,000 characters",),
        accepted=2,
    ),
    Case(
        "nul_byte_after_the_first_64k",
        lambda: table([good(i) for i in range(800)] + [good(900, Street="Sch\0ool Way")]),
        refused="F_BINARY",
        says=("NUL byte on line 802",),
    ),
    Case(
        "blank_lines_and_newlines_in_quoted_fields",
        lambda: (
            rows_with(1)
            + b"\n\n"
            + b'BI-7,05/03/2024 10:00,,"Fly\ntipping",Open,53.418611,-2.99228,,\n'
            + b"BI-8,05/03/2024 10:00,,Litter,Open,53.418611,-2.99228,,bad\n"
        ),
        rejects=((7, "cost_gbp", "W_NUMBER"),),
        accepted=3,
    ),
    Case(
        "formula_injection_in_text_cells",
        lambda: table(
            [
                good(0, Request_Type='=HYPERLINK("http://evil.example","click")'),
                good(1, Street="+cmd|' /C calc'!A0"),
                good(2, Street="@SUM(1+1)*cmd|' /C calc'!A0"),
                good(3, Case_ID="=1+1"),
                good(4, Case_ID="-2+3", Cost="-5"),
            ]
        ),
        rejects=((2, "category", "W_UNMAPPED_CATEGORY"), (6, "cost_gbp", "W_NEGATIVE")),
        accepted=5,
    ),
    Case(
        "html_and_script_in_labels",
        lambda: table(
            [
                good(0, Request_Type="<script>alert(1)</script>"),
                good(1, Street='<img src=x onerror="alert(1)">'),
                good(2, Street="[click](https://evil.example) ![](https://tracker.example/x.png)"),
            ]
        ),
        rejects=((2, "category", "W_UNMAPPED_CATEGORY"),),
        accepted=3,
    ),
    Case(
        "unicode_confusable_ward_name_cyrillic",
        lambda: table(
            [
                {
                    "Case ID": "BI-1",
                    "Date Received": "05/03/2024",
                    "Request Type": "Litter",
                    "Ward": "Ashgrove",
                },
                {
                    "Case ID": "BI-2",
                    "Date Received": "05/03/2024",
                    "Request Type": "Litter",
                    "Ward": "\u0410shgrove",
                },
                {
                    "Case ID": "BI-3",
                    "Date Received": "05/03/2024",
                    "Request Type": "Litter",
                    "Ward": "\uff21\uff53\uff48\uff47\uff52\uff4f\uff56\uff45",
                },
            ],
            header=("Case ID", "Date Received", "Request Type", "Ward"),
        ),
        rejects=((3, "ward_name", "E_UNKNOWN_WARD"),),
        says=("U+0410 CYRILLIC CAPITAL LETTER A", "never guessed"),
        accepted=2,
    ),
    Case(
        "personal_columns_dropped",
        lambda: table(
            [
                {
                    **good(0),
                    "Reporter Name": "Jane Doe",
                    "Address": "1 Acacia Ave",
                    "Notes": "neighbour at no. 3 again",
                    "Email": "jane@example.org",
                }
            ],
            header=(*HEADER, "Reporter Name", "Address", "Notes", "Email"),
        ),
        accepted=1,
    ),
    Case(
        "path_traversal_in_file_name",
        lambda: rows_with(2),
        file_name="../../../../etc/passwd.csv",
        accepted=2,
    ),
    Case(
        "spend_negative_amount_and_council_code",
        lambda: (
            b"Ward Code,Period Start,Programme,Service,Amount\n"
            b"E05900001,01/04/2024,Clean Streets,cleansing,1000\n"
            b"E05900002,01/04/2024,Clean Streets,cleansing,-250\n"
            b"E08000012,01/04/2024,Clean Streets,cleansing,9999\n"
        ),
        file_name="spend.csv",
        kind="spend",
        rejects=((3, "amount_gbp", "E_NEGATIVE"), (4, "ward_code", "E_TOTAL_ROW")),
        accepted=1,
    ),
    Case(
        "population_density_not_count",
        lambda: b"Ward Code,Population,Year\nE05900001,11430,2024\nE05900002,4512.7,2024\n",
        file_name="population.csv",
        kind="population",
        rejects=((3, "population", "E_NOT_INTEGER"),),
        accepted=1,
    ),
    Case(
        "enforcement_unknown_action",
        lambda: (
            "Case ID,Date Issued,Offence,Action,Latitude,Longitude\n"
            f"BI-E1,05/03/2024,Fly tipping,FPN,{LAT},{LON}\n"
            f"BI-E2,05/03/2024,Fly tipping,Stern look,{LAT},{LON}\n"
        ).encode(),
        file_name="enforcement.csv",
        kind="enforcement",
        rejects=((3, "action", "E_UNKNOWN_VALUE"),),
        accepted=1,
    ),
    # ---- boundary files -------------------------------------------------------------------
    Case(
        "boundary_zero_area_polygon",
        zero_area_wards,
        file_name="wards.geojson",
        kind="wards",
        refused="F_BOUNDARY_INVALID_GEOMETRY",
        says=("Flat (E05990001)", "no area once repaired"),
    ),
    Case(
        "boundary_self_intersecting_polygon_repaired",
        self_intersecting_wards,
        file_name="wards.geojson",
        kind="wards",
        says=("Bowtie (E05990001) was invalid (Self-intersection",),
        accepted=2,
    ),
    Case(
        "boundary_prj_says_wgs84_but_numbers_are_bng",
        prj_lies_shapefile,
        file_name="wards.zip",
        kind="wards",
        says=("fit British National Grid: read as EPSG:27700", ".prj file is probably wrong"),
        accepted=2,
    ),
    Case(
        "boundary_points_not_polygons",
        lambda: json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"WD23CD": "E05990001"},
                        "geometry": {"type": "Point", "coordinates": [-2.99, 53.41]},
                    }
                ],
            }
        ).encode(),
        file_name="wards.geojson",
        kind="wards",
        refused="F_BOUNDARY_NO_POLYGONS",
        says=("no polygons", "Point"),
    ),
    Case(
        "boundary_csv_uploaded_as_wards",
        lambda: rows_with(2),
        file_name="wards.geojson",
        kind="wards",
        refused="F_BOUNDARY_UNREADABLE",
        says=("could not be read",),
    ),
]


def _two_member_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.csv", rows_with(2))
        archive.writestr("b.csv", rows_with(2))
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Fixtures and checks
# --------------------------------------------------------------------------------------------

DATA_TABLES = {
    "cleansing": "cases",
    "enforcement": "enforcement",
    "spend": "spend",
    "population": "population",
    "wards": "wards",
}


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's files loaded as a council's own data, once per session (26 wards, 2,000 cases)."""
    from page_support import demo_files_as_council

    return demo_files_as_council(tmp_path_factory.mktemp("bad-input") / "template", 2000)


@pytest.fixture
def store(demo_template: Path, tmp_path: Path) -> Store:
    dest = tmp_path / "store"
    shutil.copytree(demo_template, dest)
    return Store(dest)


def folder_hash(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def assert_no_rejected_row_stored(store: Store, result: IngestResult) -> None:
    """Error rows are reported and absent; stored rows of this ingest are all accounted for."""
    rejects = result.rejects
    errors = rejects[rejects["severity"] == "error"]
    assert result.rows_rejected == errors["source_line"].nunique()
    assert result.rows_accepted == result.rows_read - result.rows_rejected
    if result.kind not in ("cleansing", "enforcement"):
        return
    stored = store.table(DATA_TABLES[result.kind])
    mine = stored[stored["ingest_id"] == result.ingest_id]
    assert len(mine) == result.rows_new + result.rows_updated
    rejected_ids = set(errors["case_id"].dropna()) - {""}
    # An id rejected on one line may be kept from another line (duplicates): compare lines.
    dup_winners = set(rejects.loc[rejects["rule"] == "E_DUPLICATE_ID", "case_id"])
    assert not (set(mine["case_id"]) & (rejected_ids - dup_winners)), "a rejected row was stored"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=c.marks) for c in CASES])
def test_bad_input_case(case: Case, store: Store) -> None:
    data = case.build()
    before = folder_hash(store.path)
    if case.refused:
        with pytest.raises(FileRefused) as err:
            ingest_bytes(store, data, case.file_name, case.kind, options=case.options)
        assert err.value.code == case.refused, err.value.message
        for text in case.says:
            assert text in err.value.message, err.value.message
        assert folder_hash(store.path) == before, "a refused file changed the store"
        return

    result = ingest_bytes(store, data, case.file_name, case.kind, options=case.options)
    assert result.status == "committed"
    got = {(int(r.source_line), r.column, r.rule) for r in result.rejects.itertuples()}
    if case.kind != "wards":
        assert got == set(case.rejects), result.rejects[
            ["source_line", "column", "rule", "message"]
        ]
    text = (
        " ".join(result.rejects["message"].astype(str))
        + " "
        + json.dumps(result.report, default=str)
    )
    for wanted in case.says:
        assert wanted in text, text[:2000]
    if case.accepted is not None:
        assert result.rows_accepted == case.accepted
    assert_no_rejected_row_stored(store, result)
    CHECKS.get(case.name, lambda s, r: None)(store, result)


# --------------------------------------------------------------------------------------------
# Case-specific checks on what was stored
# --------------------------------------------------------------------------------------------


def _mine(store: Store, result: IngestResult) -> pd.DataFrame:
    stored = store.table(DATA_TABLES[result.kind])
    return stored[stored["ingest_id"] == result.ingest_id].set_index("case_id", drop=False)


def _check_crlf(store: Store, result: IngestResult) -> None:
    mine = _mine(store, result)
    assert not mine["case_id"].str.contains("\r").any()
    assert mine.loc["BI-0", "cost_gbp"] == 12.5


def _check_cp1252(store: Store, result: IngestResult) -> None:
    assert result.report["encoding"] == "cp1252"
    assert _mine(store, result).loc["BI-0", "street"] == "£5 Lane"


def _check_duplicates(store: Store, result: IngestResult) -> None:
    assert _mine(store, result).loc["BI-0", "street"] == "second"


def _check_swapped(store: Store, result: IngestResult) -> None:
    row = _mine(store, result).loc["BI-1"]
    assert (round(row["latitude"], 6), round(row["longitude"], 6)) == (53.418611, -2.99228)
    assert row["ward_code"] == WARD_AT_POINT


def _check_formulas(store: Store, result: IngestResult) -> None:
    mine = _mine(store, result)
    # Stored verbatim (the store is not a spreadsheet); neutralised on the way out.
    assert mine.loc["BI-0", "category_raw"].startswith("=HYPERLINK(")
    out = mine[["case_id", "category_raw", "street", "latitude", "longitude", "cost_gbp"]]
    csv_text = to_csv_bytes(out).decode("utf-8-sig")
    assert "'=HYPERLINK(" in csv_text and "'+cmd|" in csv_text and "'@SUM(1+1)" in csv_text
    assert "'=1+1" in csv_text
    assert ",-2.99228," in csv_text and "'-2.99228" not in csv_text  # numbers stay numbers
    parsed = pd.read_csv(io.StringIO(csv_text))
    assert parsed["longitude"].dtype.kind == "f" and parsed["cost_gbp"].dtype.kind == "f"
    # The rejects report is attacker-controlled too.
    rej_csv = to_csv_bytes(result.rejects).decode("utf-8-sig")
    assert "'=HYPERLINK(" in rej_csv and "'-2+3" in rej_csv
    assert "\n'" not in rej_csv.split("\n", 1)[0]

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(out)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    cells = {
        (row[0].value, header[i]): cell
        for row in sheet.iter_rows(min_row=2)
        for i, cell in enumerate(row)
    }
    formula = cells[("BI-0", "category_raw")]
    assert formula.data_type == "s" and formula.value.startswith("=HYPERLINK(")
    assert cells[("=1+1", "case_id")].data_type == "s"
    assert cells[("BI-1", "street")].data_type == "s"
    lon = cells[("BI-1", "longitude")]
    assert lon.data_type == "n" and lon.value == pytest.approx(-2.99228)


def _check_html(store: Store, result: IngestResult) -> None:
    mine = _mine(store, result)
    assert mine.loc["BI-0", "category_raw"] == "<script>alert(1)</script>"
    assert mine.loc["BI-0", "category"] == "other"
    assert mine.loc["BI-1", "street"] == '<img src=x onerror="alert(1)">'


def _check_confusables(store: Store, result: IngestResult) -> None:
    mine = _mine(store, result)
    assert set(mine["ward_code"]) == {"E05900001"}  # plain and full-width both fold to Ashgrove
    assert "BI-2" not in mine.index


def _check_personal(store: Store, result: IngestResult) -> None:
    dropped = result.report["dropped_personal_columns"]
    assert sorted(dropped) == ["Address", "Email", "Notes", "Reporter Name"]
    with store.read() as con:
        dump = con.execute(
            "SELECT string_agg(CAST(columns(*) AS VARCHAR), '|') FROM cases"
        ).fetchall()
        log = con.execute("SELECT string_agg(details, '|') FROM ingest_log").fetchall()
    text = str(dump) + str(log)
    for secret in ("Jane Doe", "Acacia", "neighbour at no. 3", "jane@example.org"):
        assert secret not in text


def _check_path_traversal(store: Store, result: IngestResult) -> None:
    assert sorted(p.name for p in store.path.iterdir()) == ["store.duckdb", "store.lock"]
    assert store.log().iloc[0]["file_name"] == "../../../../etc/passwd.csv"


def _check_bowtie(store: Store, result: IngestResult) -> None:
    wards = store.wards()
    assert set(wards["ward_code"]) == {"E05990001", "E05990002"}
    assert wards.geometry.is_valid.all()
    assert result.report["repaired"] == ["E05990001"]


def _check_prj(store: Store, result: IngestResult) -> None:
    wards = store.wards()
    minx, miny, maxx, maxy = wards.total_bounds
    assert -3.1 < minx < maxx < -2.8 and 53.3 < miny < maxy < 53.5  # Liverpool, in degrees
    assert result.report["crs_used"] == "EPSG:27700"


CHECKS: dict[str, Callable[[Store, IngestResult], None]] = {
    "crlf_line_endings": _check_crlf,
    "cp1252_pound_sign": _check_cp1252,
    "duplicate_case_ids_within_file": _check_duplicates,
    "coordinates_swapped": _check_swapped,
    "formula_injection_in_text_cells": _check_formulas,
    "html_and_script_in_labels": _check_html,
    "unicode_confusable_ward_name_cyrillic": _check_confusables,
    "personal_columns_dropped": _check_personal,
    "path_traversal_in_file_name": _check_path_traversal,
    "boundary_self_intersecting_polygon_repaired": _check_bowtie,
    "boundary_prj_says_wgs84_but_numbers_are_bng": _check_prj,
}


def test_corpus_is_big_enough_and_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 30


# --------------------------------------------------------------------------------------------
# The real lying .prj (Liverpool 2023 wards) and the million-row file
# --------------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_liverpool_shapefile_whose_prj_says_wgs84(shared_data: Path, store: Store) -> None:
    folder = shared_data / "liverpool-wards-2023"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            archive.write(folder / f"wards{ext}", f"wards{ext}")
    assert b"GCS_WGS_1984" in (folder / "wards.prj").read_bytes()
    result = ingest_bytes(store, buf.getvalue(), "wards.zip", "wards")
    assert result.status == "committed"
    assert any(".prj file is probably wrong" in w for w in result.report["warnings"])
    minx, miny, maxx, maxy = store.wards().total_bounds
    assert -3.05 < minx < maxx < -2.8 and 53.3 < miny < maxy < 53.5


@pytest.mark.slow
def test_million_rows_with_one_bad_row_at_the_end(store: Store) -> None:
    n = 1_000_000
    ids = np.char.add("BI-", np.arange(n).astype(str))
    minutes = np.arange(n) % (60 * 24 * 28)
    day = (minutes // (60 * 24) + 1).astype(str)
    hour = ((minutes // 60) % 24).astype(str)
    minute = (minutes % 60).astype(str)
    dates = np.char.add(
        np.char.add(np.char.add(np.char.zfill(day, 2), "/02/2024 "), np.char.zfill(hour, 2)),
        np.char.add(":", np.char.zfill(minute, 2)),
    )
    body = pd.DataFrame(
        {
            "Case ID": ids,
            "Date Received": dates,
            "Request Type": "Litter",
            "Latitude": LAT,
            "Longitude": LON,
        }
    )
    body.iloc[-1, 1] = "30/02/2024 10:00"  # the bad row, on the last line
    data = body.to_csv(index=False, lineterminator="\n").encode()
    started = time.perf_counter()
    result = ingest_bytes(store, data, "million.csv", "cleansing")
    elapsed = time.perf_counter() - started
    assert result.rows_read == n and result.rows_accepted == n - 1
    bad = result.rejects[result.rejects["severity"] == "error"]
    assert bad[["source_line", "column", "rule", "case_id"]].values.tolist() == [
        [n + 1, "reported_at", "E_DATE_FORMAT", f"BI-{n - 1}"]
    ]
    with store.read() as con:
        stored = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE case_id = ?) FROM cases WHERE ingest_id = ?",
            [f"BI-{n - 1}", result.ingest_id],
        ).fetchall()[0]
    assert stored == (n - 1, 0)
    assert elapsed < 60, f"1M-row ingest took {elapsed:.1f} s (about 20 s expected)"


# --------------------------------------------------------------------------------------------
# Secure defaults (docs/security.md)
# --------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def test_secure_defaults_in_config_and_requirements() -> None:
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
    assert 0 < config["server"]["maxUploadSize"] <= 2048
    pins = dict(
        line.split("==", 1)
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    major, minor = (int(p) for p in pins["streamlit"].split(".")[:2])
    assert (major, minor) >= (1, 60)  # pydeck tooltip escaping, known CVEs fixed
    assert ".streamlit/secrets.toml" in (REPO / ".gitignore").read_text()


def test_no_raw_html_rendering_in_the_app() -> None:
    sources = [REPO / "app.py", *(REPO / "pages").glob("*.py"), *(REPO / "ui").glob("*.py")]
    for path in sources:
        text = path.read_text()
        assert "unsafe_allow_html=True" not in text, path
        assert "st.html(" not in text, path
