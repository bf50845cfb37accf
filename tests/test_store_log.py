import hashlib
import json
import sqlite3

import pytest

from trace_engine.evidence.canonical import canonical_bytes
from trace_engine.evidence.signing import SigningKey, parse_checkpoint
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.db import EVIDENCE_TABLES
from trace_engine.store.log import EvidenceLog
from trace_engine.store.verify import verify_db


@pytest.fixture
def key():
    return SigningKey.generate()


def test_append_hashes_and_links(tmp_path, key):
    db = tmp_path / "t.db"
    with EvidenceLog(db, key) as log:
        res = log.append_many([synthetic_scorecard(i, "acme") for i in range(5)])
    assert [r.seq for r in res] == [0, 1, 2, 3, 4] and all(r.status == "appended" for r in res)
    c = sqlite3.connect(db)
    rows = c.execute("SELECT seq, body, leaf_hash, prev_hash, audit_hash, tenant FROM scorecards ORDER BY seq").fetchall()
    prev = b"\x00" * 32
    for seq, body, lh, ph, ah, _t in rows:
        doc = json.loads(body)
        assert canonical_bytes(doc) == body.encode()
        assert hashlib.sha256(b"\x00" + body.encode()).hexdigest() == lh
        assert ph == prev.hex()
        want = hashlib.sha256(prev + bytes.fromhex(lh) + b"acme\x00" + seq.to_bytes(8, "big")).digest()
        assert want.hex() == ah
        prev = want
        assert doc["scorecard"]["tenant"] == "acme" and "violations" in doc
    assert verify_db(db, pubkey=key.verifier).ok


def test_idempotent_and_supersede(tmp_path, key):
    db = tmp_path / "t.db"
    log = EvidenceLog(db, key)
    a = log.append(synthetic_scorecard(1))
    again = log.append(synthetic_scorecard(1))
    assert again.status == "duplicate" and log.size("default") == 1
    b = log.append(synthetic_scorecard(1, config_etag="etag-2"))
    assert b.status == "appended" and b.supersedes == a.audit_hash
    c = log.append(synthetic_scorecard(1, config_etag="etag-3"))
    assert c.supersedes == b.audit_hash
    # same batch: duplicate inside the batch is dropped, a changed config supersedes
    r = log.append_many([synthetic_scorecard(2), synthetic_scorecard(2), synthetic_scorecard(2, config_etag="x")])
    assert [x.status for x in r] == ["appended", "duplicate", "appended"] and r[2].supersedes == r[0].audit_hash
    log.close()
    assert verify_db(db, pubkey=key.verifier).ok


@pytest.mark.parametrize("table", EVIDENCE_TABLES)
def test_append_only_triggers(tmp_path, key, table):
    db = tmp_path / "t.db"
    with EvidenceLog(db, key) as log:
        log.append_many([synthetic_scorecard(i) for i in range(3)])
        log.add_gap("default", 2, "test")
        log.add_tier2_finding("default", {"interaction_id": synthetic_scorecard(0).call_id, "check_id": "hallucination"})
    c = sqlite3.connect(db)
    assert c.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        c.execute(f"DELETE FROM {table}")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        c.execute(f"UPDATE {table} SET tenant = 'x'")


def test_checkpoints_every_256_and_at_close(tmp_path, key):
    db = tmp_path / "t.db"
    with EvidenceLog(db, key) as log:
        log.append_many([synthetic_scorecard(i) for i in range(600)], batch_size=100)
    c = sqlite3.connect(db)
    sizes = [r[0] for r in c.execute("SELECT size FROM checkpoints ORDER BY rowid")]
    assert sizes == [256, 512, 600]
    ck = parse_checkpoint(c.execute("SELECT note FROM checkpoints ORDER BY rowid DESC").fetchone()[0])
    assert ck.origin == "trace.example/log/default" and ck.verify(key.verifier) is None


def test_time_based_checkpoint(tmp_path, key):
    now = [1000.0]
    db = tmp_path / "t.db"
    log = EvidenceLog(db, key, clock=lambda: now[0])
    log.append(synthetic_scorecard(0))
    log.append(synthetic_scorecard(1))
    assert log.latest_checkpoint("default") is None
    now[0] += 10.5
    log.append(synthetic_scorecard(2))
    assert parse_checkpoint(log.latest_checkpoint("default")).size == 3
    log.append(synthetic_scorecard(3))
    now[0] += 11
    log.maybe_checkpoint("default")
    assert parse_checkpoint(log.latest_checkpoint("default")).size == 4
    log.close()


def test_tenants_have_separate_chains(tmp_path, key):
    db = tmp_path / "t.db"
    with EvidenceLog(db, key) as log:
        log.append_many([synthetic_scorecard(i, "a" if i % 2 else "b") for i in range(10)])
    c = sqlite3.connect(db)
    assert c.execute("SELECT tenant, max(seq) FROM scorecards GROUP BY tenant ORDER BY tenant").fetchall() == [("a", 4), ("b", 4)]
    assert verify_db(db, pubkey=key.verifier).ok


def test_two_writers_same_db(tmp_path, key):
    db = tmp_path / "t.db"
    l1, l2 = EvidenceLog(db, key), EvidenceLog(db, key)
    for i in range(20):
        (l1 if i % 3 else l2).append(synthetic_scorecard(i))
    l1.close()
    l2.close()
    assert verify_db(db, pubkey=key.verifier).ok


def test_default_key_generated_beside_db(tmp_path):
    db = tmp_path / "sub" / "t.db"
    db.parent.mkdir()
    with EvidenceLog(db) as log:
        log.append(synthetic_scorecard(0))
    assert (db.parent / "trace.key").exists() and (db.parent / "trace.pub").exists()
    rep = verify_db(db)
    assert rep.ok and "beside" in rep.key_source


def test_invalid_scorecards(tmp_path, key):
    log = EvidenceLog(tmp_path / "t.db", key)
    bad = synthetic_scorecard(0)
    bad.quality_metrics = {"x": 2**60}  # outside the I-JSON range: cannot be canonicalized
    with pytest.raises(ValueError):
        log.append(bad)
    bad_tenant = synthetic_scorecard(1, "bad tenant\n")
    res = log.append_many([bad, bad_tenant, synthetic_scorecard(2)], skip_invalid=True)
    assert [r.status for r in res] == ["invalid", "invalid", "appended"]
    assert res[2].seq == 0
    log.close()
