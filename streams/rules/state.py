"""Where stateful rules keep what they remember between events.

A rule sees one event at a time; anti-passback, re-measurement and travel
speed need the person's previous event. The rule only talks to this small
key-value protocol, so its logic is tested with ``MemoryState`` and the worker
hands it a Faust table (changelogged, partitioned) instead. Values are frozen
pydantic models so the worker can store them as JSON and a rule can never
mutate a stored value in place behind the table's back.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel

V = TypeVar("V", bound=BaseModel)


class State(Protocol[V]):
    """A rule's state, one value per key; the key decides the partition the worker routes to."""

    def get(self, key: str) -> V | None: ...

    def put(self, key: str, value: V) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryState(Generic[V]):
    """State in a dict: for tests and the single-process benchmark peers, never for the worker."""

    def __init__(self) -> None:
        self._values: dict[str, V] = {}

    def get(self, key: str) -> V | None:
        return self._values.get(key)

    def put(self, key: str, value: V) -> None:
        self._values[key] = value

    def delete(self, key: str) -> None:
        self._values.pop(key, None)

    def __len__(self) -> int:
        return len(self._values)


__all__ = ["MemoryState", "State"]
