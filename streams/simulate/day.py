"""One simulated day of checkpoint traffic, as the terminals upload it.

Generation runs in two passes so a day of any size streams: first a compact
plan (one packed integer per event: time, checkpoint, kind, subject), sorted;
then the plan is turned into pydantic events in time order and cut into
per-terminal batches. Only the plan is held in memory (a few dozen bytes per
event), never the events themselves.

A terminal uploads when its open batch is ``batch_seconds`` old or holds
``batch_events`` events, so batches come out in upload order and an event
is at most ``batch_seconds`` older than anything published before it: the
bounded out-of-orderness a stream processor sees from real terminals.
"""

from __future__ import annotations

import heapq
import random
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from schemas import Direction, Event, EventBatch, HealthCode, Passage, QrScan, Sighting, SightingKind, SubjectKind
from streams.simulate.incidents import Incident, incident_person_ids
from streams.simulate.scenarios import day_incidents
from streams.simulate.street import TZ, Street
from streams.simulate.upstream import LATE_VISIT_ID, visitor_id

HOUR = 3_600_000  # ms
DAY_MS = 24 * HOUR
_OUT, _IN, _QR, _CAR_OUT, _CAR_IN, _VISIT_IN, _VISIT_OUT, _HOUSE, _PATROL, _INNER = range(10)
_SIGHTINGS: dict[int, SightingKind] = {_HOUSE: "household_visit", _PATROL: "patrol_check", _INNER: "inner_scan"}
_PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ" + string.digits
FEVER_C = 37.3  # the catalogue's default threshold: what makes a guard re-measure


@dataclass(frozen=True, slots=True)
class Traffic:
    """Behaviour knobs; the defaults give ~2.5 events per resident-day."""

    active_share: float = 0.85  # residents of closed compounds who go out at all
    second_trip: float = 0.35
    qr_share: float = 0.85  # verified residents who also scan the community code on the way in
    vehicle_share: float = 0.03  # of active residents, who drive out and back
    visitor_share: float = 0.004  # outsiders per active resident
    fever: float = 0.0005  # per person passage
    remeasured_normal: float = 0.8  # fevers on the way in that the guard's re-measurement finds normal
    yellow: float = 0.001  # per person-day
    red: float = 0.0001
    declare_share: float = 0.5  # returnees who state their origin on the way in
    walk_in_share: float = 0.15  # outsiders the guard lets in without registering the visit, per visit
    quarantine_visits: float = 1.0  # household visits per home-quarantined person and day
    patrols_per_compound: float = 2.0  # persons a patrol checks inside a closed compound per day
    inner_share: float = 0.5  # arrivals who scan the inner code point too, where there is one


def generate_day(
    street: Street,
    *,
    seed: int,
    day: date = date(2020, 2, 8),
    incidents: bool | Sequence[Incident] = True,
    events: int | None = None,
    batch_seconds: float = 10.0,
    batch_events: int = 50,
    traffic: Traffic = Traffic(),
) -> Iterator[EventBatch]:
    """Yield the day's batches in upload order, with the article's incidents injected.

    ``incidents``: True injects both (``day_incidents``), False none, or pass
    your own. ``events``: stop after exactly that many events, carrying on
    into the following days if one day is not enough (incidents only on the
    first); this is the benchmark mode.
    """
    injected = tuple(day_incidents(street, day=day)) if incidents is True else tuple(incidents or ())
    left = events
    current = day
    while left is None or left > 0:
        batcher = _Batcher(
            prefix=f"s{seed}-{current:%Y%m%d}", seconds=batch_seconds, size=batch_events
        )
        stream = _day_events(street, seed=seed, day=current, incidents=injected, traffic=traffic)
        for cp_id, event in stream:
            yield from batcher.add(cp_id, event)
            if left is not None:
                left -= 1
                if left == 0:
                    break
        yield from batcher.flush()
        if left is None:
            return
        injected = ()
        current += timedelta(days=1)


