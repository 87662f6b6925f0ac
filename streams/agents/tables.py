"""Rule and alert state in Faust tables: the ``State`` protocol over a changelogged table.

Every table write is a changelog record, and the judge would otherwise write
two or three per person event (fever, anti-passback and travel each keep the
person's last event). So state goes through a ``RecordView``: values are kept
in *bundles* (all a person's rule states under one table key), read once per
record, changed in memory, and written back once per bundle when the record
is done, and only if something changed. A write lands on the changelog
partition the key belongs to: by default the partition of the record being
processed (Faust's rule, which is why events are routed to the partition of
their state's key), or the one ``flush(partition=...)`` names when the events
agent judges a partition this worker owns without routing its events through
``rule-input`` (a ``PinnedTable``).

Every record used to parse its bundles' JSON and validate each state again,
though nearly every value read is one this worker wrote a moment before: so
bundles and states are remembered by content (``streams.memo.ByContent``),
what is written as well as what is read.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

import faust
from faust.tables.table import Table
from pydantic import BaseModel

from schemas import Alert
from streams.agents.tablestore import OffHeapStore
from streams.alertbook import Published
from streams.memo import ByContent
from streams.rules import RULES
from streams.rules.definition import person_bundle

V = TypeVar("V", bound=BaseModel)
STATE_MODELS: dict[str, type[BaseModel]] = {
    **{name: slot.model for d in RULES for name, slot in d.states.items()},
    "alert": Alert,
    "published": Published,
}
"""What each stateful rule (its ``DEFINITION.states``) and the alert book ("alert") keep, so JSON can be read back."""

BUNDLES: dict[str, Callable[[str], str]] = {
    **{name: d.bundle(name) for d in RULES for name in d.states},
    "alert": lambda key: "alert|" + key,
    "published": lambda key: "alert|" + key,  # beside its alert: one table write for both
}
"""Which table key (bundle) a state key is stored under."""


def adopt(view: RecordView, person_key: str, links: tuple[str, ...]) -> bool:
    """Move a person's rule states of before a rotation (under the first of ``links`` that has any) to their
    new key, unless the new key has state already; whether anything moved. Both keys are on one partition
    (``PersonKeys.route``), the one being judged."""
    target = person_bundle(person_key)
    if view.exists(target):
        return False
    for old in links:
        source = person_bundle(old)
        if view.exists(source):
            view.rename(source, target, old, person_key)
            return True
    return False


def partition_of(key: str, partitions: int) -> int:
    """The partition a state key lives on: stable across processes and restarts (unlike ``hash``)."""
    return zlib.crc32(key.encode()) % partitions


class PinnedTable(Table[bytes, bytes]):
    """A Faust table whose writes can name their changelog partition instead of taking the current record's,
    and whose changelog records go straight to the producer's changelog FIFO (``streams.consumer``), not
    through Faust's producer buffer. Keys and values are bytes, as Faust's "raw" serializers write them."""

    pinned: int | None = None
    store_path: Path | None = None
    """Where the table keeps its values off the heap (``OffHeapStore``); None: Faust's in-memory store."""

    def _new_store(self) -> Any:
        if self.store_path is None:
            return super()._new_store()
        return OffHeapStore("gridwatch-offheap://", self.app, self, table_name=self.name, loop=self.loop,
                            path=self.store_path / self.name)

    def get(self, key: bytes, default: Any = None) -> Any:
        """The store's own ``get``: one read (a table's ``get`` asks the store ``in`` first, then reads again)."""
        return self.data.get(key, default)

    def partition_for_key(self, key: Any) -> int | None:
        return self.pinned if self.pinned is not None else super().partition_for_key(key)

    def _write_changelog(self, key: bytes, value: bytes | None) -> None:
        # the app is always streams.consumer.App, whose transport's producer is a ChangelogProducer
        self.app.producer.write_changelog(  # type: ignore[attr-defined]
            self.changelog_topic.get_topic_name(), key, value, self.partition_for_key(key))

    def on_key_set(self, key: bytes, value: bytes) -> None:
        self._write_changelog(key, value)

    def on_key_del(self, key: bytes) -> None:
        self._write_changelog(key, None)


def pinned_table(app: faust.App, name: str, *, store_path: Path | None = None, **kwargs: Any) -> PinnedTable:
    """Define a ``PinnedTable`` on ``app`` as ``app.Table`` defines a table; its values kept under ``store_path``
    (off the heap) if given."""
    table = PinnedTable(app, name=name, beacon=app.tables.beacon, **kwargs)
    table.store_path = store_path
    app.tables.add(table)
    return table


