"""The detection rules: pure logic over enriched events, each defined whole in its own module.

``RULES`` lists every rule's ``DEFINITION`` (``streams.rules.definition``), in
the catalogue's order. Which rules run, with which thresholds, is the
catalogue's business (``streams/rules/catalogue.yaml``); ``streams.engine.Engine``
builds them from these definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from schemas import EnrichedEvent
from streams.rules import (
    bypass,
    fever,
    health_code,
    identity,
    late_night,
    origin,
    overcrowded,
    perimeter,
    quarantine,
    register_mismatch,
    risk_area,
    silent,
    travel,
    unregistered,
)
from streams.rules.base import Finding, Rule
from streams.rules.definition import RuleDefinition
from streams.rules.fever import Fever
from streams.rules.health_code import HealthCodeRule
from streams.rules.origin import OriginMismatch
from streams.rules.perimeter import PerimeterBreach
from streams.rules.unregistered import UnregisteredPerson

RULES: Final[tuple[RuleDefinition[Any], ...]] = (
    perimeter.DEFINITION,
    bypass.DEFINITION,
    unregistered.DEFINITION,
    identity.DEFINITION,
    origin.DEFINITION,
    risk_area.DEFINITION,
    health_code.DEFINITION,
    fever.DEFINITION,
    quarantine.DEFINITION,
    travel.DEFINITION,
    overcrowded.DEFINITION,
    late_night.DEFINITION,
    register_mismatch.DEFINITION,
    silent.DEFINITION,
)
"""Every rule there is, in the catalogue's order."""
RULE_IDS: Final[tuple[str, ...]] = tuple(d.id for d in RULES)


def definition(rule_id: str) -> RuleDefinition[Any]:
    for d in RULES:
        if d.id == rule_id:
            return d
    raise KeyError(f"unknown rule id {rule_id!r}; known: {', '.join(RULE_IDS)}")


def evaluate(rules: Sequence[Rule], event: EnrichedEvent) -> list[Finding]:
    return [f for rule in rules if (f := rule.evaluate(event)) is not None]


__all__ = [
    "RULES",
    "RULE_IDS",
    "Fever",
    "Finding",
    "HealthCodeRule",
    "OriginMismatch",
    "PerimeterBreach",
    "Rule",
    "UnregisteredPerson",
    "definition",
    "evaluate",
]
