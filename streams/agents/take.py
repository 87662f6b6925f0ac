"""Takes that end when nothing more is waiting: an idle worker judges an event at once, a busy one in batches.

Faust's ``noack_take(max, within)`` hands over what it buffered every
``within`` seconds: an event arriving at a quiet worker waited up to the
whole window (10 ms) before it was judged, and a shorter window woke the
loop more often than there were events (a 2 ms window saturated at 1,000
events/s offered, ``bench-results/pairs-2026-12-07b``). Here a take ends as
soon as the agent's channel holds nothing more, or at ``max_records``: alone
on a quiet street, every upload is its own take with no wait; under load,
records queue while a take is judged and the next take holds them all, so the
batch grows with the load by itself and no timer runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any


async def takes(stream: Any, max_records: int) -> AsyncIterator[list[Any]]:
    """The stream's events (``faust.Event``), not acked, in lists of at most ``max_records``; each list handed
    over once the channel has nothing more waiting. The caller acks them (``stream.ack``) when it is done."""
    queue = stream.channel.queue
    enable_acks = stream.enable_acks
    stream.enable_acks = False  # acked by the caller once its rows are stored, as with Faust's noack_take
    taken: list[Any] = []
    try:
        async for _ in stream:
            taken.append(stream.current_event)
            if len(taken) >= max_records or queue.empty():
                batch, taken = taken, []
                yield batch
    finally:
        stream.enable_acks = enable_acks
