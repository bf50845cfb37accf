"""The service's own tables, in the evidence database's SQLite file (same conventions as
:mod:`trace_engine.store.db`: created through ``sqlite-utils``, indexes with plain SQL, every row carries its tenant).

* ``api_keys``: ``key_id``, ``tenant``, ``key_hash`` (SHA-256 of the key; the key itself is never stored),
  ``scopes`` (comma-separated), ``created_at``, ``revoked_at``.
* ``trace_configs``: one row per ``(tenant, agent_id)``; ``agent_id`` is ``""`` for the org default. ``body`` is
  the stored ``TraceConfigInput`` (canonical JSON), ``etag`` its content hash, ``updated_at`` Unix ms.
* ``trace_rule_packs``: tenant uploads, append-only, one row per ``(tenant, pack_id, version)``. ``spec`` is the
  pack's canonical JSON form; the newest row of a ``pack_id`` is its latest active version.

Agents: the identity of an agent is ``(tenant, agent_id)`` everywhere (the evidence store's ``agents`` table,
``trace_configs``, the read views and their cursors). Each tenant has its own namespace of agent ids; there is no
global owner of an id.

Schema versions (``meta.api_schema_version``), applied in order by :func:`init_api_schema` on open:

1. the tables above, with a global ``agents_owner`` index on ``agents(agent_id)`` (first tenant to use an id owned
   it everywhere: another tenant's calls under that id were 404s, and a 404 told it the id was taken);
2. agents are per tenant: ``agents_owner`` is dropped (nothing may look an agent up without its tenant). No row
   changes: every ``agents`` and ``trace_configs`` row already carries its tenant, so each tenant simply keeps
   the agents it has.

Every write to these tables (a key minted or revoked, a config stored, a pack uploaded, an agent claimed) is also a
signed record of the tenant's evidence log, in the same transaction (:func:`trace_engine.store.log.transaction`);
``trace verify`` checks the tables against those records.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils

_TABLES: dict[str, tuple[dict[str, type], dict]] = {
    "api_keys": (
        {
            "key_id": str,
            "tenant": str,
            "key_hash": str,
            "scopes": str,
            "created_at": int,
            "revoked_at": int,
            "note": str,
        },
        {"pk": "key_id", "not_null": {"tenant", "key_hash", "scopes", "created_at"}},
    ),
    "trace_configs": (
        {"tenant": str, "agent_id": str, "body": str, "etag": str, "updated_at": int},
        {"pk": ("tenant", "agent_id"), "not_null": {"body", "etag", "updated_at"}},
    ),
    "trace_rule_packs": (
        {
            "tenant": str,
            "pack_id": str,
            "version": str,
            "id": str,
            "spec": str,
            "etag": str,
            "jurisdiction": str,
            "legal_status": str,
            "created_at": int,
        },
        {"pk": ("tenant", "pack_id", "version"), "not_null": {"id", "spec", "etag", "created_at"}},
    ),
}

_INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS api_keys_hash ON api_keys(key_hash)",
    "CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys(tenant)",
    "CREATE INDEX IF NOT EXISTS trace_rule_packs_latest ON trace_rule_packs(tenant, pack_id, created_at)",
    # uploads are append-only, like the evidence tables
    "CREATE TRIGGER IF NOT EXISTS trace_rule_packs_no_update BEFORE UPDATE ON trace_rule_packs "
    "BEGIN SELECT RAISE(ABORT, 'trace_rule_packs is append-only: UPDATE is not allowed'); END",
    "CREATE TRIGGER IF NOT EXISTS trace_rule_packs_no_delete BEFORE DELETE ON trace_rule_packs "
    "BEGIN SELECT RAISE(ABORT, 'trace_rule_packs is append-only: DELETE is not allowed'); END",
]


API_SCHEMA_VERSION = 2
#: version -> statements that bring a database from the previous version to it
_MIGRATIONS: dict[int, list[str]] = {
    2: ["DROP INDEX IF EXISTS agents_owner"],
}


def api_schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'api_schema_version'").fetchone()
    if row is not None:
        return int(row[0])
    return 1 if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'trace_configs'").fetchone() else 0


def init_api_schema(conn: sqlite3.Connection) -> None:
    """Create the service tables and migrate them to :data:`API_SCHEMA_VERSION` (idempotent). The evidence schema
    must exist already (``store.db.connect``)."""
    db = sqlite_utils.Database(conn)
    existing = set(db.table_names())
    if set(_TABLES) <= existing and api_schema_version(conn) >= API_SCHEMA_VERSION:
        return
    for name, (cols, opts) in _TABLES.items():
        if name not in existing:
            db[name].create(cols, if_not_exists=True, **opts)  # type: ignore[union-attr]
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = api_schema_version(conn)
        for step in range(max(version, 1) + 1, API_SCHEMA_VERSION + 1):
            for sql in _MIGRATIONS.get(step, []):
                conn.execute(sql)
        for sql in _INDEXES:
            conn.execute(sql)
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('api_schema_version', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(API_SCHEMA_VERSION),),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def open_db(path: str, *, create: bool = True) -> sqlite3.Connection:
    """Open the evidence DB (creating it when ``create``) with the service tables in place."""
    from trace_engine.store.db import connect

    conn = connect(path, create=create)
    init_api_schema(conn)
    return conn
