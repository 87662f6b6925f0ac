"""The rule engine: the catalogue's enabled rules, built once, over enriched events.

Pure logic: no Faust, no Kafka. The worker runs it in two places because
state must be partitioned like the events it sees:

* ``per_event`` rules need nothing but the event; the events agent runs them
  where the upload arrives.
* Stateful rules belong to a *family* that names their state's key: ``person``
  (fever, bypass_entry, impossible_travel: keyed by person key), ``dwelling``
  (dwelling_overcrowded) and ``checkpoint`` (silent_checkpoint). ``routes``
  says which families need an event and under which key; the worker sends the
  event to the partition of that key and calls ``judge`` there, so one key's
  state lives on one partition (a Faust table), whatever terminal uploaded it.
* ``register_mismatch`` is judged on register records, not events
  (``compare_registers``); ``silent_checkpoint`` also on the stream's
  watermark (``tick``), and so are the sightings anti-passback holds for a
  late gate upload (``confirm``).

``evaluate`` runs everything in one process: tests and the simulator's
self-check use it with in-memory state.

Severities come from the catalogue: a rule's code reports its built-in base
severity and, for graded rules, raised ones; the engine maps each built-in
level to the configured one (the packaged catalogue says what the built-in
levels are, so the mapping needs no table of its own).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

from schemas import Checkpoint, EnrichedEvent, PersonRecord, Severity
from streams.catalogue import Catalogue, RuleSpec, load_catalogue
from streams.rules.base import Finding, Rule
from streams.rules.bypass import BypassEntry
from streams.rules.fever import Fever
from streams.rules.health_code import HealthCodeRule
from streams.rules.identity import InvalidIdentity
from streams.rules.late_night import LateNightEntry
from streams.rules.origin import OriginMismatch
from streams.rules.overcrowded import DwellingOvercrowded, dwelling_of
from streams.rules.perimeter import PerimeterBreach
from streams.rules.quarantine import QuarantineBreach
from streams.rules.register_mismatch import RegisterMismatch
from streams.rules.risk_area import RiskAreaArrival
from streams.rules.silent import SilentCheckpoint
from streams.rules.state import State
from streams.rules.travel import ImpossibleTravel
from streams.rules.unregistered import UnregisteredPerson

Family = Literal["person", "dwelling", "checkpoint"]
FAMILIES: tuple[Family, ...] = ("person", "dwelling", "checkpoint")
StateFactory = Callable[[str], State[Any]]
"""Gives each stateful rule its own state, by rule id."""


class RuleVersionMismatch(ValueError):
    """The catalogue describes another version of a rule than the code implements: refuse to start."""


def _per_event_rules(catalogue: Catalogue) -> dict[str, Rule]:
    p = catalogue.spec
    built: dict[str, Callable[[RuleSpec], Rule]] = {
        "perimeter_breach": lambda s: PerimeterBreach(),
        "unregistered_person": lambda s: UnregisteredPerson(),
        "invalid_identity": lambda s: InvalidIdentity(),
        "origin_mismatch": lambda s: OriginMismatch(),
        "risk_area_arrival": lambda s: RiskAreaArrival(),
        "health_code": lambda s: HealthCodeRule(),
        "quarantine_breach": lambda s: QuarantineBreach(),
        "late_night_entry": lambda s: LateNightEntry(start=s.params.start, end=s.params.end),  # type: ignore[attr-defined]
    }
    return {rule_id: make(p(rule_id)) for rule_id, make in built.items() if p(rule_id).enabled}


def _stateful_rules(
    catalogue: Catalogue, states: StateFactory, index_of: Callable[[str], str]
) -> dict[Family, dict[str, Any]]:
    def spec(rule_id: str) -> Any:
        return catalogue.spec(rule_id).params

    families: dict[Family, dict[str, Any]] = {"person": {}, "dwelling": {}, "checkpoint": {}}
    on = {s.id for s in catalogue.enabled()}
    if "fever" in on:
        f = spec("fever")
        families["person"]["fever"] = Fever(
            threshold_c=f.threshold_c, remeasure_window=f.remeasure_window, state=states("fever"))
    if "bypass_entry" in on:
        b = spec("bypass_entry")
        families["person"]["bypass_entry"] = BypassEntry(
            control_period=b.control_period, confirm_after=b.confirm_after, state=states("bypass_entry"),
            pending=states("bypass_pending"), index_of=index_of)
    if "impossible_travel" in on:
        t = spec("impossible_travel")
        families["person"]["impossible_travel"] = ImpossibleTravel(
            max_speed_kmh=t.max_speed_kmh, same_time_window=t.same_time_window, min_distance_m=t.min_distance_m,
            state=states("impossible_travel"))
    if "dwelling_overcrowded" in on:
        d = spec("dwelling_overcrowded")
        families["dwelling"]["dwelling_overcrowded"] = DwellingOvercrowded(
            window=d.window, margin=d.margin, state=states("dwelling_overcrowded"))
    if "silent_checkpoint" in on:
        families["checkpoint"]["silent_checkpoint"] = SilentCheckpoint(
            silence=spec("silent_checkpoint").silence, state=states("silent_checkpoint"))
    return families


def _severity_maps(catalogue: Catalogue) -> dict[str, dict[Severity, Severity]]:
    """Per rule: built-in level -> configured level, from the packaged catalogue's levels."""
    packaged = load_catalogue()
    maps: dict[str, dict[Severity, Severity]] = {}
    for spec in catalogue.rules:
        base = packaged.spec(spec.id)
        mapping = {base.severity: spec.severity}
        for name, value in base.params:
            if isinstance(value, Severity):
                mapping.setdefault(value, getattr(spec.params, name))
        maps[spec.id] = mapping
    return maps


