"""What a rule is: a pure function of one enriched event to at most one finding.

Rules know nothing of Kafka or Faust. A finding says what was seen; turning it
into an alert (id, place, masking, timestamps) is ``streams.alerts``' job, so
every rule produces alerts of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from schemas import EnrichedEvent, Severity


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule saw.

    ``subject`` names what the alert is about for its fingerprint (rule,
    subject, place): empty means the event's person key; rules about a dwelling
    or a checkpoint set e.g. ``dwelling:<id>`` or ``checkpoint:<id>``.
    ``scope`` widens the fingerprint's place to the compound, or drops it.
    ``related_event_ids`` are earlier events that make up the finding (the
    passage before an impossible journey). ``resolves`` says the condition is
    over: the open alert with this fingerprint is resolved, no new one opens.
    ``register_change`` says the finding comes from a change of master data
    (a person registered), not from an event: its time is no evidence
    against the alert's events, so it resolves whatever their times and
    leaves the alert's ``last_event_time`` where the events put it.
    """

    rule_id: str
    rule_version: int
    severity: Severity
    summary_zh: str
    summary_en: str
    action: str = ""
    subject: str = ""
    related_event_ids: tuple[str, ...] = ()
    resolves: bool = False
    register_change: bool = False
    scope: str = ""
    """The place part of the fingerprint: "" = the checkpoint, else the compound; "compound" = the compound
    only, for conditions of a compound that different checkpoints report (and resolve); "subject" = no place,
    for conditions between places (an impossible journey is one condition whichever checkpoint reports it)."""


class Rule(Protocol):
    rule_id: ClassVar[str]
    version: ClassVar[int]

    def evaluate(self, event: EnrichedEvent) -> Finding | None: ...


class BaseRule:
    """Common part of the rules here: identity, and findings stamped with it."""

    rule_id: ClassVar[str]
    version: ClassVar[int]

    def finding(self, severity: Severity, summary_zh: str, summary_en: str, action: str = "") -> Finding:
        return Finding(self.rule_id, self.version, severity, summary_zh, summary_en, action)
