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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from schemas import Direction, Event, EventBatch, HealthCode, Passage, QrScan, SubjectKind
from streams.idcard import is_valid, with_check_digit
from streams.simulate.incidents import Incident, day_incidents, incident_person_ids
from streams.simulate.street import TZ, Street

HOUR = 3_600_000  # ms
DAY_MS = 24 * HOUR
_OUT, _IN, _QR, _CAR_OUT, _CAR_IN, _VISIT_IN, _VISIT_OUT = range(7)
_PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ" + string.digits
_VISITOR_BORN = (date(1990, 1, 1).toordinal(), date(2001, 12, 31).toordinal())
_VISITOR_CODES = ("330802", "330824", "330825", "330881")  # never issued to the register


@dataclass(frozen=True, slots=True)
class Traffic:
    """Behaviour knobs; the defaults give ~2.5 events per resident-day."""

    active_share: float = 0.85  # residents of closed compounds who go out at all
    second_trip: float = 0.35
    qr_share: float = 0.85  # verified residents who also scan the community code on the way in
    vehicle_share: float = 0.03  # of active residents, who drive out and back
    visitor_share: float = 0.004  # outsiders per active resident
    fever: float = 0.0005  # per person passage
    yellow: float = 0.002  # per person-day
    red: float = 0.0002
    declare_share: float = 0.5  # returnees who state their origin on the way in


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


def _day_events(
    street: Street,
    *,
    seed: int,
    day: date,
    incidents: Sequence[Incident],
    traffic: Traffic,
) -> Iterator[tuple[str, Event]]:
    """(checkpoint id, event) in event-time order: the plan rendered, incidents merged in."""
    rng = random.Random(f"day:{seed}:{day.isoformat()}")
    plan, codes, plates, visitors = _plan(street, rng, day, incidents, traffic)
    start = datetime.combine(day, time(), TZ)
    prefix = f"s{seed}-{day:%Y%m%d}"
    extra = sorted(
        ((e.event_time, inc.checkpoint_id, e) for inc in incidents for e in inc.events),
        key=lambda x: x[0],
    )
    cps = street.checkpoints
    residents = street.residents
    for n, packed in enumerate(plan):
        t_ms = packed >> 48
        cp = cps[(packed >> 36) & 0xFFF]
        kind = (packed >> 32) & 0xF
        idx = packed & 0xFFFFFFFF
        when = start + timedelta(milliseconds=t_ms)
        while extra and extra[0][0] <= when:
            _, cp_id, event = extra.pop(0)
            yield cp_id, event
        eid = f"{prefix}-{n:07d}"
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
        yield cp.checkpoint_id, Passage.model_construct(
            event_id=eid,
            event_time=when,
            checkpoint_id=cp.checkpoint_id,
            direction=Direction.IN if kind in (_IN, _VISIT_IN) else Direction.OUT,
            id_number=id_number,
            temperature_c=_temperature(rng, traffic.fever),
            health_code=code,
            declared_origin=declared,
        )
    for _, cp_id, event in extra:
        yield cp_id, event


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
    """The day as sorted packed ints: time ms << 48 | checkpoint << 36 | kind << 32 | subject."""
    plan: list[int] = []
    add = plan.append
    codes: dict[int, HealthCode] = {}
    held = street.quarantined_on(day) | incident_person_ids(tuple(incidents))
    cp_of = street.compound_checkpoints
    res_compound = street.resident_compound
    closed_gates: list[int] = [cp for gates in cp_of for cp in gates]
    active = 0
    for i, r in enumerate(street.residents):
        gates = cp_of[res_compound[i]]
        if not gates or rng.random() >= traffic.active_share or r.id_number in held:
            continue
        active += 1
        u = rng.random()
        if u < traffic.red:
            codes[i] = HealthCode.RED
        elif u < traffic.red + traffic.yellow:
            codes[i] = HealthCode.YELLOW
        scans = r.verified and rng.random() < traffic.qr_share
        for out_ms, in_ms in _trips(rng, traffic.second_trip):
            if out_ms is not None:
                add(out_ms << 48 | rng.choice(gates) << 36 | _OUT << 32 | i)
            if in_ms is not None:
                gate = rng.choice(gates) << 36
                if scans:
                    add(in_ms << 48 | gate | _QR << 32 | i)
                    in_ms = min(DAY_MS - 1, in_ms + rng.randint(1500, 9000))
                add(in_ms << 48 | gate | _IN << 32 | i)
    plates = []
    for k in range(round(active * traffic.vehicle_share)):
        plates.append("浙H" + "".join(rng.choices(_PLATE_CHARS, k=5)))
        gate = rng.choice(closed_gates) << 36
        out_ms = _clip(rng.gauss(7.8, 1.0) * HOUR)
        in_ms = max(out_ms + 600_000, _clip(rng.gauss(18.0, 1.0) * HOUR))
        add(out_ms << 48 | gate | _CAR_OUT << 32 | k)
        if in_ms < DAY_MS:
            add(in_ms << 48 | gate | _CAR_IN << 32 | k)
    visitors = []
    for k in range(round(active * traffic.visitor_share)):
        visitors.append(_visitor_id(rng))
        gate = rng.choice(closed_gates) << 36
        in_ms = int(rng.uniform(8.5, 19.5) * HOUR)
        add(in_ms << 48 | gate | _VISIT_IN << 32 | k)
        add(in_ms + int(rng.uniform(0.2, 3.0) * HOUR) << 48 | gate | _VISIT_OUT << 32 | k)
    plan.sort()
    return plan, codes, plates, visitors


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


def _visitor_id(rng: random.Random) -> str:
    """An outsider's valid ID from a neighbouring county or province (not in any register)."""
    while True:
        born = date.fromordinal(rng.randint(_VISITOR_BORN[0], _VISITOR_BORN[1]))
        number = with_check_digit(f"{rng.choice(_VISITOR_CODES)}{born:%Y%m%d}{rng.randrange(1000):03d}")
        if is_valid(number):
            return number
