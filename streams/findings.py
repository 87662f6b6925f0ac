"""A finding on the wire: to and from the record that carries it to the alert book.

The record is keyed by the alert fingerprint, so every finding and every
operator action about one alert reaches the one partition (and the one alert
book table entry) that owns it.
"""

from __future__ import annotations

from datetime import datetime

from schemas import EnrichedEvent
from schemas.internal import FindingRecord
from streams.alerts import fingerprint, subject_of
from streams.rules.base import Finding


def to_record(
    finding: Finding, event: EnrichedEvent, *, detected_at: datetime, uploaded_at: float | None = None
) -> FindingRecord:
    return FindingRecord(
        rule_id=finding.rule_id,
        rule_version=finding.rule_version,
        severity=finding.severity,
        summary_zh=finding.summary_zh,
        summary_en=finding.summary_en,
        action=finding.action,
        subject=finding.subject,
        related_event_ids=finding.related_event_ids,
        resolves=finding.resolves,
        scope=finding.scope,
        event=event,
        detected_at=detected_at,
        uploaded_at=uploaded_at,
    )


def from_record(record: FindingRecord) -> Finding:
    return Finding(
        rule_id=record.rule_id,
        rule_version=record.rule_version,
        severity=record.severity,
        summary_zh=record.summary_zh,
        summary_en=record.summary_en,
        action=record.action,
        subject=record.subject,
        related_event_ids=record.related_event_ids,
        resolves=record.resolves,
        scope=record.scope,
    )


def fingerprint_of(record: FindingRecord) -> str:
    return fingerprint(record.rule_id, subject_of(from_record(record), record.event), record.event.place, record.scope)
