"""Garbage-collector pauses: survivors of a full collection frozen, handed back to the collector now and then."""

from __future__ import annotations

import asyncio
import gc

from streams.gcpause import PauseClock, freeze, install, run, settle


def test_a_full_collection_makes_a_freeze_due_once() -> None:
    clock = PauseClock(unfreeze_every_s=3600, last_unfreeze=0.0)
    assert clock.due(10.0) is None
    clock.collected(0)
    clock.collected(1)
    assert clock.due(11.0) is None  # young collections walk little: nothing to freeze for
    clock.collected(2)
    assert clock.due(12.0) == "freeze"
    assert clock.due(13.0) is None


def test_the_frozen_objects_go_back_to_the_collector_every_interval() -> None:
    clock = PauseClock(unfreeze_every_s=60, last_unfreeze=0.0)
    clock.collected(2)
    assert clock.due(59.0) == "freeze"
    clock.collected(2)
    assert clock.due(60.0) == "unfreeze"  # and the freeze it would have made waits for the next full collection
    assert clock.due(61.0) is None
    assert clock.due(119.0) is None
    assert clock.due(120.0) == "unfreeze"


def test_pauses_are_noted_for_the_loop_to_report() -> None:
    clock = PauseClock(unfreeze_every_s=0)
    clock.collected(0, 0.001)
    clock.collected(2, 0.25)
    assert list(clock.pauses) == [(0, 0.001), (2, 0.25)]


def test_no_unfreeze_when_the_interval_is_zero() -> None:
    clock = PauseClock(unfreeze_every_s=0, last_unfreeze=0.0)
    assert clock.due(10**9) is None


def test_settling_freezes_what_is_alive_and_the_loop_freezes_after_a_full_collection() -> None:
    try:
        settle()
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        kept = [[i] for i in range(10_000)]  # survivors of the next full collection
        clock = PauseClock(unfreeze_every_s=3600, last_unfreeze=0.0)
        gc.collect()
        clock.collected(2)

        async def one_round() -> None:
            task = asyncio.ensure_future(run(clock, monotonic=lambda: 1.0))
            while clock.full_since_freeze:
                await asyncio.sleep(0.05)
            task.cancel()

        asyncio.run(asyncio.wait_for(one_round(), timeout=30))
        assert gc.get_freeze_count() >= len(kept)
        assert not clock.pauses  # reported to gridwatch_gc_pause_seconds by the loop
    finally:
        gc.unfreeze()


def test_a_freeze_counts_what_it_adds_without_walking_the_frozen_set() -> None:
    try:
        gc.collect()
        before = settle()  # counting lists the generations in new lists, which count themselves: a few off at most
        assert abs(before - gc.get_freeze_count()) <= 3 and before > 0
        kept = [[i] for i in range(10_000)]  # new objects, tracked by the collector and not frozen yet
        added = freeze()
        assert len(kept) <= added and abs(before + added - gc.get_freeze_count()) <= 6
    finally:
        gc.unfreeze()


def test_installing_sets_the_generation_thresholds_it_is_given_and_keeps_them_otherwise() -> None:
    before, callbacks = gc.get_threshold(), list(gc.callbacks)
    try:
        install(unfreeze_every_s=0, thresholds=(12_345, 6, 7))
        assert gc.get_threshold() == (12_345, 6, 7)
        gc.set_threshold(701, 11, 12)
        install(unfreeze_every_s=0)
        assert gc.get_threshold() == (701, 11, 12)
    finally:
        gc.set_threshold(*before)
        gc.callbacks[:] = callbacks
        gc.unfreeze()
