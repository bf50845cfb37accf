import hashlib
import json

import pytest

from trace_engine.evidence.canonical import canonical_bytes
from trace_engine.evidence.signing import SigningKey, parse_checkpoint
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.db import EVIDENCE_TABLES
from trace_engine.store.log import EvidenceLog, LogIntegrityError, audit_link
from trace_engine.store.verify import verify_db


@pytest.fixture
def key():
    return SigningKey.generate()


def test_append_hashes_and_links(backend, key):
    db = backend.db
    with EvidenceLog(db, key) as log:
        res = log.append_many([synthetic_scorecard(i, "acme") for i in range(5)])
    assert [r.seq for r in res] == [0, 1, 2, 3, 4] and all(r.status == "appended" for r in res)
    rows = backend.query("SELECT seq, body, leaf_hash, prev_hash, audit_hash, tenant FROM scorecards ORDER BY seq")
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


def test_idempotent_and_supersede(backend, key):
    db = backend.db
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


@pytest.mark.parametrize("table", [t for t in EVIDENCE_TABLES if t != "checkpoints"])
def test_append_only_triggers(backend, key, table):
    db = backend.db
    with EvidenceLog(db, key) as log:
        log.append_many([synthetic_scorecard(i) for i in range(3)])
        log.add_gap("default", 2, "test")
        log.add_tier2_finding("default", {"interaction_id": synthetic_scorecard(0).call_id, "check_id": "hallucination"})
    assert backend.query(f"SELECT count(*) FROM {table}")[0][0] > 0
    with pytest.raises(backend.errors, match="append-only"):
        backend.execute(f"DELETE FROM {table}")
    with pytest.raises(backend.errors, match="append-only"):
        backend.execute(f"UPDATE {table} SET tenant = 'x'")


def test_checkpoints_every_256_and_every_commit(backend, key):
    db = backend.db
    with EvidenceLog(db, key) as log:
        log.append_many([synthetic_scorecard(i) for i in range(600)], batch_size=100)
    sizes = [r[0] for r in backend.query("SELECT size FROM checkpoints WHERE tenant = 'default' ORDER BY rowid")]
    assert sizes == [256, 512, 600]  # the heads at 100, 200, ... were replaced by the next commit's
    ck = parse_checkpoint(backend.query("SELECT note FROM checkpoints ORDER BY rowid DESC")[0][0])
    assert ck.origin == "trace.example/log/default" and ck.verify(key.verifier) is None
    # the directory lists the tenant, signed too
    ((note,),) = backend.query("SELECT note FROM checkpoints WHERE tenant = ''")
    d = parse_checkpoint(note)
    assert d.origin == "trace.example/directory" and d.size == 1 and d.verify(key.verifier) is None
    # a multiple of 256 may not be deleted; a head may (the writer replaces it)
    with pytest.raises(backend.errors, match="append-only"):
        backend.execute("DELETE FROM checkpoints WHERE size = 256")
    with pytest.raises(backend.errors, match="append-only"):
        backend.execute("UPDATE checkpoints SET size = 1")


def test_nothing_unsigned_after_any_commit(backend, key):
    db = backend.db
    log = EvidenceLog(db, key)
    for i in range(5):
        log.append(synthetic_scorecard(i))
        note = parse_checkpoint(log.latest_checkpoint("default"))
        assert note.size == log.size("default") == i + 1 and note.verify(key.verifier) is None
    log.add_gap("default", 1, "test")
    log.add_tier2_finding("default", {"interaction_id": synthetic_scorecard(0).call_id, "check_id": "x"})
    assert parse_checkpoint(log.latest_checkpoint("default")).size == log.size("default") == 7
    heads = backend.query("SELECT count(*) FROM checkpoints WHERE tenant = 'default'")[0][0]
    assert heads == 1
    log.close()
    assert verify_db(db, pubkey=key.verifier).ok


def _forge_next(backend, tenant="default", call=1):
    """Append a record at the next position computing every hash by the public algorithm (no key)."""
    size = 1 + max(
        backend.query("SELECT coalesce(max(seq), -1) FROM scorecards WHERE tenant = ?", (tenant,))[0][0],
        backend.query("SELECT coalesce(max(seq), -1) FROM events WHERE tenant = ?", (tenant,))[0][0],
    )
    prev = backend.query(
        "SELECT audit_hash FROM (SELECT seq, audit_hash FROM scorecards WHERE tenant = ? UNION ALL "
        "SELECT seq, audit_hash FROM events WHERE tenant = ?) u ORDER BY seq DESC LIMIT 1", (tenant, tenant)
    )[0][0]
    sc = synthetic_scorecard(call, tenant, config_etag="forged")
    sc.findings, sc.verdict = [], "PASS"
    body = canonical_bytes({"scorecard": sc.to_dict(), "violations": [], "supersedes": None})
    lh = hashlib.sha256(b"\x00" + body).digest()
    ah = audit_link(bytes.fromhex(prev), lh, tenant, size)
    backend.execute(
        "INSERT INTO scorecards(tenant, seq, call_id, agent_id, product, config_etag, engine_version, verdict, "
        "scored_at, call_at, findings, blocked_turns, modified_turns, packs_enforced, body, leaf_hash, prev_hash, "
        "audit_hash, supersedes) VALUES (?,?,?,?,?,?,?,?,?,?,0,0,0,'',?,?,?,?,NULL)",
        (tenant, size, sc.call_id, sc.agent_id, sc.product, sc.config_etag, sc.engine_version, "PASS", sc.scored_at,
         sc.started_at, body.decode(), lh.hex(), prev, ah.hex()),
    )
    return size, sc.call_id


