"""The off-heap table store keeps what Faust's in-memory store keeps: what was written, under the partition written
to, nothing from a previous run, and nothing of a partition this worker no longer owns once a recovery completes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faust.types import TP

from streams.agents.tablestore import OffHeapStore

CHANGELOG = "app-rule-state-changelog"


class _Topic:
    def get_topic_name(self) -> str:
        return CHANGELOG


class _Table:
    """What the store asks of its Faust table: its name, changelog and the partition a write goes to."""

    name = "rule-state"
    changelog_topic = _Topic()
    pinned = 0

    def partition_for_key(self, key: bytes) -> int:
        return self.pinned


@dataclass
class _Message:
    key: bytes
    value: bytes | None
    partition: int


@dataclass
class _Event:
    message: _Message


def _batch(*messages: _Message) -> list[Any]:
    """A recovery's batch: the changelog events Faust hands a store (only their messages are read)."""
    return [_Event(m) for m in messages]


def _store(path: Path, table: Any | None = None) -> OffHeapStore:
    return OffHeapStore("gridwatch-offheap://", None, table or _Table(), table_name="rule-state", path=path)


def test_values_read_back_as_written_without_the_partition_they_are_filed_under(tmp_path: Path) -> None:
    table = _Table()
    store = _store(tmp_path / "t", table)
    table.pinned = 3
    store[b"person|a"] = b'{"fever|a":"{}"}'
    table.pinned = 300  # beyond one byte: two bytes carry it
    store[b"dwelling|d"] = b"x"
    assert store.get(b"person|a") == b'{"fever|a":"{}"}' and store[b"dwelling|d"] == b"x"
    assert store.get(b"missing") is None and b"missing" not in store and b"person|a" in store
    assert sorted(store.items()) == [(b"dwelling|d", b"x"), (b"person|a", b'{"fever|a":"{}"}')]
    assert sorted(store.keys()) == [b"dwelling|d", b"person|a"] and len(store) == 2
    del store[b"person|a"]
    assert list(store.values()) == [b"x"]


def test_a_new_store_starts_empty_whatever_the_previous_run_left(tmp_path: Path) -> None:
    first = _store(tmp_path / "t")
    first[b"person|a"] = b"old"
    first._db.close()
    assert list(_store(tmp_path / "t").items()) == []
    assert first.persisted_offset(TP(CHANGELOG, 0)) is None  # so recovery replays the whole changelog


def test_a_recovery_batch_writes_and_deletes_and_a_revoked_partition_is_dropped_when_recovery_completes(
        tmp_path: Path) -> None:
    store = _store(tmp_path / "t")
    store.apply_changelog_batch(_batch(
        _Message(b"a", b"1", 0), _Message(b"b", b"2", 1), _Message(b"c", b"3", 2), _Message(b"b", None, 1),
        _Message(b"d", b"4", 1),
    ), to_key=bytes, to_value=bytes)
    assert sorted(store.items()) == [(b"a", b"1"), (b"c", b"3"), (b"d", b"4")]
    active = {TP(CHANGELOG, 0), TP(CHANGELOG, 1), TP("app-events", 2)}  # partition 2 of another topic only
    asyncio.run(store.on_recovery_completed(active_tps=active, standby_tps=set()))
    assert sorted(store.items()) == [(b"a", b"1"), (b"d", b"4")]


def test_a_drop_larger_than_one_batch_leaves_nothing_of_the_partition(tmp_path: Path) -> None:
    store = _store(tmp_path / "t")
    store.apply_changelog_batch(_batch(*(_Message(f"k{i}".encode(), b"v", i % 2) for i in range(25_000))),
                                to_key=bytes, to_value=bytes)
    asyncio.run(store.on_recovery_completed(active_tps={TP(CHANGELOG, 1)}, standby_tps=set()))
    assert len(store) == 12_500 and all(int(key[1:]) % 2 == 1 for key in store)
    store.clear()
    assert len(store) == 0


def test_a_stopped_store_iterates_as_empty_so_a_timer_running_during_shutdown_does_not_crash_the_worker(
        tmp_path: Path) -> None:
    store = _store(tmp_path / "t")
    store[b"alert|a"] = b"x"
    asyncio.run(store.on_stop())
    assert list(store.items()) == [] and list(store.keys()) == []
