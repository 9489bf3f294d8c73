"""Hostile ward boundary files: what GDAL may open, reach and say (issue #15 and #16 items).

Each test builds its hostile file here. The HTTP server is ours, on a random loopback port, and
records every request: the tests assert it was never hit. No test touches any other address.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import sqlite3
import struct
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import box

from neighbourhood import geo
from neighbourhood.geo import BOUNDARY_DRIVERS, BoundaryRefused, read_boundaries

REPO = Path(__file__).resolve().parents[1]

# Two wards in Liverpool (degrees), and the same in BNG metres.
LIVERPOOL = [box(-2.99, 53.40, -2.97, 53.42), box(-2.97, 53.40, -2.95, 53.42)]
SECRET_NAMES = ["Secretward Alpha", "Secretward Beta"]


def wards(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"WD23CD": ["E05000001", "E05000002"], "WD23NM": ["Alpha", "Beta"]},
        geometry=LIVERPOOL,
        crs="EPSG:4326",
    )
    return frame.to_crs(crs)


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        body = json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"WD23CD": "E05000009", "WD23NM": "From The Web"},
                        "geometry": shapely.geometry.mapping(LIVERPOOL[0]),
                    }
                ],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server on a random port; yields (base URL, list of paths requested)."""
    hits: list[str] = []
    handler = type("Handler", (_Recorder,), {"hits": hits})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def ward_csv(folder: Path) -> Path:
    """A CSV of ward-like rows (the 'server file' a VRT would point at)."""
    path = folder / "server_file.csv"
    rows = ["code,name,WKT"] + [
        f'E0500000{i + 1},{SECRET_NAMES[i]},"{geom.wkt}"' for i, geom in enumerate(LIVERPOOL)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def vrt(source: str, layer: str = "server_file") -> bytes:
    return (
        "<OGRVRTDataSource>\n"
        '  <OGRVRTLayer name="wards">\n'
        f"    <SrcDataSource>{source}</SrcDataSource>\n"
        f"    <SrcLayer>{layer}</SrcLayer>\n"
        "    <GeometryType>wkbPolygon</GeometryType>\n"
        '    <GeometryField encoding="WKT" field="WKT"/>\n'
        "  </OGRVRTLayer>\n"
        "</OGRVRTDataSource>\n"
    ).encode()


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def shapefile_parts(frame: gpd.GeoDataFrame, folder: Path, stem: str = "wards") -> dict[str, bytes]:
    folder.mkdir(exist_ok=True)
    frame.to_file(folder / f"{stem}.shp")
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def refused(data: bytes | Path, name: str | None = None) -> BoundaryRefused:
    with pytest.raises(BoundaryRefused) as err:
        read_boundaries(data, name)
    return err.value


# --------------------------------------------------------------------------------------------
# 1. GDAL's virtual format and other drivers: never opened
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_path", [False, True], ids=["upload", "path"])
def test_vrt_named_geojson_pointing_at_a_server_csv_is_refused(
    tmp_path: Path, as_path: bool
) -> None:
    csv = ward_csv(tmp_path)
    data = vrt(f"CSV:{csv}")
    source: bytes | Path = data
    if as_path:
        source = tmp_path / "wards.geojson"
        source.write_bytes(data)
    err = refused(source, "wards.geojson")
    assert err.code == "unreadable"
    assert "XML" in err.message
    for secret in [*SECRET_NAMES, str(tmp_path), "server_file"]:
        assert secret not in err.message


def test_vrt_pointing_at_a_url_never_fetches(server: tuple[str, list[str]]) -> None:
    url, hits = server
    for source in (f"/vsicurl/{url}/wards.csv", f"CSV:/vsicurl/{url}/wards.csv"):
        assert refused(vrt(source, "wards"), "wards.geojson").code == "unreadable"
    assert hits == []


def test_gdal_virtual_file_system_names_given_as_paths_are_not_opened(
    tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    url, hits = server
    archive = tmp_path / "w.zip"
    archive.write_bytes(zipped({"w.geojson": wards().to_json().encode()}))
    for given in (f"/vsicurl/{url}/w.geojson", f"/vsizip/{archive}/w.geojson", "/vsimem/x"):
        err = refused(given)  # a str path: ours to stat, never GDAL's to interpret
        assert err.code == "unreadable" and "No such boundary file" in err.message
    assert hits == []


@pytest.mark.parametrize("member", ["wards.gml", "wards.geojson", "wards.json", "wards.vrt"])
def test_vrt_inside_a_zip_is_refused(tmp_path: Path, member: str) -> None:
    data = zipped({member: vrt(f"CSV:{ward_csv(tmp_path)}")})
    err = refused(data, "wards.zip")
    assert err.code == "unreadable"
    for secret in [*SECRET_NAMES, str(tmp_path), "server_file"]:
        assert secret not in err.message


def test_gdal_is_locked_down_to_the_boundary_drivers(
    tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    """The lock-down holds even for a path handed to pyogrio directly (no sniffing)."""
    read_boundaries(wards().to_json().encode(), "w.geojson")
    pyogrio = geo._gdal()
    assert set(pyogrio.list_drivers()) == set(BOUNDARY_DRIVERS)
    assert pyogrio.get_gdal_config_option("OGR_SQLITE_ALLOW_EXTERNAL_ACCESS") in ("NO", False)
    assert "no-network" in pyogrio.get_gdal_config_option("CPL_VSIL_CURL_ALLOWED_FILENAME")
    assert "OGR_VRT" in pyogrio.get_gdal_config_option("GDAL_SKIP").split(",")
    path = tmp_path / "evil.geojson"
    path.write_bytes(vrt(f"CSV:{ward_csv(tmp_path)}"))
    with pytest.raises(Exception, match="not recognized"):
        pyogrio.read_dataframe(str(path))
    url, hits = server
    with pytest.raises(Exception):  # noqa: B017, PT011 (GDAL's own error; the point is no request)
        pyogrio.read_info(f"/vsicurl/{url}/wards.geojson")
    assert hits == []


def _crs_link(url: str) -> bytes:
    doc = json.loads(wards().to_json())
    doc["crs"] = {"type": "link", "properties": {"href": f"{url}/crs.wkt", "type": "ogcwkt"}}
    return json.dumps(doc).encode()


def test_geojson_crs_link_is_refused_and_never_fetched(server: tuple[str, list[str]]) -> None:
    url, hits = server
    err = refused(_crs_link(url), "wards.geojson")
    assert err.code == "unknown_crs" and "'link'" in err.message
    # also in a geometry, and as type "url"
    doc = json.loads(wards().to_json())
    doc["features"][0]["geometry"]["crs"] = {"type": "url", "properties": {"url": url}}
    assert refused(json.dumps(doc).encode()).code == "unknown_crs"
    assert hits == []


def test_gdal_http_is_off_even_when_the_file_check_is_bypassed(
    tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    url, hits = server
    pyogrio = geo._gdal()
    path = tmp_path / "link.geojson"
    path.write_bytes(_crs_link(url))
    before = geo._REFUSED_FETCHES[0]
    pyogrio.read_info(str(path))  # GDAL asks for the CRS document: the hook says no
    assert geo._REFUSED_FETCHES[0] > before
    assert hits == []


def test_network_stays_off_with_no_proxy_in_the_environment(
    tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    """NO_PROXY=* would bypass a proxy; the fetch hook and the file-name allow-list do not care."""
    url, hits = server
    (tmp_path / "link.geojson").write_bytes(_crs_link(url))
    script = (
        "import sys\n"
        "from neighbourhood import geo\n"
        "p = geo._gdal()\n"
        f"p.read_info({str(tmp_path / 'link.geojson')!r})\n"
        "try:\n"
        f"    p.read_info('/vsicurl/{url}/wards.geojson')\n"
        "except Exception:\n"
        "    pass\n"
        "print(geo._REFUSED_FETCHES[0])\n"
    )
    env = {**os.environ, "NO_PROXY": "*", "no_proxy": "*", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) >= 1
    assert hits == []


def test_lock_down_failure_refuses_every_boundary_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geo, "_GDAL_STATE", {"error": "RuntimeError: test"})
    err = refused(wards().to_json().encode(), "w.geojson")
    assert err.code == "reader_unavailable"


# --------------------------------------------------------------------------------------------
# GeoPackage: nothing that runs SQL on read
# --------------------------------------------------------------------------------------------


def gpkg(tmp_path: Path, sql: str | None = None, *, name: str = "w.gpkg") -> bytes:
    path = tmp_path / name
    wards().to_file(path, driver="GPKG", layer="wards")
    if sql:
        con = sqlite3.connect(path)
        con.executescript(sql)
        con.commit()
        con.close()
    return path.read_bytes()


def test_plain_geopackage_loads(tmp_path: Path) -> None:
    result = read_boundaries(gpkg(tmp_path), "w.gpkg")
    assert result.wards["ward_code"].tolist() == ["E05000001", "E05000002"]
    assert result.report["driver"] == "GPKG" and result.report["layer"] == "wards"


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE VIEW wards_view AS SELECT * FROM wards;",
        "CREATE VIEW gpkg_x AS SELECT 1;",
        "CREATE TRIGGER evil AFTER INSERT ON wards BEGIN SELECT 1; END;",
        "CREATE VIRTUAL TABLE fts USING fts5(a);",
    ],
    ids=["view", "any-view", "trigger", "virtual-table"],
)
def test_geopackage_with_views_triggers_or_virtual_tables_is_refused(
    tmp_path: Path, sql: str
) -> None:
    err = refused(gpkg(tmp_path, sql), "w.gpkg")
    assert err.code == "unsafe_geopackage"
    assert str(tmp_path) not in err.message


def test_geopackage_table_with_a_generated_column_is_refused(tmp_path: Path) -> None:
    sql = "ALTER TABLE wards ADD COLUMN computed TEXT GENERATED ALWAYS AS (upper(WD23NM)) VIRTUAL;"
    assert refused(gpkg(tmp_path, sql), "w.gpkg").code == "unsafe_geopackage"


def test_geopackage_crs_definition_pointing_at_a_url_is_not_fetched(
    tmp_path: Path, server: tuple[str, list[str]]
) -> None:
    url, hits = server
    sql = f"UPDATE gpkg_spatial_ref_sys SET definition = '{url}/crs.wkt' WHERE srs_id = 4326;"
    try:
        read_boundaries(gpkg(tmp_path, sql), "w.gpkg")
    except BoundaryRefused:
        pass  # refusing is fine; fetching is not
    assert hits == []


def test_geojson_crs_name_that_is_a_url_is_not_fetched(server: tuple[str, list[str]]) -> None:
    url, hits = server
    doc = json.loads(wards().to_json())
    doc["crs"] = {"type": "name", "properties": {"name": f"{url}/crs.wkt"}}
    try:
        read_boundaries(json.dumps(doc).encode(), "w.geojson")
    except BoundaryRefused:
        pass
    assert hits == []


def test_sqlite_file_that_is_not_a_geopackage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    err = refused(path.read_bytes(), "wards.gpkg")
    assert "not a GeoPackage" in err.message


def test_damaged_geopackage_message_names_no_server_path(tmp_path: Path) -> None:
    data = b"SQLite format 3\x00" + b"\x00" * 84 + os.urandom(4000)
    err = refused(data, "wards.gpkg")
    assert err.code == "unreadable"
    assert "/tmp" not in err.message and "neighbourhood-wards" not in err.message


# --------------------------------------------------------------------------------------------
# Zipped and loose shapefiles: only the five parts, under our names; which part is missing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("missing", "says"), [(".dbf", "attribute table"), (".shx", "index")])
def test_zip_missing_a_shapefile_part_names_it(tmp_path: Path, missing: str, says: str) -> None:
    parts = shapefile_parts(wards(), tmp_path / "shp")
    data = zipped({n: b for n, b in parts.items() if not n.endswith(missing)})
    err = refused(data, "wards.zip")
    assert err.code == "missing_part"
    assert f"no {missing} file" in err.message and says in err.message
    assert f"wards{missing}" in err.message


def test_zip_with_a_damaged_dbf_says_so(tmp_path: Path) -> None:
    parts = shapefile_parts(wards(), tmp_path / "shp")
    err = refused(zipped({**parts, "wards.dbf": b"\x03 damaged"}), "wards.zip")
    assert err.code == "no_code_field" and ".dbf" in err.message
    assert "columns: none" not in err.message


def test_zip_missing_prj_loads_and_says_so(tmp_path: Path) -> None:
    parts = shapefile_parts(wards("EPSG:27700"), tmp_path / "shp")
    data = zipped({n: b for n, b in parts.items() if not n.endswith(".prj")})
    result = read_boundaries(data, "wards.zip")
    assert result.report["crs_used"] == "EPSG:27700"
    assert any("no .prj file" in w for w in result.report["warnings"])


def test_zip_member_names_never_become_paths(tmp_path: Path) -> None:
    """Traversal names and a symbolic link member: read under our names, nothing written."""
    parts = shapefile_parts(wards(), tmp_path / "shp")
    members = {f"../../../../tmp/evil/{n}": b for n, b in parts.items()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        link = zipfile.ZipInfo("wards.cpg")
        link.external_attr = (0o120777 << 16) | 0x20  # a symlink to /etc/passwd
        zf.writestr(link, "/etc/passwd")
    result = read_boundaries(buf.getvalue(), "wards.zip")
    assert result.wards["ward_code"].tolist() == ["E05000001", "E05000002"]
    assert not Path("/tmp/evil").exists()


def test_shp_path_with_side_files_loads_on_the_command_line(tmp_path: Path) -> None:
    shapefile_parts(wards("EPSG:27700"), tmp_path / "shp")
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, "-m", "neighbourhood", "ingest", str(tmp_path / "shp" / "wards.shp")]
        + ["--kind", "wards", "--store", str(store)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "committed" and summary["rows_accepted"] == 2


def test_shp_path_missing_its_dbf_says_which(tmp_path: Path) -> None:
    shapefile_parts(wards(), tmp_path / "shp")
    (tmp_path / "shp" / "wards.dbf").unlink()
    err = refused(tmp_path / "shp" / "wards.shp")
    assert err.code == "missing_part" and "no .dbf file beside it" in err.message


def test_shp_side_file_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    shapefile_parts(wards(), tmp_path / "shp")
    (tmp_path / "shp" / "wards.cpg").unlink()
    (tmp_path / "shp" / "wards.cpg").symlink_to("/etc/passwd")
    err = refused(tmp_path / "shp" / "wards.shp")
    assert "link" in err.message and "root:" not in err.message


def test_bundled_shapefile_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    shapefile_parts(wards(), tmp_path / "shp")
    first = geo.bundle_shapefile(tmp_path / "shp" / "wards.shp")
    assert first == geo.bundle_shapefile(tmp_path / "shp" / "wards.shp")
    assert sorted(zipfile.ZipFile(io.BytesIO(first)).namelist()) == [
        "wards.cpg",
        "wards.dbf",
        "wards.prj",
        "wards.shp",
        "wards.shx",
    ]


def test_a_lone_shp_upload_asks_for_the_zip(tmp_path: Path) -> None:
    parts = shapefile_parts(wards(), tmp_path / "shp")
    err = refused(parts["wards.shp"], "wards.shp")
    assert err.code == "missing_part" and ".zip" in err.message


# --------------------------------------------------------------------------------------------
# 2. Coordinates that cannot be in the declared CRS
# --------------------------------------------------------------------------------------------


def with_crs_member(frame: gpd.GeoDataFrame, epsg: int) -> bytes:
    """GeoJSON whose numbers are ``frame``'s, with a legacy crs member claiming ``epsg``."""
    doc = json.loads(frame.to_json())
    doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    return json.dumps(doc).encode()


@pytest.mark.parametrize("epsg", [3857, 32630, 27700, 2157])
def test_degrees_under_a_projected_crs_are_read_as_degrees(epsg: int) -> None:
    result = read_boundaries(with_crs_member(wards(), epsg), "wards.geojson")
    assert result.report["source_crs"] == f"EPSG:{epsg}"
    assert result.report["crs_used"] == "EPSG:4326"
    assert any("look like longitude/latitude" in w for w in result.report["warnings"])
    xmin, ymin, xmax, ymax = result.wards.total_bounds
    assert -3.0 < xmin < xmax < -2.9 and 53.3 < ymin < ymax < 53.5  # Liverpool, not West Africa


def test_bng_metres_under_web_mercator_are_read_as_bng() -> None:
    result = read_boundaries(with_crs_member(wards("EPSG:27700"), 3857), "wards.geojson")
    assert result.report["crs_used"] == "EPSG:27700"
    assert any("outside the United Kingdom" in w for w in result.report["warnings"])
    assert result.wards.total_bounds[1] > 53.3


def test_metres_that_cannot_be_in_the_declared_crs_are_refused() -> None:
    # Web Mercator metres labelled as British National Grid: y = 7 million is far off its grid.
    err = refused(with_crs_member(wards("EPSG:3857"), 27700), "wards.geojson")
    assert err.code == "unknown_crs"


def test_wards_outside_the_uk_load_with_a_warning() -> None:
    frame = wards().set_geometry(
        [box(-74.0, 40.7, -73.9, 40.8), box(-73.9, 40.7, -73.8, 40.8)], crs="EPSG:4326"
    )
    result = read_boundaries(frame.to_json().encode(), "nyc.geojson")
    assert result.report["crs_used"] == "EPSG:4326"
    assert any("outside the United Kingdom" in w for w in result.report["warnings"])


def test_real_liverpool_files_get_no_new_warning(shared_data: Path) -> None:
    folder = shared_data / "liverpool-wards-2023"
    for file in ("liverpool_wards_2023_wgs84.geojson", "wardsPolygon.geojson", "Lwards.shp"):
        assert read_boundaries(folder / file).report["warnings"] == []


# --------------------------------------------------------------------------------------------
# 3. NaN and infinite coordinates: a refusal, nothing on stderr
# --------------------------------------------------------------------------------------------


def nan_geojson(token: str) -> bytes:
    ring = json.dumps([[[-3, 53.4], [-2.9, 53.4], [-2.9, 53.5], [0, 53.4]]]).replace(
        "[0, 53.4]", f"[{token}, 53.4]"
    )
    good = json.dumps(shapely.geometry.mapping(LIVERPOOL[1]))
    return (
        '{"type":"FeatureCollection","features":['
        f'{{"type":"Feature","properties":{{"code":"E05000001"}},'
        f'"geometry":{{"type":"Polygon","coordinates":{ring}}}}},'
        f'{{"type":"Feature","properties":{{"code":"E05000002"}},"geometry":{good}}}]}}'
    ).encode()


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_coordinates_are_refused(token: str) -> None:
    err = refused(nan_geojson(token), "wards.geojson")
    assert err.code == "invalid_coordinates"


def test_non_finite_coordinates_in_a_shapefile_are_refused(tmp_path: Path) -> None:
    parts = shapefile_parts(wards(), tmp_path / "shp")
    shp = bytearray(parts["wards.shp"])
    # first record: 100-byte header, 8-byte record header, type, box, parts, points, part index;
    # the points start at byte 156: make the x of the second point NaN (GDAL will not write it)
    shp[172:180] = struct.pack("<d", float("nan"))
    parts["wards.shp"] = bytes(shp)
    err = refused(zipped(parts), "wards.zip")
    assert err.code in ("invalid_coordinates", "invalid_geometry")


def test_nan_geojson_on_the_command_line_exits_2_quietly(tmp_path: Path) -> None:
    path = tmp_path / "nan.geojson"
    path.write_bytes(nan_geojson("NaN"))
    done = subprocess.run(
        [sys.executable, "-m", "neighbourhood", "ingest", str(path), "--kind", "wards"]
        + ["--store", str(tmp_path / "store")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 2
    assert "F_BOUNDARY_INVALID_COORDINATES" in done.stdout
    assert "Warning" not in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "store").exists()


# --------------------------------------------------------------------------------------------
# 4. Messages: no server paths, no content of other files
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"SQLite format 3\x00" + b"\xff" * 200,
        zipped(
            {"wards.shp": b"\x00\x00\x27\x0a" + b"\x00" * 96, "wards.shx": b"x", "wards.dbf": b"y"}
        ),
        b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": 5}]}',
    ],
    ids=["gpkg", "shp", "geojson"],
)
def test_reader_errors_name_no_temporary_path(data: bytes) -> None:
    with pytest.raises(BoundaryRefused) as err:
        read_boundaries(data, "wards.upload")
    message = err.value.message
    assert "/tmp" not in message and "neighbourhood-wards" not in message
    assert "upload.shp" not in message and "upload.gpkg" not in message


def test_special_files_are_refused_before_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "wards.geojson"
    os.mkfifo(fifo)  # opening it would block until a writer came
    for path in (fifo, Path("/dev/zero"), tmp_path):
        err = refused(path)
        assert err.code == "unreadable" and str(path) in err.message


def test_cut_short_geojson_says_where() -> None:
    err = refused(b'{"type": "FeatureCollection",\n "features": [{"type": "Feature", "ge')
    assert "At line 2" in err.message and "Unterminated" in err.message


# --------------------------------------------------------------------------------------------
# The app's upload path goes through the same defences
# --------------------------------------------------------------------------------------------


def test_upload_preview_and_load_refuse_a_vrt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neighbourhood.ingest import FileRefused, ingest_bytes
    from neighbourhood.store import Store
    from ui.upload import dry_run

    data = vrt(f"CSV:{ward_csv(tmp_path)}")
    preview = dry_run(data, "wards.geojson", "wards", {})
    assert not preview.ok and not any(s in preview.message for s in SECRET_NAMES)
    store = Store(tmp_path / "store")
    with pytest.raises(FileRefused) as err:
        ingest_bytes(store, data, "wards.geojson", "wards", channel="upload")
    assert err.value.code == "F_BOUNDARY_UNREADABLE"
    assert not (tmp_path / "store").exists()
