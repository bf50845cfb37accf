"""``trace keys create`` / ``list`` / ``revoke`` and ``trace serve``'s options."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from trace_engine.api.auth import authenticate, hash_key
from trace_engine.api.tables import open_db
from trace_engine.cli import app

runner = CliRunner()


def test_keys_create_prints_once_and_stores_only_the_hash(tmp_path):
    db = tmp_path / "t.db"
    res = runner.invoke(
        app, ["keys", "create", "--db", str(db), "--tenant", "acme", "--scopes", "trace:read,trace:configure"]
    )
    assert res.exit_code == 0, res.output
    key = res.stdout.strip().splitlines()[0]
    assert key.startswith("trace_sk_") and len(key) > 40
    conn = open_db(str(db))
    who = authenticate(conn, key)
    assert who is not None and who.tenant == "acme" and who.scopes == {"trace:read", "trace:configure"}
    conn.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert key.encode() not in raw and hash_key(key).encode() in raw

    listed = runner.invoke(app, ["keys", "list", "--db", str(db), "--format", "json"])
    assert listed.exit_code == 0 and key not in listed.stdout
    rows = json.loads(listed.stdout)
    assert rows[0]["tenant"] == "acme" and rows[0]["revoked_at"] is None
    assert runner.invoke(app, ["keys", "revoke", rows[0]["key_id"], "--db", str(db)]).exit_code == 0
    conn = open_db(str(db))
    assert authenticate(conn, key) is None
    conn.close()
    assert runner.invoke(app, ["keys", "revoke", rows[0]["key_id"], "--db", str(db)]).exit_code == 1


def test_keys_create_rejects_bad_input(tmp_path):
    db = tmp_path / "t.db"
    bad_scope = runner.invoke(
        app, ["keys", "create", "--db", str(db), "--tenant", "acme", "--scopes", "admin"]
    )
    assert bad_scope.exit_code == 2
    bad_tenant = runner.invoke(app, ["keys", "create", "--db", str(db), "--tenant", "a b", "--scopes", "*"])
    assert bad_tenant.exit_code == 2
    as_json = runner.invoke(
        app, ["keys", "create", "--db", str(db), "--tenant", "acme", "--scopes", "trace:*", "--json"]
    )
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)["scopes"] == ["trace:*"]


def test_serve_defaults_to_loopback():
    res = runner.invoke(app, ["serve", "--help"])
    assert res.exit_code == 0
    assert "127.0.0.1" in res.stdout and "8080" in res.stdout
    assert runner.invoke(app, ["keys", "list", "--db", "/nonexistent/x.db"]).exit_code == 2
