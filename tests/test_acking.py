"""``handled``: an event is acked only once the agent's body has finished with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from streams.agents.acking import handled


class _Stream:
    """The part of a Faust stream ``handled`` uses: a manual-ack clone that yields events and takes acks."""

    def __init__(self, events: list[str]) -> None:
        self._events = events
        self.acked: list[str] = []
        self.manual = False

    def noack(self) -> _Stream:
        self.manual = True
        return self

    async def events(self) -> AsyncIterator[str]:
        for e in self._events:
            yield e

    async def ack(self, event: str) -> bool:
        self.acked.append(event)
        return True


def test_each_event_is_acked_after_its_body_including_one_it_skips() -> None:
    stream = _Stream(["a", "b", "c"])

    async def agent() -> list[tuple[str, list[str]]]:
        seen = []
        async for event in handled(stream):
            seen.append((event, list(stream.acked)))  # what was acked while this one was being handled
            if event == "b":
                continue  # dead-lettered or skipped on purpose: handled
        return seen

    seen = asyncio.run(agent())
    assert stream.manual
    assert seen == [("a", []), ("b", ["a"]), ("c", ["a", "b"])]
    assert stream.acked == ["a", "b", "c"]


def test_an_event_whose_body_is_cancelled_at_a_stop_is_not_acked() -> None:
    stream = _Stream(["a", "b", "c"])
    reached_b = asyncio.Event()

    async def agent() -> None:
        async for event in handled(stream):
            if event == "b":
                reached_b.set()
                await asyncio.sleep(3600)  # waiting on the broker when the stop comes

    async def main() -> None:
        task = asyncio.ensure_future(agent())
        await reached_b.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert stream.acked == ["a"]  # "b" is read again after the restart


def test_an_event_whose_body_raises_is_not_acked() -> None:
    stream = _Stream(["a", "b"])

    async def agent() -> None:
        async for event in handled(stream):
            if event == "b":
                raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        asyncio.run(agent())
    assert stream.acked == ["a"]
