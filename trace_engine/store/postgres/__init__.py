"""The server backend: PostgreSQL through psycopg 3 and a ``psycopg_pool`` connection pool.

**One chain, many writers.** Gate hosts, API servers and re-scoring sequencers on many machines append to the same
tenant's log at once. Each log is serialized in the database: a write transaction takes a transaction-level
advisory lock per log it extends (``pg_advisory_xact_lock``, keyed by the database's ``log_id`` and the tenant)
before it reads the log's tail, and holds it until it commits with its signed checkpoint; the next writer then
sees the committed tail, accounts for it (a checkpoint signed by a trusted key covers it) and extends it. Locks are
taken in one order (the batch's tenants sorted, the directory last), so two writers never wait on each other in a
cycle; a key rotation takes every log at once (an exclusive lock every appender shares). Different tenants never
wait on each other.

Reads run in ``REPEATABLE READ READ ONLY`` transactions: one snapshot, so a list and its signed size agree.

Schema: the files in ``migrations/``, applied by ``trace store migrate --db postgresql://…`` (never implicitly: a
shared database is upgraded on purpose, once). Text columns compare byte by byte (``COLLATE "C"``), as SQLite does.
Needs PostgreSQL 15 or later (``UNIQUE NULLS NOT DISTINCT``).

Keys: a server database has nothing "beside" it, so writers are given their key (``--key``), and
``TRACE_KEY_DIR`` names a directory holding ``trace.key`` / ``trace.pub`` for the tools that look there when none
is given.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from trace_engine.store.interfaces import ConnectHook, Store, StoreError, UnreadableDatabase
from trace_engine.store.migrate import BOOKKEEPING, latest, migrations
from trace_engine.store.sql import SqlSession

#: the advisory lock every appender holds shared and a key rotation exclusively (and migrations, on their own key)
_ALL_LOGS = "all logs"
_MIGRATIONS = "migrations"


def is_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """The URL without its password (for messages and cache keys)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


