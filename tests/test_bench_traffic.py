"""The benchmark's input is one timeline: each take goes on where the last one stopped."""

from __future__ import annotations

from bench.traffic import Timeline
from streams.simulate import build_street, generate_day


def test_takes_continue_the_same_days_without_a_gap_or_a_repeat() -> None:
    street = build_street(seed=5, residents=3_000)
    timeline = Timeline(street, seed=5, batch_events=50, batch_seconds=60.0)
    first = list(timeline.take(700))
    second = list(timeline.take(900))
    assert sum(len(b.events) for b in first) == 700
    assert sum(len(b.events) for b in second) == 900
    assert len({b.batch_id for b in (*first, *second)}) == len(first) + len(second)
    ids = [e.event_id for b in (*first, *second) for e in b.events]
    assert len(ids) == len(set(ids))
    # the same uploads, in the same order, as one uninterrupted day of the simulator
    whole = list(generate_day(street, seed=5, events=len(ids), batch_events=50, batch_seconds=60.0))
    assert [e.event_id for b in whole for e in b.events][: len(ids)] == ids


def test_a_timeline_carries_on_into_the_next_day() -> None:
    street = build_street(seed=5, residents=3_000)
    timeline = Timeline(street, seed=5, batch_events=50, batch_seconds=60.0)
    days = {e.event_time.date() for b in timeline.take(10_000) for e in b.events}
    assert len(days) >= 2


def test_a_timeline_knows_the_event_time_of_the_last_event_it_handed_out() -> None:
    street = build_street(seed=5, residents=3_000)
    timeline = Timeline(street, seed=5, batch_events=50, batch_seconds=60.0)
    assert timeline.last_time is None
    taken = list(timeline.take(1_234))
    assert timeline.last_time == max(e.event_time for b in taken for e in b.events)
    later = list(timeline.take(10))
    assert timeline.last_time == max(e.event_time for b in (*taken, *later) for e in b.events)
