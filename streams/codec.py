"""Decoding records from the wire, and turning failures into dead letters.

The fast path validates a whole record in one pydantic call straight from
bytes. Only when that fails does the slow path look inside, so one bad event
in a terminal's upload costs that event (dead-lettered with its position),
not the other events of the batch.
"""

from __future__ import annotations

import base64
import json
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from schemas import EVENT_ADAPTER, DeadLetter, Event, EventBatch
from schemas.common import Contract, Ident

Reason = Literal["invalid_json", "schema_violation", "processing_error"]
_MAX_DETAIL = 500
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Reason
    detail: str
    event_index: int | None = None


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    batch_id: str
    source: str
    events: list[Event]
    rejected: list[Rejected]


class _Envelope(Contract):
    schema_version: Literal[1] = 1
    batch_id: Ident
    source: Ident
    events: list[Any]


def describe(exc: ValidationError) -> str:
    """Locations and messages only: pydantic's own str() would echo the input."""
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False, include_context=False)
    ]
    return "; ".join(parts)[:_MAX_DETAIL]


def decode_batch(raw: bytes) -> DecodedBatch | Rejected:
    try:
        batch = EventBatch.model_validate_json(raw)
        return DecodedBatch(batch.batch_id, batch.source, list(batch.events), [])
    except ValidationError as exc:
        first_error = exc
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return Rejected("invalid_json", "record value is not valid JSON")
    try:
        env = _Envelope.model_validate(doc)
    except ValidationError:
        return Rejected("schema_violation", describe(first_error))
    if not env.events:
        return Rejected("schema_violation", "events: batch holds no events")
    events: list[Event] = []
    rejected: list[Rejected] = []
    for i, item in enumerate(env.events):
        try:
            events.append(EVENT_ADAPTER.validate_python(item))
        except ValidationError as exc:
            rejected.append(Rejected("schema_violation", describe(exc), i))
    return DecodedBatch(env.batch_id, env.source, events, rejected)


def decode_record(model: type[M], raw: bytes) -> M | Rejected:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        try:
            json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return Rejected("invalid_json", "record value is not valid JSON")
        return Rejected("schema_violation", describe(exc))


def dead_letter(
    rejected: Rejected, *, raw: bytes, topic: str, partition: int, offset: int
) -> DeadLetter:
    return DeadLetter(
        reason=rejected.reason,
        detail=rejected.detail,
        source_topic=topic,
        partition=partition,
        offset=offset,
        event_index=rejected.event_index,
        original_b64=base64.b64encode(raw).decode("ascii"),
        failed_at=datetime.now(UTC),
    )


def safe_error(exc: BaseException) -> str:
    """Exception type and where it was raised, without its message.

    Messages of validation and lookup errors can carry the offending values
    (ID numbers, names), so logs and dead letters get only this.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"