@lru_cache(maxsize=4096)
def _pg(statement: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return statement.replace("%", "%%").replace("?", "%s")


def lock_key(log_id: str, name: str) -> int:
    """A signed 64-bit advisory-lock key for one log of one database."""
    digest = hashlib.sha256(f"trace\x00{log_id}\x00{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresSession(SqlSession):
    BODY_BYTES = "convert_to(body, 'UTF8')"
    BODY_PARAM = "convert_from(?, 'UTF8')"
    ROLLUP_NONE = None

    def __init__(self, store: Any, conn: Any):
        super().__init__(store, conn)
        self._locked: set[str] = set()
        self._shared = False

    def contains(self, column: str) -> str:
        return f"strpos({column}, ?) > 0"

    def json_text(self, column: str, *path: str) -> str:
        # operators, not a '{a,b}' path literal: statements pass through str.format (``{marks}``)
        steps = "".join(f" -> '{p}'" for p in path[:-1])
        return f"((({column})::jsonb{steps}) ->> '{path[-1]}')"

    def sql(self, statement: str) -> str:
        return _pg(statement)

    def table_exists(self, table: str) -> bool:
        return self._one("SELECT to_regclass(?) IS NOT NULL", (table,))[0]  # type: ignore[index]

    def _scan(self, statement: str, args: Sequence[Any] = ()) -> Iterator[tuple]:
        """A server-side cursor: a whole log streams in batches instead of arriving in memory at once."""
        name = f"trace_scan_{secrets.token_hex(6)}"
        try:
            with self.conn.cursor(name=name) as cur:
                cur.itersize = 2000
                cur.execute(self.sql(statement), args)
                yield from cur
        except self.store.driver_errors as exc:
            raise StoreError(f"{self.store.url}: {exc}", exc) from exc

    def _lock(self, name: str, *, shared: bool = False) -> None:
        fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        self._run(f"SELECT {fn}(?)", (lock_key(self.store.log_id, name),))

    def lock_logs(self, tenants: Sequence[str]) -> None:
        if not self._shared:
            self._lock(_ALL_LOGS, shared=True)
            self._shared = True
        for t in tenants:
            if t not in self._locked:
                self._lock("log\x00" + t)
                self._locked.add(t)

    def lock_all_logs(self) -> None:
        if self._shared:
            raise RuntimeError("lock_all_logs must come first in its transaction")
        self._lock(_ALL_LOGS)
        self._shared = True


class PostgresStore(Store):
    """A Trace database in PostgreSQL. ``min_size``/``max_size``: the connection pool's bounds. ``migrate``: apply
    pending migrations now; otherwise a schema that is not the latest is refused (unless ``check_schema`` is off,
    for ``trace store migrate``)."""

    kind = "postgres"

    def __init__(
        self,
        url: str,
        *,
        create: bool = True,
        migrate: bool | None = None,
        connect_hook: ConnectHook | None = None,
        min_size: int = 1,
        max_size: int = 8,
        timeout: float = 30.0,
        check_schema: bool = True,
    ):
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:  # pragma: no cover - the extra is part of the install
            raise UnreadableDatabase(
                "PostgreSQL support needs psycopg 3: pip install 'trace-engine[postgres]'"
            ) from exc
        env_dir = os.environ.get("TRACE_KEY_DIR")
        super().__init__(redact(url), Path(env_dir) if env_dir else None)
        self.driver_errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        self._psycopg = psycopg
        self._hook = connect_hook
        self._closed = False

        def configure(conn: Any) -> None:
            conn.autocommit = True
            if connect_hook is not None:
                connect_hook(conn)

        try:
            psycopg.connect(url, connect_timeout=max(1, int(timeout))).close()  # a bad URL fails now, and says why
        except psycopg.Error as exc:
            raise UnreadableDatabase(f"{self.url}: cannot connect to PostgreSQL ({_reason(exc)})") from None
        try:
            self._pool = ConnectionPool(
                url, min_size=min_size, max_size=max_size, timeout=timeout, configure=configure, open=False,
                name="trace", kwargs=_liveness(url),
            )
            self._pool.open(wait=True, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - psycopg_pool raises PoolTimeout with the cause in the log
            raise UnreadableDatabase(f"{self.url}: cannot connect to PostgreSQL ({_reason(exc)})") from exc
        try:
            version = self.schema_version()
            want = latest("postgres")
            if migrate:
                self.migrate()
            elif not check_schema:
                pass
            elif version > want:
                raise UnreadableDatabase(
                    f"{self.url}: schema version {version} is newer than this Trace knows ({want}): upgrade Trace"
                )
            elif version < want:
                raise UnreadableDatabase(
                    f"{self.url}: "
                    + ("not a Trace evidence database yet" if version == 0 else f"schema version {version}, this Trace needs {want}")
                    + f": run `trace store migrate --db {self.url}`"
                )
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------------------------- transactions

    def _begin(self, write: bool) -> PostgresSession:
        try:
            conn = self._pool.getconn()
        except Exception as exc:  # noqa: BLE001 - PoolTimeout, OperationalError
            raise StoreError(f"{self.url}: no database connection ({_reason(exc)})", exc) from exc
        try:
            conn.execute("BEGIN" if write else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        except self.driver_errors as exc:
            self._pool.putconn(conn)
            raise StoreError(f"{self.url}: {exc}", exc) from exc
        return PostgresSession(self, conn)

    def _commit(self, session: Any) -> None:
        try:
            session.conn.execute("COMMIT")
        except self.driver_errors as exc:
            raise StoreError(f"{self.url}: {exc}", exc) from exc

    def _rollback(self, session: Any) -> None:
        try:
            session.conn.execute("ROLLBACK")
        except self.driver_errors:
            pass

    def _release(self, session: Any) -> None:
        self._pool.putconn(session.conn)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close()

    # ------------------------------------------------------------------------------------- migrations

    def schema_version(self) -> int:
        with self.read() as s:
            if not s.table_exists("schema_migrations"):
                return 0
            row = s._one("SELECT max(version) FROM schema_migrations")
            return int(row[0]) if row and row[0] is not None else 0

    def migrate(self, *, target: int | None = None) -> list[str]:
        done: list[str] = []
        with self.transaction() as s:
            # one migrator at a time, across hosts (the log_id is not known before the first migration)
            s._run("SELECT pg_advisory_xact_lock(?)", (lock_key("", _MIGRATIONS),))
            s._run(BOOKKEEPING)
            applied = {r[0] for r in s._all("SELECT version FROM schema_migrations")}
            if applied and max(applied) > latest("postgres"):
                raise UnreadableDatabase(
                    f"{self.url}: schema version {max(applied)} is newer than this Trace knows: upgrade Trace"
                )
            for m in migrations("postgres"):
                if m.version in applied or (target is not None and m.version > target):
                    continue
                try:
                    s.conn.execute(m.sql)  # no parameters: the file runs as one multi-statement query
                except self.driver_errors as exc:
                    raise StoreError(f"{self.url}: migration {m.filename} failed: {exc}", exc) from exc
                s._run(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (m.version, m.name, int(time.time() * 1000)),
                )
                done.append(m.filename)
            if s.table_exists("meta"):
                s.set_meta("cursor_secret", secrets.token_hex(32), replace=False)
                s.set_meta("log_id", secrets.token_hex(16), replace=False)
        return done


#: connection settings that free a tenant's lock when its writer's host vanishes (a killed process closes its socket
#: and the server ends its transaction at once; a host that loses power or network does not): TCP keepalives, and
#: a transaction left idle this long is ended by the server. The URL's own settings win.
LIVENESS: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "options": "-c idle_in_transaction_session_timeout=300000",
}


def _liveness(url: str) -> dict[str, Any]:
    from psycopg.conninfo import conninfo_to_dict

    given = conninfo_to_dict(url)
    extra = {k: v for k, v in LIVENESS.items() if k not in given}
    if "options" in given and "idle_in_transaction_session_timeout" not in str(given["options"]):
        extra["options"] = f"{given['options']} {LIVENESS['options']}"
    return extra


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

