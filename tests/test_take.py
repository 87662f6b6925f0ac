"""The events agent's take: an upload reaching an idle worker is taken at once, a busy worker's are batched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace

from streams.agents.take import takes

WITHIN = 0.05


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


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_idle_workers_uploads_are_taken_at_once_and_what_queued_together_is_one_take() -> None:
    async def run() -> tuple[list[list[str]], bool]:
        stream, clock, out = _Stream(), _Clock(), []
        for value in ("a", "b", "c"):
            stream.channel.queue.put_nowait(value)
        gen = takes(stream, 500, WITHIN, clock)
        async for taken in gen:
            assert stream.enable_acks is False  # the caller acks once its rows are stored
            out.append(taken)
            if len(out) == 2:
                break
            def quiet_then_d() -> None:  # the street is quiet for a second: the next upload finds the worker idle
                clock.now += 1.0
                stream.channel.queue.put_nowait("d")

            asyncio.get_running_loop().call_later(0.01, quiet_then_d)
        await gen.aclose()  # as when the agent stops
        return out, stream.enable_acks

    got, acks_restored = asyncio.run(asyncio.wait_for(run(), timeout=30))
    assert got == [["a", "b", "c"], ["d"]]
    assert acks_restored


def test_a_busy_workers_take_fills_for_the_window_with_what_arrives_meanwhile() -> None:
    async def run() -> list[list[str]]:
        stream, clock, out = _Stream(), _Clock(), []
        stream.channel.queue.put_nowait("a")
        async for taken in takes(stream, 500, WITHIN, clock):
            out.append(taken)
            if len(out) == 2:
                break
            # no time passes on the worker's clock: "b" comes while it is busy, "c" during b's take window
            stream.channel.queue.put_nowait("b")
            asyncio.get_running_loop().call_later(WITHIN / 5, stream.channel.queue.put_nowait, "c")
        return out

    assert asyncio.run(asyncio.wait_for(run(), timeout=30)) == [["a"], ["b", "c"]]


def test_a_take_holds_at_most_max_records_and_the_rest_follow_in_order() -> None:
    async def run() -> list[list[str]]:
        stream, out = _Stream(), []
        for value in "abcde":
            stream.channel.queue.put_nowait(value)
        async for taken in takes(stream, 2, WITHIN, _Clock()):
            out.append(taken)
            if len(out) == 3:
                break
        return out

    assert asyncio.run(asyncio.wait_for(run(), timeout=30)) == [["a", "b"], ["c", "d"], ["e"]]
