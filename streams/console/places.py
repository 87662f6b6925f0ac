"""The street's places as the console names them: compounds and checkpoints from their registers.

Fed from the compacted ``compounds`` and ``checkpoints`` topics (a tombstone
removes one), so an operator reads "东河北街50号卡点, 定阳社区" where the alert
says ``cp-017``, and the map knows every large grid and its community even
before any alert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from schemas import Checkpoint, Compound

K = TypeVar("K")
V = TypeVar("V")
M = TypeVar("M", bound=BaseModel)


def fold_record(into: dict[K, V], model: type[M], key: bytes | None, value: bytes | None,
                entry: Callable[[M], tuple[K, V]], tombstone: Callable[[bytes], K]) -> None:
    """One record of a compacted register topic into ``into``: a tombstone removes its key, a value that is not
    a ``model`` is skipped (the worker's register replicator dead-letters it; the console only reads)."""
    if value is None:
        if key is not None:
            into.pop(tombstone(key), None)
        return
    try:
        record = model.model_validate_json(value)
    except ValidationError:
        return
    k, v = entry(record)
    into[k] = v


class Places:
    def __init__(self) -> None:
        self.compounds: dict[str, Compound] = {}
        self.checkpoints: dict[str, Checkpoint] = {}

    def take_compound(self, key: bytes | None, value: bytes | None) -> None:
        fold_record(self.compounds, Compound, key, value, lambda c: (c.compound_id, c), _text)

    def take_checkpoint(self, key: bytes | None, value: bytes | None) -> None:
        fold_record(self.checkpoints, Checkpoint, key, value, lambda c: (c.checkpoint_id, c), _text)

    def compound_name(self, compound_id: str) -> str:
        c = self.compounds.get(compound_id)
        return c.name if c else compound_id

    def checkpoint_name(self, checkpoint_id: str) -> str:
        c = self.checkpoints.get(checkpoint_id)
        return c.name if c else checkpoint_id

    def names(self, compound_id: str, checkpoint_id: str) -> tuple[str, str]:
        return (self.compound_name(compound_id) if compound_id else "",
                self.checkpoint_name(checkpoint_id) if checkpoint_id else "")

    def large_grids(self) -> dict[str, list[str]]:
        """Community code → its large grids, sorted; every grid any compound or checkpoint names."""
        out: dict[str, set[str]] = {}
        places: list[Compound | Checkpoint] = [*self.compounds.values(), *self.checkpoints.values()]
        for place in places:
            out.setdefault(place.community_code, set()).add(place.large_grid)
        return {c: sorted(g) for c, g in sorted(out.items())}

    def small_grids(self) -> list[str]:
        places: list[Compound | Checkpoint] = [*self.compounds.values(), *self.checkpoints.values()]
        return sorted({p.small_grid for p in places})


def _text(key: bytes) -> str:
    return key.decode(errors="replace")
