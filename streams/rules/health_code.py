"""Health code check (验码): yellow restricts, red denies passage."""

from __future__ import annotations

from typing import Final

from pydantic import Field

from schemas import EnrichedEvent, HealthCode, Severity
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition
from streams.rules.params import RuleParams


class HealthCodeRule(BaseRule):
    rule_id = "health_code"
    version = 1

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        if event.health_code is HealthCode.RED:
            return self.finding(
                Severity.CRITICAL,
                "红码人员，禁止通行",
                "Red health code: passage denied",
                "deny passage; report to command post",
            )
        if event.health_code is HealthCode.YELLOW:
            return self.finding(
                Severity.WARNING,
                "黄码人员，限制通行",
                "Yellow health code: passage restricted",
                "restrict passage; verify quarantine status",
            )
        return None


class HealthCodeParams(RuleParams):
    red_severity: Severity = Field(
        default=Severity.CRITICAL, description="For a red code; the rule's severity is for a yellow one."
    )


DEFINITION: Final = RuleDefinition(
    rule=HealthCodeRule, params=HealthCodeParams, severity=Severity.WARNING, judged="event",
    build=lambda p, needs: HealthCodeRule(),
)
