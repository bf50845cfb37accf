"""One chain, many writers: what only a server backend does (many processes, on many hosts, append to the same
tenant's log at once), and moving a log from SQLite to PostgreSQL.

The writers are separate processes (``WRITER`` below), each with its own pool, synchronised on a start line, so
their transactions really interleave in the database; the per-tenant advisory lock is what keeps the chain whole.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from trace_engine.evidence.signing import SigningKey, parse_checkpoint
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.copy import copy_store
from trace_engine.store.log import EvidenceLog
from trace_engine.store.verify import verify_db

REPO = Path(__file__).resolve().parents[1]

#: ``python -c WRITER URL KEYFILE TENANT FIRST COUNT BATCH START_AT [PAUSE_AFTER]``: append scorecards FIRST..
#: FIRST+COUNT-1 in batches, printing ``ack <call_id>`` for each one after its batch committed. With PAUSE_AFTER,
#: the batch after that many acknowledged batches prints ``mid`` once its rows are written and waits inside the
#: transaction (holding the log's lock) to be killed.
WRITER = r"""
import sys, time
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.log import EvidenceLog
url, keyfile, tenant, first, count, batch, start_at = sys.argv[1:8]
pause_after = int(sys.argv[8]) if len(sys.argv) > 8 else -1
first, count, batch, start_at = int(first), int(count), int(batch), float(start_at)
log = EvidenceLog(url, keyfile)
cards = [synthetic_scorecard(i, tenant) for i in range(first, first + count)]
while time.time() < start_at:
    time.sleep(0.005)
for n, i in enumerate(range(0, count, batch)):
    chunk = cards[i : i + batch]
    if n == pause_after:
        with log.transaction() as tx:
            tx.lock([tenant])
            tx.prefetch_calls(tenant, [c.call_id for c in chunk])
            for c in chunk:
                tx.append_scorecard(c)
            tx._flush_rows()
            print("mid", flush=True)
            time.sleep(600)
    for r in log.append_many(chunk):
        assert r.status == "appended", r
        print("ack", r.call_id, flush=True)
