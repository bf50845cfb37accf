import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from trace_engine.evidence.signing import SigningKey
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.log import EvidenceLog
from trace_engine.store.prove import ProofError, make_proof, verify_proof

ROOT = Path(__file__).resolve().parents[1]
KEY = SigningKey.generate()


def build(db):
    with EvidenceLog(db, KEY) as log:
        log.append_many([synthetic_scorecard(i, "acme") for i in range(300)])
        log.append_many([synthetic_scorecard(i, "zeta") for i in range(3)])
    return db


@pytest.fixture
def db(backend):
    """The same log on each backend (``trace prove`` gives the same answers on both)."""
    build(backend.db)
    return backend.db


@pytest.fixture
def sqlite_db(tmp_path):
    return build(tmp_path / "t.db")


def checkpoint_count(db):
    if str(db).startswith("postgresql://"):
        import psycopg

        with psycopg.connect(db) as c:
            return c.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
    return sqlite3.connect(db).execute("SELECT count(*) FROM checkpoints").fetchone()[0]


def test_prove_every_position_kind(db):
    for i in (0, 1, 150, 255, 256, 299):
        proof = make_proof(db, "acme", synthetic_scorecard(i, "acme").call_id, KEY)
        assert proof["leaf_index"] == i and proof["tree_size"] == 300
        r = verify_proof(json.loads(json.dumps(proof)), KEY.verifier)
        assert r.ok, r.problems
        assert verify_proof(proof).ok and "self-attested" in verify_proof(proof).key_source
        assert proof["pubkey"] == KEY.verifier.encode()


def test_every_record_is_provable_at_once_and_prove_never_signs(db):
    with EvidenceLog(db, KEY) as log:
        log.append(synthetic_scorecard(1000, "acme"))
    before = checkpoint_count(db)
    proof = make_proof(db, "acme", synthetic_scorecard(1000, "acme").call_id, KEY)
    assert proof["tree_size"] == 301 and verify_proof(proof, KEY.verifier).ok
    assert checkpoint_count(db) == before


def test_a_forged_record_is_not_proved(sqlite_db):
    db = sqlite_db
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import tamper

    s = tamper.Scenario(db.parent, synthetic_scorecard(1, "acme").call_id, db_name=db.name)
    seq = tamper.forge_append(s, "acme")
    with pytest.raises(ProofError, match=f"record {seq} .* not covered by any signed checkpoint"):
        make_proof(db, "acme", s.fail_call, KEY)
    # a record whose body was edited does not match its hash
    c = sqlite3.connect(db)
    c.execute("DROP TRIGGER IF EXISTS scorecards_no_update")
    c.execute("UPDATE scorecards SET body = replace(body, 'tcpa', 'tcpX') WHERE tenant = 'acme' AND seq = 3")
    c.commit()
    with pytest.raises(ProofError, match="does not match its hash"):
        make_proof(db, "acme", synthetic_scorecard(3, "acme").call_id, KEY)


def test_tampered_proofs_fail(db):
    proof = make_proof(db, "acme", synthetic_scorecard(7, "acme").call_id, KEY)
    bad = dict(proof, leaf_body=proof["leaf_body"].replace('"verdict":"', '"verdict":"X'))
    assert not verify_proof(bad, KEY.verifier).ok
    bad = dict(proof, leaf_index=8)
    assert not verify_proof(bad, KEY.verifier).ok
    bad = dict(proof, audit_path=proof["audit_path"][:-1])
    assert not verify_proof(bad, KEY.verifier).ok
    r = verify_proof(proof, SigningKey.generate().verifier)
    assert r.problems == ["signed by an unknown key"]
    other = make_proof(db, "zeta", synthetic_scorecard(0, "zeta").call_id, KEY)
    mixed = dict(proof, checkpoint=other["checkpoint"])
    assert not verify_proof(mixed, KEY.verifier).ok
    assert not verify_proof({"object": "nope"}).ok
    assert not verify_proof({"object": "trace.inclusion_proof"}).ok


def test_unknown_call(db):
    with pytest.raises(ProofError):
        make_proof(db, "acme", "no-such-call", KEY)


def test_cli_prove_and_verify_proof(db, tmp_path):
    keyf = tmp_path / "k" / "trace.key"
    keyf.parent.mkdir()
    keyf.write_text(KEY.encode())
    pub = tmp_path / "trusted.pub"
    pub.write_text(KEY.verifier.encode())
    out = tmp_path / "proof.json"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}

    def run(*a):
        return subprocess.run([sys.executable, "-m", "trace_engine", *map(str, a)], capture_output=True, text=True, env=env)

    cid = synthetic_scorecard(42, "acme").call_id
    r = run("prove", cid, "--db", db, "--tenant", "acme", "--key", keyf, "-o", out)
    assert r.returncode == 0, r.stderr
    assert run("verify-proof", out, "--pubkey", pub).returncode == 0
    assert run("verify", "--proof", out, "--pubkey", pub).returncode == 0
    p = json.loads(out.read_text())
    p["leaf_body"] = p["leaf_body"].replace(cid, cid + "x")
    out.write_text(json.dumps(p))
    assert run("verify-proof", out, "--pubkey", pub).returncode == 1
    assert run("prove", "nope", "--db", db, "--tenant", "acme", "--key", keyf).returncode == 1
    assert run("prove", cid, "--db", tmp_path / "missing.db").returncode == 2