class _Batcher:
    """Per-terminal batching by age and size; yields batches in upload order."""

    def __init__(self, *, prefix: str, seconds: float, size: int) -> None:
        self._prefix = prefix
        self._age = timedelta(seconds=seconds)
        self._size = size
        self._open: dict[str, list[Event]] = {}
        self._seq: dict[str, int] = {}
        self._due: list[tuple[datetime, int, str]] = []  # (deadline, seq, checkpoint)

    def add(self, cp_id: str, event: Event) -> Iterator[EventBatch]:
        while self._due and self._due[0][0] <= event.event_time:
            yield from self._close_due()
        batch = self._open.get(cp_id)
        if batch is None:
            seq = self._seq.get(cp_id, 0) + 1
            self._seq[cp_id] = seq
            batch = self._open[cp_id] = []
            heapq.heappush(self._due, (event.event_time + self._age, seq, cp_id))
        batch.append(event)
        if len(batch) >= self._size:
            yield self._emit(cp_id)

    def flush(self) -> Iterator[EventBatch]:
        while self._due:
            yield from self._close_due()

    def _close_due(self) -> Iterator[EventBatch]:
        _, seq, cp_id = heapq.heappop(self._due)
        if cp_id in self._open and self._seq[cp_id] == seq:  # else already sent when full
            yield self._emit(cp_id)

    def _emit(self, cp_id: str) -> EventBatch:
        events = self._open.pop(cp_id)
        return EventBatch.model_construct(
            batch_id=f"{self._prefix}-{cp_id}-{self._seq[cp_id]:05d}",
            source=cp_id,
            events=tuple(events),
        )


def _source(event: Event) -> str:
    """The terminal that uploads an event: its checkpoint, else the grid worker's app in that compound."""
    cp = getattr(event, "checkpoint_id", None)
    return cp if cp else f"app-{getattr(event, 'compound_id', 'street')}"


def _day_events(
    street: Street,
    *,
    seed: int,
    day: date,
    incidents: Sequence[Incident],
    traffic: Traffic,
) -> Iterator[tuple[str, Event]]:
    """(uploading terminal, event) in event-time order: the plan rendered, incidents merged in.

    Incidents and fever re-measurements wait on a heap until the plan's clock
    reaches them. An outage incident moves its gate's traffic to the
    compound's other gate for its duration: the post is closed, people go
    round, and the gate's terminal says nothing.
    """
    rng = random.Random(f"day:{seed}:{day.isoformat()}")
    plan, codes, plates, visitors = _plan(street, rng, day, incidents, traffic)
    start = datetime.combine(day, time(), TZ)
    prefix = f"s{seed}-{day:%Y%m%d}"
    extra: list[tuple[datetime, int, str, Event]] = [
        (e.event_time, n, _source(e), e) for n, e in enumerate(e for inc in incidents for e in inc.events)
    ]
    heapq.heapify(extra)
    seq = len(extra)
    quiet = _outages(street, incidents, start)
    cps = street.checkpoints
    compounds = street.compounds
    residents = street.residents
    for n, packed in enumerate(plan):
        t_ms = packed >> 48
        cp_i = (packed >> 36) & 0xFFF
        kind = (packed >> 32) & 0xF
        idx = packed & 0xFFFFFFFF
        when = start + timedelta(milliseconds=t_ms)
        while extra and extra[0][0] <= when:
            _, _, source, event = heapq.heappop(extra)
            yield source, event
        eid = f"{prefix}-{n:07d}"
        if kind in _SIGHTINGS:
            r = residents[idx]
            inner = cps[cp_i] if kind == _INNER else None
            compound_id = inner.compound_id if inner else compounds[cp_i].compound_id
            yield (inner.checkpoint_id if inner else f"app-{compound_id}"), Sighting.model_construct(
                event_id=eid,
                event_time=when,
                kind=_SIGHTINGS[kind],
                compound_id=compound_id,
                checkpoint_id=inner.checkpoint_id if inner else None,
                dwelling_id=r.dwelling_id if kind == _HOUSE else None,
                id_number=r.id_number,
            )
            continue
        moved = quiet.get(cp_i)
        if moved is not None and moved[0] <= t_ms < moved[1]:
            cp_i = moved[2]
        cp = cps[cp_i]
        if kind in (_CAR_IN, _CAR_OUT):
            yield cp.checkpoint_id, Passage.model_construct(
                event_id=eid,
                event_time=when,
                checkpoint_id=cp.checkpoint_id,
                direction=Direction.IN if kind == _CAR_IN else Direction.OUT,
                subject_kind=SubjectKind.VEHICLE,
                plate=plates[idx],
            )
            continue
        if kind in (_VISIT_IN, _VISIT_OUT):
            id_number, code = visitors[idx], HealthCode.GREEN
            declared = id_number[:6] if kind == _VISIT_IN and idx % 2 == 0 else None
        else:
            r = residents[idx]
            id_number, code = r.id_number, codes.get(idx, HealthCode.GREEN)
            declared = None
            if kind == _QR:
                yield cp.checkpoint_id, QrScan.model_construct(
                    event_id=eid,
                    event_time=when,
                    checkpoint_id=cp.checkpoint_id,
                    community_code=r.community_code,
                    id_number=id_number,
                    health_code=code,
                )
                continue
            if kind == _IN and id_number[:2] != "33" and rng.random() < traffic.declare_share:
                declared = id_number[:6]
        inward = kind in (_IN, _VISIT_IN)
        temperature = _temperature(rng, traffic.fever)
        yield cp.checkpoint_id, Passage.model_construct(
            event_id=eid,
            event_time=when,
            checkpoint_id=cp.checkpoint_id,
            direction=Direction.IN if inward else Direction.OUT,
            id_number=id_number,
            temperature_c=temperature,
            health_code=code,
            declared_origin=declared,
        )
        if inward and temperature >= FEVER_C:  # the guard re-measures a high reading a few minutes later
            again = _temperature(rng, 0.0 if rng.random() < traffic.remeasured_normal else 1.0)
            remeasure = Passage.model_construct(
                event_id=f"{eid}-re",
                event_time=when + timedelta(seconds=rng.randint(120, 360)),
                checkpoint_id=cp.checkpoint_id,
                direction=Direction.IN,
                id_number=id_number,
                temperature_c=again,
                health_code=code,
                declared_origin=None,
            )
            seq += 1
            heapq.heappush(extra, (remeasure.event_time, seq, cp.checkpoint_id, remeasure))
    while extra:
        _, _, source, event = heapq.heappop(extra)
        yield source, event


