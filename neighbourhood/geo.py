"""Ward boundaries and everything spatial: reading, assigning cases to wards, maps, remapping.

The contract is in ``docs/architecture.md`` ("Geo contract"); the decisions taken inside it (how
fields are found, how a lying ``.prj`` is caught, how invalid polygons are repaired, the boundary
rule) are written down in ``docs/geo.md``.

Everything returned to callers is WGS84 (EPSG:4326, x = longitude, y = latitude). Areas and
simplification tolerances are computed in metres in British National Grid (EPSG:27700), or in the
local UTM zone when the wards lie outside Great Britain.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import tempfile
import threading
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS, Transformer

from neighbourhood import safe_io, schemas
from neighbourhood.schemas import REJECT_COLUMNS

__all__ = [
    "BNG",
    "REJECT_COLUMNS",
    "RULE_NO_LOCATION",
    "RULE_OUTSIDE_WARDS",
    "RULE_UNKNOWN_WARD",
    "RULE_WARD_MISMATCH",
    "WGS84",
    "Boundaries",
    "BOUNDARY_DRIVERS",
    "GDAL_LOCKDOWN",
    "BoundaryRefused",
    "assign_wards",
    "assign_wards_sjoin",
    "bng_to_wgs84",
    "bundle_shapefile",
    "crosswalk",
    "geometry_digest",
    "hex_bins",
    "hex_boundary",
    "normalise_ward_name",
    "read_boundaries",
    "simplify_for_map",
    "wards_from_wkb",
    "wards_to_wkb",
    "wgs84_to_bng",
]

WGS84 = "EPSG:4326"
BNG = "EPSG:27700"

RULE_OUTSIDE_WARDS = "E_OUTSIDE_WARDS"
RULE_UNKNOWN_WARD = "E_UNKNOWN_WARD"
RULE_NO_LOCATION = "E_NO_LOCATION"
RULE_WARD_MISMATCH = "W_WARD_MISMATCH"


# Generous projected bounds of British National Grid (EPSG:27700 area of use, in metres).
_BNG_X = (-110_000.0, 700_000.0)
_BNG_Y = (-20_000.0, 1_250_000.0)
# Area of use of EPSG:27700 in degrees, used to decide whether BNG is the right metric CRS.
_BNG_LONLAT = (-9.01, 49.75, 2.01, 61.01)

_LOCATION_COLUMN = "latitude/longitude"


class BoundaryRefused(ValueError):  # noqa: N818 (the contract names it so, like loaders.FileRefused)
    """A boundary file that cannot be used at all.

    Parameters
    ----------
    code : str
        Stable reason: ``empty``, ``unreadable``, ``too_large``, ``missing_part``,
        ``ambiguous_source``, ``unsafe_geopackage``, ``reader_unavailable``, ``no_polygons``,
        ``no_code_field``, ``missing_codes``, ``duplicate_codes``, ``unknown_crs``,
        ``invalid_coordinates``, ``invalid_geometry`` (docs/geo.md).
    message : str
        Plain-English explanation for the analyst.

    Examples
    --------
    >>> err = BoundaryRefused("empty", "The boundary file is empty.")
    >>> err.code, str(err)
    ('empty', 'The boundary file is empty.')
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Boundaries:
    """A boundary set read from a file.

    Attributes
    ----------
    wards : geopandas.GeoDataFrame
        ``ward_code``, ``ward_name``, ``geometry`` (Polygon/MultiPolygon, EPSG:4326), sorted by
        ``ward_code``, index 0..n-1.
    report : dict
        What was detected: ``source_name``, ``driver``, ``layer``, ``features_read``,
        ``source_crs``, ``crs_used``, ``code_field``, ``name_field``, ``code_candidates``,
        ``name_candidates``, ``repaired``, ``dropped``, ``warnings`` (list of sentences).
    """

    wards: gpd.GeoDataFrame
    report: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Reading boundary files
# --------------------------------------------------------------------------------------------


def read_boundaries(
    source: bytes | str | Path,
    name: str | None = None,
    *,
    code_field: str | None = None,
    name_field: str | None = None,
) -> Boundaries:
    """Read a ward boundary file in any common format and CRS into canonical WGS84 wards.

    Reads GeoJSON (also with a legacy ``crs`` member), GeoPackage, TopoJSON, a zipped Shapefile
    (the bytes of a ``.zip``) or a ``.shp`` path with its sidecar files, and nothing else: the
    kind is sniffed from the bytes, and GDAL (through ``pyogrio``, locked down to those four
    drivers, without network) only opens a copy in a private temporary folder (docs/geo.md
    "Opening files safely"). Finds the ward code and name fields, repairs invalid polygons,
    catches a CRS that the coordinates cannot be in, and reprojects to EPSG:4326.

    Parameters
    ----------
    source : bytes, str or Path
        The file contents (an upload) or a path. A ``str`` that starts with ``{`` is taken as
        GeoJSON/TopoJSON text.
    name : str, optional
        The file name, for the report and as a format hint.
    code_field, name_field : str, optional
        Override the detected code and name fields (case-insensitive).

    Returns
    -------
    Boundaries
        ``.wards`` (``ward_code``, ``ward_name``, ``geometry`` in EPSG:4326, sorted by code) and
        ``.report`` (detected CRS and fields, and warnings).

    Raises
    ------
    BoundaryRefused
        Empty, unreadable or unsupported file, a shapefile part missing, a GeoPackage that
        could run SQL on read, no polygons, no usable code field, empty or duplicate ward
        codes, NaN/infinite coordinates, coordinates impossible in the declared CRS, or a
        polygon that has no area after repair.

    Examples
    --------
    >>> b = read_boundaries(Path("wards.gpkg"))  # doctest: +SKIP
    >>> b.wards.columns.tolist(), b.report["code_field"]  # doctest: +SKIP
    (['ward_code', 'ward_name', 'geometry'], 'WD23CD')
    """
    warnings_: list[str] = []
    report: dict[str, Any] = {
        "source_name": name if name is not None else _source_label(source),
        "warnings": warnings_,
        "repaired": [],
        "dropped": [],
    }
    raw, driver, layer = _read_any(source, name, warnings_)
    report.update(driver=driver, layer=layer, features_read=len(raw))
    if len(raw) == 0:
        raise BoundaryRefused("empty", "The boundary file has no features.")

    _check_finite(raw)
    try:
        with np.errstate(all="ignore"):
            return _to_boundaries(raw, report, warnings_, code_field, name_field)
    except shapely.errors.GEOSException as exc:
        raise BoundaryRefused(
            "invalid_geometry",
            f"A shape in the file cannot be used ({_geos_reason(exc)}). Repair the file and "
            "export it again.",
        ) from None


def _check_finite(raw: gpd.GeoDataFrame) -> None:
    """Refuse NaN or infinite coordinates (any format) before any geometry work."""
    geoms = raw.geometry.to_numpy()
    xy, index = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        features = np.unique(index[bad])
        listed = ", ".join(str(int(i) + 1) for i in features[:10])
        raise BoundaryRefused(
            "invalid_coordinates",
            f"{len(features)} feature(s) have a coordinate that is not a finite number (NaN or "
            f"infinity): feature {listed}. Fix or remove them and export the file again.",
        )


def _to_boundaries(
    raw: gpd.GeoDataFrame,
    report: dict[str, Any],
    warnings_: list[str],
    code_field: str | None,
    name_field: str | None,
) -> Boundaries:
    gdf = _keep_polygons(raw, warnings_, report)
    if not _columns(gdf) and code_field is None:
        shapefile = report.get("driver") == "ESRI Shapefile"
        raise BoundaryRefused(
            "no_code_field",
            "The shapefile's .dbf (its attribute table, with the ward codes and names) holds no "
            "columns: it is empty or damaged. Export the shapefile again."
            if shapefile
            else "The file has no attribute columns, so no ward codes: export it with the ward "
            "code and name fields.",
        )
    code_col, code_candidates = _pick_code_field(gdf, code_field)
    name_col, name_candidates = _pick_name_field(gdf, name_field, code_col)
    report.update(
        code_field=code_col,
        name_field=name_col,
        code_candidates=code_candidates,
        name_candidates=name_candidates,
    )
    report["local_authority"] = local_authority_fields(gdf)
    ons_fields = [c for c in code_candidates if _ONS_WARD_CODE.fullmatch(c.lower())]
    if len(ons_fields) > 1 or (not ons_fields and len(code_candidates) > 1):
        warnings_.append(
            f"Several columns could hold the ward code ({', '.join(code_candidates)}); "
            f"used {code_col}."
        )
    codes = _clean_codes(gdf[code_col])
    if name_col is None:
        names = codes.copy()
        warnings_.append("No ward name column found: ward names are set to the ward codes.")
    else:
        names = _clean_names(gdf[name_col])
        missing = names.isna()
        if missing.any():
            names = names.where(~missing, codes)
            warnings_.append(
                f"{int(missing.sum())} ward(s) have no name; their code is used as the name: "
                + _short_list(codes[missing])
            )
    _check_codes(codes, code_col)
    area = codes.astype("str").str.fullmatch(schemas.AREA_CODE_RE)
    if area.any():
        warnings_.append(
            f"{int(area.sum())} of the {len(codes)} areas have a local-authority or region code, "
            f"not a ward code ({_short_list(codes[area])}): is this the ward boundary file?"
        )
    elif len(codes) == 1:
        warnings_.append("The file holds a single area: is this the ward boundary file?")

    wards = gpd.GeoDataFrame(
        {"ward_code": codes.to_numpy(), "ward_name": names.to_numpy()},
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    )
    source_crs, used_crs = _resolve_crs(wards, warnings_)
    report["source_crs"] = source_crs
    report["crs_used"] = _crs_label(used_crs)
    wards = wards.set_crs(used_crs, allow_override=True).to_crs(WGS84)
    xy = shapely.get_coordinates(wards.geometry.to_numpy())
    if len(xy) == 0 or not np.isfinite(xy).all():
        raise BoundaryRefused(
            "unknown_crs",
            f"The coordinates could not be converted from {used_crs} to WGS84 (longitude/latitude).",
        )
    wards["geometry"] = _repair(wards, warnings_, report)
    wards = wards.sort_values("ward_code", kind="stable").reset_index(drop=True)
    wards["ward_code"] = wards["ward_code"].astype("str")
    wards["ward_name"] = wards["ward_name"].astype("str")
    report["wards"] = len(wards)
    return Boundaries(wards=wards, report=report)


def _source_label(source: bytes | str | Path) -> str:
    if isinstance(source, Path):
        return source.name
    if isinstance(source, str) and not source.lstrip().startswith("{"):
        return Path(source).name
    return "upload"


# --- Opening boundary files safely -----------------------------------------------------------
#
# GDAL can read 80-odd formats, follow references inside a file to other files and URLs (OGR VRT,
# GDALG, GML xlinks, a GeoJSON ``crs`` link) and open virtual file systems (/vsicurl/, /vsizip/).
# A boundary file is attacker-controlled, so (docs/geo.md "Opening files safely"):
#   1. the file's kind is sniffed from its bytes here, never guessed by GDAL or taken from its name;
#   2. only the bytes we checked are written, under names we choose, into a private temporary
#      folder, and GDAL is given that path only (never a string from the user);
#   3. GDAL is locked down once per process (_gdal): every driver but BOUNDARY_DRIVERS is
#      deregistered, HTTP and the network file systems are switched off, SQLite may not reach
#      outside the file; and the driver GDAL used is checked against the one we expected.

#: The only GDAL drivers a boundary file is ever opened with.
BOUNDARY_DRIVERS: Final[tuple[str, ...]] = ("GeoJSON", "TopoJSON", "GPKG", "ESRI Shapefile")

