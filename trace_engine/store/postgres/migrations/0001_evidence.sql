-- Evidence schema 2 (the same tables as the SQLite backend's 0001): each tenant's hash-chained log (scorecards and
-- events share the position space seq), signed checkpoints, the projections written with the records and the
-- exposure rollup cache. Text compares byte by byte (COLLATE "C"), as in SQLite, whatever the database's locale.
-- `rowid` keeps insertion order where reads need it (SQLite has one implicitly).
CREATE TABLE IF NOT EXISTS meta (
   key text COLLATE "C" PRIMARY KEY,
   value text NOT NULL
);
CREATE TABLE IF NOT EXISTS scorecards (
   tenant text COLLATE "C" NOT NULL,
   seq bigint NOT NULL,
   call_id text COLLATE "C" NOT NULL,
   agent_id text COLLATE "C",
   product text COLLATE "C",
   config_etag text COLLATE "C" NOT NULL,
   engine_version text COLLATE "C" NOT NULL,
   verdict text COLLATE "C" NOT NULL,
   scored_at bigint NOT NULL,
   call_at bigint NOT NULL,
   findings bigint NOT NULL,
   blocked_turns bigint NOT NULL,
   modified_turns bigint NOT NULL,
   packs_enforced text COLLATE "C" NOT NULL,
   body text NOT NULL,
   leaf_hash text COLLATE "C" NOT NULL,
   prev_hash text COLLATE "C" NOT NULL,
   audit_hash text COLLATE "C" NOT NULL,
   supersedes text COLLATE "C"
);
CREATE TABLE IF NOT EXISTS violations (
   tenant text COLLATE "C" NOT NULL,
   seq bigint NOT NULL,
   idx bigint NOT NULL,
   id text COLLATE "C" NOT NULL,
   audit_hash text COLLATE "C" NOT NULL,
   interaction_id text COLLATE "C" NOT NULL,
   agent_id text COLLATE "C",
   rule_id text COLLATE "C" NOT NULL,
   pack_id text COLLATE "C",
   severity text COLLATE "C" NOT NULL,
   action_taken text COLLATE "C",
   citation text,
   reason text,
   at_t double precision,
   scored_at bigint NOT NULL,
   call_at bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
   tenant text COLLATE "C" NOT NULL,
   seq bigint NOT NULL,
   kind text COLLATE "C" NOT NULL,
   ref text COLLATE "C",
   body text NOT NULL,
   leaf_hash text COLLATE "C" NOT NULL,
   prev_hash text COLLATE "C" NOT NULL,
   audit_hash text COLLATE "C" NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
   rowid bigint GENERATED ALWAYS AS IDENTITY,
   tenant text COLLATE "C" NOT NULL,
   size bigint NOT NULL,
   root text COLLATE "C" NOT NULL,
   note text NOT NULL,
   signature text COLLATE "C" NOT NULL,
   key_id text COLLATE "C",
   created_at bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS gaps (
   tenant text COLLATE "C" NOT NULL,
   lost bigint NOT NULL,
   reason text,
   at bigint NOT NULL,
   seq bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS tier2_findings (
   tenant text COLLATE "C" NOT NULL,
   id text COLLATE "C" NOT NULL,
   interaction_id text COLLATE "C" NOT NULL,
   audit_hash text COLLATE "C",
   body text NOT NULL,
   created_at bigint NOT NULL,
   seq bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS agents (
   tenant text COLLATE "C",
   agent_id text COLLATE "C",
   first_seen bigint NOT NULL,
   seq bigint NOT NULL,
   PRIMARY KEY (tenant, agent_id)
);
CREATE TABLE IF NOT EXISTS rollup_state (
   tenant text COLLATE "C" PRIMARY KEY,
   size bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS rollup_verdicts (
   tenant text COLLATE "C",
   hour bigint,
   agent text COLLATE "C",
   verdict text COLLATE "C",
   n bigint NOT NULL,
   -- NULL stands for "no agent" (SQLite's rollup keys use NUL, which PostgreSQL text cannot hold)
   UNIQUE NULLS NOT DISTINCT (tenant, hour, agent, verdict)
);
CREATE TABLE IF NOT EXISTS rollup_rules (
   tenant text COLLATE "C",
   hour bigint,
   agent text COLLATE "C",
   rule_id text COLLATE "C",
   pack text COLLATE "C",
   n bigint NOT NULL,
   UNIQUE NULLS NOT DISTINCT (tenant, hour, agent, rule_id, pack)
);
CREATE UNIQUE INDEX IF NOT EXISTS scorecards_pos ON scorecards(tenant, seq);
CREATE UNIQUE INDEX IF NOT EXISTS scorecards_identity ON scorecards(tenant, call_id, config_etag, engine_version);
CREATE INDEX IF NOT EXISTS scorecards_recent ON scorecards(tenant, call_at, seq);
CREATE INDEX IF NOT EXISTS scorecards_verdict ON scorecards(tenant, verdict, call_at, seq);
CREATE INDEX IF NOT EXISTS scorecards_agent ON scorecards(tenant, agent_id, call_at, seq);
CREATE INDEX IF NOT EXISTS scorecards_supersedes ON scorecards(tenant, supersedes) WHERE supersedes IS NOT NULL;
CREATE INDEX IF NOT EXISTS scorecards_audit ON scorecards(audit_hash);
CREATE UNIQUE INDEX IF NOT EXISTS violations_pos ON violations(tenant, seq, idx);
CREATE INDEX IF NOT EXISTS violations_recent ON violations(tenant, call_at, seq, idx);
CREATE INDEX IF NOT EXISTS violations_rule ON violations(tenant, rule_id, call_at, seq, idx);
CREATE INDEX IF NOT EXISTS violations_severity ON violations(tenant, severity, call_at, seq, idx);
CREATE INDEX IF NOT EXISTS violations_interaction ON violations(tenant, interaction_id, call_at, seq, idx);
CREATE INDEX IF NOT EXISTS violations_agent ON violations(tenant, agent_id, call_at, seq, idx);
CREATE UNIQUE INDEX IF NOT EXISTS events_pos ON events(tenant, seq);
CREATE INDEX IF NOT EXISTS events_ref ON events(tenant, kind, ref);
CREATE INDEX IF NOT EXISTS checkpoints_size ON checkpoints(tenant, size);
CREATE INDEX IF NOT EXISTS gaps_tenant ON gaps(tenant, at);
CREATE INDEX IF NOT EXISTS tier2_interaction ON tier2_findings(tenant, interaction_id);
CREATE UNIQUE INDEX IF NOT EXISTS tier2_id ON tier2_findings(tenant, id);

-- append-only guard rails (not security: whoever owns the database can drop them; the hashes and signatures are
-- what `trace verify` checks)
CREATE OR REPLACE FUNCTION trace_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE OR REPLACE TRIGGER scorecards_no_change BEFORE UPDATE OR DELETE ON scorecards FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER violations_no_change BEFORE UPDATE OR DELETE ON violations FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints FOR EACH ROW EXECUTE FUNCTION trace_append_only();
-- a checkpoint at a multiple of 256 is kept for ever; the others are replaced by the next commit's
CREATE OR REPLACE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints FOR EACH ROW WHEN (OLD.size % 256 = 0) EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER gaps_no_change BEFORE UPDATE OR DELETE ON gaps FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER tier2_findings_no_change BEFORE UPDATE OR DELETE ON tier2_findings FOR EACH ROW EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER agents_no_change BEFORE UPDATE OR DELETE ON agents FOR EACH ROW EXECUTE FUNCTION trace_append_only();
-- TRUNCATE bypasses row triggers
CREATE OR REPLACE TRIGGER scorecards_no_truncate BEFORE TRUNCATE ON scorecards EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER violations_no_truncate BEFORE TRUNCATE ON violations EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER events_no_truncate BEFORE TRUNCATE ON events EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER gaps_no_truncate BEFORE TRUNCATE ON gaps EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER tier2_findings_no_truncate BEFORE TRUNCATE ON tier2_findings EXECUTE FUNCTION trace_append_only();
CREATE OR REPLACE TRIGGER agents_no_truncate BEFORE TRUNCATE ON agents EXECUTE FUNCTION trace_append_only();
INSERT INTO meta(key, value) VALUES ('schema_version', '2') ON CONFLICT DO NOTHING;
