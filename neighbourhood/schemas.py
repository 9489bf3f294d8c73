"""Canonical column names and value sets shared by every module (DESIGN.md "Datasets").

Reference columns through these constants, not string literals scattered in code.
"""

from __future__ import annotations

from typing import Final, Literal

Kind = Literal["cleansing", "enforcement", "spend", "population", "wards", "la-returns"]
KINDS: Final[tuple[str, ...]] = (
    "cleansing",
    "enforcement",
    "spend",
    "population",
    "wards",
    "la-returns",
)

CATEGORIES: Final[tuple[str, ...]] = (
    "fly_tipping",
    "litter",
    "detritus",
    "graffiti",
    "fly_posting",
    "dog_fouling",
    "overflowing_bin",
    "weeds",
    "abandoned_vehicle",
    "needles",
    "other",
)
CATEGORY_LABELS: Final[dict[str, str]] = {
    "fly_tipping": "Fly-tipping",
    "litter": "Litter",
    "detritus": "Detritus",
    "graffiti": "Graffiti",
    "fly_posting": "Fly-posting",
    "dog_fouling": "Dog fouling",
    "overflowing_bin": "Overflowing bins",
    "weeds": "Weeds",
    "abandoned_vehicle": "Abandoned vehicles",
    "needles": "Needles",
    "other": "Other",
}
STATUSES: Final[tuple[str, ...]] = ("open", "closed", "cancelled", "duplicate")

OFFENCES: Final[tuple[str, ...]] = (
    "fly_tipping",
    "littering",
    "dog_fouling",
    "graffiti",
    "fly_posting",
    "duty_of_care",
    "waste_receptacle",
    "other",
)
ACTIONS: Final[tuple[str, ...]] = (
    "investigation",
    "warning_letter",
    "fixed_penalty_notice",
    "community_protection_notice",
    "statutory_notice",
    "formal_caution",
    "prosecution",
    "vehicle_seized",
    "no_further_action",
)
OUTCOMES: Final[tuple[str, ...]] = (
    "paid",
    "unpaid",
    "cancelled",
    "withdrawn",
    "convicted",
    "acquitted",
    "pending",
)
SERVICES: Final[tuple[str, ...]] = ("cleansing", "enforcement", "other")
CITYWIDE: Final[str] = "citywide"

# Canonical columns per kind, in storage order.
CLEANSING_COLUMNS: Final[tuple[str, ...]] = (
    "case_id",
    "category",
    "category_raw",
    "reported_at",
    "closed_at",
    "status",
    "latitude",
    "longitude",
    "easting",
    "northing",
    "ward_code",
    "ward_name",
    "street",
    "size",
    "cost_gbp",
    "channel",
    "updated_at",
)
ENFORCEMENT_COLUMNS: Final[tuple[str, ...]] = (
    "case_id",
    "offence",
    "action",
    "issued_at",
    "outcome",
    "outcome_at",
    "amount_gbp",
    "latitude",
    "longitude",
    "easting",
    "northing",
    "ward_code",
    "ward_name",
    "linked_case_id",
    "updated_at",
)
SPEND_COLUMNS: Final[tuple[str, ...]] = (
    "ward_code",
    "period_start",
    "period_end",
    "programme",
    "service",
    "amount_gbp",
)
POPULATION_COLUMNS: Final[tuple[str, ...]] = ("ward_code", "ward_name", "population", "year")
WARD_COLUMNS: Final[tuple[str, ...]] = ("ward_code", "ward_name", "geometry")

REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "cleansing": ("case_id", "reported_at"),
    "enforcement": ("case_id", "action", "issued_at"),
    "spend": ("ward_code", "period_start", "amount_gbp"),
    "population": ("ward_code", "population", "year"),  # ward_name may stand for ward_code
}

TIMEZONE: Final[str] = "Europe/London"
#: ONS codes of local authorities, counties, regions and countries: areas that are not wards
#: (a city-wide total row in a ward table, or the wrong boundary file).
AREA_CODE_RE: Final[str] = r"(?:E0[6-9]|E1[0-2]|E92|W06|W92|S12|S92|N09|N92|K0[2-4])\d{6}"

# One row per (source row, column, rule) in every rejects report (loaders, geo); the ingest adds
# ``source_file`` in front (reliability.md §1, "Recommended rejection report").
REJECT_COLUMNS: Final[tuple[str, ...]] = (
    "source_line",
    "case_id",
    "column",
    "value",
    "rule",
    "message",
    "severity",
)


_MODEL_NAMES: Final[frozenset[str]] = frozenset(
    {"CleansingCase", "EnforcementCase", "SpendRow", "PopulationRow", "MODELS"}
)


def __getattr__(name: str) -> object:
    """The pandera models, imported on first use (:mod:`neighbourhood.models`)."""
    if name in _MODEL_NAMES:
        from neighbourhood import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
