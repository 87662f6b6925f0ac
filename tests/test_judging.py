"""Per-partition judging: watermark, lateness, the silence tick and held sightings, without a broker."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas import EnrichedEvent
from streams.catalogue import load_catalogue
from streams.engine import Engine, Family
from streams.judging import PartitionJudge
from streams.rules.base import Finding
from streams.rules.state import MemoryState
from tests.factories import NIGHT, enriched_event

CATALOGUE = load_catalogue()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def judge_with(ticks: list[tuple[int, datetime]] | None = None, clock: Clock | None = None) -> PartitionJudge:
    engine = Engine(CATALOGUE, states=lambda rule_id: MemoryState())

    def silences(part: int, now: datetime) -> list[tuple[Finding, EnrichedEvent]]:
        if ticks is not None:
            ticks.append((part, now))
        return []

    return PartitionJudge(engine, silences, idle_after=60.0, clock=clock or Clock())


def fever(i: int, at: datetime) -> tuple[Family, EnrichedEvent]:
    return "person", enriched_event(f"hot-{i}", subject_key=f"key-{i}", event_time=at, temperature_c=38.6)


def test_the_events_of_one_hand_over_are_never_late_against_the_watermark_they_bring() -> None:
    judge = judge_with()
    two_hours = [fever(i, NIGHT + timedelta(minutes=10 * i)) for i in range(13)]  # a backlog's run of events
    judged = judge.judge(0, two_hours, watermark=NIGHT + timedelta(hours=2))
    assert not judged.late
    assert sorted(f.rule_id for f, _ in judged.found) == ["fever"] * 13
    assert judge.watermark(0) == NIGHT + timedelta(hours=2)


def test_an_event_older_than_the_watermark_less_the_lateness_is_counted_late_and_not_judged() -> None:
    judge = judge_with()
    judge.advance(0, NIGHT + timedelta(hours=1))
    lateness = CATALOGUE.lateness
    late = fever(1, NIGHT + timedelta(hours=1) - lateness - timedelta(seconds=1))
    in_time = fever(2, NIGHT + timedelta(hours=1) - lateness + timedelta(seconds=1))
    judged = judge.judge(0, [late, in_time], watermark=None)
    assert judged.late == {"person": 1}
    assert [ev.event_id for _, ev in judged.found] == ["hot-2"]


def test_partitions_keep_their_own_watermark_and_it_never_moves_back() -> None:
    judge = judge_with()
    judge.advance(0, NIGHT + timedelta(hours=1))
    judge.advance(0, NIGHT)
    judge.advance(1, NIGHT)
    assert judge.watermark(0) == NIGHT + timedelta(hours=1)
    assert judge.watermark(1) == NIGHT
    judged = judge.judge(1, [fever(1, NIGHT)], watermark=None)  # partition 0's clock does not make it late
    assert not judged.late and len(judged.found) == 1


def test_the_silence_tick_runs_once_per_minute_of_watermark_time_per_partition() -> None:
    ticks: list[tuple[int, datetime]] = []
    judge = judge_with(ticks)
    for second in range(0, 181, 10):  # three minutes of watermark, every ten seconds
        judge.advance(0, NIGHT + timedelta(seconds=second))
    judge.advance(1, NIGHT + timedelta(seconds=30))
    assert ticks == [(0, NIGHT), (0, NIGHT + timedelta(minutes=1)), (0, NIGHT + timedelta(minutes=2)),
                     (0, NIGHT + timedelta(minutes=3)), (1, NIGHT + timedelta(seconds=30))]


def test_a_rule_that_raises_on_one_event_is_reported_by_index_and_the_others_are_judged() -> None:
    judge = judge_with()
    broken = enriched_event("broken", subject_key="key-9", event_time=NIGHT, temperature_c=38.6)
    object.__setattr__(broken, "temperature_c", "hot")  # what no validated event holds: the rule raises
    judged = judge.judge(0, [fever(1, NIGHT), ("person", broken), fever(2, NIGHT)], watermark=None)
    assert [i for i, _ in judged.failed] == [1]
    assert sorted(ev.event_id for _, ev in judged.found) == ["hot-1", "hot-2"]


def test_a_failing_tick_is_reported_and_the_partition_goes_on() -> None:
    engine = Engine(CATALOGUE, states=lambda rule_id: MemoryState())

    def silences(part: int, now: datetime) -> list[tuple[Finding, EnrichedEvent]]:
        raise RuntimeError("register unavailable")

    judge = PartitionJudge(engine, silences)
    judged = judge.judge(0, [fever(1, NIGHT)], watermark=NIGHT)
    assert [what for what, _ in judged.clock_failures] == ["tick"]
    assert len(judged.found) == 1 and judge.watermark(0) == NIGHT


def test_a_partition_fed_by_two_workers_keeps_the_slower_ones_watermark_and_judges_its_events_in_time() -> None:
    # worker a reads events partitions far ahead of worker b's; b's events must not be late at a's clock
    judge = judge_with()
    judge.advance(0, None, origin="b")  # b has spoken: its watermark unknown yet
    judge.advance(0, NIGHT + timedelta(hours=3), origin="a")
    assert judge.watermark(0) is None
    judge.advance(0, NIGHT, origin="b")
    judge.advance(0, NIGHT + timedelta(hours=3, minutes=1), origin="a")
    assert judge.watermark(0) == NIGHT
    judged = judge.judge(0, [fever(1, NIGHT + timedelta(minutes=1))], NIGHT + timedelta(minutes=2), origin="b")
    assert not judged.late and [ev.event_id for _, ev in judged.found] == ["hot-1"]
    assert judge.watermark(0) == NIGHT + timedelta(minutes=2)


def test_a_worker_unsure_of_its_own_watermark_holds_the_partitions_it_feeds_and_one_gone_quiet_stops() -> None:
    clock = Clock()
    judge = judge_with(clock=clock)
    judge.advance(0, NIGHT, origin="a")
    judge.advance(0, None, origin="b")  # b just started: some of its partitions unread
    judge.advance(0, NIGHT + timedelta(hours=1), origin="a")
    assert judge.watermark(0) == NIGHT  # held where it was while b does not know
    clock.now = 61.0  # b left the group: nothing from it for idle_after
    judge.advance(0, NIGHT + timedelta(hours=1), origin="a")
    assert judge.watermark(0) == NIGHT + timedelta(hours=1)
