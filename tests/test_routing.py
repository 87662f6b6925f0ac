"""How the events agent routes events to the partitions of stateful rules' keys."""

from __future__ import annotations

import time
from datetime import timedelta

from streams.agents.events import MAX_ITEMS, SourceWatermark, _Take
from streams.agents.tables import partition_of
from tests.factories import NIGHT, enriched_event

PARTITIONS = 4


def test_a_large_take_is_split_into_records_of_bounded_size_keeping_order() -> None:
    take = _Take()
    n = MAX_ITEMS * 2 + 7
    for i in range(n):
        take.route("person", "one-person", enriched_event(f"e{i}", event_time=NIGHT + timedelta(seconds=i)),
                   PARTITIONS)
    records = take.batches(PARTITIONS)
    assert [len(batch.items) for _, batch in records] == [MAX_ITEMS, MAX_ITEMS, 7]
    assert {part for part, _ in records} == {partition_of("one-person", PARTITIONS)}
    ids = [item.event.event_id for _, batch in records for item in batch.items]
    assert ids == [f"e{i}" for i in range(n)]
    assert max(len(batch.model_dump_json()) for _, batch in records) < 900_000  # under Kafka's 1 MB default


def test_each_key_goes_to_the_partition_of_its_hash() -> None:
    take = _Take()
    for key in ("a", "b", "c", "d", "e"):
        take.route("person", key, enriched_event(f"ev-{key}", subject_key=key), PARTITIONS)
    for part, batch in take.batches(PARTITIONS):
        assert {partition_of(item.key, PARTITIONS) for item in batch.items} == {part}


def test_only_the_latest_event_of_each_checkpoint_is_routed_for_silence() -> None:
    take = _Take()
    take.route("checkpoint", "cp-1", enriched_event("old", event_time=NIGHT), PARTITIONS)
    take.route("checkpoint", "cp-1", enriched_event("new", event_time=NIGHT + timedelta(minutes=1)), PARTITIONS)
    take.route("checkpoint", "cp-1", enriched_event("late", event_time=NIGHT - timedelta(minutes=1)), PARTITIONS)
    [(_, batch)] = take.batches(PARTITIONS)
    assert [item.event.event_id for item in batch.items] == ["new"]


def test_routed_events_go_in_event_time_order_whatever_partition_they_came_from() -> None:
    take = _Take()
    # a take holds runs of several source partitions: minutes 0-29 of one, then minutes 0-29 of another
    for run in ("a", "b"):
        for minute in range(0, 30, 10):
            take.route("dwelling", "flat-1", enriched_event(f"{run}{minute}", event_time=NIGHT + timedelta(
                minutes=minute)), PARTITIONS)
    [(_, batch)] = take.batches(PARTITIONS)
    times = [item.event.event_time for item in batch.items]
    assert times == sorted(times)
    assert [item.event.event_id for item in batch.items] == ["a0", "b0", "a10", "b10", "a20", "b20"]


def test_the_low_watermark_is_the_slowest_active_partition_and_an_idle_one_stops_holding_it() -> None:
    clock = SourceWatermark(idle_after=0.05)
    assert clock.low() is None
    clock.see(0, NIGHT + timedelta(minutes=30))
    clock.see(1, NIGHT)
    clock.see(0, NIGHT + timedelta(minutes=10))  # a late event never moves a partition back
    assert clock.low() == NIGHT
    time.sleep(0.06)
    clock.see(0, NIGHT + timedelta(minutes=31))  # partition 1 has gone quiet
    assert clock.low() == NIGHT + timedelta(minutes=31)
