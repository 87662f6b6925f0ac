"""Rule and alert state in Faust tables: the ``State`` protocol over a changelogged table.

A table is keyed by bytes and holds the JSON of a frozen pydantic model; the
prefix (the rule id) keeps the rules that share one table apart. Writes must
happen while an agent processes a record of the partition the key belongs to:
Faust writes the changelog to that record's partition, which is why the
worker routes every event to the partition of its state's key first.
"""

from __future__ import annotations

import zlib
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from schemas import Alert
from streams.rules.bypass import GateHistory
from streams.rules.fever import FeverReading
from streams.rules.overcrowded import DwellingSeen
from streams.rules.silent import CheckpointHeard
from streams.rules.travel import LastFix

V = TypeVar("V", bound=BaseModel)

STATE_MODELS: dict[str, type[BaseModel]] = {
    "fever": FeverReading,
    "bypass_entry": GateHistory,
    "impossible_travel": LastFix,
    "dwelling_overcrowded": DwellingSeen,
    "silent_checkpoint": CheckpointHeard,
    "alert": Alert,
}
"""What each stateful rule (and the alert book, as "alert") keeps, so its JSON can be read back."""


def partition_of(key: str, partitions: int) -> int:
    """The partition a state key lives on: stable across processes and restarts (unlike ``hash``)."""
    return zlib.crc32(key.encode()) % partitions


class TableState(Generic[V]):
    def __init__(self, table: Any, prefix: str, model: type[V]) -> None:
        self._table = table
        self._prefix = f"{prefix}|"
        self._model = model

    def _key(self, key: str) -> bytes:
        return (self._prefix + key).encode()

    def get(self, key: str) -> V | None:
        raw = self._table.get(self._key(key))
        return None if raw is None else self._model.model_validate_json(raw)

    def put(self, key: str, value: V) -> None:
        self._table[self._key(key)] = value.model_dump_json().encode()

    def delete(self, key: str) -> None:
        k = self._key(key)
        if k in self._table:
            del self._table[k]


def table_state(table: Any, name: str) -> TableState[Any]:
    return TableState(table, name, STATE_MODELS[name])
