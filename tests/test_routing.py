"""How the events agent routes events to the partitions of stateful rules' keys."""

from __future__ import annotations

from datetime import timedelta

from schemas import EnrichedBatch
from schemas.internal import RuleInputBatch
from streams.agents.events import MAX_ITEMS, _Take, enriched_batch_json
from streams.agents.tables import partition_of
from streams.watermark import Marks
from tests.factories import NIGHT, enriched_event

PARTITIONS = 4


def batches(take: _Take, marks: Marks | None = None) -> list[tuple[int, bytes]]:
    """The take's rule-input records, as the events agent sends those of partitions it does not own."""
    return [(part, raw) for part, entries in take.by_partition(PARTITIONS).items()
            for raw in take.records(entries, marks or {})]


def decoded(take: _Take, marks: Marks | None = None) -> list[tuple[int, RuleInputBatch]]:
    """The take's rule-input records as the judge reads them."""
    return [(part, RuleInputBatch.model_validate_json(raw)) for part, raw in batches(take, marks)]


def test_a_large_take_is_split_into_records_of_bounded_size_keeping_order() -> None:
    take = _Take()
    n = MAX_ITEMS * 2 + 7
    for i in range(n):
        take.route("person", "one-person", enriched_event(f"e{i}", event_time=NIGHT + timedelta(seconds=i)),
                   PARTITIONS)
    records = decoded(take)
    assert [len(batch.items) for _, batch in records] == [MAX_ITEMS, MAX_ITEMS, 7]
    assert {part for part, _ in records} == {partition_of("one-person", PARTITIONS)}
    ids = [item.event.event_id for _, batch in records for item in batch.items]
    assert ids == [f"e{i}" for i in range(n)]
    assert max(len(raw) for _, raw in batches(take)) < 900_000  # under Kafka's 1 MB default


def test_a_split_take_carries_its_marks_on_its_last_record_only() -> None:
    # the judge moves a partition's watermark after each record: the take's on the first record would make the
    # rest of a backlog's take late (1,406 of 2,405 events skipped in outside testing)
    take = _Take()
    for i in range(MAX_ITEMS + 1):
        take.route("person", "one-person", enriched_event(f"e{i}", event_time=NIGHT + timedelta(minutes=i)),
                   PARTITIONS)
    marks: Marks = {0: (NIGHT + timedelta(minutes=MAX_ITEMS), True), 3: (None, False)}
    records = decoded(take, marks)
    assert [batch.sources for _, batch in records] == [{}, marks]


def test_each_key_goes_to_the_partition_of_its_hash() -> None:
    take = _Take()
    for key in ("a", "b", "c", "d", "e"):
        take.route("person", key, enriched_event(f"ev-{key}", subject_key=key), PARTITIONS)
    for part, batch in decoded(take):
        assert {partition_of(item.key, PARTITIONS) for item in batch.items} == {part}


def test_only_the_latest_event_of_each_checkpoint_is_routed_for_silence() -> None:
    take = _Take()
    take.route("checkpoint", "cp-1", enriched_event("old", event_time=NIGHT), PARTITIONS)
    take.route("checkpoint", "cp-1", enriched_event("new", event_time=NIGHT + timedelta(minutes=1)), PARTITIONS)
    take.route("checkpoint", "cp-1", enriched_event("late", event_time=NIGHT - timedelta(minutes=1)), PARTITIONS)
    [(_, batch)] = decoded(take)
    assert [item.event.event_id for item in batch.items] == ["new"]


def test_routed_events_go_in_event_time_order_whatever_partition_they_came_from() -> None:
    take = _Take()
    # a take holds runs of several source partitions: minutes 0-29 of one, then minutes 0-29 of another
    for run in ("a", "b"):
        for minute in range(0, 30, 10):
            take.route("dwelling", "flat-1", enriched_event(f"{run}{minute}", event_time=NIGHT + timedelta(
                minutes=minute)), PARTITIONS)
    [(_, batch)] = decoded(take)
    times = [item.event.event_time for item in batch.items]
    assert times == sorted(times)
    assert [item.event.event_id for item in batch.items] == ["a0", "b0", "a10", "b10", "a20", "b20"]


def test_records_assembled_from_each_events_json_read_back_as_the_models_would_write_them() -> None:
    events = [enriched_event(f"e{i}", event_time=NIGHT + timedelta(seconds=i)) for i in range(3)]
    raws = [e.model_dump_json() for e in events]
    built = enriched_batch_json("batch-1", "term-7", raws)
    assert EnrichedBatch.model_validate_json(built) == EnrichedBatch(batch_id="batch-1", source="term-7",
                                                                     events=tuple(events))
    take = _Take()
    take.uploaded_at = 1580000000.5
    for e, raw in zip(events, raws, strict=True):
        take.route("person", "k", e, PARTITIONS, raw)
    [(_, raw)] = batches(take, {1: (NIGHT, True)})
    batch = RuleInputBatch.model_validate_json(raw)
    assert (batch.uploaded_at, batch.sources) == (1580000000.5, {1: (NIGHT, True)})
    assert [(i.family, i.key, i.event) for i in batch.items] == [("person", "k", e) for e in events]
