"""End to end on the real broker: kafka-python in, the worker subprocess, kafka-python out.

Nothing is mocked: the broker is the project's own (tests/conftest.py), the
worker is ``gridwatch worker`` in a subprocess, ClickHouse is the embedded
chDB the worker writes, read back through clickhouse-connect once the worker
has stopped (chDB admits one process per data path).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import clickhouse_connect
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from schemas import EventBatch
from streams.alerts import alert_id
from streams.process import WorkerProcess
from streams.scrape import metric, scrape, wait_for_metric
from streams.sealing import Sealer, where
from streams.settings import AlertSettings, Settings
from tests.bus import Bus
from tests.factories import (
    COMPOUNDS,
    DINGYANG_CP,
    NIGHT,
    OUTSIDER_ID,
    RESIDENT_ID,
    RESIDENTS,
    RETURNEE_ID,
    RISK_AREAS,
    WENFENG_CP,
    passage,
    resident_of,
    wall_climb,
)

pytestmark = pytest.mark.integration

MASTER_RECORDS = len(RESIDENTS) + 2 + len(COMPOUNDS) + len(RISK_AREAS)

DINGYANG_BATCH = EventBatch(
    batch_id="b-dy-1",
    source=DINGYANG_CP.checkpoint_id,
    events=(
        passage("e-fever", temperature_c=38.2),
        wall_climb("e-wall"),
        passage("e-outsider", id_number=OUTSIDER_ID),
        passage("e-red", health_code="red"),
        passage("e-ok"),
    ),
)
WENFENG_BATCH = EventBatch(
    batch_id="b-wf-1",
    source=WENFENG_CP.checkpoint_id,
    events=(passage("e-returnee", checkpoint_id=WENFENG_CP.checkpoint_id, id_number=RETURNEE_ID,
                    declared_origin="330103"),),
)
EXPECTED = {
    ("fever", "LG07", "e-fever"),
    ("perimeter_breach", "LG07", "e-wall"),
    ("unregistered_person", "LG07", "e-outsider"),
    ("health_code", "LG07", "e-red"),
    ("origin_mismatch", "LG12", "e-returnee"),
    ("late_night_entry", "LG07", "e-outsider"),  # the outsider came in at 22:00
}


@pytest.fixture
def bus(pipeline_settings: Settings) -> Iterator[Bus]:
    b = Bus(pipeline_settings)
    yield b
    b.close()


def start_with_master(bus: Bus, worker: WorkerProcess) -> None:
    worker.start()
    bus.publish_master(residents=RESIDENTS, checkpoints=(DINGYANG_CP, WENFENG_CP), compounds=COMPOUNDS,
                       risk_areas=RISK_AREAS)
    samples_needed = MASTER_RECORDS
    deadline_value = 0.0
    for table, n in (("residents", 2), ("checkpoints", 2), ("compounds", 2), ("risk-areas", 2)):
        deadline_value += wait_for_metric(bus.settings.metrics.port, "gridwatch_master_updates_total", n,
                                          table=table, op="upsert")
    assert deadline_value == samples_needed


def _enriched_after_restart(bus: Bus, batch_id: str, event_id: str, at: datetime) -> dict[str, object]:
    bus.publish_batch(EventBatch(batch_id=batch_id, source="cp-dy-050",
                                 events=(passage(event_id, temperature_c=38.5, event_time=at),)))
    enriched = bus.consume("enriched-events", until=lambda rs: any(r["batch_id"] == batch_id for r in rs))
    [after] = [e for r in enriched if r["batch_id"] == batch_id for e in r["events"]]
    return after


def clickhouse_rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    client = clickhouse_connect.get_client(dsn=settings.clickhouse_dsn)
    try:
        return [tuple(r) for r in client.query(sql).result_rows]
    finally:
        client.close()


def test_article_incidents_become_grid_routed_alerts_in_kafka_clickhouse_and_metrics(
    pipeline_settings: Settings, bus: Bus, worker_factory: Callable[[Settings], WorkerProcess]
) -> None:
    worker = worker_factory(pipeline_settings)
    start_with_master(bus, worker)
    bus.publish_batch(DINGYANG_BATCH)
    bus.publish_batch(WENFENG_BATCH)

    revisions = bus.consume("alerts", until=lambda rs: len(rs) >= len(EXPECTED) + 1)
    alerts = [a for a in revisions if a["change"] == "opened"]
    got = {(a["rule_id"], a["place"]["large_grid"], a["event_ids"][0]) for a in alerts}
    assert got == EXPECTED
    assert len(alerts) == len(EXPECTED)
    # e-red is the same resident re-measured normal minutes later: the fever alert is resolved by the rule
    [resolved] = [a for a in revisions if a["change"] != "opened"]
    assert (resolved["rule_id"], resolved["status"], resolved["revision"]) == ("fever", "resolved", 2)
    assert resolved["resolved_by"] == "rule:fever" and resolved["event_ids"] == ["e-fever", "e-red"]
    for a in alerts:
        assert a["alert_id"] == alert_id(a["rule_id"], a["rule_version"], (a["event_ids"][0],))
        assert (a["revision"], a["change"], a["status"], a["count"]) == (1, "opened", "open", 1)
        assert a["_key"] == a["place"]["large_grid"].encode()  # keyed by large grid
        raw = json.dumps(a, default=str)
        assert RESIDENT_ID not in raw and RETURNEE_ID not in raw and OUTSIDER_ID not in raw
    by_rule = {a["rule_id"]: a for a in alerts}
    returnee = by_rule["origin_mismatch"]
    assert (returnee["severity"], returnee["action"]) == ("high", "quarantine required")
    assert (returnee["place"]["compound_id"], returnee["place"]["small_grid"]) == ("co-wf-01", "SG24")
    assert returnee["dwelling_id"] == "wf-01-2-502"
    assert returnee["subject_masked"] == RETURNEE_ID[:6] + "********" + RETURNEE_ID[-4:]
    wall = by_rule["perimeter_breach"]
    assert (wall["severity"], wall["place"]["checkpoint_id"]) == ("critical", "cp-dy-050")

    enriched = bus.consume("enriched-events", until=lambda rs: sum(len(r["events"]) for r in rs) >= 6)
    events = {e["event_id"]: e for r in enriched for e in r["events"]}
    assert events["e-ok"]["resident_known"] is True and events["e-ok"]["home_dwelling_id"] == "dy-01-3-201"
    assert events["e-outsider"]["misses"] == ["resident"]

    wait_for_metric(pipeline_settings.metrics.port, "gridwatch_sink_rows_total", 6, table="enriched_events")
    wait_for_metric(pipeline_settings.metrics.port, "gridwatch_sink_rows_total", len(EXPECTED), table="alerts")
    samples = scrape(pipeline_settings.metrics.port)
    events_topic = bus.topic("events")
    assert metric(samples, "gridwatch_events_consumed_total", topic=events_topic, event_type="passage") == 5
    assert metric(samples, "gridwatch_events_consumed_total", topic=events_topic,
                  event_type="perimeter_report") == 1
    assert metric(samples, "gridwatch_alerts_total", rule="origin_mismatch", severity="high") == 1
    assert metric(samples, "gridwatch_alerts_total", rule="health_code", severity="critical") == 1
    assert metric(samples, "gridwatch_alerts_total", rule="perimeter_breach", severity="critical") == 1
    assert metric(samples, "gridwatch_enrichment_misses_total", lookup="resident") == 1
    assert metric(samples, "gridwatch_alert_latency_seconds_count") == len(EXPECTED)
    assert metric(samples, "gridwatch_sink_batches_total", table="alerts") >= 1
    assert metric(samples, "gridwatch_dead_letters_total", reason="invalid_json", topic=events_topic) == 0

    assert worker.stop() == 0
    db = pipeline_settings.clickhouse.database
    rows = clickhouse_rows(pipeline_settings,
                           f"SELECT rule_id, large_grid, small_grid, compound_id, checkpoint_id, alert_id "
                           f"FROM {db}.alerts FINAL ORDER BY rule_id")
    assert {(r[0], r[1], r[5]) for r in rows} == {
        (a["rule_id"], a["place"]["large_grid"], a["alert_id"]) for a in alerts
    }
    assert ("origin_mismatch", "LG12", "SG24", "co-wf-01", "cp-wf-001") in {r[:5] for r in rows}
    counts = clickhouse_rows(pipeline_settings,
                             f"SELECT count(), uniqExact(event_id) FROM {db}.enriched_events")
    assert counts == [(6, 6)]


def test_malformed_input_is_dead_lettered_and_the_worker_keeps_going(
    pipeline_settings: Settings, bus: Bus, worker_factory: Callable[[Settings], WorkerProcess]
) -> None:
    worker = worker_factory(pipeline_settings)
    worker.start()
    bus.send("events", b"cp-x", b"{this is not json")
    doc = json.loads(EventBatch(batch_id="b-mixed", source="cp-dy-050",
                                events=(passage("e-bad"), passage("e-good", id_number=OUTSIDER_ID,
                                                                 temperature_c=39.0))).model_dump_json())
    doc["events"][0]["id_number"] = "NOT-AN-ID-" + RESIDENT_ID
    bus.send("events", b"cp-dy-050", json.dumps(doc).encode())
    bus.send("residents", b"k", b'{"id_number": "123"}')
    bus.producer.flush()

    letters = bus.consume("dead-letters", until=lambda rs: len(rs) >= 3)
    by_reason = sorted((d["reason"], d["source_topic"], d["event_index"]) for d in letters)
    assert by_reason == sorted([
        ("invalid_json", bus.topic("events"), None),
        ("schema_violation", bus.topic("events"), 0),
        ("schema_violation", bus.topic("residents"), None),
    ])
    garbage = next(d for d in letters if d["reason"] == "invalid_json")
    sealer = Sealer.from_file(pipeline_settings.dead_letter_key_file, create=False)
    opened = sealer.open(garbage["sealed_b64"], where(garbage["source_topic"], garbage["partition"],
                                                      garbage["offset"], None))
    assert opened == b"{this is not json" and garbage["key_id"] == sealer.key_id
    assert RESIDENT_ID not in json.dumps([{k: v for k, v in d.items() if k != "_key"} for d in letters])  # sealed
    assert garbage["offset"] >= 0 and garbage["partition"] >= 0
    mixed = next(d for d in letters if d["event_index"] == 0)
    assert "id_number" in mixed["detail"] and RESIDENT_ID not in mixed["detail"]

    # the good event of the mixed batch went on, and so does everything after
    bus.publish_batch(EventBatch(batch_id="b-after", source="cp-dy-050", events=(passage("e-after",
                                 id_number=OUTSIDER_ID, health_code="yellow"),)))
    alerts = bus.consume("alerts", until=lambda rs: {"e-good", "e-after"} <= {a["event_ids"][0] for a in rs})
    assert {(a["rule_id"], a["event_ids"][0]) for a in alerts} == {
        ("fever", "e-good"), ("unregistered_person", "e-good"), ("late_night_entry", "e-good"),
        ("health_code", "e-after"),
    }  # e-after is the same outsider at the same checkpoint minutes later: a repeat, folded into open alerts
    repeats = {(a["rule_id"], a["count"]) for a in alerts if a["change"] == "repeated"}
    assert repeats == {("unregistered_person", 2), ("late_night_entry", 2)}
    samples = scrape(pipeline_settings.metrics.port)
    assert metric(samples, "gridwatch_dead_letters_total", reason="invalid_json", topic=bus.topic("events")) == 1
    assert metric(samples, "gridwatch_dead_letters_total", reason="schema_violation",
                  topic=bus.topic("events")) == 1
    assert metric(samples, "gridwatch_dead_letters_total", reason="schema_violation",
                  topic=bus.topic("residents")) == 1
    assert worker.running()


def test_an_impossible_reading_keeps_its_passage_and_a_bad_record_near_a_megabyte_is_dead_lettered(
    pipeline_settings: Settings, bus: Bus, worker_factory: Callable[[Settings], WorkerProcess]
) -> None:
    worker = worker_factory(pipeline_settings)
    worker.start()
    huge = b"\xfe" + b"x" * 990_000  # the broker takes it; whole in base64 it would not fit a dead letter
    bus.send("events", b"cp-x", huge)
    doc = json.loads(EventBatch(batch_id="b-hot", source="cp-dy-050", events=(
        passage("e-hot", id_number=OUTSIDER_ID),)).model_dump_json())
    doc["events"][0]["temperature_c"] = 99.9  # a thermometer fault, not a reason to forget the passage
    bus.send("events", b"cp-dy-050", json.dumps(doc).encode())
    bus.producer.flush()

    [letter] = bus.consume("dead-letters", until=lambda rs: len(rs) >= 1)
    assert (letter["reason"], letter["original_truncated"], letter["original_size"]) == (
        "invalid_json", True, len(huge))
    sealer = Sealer.from_file(pipeline_settings.dead_letter_key_file, create=False)
    assert huge.startswith(sealer.open(letter["sealed_b64"], where(letter["source_topic"], letter["partition"],
                                                                   letter["offset"], None)))
    [batch] = bus.consume("enriched-events", until=lambda rs: len(rs) >= 1)
    [hot] = batch["events"]
    assert hot["event_id"] == "e-hot" and hot["temperature_c"] is None
    assert [why.split(":")[0] for why in hot["refused_fields"]] == ["temperature_c"]
    alerts = bus.consume("alerts", until=lambda rs: len(rs) >= 2)
    assert {a["rule_id"] for a in alerts} == {"unregistered_person", "late_night_entry"}
    samples = scrape(pipeline_settings.metrics.port)
    assert metric(samples, "gridwatch_fields_refused_total", event_type="passage", field="temperature_c") == 1
    assert metric(samples, "gridwatch_dead_letters_total", reason="invalid_json", topic=bus.topic("events")) == 1
    assert worker.running()

    assert worker.stop() == 0
    db = pipeline_settings.clickhouse.database
    assert clickhouse_rows(pipeline_settings, f"SELECT event_id, refused_fields FROM {db}.enriched_events") == [
        ("e-hot", hot["refused_fields"])]


def test_a_registration_resolves_the_alert_and_the_same_person_unregistered_later_opens_a_new_one(
    pipeline_settings: Settings, bus: Bus, worker_factory: Callable[[Settings], WorkerProcess]
) -> None:
    worker = worker_factory(pipeline_settings)
    start_with_master(bus, worker)
    port = pipeline_settings.metrics.port

    def unregistered(rs: list[dict[str, object]]) -> list[dict[str, object]]:
        return [a for a in rs if a["rule_id"] == "unregistered_person"]

    bus.publish_batch(EventBatch(batch_id="b-out-1", source="cp-dy-050", events=(
        passage("e-out-1", id_number=OUTSIDER_ID),)))
    [opened] = unregistered(bus.consume("alerts", until=lambda rs: len(unregistered(rs)) >= 1))
    registered = resident_of(COMPOUNDS[0], OUTSIDER_ID, "dy-01-3-201")
    bus.publish_master(residents=(registered,))
    revisions = bus.consume("alerts", until=lambda rs: len(unregistered(rs)) >= 2)
    resolved = unregistered(revisions)[-1]
    assert (resolved["alert_id"], resolved["status"], resolved["last_event_time"]) == (
        opened["alert_id"], "resolved", opened["event_time"])  # the events' time, never the wall clock's

    bus.send("residents", OUTSIDER_ID.encode(), None)  # the register drops them again
    bus.producer.flush()
    wait_for_metric(port, "gridwatch_master_updates_total", 1, table="residents", op="delete")
    bus.publish_batch(EventBatch(batch_id="b-out-2", source="cp-dy-050", events=(
        passage("e-out-2", id_number=OUTSIDER_ID, event_time=NIGHT + timedelta(hours=1)),)))
    again = unregistered(bus.consume("alerts", until=lambda rs: len(unregistered(rs)) >= 3))[-1]
    assert (again["change"], again["event_ids"]) == ("opened", ["e-out-2"])
    assert again["alert_id"] != opened["alert_id"]
    assert worker.stop() == 0


def test_restarted_worker_recovers_its_registers_and_a_replay_writes_no_duplicates(
    pipeline_settings: Settings, bus: Bus, worker_factory: Callable[[Settings], WorkerProcess]
) -> None:
    worker = worker_factory(pipeline_settings)
    start_with_master(bus, worker)
    bus.publish_batch(DINGYANG_BATCH)
    wait_for_metric(pipeline_settings.metrics.port, "gridwatch_sink_rows_total", 5, table="enriched_events")
    assert worker.stop() == 0

    # 1. Restart on the local state: the registers resume from their stored offsets.
    worker.start()
    after = _enriched_after_restart(bus, "b-after-restart", "e-after-restart", NIGHT + timedelta(hours=1))
    assert after["resident_known"] is True and after["home_dwelling_id"] == "dy-01-3-201"
    assert after["place"]["large_grid"] == "LG07"
    samples = scrape(pipeline_settings.metrics.port)
    assert metric(samples, "gridwatch_master_updates_total", table="residents", op="upsert") == 0  # not re-read
    wait_for_metric(pipeline_settings.metrics.port, "gridwatch_sink_rows_total", 1, table="enriched_events")
    assert worker.stop() == 0

    # 2. Restart with the local state wiped: the registers are rebuilt from their compacted topics
    #    before the first event is judged.
    shutil.rmtree(pipeline_settings.worker_dir)
    worker.start()
    assert metric(scrape(pipeline_settings.metrics.port), "gridwatch_master_updates_total",
                  table="residents", op="upsert") == 2
    after = _enriched_after_restart(bus, "b-after-wipe", "e-after-wipe", NIGHT + timedelta(hours=2))
    assert after["resident_known"] is True and after["home_dwelling_id"] == "dy-01-3-201"
    wait_for_metric(pipeline_settings.metrics.port, "gridwatch_sink_rows_total", 1, table="enriched_events")
    assert worker.stop() == 0

    # 2. A new consumer group replays every topic from the start into the same ClickHouse.
    replay_settings = pipeline_settings.model_copy(update={"app_id": pipeline_settings.app_id + "-replay"})
    replay = worker_factory(replay_settings)
    replay.start()
    wait_for_metric(replay_settings.metrics.port, "gridwatch_sink_duplicate_rows_total", 7, table="enriched_events")
    samples = scrape(replay_settings.metrics.port)
    assert metric(samples, "gridwatch_sink_rows_total", table="enriched_events") == 0
    assert replay.stop() == 0

    db = pipeline_settings.clickhouse.database
    assert clickhouse_rows(pipeline_settings,
                           f"SELECT count(), uniqExact(event_id) FROM {db}.enriched_events") == [(7, 7)]
    alert_counts = clickhouse_rows(pipeline_settings,
                                   f"SELECT count(), uniqExact(alert_id) FROM {db}.alerts FINAL")
    # 5 from the first batch (its fever resolved by the re-measurement), and a new fever after each restart:
    # the rule and alert state came back from their changelogs, so each is a new condition, not a repeat
    # ... and Wenfeng's checkpoint, always open, reported nothing for the two hours of event time: silent
    silent = clickhouse_rows(pipeline_settings, f"SELECT checkpoint_id FROM {db}.alerts FINAL "
                                                "WHERE rule_id = 'silent_checkpoint'")
    assert silent == [("cp-wf-001",)]
    assert alert_counts == [(8, 8)]
    history = clickhouse_rows(pipeline_settings, f"SELECT count() FROM {db}.alert_history")
    # 8 openings, the first fever's resolution, and the second fever expired when the third came an hour later
    assert history == [(10,)]


def test_a_person_registered_after_their_first_scan_leaves_no_stale_alert_open(
    pipeline_settings: Settings, bus: Bus, worker_factory: Callable[[Settings], WorkerProcess]
) -> None:
    worker = worker_factory(pipeline_settings)
    start_with_master(bus, worker)
    evening = NIGHT - timedelta(hours=3)  # before 22:00: no late_night_entry
    bus.publish_batch(EventBatch(batch_id="b-new", source="cp-dy-050",
                                 events=(passage("e-new", id_number=OUTSIDER_ID, event_time=evening),)))
    [opened] = bus.consume("alerts", until=lambda rs: any(a["rule_id"] == "unregistered_person" for a in rs))
    assert (opened["rule_id"], opened["status"], opened["place"]["compound_id"]) == (
        "unregistered_person", "open", "co-dy-01")

    # the guard registers the newcomer as a tenant of Dingyang: the register, not a person, closes the alert
    tenant = RESIDENTS[0].model_copy(update={"id_number": OUTSIDER_ID, "name": "新租户", "phone": None,
                                             "dwelling_id": "dy-01-3-202", "verified": False})
    bus.publish_master(residents=(tenant,))
    revisions = bus.consume("alerts", until=lambda rs: any(a["change"] == "resolved" for a in rs))
    [resolved] = [a for a in revisions if a["change"] == "resolved"]
    assert resolved["alert_id"] == opened["alert_id"] and resolved["fingerprint"] == opened["fingerprint"]
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "rule:unregistered_person")
    assert worker.stop() == 0


def test_sigterm_mid_backlog_stops_the_worker_and_a_restart_stores_every_event_exactly_once(
    pipeline_settings: Settings, bus: Bus, worker_factory: Callable[[Settings], WorkerProcess]
) -> None:
    """A worker stopped while a backlog drains (it once sat 14 minutes in Faust's wait_empty) stops, and the
    offsets it committed are exactly what it stored: after a restart every event is in ClickHouse once."""
    worker = worker_factory(pipeline_settings)
    start_with_master(bus, worker)
    uploads, per_upload = 2_000, 10
    for u in range(uploads):
        bus.send("events", f"cp-{u % 8}".encode(), EventBatch(batch_id=f"b-{u}", source=f"cp-{u % 8}", events=tuple(
            passage(f"e-{u}-{i}", event_time=NIGHT + timedelta(seconds=u)) for i in range(per_upload)
        )).model_dump_json().encode())
    bus.producer.flush()
    port = pipeline_settings.metrics.port
    wait_for_metric(port, "gridwatch_events_consumed_total", 2_000, topic=bus.topic("events"),
                    event_type="passage")
    consumed_at_stop = metric(scrape(port), "gridwatch_events_consumed_total", topic=bus.topic("events"),
                              event_type="passage")
    stopping = time.monotonic()
    assert worker.stop(timeout=120) == 0  # a generous bound for a busy machine; the time is printed
    print(f"stopped {time.monotonic() - stopping:.1f} s after SIGTERM, {consumed_at_stop:.0f} of "
          f"{uploads * per_upload} events consumed by then")

    worker.start()
    # drained: the group has committed the end of every events partition (commits follow the ClickHouse writes)
    topic = bus.topic("events")
    admin = KafkaAdminClient(bootstrap_servers=pipeline_settings.kafka.bootstrap)
    probe = KafkaConsumer(bootstrap_servers=pipeline_settings.kafka.bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in range(pipeline_settings.kafka.partitions)]
        ends = probe.end_offsets(parts)
        deadline = time.monotonic() + 300
        committed: dict[TopicPartition, int] = {}
        while time.monotonic() < deadline:
            group = admin.list_group_offsets(pipeline_settings.app_id)[pipeline_settings.app_id]
            committed = {tp: meta.offset for tp, meta in group.items() if tp.topic == topic}
            if all(committed.get(tp, -1) >= ends[tp] for tp in parts):
                break
            time.sleep(1)
        assert all(committed.get(tp, -1) >= ends[tp] for tp in parts), (committed, ends)
    finally:
        probe.close()
        admin.close()
    assert worker.stop(timeout=120) == 0
    db = pipeline_settings.clickhouse.database
    expected = uploads * per_upload
    assert clickhouse_rows(pipeline_settings, f"SELECT count(), uniqExact(event_id) FROM {db}.enriched_events"
                           ) == [(expected, expected)]


def test_two_thousand_repeats_of_one_person_give_a_few_revisions_and_the_exact_count(
    pipeline_settings: Settings, bus: Bus, worker_factory: Callable[[Settings], WorkerProcess]
) -> None:
    settings = pipeline_settings.model_copy(update={"alerts": AlertSettings(repeat_interval_s=2)})
    worker = worker_factory(settings)
    start_with_master(bus, worker)
    repeats = 2_000
    for b in range(repeats // 50):  # the outsider through one gate again and again, 50 scans per upload
        bus.publish_batch(EventBatch(batch_id=f"b-rep-{b}", source=DINGYANG_CP.checkpoint_id, events=tuple(
            passage(f"e-rep-{b * 50 + i}", id_number=OUTSIDER_ID, event_time=NIGHT + timedelta(seconds=b * 50 + i))
            for i in range(50))))
    started = time.monotonic()

    def final(rs: list[dict[str, object]]) -> bool:
        return sorted(a["rule_id"] for a in rs if a["count"] == repeats) == ["late_night_entry",
                                                                             "unregistered_person"]
    alerts = bus.consume("alerts", until=final)
    took = time.monotonic() - started
    for rule in ("unregistered_person", "late_night_entry"):
        revisions = [a for a in alerts if a["rule_id"] == rule]
        assert len({a["alert_id"] for a in revisions}) == 1
        assert [a["change"] for a in revisions][:1] == ["opened"]
        assert {a["change"] for a in revisions[1:]} == {"repeated"}
        counts = [a["count"] for a in revisions]
        assert counts == sorted(set(counts)) and counts[-1] == repeats
        print(f"{rule}: {repeats} scans, {len(revisions)} revisions in {took:.1f} s")
        assert len(revisions) <= 2 + took / 2  # at most one repeat revision per 2 s interval
    assert worker.stop() == 0
    db = settings.clickhouse.database
    assert sorted(clickhouse_rows(settings, f"SELECT rule_id, count FROM {db}.alerts FINAL")) == [
        ("late_night_entry", repeats), ("unregistered_person", repeats)]