def test_writer_refuses_to_sign_a_forged_append(backend, key):
    db = backend.db
    with EvidenceLog(db, key) as log:
        log.append_many([synthetic_scorecard(i) for i in range(10)])
    seq, cid = _forge_next(backend)
    other = EvidenceLog(db, key)  # a fresh writer (no memory of the tail)
    with pytest.raises(LogIntegrityError) as err:
        other.append(synthetic_scorecard(50))
    assert err.value.seq == seq == 10 and err.value.call_id == cid
    assert "not covered by a checkpoint signed by a trusted key" in str(err.value)
    other.close()
    rows = backend.query("SELECT max(size) FROM checkpoints WHERE tenant = 'default'")
    assert rows[0][0] == 10  # nothing signed over the forged record


def test_writer_with_a_tree_head_refuses_a_rewritten_record(backend, key):
    db = backend.db
    log = EvidenceLog(db, key)
    log.append_many([synthetic_scorecard(i) for i in range(3)])
    backend.drop_guard("scorecards")
    backend.execute("UPDATE scorecards SET audit_hash = 'ab' || substr(audit_hash, 3) WHERE seq = 2")
    with pytest.raises(LogIntegrityError, match="seq 2 .*rewritten"):
        log.append(synthetic_scorecard(9))
    log.close()


def test_another_writer_with_the_same_key_is_accounted_for(backend, key):
    db = backend.db
    a, b = EvidenceLog(db, key), EvidenceLog(db, key)
    a.append(synthetic_scorecard(0))
    b.append(synthetic_scorecard(1))  # b accounts for a's record through a's signed checkpoint
    a.append(synthetic_scorecard(2))
    stranger = SigningKey.generate()
    with pytest.raises(LogIntegrityError, match="not covered by a checkpoint signed by a trusted key"):
        EvidenceLog(db, stranger).append(synthetic_scorecard(3))
    # with the old key trusted (a rotation), the new key extends the log
    EvidenceLog(db, stranger, trusted_keys=[key.verifier]).append(synthetic_scorecard(3))
    a.close()
    b.close()
    assert verify_db(db, pubkeys=[key.verifier, stranger.verifier]).ok
    rep = verify_db(db, pubkey=key.verifier)
    assert [p.kind for p in rep.problems] == ["checkpoint", "uncovered"]


def test_tenants_have_separate_chains(backend, key):
    db = backend.db
    with EvidenceLog(db, key) as log:
        log.append_many([synthetic_scorecard(i, "a" if i % 2 else "b") for i in range(10)])
    assert backend.query("SELECT tenant, max(seq) FROM scorecards GROUP BY tenant ORDER BY tenant") == [("a", 4), ("b", 4)]
    assert verify_db(db, pubkey=key.verifier).ok


def test_two_writers_same_db(backend, key):
    db = backend.db
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


def test_invalid_scorecards(backend, key):
    log = EvidenceLog(backend.db, key)
    bad = synthetic_scorecard(0)
    bad.quality_metrics = {"x": 2**60}  # outside the I-JSON range: cannot be canonicalized
    with pytest.raises(ValueError):
        log.append(bad)
    bad_tenant = synthetic_scorecard(1, "bad tenant\n")
    res = log.append_many([bad, bad_tenant, synthetic_scorecard(2)], skip_invalid=True)
    assert [r.status for r in res] == ["invalid", "invalid", "appended"]
    assert res[2].seq == 0
    log.close()


def test_key_rotation(backend, key):
    db = backend.db
    with EvidenceLog(db, key) as log:
        log.append_many([synthetic_scorecard(i, "a") for i in range(300)])
        log.append_many([synthetic_scorecard(i, "b") for i in range(3)])
    new = SigningKey.generate()
    with EvidenceLog(db, key) as log:
        assert log.rotate(new) == {"": 3, "a": 300, "b": 3}
    with EvidenceLog(db, new) as log:  # the new key alone now extends every log
        log.append(synthetic_scorecard(300, "a"))
        log.append(synthetic_scorecard(0, "c"))
    assert verify_db(db, pubkeys=[key.verifier, new.verifier]).ok
    rep = verify_db(db, pubkey=new.verifier)  # the checkpoint at 256 was signed by the old key only
    assert [(p.tenant, p.message) for p in rep.problems] == [
        ("a", "checkpoint at size 256: signed by an unknown key (key ids " + key.verifier.key_id.hex() + ")")
    ]
    ((body,),) = backend.query("SELECT body FROM events WHERE tenant = '' AND kind = 'key.rotated'")
    assert json.loads(body)["new"] == new.verifier.encode()


def test_first_use_from_many_threads_binds_one_log(tmp_path, monkeypatch):
    """Threads that open a store's log at once get the same log: a transaction opened on one is found through
    ``log_for`` (the service's PUT /config raced here and answered 500 about one time in ten)."""
    import threading
    import time

    from trace_engine.store import log as log_module
    from trace_engine.store import open_store

    store = open_store(str(tmp_path / "race.db"))
    original = log_module.EvidenceLog.__init__

    def slow_init(self, *args, **kwargs):
        time.sleep(0.02)  # widen the window between "no log yet" and registering one
        original(self, *args, **kwargs)

    monkeypatch.setattr(log_module.EvidenceLog, "__init__", slow_init)
    barrier = threading.Barrier(6)
    logs = []

    def first_use():
        barrier.wait()
        logs.append(log_module.log_for(store))

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(logs) == 6 and all(lg is store.evidence_log for lg in logs)
