"""Perimeter breach: someone climbed into a closed compound (翻墙)."""

from __future__ import annotations

from typing import Final

from schemas import EnrichedEvent, Severity
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition
from streams.rules.params import RuleParams


class PerimeterBreach(BaseRule):
    rule_id = "perimeter_breach"
    version = 1

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        if event.event_type != "perimeter_report":
            return None
        n = event.person_count
        who = f"，已核实身份 {len(event.linked_subjects)} 人" if event.linked_subjects else ""
        who_en = f", {len(event.linked_subjects)} identified" if event.linked_subjects else ""
        return self.finding(
            Severity.CRITICAL,
            f"{n} 人翻越围墙进入封闭小区{who}",
            f"{n} person(s) climbed the wall into a closed compound{who_en}",
            "dispatch grid staff; verify identities and dwelling",
        )


class PerimeterBreachParams(RuleParams):
    """No parameters: a report of a breach is a breach."""


DEFINITION: Final = RuleDefinition(
    rule=PerimeterBreach, params=PerimeterBreachParams, severity=Severity.CRITICAL, judged="event",
    build=lambda p, needs: PerimeterBreach(),
)
