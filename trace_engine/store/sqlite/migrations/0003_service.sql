-- The service's tables (API schema 1). Every row is also a signed record of the tenant's log, written in the same
-- transaction; `trace verify` compares them. Keys are stored as SHA-256 hashes only.
CREATE TABLE IF NOT EXISTS [api_keys] (
   [key_id] TEXT PRIMARY KEY,
   [tenant] TEXT NOT NULL,
   [key_hash] TEXT NOT NULL,
   [scopes] TEXT NOT NULL,
   [created_at] INTEGER NOT NULL,
   [revoked_at] INTEGER,
   [note] TEXT
);
CREATE TABLE IF NOT EXISTS [trace_configs] (
   [tenant] TEXT,
   [agent_id] TEXT,
   [body] TEXT NOT NULL,
   [etag] TEXT NOT NULL,
   [updated_at] INTEGER NOT NULL,
   PRIMARY KEY ([tenant], [agent_id])
);
CREATE TABLE IF NOT EXISTS [trace_rule_packs] (
   [tenant] TEXT,
   [pack_id] TEXT,
   [version] TEXT,
   [id] TEXT NOT NULL,
   [spec] TEXT NOT NULL,
   [etag] TEXT NOT NULL,
   [jurisdiction] TEXT,
   [legal_status] TEXT,
   [created_at] INTEGER NOT NULL,
   PRIMARY KEY ([tenant], [pack_id], [version])
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_hash ON api_keys(key_hash);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys(tenant);
CREATE INDEX IF NOT EXISTS trace_rule_packs_latest ON trace_rule_packs(tenant, pack_id, created_at);
-- the first tenant to use an agent id owned it everywhere (dropped by 0004)
CREATE INDEX IF NOT EXISTS agents_owner ON agents(agent_id);
CREATE TRIGGER IF NOT EXISTS trace_rule_packs_no_update BEFORE UPDATE ON trace_rule_packs BEGIN SELECT RAISE(ABORT, 'trace_rule_packs is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS trace_rule_packs_no_delete BEFORE DELETE ON trace_rule_packs BEGIN SELECT RAISE(ABORT, 'trace_rule_packs is append-only: DELETE is not allowed'); END;
INSERT INTO meta(key, value) VALUES ('api_schema_version', '1') ON CONFLICT(key) DO UPDATE SET value = excluded.value;
