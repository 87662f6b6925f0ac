"""The detection rules: pure logic over enriched events.

``default_rules`` builds the catalogue the worker runs, from settings.
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
from streams.settings import RuleSettings


def default_rules(settings: RuleSettings) -> tuple[Rule, ...]:
    return (
        PerimeterBreach(),
        UnregisteredPerson(),
        Fever(threshold_c=settings.fever_threshold_c),
        HealthCodeRule(),
        OriginMismatch(),
    )


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
    "default_rules",
    "evaluate",
]
