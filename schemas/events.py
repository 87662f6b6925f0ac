"""Input events: what terminals at checkpoints and guards upload.

Terminals upload in batches, so one Kafka record on the events topic is an
``EventBatch``; a single event is a batch of one. Batching on the wire is what
lets the pipeline amortise per-record costs of the Kafka client and Faust.
Events inside a batch are a tagged union on ``event_type``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field, TypeAdapter, model_validator

from schemas.common import (
    SCHEMA_VERSION,
    Contract,
    Direction,
    DivisionCode,
    HealthCode,
    Ident,
    RawIdNumber,
    ReportSource,
    SightingKind,
    SubjectKind,
)


class _EventBase(Contract):
    REFUSABLE: ClassVar[frozenset[str]] = frozenset()
    """Optional readings the pipeline drops, naming them, when the contract refuses their value (a thermometer's
    99.9 °C, a health code the app does not issue): the passage itself is kept for every other rule and the
    record, instead of the whole event going to the dead letters. Identity and place are never refusable."""

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: Ident = Field(description="Unique per event; the idempotency key downstream.")
    event_time: AwareDatetime = Field(description="When it happened at the checkpoint.")


class QrScan(_EventBase):
    """A resident scans the village/community QR code with the county app (扫码进村)."""

    REFUSABLE = frozenset({"health_code"})

    event_type: Literal["qr_scan"] = "qr_scan"
    checkpoint_id: Ident = Field(description="The checkpoint where the code is posted.")
    community_code: Ident = Field(description="The village/community whose code was scanned.")
    id_number: RawIdNumber = Field(description="Of the app's real-name verified account.")
    health_code: HealthCode | None = None


class Passage(_EventBase):
    """A passage recorded by the guard at a checkpoint (测温验码)."""

    REFUSABLE = frozenset({"temperature_c", "health_code", "declared_origin"})

    event_type: Literal["passage"] = "passage"
    checkpoint_id: Ident
    direction: Direction
    subject_kind: SubjectKind = SubjectKind.PERSON
    id_number: RawIdNumber | None = Field(default=None, description="Required for a person.")
    plate: Annotated[str, Field(min_length=2, max_length=16)] | None = Field(
        default=None, description="Required for a vehicle."
    )
    temperature_c: Annotated[float, Field(ge=30.0, le=45.0)] | None = None
    health_code: HealthCode | None = None
    declared_origin: DivisionCode | None = Field(
        default=None, description="Arrivals: the division the person says they came from."
    )

    @model_validator(mode="after")
    def _subject_present(self) -> Passage:
        if self.subject_kind is SubjectKind.PERSON and self.id_number is None:
            raise ValueError("a person passage needs id_number")
        if self.subject_kind is SubjectKind.VEHICLE and self.plate is None:
            raise ValueError("a vehicle passage needs plate")
        return self


class PerimeterReport(_EventBase):
    """Someone crossed the perimeter of a closed compound (wall climbing)."""

    REFUSABLE = frozenset({"checkpoint_id", "person_count", "id_numbers"})

    event_type: Literal["perimeter_report"] = "perimeter_report"
    compound_id: Ident
    checkpoint_id: Ident | None = Field(default=None, description="Nearest checkpoint, if known.")
    source: ReportSource
    location: Annotated[str, Field(max_length=200)] = Field(description="Where on the perimeter.")
    person_count: Annotated[int, Field(ge=1, le=100)] = 1
    id_numbers: tuple[RawIdNumber, ...] = Field(default=(), description="Persons once identified.")


class Sighting(_EventBase):
    """A person seen inside a compound: an inner code point, a household visit, a patrol check.

    Unlike a passage it says nothing about entering or leaving; it places the
    person at a compound (and maybe a dwelling) at a time, which is what
    quarantine and register checks need.
    """

    REFUSABLE = frozenset({"checkpoint_id", "dwelling_id"})

    event_type: Literal["sighting"] = "sighting"
    kind: SightingKind
    compound_id: Ident
    checkpoint_id: Ident | None = Field(default=None, description="The inner point, if it was one.")
    dwelling_id: Ident | None = Field(default=None, description="The dwelling visited, for a household visit.")
    id_number: RawIdNumber


Event = Annotated[QrScan | Passage | PerimeterReport | Sighting, Field(discriminator="event_type")]


class EventBatch(Contract):
    """The record on the events topic: one upload from one terminal."""

    schema_version: Literal[1] = SCHEMA_VERSION
    batch_id: Ident
    source: Ident = Field(description="The terminal or checkpoint that uploaded it.")
    events: tuple[Event, ...] = Field(min_length=1, max_length=10_000)


EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_MODELS: dict[str, type[_EventBase]] = {
    model.model_fields["event_type"].default: model for model in (QrScan, Passage, PerimeterReport, Sighting)
}
"""Each event model by its ``event_type`` tag."""
