"""Decoding records from the wire, and turning failures into dead letters.

The fast path validates a whole record in one pydantic call straight from
bytes. Only when that fails does the slow path look inside, so one bad event
in a terminal's upload costs that event (dead-lettered with its position),
not the other events of the batch.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from schemas import EVENT_ADAPTER, DeadLetter, Event, EventBatch
from schemas.common import Contract, Ident
from schemas.events import EVENT_MODELS
from streams.sealing import OVERHEAD, Sealer, where

Reason = Literal["invalid_json", "schema_violation", "processing_error"]
_MAX_DETAIL = 500
DEAD_LETTER_MAX_BYTES = 900_000
"""A dead letter's JSON stays under this: Faust's producer refuses a request over 1,000,000 bytes, and a letter it
refused was lost with the record it named (the agent crashed and Faust committed past it)."""
M = TypeVar("M", bound=BaseModel)
_TOO_DEEP = "record value is nested deeper than the JSON parser allows"


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Reason
    detail: str
    event_index: int | None = None
    item: bytes | None = None
    """With ``event_index``: that event alone, as JSON, for its dead letter. The whole record in every one of
    its events' letters made one upload of 10,000 bad events near a megabyte 10,000 letters near a megabyte."""


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    batch_id: str
    source: str
    events: list[Event]
    rejected: list[Rejected]
    refused: dict[int, tuple[str, ...]] = field(default_factory=dict)
    """Per position in ``events``: the readings dropped from that event, as 'field: why'."""


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
    except RecursionError:  # was a processing_error, and the worker logged a traceback per record
        return Rejected("invalid_json", _TOO_DEEP)
    try:
        env = _Envelope.model_validate(doc)
    except ValidationError:
        return Rejected("schema_violation", describe(first_error))
    if not env.events:
        return Rejected("schema_violation", "events: batch holds no events")
    events: list[Event] = []
    rejected: list[Rejected] = []
    refused: dict[int, tuple[str, ...]] = {}
    for i, item in enumerate(env.events):
        try:
            events.append(EVENT_ADAPTER.validate_python(item))
        except ValidationError as exc:
            kept = _without_refused_readings(item, exc)
            if kept is None:
                rejected.append(Rejected("schema_violation", describe(exc), i, _as_json(item)))
            else:
                refused[len(events)] = kept[1]
                events.append(kept[0])
    return DecodedBatch(env.batch_id, env.source, events, rejected, refused)


def _as_json(item: Any) -> bytes | None:
    """``item`` as compact JSON, or None if it cannot be written back (its letter then carries the record)."""
    try:
        return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()
    except (ValueError, TypeError, RecursionError):
        return None


def _without_refused_readings(item: Any, exc: ValidationError) -> tuple[Event, tuple[str, ...]] | None:
    """The event without the readings the contract refused, if those were all that was wrong with it.

    A thermometer that reads 99.9 °C says nothing about the passage it was
    taken at: the person still entered a closed compound at that hour. So
    when every error lies in a refusable reading (``REFUSABLE`` on the
    event's model), the event goes on without them and names them; an error
    anywhere else (identity, place, time, the event's own shape) rejects it.
    """
    tag = item.get("event_type") if isinstance(item, dict) else None
    model = EVENT_MODELS.get(tag) if isinstance(tag, str) else None
    if model is None:
        return None
    why: dict[str, str] = {}
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = err["loc"]
        name = loc[1] if len(loc) >= 2 and loc[0] == tag else None
        if not isinstance(name, str) or name not in model.REFUSABLE:
            return None
        why.setdefault(name, err["msg"])
    try:
        event = EVENT_ADAPTER.validate_python({k: v for k, v in item.items() if k not in why})
    except ValidationError:
        return None
    return event, tuple(f"{name}: {msg}"[:_MAX_DETAIL] for name, msg in sorted(why.items()))


def decode_record(model: type[M], raw: bytes) -> M | Rejected:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        try:
            json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return Rejected("invalid_json", "record value is not valid JSON")
        except RecursionError:
            return Rejected("invalid_json", _TOO_DEEP)
        return Rejected("schema_violation", describe(exc))


def dead_letter(
    rejected: Rejected, *, raw: bytes, topic: str, partition: int, offset: int, sealer: Sealer,
    max_bytes: int = DEAD_LETTER_MAX_BYTES,
) -> DeadLetter:
    """The letter for a rejected record, its original sealed, never larger than ``max_bytes`` as JSON.

    A record near the broker's limit grows by a third in base64: past the
    limit, only the original's first bytes are carried, with its size, so the
    whole can be fetched from its topic.
    """
    letter = DeadLetter(
        reason=rejected.reason,
        detail=rejected.detail[:_MAX_DETAIL],
        source_topic=topic,
        partition=partition,
        offset=offset,
        event_index=rejected.event_index,
        sealed_b64="",
        key_id=sealer.key_id,
        original_size=len(raw),
        failed_at=datetime.now(UTC),
    )
    room = max_bytes - len(letter.model_dump_json()) - len('"original_truncated":true,')
    if room < 4 * -(-(OVERHEAD + 3) // 3):
        raise ValueError(f"max_bytes {max_bytes} leaves no room for any of the original")
    fits = (room // 4) * 3 - OVERHEAD
    kept = raw if len(raw) <= fits else raw[:fits]
    sealed = sealer.seal(kept, where(topic, partition, offset, rejected.event_index))
    return letter.model_copy(update={"sealed_b64": sealed, "original_truncated": len(kept) < len(raw)})


def safe_error(exc: BaseException) -> str:
    """Exception type and where it was raised, without its message.

    Messages of validation and lookup errors can carry the offending values
    (ID numbers, names), so logs and dead letters get only this.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"
