"""Master data: the registers the street keeps, on compacted topics.

Each model is keyed on its topic by its natural key
(``streams.master.register_key``); a tombstone (null value) deletes the entry.
Residents and quarantine orders are keyed by the ID number: the register topics
hold ID numbers anyway, compaction keeps one record per person whatever person-key
secret is current, and a publisher needs no secret. The worker's store keys them
by the pseudonymous person key.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator

from schemas.common import (
    SCHEMA_VERSION,
    CheckpointKind,
    Contract,
    DivisionCode,
    HealthCode,
    Ident,
    IdNumber,
    RegisterName,
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
    kind: CheckpointKind = Field(default="gate", description="A gate in the perimeter, or an inner point.")
    opens: time | None = Field(default=None, description="Local time (+08:00); None with closes None: always open.")
    closes: time | None = Field(default=None, description="Local time (+08:00); before opens: open across midnight.")

    @model_validator(mode="after")
    def _hours_paired(self) -> Checkpoint:
        if (self.opens is None) != (self.closes is None):
            raise ValueError("opens and closes go together: both set or both empty")
        return self


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


class Visitor(Contract):
    """A visit registered by a guard (来访登记): the person may be in ``compound_id`` until ``valid_until``.

    Keyed on its topic by ``<ID number>|<compound_id>``, so a visit to one
    compound does not overwrite a visit to another, and enrichment finds the
    visit for the compound of the event with one point lookup.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    visit_id: Ident
    id_number: IdNumber
    compound_id: Ident
    host_dwelling_id: Ident
    valid_from: AwareDatetime
    valid_until: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Visitor:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class PersonRecord(Contract):
    """A person as one upstream register (provincial epidemic system or county 537 system) has them.

    Keyed on its topic by ``<register_name>|<ID number>``: both registers' records
    of one person survive compaction, and either is one point lookup.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    register_name: RegisterName = Field(description="Which upstream register this record is from.")
    id_number: IdNumber
    address: Annotated[str, Field(max_length=200)] = ""
    quarantined: bool = False
    health_code: HealthCode | None = None
    updated_at: AwareDatetime