_NO_NETWORK = "neighbourhood-no-network"
#: GDAL configuration set once per process (with GDAL_SKIP, computed) before any boundary read.
GDAL_LOCKDOWN: Final[dict[str, str]] = {
    "GDAL_DRIVER_PATH": "disable",  # no plug-in drivers, ever
    # /vsicurl/, /vsis3/, /vsiaz/… accept no file name at all
    "CPL_VSIL_CURL_ALLOWED_FILENAME": f"/{_NO_NETWORK}",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": f".{_NO_NETWORK}",
    # curl refuses this proxy scheme before connecting (a second wall behind the fetch hook;
    # NO_PROXY in the environment would bypass it, the hook does not depend on it)
    "GDAL_HTTP_PROXY": f"{_NO_NETWORK}://0.0.0.0:1",
    "GDAL_HTTPS_PROXY": f"{_NO_NETWORK}://0.0.0.0:1",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_NETRC": "NO",
    "CPL_CURL_ENABLE_VSIMEM": "NO",
    # GeoPackage (SQLite): no functions or virtual tables that reach other files, no extensions,
    # no pragmas from the environment
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "OGR_SQLITE_LOAD_EXTENSIONS": "",
    "OGR_SQLITE_PRAGMA": "",
}

_GDAL_LOCK = threading.Lock()
_GDAL_STATE: dict[str, Any] = {}
#: HTTP requests GDAL tried to make and the lock-down refused, counted (for tests and logs).
_REFUSED_FETCHES: list[int] = [0]

_MAX_BOUNDARY_BYTES: Final = 2 * 1024**3  # a file, or a member extracted from a .zip
_SHAPEFILE_PARTS: Final = {
    ".shp": "geometry",
    ".shx": "index of the geometry",
    ".dbf": "attribute table, with the ward codes and names",
    ".prj": "coordinate system",
    ".cpg": "text encoding",
}
_ZIP_DATASETS: Final = (".shp", ".gpkg", ".geojson", ".json", ".topojson")
_NOT_READ_SUFFIXES: Final = (".gml", ".kml", ".kmz", ".fgb", ".vrt", ".tab", ".mif", ".gdb", ".csv")
_FORMATS = "GeoJSON, TopoJSON, a GeoPackage or a zipped Shapefile"


class _BoundaryReaderUnsafe(RuntimeError):
    """GDAL could not be locked down: no boundary file is opened at all (fail closed)."""


def _gdal() -> Any:
    """``pyogrio``, after GDAL has been locked down for this process (done once, here only).

    GDAL costs about 30 MB and 0.1 s to load: only boundary files need it, never case files.
    """
    with _GDAL_LOCK:
        if "pyogrio" not in _GDAL_STATE:
            if "error" in _GDAL_STATE:
                raise _BoundaryReaderUnsafe(_GDAL_STATE["error"])
            try:
                _GDAL_STATE.update(_lock_down_gdal())
            except Exception as exc:
                _GDAL_STATE["error"] = f"{type(exc).__name__}: {exc}"
                raise _BoundaryReaderUnsafe(_GDAL_STATE["error"]) from exc
        return _GDAL_STATE["pyogrio"]


def _lock_down_gdal() -> dict[str, Any]:
    import ctypes

    import pyogrio
    from pyogrio import _ogr

    # The GDAL that pyogrio loaded (a dlopen handle also resolves its dependencies' symbols).
    lib = ctypes.CDLL(_ogr.__file__)
    lib.GDALGetDriverCount.restype = ctypes.c_int
    lib.GDALGetDriver.argtypes = [ctypes.c_int]
    lib.GDALGetDriver.restype = ctypes.c_void_p
    lib.GDALGetDriverShortName.argtypes = [ctypes.c_void_p]
    lib.GDALGetDriverShortName.restype = ctypes.c_char_p
    lib.GDALGetDriverByName.argtypes = [ctypes.c_char_p]
    lib.GDALGetDriverByName.restype = ctypes.c_void_p
    lib.GDALDeregisterDriver.argtypes = [ctypes.c_void_p]
    lib.CPLSetConfigOption.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.CPLGetConfigOption.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.CPLGetConfigOption.restype = ctypes.c_char_p
    lib.CPLCalloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    lib.CPLCalloc.restype = ctypes.c_void_p
    lib.OSRSetPROJEnableNetwork.argtypes = [ctypes.c_int]

    names = [
        lib.GDALGetDriverShortName(lib.GDALGetDriver(i)).decode()
        for i in range(lib.GDALGetDriverCount())
    ]
    others = [n for n in names if n not in BOUNDARY_DRIVERS]
    options = {**GDAL_LOCKDOWN, "GDAL_SKIP": ",".join(others)}  # also if drivers re-register
    for key, value in options.items():
        lib.CPLSetConfigOption(key.encode(), value.encode())
    for driver_name in others:
        handle = lib.GDALGetDriverByName(driver_name.encode())
        if handle:
            lib.GDALDeregisterDriver(handle)

    # Every CPLHTTPFetch (a GeoJSON "crs" link, anything else) fails without touching the network:
    # the hook answers with a failed result (nStatus = 1, no data) allocated by GDAL itself.
    fetch_type = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p, *(ctypes.c_void_p,) * 6)

    def refuse_fetch(url: bytes | None, *_: object) -> int:
        _REFUSED_FETCHES[0] += 1
        result = lib.CPLCalloc(1, 512)  # CPLHTTPResult is < 100 bytes; all fields zero
        ctypes.c_int.from_address(result).value = 1  # nStatus, its first field: failed
        return result

    hook = fetch_type(refuse_fetch)
    lib.CPLHTTPSetFetchCallback.argtypes = [fetch_type, ctypes.c_void_p]
    lib.CPLHTTPSetFetchCallback(hook, None)
    lib.OSRSetPROJEnableNetwork(0)
    try:
        import pyproj.network

        pyproj.network.set_network_enabled(False)
    except ImportError:  # pragma: no cover - pyproj is a dependency
        pass
    _quiet_gdal_warnings()

    left = sorted(pyogrio.list_drivers())
    if not set(left) <= set(BOUNDARY_DRIVERS) or "GeoJSON" not in left:
        raise RuntimeError(f"GDAL still offers drivers {left}")
    for key, value in options.items():
        got = lib.CPLGetConfigOption(key.encode(), None)
        if (got or b"").decode() != value:
            raise RuntimeError(f"GDAL option {key} did not take")
    return {"pyogrio": pyogrio, "hook": hook, "lib": lib, "drivers": left}


def _quiet_gdal_warnings() -> None:
    """GDAL's own warnings (through pyogrio) never reach stderr; refusals say what matters.

    Added again before every read (``filterwarnings`` replaces an identical filter), since a
    test runner or another ``catch_warnings`` may have reset the list since the lock-down.
    """
    warnings.filterwarnings("ignore", module=r"pyogrio(\.|$)")


