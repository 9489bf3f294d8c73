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
import re
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS, Transformer

from neighbourhood import schemas
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
    "BoundaryRefused",
    "assign_wards",
    "assign_wards_sjoin",
    "bng_to_wgs84",
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
        Stable reason: ``empty``, ``unreadable``, ``no_polygons``, ``no_code_field``,
        ``missing_codes``, ``duplicate_codes``, ``unknown_crs``, ``invalid_geometry``,
        ``ambiguous_source``.
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

_DATASET_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".topojson", ".fgb", ".gml", ".kml")


def read_boundaries(
    source: bytes | str | Path,
    name: str | None = None,
    *,
    code_field: str | None = None,
    name_field: str | None = None,
) -> Boundaries:
    """Read a ward boundary file in any common format and CRS into canonical WGS84 wards.

    Reads GeoJSON (also with a legacy ``crs`` member), GeoPackage, TopoJSON, a zipped Shapefile
    (the bytes of a ``.zip``) or a ``.shp`` path with its sidecar files, through
    ``pyogrio``/GDAL. Finds the ward code and name fields, repairs invalid polygons, catches a
    ``.prj`` that lies about the CRS, and reprojects to EPSG:4326.

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
        Empty or unreadable file, no polygons, no usable code field, empty or duplicate ward
        codes, coordinates that fit no known CRS, or a polygon that has no area after repair.

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

    gdf = _keep_polygons(raw, warnings_, report)
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


def _read_any(
    source: bytes | str | Path, name: str | None, warnings_: list[str]
) -> tuple[gpd.GeoDataFrame, str | None, str | None]:
    """Read the first polygon layer of whatever ``source`` is; returns (frame, driver, layer)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if not data.strip():
            raise BoundaryRefused("empty", "The boundary file is empty (0 bytes).")
        if data[:4] == b"PK\x03\x04" or (name or "").lower().endswith(".zip"):
            return _read_zip(data, warnings_)
        if data[:16] == b"SQLite format 3\x00":  # GeoPackage: GDAL wants a .gpkg name
            with tempfile.TemporaryDirectory(prefix="neighbourhood-wards-") as tmp:
                path = Path(tmp) / "upload.gpkg"
                path.write_bytes(data)
                return _read_dataset(str(path), warnings_)
        return _read_dataset(data, warnings_)
    if isinstance(source, str) and source.lstrip().startswith("{"):
        return _read_any(source.encode("utf-8"), name, warnings_)
    path = Path(source)
    if not path.exists():
        raise BoundaryRefused("unreadable", f"No such boundary file: {path}.")
    if path.is_file() and path.stat().st_size == 0:
        raise BoundaryRefused("empty", f"The boundary file {path.name} is empty (0 bytes).")
    if path.suffix.lower() == ".zip":
        return _read_zip(path.read_bytes(), warnings_)
    return _read_dataset(str(path), warnings_)


def _read_zip(data: bytes, warnings_: list[str]) -> tuple[gpd.GeoDataFrame, str | None, str | None]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [
                m.filename
                for m in zf.infolist()
                if not m.is_dir()
                and not m.filename.startswith("__MACOSX/")
                and not Path(m.filename).name.startswith(".")
            ]
    except zipfile.BadZipFile as exc:
        raise BoundaryRefused("unreadable", f"The .zip file could not be opened: {exc}.") from exc
    datasets = [m for m in members if Path(m).suffix.lower() in _DATASET_SUFFIXES]
    if not datasets:
        raise BoundaryRefused(
            "unreadable",
            "The .zip file holds no boundary file (.shp with its .dbf/.shx/.prj, .gpkg or "
            f".geojson); it contains: {_short_list(members) or 'nothing'}.",
        )
    if len(datasets) > 1:
        raise BoundaryRefused(
            "ambiguous_source",
            f"The .zip file holds several boundary files ({_short_list(datasets)}); "
            "upload a .zip with just one.",
        )
    member = datasets[0]
    if member.lower().endswith(".shp"):
        stem = member[:-4].lower()
        have = {m.lower() for m in members}
        for ext, why in ((".dbf", "attributes (ward codes)"), (".prj", "coordinate system")):
            if stem + ext not in have:
                warnings_.append(f"The shapefile in the .zip has no {ext} file ({why}).")
    with tempfile.TemporaryDirectory(prefix="neighbourhood-wards-") as tmp:
        zpath = Path(tmp) / "upload.zip"
        zpath.write_bytes(data)
        return _read_dataset(f"/vsizip/{zpath}/{member}", warnings_)


