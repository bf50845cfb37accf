-- The identity's content hash in its own column. The index over json_extract(body, ...) parsed each new record's
-- whole body (about 4.5 KB of JSON) at every insert: a quarter of the appending process's work in a re-scoring run.
-- The column holds the same value, written with the row from the same scorecard, and `trace verify` checks it
-- against the signed body like every other column (a row whose column was altered is reported).
ALTER TABLE scorecards ADD COLUMN input_sha256 TEXT;
-- the rows written before: the value read from their signed bodies (the append-only trigger lifted for this one
-- statement, inside the migration's transaction)
DROP TRIGGER IF EXISTS scorecards_no_update;
UPDATE scorecards SET input_sha256 = json_extract(body, '$.scorecard.input.sha256');
CREATE TRIGGER IF NOT EXISTS scorecards_no_update BEFORE UPDATE ON scorecards BEGIN SELECT RAISE(ABORT, 'scorecards is append-only: UPDATE is not allowed'); END;
DROP INDEX IF EXISTS scorecards_identity_content;
CREATE UNIQUE INDEX IF NOT EXISTS scorecards_identity_input ON scorecards(tenant, call_id, config_etag, engine_version, coalesce(input_sha256, ''));
