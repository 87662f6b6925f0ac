"""Faust's Kafka consumer, with the fetch that lost records after a rebalance fixed.

Faust hands aiokafka its *live* set of active partitions and, once records
come back, keeps only those whose partition is in that same set. aiokafka
runs in the consumer thread and has already moved its position past every
record it returned. Two things go wrong while recovery pauses and resumes
partitions in between:

- aiokafka reads an empty set as "every partition": right after recovery
  pauses the changelogs and before it resumes the streams, a pending fetch
  drains the source topics, and Faust then drops it all (nothing is active);
- a partition removed from the set between the drain and the check loses the
  drained records the same way.

The position is past them, so the worker never sees those records again: the
restart and two-worker phases of the benchmark stalled with events unread.
Here the set is copied once per fetch, and the copy serves both the drain
and the check, so a record aiokafka hands over is a record Faust delivers.
Upstream reports with the same symptom: faust-streaming/faust#471 and #629.
This overrides a private method of the versions pinned in pyproject.toml;
re-check it (``tests/test_consumer.py``) when they change.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from mode import Service

from streams.metrics import PUBLISH_FAILURES

#: How long a fetch waits when no partition is active (Faust waits a whole second).
IDLE_WAIT_S = 0.05
#: How long a ``before_stop`` hook may take before the stop goes on without it.
BEFORE_STOP_TIMEOUT_S = 5.0
#: How long the broker may hold a fetch open waiting for data (Faust hard-codes 1,500 ms).
DEFAULT_FETCH_MAX_WAIT_MS = 10


class ShortWaitConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread, its aiokafka consumer fetching with the app's ``fetch_max_wait_ms``.

    aiokafka keeps at most one fetch in flight per broker, and that fetch names
    only the partitions with nothing buffered when it was sent. Held open for
    Faust's 1,500 ms, it made every record that arrived meanwhile on another
    partition (the next hop's internal topic, say) wait for it to return: at
    500 events/s an alert took 5 s over three hops. With a short wait, a
    record waits at most that long per hop; an idle worker pays one cheap
    fetch per wait.
    """

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = getattr(self.app, "fetch_max_wait_ms", DEFAULT_FETCH_MAX_WAIT_MS)
        return consumer


class SnapshotConsumer(faust_aiokafka.Consumer):
    """Drains and filters by one copy of the active partitions per fetch; its thread fetches with a short wait."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ShortWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _wait_next_records(self, timeout: float) -> tuple[Any, set[TP] | None]:
        if not self.flow_active:
            await self.wait(self.can_resume_flow)  # type: ignore[arg-type]  # mode accepts asyncio.Event
        self.not_waiting_next_records.set()
        if self.app.client_only:
            return await self._getmany(active_partitions=None, timeout=timeout), None
        active = set(self._get_active_partitions())
        if not active:  # an empty set would make aiokafka drain every partition
            await self.sleep(IDLE_WAIT_S)
            return {}, active
        records = await self._getmany(active_partitions=active, timeout=timeout)
        # a table's changelog paused meanwhile (its recovery ended): the table in memory is now
        # ahead of those records, so replaying them could only roll it back
        live = self._get_active_partitions()
        kept = {tp: rs for tp, rs in records.items() if tp in live or not self._is_changelog_tp(tp)}
        return kept, active


class ChangelogProducer(faust_aiokafka.Producer):
    """Faust's producer, plus a direct FIFO for table changelog records (``PinnedTable``).

    A Faust table write becomes a ``FutureMessage`` in Faust's producer
    buffer, and once more than 100 wait, the conductor stops handing records
    to every stream until the buffer has drained, one ``wait_for`` per
    record. Draining a backlog, the worker spent 124 of its 280 s there
    ("producer buffer full"). Here a changelog record is appended to a FIFO
    as it is written (in order, so the changelog keeps each key's writes in
    the order they were made) and one task hands the FIFO to the Kafka client
    as fast as it takes them. ``flush``, which Faust awaits before every
    offset commit and at a stop, empties the FIFO first: no offset is
    committed ahead of the state it produced.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._changelog: deque[tuple[str, bytes, bytes | None, int | None]] = deque()
        self._changelog_ready = asyncio.Event()
        self._changelog_lock = asyncio.Lock()

    def write_changelog(self, topic: str, key: bytes, value: bytes | None, partition: int | None) -> None:
        self._changelog.append((topic, key, value, partition))
        self._changelog_ready.set()

    @property
    def changelog_pending(self) -> int:
        return len(self._changelog)

    async def _drain_changelog(self) -> None:
        """Hand the FIFO to the client in order; one drain at a time (the task's or a flush's)."""
        queue = self._changelog
        async with self._changelog_lock:
            while queue:
                topic, key, value, partition = queue[0]
                delivery = await self.send(topic, key, value, partition, None, None)
                delivery.add_done_callback(_count_failure)  # type: ignore[attr-defined]
                queue.popleft()

    @Service.task
    async def _send_changelog(self) -> None:
        while not self.should_stop:
            await self._changelog_ready.wait()
            self._changelog_ready.clear()
            await self._drain_changelog()

    async def flush(self) -> None:
        await self._drain_changelog()
        await super().flush()


def _count_failure(fut: Any) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        PUBLISH_FAILURES.labels(topic="changelog").inc()


class SnapshotTransport(faust_aiokafka.Transport):
    Consumer = SnapshotConsumer
    Producer = ChangelogProducer


class App(faust.App):
    """``faust.App`` whose consumer is :class:`SnapshotConsumer`, fetching with ``fetch_max_wait_ms``, and which
    stops without waiting for records no agent will finish.

    Faust's ``stream_wait_empty`` makes a stop (and a rebalance) wait until
    every record handed to a stream is acked. A record held in a take that
    the agent has not yet yielded is never acked: the agent waits for its
    stream to stop and the stop waits for the record, for good. A worker
    sent SIGTERM mid-backlog was seen stuck so for 14 minutes, burning CPU
    (``wait_empty: Waiting for tasks`` on every events partition). So the
    wait is off: what was done is acked and committed, what was only buffered
    is delivered again after the restart or to the partition's new owner
    (where the sink and the alert book recognise what they already hold).
    ``before_stop`` hooks run first, while the agents still run: the sink
    feeder stores what it holds and acks it, so the final commit covers it.
    """

    def __init__(self, *args: Any, fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.before_stop: list[Callable[[], Awaitable[None]]] = []
        kwargs.setdefault("stream_wait_empty", False)
        super().__init__(*args, **kwargs)

    async def on_stop(self) -> None:
        for hook in self.before_stop:
            try:  # bounded: a sink that is down must not keep the worker from stopping (its rows come again)
                await asyncio.wait_for(hook(), timeout=BEFORE_STOP_TIMEOUT_S)
            except Exception as exc:  # a failed hook must not keep the worker from stopping either
                self.log.error("before-stop hook %r failed or timed out: %r", hook, exc)
        await super().on_stop()

    def _new_transport(self) -> Any:
        return SnapshotTransport(self.conf.broker_consumer, self)
