"""The evidence database: schema, append-only triggers, indexes, and connections.

One SQLite file (default ``./trace.db``, created 0600: it holds the cursor secret and API key hashes) in WAL
mode. Every row carries ``tenant``. Each tenant's log is one hash chain whose records live in two tables that
share the position space ``seq``: ``scorecards`` (one per scored call, with its ``violations`` rows) and
``events`` (everything else a read reports: gaps, Tier-2 findings, agents, configs, rule packs, API keys). The
``directory`` log (tenant ``""`` in ``events`` and ``checkpoints``) lists the tenants. ``gaps``,
``tier2_findings`` and ``agents`` are projections of records (their ``seq`` names the record); ``rollup_*`` is a
cache of exposure counts that ``trace verify`` rebuilds and compares. See :mod:`trace_engine.store.log`.

The evidence tables are append-only: ``BEFORE UPDATE`` / ``BEFORE DELETE`` triggers ``RAISE(ABORT, ...)``; a
checkpoint that is not at a multiple of 256 may be deleted (the writer keeps only the latest such "head"
checkpoint per log). ``meta`` holds per-DB settings (schema version, the cursor HMAC secret, the log's verifier key
for information only) and is not evidence. Triggers are guard rails against accidents, not security: the
security is in the hashes and signatures that ``trace verify`` checks.

Tables are created through ``sqlite-utils``; triggers and indexes with plain SQL (``IF NOT EXISTS``).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

import sqlite_utils

DEFAULT_DB = "trace.db"
SCHEMA_VERSION = "2"
EVIDENCE_TABLES: tuple[str, ...] = (
    "scorecards", "violations", "events", "checkpoints", "gaps", "tier2_findings", "agents",
)
ROLLUP_TABLES: tuple[str, ...] = ("rollup_state", "rollup_verdicts", "rollup_rules")
REQUIRED_TABLES: frozenset[str] = frozenset(EVIDENCE_TABLES) | {"meta"} | set(ROLLUP_TABLES)
#: a checkpoint at a multiple of this size is kept for ever; others are replaced by the next commit's
CHECKPOINT_EVERY = 256


class UnreadableDatabase(Exception):
    """The file is missing, is not SQLite, is damaged, or is not a Trace evidence database of this version."""


class TraceConnection(sqlite3.Connection):
    """A connection that can carry the evidence log bound to it (see :func:`trace_engine.store.log.log_for`)."""

    evidence_log: object | None = None


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
            "call_at": int,
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
                "tenant", "seq", "call_id", "config_etag", "engine_version", "verdict", "scored_at", "call_at",
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
            "call_at": int,
        },
        {
            "not_null": {
                "tenant", "seq", "idx", "id", "audit_hash", "interaction_id", "rule_id", "severity", "scored_at",
                "call_at",
            }
        },
    ),
    "events": (
        {
            "tenant": str,
            "seq": int,
            "kind": str,
            "ref": str,
            "body": str,
            "leaf_hash": str,
            "prev_hash": str,
            "audit_hash": str,
        },
        {"not_null": {"tenant", "seq", "kind", "body", "leaf_hash", "prev_hash", "audit_hash"}},
    ),
    "checkpoints": (
        {"tenant": str, "size": int, "root": str, "note": str, "signature": str, "key_id": str, "created_at": int},
        {"not_null": {"tenant", "size", "root", "note", "signature", "created_at"}},
    ),
    "gaps": (
        {"tenant": str, "lost": int, "reason": str, "at": int, "seq": int},
        {"not_null": {"tenant", "lost", "at", "seq"}},
    ),
    "tier2_findings": (
        {
            "tenant": str, "id": str, "interaction_id": str, "audit_hash": str, "body": str, "created_at": int,
            "seq": int,
        },
        {"not_null": {"tenant", "id", "interaction_id", "body", "created_at", "seq"}},
    ),
    "agents": (
        {"tenant": str, "agent_id": str, "first_seen": int, "seq": int},
        {"pk": ("tenant", "agent_id"), "not_null": {"first_seen", "seq"}},
    ),
    # exposure cache, per tenant, call hour (of call_at), agent ("\x00" for none) and verdict / rule
    "rollup_state": ({"tenant": str, "size": int}, {"pk": "tenant", "not_null": {"size"}}),
    "rollup_verdicts": (
        {"tenant": str, "hour": int, "agent": str, "verdict": str, "n": int},
        {"pk": ("tenant", "hour", "agent", "verdict"), "not_null": {"n"}},
    ),
    "rollup_rules": (
        {"tenant": str, "hour": int, "agent": str, "rule_id": str, "pack": str, "n": int},
        {"pk": ("tenant", "hour", "agent", "rule_id", "pack"), "not_null": {"n"}},
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

# Lists and exposure order and window by call_at (when the call happened), not by when it was scored.
_INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS scorecards_pos ON scorecards(tenant, seq)",
    _IDENTITY_INDEX,
    "CREATE INDEX IF NOT EXISTS scorecards_recent ON scorecards(tenant, call_at, seq)",
    "CREATE INDEX IF NOT EXISTS scorecards_verdict ON scorecards(tenant, verdict, call_at, seq)",
    "CREATE INDEX IF NOT EXISTS scorecards_agent ON scorecards(tenant, agent_id, call_at, seq)",
    "CREATE INDEX IF NOT EXISTS scorecards_supersedes ON scorecards(tenant, supersedes) WHERE supersedes IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS scorecards_audit ON scorecards(audit_hash)",
    "CREATE UNIQUE INDEX IF NOT EXISTS violations_pos ON violations(tenant, seq, idx)",
    "CREATE INDEX IF NOT EXISTS violations_recent ON violations(tenant, call_at, seq, idx)",
    "CREATE INDEX IF NOT EXISTS violations_rule ON violations(tenant, rule_id, call_at, seq, idx)",
    "CREATE INDEX IF NOT EXISTS violations_severity ON violations(tenant, severity, call_at, seq, idx)",
    "CREATE INDEX IF NOT EXISTS violations_interaction ON violations(tenant, interaction_id, call_at, seq, idx)",
    "CREATE INDEX IF NOT EXISTS violations_agent ON violations(tenant, agent_id, call_at, seq, idx)",
    "CREATE UNIQUE INDEX IF NOT EXISTS events_pos ON events(tenant, seq)",
    "CREATE INDEX IF NOT EXISTS events_ref ON events(tenant, kind, ref)",
    "CREATE INDEX IF NOT EXISTS checkpoints_size ON checkpoints(tenant, size)",
    "CREATE INDEX IF NOT EXISTS gaps_tenant ON gaps(tenant, at)",
    "CREATE INDEX IF NOT EXISTS tier2_interaction ON tier2_findings(tenant, interaction_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS tier2_id ON tier2_findings(tenant, id)",
]


def _triggers() -> list[str]:
    out = []
    for t in EVIDENCE_TABLES:
        for op in ("UPDATE", "DELETE"):
            # superseded head checkpoints (not at a multiple of CHECKPOINT_EVERY) are pruned by the writer
            when = f" WHEN OLD.size % {CHECKPOINT_EVERY} = 0" if (t, op) == ("checkpoints", "DELETE") else ""
            out.append(
                f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t}{when} "
                f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: {op} is not allowed'); END"
            )
    return out


def _create_private(p: str) -> None:
    """Create the database file readable by its owner only (SQLite gives its -wal and -shm files the same mode)."""
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        pass


def _tighten(p: str) -> None:
    """An existing database (and its WAL files) that others can read is made owner-only."""
    for f in (p, p + "-wal", p + "-shm"):
        try:
            mode = os.stat(f).st_mode
            if mode & 0o077:
                os.chmod(f, mode & 0o700)
        except OSError:
            pass


def connect(path: str | os.PathLike[str], *, create: bool = True, timeout: float = 5.0) -> sqlite3.Connection:
    """Open (and with ``create`` initialise) the evidence DB. Autocommit mode: callers issue BEGIN themselves.

    Raises :class:`UnreadableDatabase` when the file is missing (and ``create`` is false), is not SQLite, is
    damaged, is not a Trace DB, or was written by another schema version.
    """
    p = str(path)
    if p != ":memory:":
        if not create and not Path(p).is_file():
            raise UnreadableDatabase(f"{p}: no such database")
        if create and not Path(p).exists():
            try:
                _create_private(p)
            except OSError as exc:
                raise UnreadableDatabase(f"{p}: cannot create the database: {exc.strerror or exc}") from exc
        elif create:
            _tighten(p)
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(
            p, isolation_level=None, timeout=timeout, check_same_thread=False, factory=TraceConnection
        )
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" in names:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is not None and row[0] != SCHEMA_VERSION:
                raise UnreadableDatabase(
                    f"{p}: evidence database schema version {row[0]!r}; this Trace reads and writes version "
                    f"{SCHEMA_VERSION!r} (start a new database, and verify the old one with the Trace that wrote it)"
                )
        if create:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            init_schema(conn)
        else:
            missing = REQUIRED_TABLES - names
            if missing:
                raise UnreadableDatabase(f"{p}: not a Trace evidence database (missing {', '.join(sorted(missing))})")
    except UnreadableDatabase:
        if conn is not None:
            conn.close()
        raise
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        if conn is not None:
            conn.close()
        raise UnreadableDatabase(f"{p}: the database file is damaged or not SQLite ({exc})") from exc
    return conn


def init_schema(conn: sqlite3.Connection) -> None:
    db = sqlite_utils.Database(conn)
    existing = set(db.table_names())
    if REQUIRED_TABLES <= existing:
        _migrate_identity_index(conn)
        return
    if "scorecards" in existing and "events" not in existing:
        raise UnreadableDatabase("evidence database from an older Trace (schema version 1); start a new database")
    for name, (cols, opts) in _TABLES.items():
        if name not in existing:
            db[name].create(cols, if_not_exists=True, **opts)  # type: ignore[union-attr]
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql in _INDEXES + _triggers():
            conn.execute(sql)
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('cursor_secret', ?)", (secrets.token_hex(32),))
        # names this database for the writers' in-memory tree heads (a file recreated at the same path is another log)
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('log_id', ?)", (secrets.token_hex(16),))
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
