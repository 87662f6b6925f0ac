"""The detection rules: pure logic over enriched events.

Which rules run, with which thresholds, is the catalogue's business
(``streams/rules/catalogue.yaml``); ``streams.engine.Engine`` builds them.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas import EnrichedEvent
from streams.rules.base import Finding, Rule
from streams.rules.fever import Fever
from streams.rules.health_code import HealthCodeRule
from streams.rules.origin import OriginMismatch
from streams.rules.perimeter import PerimeterBreach
from streams.rules.unregistered import UnregisteredPerson


def evaluate(rules: Sequence[Rule], event: EnrichedEvent) -> list[Finding]:
    return [f for rule in rules if (f := rule.evaluate(event)) is not None]


__all__ = [
    "Fever",
    "Finding",
    "HealthCodeRule",
    "OriginMismatch",
    "PerimeterBreach",
    "Rule",
    "UnregisteredPerson",
    "evaluate",
]
