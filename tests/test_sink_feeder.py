"""The sink feeder acks source records only after their rows are stored, in order."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from sinks import SinkUnavailable
from streams.agents.sink import SinkFeeder, SinkRunner


class _Table:
    """Stands in for a ClickHouse table: records each insert, can be held shut."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []
        self.gate = threading.Event()
        self.gate.set()

    def setup(self) -> None:
        pass

    def close(self) -> None:
        pass

    def insert(self, rows: Sequence[Any]) -> int:
        self.gate.wait(5)
        self.batches.append(list(rows))
        return len(rows)


def _feeder(table: _Table, *, batch_rows: int, flush_seconds: float = 60.0) -> tuple[SinkFeeder, SinkRunner]:
    runner = SinkRunner(table, retry_seconds=0.01)  # type: ignore[arg-type]
    return SinkFeeder(runner, "t", table.insert, batch_rows=batch_rows, flush_seconds=flush_seconds), runner


def _acker(log: list[int], n: int) -> Any:
    async def ack() -> None:
        log.append(n)

    return ack


def test_rows_below_the_batch_size_wait_and_nothing_is_acked() -> None:
    async def go() -> tuple[list[list[Any]], list[int]]:
        table, acked = _Table(), []
        feeder, runner = _feeder(table, batch_rows=10)
        await runner.start()
        await feeder.add([1, 2, 3], _acker(acked, 1))
        await feeder.tick()  # flush_seconds has not passed
        await asyncio.sleep(0.05)
        runner.close()
        return table.batches, acked

    batches, acked = asyncio.run(go())
    assert batches == []
    assert acked == []


def test_a_full_batch_is_written_then_its_records_are_acked() -> None:
    async def go() -> tuple[list[list[Any]], list[int]]:
        table, acked = _Table(), []
        feeder, runner = _feeder(table, batch_rows=4)
        await runner.start()
        await feeder.add([1, 2], _acker(acked, 1))
        await feeder.add([3, 4, 5], _acker(acked, 2))
        await feeder.add([], _acker(acked, 3))  # a record that was dead-lettered whole
        for _ in range(50):
            await asyncio.sleep(0.01)
        runner.close()
        return table.batches, acked

    batches, acked = asyncio.run(go())
    assert batches == [[1, 2, 3, 4, 5]]
    assert acked == [1, 2]  # record 3 waits for the next write: acks never overtake rows


def test_a_batch_older_than_flush_seconds_is_written_on_tick() -> None:
    async def go() -> tuple[list[list[Any]], list[int]]:
        table, acked = _Table(), []
        feeder, runner = _feeder(table, batch_rows=1000, flush_seconds=0.05)
        await runner.start()
        await feeder.add(["a"], _acker(acked, 1))
        await asyncio.sleep(0.06)
        await feeder.tick()
        for _ in range(50):
            await asyncio.sleep(0.01)
        await feeder.add([], _acker(acked, 2))  # a record dead-lettered whole: no rows, still acked
        await asyncio.sleep(0.06)
        await feeder.tick()
        for _ in range(50):
            await asyncio.sleep(0.01)
        runner.close()
        return table.batches, acked

    batches, acked = asyncio.run(go())
    assert batches == [["a"]]
    assert acked == [1, 2]


def test_acks_wait_while_the_store_is_slow_and_batches_keep_their_order() -> None:
    async def go() -> tuple[list[list[Any]], list[int], list[int]]:
        table, acked = _Table(), []
        table.gate.clear()  # ClickHouse is slow
        feeder, runner = _feeder(table, batch_rows=2)
        await runner.start()
        await feeder.add([1, 2], _acker(acked, 1))  # first write starts and hangs
        await asyncio.sleep(0.05)
        acked_while_slow = list(acked)
        second = asyncio.ensure_future(feeder.add([3, 4], _acker(acked, 2)))  # waits for the first
        await asyncio.sleep(0.05)
        table.gate.set()
        await second
        await feeder.add([], _acker(acked, 3))
        await asyncio.sleep(0.05)
        await feeder.tick()
        for _ in range(50):
            await asyncio.sleep(0.01)
        runner.close()
        return table.batches, acked_while_slow, acked

    batches, acked_while_slow, acked = asyncio.run(go())
    assert acked_while_slow == []
    assert batches == [[1, 2], [3, 4]]
    assert acked == [1, 2]


class _DownTable(_Table):
    """A store that refuses every write while ``down`` is set (an outage), as the sink does."""

    def __init__(self) -> None:
        super().__init__()
        self.down = threading.Event()
        self.down.set()

    def insert(self, rows: Sequence[Any]) -> int:
        if self.down.is_set():
            raise SinkUnavailable("insert refused: store down", retry_after=0.01)
        return super().insert(rows)


def test_during_an_outage_rows_queue_up_to_buffer_rows_then_add_waits_and_nothing_is_acked_early() -> None:
    async def go() -> tuple[int, bool, list[int], list[list[Any]], list[int]]:
        table, acked = _DownTable(), []
        runner = SinkRunner(table, retry_seconds=0.01)  # type: ignore[arg-type]
        feeder = SinkFeeder(runner, "t", table.insert, batch_rows=2, flush_seconds=60.0, buffer_rows=6)
        await runner.start()
        taken = 0
        for n in range(3):  # the first write fails and is retried; the next rows queue without waiting
            await asyncio.wait_for(feeder.add([2 * n, 2 * n + 1], _acker(acked, n)), timeout=5)
            taken += 1
        blocked = asyncio.ensure_future(feeder.add([6, 7], _acker(acked, 3)))  # 8 rows queued: past the buffer
        await asyncio.sleep(0.1)
        waited, acked_while_down = not blocked.done(), list(acked)
        table.down.clear()  # the store is back
        await asyncio.wait_for(blocked, timeout=5)
        await asyncio.wait_for(feeder.drain(), timeout=5)
        runner.close()
        return taken, waited, acked_while_down, table.batches, acked

    taken, waited, acked_while_down, batches, acked = asyncio.run(go())
    assert taken == 3 and waited
    assert acked_while_down == []
    assert [row for batch in batches for row in batch] == list(range(8))  # every row once, in order
    assert acked == [0, 1, 2, 3]
