"""Events acked once their handling has run to its end, never before.

Faust's ``stream.events()`` acks an event in a ``finally`` around its
``yield``: when the agent is cancelled half-way through an event (a SIGTERM
stops every agent at its next await), the event is acked all the same and the
stop commits past it. The fault campaign's ``worker-term`` lost a
register-check comparison so: cancelled while it waited for the register
store, its person record committed, the finding never sent (the alert's count
1 where the fault-free run has 2). ``handled`` acks an event only when the
loop body returns to it for the next one, so an event the body did not finish
is read again after the restart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

__all__ = ["handled"]


async def handled(stream: Any) -> AsyncIterator[Any]:
    """Each event of ``stream``, acked when the caller asks for the next one (or ends the loop normally).

    A body that ``continue``s has handled its event (it dead-lettered or skipped it on purpose); one that is
    cancelled or raises has not, and its event stays unacked: the partition's committed offset stops before it.
    """
    manual = stream.noack()
    async for event in manual.events():
        yield event
        await manual.ack(event)
