-- Readings the contract refused (an impossible temperature, an unknown health
-- code), dropped from an event that was kept, as 'field: why' (issue 9): the
-- passage itself is stored, and this says which reading it lost.
ALTER TABLE {database}.enriched_events
    ADD COLUMN IF NOT EXISTS refused_fields Array(LowCardinality(String)) AFTER id_problems
