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

The events agent sends these marks per events partition with every hand-over
(``marks``), and each rule partition merges the marks of every worker that
feeds it (``MergedWatermark``).
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

    def marks(self, drained: Callable[[int], bool] = lambda partition: False) -> Marks:
        """Per assigned partition, its high mark (None if unseen) and whether it holds the watermark back: seen
        within ``idle_after``, or unseen, assigned within ``idle_after`` and with something to read
        (``drained(partition)``: the consumer has nothing of it to read)."""
        now = self._clock()
        out: Marks = {p: (high, now - seen <= self._idle_after) for p, (high, seen) in self._high.items()}
        out |= {p: (None, now - since <= self._idle_after and not drained(p)) for p, since in self._unseen.items()}
        return out

    def low(self, drained: Callable[[int], bool] = lambda partition: False) -> datetime | None:
        """The watermark; None while unknown."""
        return low_of(self.marks(drained).values())


Marks = dict[int, tuple[datetime | None, bool]]
"""Per events partition: the latest event time handed over from it (None: none yet), and whether it holds the
watermark back (False: idle, or nothing to read)."""


def low_of(marks: Iterable[tuple[datetime | None, bool]]) -> datetime | None:
    """The minimum over the marks that hold; None if one that holds has no time yet, or none holds."""
    holding = []
    for high, holds in marks:
        if holds:
            if high is None:
                return None  # it may hold anything: every event time is possible
            holding.append(high)
    return min(holding) if holding else None


class MergedWatermark:
    """One rule partition's low watermark over every events partition, from the marks the workers send it.

    Several workers hand a rule partition events, each from the events
    partitions it reads, and which worker reads which moves at every
    rebalance. So the marks are kept per events partition, not per worker: a
    partition's high mark is the highest any worker reported (a new owner
    replaying from the committed offset reports older times for events the
    old owner already handed over), whether it holds is what the latest report
    said. Kept per worker, the minimum jumped whenever a partition moved from
    the slow worker to another, and the new owner's replay was then late
    (``gridwatch chaos rebalance``: false bypass alerts). An events partition
    never reported holds the watermark back for ``idle_after`` from the first
    report; one no worker has reported for ``idle_after`` (its owner gone, no
    successor yet) stops holding it.
    """

    def __init__(self, partitions: int, idle_after: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._partitions = partitions
        self._idle_after = idle_after
        self._clock = clock
        self._marks: dict[int, tuple[datetime | None, bool, float]] = {}
        self._since: float | None = None

    def report(self, marks: Marks) -> None:
        now = self._clock()
        if self._since is None:
            self._since = now
        for p, (high, holds) in marks.items():
            known = self._marks.get(p)
            best = known[0] if known is not None else None
            if high is not None and (best is None or high > best):
                best = high
            self._marks[p] = (best, holds, now)

    def low(self) -> datetime | None:
        """The watermark; None while unknown."""
        now = self._clock()
        if self._since is None:
            return None
        marks = []
        for p in range(self._partitions):
            known = self._marks.get(p)
            if known is None:
                if now - self._since <= self._idle_after:
                    return None  # not heard of yet: it may hold anything
                continue
            high, holds, heard = known
            marks.append((high, holds and now - heard <= self._idle_after))
        return low_of(marks)
