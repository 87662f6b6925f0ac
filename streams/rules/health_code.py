"""Health code check (验码): yellow restricts, red denies passage."""

from __future__ import annotations

from schemas import EnrichedEvent, HealthCode, Severity
from streams.rules.base import Finding


class HealthCodeRule:
    rule_id = "health_code"
    version = 1

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        if event.health_code is HealthCode.RED:
            return Finding(
                rule_id=self.rule_id,
                rule_version=self.version,
                severity=Severity.CRITICAL,
                summary_zh="红码人员，禁止通行",
                summary_en="Red health code: passage denied",
                action="deny passage; report to command post",
            )
        if event.health_code is HealthCode.YELLOW:
            return Finding(
                rule_id=self.rule_id,
                rule_version=self.version,
                severity=Severity.WARNING,
                summary_zh="黄码人员，限制通行",
                summary_en="Yellow health code: passage restricted",
                action="restrict passage; verify quarantine status",
            )
        return None
