"""The benchmark's input: the street's simulated days as one continuous timeline of uploads.

The backlog and every point of the latency curve take their uploads from one
``Timeline``, each where the one before stopped, so every person's comings
and goings stay consistent across phases. They used not to be: the backlog
was the first N events of 8 February (cut mid-morning, with most residents
out at work by their gate history) and each curve point the first events of
a new day, so the night's household checks and inner scans found residents
at home whose last passage was outward: anti-passback flagged them by the
thousand (4,315 ``bypass_entry`` revisions in one 20-second point of 20,554
events, 0.21 alerts per event, against 96 alerts in the demo's whole day of
48,569 events). That flood, not the street's traffic, set the worker's live
capacity and the curve's figures.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from schemas import EventBatch
from streams.simulate import Street, generate_day

ENDLESS = 10**12
"""Events asked of the simulator: it carries on day after day, far beyond what any run takes."""


class Timeline:
    """Uploads in upload order, taken a number of events at a time; the days go on where the last take stopped."""

    def __init__(self, street: Street, *, seed: int, batch_events: int, batch_seconds: float,
                 day: date = date(2020, 2, 8)) -> None:
        self._batches = generate_day(street, seed=seed, day=day, events=ENDLESS, batch_events=batch_events,
                                     batch_seconds=batch_seconds)
        self._rest: EventBatch | None = None  # what was left of the upload the last take ended in
        self.last_time: datetime | None = None
        """The event time of the last event handed out: where the street's clock stands."""

    def take(self, events: int) -> Iterator[EventBatch]:
        """Uploads of exactly ``events`` events in all: an upload the count ends in is split, its rest the first
        upload of the next take (as a terminal uploads what it scanned after a cut)."""
        taken = 0
        while taken < events:
            batch, self._rest = (self._rest, None) if self._rest is not None else (next(self._batches), None)
            room = events - taken
            if len(batch.events) > room:
                self._rest = batch.model_copy(update={"batch_id": f"{batch.batch_id}-rest",
                                                      "events": batch.events[room:]})
                batch = batch.model_copy(update={"events": batch.events[:room]})
            taken += len(batch.events)
            latest = max(e.event_time for e in batch.events)
            self.last_time = latest if self.last_time is None else max(self.last_time, latest)
            yield batch
