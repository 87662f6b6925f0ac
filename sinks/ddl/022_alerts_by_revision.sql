-- The latest state of each alert (topic: alerts, every revision), replacing
-- the one-row-per-finding table of 020_alerts.sql. Column order of the insert:
-- sinks/rows.py ALERT_COLUMNS.
--
-- Applied twice on a database that still has 020's table: in the file loop it
-- finds that table and does nothing; the sink then retires it (drops it when
-- empty, else renames it to alerts_020 and copies its rows in as revision 1)
-- and applies this file again (sinks/clickhouse.py, _retire_legacy_alerts).
-- The engine cannot be altered in place, hence a new table.
--
-- ReplacingMergeTree(revision): every revision of an alert has the same
--   sorting key (event_time and place are the opening event's and never
--   change), so merges and FINAL keep the highest revision, whatever order
--   revisions were inserted in.
-- ORDER BY (large_grid, small_grid, checkpoint_id, event_time, alert_id): as
--   in 020, the grid questions first; alert_id closes the key.
-- PARTITION BY month: as in 020.
CREATE TABLE IF NOT EXISTS {database}.alerts
(
    alert_id         String,
    schema_version   UInt8,
    rule_id          LowCardinality(String),
    rule_version     UInt32,
    severity         Enum8('info' = 1, 'warning' = 2, 'high' = 3, 'critical' = 4),
    event_time       DateTime64(3, 'Asia/Shanghai'),
    detected_at      DateTime64(3, 'Asia/Shanghai'),
    checkpoint_id    LowCardinality(String),
    compound_id      LowCardinality(String),
    community_code   LowCardinality(String),
    large_grid       LowCardinality(String),
    small_grid       LowCardinality(String),
    dwelling_id      String,
    subject_masked   String,
    subject_key      String,
    event_ids        Array(String),
    summary_zh       String,
    summary_en       String,
    action           String,
    fingerprint      String,
    status           Enum8('open' = 1, 'acknowledged' = 2, 'resolved' = 3),
    count            UInt32,
    revision         UInt32,
    change           Enum8('opened' = 1, 'repeated' = 2, 'escalated' = 3, 'acknowledged' = 4,
                           'commented' = 5, 'resolved' = 6, 'expired' = 7),
    last_event_time  DateTime64(3, 'Asia/Shanghai'),
    updated_at       DateTime64(3, 'Asia/Shanghai'),
    updated_by       String,
    acknowledged_by  String,
    acknowledged_at  Nullable(DateTime64(3, 'Asia/Shanghai')),
    resolved_by      String,
    resolved_at      Nullable(DateTime64(3, 'Asia/Shanghai')),
    note             String,
    inserted_at      DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3),
    INDEX alert_id_bloom alert_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(event_time)
ORDER BY (large_grid, small_grid, checkpoint_id, event_time, alert_id)
