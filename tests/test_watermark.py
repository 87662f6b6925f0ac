"""The events topic's low watermark (``streams.watermark``), with the clock injected."""

from __future__ import annotations

from datetime import timedelta

from streams.watermark import SourceWatermark
from tests.factories import NIGHT


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_low_watermark_is_the_slowest_partition_and_a_late_event_never_moves_one_back() -> None:
    mark = SourceWatermark(idle_after=60, clock=Clock())
    assert mark.low() is None
    mark.see(0, NIGHT + timedelta(minutes=30))
    mark.see(1, NIGHT)
    mark.see(0, NIGHT + timedelta(minutes=10))
    assert mark.low() == NIGHT


def test_a_partition_quiet_for_idle_after_stops_holding_the_watermark_back() -> None:
    clock = Clock()
    mark = SourceWatermark(idle_after=60, clock=clock)
    mark.see(0, NIGHT)
    mark.see(1, NIGHT + timedelta(minutes=5))
    clock.now = 61
    mark.see(1, NIGHT + timedelta(minutes=31))
    assert mark.low() == NIGHT + timedelta(minutes=31)


def test_an_assigned_partition_not_yet_read_holds_the_watermark_back_until_its_first_upload() -> None:
    # a restarted worker whose first take drained one partition's backlog: the others may hold anything
    clock = Clock()
    mark = SourceWatermark(idle_after=60, clock=clock)
    mark.assign({0, 1, 2})
    mark.see(0, NIGHT + timedelta(hours=3))
    assert mark.low() is None
    mark.see(1, NIGHT + timedelta(hours=1))
    assert mark.low() is None
    mark.see(2, NIGHT)
    assert mark.low() == NIGHT


def test_an_unread_partition_with_nothing_to_read_or_quiet_for_idle_after_does_not_hold_it_back() -> None:
    clock = Clock()
    mark = SourceWatermark(idle_after=60, clock=clock)
    mark.assign({0, 1})
    mark.see(0, NIGHT)
    assert mark.low(drained=lambda partition: partition == 1) == NIGHT
    assert mark.low() is None
    clock.now = 61
    mark.see(0, NIGHT + timedelta(minutes=1))
    assert mark.low() == NIGHT + timedelta(minutes=1)


def test_a_revoked_partition_is_forgotten_and_a_reassigned_one_waits_to_be_read_again() -> None:
    mark = SourceWatermark(idle_after=60, clock=Clock())
    mark.assign({0, 1})
    mark.see(0, NIGHT + timedelta(hours=2))
    mark.see(1, NIGHT)
    mark.assign({0})
    assert mark.low() == NIGHT + timedelta(hours=2)
    mark.assign({0, 1})
    assert mark.low() is None
