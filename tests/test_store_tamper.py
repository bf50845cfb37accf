"""Every attack of benchmarks/tamper.py is caught by `trace verify` with exit 1 and a message naming the record;
reads refuse what they cannot vouch for; damaged files give exit 2 and a message, never a traceback."""

from __future__ import annotations

import os
import random
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import tamper  # noqa: E402

from trace_engine.evidence.signing import SigningKey  # noqa: E402
from trace_engine.evidence.synthetic import synthetic_scorecard  # noqa: E402
from trace_engine.store.log import EvidenceLog  # noqa: E402


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    s = tamper.build(tmp_path_factory.mktemp("tamper") / "base")
    code, out = tamper.run_cli(["verify", "--db", str(s.db), "--pubkey", str(s.pubkey), "--checkpoint", str(s.witness)])
    assert code == 0, out
    return s


@pytest.mark.parametrize("attack", tamper.ATTACKS, ids=[a.name for a in tamper.ATTACKS])
def test_attack_is_caught(base, tmp_path, attack):
    o = tamper.run(attack, base, tmp_path / "s")
    assert o.exit_code == 1, o
    assert o.names_record, o
    for cmd, rc in o.reads:
        assert rc == 1, (cmd, o)


def test_key_swap_without_any_trusted_input_is_flagged_untrusted(base, tmp_path):
    """Without --pubkey or a witness there is nothing trustworthy to compare with: verify says so loudly."""
    s = tamper.copy(base, tmp_path / "s")
    tamper._key_swap(s)
    code, out = tamper.run_cli(["verify", "--db", str(s.db)])
    assert "WARNING: no trusted key given" in out
    # the re-signed checkpoints verify against the swapped trace.pub; only the forgotten rollup gives it away
    assert code == 1 and "signed by an unknown key" not in out and "exposure rollup differs" in out


def test_untouched_reads_work(base):
    code, out = tamper.run_cli(["show", base.fail_call, "--tenant", "acme", "--db", str(base.db)])
    assert code == 0 and re.search(r"verdict +FAIL", out)
    code, out = tamper.run_cli(["checkpoint", "--db", str(base.db), "--pubkey", str(base.pubkey)])
    assert code == 0 and sum(line.startswith("trace.example/") for line in out.splitlines()) == 3


# ------------------------------------------------------------------------------------------ damaged files


