"""Records on the worker's internal topics: how work moves between its own agents.

These are not contracts for subscribers (``gridwatch schemas`` does not
publish them): they change with the worker. They are pydantic models all the
same, so a record that a newer or older worker cannot read is dead-lettered
with a reason instead of crashing an agent.

``rule-input`` carries enriched events to the partition of the key a stateful
rule family keeps its state under; one record holds every event of one take
bound for one partition, which amortises Faust's per-record cost.
``findings`` carries one finding with the event it is about, keyed by the
alert fingerprint, to the alert book that owns that fingerprint.

The two synthetic ``EnrichedEvent`` types stand for what no terminal uploads:
``checkpoint_silence`` (a silent checkpoint seen on the watermark) and
``register_check`` (the two registers compared for one person).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.common import SCHEMA_VERSION, Contract, Severity
from schemas.outputs import EnrichedEvent


class RuleInput(Contract):
    family: Literal["person", "dwelling", "checkpoint"]
    key: str
    links: tuple[str, ...] = Field(
        default=(), description="The person's keys under secrets a rotation retired and still linked: where their "
                                "rule state of before the rotation is found.")
    event: EnrichedEvent


class RuleInputBatch(Contract):
    schema_version: Literal[1] = SCHEMA_VERSION
    items: tuple[RuleInput, ...]
    uploaded_at: float | None = Field(default=None, description="Kafka timestamp of the newest upload, seconds.")
    sources: dict[int, tuple[AwareDatetime | None, bool]] = Field(
        default_factory=dict,
        description="Per events partition the sender reads: the latest event time it has handed over (null: none "
                    "yet) and whether that partition holds the watermark back (false: idle, or nothing to read). "
                    "A rule partition's watermark is the minimum over every events partition, merged from all "
                    "senders.")


class FindingRecord(Contract):
    schema_version: Literal[1] = SCHEMA_VERSION
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
    event: EnrichedEvent
    detected_at: AwareDatetime
    route: tuple[str, ...] = Field(
        default=(), description="After a rotation of the person-key secret: the fingerprints still to try, the "
                                "first on the partition this record is on, the last the finding's own. The first "
                                "that holds an alert this finding continues takes it.")
    uploaded_at: float | None = Field(default=None, description="Kafka timestamp of the upload, for latency.")
