"""Test-side Kafka clients (kafka-python) and a /metrics reader."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from pydantic import BaseModel

from schemas import Checkpoint, Compound, EventBatch, QuarantineOrder, Resident, RiskArea
from streams.privacy import PersonKeys
from streams.settings import Settings


class Bus:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = PersonKeys(secret=settings.privacy.person_key_secret.get_secret_value().encode())
        self.producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap, linger_ms=0)

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
    ) -> None:
        def js(m: BaseModel) -> bytes:
            return m.model_dump_json().encode()

        for r in residents:
            self.send("residents", self.keys.key(r.id_number).encode(), js(r))
        for c in checkpoints:
            self.send("checkpoints", c.checkpoint_id.encode(), js(c))
        for co in compounds:
            self.send("compounds", co.compound_id.encode(), js(co))
        for o in orders:
            self.send("quarantine-orders", self.keys.key(o.id_number).encode(), js(o))
        for a in risk_areas:
            self.send("risk-areas", a.division_code.encode(), js(a))
        self.producer.flush()

    def publish_batch(self, batch: EventBatch) -> None:
        self.send("events", batch.source.encode(), batch.model_dump_json().encode())
        self.producer.flush()

    def consume(
        self, logical: str, *, until: Callable[[list[dict[str, Any]]], bool], timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        """Read a topic from the start until ``until(records)`` holds; records carry key and meta."""
        consumer = KafkaConsumer(
            self.topic(logical),
            bootstrap_servers=self.settings.kafka.bootstrap,
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
            raise TimeoutError(f"{logical}: condition not met in {timeout}s; got {len(records)} records")
        finally:
            consumer.close()

    def close(self) -> None:
        self.producer.close()
