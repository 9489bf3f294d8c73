"""Header matching by words and score (neighbourhood/headers.py, loaders._match_header)."""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest

from neighbourhood.headers import header_words, resolve_field, score_header
from neighbourhood.loaders import FileRefused, ReadOptions, read_extract

NOW = pd.Timestamp("2025-01-01", tz="Europe/London")
OPTS = ReadOptions(now=NOW)


def best(header: str, kind: str = "cleansing") -> str | None:
    """The field a header gets when it is the only column of its field in the file."""
    ex_header = {
        "cleansing": ["Zzz Case", "Zzz Date"],
        "enforcement": ["Zzz Case", "Zzz Action", "Zzz Date"],
    }
    del ex_header
    found = score_header(header, kind)
    if not found or (len(found) > 1 and found[0][1] == found[1][1]):
        return None
    return found[0][0]


# Headers as CRMs and spreadsheets write them (Confirm, Lagan, Firmstep, Salesforce, Granicus,
# Whitespace, Bartec, Uniform, Excel exports of each).
CASE_REFERENCE = [
    "Ref No",
    "Reference No",
    "Request Ref",
    "Enquiry Ref",
    "CRM Reference",
    "Job No",
    "Service Request No",
    "SR Ref",
    "Incident Ref",
    "Ref. No.",
    "REF_NO",
    "RefNo",
    "Reference Number",
    "Case Ref No",
    "Enquiry Number",
    "Enquiry No.",
    "Request No",
    "Service Request Ref",
    "SR No",
    "SR#",
    "Case #",
    "Job Number",
    "Job Ref",
    "Incident No",
    "Incident Number",
    "Ticket No",
    "Ticket Reference",
    "Call Ref",
    "Log No",
    "Task Ref",
    "Work Order No",
    "Complaint Ref",
    "Complaint No",
    "Defect Ref",
    "Fault Ref",
    "Customer Ref",
    "Unique Ref",
    "CRM Ref No",
    "CRM Case Number",
    "EnquiryRef",
    "ServiceRequestNumber",
    "Report Ref",
    "Issue No",
    "Problem Ref",
    "Event Number",
    "Case Ref (CRM)",
]
REPORTED = [
    "Date Raised",
    "Date/Time Received",
    "Logged Date",
    "Created On",
    "Date Logged",
    "Raised Date",
    "Received Date/Time",
    "Date & Time Received",
    "DateReceived",
    "Recd Date",
    "Rcvd Dt",
    "Reported Date/Time",
    "Date Reported (dd/mm/yyyy)",
    "Logged On",
    "Created Date Time",
    "Request Date",
    "Report Date",
    "Incident Date",
    "Date Opened",
    "Opened On",
    "Submitted On",
    "Recorded Date",
    "Date Entered",
    "Job Date",
    "Case Created",
    "Initial Report Date",
    "Date Time Logged",
    "Received (UK time)",
]
EASTING = [
    "Easting (BNG)",
    "Location Easting",
    "Eastings",
    "OS Easting",
    "Easting (m)",
    "Site Easting",
    "Grid Ref Easting",
]
NORTHING = ["Northing (BNG)", "Location Northing", "Northings", "Site Northing", "Northing [m]"]
X_COORD = ["X Coord", "X Co-ord", "X Coordinate", "Location X", "X Coord (m)"]
CLOSED = [
    "Date Closed",
    "Closed Date/Time",
    "Completed On",
    "Date Completed",
    "Closure Date",
    "Resolved On",
    "Cleared Date",
    "Date Job Completed",
    "Job Closed",
]
CATEGORY = [
    "Request Type",
    "Enquiry Type",
    "Job Type",
    "Incident Type",
    "Problem Category",
    "Sub Category",
    "Service Request Type",
    "Complaint Type",
    "Category (CRM)",
    "Case Type",
    "Type of Request",
]
STATUS = [
    "Case Status",
    "Job Status",
    "Request Status",
    "Current Status",
    "Status (CRM)",
    "Workflow Stage",
    "Overall Status",
]
WARD_NAME = ["Ward", "Ward Name", "Location Ward", "Electoral Ward", "Ward (name)", "WardName"]
WARD_CODE = [
    "Ward Code",
    "Ward (ONS code)",
    "Ward GSS Code",
    "Ward ID",
    "GSS Code",
    "ONS Ward Code",
]
COST = [
    "Cost (£)",
    "Clearance Cost (GBP)",
    "Removal Cost £",
    "Job Cost",
    "Cost of Clearance",
    "Charge (£)",
]
CHANNEL = ["Channel", "Source", "Reported Via", "Contact Method", "Report Channel", "Received Via"]

