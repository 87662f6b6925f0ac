"""Enrichment: one input event joined with the registers, as a flat record.

The result carries everything the rules and the grid workers need (place,
home compound, risk colours, quarantine) and nothing that identifies a person
outside the register: names and phones are dropped, ID numbers masked.
"""

from __future__ import annotations

from schemas import (
    Checkpoint,
    EnrichedEvent,
    Event,
    Passage,
    PerimeterReport,
    Place,
    QrScan,
    Resident,
    Sighting,
    SubjectKind,
)
from streams.idcard import division_of
from streams.master import MasterData, risk_at
from streams.privacy import PersonKeys, mask_id, mask_plate


class Enricher:
    """Runs once per event on the hot path: the Place of a checkpoint is built once.

    (``model_construct`` was measured slower than validated construction here:
    pydantic-core validates in Rust, model_construct loops over fields in Python.)"""

    def __init__(self, *, master: MasterData, keys: PersonKeys) -> None:
        self._master = master
        self._keys = keys
        self._places: dict[Checkpoint, Place] = {}

    def place_of(self, checkpoint_id: str | None, compound_id: str | None) -> tuple[Place, bool]:
        """Resolve where an event happened; the flag says a lookup missed."""
        if checkpoint_id:
            cp = self._master.checkpoint(checkpoint_id)
            if cp is not None:
                place = self._places.get(cp)
                if place is None:
                    if len(self._places) > 100_000:  # checkpoints changed many times over
                        self._places.clear()
                    place = self._places[cp] = Place(
                        checkpoint_id=cp.checkpoint_id,
                        compound_id=cp.compound_id,
                        community_code=cp.community_code,
                        large_grid=cp.large_grid,
                        small_grid=cp.small_grid,
                    )
                return place, False
        if compound_id:
            co = self._master.compound(compound_id)
            if co is not None:
                return (
                    Place(
                        checkpoint_id=checkpoint_id or "",
                        compound_id=co.compound_id,
                        community_code=co.community_code,
                        large_grid=co.large_grid,
                        small_grid=co.small_grid,
                    ),
                    False,
                )
        return Place(checkpoint_id=checkpoint_id or "", compound_id=compound_id or ""), True

    def enrich(self, event: Event) -> EnrichedEvent:
        misses: list[str] = []
        if isinstance(event, PerimeterReport):
            place, missed = self.place_of(event.checkpoint_id, event.compound_id)
            if missed:
                misses.append("place")
            return EnrichedEvent(
                event_id=event.event_id,
                event_type=event.event_type,
                event_time=event.event_time,
                place=place,
                person_count=event.person_count,
                linked_subjects=tuple(mask_id(i) for i in event.id_numbers),
                misses=tuple(misses),
            )

        place, missed = self.place_of(event.checkpoint_id, None)
        if missed:
            misses.append("checkpoint")
            if isinstance(event, QrScan):  # the scanned code still names the community
                place = place.model_copy(update={"community_code": event.community_code})
        if isinstance(event, Passage) and event.subject_kind is SubjectKind.VEHICLE:
            return EnrichedEvent(
                event_id=event.event_id,
                event_type=event.event_type,
                event_time=event.event_time,
                place=place,
                subject_kind=SubjectKind.VEHICLE,
                subject_masked=mask_plate(event.plate or ""),
                direction=event.direction,
                misses=tuple(misses),
            )

        id_number = event.id_number
        assert id_number is not None  # schema guarantees it for persons  # noqa: S101
        key = self._keys.key(id_number)
        resident: Resident | None = self._master.resident(key)
        if resident is None:
            misses.append("resident")
        order = self._master.quarantine(key)
        quarantined = order is not None and order.starts_at <= event.event_time < order.ends_at
        card = division_of(id_number)
        declared = event.declared_origin if isinstance(event, Passage) else None
        return EnrichedEvent(
            event_id=event.event_id,
            event_type=event.event_type,
            event_time=event.event_time,
            place=place,
            subject_kind=SubjectKind.PERSON,
            subject_key=key,
            subject_masked=mask_id(id_number),
            resident_known=resident is not None,
            resident_verified=resident.verified if resident else False,
            residency=resident.residency if resident else None,
            home_community_code=resident.community_code if resident else "",
            home_compound_id=resident.compound_id if resident else "",
            home_dwelling_id=resident.dwelling_id if resident else "",
            direction=event.direction if isinstance(event, Passage) else None,
            temperature_c=event.temperature_c if isinstance(event, Passage) else None,
            health_code=None if isinstance(event, Sighting) else event.health_code,
            declared_origin=declared,
            card_division=card,
            declared_origin_risk=(
                risk_at(self._master.risk_history(declared), event.event_time) if declared else None
            ),
            card_division_risk=risk_at(self._master.risk_history(card), event.event_time),
            quarantine_active=quarantined,
            misses=tuple(misses),
        )

