import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from trace_engine.evidence.canonical import canonical_bytes
from trace_engine.evidence.merkle import leaf_hash
from trace_engine.evidence.scorecard import NotEvaluated
from trace_engine.evidence.signing import SigningKey
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.copy import copy_store
from trace_engine.store.db import EVIDENCE_TABLES, UnreadableDatabase
from trace_engine.store.log import EvidenceLog, audit_link
from trace_engine.store.verify import NoTrustedKey, verify_db

ROOT = Path(__file__).resolve().parents[1]
KEY = SigningKey.generate()


def build(db, key=KEY, n_a=300, n_b=20):
    with EvidenceLog(db, key) as log:
        cards = []
        for i in range(n_a):
            sc = synthetic_scorecard(i, "a")
            sc.not_evaluated = [NotEvaluated("r", "p", f"MARKER-{i:05d}")]
            cards.append(sc)
        log.append_many(cards, batch_size=64)
        log.append_many([synthetic_scorecard(i, "b", seed=1) for i in range(n_b)])
    return db


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return build(tmp_path_factory.mktemp("pristine") / "t.db")


@pytest.fixture
def db(pristine, backend):
    """The pristine log on each backend: a copy of the file, or ``trace store copy`` into PostgreSQL."""
    if backend.name == "sqlite":
        p = Path(backend.db)
        p.write_bytes(pristine.read_bytes())
        return p
    copy_store(pristine, backend.db)
    return backend.db


def is_pg(db):
    return str(db).startswith("postgresql://")


def connect(db):
    if is_pg(db):
        import psycopg

        return psycopg.connect(db, autocommit=True)
    return sqlite3.connect(db)


def sql(db, *stmts):
    """Run statements as an attacker who owns the database (the append-only guard rails dropped first)."""
    c = connect(db)
    for t in EVIDENCE_TABLES:
        if is_pg(db):
            for name in ("no_change", "no_update", "no_delete"):
                c.execute(f"DROP TRIGGER IF EXISTS {t}_{name} ON {t}")
        else:
            for op in ("update", "delete"):
                c.execute(f"DROP TRIGGER IF EXISTS {t}_no_{op}")
    for s in stmts:
        c.execute(s.replace("char(10)", "chr(10)") if is_pg(db) else s)
    c.commit()
    c.close()


def problems(rep, kind=None):
    return [p for p in rep.problems if kind is None or p.kind == kind]


def trusted_note(db, tenant="a"):
    c = connect(db)
    mark = "%s" if is_pg(db) else "?"
    note = c.execute(f"SELECT note FROM checkpoints WHERE tenant = {mark} ORDER BY size DESC", (tenant,)).fetchone()[0]
    c.close()
    return note


def test_intact(db):
    rep = verify_db(db, pubkey=KEY.verifier, trusted_checkpoint=trusted_note(db))
    assert rep.ok, [p.render() for p in rep.problems]
    assert {t["tenant"]: t["records"] for t in rep.tenants} == {"": 2, "a": 300, "b": 20}
    assert rep.key_source.startswith("trusted") and rep.trusted and rep.keys == [KEY.verifier.encode()]


def test_flipped_byte_in_file(db):
    if is_pg(db):
        pytest.skip("a byte flipped in the file: SQLite's one file (on PostgreSQL an UPDATE does it, below)")
    raw = bytearray(db.read_bytes())
    i = raw.find(b"MARKER-00005")
    assert i > 0 and raw.find(b"MARKER-00005", i + 1) == -1
    raw[i + 11] ^= 0x01  # '5' -> '4'
    db.write_bytes(bytes(raw))
    rep = verify_db(db, pubkey=KEY.verifier)
    (p,) = problems(rep, "leaf")
    assert (p.tenant, p.seq, p.call_id) == ("a", 5, synthetic_scorecard(5, "a").call_id)
    assert "leaf hash mismatch" in p.render()


