"""Quarantine breach: a person under an active home-quarantine order is out (居家隔离违规).

Out means: passing any checkpoint outward; being seen at a compound other
than the one the order confines them to; being seen at another dwelling than
theirs on a household visit; or scanning an inner point of a compound, which
is outside the dwelling. A household visit or patrol check at their own
dwelling is the grid checking on them, not a breach. The order is over at
``ends_at`` exactly (enrichment's ``quarantine_active``).
"""

from __future__ import annotations

from typing import Final

from schemas import Direction, EnrichedEvent, Severity, SubjectKind
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition
from streams.rules.params import RuleParams


class QuarantineBreach(BaseRule):
    rule_id = "quarantine_breach"
    version = 1

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        if event.subject_kind is not SubjectKind.PERSON or not event.quarantine_active:
            return None
        where = _breach(event)
        if where is None:
            return None
        zh, en = where
        return self.finding(
            Severity.CRITICAL,
            f"居家隔离人员{zh}",
            f"Person under home quarantine {en}",
            "escort the person back to the quarantine dwelling; notify the grid and the command post",
        )


def _breach(event: EnrichedEvent) -> tuple[str, str] | None:
    """How the person is out, as Chinese and English text naming only places; None if they are not."""
    if event.direction is Direction.OUT:
        return "外出经过卡点", "passed a checkpoint outward"
    confined = event.quarantine_compound_id
    here = event.place.compound_id
    if confined and here and here != confined:
        return f"出现在隔离地以外的小区 {here}", f"seen at compound {here}, outside the confinement"
    if event.event_type != "sighting":
        return None
    if event.dwelling_id and event.quarantine_dwelling_id and event.dwelling_id != event.quarantine_dwelling_id:
        return "在其他住户家中被发现", "found at another dwelling on a household visit"
    if event.sighting_kind == "inner_scan":
        return "在小区内部卡点扫码（已离开隔离住所）", "scanned at an inner point of the compound, outside the dwelling"
    return None


class QuarantineBreachParams(RuleParams):
    """No parameters: the order's terms decide."""


DEFINITION: Final = RuleDefinition(
    rule=QuarantineBreach, params=QuarantineBreachParams, severity=Severity.CRITICAL, judged="event",
    build=lambda p, needs: QuarantineBreach(),
)
