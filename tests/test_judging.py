"""Per-partition judging: watermark, lateness, the silence tick and held sightings, without a broker."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas import EnrichedEvent
from streams.catalogue import load_catalogue
from streams.engine import Engine, Family
from streams.judging import PartitionJudge
from streams.rules.base import Finding
from streams.rules.state import MemoryState
from streams.watermark import Marks
from tests.factories import NIGHT, enriched_event

CATALOGUE = load_catalogue()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def at(t: datetime | None) -> Marks:
    """The marks of a worker reading the only events partition, at ``t`` (none: it brings no marks)."""
    return {0: (t, True)} if t is not None else {}


def judge_with(ticks: list[tuple[int, datetime]] | None = None, clock: Clock | None = None,
               sources: int = 1) -> PartitionJudge:
    engine = Engine(CATALOGUE, states=lambda rule_id: MemoryState())

    def silences(part: int, now: datetime) -> list[tuple[Finding, EnrichedEvent]]:
        if ticks is not None:
            ticks.append((part, now))
        return []

    return PartitionJudge(engine, silences, sources=sources, idle_after=60.0, clock=clock or Clock())


def fever(i: int, at: datetime) -> tuple[Family, EnrichedEvent]:
    return "person", enriched_event(f"hot-{i}", subject_key=f"key-{i}", event_time=at, temperature_c=38.6)


def test_the_events_of_one_hand_over_are_never_late_against_the_watermark_they_bring() -> None:
    judge = judge_with()
    two_hours = [fever(i, NIGHT + timedelta(minutes=10 * i)) for i in range(13)]  # a backlog's run of events
    judged = judge.judge(0, two_hours, at(NIGHT + timedelta(hours=2)))
    assert not judged.late
    assert sorted(f.rule_id for f, _ in judged.found) == ["fever"] * 13
    assert judge.watermark(0) == NIGHT + timedelta(hours=2)


def test_an_event_older_than_the_watermark_less_the_lateness_is_counted_late_and_not_judged() -> None:
    judge = judge_with()
    judge.advance(0, at(NIGHT + timedelta(hours=1)))
    lateness = CATALOGUE.lateness
    late = fever(1, NIGHT + timedelta(hours=1) - lateness - timedelta(seconds=1))
    in_time = fever(2, NIGHT + timedelta(hours=1) - lateness + timedelta(seconds=1))
    judged = judge.judge(0, [late, in_time], at(None))
    assert judged.late == {"person": 1}
    assert [ev.event_id for _, ev in judged.found] == ["hot-2"]


def test_partitions_keep_their_own_watermark_and_it_never_moves_back() -> None:
    judge = judge_with()
    judge.advance(0, at(NIGHT + timedelta(hours=1)))
    judge.advance(0, at(NIGHT))
    judge.advance(1, at(NIGHT))
    assert judge.watermark(0) == NIGHT + timedelta(hours=1)
    assert judge.watermark(1) == NIGHT
    judged = judge.judge(1, [fever(1, NIGHT)], at(None))  # partition 0's clock does not make it late
    assert not judged.late and len(judged.found) == 1


def test_the_silence_tick_runs_once_per_minute_of_watermark_time_per_partition() -> None:
    ticks: list[tuple[int, datetime]] = []
    judge = judge_with(ticks)
    for second in range(0, 181, 10):  # three minutes of watermark, every ten seconds
        judge.advance(0, at(NIGHT + timedelta(seconds=second)))
    judge.advance(1, at(NIGHT + timedelta(seconds=30)))
    assert ticks == [(0, NIGHT), (0, NIGHT + timedelta(minutes=1)), (0, NIGHT + timedelta(minutes=2)),
                     (0, NIGHT + timedelta(minutes=3)), (1, NIGHT + timedelta(seconds=30))]


def test_a_rule_that_raises_on_one_event_is_reported_by_index_and_the_others_are_judged() -> None:
    judge = judge_with()
    broken = enriched_event("broken", subject_key="key-9", event_time=NIGHT, temperature_c=38.6)
    object.__setattr__(broken, "temperature_c", "hot")  # what no validated event holds: the rule raises
    judged = judge.judge(0, [fever(1, NIGHT), ("person", broken), fever(2, NIGHT)], at(None))
    assert [i for i, _ in judged.failed] == [1]
    assert sorted(ev.event_id for _, ev in judged.found) == ["hot-1", "hot-2"]


def test_a_failing_tick_is_reported_and_the_partition_goes_on() -> None:
    engine = Engine(CATALOGUE, states=lambda rule_id: MemoryState())

    def silences(part: int, now: datetime) -> list[tuple[Finding, EnrichedEvent]]:
        raise RuntimeError("register unavailable")

    judge = PartitionJudge(engine, silences, sources=1)
    judged = judge.judge(0, [fever(1, NIGHT)], at(NIGHT))
    assert [what for what, _ in judged.clock_failures] == ["tick"]
    assert len(judged.found) == 1 and judge.watermark(0) == NIGHT


def test_a_partition_fed_by_two_workers_keeps_the_slower_ones_events_partition_and_judges_its_events_in_time(
        ) -> None:
    # worker a reads events partition 0 far ahead of worker b's partition 1; b's events must not be late
    judge = judge_with(sources=2)
    judge.advance(0, {0: (NIGHT + timedelta(hours=3), True)})
    assert judge.watermark(0) is None  # partition 1 not heard of yet: it may hold anything
    judge.advance(0, {1: (NIGHT, True)})
    assert judge.watermark(0) == NIGHT
    judged = judge.judge(0, [fever(1, NIGHT + timedelta(minutes=1))], {1: (NIGHT + timedelta(minutes=2), True)})
    assert not judged.late and [ev.event_id for _, ev in judged.found] == ["hot-1"]
    assert judge.watermark(0) == NIGHT + timedelta(minutes=2)


def test_a_partition_moving_to_another_worker_keeps_its_place_in_the_watermark() -> None:
    # b read partitions 1 (slow) and 2; partition 1 moves to a, which has not read it yet, b keeps 2
    judge = judge_with(sources=3)
    judge.advance(0, {0: (NIGHT + timedelta(hours=3), True)})
    judge.advance(0, {1: (NIGHT, True), 2: (NIGHT + timedelta(hours=2), True)})
    assert judge.watermark(0) == NIGHT
    judge.advance(0, {2: (NIGHT + timedelta(hours=2, minutes=5), True)})  # b, partition 1 revoked
    judge.advance(0, {0: (NIGHT + timedelta(hours=3), True), 1: (None, True)})  # a, partition 1 not read yet
    assert judge.watermark(0) == NIGHT  # a worker's minimum jumped here; partition 1's place holds
    replayed = fever(1, NIGHT - timedelta(minutes=1))  # a replays partition 1 from its committed offset
    judged = judge.judge(0, [replayed], {0: (NIGHT + timedelta(hours=3), True), 1: (NIGHT, True)})
    assert not judged.late and judge.watermark(0) == NIGHT


def test_an_events_partition_no_worker_reports_stops_holding_the_watermark_after_idle_after() -> None:
    clock = Clock()
    judge = judge_with(clock=clock, sources=2)
    judge.advance(0, {0: (NIGHT, True), 1: (NIGHT - timedelta(hours=1), True)})
    assert judge.watermark(0) == NIGHT - timedelta(hours=1)
    clock.now = 61.0  # partition 1's reader left the group and no one has it yet
    judge.advance(0, {0: (NIGHT + timedelta(hours=1), True)})
    assert judge.watermark(0) == NIGHT + timedelta(hours=1)


def test_an_idle_or_drained_events_partition_does_not_hold_the_watermark() -> None:
    judge = judge_with(sources=2)
    judge.advance(0, {0: (NIGHT, True), 1: (None, False)})  # partition 1: nothing to read
    assert judge.watermark(0) == NIGHT
