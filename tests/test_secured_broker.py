"""The pipeline on the secured broker (SASL/SCRAM-SHA-512 over TLS, ACLs), and what it refuses.

One broker for the module, started by ``infra/kafka/broker.sh`` with
``KAFKA_SECURED=1`` (its own CA, certificate and SCRAM users). The worker
runs as ``worker``, registers are published as ``registers``, a checkpoint
uploads as ``terminal`` and a downstream system reads alerts as
``subscriber``; then every kind of access the ACLs must refuse is tried,
and counted: the README quotes the figure.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.net.compat import KafkaNetClient

from schemas import EventBatch
from streams.broker import EphemeralBroker
from streams.clients import kafka_python
from streams.process import WorkerProcess, free_port
from streams.scrape import wait_for_metric
from streams.settings import KafkaSettings, Settings
from tests.bus import Bus
from tests.factories import COMPOUNDS, DINGYANG_CP, RESIDENTS, RISK_AREAS, WENFENG_CP, passage

pytestmark = pytest.mark.integration

PREFIX, APP = "gwsec.", "gwsec"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EphemeralBroker]:
    broker = EphemeralBroker(tmp_path_factory.mktemp("kafka-secured"), secured=True, topic_prefix=PREFIX,
                             app_id=APP)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def as_user(broker: EphemeralBroker, user: str, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(app_id=APP, data_dir=tmp_path / f"data-{user}",
                    kafka={**broker.credentials(user), "topic_prefix": PREFIX, "partitions": 2},
                    clickhouse={"flush_seconds": 0.2}, metrics={"port": free_port()},
                    alerts={"repeat_interval_s": 0}, **extra)


def test_the_pipeline_runs_end_to_end_with_each_part_under_its_own_principal(
        secured: EphemeralBroker, tmp_path: Path, worker_factory: Callable[[Settings], WorkerProcess]) -> None:
    worker_settings = as_user(secured, "worker", tmp_path)
    admin = as_user(secured, "admin", tmp_path)
    from streams.topics import ensure_topics

    ensure_topics(admin.kafka)  # the topic admin, as the admin principal
    worker = worker_factory(worker_settings)
    worker.start()
    registers = Bus(as_user(secured, "registers", tmp_path))
    registers.publish_master(residents=RESIDENTS, checkpoints=(DINGYANG_CP, WENFENG_CP), compounds=COMPOUNDS,
                             risk_areas=RISK_AREAS)
    wait_for_metric(worker_settings.metrics.port, "gridwatch_master_updates_total", len(RESIDENTS),
                    timeout=120, table="residents", op="upsert")
    terminal = Bus(as_user(secured, "terminal", tmp_path))
    terminal.publish_batch(EventBatch(batch_id="b-sec-1", source=DINGYANG_CP.checkpoint_id,
                                      events=(passage("e-sec-fever", temperature_c=38.6),)))
    subscriber = Bus(as_user(secured, "subscriber", tmp_path))
    alerts = subscriber.consume("alerts", until=lambda rs: any("e-sec-fever" in r["event_ids"] for r in rs),
                                timeout=120)
    assert [r["rule_id"] for r in alerts if "e-sec-fever" in r["event_ids"]] == ["fever"]
    enriched = subscriber.consume("enriched-events", until=lambda rs: any(r["batch_id"] == "b-sec-1" for r in rs))
    assert [e["event_id"] for r in enriched if r["batch_id"] == "b-sec-1" for e in r["events"]] == ["e-sec-fever"]
    for b in (registers, terminal, subscriber):
        b.close()


_MADE: list[KafkaNetClient] = []


def _tracked_client(**config: Any) -> KafkaNetClient:
    """kafka-python's network client, remembered: a producer whose constructor is refused never closes its own."""
    client = KafkaNetClient(**config)
    _MADE.append(client)
    return client


def _refused(attempt: Callable[[], object]) -> bool:
    """True if the broker refused (an error of Kafka's, or nothing at all came back).

    Every client the attempt made is closed afterwards: left to the garbage
    collector, its sockets' ResourceWarnings fail whichever later test it runs in.
    """
    try:
        got = attempt()
    except (KafkaError, ssl.SSLError, OSError):
        return True
    finally:
        while _MADE:
            _MADE.pop().close()
    return not got


