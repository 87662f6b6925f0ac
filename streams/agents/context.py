"""What every agent needs, built once by the app factory and handed to each."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, TypeVar

import faust
from pydantic import BaseModel

from schemas.internal import FindingRecord
from streams.agents.tables import RecordView
from streams.codec import Rejected, dead_letter, decode_record, safe_error
from streams.engine import Engine
from streams.enrich import Enricher
from streams.findings import fingerprint_of
from streams.metrics import DEAD_LETTERS, PUBLISH_FAILURES
from streams.privacy import PersonKeys
from streams.registers import RegisterReplicator, StoreMaster
from streams.sealing import Sealer
from streams.settings import Settings

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class DeadLetters:
    """The dead-letter topic, shared by the agents and the register replicator."""

    topic: Any
    sealer: Sealer

    async def __call__(self, rejected: Rejected, message: Any) -> None:
        """Send an input to the dead-letter topic and count it; never raises on bad input."""
        letter = dead_letter(
            rejected,
            raw=rejected.item if rejected.item is not None else message.value if isinstance(message.value, bytes)
            else b"",
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            sealer=self.sealer,
        )
        await self.topic.send(
            key=message.topic.encode(), value=letter.model_dump_json().encode()
        )
        DEAD_LETTERS.labels(reason=rejected.reason, topic=message.topic).inc()

    async def decoded(self, model: type[M], message: Any) -> M | None:
        """The record as ``model``, or None once it has been dead-lettered (no value, or not that model)."""
        record = decode_record(model, message.value) if message.value is not None else None
        if record is None or isinstance(record, Rejected):
            await self(record or Rejected("schema_violation", "record has no value"), message)
            return None
        return record


@dataclass(frozen=True, slots=True)
class Pipeline:
    settings: Settings
    app: faust.App
    topics: dict[str, Any]
    registers: RegisterReplicator
    enricher: Enricher
    engine: Engine
    rule_view: RecordView
    master: StoreMaster
    dead_letter: DeadLetters
    keys: PersonKeys

    async def publish(
        self, topic: Any, value: bytes, *, key: bytes | None = None, partition: int | None = None
    ) -> None:
        """Hand a record straight to the producer, without ``Topic.send``'s per-message bookkeeping.

        For the events agent's hot path, where ``Topic.send`` cost a third
        more than the producer's own send. A record the producer cannot
        deliver after its retries is logged and counted, never dropped in
        silence; Faust flushes the producer before the consumer commits and
        at shutdown, as for any send.
        """
        name = topic.get_topic_name()
        delivery = await self.app.producer.send(name, key, value, partition, None, None)

        def delivered(fut: Any) -> None:
            if not fut.cancelled() and fut.exception() is not None:
                PUBLISH_FAILURES.labels(topic=name).inc()
                log.error("delivery to %s failed: %s", name, safe_error(fut.exception()))

        delivery.add_done_callback(delivered)  # type: ignore[attr-defined]

    async def publish_finding(self, record: FindingRecord) -> None:
        """A finding to the alert book that owns its fingerprint."""
        await self.publish(self.topics["findings"], record.model_dump_json().encode(),
                           key=fingerprint_of(record).encode())