def _sniff(data: bytes) -> str:
    """What a file is, from its first bytes: zip, sqlite, shp, json, xml or unknown."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if data[:16] == b"SQLite format 3\x00":
        return "sqlite"
    if data[:4] == b"\x00\x00\x27\x0a" and data[28:32] == b"\xe8\x03\x00\x00":
        return "shp"  # file code 9994 (big-endian), version 1000 (little-endian)
    text = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "json"
    if text[:1] == b"<":
        return "xml"
    return "unknown"


@dataclass
class _Staged:
    """A file written into our temporary folder, and the one driver that may open it."""

    path: Path
    driver: str
    layer: str | None = None
    name: str = ""  # the user's name for the data set (the file, or the member of a .zip)


def _read_any(
    source: bytes | str | Path, name: str | None, warnings_: list[str]
) -> tuple[gpd.GeoDataFrame, str | None, str | None]:
    """Read the first polygon layer of whatever ``source`` is; returns (frame, driver, layer)."""
    display = name if name else _source_label(source)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str) and source.lstrip().startswith("{"):
        data = source.encode("utf-8")
    else:
        data = _read_path(Path(source))
    origin = "beside it" if Path(display).suffix.lower() == ".shp" else "in the .zip"
    if not data or (len(data) < 1 << 16 and not data.strip()):
        raise BoundaryRefused("empty", "The boundary file is empty (0 bytes).")
    with tempfile.TemporaryDirectory(prefix="neighbourhood-wards-") as tmp:
        folder = Path(tmp)
        staged = _stage(data, display, folder, warnings_, origin)
        return _read_dataset(staged, display, folder, warnings_)


def _read_path(path: Path) -> bytes:
    """The bytes of a boundary file on disk; a ``.shp`` comes with its side files (a .zip)."""
    if path.is_symlink():  # never followed: nothing of what it points at is read or shown
        try:
            safe_io.check_regular(path)
        except safe_io.InputRefused as exc:
            raise BoundaryRefused("unreadable", exc.message) from None
    try:
        info = path.stat()
    except FileNotFoundError:
        raise BoundaryRefused("unreadable", f"No such boundary file: {path}.") from None
    except OSError as exc:
        raise BoundaryRefused(
            "unreadable", f"The boundary file {path} could not be read ({exc.strerror or exc})."
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise BoundaryRefused(
            "unreadable",
            f"{path} is a folder: give the boundary file inside it (for a shapefile, the .shp: "
            "its side files are read with it).",
        )
    if not stat.S_ISREG(info.st_mode):
        raise BoundaryRefused(
            "unreadable",
            f"{path} is not a regular file (a folder, device or pipe): nothing was read from it.",
        )
    if info.st_size == 0:
        raise BoundaryRefused("empty", f"The boundary file {path.name} is empty (0 bytes).")
    if info.st_size > _MAX_BOUNDARY_BYTES:
        raise BoundaryRefused("too_large", _too_large(path.name))
    if path.suffix.lower() == ".shp":
        return bundle_shapefile(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BoundaryRefused(
            "unreadable", f"The boundary file {path} could not be read ({exc.strerror or exc})."
        ) from None


def bundle_shapefile(path: str | Path) -> bytes:
    """A ``.shp`` and the side files beside it (``.shx``, ``.dbf``, ``.prj``, ``.cpg``) as one zip.

    This is how a shapefile given by path is read and fingerprinted: the .zip holds exactly the
    parts :func:`read_boundaries` would take from an uploaded .zip, under their own names, in a
    fixed order with fixed dates, so the same files always give the same bytes (and SHA-256).

    Parameters
    ----------
    path : str or Path
        The ``.shp`` file; side files are matched by name, ignoring case.

    Returns
    -------
    bytes
        A zip archive.

    Raises
    ------
    BoundaryRefused
        The ``.shx`` or ``.dbf`` is missing (``missing_part``), or a part is not a regular file
        (a link, a folder), or too large.

    Examples
    --------
    >>> data = bundle_shapefile("wards/Lwards.shp")  # doctest: +SKIP
    >>> read_boundaries(data, "Lwards.shp").report["driver"]  # doctest: +SKIP
    'ESRI Shapefile'
    """
    path = Path(path)
    stem = path.stem.lower()
    parts: dict[str, Path] = {".shp": path}
    try:
        entries = list(os.scandir(path.parent))
    except OSError as exc:
        raise BoundaryRefused(
            "unreadable", f"The folder of {path} could not be listed ({exc.strerror or exc})."
        ) from None
    for entry in sorted(entries, key=lambda e: e.name):
        base, dot, ext = entry.name.rpartition(".")
        ext = f".{ext.lower()}"
        if not dot or base.lower() != stem or ext not in _SHAPEFILE_PARTS or ext == ".shp":
            continue
        if not entry.is_file(follow_symlinks=False):
            raise BoundaryRefused(
                "unreadable",
                f"{entry.name} beside {path.name} is a link or not a regular file: copy the real "
                "file there (links are not followed).",
            )
        parts.setdefault(ext, Path(entry.path))
    _require_shapefile_parts(set(parts), path.name, "beside it", path.stem)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for ext in sorted(parts):
            try:
                data = parts[ext].read_bytes()
            except OSError as exc:
                raise BoundaryRefused(
                    "unreadable",
                    f"{parts[ext].name} could not be read ({exc.strerror or exc}).",
                ) from None
            if len(data) > _MAX_BOUNDARY_BYTES:
                raise BoundaryRefused("too_large", _too_large(parts[ext].name))
            zf.writestr(zipfile.ZipInfo(f"{path.stem}{ext}", (1980, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _require_shapefile_parts(have: set[str], shp_name: str, origin: str, stem: str) -> None:
    for ext in (".shx", ".dbf"):
        if ext not in have:
            raise BoundaryRefused(
                "missing_part",
                f"The shapefile {shp_name} has no {ext} file {origin} (its "
                f"{_SHAPEFILE_PARTS[ext]}): add {stem}{ext} from the same folder "
                "and try again.",
            )


def _too_large(what: str) -> str:
    return (
        f"{what} is larger than {_MAX_BOUNDARY_BYTES // 1024**3} GiB, far more than any ward "
        "boundary file: nothing was read."
    )


def _stage(data: bytes, display: str, folder: Path, warnings_: list[str], origin: str) -> _Staged:
    """Check what ``data`` is and write it into ``folder`` under a name we choose."""
    kind = _sniff(data)
    if kind == "zip":
        return _stage_zip(data, display, folder, warnings_, origin)
    if kind == "sqlite":
        path = folder / "upload.gpkg"
        path.write_bytes(data)
        return _Staged(path, "GPKG", _geopackage_layer(path, warnings_), display)
    if kind == "json":
        driver = _check_json(data)
        path = folder / ("upload.topojson" if driver == "TopoJSON" else "upload.geojson")
        path.write_bytes(data)
        return _Staged(path, driver, name=display)
    if kind == "shp":
        raise BoundaryRefused(
            "missing_part",
            "This is only the .shp part of a shapefile: the ward codes are in its .dbf and the "
            "coordinate system in its .prj. Put the .shp, .shx, .dbf and .prj in one .zip and "
            "load that.",
        )
    if kind == "xml":
        raise BoundaryRefused(
            "unreadable",
            f"The boundary file could not be read: it is an XML document (GML, KML or GDAL's "
            f"virtual format), and only {_FORMATS} are read. Save the wards as GeoJSON or a "
            "GeoPackage.",
        )
    if Path(display).suffix.lower() == ".zip":
        raise BoundaryRefused(
            "unreadable", "The .zip file could not be opened: it is not a zip archive."
        )
    raise BoundaryRefused(
        "unreadable",
        f"The boundary file could not be read: it is not {_FORMATS}"
        + (" (it looks like text, perhaps a table)." if _looks_like_text(data) else "."),
    )


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096]
    return b"\x00" not in head and sum(b < 9 or 13 < b < 32 for b in head) == 0


def _stage_zip(
    data: bytes, display: str, folder: Path, warnings_: list[str], origin: str
) -> _Staged:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise BoundaryRefused(
            "unreadable", "The .zip file could not be opened: it is damaged or not a zip archive."
        ) from None
    with zf:
        members = [
            i
            for i in infos
            if not i.is_dir()
            and (i.external_attr >> 16) & 0o170000 != 0o120000  # symbolic links: never
            and not _member_name(i).startswith("__MACOSX/")
            and not PurePosixPath(_member_name(i)).name.startswith(".")
        ]
        names = [_member_name(i) for i in members]
        datasets = [i for i in members if _suffix(i) in _ZIP_DATASETS]
        if not datasets:
            others = sorted({_suffix(i) for i in members} & set(_NOT_READ_SUFFIXES))
            raise BoundaryRefused(
                "unreadable",
                f"The .zip file holds no boundary file ({_FORMATS.replace('a zipped ', '')}"
                f"); it contains: {_short_list(names) or 'nothing'}."
                + (
                    f" {', '.join(others)} files are not read: save the wards as GeoJSON or "
                    "a GeoPackage."
                    if others
                    else ""
                ),
            )
        if len(datasets) > 1:
            raise BoundaryRefused(
                "ambiguous_source",
                f"The .zip file holds several boundary files "
                f"({_short_list([_member_name(i) for i in datasets])}); upload a .zip with "
                "just one.",
            )
        member = datasets[0]
        label = PurePosixPath(_member_name(member)).name
        if _suffix(member) == ".shp":
            stem = _member_name(member)[:-4].lower()
            parts: dict[str, zipfile.ZipInfo] = {}
            for info in members:
                ext = _suffix(info)
                if ext in _SHAPEFILE_PARTS and _member_name(info)[: -len(ext)].lower() == stem:
                    parts.setdefault(ext, info)
            shp_stem = PurePosixPath(_member_name(member)).stem
            _require_shapefile_parts(set(parts), label, origin, shp_stem)
            if ".prj" not in parts:
                warnings_.append(
                    f"The shapefile {label} has no .prj file {origin} (its coordinate system)."
                )
            for ext, info in parts.items():
                _extract(zf, info, folder / f"upload{ext}")
            with (folder / "upload.shp").open("rb") as fh:
                if _sniff(fh.read(100)) != "shp":
                    raise BoundaryRefused(
                        "unreadable", f"{label} is not a shapefile (its header is not one)."
                    )
            return _Staged(folder / "upload.shp", "ESRI Shapefile", name=label)
        target = folder / f"member{_suffix(member)}"
        _extract(zf, member, target)
    inner = target.read_bytes()
    if _sniff(inner) not in ("sqlite", "json"):
        raise BoundaryRefused(
            "unreadable",
            f"{label} in the .zip is not {_FORMATS.replace(' or a zipped Shapefile', '')}.",
        )
    target.unlink()
    return _stage(inner, label, folder, warnings_, origin)


def _member_name(info: zipfile.ZipInfo) -> str:
    return info.filename.replace("\\", "/")


def _suffix(info: zipfile.ZipInfo) -> str:
    return PurePosixPath(_member_name(info)).suffix.lower()


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> None:
    """Copy one member to ``dest`` (a name we chose), stopping at the size cap as bytes come out."""
    label = PurePosixPath(_member_name(info)).name
    if info.flag_bits & 0x1:
        raise BoundaryRefused(
            "unreadable", f"{label} in the .zip is password-protected: nothing was read."
        )
    written = 0
    try:
        with zf.open(info) as src, dest.open("xb") as out:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > _MAX_BOUNDARY_BYTES:
                    raise BoundaryRefused("too_large", _too_large(f"{label} in the .zip"))
                out.write(chunk)
    except BoundaryRefused:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
        raise BoundaryRefused(
            "unreadable", f"{label} in the .zip could not be extracted: the .zip is damaged."
        ) from None


class _NonFinite(ValueError):
    pass


class _BadCrsMember(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NonFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not np.isfinite(value):
        raise _NonFinite(f"a number too large to hold ({text[:20]})")
    return value


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    for key, value in pairs:
        if key == "crs":
            _check_crs_member(value)
    return dict(pairs)


def _check_crs_member(value: Any) -> None:
    """A ``crs`` member may name a CRS (``name``) or give an EPSG code; never point elsewhere."""
    if value is None:
        return
    if isinstance(value, dict):
        kind = str(value.get("type", "")).lower()
        props = value.get("properties")
        props = props if isinstance(props, dict) else {}
        if kind == "name" and isinstance(props.get("name"), str):
            return
        if kind == "epsg" and str(props.get("code", "")).strip().isdigit():
            return
        raise _BadCrsMember(kind or "(none)")
    raise _BadCrsMember(type(value).__name__)


def _check_json(data: bytes) -> str:
    """Validate GeoJSON/TopoJSON text; returns the driver (``GeoJSON`` or ``TopoJSON``)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # the structure is ASCII; GDAL reads the original bytes
    try:
        doc = json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            object_pairs_hook=_json_object,
            strict=False,
        )
    except _NonFinite as exc:
        raise BoundaryRefused(
            "invalid_coordinates",
            f"The file has {exc} where a number should be: GeoJSON coordinates must be finite "
            "numbers. Fix or remove those features and export the file again.",
        ) from None
    except _BadCrsMember as exc:
        raise BoundaryRefused(
            "unknown_crs",
            f"The file's 'crs' member is of type '{exc}', which points to another file or web "
            "address: it is not followed. Give the coordinate system by name (for example "
            '"EPSG:27700") or remove the member; without it GeoJSON is longitude/latitude.',
        ) from None
    except json.JSONDecodeError as exc:
        ended = exc.pos >= len(text.rstrip())
        detail = (
            "Unterminated JSON, the text ends before every object and list is closed"
            if ended
            else exc.msg
        )
        raise BoundaryRefused(
            "unreadable",
            f"The file is not valid GeoJSON. At line {exc.lineno}, character {exc.colno}: "
            f"{detail}.",
        ) from None
    except (RecursionError, ValueError):
        raise BoundaryRefused(
            "unreadable", "The file is not valid GeoJSON (nested too deeply or a number too long)."
        ) from None
    kind = str(doc.get("type", "")) if isinstance(doc, dict) else ""
    if kind.lower() == "topology":
        return "TopoJSON"
    if kind.lower() in _GEOJSON_TYPES:
        return "GeoJSON"
    if isinstance(doc, dict) and ("geometryType" in doc or "spatialReference" in doc):
        what = "it is ESRI JSON, which is not read"
    else:
        what = 'it has no "type": "FeatureCollection"'
    raise BoundaryRefused(
        "unreadable",
        f"The boundary file could not be read: it is JSON but not GeoJSON or TopoJSON ({what}).",
    )


_GEOJSON_TYPES: Final = {
    "featurecollection",
    "feature",
    "polygon",
    "multipolygon",
    "geometrycollection",
    "point",
    "multipoint",
    "linestring",
    "multilinestring",
}

#: Names of the triggers the GeoPackage standard and GDAL create (inert on a read-only open).
_GPKG_TRIGGER = re.compile(
    r"(rtree_.+|gpkg_.+|trigger_(insert|delete)_feature_count_.+|.+_(zoom|tile_column|tile_row)"
    r"_(insert|update))",
    re.IGNORECASE,
)
_GPKG_APPLICATION_IDS: Final = {0x47504B47, 0x47503130, 0x47503131}  # GPKG, GP10, GP11
_POLYGONAL_TYPES: Final = {
    "POLYGON",
    "MULTIPOLYGON",
    "CURVEPOLYGON",
    "MULTISURFACE",
    "SURFACE",
    "GEOMETRY",
    "GEOMETRYCOLLECTION",
}


