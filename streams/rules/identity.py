"""Invalid identity: an ID number that cannot be real (the article's "identities cannot be faked").

Enrichment judges the number once (``streams.idcard.problems``) and carries
only the reasons, so this rule never sees the number and its texts cannot leak
it. A wrong number is a typo as often as a forgery; either way the person must
show the card and be registered again, hence one severity for every reason.
"""

from __future__ import annotations

from typing import Final

from schemas import EnrichedEvent, Severity
from streams.rules.base import BaseRule, Finding
from streams.rules.definition import RuleDefinition
from streams.rules.params import RuleParams

_REASON_ZH = {
    "structure": "格式不符",
    "birth_date": "出生日期无效",
    "check_digit": "校验码错误",
    "division": "地区码不存在",
}
_REASON_EN = {
    "structure": "malformed",
    "birth_date": "impossible birth date",
    "check_digit": "wrong check digit",
    "division": "division code that never existed",
}


class InvalidIdentity(BaseRule):
    rule_id = "invalid_identity"
    version = 1

    def evaluate(self, event: EnrichedEvent) -> Finding | None:
        reasons = event.id_problems
        if not reasons:
            return None
        return self.finding(
            Severity.HIGH,
            "身份证号无效：" + "、".join(_REASON_ZH.get(r, r) for r in reasons),
            "Invalid ID number: " + ", ".join(_REASON_EN.get(r, r) for r in reasons),
            "check the person's ID card in hand and re-register",
        )


class InvalidIdentityParams(RuleParams):
    """No parameters: the national standard's checks decide."""


DEFINITION: Final = RuleDefinition(
    rule=InvalidIdentity, params=InvalidIdentityParams, severity=Severity.HIGH, judged="event",
    build=lambda p, needs: InvalidIdentity(),
)
