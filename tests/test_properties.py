"""Property-based tests (hypothesis) for the loader and the ingest (issue #7).

Random bytes and random CSV rows (unicode, control characters, huge numbers, odd dates, blank
cells) are fed to :func:`neighbourhood.loaders.read_extract` and
:func:`neighbourhood.ingest.ingest_bytes`. Properties:

* the only exception ever raised is ``FileRefused`` (``BoundaryRefused`` for boundary files);
* a refused file leaves every file of the store byte-identical;
* an accepted file accounts for every row (accepted + rejected = read), keeps no row with an
  ``error`` reject in its frame, and stores none of them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neighbourhood.geo import BoundaryRefused, read_boundaries
from neighbourhood.ingest import FileRefused, ingest_bytes
from neighbourhood.loaders import ReadOptions, read_extract
from neighbourhood.store import Store

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

HEADERS = (
    "Case ID",
    "Date Received",
    "Date Closed",
    "Request Type",
    "Status",
    "Latitude",
    "Longitude",
    "Easting",
    "Northing",
    "Ward",
    "Ward Code",
    "Street",
    "Cost",
    "Last Updated",
    "Notes",
)

text_cells = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
number_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["1e400", "-0", "£1,234.50", "(12.00)", "1 234", "0x1F", "NaN", "inf"]),
)
date_cells = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%d/%m/%Y %H:%M")),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["31/02/2024", "05/03/2099", "01/01/1999", "13/13/2013", "2024-03-31 01:30"]),
)
location_cells = st.one_of(
    st.floats(min_value=53.38, max_value=53.48).map(lambda v: f"{v:.6f}"),
    st.floats(min_value=-3.01, max_value=-2.88).map(lambda v: f"{v:.6f}"),
    number_cells,
)
cell = st.one_of(
    st.just(""),
    text_cells,
    number_cells,
    date_cells,
    location_cells,
    st.sampled_from(["Ashgrove", "E05900001", "Fly tipping", "Closed", '=HYPERLINK("x")']),
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A CSV with a random subset of headers (always an id and a date) and random rows."""
    extra = draw(st.lists(st.sampled_from(HEADERS[2:]), unique=True, max_size=8))
    header = ["Case ID", "Date Received", *extra]
    rows = draw(st.lists(st.lists(cell, min_size=len(header), max_size=len(header)), max_size=12))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
    return buf.getvalue().encode(encoding, errors="replace")


def check_extract(data: bytes, kind: str) -> None:
    try:
        ex = read_extract(data, "random.csv", kind, ReadOptions())
    except FileRefused as exc:
        assert exc.code and exc.message
        return
    errors = ex.rejects[ex.rejects["severity"] == "error"]
    assert not set(ex.frame["source_line"]) & set(errors["source_line"])
    assert len(ex.frame) + errors["source_line"].nunique() == ex.report["rows_read"]
    assert ex.rejects["value"].str.len().max() <= 100 if len(ex.rejects) else True


@SETTINGS
@given(data=st.binary(max_size=2048), kind=st.sampled_from(["cleansing", "spend", "population"]))
def test_random_bytes_never_crash_the_loader(data: bytes, kind: str) -> None:
    check_extract(data, kind)


@SETTINGS
@given(data=csv_files(), kind=st.sampled_from(["cleansing", "enforcement"]))
def test_random_rows_never_crash_the_loader(data: bytes, kind: str) -> None:
    check_extract(data, kind)


@SETTINGS
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_crash_the_boundary_reader(data: bytes) -> None:
    try:
        read_boundaries(data, "wards.geojson")
    except BoundaryRefused as exc:
        assert exc.code and exc.message


# --------------------------------------------------------------------------------------------
# Through the store
# --------------------------------------------------------------------------------------------


def _square(x: float, y: float, d: float) -> list[list[float]]:
    return [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]


WARDS = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"WD23CD": f"E0590000{i + 1}", "WD23NM": name},
                "geometry": {"type": "Polygon", "coordinates": [_square(x, 53.38, 0.05)]},
            }
            for i, (name, x) in enumerate((("Ashgrove", -3.01), ("Bellfield", -2.96)))
        ],
    }
).encode()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("properties") / "store")
    assert ingest_bytes(s, WARDS, "wards.geojson", "wards").status == "committed"
    return s


def folder_hash(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def check_ingest(store: Store, data: bytes, kind: str) -> None:
    before = folder_hash(store.path)
    try:
        result = ingest_bytes(store, data, "random.csv", kind)
    except FileRefused as exc:
        assert exc.code and exc.message
        assert folder_hash(store.path) == before, "a refused file changed the store"
        return
    if result.status == "duplicate_file":
        return
    errors = result.rejects[result.rejects["severity"] == "error"]
    assert result.rows_accepted + errors["source_line"].nunique() == result.rows_read
    table = "cases" if kind == "cleansing" else "enforcement"
    with store.read() as con:
        stored = {
            r[0]
            for r in con.execute(
                f"SELECT case_id FROM {table} WHERE ingest_id = ?", [result.ingest_id]
            ).fetchall()
        }
    # The loader's accepted rows minus the lines that geo rejected: only these may be stored.
    frame = read_extract(data, "random.csv", kind).frame
    bad_lines = set(errors["source_line"].astype(int))
    allowed = set(frame.loc[~frame["source_line"].isin(bad_lines), "case_id"])
    assert stored <= allowed, "a rejected row was stored"
    assert len(stored) == result.rows_new + result.rows_updated


@SETTINGS
@given(data=csv_files(), kind=st.sampled_from(["cleansing", "enforcement"]))
def test_random_rows_through_ingest_store_no_rejected_row(
    store: Store, data: bytes, kind: str
) -> None:
    check_ingest(store, data, kind)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=1024))
def test_random_bytes_through_ingest_leave_the_store_alone(store: Store, data: bytes) -> None:
    check_ingest(store, data, "cleansing")
