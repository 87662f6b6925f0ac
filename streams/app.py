"""The app factory: one Faust app, its topics, tables and agents, from settings.

Only the entry point builds an app (``create_app(settings)``); nothing is
created at import time, so tests and the benchmark build apps with their own
settings.
"""

from __future__ import annotations

import gc
import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import faust

from schemas import Alert
from sinks import ClickHouseSink
from streams import gcpause, watchdog
from streams.agents import alerting, judge, register_check
from streams.agents import events as events_agent
from streams.agents import sink as sink_agents
from streams.agents.context import DeadLetters, Pipeline
from streams.agents.delivery import AlertPublisher, FindingDelivery, Ownership
from streams.agents.tables import RecordView, TableState, pinned_table, table_state
from streams.alertbook import AlertBook, Published
from streams.catalogue import Catalogue, load_catalogue
from streams.clients import faust_credentials
from streams.consumer import App
from streams.engine import Engine
from streams.enrich import Enricher
from streams.judging import OnPartition
from streams.registers import RegisterReplicator, RegisterStore, StoreMaster
from streams.sealing import Sealer
from streams.settings import INTERNAL_TOPICS, TOPICS, Settings


@dataclass
class WorkerResources:
    """What outlives the Faust app's own shutdown: closed by the caller after the worker stops."""

    sink_runner: sink_agents.SinkRunner
    store: RegisterStore

    @classmethod
    def open(cls, settings: Settings) -> WorkerResources:
        return cls(
            sink_runner=sink_agents.SinkRunner(
                ClickHouseSink(dsn=settings.clickhouse_dsn, database=settings.clickhouse.database,
                               refuse_writes_while=settings.clickhouse.refuse_writes_while,
                               ttl_days=settings.retention.table_days()),
                retry_seconds=settings.clickhouse.retry_seconds,
            ),
            store=RegisterStore(settings.worker_dir / "registers"),
        )

    def close(self) -> None:
        self.sink_runner.close()
        self.store.close()


def member_id(settings: Settings) -> str:
    """The worker's static group member id: its app and its data directory (one worker per directory, as chDB
    requires), so a restarted worker takes its own partitions back at once instead of waiting out the killed
    member's session (58 s after each SIGKILL in the chaos campaign)."""
    where = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:12]
    return f"{settings.app_id}-{where}"