def _client(secured: EphemeralBroker, user: str, password: str | None = None) -> dict[str, Any]:
    kafka = KafkaSettings(**secured.credentials(user), topic_prefix=PREFIX)
    kw = kafka_python(kafka)
    if password is not None:
        kw["sasl_plain_password"] = password
    return kw | {"request_timeout_ms": 8000, "kafka_client": _tracked_client}


def test_wrong_passwords_plaintext_clients_and_every_access_no_acl_grants_are_refused(
        secured: EphemeralBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from streams.topics import ensure_topics

    ensure_topics(as_user(secured, "admin", tmp_path).kafka)
    topic = KafkaSettings(topic_prefix=PREFIX).topic

    def send(kw: dict[str, Any], logical: str) -> Callable[[], object]:
        def go() -> object:
            producer = KafkaProducer(**kw, max_block_ms=8000)
            try:
                return producer.send(topic(logical), b"{}").get(timeout=10)
            finally:
                producer.close(timeout=2)
        return go

    def read(kw: dict[str, Any], logical: str) -> Callable[[], object]:
        def go() -> object:  # the records themselves: Describe alone would give offsets
            consumer = KafkaConsumer(**kw, enable_auto_commit=False)
            try:
                parts = [TopicPartition(topic(logical), p) for p in range(2)]
                consumer.assign(parts)
                consumer.seek_to_beginning(*parts)
                got: list[object] = []
                for _ in range(10):
                    for records in consumer.poll(timeout_ms=1000).values():
                        got += records
                    if got:
                        break
                return got
            finally:
                consumer.close()
        return go

    seed = KafkaProducer(**_client(secured, "admin"))  # a record in each topic read below, so a read can succeed
    for logical in ("alerts", "residents"):
        for p in range(2):
            seed.send(topic(logical), b"{}", partition=p)
    seed.flush()
    seed.close()

    def join(kw: dict[str, Any], group: str) -> Callable[[], object]:
        def go() -> object:
            consumer = KafkaConsumer(topic("alerts"), **kw, group_id=group, enable_auto_commit=False,
                                     consumer_timeout_ms=8000)
            try:
                consumer.poll(timeout_ms=8000)
                return consumer.assignment()
            finally:
                consumer.close()
        return go

    def admin(kw: dict[str, Any]) -> Callable[[], object]:
        def go() -> object:
            client = KafkaAdminClient(**kw)
            try:
                return client.list_topics()
            finally:
                client.close()
        return go

    plaintext = {"bootstrap_servers": secured.bootstrap, "request_timeout_ms": 8000, "kafka_client": _tracked_client}
    attempts = {
        "terminal with a wrong password writes events": send(_client(secured, "terminal", "not-the-password"),
                                                             "events"),
        "a plaintext client writes events on the TLS listener": send(plaintext, "events"),
        "a plaintext client lists topics on the TLS listener": admin(plaintext),
        "terminal reads alerts": read(_client(secured, "terminal"), "alerts"),
        "terminal writes alert-actions": send(_client(secured, "terminal"), "alert-actions"),
        "subscriber writes events": send(_client(secured, "subscriber"), "events"),
        "subscriber writes alert-actions": send(_client(secured, "subscriber"), "alert-actions"),
        "subscriber joins the worker's consumer group": join(_client(secured, "subscriber"), APP),
        "console writes events": send(_client(secured, "console"), "events"),
        "registers read residents back": read(_client(secured, "registers"), "residents"),
    }
    # and the allowed ones, so a refusal is the ACLs' doing and not a broken client
    allowed = {
        "terminal writes events": send(_client(secured, "terminal"), "events"),
        "subscriber reads alerts": read(_client(secured, "subscriber"), "alerts"),
        "console writes alert-actions": send(_client(secured, "console"), "alert-actions"),
    }
    accepted = [name for name, attempt in attempts.items() if not _refused(attempt)]
    refused_allowed = [name for name, attempt in allowed.items() if _refused(attempt)]
    with capsys.disabled():
        print(json.dumps({"attempts": len(attempts), "accepted": len(accepted), "accepted_names": accepted,
                          "allowed_checked": len(allowed), "allowed_refused": refused_allowed}))
    assert accepted == []
    assert refused_allowed == []
