-- The identity's content hash in its own column (the SQLite backend's 0006): the index over the body cast to jsonb
-- parsed each new record's whole body at every insert. `trace verify` checks the column against the signed body.
ALTER TABLE scorecards ADD COLUMN IF NOT EXISTS input_sha256 text;
ALTER TABLE scorecards DISABLE TRIGGER scorecards_no_change;
UPDATE scorecards SET input_sha256 = (body::jsonb) #>> '{scorecard,input,sha256}';
ALTER TABLE scorecards ENABLE TRIGGER scorecards_no_change;
DROP INDEX IF EXISTS scorecards_identity_content;
CREATE UNIQUE INDEX IF NOT EXISTS scorecards_identity_input ON scorecards(tenant, call_id, config_etag, engine_version, (coalesce(input_sha256, '')));
