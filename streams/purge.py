"""``gridwatch purge``: the end of the emergency. Every personal record gone, the registers tombstoned.

In order, each step said as it is done:

1. ClickHouse: ``enriched_events``, ``alerts`` and ``alert_history`` truncated.
2. Kafka, delete-policy topics (events, enriched events, alerts, actions, dead
   letters, the worker's internal topics): every record deleted up to the end
   offset (``DeleteRecords``).
3. Kafka, compacted topics (the registers and the worker's changelogs): a
   tombstone for every key present (so a replica or a console following them
   drops each record), then the topics deleted, since Kafka keeps values
   behind tombstones until its log cleaner runs and refuses DeleteRecords on
   them; the project's register topics are made again, empty.
4. The worker's local state (its RocksDB register store and tables) and the
   dead-letter key (overwritten, then removed: letters sealed with it can never
   be opened again).

The worker must be stopped first (the embedded store is its process's, and a
running worker would write again). The person-key secret, when it is kept in
a keyring file (``GRIDWATCH_PRIVACY__PERSON_KEYRING_FILE``, every secret
in it), is overwritten and removed the same way; a secret given as a setting lives where the operator
keeps it, and the purge says to destroy it there. With it gone, no remaining
key can be recomputed from an ID number.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from sinks import ClickHouseSink
from streams.clients import kafka_python, records_to_end
from streams.keyring import shred
from streams.settings import TOPICS, Settings
from streams.topics import admin_client, ensure_topics

PERSONAL_TABLES = ("enriched_events", "alerts", "alert_history")


@dataclass
class PurgeReport:
    tables: dict[str, int] = field(default_factory=dict)  # rows before truncation
    deleted: dict[str, int] = field(default_factory=dict)  # records deleted per delete-policy topic
    tombstoned: dict[str, int] = field(default_factory=dict)  # keys tombstoned per compacted topic
    removed: list[str] = field(default_factory=list)


def _our_topics(settings: Settings, names: set[str]) -> dict[str, bool]:
    """Our topics (name -> compacted): the project's, the worker's internal ones and its changelogs."""
    out = {settings.kafka.topic(lg): compacted for lg, compacted in TOPICS.items()}
    app_prefix = f"{settings.kafka.topic_prefix}{settings.app_id}."
    for name in names:
        if name.startswith(app_prefix):
            out[name] = False
        elif name.startswith(f"{settings.app_id}-") and name.endswith("-changelog"):
            out[name] = True
    return {n: c for n, c in out.items() if n in names}


def purge(settings: Settings, say: Callable[[str], None] = print) -> PurgeReport:
    report = PurgeReport()
    store = ClickHouseSink(dsn=settings.clickhouse_dsn, database=settings.clickhouse.database)
    store.setup()
    try:
        for table in PERSONAL_TABLES:
            report.tables[table] = store.count(table)
            store.query_rows(f"TRUNCATE TABLE {settings.clickhouse.database}.{table}")
            say(f"ClickHouse {table}: {report.tables[table]:,} rows removed")
    finally:
        store.close()
    admin = admin_client(settings.kafka)
    try:
        topics = _our_topics(settings, set(admin.list_topics()))
        consumer = KafkaConsumer(**kafka_python(settings.kafka), enable_auto_commit=False)
        producer = KafkaProducer(**kafka_python(settings.kafka), acks="all")
        try:
            for name, compacted in sorted(topics.items()):
                parts = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
                ends = consumer.end_offsets(parts)
                if compacted:
                    keys = _keys(consumer, name)
                    for key in keys:
                        producer.send(name, key=key, value=None)
                    producer.flush()
                    report.tombstoned[name] = len(keys)
                    say(f"Kafka {name}: {len(keys):,} keys tombstoned")
                else:
                    begins = consumer.beginning_offsets(parts)
                    todo = {tp: end for tp, end in ends.items() if end > begins[tp]}
                    if todo:
                        admin.delete_records(todo)
                    report.deleted[name] = sum(end - begins[tp] for tp, end in todo.items())
                    say(f"Kafka {name}: {report.deleted[name]:,} records deleted")
        finally:
            producer.close()
            consumer.close()
        # a compacted topic keeps the values before its tombstones until the log cleaner runs, and Kafka refuses
        # DeleteRecords on it: the topic itself goes, and the project's own come back empty
        compacted_topics = sorted(n for n, c in topics.items() if c)
        if compacted_topics:
            admin.delete_topics(compacted_topics)
            deadline = time.monotonic() + 60
            while set(compacted_topics) & set(admin.list_topics()):
                if time.monotonic() > deadline:
                    raise TimeoutError("compacted topics not deleted within 60 s")
                time.sleep(0.5)
            say(f"Kafka: {len(compacted_topics)} compacted topics deleted (the worker remakes its changelogs)")
    finally:
        admin.close()
    ensure_topics(settings.kafka, retention=settings.retention)
    if settings.worker_dir.exists():
        shutil.rmtree(settings.worker_dir)
        report.removed.append(str(settings.worker_dir))
        say(f"worker state {settings.worker_dir}: removed")
    for what, key_file in (("dead-letter key", settings.dead_letter_key_file),
                           ("person-key keyring", settings.privacy.person_keyring_file)):
        if key_file is not None and key_file.exists():
            shred(key_file)
            report.removed.append(str(key_file))
            say(f"{what} {key_file}: overwritten and removed")
    if settings.privacy.person_keyring_file is None:
        say("now destroy the person-key secret (GRIDWATCH_PRIVACY__PERSON_KEY_SECRET) wherever it is kept")
    return report


def _keys(consumer: KafkaConsumer, topic: str) -> set[bytes]:
    """Every key with a live value in a compacted topic (a key whose last record is a tombstone is left out)."""
    live = {r.key: r.value is not None for r in records_to_end(consumer, topic) if r.key is not None}
    return {k for k, alive in live.items() if alive}
