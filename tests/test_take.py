"""The events agent's take ends when nothing more is waiting: a lone upload is judged at once, a queue in batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace

from streams.agents.take import takes


class _Stream:
    """What ``takes`` uses of a Faust stream: its channel's queue, its acks switch, its iteration and event."""

    def __init__(self) -> None:
        self.channel = SimpleNamespace(queue=asyncio.Queue[str]())
        self.enable_acks = True
        self.current_event: str | None = None

    async def __aiter__(self) -> AsyncIterator[str]:
        while True:
            self.current_event = await self.channel.queue.get()
            yield self.current_event


async def _first_takes(stream: _Stream, max_records: int, count: int, later: list[str]) -> list[list[str]]:
    out: list[list[str]] = []
    async for taken in takes(stream, max_records):
        assert stream.enable_acks is False  # the caller acks once its rows are stored
        out.append(taken)
        if len(out) == 1:
            for value in later:  # arrives while the first take is judged
                stream.channel.queue.put_nowait(value)
        if len(out) == count:
            break
    return out


def test_what_is_queued_is_one_take_and_a_lone_record_later_is_taken_without_waiting() -> None:
    async def run() -> tuple[list[list[str]], bool]:
        stream = _Stream()
        for value in ("a", "b", "c"):
            stream.channel.queue.put_nowait(value)
        got = await asyncio.wait_for(_first_takes(stream, 500, 2, ["d"]), timeout=30)
        return got, stream.enable_acks

    got, acks_restored = asyncio.run(run())
    assert got == [["a", "b", "c"], ["d"]]
    assert acks_restored


def test_a_take_holds_at_most_max_records_and_the_rest_follow_in_order() -> None:
    async def run() -> list[list[str]]:
        stream = _Stream()
        for value in "abcde":
            stream.channel.queue.put_nowait(value)
        return await asyncio.wait_for(_first_takes(stream, 2, 3, []), timeout=30)

    assert asyncio.run(run()) == [["a", "b"], ["c", "d"], ["e"]]