def _geopackage_layer(path: Path, warnings_: list[str]) -> str:
    """Check a GeoPackage can reach nothing outside itself; return the feature table to read.

    Opened read-only and immutable with Python's sqlite3 (no GDAL functions registered, trusted
    schema off). Refused: an SQLite file that is not a GeoPackage, any view (a view runs SQL on
    every read, and GDAL would evaluate it), a virtual table other than the R*Tree spatial index,
    a trigger not named as the standard ones, a generated column in the table read. Only tables
    that ``gpkg_contents`` lists as ``features`` are candidates.
    """
    import sqlite3

    try:
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        raise BoundaryRefused("unreadable", "The GeoPackage could not be opened.") from None
    try:
        con.execute("PRAGMA trusted_schema = OFF")
        app_id = int(con.execute("PRAGMA application_id").fetchone()[0])
        schema = con.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        tables = {str(n) for t, n, _ in schema if t == "table"}
        if app_id not in _GPKG_APPLICATION_IDS and "gpkg_contents" not in tables:
            raise BoundaryRefused(
                "unreadable",
                "The file is an SQLite database but not a GeoPackage: save the wards as a "
                "GeoPackage or GeoJSON.",
            )
        views = sorted(str(n) for t, n, _ in schema if t == "view")
        if views:
            raise BoundaryRefused(
                "unsafe_geopackage",
                f"The GeoPackage holds database views ({_short_list(views)}); only plain "
                "tables are read. Export the ward layer to a new GeoPackage (QGIS: Export > "
                "Save Features As) and load that.",
            )
        virtual = sorted(
            str(n)
            for t, n, sql in schema
            if t == "table"
            and re.match(r"\s*CREATE\s+VIRTUAL\s+TABLE", sql or "", re.IGNORECASE)
            and not re.search(r"\bUSING\s+rtree(_i32)?\s*\(", sql or "", re.IGNORECASE)
        )
        triggers = sorted(
            str(n) for t, n, _ in schema if t == "trigger" and not _GPKG_TRIGGER.fullmatch(str(n))
        )
        if virtual or triggers:
            listed = _short_list(virtual + triggers)
            raise BoundaryRefused(
                "unsafe_geopackage",
                f"The GeoPackage holds virtual tables or triggers that are not part of the "
                f"GeoPackage standard ({listed}). Export the ward layer to a new GeoPackage and "
                "load that.",
            )
        if "gpkg_contents" not in tables:
            raise BoundaryRefused("no_polygons", "The GeoPackage lists no feature tables.")
        rows = con.execute(
            "SELECT c.table_name, upper(coalesce(g.geometry_type_name, '')) "
            "FROM gpkg_contents c LEFT JOIN gpkg_geometry_columns g "
            "ON g.table_name = c.table_name WHERE lower(c.data_type) = 'features' "
            "ORDER BY c.rowid"
        ).fetchall()
        layers = [(str(n), str(t)) for n, t in rows if str(n) in tables]
        if not layers:
            raise BoundaryRefused("no_polygons", "The GeoPackage has no feature tables.")
        polygonal = [n for n, t in layers if t in _POLYGONAL_TYPES]
        layer = polygonal[0] if polygonal else layers[0][0]
        hidden = con.execute("SELECT name, hidden FROM pragma_table_xinfo(?)", (layer,)).fetchall()
        generated = [str(n) for n, h in hidden if int(h or 0) in (2, 3)]
        if generated:
            raise BoundaryRefused(
                "unsafe_geopackage",
                f"The table {layer} has computed columns ({_short_list(generated)}), which run "
                "SQL when read. Export the ward layer to a new GeoPackage and load that.",
            )
    except sqlite3.Error:
        raise BoundaryRefused(
            "unreadable", "The GeoPackage is damaged: its tables could not be listed."
        ) from None
    finally:
        con.close()
    if len(layers) > 1:
        warnings_.append(
            f"The file has {len(layers)} layers ({_short_list([n for n, _ in layers])}); read "
            f"'{layer}'."
        )
    return layer


def _read_dataset(
    staged: _Staged, display: str, folder: Path, warnings_: list[str]
) -> tuple[gpd.GeoDataFrame, str | None, str | None]:
    try:
        pyogrio = _gdal()
    except _BoundaryReaderUnsafe:
        raise BoundaryRefused(
            "reader_unavailable",
            "Boundary files cannot be opened safely on this server (the GDAL reader could not "
            "be locked down), so none is read. Tell the administrator.",
        ) from None
    from pyogrio.errors import DataLayerError, DataSourceError

    src = str(staged.path)
    layer = staged.layer
    _quiet_gdal_warnings()
    try:
        with np.errstate(all="ignore"):
            if layer is None:
                layers = pyogrio.list_layers(src)
                if len(layers) > 1:
                    polygonal = [
                        str(n) for n, t in layers if t is None or "polygon" in str(t).lower()
                    ]
                    layer = polygonal[0] if polygonal else str(layers[0][0])
                    warnings_.append(
                        f"The file has {len(layers)} layers ({_short_list(layers[:, 0])}); read "
                        f"'{layer}'."
                    )
                elif len(layers):
                    layer = str(layers[0][0])
            info = pyogrio.read_info(src, layer=layer)
            if info.get("driver") != staged.driver:  # cannot happen with the lock-down; checked
                raise BoundaryRefused(
                    "unreadable",
                    f"The boundary file was recognised as {info.get('driver')}, not "
                    f"{staged.driver}: it is not read.",
                )
            frame = pyogrio.read_dataframe(src, layer=layer)
    except shapely.errors.GEOSException as exc:
        raise BoundaryRefused(
            "invalid_geometry",
            f"A shape in the file cannot be built ({_geos_reason(exc)}): a ring that does not "
            "close, or a coordinate that is missing or not a number. Repair the file and export "
            "it again.",
        ) from None
    except (DataSourceError, DataLayerError, RuntimeError, OSError, ValueError) as exc:
        raise BoundaryRefused(
            "unreadable",
            f"The boundary file could not be read as {_FORMATS} "
            f"({_gdal_message(exc, staged.path, display, folder)}).",
        ) from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise BoundaryRefused("no_polygons", "The file has no geometry column.")
    if layer == staged.path.stem:  # the name of our temporary file: say the user's instead
        layer = PurePosixPath(staged.name).stem or None
    return frame, info.get("driver"), layer


def _geos_reason(exc: Exception) -> str:
    text = str(exc).split(":", 1)[-1].strip()
    return re.sub(r"[^\w ,.'-]", "", text)[:120] or "invalid geometry"


def _gdal_message(exc: Exception, path: Path, display: str, folder: Path) -> str:
    """GDAL's reason, without our temporary paths or any other server path."""
    text = str(exc).replace(str(path), display).replace(str(folder), "the upload")
    text = re.sub(r"'?/vsi\w+/\S*'?", "the file", text)
    text = re.sub(r"(?<![\w.])/(?:[^\s'\"/]+/)+[^\s'\"]*", "a file", text)
    text = "".join(ch for ch in text if ch.isprintable())
    return text.split(";")[0].strip().rstrip(".")[:200]


def _keep_polygons(
    raw: gpd.GeoDataFrame, warnings_: list[str], report: dict[str, Any]
) -> gpd.GeoDataFrame:
    geoms = shapely.force_2d(raw.geometry.to_numpy())
    kinds = shapely.get_type_id(geoms)  # -1 missing, 3 Polygon, 6 MultiPolygon, 7 collection
    collection = kinds == 7
    if collection.any():
        geoms[collection] = [_polygonal_part(g) for g in geoms[collection]]
        kinds = shapely.get_type_id(geoms)
    keep = np.isin(kinds, (3, 6)) & ~shapely.is_empty(geoms)
    if not keep.any():
        found = sorted({str(t) for t in raw.geom_type.dropna().unique()})
        raise BoundaryRefused(
            "no_polygons",
            "The file has no polygons"
            + (f" (it holds {', '.join(found)} features)." if found else " (no geometries)."),
        )
    if not keep.all():
        dropped = int((~keep).sum())
        report["dropped"] = [int(i) for i in np.flatnonzero(~keep)]
        warnings_.append(
            f"{dropped} feature(s) without a polygon (points, lines or empty geometry) were "
            "ignored."
        )
    out = raw.loc[keep].copy()
    out = out.set_geometry(geoms[keep], crs=raw.crs)
    return out.reset_index(drop=True)


def _polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if shapely.get_type_id(p) in (3, 6) and not p.is_empty]
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.union_all(polys)


def _key(column: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(column).lower())


_ONS_WARD_CODE = re.compile(r"wd(\d{2})cd")
_ONS_WARD_NAME = re.compile(r"wd(\d{2})nm")
_ONS_CODE_VALUE = re.compile(r"[EWSNK]\d{8}")
# Generic names, most specific first (keys are lower-case with punctuation removed).
_CODE_NAMES = (
    "wardcode",
    "wardcd",
    "wdcode",
    "wardgsscode",
    "gsscode",
    "onscode",
    "wardid",
    "code",
    "borocd",
    "boro_cd",
    "communitydistrict",
    "cd",
    "id",
)
_NAME_NAMES = (
    "wardname",
    "wardnm",
    "wdname",
    "name",
    "ward",
    "wardlabel",
    "label",
    "districtname",
)


def _year(two_digits: str) -> int:
    yy = int(two_digits)
    return 2000 + yy if yy < 70 else 1900 + yy


def _columns(gdf: gpd.GeoDataFrame) -> list[str]:
    return [c for c in gdf.columns if c != gdf.geometry.name]


def _pick_code_field(gdf: gpd.GeoDataFrame, explicit: str | None) -> tuple[str, list[str]]:
    cols = _columns(gdf)
    if explicit is not None:
        found = [c for c in cols if str(c).lower() == explicit.lower()]
        if not found:
            raise BoundaryRefused(
                "no_code_field",
                f"The ward code column '{explicit}' is not in the file (columns: "
                f"{_short_list(cols) or 'none'}).",
            )
        return found[0], [found[0]]
    ons = sorted(
        (c for c in cols if _ONS_WARD_CODE.fullmatch(str(c).lower())),
        key=lambda c: -_year(_ONS_WARD_CODE.fullmatch(str(c).lower()).group(1)),  # type: ignore[union-attr]
    )
    generic = []
    for wanted in _CODE_NAMES:
        generic += [c for c in cols if _key(c) == _key(wanted) and c not in generic]
    by_value = [
        c for c in cols if c not in ons and c not in generic and _looks_like_ons_codes(gdf[c])
    ]
    candidates = ons + by_value + generic
    if not candidates:
        raise BoundaryRefused(
            "no_code_field",
            "No ward code column found (looked for ONS-style WD23CD/WD11CD…, ward_code, code, "
            f"boro_cd, id, or a column of E05… codes); columns: {_short_list(cols) or 'none'}. "
            "Name the column explicitly.",
        )
    return candidates[0], [str(c) for c in candidates]


def _looks_like_ons_codes(values: pd.Series) -> bool:
    if values.dtype.kind in "biufcmM":
        return False
    text = values.dropna().astype(str).str.strip()
    return (
        len(text) > 0 and text.is_unique and bool(text.str.fullmatch(_ONS_CODE_VALUE.pattern).all())
    )


def _pick_name_field(
    gdf: gpd.GeoDataFrame, explicit: str | None, code_col: str
) -> tuple[str | None, list[str]]:
    cols = [c for c in _columns(gdf) if c != code_col]
    if explicit is not None:
        found = [c for c in cols if str(c).lower() == explicit.lower()]
        if not found:
            raise BoundaryRefused(
                "no_code_field",
                f"The ward name column '{explicit}' is not in the file (columns: "
                f"{_short_list(cols) or 'none'}).",
            )
        return found[0], [found[0]]
    candidates: list[str] = []
    match = _ONS_WARD_CODE.fullmatch(str(code_col).lower())
    if match:  # the name that pairs with the chosen code (WD23CD -> WD23NM)
        candidates += [c for c in cols if str(c).lower() == f"wd{match.group(1)}nm"]
    candidates += sorted(
        (c for c in cols if _ONS_WARD_NAME.fullmatch(str(c).lower()) and c not in candidates),
        key=lambda c: -_year(_ONS_WARD_NAME.fullmatch(str(c).lower()).group(1)),  # type: ignore[union-attr]
    )
    for wanted in _NAME_NAMES:
        candidates += [c for c in cols if _key(c) == wanted and c not in candidates]
    candidates = [c for c in candidates if gdf[c].dtype.kind not in "biufcmM"]
    return (candidates[0] if candidates else None), [str(c) for c in candidates]


_LA_CODE_FIELD = re.compile(
    r"(lad|ltla|lau1|la|lad_?code|la_?code|local_?authority_?code)(\d{2})?cd|lad_?code|la_?code"
)
_LA_NAME_FIELD = re.compile(
    r"(lad|ltla|la)(\d{2})?nm|lad_?name|la_?name|district|local_?authority|council"
)


