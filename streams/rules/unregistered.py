"""Unregistered person: seen entering where the register does not know them.

"Where" is the compound for a guard's inward passage and the village or
community for a QR scan (扫码进村), since a scan identifies the person as a
resident of the community whose code they scan. A person unknown to every
register is flagged wherever they are seen entering.
"""

from __future__ import annotations

from schemas import Direction, EnrichedEvent, Severity, SubjectKind
from streams.rules.base import BaseRule, Finding


class UnregisteredPerson(BaseRule):
    rule_id = "unregistered_person"
    version = 1

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        if event.subject_kind is not SubjectKind.PERSON:
            return None
        if event.event_type == "passage" and event.direction is not Direction.IN:
            return None
        place = event.place
        if not event.resident_known:
            return self.finding(
                Severity.WARNING,
                "非登记人员进入（不在任何住户登记中）",
                "Person not in any register entered",
                "stop and register the person; check host dwelling",
            )
        if event.event_type == "qr_scan":
            foreign = bool(place.community_code) and event.home_community_code != place.community_code
        else:
            foreign = bool(place.compound_id) and event.home_compound_id != place.compound_id
        if not foreign:
            return None
        return self.finding(
            Severity.WARNING,
            "非本小区/村社登记人员进入",
            "Person registered elsewhere entered this compound/community",
            "verify purpose of visit and host dwelling",
        )
