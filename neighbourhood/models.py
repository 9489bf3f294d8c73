"""pandera models of the frames the loaders hand on (STYLE.md §13).

The loader builds its rejects report with its own vectorised checks (faster at 1M rows, and it
knows source lines); these models are the output contract, checked in tests and available to
store/ingest. They live apart from :mod:`neighbourhood.schemas` because importing pandera costs
about 14 MB and 0.13 s, which an ingest or a page view need not pay;
``neighbourhood.schemas.MODELS`` (and the model names) still resolve here, on first use.
"""

from __future__ import annotations

from typing import Final

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from neighbourhood.schemas import (
    ACTIONS,
    CATEGORIES,
    OFFENCES,
    OUTCOMES,
    SERVICES,
    STATUSES,
    TIMEZONE,
)

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