class RecordView:
    """A write-back view of a Faust table for the record being processed; ``flush`` when it is done.

    A bundle's values are held as the rules left them: the JSON read from the
    table, or the state object a rule put. Objects are serialised at ``flush``,
    once per bundle, however many times a record (or a take) rewrote them: the
    anti-passback index of a partition changes with every held sighting, and
    dumping each state at every put was a tenth of a live worker's time.
    """

    def __init__(self, table: Any) -> None:
        self._table = table
        self._bundles: dict[str, dict[str, str | BaseModel]] = {}
        self._read: dict[str, bytes | None] = {}  # bundle -> the bytes it was read from (None: absent)
        self._dirty: set[str] = set()
        self._decoded: ByContent[bytes, dict[str, str]] = ByContent()  # never handed out: callers get copies
        self._states: dict[type[BaseModel], ByContent[str, BaseModel]] = {}
        """Per state type: what a value's JSON decodes to, so a value written is not decoded when read back."""

    def _bundle(self, bundle: str) -> dict[str, str | BaseModel]:
        found = self._bundles.get(bundle)
        if found is None:
            raw = self._table.get(bundle.encode())
            self._read[bundle] = raw or None
            if not raw:
                found = {}
            else:
                known = self._decoded.get(raw)
                if known is None:
                    known = json.loads(raw)
                    self._decoded.remember(raw, known)
                found = dict(known)
            self._bundles[bundle] = found
        return found

    def decoded(self, model: type[V]) -> ByContent[str, V]:
        """The values of ``model`` this view remembers by their JSON (shared by every state of that type)."""
        memo = self._states.get(model)
        if memo is None:
            memo = self._states[model] = ByContent()
        return memo  # type: ignore[return-value]  # keyed by type: only ``model`` values go in

    def get(self, bundle: str, field: str) -> str | BaseModel | None:
        return self._bundle(bundle).get(field)

    def exists(self, bundle: str) -> bool:
        return bool(self._bundle(bundle))

    def rename(self, source: str, target: str, old: str, new: str) -> None:
        """Move bundle ``source`` to ``target``, each field's ``|old`` part renamed ``|new`` (a state key that
        embeds a person key, ``fever|<key>``, ``bypass_entry|<key>|<compound>``)."""
        values = self._bundle(source)
        moved = {field.replace(f"|{old}", f"|{new}", 1): value for field, value in values.items()}
        values.clear()
        self._bundle(target).update(moved)
        self._dirty.update((source, target))

    def put(self, bundle: str, field: str, value: str | BaseModel) -> None:
        values = self._bundle(bundle)
        if values.get(field) is not value:
            values[field] = value
            self._dirty.add(bundle)

    def delete(self, bundle: str, field: str) -> None:
        values = self._bundle(bundle)
        if field in values:
            del values[field]
            self._dirty.add(bundle)

    def _text(self, value: str | BaseModel) -> str:
        if isinstance(value, str):
            return value
        raw = value.model_dump_json()
        self.decoded(type(value)).remember(raw, value)
        return raw

    def flush(self, partition: int | None = None) -> int:
        """Write every changed bundle once, to ``partition``'s changelog if given (else the current record's);
        returns how many table writes (changelog records) that took. A bundle that serialises to the bytes it
        was read from is not written again."""
        written = 0
        table = self._table
        if partition is not None:
            table.pinned = partition
        try:
            for bundle in self._dirty:
                texts = {field: self._text(value) for field, value in self._bundles[bundle].items()}
                read = self._read.get(bundle)
                key = bundle.encode()
                if texts:
                    raw = json.dumps(texts, separators=(",", ":")).encode()
                    if raw == read:
                        continue
                    table[key] = raw
                    self._decoded.remember(raw, texts)  # dropped from _bundles below: no one else changes it
                    written += 1
                elif read is not None:
                    del table[key]
                    written += 1
        finally:
            if partition is not None:
                table.pinned = None
            self._bundles.clear()
            self._read.clear()
            self._dirty.clear()
        return written


def held_repeats(table: Mapping[bytes, bytes]) -> list[tuple[str, Published]]:
    """Every fingerprint in the alert book's table (its local store) whose published mark says repeats are held:
    a full scan, for start-up and rebalances only."""
    prefix = "published|"
    found = []
    for key, raw in table.items():
        if not key.startswith(b"alert|") or b'\\"held\\":true' not in raw:  # the mark is a JSON string in the bundle
            continue
        for field, value in json.loads(raw).items():
            if field.startswith(prefix):
                mark = Published.model_validate_json(value)
                if mark.held:
                    found.append((field[len(prefix):], mark))
    return found


class TableState(Generic[V]):
    """One rule's ``State`` over a ``RecordView``: values go in as objects and are serialised at its flush."""

    def __init__(self, view: RecordView, name: str, model: type[V]) -> None:
        self._view = view
        self._prefix = f"{name}|"
        self._bundle_of = BUNDLES[name]
        self._model = model
        self._decoded = view.decoded(model)

    def get(self, key: str) -> V | None:
        found = self._view.get(self._bundle_of(key), self._prefix + key)
        if found is None or isinstance(found, BaseModel):
            return found  # type: ignore[return-value]  # this state's field holds only its model
        value = self._decoded.get(found)
        if value is None:
            value = self._model.model_validate_json(found)
            self._decoded.remember(found, value)
        return value

    def put(self, key: str, value: V) -> None:
        self._view.put(self._bundle_of(key), self._prefix + key, value)

    def delete(self, key: str) -> None:
        self._view.delete(self._bundle_of(key), self._prefix + key)


def table_state(view: RecordView, name: str) -> TableState[Any]:
    return TableState(view, name, STATE_MODELS[name])
