import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from trace_engine.evidence.signing import SigningKey, parse_checkpoint
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.log import EvidenceLog
from trace_engine.store.verify import verify_db
from trace_engine.store.writer import EvidenceWriter

ROOT = Path(__file__).resolve().parents[1]
KEY = SigningKey.generate()


def q(db, sql):
    c = sqlite3.connect(db)
    try:
        return c.execute(sql).fetchall()
    finally:
        c.close()


def test_writes_batches_and_checkpoints(backend):
    """The gate's writer on each backend (on PostgreSQL: many gate hosts, one chain per tenant)."""
    db = backend.db
    committed = []
    w = EvidenceWriter(db, "acme", KEY, on_commit=lambda rs: committed.extend(r.call_id for r in rs))
    assert all(w.submit(synthetic_scorecard(i, "acme")) for i in range(700))
    assert w.submit(synthetic_scorecard(3, "acme"))  # duplicate: accepted, written once
    assert w.flush(timeout=30)
    w.close()
    assert w.stats["committed"] == 700 and w.stats["duplicates"] == 1 and w.stats["lost"] == 0
    assert len(set(committed)) == 700
    assert backend.query("SELECT count(*) FROM scorecards")[0][0] == 700
    sizes = [r[0] for r in backend.query("SELECT size FROM checkpoints WHERE tenant = 'acme' ORDER BY rowid")]
    assert sizes[:2] == [256, 512] and sizes[-1] == 700
    assert verify_db(db, pubkey=KEY.verifier).ok
    assert not w.submit(synthetic_scorecard(999, "acme"))  # closed: refused, never raises


def test_submit_never_raises(backend):
    w = EvidenceWriter(backend.db, "acme", KEY)
    assert w.submit(synthetic_scorecard(0, "other")) is False  # wrong tenant
    assert w.submit(None) is False  # garbage
    assert w.submit({"tenant": "acme", "call_id": "x"}) is True  # invalid scorecard: queued, then counted lost
    w.close()
    assert w.stats["lost"] == 3
    rows = backend.query("SELECT sum(lost) FROM gaps")
    assert rows[0][0] == 3


def test_queue_full_is_counted_and_gap_written(tmp_path):
    db = tmp_path / "t.db"
    gate = threading.Event()
    w = EvidenceWriter(db, "acme", KEY, queue_size=4, connect_hook=lambda c: gate.wait(60))
    ok = [w.submit(synthetic_scorecard(i, "acme")) for i in range(50)]
    # never blocks: every submit returned while the writer was still held in its hook, having written nothing
    # (a submit that waited for room would have waited for the writer, i.e. for the gate below)
    assert not gate.is_set() and w.stats["committed"] == 0
    gate.set()
    w.close()
    accepted, lost = sum(ok), ok.count(False)
    assert lost > 0 and w.stats["lost"] == lost and w.stats["committed"] == accepted
    gaps = q(db, "SELECT lost, reason FROM gaps")
    assert sum(n for n, _ in gaps) == lost and all("queue full" in r for _, r in gaps)
    assert verify_db(db, pubkey=KEY.verifier).ok


def test_disk_full_never_raises_and_gap_appears(tmp_path):
    db = tmp_path / "t.db"
    with EvidenceLog(db, KEY) as log:
        log.append(synthetic_scorecard(0, "acme"))
    limit = {"on": True}
    # one disk size for every connection: the writer reconnects after each failure, and a cap read afresh each time
    # (the file's pages + 3) would grant 3 more pages per reconnect, so when a gap record got written would depend
    # on how the thread's attempts fell (under load, one sometimes did while the test called the disk full)
    disk = {}

    def hook(conn):
        if limit["on"]:
            pages = disk.setdefault("pages", conn.execute("PRAGMA page_count").fetchone()[0] + 3)
            conn.execute(f"PRAGMA max_page_count = {pages}")

    w = EvidenceWriter(db, "acme", KEY, batch_size=16, connect_hook=hook, retry_interval_s=0.05)
    ok = [w.submit(synthetic_scorecard(i, "acme")) for i in range(1, 400)]
    assert all(ok)
    assert w.flush(timeout=30)
    assert w.stats["lost"] > 0 and w.stats["errors"] > 0
    assert "full" in (w.last_error or "")
    # space freed: the next attempt reconnects and records the gap (or the rest: a small one may have fit before)
    limit["on"] = False
    deadline = time.time() + 10
    while time.time() < deadline and not q(db, "SELECT count(*) FROM gaps")[0][0]:
        time.sleep(0.05)
    w.close()
    lost = q(db, "SELECT sum(lost), group_concat(reason) FROM gaps")[0]
    assert lost[0] == w.stats["lost"] and "disk full" in lost[1]
    n = q(db, "SELECT count(*) FROM scorecards")[0][0]
    assert n - 1 == w.stats["committed"] and w.stats["committed"] + w.stats["lost"] == 399
    assert verify_db(db, pubkey=KEY.verifier).ok


