"""The evidence database: schema, append-only triggers, indexes, and connections.

One SQLite file (default ``./trace.db``) in WAL mode. Every row carries ``tenant``. The evidence tables
(``scorecards``, ``violations``, ``checkpoints``, ``gaps``, ``tier2_findings``, ``agents``) are append-only:
``BEFORE UPDATE`` / ``BEFORE DELETE`` triggers ``RAISE(ABORT, ...)``. ``meta`` holds per-DB settings (the
cursor HMAC secret, the log's verifier key) and is not evidence.

Tables are created through ``sqlite-utils``; triggers and indexes with plain SQL (``IF NOT EXISTS``).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

import sqlite_utils

DEFAULT_DB = "trace.db"
SCHEMA_VERSION = "1"
EVIDENCE_TABLES: tuple[str, ...] = ("scorecards", "violations", "checkpoints", "gaps", "tier2_findings", "agents")
REQUIRED_TABLES: frozenset[str] = frozenset(EVIDENCE_TABLES) | {"meta"}


class UnreadableDatabase(Exception):
    """The file is missing, is not SQLite, or is not a Trace evidence database."""


_TABLES: dict[str, tuple[dict[str, type], dict]] = {
    "meta": ({"key": str, "value": str}, {"pk": "key", "not_null": {"value"}}),
    "scorecards": (
        {
            "tenant": str,
            "seq": int,
            "call_id": str,
            "agent_id": str,
            "product": str,
            "config_etag": str,
            "engine_version": str,
            "verdict": str,
            "scored_at": int,
            "findings": int,
            "blocked_turns": int,
            "modified_turns": int,
            "packs_enforced": str,
            "body": str,
            "leaf_hash": str,
            "prev_hash": str,
            "audit_hash": str,
            "supersedes": str,
        },
        {
            "not_null": {
                "tenant", "seq", "call_id", "config_etag", "engine_version", "verdict", "scored_at",
                "findings", "blocked_turns", "modified_turns", "packs_enforced", "body", "leaf_hash",
                "prev_hash", "audit_hash",
            }
        },
    ),
    "violations": (
        {
            "tenant": str,
            "seq": int,
            "idx": int,
            "id": str,
            "audit_hash": str,
            "interaction_id": str,
            "agent_id": str,
            "rule_id": str,
            "pack_id": str,
            "severity": str,
            "action_taken": str,
            "citation": str,
            "reason": str,
            "at_t": float,
            "scored_at": int,
        },
        {"not_null": {"tenant", "seq", "idx", "id", "audit_hash", "interaction_id", "rule_id", "severity", "scored_at"}},
    ),
    "checkpoints": (
        {"tenant": str, "size": int, "root": str, "note": str, "signature": str, "key_id": str, "created_at": int},
        {"not_null": {"tenant", "size", "root", "note", "signature", "created_at"}},
    ),
    "gaps": (
        {"tenant": str, "lost": int, "reason": str, "at": int},
        {"not_null": {"tenant", "lost", "at"}},
    ),
    "tier2_findings": (
        {"tenant": str, "id": str, "interaction_id": str, "audit_hash": str, "body": str, "created_at": int},
        {"not_null": {"tenant", "id", "interaction_id", "body", "created_at"}},
    ),
    "agents": (
        {"tenant": str, "agent_id": str, "first_seen": int},
        {"pk": ("tenant", "agent_id"), "not_null": {"first_seen"}},
    ),
}

#: one record per (tenant, call, config, engine, re-scored content); the content hash is read from the signed body
#: (never from a separate, unverified column), ``''`` for live calls
_IDENTITY_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS scorecards_identity_content ON scorecards(tenant, call_id, config_etag, "
    "engine_version, coalesce(json_extract(body, '$.scorecard.input.sha256'), ''))"
)
#: the identity index before re-scoring hashed content; replaced on open
_OLD_IDENTITY_INDEX = "scorecards_identity"

_INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS scorecards_pos ON scorecards(tenant, seq)",
    _IDENTITY_INDEX,
    "CREATE INDEX IF NOT EXISTS scorecards_recent ON scorecards(tenant, scored_at, seq)",
    # covering index for exposure: the aggregate never touches the (large) scorecard rows
    "CREATE INDEX IF NOT EXISTS scorecards_window ON scorecards(tenant, scored_at, verdict, agent_id, audit_hash)",
    "CREATE INDEX IF NOT EXISTS scorecards_verdict ON scorecards(tenant, verdict, scored_at, seq)",
    "CREATE INDEX IF NOT EXISTS scorecards_agent ON scorecards(tenant, agent_id, scored_at, seq)",
    "CREATE INDEX IF NOT EXISTS scorecards_supersedes ON scorecards(tenant, supersedes) WHERE supersedes IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS scorecards_audit ON scorecards(audit_hash)",
    "CREATE UNIQUE INDEX IF NOT EXISTS violations_pos ON violations(tenant, seq, idx)",
    "CREATE INDEX IF NOT EXISTS violations_recent ON violations(tenant, scored_at, seq, idx)",
    "CREATE INDEX IF NOT EXISTS violations_window ON violations(tenant, scored_at, rule_id, pack_id, agent_id, audit_hash, seq)",
    "CREATE INDEX IF NOT EXISTS violations_rule ON violations(tenant, rule_id, scored_at, seq, idx)",
    "CREATE INDEX IF NOT EXISTS violations_severity ON violations(tenant, severity, scored_at, seq, idx)",
    "CREATE INDEX IF NOT EXISTS violations_interaction ON violations(tenant, interaction_id, scored_at, seq, idx)",
    "CREATE INDEX IF NOT EXISTS violations_agent ON violations(tenant, agent_id, scored_at, seq, idx)",
    "CREATE INDEX IF NOT EXISTS checkpoints_size ON checkpoints(tenant, size)",
    "CREATE INDEX IF NOT EXISTS gaps_tenant ON gaps(tenant, at)",
    "CREATE INDEX IF NOT EXISTS tier2_interaction ON tier2_findings(tenant, interaction_id)",
]


def _triggers() -> list[str]:
    out = []
    for t in EVIDENCE_TABLES:
        for op in ("UPDATE", "DELETE"):
            out.append(
                f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t} "
                f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: {op} is not allowed'); END"
            )
    return out


def connect(path: str | os.PathLike[str], *, create: bool = True, timeout: float = 5.0) -> sqlite3.Connection:
    """Open (and with ``create`` initialise) the evidence DB. Autocommit mode: callers issue BEGIN themselves.

    Raises :class:`UnreadableDatabase` when ``create`` is false and the file is missing or not a Trace DB.
    """
    p = str(path)
    if not create and p != ":memory:" and not Path(p).is_file():
        raise UnreadableDatabase(f"{p}: no such database")
    try:
        conn = sqlite3.connect(p, isolation_level=None, timeout=timeout, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if create:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            init_schema(conn)
        else:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = REQUIRED_TABLES - names
            if missing:
                conn.close()
                raise UnreadableDatabase(f"{p}: not a Trace evidence database (missing {', '.join(sorted(missing))})")
    except sqlite3.DatabaseError as exc:
        raise UnreadableDatabase(f"{p}: {exc}") from exc
    return conn


def init_schema(conn: sqlite3.Connection) -> None:
    db = sqlite_utils.Database(conn)
    existing = set(db.table_names())
    if REQUIRED_TABLES <= existing:
        _migrate_identity_index(conn)
        return
    for name, (cols, opts) in _TABLES.items():
        if name not in existing:
            db[name].create(cols, if_not_exists=True, **opts)  # type: ignore[union-attr]
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql in _INDEXES + _triggers():
            conn.execute(sql)
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('cursor_secret', ?)", (secrets.token_hex(32),))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _migrate_identity_index(conn: sqlite3.Connection) -> None:
    """A DB from before content hashing: its identity index would refuse a corrected transcript's scorecard."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (_OLD_IDENTITY_INDEX,)).fetchone():
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"DROP INDEX IF EXISTS {_OLD_IDENTITY_INDEX}")
            conn.execute(_IDENTITY_INDEX)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def cursor_secret(conn: sqlite3.Connection) -> bytes:
    v = get_meta(conn, "cursor_secret")
    if v is None:  # a DB opened read-only before its first write
        raise UnreadableDatabase("database has no cursor secret")
    return bytes.fromhex(v)
