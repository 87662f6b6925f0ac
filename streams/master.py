"""The lookups enrichment needs, as a protocol over the registers.

The pure logic (enrichment, rules) sees only this protocol, so it is tested
with plain in-memory registers while the worker backs it with its local register store.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from schemas import Checkpoint, Compound, QuarantineOrder, Resident, RiskArea, RiskColour
from streams.privacy import PersonKeys


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


class MemoryMaster:
    """MasterData in plain dicts: for tests, and for peers in the benchmark that load registers up front."""

    def __init__(
        self,
        keys: PersonKeys,
        *,
        residents: Iterable[Resident] = (),
        checkpoints: Iterable[Checkpoint] = (),
        compounds: Iterable[Compound] = (),
        orders: Iterable[QuarantineOrder] = (),
        risk_areas: Iterable[RiskArea] = (),
    ) -> None:
        self.residents = {keys.key(r.id_number): r for r in residents}
        self.checkpoints = {c.checkpoint_id: c for c in checkpoints}
        self.compounds = {c.compound_id: c for c in compounds}
        self.orders = {keys.key(o.id_number): o for o in orders}
        self.risks: dict[str, tuple[RiskArea, ...]] = {}
        for area in risk_areas:
            self.risks[area.division_code] = merge_risk(self.risks.get(area.division_code, ()), area)

    def resident(self, person_key: str) -> Resident | None:
        return self.residents.get(person_key)

    def checkpoint(self, checkpoint_id: str) -> Checkpoint | None:
        return self.checkpoints.get(checkpoint_id)

    def compound(self, compound_id: str) -> Compound | None:
        return self.compounds.get(compound_id)

    def quarantine(self, person_key: str) -> QuarantineOrder | None:
        return self.orders.get(person_key)

    def risk_history(self, division_code: str) -> tuple[RiskArea, ...]:
        return self.risks.get(division_code, ())
