"""Origin mismatch: an arrival's declared origin is not the division on their ID card.

The first six digits of an ID number are the division of the household
registration when the number was issued, so a mismatch is an inference, not
proof: people move. It matters when either place is a risk area, as with the
Wenfeng returnee who declared Xiacheng (330103) while her card said Gongshu
(330105), a yellow area that required quarantine.

Both codes are compared as the county in force on the event date
(``streams.divisions.county_at``): a card keeps the code of when it was issued,
so an older Changshan card (332529) is the same county as 330822, and after
April 2021 Xiacheng (330103) is part of Gongshu (330105).
"""

from __future__ import annotations

from typing import Final

from pydantic import Field

from schemas import Direction, EnrichedEvent, RiskColour, Severity
from streams.divisions import county_at, event_date
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition
from streams.rules.params import RuleParams

_RISKY = (RiskColour.YELLOW, RiskColour.RED)
_COLOUR_ZH = {RiskColour.GREEN: "绿色", RiskColour.YELLOW: "黄色", RiskColour.RED: "红色"}


class OriginMismatch(BaseRule):
    rule_id = "origin_mismatch"
    version = 2

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        declared, card = event.declared_origin, event.card_division
        if event.direction is not Direction.IN or not declared or not card:
            return None
        at = event_date(event.event_time)
        if county_at(declared, at) == county_at(card, at):
            return None
        risks = [r for r in (event.declared_origin_risk, event.card_division_risk) if r in _RISKY]
        base_zh = f"申报来源地 {declared} 与身份证地址 {card} 不符（据证件号推断）"
        base_en = f"Declared origin {declared} differs from ID card division {card} (inferred from the ID number)"
        if not risks:
            return self.finding(
                Severity.WARNING,
                base_zh,
                base_en,
                "verify travel history",
            )
        worst = RiskColour.RED if RiskColour.RED in risks else RiskColour.YELLOW
        area = card if event.card_division_risk == worst else declared
        return self.finding(
            Severity.CRITICAL if worst is RiskColour.RED else Severity.HIGH,
            f"{base_zh}；{area} 为{_COLOUR_ZH[worst]}风险区，需隔离",
            f"{base_en}; {area} is a {worst.value} risk area: quarantine required",
            "quarantine required",
        )


class OriginMismatchParams(RuleParams):
    yellow_area_severity: Severity = Field(default=Severity.HIGH, description="When either place is a yellow area.")
    red_area_severity: Severity = Field(default=Severity.CRITICAL, description="When either place is a red area.")


DEFINITION: Final = RuleDefinition(
    rule=OriginMismatch, params=OriginMismatchParams, severity=Severity.WARNING, judged="event",
    build=lambda p, needs: OriginMismatch(),
)