def test_flipped_byte_via_update(db):
    sql(db, "UPDATE scorecards SET body = replace(body, 'MARKER-00007', 'MARKER-0000X') WHERE tenant='a' AND seq=7")
    rep = verify_db(db, pubkey=KEY.verifier)
    assert [(p.seq, p.kind) for p in problems(rep, "leaf")] == [(7, "leaf")]


def test_deleted_middle_row(db):
    sql(db, "DELETE FROM scorecards WHERE tenant='a' AND seq=5", "DELETE FROM violations WHERE tenant='a' AND seq=5")
    rep = verify_db(db, pubkey=KEY.verifier)
    msgs = [p.message for p in problems(rep, "chain")]
    assert "chain broken: record 5 missing" in msgs


def truncate(db, size, tenant="a"):
    sql(
        db,
        f"DELETE FROM scorecards WHERE tenant='{tenant}' AND seq >= {size}",
        f"DELETE FROM violations WHERE tenant='{tenant}' AND seq >= {size}",
        f"DELETE FROM checkpoints WHERE tenant='{tenant}' AND size > {size}",
        f"DELETE FROM rollup_verdicts WHERE tenant='{tenant}'",
        f"DELETE FROM rollup_rules WHERE tenant='{tenant}'",
    )


def test_truncated_to_an_unsigned_size(db):
    truncate(db, 250)
    rep = verify_db(db, pubkey=KEY.verifier)
    assert [(p.kind, p.seq) for p in rep.problems if p.kind == "uncovered"] == [("uncovered", 0)]


def test_truncated_to_an_earlier_signed_size_needs_a_witness(db):
    note = trusted_note(db)
    truncate(db, 256)
    rep = verify_db(db, pubkey=KEY.verifier)
    assert {p.kind for p in rep.problems} == {"rollup"}  # the records are consistent with an older signed state
    rep = verify_db(db, pubkey=KEY.verifier, trusted_checkpoint=note)
    assert "tail truncated: trusted checkpoint has size 300, log has 256" in [p.message for p in rep.problems]


def test_deleted_tail_caught_by_own_checkpoint(db):
    sql(db, "DELETE FROM scorecards WHERE tenant='a' AND seq >= 290", "DELETE FROM violations WHERE tenant='a' AND seq >= 290")
    rep = verify_db(db, pubkey=KEY.verifier)
    assert "tail truncated: checkpoint has size 300, log has 290" in [p.message for p in rep.problems]


def test_reordered_rows(db):
    sql(
        db,
        "UPDATE scorecards SET seq = -1 WHERE tenant='a' AND seq = 3",
        "UPDATE scorecards SET seq = 3 WHERE tenant='a' AND seq = 4",
        "UPDATE scorecards SET seq = 4 WHERE tenant='a' AND seq = -1",
    )
    rep = verify_db(db, pubkey=KEY.verifier)
    order = problems(rep, "order")
    assert order and order[0].seq == 3 and "records reordered" in order[0].message
    assert order[0].call_id == synthetic_scorecard(4, "a").call_id


def test_record_moved_to_another_tenant(db):
    sql(db, "UPDATE scorecards SET tenant='b', seq=20 WHERE tenant='a' AND seq=7")
    rep = verify_db(db, pubkey=KEY.verifier)
    (p,) = problems(rep, "tenant")
    assert (p.tenant, p.seq) == ("b", 20)
    assert p.message == "record belongs to tenant a but is in tenant b's chain"
    assert "chain broken: record 7 missing" in [x.message for x in problems(rep, "chain")]


def test_edited_checkpoint(db):
    sql(db, "UPDATE checkpoints SET note = replace(note, char(10) || '300' || char(10), char(10) || '301' || char(10)) WHERE tenant='a' AND size=300")
    rep = verify_db(db, pubkey=KEY.verifier)
    msgs = [p.message for p in problems(rep, "checkpoint")]
    assert any(m.startswith("checkpoint at size 301: checkpoint signature invalid") for m in msgs)
    assert [p.seq for p in problems(rep, "uncovered")] == [256]


