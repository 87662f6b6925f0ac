"""The stall watchdog: a partition with input waiting whose committed offset does not move.

A stalled worker is silence that looks like calm: no error, no alert, an
idle profiler. Busy-machine stalls were found with the ``kill -USR1`` dump
(streams/diagnostics.py) only because someone thought to send it. So the
worker watches itself: a partition is stalled when records wait beyond its
committed offset (lag > 0) and that offset has not moved for ``stall_after``
seconds. On a new stall the worker writes the dump to its log by itself and
``gridwatch_partition_stalled`` says 1 for that partition, which pages
(infra/prometheus/alerts.yml, GridwatchPartitionStalled).

``StallWatch`` is the pure part, with time passed in; ``run`` is the thin
loop that feeds it Faust's offsets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import faust

from streams import diagnostics
from streams.metrics import PARTITION_STALLED, STALLS

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Seen:
    committed: int | None
    since: float
    stalled: bool = False


class StallWatch:
    """Which partitions have had records waiting behind an unmoving committed offset for ``stall_after`` s."""

    def __init__(self, stall_after: float) -> None:
        self.stall_after = stall_after
        self._seen: dict[Hashable, _Seen] = {}

    def observe(self, now: float, offsets: Mapping[Hashable, tuple[int | None, int | None]]) -> tuple[
            list[Hashable], list[Hashable]]:
        """Feed ``{partition: (committed, end offset)}``; returns (newly stalled, newly recovered).

        ``committed`` is the next offset to consume (None: nothing committed
        yet, i.e. the start), ``end`` the partition's end offset (None:
        unknown, never a stall). A partition no longer in ``offsets`` (revoked)
        is forgotten, and counts as recovered if it was stalled.
        """
        stalled: list[Hashable] = []
        recovered: list[Hashable] = [tp for tp, seen in self._seen.items() if tp not in offsets and seen.stalled]
        self._seen = {tp: seen for tp, seen in self._seen.items() if tp in offsets}
        for tp, (committed, end) in offsets.items():
            seen = self._seen.get(tp)
            waiting = end is not None and end > (committed or 0)
            if seen is None or seen.committed != committed or not waiting:
                if seen is not None and seen.stalled:
                    recovered.append(tp)
                self._seen[tp] = _Seen(committed, now)
                continue
            if not seen.stalled and now - seen.since >= self.stall_after:
                seen.stalled = True
                stalled.append(tp)
        return stalled, recovered

    def stalled(self) -> list[Hashable]:
        return [tp for tp, seen in self._seen.items() if seen.stalled]


def watched(assigned: Iterable[Any], changelogs: Iterable[str]) -> list[Any]:
    """The partitions whose committed offset should move: the assigned ones, less the tables' changelogs (read
    only to recover a table, never committed by the group, so their "lag" is every record the worker wrote)."""
    skip = set(changelogs)
    return [tp for tp in assigned if tp.topic not in skip]


def _offsets(app: faust.App, tps: Iterable[Any]) -> dict[Hashable, tuple[int | None, int | None]]:
    consumer: Any = app.consumer
    out: dict[Hashable, tuple[int | None, int | None]] = {}
    for tp in tps:
        committed = consumer._committed_offset.get(tp)  # the last committed offset, i.e. next - 1
        end = consumer.highwater(tp)
        out[tp] = (None if committed is None else committed + 1, end)
    return out


async def run(app: faust.App, watch: StallWatch, *, ready: asyncio.Event) -> None:
    """A few times per ``stall_after`` (at most every 5 s): feed the watch the assigned partitions' offsets and
    report what changed.

    Not before ``ready`` (the registers loaded: events wait for them by
    design), and a rebalance or a stop starts the watch afresh, since
    offsets are in flux then, not stuck.
    """
    await ready.wait()
    every = min(5.0, watch.stall_after / 4)
    while True:
        await asyncio.sleep(every)
        offsets: dict[Hashable, tuple[int | None, int | None]] = {}
        if app.flow_control.is_active():
            try:
                offsets = _offsets(app, watched(app.assignor.assigned_actives(), app.tables.changelog_topics))
            except Exception as exc:  # a watchdog must not take the worker down
                log.warning("stall watchdog could not read offsets: %s", type(exc).__name__)
        stalled, recovered = watch.observe(time.monotonic(), offsets)
        for tp in recovered:
            PARTITION_STALLED.labels(topic=tp.topic, partition=str(tp.partition)).set(0)  # type: ignore[attr-defined]
            log.warning("%s[%s] moves again", tp.topic, tp.partition)  # type: ignore[attr-defined]
        for tp in stalled:
            PARTITION_STALLED.labels(topic=tp.topic, partition=str(tp.partition)).set(1)  # type: ignore[attr-defined]
            STALLS.labels(topic=tp.topic).inc()  # type: ignore[attr-defined]
        if stalled:
            names = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in stalled)  # type: ignore[attr-defined]
            dump = "\n".join((*diagnostics.task_chains(), *diagnostics.partition_states(app)))
            log.error("stalled for %.0fs with records waiting: %s; where every task waits:\n%s",
                      watch.stall_after, names, dump)
