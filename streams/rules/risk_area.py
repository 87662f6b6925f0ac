"""Risk-area arrival: a returnee arriving from a yellow or red area with no active quarantine order.

The area is the one the person declares at the checkpoint (returnees declare
where they came from). The division on the ID card is only an inference about
origin; a card from a risk area that differs from the declaration is
``origin_mismatch``'s finding, so this rule does not alert twice on it.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field

from schemas import Direction, EnrichedEvent, RiskColour, Severity, SubjectKind
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition
from streams.rules.params import RuleParams

_SEVERITY = {RiskColour.YELLOW: Severity.HIGH, RiskColour.RED: Severity.CRITICAL}
_COLOUR_ZH = {RiskColour.YELLOW: "黄色", RiskColour.RED: "红色"}


class RiskAreaArrival(BaseRule):
    rule_id = "risk_area_arrival"
    version = 1

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        if event.subject_kind is not SubjectKind.PERSON or event.direction is not Direction.IN:
            return None
        colour, area = event.declared_origin_risk, event.declared_origin
        if colour is None or colour not in _SEVERITY or not area or event.quarantine_active:
            return None
        return self.finding(
            _SEVERITY[colour],
            f"来自{_COLOUR_ZH[colour]}风险区 {area} 的返回人员，无有效居家隔离令",
            f"Arrival from {colour.value} risk area {area} without an active quarantine order",
            "issue a home-quarantine order; notify the grid to escort the person home",
        )


class RiskAreaArrivalParams(RuleParams):
    red_area_severity: Severity = Field(
        default=Severity.CRITICAL, description="From a red area; the rule's severity is for a yellow one."
    )


DEFINITION: Final = RuleDefinition(
    rule=RiskAreaArrival, params=RiskAreaArrivalParams, severity=Severity.HIGH, judged="event",
    build=lambda p, needs: RiskAreaArrival(),
)
