"""Types shared by every wire contract.

Every message on every topic is JSON produced from one of the pydantic models
in this package. Models are frozen and forbid unknown fields, so a producer
that drifts from the contract is caught at the first message, not in a
dashboard weeks later; a new optional field is a minor change, anything else
bumps ``schema_version``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, StringConstraints

SCHEMA_VERSION: Final = 1

IdNumber = Annotated[
    str,
    StringConstraints(pattern=r"^\d{17}[\dXx]$", strip_whitespace=True, to_upper=True),
]
"""An 18-character resident ID number (GB 11643). Sensitive: never log it."""

DivisionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
"""A six-digit GB/T 2260 administrative division code."""

Ident = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.:\-]+$")]
"""An identifier from master data or a terminal (checkpoint, compound, grid, event)."""


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
