"""What makes a rule, declared once beside its logic: ``DEFINITION`` at the foot of each rule's module.

A rule used to be spread over six files: its logic and version in its module,
its parameters and catalogue entry model in the catalogue, how it is built
and which state family it belongs to in the engine, its state model and the
table key its state is bundled under in the worker's tables. Now its module
says all of it, and the catalogue, the engine and the worker's tables read
these definitions (``streams.rules.RULES``) instead of naming rules.

The catalogue (YAML) still says which rules run and at what severity: those
are the command post's settings, not the rule's definition. What the code
reports before the catalogue maps it is ``severity`` here (and, for graded
rules, the defaults of their ``Severity`` parameters).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from schemas import Severity
from streams.rules.params import RuleParams
from streams.rules.state import State

Family = Literal["person", "dwelling", "checkpoint"]
"""Stateful rules judged together on the partition of one key: a person key, a dwelling id, a checkpoint id."""
FAMILIES: tuple[Family, ...] = ("person", "dwelling", "checkpoint")
Judged = Literal["event", "registers", "person", "dwelling", "checkpoint"]
"""Where a rule is judged: per event where the upload arrives, on register changes, or in a stateful family."""

P = TypeVar("P", bound=RuleParams)


def person_bundle(key: str) -> str:
    """Person rules' keys start with the person key (``<person key>|<compound>`` for anti-passback): one
    table key holds all of a person's rule states, so a person's event is one table write."""
    return "person|" + key.split("|", 1)[0]


FAMILY_BUNDLES: Mapping[Family, Callable[[str], str]] = {
    "person": person_bundle,
    "dwelling": lambda key: "dwelling|" + key,
    "checkpoint": lambda key: "checkpoint|" + key,
}


@dataclass(frozen=True, slots=True)
class StateSlot:
    """One named state of a rule: what its values are, and under which table key (bundle) the worker keeps
    them; ``bundle=None`` is the family's bundle."""

    model: type[BaseModel]
    bundle: Callable[[str], str] | None = None


@dataclass(frozen=True, slots=True)
class Needs:
    """What building a rule may use besides its parameters: ``states(name)`` gives each named state its
    store (memory in tests, a table in the worker); ``index_of(person key)`` names the index (the partition,
    in the worker) where anti-passback lists the sightings it holds."""

    states: Callable[[str], State[Any]]
    index_of: Callable[[str], str]


@dataclass(frozen=True, slots=True)
class RuleDefinition(Generic[P]):
    """A rule, whole: its class (id and version), parameters, built-in severity, where it is judged, its
    state, and how it is built from its parameters."""

    rule: type[Any]
    params: type[P]
    severity: Severity
    judged: Judged
    build: Callable[[P, Needs], Any]
    states: Mapping[str, StateSlot] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.rule.rule_id)

    @property
    def version(self) -> int:
        return int(self.rule.version)

    def bundle(self, state: str) -> Callable[[str], str]:
        """The table key a value of ``state`` is kept under."""
        slot = self.states[state]
        if slot.bundle is not None:
            return slot.bundle
        if self.judged not in FAMILY_BUNDLES:
            raise ValueError(f"{self.id} is judged per {self.judged} and keeps no family state")
        return FAMILY_BUNDLES[self.judged]  # type: ignore[index]

    def raised_levels(self) -> dict[str, Severity]:
        """The built-in levels a graded rule raises to, by parameter name (``red_severity``: critical)."""
        return {
            name: info.default for name, info in self.params.model_fields.items() if isinstance(info.default, Severity)
        }


__all__ = ["FAMILIES", "FAMILY_BUNDLES", "Family", "Judged", "Needs", "RuleDefinition", "StateSlot", "person_bundle"]
