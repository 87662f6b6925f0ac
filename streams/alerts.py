"""From a finding to the alert the grid receives.

The alert id is a hash of rule, rule version and the triggering event ids, so
a replayed event yields the same id and consumers (and ClickHouse) can drop
the repeat instead of paging twice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from schemas import Alert, EnrichedEvent
from streams.rules.base import Finding


def alert_id(rule_id: str, rule_version: int, event_ids: tuple[str, ...]) -> str:
    material = "\x1f".join((rule_id, str(rule_version), *sorted(event_ids)))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def build_alert(finding: Finding, event: EnrichedEvent, *, detected_at: datetime) -> Alert:
    event_ids = (event.event_id,)
    return Alert(
        alert_id=alert_id(finding.rule_id, finding.rule_version, event_ids),
        rule_id=finding.rule_id,
        rule_version=finding.rule_version,
        severity=finding.severity,
        event_time=event.event_time,
        detected_at=detected_at,
        place=event.place,
        dwelling_id=event.home_dwelling_id,
        subject_masked=event.subject_masked,
        subject_key=event.subject_key,
        event_ids=event_ids,
        summary_zh=finding.summary_zh,
        summary_en=finding.summary_en,
        action=finding.action,
    )
