-- The identity covers the transcript's content hash, read from the signed body (SQLite backend's 0002).
DROP INDEX IF EXISTS scorecards_identity;
CREATE UNIQUE INDEX IF NOT EXISTS scorecards_identity_content ON scorecards(tenant, call_id, config_etag, engine_version, (coalesce((body::jsonb) #>> '{scorecard,input,sha256}', '')));
