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

from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

#: How long a fetch waits when no partition is active (Faust waits a whole second).
IDLE_WAIT_S = 0.05
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


class SnapshotTransport(faust_aiokafka.Transport):
    Consumer = SnapshotConsumer


class App(faust.App):
    """``faust.App`` whose consumer is :class:`SnapshotConsumer`, fetching with ``fetch_max_wait_ms``."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int = DEFAULT_FETCH_MAX_WAIT_MS, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> Any:
        return SnapshotTransport(self.conf.broker_consumer, self)
