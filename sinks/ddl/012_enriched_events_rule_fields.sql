-- The enrichment the full rule catalogue added (issue 4): where an event happened
-- inside a compound (checkpoint kind, sighting, dwelling), what vouches for the
-- person (a guard-registered visit), where a quarantine order confines them, and
-- why an ID number cannot be real. Added, never rewritten, so tables created
-- before keep their rows (old rows read the defaults).
ALTER TABLE {database}.enriched_events
    ADD COLUMN IF NOT EXISTS lat Nullable(Float64) AFTER misses,
    ADD COLUMN IF NOT EXISTS lon Nullable(Float64) AFTER lat,
    ADD COLUMN IF NOT EXISTS checkpoint_kind Nullable(Enum8('gate' = 1, 'inner' = 2)) AFTER lon,
    ADD COLUMN IF NOT EXISTS compound_closed Bool DEFAULT false AFTER checkpoint_kind,
    ADD COLUMN IF NOT EXISTS sighting_kind Nullable(Enum8('inner_scan' = 1, 'household_visit' = 2, 'patrol_check' = 3)) AFTER compound_closed,
    ADD COLUMN IF NOT EXISTS dwelling_id String DEFAULT '' AFTER sighting_kind,
    ADD COLUMN IF NOT EXISTS dwelling_registered Nullable(Int32) AFTER dwelling_id,
    ADD COLUMN IF NOT EXISTS visitor_active Bool DEFAULT false AFTER dwelling_registered,
    ADD COLUMN IF NOT EXISTS visitor_host_dwelling_id String DEFAULT '' AFTER visitor_active,
    ADD COLUMN IF NOT EXISTS quarantine_dwelling_id String DEFAULT '' AFTER visitor_host_dwelling_id,
    ADD COLUMN IF NOT EXISTS quarantine_compound_id LowCardinality(String) DEFAULT '' AFTER quarantine_dwelling_id,
    ADD COLUMN IF NOT EXISTS id_problems Array(LowCardinality(String)) AFTER quarantine_compound_id
