"""The rule engine: the catalogue's enabled rules, built once, over enriched events.

Pure logic: no Faust, no Kafka. The worker runs it in two places because
state must be partitioned like the events it sees:

* ``per_event`` rules need nothing but the event; the events agent runs them
  where the upload arrives.
* Stateful rules belong to a *family* that names their state's key: ``person``
  (fever, bypass_entry, impossible_travel: keyed by person key), ``dwelling``
  (dwelling_overcrowded) and ``checkpoint`` (silent_checkpoint); each rule's
  ``DEFINITION`` says where it is judged and how it is built. ``routes``
  says which families need an event and under which key; the worker sends the
  event to the partition of that key and calls ``judge`` there, so one key's
  state lives on one partition (a Faust table), whatever terminal uploaded it.
* ``register_mismatch`` is judged on register records, not events
  (``compare_registers``); a rule with a ``tick`` (silent_checkpoint) also on
  the stream's watermark, and so are the findings a rule with a ``confirm``
  holds (anti-passback's sightings waiting for a late gate upload).

``evaluate`` runs everything in one process: tests and the simulator's
self-check use it with in-memory state.

Severities come from the catalogue: a rule's code reports its built-in base
severity and, for graded rules, raised ones; the engine maps each built-in
level (the rule's ``DEFINITION.severity`` and its graded parameters'
defaults) to the configured one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from schemas import Checkpoint, EnrichedEvent, PersonRecord, Severity
from streams.catalogue import Catalogue
from streams.rules import RULES
from streams.rules.base import Finding, Rule
from streams.rules.definition import FAMILIES, Family, Needs
from streams.rules.overcrowded import dwelling_of
from streams.rules.state import State

StateFactory = Callable[[str], State[Any]]
"""Gives each stateful rule its own state, by state name (``StateSlot``)."""

__all__ = ["FAMILIES", "Engine", "Family", "RuleVersionMismatch", "StateFactory"]


class RuleVersionMismatch(ValueError):
    """The catalogue describes another version of a rule than the code implements: refuse to start."""


@runtime_checkable
class Ticking(Protocol):
    """A rule that also judges the passing of event time (silent checkpoints)."""

    def tick(self, now: datetime, checkpoints: Iterable[Checkpoint]) -> list[Finding]: ...


@runtime_checkable
class Holding(Protocol):
    """A rule that holds findings until the watermark passes them (anti-passback's late gate uploads)."""

    def confirm(self, now: datetime, index: str = "") -> list[tuple[Finding, EnrichedEvent]]: ...


def _severity_maps(catalogue: Catalogue) -> dict[str, dict[Severity, Severity]]:
    """Per rule: built-in level (the definition's, and its graded parameters' defaults) -> configured level."""
    maps: dict[str, dict[Severity, Severity]] = {}
    for definition in RULES:
        spec = catalogue.spec(definition.id)
        mapping = {definition.severity: spec.severity}
        for name, level in definition.raised_levels().items():
            mapping.setdefault(level, getattr(spec.params, name))
        maps[definition.id] = mapping
    return maps


class Engine:
    """Every enabled rule of a catalogue, with the state each one needs."""

    def __init__(
        self, catalogue: Catalogue, *, states: StateFactory, index_of: Callable[[str], str] = lambda key: ""
    ) -> None:
        """``states(name)`` gives each stateful rule its state; ``index_of(person key)`` names the index
        (the partition, in the worker) where anti-passback lists what it holds, for ``confirm``."""
        self.catalogue = catalogue
        self._per_event: dict[str, Rule] = {}
        self._families: dict[Family, dict[str, Rule]] = {family: {} for family in FAMILIES}
        self._registers: Any = None
        needs = Needs(states=states, index_of=index_of)
        for definition in RULES:
            spec = catalogue.spec(definition.id)
            if spec.version != definition.version:
                raise RuleVersionMismatch(
                    f"the catalogue describes {definition.id} version {spec.version}, "
                    f"the code implements version {definition.version}: update the catalogue's entry"
                )
            if not spec.enabled:
                continue
            rule = definition.build(spec.params, needs)
            if definition.judged == "event":
                self._per_event[definition.id] = rule
            elif definition.judged == "registers":
                self._registers = rule
            else:
                self._families[definition.judged][definition.id] = rule
        stateful = [rule for family in self._families.values() for rule in family.values()]
        self._ticking = [rule for rule in stateful if isinstance(rule, Ticking)]
        self._holding = [rule for rule in stateful if isinstance(rule, Holding)]
        self._severities = _severity_maps(catalogue)

    @property
    def lateness(self) -> timedelta:
        return self.catalogue.lateness

    @property
    def rule_ids(self) -> tuple[str, ...]:
        stateful = (r for f in self._families.values() for r in f)
        return (*self._per_event, *stateful, *(("register_mismatch",) if self._registers else ()))

    def _configured(self, finding: Finding) -> Finding:
        level = self._severities[finding.rule_id].get(finding.severity, finding.severity)
        return finding if level is finding.severity else dataclasses.replace(finding, severity=level)

    def per_event(self, event: EnrichedEvent) -> list[Finding]:
        """Findings of the rules that need nothing but the event."""
        return [self._configured(f) for rule in self._per_event.values() if (f := rule.evaluate(event)) is not None]

    def routes(self, event: EnrichedEvent) -> list[tuple[Family, str]]:
        """The stateful families that must see this event, each with the key its state is partitioned by."""
        out: list[tuple[Family, str]] = []
        families = self._families
        if families["person"] and event.subject_key:
            out.append(("person", event.subject_key))
        if families["dwelling"] and (placed := dwelling_of(event)) is not None:
            out.append(("dwelling", placed[0]))
        if families["checkpoint"] and event.place.checkpoint_id and event.event_type != "perimeter_report":
            out.append(("checkpoint", event.place.checkpoint_id))
        return out

    def judge(self, family: Family, event: EnrichedEvent) -> list[Finding]:
        """Run one family's stateful rules; call it on the partition of the event's key for that family."""
        return [
            self._configured(f) for rule in self._families[family].values() if (f := rule.evaluate(event)) is not None
        ]

    def evaluate(self, event: EnrichedEvent) -> list[Finding]:
        """Everything, in one process (tests, the simulator's self-check)."""
        findings = self.per_event(event)
        for family, _ in self.routes(event):
            findings.extend(self.judge(family, event))
        return findings

    def tick(self, now: datetime, checkpoints: Iterable[Checkpoint]) -> list[Finding]:
        """Time-driven findings (silent checkpoints) at the watermark ``now``.

        Only gates are watched: a gate has a guard and a terminal that should
        report, while an inner point is a posted code that reports only when
        someone happens to scan it, so its silence means nothing.
        """
        if not self._ticking:
            return []
        gates = [cp for cp in checkpoints if cp.kind == "gate"]
        return [self._configured(f) for rule in self._ticking for f in rule.tick(now, gates)]

    def confirm(self, now: datetime, index: str = "") -> list[tuple[Finding, EnrichedEvent]]:
        """Held findings due by the watermark ``now`` (anti-passback), each with the event it is about."""
        return [(self._configured(f), event) for rule in self._holding for f, event in rule.confirm(now, index)]

    def compare_registers(
        self, county: PersonRecord | None, provincial: PersonRecord | None, *, person_key: str
    ) -> Finding | None:
        if self._registers is None:
            return None
        found = self._registers.compare(county, provincial, person_key=person_key)
        return self._configured(found) if found is not None else None