def local_authority_fields(gdf: Any) -> dict[str, str]:
    """The council a boundary file names in its own columns, when every ward names the same one.

    A column such as ``LAD23CD`` (or ``lad_code``) holding one English council code for every
    feature gives ``{"code": …}``; a column such as ``LAD23NM`` or ``district`` holding one name
    gives ``{"name": …}``. Kept in the ingest report, so that the comparison with other councils
    can open on the council whose wards these are (``neighbourhood.compare.default_council``).

    Examples
    --------
    >>> local_authority_fields(pd.DataFrame({"WD23CD": ["E1", "E2"], "district": ["Liverpool"] * 2}))
    {'name': 'Liverpool'}
    """
    out: dict[str, str] = {}
    geometry = gdf.geometry.name if isinstance(gdf, gpd.GeoDataFrame) else "geometry"
    for col in [c for c in gdf.columns if c != geometry]:
        key = str(col).strip().lower()
        if gdf[col].dtype.kind not in "OSUi" and str(gdf[col].dtype) not in ("string", "str"):
            continue
        values = gdf[col].dropna().astype("str").str.strip()
        values = values[values != ""].unique()
        if len(values) != 1 or len(values[0]) > 100:
            continue
        value = str(values[0])
        if "code" not in out and _LA_CODE_FIELD.fullmatch(key):
            if re.fullmatch(r"E0[6-9]\d{6}|E10\d{6}", value.upper()):
                out["code"] = value.upper()
        elif "name" not in out and _LA_NAME_FIELD.fullmatch(key):
            out["name"] = value
    return out


def _clean_codes(values: pd.Series) -> pd.Series:
    """Codes as stripped upper-case strings; ``101.0`` → ``"101"``; blanks → NA."""
    if values.dtype.kind == "f":
        whole = values.dropna()
        if (whole == np.floor(whole)).all():
            values = values.astype("Int64")
    text = values.astype("str").where(values.notna())
    text = text.str.strip().str.upper()
    return text.where(text.fillna("") != "").astype("str")


def _clean_names(values: pd.Series) -> pd.Series:
    text = values.astype("str").where(values.notna())
    text = text.str.replace(r"\s+", " ", regex=True).str.strip()
    return text.where(text.fillna("") != "").astype("str")


def _check_codes(codes: pd.Series, code_col: str) -> None:
    missing = codes.isna()
    if missing.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(missing)[:10])
        raise BoundaryRefused(
            "missing_codes",
            f"{int(missing.sum())} feature(s) have no ward code in column {code_col} "
            f"(feature {rows}).",
        )
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        raise BoundaryRefused(
            "duplicate_codes",
            f"Ward codes appear more than once in column {code_col}: "
            f"{_short_list(sorted(dup.unique()))}. Each ward must be one feature "
            "(dissolve multi-part wards into one MultiPolygon before uploading).",
        )


def _resolve_crs(wards: gpd.GeoDataFrame, warnings_: list[str]) -> tuple[str | None, CRS]:
    """Decide which CRS the coordinates are really in; returns (declared label, CRS to use).

    The rule (docs/geo.md "CRS"): numbers that cannot be in the declared CRS are re-read in the
    one CRS they fit (degrees, or British National Grid metres inside the UK) with a warning, or
    the file is refused; a set that lies outside the UK as declared gets a warning.
    """
    declared: CRS | None = wards.crs
    label = _crs_label(declared)
    xmin, ymin, xmax, ymax = (float(v) for v in wards.total_bounds)
    bounds = f"x {xmin:.6g} to {xmax:.6g}, y {ymin:.6g} to {ymax:.6g}"
    fits_lonlat = -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90
    fits_bng = _BNG_X[0] <= xmin and xmax <= _BNG_X[1] and _BNG_Y[0] <= ymin and ymax <= _BNG_Y[1]
    box = (xmin, ymin, xmax, ymax)
    bng_in_uk = fits_bng and _inside(_lonlat_box(BNG, box), _UK_LONLAT)
    if declared is None:
        if fits_lonlat:
            warnings_.append(
                f"The file declares no coordinate system; its coordinates ({bounds}) look like "
                "longitude/latitude, so WGS84 (EPSG:4326) was assumed."
            )
            used = CRS.from_user_input(WGS84)
        elif fits_bng:
            warnings_.append(
                f"The file declares no coordinate system; its coordinates ({bounds}) look like "
                "British National Grid metres, so EPSG:27700 was assumed."
            )
            used = CRS.from_user_input(BNG)
        else:
            raise BoundaryRefused(
                "unknown_crs",
                f"The file declares no coordinate system and its coordinates ({bounds}) are "
                "neither longitude/latitude nor British National Grid. Save it with a .prj / CRS "
                "and retry.",
            )
        _warn_outside_uk(_lonlat_box(used, box), warnings_)
        return None, used
    if declared.is_geographic and not fits_lonlat:
        if fits_bng:
            warnings_.append(
                f"The file says its coordinates are {label} (degrees), but they are impossible "
                f"as degrees ({bounds}) and fit British National Grid: read as EPSG:27700. "
                "The .prj file is probably wrong."
            )
            return label, CRS.from_user_input(BNG)
        raise BoundaryRefused(
            "unknown_crs",
            f"The file says its coordinates are {label} (degrees), but they are impossible as "
            f"degrees ({bounds}) and fit no coordinate system we can guess.",
        )
    if not declared.is_geographic and fits_lonlat:
        # Metres within ±180/±90 would put the whole set in a 360 m × 180 m box at the
        # projection's false origin (for BNG, the sea off the Scillies): these are degrees.
        what = "British National Grid" if declared.to_epsg() == 27700 else label
        warnings_.append(
            f"The file says its coordinates are {what} metres, but they look like "
            f"longitude/latitude ({bounds}): read as WGS84 (EPSG:4326)."
        )
        return label, CRS.from_user_input(WGS84)
    lonlat = _lonlat_box(declared, box)
    if lonlat is None:
        raise BoundaryRefused(
            "unknown_crs",
            f"The file says its coordinates are {label}, but its coordinates ({bounds}) cannot "
            "be converted from it to longitude/latitude: the coordinate system is wrong.",
        )
    area = declared.area_of_use
    if area is not None and not _meets(lonlat, area.bounds, margin=1.0):
        if bng_in_uk and declared.to_epsg() != 27700:
            warnings_.append(
                f"The file says its coordinates are {label}, but read that way they lie at "
                f"{_where(lonlat)}, outside where {label} is used ({area.name}); they fit "
                "British National Grid inside the UK: read as EPSG:27700."
            )
            return label, CRS.from_user_input(BNG)
        raise BoundaryRefused(
            "unknown_crs",
            f"The file says its coordinates are {label}, but read that way they would lie at "
            f"{_where(lonlat)}, outside where {label} is used ({area.name}). Check which "
            "coordinate system the file was saved in.",
        )
    if not _inside(lonlat, _UK_LONLAT) and bng_in_uk and declared.to_epsg() != 27700:
        if max(xmax - xmin, ymax - ymin) >= _MIN_EXTENT_M:
            warnings_.append(
                f"The file says its coordinates are {label}, but read that way the wards lie "
                f"outside the United Kingdom ({_where(lonlat)}), and as British National Grid "
                "metres they lie inside it: read as EPSG:27700."
            )
            return label, CRS.from_user_input(BNG)
    _warn_outside_uk(lonlat, warnings_)
    return label, declared


# Where a UK council's wards can lie (degrees: lon/lat of Great Britain, Northern Ireland, the
# Isles of Scilly, Orkney and Shetland). BNG's false origin (49.77 N) is just south of it.
_UK_LONLAT: Final = (-8.8, 49.8, 2.0, 61.0)
_MIN_EXTENT_M: Final = 100.0  # a boundary set narrower than this in metres is not metres


def _lonlat_box(
    crs: CRS | str, box: tuple[float, float, float, float]
) -> tuple[float, float, float, float] | None:
    """The lon/lat bounds of ``box`` (in ``crs``), or None when it cannot be converted."""
    try:
        out = Transformer.from_crs(crs, WGS84, always_xy=True).transform_bounds(
            *box, densify_pts=21
        )
    except Exception:  # pyproj raises ProjError and others for impossible input
        return None
    if not np.isfinite(out).all():
        return None
    return tuple(float(v) for v in out)  # type: ignore[return-value]


def _inside(box: tuple[float, ...] | None, outer: tuple[float, ...]) -> bool:
    return (
        box is not None
        and outer[0] <= box[0]
        and box[2] <= outer[2]
        and outer[1] <= box[1]
        and box[3] <= outer[3]
    )


def _meets(box: tuple[float, ...], outer: tuple[float, ...], margin: float) -> bool:
    return not (
        box[2] < outer[0] - margin
        or box[0] > outer[2] + margin
        or box[3] < outer[1] - margin
        or box[1] > outer[3] + margin
    )


def _where(box: tuple[float, ...]) -> str:
    lon, lat = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return f"around latitude {lat:.2f}, longitude {lon:.2f}"


def _warn_outside_uk(lonlat: tuple[float, ...] | None, warnings_: list[str]) -> None:
    if lonlat is not None and not _inside(lonlat, _UK_LONLAT):
        warnings_.append(
            f"The wards lie outside the United Kingdom ({_where(lonlat)}). If they should be in "
            "the UK, the file's coordinate system is wrong; check it before loading cases."
        )


def _crs_label(crs: CRS | None) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _repair(wards: gpd.GeoDataFrame, warnings_: list[str], report: dict[str, Any]) -> np.ndarray:
    geoms = wards.geometry.to_numpy().copy()
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    for i in invalid:
        code, name = wards["ward_code"].iat[i], wards["ward_name"].iat[i]
        reason = shapely.is_valid_reason(geoms[i])
        fixed = _polygonal_part(shapely.make_valid(geoms[i]))
        if fixed.is_empty or fixed.area <= 0:
            raise BoundaryRefused(
                "invalid_geometry",
                f"The polygon of ward {name} ({code}) is invalid ({reason}) and has no area "
                "once repaired.",
            )
        before = float(shapely.area(geoms[i]))
        change = "" if before <= 0 else f"; area changed by {abs(fixed.area / before - 1):.2%}"
        warnings_.append(
            f"The polygon of ward {name} ({code}) was invalid ({reason}) and was repaired{change}."
        )
        report["repaired"].append(str(code))
        geoms[i] = fixed
    return geoms


def _short_list(values: Sequence[object] | pd.Series | np.ndarray, limit: int = 8) -> str:
    items = [str(v) for v in list(values)]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


# --------------------------------------------------------------------------------------------
# Assigning cases to wards
# --------------------------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_NON_WORD = re.compile(r"[\W_]+")


def normalise_ward_name(name: object) -> str | None:
    """Normalise a ward name for exact matching.

    NFKC (so full-width and compatibility forms fold to plain letters), case-folded, ``&`` →
    ``and``, apostrophes removed, other punctuation and runs of spaces → one space. Letters from
    other scripts that merely look Latin (Cyrillic ``а``) are *not* folded, so such a name does
    not match (see ``docs/geo.md``).

    Parameters
    ----------
    name : object
        A ward name; ``None``/NaN/blank give ``None``.

    Returns
    -------
    str or None
        The matching key.

    Examples
    --------
    >>> normalise_ward_name("St. Michael's")
    'st michaels'
    >>> normalise_ward_name("Kensington & Fairfield") == normalise_ward_name("kensington and fairfield")
    True
    """
    if name is None or (isinstance(name, float) and np.isnan(name)) or name is pd.NA:
        return None
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    text = text.replace("&", " and ")
    text = _APOSTROPHES.sub("", text)
    text = _NON_WORD.sub(" ", text).strip()
    return text or None


def _non_latin_letters(text: str) -> list[str]:
    found = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN"):
            found.append(f"'{ch}' (U+{ord(ch):04X} {unicodedata.name(ch, 'unknown')})")
    return found


