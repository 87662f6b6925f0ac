-- One row per alert revision (topic: alerts): who changed what and when, the
-- full history behind the latest state in alerts. Column order of the insert:
-- sinks/rows.py ALERT_HISTORY_COLUMNS.
--
-- at / by: when and by whom this revision was made (an operator id, or
--   'rule:<rule_id>' for openings, repeats, rule resolutions and expiries);
--   change says what it changed, note carries the operator's or rule's text.
-- event_time is the alert's opening event time, fixed for the alert, so every
--   revision of one alert lands in one partition and the sink's lookup of
--   stored (alert_id, revision) pairs prunes by the batch's event_time range,
--   as it does for events.
-- ORDER BY (large_grid, small_grid, checkpoint_id, event_time, alert_id, revision):
--   the grid questions of the other tables, then one key per revision.
-- ReplacingMergeTree(inserted_at): the sink skips revisions already stored;
--   a revision that slips past (two writers racing) has the same key and
--   collapses on merge and under FINAL.
CREATE TABLE IF NOT EXISTS {database}.alert_history
(
    alert_id         String,
    revision         UInt32,
    change           Enum8('opened' = 1, 'repeated' = 2, 'escalated' = 3, 'acknowledged' = 4,
                           'commented' = 5, 'resolved' = 6, 'expired' = 7),
    status           Enum8('open' = 1, 'acknowledged' = 2, 'resolved' = 3),
    severity         Enum8('info' = 1, 'warning' = 2, 'high' = 3, 'critical' = 4),
    count            UInt32,
    at               DateTime64(3, 'Asia/Shanghai'),
    by               String,
    note             String,
    rule_id          LowCardinality(String),
    rule_version     UInt32,
    fingerprint      String,
    event_time       DateTime64(3, 'Asia/Shanghai'),
    last_event_time  DateTime64(3, 'Asia/Shanghai'),
    checkpoint_id    LowCardinality(String),
    compound_id      LowCardinality(String),
    community_code   LowCardinality(String),
    large_grid       LowCardinality(String),
    small_grid       LowCardinality(String),
    dwelling_id      String,
    subject_key      String,
    inserted_at      DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3),
    INDEX alert_id_bloom alert_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (large_grid, small_grid, checkpoint_id, event_time, alert_id, revision)
