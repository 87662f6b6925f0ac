"""What the pipeline publishes: enriched events, alerts, dead letters.

Enriched events and alerts carry no name, phone or raw ID number: the subject
is named by a masked ID number (for people) and a pseudonymous key (for
joins), so these topics and the ClickHouse tables built from them can be read
by every grid without exposing the register.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.common import (
    SCHEMA_VERSION,
    CheckpointKind,
    Contract,
    Direction,
    DivisionCode,
    HealthCode,
    Ident,
    Residency,
    RiskColour,
    Severity,
    SightingKind,
    SubjectKind,
)

Grid = Annotated[str, Field(max_length=64)]


class Place(Contract):
    """Where an event happened, resolved from the checkpoint or compound master data.

    Empty strings mean "unknown to master data"; the event still flows.
    """

    checkpoint_id: str = ""
    compound_id: str = ""
    community_code: str = ""
    large_grid: Grid = ""
    small_grid: Grid = ""


class EnrichedEvent(Contract):
    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: Ident
    event_type: Literal["qr_scan", "passage", "perimeter_report", "sighting", "checkpoint_silence", "register_check"]
    event_time: AwareDatetime
    place: Place
    lat: float | None = Field(default=None, description="Of the checkpoint where it happened.")
    lon: float | None = None
    checkpoint_kind: CheckpointKind | None = None
    compound_closed: bool = Field(default=False, description="The compound where it happened is closed.")
    sighting_kind: SightingKind | None = None
    dwelling_id: str = Field(default="", description="Where it happened (a household visit), if any.")
    dwelling_registered: int | None = Field(
        default=None, description="Persons registered at dwelling_id, or at home_dwelling_id when that is empty."
    )
    visitor_active: bool = Field(default=False, description="A guard-registered visit here is valid at event time.")
    visitor_host_dwelling_id: str = ""
    quarantine_dwelling_id: str = Field(default="", description="Where the active quarantine order confines.")
    quarantine_compound_id: str = ""
    id_problems: tuple[str, ...] = Field(default=(), description="Why the ID number is invalid; empty if valid.")
    subject_kind: SubjectKind | None = None
    subject_key: str = Field(default="", description="Pseudonymous person key, empty if none.")
    subject_masked: str = Field(default="", description="Masked ID number or plate.")
    resident_known: bool = False
    resident_verified: bool = False
    residency: Residency | None = None
    home_community_code: str = ""
    home_compound_id: str = ""
    home_dwelling_id: str = ""
    direction: Direction | None = None
    temperature_c: float | None = None
    health_code: HealthCode | None = None
    declared_origin: DivisionCode | None = None
    card_division: DivisionCode | None = None
    declared_origin_risk: RiskColour | None = None
    card_division_risk: RiskColour | None = None
    quarantine_active: bool = False
    person_count: int = 1
    linked_subjects: tuple[str, ...] = Field(default=(), description="Masked IDs of linked persons.")
    misses: tuple[str, ...] = Field(default=(), description="Master-data lookups that found nothing.")
    refused_fields: tuple[str, ...] = Field(
        default=(),
        description="Readings the contract refused (an impossible temperature, an unknown health code), dropped "
                    "from this event and named here as 'field: why', never with the value.",
    )


class EnrichedBatch(Contract):
    """The record on the enriched-events topic: one input batch, enriched."""

    schema_version: Literal[1] = SCHEMA_VERSION
    batch_id: Ident
    source: Ident
    events: tuple[EnrichedEvent, ...]


AlertStatus = Literal["open", "acknowledged", "resolved"]
"""Where an alert is in its life: only operators acknowledge; operators or the rule itself resolve."""

AlertChange = Literal["opened", "repeated", "escalated", "acknowledged", "commented", "resolved", "expired"]
"""What the latest revision changed. A pager pages on "opened" and "escalated" (a repeat that raised the
severity) only; "expired" closes an alert whose condition came back after the suppression window as a new alert."""


class Alert(Contract):
    """One condition for the people on the ground; keyed on its topic by large grid.

    Every change publishes the whole alert again with ``revision`` + 1, so a
    consumer keeps the highest revision per ``alert_id`` and needs no merge
    logic. ``event_time`` and ``place`` are those of the opening event and
    never change, so the alert stays on one ClickHouse sorting key.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    alert_id: str = Field(description="Deterministic: the same rule over the same opening event.")
    rule_id: str
    rule_version: int
    severity: Severity
    event_time: AwareDatetime
    detected_at: AwareDatetime
    place: Place
    dwelling_id: str = ""
    subject_masked: str = ""
    subject_key: str = ""
    event_ids: tuple[str, ...]
    summary_zh: str
    summary_en: str
    action: str = ""
    fingerprint: str = Field(default="", description="Rule, subject and place: repeats of one condition share it.")
    status: AlertStatus = "open"
    count: int = Field(default=1, ge=1, description="Findings folded into this alert.")
    revision: int = Field(default=1, ge=1, description="Raised by every change; consumers keep the highest.")
    change: AlertChange = "opened"
    last_event_time: AwareDatetime | None = Field(default=None, description="Latest event folded in; None: event_time.")
    updated_at: AwareDatetime | None = Field(default=None, description="When this revision was made; None: detected_at")
    updated_by: str = Field(default="", description='Who made this revision: an operator id or "rule:<rule_id>".')
    acknowledged_by: str = ""
    acknowledged_at: AwareDatetime | None = None
    resolved_by: str = Field(default="", description='An operator id, or "rule:<rule_id>" when the rule resolved it.')
    resolved_at: AwareDatetime | None = None
    note: str = Field(default="", max_length=500, description="The latest operator note, or why the rule resolved it.")


class DeadLetter(Contract):
    """An input the pipeline could not take, with enough to find and replay it, and no readable value of it.

    Version 2: the original travels sealed (AES-256-GCM, ``sealed_b64``, the key's id in ``key_id``; see
    ``streams/sealing.py``), where version 1 carried it readable (``original_b64``) with its SHA-256.
    """

    schema_version: Literal[2] = 2
    reason: Literal["invalid_json", "schema_violation", "processing_error"]
    detail: str = Field(description="What was wrong; never the offending values.")
    source_topic: str
    partition: int
    offset: int
    event_index: int | None = Field(default=None, description="Position inside a batch, if one event.")
    sealed_b64: str = Field(description="The original record value sealed (its first bytes if truncated); with "
                                        "event_index, that event alone as JSON (the record is at "
                                        "source_topic/partition/offset). Opens only with the dead-letter key.")
    key_id: str = Field(min_length=1, max_length=32, description="Which dead-letter key sealed it.")
    original_size: int | None = Field(default=None, ge=0, description="Bytes of the whole original value.")
    original_truncated: bool = Field(
        default=False,
        description="The original was too large to carry whole within the producer's request limit: the record is "
                    "at source_topic/partition/offset.",
    )
    failed_at: AwareDatetime
