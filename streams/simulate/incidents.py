"""The article's two incidents, as events to inject into a simulated day.

Each ``Incident`` carries the events it injects and a description for the
demo's console ("injected: …"); the demo matches alerts to it by
``event_ids`` and measures the time from publishing to the alert. The
descriptions carry no personal data. ``rules`` names the rules the incident
is there to show. An incident without events is an outage: its checkpoint's
terminal sends nothing from ``inject_at`` to ``quiet_until`` (the demo matches
it by rule and checkpoint instead). The other scenarios, one per rule, are in
``streams.simulate.scenarios``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from schemas import Direction, Event, HealthCode, Passage, PerimeterReport, QrScan, Sighting
from schemas.common import ReportSource
from streams.idcard import with_check_digit
from streams.simulate.street import GONGSHU, TZ, WALL_CLIMB_ADDRESS, Street

XIACHENG = "330103"


@dataclass(frozen=True, slots=True)
class Incident:
    """One injected incident: what happened, where, and which events carry it."""

    name: str
    description_zh: str
    description_en: str
    inject_at: datetime
    checkpoint_id: str
    compound_id: str
    events: tuple[Event, ...]
    rules: tuple[str, ...] = ()
    quiet_until: datetime | None = None

    @property
    def event_ids(self) -> tuple[str, ...]:
        return tuple(e.event_id for e in self.events)


def wall_climbing(street: Street, *, day: date = date(2020, 2, 8)) -> Incident:
    """Lantern Festival night in 定阳社区: two outsiders climb into a closed compound.

    A guard reports two persons over the wall near the checkpoint at
    东河北街50号 at about 22:00; once identified, both are walked in through
    that checkpoint and recorded there. Neither is in the compound's register,
    so the "unregistered person" rule must fire for both passages.
    """
    cp = street.checkpoint_at(WALL_CLIMB_ADDRESS)
    # outsiders from Shangrao (Jiangxi), young; born 1999 and 2000 so the code is valid
    ids = (
        with_check_digit("36232119990716035"),
        with_check_digit("36232120000304062"),
    )
    known = {r.id_number for r in street.residents_of(cp.compound_id)}
    if known.intersection(ids):  # pragma: no cover - the street never issues Jiangxi 1999/2000 cards here
        raise RuntimeError("wall-climb persons collide with the register")
    at = datetime.combine(day, time(21, 58, 30), TZ)
    prefix = f"inc-{day:%Y%m%d}-wallclimb"
    report = PerimeterReport(
        event_id=f"{prefix}-report",
        event_time=at,
        compound_id=cp.compound_id,
        checkpoint_id=cp.checkpoint_id,
        source=ReportSource.GUARD,
        location=f"{WALL_CLIMB_ADDRESS}卡点旁围墙",
        person_count=2,
        id_numbers=ids,
    )
    passages = tuple(
        Passage(
            event_id=f"{prefix}-in-{k + 1}",
            event_time=at + timedelta(minutes=6, seconds=40 * k),
            checkpoint_id=cp.checkpoint_id,
            direction=Direction.IN,
            id_number=id_number,
            temperature_c=36.4 + 0.2 * k,
            health_code=HealthCode.GREEN,
        )
        for k, id_number in enumerate(ids)
    )
    return Incident(
        name="wall-climbing",
        description_zh="元宵夜定阳社区：两名外来人员翻墙进入封闭小区（东河北街50号卡点）",
        description_en=(
            "Lantern Festival night, Dingyang: two outsiders climb the wall into a closed "
            "compound (checkpoint at No. 50 Donghe North Street)"
        ),
        inject_at=at,
        checkpoint_id=cp.checkpoint_id,
        compound_id=cp.compound_id,
        events=(report, *passages),
        rules=("perimeter_breach", "unregistered_person", "late_night_entry"),
    )


def origin_mismatch(street: Street, *, day: date = date(2020, 2, 8)) -> Incident:
    """文峰社区 at ~22:00: a returnee declares Xiacheng (330103), her card says Gongshu (330105).

    She is a registered, verified Wenfeng resident entering her own compound,
    and Gongshu is yellow in the street's risk areas from 1 Feb 2020, so only
    the origin rule should fire.
    """
    wenfeng = street.community("文峰社区").code
    she = next(
        r for r in street.residents if r.community_code == wenfeng and r.id_number.startswith(GONGSHU)
    )
    ci = next(i for i, c in enumerate(street.compounds) if c.compound_id == she.compound_id)
    cp = street.checkpoints[street.compound_checkpoints[ci][0]]
    at = datetime.combine(day, time(22, 1, 15), TZ)
    passage = Passage(
        event_id=f"inc-{day:%Y%m%d}-origin-in",
        event_time=at,
        checkpoint_id=cp.checkpoint_id,
        direction=Direction.IN,
        id_number=she.id_number,
        temperature_c=36.6,
        health_code=HealthCode.GREEN,
        declared_origin=XIACHENG,
    )
    return Incident(
        name="origin-mismatch",
        description_zh="文峰社区：返乡人员自称来自杭州下城区，身份证地址为黄码地区拱墅区",
        description_en=(
            "Wenfeng: a returnee declares Hangzhou Xiacheng, her ID card says Gongshu, "
            "a yellow-code area"
        ),
        inject_at=at,
        checkpoint_id=cp.checkpoint_id,
        compound_id=cp.compound_id,
        events=(passage,),
        rules=("origin_mismatch",),
    )


def article_incidents(street: Street, *, day: date = date(2020, 2, 8)) -> tuple[Incident, ...]:
    """The article's two incidents on ``day``, in time order."""
    return tuple(sorted((wall_climbing(street, day=day), origin_mismatch(street, day=day)),
                        key=lambda i: i.inject_at))


def incident_person_ids(incidents: tuple[Incident, ...]) -> frozenset[str]:
    """ID numbers the incidents use, kept out of ordinary traffic so only the incident shows."""
    out: set[str] = set()
    for inc in incidents:
        for e in inc.events:
            if isinstance(e, Passage | QrScan | Sighting) and e.id_number:
                out.add(e.id_number)
            elif isinstance(e, PerimeterReport):
                out.update(e.id_numbers)
    return frozenset(out)
