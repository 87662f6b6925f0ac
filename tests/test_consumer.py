"""The consumer delivers every record aiokafka hands over, whatever recovery does to the active set meanwhile.

aiokafka's fetch is replaced by a fake that changes Faust's live set of
active partitions while it "waits", as recovery does in the consumer thread;
nothing here talks to Kafka (the restart and two-worker phases of
tests/test_bench_smoke.py run the same path on the real broker).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from faust.types import TP

from streams.consumer import App

EVENTS = TP("events", 0)
OTHER = TP("events", 1)
CHANGELOG = TP("t-state-changelog", 0)


def fetch_once(active: set[TP], during: Callable[[set[TP]], None],
               records: dict[TP, list[Any]]) -> tuple[dict[TP, list[Any]], set[TP] | None, list[Any]]:
    """One ``_wait_next_records`` of a consumer built (never started: no connection) in its own loop."""

    async def scenario() -> tuple[dict[TP, list[Any]], set[TP] | None, list[Any]]:
        app = App("t", broker="kafka://127.0.0.1:1", web_enabled=False, loop=asyncio.get_running_loop())
        app.Table("state", partitions=2)
        consumer: Any = app.consumer
        consumer._set_active_tps(active)
        try:
            calls = fake_fetch(consumer, during, records)
            got, active_after = await consumer._wait_next_records(1.0)
            return got, active_after, calls
        finally:
            consumer._thread.thread_loop.close()  # the consumer thread's loop, made at construction

    return asyncio.run(scenario())


def fake_fetch(consumer: Any, during: Callable[[set[TP]], None], records: dict[TP, list[Any]]) -> list[Any]:
    calls: list[Any] = []

    async def getmany(active_partitions: set[TP] | None, timeout: float) -> dict[TP, list[Any]]:
        calls.append(None if active_partitions is None else set(active_partitions))
        during(consumer._get_active_partitions())  # recovery runs while aiokafka waits
        return {tp: list(rs) for tp, rs in records.items() if active_partitions is None or tp in active_partitions}

    consumer._getmany = getmany
    return calls


def test_records_of_a_partition_paused_during_the_fetch_are_still_delivered() -> None:
    records, active, _ = fetch_once({EVENTS, OTHER}, lambda live: live.discard(EVENTS),
                                    {EVENTS: ["r0", "r1"], OTHER: ["r2"]})
    assert records == {EVENTS: ["r0", "r1"], OTHER: ["r2"]}
    assert active is not None and EVENTS in active  # Faust keeps a record only if its partition is in this set


def test_no_fetch_is_made_while_no_partition_is_active() -> None:
    # aiokafka would read an empty set as "every partition"
    records, active, calls = fetch_once(set(), lambda live: None, {EVENTS: ["r0"]})
    assert records == {} and not active and calls == []


def test_the_fetch_asks_for_a_copy_so_later_changes_do_not_reach_aiokafka() -> None:
    records, _, calls = fetch_once({EVENTS}, lambda live: live.clear(), {EVENTS: ["r0"]})
    assert calls == [{EVENTS}] and records == {EVENTS: ["r0"]}


def test_changelog_records_fetched_after_its_recovery_ended_are_not_replayed() -> None:
    records, _, _ = fetch_once({CHANGELOG, EVENTS}, lambda live: live.discard(CHANGELOG),
                               {CHANGELOG: ["c0"], EVENTS: ["r0"]})
    assert records == {EVENTS: ["r0"]}


def test_the_worker_consumer_fetches_with_the_apps_short_wait_not_fausts_1500_ms() -> None:
    async def scenario() -> tuple[int, int]:
        short = App("t", broker="kafka://127.0.0.1:1", web_enabled=False, loop=asyncio.get_running_loop(),
                    fetch_max_wait_ms=7)
        default = App("u", broker="kafka://127.0.0.1:1", web_enabled=False, loop=asyncio.get_running_loop())
        waits = []
        for app in (short, default):
            thread: Any = app.consumer._thread  # type: ignore[attr-defined]
            consumer = thread._create_worker_consumer(app.transport)
            try:
                waits.append(consumer._fetch_max_wait_ms)
            finally:
                await consumer.stop()
                thread.thread_loop.close()
        return waits[0], waits[1]

    assert asyncio.run(scenario()) == (7, 10)


def test_table_changelog_records_reach_the_client_in_write_order_before_a_flush_returns() -> None:
    async def scenario() -> tuple[list[tuple[str, bytes, bytes | None, int | None]], int]:
        app = App("t", broker="kafka://127.0.0.1:1", web_enabled=False, loop=asyncio.get_running_loop())
        producer: Any = app.producer
        sent: list[tuple[str, bytes, bytes | None, int | None]] = []

        async def send(topic: str, key: bytes, value: bytes | None, partition: int | None,
                       timestamp: Any, headers: Any) -> asyncio.Future[None]:
            await asyncio.sleep(0)  # the client may suspend: a concurrent drain must neither skip nor repeat
            sent.append((topic, key, value, partition))
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

        producer.send = send
        producer._producer = None  # nothing to flush in the client itself
        for i in range(5):
            producer.write_changelog("t-state-changelog", b"k", f"v{i}".encode(), i % 2)
        producer.write_changelog("t-state-changelog", b"k", None, 1)  # a delete is a tombstone
        await asyncio.gather(producer._drain_changelog(), producer.flush())  # the task and a commit at once
        return sent, producer.changelog_pending

    sent, pending = asyncio.run(scenario())
    assert [value for _, _, value, _ in sent] == [b"v0", b"v1", b"v2", b"v3", b"v4", None]
    assert [part for *_, part in sent] == [0, 1, 0, 1, 0, 1] and pending == 0
