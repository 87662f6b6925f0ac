"""The replicator on the real broker: ``settled`` waits until the store holds what was published before."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from streams.idcard import with_check_digit
from streams.master import person_record_key
from streams.privacy import PersonKeys
from streams.registers import RegisterReplicator, RegisterStore, StoreMaster
from streams.settings import Settings
from streams.topics import ensure_topics
from tests.factories import person_record

pytestmark = pytest.mark.integration

KEYS = PersonKeys(secret=b"test")
PEOPLE = [with_check_digit(f"11010119800101{n:03d}") for n in range(300)]


class SlowStore(RegisterStore):
    """Applies each batch a little late, so the store lags the topic as it does under load."""

    def apply(self, puts: dict[bytes, bytes | None], offsets: dict[tuple[str, int], int]) -> None:
        time.sleep(0.2)
        super().apply(puts, offsets)


def publish(settings: Settings) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap, linger_ms=0)
    for i, id_number in enumerate(PEOPLE):
        register = "county" if i % 2 else "provincial"
        record = person_record(register, id_number=id_number)
        key = person_record_key(register, KEYS.key(id_number))
        producer.send(settings.kafka.topic("person-records"), key=key.encode(), value=record.model_dump_json().encode())
        producer.flush()  # one record per request: the store cannot have them all at once
    producer.close()


def test_settled_returns_only_once_the_store_holds_every_record_published_before(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    ensure_topics(pipeline_settings.kafka)
    store = SlowStore(tmp_path / "registers")

    async def reject(why: Any, msg: Any) -> None:
        raise AssertionError(f"rejected {why}")

    async def scenario() -> tuple[bool, int]:
        replicator = RegisterReplicator(settings=pipeline_settings, store=store, keys=KEYS, reject=reject)
        task = asyncio.create_task(replicator.run())
        try:
            await asyncio.wait_for(replicator.caught_up.wait(), 60)
            await asyncio.to_thread(publish, pipeline_settings)
            ok = await replicator.settled("person-records", time.time(), timeout=60)
            master = StoreMaster(store)
            held = sum(
                master.person_record("county" if i % 2 else "provincial", KEYS.key(id_number)) is not None
                for i, id_number in enumerate(PEOPLE)
            )
            return ok, held
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        ok, held = asyncio.run(scenario())
    finally:
        store.close()
    assert ok
    assert held == len(PEOPLE)


def test_settled_is_false_while_the_replicator_is_not_running(pipeline_settings: Settings, tmp_path: Path) -> None:
    store = RegisterStore(tmp_path / "registers")

    async def reject(why: Any, msg: Any) -> None: ...

    replicator = RegisterReplicator(settings=pipeline_settings, store=store, keys=KEYS, reject=reject)
    try:
        assert asyncio.run(replicator.settled("person-records", 0, timeout=0.1)) is False
    finally:
        store.close()
