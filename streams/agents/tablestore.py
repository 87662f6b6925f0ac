"""The rule-state and alert-book tables kept off the heap: a RocksDB store with the in-memory store's semantics.

Faust's default ``memory://`` store keeps every table value as a Python
``bytes`` in a dict. At 1,000,000 residents the rule-state table holds
712,409 bundles, 307.6 MB of keys and values (``bench-engine --state
table``), and with Python's per-object overhead it was most of the worker's
1.2 GB peak RSS. Faust's own ``rocksdb://`` store keeps them on disk, but it
is not a drop-in here:

- it files a write under the partition of the record being processed, while
  ``PinnedTable`` writes name their changelog partition (the events agent
  judges partitions other than the record's);
- it keeps local state across restarts and trusts it from its last
  *persisted* offset, which it learns from Faust's changelog callbacks that
  ``PinnedTable`` bypasses; and a killed worker's local state may hold
  writes its changelog never got.

So this store keeps exactly what the memory store keeps, only in RocksDB: it
starts empty (the directory is wiped at open), reports no persisted offset
(so recovery replays the whole changelog, as for the memory store), and when
a recovery completes drops what belongs to partitions no longer active. Each
value is stored behind the partition it was written to (two bytes), which is
what that drop needs; the bytes the table hands out are the value alone. No
WAL: a crash loses nothing the changelog does not hold.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, cast

from faust.stores import base
from faust.types import TP, EventT
from rocksdict import Rdict, WriteBatch, WriteOptions

from streams import rocks

_PARTITION_BYTES = 2
BLOCK_CACHE_BYTES = 32 * 1024 * 1024
"""Per table: recently read blocks of its files, beyond the memtables (``streams.rocks``)."""
DROP_BATCH = 10_000
"""Keys examined per batch when a recovery drops a revoked partition's values."""


class OffHeapStore(base.Store[bytes, bytes]):
    """A table's values in a RocksDB under the worker's data directory; empty at every start (see the module)."""

    def __init__(self, url: Any, app: Any, table: Any, *, path: Path, **kwargs: Any) -> None:
        super().__init__(url, app, table, **kwargs)
        self.path = path
        shutil.rmtree(path, ignore_errors=True)  # what a previous run left is never trusted: recovery rebuilds it
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = Rdict(str(path), options=rocks.options(block_cache_bytes=BLOCK_CACHE_BYTES))
        writes = WriteOptions()
        writes.disable_wal = True  # type: ignore[method-assign,assignment]  # a property (the stubs say a method)
        self._db.set_write_options(writes)
        self._closed = False
        self._held: set[int] = set()
        """Partitions this store has written a value for since it last dropped any."""

    # -- the mapping Faust's table reads and writes (keys and values are bytes: the tables' "raw" serializers)

    def _tag(self, partition: int) -> bytes:
        self._held.add(partition)
        return partition.to_bytes(_PARTITION_BYTES, "big")

    def get(self, key: bytes, default: Any = None) -> Any:
        """One point read (the table's own ``get`` asks ``in`` first, then reads again)."""
        raw: bytes | None = self._db.get(key)
        return default if raw is None else raw[_PARTITION_BYTES:]

    def __getitem__(self, key: bytes) -> bytes:
        raw: bytes | None = self._db.get(key)
        if raw is None:
            raise KeyError(key)
        return raw[_PARTITION_BYTES:]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        partition = self.table.partition_for_key(key)  # PinnedTable: the pinned partition, else the record's
        if partition is None:  # a table that lets the producer choose: not one of ours
            raise TypeError(f"{self.table_name}: a write with no partition cannot be kept off the heap")
        self._db.put(key, self._tag(partition) + value)

    def __delitem__(self, key: bytes) -> None:
        self._db.delete(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, bytes) and self._db.get(key) is not None

    def _items(self) -> Iterator[tuple[bytes, bytes]]:
        """Keys and tagged values (raw mode: both bytes); none once the store is stopped: a timer still running
        while the worker stops (the alert book's release of held repeats) finds nothing to do, instead of
        crashing the worker on a closed database."""
        if self._closed:
            return iter(())
        return cast(Iterator[tuple[bytes, bytes]], iter(self._db.items()))

    def __iter__(self) -> Iterator[bytes]:
        return (key for key, _ in self._items())

    def __len__(self) -> int:
        return sum(1 for _ in self._items())

    def keys(self) -> Iterator[bytes]:  # type: ignore[override]  # an iterator, as Faust's own stores give
        return iter(self)

    def items(self) -> Iterator[tuple[bytes, bytes]]:  # type: ignore[override]
        return ((key, raw[_PARTITION_BYTES:]) for key, raw in self._items())

    def values(self) -> Iterator[bytes]:  # type: ignore[override]
        return (raw[_PARTITION_BYTES:] for _, raw in self._items())

    def clear(self) -> None:
        self._drop(lambda partition: True)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def copy(self) -> dict[bytes, bytes]:
        return dict(self.items())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path}>"

    # -- what Faust's table manager asks of a store

    def apply_changelog_batch(self, batch: Iterable[EventT[Any]], to_key: Callable[[Any], Any],
                              to_value: Callable[[Any], Any]) -> None:
        """A recovery's batch of changelog records, written at once (a tombstone deletes)."""
        writes = WriteBatch(raw_mode=True)
        for event in batch:
            message = event.message
            key = cast(bytes, message.key)  # the changelog's keys are the table's: bytes, never None
            if message.value is None:
                writes.delete(key)
            else:
                writes.put(key, self._tag(message.partition) + message.value)
        self._db.write(writes)

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        """Drop the values of partitions this worker no longer owns, as the memory store does."""
        topic = self.table.changelog_topic.get_topic_name()
        active = {tp.partition for tp in active_tps if tp.topic == topic}
        if self._held - active:
            self._drop(lambda partition: partition not in active)
            self._held &= active

    def persisted_offset(self, tp: TP) -> int | None:
        """None: nothing here outlives the process, so recovery always replays the changelog (see the module)."""
        return None

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        """Nothing to remember (see ``persisted_offset``)."""

    def reset_state(self) -> None:
        self.clear()

    async def backup_partition(self, tp: TP | int, flush: bool = True, purge: bool = False, keep: int = 1) -> None:
        """Nothing to back up: the changelog is the copy."""

    def restore_backup(self, tp: TP | int, latest: bool = True, backup_id: int = 0) -> None:
        """Nothing to restore (see ``backup_partition``)."""

    async def on_stop(self) -> None:
        self._closed = True
        self._db.close()

    # --

    def _drop(self, doomed: Callable[[int], bool]) -> None:
        writes, pending = WriteBatch(raw_mode=True), 0
        for key, raw in self._items():
            if doomed(int.from_bytes(raw[:_PARTITION_BYTES], "big")):
                writes.delete(key)
                pending += 1
                if pending >= DROP_BATCH:
                    self._db.write(writes)
                    writes, pending = WriteBatch(raw_mode=True), 0
        if pending:
            self._db.write(writes)