def test_resigned_with_another_key(tmp_path):
    other = SigningKey.generate()
    db = build(tmp_path / "t.db", key=other, n_a=40, n_b=0)
    with pytest.raises(NoTrustedKey):
        verify_db(db)  # no key given and none beside the DB: nothing to check against
    (tmp_path / "trace.pub").write_text(other.verifier.encode())
    rep = verify_db(db)  # self-consistent with the key beside it, which is not trusted
    assert rep.ok and not rep.trusted and rep.warnings and "UNTRUSTED" in rep.key_source
    rep = verify_db(db, pubkey=KEY.verifier)
    msgs = {p.message.split(" (")[0].split(": ", 1)[-1] for p in problems(rep, "checkpoint")}
    assert msgs == {"signed by an unknown key"}
    assert verify_db(db, pubkeys=[KEY.verifier, other.verifier]).ok  # a key set (rotation)


def test_rewritten_chain_without_key_caught_by_checkpoint(db):
    """Edit a body and recompute every later hash: only the signed tree heads catch it."""
    c = connect(db)
    rows = c.execute("SELECT seq, body FROM scorecards WHERE tenant='a' ORDER BY seq").fetchall()
    c.close()
    stmts = []
    prev = b"\x00" * 32
    for seq, body in rows:
        if seq == 10:
            doc = json.loads(body)
            doc["scorecard"]["not_evaluated"][0]["reason"] = "rewritten"
            body = canonical_bytes(doc).decode()
            stmts.append(f"UPDATE scorecards SET body = '{body}' WHERE tenant='a' AND seq=10")
        lh = leaf_hash(body.encode())
        ah = audit_link(prev, lh, "a", seq)
        stmts.append(
            f"UPDATE scorecards SET leaf_hash='{lh.hex()}', prev_hash='{prev.hex()}', audit_hash='{ah.hex()}' "
            f"WHERE tenant='a' AND seq={seq}"
        )
        prev = ah
    sql(db, *stmts)
    rep = verify_db(db, pubkey=KEY.verifier)
    kinds = {p.kind for p in rep.problems}
    assert "root" in kinds and "leaf" not in kinds


def test_edited_column_and_violation_rows(db):
    sql(
        db,
        "UPDATE scorecards SET verdict='PASS' WHERE tenant='a' AND seq=2",
        "UPDATE violations SET severity='low' WHERE tenant='a' AND seq=(SELECT min(seq) FROM violations WHERE tenant='a')",
    )
    rep = verify_db(db, pubkey=KEY.verifier)
    assert {p.kind for p in rep.problems} >= {"violations"}
    if synthetic_scorecard(2, "a").verdict != "PASS":
        assert any(p.kind == "columns" and p.seq == 2 and "verdict" in p.message for p in rep.problems)


def test_unreadable(tmp_path):
    with pytest.raises(UnreadableDatabase):
        verify_db(tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(UnreadableDatabase):
        verify_db(junk, pubkey=KEY.verifier)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x(a)").connection.commit()
    with pytest.raises(UnreadableDatabase):
        verify_db(other, pubkey=KEY.verifier)


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "trace_engine", *map(str, args)], capture_output=True, text=True, cwd=cwd or ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_cli_exit_codes(db, tmp_path):
    pub = tmp_path / "trusted.pub"
    pub.write_text(KEY.verifier.encode() + "\n")
    ck = tmp_path / "ck.txt"
    ck.write_text(trusted_note(db))
    r = cli("verify", "--db", db, "--pubkey", pub, "--checkpoint", ck)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout
    sql(db, "DELETE FROM scorecards WHERE tenant='a' AND seq=5")
    r = cli("verify", "--db", db, "--pubkey", pub, "--format", "json")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["ok"] is False and any(p["message"] == "chain broken: record 5 missing" for p in out["problems"])
    r = cli("verify", "--db", tmp_path / "nope.db")
    assert r.returncode == 2 and "no such database" in r.stderr
