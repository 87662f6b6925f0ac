"""``gridwatch dead-letters``: what was refused and why, and re-publishing it once fixed.

``list`` reads the dead-letter topic and prints each letter's reason, source
topic, partition, offset and time (nothing of the record itself: it is
sealed). ``replay`` opens each selected letter with the dead-letter key and
sends the original back to its source topic: a whole record as it was, one
rejected event of an upload as an upload of its own (``batch_id``
``replay-<partition>-<offset>-<index>``); a truncated original cannot be
replayed from its letter and is named so (the whole record is still at its
source offset while the topic keeps it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer
from pydantic import ValidationError

from schemas import DeadLetter
from streams.clients import kafka_python, records_to_end
from streams.sealing import Sealer, where
from streams.settings import Settings


def letters(settings: Settings, *, reason: str | None = None) -> Iterator[tuple[int, int, DeadLetter]]:
    """Every dead letter on the topic now, oldest first per partition, as (partition, offset, letter)."""
    consumer = KafkaConsumer(**kafka_python(settings.kafka), enable_auto_commit=False)
    try:
        for r in records_to_end(consumer, settings.kafka.topic("dead-letters")):
            try:
                letter = DeadLetter.model_validate_json(r.value or b"")
            except ValidationError:
                continue  # a version-1 letter, or not ours
            if reason is None or letter.reason == reason:
                yield r.partition, r.offset, letter
    finally:
        consumer.close()


@dataclass
class ReplayResult:
    sent: int = 0
    truncated: int = 0
    wrong_key: int = 0


def replay(settings: Settings, sealer: Sealer, *, reason: str | None = None, dry_run: bool = False) -> ReplayResult:
    result = ReplayResult()
    producer = None if dry_run else KafkaProducer(**kafka_python(settings.kafka), acks="all")
    try:
        for _p, _o, letter in letters(settings, reason=reason):
            if letter.key_id != sealer.key_id:
                result.wrong_key += 1
                continue
            if letter.original_truncated:
                result.truncated += 1
                continue
            original = sealer.open(letter.sealed_b64, where(letter.source_topic, letter.partition, letter.offset,
                                                            letter.event_index))
            if letter.event_index is not None:
                original = json.dumps({
                    "schema_version": 1, "source": "replay", "events": [json.loads(original)],
                    "batch_id": f"replay-{letter.partition}-{letter.offset}-{letter.event_index}",
                }, ensure_ascii=False).encode()
            if producer is not None:
                producer.send(letter.source_topic, value=original)
            result.sent += 1
        if producer is not None:
            producer.flush()
    finally:
        if producer is not None:
            producer.close()
    return result
