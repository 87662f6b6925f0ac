"""The lookups enrichment needs, as a protocol over the registers.

The pure logic (enrichment, rules) sees only this protocol, so it is tested
with plain in-memory registers while the worker backs it with its local register store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from datetime import datetime
from typing import Protocol

from schemas import (
    Checkpoint,
    Compound,
    PersonRecord,
    Place,
    QuarantineOrder,
    RegisterName,
    Resident,
    RiskArea,
    RiskColour,
    Visitor,
)
from streams.privacy import PersonKeys


def home_of(resident: Resident) -> Place:
    """Where a resident is registered: a task about them reaches the grid that can visit them."""
    return Place(compound_id=resident.compound_id, community_code=resident.community_code,
                 large_grid=resident.large_grid, small_grid=resident.small_grid)


def visitor_key(person_key: str, compound_id: str) -> str:
    """Key of a visit in the store: one visit per person and compound."""
    return f"{person_key}|{compound_id}"


def person_record_key(register: RegisterName, person_key: str) -> str:
    """Key of a person record in the store: both registers' records of a person kept apart."""
    return f"{register}|{person_key}"


PersonRegister = Resident | QuarantineOrder | Visitor | PersonRecord
PERSON_REGISTERS = ("residents", "quarantine-orders", "visitors", "person-records")


def register_key(record: PersonRegister) -> str:
    """The Kafka key of a person register's record: its natural key, the ID number (with the compound of a
    visit, the register of a record), so compaction keeps one record per person whatever secret the person
    keys are made under now, and a publisher needs no secret. The register topics hold ID numbers anyway."""
    if isinstance(record, Visitor):
        return f"{record.id_number}|{record.compound_id}"
    if isinstance(record, PersonRecord):
        return f"{record.register_name}|{record.id_number}"
    return record.id_number


def store_key(logical: str, natural: str, keys: PersonKeys) -> str:
    """The store's key of a person register's record from its natural key (``register_key``): the ID number
    replaced by the current person key, as the lookups ask."""
    if logical == "visitors":
        id_number, _, compound = natural.partition("|")
        return visitor_key(keys.key(id_number), compound)
    if logical == "person-records":
        register, _, id_number = natural.partition("|")
        return person_record_key(register, keys.key(id_number))  # type: ignore[arg-type]  # as published
    return keys.key(natural)


class MasterData(Protocol):
    def resident(self, person_key: str) -> Resident | None: ...

    def dwelling_size(self, dwelling_id: str) -> int:
        """Residents registered at the dwelling (0 if none): what "more people than registered" compares with."""
        ...

    def dwelling_compound(self, dwelling_id: str) -> str | None:
        """The compound of the residents registered at the dwelling; None if nobody is registered there."""
        ...

    def visitor(self, person_key: str, compound_id: str) -> Visitor | None:
        """The guard-registered visit of this person to this compound, valid or not."""
        ...

    def person_record(self, register: RegisterName, person_key: str) -> PersonRecord | None: ...

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


class Residents(MutableMapping[str, Resident]):
    """Residents by person key, with the residents per dwelling kept right on every put, replace and delete.

    A mapping rather than a plain dict so that code filling ``MemoryMaster.residents``
    directly (the benchmark peers replay the residents topic into it) cannot
    leave the dwelling counts behind: a resident who moves is taken off the old
    dwelling and added to the new one.
    """

    def __init__(self, items: Iterable[tuple[str, Resident]] = ()) -> None:
        self._by_key: dict[str, Resident] = {}
        self._per_dwelling: dict[str, int] = {}
        self._compound_of: dict[str, str] = {}
        for key, resident in items:
            self[key] = resident

    def find(self, person_key: str) -> Resident | None:
        """The hot-path lookup: ``dict.get`` speed, without the Mapping mixin's try/except."""
        return self._by_key.get(person_key)

    def dwelling_size(self, dwelling_id: str) -> int:
        return self._per_dwelling.get(dwelling_id, 0)

    def dwelling_compound(self, dwelling_id: str) -> str | None:
        return self._compound_of.get(dwelling_id)

    def __getitem__(self, person_key: str) -> Resident:
        return self._by_key[person_key]

    def __setitem__(self, person_key: str, resident: Resident) -> None:
        old = self._by_key.get(person_key)
        if old is not None:
            self._leave(old.dwelling_id)
        self._by_key[person_key] = resident
        self._per_dwelling[resident.dwelling_id] = self._per_dwelling.get(resident.dwelling_id, 0) + 1
        self._compound_of[resident.dwelling_id] = resident.compound_id

    def __delitem__(self, person_key: str) -> None:
        old = self._by_key.pop(person_key)
        self._leave(old.dwelling_id)

    def _leave(self, dwelling_id: str) -> None:
        left = self._per_dwelling[dwelling_id] - 1
        if left:
            self._per_dwelling[dwelling_id] = left
        else:
            del self._per_dwelling[dwelling_id]
            self._compound_of.pop(dwelling_id, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)


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
        visitors: Iterable[Visitor] = (),
        person_records: Iterable[PersonRecord] = (),
    ) -> None:
        self.residents = Residents((keys.key(r.id_number), r) for r in residents)
        self.visitors = {visitor_key(keys.key(v.id_number), v.compound_id): v for v in visitors}
        self.person_records = {
            person_record_key(p.register_name, keys.key(p.id_number)): p for p in person_records
        }
        self.checkpoints = {c.checkpoint_id: c for c in checkpoints}
        self.compounds = {c.compound_id: c for c in compounds}
        self.orders = {keys.key(o.id_number): o for o in orders}
        self.risks: dict[str, tuple[RiskArea, ...]] = {}
        for area in risk_areas:
            self.risks[area.division_code] = merge_risk(self.risks.get(area.division_code, ()), area)

    def resident(self, person_key: str) -> Resident | None:
        return self.residents.find(person_key)

    def dwelling_size(self, dwelling_id: str) -> int:
        return self.residents.dwelling_size(dwelling_id)

    def dwelling_compound(self, dwelling_id: str) -> str | None:
        return self.residents.dwelling_compound(dwelling_id)

    def visitor(self, person_key: str, compound_id: str) -> Visitor | None:
        return self.visitors.get(visitor_key(person_key, compound_id))

    def person_record(self, register: RegisterName, person_key: str) -> PersonRecord | None:
        return self.person_records.get(person_record_key(register, person_key))

    def checkpoint(self, checkpoint_id: str) -> Checkpoint | None:
        return self.checkpoints.get(checkpoint_id)

    def compound(self, compound_id: str) -> Compound | None:
        return self.compounds.get(compound_id)

    def quarantine(self, person_key: str) -> QuarantineOrder | None:
        return self.orders.get(person_key)

    def risk_history(self, division_code: str) -> tuple[RiskArea, ...]:
        return self.risks.get(division_code, ())
