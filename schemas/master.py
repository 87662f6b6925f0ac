"""Master data: the registers the street keeps, on compacted topics.

Each model is keyed on its topic by ``key()``; a tombstone (null value)
deletes the entry. Residents and quarantine orders are keyed by the person's
pseudonymous key (``streams.privacy.person_key``), never by the ID number.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.common import (
    SCHEMA_VERSION,
    Contract,
    DivisionCode,
    Ident,
    IdNumber,
    Residency,
    RiskColour,
)


class Resident(Contract):
    """One person in the register of a compound (一户一档)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    id_number: IdNumber
    name: Annotated[str, Field(min_length=1, max_length=64)]
    phone: Annotated[str, Field(pattern=r"^\+?\d{5,15}$")] | None = None
    dwelling_id: Ident
    compound_id: Ident
    community_code: Ident
    large_grid: Ident
    small_grid: Ident
    verified: bool = Field(description="Real-name verified in the county app.")
    residency: Residency = Residency.RESIDENT


class Compound(Contract):
    schema_version: Literal[1] = SCHEMA_VERSION
    compound_id: Ident
    name: Annotated[str, Field(min_length=1, max_length=100)]
    community_code: Ident
    large_grid: Ident
    small_grid: Ident
    closed: bool = Field(default=True, description="Closed compounds admit only via checkpoints.")
    dwellings: Annotated[int, Field(ge=0)] = 0


class Checkpoint(Contract):
    schema_version: Literal[1] = SCHEMA_VERSION
    checkpoint_id: Ident
    name: Annotated[str, Field(min_length=1, max_length=100)]
    compound_id: Ident
    community_code: Ident
    large_grid: Ident
    small_grid: Ident
    address: Annotated[str, Field(max_length=200)] = ""
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class QuarantineOrder(Contract):
    """Home quarantine (居家隔离): the person may not pass outward until ``ends_at``."""

    schema_version: Literal[1] = SCHEMA_VERSION
    order_id: Ident
    id_number: IdNumber
    dwelling_id: Ident | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class RiskArea(Contract):
    """A division's risk colour from ``valid_from`` on; later entries supersede earlier."""

    schema_version: Literal[1] = SCHEMA_VERSION
    division_code: DivisionCode
    colour: RiskColour
    valid_from: AwareDatetime
    name: Annotated[str, Field(max_length=100)] = ""