log.close()
"""


@pytest.fixture
def key_file(tmp_path: Path) -> tuple[SigningKey, Path]:
    key = SigningKey.generate()
    path = tmp_path / "writer.key"
    path.write_text(key.encode())
    return key, path


def _writer(url: str, key: Path, tenant: str, first: int, count: int, batch: int, start_at: float,
            pause_after: int | None = None) -> subprocess.Popen:
    args = [sys.executable, "-c", WRITER, url, str(key), tenant, str(first), str(count), str(batch), str(start_at)]
    if pause_after is not None:
        args.append(str(pause_after))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)


def _acks(out: str) -> list[str]:
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("ack ")]


def _assert_one_chain(pg: Any, tenant: str, size: int) -> None:
    """Positions 0..size-1 each hold exactly one record, each linking to the one before: no fork, no gap."""
    rows = pg.query(
        "SELECT seq, prev_hash, audit_hash FROM scorecards WHERE tenant = ? UNION ALL "
        "SELECT seq, prev_hash, audit_hash FROM events WHERE tenant = ? ORDER BY seq",
        (tenant, tenant),
    )
    assert [r[0] for r in rows] == list(range(size))
    prev = "00" * 32
    for seq, prev_hash, audit_hash in rows:
        assert prev_hash == prev, f"record {seq} does not link to record {seq - 1}"
        prev = audit_hash
    assert len({r[1] for r in rows}) == size  # no two records extend the same head


def test_eight_processes_append_to_one_tenant_at_once(pg_backend: Any, key_file: tuple) -> None:
    key, path = key_file
    procs, per, batch = 8, 150, 10
    start_at = time.time() + 3  # every writer has connected and built its cards by then
    writers = [_writer(pg_backend.db, path, "shared", p * per, per, batch, start_at) for p in range(procs)]
    acked: list[str] = []
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        acked += _acks(out)
    assert len(acked) == procs * per == len(set(acked))
    stored = [r[0] for r in pg_backend.query("SELECT call_id FROM scorecards WHERE tenant = 'shared'")]
    assert Counter(stored) == Counter(acked)  # count exact: every acknowledged record once, nothing else
    _assert_one_chain(pg_backend, "shared", procs * per)
    # the writers interleaved (a run where they took turns whole would not test the lock)
    order = [int(c.rsplit("-", 1)[-1]) // per if c.rsplit("-", 1)[-1].isdigit() else None for c in
             (r[0] for r in pg_backend.query("SELECT call_id FROM scorecards WHERE tenant = 'shared' ORDER BY seq"))]
    if None not in order:
        assert sum(1 for a, b in zip(order, order[1:], strict=False) if a != b) >= procs
    rep = verify_db(pg_backend.db, pubkey=key.verifier)
    assert rep.ok, [p.render() for p in rep.problems]
    assert {t["tenant"]: t["records"] for t in rep.tenants} == {"": 1, "shared": procs * per}
    # one signed checkpoint covers the whole log; the kept ones at multiples of 256 stay
    ck = parse_checkpoint(pg_backend.query("SELECT note FROM checkpoints WHERE tenant = 'shared' ORDER BY size DESC")[0][0])
    assert ck.size == procs * per and ck.verify(key.verifier) is None


def test_kill_9_of_a_writer_mid_batch_loses_nothing_acknowledged(pg_backend: Any, key_file: tuple) -> None:
    key, path = key_file
    per, batch = 120, 12
    start_at = time.time() + 3
    victim = _writer(pg_backend.db, path, "shared", 0, per, batch, start_at, pause_after=4)
    others = [_writer(pg_backend.db, path, "shared", p * per, per, batch, start_at) for p in (1, 2, 3)]
    acked: list[str] = []
    assert victim.stdout is not None
    for line in victim.stdout:  # 4 batches acknowledged, then the fifth is written, not committed, lock held
        if line.startswith("ack "):
            acked.append(line.split(" ", 1)[1].strip())
        elif line.strip() == "mid":
            break
    else:
        pytest.fail("the writer ended before pausing: " + victim.stderr.read() if victim.stderr else "")
    assert len(acked) == 4 * batch
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    for w in others:  # the dead writer's lock went with its connection: the others finish
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
        acked += _acks(out)
    stored = [r[0] for r in pg_backend.query("SELECT call_id FROM scorecards WHERE tenant = 'shared'")]
    counts = Counter(stored)
    assert not [c for c, n in counts.items() if n > 1]  # no duplicates
    assert set(acked) <= set(stored)  # 0 acknowledged lost
    assert len(stored) == len(acked) == 4 * batch + 3 * per  # the killed batch left nothing behind
    _assert_one_chain(pg_backend, "shared", len(stored))
    rep = verify_db(pg_backend.db, pubkey=key.verifier)
    assert rep.ok, [p.render() for p in rep.problems]
    # and the chain goes on: a new writer accounts for everyone's records and extends it
    with EvidenceLog(pg_backend.db, path) as log:
        assert log.append(synthetic_scorecard(10_000, "shared")).seq == len(stored)


def test_tenants_do_not_wait_for_each_other(pg_backend: Any, key_file: tuple) -> None:
    """A writer holding one tenant's lock (paused inside its transaction) does not stop another tenant's. (Its
    first batch commits first: a tenant's first record also extends the directory, which every new tenant locks.)"""
    key, path = key_file
    holder = _writer(pg_backend.db, path, "held", 0, 20, 10, 0, pause_after=1)
    assert holder.stdout is not None
    assert [holder.stdout.readline().split()[0] for _ in range(11)] == ["ack"] * 10 + ["mid"]
    try:
        other = _writer(pg_backend.db, path, "free", 0, 20, 5, 0)
        out, err = other.communicate(timeout=120)
        assert other.returncode == 0, err
        assert len(_acks(out)) == 20
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert verify_db(pg_backend.db, pubkey=key.verifier).ok


def test_copy_sqlite_to_postgres_verifies_with_the_same_roots(pg_backend: Any, tmp_path: Path) -> None:
    key = SigningKey.generate()
    src = tmp_path / "src.db"
    with EvidenceLog(src, key) as log:
        log.append_many([synthetic_scorecard(i, "acme") for i in range(300)], batch_size=70)
        log.append_many([synthetic_scorecard(i, "zeta", agents=0) for i in range(5)])
        log.add_gap("acme", 2, "queue full")
        log.add_tier2_finding("acme", {"interaction_id": synthetic_scorecard(3, "acme").call_id, "check_id": "x"})
    report = copy_store(src, pg_backend.db)
    assert {t["tenant"]: t["size"] for t in report["logs"]} == {"": 2, "acme": 302, "zeta": 5}

    def roots(db: Any) -> dict[str, Any]:
        rep = verify_db(db, pubkey=key.verifier)
        assert rep.ok, [p.render() for p in rep.problems]
        return {t["tenant"]: (t["records"], t.get("root")) for t in rep.tenants}

    assert roots(src) == roots(pg_backend.db)
    # the copy is a live log: a writer with the same key extends it, and it still verifies
    with EvidenceLog(pg_backend.db, key) as log:
        assert log.append(synthetic_scorecard(300, "acme")).seq == 302
    assert verify_db(pg_backend.db, pubkey=key.verifier).ok
    # a second copy into a database that holds records is refused
    from trace_engine.store.copy import CopyError

    with pytest.raises(CopyError, match="already holds records"):
        copy_store(src, pg_backend.db)


def test_cli_on_postgres(pg_backend: Any, tmp_path: Path) -> None:
    """``--db postgresql://…``: rescore, exposure, verify, prove and store info answer as on SQLite."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRACE_KEY_DIR": str(tmp_path)}
    corpus = str(REPO / "corpora" / "outbound_calls.jsonl")

    def run(*args: Any) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "trace_engine", *map(str, args)], capture_output=True,
                              text=True, cwd=REPO, env=env)

    sqlite_db = tmp_path / "t.db"
    for db in (pg_backend.db, sqlite_db):
        r = run("rescore", corpus, "--db", db)  # one key: TRACE_KEY_DIR is beside the SQLite file too
        assert r.returncode == 0, r.stderr
    r = run("verify", "--db", pg_backend.db, "--pubkey", tmp_path / "trace.pub", "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["ok"] is True, r.stdout + r.stderr
    r = run("store", "info", "--db", pg_backend.db, "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["backend"] == "postgres", r.stderr
    r = run("exposure", "--db", pg_backend.db, "--format", "json")
    assert r.returncode == 0, r.stderr
    r2 = run("exposure", "--db", sqlite_db, "--format", "json")
    assert json.loads(r.stdout)["by_rule"] == json.loads(r2.stdout)["by_rule"]
    call = pg_backend.query("SELECT call_id FROM scorecards ORDER BY seq LIMIT 1")[0][0]
    proofs = [run("prove", call, "--db", db) for db in (pg_backend.db, sqlite_db)]
    assert all(p.returncode == 0 for p in proofs), [p.stderr for p in proofs]
    a, b = (json.loads(p.stdout) for p in proofs)
    # two runs score at different times (other leaves); the positions agree, and the proof checks offline
    assert (a["leaf_index"], a["tree_size"]) == (b["leaf_index"], b["tree_size"])
    (tmp_path / "proof.json").write_text(proofs[0].stdout)
    assert run("verify-proof", tmp_path / "proof.json", "--pubkey", tmp_path / "trace.pub").returncode == 0
    # a wrong password (or server) is a clear error, exit 2, and the password is never printed
    r = run("verify", "--db", "postgresql://nobody:s3cret-pw@127.0.0.1:1/none", "--pubkey", tmp_path / "trace.pub")
    assert r.returncode == 2 and "s3cret-pw" not in r.stderr + r.stdout and "cannot connect" in r.stderr
