"""The lookups enrichment needs, as a protocol over the master-data tables.

The pure logic (enrichment, rules) sees only this protocol, so it is tested
with plain in-memory registers while the worker backs it with Faust tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from schemas import Checkpoint, Compound, QuarantineOrder, Resident, RiskArea, RiskColour


class MasterData(Protocol):
    def resident(self, person_key: str) -> Resident | None: ...

    def checkpoint(self, checkpoint_id: str) -> Checkpoint | None: ...

    def compound(self, compound_id: str) -> Compound | None: ...

    def quarantine(self, person_key: str) -> QuarantineOrder | None: ...

    def risk_history(self, division_code: str) -> tuple[RiskArea, ...]: ...


def risk_at(history: tuple[RiskArea, ...], at: datetime) -> RiskColour | None:
    """The colour in force at ``at``: the latest entry whose valid_from is not after it."""
    colour: RiskColour | None = None
    for entry in history:  # sorted by valid_from
        if entry.valid_from <= at:
            colour = entry.colour
        else:
            break
    return colour


def merge_risk(history: tuple[RiskArea, ...], entry: RiskArea) -> tuple[RiskArea, ...]:
    """Add an entry to a division's history; a re-sent valid_from replaces the old one."""
    kept = [e for e in history if e.valid_from != entry.valid_from]
    kept.append(entry)
    return tuple(sorted(kept, key=lambda e: e.valid_from))
