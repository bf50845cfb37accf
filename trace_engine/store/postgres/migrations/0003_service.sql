-- The service's tables (API schema 1; SQLite backend's 0003). Every row is also a signed record of the tenant's log.
CREATE TABLE IF NOT EXISTS api_keys (
   key_id text COLLATE "C" PRIMARY KEY,
   tenant text COLLATE "C" NOT NULL,
   key_hash text COLLATE "C" NOT NULL,
   scopes text COLLATE "C" NOT NULL,
   created_at bigint NOT NULL,
   revoked_at bigint,
   note text
);
CREATE TABLE IF NOT EXISTS trace_configs (
   tenant text COLLATE "C",
   agent_id text COLLATE "C",
   body text NOT NULL,
   etag text COLLATE "C" NOT NULL,
   updated_at bigint NOT NULL,
   PRIMARY KEY (tenant, agent_id)
);
CREATE TABLE IF NOT EXISTS trace_rule_packs (
   rowid bigint GENERATED ALWAYS AS IDENTITY,
   tenant text COLLATE "C",
   pack_id text COLLATE "C",
   version text COLLATE "C",
   id text COLLATE "C" NOT NULL,
   spec text NOT NULL,
   etag text COLLATE "C" NOT NULL,
   jurisdiction text,
   legal_status text,
   created_at bigint NOT NULL,
   PRIMARY KEY (tenant, pack_id, version)
);
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_hash ON api_keys(key_hash);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys(tenant);
CREATE INDEX IF NOT EXISTS trace_rule_packs_latest ON trace_rule_packs(tenant, pack_id, created_at);
CREATE INDEX IF NOT EXISTS agents_owner ON agents(agent_id);
CREATE OR REPLACE TRIGGER trace_rule_packs_no_change BEFORE UPDATE OR DELETE ON trace_rule_packs FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER trace_rule_packs_no_truncate BEFORE TRUNCATE ON trace_rule_packs EXECUTE FUNCTION trace_append_only();
INSERT INTO meta(key, value) VALUES ('api_schema_version', '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value;