CASES = [
    *((h, "case_id") for h in CASE_REFERENCE),
    *((h, "reported_at") for h in REPORTED),
    *((h, "easting") for h in EASTING),
    *((h, "northing") for h in NORTHING),
    *((h, "closed_at") for h in CLOSED),
    *((h, "category") for h in CATEGORY),
    *((h, "status") for h in STATUS),
    *((h, "ward_name") for h in WARD_NAME),
    *((h, "ward_code") for h in WARD_CODE),
    *((h, "cost_gbp") for h in COST),
    *((h, "channel") for h in CHANNEL),
]


@pytest.mark.parametrize(("header", "field"), CASES)
def test_realistic_cleansing_headers_match(header: str, field: str) -> None:
    mapping: dict = {}
    from neighbourhood import loaders

    got = loaders._match_header([header], "cleansing", OPTS, mapping)
    assert got == {0: field}, (header, mapping)


@pytest.mark.parametrize("header", X_COORD)
def test_x_and_y_headers_make_a_pair(header: str) -> None:
    from neighbourhood import loaders

    pair = [header, header.replace("X", "Y")]
    assert loaders._match_header(pair, "cleansing", OPTS, {}) == {0: "_x", 1: "_y"}


ENFORCEMENT = [
    ("FPN No.", "case_id"),
    ("FPN Number", "case_id"),
    ("Notice Ref", "case_id"),
    ("PCN No", "case_id"),
    ("Enforcement Ref", "case_id"),
    ("Penalty Notice No", "case_id"),
    ("Offence Type", "offence"),
    ("Offence Description", "offence"),
    ("Type of Offence", "offence"),
    ("Action Taken", "action"),
    ("Enforcement Action", "action"),
    ("Notice Type", "action"),
    ("Sanction", "action"),
    ("Date Issued", "issued_at"),
    ("Issue Date", "issued_at"),
    ("Date Served", "issued_at"),
    ("Notice Issued Date", "issued_at"),
    ("Offence Date/Time", "issued_at"),
    ("Outcome", "outcome"),
    ("Payment Status", "outcome"),
    ("Court Result", "outcome"),
    ("Outcome Date", "outcome_at"),
    ("Date Paid", "outcome_at"),
    ("Payment Date", "outcome_at"),
    ("Court Date", "outcome_at"),
    ("Fine (£)", "amount_gbp"),
    ("Penalty Amount (GBP)", "amount_gbp"),
    ("FPN Amount", "amount_gbp"),
    ("Amount Payable", "amount_gbp"),
    ("Linked Case Ref", "linked_case_id"),
    ("Related SR No", "linked_case_id"),
    ("Original Enquiry Ref", "linked_case_id"),
]


@pytest.mark.parametrize(("header", "field"), ENFORCEMENT)
def test_realistic_enforcement_headers_match(header: str, field: str) -> None:
    from neighbourhood import loaders

    assert loaders._match_header([header], "enforcement", OPTS, {}) == {0: field}, header


# --- generalisation: headers made up from prefixes, field words, abbreviations and units -----

