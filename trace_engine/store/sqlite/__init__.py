"""The embedded backend: one SQLite file (default ``./trace.db``) in WAL mode, created 0600 (it holds the cursor
secret and API key hashes; an existing one others can read is tightened when opened for writing).

A write transaction is ``BEGIN IMMEDIATE``: SQLite's database-wide write lock is the sequencer of every log in the
file, so several processes on one host may append at once. Each thread has its own connection. Opening for writing
applies pending migrations (``migrations/``); opening for reading (``trace verify``, the read commands) changes
nothing. Append-only triggers guard the evidence tables (guard rails only: the security is in the hashes and
signatures ``trace verify`` checks).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trace_engine.store.interfaces import ConnectHook, Store, StoreError, UnreadableDatabase
from trace_engine.store.migrate import BOOKKEEPING, latest, migrations
from trace_engine.store.sql import SqlSession

#: the evidence format this Trace reads and writes (``meta.schema_version``)
EVIDENCE_FORMAT = "2"
EVIDENCE_TABLES: tuple[str, ...] = (
    "scorecards", "violations", "events", "checkpoints", "gaps", "tier2_findings", "agents",
)
ROLLUP_TABLES: tuple[str, ...] = ("rollup_state", "rollup_verdicts", "rollup_rules")
REQUIRED_TABLES: frozenset[str] = frozenset(EVIDENCE_TABLES) | {"meta"} | set(ROLLUP_TABLES)


# The sqlite3 module binds exact int, float, str and bytearray parameters directly; anything else, bytes and None
# included, goes through its adaptation protocol, which looks up ``__adapt__`` on its PrepareProtocol type: a failed
# lookup there raises and formats an AttributeError, for every such parameter (a record body, every NULL column).
# An adapter registered for the type is found first. These two hand the value back unchanged (``bytes`` returns an
# exact bytes object itself; an empty dict's ``get`` returns None), so what is bound is exactly what was before: a
# BLOB, a NULL. About 1.8k instructions per parameter, 4-5 parameters per appended scorecard.
sqlite3.register_adapter(bytes, bytes)
sqlite3.register_adapter(type(None), {}.get)


#: the migration that gave the identity's content hash its own column
IDENTITY_COLUMN = 6

#: held by a background checkpoint while it runs in SQLite, and by fork() (so a fork waits for it): a child must
#: not inherit SQLite's mutexes and lock bookkeeping as a thread it does not have held them (re-scoring workers are
#: forked after the log is open, and open the same file)
_IN_SQLITE = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_IN_SQLITE.acquire, after_in_parent=_IN_SQLITE.release,
                        after_in_child=_IN_SQLITE.release)


class SQLiteSession(SqlSession):
    def identity_sha(self) -> str:
        # a file is read as it is (`trace verify` never migrates): below 0006 the hash is only in the signed body.
        # A column that is there is read whatever the file says of its version (so verify holds it to the body)
        cols = {r[1] for r in self._all("PRAGMA table_info(scorecards)")}
        if "input_sha256" in cols or self.store.schema_version() >= IDENTITY_COLUMN:
            return "input_sha256"
        # (a body that is not JSON any more is that record's problem, which verify reports: not an error here)
        return f"CASE WHEN json_valid(body) THEN {self.json_text('body', 'scorecard', 'input', 'sha256')} END"

    def table_exists(self, table: str) -> bool:
        return self._one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)) is not None


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


class SQLiteStore(Store):
    """A Trace database in one SQLite file (or ``:memory:``, one connection shared by every thread).

    ``create``: make the file (0600) when missing. ``migrate`` (default: ``create``): apply pending migrations;
    otherwise a file without the evidence tables is refused (unless ``check_schema`` is off).
    ``connect_hook(conn)`` runs on every connection opened (tests use it to simulate a full disk).
    """

    kind = "sqlite"
    driver_errors: tuple[type[BaseException], ...] = (sqlite3.Error, UnicodeDecodeError)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        migrate: bool | None = None,
        connect_hook: ConnectHook | None = None,
        timeout: float = 5.0,
        check_schema: bool = True,
    ):
        p = str(path)
        memory = p == ":memory:"
        super().__init__(p, None if memory else Path(os.path.abspath(p)).parent)
        self.path = p
        self._memory = memory
        self._timeout = timeout
        self._hook = connect_hook
        self._writable = create or bool(migrate) or not check_schema
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._shared: sqlite3.Connection | None = None
        # the file this store opened (resolved once: the writers' tree heads are found by it at every commit)
        self._real = f":memory:{id(self)}" if memory else os.path.realpath(p)
        #: set after each commit while :meth:`checkpoints_in_background` is open
        self._checkpoint_due: threading.Event | None = None
        if not memory:
            if not create and not Path(p).is_file():
                raise UnreadableDatabase(f"{p}: no such database")
            if create and not Path(p).exists():
                try:
                    _create_private(p)
                except OSError as exc:
                    raise UnreadableDatabase(f"{p}: cannot create the database: {exc.strerror or exc}") from exc
            elif create:
                _tighten(p)
        try:
            conn = self._conn()
            names = self._table_names(conn)
            if "meta" in names:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is not None and row[0] != EVIDENCE_FORMAT:
                    raise UnreadableDatabase(
                        f"{p}: evidence database schema version {row[0]!r}; this Trace reads and writes version "
                        f"{EVIDENCE_FORMAT!r} (start a new database, and verify the old one with the Trace that wrote it)"
                    )
            if "scorecards" in names and "events" not in names:
                raise UnreadableDatabase(f"{p}: evidence database from an older Trace (schema version 1); start a new database")
            version = self.schema_version()
            if version > latest("sqlite"):
                raise UnreadableDatabase(
                    f"{p}: schema version {version} is newer than this Trace knows ({latest('sqlite')}): upgrade Trace"
                )
            if migrate if migrate is not None else create:
                self.migrate()
            elif check_schema:
                missing = REQUIRED_TABLES - self._table_names(conn)
                if missing:
                    raise UnreadableDatabase(f"{p}: not a Trace evidence database (missing {', '.join(sorted(missing))})")
        except UnreadableDatabase:
            self.close()
            raise
        except (sqlite3.Error, UnicodeDecodeError, StoreError) as exc:
            self.close()
            raise UnreadableDatabase(f"{p}: the database file is damaged or not SQLite ({exc})") from exc

    # ------------------------------------------------------------------------------------- connections

    def _conn(self) -> sqlite3.Connection:
        if self._memory:
            if self._shared is None:
                self._shared = self._open_connection()
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open_connection()
            self._local.conn = conn
        return conn

    def _open_connection(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=self._timeout, check_same_thread=False)
        with self._lock:
            self._conns.append(conn)
        conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        # WAL (set when the file is migrated; it stays): commits are durable at the next checkpoint of the WAL,
        # which survives a killed process, as before
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA cache_size = -32000")
        if self._hook is not None:
            self._hook(conn)
        return conn

    @property
    def identity(self) -> str:
        return f"{self._real}#{self.log_id}"

    @property
    def raw_connection(self) -> sqlite3.Connection:
        """This thread's connection (tests and attack tooling only: everything else goes through sessions)."""
        return self._conn()

    # ---------------------------------------------------------------------------------- transactions

    def _begin(self, write: bool) -> SQLiteSession:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}", exc) from exc
        return SQLiteSession(self, conn)

    def _commit(self, session: Any) -> None:
        try:
            session.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}", exc) from exc
        due = self._checkpoint_due  # read once: another thread may leave checkpoints_in_background() meanwhile
        if due is not None:
            due.set()

    @contextmanager
    def checkpoints_in_background(self) -> Iterator[None]:
        """While open, this thread's commits leave the WAL's checkpoints to a thread of their own.

        A checkpoint copies the WAL's pages into the database file and syncs both (with ``synchronous = NORMAL``,
        the only syncs WAL mode makes). SQLite runs one inside the commit that finds the WAL over 1,000 pages, so
        the committing thread waited for two fsyncs every few commits: 5-20 ms idle, 30-110 ms on a busy disk, while
        a re-scoring run's workers ran out of shards. Here the commit only wakes the checkpointer, which runs a
        ``PASSIVE`` checkpoint on its own connection (it never blocks a writer or a reader; the sqlite3 module lets go
        of the GIL while it runs). Nothing else changes: every commit is as atomic and as durable as before (WAL
        frames written at commit, synced at the next checkpoint, as SQLite's own would), a process killed at any
        point loses no commit, and a checkpoint interrupted by a crash is finished by the next connection. On exit
        the thread is joined and SQLite's own policy restored; when the last checkpoint failed (a full or failing
        disk) and one more on exit fails too, :class:`StoreError` says so (never over an error already raised)."""
        if self._memory or self._checkpoint_due is not None:
            yield
            return
        try:
            own = self._open_connection()  # the checkpointer's (opened here: a failure leaves SQLite's own policy)
        except sqlite3.Error:
            yield
            return
        conn = self._conn()
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        due, stop = threading.Event(), threading.Event()
        failed: list[sqlite3.Error] = []  # the last checkpoint's error, until one succeeds
        checkpointer = threading.Thread(target=self._checkpoint_loop, args=(own, due, stop, failed),
                                        name="trace-wal-checkpoint", daemon=True)
        checkpointer.start()
        self._checkpoint_due = due
        try:
            yield
        finally:
            self._checkpoint_due = None
            stop.set()
            due.set()
            checkpointer.join()
            try:
                conn.execute("PRAGMA wal_autocheckpoint = 1000")
            except sqlite3.ProgrammingError:  # the store was closed inside: its last connection checkpointed
                failed.clear()
        if failed:
            # the WAL grew unchecked and its frames were never synced: one more try here, else the caller hears of it
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: the write-ahead log could not be checkpointed ({exc}); the commits are "
                                 "in it, and the next checkpoint moves them into the database", exc) from exc

    def _checkpoint_loop(
        self, conn: sqlite3.Connection, due: threading.Event, stop: threading.Event, failed: list[sqlite3.Error]
    ) -> None:
        try:
            while True:
                due.wait()
                due.clear()
                if stop.is_set():
                    return
                try:
                    with _IN_SQLITE:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    failed.clear()
                except sqlite3.ProgrammingError:  # the store was closed
                    return
                except sqlite3.Error as exc:  # the next commit asks again; the context's exit reports a last failure
                    failed[:] = [exc]
        finally:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            conn.close()

    def _rollback(self, session: Any) -> None:
        try:
            if session.conn.in_transaction:
                session.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _release(self, session: Any) -> None:
        """The connection stays with its thread."""

    def close(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        # the background checkpointer's connection is among them, and a checkpoint may be running on it with the GIL
        # released: closing a connection under a statement in progress frees what SQLite is still using (a crash,
        # seen under load), so the close waits for it; a checkpoint after this finds its connection closed and stops
        with _IN_SQLITE:
            for c in conns:
                try:
                    c.close()
                except sqlite3.Error:
                    pass
        self._shared = None
        self._local = threading.local()

    # ------------------------------------------------------------------------------------- migrations

    @staticmethod
    def _table_names(conn: sqlite3.Connection) -> set[str]:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _recorded(self, conn: sqlite3.Connection) -> set[int]:
        if "schema_migrations" not in self._table_names(conn):
            return self._adopt_legacy(conn, record=False)
        return {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}

    def _adopt_legacy(self, conn: sqlite3.Connection, *, record: bool) -> set[int]:
        """The migrations a database from before migration files already matches (evidence schema 2, the API's
        schema 1 or 2, the identity index with or without the content hash); with ``record`` they are recorded."""
        names = self._table_names(conn)
        if not names & REQUIRED_TABLES:
            return set()
        if "meta" not in names or not REQUIRED_TABLES <= names:
            return set()
        applied = {1}

        def has_index(name: str) -> bool:
            return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)).fetchone() is not None

        if has_index("scorecards_identity_content") and not has_index("scorecards_identity"):
            applied.add(2)
        if {"api_keys", "trace_configs", "trace_rule_packs"} <= names:
            applied.add(3)
            row = conn.execute("SELECT value FROM meta WHERE key = 'api_schema_version'").fetchone()
            if row is not None and row[0].isdigit() and int(row[0]) >= 2:
                applied.add(4)
        if record:
            now = int(time.time() * 1000)
            by_version = {m.version: m for m in migrations("sqlite")}
            conn.executemany(
                "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                [(v, by_version[v].name + " (adopted)", now) for v in sorted(applied)],
            )
        return applied

    def schema_version(self) -> int:
        recorded = self._recorded(self._conn())
        return max(recorded, default=0)

    def migrate(self, *, target: int | None = None) -> list[str]:
        if not self._writable:
            raise UnreadableDatabase(f"{self.path}: opened read-only; cannot migrate")
        done: list[str] = []
        if not self._memory:
            self._conn().execute("PRAGMA journal_mode = WAL")
        with self.transaction() as s:
            conn = s.conn
            fresh = "schema_migrations" not in self._table_names(conn)
            conn.execute(BOOKKEEPING)
            applied = self._adopt_legacy(conn, record=True) if fresh else self._recorded(conn)
            for m in migrations("sqlite"):
                if m.version in applied or (target is not None and m.version > target):
                    continue
                try:
                    for statement in _statements(m.sql):
                        conn.execute(statement)
                except sqlite3.Error as exc:  # as the PostgreSQL store says it (the transaction rolls back)
                    raise StoreError(f"{self.path}: migration {m.filename} failed: {exc}", exc) from exc
                conn.execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (m.version, m.name, int(time.time() * 1000)),
                )
                done.append(m.filename)
            if "meta" in self._table_names(conn):
                s.set_meta("cursor_secret", secrets.token_hex(32), replace=False)
                # names this database for the writers' in-memory tree heads (a file recreated at the same path is
                # another log)
                s.set_meta("log_id", secrets.token_hex(16), replace=False)
        return done


def _statements(script: str) -> list[str]:
    """A migration file's statements (triggers hold ``;`` inside ``BEGIN … END``)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        if not buf and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete statement in a migration: {buf.strip()[:80]}")
    return out
