"""The benchmark peers, run as the benchmark runs them: subprocesses against the real broker.

Each test publishes a tiny street and a few hundred events to its own
uuid-prefixed topics, runs one peer with a fresh consumer group and chDB path,
and reads back what the peer left in Kafka and ClickHouse after it exited. One
extra upload carries a 39 °C passage of a known resident, so every full run
must raise at least one fever alert.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import clickhouse_connect
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas import Alert, Direction, EventBatch, Passage
from streams.settings import REPO_ROOT, KafkaSettings
from streams.simulate import build_street, generate_day, publish_day, publish_master_data
from streams.simulate.street import TZ, Street
from streams.topics import ensure_topics
from tests.conftest import Broker

pytestmark = pytest.mark.integration

PEERS = ("naive_faust", "quix")
SECRET = "peer-test-secret"  # noqa: S105 - a test HMAC key, not a credential
DATABASE = "peer"
RESULT_KEYS = {"name", "events", "records", "alerts", "rows", "elapsed_s", "eps", "first_consumed_at", "done_at"}
RUN_TIMEOUT_S = 240


@dataclass(frozen=True)
class Published:
    street: Street
    prefix: str
    events: int
    fever_event_id: str


@pytest.fixture
def published(kafka_broker: Broker) -> Published:
    """Registers of a 300-resident street, 600 simulated events and one feverish passage, on fresh topics."""
    run = uuid.uuid4().hex[:8]
    settings = KafkaSettings(bootstrap=kafka_broker.bootstrap, topic_prefix=f"peer{run}.", partitions=2)
    ensure_topics(settings)
    street = build_street(seed=1, residents=300)
    batches = list(generate_day(street, seed=1, events=600))
    resident, checkpoint = street.residents[0], street.checkpoints[0]
    fever = Passage(event_id=f"fever-{run}", event_time=datetime(2020, 2, 8, 12, 0, tzinfo=TZ),
                    checkpoint_id=checkpoint.checkpoint_id, direction=Direction.IN,
                    id_number=resident.id_number, temperature_c=39.0)
    batches.append(EventBatch(batch_id=f"fever-{run}", source=checkpoint.checkpoint_id, events=(fever,)))
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap, linger_ms=5)
    try:
        publish_master_data(street, producer=producer, topic=settings.topic)
        stats = publish_day(batches, producer=producer, topic=settings.topic, progress=False)
    finally:
        producer.close()
    return Published(street=street, prefix=settings.topic_prefix, events=stats.events, fever_event_id=fever.event_id)


@dataclass(frozen=True)
class PeerRun:
    returncode: int
    output: str
    result: dict[str, object] | None
    chdb: Path
    alerts_topic: str


def run_peer(name: str, broker: Broker, published: Published, tmp_path: Path, *, events: int,
             timeout_s: float = 60.0) -> PeerRun:
    out = tmp_path / f"{name}.json"
    chdb = tmp_path / f"{name}-ch"
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.peers.{name}", "--bootstrap", broker.bootstrap,
         "--prefix", published.prefix, "--events", str(events), "--clickhouse-dsn", f"chdb://{chdb}",
         "--database", DATABASE, "--group", f"peer-{name}-{uuid.uuid4().hex[:8]}", "--out", str(out),
         "--person-key-secret", SECRET, "--timeout", str(timeout_s)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
    )
    output = proc.stdout + proc.stderr
    result = json.loads(out.read_text()) if out.exists() else None
    return PeerRun(proc.returncode, output, result, chdb, f"{published.prefix}peer-{name}-alerts")


def clickhouse_rows(chdb: Path, sql: str) -> list[tuple[object, ...]]:
    client = clickhouse_connect.get_client(dsn=f"chdb://{chdb}")
    try:
        return [tuple(r) for r in client.query(sql).result_rows]
    finally:
        client.close()


def topic_alerts(bootstrap: str, topic: str) -> list[Alert]:
    """Every record of the alerts topic, read to its end offsets."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert tps, f"{topic} was not created"
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        alerts: list[Alert] = []
        while any(consumer.position(tp) < end[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=1000).values():
                alerts.extend(Alert.model_validate_json(r.value) for r in records)
        return alerts
    finally:
        consumer.close()


def assert_no_personal_data(street: Street, output: str) -> None:
    leaked = [r for r in street.residents if r.id_number in output or r.name in output]
    assert not leaked, f"{len(leaked)} residents' ID numbers or names appear in the peer's output"


@pytest.mark.parametrize("name", PEERS)
def test_peer_stores_every_event_once_and_publishes_every_alert_including_a_fever(
    name: str, kafka_broker: Broker, published: Published, tmp_path: Path
) -> None:
    run = run_peer(name, kafka_broker, published, tmp_path, events=published.events)

    assert run.returncode == 0, run.output[-3000:]
    assert run.result is not None
    assert run.result.keys() >= RESULT_KEYS
    assert run.result["name"] == name
    assert run.result["events"] == published.events
    assert run.result["rows"] == published.events
    assert run.result["eps"] > 0
    assert run.result["first_consumed_at"] <= run.result["done_at"]  # type: ignore[operator]
    assert clickhouse_rows(run.chdb, f"SELECT uniqExact(event_id), count() FROM {DATABASE}.enriched_events FINAL") \
        == [(published.events, published.events)]
    alerts = topic_alerts(kafka_broker.bootstrap, run.alerts_topic)
    assert len(alerts) == run.result["alerts"]
    assert any(a.rule_id == "fever" and a.event_ids == (published.fever_event_id,) for a in alerts)
    assert clickhouse_rows(run.chdb, f"SELECT count() FROM {DATABASE}.alerts FINAL") == [(len(alerts),)]
    assert_no_personal_data(published.street, run.output)


@pytest.mark.parametrize("name", PEERS)
def test_peer_stops_after_exactly_n_events_when_the_topic_holds_more(
    name: str, kafka_broker: Broker, published: Published, tmp_path: Path
) -> None:
    n = published.events // 2 + 7  # lands inside an upload: the peer must cut the batch
    run = run_peer(name, kafka_broker, published, tmp_path, events=n)

    assert run.returncode == 0, run.output[-3000:]
    assert run.result is not None
    assert (run.result["events"], run.result["rows"]) == (n, n)
    assert clickhouse_rows(run.chdb, f"SELECT uniqExact(event_id) FROM {DATABASE}.enriched_events FINAL") == [(n,)]
    assert len(topic_alerts(kafka_broker.bootstrap, run.alerts_topic)) == run.result["alerts"]


@pytest.mark.parametrize("name", PEERS)
def test_peer_fails_with_a_clear_error_when_the_topic_holds_fewer_events(
    name: str, kafka_broker: Broker, published: Published, tmp_path: Path
) -> None:
    run = run_peer(name, kafka_broker, published, tmp_path, events=published.events + 1, timeout_s=8)

    assert run.returncode != 0
    assert run.result is None
    assert f"only {published.events:,} of {published.events + 1:,} events arrived" in run.output
    assert_no_personal_data(published.street, run.output)