def _verify(db, pub):
    return subprocess.run(
        [sys.executable, "-m", "trace_engine", "verify", "--db", str(db), "--pubkey", str(pub)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("small")
    key = SigningKey.generate()
    with EvidenceLog(d / "t.db", key) as log:
        log.append_many([synthetic_scorecard(i, "a") for i in range(40)])
    (d / "k.pub").write_text(key.verifier.encode())
    return d


def test_damaged_files_exit_2_without_a_traceback(small, tmp_path):
    raw = (small / "t.db").read_bytes()
    rng = random.Random(11)
    cases = {
        "truncated": raw[: len(raw) // 3],
        "empty": b"",
        "json": b'{"not": "a database"}',
        "text": b"hello\n" * 500,
        "header only": raw[:100],
    }
    for i in range(30):
        b = bytearray(raw)
        for _ in range(rng.choice((1, 8, 64))):
            b[rng.randrange(len(b))] = rng.randrange(256)
        cases[f"random bytes {i}"] = bytes(b)
    for name, data in cases.items():
        db = tmp_path / f"{name}.db"
        db.write_bytes(data)
        r = _verify(db, small / "k.pub")
        assert "Traceback" not in r.stderr + r.stdout, (name, r.stderr)
        # a byte flipped in a free page or unused space changes nothing: 0 is then right
        assert r.returncode in (0, 1, 2), (name, r.returncode, r.stdout, r.stderr)
        if name in ("truncated", "empty", "json", "text", "header only"):
            assert r.returncode == 2 and r.stderr.startswith("error: "), (name, r.stderr)
        elif r.returncode == 1:
            assert "TAMPERED" in r.stdout, name
    r = _verify(tmp_path / "nope.db", small / "k.pub")
    assert r.returncode == 2 and "no such database" in r.stderr
    r = _verify(small / "t.db", tmp_path / "missing.pub")
    assert r.returncode == 2 and "cannot read public key" in r.stderr


def test_files_are_private_and_ignored(tmp_path):
    with EvidenceLog(tmp_path / "t.db") as log:
        log.append(synthetic_scorecard(0))
    for name in ("t.db", "trace.key"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name
    for p in tmp_path.iterdir():
        if p.name.startswith("t.db"):
            assert stat.S_IMODE(os.stat(p).st_mode) & 0o077 == 0, p
    old = tmp_path / "old.db"
    shutil.copy(tmp_path / "t.db", old)
    os.chmod(old, 0o644)
    EvidenceLog(old).close()  # a database others can read is tightened when opened for writing
    assert stat.S_IMODE(os.stat(old).st_mode) == 0o600
    ignored = (ROOT / ".gitignore").read_text().split()
    for pattern in ("trace.key", "*.key", "trace.pub", "*.db"):
        assert pattern in ignored, pattern


def test_schema_version_is_checked(small, tmp_path):
    db = tmp_path / "t.db"
    shutil.copy(small / "t.db", db)
    c = sqlite3.connect(db)
    c.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    c.commit()
    c.close()
    r = _verify(db, small / "k.pub")
    assert r.returncode == 2 and "schema version '1'" in r.stderr


def test_service_reads_refuse_rows_their_records_do_not_vouch_for(base, tmp_path):
    from trace_engine.api.auth import authenticate
    from trace_engine.api.errors import ApiError
    from trace_engine.api.resources import find_pack, get_config
    from trace_engine.api.tables import open_db

    s = tamper.copy(base, tmp_path / "s")
    conn = open_db(str(s.db))
    assert get_config(conn, "acme", "agent-9").config["enabled"] is True
    assert find_pack(conn, "acme", "acme_pii") is not None
    conn.close()
    for attack in ("side table: trace_configs", "side table: trace_rule_packs", "side table: api_keys (mint)"):
        next(a for a in tamper.ATTACKS if a.name == attack).apply(s)
    conn = open_db(str(s.db))
    with pytest.raises(ApiError, match="does not match its signed record"):
        get_config(conn, "acme", "agent-9")
    with pytest.raises(ApiError, match="rule pack acme_pii@9.9.9"):
        find_pack(conn, "acme", "acme_pii")
    assert authenticate(conn, "trace_sk_evil") is None  # the minted key (its hash is in api_keys) is refused
    conn.close()


def test_a_tampered_rollup_is_rebuilt_from_the_records(base, tmp_path):
    s = tamper.copy(base, tmp_path / "s")
    next(a for a in tamper.ATTACKS if a.name == "rollup edited").apply(s)
    args = ["verify", "--db", str(s.db), "--pubkey", str(s.pubkey)]
    code, out = tamper.run_cli([*args, "--rebuild-rollup"])
    assert code == 1 and "rebuilt the exposure rollup of tenant acme" in out
    code, out = tamper.run_cli(args)
    assert code == 0, out


def test_the_api_refuses_what_it_cannot_vouch_for(base, tmp_path):
    from fastapi.testclient import TestClient

    from trace_engine.api.app import create_app
    from trace_engine.api.auth import create_key
    from trace_engine.api.tables import open_db

    s = tamper.copy(base, tmp_path / "s")
    conn = open_db(str(s.db))
    key = create_key(conn, "acme", "trace:*")[0]
    conn.close()
    tamper.forge_append(s)  # a PASS superseding a FAIL, no key
    with TestClient(create_app(s.db)) as client:
        h = {"Authorization": f"Bearer {key}"}
        r = client.get(f"/v1/trace/interactions/{s.fail_call}", headers=h)
        assert r.status_code == 500 and r.json()["type"].endswith("evidence_mismatch")
        r = client.put("/v1/trace/config", headers=h, json={"agent_id": "agent-9", "enabled": False})
        assert r.status_code == 503 and r.json()["type"].endswith("evidence_integrity")  # nothing signed over it
