"""A corpus of realistic council-export variants, generated (never checked in as files).

Each :class:`Variant` is one extract as a council's system would write it: a CRM's own headers,
its date style, location system, encoding, delimiter, line ends and container, with good cases
spread over four wards and a known set of problems. The generator, not the loader, decides
what each row is, so the expected counts and every accepted case's ward are ground truth:

- kept as supplied: good cases, a case closed earlier the same day than it was reported;
- kept with a warning (the field left empty): a cost with a decimal comma ("12,50"), a
  placeholder closed date (01/01/1900);
- rejected: an empty reference, an impossible reported date, a totals row, a point outside
  every ward (coordinates only), the older copy of a repeated reference.

``python tests/corpus.py OUT_DIR`` writes the files for a look by eye.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import itertools
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

#: Four wards, 0.01° squares in a 2 × 2 grid near Liverpool (code, name, lon0, lat0).
WARDS: tuple[tuple[str, str, float, float], ...] = (
    ("E05000101", "Anfield", -3.00, 53.40),
    ("E05000102", "Kensington & Fairfield", -2.99, 53.40),
    ("E05000103", "Everton", -3.00, 53.41),
    ("E05000104", "St Michael's", -2.99, 53.41),
)
D = 0.01


def wards_geojson() -> bytes:
    """The four wards as GeoJSON (ONS-style field names)."""
    features = [
        {
            "type": "Feature",
            "properties": {"WD23CD": code, "WD23NM": name},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[x, y], [x + D, y], [x + D, y + D], [x, y + D], [x, y]],
                ],
            },
        }
        for code, name, x, y in WARDS
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


# Each CRM profile: its headers for the fields it exports, the location system, extra columns.
PROFILES: dict[str, dict[str, object]] = {
    "confirm": {
        "ref": "Enquiry Number", "reported": "Logged Date", "type": "Subject Name",
        "status": "Enquiry Status", "closed": "Completed Date", "street": "Street Name",
        "cost": "Job Cost", "location": "bng", "x": "Easting", "y": "Northing",
        "extra": ["Officer No", "Priority"],
    },
    "verint": {
        "ref": "Case Ref", "reported": "Date/Time Received", "type": "Case Type",
        "status": "Case Status", "closed": "Date Closed", "street": "Street",
        "cost": "Cost (£)", "location": "bng", "x": "Location Easting", "y": "Location Northing",
        "extra": ["Customer Name", "Notes"],
    },
    "firmstep": {
        "ref": "Request Ref", "reported": "Date Raised", "type": "Request Type",
        "status": "Status", "closed": "Resolved On", "street": "Road Name",
        "cost": "Charge (£)", "location": "wgs84", "x": "Longitude", "y": "Latitude",
        "extra": ["Channel", "Postcode"],
    },
    "salesforce": {
        "ref": "Case Number", "reported": "Created Date", "type": "Case Type",
        "status": "Status", "closed": "Closed Date", "street": "Street", "cost": "Cost",
        "location": "wgs84", "x": "Location Longitude", "y": "Location Latitude",
        "extra": ["Owner Name", "Account No"],
    },
    "jadu": {
        "ref": "Reference No", "reported": "Submitted On", "type": "Enquiry Type",
        "status": "Current Status", "closed": "Date Completed", "street": "Street Name",
        "cost": "Clearance Cost (GBP)", "location": "wgs84", "x": "Lng", "y": "Lat",
        "extra": ["Form Name"],
    },
    "whitespace": {
        "ref": "Job No", "reported": "Job Date", "type": "Job Type", "status": "Job Status",
        "closed": "Job Closed", "street": "Street", "cost": "Job Cost", "location": "xy",
        "x": "X Coord", "y": "Y Coord", "extra": ["Crew Ref", "Round"],
    },
    "bartec": {
        "ref": "Service Request No", "reported": "Date Logged", "type": "Service Request Type",
        "status": "Request Status", "closed": "Closure Date", "street": "Street",
        "cost": "Cost £", "location": "bng", "x": "Easting (BNG)", "y": "Northing (BNG)",
        "extra": ["Vehicle Reg No"],
    },
    "uniform": {
        "ref": "SR Ref", "reported": "Received (UK time)", "type": "Problem Category",
        "status": "Status", "closed": "Date Job Completed", "street": "Street",
        "location": "ward_code", "ward": "Ward Code", "extra": ["UPRN", "Officer ID"],
    },
    "legacy": {
        "ref": "REF_NO", "reported": "DATE_RECD", "type": "CATEGORY", "status": "STATUS",
        "closed": "DATE_CLOSED", "street": "STREET", "cost": "COST", "location": "bng",
        "x": "EASTING", "y": "NORTHING", "extra": ["USER_ID"],
    },
    "civica": {
        "ref": "Incident Ref", "reported": "Incident Date", "type": "Incident Type",
        "status": "Case Status", "closed": "Cleared Date", "street": "Street",
        "cost": "Removal Cost £", "location": "bng", "x": "Site Easting", "y": "Site Northing",
        "extra": ["Reported By"],
    },
    "dynamics": {
        "ref": "CRM Reference", "reported": "Created On", "type": "Category (CRM)",
        "status": "Status (CRM)", "closed": "Resolved On", "street": "Street",
        "cost": "Cost (£)", "location": "wgs84", "x": "Longitude (WGS84)",
        "y": "Latitude (WGS84)", "extra": ["Modified By"],
    },
    "ticketing": {
        "ref": "Ticket No", "reported": "Date Reported (dd/mm/yyyy)", "type": "Complaint Type",
        "status": "Ticket Status", "closed": "Date Closed", "street": "Street",
        "location": "ward_name", "ward": "Ward Name", "extra": ["Contact No"],
    },
}  # fmt: skip

DATE_STYLES: tuple[str, ...] = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%y %H:%M",
    "%d-%b-%Y %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "excel",
)
ENCODINGS: tuple[str, ...] = ("utf-8", "cp1252", "utf-8-sig")
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
CATEGORIES: tuple[str, ...] = (
    "Fly Tipping",
    "Litter",
    "Dog Fouling",
    "Graffiti",
    "Fly-tipping - household waste",
    "Overflowing litter bin",
)


@dataclass
class Variant:
    """One generated extract and what the loader must make of it."""

    name: str
    file_name: str
    data: bytes
    accepted: int
    rejected: int
    #: case_id → ward code of every case that must be stored.
    wards: dict[str, str] = field(default_factory=dict)
    #: case_id → rule of every row kept with a warning.
    warned: dict[str, str] = field(default_factory=dict)


@functools.cache
def _bng(lon: float, lat: float) -> tuple[float, float]:

    east, north = _to_bng().transform(lon, lat)
    return round(east, 1), round(north, 1)


@functools.cache
def _to_bng():  # noqa: ANN202 - a pyproj Transformer
    from pyproj import Transformer

    return Transformer.from_crs(4326, 27700, always_xy=True)


def _when(value: datetime, style: str) -> str:
    if style == "excel":
        serial = (value - datetime(1899, 12, 30)).total_seconds() / 86400
        return f"{serial:.6f}".rstrip("0").rstrip(".")
    return value.strftime(style)


def _build(name: str, profile: dict[str, object], i: int) -> Variant:
    style = DATE_STYLES[(i + i // 6) % len(DATE_STYLES)]
    encoding = ENCODINGS[(i // 2) % len(ENCODINGS)]
    delimiter = DELIMITERS[i % len(DELIMITERS)]
    newline = "\r\n" if i % 2 else "\n"
    container = ("csv", "csv", "csv", "xlsx", "csv", "gz")[i % 6]
    location = str(profile["location"])
    has_cost = "cost" in profile
    prefix = f"{name[:3].upper()}{i:02d}-"

    cols = [str(profile["ref"]), str(profile["reported"]), str(profile["type"])]
    cols += [str(profile["status"]), str(profile["closed"]), str(profile["street"])]
    if has_cost:
        cols.append(str(profile["cost"]))
    if location in ("bng", "wgs84", "xy"):
        cols += [str(profile["x"]), str(profile["y"])]
    else:
        cols.append(str(profile["ward"]))
    cols += [str(c) for c in profile["extra"]]  # type: ignore[union-attr]

    rows: list[list[str]] = []
    truth: dict[str, str] = {}
    warned: dict[str, str] = {}
    rejected = 0
    start = datetime(2024, 3, 4, 8, 15)

    def place(w: int) -> list[str]:
        code, ward_name, x0, y0 = WARDS[w]
        lon, lat = x0 + D * 0.37, y0 + D * 0.61
        if location == "wgs84":
            return [f"{lon:.6f}", f"{lat:.6f}"]
        if location in ("bng", "xy"):
            east, north = _bng(lon, lat)
            return [f"{east:.1f}", f"{north:.1f}"]
        return [code] if location == "ward_code" else [ward_name]

    def row(ref: str, w: int, reported: str, closed: str = "", cost: str = "") -> list[str]:
        status = "Closed" if closed else "Open"
        cells = [ref, reported, CATEGORIES[len(rows) % len(CATEGORIES)], status, closed]
        cells.append("St John’s Road" if encoding == "cp1252" else "High Street")
        if has_cost:
            cells.append(cost)
        cells += place(w)
        cells += ["7" if "No" in c or "ID" in c or "Ref" in c else "x" for c in profile["extra"]]  # type: ignore[union-attr]
        return cells

    for k in range(12):  # good cases, three a ward
        when = start + timedelta(days=k, minutes=17 * k)
        ref = f"{prefix}{k + 1:04d}"
        closed = _when(when + timedelta(days=2, hours=3), style) if k % 3 == 0 else ""
        money = "£40.00" if encoding == "cp1252" and k == 1 else ("35.5" if k % 4 == 1 else "")
        rows.append(row(ref, k % 4, _when(when, style), closed, money))
        truth[ref] = WARDS[k % 4][0]
    # closed earlier the same day than reported: kept as supplied, no flag
    ref = f"{prefix}0100"
    when = start + timedelta(days=20, hours=6)
    rows.append(row(ref, 1, _when(when, style), _when(when - timedelta(hours=2), style)))
    truth[ref] = WARDS[1][0]
    if style != "excel":  # a placeholder closed date: kept, the date left empty with a warning
        ref = f"{prefix}0101"
        rows.append(row(ref, 2, _when(when, style), datetime(1900, 1, 1).strftime(style)))
        truth[ref] = WARDS[2][0]
        # written with a two-digit year it reads as 1 January 2000: days before the report
        warned[ref] = "W_DATE_ORDER" if "%y" in style else "W_DATE_TOO_OLD"
    if has_cost:  # a decimal comma: kept, the cost left empty with a warning
        ref = f"{prefix}0102"
        rows.append(row(ref, 3, _when(when, style), "", "12,50"))
        truth[ref] = WARDS[3][0]
        warned[ref] = "W_NUMBER"
    rows.append(row("", 0, _when(when, style)))  # no reference
    rejected += 1
    rows.append(row(f"{prefix}0200", 0, "32/13/2024 10:00"))  # impossible date
    rejected += 1
    # a repeated reference: the later row is kept, the earlier rejected
    rows.append(row(f"{prefix}0300", 1, _when(when, style)))
    rows.append(row(f"{prefix}0300", 2, _when(when + timedelta(hours=1), style)))
    truth[f"{prefix}0300"] = WARDS[2][0]
    rejected += 1
    if location in ("bng", "wgs84", "xy"):  # a point outside every ward
        outside = row(f"{prefix}0400", 0, _when(when, style))
        lon, lat = -2.50, 53.60
        if location == "wgs84":
            outside[-2 - len(profile["extra"]) : len(outside) - len(profile["extra"])] = [  # type: ignore[arg-type]
                f"{lon:.6f}",
                f"{lat:.6f}",
            ]
        else:
            east, north = _bng(lon, lat)
            outside[-2 - len(profile["extra"]) : len(outside) - len(profile["extra"])] = [  # type: ignore[arg-type]
                f"{east:.1f}",
                f"{north:.1f}",
            ]
        rows.append(outside)
        rejected += 1
    total = ["Total", "", "", "", "", ""] + [""] * (len(cols) - 6)
    if has_cost:
        total[6] = "87.5"
    rows.append(total)  # a totals row
    rejected += 1

    file_name = f"{name}-{i:02d}.{'xlsx' if container == 'xlsx' else 'csv'}"
    if container == "xlsx":
        data = _xlsx(cols, rows, style)
    else:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
        writer.writerow(cols)
        writer.writerows(rows)
        data = buf.getvalue().encode(encoding)
        if container == "gz":
            data = gzip.compress(data, mtime=0)
            file_name += ".gz"
    return Variant(
        name=f"{name}-{i:02d}-{style.replace('%', '')}-{encoding}-{container}",
        file_name=file_name,
        data=data,
        accepted=len(truth),
        rejected=rejected,
        wards=truth,
        warned=warned,
    )


def _xlsx(cols: list[str], rows: list[list[str]], style: str) -> bytes:
    """A workbook as Excel writes it: numbers as numbers, Excel dates as serial numbers."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(cols)
    for cells in rows:
        out: list[object] = []
        for j, value in enumerate(cells):
            if j in (1, 4) and style == "excel" and value.replace(".", "").isdigit():
                out.append(float(value))
            else:
                try:
                    out.append(float(value) if j >= 6 and value else value or None)
                except ValueError:
                    out.append(value or None)
        sheet.append(out)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def variants() -> list[Variant]:
    """Every variant of the corpus: each CRM profile in six encodings/delimiters/date styles."""
    out: list[Variant] = []
    for (n, (name, profile)), j in itertools.product(enumerate(PROFILES.items()), range(6)):
        out.append(_build(name, profile, 6 * n + j))
    return out


if __name__ == "__main__":  # pragma: no cover - a look by eye
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus-out")
    target.mkdir(parents=True, exist_ok=True)
    for v in variants():
        (target / v.file_name).write_bytes(v.data)
    (target / "wards.geojson").write_bytes(wards_geojson())
    print(f"{len(variants())} files written to {target}")