def _outages(street: Street, incidents: Sequence[Incident], start: datetime) -> dict[int, tuple[int, int, int]]:
    """Gate index -> (from ms, until ms, the gate its traffic takes meanwhile), for outage incidents."""
    index = {cp.checkpoint_id: i for i, cp in enumerate(street.checkpoints)}
    out: dict[int, tuple[int, int, int]] = {}
    for inc in incidents:
        if inc.quiet_until is None or inc.checkpoint_id not in index:
            continue
        gate = index[inc.checkpoint_id]
        others = [g for gates in street.compound_checkpoints if gate in gates for g in gates if g != gate]
        if not others:  # a single gate cannot be gone round: nothing to move
            continue
        out[gate] = (_ms(inc.inject_at - start), _ms(inc.quiet_until - start), others[0])
    return out


def _ms(delta: timedelta) -> int:
    return int(delta / timedelta(milliseconds=1))


def _temperature(rng: random.Random, fever: float) -> float:
    if rng.random() < fever:
        return round(min(40.5, max(37.3, rng.gauss(38.0, 0.4))), 1)
    return round(min(37.2, max(35.6, rng.gauss(36.5, 0.3))), 1)


def _plan(
    street: Street,
    rng: random.Random,
    day: date,
    incidents: Sequence[Incident],
    traffic: Traffic,
) -> tuple[list[int], dict[int, HealthCode], list[str], list[str]]:
    """The day as sorted packed ints: time ms << 48 | place << 36 | kind << 32 | subject.

    The place is a checkpoint index for passages, scans and inner scans, a
    compound index for household visits and patrol checks.
    """
    plan: list[int] = []
    add = plan.append
    codes: dict[int, HealthCode] = {}
    quarantined = street.quarantined_on(day)
    incident_ids = incident_person_ids(tuple(incidents))
    cp_of = street.compound_checkpoints
    inner_of = street.compound_inner or (-1,) * len(street.compounds)
    res_compound = street.resident_compound
    closed_gates: list[int] = [cp for gates in cp_of for cp in gates]
    idle: list[int] = []  # residents of closed compounds at home all day: whom a patrol meets inside
    active = 0
    for i, r in enumerate(street.residents):
        ci = res_compound[i]
        if r.id_number in quarantined:
            if r.id_number not in incident_ids and rng.random() < traffic.quarantine_visits:
                visit_ms = int(rng.uniform(9.0, 17.5) * HOUR)  # the grid's daily check on home quarantine
                add(visit_ms << 48 | ci << 36 | _HOUSE << 32 | i)
            continue
        gates = cp_of[ci]
        if not gates or r.id_number in incident_ids:
            continue
        if rng.random() >= traffic.active_share:
            idle.append(i)
            continue
        active += 1
        u = rng.random()
        if u < traffic.red:
            codes[i] = HealthCode.RED
        elif u < traffic.red + traffic.yellow:
            codes[i] = HealthCode.YELLOW
        scans = r.verified and rng.random() < traffic.qr_share
        inner = inner_of[ci]
        for out_ms, in_ms in _trips(rng, traffic.second_trip):
            if out_ms is not None:
                add(out_ms << 48 | rng.choice(gates) << 36 | _OUT << 32 | i)
                if inner >= 0 and rng.random() < traffic.inner_share:  # the building door on the way out
                    add(max(0, out_ms - rng.randint(60_000, 240_000)) << 48 | inner << 36 | _INNER << 32 | i)
            if in_ms is not None:
                gate = rng.choice(gates) << 36
                if scans:
                    add(in_ms << 48 | gate | _QR << 32 | i)
                    in_ms = min(DAY_MS - 1, in_ms + rng.randint(1500, 9000))
                add(in_ms << 48 | gate | _IN << 32 | i)
                if inner >= 0 and rng.random() < traffic.inner_share:
                    add(min(DAY_MS - 1, in_ms + rng.randint(60_000, 240_000)) << 48 | inner << 36 | _INNER << 32 | i)
    n_closed = sum(1 for gates in cp_of if gates)
    for _ in range(round(n_closed * traffic.patrols_per_compound) if idle else 0):
        i = rng.choice(idle)
        add(int(rng.uniform(9.0, 21.0) * HOUR) << 48 | res_compound[i] << 36 | _PATROL << 32 | i)
    plates = []
    for k in range(round(active * traffic.vehicle_share)):
        plates.append("浙H" + "".join(rng.choices(_PLATE_CHARS, k=5)))
        gate = rng.choice(closed_gates) << 36
        out_ms = _clip(rng.gauss(7.8, 1.0) * HOUR)
        in_ms = max(out_ms + 600_000, _clip(rng.gauss(18.0, 1.0) * HOUR))
        add(out_ms << 48 | gate | _CAR_OUT << 32 | k)
        if in_ms < DAY_MS:
            add(in_ms << 48 | gate | _CAR_IN << 32 | k)
    visitors = _visitors(street, rng, day, active, traffic, add)
    plan.sort()
    return plan, codes, plates, visitors


