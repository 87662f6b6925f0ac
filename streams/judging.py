"""The stateful rules' bookkeeping per partition: watermark, lateness, the silence tick and the held sightings.

Pure logic over the engine: no Faust, no Kafka, and no clock but the event
time the callers bring. The worker judges a partition's events in one of two
places (``streams.agents.judge`` for records of ``rule-input``, the events
agent itself when this worker owns the partition), and both share one
``PartitionJudge``, so a partition has one watermark and one tick whichever
path its events took.

Per partition:

* the **watermark** is the low watermark over every partition of the events
  topic, merged from the marks the senders bring (``MergedWatermark``: per
  events partition the latest event time handed over and whether it holds
  the watermark back). Several workers hand a partition events, each from the
  events partitions it reads, and which reads which moves at every rebalance,
  so the marks are kept per events partition, not per worker (the fault
  campaign's ``rebalance``: 22 false bypass alerts with three workers, and
  with a watermark per worker still 3, when a partition moved from the
  slowest worker). An event older than the watermark minus the catalogue's
  lateness is counted and not judged by stateful rules (per-event rules
  already judged it): remembering it would rewrite history other events were
  judged against. A batch's own marks apply after its events are judged, so
  the events of one hand-over are never late against the marks they brought;
* once per ``TICK_EVERY`` of watermark time, ``silent_checkpoint`` is ticked
  for the gates of the partition;
* every ``CONFIRM_EVERY`` of watermark time, the sightings anti-passback holds
  (a gate upload may be late) are confirmed or dropped.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas import EnrichedEvent
from streams.engine import Engine, Family
from streams.rules.base import Finding
from streams.watermark import Marks, MergedWatermark

TICK_EVERY = timedelta(minutes=1)
CONFIRM_EVERY = timedelta(seconds=10)
"""How often (event time) a partition's held anti-passback findings are looked at."""

Found = tuple[Finding, EnrichedEvent]
Silences = Callable[[int, datetime], list[Found]]
"""The silent-checkpoint findings of a partition's gates at a watermark, each with the event it is reported on."""


class OnPartition:
    """The partition the judge is on: the pending index anti-passback files a held sighting under (the judge
    confirms each partition's own). A person's partition follows their route (``PersonKeys.route``), which their
    key does not give, so the rule asks this instead of hashing the key."""

    part: int = 0

    def index_of(self, _person_key: str) -> str:
        return str(self.part)


@dataclass
class Judged:
    """What judging one hand-over of a partition gave."""

    found: list[Found] = field(default_factory=list)
    late: Counter[str] = field(default_factory=Counter)
    """Events skipped as late, per family."""
    failed: list[tuple[int, Exception]] = field(default_factory=list)
    """Items whose rules raised, by index: the caller dead-letters them; the rest went on."""
    clock_failures: list[tuple[str, Exception]] = field(default_factory=list)
    """A tick or a confirmation that raised ("tick" / "confirm"): logged, the partition goes on."""


def _due(last: dict[int, datetime], part: int, now: datetime, every: timedelta) -> bool:
    """Whether a partition's clock ``now`` is ``every`` past the last time (noted as now if so)."""
    if part in last and now - last[part] < every:
        return False
    last[part] = now
    return True


class PartitionJudge:
    """The stateful rules of ``engine`` per partition; ``silences`` gives a partition's silent checkpoints.

    ``sources``: the partitions of the events topic, every one of which a rule partition's watermark waits for.
    """

    def __init__(self, engine: Engine, silences: Silences, *, sources: int, idle_after: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, on: OnPartition | None = None) -> None:
        self._engine = engine
        self._on = on or OnPartition()
        self._silences = silences
        self._merged: dict[int, MergedWatermark] = defaultdict(
            lambda: MergedWatermark(sources, idle_after=idle_after, clock=clock))
        self._watermarks: dict[int, datetime] = {}
        self._ticked: dict[int, datetime] = {}
        self._confirmed: dict[int, datetime] = {}

    def watermark(self, part: int) -> datetime | None:
        return self._watermarks.get(part)

    def judge(self, part: int, items: Iterable[tuple[Family, EnrichedEvent]], marks: Marks) -> Judged:
        """Judge ``items`` (in event-time order) on ``part``, then merge the sender's ``marks``."""
        out = Judged()
        engine = self._engine
        self._on.part = part
        current = self._watermarks.get(part)
        oldest = current - engine.lateness if current is not None else None
        for i, (family, event) in enumerate(items):
            if oldest is not None and event.event_time < oldest:
                out.late[family] += 1
                continue
            try:
                out.found.extend((f, event) for f in engine.judge(family, event))
            except Exception as exc:  # one event's failure never stops the partition
                out.failed.append((i, exc))
        self.advance(part, marks, out)
        return out

    def advance(self, part: int, marks: Marks, into: Judged | None = None) -> Judged:
        """Merge a sender's ``marks`` for ``part``, move the partition's watermark forward (never back), and run
        what its clock has made due."""
        out = into if into is not None else Judged()
        merged = self._merged[part]
        if marks:
            merged.report(marks)
        low = merged.low()
        if low is not None and (part not in self._watermarks or low > self._watermarks[part]):
            self._watermarks[part] = low
        now = self._watermarks.get(part)
        if now is None:
            return out
        if _due(self._ticked, part, now, TICK_EVERY):
            try:
                out.found.extend(self._silences(part, now))
            except Exception as exc:
                out.clock_failures.append(("tick", exc))
        if _due(self._confirmed, part, now, CONFIRM_EVERY):
            try:
                out.found.extend(self._engine.confirm(now, str(part)))
            except Exception as exc:
                out.clock_failures.append(("confirm", exc))
        return out
