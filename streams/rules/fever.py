"""Fever at the checkpoint (测温): the guard's reading at or above the threshold."""

from __future__ import annotations

from schemas import EnrichedEvent, Severity
from streams.rules.base import Finding


class Fever:
    rule_id = "fever"
    version = 1

    def __init__(self, *, threshold_c: float = 37.3) -> None:
        self.threshold_c = threshold_c

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        t = event.temperature_c
        if t is None or t < self.threshold_c:
            return None
        return Finding(
            rule_id=self.rule_id,
            rule_version=self.version,
            severity=Severity.HIGH,
            summary_zh=f"体温异常 {t:.1f}°C（阈值 {self.threshold_c:.1f}°C）",
            summary_en=f"Fever {t:.1f} °C (threshold {self.threshold_c:.1f} °C)",
            action="re-measure; refer to fever clinic",
        )
