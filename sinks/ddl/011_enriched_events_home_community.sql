-- Migration for tables created before home_community_code existed (the
-- community of the person's register, used by the unregistered-person rule).
ALTER TABLE {database}.enriched_events
    ADD COLUMN IF NOT EXISTS home_community_code LowCardinality(String) AFTER residency
