-- Evidence schema 2: each tenant's hash-chained log (scorecards and events share the position space seq), signed
-- checkpoints, the projections written with the records (violations, gaps, tier2_findings, agents) and the
-- exposure rollup cache. Evidence tables are append-only (guard rails; the security is in the hashes and
-- signatures); a checkpoint that is not at a multiple of 256 may be replaced by the next commit's.
CREATE TABLE IF NOT EXISTS [meta] (
   [key] TEXT PRIMARY KEY,
   [value] TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS [scorecards] (
   [tenant] TEXT NOT NULL,
   [seq] INTEGER NOT NULL,
   [call_id] TEXT NOT NULL,
   [agent_id] TEXT,
   [product] TEXT,
   [config_etag] TEXT NOT NULL,
   [engine_version] TEXT NOT NULL,
   [verdict] TEXT NOT NULL,
   [scored_at] INTEGER NOT NULL,
   [call_at] INTEGER NOT NULL,
   [findings] INTEGER NOT NULL,
   [blocked_turns] INTEGER NOT NULL,
   [modified_turns] INTEGER NOT NULL,
   [packs_enforced] TEXT NOT NULL,
   [body] TEXT NOT NULL,
   [leaf_hash] TEXT NOT NULL,
   [prev_hash] TEXT NOT NULL,
   [audit_hash] TEXT NOT NULL,
   [supersedes] TEXT
);
CREATE TABLE IF NOT EXISTS [violations] (
   [tenant] TEXT NOT NULL,
   [seq] INTEGER NOT NULL,
   [idx] INTEGER NOT NULL,
   [id] TEXT NOT NULL,
   [audit_hash] TEXT NOT NULL,
   [interaction_id] TEXT NOT NULL,
   [agent_id] TEXT,
   [rule_id] TEXT NOT NULL,
   [pack_id] TEXT,
   [severity] TEXT NOT NULL,
   [action_taken] TEXT,
   [citation] TEXT,
   [reason] TEXT,
   [at_t] FLOAT,
   [scored_at] INTEGER NOT NULL,
   [call_at] INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS [events] (
   [tenant] TEXT NOT NULL,
   [seq] INTEGER NOT NULL,
   [kind] TEXT NOT NULL,
   [ref] TEXT,
   [body] TEXT NOT NULL,
   [leaf_hash] TEXT NOT NULL,
   [prev_hash] TEXT NOT NULL,
   [audit_hash] TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS [checkpoints] (
   [tenant] TEXT NOT NULL,
   [size] INTEGER NOT NULL,
   [root] TEXT NOT NULL,
   [note] TEXT NOT NULL,
   [signature] TEXT NOT NULL,
   [key_id] TEXT,
   [created_at] INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS [gaps] (
   [tenant] TEXT NOT NULL,
   [lost] INTEGER NOT NULL,
   [reason] TEXT,
   [at] INTEGER NOT NULL,
   [seq] INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS [tier2_findings] (
   [tenant] TEXT NOT NULL,
   [id] TEXT NOT NULL,
   [interaction_id] TEXT NOT NULL,
   [audit_hash] TEXT,
   [body] TEXT NOT NULL,
   [created_at] INTEGER NOT NULL,
   [seq] INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS [agents] (
   [tenant] TEXT,
   [agent_id] TEXT,
   [first_seen] INTEGER NOT NULL,
   [seq] INTEGER NOT NULL,
   PRIMARY KEY ([tenant], [agent_id])
);
CREATE TABLE IF NOT EXISTS [rollup_state] (
   [tenant] TEXT PRIMARY KEY,
   [size] INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS [rollup_verdicts] (
   [tenant] TEXT,
   [hour] INTEGER,
   [agent] TEXT,
   [verdict] TEXT,
   [n] INTEGER NOT NULL,
   PRIMARY KEY ([tenant], [hour], [agent], [verdict])
);
CREATE TABLE IF NOT EXISTS [rollup_rules] (
   [tenant] TEXT,
   [hour] INTEGER,
   [agent] TEXT,
   [rule_id] TEXT,
   [pack] TEXT,
   [n] INTEGER NOT NULL,
   PRIMARY KEY ([tenant], [hour], [agent], [rule_id], [pack])
);
CREATE UNIQUE INDEX IF NOT EXISTS scorecards_pos ON scorecards(tenant, seq);
-- one record per (tenant, call, config, engine version); widened to the transcript's content hash by 0002
CREATE UNIQUE INDEX IF NOT EXISTS scorecards_identity ON scorecards(tenant, call_id, config_etag, engine_version);
-- lists and exposure order and window by call_at (when the call happened), not by when it was scored
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
CREATE TRIGGER IF NOT EXISTS scorecards_no_update BEFORE UPDATE ON scorecards BEGIN SELECT RAISE(ABORT, 'scorecards is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS scorecards_no_delete BEFORE DELETE ON scorecards BEGIN SELECT RAISE(ABORT, 'scorecards is append-only: DELETE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS violations_no_update BEFORE UPDATE ON violations BEGIN SELECT RAISE(ABORT, 'violations is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS violations_no_delete BEFORE DELETE ON violations BEGIN SELECT RAISE(ABORT, 'violations is append-only: DELETE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events is append-only: DELETE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints BEGIN SELECT RAISE(ABORT, 'checkpoints is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints WHEN OLD.size % 256 = 0 BEGIN SELECT RAISE(ABORT, 'checkpoints is append-only: DELETE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS gaps_no_update BEFORE UPDATE ON gaps BEGIN SELECT RAISE(ABORT, 'gaps is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS gaps_no_delete BEFORE DELETE ON gaps BEGIN SELECT RAISE(ABORT, 'gaps is append-only: DELETE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS tier2_findings_no_update BEFORE UPDATE ON tier2_findings BEGIN SELECT RAISE(ABORT, 'tier2_findings is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS tier2_findings_no_delete BEFORE DELETE ON tier2_findings BEGIN SELECT RAISE(ABORT, 'tier2_findings is append-only: DELETE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS agents_no_update BEFORE UPDATE ON agents BEGIN SELECT RAISE(ABORT, 'agents is append-only: UPDATE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS agents_no_delete BEFORE DELETE ON agents BEGIN SELECT RAISE(ABORT, 'agents is append-only: DELETE is not allowed'); END;
INSERT INTO meta(key, value) VALUES ('schema_version', '2') ON CONFLICT DO NOTHING;
