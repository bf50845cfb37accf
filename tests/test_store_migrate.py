"""``trace store migrate`` on both backends: versioned files, applied in order, once; a database at an older schema
version upgrades in place and keeps its log; a newer one is refused."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import PG_URL, pg_schema_url, require_pg

import trace_engine.store.sql as sql_module
from trace_engine.evidence.scorecard import ScoredInput
from trace_engine.evidence.signing import SigningKey
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store import UnreadableDatabase, open_store
from trace_engine.store.log import EvidenceLog
from trace_engine.store.migrate import latest
from trace_engine.store.verify import verify_db

REPO = Path(__file__).resolve().parents[1]
KEY = SigningKey.generate()


@pytest.fixture(params=["sqlite", "postgres"])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``(backend kind, --db)`` of a database with no schema yet."""
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "t.db")
        return
    require_pg()
    import psycopg

    schema = "g_" + secrets.token_hex(6)
    with psycopg.connect(PG_URL, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    try:
        yield "postgres", pg_schema_url(schema)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")


def migrate_cli(db: str, *extra: str) -> dict:
    r = subprocess.run(
        [sys.executable, "-m", "trace_engine", "store", "migrate", "--db", db, "--format", "json", *extra],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_an_older_schema_upgrades_in_place(empty: tuple[str, str]) -> None:
    kind, db = empty
    first = migrate_cli(db, "--to", "5")
    assert (first["from"], first["to"]) == (0, 5)
    assert [f.split("_", 1)[0] for f in first["applied"]] == ["0001", "0002", "0003", "0004", "0005"]
    # a log written at version 5, before the identity's content hash had its own column (0006): the rows are
    # written as a Trace of that version wrote them (without the column), half of them re-scored transcripts
    store = open_store(db, create=False, migrate=False, check_schema=False)
    cards = [synthetic_scorecard(i, "acme") for i in range(40)]
    for i, card in enumerate(cards[::2]):
        card.input = ScoredInput(f"{i:064x}", "known")
    try:
        with EvidenceLog(store=store, key=KEY) as log, _without_the_identity_column():
            log.append_many(cards)
    finally:
        store.close()
    if kind == "postgres":  # a server database below the latest schema is refused until migrated
        with pytest.raises(UnreadableDatabase, match="run `trace store migrate"):
            open_store(db, create=False)
    up = migrate_cli(db)
    assert (up["from"], up["to"]) == (5, latest(kind)) and len(up["applied"]) == latest(kind) - 5
    assert migrate_cli(db)["applied"] == []  # once
    rep = verify_db(db, pubkey=KEY.verifier)  # the column filled from the signed bodies (verify compares them)
    assert rep.ok, [p.render() for p in rep.problems]
    with open_store(db, create=False) as store, store.read() as s:
        history = s.call_history("acme", [c.call_id for c in cards])
    assert [history[c.call_id][0][2] for c in cards] == [c.input.sha256 if c.input else None for c in cards]
    with EvidenceLog(db, KEY) as log:  # the upgraded log goes on, and knows the identities it holds
        assert log.append(synthetic_scorecard(40, "acme")).seq == 40
        assert log.append(cards[2]).status == "duplicate"
    assert verify_db(db, pubkey=KEY.verifier).ok


@contextmanager
def _without_the_identity_column() -> Iterator[None]:
    """Scorecard rows written and read as a Trace before migration 0006 did: no ``input_sha256`` column."""
    session = sql_module.SqlSession
    saved = (session.insert_scorecards, session.call_history)
    cols = sql_module._SC_COLS.replace(", input_sha256", "")

    def insert_scorecards(self: sql_module.SqlSession, rows: Sequence[tuple]) -> None:
        self._many(f"INSERT INTO scorecards({cols}) VALUES ({sql_module._marks(14)}, {self.BODY_PARAM}, "
                   f"{sql_module._marks(4)})", [row[:-1] for row in rows])

    def call_history(self: sql_module.SqlSession, tenant: str, call_ids: Sequence[str]) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {c: [] for c in call_ids}
        sha = self.json_text("body", "scorecard", "input", "sha256")
        for call_id, *rest in self._chunked(
            f"SELECT call_id, config_etag, engine_version, {sha}, audit_hash, seq FROM scorecards "
            "WHERE tenant = ? AND call_id IN ({marks}) ORDER BY seq", [tenant], list(out),
        ):
            out[call_id].append(tuple(rest))
        return out

    session.insert_scorecards, session.call_history = insert_scorecards, call_history  # type: ignore[method-assign]
    try:
        yield
    finally:
        session.insert_scorecards, session.call_history = saved  # type: ignore[method-assign]


def test_a_newer_schema_is_refused(empty: tuple[str, str]) -> None:
    kind, db = empty
    migrate_cli(db)
    raw_sql = "INSERT INTO schema_migrations(version, name, applied_at) VALUES (999, 'from the future', 0)"
    if kind == "sqlite":
        import sqlite3

        with sqlite3.connect(db) as c:
            c.execute(raw_sql)
    else:
        import psycopg

        with psycopg.connect(db, autocommit=True) as c:
            c.execute(raw_sql)
    with pytest.raises(UnreadableDatabase, match="newer than this Trace knows"):
        open_store(db, create=False)


# --------------------------------------------------------------------------------------- a hostile or older file
# (SQLite: a server database below the latest schema is refused at open, see test_an_older_schema_upgrades_in_place)


def _version_5_log(db: str) -> list:
    migrate_cli(db, "--to", "5")
    store = open_store(db, create=False, migrate=False, check_schema=False)
    cards = [synthetic_scorecard(i, "acme") for i in range(6)]
    cards[1].input = ScoredInput("ab" * 32, "known")
    try:
        with EvidenceLog(store=store, key=KEY) as log, _without_the_identity_column():
            log.append_many(cards)
    finally:
        store.close()
    return cards


def test_a_version_5_sqlite_log_verifies_as_it_is(tmp_path: Path) -> None:
    """`trace verify` opens a file without migrating it (it changes nothing): a log an older Trace wrote is intact,
    not 'damaged'; its identities are read from the signed bodies."""
    db = str(tmp_path / "v5.db")
    _version_5_log(db)
    before = Path(db).read_bytes()
    rep = verify_db(db, pubkey=KEY.verifier)
    assert rep.ok, [p.render() for p in rep.problems]
    assert Path(db).read_bytes() == before
    assert open_store(db, create=False).schema_version() == 5


def test_migration_0006_recorded_without_its_column_is_refused(empty: tuple[str, str]) -> None:
    """A database that says it has the identity column but lost it is not verified as if it were a version-5 log."""
    kind, db = empty
    migrate_cli(db)
    with EvidenceLog(db, KEY) as log:
        log.append_many([synthetic_scorecard(i, "acme") for i in range(3)])
    _raw(kind, db, "DROP INDEX scorecards_identity_input", "ALTER TABLE scorecards DROP COLUMN input_sha256")
    with pytest.raises(UnreadableDatabase, match="input_sha256"):
        verify_db(db, pubkey=KEY.verifier)


def _raw(kind: str, db: str, *statements: str) -> None:
    """Statements run on the database behind Trace's back (an attacker with the file, or the server's owner)."""
    if kind == "sqlite":
        import sqlite3

        with sqlite3.connect(db) as c:
            for st in statements:
                c.execute(st)
        return
    import psycopg

    with psycopg.connect(db, autocommit=True) as c:
        for st in statements:
            c.execute(st)


def test_a_column_added_before_its_migration_is_a_clear_error(tmp_path: Path) -> None:
    """A version-5 file that already has an `input_sha256` column (forged values in it, say) is not migrated over
    it, and `trace store migrate` says which migration failed and why, with no traceback."""
    import sqlite3

    db = str(tmp_path / "v5.db")
    _version_5_log(db)
    with sqlite3.connect(db) as c:
        c.execute("ALTER TABLE scorecards ADD COLUMN input_sha256 TEXT")
    r = subprocess.run(
        [sys.executable, "-m", "trace_engine", "store", "migrate", "--db", db],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert "0006_identity_column.sql" in r.stderr and "duplicate column name: input_sha256" in r.stderr
    assert open_store(db, create=False, migrate=False).schema_version() == 5  # nothing applied


def test_an_identity_column_is_verified_whatever_version_the_file_claims(empty: tuple[str, str]) -> None:
    """A forged column is caught even when the database's record of migration 0006 was deleted with it (a server
    database below the latest schema is refused outright)."""
    kind, db = empty
    migrate_cli(db)
    with EvidenceLog(db, KEY) as log:
        log.append_many([synthetic_scorecard(i, "acme") for i in range(3)])
    trigger = "DROP TRIGGER scorecards_no_update" if kind == "sqlite" else "DROP TRIGGER scorecards_no_change ON scorecards"
    _raw(kind, db, trigger, "UPDATE scorecards SET input_sha256 = 'forged' WHERE seq = 1",
         "DELETE FROM schema_migrations WHERE version = 6")
    if kind == "postgres":
        with pytest.raises(UnreadableDatabase, match="run `trace store migrate"):
            verify_db(db, pubkey=KEY.verifier)
        return
    rep = verify_db(db, pubkey=KEY.verifier)
    assert [p.render() for p in rep.problems if "input_sha256" in p.render()], [p.render() for p in rep.problems]
    assert not rep.ok


def test_a_version_5_log_with_a_mangled_body_is_reported_row_by_row(tmp_path: Path) -> None:
    """Read as it is, a version-5 file's identities come from the bodies: a body that is not JSON any more is that
    record's problem (verify names it), not a database that cannot be read."""
    import sqlite3

    db = str(tmp_path / "v5.db")
    _version_5_log(db)
    with sqlite3.connect(db) as c:
        c.execute("DROP TRIGGER scorecards_no_update")
        c.execute("DROP INDEX scorecards_identity_content")  # it reads the body: it would refuse the update
        c.execute("UPDATE scorecards SET body = '{not json' WHERE seq = 2")
    rep = verify_db(db, pubkey=KEY.verifier)
    assert not rep.ok
    assert any(p.seq == 2 and "not JSON" in p.render() for p in rep.problems), [p.render() for p in rep.problems]
