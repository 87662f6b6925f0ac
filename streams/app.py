"""The app factory: one Faust app, its topics, tables and agents, from settings.

Only the entry point builds an app (``create_app(settings)``); nothing is
created at import time, so tests and the benchmark build apps with their own
settings.
"""

from __future__ import annotations

from datetime import timedelta

import faust

from sinks import ClickHouseSink
from streams.agents import events as events_agent
from streams.agents import master as master_agents
from streams.agents import sink as sink_agents
from streams.agents.context import Pipeline
from streams.enrich import Enricher
from streams.privacy import PersonKeys
from streams.rules import default_rules
from streams.settings import TOPICS, Settings
from streams.tables import TableMaster, create_tables


def create_app(settings: Settings, *, sink_runner: sink_agents.SinkRunner | None = None) -> faust.App:
    """Build the worker's app. Pass ``sink_runner`` to own its life cycle (close it after the worker)."""
    kafka = settings.kafka
    settings.worker_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{kafka.bootstrap}",
        store="rocksdb://",
        datadir=str(settings.worker_dir),
        web_enabled=False,
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        broker_commit_interval=timedelta(seconds=1),
        table_standby_replicas=0,
        producer_linger_ms=5,
    )
    topics = {
        logical: app.topic(
            kafka.topic(logical),
            key_serializer="raw",
            value_serializer="raw",
            partitions=kafka.partitions,
        )
        for logical in TOPICS
    }
    tables = create_tables(app, partitions=kafka.partitions)
    keys = PersonKeys(secret=settings.privacy.person_key_secret.get_secret_value().encode())
    pipeline = Pipeline(
        settings=settings,
        app=app,
        topics=topics,
        tables=tables,
        keys=keys,
        enricher=Enricher(master=TableMaster(tables), keys=keys),
        rules=default_rules(settings.rules),
    )
    master_agents.register(pipeline)
    events_agent.register(pipeline)
    sink_agents.register(pipeline, sink_runner or make_sink_runner(settings))
    return app


def make_sink_runner(settings: Settings) -> sink_agents.SinkRunner:
    return sink_agents.SinkRunner(
        ClickHouseSink(dsn=settings.clickhouse_dsn, database=settings.clickhouse.database),
        retry_seconds=settings.clickhouse.retry_seconds,
    )