class Engine:
    """Every enabled rule of a catalogue, with the state each one needs."""

    def __init__(
        self, catalogue: Catalogue, *, states: StateFactory, index_of: Callable[[str], str] = lambda key: ""
    ) -> None:
        """``states(name)`` gives each stateful rule its state; ``index_of(person key)`` names the index
        (the partition, in the worker) where anti-passback lists what it holds, for ``confirm``."""
        self.catalogue = catalogue
        self._per_event = _per_event_rules(catalogue)
        self._families = _stateful_rules(catalogue, states, index_of)
        self._severities = _severity_maps(catalogue)
        mismatch = catalogue.spec("register_mismatch")
        self._registers = (
            RegisterMismatch(fields=mismatch.params.fields) if mismatch.enabled else None  # type: ignore[attr-defined]
        )
        self._check_versions()

    def _check_versions(self) -> None:
        rules: list[Any] = [*self._per_event.values(), *(r for f in self._families.values() for r in f.values())]
        if self._registers is not None:
            rules.append(self._registers)
        for rule in rules:
            spec = self.catalogue.spec(rule.rule_id)
            if spec.version != rule.version:
                raise RuleVersionMismatch(
                    f"the catalogue describes {rule.rule_id} version {spec.version}, "
                    f"the code implements version {rule.version}: update the catalogue's entry"
                )

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
        silent = self._families["checkpoint"].get("silent_checkpoint")
        if silent is None:
            return []
        return [self._configured(f) for f in silent.tick(now, (cp for cp in checkpoints if cp.kind == "gate"))]

    def confirm(self, now: datetime, index: str = "") -> list[tuple[Finding, EnrichedEvent]]:
        """Held findings due by the watermark ``now`` (anti-passback), each with the event it is about."""
        bypass = self._families["person"].get("bypass_entry")
        if bypass is None:
            return []
        return [(self._configured(f), event) for f, event in bypass.confirm(now, index)]

    def compare_registers(
        self, county: PersonRecord | None, provincial: PersonRecord | None, *, person_key: str
    ) -> Finding | None:
        if self._registers is None:
            return None
        found = self._registers.compare(county, provincial, person_key=person_key)
        return self._configured(found) if found is not None else None