PREFIXES = ["", "Location ", "Site ", "Incident ", "Customer ", "Job ", "Case ", "CRM "]
REF_WORDS = ["Ref", "Ref.", "Reference", "No", "No.", "Nbr", "Num", "#", "Number", "ID"]
REF_HEADS = ["", "Service Request ", "Enquiry ", "Request ", "SR ", "Ticket ", "Complaint "]
DATE_CORES = ["Received", "Raised", "Logged", "Created", "Reported", "Opened", "Submitted"]
DATE_SHAPES = [
    "Date {c}",
    "{c} Date",
    "{c} On",
    "Date/Time {c}",
    "{c} Dt",
    "{c} DateTime",
    "{c} (dd/mm/yyyy)",
]
UNITS = ["", " (BNG)", " (m)", " [metres]", " (OSGB36)", " (EPSG:27700)"]


def generated(template_sets: list[list[str]]) -> list[str]:
    return sorted({"".join(parts).strip() for parts in itertools.product(*template_sets)})


GENERATED_REFS = generated([PREFIXES[:4], REF_HEADS, REF_WORDS])
GENERATED_DATES = sorted(
    {(p + s.format(c=c)).strip() for p in PREFIXES[:4] for s in DATE_SHAPES for c in DATE_CORES}
)
GENERATED_EASTINGS = generated(
    [PREFIXES, ["Easting", "Eastings", "OS Easting", "Grid Easting"], UNITS]
)


def test_generated_headers_generalise() -> None:
    """Hundreds of headers no list holds: each maps to its field, none to another."""
    from neighbourhood import loaders

    wrong = []
    total = 0
    for field, heads in (
        ("case_id", GENERATED_REFS),
        ("reported_at", GENERATED_DATES),
        ("easting", GENERATED_EASTINGS),
    ):
        for header in heads:
            total += 1
            got = loaders._match_header([header], "cleansing", OPTS, {})
            if got != {0: field}:
                wrong.append((header, got))
    assert total > 500
    assert not wrong, wrong[:20]


# --- negatives: headers that must not become a field --------------------------------------

NOT_A_CASE_REFERENCE = [
    "Officer No",
    "Phone No",
    "Telephone Number",
    "House No",
    "Vehicle Reg No",
    "UPRN",
    "USRN",
    "Property Ref",
    "Account No",
    "Invoice No",
    "PO Number",
    "Crew Ref",
    "Officer ID",
    "Linked Case Ref",
    "Ward No",
    "Contact No",
    "Mobile No",
    "Staff Number",
    "Vehicle ID",
]
NOT_A_DATE = [
    "Reported By",
    "Logged By",
    "Raised By",
    "Created By",
    "Date of Birth",
    "Closed By",
    "Updated By",
]
NOT_A_COORDINATE = ["X Coordinate (State Plane)", "Easting (State Plane)", "Lat X", "Xref"]


@pytest.mark.parametrize("header", NOT_A_CASE_REFERENCE + NOT_A_DATE + NOT_A_COORDINATE)
def test_headers_that_must_not_match(header: str) -> None:
    from neighbourhood import loaders

    report: dict = {}
    assert loaders._match_header([header], "cleansing", OPTS, report) == {}, header
    assert header in report["ignored_why"]  # and it says why


def test_by_columns_are_people() -> None:
    from neighbourhood import loaders

    report: dict = {}
    loaders._match_header(["Reported By", "Logged By"], "cleansing", OPTS, report)
    assert report["dropped_personal_columns"] == ["Reported By", "Logged By"]


def test_header_words_units_and_abbreviations() -> None:
    assert header_words("Cost (£)") == (["cost"], ["gbp"])
    assert header_words("Date Reported (dd/mm/yyyy)") == (
        ["date", "reported"],
        ["dd", "mm", "yyyy"],
    )
    assert header_words("SR#")[0] == ["service", "request", "number"]
    assert header_words("caseRefNo")[0] == ["case", "reference", "number"]


# --- whole files --------------------------------------------------------------------------


