"""Sink agents: enriched events and alerts into ClickHouse, in batches.

Records are taken in batches with ``stream.noack_take`` and acked by hand
only after their rows are written (or their record is dead-lettered), so
committed offsets never run ahead of what ClickHouse holds, not even when the
worker is stopped mid-write (``take_events`` would ack in a ``finally``). A
failed write is retried with back-off instead of being skipped: the worker
falls behind but loses nothing. All ClickHouse calls run on one
dedicated thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import BaseModel

from schemas import Alert, EnrichedBatch, EnrichedEvent
from sinks import ClickHouseSink, SinkError
from streams.agents.context import Pipeline
from streams.codec import Rejected, decode_record, safe_error
from streams.metrics import (
    RECORDS_CONSUMED,
    SINK_BATCH_SECONDS,
    SINK_BATCHES,
    SINK_DUPLICATES,
    SINK_FAILURES,
    SINK_ROWS,
    WORKER_READY,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class SinkRunner:
    """Owns the sink and the one thread that talks to it."""

    def __init__(self, sink: ClickHouseSink, *, retry_seconds: float) -> None:
        self.sink = sink
        self.retry_seconds = retry_seconds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
        self._ready = asyncio.Event()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def start(self) -> None:
        while True:
            try:
                await self.call(self.sink.setup)
                self._ready.set()
                WORKER_READY.labels(component="sink").set(1)
                return
            except SinkError as exc:
                log.warning("ClickHouse not available (%s); retrying", safe_error(exc))
                await asyncio.sleep(self.retry_seconds)

    async def write(self, table: str, fn: Callable[[Sequence[Any]], int], rows: Sequence[Any]) -> None:
        await self._ready.wait()
        while True:
            started = time.perf_counter()
            try:
                written = await self.call(fn, rows)
            except SinkError as exc:
                SINK_FAILURES.labels(table=table).inc()
                log.warning("ClickHouse write to %s failed (%s); retrying", table, safe_error(exc))
                await asyncio.sleep(getattr(exc, "retry_after", None) or self.retry_seconds)
                continue
            SINK_BATCH_SECONDS.labels(table=table).observe(time.perf_counter() - started)
            SINK_BATCHES.labels(table=table).inc()
            SINK_ROWS.labels(table=table).inc(written)
            SINK_DUPLICATES.labels(table=table).inc(len(rows) - written)
            return

    def close(self) -> None:
        self.sink.close()
        self._executor.shutdown(wait=True)


def register(p: Pipeline, runner: SinkRunner) -> None:
    cfg = p.settings.clickhouse

    def events_rows(batch: EnrichedBatch) -> Sequence[EnrichedEvent]:
        return batch.events

    def alert_rows(alert: Alert) -> Sequence[Alert]:
        return (alert,)

    _sink_agent(p, runner, "enriched-events", EnrichedBatch, events_rows, runner.sink.insert_events,
                "enriched_events", max_records=max(1, cfg.batch_rows // 50), within=cfg.flush_seconds)
    _sink_agent(p, runner, "alerts", Alert, alert_rows, runner.sink.insert_alerts,
                "alerts", max_records=cfg.batch_rows, within=cfg.flush_seconds)

    async def start_sink() -> None:
        await runner.start()

    p.app.task(start_sink)


def _sink_agent(
    p: Pipeline,
    runner: SinkRunner,
    logical: str,
    model: type[M],
    rows_of: Callable[[M], Sequence[Any]],
    insert: Callable[[Sequence[Any]], int],
    table: str,
    *,
    max_records: int,
    within: float,
) -> None:
    topic = p.topics[logical]
    name = topic.get_topic_name()

    async def store(stream: Any) -> None:
        async for events in stream.noack_take(max_records, within=within):
            rows: list[Any] = []
            for event in events:
                msg = event.message
                RECORDS_CONSUMED.labels(topic=name).inc()
                record = decode_record(model, msg.value) if msg.value is not None else None
                if record is None or isinstance(record, Rejected):
                    await p.dead_letter(record or Rejected("schema_violation", "record has no value"), msg)
                    continue
                rows.extend(rows_of(record))
            if rows:
                await runner.write(table, insert, rows)
            for event in events:
                await stream.ack(event)

    p.app.agent(topic, name=f"gridwatch.sink.{table}")(store)
