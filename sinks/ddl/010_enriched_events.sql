-- One row per enriched event (topic: enriched events), for reports by grid,
-- checkpoint and time range. Column order of the insert: sinks/rows.py EVENT_COLUMNS.
--
-- ORDER BY (large_grid, small_grid, checkpoint_id, event_time, event_id):
--   operations ask "events of grid X (large, small), checkpoint Y, over a time
--   range", so the grid and checkpoint prefix narrows the primary index to one
--   contiguous key range and event_time prunes inside it. event_id closes the
--   key so that it is unique per event.
-- ReplacingMergeTree(inserted_at): a safety net behind the sink's lookup by
--   event_id before insert. Rows with the same sorting key in the same
--   partition collapse on merge (and under FINAL) to the last inserted one.
--   event_id and event_time are fixed by the source, and the place is fixed by
--   the first write (the sink skips any id already stored), so the same
--   event_id maps to one key. The only way to get two rows is two writers
--   racing on the same event_id while master data moved its checkpoint to
--   another grid between their enrichments.
-- PARTITION BY month, not day: a street produces ~10^5 events a day, so daily
--   partitions would hold tiny parts that are never merged across days, and
--   ReplacingMergeTree only collapses inside a partition. Monthly partitions keep
--   parts few and large; event_time in the key already prunes ranges inside a
--   month. Switch to toYYYYMMDD only at provincial volume (10^8 rows a day) or
--   for TTL drops by day. Months follow the column's zone, Asia/Shanghai.
-- Nullable only where the model allows None; empty strings mean "unknown to
--   master data" and stay plain strings.
-- event_id and subject_key are unique or near-unique per row: plain String,
--   since LowCardinality pays off only for repeated values (grids, checkpoints,
--   compounds, division codes). The bloom filter lets the lookup by event_id
--   before insert skip granules.
CREATE TABLE IF NOT EXISTS {database}.enriched_events
(
    event_id              String,
    schema_version        UInt8,
    event_type            LowCardinality(String),
    event_time            DateTime64(3, 'Asia/Shanghai'),
    checkpoint_id         LowCardinality(String),
    compound_id           LowCardinality(String),
    community_code        LowCardinality(String),
    large_grid            LowCardinality(String),
    small_grid            LowCardinality(String),
    subject_kind          Nullable(Enum8('person' = 1, 'vehicle' = 2)),
    subject_key           String,
    subject_masked        String,
    resident_known        Bool,
    resident_verified     Bool,
    residency             Nullable(Enum8('resident' = 1, 'renter' = 2)),
    home_community_code   LowCardinality(String),
    home_compound_id      LowCardinality(String),
    home_dwelling_id      String,
    direction             Nullable(Enum8('in' = 1, 'out' = 2)),
    temperature_c         Nullable(Float64),
    health_code           Nullable(Enum8('green' = 1, 'yellow' = 2, 'red' = 3)),
    declared_origin       LowCardinality(Nullable(String)),
    card_division         LowCardinality(Nullable(String)),
    declared_origin_risk  Nullable(Enum8('green' = 1, 'yellow' = 2, 'red' = 3)),
    card_division_risk    Nullable(Enum8('green' = 1, 'yellow' = 2, 'red' = 3)),
    quarantine_active     Bool,
    person_count          Int32,
    linked_subjects       Array(String),
    misses                Array(LowCardinality(String)),
    inserted_at           DateTime64(3, 'Asia/Shanghai') DEFAULT now64(3),
    INDEX event_id_bloom event_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(inserted_at)
PARTITION BY toYYYYMM(event_time)
ORDER BY (large_grid, small_grid, checkpoint_id, event_time, event_id)
