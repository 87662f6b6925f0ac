"""``gridwatch purge`` on a real pipeline: afterwards nothing in Kafka, ClickHouse or the worker links to a person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sinks import ClickHouseSink
from streams.keyring import new_ring, write_keyring
from streams.process import WorkerProcess
from streams.purge import PERSONAL_TABLES, purge
from streams.scrape import wait_for_metric
from streams.settings import PrivacySettings, Settings
from streams.topics import admin_client
from tests.bus import Bus, every_record
from tests.test_pipeline import DINGYANG_BATCH, EXPECTED, start_with_master

pytestmark = pytest.mark.integration


def test_after_a_purge_no_record_in_kafka_clickhouse_or_the_worker_links_to_a_person(
        pipeline_settings: Settings, worker_factory: Callable[[Settings], WorkerProcess], tmp_path: Path) -> None:
    secret = tmp_path / "person-keyring.json"
    write_keyring(secret, new_ring(datetime.now(UTC)))
    pipeline_settings = pipeline_settings.model_copy(
        update={"privacy": PrivacySettings(person_keyring_file=secret)})
    bus = Bus(pipeline_settings)
    worker = worker_factory(pipeline_settings)
    start_with_master(bus, worker)
    bus.publish_batch(DINGYANG_BATCH)
    wait_for_metric(pipeline_settings.metrics.port, "gridwatch_sink_rows_total", len(DINGYANG_BATCH.events),
                    table="enriched_events", timeout=120)
    wait_for_metric(pipeline_settings.metrics.port, "gridwatch_sink_rows_total",
                    len([e for e in EXPECTED if e[1] == "LG07"]), table="alerts", timeout=120)
    bus.send("events", b"cp", b"{not json")  # a dead letter too
    bus.producer.flush()
    wait_for_metric(pipeline_settings.metrics.port, "gridwatch_dead_letters_total", 1, timeout=60,
                    reason="invalid_json", topic=pipeline_settings.kafka.topic("events"))
    bus.close()
    worker.stop()
    before = every_record(pipeline_settings)
    assert sum(1 for recs in before.values() for _, v in recs if v is not None) > 20
    assert before[pipeline_settings.kafka.topic("alerts")] and before[pipeline_settings.kafka.topic("residents")]

    said: list[str] = []
    report = purge(pipeline_settings, say=said.append)

    assert report.tables["enriched_events"] == len(DINGYANG_BATCH.events) and report.tables["alerts"] > 0
    assert report.tombstoned[pipeline_settings.kafka.topic("residents")] > 0
    after = every_record(pipeline_settings)
    values = {name: [v for _, v in recs if v is not None] for name, recs in after.items()}
    assert values == {name: [] for name in after}  # only tombstones left to read, anywhere
    store = ClickHouseSink(dsn=pipeline_settings.clickhouse_dsn, database=pipeline_settings.clickhouse.database)
    store.setup()
    try:
        assert {t: store.count(t) for t in PERSONAL_TABLES} == dict.fromkeys(PERSONAL_TABLES, 0)
    finally:
        store.close()
    assert not pipeline_settings.worker_dir.exists() and not pipeline_settings.dead_letter_key_file.exists()
    assert not secret.exists() and f"person-key keyring {secret}: overwritten and removed" in said


def test_topics_get_their_data_class_s_retention_and_a_changed_policy_reaches_existing_topics(
        pipeline_settings: Settings) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType

    from streams.settings import RetentionSettings
    from streams.topics import ensure_topics

    def retention_ms() -> dict[str, str]:
        admin = admin_client(pipeline_settings.kafka)
        try:
            names = [pipeline_settings.kafka.topic(lg) for lg in ("events", "alerts", "dead-letters", "residents")]
            described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names],
                                               config_filter="all")
        finally:
            admin.close()
        return {name.rsplit(".", 1)[-1]: str(configs["retention.ms"]["value"])
                for name, configs in described["topic"].items()}

    ensure_topics(pipeline_settings.kafka, retention=RetentionSettings())
    first = retention_ms()
    assert (first["events"], first["alerts"], first["dead-letters"]) == (
        str(28 * 86_400_000), str(180 * 86_400_000), str(28 * 86_400_000))
    ensure_topics(pipeline_settings.kafka, retention=RetentionSettings(events_days=14, alerts_days=0))
    second = retention_ms()
    assert (second["events"], second["alerts"]) == (str(14 * 86_400_000), "-1")
    assert second["residents"] == first["residents"]  # compacted registers: not a time limit