def test_unwritable_location_never_raises(tmp_path):
    w = EvidenceWriter(tmp_path / "no" / "such" / "dir" / "t.db", "acme", KEY)
    assert w.submit(synthetic_scorecard(0, "acme"))
    w.close()
    assert w.stats["lost"] == 1 and w.stats["committed"] == 0


CHILD = r"""
import sys, time
from trace_engine.evidence.signing import SigningKey
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.writer import EvidenceWriter
db, key, seed = sys.argv[1], SigningKey.parse(sys.argv[2]), int(sys.argv[3])
def on_commit(results):
    sys.stdout.write("".join(r.call_id + "\n" for r in results if r.status == "appended"))
    sys.stdout.flush()
w = EvidenceWriter(db, "default", key, batch_size=32, on_commit=on_commit)
i = 0
while True:
    w.submit(synthetic_scorecard(i, seed=seed))
    i += 1
    if i % 64 == 0:
        time.sleep(0.002)
"""


def test_kill_9_keeps_acknowledged_records(backend):
    db = backend.db
    rng = random.Random(7)
    acked: set[str] = set()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for seed in range(4):
        p = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db), KEY.encode(), str(seed)], stdout=subprocess.PIPE, env=env
        )
        assert p.stdout is not None
        # start the random kill timer only once the child is writing (imports are slow on a loaded machine)
        first = p.stdout.readline()
        time.sleep(rng.uniform(0.3, 1.2))
        p.send_signal(signal.SIGKILL)
        out, _ = p.communicate()
        lines = (first + out).decode().split("\n")
        acked.update(x for x in lines[:-1] if x)  # the last piece may be a torn line
    assert len(acked) > 100
    rep = verify_db(db, pubkey=KEY.verifier)
    assert rep.ok, [p.render() for p in rep.problems]
    stored = [r[0] for r in backend.query("SELECT call_id FROM scorecards")]
    present = set(stored)
    assert acked <= present and len(stored) == len(present)  # nothing acknowledged lost, nothing twice
    if len(present) >= 256:  # checkpoints every 256 records survive the kills too
        ck = backend.query("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")
        assert ck and parse_checkpoint(ck[0][0]).verify(KEY.verifier) is None


def test_refuses_a_forged_tail_alerts_and_writes_the_gap_once_restored(tmp_path):
    import shutil

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import tamper

    db = tmp_path / "t.db"
    with EvidenceLog(db, KEY) as log:
        log.append_many([synthetic_scorecard(i, "acme") for i in range(5)])
    shutil.copy(db, tmp_path / "backup.db")
    s = tamper.Scenario(tmp_path, synthetic_scorecard(2, "acme").call_id, db_name="t.db")
    seq = tamper.forge_append(s, "acme")
    alerts: list[str] = []
    w = EvidenceWriter(db, "acme", KEY, on_alert=alerts.append, retry_interval_s=0.05)
    assert w.submit(synthetic_scorecard(10, "acme"))  # never raises, never blocks
    assert w.flush(timeout=30)
    assert w.stats["committed"] == 0 and w.stats["lost"] == 1 and w.stats["refused"] >= 1
    assert alerts and f"seq {seq}" in alerts[0] and "refusing to sign" in alerts[0] and w.alerts
    assert q(db, "SELECT max(size) FROM checkpoints WHERE tenant = 'acme'")[0][0] == 5  # nothing signed over it
    shutil.copy(tmp_path / "backup.db", db)  # the operator restores the database
    deadline = time.time() + 10
    while time.time() < deadline and not q(db, "SELECT count(*) FROM gaps")[0][0]:
        time.sleep(0.05)
    w.close()
    assert q(db, "SELECT lost, reason FROM gaps") == [(1, "refused: the log holds records this writer cannot account for: 1")]
    assert verify_db(db, pubkey=KEY.verifier).ok


def test_findings_are_queued_with_the_scorecards(backend):
    from trace_engine.tier2.store import append_findings, list_findings

    db = backend.db
    w = EvidenceWriter(db, "acme", KEY)
    card = synthetic_scorecard(1, "acme")
    w.submit(card)
    assert append_findings(w, "acme", [{"interaction_id": card.call_id, "check_id": "brand_tone", "id": "tfind_1"}]) == 1
    w.close()
    assert w.stats["findings"] == 1
    (f,) = list_findings(db, "acme")["data"]
    assert f["id"] == "tfind_1" and f["interaction_id"] == card.call_id
    assert verify_db(db, pubkey=KEY.verifier).ok


def test_engine_refuses_a_call_for_another_tenant_at_start(tmp_path):
    import pytest

    from trace_engine.gate.engine import Engine

    w = EvidenceWriter(tmp_path / "t.db", "acme", KEY)
    engine = Engine.from_config({"rule_packs": {"pii": {"enabled": True}}}, writer=w)
    with pytest.raises(ValueError, match="tenant 'default' but this engine's evidence writer records tenant 'acme'"):
        engine.start_call("c1", tenant="default")
    call = engine.start_call("c2")  # no tenant given: the writer's
    assert call.tenant == "acme"
    call.agent_turn("hello there", 0.0)
    call.end(1.0)
    w.close()
    assert w.stats["committed"] == 1 and w.stats["lost"] == 0
