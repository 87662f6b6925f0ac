"""Garbage-collector pauses kept off the alert path: what survives a full collection is frozen.

A worker's heap is mostly long-lived: the modules, Faust's and aiokafka's
machinery, and the values the hot path remembers (``streams.memo``, the
enricher's people and sites). CPython's full (generation 2) collection walks
all of it, holds the GIL throughout, and finds nothing to free: measured on
the benchmark's worker (30,000 residents), 12 full collections in three
minutes, 117 to 322 ms each, every one ``collected=0``. An event that arrives
meanwhile waits: those were the idle probe's worst alerts (p99 198 ms, max
572 ms, against a p50 of 25 ms).

So the objects that survive a full collection are moved to the permanent
generation (``gc.freeze``), which later collections skip: the next full
collection walks only what has been made since. Frozen objects are still freed
by reference counting when dropped; only a reference *cycle* among them would
outlive its use, so every ``unfreeze_every_s`` the frozen set is handed back
to the collector, and the next full collection looks at everything once more.

The young generations are collected far less often than CPython's default
(``GRIDWATCH_STREAM__GC_THRESHOLDS``, 50,000 allocations rather than 700):
with the default, the collector cost the benchmark's worker 32 to 44 µs an
event while draining and 64 to 67 µs live at 2,000 events/s (its own
``gridwatch_gc_pause_seconds``), nearly a tenth of its CPU, walking objects
that reference counting frees a moment later anyway (an event's models, a
take's lists); with 50,000 it cost 13 to 15 and 20 to 21 µs
(``bench-results/pairs-2026-12-07i``). The pauses change shape: before, a
young collection of 0.5 ms every few hundred events, a middle one of 5 to
7 ms every 300 and a full one of 60 to 70 ms every 4,000; now a young one of
55 to 60 ms every 4,000 events and a middle one of about 200 ms every
80,000 (a full one after twenty of those, its survivors frozen as before).

``PauseClock`` is the pure part (what to do, when); ``install`` wires it to
``gc.callbacks``, and ``run`` is the loop that freezes and reports. The
freeze and the metrics run from the event loop, never inside a collector
callback (which may interrupt any thread anywhere, the metrics scrape's
included: it only notes the pause).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from streams.metrics import GC_FROZEN_OBJECTS, GC_PAUSE

log = logging.getLogger(__name__)

FREEZE_CHECK_S = 1.0
"""How often the worker looks whether a full collection has run since its last freeze."""


@dataclass
class PauseClock:
    """Decides when to freeze and when to hand the frozen objects back; time is passed in."""

    unfreeze_every_s: float
    full_since_freeze: bool = False
    last_unfreeze: float = field(default=0.0)
    pauses: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=100_000))
    """(generation, seconds) of each collection since the loop last reported them."""
    frozen: int = 0
    """Objects in the frozen set, as counted at each freeze (``freeze``)."""

    def collected(self, generation: int, seconds: float = 0.0) -> None:
        """A collection of ``generation`` has finished after ``seconds``."""
        self.pauses.append((generation, seconds))
        if generation == 2:
            self.full_since_freeze = True

    def due(self, now: float) -> str | None:
        """``"unfreeze"``, ``"freeze"`` or nothing, at monotonic time ``now``."""
        if self.unfreeze_every_s > 0 and now - self.last_unfreeze >= self.unfreeze_every_s:
            self.last_unfreeze = now
            self.full_since_freeze = False
            return "unfreeze"
        if self.full_since_freeze:
            self.full_since_freeze = False
            return "freeze"
        return None


class _Timer:
    """Times each collection, through ``gc.callbacks``."""

    def __init__(self, clock: PauseClock) -> None:
        self._clock = clock
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self._clock.collected(int(info.get("generation", 0)), time.perf_counter() - self._started)


def install(*, unfreeze_every_s: float, thresholds: tuple[int, int, int] | None = None) -> PauseClock:
    """Time every collection, and freeze what the start-up made (one full collection first, before any event);
    the generation thresholds set if given."""
    if thresholds is not None:
        gc.set_threshold(*thresholds)
    clock = PauseClock(unfreeze_every_s=unfreeze_every_s, last_unfreeze=time.monotonic())
    gc.callbacks.append(_Timer(clock))
    clock.frozen = settle()
    clock.full_since_freeze = False  # settled: nothing new to freeze yet
    return clock


def settle() -> int:
    """One full collection now, then freeze every survivor (at start-up, when a pause costs no alert); how many
    objects are frozen then."""
    gc.collect()
    frozen = gc.get_freeze_count() + freeze()
    GC_FROZEN_OBJECTS.set(frozen)
    return frozen


def freeze() -> int:
    """Freeze every object the collector tracks; how many that adds (give or take the lists counting makes).

    Counted from the generations being frozen, never with ``gc.get_freeze_count``: that walks the whole frozen
    set, which on a worker with 1,000,000 residents took about 65 ms holding the GIL, and reporting the gauge
    that way every second was 6.5 % of a draining worker's samples (py-spy, 7 December) and a pause each
    second on the alert path.
    """
    added = sum(len(gc.get_objects(generation=g)) for g in range(3))
    gc.freeze()
    return added


async def run(clock: PauseClock, *, monotonic: Callable[[], float] = time.monotonic) -> None:
    """Freeze after each full collection; hand the frozen set back every ``unfreeze_every_s``; report the pauses."""
    while True:
        await asyncio.sleep(FREEZE_CHECK_S)
        while clock.pauses:
            generation, seconds = clock.pauses.popleft()
            GC_PAUSE.labels(generation=str(generation)).observe(seconds)
        what = clock.due(monotonic())
        if what == "freeze":
            clock.frozen += freeze()
        elif what == "unfreeze":
            log.info("handing %d frozen objects back to the garbage collector", clock.frozen)
            gc.unfreeze()
            clock.frozen = 0
        if what is not None:
            GC_FROZEN_OBJECTS.set(clock.frozen)
