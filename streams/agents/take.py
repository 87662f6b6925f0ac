"""The events agent's takes: an upload reaching an idle worker is judged at once, a busy worker's are batched.

Faust's ``noack_take(max, within)`` hands over what it buffered every
``within`` seconds: an upload reaching a quiet worker waited up to the whole
window (10 ms) before it was judged, which was half of the idle probe's
median. Two ways out were measured and dropped, because each made takes small
under load and the per-take work (ticking every owned partition, flushing
state, delivering, acking) then cost live capacity: a 2 ms window saturated
at 1,000 events/s offered (``bench-results/pairs-2026-12-07b``), and so did
ending every take as soon as the channel was empty (767 of 1,000 achieved,
against 970 with the window; ``bench-results/pairs-2026-12-07d``).

So a take looks at how it began. If the agent had waited at least ``within``
for its first upload, the worker was idle: the take ends as soon as nothing
more is waiting, and the upload is judged with no wait. Otherwise the worker
is busy, and the take fills for ``within`` after its first upload (or to
``max_records``), as Faust's does. The clock is injected for the tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any


async def takes(stream: Any, max_records: int, within: float,
                clock: Callable[[], float] = time.monotonic) -> AsyncIterator[list[Any]]:
    """The stream's events (``faust.Event``), not acked, in lists of at most ``max_records`` (see the module).
    The caller acks them (``stream.ack``) when it is done."""
    queue = stream.channel.queue
    enable_acks = stream.enable_acks
    stream.enable_acks = False  # acked by the caller once its rows are stored, as with Faust's noack_take
    taken: list[Any] = []
    resumed = clock() - within  # the first upload after start finds an idle worker
    idle, started = True, 0.0
    try:
        async for _ in stream:
            now = clock()
            if not taken:
                idle, started = now - resumed >= within, now
            taken.append(stream.current_event)
            if len(taken) < max_records:
                if not queue.empty():
                    continue
                if not idle:
                    wait = started + within - now
                    if wait > 0:
                        await asyncio.sleep(wait)  # uploads queue meanwhile in the channel
                        if not queue.empty():
                            continue
            batch, taken = taken, []
            yield batch
            resumed = clock()
    finally:
        stream.enable_acks = enable_acks
