"""Wire contracts of every topic (pydantic v2, JSON on the wire).

``TOPIC_CONTRACTS`` maps each logical topic to its one model; the JSON Schema
that subscribers read is generated from it (``gridwatch schemas``).
"""

from pydantic import BaseModel

from schemas.actions import AlertAction
from schemas.common import (
    SCHEMA_VERSION,
    CheckpointKind,
    Direction,
    HealthCode,
    RawIdNumber,
    RegisterName,
    Residency,
    RiskColour,
    Severity,
    SightingKind,
    SubjectKind,
)
from schemas.events import EVENT_ADAPTER, Event, EventBatch, Passage, PerimeterReport, QrScan, Sighting
from schemas.master import Checkpoint, Compound, PersonRecord, QuarantineOrder, Resident, RiskArea, Visitor
from schemas.outputs import Alert, DeadLetter, EnrichedBatch, EnrichedEvent, Place

TOPIC_CONTRACTS: dict[str, type[BaseModel]] = {
    "events": EventBatch,
    "residents": Resident,
    "compounds": Compound,
    "checkpoints": Checkpoint,
    "quarantine-orders": QuarantineOrder,
    "risk-areas": RiskArea,
    "visitors": Visitor,
    "person-records": PersonRecord,
    "enriched-events": EnrichedBatch,
    "alerts": Alert,
    "alert-actions": AlertAction,
    "dead-letters": DeadLetter,
}

__all__ = [
    "EVENT_ADAPTER",
    "SCHEMA_VERSION",
    "TOPIC_CONTRACTS",
    "Alert",
    "AlertAction",
    "Checkpoint",
    "CheckpointKind",
    "Compound",
    "DeadLetter",
    "Direction",
    "EnrichedBatch",
    "EnrichedEvent",
    "Event",
    "EventBatch",
    "HealthCode",
    "Passage",
    "PerimeterReport",
    "PersonRecord",
    "Place",
    "QrScan",
    "QuarantineOrder",
    "RawIdNumber",
    "RegisterName",
    "Residency",
    "Resident",
    "RiskArea",
    "RiskColour",
    "Severity",
    "Sighting",
    "SightingKind",
    "SubjectKind",
    "Visitor",
]
