"""``trace store migrate`` on both backends: versioned files, applied in order, once; a database at an older schema
version upgrades in place and keeps its log; a newer one is refused."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PG_URL, pg_schema_url, require_pg

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
    first = migrate_cli(db, "--to", "2")
    assert (first["from"], first["to"]) == (0, 2)
    assert [f.split("_", 1)[0] for f in first["applied"]] == ["0001", "0002"]
    # a log written at version 2 (evidence tables only; the service tables come with 0003)
    store = open_store(db, create=False, migrate=False, check_schema=False)
    try:
        with EvidenceLog(store=store, key=KEY) as log:
            log.append_many([synthetic_scorecard(i, "acme") for i in range(40)])
    finally:
        store.close()
    if kind == "postgres":  # a server database below the latest schema is refused until migrated
        with pytest.raises(UnreadableDatabase, match="run `trace store migrate"):
            open_store(db, create=False)
    up = migrate_cli(db)
    assert (up["from"], up["to"]) == (2, latest(kind)) and len(up["applied"]) == latest(kind) - 2
    assert migrate_cli(db)["applied"] == []  # once
    rep = verify_db(db, pubkey=KEY.verifier)
    assert rep.ok, [p.render() for p in rep.problems]
    with EvidenceLog(db, KEY) as log:  # the upgraded log goes on
        assert log.append(synthetic_scorecard(40, "acme")).seq == 40
    assert verify_db(db, pubkey=KEY.verifier).ok


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
