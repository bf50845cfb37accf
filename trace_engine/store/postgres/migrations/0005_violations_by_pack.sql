-- Findings by pack over a window (the dashboard's pack filter, exposure by pack): without this index a pack filter
-- scans every finding in the window.
CREATE INDEX IF NOT EXISTS violations_pack ON violations(tenant, pack_id, call_at, seq, idx);