def test_reference_no_extract_loads() -> None:
    data = (
        "Reference No;Date Raised;Request Type;Easting (BNG);Location Northing;Officer No;Notes\r\n"
        "R1;07/03/2024 14:05;Fly Tipping;334300;390400;77;x\r\n"
    ).encode("cp1252")
    ex = read_extract(data, "x.csv", "cleansing", OPTS)
    assert ex.frame["case_id"].tolist() == ["R1"]
    assert ex.report["columns"] == {
        "Reference No": "case_id",
        "Date Raised": "reported_at",
        "Request Type": "category",
        "Easting (BNG)": "easting",
        "Location Northing": "northing",
    }
    assert ex.report["ignored_why"]["Officer No"].startswith("no cleansing field has the word")
    assert "'officer'" in ex.report["ignored_why"]["Officer No"]
    assert ex.report["dropped_personal_columns"] == ["Notes"]


def test_two_equally_good_date_columns_are_refused_naming_both() -> None:
    data = b"Ref No,Date Raised,Date/Time Logged\nR1,07/03/2024,07/03/2024\n"
    with pytest.raises(FileRefused) as info:
        read_extract(data, "x.csv", "cleansing", OPTS)
    assert info.value.code == "F_AMBIGUOUS_COLUMNS"
    assert "'Date Raised' and 'Date/Time Logged'" in info.value.message
    assert "reported date" in info.value.message
    assert "--map" in info.value.message
    # and the map settles it
    ex = read_extract(
        data, "x.csv", "cleansing", ReadOptions(now=NOW, column_map={"Date/Time Logged": "ignore"})
    )
    assert ex.report["columns"]["Date Raised"] == "reported_at"
    assert ex.report["ignored_why"]["Date/Time Logged"] == "left out, as the column map asks"


def test_exact_alias_beats_word_match_without_ambiguity() -> None:
    data = b"Case ID,Date Received,Date/Time Logged\nC1,07/03/2024,07/03/2024\n"
    ex = read_extract(data, "x.csv", "cleansing", OPTS)
    assert ex.report["columns"]["Date Received"] == "reported_at"
    assert "fits it better" in ex.report["ignored_why"]["Date/Time Logged"]


def test_column_map_takes_plain_field_names_and_refuses_unknown_ones() -> None:
    data = b"Ref,When,What\nC1,05/03/2024,Litter\n"
    opts = ReadOptions(
        now=NOW,
        column_map={"Ref": "case reference", "When": "Reported date", "What": "category"},
    )
    ex = read_extract(data, "x.csv", "cleansing", opts)
    assert ex.frame["category"].tolist() == ["litter"]
    with pytest.raises(FileRefused) as info:
        read_extract(data, "x.csv", "cleansing", ReadOptions(column_map={"Ref": "reference"}))
    assert info.value.code == "F_OPTIONS" and "'case reference'" in info.value.message
    with pytest.raises(FileRefused) as info:
        read_extract(data, "x.csv", "cleansing", ReadOptions(column_map={"Reff": "case_id"}))
    assert "'Reff'" in info.value.message and "does not have" in info.value.message


def test_saved_map_passes_over_missing_headers() -> None:
    data = b"Ref,When,What\nC1,05/03/2024,Litter\n"
    opts = ReadOptions(
        now=NOW, saved_map={"Ref": "case reference", "When": "reported date", "Gone": "street"}
    )
    assert read_extract(data, "x.csv", "cleansing", opts).frame["case_id"].tolist() == ["C1"]


def test_resolve_field() -> None:
    assert resolve_field("linked case reference", "enforcement") == "linked_case_id"
    assert resolve_field("Case-Reference", "cleansing") == "case_id"
    assert resolve_field("nonsense", "cleansing") is None
    assert resolve_field("", "cleansing") == ""


def test_ignored_reasons_are_json_ready() -> None:
    data = b"Ref No,Date Raised,Officer No,X,Y,Latitude,Longitude\nR1,07/03/2024,1,1,2,53.4,-2.9\n"
    ex = read_extract(data, "x.csv", "cleansing", OPTS)
    why = ex.report["ignored_why"]
    assert set(why) == {"Officer No", "X", "Y"}
    assert "other coordinate columns" in why["X"]
    json.dumps(ex.report, default=str)
