"""The storage backends the store suites run on: ``backend`` is parametrized over SQLite (a file in the test's
temp dir) and PostgreSQL (a fresh schema on the server ``TRACE_TEST_PG_URL`` names; ``.ci/with-postgres`` starts
one for ``make test``).

PostgreSQL cases skip when no server is configured or reachable, unless ``TRACE_REQUIRE_PG`` is set (CI sets it
when it started a server: a server that is gone must fail the run, not skip it).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

PG_URL = os.environ.get("TRACE_TEST_PG_URL", "")


@cache
def pg_problem() -> str | None:
    """Why PostgreSQL tests cannot run here (``None`` when they can)."""
    if not PG_URL:
        return "no PostgreSQL server: set TRACE_TEST_PG_URL (make test starts one through .ci/with-postgres)"
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=5).close()
    except Exception as exc:  # noqa: BLE001 - any failure means: no server for these tests
        return f"PostgreSQL at {PG_URL} is not reachable: {exc}"
    return None


def require_pg() -> None:
    problem = pg_problem()
    if problem is not None:
        if os.environ.get("TRACE_REQUIRE_PG"):
            pytest.fail(problem)
        pytest.skip(problem)


def pg_schema_url(schema: str) -> str:
    """The test server's URL with ``search_path`` set to ``schema`` (one isolated database per test)."""
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options={quote('-csearch_path=' + schema)}"


@dataclass
class Backend:
    """One empty, migrated database of a backend. ``db`` is what ``--db`` takes; ``tmp`` holds its keys
    (``trace.key`` / ``trace.pub``: beside the SQLite file, ``TRACE_KEY_DIR`` for PostgreSQL)."""

    name: str
    db: str
    tmp: Path

    def open(self, **options: Any) -> Any:
        from trace_engine.store import open_store

        return open_store(self.db, **options)

    def raw(self) -> Any:
        """A driver connection in autocommit mode (tests that play the attacker write SQL themselves)."""
        if self.name == "sqlite":
            import sqlite3

            return sqlite3.connect(self.db, isolation_level=None)
        import psycopg

        return psycopg.connect(self.db, autocommit=True)

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        """What the driver raises when the database refuses a statement."""
        if self.name == "sqlite":
            import sqlite3

            return (sqlite3.DatabaseError,)
        import psycopg

        return (psycopg.Error,)

    def execute(self, statement: str, args: tuple = ()) -> None:
        """Run one statement and commit (tests that play the attacker)."""
        conn = self.raw()
        try:
            conn.execute(self.sql(statement), args)
        finally:
            conn.close()

    def drop_guard(self, table: str) -> None:
        """Drop the append-only trigger that refuses updates of ``table`` (an attacker who owns the database)."""
        if self.name == "sqlite":
            self.execute(f"DROP TRIGGER {table}_no_update")
        else:
            self.execute(f"DROP TRIGGER {table}_no_change ON {table}")

    def sql(self, statement: str) -> str:
        """``?`` placeholders in the driver's style."""
        return statement if self.name == "sqlite" else statement.replace("%", "%%").replace("?", "%s")

    def query(self, statement: str, args: tuple = ()) -> list[tuple]:
        conn = self.raw()
        try:
            return [tuple(r) for r in conn.execute(self.sql(statement), args).fetchall()]
        finally:
            conn.close()


def make_backend(name: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    if name == "sqlite":
        yield Backend("sqlite", str(tmp / "trace.db"), tmp)
        return
    require_pg()
    import psycopg

    from trace_engine.store import open_store

    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    monkeypatch.setenv("TRACE_KEY_DIR", str(tmp))
    url = pg_schema_url(schema)
    open_store(url, migrate=True).close()
    try:
        yield Backend("postgres", url, tmp)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def pg_database(key_dir: Path) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (a schema of the test server) for a module-scoped fixture; its URL.
    ``TRACE_KEY_DIR`` names ``key_dir`` meanwhile (for this process and the servers it starts)."""
    require_pg()
    import psycopg

    from trace_engine.store import open_store

    schema = "m_" + secrets.token_hex(6)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    before = os.environ.get("TRACE_KEY_DIR")
    os.environ["TRACE_KEY_DIR"] = str(key_dir)
    url = pg_schema_url(schema)
    try:
        open_store(url, migrate=True).close()
        yield url
    finally:
        if before is None:
            os.environ.pop("TRACE_KEY_DIR", None)
        else:
            os.environ["TRACE_KEY_DIR"] = before
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def module_database(kind: str, directory: Path) -> Iterator[Path | str]:
    """A fresh database of backend ``kind`` for a module-scoped fixture: ``directory/trace.db`` for SQLite, else
    :func:`pg_database` (keys in ``directory``)."""
    if kind == "sqlite":
        yield directory / "trace.db"
    else:
        with pg_database(directory) as url:
            yield url


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    """An empty database of each backend (the same suite runs on both)."""
    yield from make_backend(request.param, tmp_path, monkeypatch)


@pytest.fixture
def pg_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    """An empty PostgreSQL database (for what only a server backend does: many hosts on one chain)."""
    yield from make_backend("postgres", tmp_path, monkeypatch)
