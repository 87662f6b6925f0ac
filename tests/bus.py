"""Test-side Kafka clients (kafka-python) and a /metrics reader."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from pydantic import BaseModel

from schemas import (
    AlertAction,
    Checkpoint,
    Compound,
    EventBatch,
    PersonRecord,
    QuarantineOrder,
    Resident,
    RiskArea,
    Visitor,
)
from streams.clients import kafka_python, records_to_end
from streams.master import register_key
from streams.settings import Settings
from streams.topics import admin_client


class Bus:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = settings.privacy.person_keys()
        self.producer = KafkaProducer(**kafka_python(settings.kafka), linger_ms=0)

    def topic(self, logical: str) -> str:
        return self.settings.kafka.topic(logical)

    def send(self, logical: str, key: bytes | None, value: bytes | None) -> None:
        self.producer.send(self.topic(logical), key=key, value=value)

    def publish_master(
        self,
        *,
        residents: Iterable[Resident] = (),
        checkpoints: Iterable[Checkpoint] = (),
        compounds: Iterable[Compound] = (),
        orders: Iterable[QuarantineOrder] = (),
        risk_areas: Iterable[RiskArea] = (),
        visitors: Iterable[Visitor] = (),
        person_records: Iterable[PersonRecord] = (),
    ) -> None:
        def js(m: BaseModel) -> bytes:
            return m.model_dump_json().encode()

        for r in residents:
            self.send("residents", register_key(r).encode(), js(r))
        for c in checkpoints:
            self.send("checkpoints", c.checkpoint_id.encode(), js(c))
        for co in compounds:
            self.send("compounds", co.compound_id.encode(), js(co))
        for o in orders:
            self.send("quarantine-orders", register_key(o).encode(), js(o))
        for a in risk_areas:
            self.send("risk-areas", a.division_code.encode(), js(a))
        for v in visitors:
            self.send("visitors", register_key(v).encode(), js(v))
        for p in person_records:
            self.publish_person_record(p)
        self.producer.flush()

    def publish_person_record(self, record: PersonRecord) -> int:
        """Publish one upstream register's record of a person; returns its offset (the worker's event id names it)."""
        future = self.producer.send(self.topic("person-records"), key=register_key(record).encode(),
                                    value=record.model_dump_json().encode())
        return int(future.get(timeout=30).offset)

    def publish_action(self, action: AlertAction) -> None:
        """An operator's action, keyed by the alert's fingerprint as the alert book expects."""
        self.send("alert-actions", action.fingerprint.encode(), action.model_dump_json().encode())
        self.producer.flush()

    def publish_batch(self, batch: EventBatch) -> None:
        self.send("events", batch.source.encode(), batch.model_dump_json().encode())
        self.producer.flush()

    def consume(
        self,
        logical: str,
        *,
        until: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 60.0,
        strict: bool = True,
    ) -> list[dict[str, Any]]:
        """Read a topic from the start until ``until(records)`` holds; records carry key and meta.

        ``strict=False`` returns what arrived when the time is up instead of raising, so a caller can
        report exactly what is missing.
        """
        consumer = KafkaConsumer(
            self.topic(logical),
            **kafka_python(self.settings.kafka),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=500,
        )
        records: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                for m in consumer:
                    doc = json.loads(m.value)
                    doc["_key"], doc["_partition"] = m.key, m.partition
                    records.append(doc)
                if until(records):
                    return records
            if not strict:
                return records
            raise TimeoutError(f"{logical}: condition not met in {timeout}s; got {len(records)} records")
        finally:
            consumer.close()

    def close(self) -> None:
        self.producer.close()


Records = list[tuple[bytes | None, bytes | None]]


def every_record(settings: Settings, *, also: tuple[str, ...] = ()) -> dict[str, Records]:
    """Every record (key, value) a reader from the start of each topic of this run would get now: the
    project's topics, the worker's changelogs and internal topics, and the topics named in ``also``."""
    admin = admin_client(settings.kafka)
    try:
        names = [n for n in admin.list_topics()
                 if n.startswith((settings.kafka.topic_prefix, settings.app_id)) or n in also]
    finally:
        admin.close()
    consumer = KafkaConsumer(**kafka_python(settings.kafka), enable_auto_commit=False)
    try:
        return {name: [(r.key, r.value) for r in records_to_end(consumer, name)] for name in names}
    finally:
        consumer.close()
