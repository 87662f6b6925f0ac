"""Types shared by every wire contract.

Every message on every topic is JSON produced from one of the pydantic models
in this package. Models are frozen and forbid unknown fields, so a producer
that drifts from the contract is caught at the first message, not in a
dashboard weeks later; a new optional field is a minor change, anything else
bumps ``schema_version``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

SCHEMA_VERSION: Final = 1

IdNumber = Annotated[
    str,
    StringConstraints(pattern=r"^\d{17}[\dXx]$", strip_whitespace=True, to_upper=True),
]
"""An 18-character resident ID number (GB 11643). Sensitive: never log it."""

RawIdNumber = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z]+$", strip_whitespace=True, to_upper=True),
]
"""An ID number as a terminal read or a guard typed it, possibly malformed.

Input events accept it so that a wrong number reaches enrichment, which names
what is wrong (``id_problems``) for the invalid-identity rule, instead of the
whole event going to the dead letters; master data keeps the strict
``IdNumber``. Sensitive like any ID number: never log it.
"""

DivisionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
"""A six-digit GB/T 2260 administrative division code."""

Ident = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.:\-]+$")]
"""An identifier from master data or a terminal (checkpoint, compound, grid, event)."""

SightingKind = Literal["inner_scan", "household_visit", "patrol_check"]
"""How a person was seen inside a compound: an inner code point, a door-to-door visit, a patrol."""

CheckpointKind = Literal["gate", "inner"]
"""A gate in the compound's perimeter, or a point inside it (building door, inner code)."""

RegisterName = Literal["county", "provincial"]
"""The two person registers compared for 反向纠察 (reverse inspection)."""


class Contract(BaseModel):
    """Base of all wire models: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class HealthCode(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class RiskColour(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class SubjectKind(StrEnum):
    PERSON = "person"
    VEHICLE = "vehicle"


class Residency(StrEnum):
    RESIDENT = "resident"
    RENTER = "renter"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    HIGH = "high"
    CRITICAL = "critical"


class ReportSource(StrEnum):
    GUARD = "guard"
    SENSOR = "sensor"
