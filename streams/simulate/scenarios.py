"""One scenario per detection rule, injected into the simulated day at the rate a street sees them.

The article's two incidents (``streams.simulate.incidents``) show four rules;
the scenarios here show the rest, each a handful of events a day, so that a
demo day (and the simulator's self-check test) sees every rule of the
catalogue fire at least once without the street looking like a riot. The
persons they use are picked by a seeded random stream and kept out of the
day's ordinary traffic (``incident_person_ids``), so each scenario produces
exactly the signals it describes. ``register_mismatch`` comes from the
upstream registers (``streams.simulate.upstream``), not from events.

Descriptions carry no personal data: places and what happened only.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from schemas import Checkpoint, Direction, Event, HealthCode, Passage, Resident, Sighting
from streams.geo import distance_m
from streams.idcard import with_check_digit
from streams.simulate.incidents import Incident, article_incidents, wall_climbing
from streams.simulate.street import TZ, Street
from streams.simulate.upstream import LATE_VISIT_ID

WENZHOU = "330300"  # red in the street's risk areas from 1 Feb 2020
_FLATMATES = (  # the man and two women found in the Lantern Festival flat (Shangrao cards)
    "36232119961102051",
    "36232119980423082",
    "36232119990817064",
)


class _Picker:
    """Distinct residents of closed compounds, drawn by a seeded stream: cheap at a million residents."""

    def __init__(self, street: Street, day: date) -> None:
        self.street = street
        self._rng = random.Random(f"scenarios:{street.seed}:{day.isoformat()}")
        self._quarantined = street.quarantined_on(day)
        self._used: set[int] = set()

    def resident(self, *, quarantined: bool = False, local: bool = True, not_in: str = "") -> tuple[Resident, int]:
        s = self.street
        while True:
            i = self._rng.randrange(len(s.residents))
            r = s.residents[i]
            ci = s.resident_compound[i]
            if (
                i in self._used
                or not s.compound_checkpoints[ci]
                or (r.id_number in self._quarantined) is not quarantined
                or (local and not r.id_number.startswith("33"))
                or r.compound_id == not_in
            ):
                continue
            self._used.add(i)
            return r, ci

    def gate(self, ci: int) -> Checkpoint:
        return self.street.checkpoints[self.street.compound_checkpoints[ci][0]]


def _at(day: date, h: int, m: int, s: int = 0) -> datetime:
    return datetime.combine(day, time(h, m, s), TZ)


def _passage(eid: str, at: datetime, cp: Checkpoint, direction: Direction, id_number: str, **kw: object) -> Passage:
    return Passage(
        event_id=eid,
        event_time=at,
        checkpoint_id=cp.checkpoint_id,
        direction=direction,
        id_number=id_number,
        temperature_c=kw.pop("temperature_c", 36.5),
        health_code=kw.pop("health_code", HealthCode.GREEN),
        **kw,
    )


def _incident(
    name: str, zh: str, en: str, cp: Checkpoint, events: tuple[Event, ...], rules: tuple[str, ...]
) -> Incident:
    return Incident(
        name=name,
        description_zh=zh,
        description_en=en,
        inject_at=min(e.event_time for e in events),
        checkpoint_id=cp.checkpoint_id,
        compound_id=cp.compound_id,
        events=events,
        rules=rules,
    )


def lantern_flat(street: Street, *, day: date) -> Incident:
    """After the wall climb, the grid's household visit finds five people in a flat registered for two."""
    climb = wall_climbing(street, day=day)
    cp = next(c for c in street.checkpoints if c.checkpoint_id == climb.checkpoint_id)
    sizes = Counter(r.dwelling_id for r in street.residents_of(cp.compound_id))
    flat = next(d for d, n in sorted(sizes.items()) if n == 2)
    climbers = tuple(p.id_number for p in climb.events[1:] if isinstance(p, Passage) and p.id_number)
    persons = (*climbers, *(with_check_digit(x) for x in _FLATMATES))
    at = _at(day, 22, 40)
    events = tuple(
        Sighting(
            event_id=f"inc-{day:%Y%m%d}-flat-{k + 1}",
            event_time=at + timedelta(seconds=45 * k),
            kind="household_visit",
            compound_id=cp.compound_id,
            dwelling_id=flat,
            id_number=id_number,
        )
        for k, id_number in enumerate(persons)
    )
    return _incident(
        "lantern-flat",
        "元宵夜定阳社区：入户走访发现登记2人的出租房内有5人（疑似传销窝点）",
        "Lantern Festival night, Dingyang: a household visit finds five people in a flat registered for two",
        cp, events, ("dwelling_overcrowded", "bypass_entry", "unregistered_person"),
    )


