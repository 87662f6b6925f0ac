"""A finding on the wire: to and from the record that carries it to the alert book.

The record is keyed by the alert fingerprint, so every finding and every
operator action about one alert reaches the one partition (and the one alert
book table entry) that owns it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from schemas import EnrichedEvent
from schemas.internal import FindingRecord
from streams.alerts import fingerprint, subject_of
from streams.rules.base import Finding

_FIELDS = tuple(f.name for f in dataclasses.fields(Finding))


def to_record(
    finding: Finding, event: EnrichedEvent, *, detected_at: datetime, uploaded_at: float | None = None,
    route: tuple[str, ...] = (),
) -> FindingRecord:
    fields = {name: getattr(finding, name) for name in _FIELDS}
    return FindingRecord(**fields, event=event, detected_at=detected_at, uploaded_at=uploaded_at, route=route)


def from_record(record: FindingRecord) -> Finding:
    return Finding(**{name: getattr(record, name) for name in _FIELDS})


def fingerprint_of(record: FindingRecord) -> str:
    """The fingerprint the record is keyed by: the first of its route, else the finding's own."""
    if record.route:
        return record.route[0]
    return fingerprint(record.rule_id, subject_of(from_record(record), record.event), record.event.place, record.scope)
