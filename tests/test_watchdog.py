"""The stall watchdog's judgement, with time passed in: what is a stall, what is not, and when it ends."""

from __future__ import annotations

from kafka import TopicPartition

from streams.watchdog import StallWatch, watched


def test_records_waiting_behind_an_unmoving_offset_are_a_stall_once_it_lasts_stall_after() -> None:
    watch = StallWatch(stall_after=60)
    assert watch.observe(0, {"events-0": (100, 250)}) == ([], [])
    assert watch.observe(59, {"events-0": (100, 250)}) == ([], [])
    assert watch.observe(60, {"events-0": (100, 250)}) == (["events-0"], [])
    assert watch.observe(90, {"events-0": (100, 300)}) == ([], [])  # reported once, not every look
    assert watch.stalled() == ["events-0"]


def test_a_partition_that_never_committed_with_records_waiting_stalls_too() -> None:
    """What the busy-machine stall looked like: "has not committed TP at all since worker start"."""
    watch = StallWatch(stall_after=10)
    watch.observe(0, {"events-1": (None, 40)})
    assert watch.observe(10, {"events-1": (None, 40)}) == (["events-1"], [])


def test_an_idle_partition_or_one_that_moves_is_never_a_stall() -> None:
    watch = StallWatch(stall_after=10)
    for t in range(0, 100, 5):
        stalled, _ = watch.observe(t, {"idle": (500, 500), "busy": (t * 10, t * 10 + 300), "empty": (None, 0),
                                       "unknown": (3, None)})
        assert stalled == []


def test_a_stall_ends_when_the_offset_moves_the_lag_clears_or_the_partition_is_revoked() -> None:
    watch = StallWatch(stall_after=10)
    parts = {"a": (1, 9), "b": (1, 9), "c": (1, 9)}
    watch.observe(0, parts)
    assert sorted(watch.observe(10, parts)[0]) == ["a", "b", "c"]
    stalled, recovered = watch.observe(15, {"a": (2, 9), "b": (9, 9)})
    assert stalled == [] and sorted(recovered) == ["a", "b", "c"]
    assert watch.stalled() == []
    # and it can stall again, measured from when it last moved
    watch.observe(20, {"a": (2, 9)})
    assert watch.observe(24, {"a": (2, 9)}) == ([], [])
    assert watch.observe(25, {"a": (2, 9)}) == (["a"], [])


def test_table_changelogs_are_not_watched_since_the_group_never_commits_them() -> None:
    events, rule_input = TopicPartition("p.events", 0), TopicPartition("p.app.rule-input", 1)
    changelogs = [TopicPartition("app-rule-state-changelog", 0), TopicPartition("app-alert-book-changelog", 3)]
    assigned = [events, *changelogs, rule_input]
    assert watched(assigned, {"app-rule-state-changelog", "app-alert-book-changelog"}) == [events, rule_input]
    watch = StallWatch(stall_after=60)
    offsets = {tp: (None, 500) for tp in watched(assigned, {tp.topic for tp in changelogs})} | {events: (10, 10)}
    watch.observe(0.0, offsets)
    watch.observe(61.0, offsets)
    assert watch.stalled() == [rule_input]  # a real stall still shows; the changelogs' 500 records do not