def create_app(settings: Settings, resources: WorkerResources, catalogue: Catalogue | None = None) -> faust.App:
    """Build the worker's app over ``resources`` (which the caller closes after the worker).

    The rule catalogue is read and checked here, before anything runs: a bad
    file (``CatalogueError``) or a rule version the code does not implement
    (``RuleVersionMismatch``) stops the worker at start-up.
    """
    catalogue = catalogue or load_catalogue(settings.rules.file)
    kafka = settings.kafka
    settings.worker_dir.mkdir(parents=True, exist_ok=True)
    app = App(  # faust.App with the fetch that lost records after a rebalance fixed
        settings.app_id,
        broker=f"kafka://{kafka.bootstrap}",
        broker_credentials=faust_credentials(kafka),
        datadir=str(settings.worker_dir),
        web_enabled=False,
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        broker_commit_interval=timedelta(seconds=1),
        producer_linger_ms=kafka.producer_linger_ms,
        producer_request_timeout=kafka.producer_request_timeout_s,
        fetch_max_wait_ms=kafka.fetch_max_wait_ms,
        consumer_group_instance_id=member_id(settings) if kafka.static_membership else None,
    )
    topics = {
        logical: app.topic(
            kafka.topic(logical),
            key_serializer="raw",
            value_serializer="raw",
            partitions=kafka.partitions,
        )
        for logical in TOPICS
    } | {
        logical: app.topic(
            settings.internal_topic(logical),
            key_serializer="raw",
            value_serializer="raw",
            partitions=kafka.partitions,
            internal=True,
        )
        for logical in INTERNAL_TOPICS
    }
    # bytes in, bytes out: Faust derives the changelog's "raw" serializers from these types, also when recovering
    table_dir = settings.worker_dir / "tables" if settings.stream.table_store == "rocksdb" else None
    tables: dict[str, Any] = {"store_path": table_dir, "default": None, "partitions": kafka.partitions,
                              "key_type": bytes, "value_type": bytes}
    rule_state = pinned_table(app, "rule-state", help="Stateful rules' memory, keyed <rule id>|<state key>.", **tables)
    alert_state = pinned_table(app, "alert-book", help="Latest revision of the newest alert per fingerprint.", **tables)
    keys = settings.privacy.person_keys()
    dead_letters = DeadLetters(topics["dead-letters"], Sealer.from_file(settings.dead_letter_key_file))
    replicator = RegisterReplicator(settings=settings, store=resources.store, keys=keys, reject=dead_letters)
    master = StoreMaster(resources.store)
    rule_view, alert_view = RecordView(rule_state), RecordView(alert_state)
    judging = OnPartition()
    pipeline = Pipeline(
        settings=settings,
        app=app,
        topics=topics,
        registers=replicator,
        enricher=Enricher(master=master, keys=keys),
        engine=Engine(catalogue, states=lambda rule_id: table_state(rule_view, rule_id),
                      index_of=judging.index_of),
        rule_view=rule_view,
        master=master,
        dead_letter=dead_letters,
        keys=keys,
    )
    book = AlertBook(TableState(alert_view, "alert", Alert),
                     windows={spec.id: spec.suppression_window for spec in catalogue.rules},
                     published=TableState(alert_view, "published", Published),
                     repeat_interval=timedelta(seconds=settings.alerts.repeat_interval_s))
    ownership = Ownership(app, enabled=settings.stream.in_process)
    publish = AlertPublisher(pipeline)
    deliver = FindingDelivery(pipeline, book, alert_view, publish, ownership,
                              book_changelog=alert_state.changelog_topic.get_topic_name())
    partition_judge = judge.partition_judge(pipeline, judging)
    app.task(replicator.run)
    stall_watch = watchdog.StallWatch(settings.stream.stall_after_s)

    async def watch_for_stalls() -> None:
        await watchdog.run(app, stall_watch, ready=replicator.caught_up)

    app.task(watch_for_stalls)
    if settings.stream.gc_freeze:
        async def keep_gc_pauses_short() -> None:
            await replicator.caught_up.wait()  # the start-up's heap, registers loaded, frozen before any event
            await gcpause.run(gcpause.install(unfreeze_every_s=settings.stream.gc_unfreeze_every_s,
                                              thresholds=settings.stream.gc_thresholds))

        app.task(keep_gc_pauses_short)
    else:  # the thresholds hold without the freezing too
        gc.set_threshold(*settings.stream.gc_thresholds)
    feeder = sink_agents.register(pipeline, resources.sink_runner)
    events_agent.register(pipeline, feeder, partition_judge, deliver, ownership,
                          state_changelog=rule_state.changelog_topic.get_topic_name())
    judge.register(pipeline, partition_judge, deliver)
    alerting.register(pipeline, book, alert_view, publish, deliver, ownership=ownership, table=alert_state,
                      book_changelog=alert_state.changelog_topic.get_topic_name())
    register_check.register(pipeline)
    replicator.on_registered = register_check.on_registered(pipeline)
    return app


def worker_topics(app: faust.App, settings: Settings) -> dict[str, bool]:
    """The topics of the worker's own making (name -> compacted): its internal topics and its tables'
    changelogs, which Faust would otherwise create as it starts, racing the group's first assignment."""
    topics = {settings.internal_topic(logical): False for logical in INTERNAL_TOPICS}
    topics |= {table.changelog_topic.get_topic_name(): True for table in app.tables.values()}
    return topics
