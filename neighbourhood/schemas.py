"""Canonical column names and value sets shared by every module (DESIGN.md "Datasets").

Reference columns through these constants, not string literals scattered in code.
"""

from __future__ import annotations

from typing import Final, Literal

import pandas as pd

Kind = Literal["cleansing", "enforcement", "spend", "population", "wards"]
KINDS: Final[tuple[str, ...]] = ("cleansing", "enforcement", "spend", "population", "wards")

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
    "population": ("ward_code", "population"),
}

TIMEZONE: Final[str] = "Europe/London"

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


# ---------------------------------------------------------------------------------------------
# pandera models of the frames the loaders hand on (STYLE.md §13). The loader builds its rejects
# report with its own vectorised checks (faster at 1M rows, and it knows source lines); these
# models are the output contract, checked in tests and available to store/ingest.
# ---------------------------------------------------------------------------------------------

import pandera.pandas as pa  # noqa: E402
from pandera.typing import Series  # noqa: E402

_TS = f"datetime64[ns, {TIMEZONE}]"


class _Located(pa.DataFrameModel):
    latitude: Series[float] = pa.Field(nullable=True, ge=-90, le=90)
    longitude: Series[float] = pa.Field(nullable=True, ge=-180, le=180)
    easting: Series[float] = pa.Field(nullable=True, ge=0, le=700_000)
    northing: Series[float] = pa.Field(nullable=True, ge=0, le=1_300_000)
    ward_code: Series[str] = pa.Field(nullable=True)
    ward_name: Series[str] = pa.Field(nullable=True)
    source_line: Series[int] = pa.Field(ge=1)


class CleansingCase(_Located):
    """One street-cleansing case as the loader returns it."""

    case_id: Series[str] = pa.Field(unique=True)
    category: Series[str] = pa.Field(isin=CATEGORIES)
    category_raw: Series[str] = pa.Field(nullable=True)
    reported_at: Series[_TS] = pa.Field()  # type: ignore[valid-type]
    closed_at: Series[_TS] = pa.Field(nullable=True)  # type: ignore[valid-type]
    status: Series[str] = pa.Field(isin=STATUSES)
    street: Series[str] = pa.Field(nullable=True)
    size: Series[str] = pa.Field(nullable=True)
    cost_gbp: Series[float] = pa.Field(nullable=True, ge=0)
    channel: Series[str] = pa.Field(nullable=True)
    updated_at: Series[_TS] = pa.Field(nullable=True)  # type: ignore[valid-type]

    class Config:
        strict = True
        ordered = False


class EnforcementCase(_Located):
    """One enforcement action as the loader returns it."""

    case_id: Series[str] = pa.Field(unique=True)
    offence: Series[str] = pa.Field(isin=OFFENCES)
    action: Series[str] = pa.Field(isin=ACTIONS)
    issued_at: Series[_TS] = pa.Field()  # type: ignore[valid-type]
    outcome: Series[str] = pa.Field(isin=OUTCOMES, nullable=True)
    outcome_at: Series[_TS] = pa.Field(nullable=True)  # type: ignore[valid-type]
    amount_gbp: Series[float] = pa.Field(nullable=True, ge=0)
    linked_case_id: Series[str] = pa.Field(nullable=True)
    updated_at: Series[_TS] = pa.Field(nullable=True)  # type: ignore[valid-type]

    class Config:
        strict = True
        ordered = False


class SpendRow(pa.DataFrameModel):
    """One spend line as the loader returns it (period_end is the last day, inclusive)."""

    ward_code: Series[str] = pa.Field()
    period_start: Series[_TS] = pa.Field()  # type: ignore[valid-type]
    period_end: Series[_TS] = pa.Field()  # type: ignore[valid-type]
    programme: Series[str] = pa.Field(nullable=True)
    service: Series[str] = pa.Field(isin=SERVICES)
    amount_gbp: Series[float] = pa.Field(ge=0)
    source_line: Series[int] = pa.Field(ge=1)

    class Config:
        strict = True


class PopulationRow(pa.DataFrameModel):
    """One ward population count as the loader returns it."""

    ward_code: Series[str] = pa.Field(nullable=True)
    ward_name: Series[str] = pa.Field(nullable=True)
    population: Series[pd.Int64Dtype] = pa.Field(ge=0)
    year: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=1900, le=2100)
    source_line: Series[int] = pa.Field(ge=1)

    class Config:
        strict = True


MODELS: Final[dict[str, type[pa.DataFrameModel]]] = {
    "cleansing": CleansingCase,
    "enforcement": EnforcementCase,
    "spend": SpendRow,
    "population": PopulationRow,
}
