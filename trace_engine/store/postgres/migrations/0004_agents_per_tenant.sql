-- Agents are per tenant (SQLite backend's 0004; API schema 2).
DROP INDEX IF EXISTS agents_owner;
INSERT INTO meta(key, value) VALUES ('api_schema_version', '2') ON CONFLICT (key) DO UPDATE SET value = excluded.value;
