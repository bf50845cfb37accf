-- Re-scoring hashes the transcript's content: a corrected transcript of a known call is a new record that
-- supersedes the old one. The identity reads the content hash from the signed body, never from a separate column.
DROP INDEX IF EXISTS scorecards_identity;
CREATE UNIQUE INDEX IF NOT EXISTS scorecards_identity_content ON scorecards(tenant, call_id, config_etag, engine_version, coalesce(json_extract(body, '$.scorecard.input.sha256'), ''));
