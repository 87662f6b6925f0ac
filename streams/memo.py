"""Decoded values remembered by the bytes (or text) they were decoded from.

The hot path reads the same JSON again and again: rule state a worker wrote a
moment before, a resident who passes a gate every day, a checkpoint on every
event. Decoding it with pydantic each time was a fifth of a draining
worker's time (``bench-results/profiles/2026-12-04-worker-drain-gil.txt``).
Keyed by content, a remembered value can never be stale: a record changed by
a recovery, a register update or another worker is other bytes, decoded
afresh. The values are frozen models (of tuples), so one instance serves
every reader.
"""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K", str, bytes)
T = TypeVar("T")

REMEMBERED = 16_384
"""Values one ``ByContent`` holds before it starts again: some tens of MB at most, whatever the register's size."""


class ByContent(Generic[K, T]):
    """What each JSON text (or its bytes) decodes to, for texts seen lately; bounded, forgotten all at once."""

    __slots__ = ("_known", "_limit")

    def __init__(self, limit: int = REMEMBERED) -> None:
        self._known: dict[K, T] = {}
        self._limit = limit

    def get(self, raw: K) -> T | None:
        return self._known.get(raw)

    def remember(self, raw: K, value: T) -> None:
        if len(self._known) >= self._limit:
            self._known.clear()  # cheaper than an LRU's bookkeeping on every read; refilled within a take or two
        self._known[raw] = value

    def __len__(self) -> int:
        return len(self._known)
