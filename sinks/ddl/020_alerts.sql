-- One row per alert (topic: alerts), for the people on the ground of a grid.
-- Column order of the insert: sinks/rows.py ALERT_COLUMNS.
--
-- ORDER BY (large_grid, small_grid, checkpoint_id, event_time, alert_id): the
--   same questions as for events ("alerts of grid X, checkpoint Y, over a time
--   range"); alert_id closes the key.
-- ReplacingMergeTree(inserted_at): alert_id is deterministic (same rule over
--   the same events), and so are its event_time and place, which come from those
--   events; the sink skips alert_ids already stored, so one alert_id is one key
--   and collapses to one row on merge and under FINAL.
-- PARTITION BY month: alerts are a small fraction of events (hundreds to
--   thousands a day), so even monthly partitions stay small; finer would only
--   multiply parts.
-- severity is an Enum8 in rising order, so "severity >= 'high'" works.
CREATE TABLE IF NOT EXISTS {database}.alerts
(
    alert_id        String,
    schema_version  UInt8,
    rule_id         LowCardinality(String),
    rule_version    UInt32,
    severity        Enum8('info' = 1, 'warning' = 2, 'high' = 3, 'critical' = 4),
    event_time      DateTime64(3, 'Asia/Shanghai'),
    detected_at     DateTime64(3, 'Asia/Shanghai'),
    checkpoint_id   LowCardinality(String),
    compound_id     LowCardinality(String),
    community_code  LowCardinality(String),
    large_grid      LowCardinality(String),
    small_grid      LowCardinality(String),
    dwelling_id     String,
    subject_masked  String,
    subject_key     String,
    event_ids       Array(String),
    summary_zh      String,
    summary_en      String,
    action          String,
    inserted_at     DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3),
    INDEX alert_id_bloom alert_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (large_grid, small_grid, checkpoint_id, event_time, alert_id)
