"""The events topic's low watermark: the event time every partition this worker reads has reached.

Pure logic, the clock injected: the events agent feeds it each upload's
latest event time and, on every take, the partitions it is assigned.

A take holds runs of several partitions that are consumed unevenly: a backlog
(after an outage, a restart, or a terminal uploading thousands of scans at
once) drains partition by partition, since the Kafka client fills a fetch from
one partition before the next. So the latest event time seen is no clock:
judged against it, a partition behind the others would be late as a whole.
The minimum over partitions is, and that minimum must count the partitions
not yet read as well. Counting only the partitions seen so far, a restarted
worker whose first take held one partition's backlog moved every stateful
rule's watermark hours ahead (in the fault campaign's compressed day) and then
skipped the other partitions' events as late: an inward gate passage skipped
so made the person's next exit "an exit with no entry", a false bypass alert
(``gridwatch chaos worker-kill``: 9 such alerts in 20 kills).

So a partition assigned but not yet seen holds the watermark back (``low`` is
None: unknown) until its first upload arrives, unless the consumer reports it
has nothing to read. A partition, seen or not, that stays quiet for
``idle_after`` seconds stops holding it back (a terminal offline at night); a
partition no longer assigned is forgotten.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime


class SourceWatermark:
    """The low watermark over the assigned partitions of the events topic."""

    def __init__(self, idle_after: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._high: dict[int, tuple[datetime, float]] = {}
        self._unseen: dict[int, float] = {}
        """Assigned partitions with no upload seen yet, and since when they are assigned."""
        self._idle_after = idle_after
        self._clock = clock

    def see(self, partition: int, event_time: datetime) -> None:
        """An upload of ``partition`` whose latest event is ``event_time``."""
        high = self._high.get(partition)
        self._high[partition] = (max(high[0], event_time) if high else event_time, self._clock())
        self._unseen.pop(partition, None)

    def assign(self, partitions: Iterable[int]) -> None:
        """The partitions read now: a new one holds the watermark back until seen, a revoked one is forgotten."""
        assigned = set(partitions)
        now = self._clock()
        self._high = {p: v for p, v in self._high.items() if p in assigned}
        self._unseen = {p: since for p, since in self._unseen.items() if p in assigned}
        for p in assigned:
            if p not in self._high:
                self._unseen.setdefault(p, now)

    def low(self, drained: Callable[[int], bool] = lambda partition: False) -> datetime | None:
        """The watermark; None while unknown. ``drained(partition)``: the consumer has nothing of it to read."""
        now = self._clock()
        for p, since in self._unseen.items():
            if now - since <= self._idle_after and not drained(p):
                return None  # it may hold anything: every event time is possible
        active = [t for t, seen in self._high.values() if now - seen <= self._idle_after]
        return min(active) if active else None
