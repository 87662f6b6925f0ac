"""Model-to-row conversion for the ClickHouse tables.

Each table's column order is defined once, here, as a tuple of names; the sink
inserts with exactly these names and the DDL test checks that the table holds
exactly these columns (plus the server-filled ``inserted_at``), so a field
added to a model without a column, or the reverse, fails a test instead of
shifting values into the wrong column.

The functions run on every event (hundreds of thousands per second at
provincial scale), so they build plain tuples by attribute access: no
``model_dump``, no per-row dicts, no validation. Enum members are passed as is;
``StrEnum`` members hash and compare as their string value, which is what the
driver looks up for ``Enum8`` columns. Tuples of strings go to ``Array(String)``
columns unchanged.
"""

from __future__ import annotations

from typing import Any

from schemas.outputs import Alert, EnrichedEvent

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_HISTORY_COLUMNS",
    "EVENT_COLUMNS",
    "SERVER_FILLED_COLUMNS",
    "alert_history_row",
    "alert_row",
    "event_row",
]

Row = tuple[Any, ...]

SERVER_FILLED_COLUMNS: tuple[str, ...] = ("inserted_at",)
"""Columns the server fills with a DEFAULT; never sent by the sink."""

EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "schema_version",
    "event_type",
    "event_time",
    "checkpoint_id",
    "compound_id",
    "community_code",
    "large_grid",
    "small_grid",
    "subject_kind",
    "subject_key",
    "subject_masked",
    "resident_known",
    "resident_verified",
    "residency",
    "home_community_code",
    "home_compound_id",
    "home_dwelling_id",
    "direction",
    "temperature_c",
    "health_code",
    "declared_origin",
    "card_division",
    "declared_origin_risk",
    "card_division_risk",
    "quarantine_active",
    "person_count",
    "linked_subjects",
    "misses",
    "lat",
    "lon",
    "checkpoint_kind",
    "compound_closed",
    "sighting_kind",
    "dwelling_id",
    "dwelling_registered",
    "visitor_active",
    "visitor_host_dwelling_id",
    "quarantine_dwelling_id",
    "quarantine_compound_id",
    "id_problems",
    "refused_fields",
)
"""Columns of ``enriched_events`` written by the sink, in insert order."""

ALERT_COLUMNS: tuple[str, ...] = (
    "alert_id",
    "schema_version",
    "rule_id",
    "rule_version",
    "severity",
    "event_time",
    "detected_at",
    "checkpoint_id",
    "compound_id",
    "community_code",
    "large_grid",
    "small_grid",
    "dwelling_id",
    "subject_masked",
    "subject_key",
    "event_ids",
    "summary_zh",
    "summary_en",
    "action",
    "fingerprint",
    "status",
    "count",
    "revision",
    "change",
    "last_event_time",
    "updated_at",
    "updated_by",
    "acknowledged_by",
    "acknowledged_at",
    "resolved_by",
    "resolved_at",
    "note",
)
"""Columns of ``alerts`` (latest revision per alert) written by the sink, in insert order."""

ALERT_HISTORY_COLUMNS: tuple[str, ...] = (
    "alert_id",
    "revision",
    "change",
    "status",
    "severity",
    "count",
    "at",
    "by",
    "note",
    "rule_id",
    "rule_version",
    "fingerprint",
    "event_time",
    "last_event_time",
    "checkpoint_id",
    "compound_id",
    "community_code",
    "large_grid",
    "small_grid",
    "dwelling_id",
    "subject_key",
)
"""Columns of ``alert_history`` (one row per revision) written by the sink, in insert order."""


def event_row(event: EnrichedEvent) -> Row:
    """One ``enriched_events`` row, in ``EVENT_COLUMNS`` order, with ``Place`` flattened."""
    place = event.place
    return (
        event.event_id,
        event.schema_version,
        event.event_type,
        event.event_time,
        place.checkpoint_id,
        place.compound_id,
        place.community_code,
        place.large_grid,
        place.small_grid,
        event.subject_kind,
        event.subject_key,
        event.subject_masked,
        event.resident_known,
        event.resident_verified,
        event.residency,
        event.home_community_code,
        event.home_compound_id,
        event.home_dwelling_id,
        event.direction,
        event.temperature_c,
        event.health_code,
        event.declared_origin,
        event.card_division,
        event.declared_origin_risk,
        event.card_division_risk,
        event.quarantine_active,
        event.person_count,
        event.linked_subjects,
        event.misses,
        event.lat,
        event.lon,
        event.checkpoint_kind,
        event.compound_closed,
        event.sighting_kind,
        event.dwelling_id,
        event.dwelling_registered,
        event.visitor_active,
        event.visitor_host_dwelling_id,
        event.quarantine_dwelling_id,
        event.quarantine_compound_id,
        event.id_problems,
        event.refused_fields,
    )


def alert_row(alert: Alert) -> Row:
    """One ``alerts`` row, in ``ALERT_COLUMNS`` order, with ``Place`` flattened."""
    place = alert.place
    return (
        alert.alert_id,
        alert.schema_version,
        alert.rule_id,
        alert.rule_version,
        alert.severity,
        alert.event_time,
        alert.detected_at,
        place.checkpoint_id,
        place.compound_id,
        place.community_code,
        place.large_grid,
        place.small_grid,
        alert.dwelling_id,
        alert.subject_masked,
        alert.subject_key,
        alert.event_ids,
        alert.summary_zh,
        alert.summary_en,
        alert.action,
        alert.fingerprint,
        alert.status,
        alert.count,
        alert.revision,
        alert.change,
        alert.last_event_time or alert.event_time,
        alert.updated_at or alert.detected_at,
        _updated_by(alert),
        alert.acknowledged_by,
        alert.acknowledged_at,
        alert.resolved_by,
        alert.resolved_at,
        alert.note,
    )


def alert_history_row(alert: Alert) -> Row:
    """One ``alert_history`` row, in ``ALERT_HISTORY_COLUMNS`` order: who changed what, when."""
    place = alert.place
    return (
        alert.alert_id,
        alert.revision,
        alert.change,
        alert.status,
        alert.severity,
        alert.count,
        alert.updated_at or alert.detected_at,
        _updated_by(alert),
        alert.note,
        alert.rule_id,
        alert.rule_version,
        alert.fingerprint,
        alert.event_time,
        alert.last_event_time or alert.event_time,
        place.checkpoint_id,
        place.compound_id,
        place.community_code,
        place.large_grid,
        place.small_grid,
        alert.dwelling_id,
        alert.subject_key,
    )


def _updated_by(alert: Alert) -> str:
    """An alert built before revisions existed was made by its rule."""
    return alert.updated_by or f"rule:{alert.rule_id}"