@dataclass(frozen=True)
class _WardIndex:
    codes: np.ndarray  # str, sorted
    names: np.ndarray
    geoms: np.ndarray
    by_code: dict[str, int]
    by_name: dict[str, int]
    ambiguous_names: frozenset[str]


def _ward_index(wards: gpd.GeoDataFrame) -> _WardIndex:
    if wards.crs is not None and CRS.from_user_input(wards.crs).to_epsg() != 4326:
        wards = wards.to_crs(WGS84)
    w = wards.sort_values("ward_code", kind="stable")
    codes = w["ward_code"].astype(str).str.strip().str.upper().to_numpy()
    names = w["ward_name"].astype(str).to_numpy()
    by_name: dict[str, int] = {}
    ambiguous: set[str] = set()
    for i, n in enumerate(names):
        key = normalise_ward_name(n)
        if key is None:
            continue
        if key in by_name:
            ambiguous.add(key)
        by_name[key] = i
    for key in ambiguous:
        by_name.pop(key, None)
    return _WardIndex(
        codes=codes,
        names=names,
        geoms=w.geometry.to_numpy(),
        by_code={c: i for i, c in enumerate(codes)},
        by_name=by_name,
        ambiguous_names=frozenset(ambiguous),
    )


def _locate_fast(x: np.ndarray, y: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """Index of the first ward (in the given order) whose closed polygon holds each point.

    Points are sorted by x once, so each ward's bounding box is a contiguous slice (no random
    gathers); inside the slice a y test narrows the candidates, then ``shapely.intersects_xy``
    against the prepared polygon (boundary included) decides. Points already taken by an earlier
    (lower-code) ward are skipped, which is the boundary rule.
    """
    out = np.full(len(x), -1, dtype=np.int64)
    if len(x) == 0:
        return out
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    found = np.full(len(x), -1, dtype=np.int64)  # in sorted order
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        prepared = shapely.from_wkb(shapely.to_wkb(geom))  # private copy: never mutate callers'
        shapely.prepare(prepared)
        xmin, ymin, xmax, ymax = prepared.bounds
        lo = int(np.searchsorted(xs, xmin, side="left"))
        hi = int(np.searchsorted(xs, xmax, side="right"))
        if hi <= lo:
            continue
        band = ys[lo:hi]
        cand = np.flatnonzero((band >= ymin) & (band <= ymax) & (found[lo:hi] < 0)) + lo
        if cand.size:
            hit = shapely.intersects_xy(prepared, xs[cand], ys[cand])
            found[cand[hit]] = i
    out[order] = found
    return out


#: Cells per side of the grid that settles most point-in-ward tests by a lookup (4 MB).
GRID_CELLS: Final[int] = 2048
#: Points in one call from which the grid is built: for fewer, the direct test is cheaper than
#: building it (about 0.06 s for the 64 Liverpool wards; built once per process and boundary set).
GRID_MIN_POINTS: Final[int] = 50_000
#: Value of a grid cell near a ward boundary: its points are tested one by one.
_NEAR_EDGE: Final[int] = -2
_GRIDS_KEPT: Final[int] = 4


@dataclass(frozen=True)
class _WardGrid:
    """Cells over the wards' bounding box, each the answer for every point in it, or near an edge.

    ``xe``/``ye`` are the cell edges; a point with ``xe[i] <= x <= xe[i + 1]`` and
    ``ye[j] <= y <= ye[j + 1]`` lies in the closed box of cell ``(j, i)``. ``cell[j, i]`` is the
    ward index (in the order given), ``-1`` for outside every ward, or :data:`_NEAR_EDGE`.
    """

    bounds: tuple[float, float, float, float]
    xe: np.ndarray
    ye: np.ndarray
    cell: np.ndarray


_GRIDS: dict[str, _WardGrid | None] = {}
_GRIDS_LOCK = threading.Lock()


def _cell_index(v: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index ``i`` of the cell whose closed interval ``[edges[i], edges[i + 1]]`` holds each value.

    Values must lie within ``[edges[0], edges[-1]]``. The arithmetic guess is checked against the
    edges themselves, so rounding can never put a value in the wrong cell.
    """
    n = len(edges) - 1
    i = ((v - edges[0]) * (n / (edges[-1] - edges[0]))).astype(np.int64)
    np.clip(i, 0, n - 1, out=i)
    i -= v < edges[i]
    i += (v >= edges[i + 1]) & (i < n - 1)
    wrong = (v < edges[i]) | (v > edges[i + 1])
    if wrong.any():  # never seen; the exact search settles it
        i[wrong] = np.clip(np.searchsorted(edges, v[wrong], side="right") - 1, 0, n - 1)
    return i


def _build_grid(geoms: np.ndarray, cells: int) -> _WardGrid | None:
    """The :class:`_WardGrid` of the wards, or None when they have no area to grid.

    Why a cell's answer is exact: every ward boundary (outer and inner rings) is cut into pieces
    no longer than half a cell's shorter side, and each piece's end points mark their cell and
    the eight around it. A boundary point inside a cell's closed box is at most a quarter of a
    cell from one such end point, so that cell is marked. An unmarked cell's box therefore
    touches no boundary: each ward holds all of it or none of it, and so do the neighbouring
    unmarked cells of its row (their boxes share an edge). Each such run of cells is answered by
    testing one centre with :func:`_locate_fast`, the same first-ward rule. Wards that are not
    valid polygons or multipolygons get no grid.
    """
    present = np.array([g for g in geoms if g is not None and not g.is_empty], dtype=object)
    if not len(present):
        return None
    polygonal = np.isin(shapely.get_type_id(present), [3, 6])  # Polygon, MultiPolygon
    if not polygonal.all() or not shapely.is_valid(present).all():
        return None  # a collection's boundary is undefined in GEOS: the direct test takes these
    xmin, ymin, xmax, ymax = (float(v) for v in shapely.total_bounds(present))
    if not (xmax > xmin and ymax > ymin):
        return None
    xe = np.linspace(xmin, xmax, cells + 1)
    ye = np.linspace(ymin, ymax, cells + 1)
    step = min((xmax - xmin) / cells, (ymax - ymin) / cells) / 2
    edge_xy = shapely.get_coordinates(shapely.segmentize(shapely.boundary(present), step))
    near = np.zeros((cells, cells), dtype=bool)
    near[_cell_index(edge_xy[:, 1], ye), _cell_index(edge_xy[:, 0], xe)] = True
    del edge_xy
    marked = near.copy()  # and the eight neighbours of each marked cell
    near[1:, :] |= marked[:-1, :]
    near[:-1, :] |= marked[1:, :]
    marked = near.copy()
    near[:, 1:] |= marked[:, :-1]
    near[:, :-1] |= marked[:, 1:]
    del marked
    free = ~near
    starts = free.copy()
    starts[:, 1:] &= near[:, :-1]  # the first free cell of each run in a row
    run = np.cumsum(starts.ravel(), dtype=np.int32).reshape(cells, cells)
    sy, sx = np.nonzero(starts)
    del starts
    centre = _locate_fast((xe[sx] + xe[sx + 1]) / 2, (ye[sy] + ye[sy + 1]) / 2, geoms)
    # the smallest integer type that holds every ward index (4 MB for up to 127 wards)
    dtype = next(t for t in (np.int8, np.int16, np.int32) if len(geoms) <= np.iinfo(t).max)
    answer = np.concatenate([[_NEAR_EDGE], centre]).astype(dtype)
    cell = np.where(free, answer[run], dtype(_NEAR_EDGE)).astype(dtype)
    return _WardGrid(bounds=(xmin, ymin, xmax, ymax), xe=xe, ye=ye, cell=cell)


def geometry_digest(geoms: Sequence[Any] | np.ndarray, labels: Sequence[str] | None = None) -> str:
    """SHA-256 (hex) of the geometries in order, by their WKB, each with its label if given.

    Two boundary sets get the same digest only when every shape (and label) is the same, in
    the same order. A missing geometry counts as an empty one.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> a = geometry_digest([box(0, 0, 1, 1)], ["E1"])
    >>> a == geometry_digest([box(0, 0, 1, 1)], ["E1"]), a == geometry_digest([box(0, 0, 1, 1)])
    (True, False)
    """
    digest = hashlib.sha256()
    wkbs = shapely.to_wkb(np.asarray(list(geoms), dtype=object))
    for i, wkb in enumerate(wkbs):
        parts = [b"" if wkb is None else bytes(wkb)]
        if labels is not None:
            parts.insert(0, str(labels[i]).encode())
        for part in parts:  # length first, so no two different sequences run together
            digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()


def _ward_grid(geoms: np.ndarray, build: bool) -> _WardGrid | None:
    """The grid of these wards from this process's cache; built first when ``build``."""
    key = f"{geometry_digest(geoms)}/{GRID_CELLS}"
    with _GRIDS_LOCK:
        if key in _GRIDS or not build:
            return _GRIDS.get(key)
    grid = _build_grid(geoms, GRID_CELLS)
    with _GRIDS_LOCK:
        while len(_GRIDS) >= _GRIDS_KEPT:
            _GRIDS.pop(next(iter(_GRIDS)))
        _GRIDS[key] = grid
    return grid


def _locate_grid(x: np.ndarray, y: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """:func:`_locate_fast`'s answer, most of it read off a :class:`_WardGrid`.

    Points outside the wards' bounding box are outside every ward; points in a cell away from
    every boundary take the cell's answer; the rest (near an edge) go through
    :func:`_locate_fast`. Below :data:`GRID_MIN_POINTS` points and without a grid already built
    for these wards, everything goes through :func:`_locate_fast`.
    """
    grid = _ward_grid(geoms, build=len(x) >= GRID_MIN_POINTS) if len(x) else None
    if grid is None:
        return _locate_fast(x, y, geoms)
    xmin, ymin, xmax, ymax = grid.bounds
    out = np.full(len(x), -1, dtype=np.int64)
    inside = np.flatnonzero((x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax))
    xi, yi = x[inside], y[inside]
    found = grid.cell[_cell_index(yi, grid.ye), _cell_index(xi, grid.xe)].astype(np.int64)
    edge = np.flatnonzero(found == _NEAR_EDGE)
    if edge.size:
        found[edge] = _locate_fast(xi[edge], yi[edge], geoms)
    out[inside] = found
    return out


def _locate_sjoin(x: np.ndarray, y: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """Reference implementation of :func:`_locate_fast` with ``geopandas.sjoin``."""
    out = np.full(len(x), -1, dtype=np.int64)
    if len(x) == 0:
        return out
    points = gpd.GeoDataFrame({"_point": np.arange(len(x))}, geometry=gpd.points_from_xy(x, y))
    polys = gpd.GeoDataFrame({"_order": np.arange(len(geoms))}, geometry=list(geoms))
    # Polygons on the left so the spatial index is built on the points and the polygons are
    # the (prepared) query geometries: 6x faster than points on the left, same answer.
    joined = gpd.sjoin(polys, points, how="inner", predicate="intersects")
    first = joined.groupby("_point")["_order"].min()
    out[first.index.to_numpy()] = first.to_numpy()
    return out


def assign_wards(frame: pd.DataFrame, wards: gpd.GeoDataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give every case a ward: by its point, else by its ward code, else by its ward name.

    Points are tested with ``shapely.intersects_xy`` against prepared ward polygons (closed
    sets, so a point on an edge or vertex counts), after an x/y bounding-box prefilter. Wards are
    tried in ``ward_code`` order and the first match wins, so **a point exactly on a shared edge
    belongs to the ward with the lowest code**. From :data:`GRID_MIN_POINTS` points, most are
    answered by a grid of the wards with the same result (:func:`_build_grid`; docs/geo.md).

    Rules:

    * coordinates inside a ward → that ward; a ``ward_code``/``ward_name`` in the row that
      disagrees is overridden (the point wins) and reported as ``W_WARD_MISMATCH`` (warning);
    * coordinates outside every ward → ``E_OUTSIDE_WARDS`` (row rejected), even if it carries a
      ward code;
    * no usable coordinates (missing, NaN or only one of the pair) → matched by ``ward_code``
      (trimmed, case-insensitive), else by ``ward_name`` after :func:`normalise_ward_name`
      (exact, never fuzzy; a ward code found in the name column is matched as a code); a
      code that is unknown but a name that matches → assigned by name with a
      ``W_WARD_MISMATCH`` warning; nothing matches → ``E_UNKNOWN_WARD``; nothing given →
      ``E_NO_LOCATION``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Cases with ``latitude``/``longitude`` (WGS84, may be NaN or absent) and optionally
        ``ward_code``, ``ward_name``, ``source_line``, ``case_id``.
    wards : geopandas.GeoDataFrame
        ``ward_code``, ``ward_name``, ``geometry`` (any CRS; reprojected to EPSG:4326 if needed).

    Returns
    -------
    assigned : pandas.DataFrame
        The rows that got a ward (original index kept), with ``ward_code`` and ``ward_name``
        taken from ``wards``. ``assigned.attrs["ward_assignment"]`` counts rows by method.
    rejects : pandas.DataFrame
        ``source_line``, ``case_id``, ``column``, ``value``, ``rule``, ``message``, ``severity``
        (``error`` = row not in ``assigned``, ``warning`` = row kept).

    Examples
    --------
    >>> cases = pd.DataFrame({"case_id": ["C1"], "latitude": [53.4066], "longitude": [-2.9916]})
    >>> assigned, rejects = assign_wards(cases, wards)  # doctest: +SKIP
    >>> assigned["ward_name"].tolist()  # doctest: +SKIP
    ['City Centre North']
    """
    return _assign(frame, wards, _locate_grid)


def assign_wards_sjoin(
    frame: pd.DataFrame, wards: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference implementation of :func:`assign_wards` using ``geopandas.sjoin``.

    Same rules and outputs; only the point-in-polygon step differs (``sjoin`` with
    ``predicate="intersects"``, then the lowest ward code per point). Tests check that the two
    agree exactly, including points on edges and vertices. About 5× slower.

    Parameters
    ----------
    frame : pandas.DataFrame
        As for :func:`assign_wards`.
    wards : geopandas.GeoDataFrame
        As for :func:`assign_wards`.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(assigned, rejects)`` as for :func:`assign_wards`.

    Examples
    --------
    >>> assigned, rejects = assign_wards_sjoin(cases, wards)  # doctest: +SKIP
    """
    return _assign(frame, wards, _locate_sjoin)


def _column(frame: pd.DataFrame, name: str) -> pd.Series | None:
    return frame[name] if name in frame.columns else None


def _float_array(values: pd.Series | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _code_key(value: object) -> str | None:
    """A ward code as a trimmed upper-case string; ``101.0`` → ``"101"``; blank → ``None``."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    text = str(value).strip().upper()
    return text or None


def _keys_and_wards(
    values: pd.Series | None,
    n: int,
    fn: Callable[[object], str | None] | None,
    table: dict[str, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: ``fn(value)`` (None when missing) and the ward index of that key (-1 if none).

    ``fn`` and the ward lookup run once per distinct value (codes and names repeat a lot in
    case extracts); rows get theirs by position, without a Python object per row on the way.
    """
    if values is None or n == 0:
        return np.full(n, None, dtype=object), np.full(n, -1, dtype=np.int64)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = np.asarray(uniques, dtype=object)
    keys = np.empty(len(distinct) + 1, dtype=object)  # the last slot is for missing values
    keys[:-1] = [fn(u) for u in distinct] if fn is not None else distinct
    keys[-1] = None
    wards = np.array([table.get(k, -1) if k is not None else -1 for k in keys], dtype=np.int64)
    codes = np.where(codes < 0, len(distinct), codes)
    return keys[codes], wards[codes]


def _assign(
    frame: pd.DataFrame,
    wards: gpd.GeoDataFrame,
    locate: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    w = _ward_index(wards)
    n = len(frame)
    lat = _float_array(_column(frame, "latitude"), n)
    lon = _float_array(_column(frame, "longitude"), n)
    has_xy = np.isfinite(lat) & np.isfinite(lon)

    ward = np.full(n, -1, dtype=np.int64)
    xy_rows = np.flatnonzero(has_xy)
    ward[xy_rows] = locate(lon[xy_rows], lat[xy_rows], w.geoms)

    given_code, code_idx = _keys_and_wards(_column(frame, "ward_code"), n, _code_key, w.by_code)
    given_name, _ = _keys_and_wards(_column(frame, "ward_name"), n, None, {})
    name_key, name_idx = _keys_and_wards(
        _column(frame, "ward_name"), n, normalise_ward_name, w.by_name
    )
    # A column headed "Ward" holds names as a rule, but some extracts put the ward's code in it
    _, code_in_name = _keys_and_wards(_column(frame, "ward_name"), n, _code_key, w.by_code)
    name_idx = np.where(name_idx >= 0, name_idx, code_in_name)
    has_code = pd.notna(given_code)
    has_name = pd.notna(name_key)

    no_xy = ~has_xy
    by_point = has_xy & (ward >= 0)
    by_code = no_xy & (code_idx >= 0)
    ward[by_code] = code_idx[by_code]
    by_name = no_xy & ~by_code & (name_idx >= 0)
    ward[by_name] = name_idx[by_name]

    def where(i: int) -> str:
        return f"{w.names[ward[i]]} ({w.codes[ward[i]]})"

    rows = _RejectBuilder(frame)
    # Errors: the row is not assigned.
    idx = np.flatnonzero(has_xy & (ward < 0))
    places = _fmt_degrees(lat[idx]) + ", " + _fmt_degrees(lon[idx])
    codes_given = pd.Series(given_code[idx], dtype="str")
    rows.add(
        idx,
        _LOCATION_COLUMN,
        places,
        RULE_OUTSIDE_WARDS,
        (
            "The location "
            + places
            + " is outside every ward of the city boundary"
            + (" (the row gives ward code " + codes_given + ").").fillna(".")
        ),
        "error",
    )
    unknown = no_xy & (ward < 0)
    idx = np.flatnonzero(unknown & has_code)
    rows.add(
        idx,
        "ward_code",
        given_code[idx],
        RULE_UNKNOWN_WARD,
        [
            f"Ward code {given_code[i]} is not in the current boundary set"
            + (f", and ward name '{given_name[i]}' matches no ward name." if has_name[i] else ".")
            for i in idx
        ],
        "error",
    )
    idx = np.flatnonzero(unknown & ~has_code & has_name)
    rows.add(
        idx,
        "ward_name",
        given_name[idx],
        RULE_UNKNOWN_WARD,
        [_unknown_name_message(given_name[i], name_key[i], w) for i in idx],
        "error",
    )
    idx = np.flatnonzero(unknown & ~has_code & ~has_name)
    rows.add(
        idx,
        _LOCATION_COLUMN,
        [""] * len(idx),
        RULE_NO_LOCATION,
        ["The row has no coordinates, ward code or ward name."] * len(idx),
        "error",
    )
    # Warnings: the row is kept.
    idx = np.flatnonzero(by_point & has_code & (code_idx != ward))
    rows.add(
        idx,
        "ward_code",
        given_code[idx],
        RULE_WARD_MISMATCH,
        [
            f"The row gives ward code {given_code[i]}, but its location lies in {where(i)}; "
            "the location wins."
            for i in idx
        ],
        "warning",
    )
    idx = np.flatnonzero(by_point & ~has_code & has_name & (name_idx != ward))
    rows.add(
        idx,
        "ward_name",
        given_name[idx],
        RULE_WARD_MISMATCH,
        [
            f"The row gives ward name '{given_name[i]}', but its location lies in {where(i)}; "
            "the location wins."
            for i in idx
        ],
        "warning",
    )
    idx = np.flatnonzero(by_code & has_name & (name_idx != ward))
    rows.add(
        idx,
        "ward_name",
        given_name[idx],
        RULE_WARD_MISMATCH,
        [
            f"The row gives ward name '{given_name[i]}', but its ward code {given_code[i]} is "
            f"{w.names[ward[i]]}; the code wins."
            for i in idx
        ],
        "warning",
    )
    idx = np.flatnonzero(by_name & has_code)
    rows.add(
        idx,
        "ward_code",
        given_code[idx],
        RULE_WARD_MISMATCH,
        [
            f"Ward code {given_code[i]} is not in the current boundary set; matched by ward "
            f"name to {where(i)}."
            for i in idx
        ],
        "warning",
    )

    keep = np.flatnonzero(ward >= 0)
    assigned = frame.iloc[keep].copy()
    take = pa.array(ward[keep])
    assigned["ward_code"] = pd.array(pa.array(w.codes.tolist()).take(take), dtype="str")
    assigned["ward_name"] = pd.array(pa.array(w.names.tolist()).take(take), dtype="str")
    assigned.attrs["ward_assignment"] = {
        "point": int(by_point.sum()),
        "code": int(by_code.sum()),
        "name": int(by_name.sum()),
    }
    return assigned, rows.frame()


def _unknown_name_message(given: object, key: str | None, w: _WardIndex) -> str:
    if key in w.ambiguous_names:
        return f"Ward name '{given}' matches more than one ward; give the ward code."
    odd = _non_latin_letters(str(given))
    if odd:
        return (
            f"Ward name '{given}' matches no ward: it contains letters from another script "
            f"that look like Latin ones ({', '.join(odd[:3])}). Names are matched exactly, "
            "never guessed."
        )
    return f"Ward name '{given}' matches no ward in the current boundary set."


def _as_str_array(
    values: Sequence[object] | np.ndarray | pd.Series,
) -> pd.api.extensions.ExtensionArray:
    if isinstance(values, pd.Series):
        return values.astype("str").array
    return pd.array([None if v is None else str(v) for v in values], dtype="str")


def _fmt_degrees(values: np.ndarray) -> pd.Series:
    """Degrees rounded to 6 dp as strings, vectorised (an Arrow cast)."""
    text = pc.cast(pa.array(np.round(values, 6)), pa.string())
    return pd.Series(pd.array(text, dtype="str"))


class _RejectBuilder:
    """Collects reject rows rule by rule, touching only the rows concerned."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._line = _column(frame, "source_line")
        self._case = _column(frame, "case_id")
        self._parts: list[pd.DataFrame] = []

    def add(
        self,
        idx: np.ndarray,
        column: str,
        values: Sequence[object] | np.ndarray | pd.Series,
        rule: str,
        messages: Sequence[str] | pd.Series,
        severity: str,
    ) -> None:
        if not len(idx):
            return
        line = (
            pd.array([pd.NA] * len(idx), dtype="Int64")
            if self._line is None
            else pd.array(pd.to_numeric(self._line.iloc[idx], errors="coerce"), dtype="Int64")
        )
        case = (
            pd.array([pd.NA] * len(idx), dtype="str")
            if self._case is None
            else self._case.iloc[idx].astype("str").array
        )
        self._parts.append(
            pd.DataFrame(
                {
                    "_row": idx,
                    "source_line": line,
                    "case_id": case,
                    "column": column,
                    "value": _as_str_array(values),
                    "rule": rule,
                    "message": _as_str_array(messages),
                    "severity": severity,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            out = pd.DataFrame({c: pd.Series(dtype="str") for c in REJECT_COLUMNS})
            out["source_line"] = pd.Series(dtype="Int64")
            return out
        out = pd.concat(self._parts, ignore_index=True)
        if len(self._parts) > 1:
            out = out.sort_values("_row", kind="stable").reset_index(drop=True)
        for col in ("column", "rule", "severity"):
            out[col] = out[col].astype("str")
        return out[list(REJECT_COLUMNS)]


# --------------------------------------------------------------------------------------------
# Coordinate conversion
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _transform(
    src: str, dst: str, x: Any, y: Any
) -> tuple[np.ndarray, np.ndarray] | tuple[float, float]:
    xa = np.asarray(x, dtype="float64")
    ya = np.asarray(y, dtype="float64")
    ox, oy = _transformer(src, dst).transform(xa, ya)
    ox = np.asarray(ox, dtype="float64")
    oy = np.asarray(oy, dtype="float64")
    bad = ~(np.isfinite(ox) & np.isfinite(oy) & np.isfinite(xa) & np.isfinite(ya))
    if bad.any():
        ox, oy = np.where(bad, np.nan, ox), np.where(bad, np.nan, oy)
    if ox.ndim == 0:
        return float(ox), float(oy)
    return ox, oy


def bng_to_wgs84(
    easting: Any, northing: Any
) -> tuple[np.ndarray, np.ndarray] | tuple[float, float]:
    """Convert British National Grid (EPSG:27700) eastings/northings to WGS84 lon/lat.

    Vectorised through a cached ``pyproj.Transformer`` (``always_xy=True``). NaN in gives NaN
    out.

    Parameters
    ----------
    easting, northing : float or array-like
        Metres.

    Returns
    -------
    (lon, lat) : tuple of numpy.ndarray, or of float for scalar input
        Degrees.

    Examples
    --------
    >>> lon, lat = bng_to_wgs84(334_177, 390_434)
    >>> round(lon, 4), round(lat, 4)
    (-2.9916, 53.4066)
    """
    return _transform(BNG, WGS84, easting, northing)


def wgs84_to_bng(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray] | tuple[float, float]:
    """Convert WGS84 lon/lat to British National Grid (EPSG:27700) eastings/northings.

    Parameters
    ----------
    lon, lat : float or array-like
        Degrees.

    Returns
    -------
    (easting, northing) : tuple of numpy.ndarray, or of float for scalar input
        Metres.

    Examples
    --------
    >>> e, n = wgs84_to_bng(-2.9916, 53.4066)
    >>> round(e), round(n)
    (334177, 390434)
    """
    return _transform(WGS84, BNG, lon, lat)


def _metric_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """BNG when the data lie in Great Britain, else the local UTM zone."""
    lonlat = gdf.to_crs(WGS84) if gdf.crs is not None else gdf.set_crs(WGS84)
    xmin, ymin, xmax, ymax = lonlat.total_bounds
    gx0, gy0, gx1, gy1 = _BNG_LONLAT
    if gx0 <= xmin and xmax <= gx1 and gy0 <= ymin and ymax <= gy1:
        return CRS.from_user_input(BNG)
    return lonlat.estimate_utm_crs()


# --------------------------------------------------------------------------------------------
# Maps
# --------------------------------------------------------------------------------------------


def simplify_for_map(
    wards: gpd.GeoDataFrame, tolerance_m: float = 5.0, *, method: str = "coverage"
) -> gpd.GeoDataFrame:
    """Simplify ward polygons for the browser and round coordinates to 5 decimal places.

    Works in metres (EPSG:27700 in Great Britain, else the local UTM zone), then goes back to
    EPSG:4326 and applies ``shapely.set_precision(1e-5)`` (about 1 m), which keeps every polygon
    valid. Other columns are kept.

    ``method="coverage"`` (default) uses ``shapely.coverage_simplify``, which simplifies each
    shared edge once, so neighbouring wards still meet exactly (no slivers or hairline gaps on
    the choropleth). ``method="douglas_peucker"`` is ``GeoSeries.simplify(tolerance,
    preserve_topology=True)`` per polygon: about half the bytes, but neighbours' shared edges move
    independently (on the 64 Liverpool wards: 73 kB, 39,000 m² of overlaps; coverage: 162 kB,
    none added). See ``docs/geo.md``.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        Ward polygons in any CRS.
    tolerance_m : float, default 5.0
        Simplification tolerance in metres (for ``coverage``, roughly the square root of the area
        of the triangles removed; measured Hausdorff distance ≤ 5 m at 5 m on Liverpool).
    method : {"coverage", "douglas_peucker"}
        See above.

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows and columns, EPSG:4326.

    Examples
    --------
    >>> small = simplify_for_map(wards)  # doctest: +SKIP
    >>> len(small.to_json()) < len(wards.to_json())  # doctest: +SKIP
    True
    """
    if method not in ("coverage", "douglas_peucker"):
        raise ValueError(f"method must be 'coverage' or 'douglas_peucker', not {method!r}")
    metric = wards.to_crs(_metric_crs(wards))
    geoms = metric.geometry.to_numpy()
    if method == "coverage":
        simplified = shapely.coverage_simplify(geoms, tolerance_m)
    else:
        simplified = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    out = metric.set_geometry(simplified, crs=metric.crs).to_crs(WGS84)
    rounded = shapely.set_precision(out.geometry.to_numpy(), 1e-5)
    return out.set_geometry(rounded, crs=WGS84)


def hex_bins(lat: Any, lon: Any, resolution: int = 8) -> pd.Series:
    """H3 cell id (hex string) of each point, for server-side hexagon density maps.

    Uses ``h3.api.basic_int`` per point (about 1.2 s a million points) and converts the few
    distinct cells to strings once. Rows without finite coordinates give ``<NA>``.

    Parameters
    ----------
    lat, lon : array-like or pandas.Series
        WGS84 degrees. A Series' index is kept.
    resolution : int, default 8
        H3 resolution (8 ≈ 0.74 km² cells, 9 ≈ 0.1 km²).

    Returns
    -------
    pandas.Series
        ``str`` dtype cell ids such as ``'88195da49bfffff'``, named ``h3``.

    Examples
    --------
    >>> hex_bins([53.4066], [-2.9916], 8).tolist()
    ['8819510733fffff']
    """
    index = lat.index if isinstance(lat, pd.Series) else None
    la = np.asarray(lat, dtype="float64").ravel()
    lo = np.asarray(lon, dtype="float64").ravel()
    ok = np.isfinite(la) & np.isfinite(lo) & (np.abs(la) <= 90) & (np.abs(lo) <= 180)
    cells = np.zeros(len(la), dtype=np.uint64)
    to_cell = h3.api.basic_int.latlng_to_cell
    rows = np.flatnonzero(ok)
    cells[rows] = [
        to_cell(a, b, resolution) for a, b in zip(la[rows].tolist(), lo[rows].tolist(), strict=True)
    ]
    uniques, inverse = np.unique(cells[rows], return_inverse=True)
    labels = np.array([h3.int_to_str(int(c)) for c in uniques], dtype=object)
    out = np.full(len(la), None, dtype=object)
    out[rows] = labels[inverse]
    return pd.Series(out, index=index, name="h3", dtype="str")


def hex_boundary(cell: str | int) -> shapely.Polygon:
    """The outline of an H3 cell as a lon/lat polygon.

    Parameters
    ----------
    cell : str or int
        An H3 cell id.

    Returns
    -------
    shapely.Polygon
        Closed ring, x = longitude, y = latitude.

    Examples
    --------
    >>> len(hex_boundary("8819510733fffff").exterior.coords)
    7
    """
    text = h3.int_to_str(cell) if isinstance(cell, int | np.integer) else str(cell)
    return shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(text)])


# --------------------------------------------------------------------------------------------
# Boundary changes and storage
# --------------------------------------------------------------------------------------------


def crosswalk(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, min_share: float = 0.001
) -> pd.DataFrame:
    """Area-weighted crosswalk from an old ward set to a new one.

    Each old ward is intersected with the new wards in metres (EPSG:27700 in Great Britain);
    ``weight`` is the share of the old ward's area that falls in the new ward. Slivers smaller
    than ``min_share`` of the old ward (digitising noise between two boundary sources) are
    dropped and the remaining weights renormalised, so the weights of every old ward sum to 1.
    Old wards that touch no new ward are absent.

    Parameters
    ----------
    old, new : geopandas.GeoDataFrame
        ``ward_code`` and ``geometry`` (any CRS).
    min_share : float, default 0.001
        Intersections below this share of the old ward's area are ignored.

    Returns
    -------
    pandas.DataFrame
        ``old_code``, ``new_code``, ``weight``, ``area_m2`` (the intersection), sorted by codes.

    Examples
    --------
    >>> cw = crosswalk(wards_2004, wards_2023)  # doctest: +SKIP
    >>> cw.groupby("old_code")["weight"].sum().round(9).eq(1).all()  # doctest: +SKIP
    True
    """
    crs = _metric_crs(old)
    o = gpd.GeoDataFrame(
        {"old_code": old["ward_code"].astype(str).to_numpy()},
        geometry=old.geometry.to_numpy(),
        crs=old.crs,
    ).to_crs(crs)
    n = gpd.GeoDataFrame(
        {"new_code": new["ward_code"].astype(str).to_numpy()},
        geometry=new.geometry.to_numpy(),
        crs=new.crs,
    ).to_crs(crs)
    o_area = pd.Series(o.area.to_numpy(), index=o["old_code"])
    pieces = gpd.overlay(o, n, how="intersection", keep_geom_type=True)
    pieces["area_m2"] = pieces.area
    pieces = pieces.groupby(["old_code", "new_code"], as_index=False)["area_m2"].sum()
    share = pieces["area_m2"] / pieces["old_code"].map(o_area)
    pieces = pieces[share >= min_share].copy()
    total = pieces.groupby("old_code")["area_m2"].transform("sum")
    pieces["weight"] = pieces["area_m2"] / total
    out = pieces[["old_code", "new_code", "weight", "area_m2"]]
    out = out.sort_values(["old_code", "new_code"]).reset_index(drop=True)
    out["old_code"] = out["old_code"].astype("str")
    out["new_code"] = out["new_code"].astype("str")
    return out


def wards_to_wkb(wards: gpd.GeoDataFrame) -> pd.DataFrame:
    """Turn a ward GeoDataFrame into a plain frame the store can persist.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        Ward polygons in any CRS.

    Returns
    -------
    pandas.DataFrame
        The other columns, plus ``geometry_wkb`` (WKB bytes, EPSG:4326) and ``area_m2``
        (computed in metres).

    Examples
    --------
    >>> table = wards_to_wkb(wards)  # doctest: +SKIP
    >>> table.columns.tolist()  # doctest: +SKIP
    ['ward_code', 'ward_name', 'geometry_wkb', 'area_m2']
    """
    area = wards.to_crs(_metric_crs(wards)).area.to_numpy() if len(wards) else np.array([])
    lonlat = wards.to_crs(WGS84) if wards.crs is not None else wards
    out = pd.DataFrame(lonlat.drop(columns=lonlat.geometry.name))
    out["geometry_wkb"] = pd.Series(
        list(shapely.to_wkb(lonlat.geometry.to_numpy())), index=out.index, dtype=object
    )
    out["area_m2"] = area
    return out


def wards_from_wkb(table: pd.DataFrame) -> gpd.GeoDataFrame:
    """Rebuild a ward GeoDataFrame (EPSG:4326) from :func:`wards_to_wkb` output.

    Parameters
    ----------
    table : pandas.DataFrame
        Has ``geometry_wkb`` (WKB bytes in WGS84) and any other columns.

    Returns
    -------
    geopandas.GeoDataFrame
        The other columns plus ``geometry``, EPSG:4326.

    Examples
    --------
    >>> back = wards_from_wkb(wards_to_wkb(wards))  # doctest: +SKIP
    """
    geoms = shapely.from_wkb(np.asarray(table["geometry_wkb"].map(bytes), dtype=object))
    rest = pd.DataFrame(table.drop(columns="geometry_wkb"))
    return gpd.GeoDataFrame(rest, geometry=geoms, crs=WGS84)