def _visitors(
    street: Street, rng: random.Random, day: date, active: int, traffic: Traffic, add: Callable[[int], None]
) -> list[str]:
    """Registered visits of the day walk in and out within their validity; a few walk-ins are not registered."""
    start = datetime.combine(day, time(), TZ)
    cp_of = street.compound_checkpoints
    where = {c.compound_id: i for i, c in enumerate(street.compounds)}
    registered = [
        v for v in street.visitors
        if v.visit_id != LATE_VISIT_ID and start <= v.valid_from < start + timedelta(days=1)
    ]
    ids: list[str] = []
    for v in registered:
        gates = cp_of[where[v.compound_id]]
        in_ms = int((v.valid_from - start) / timedelta(milliseconds=1)) + rng.randint(60_000, 300_000)
        out_ms = in_ms + int(rng.uniform(0.2, 3.0) * HOUR)
        gate = rng.choice(gates) << 36
        add(in_ms << 48 | gate | _VISIT_IN << 32 | len(ids))
        add(out_ms << 48 | gate | _VISIT_OUT << 32 | len(ids))
        ids.append(v.id_number)
    walk_ins = active * traffic.visitor_share * (traffic.walk_in_share if registered else 1.0)
    closed_gates = [cp for gates in cp_of for cp in gates]
    for _ in range(round(walk_ins)):
        gate = rng.choice(closed_gates) << 36
        in_ms = int(rng.uniform(8.5, 19.5) * HOUR)
        add(in_ms << 48 | gate | _VISIT_IN << 32 | len(ids))
        add(in_ms + int(rng.uniform(0.2, 3.0) * HOUR) << 48 | gate | _VISIT_OUT << 32 | len(ids))
        ids.append(visitor_id(rng))
    return ids


def _clip(ms: float) -> int:
    return int(min(DAY_MS - 10_000, max(1_000, ms)))


def _trips(rng: random.Random, second: float) -> list[tuple[int | None, int | None]]:
    """Out/in times of one resident's trips: commute, errand or evening, in sequence.

    A few residents only come home (night shift ending) or only leave.
    """
    u = rng.random()
    if u < 0.02:
        return [(None, _clip(rng.gauss(7.2, 0.7) * HOUR))]
    if u < 0.04:
        return [(_clip(rng.gauss(20.5, 1.0) * HOUR), None)]
    trips: list[tuple[int | None, int | None]] = []
    kind = rng.choices(("commute", "errand", "evening"), cum_weights=(0.45, 0.85, 1.0))[0]
    cursor = 0
    for _ in range(2 if rng.random() < second else 1):
        if kind == "commute":
            out_h, stay_h = rng.gauss(7.5, 0.6), max(0.5, rng.gauss(10.3, 1.0))
        elif kind == "errand":
            out_h, stay_h = rng.uniform(8.5, 16.5), rng.uniform(0.3, 3.0)
        else:
            out_h, stay_h = rng.gauss(19.2, 0.7), rng.uniform(0.4, 2.0)
        out_ms = max(_clip(out_h * HOUR), cursor + 600_000)
        in_ms = out_ms + int(stay_h * HOUR)
        if in_ms >= DAY_MS - 10_000:
            break
        trips.append((out_ms, in_ms))
        cursor = in_ms
        kind = "evening" if kind == "commute" else rng.choice(("errand", "evening"))
    return trips
