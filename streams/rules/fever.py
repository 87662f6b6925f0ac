"""Fever at the checkpoint (测温): the guard's reading at or above the threshold."""

from __future__ import annotations

from schemas import EnrichedEvent, Severity
from streams.rules.base import BaseRule, Finding


class Fever(BaseRule):
    rule_id = "fever"
    version = 1

    def __init__(self, *, threshold_c: float = 37.3) -> None:
        self.threshold_c = threshold_c

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        t = event.temperature_c
        if t is None or t < self.threshold_c:
            return None
        return self.finding(
            Severity.HIGH,
            f"体温异常 {t:.1f}°C（阈值 {self.threshold_c:.1f}°C）",
            f"Fever {t:.1f} °C (threshold {self.threshold_c:.1f} °C)",
            "re-measure; refer to fever clinic",
        )