def _scenarios(street: Street, day: date) -> Iterator[Incident]:
    pick = _Picker(street, day)
    p = f"inc-{day:%Y%m%d}"

    r, ci = pick.resident()
    cp = pick.gate(ci)
    yield _incident(
        "fever-remeasured", "入门测温37.9°C，4分钟后复测36.7°C",
        "Fever 37.9 °C at the gate, re-measured 36.7 °C after 4 min",
        cp, (
            _passage(f"{p}-fever-1", _at(day, 8, 15), cp, Direction.IN, r.id_number, temperature_c=37.9),
            _passage(f"{p}-fever-2", _at(day, 8, 19), cp, Direction.IN, r.id_number, temperature_c=36.7),
        ), ("fever",))

    r, ci = pick.resident()
    cp = pick.gate(ci)
    mistyped = r.id_number[:17] + ("0" if r.id_number[17] != "0" else "1")
    other_r, other_ci = pick.resident()
    other = pick.gate(other_ci)
    yield _incident(
        "identity-typo", "卡点登记身份证号校验码错误", "A guard registers an ID number with a wrong check digit",
        cp, (_passage(f"{p}-typo", _at(day, 9, 20), cp, Direction.IN, mistyped),), ("invalid_identity",))
    yield _incident(
        "identity-malformed", "卡点登记身份证号位数不足", "A guard registers an ID number that is too short",
        other, (_passage(f"{p}-short", _at(day, 16, 45), other, Direction.IN, other_r.id_number[:13]),),
        ("invalid_identity",))

    r, ci = pick.resident()
    cp = pick.gate(ci)
    r2, ci2 = pick.resident()
    cp2 = pick.gate(ci2)
    yield _incident(
        "health-code-yellow", "黄码人员出门", "A yellow-code resident passes a gate outward",
        cp, (_passage(f"{p}-yellow", _at(day, 10, 30), cp, Direction.OUT, r.id_number,
                      health_code=HealthCode.YELLOW),), ("health_code",))
    yield _incident(
        "health-code-red", "红码人员进门", "A red-code resident at the gate, inward",
        cp2, (_passage(f"{p}-red", _at(day, 17, 20), cp2, Direction.IN, r2.id_number,
                       health_code=HealthCode.RED),), ("health_code",))

    r, ci = pick.resident(quarantined=True, local=False)
    cp = pick.gate(ci)
    yield _incident(
        "quarantine-breach", "居家隔离人员经卡点外出，1小时后被劝返",
        "A person under home quarantine passes the gate outward; escorted back an hour later",
        cp, (
            _passage(f"{p}-qout", _at(day, 14, 5), cp, Direction.OUT, r.id_number),
            _passage(f"{p}-qback", _at(day, 15, 10), cp, Direction.IN, r.id_number),
        ), ("quarantine_breach",))

    intruder, _ = pick.resident()
    r, ci = pick.resident(not_in=intruder.compound_id)
    yield _incident(
        "patrol-inside", "巡查在封闭小区内发现无进门记录的外小区人员",
        "A patrol finds a person from another compound inside a closed compound, with no entry on record",
        pick.gate(ci), (
            Sighting(event_id=f"{p}-patrol", event_time=_at(day, 15, 10), kind="patrol_check",
                     compound_id=r.compound_id, id_number=intruder.id_number),
        ), ("bypass_entry", "unregistered_person"))

    r, ci = pick.resident()
    cp = pick.gate(ci)
    yield _incident(
        "risk-area-arrival", "自红色风险区温州返回的居民，无居家隔离令",
        "A resident back from Wenzhou, a red risk area, with no home-quarantine order",
        cp, (_passage(f"{p}-wenzhou", _at(day, 19, 5), cp, Direction.IN, r.id_number, declared_origin=WENZHOU),),
        ("risk_area_arrival", "origin_mismatch"))

    r, ci = pick.resident()
    cp = pick.gate(ci)
    far = max(street.gates, key=lambda g: distance_m(cp.lat, cp.lon, g.lat, g.lon))
    yield _incident(
        "cloned-code", "同一健康码50秒内出现在相距较远的两个卡点（疑似克隆）",
        "One person's code at two far-apart checkpoints within 50 s (a cloned code)",
        cp, (
            _passage(f"{p}-clone-1", _at(day, 17, 40), cp, Direction.IN, r.id_number),
            _passage(f"{p}-clone-2", _at(day, 17, 40, 50), far, Direction.IN, r.id_number),
        ), ("impossible_travel",))

    visit = next(v for v in street.visitors if v.visit_id == LATE_VISIT_ID)
    if visit.valid_from.date() == day:
        ci = next(i for i, c in enumerate(street.compounds) if c.compound_id == visit.compound_id)
        cp = pick.gate(ci)
        yield _incident(
            "late-visitor", "23:30 已登记来访人员进入小区", "A registered visitor enters a compound at 23:30",
            cp, (_passage(f"{p}-late", _at(day, 23, 30), cp, Direction.IN, visit.id_number),),
            ("late_night_entry",))

    yield silent_gate(street, day=day, avoid={i.compound_id for i in article_incidents(street, day=day)})


def silent_gate(street: Street, *, day: date, avoid: frozenset[str] | set[str] = frozenset()) -> Incident:
    """A side gate's terminal goes quiet 10:00-12:00; its traffic goes round by the main gate meanwhile."""
    ci = next(
        i for i, gates in enumerate(street.compound_checkpoints)
        if len(gates) == 2 and street.compounds[i].compound_id not in avoid
    )
    cp = street.checkpoints[street.compound_checkpoints[ci][1]]
    return Incident(
        name="silent-gate",
        description_zh=f"{cp.name}终端离线2小时（10:00-12:00），人员改走正门",
        description_en=f"The terminal at side gate {cp.checkpoint_id} is offline for 2 h (10:00-12:00)",
        inject_at=_at(day, 10, 0),
        checkpoint_id=cp.checkpoint_id,
        compound_id=cp.compound_id,
        events=(),
        rules=("silent_checkpoint",),
        quiet_until=_at(day, 12, 0),
    )


def day_incidents(street: Street, *, day: date = date(2020, 2, 8)) -> tuple[Incident, ...]:
    """The article's incidents and one scenario per remaining rule on ``day``, in time order."""
    everything = (*article_incidents(street, day=day), lantern_flat(street, day=day), *_scenarios(street, day))
    return tuple(sorted(everything, key=lambda i: i.inject_at))
