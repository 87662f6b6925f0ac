"""The ClickHouse side of the worker: enriched events fed in-process, alerts by an agent.

Enriched events go to ClickHouse straight from the events agent through a
``SinkFeeder``: the rows are already in memory, so consuming them back from the
enriched-events topic (which stays, for downstream systems) would only decode
every event a second time. The feeder acks the source records only after their
rows are written, so committed offsets never run ahead of what ClickHouse
holds, not even when the worker is stopped mid-write. Alerts are consumed from
their topic by a sink agent that does the same with ``stream.noack_take``
(``take_events`` would ack in a ``finally``). A failed write is retried with
back-off instead of being skipped: the worker falls behind but loses nothing.
All ClickHouse calls run on one dedicated thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import BaseModel

from schemas import Alert
from sinks import ClickHouseSink, SinkDiskFull, SinkError, SinkUnavailable
from streams.agents.context import Pipeline
from streams.codec import safe_error
from streams.metrics import (
    RECORDS_CONSUMED,
    SINK_BATCH_SECONDS,
    SINK_BATCHES,
    SINK_DUPLICATES,
    SINK_FAILURES,
    SINK_PENDING_ROWS,
    SINK_ROWS,
    WORKER_READY,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def _reason(exc: SinkError) -> str:
    """The ``reason`` label of a failed write: what an operator must do about it."""
    if isinstance(exc, SinkDiskFull):
        return "disk_full"
    return "unavailable" if isinstance(exc, SinkUnavailable) else "rejected"


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
            except SinkError as exc:  # its message names codes and the table, never a value (sinks.exceptions)
                SINK_FAILURES.labels(table=table, reason=_reason(exc)).inc()
                log.warning("ClickHouse write to %s failed: %s; retrying", table, exc)
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


class SinkFeeder:
    """Rows waiting for one table, and the acks that wait for them.

    At most one write is in flight while the next batch fills, so the events
    agent keeps working during a write. A write that fails is retried (the
    store is down): meanwhile rows keep queueing, so events are still judged
    and alerts still published, up to ``buffer_rows``; only then does ``add``
    wait for the write (back-pressure instead of unbounded memory). The acks
    wait with their rows, so nothing is committed that ClickHouse does not hold.
    """

    def __init__(
        self,
        runner: SinkRunner,
        table: str,
        insert: Callable[[Sequence[Any]], int],
        *,
        batch_rows: int,
        flush_seconds: float,
        buffer_rows: int | None = None,
    ) -> None:
        self._runner = runner
        self._table = table
        self._insert = insert
        self._batch_rows = batch_rows
        self._flush_seconds = flush_seconds
        self._buffer_rows = max(buffer_rows or batch_rows, batch_rows)
        self._pending = SINK_PENDING_ROWS.labels(table=table)
        self._rows: list[Any] = []
        self._acks: list[Callable[[], Awaitable[Any]]] = []
        self._oldest = 0.0
        self._inflight: asyncio.Task[None] | None = None

    async def add(self, rows: Sequence[Any], ack: Callable[[], Awaitable[Any]]) -> None:
        """Queue ``rows``; ``ack`` runs once they (and all queued before them) are stored."""
        if not self._acks:
            self._oldest = time.monotonic()
        self._rows.extend(rows)
        self._acks.append(ack)
        self._pending.inc(len(rows))
        queued = len(self._rows)
        if queued >= self._batch_rows and (self._idle() or queued >= self._buffer_rows):
            await self._start_write()  # waits for a write in flight only once the buffer is full

    async def tick(self) -> None:
        """Flush a batch that has waited ``flush_seconds``; called by a timer."""
        if self._acks and self._idle() and (len(self._rows) >= self._batch_rows
                                             or time.monotonic() - self._oldest >= self._flush_seconds):
            await self._start_write()

    def _idle(self) -> bool:
        return self._inflight is None or self._inflight.done()

    async def drain(self) -> None:
        """Store everything queued and run its acks (at a stop, so the last commit covers it)."""
        if self._acks:
            await self._start_write()
        if self._inflight is not None:
            await self._inflight

    async def _start_write(self) -> None:
        if self._inflight is not None:
            await self._inflight  # writes stay in order: acks must never overtake an earlier batch
        rows, acks = self._rows, self._acks
        self._rows, self._acks = [], []
        self._inflight = asyncio.ensure_future(self._write(rows, acks))

    async def _write(self, rows: list[Any], acks: list[Callable[[], Awaitable[Any]]]) -> None:
        if rows:
            await self._runner.write(self._table, self._insert, rows)
            self._pending.dec(len(rows))
        for ack in acks:
            await ack()


def register(p: Pipeline, runner: SinkRunner) -> SinkFeeder:
    """Start the sink, the alerts agent, and return the feeder for enriched events."""
    cfg = p.settings.clickhouse
    feeder = SinkFeeder(runner, "enriched_events", runner.sink.insert_events,
                        batch_rows=cfg.batch_rows, flush_seconds=cfg.flush_seconds, buffer_rows=cfg.buffer_rows)

    def alert_rows(alert: Alert) -> Sequence[Alert]:
        return (alert,)

    _sink_agent(p, runner, "alerts", Alert, alert_rows, runner.sink.insert_alerts,
                "alerts", max_records=cfg.batch_rows, within=cfg.flush_seconds)

    async def start_sink() -> None:
        await runner.start()

    p.app.task(start_sink)
    p.app.timer(min(cfg.flush_seconds, 0.25))(feeder.tick)
    p.app.before_stop.append(feeder.drain)  # type: ignore[attr-defined]  # streams.consumer.App
    return feeder


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
                record = await p.dead_letter.decoded(model, msg)
                if record is None:
                    continue
                rows.extend(rows_of(record))
            if rows:
                await runner.write(table, insert, rows)
            for event in events:
                await stream.ack(event)

    p.app.agent(topic, name=f"gridwatch.sink.{table}")(store)
