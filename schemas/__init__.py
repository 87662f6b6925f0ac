"""Wire contracts of every topic (pydantic v2, JSON on the wire).

``TOPIC_CONTRACTS`` maps each logical topic to its one model; the JSON Schema
that subscribers read is generated from it (``gridwatch schemas``).
"""

from pydantic import BaseModel

from schemas.common import (
    SCHEMA_VERSION,
    Direction,
    HealthCode,
    Residency,
    RiskColour,
    Severity,
    SubjectKind,
)
from schemas.events import EVENT_ADAPTER, Event, EventBatch, Passage, PerimeterReport, QrScan
from schemas.master import Checkpoint, Compound, QuarantineOrder, Resident, RiskArea
from schemas.outputs import Alert, DeadLetter, EnrichedBatch, EnrichedEvent, Place

TOPIC_CONTRACTS: dict[str, type[BaseModel]] = {
    "events": EventBatch,
    "residents": Resident,
    "compounds": Compound,
    "checkpoints": Checkpoint,
    "quarantine-orders": QuarantineOrder,
    "risk-areas": RiskArea,
    "enriched-events": EnrichedBatch,
    "alerts": Alert,
    "dead-letters": DeadLetter,
}

__all__ = [
    "EVENT_ADAPTER",
    "SCHEMA_VERSION",
    "TOPIC_CONTRACTS",
    "Alert",
    "Checkpoint",
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
    "Place",
    "QrScan",
    "QuarantineOrder",
    "Residency",
    "Resident",
    "RiskArea",
    "RiskColour",
    "Severity",
    "SubjectKind",
]
