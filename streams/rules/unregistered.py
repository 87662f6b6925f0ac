"""Unregistered person: seen entering where the register does not know them.

"Where" is the compound for a guard's inward passage or a sighting inside a
compound, and the village or community for a QR scan (扫码进村), since a scan
identifies the person as a resident of the community whose code they scan. A
person unknown to every register is flagged wherever they are seen entering.
A visit registered by a guard (host dwelling, valid until) that is valid at
event time for this compound is not an alert: the guard has registered them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Final

from schemas import Direction, EnrichedEvent, Resident, Severity, SubjectKind
from streams.master import home_of
from streams.privacy import mask_id
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition
from streams.rules.params import RuleParams


def registered_here(event: EnrichedEvent) -> bool:
    """The person is registered at the compound (or, for a QR scan, the community) where the event happened.

    Where the place is unknown to master data, a registered person gets the
    benefit of the doubt: there is nothing to compare their home with.
    """
    if not event.resident_known:
        return False
    place = event.place
    if event.event_type == "qr_scan":
        return not place.community_code or event.home_community_code == place.community_code
    return not place.compound_id or event.home_compound_id == place.compound_id


class UnregisteredPerson(BaseRule):
    rule_id = "unregistered_person"
    version = 2  # 2: a guard-registered visit valid at event time exempts

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        if event.subject_kind is not SubjectKind.PERSON:
            return None
        if event.event_type == "passage" and event.direction is not Direction.IN:
            return None
        if event.visitor_active or registered_here(event):
            return None
        if not event.resident_known:
            found = self.finding(
                Severity.WARNING,
                "非登记人员进入（不在任何住户登记中）",
                "Person not in any register entered",
                "stop and register the person; check host dwelling",
            )
        else:
            found = self.finding(
                Severity.WARNING,
                "非本小区/村社登记人员进入",
                "Person registered elsewhere entered this compound/community",
                "verify purpose of visit and host dwelling",
            )
        # one alert per person and compound, whichever gate: registering the person there resolves it
        return replace(found, scope="compound")


def registered_since(person_key: str, resident: Resident, *, offset: int, version: int,
                     now: datetime) -> tuple[Finding, EnrichedEvent]:
    """The finding that a person newly registered at a compound resolves its open alert there, and its event.

    The event id is the register record's offset, the same in every worker
    that replicates the register, so the alert book takes the first and
    ignores the rest as replays. ``register_change``: the registration has no
    event time (``now`` only stamps the synthetic event), so it resolves the
    alert whatever its events' times and leaves its ``last_event_time`` as
    the events put it; the same person seen unregistered later in event time
    then opens a new alert, as it should.
    """
    finding = Finding(
        UnregisteredPerson.rule_id, version, Severity.INFO,
        "已补充登记为本小区住户", "Registered as a resident of this compound since",
        resolves=True, register_change=True, scope="compound",
    )
    event = EnrichedEvent(
        event_id=f"resident:{person_key}:{offset}",
        event_type="register_check",
        event_time=now,
        place=home_of(resident),
        subject_key=person_key,
        subject_masked=mask_id(resident.id_number),
        resident_known=True,
        home_compound_id=resident.compound_id,
        home_dwelling_id=resident.dwelling_id,
    )
    return finding, event


class UnregisteredPersonParams(RuleParams):
    """No parameters: the registers decide."""


DEFINITION: Final = RuleDefinition(
    rule=UnregisteredPerson, params=UnregisteredPersonParams, severity=Severity.WARNING, judged="event",
    build=lambda p, needs: UnregisteredPerson(),
)
