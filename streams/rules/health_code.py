"""Health code check (验码): yellow restricts, red denies passage."""

from __future__ import annotations

from schemas import EnrichedEvent, HealthCode, Severity
from streams.rules.base import BaseRule, Finding


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
