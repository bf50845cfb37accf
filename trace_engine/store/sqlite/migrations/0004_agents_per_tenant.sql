-- Agents are per tenant: an agent's identity is (tenant, agent_id) everywhere. No row changes: every agents and
-- trace_configs row already carries its tenant. (API schema 2.)
DROP INDEX IF EXISTS agents_owner;
INSERT INTO meta(key, value) VALUES ('api_schema_version', '2') ON CONFLICT(key) DO UPDATE SET value = excluded.value;
