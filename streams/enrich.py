"""Enrichment: one input event joined with the registers, as a flat record.

The result carries everything the rules and the grid workers need (place,
home compound, risk colours, quarantine, visits, dwelling counts, what is
wrong with an ID number) and nothing that identifies a person outside the
register: names and phones are dropped, ID numbers masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Final

from schemas import (
    Checkpoint,
    CheckpointKind,
    Compound,
    EnrichedEvent,
    Event,
    Passage,
    PerimeterReport,
    Place,
    QrScan,
    QuarantineOrder,
    Resident,
    Sighting,
    SubjectKind,
)
from streams.idcard import division_of, problems
from streams.master import MasterData, risk_at
from streams.privacy import PersonKeys, mask_id, mask_plate
from streams.trusted import Builder

CHINA: Final = timezone(timedelta(hours=8))
"""Asia/Shanghai has had no daylight saving since 1991: a fixed offset is exact and needs no tz database."""

_ENRICHED: Final = Builder(EnrichedEvent)
"""Every field comes from validated input or registers (``streams.trusted``): built without validating again."""
_MAX_SITES: Final = 100_000
_MAX_PEOPLE: Final = 100_000


@dataclass(frozen=True, slots=True)
class Site:
    """What an event learns from where it happened, built once per checkpoint (and compound) version."""

    checkpoint: Checkpoint | None
    compound: Compound | None
    place: Place
    missed: bool
    lat: float | None = None
    lon: float | None = None
    kind: CheckpointKind | None = None
    closed: bool = False


class Enricher:
    """Runs once per event on the hot path: what depends only on the checkpoint is built once.

    A cached site is reused while the master data hands out the same checkpoint
    and compound objects (both ``MemoryMaster`` and ``StoreMaster`` do while a
    record is unchanged), so a re-published checkpoint or a compound that is
    closed takes effect with the next event.

    The enriched event is built from values validated already (``streams.trusted``): validating them
    again was a quarter of enrichment, and ``model_construct`` is slower still."""

    def __init__(self, *, master: MasterData, keys: PersonKeys) -> None:
        self._master = master
        self._keys = keys
        self._sites: dict[tuple[str, str], Site] = {}
        self._people: dict[str, tuple[str, date, tuple[str, ...], int, tuple[str, ...]]] = {}

    def site(self, checkpoint_id: str | None, compound_id: str | None) -> Site:
        """Resolve where an event happened: the checkpoint if known, else the compound."""
        cp = self._master.checkpoint(checkpoint_id) if checkpoint_id else None
        co_id = cp.compound_id if cp is not None else compound_id
        co = self._master.compound(co_id) if co_id else None
        cache_key = (checkpoint_id or "", compound_id or "")
        hit = self._sites.get(cache_key)
        if hit is not None and hit.checkpoint is cp and hit.compound is co:
            return hit
        if len(self._sites) >= _MAX_SITES:  # checkpoints changed many times over
            self._sites.clear()
        built = self._sites[cache_key] = _build_site(checkpoint_id, compound_id, cp, co)
        return built

    def place_of(self, checkpoint_id: str | None, compound_id: str | None) -> tuple[Place, bool]:
        """Resolve where an event happened; the flag says a lookup missed."""
        site = self.site(checkpoint_id, compound_id)
        return site.place, site.missed

    def enrich(self, event: Event) -> EnrichedEvent:
        misses: list[str] = []
        if isinstance(event, PerimeterReport):
            site = self.site(event.checkpoint_id, event.compound_id)
            if site.missed:
                misses.append("place")
            return _ENRICHED(
                event_id=event.event_id,
                event_type=event.event_type,
                event_time=event.event_time,
                place=site.place,
                lat=site.lat,
                lon=site.lon,
                checkpoint_kind=site.kind,
                compound_closed=site.closed,
                person_count=event.person_count,
                linked_subjects=tuple(mask_id(i) for i in event.id_numbers),
                misses=tuple(misses),
            )

        if isinstance(event, Sighting):
            site = self.site(event.checkpoint_id, event.compound_id)
            place = site.place
            if site.missed:
                misses.append("place")
        else:
            site = self.site(event.checkpoint_id, None)
            place = site.place
            if site.missed:
                misses.append("checkpoint")
                if isinstance(event, QrScan):  # the scanned code still names the community
                    place = place.model_copy(update={"community_code": event.community_code})
        if isinstance(event, Passage) and event.subject_kind is SubjectKind.VEHICLE:
            return _ENRICHED(
                event_id=event.event_id,
                event_type=event.event_type,
                event_time=event.event_time,
                place=place,
                lat=site.lat,
                lon=site.lon,
                checkpoint_kind=site.kind,
                compound_closed=site.closed,
                subject_kind=SubjectKind.VEHICLE,
                subject_masked=mask_plate(event.plate or ""),
                direction=event.direction,
                misses=tuple(misses),
            )

        id_number = event.id_number
        assert id_number is not None  # schema guarantees it for persons  # noqa: S101
        at = event.event_time
        key, id_problems = self._person(id_number, at.astimezone(CHINA).date())
        resident: Resident | None = self._master.resident(key)
        if resident is None:
            misses.append("resident")
        order = self._master.quarantine(key)
        quarantined = order is not None and order.starts_at <= at < order.ends_at
        q_dwelling, q_compound = self._confinement(order, resident) if quarantined else ("", "")
        card = division_of(id_number) if "structure" not in id_problems else None
        declared = event.declared_origin if isinstance(event, Passage) else None
        dwelling_id = (event.dwelling_id or "") if isinstance(event, Sighting) else ""
        home_dwelling = resident.dwelling_id if resident else ""
        counted = dwelling_id or home_dwelling
        visitor_active, host = False, ""
        if place.compound_id and (resident is None or resident.compound_id != place.compound_id):
            # residents of the compound need no visit: saves a lookup for most events
            visit = self._master.visitor(key, place.compound_id)
            if visit is not None and visit.valid_from <= at < visit.valid_until:
                visitor_active, host = True, visit.host_dwelling_id
        return _ENRICHED(
            event_id=event.event_id,
            event_type=event.event_type,
            event_time=at,
            place=place,
            lat=site.lat,
            lon=site.lon,
            checkpoint_kind=site.kind,
            compound_closed=site.closed,
            sighting_kind=event.kind if isinstance(event, Sighting) else None,
            dwelling_id=dwelling_id,
            dwelling_registered=self._master.dwelling_size(counted) if counted else None,
            visitor_active=visitor_active,
            visitor_host_dwelling_id=host,
            quarantine_dwelling_id=q_dwelling,
            quarantine_compound_id=q_compound,
            id_problems=id_problems,
            subject_kind=SubjectKind.PERSON,
            subject_key=key,
            subject_masked=mask_id(id_number),
            resident_known=resident is not None,
            resident_verified=resident.verified if resident else False,
            residency=resident.residency if resident else None,
            home_community_code=resident.community_code if resident else "",
            home_compound_id=resident.compound_id if resident else "",
            home_dwelling_id=home_dwelling,
            direction=event.direction if isinstance(event, Passage) else None,
            temperature_c=event.temperature_c if isinstance(event, Passage) else None,
            health_code=None if isinstance(event, Sighting) else event.health_code,
            declared_origin=declared,
            card_division=card,
            declared_origin_risk=risk_at(self._master.risk_history(declared), at) if declared else None,
            card_division_risk=risk_at(self._master.risk_history(card), at) if card else None,
            quarantine_active=quarantined,
            misses=tuple(misses),
        )

    def _person(self, id_number: str, day: date) -> tuple[str, tuple[str, ...]]:
        """The person key and ``idcard.problems`` of a number on a day, remembered per number: residents pass
        several times a day, and the HMAC and the number's checks are most of what is left of enrichment."""
        known = self._people.get(id_number)
        if known is not None and known[1] == day:
            return known[0], known[2]
        if known is not None:
            key, route = known[0], known[3]
        else:
            key, route = self._keys.key(id_number), self._keys.route(id_number)
            if len(self._people) >= _MAX_PEOPLE:
                self._people.clear()
        judged = problems(id_number, at=day)
        # the links to the keys of before a rotation are looked at again each day: they end ``link_for`` after it
        self._people[id_number] = (key, day, judged, route, self._keys.links(id_number))
        return key, judged

    def identity(self, event: Event) -> tuple[int, tuple[str, ...]] | None:
        """Of an event ``enrich`` named a person in: where the person's rule state lives (``PersonKeys.route``,
        the same under every secret) and their keys under the secrets a rotation retired and still linked.
        Internal to the worker, never published; ``None`` for events about no person."""
        known = self._people.get(getattr(event, "id_number", None) or "")
        return (known[3], known[4]) if known is not None else None

    def _confinement(self, order: QuarantineOrder | None, resident: Resident | None) -> tuple[str, str]:
        """Dwelling and compound an order confines to: the order's dwelling, else the person's home.

        The compound of the order's dwelling is that of the residents registered
        there; a dwelling nobody is registered at falls back to the person's home
        compound (empty if the person is in no register).
        """
        home_dwelling = resident.dwelling_id if resident else ""
        home_compound = resident.compound_id if resident else ""
        if order is None or not order.dwelling_id or order.dwelling_id == home_dwelling:
            return home_dwelling, home_compound
        return order.dwelling_id, self._master.dwelling_compound(order.dwelling_id) or home_compound


def _build_site(checkpoint_id: str | None, compound_id: str | None, cp: Checkpoint | None, co: Compound | None) -> Site:
    closed = co.closed if co is not None else False
    if cp is not None:
        place = Place(
            checkpoint_id=cp.checkpoint_id,
            compound_id=cp.compound_id,
            community_code=cp.community_code,
            large_grid=cp.large_grid,
            small_grid=cp.small_grid,
        )
        return Site(cp, co, place, False, cp.lat, cp.lon, cp.kind, closed)
    if co is not None:
        place = Place(
            checkpoint_id=checkpoint_id or "",
            compound_id=co.compound_id,
            community_code=co.community_code,
            large_grid=co.large_grid,
            small_grid=co.small_grid,
        )
        return Site(None, co, place, False, closed=closed)
    return Site(None, None, Place(checkpoint_id=checkpoint_id or "", compound_id=compound_id or ""), True)