def _read_dataset(
    src: str | bytes, warnings_: list[str]
) -> tuple[gpd.GeoDataFrame, str | None, str | None]:
    # GDAL costs about 30 MB and 0.1 s to load: only boundary files need it, never case files.
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        layers = pyogrio.list_layers(src)
        layer = None
        if len(layers) > 1:
            polygonal = [str(n) for n, t in layers if t is None or "polygon" in str(t).lower()]
            layer = polygonal[0] if polygonal else str(layers[0][0])
            warnings_.append(
                f"The file has {len(layers)} layers ({_short_list(layers[:, 0])}); read '{layer}'."
            )
        info = pyogrio.read_info(src, layer=layer)
        frame = pyogrio.read_dataframe(src, layer=layer)
    except (DataSourceError, DataLayerError, RuntimeError, OSError, ValueError) as exc:
        raise BoundaryRefused(
            "unreadable",
            "The boundary file could not be read as GeoJSON, GeoPackage, TopoJSON or a zipped "
            f"Shapefile ({_gdal_message(exc)}).",
        ) from exc
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise BoundaryRefused("no_polygons", "The file has no geometry column.")
    if layer is None and len(layers):
        layer = str(layers[0][0])
    if layer is not None and layer.startswith("pyogrio_"):
        layer = None  # the name of pyogrio's in-memory file, not the user's layer
    return frame, info.get("driver"), layer


def _gdal_message(exc: Exception) -> str:
    text = str(exc)
    text = re.sub(r"'?/vsi\w+/\S*'?", "the file", text)
    return text.split(";")[0].strip().rstrip(".")


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
    """Decide which CRS the coordinates are really in; returns (declared label, CRS to use)."""
    declared: CRS | None = wards.crs
    label = _crs_label(declared)
    xmin, ymin, xmax, ymax = (float(v) for v in wards.total_bounds)
    bounds = f"x {xmin:.6g} to {xmax:.6g}, y {ymin:.6g} to {ymax:.6g}"
    fits_lonlat = -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90
    fits_bng = _BNG_X[0] <= xmin and xmax <= _BNG_X[1] and _BNG_Y[0] <= ymin and ymax <= _BNG_Y[1]
    if declared is None:
        if fits_lonlat:
            warnings_.append(
                f"The file declares no coordinate system; its coordinates ({bounds}) look like "
                "longitude/latitude, so WGS84 (EPSG:4326) was assumed."
            )
            return None, CRS.from_user_input(WGS84)
        if fits_bng:
            warnings_.append(
                f"The file declares no coordinate system; its coordinates ({bounds}) look like "
                "British National Grid metres, so EPSG:27700 was assumed."
            )
            return None, CRS.from_user_input(BNG)
        raise BoundaryRefused(
            "unknown_crs",
            f"The file declares no coordinate system and its coordinates ({bounds}) are neither "
            "longitude/latitude nor British National Grid. Save it with a .prj / CRS and retry.",
        )
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
    if declared.to_epsg() == 27700 and fits_lonlat:
        warnings_.append(
            f"The file says its coordinates are British National Grid metres, but they look like "
            f"longitude/latitude ({bounds}): read as WGS84 (EPSG:4326)."
        )
        return label, CRS.from_user_input(WGS84)
    return label, declared


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
