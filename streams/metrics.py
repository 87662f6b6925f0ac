"""Every Prometheus metric of the worker, in one place, with units and labels.

Labels are bounded sets (topics, event types, rules, severities, reasons,
tables); never a person, grid-level identity or free text, so cardinality
stays fixed and no personal data reaches the metrics system.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WORKER_READY = Gauge(
    "gridwatch_worker_ready",
    "1 once that part of the worker is up: consumer (Faust started), registers (caught up), sink (connected).",
    ["component"],
)
EVENTS_CONSUMED = Counter(
    "gridwatch_events_consumed_total",
    "Input events consumed, by topic and event type (batches are unpacked).",
    ["topic", "event_type"],
)
RECORDS_CONSUMED = Counter(
    "gridwatch_records_consumed_total",
    "Kafka records consumed, by topic.",
    ["topic"],
)
MASTER_UPDATES = Counter(
    "gridwatch_master_updates_total",
    "Register records applied to the worker's local store, by register and operation.",
    ["table", "op"],
)
PARTITION_STALLED = Gauge(
    "gridwatch_partition_stalled",
    "1 while records wait on this partition behind a committed offset that has not moved for stream.stall_after_s.",
    ["topic", "partition"],
)
STALLS = Counter(
    "gridwatch_stalls_total",
    "Stalls the watchdog found (each also writes the task and partition dump to the log), by topic.",
    ["topic"],
)
FIELDS_REFUSED = Counter(
    "gridwatch_fields_refused_total",
    "Readings dropped from an event that was kept (the contract refused their value), by event type and field.",
    ["event_type", "field"],
)
DEAD_LETTERS = Counter(
    "gridwatch_dead_letters_total",
    "Inputs sent to the dead-letter topic, by reason and source topic.",
    ["reason", "topic"],
)
ALERTS = Counter(
    "gridwatch_alerts_total",
    "Alerts produced, by rule and severity.",
    ["rule", "severity"],
)
ENRICHMENT_MISSES = Counter(
    "gridwatch_enrichment_misses_total",
    "Master-data lookups that found nothing, by lookup.",
    ["lookup"],
)
ALERT_LATENCY = Histogram(
    "gridwatch_alert_latency_seconds",
    "From the triggering record's Kafka timestamp (upload time) to the alert being produced.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
GC_PAUSE = Histogram(
    "gridwatch_gc_pause_seconds",
    "How long each garbage collection held the worker (the GIL, so every agent), by generation.",
    ["generation"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
GC_FROZEN_OBJECTS = Gauge(
    "gridwatch_gc_frozen_objects",
    "Objects in the collector's permanent generation (survivors of a full collection, skipped by later ones).",
)
SINK_ROWS = Counter(
    "gridwatch_sink_rows_total",
    "Rows written to ClickHouse, by table.",
    ["table"],
)
SINK_DUPLICATES = Counter(
    "gridwatch_sink_duplicate_rows_total",
    "Rows skipped because ClickHouse already held their id (replays), by table.",
    ["table"],
)
SINK_BATCHES = Counter(
    "gridwatch_sink_batches_total",
    "Batches written to ClickHouse, by table.",
    ["table"],
)
SINK_FAILURES = Counter(
    "gridwatch_sink_failures_total",
    "Failed ClickHouse writes (each is retried; offsets wait), by table and reason: disk_full (free space on "
    "ClickHouse's data path), unavailable (not reachable), rejected (the server refused the batch).",
    ["table", "reason"],
)
SINK_PENDING_ROWS = Gauge(
    "gridwatch_sink_pending_rows",
    "Rows waiting for ClickHouse (queued or in a write being retried), by table; grows during an outage.",
    ["table"],
)
SINK_BATCH_SECONDS = Histogram(
    "gridwatch_sink_batch_seconds",
    "Time to write one batch to ClickHouse, by table.",
    ["table"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

LATE_EVENTS = Counter(
    "gridwatch_late_events_total",
    "Events older than the watermark minus the lateness: stateful rules skip them, per-event rules judge them.",
    ["family"],
)
ALERT_REVISIONS = Counter(
    "gridwatch_alert_revisions_total",
    "Alert revisions published, by what changed (opened, repeated, escalated, acknowledged, resolved, expired...).",
    ["rule", "change"],
)
ALERT_ACTIONS = Counter(
    "gridwatch_alert_actions_total",
    "Operator actions on the alert-actions topic: applied, or ignored (unknown, superseded or resolved alert).",
    ["action", "outcome"],
)
PUBLISH_FAILURES = Counter(
    "gridwatch_publish_failures_total",
    "Records the producer could not deliver after its retries, by topic (the hot path hands records over directly).",
    ["topic"],
)
HANDOFFS = Counter(
    "gridwatch_handoffs_total",
    "Work handed from one stage to the next: in-process where this worker owns the partition, else through the "
    "internal topic (hop: rule-input, counted per partition batch; findings, counted per finding).",
    ["hop", "path"],
)
