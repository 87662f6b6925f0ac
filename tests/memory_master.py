"""An in-memory MasterData for testing the pure logic without Faust."""

from __future__ import annotations

from collections.abc import Iterable

from schemas import Checkpoint, Compound, QuarantineOrder, Resident, RiskArea
from streams.master import merge_risk
from streams.privacy import PersonKeys


class MemoryMaster:
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
