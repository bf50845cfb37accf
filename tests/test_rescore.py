"""Offline re-scoring: idempotence, supersession, resumption after kill -9, worker parity."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from trace_engine.rescore import rescore
from trace_engine.store.verify import verify_db

REPO = Path(__file__).resolve().parents[1]
CORPUS = str(REPO / "corpora")
CONFIG = {"rule_packs": {"tcpa": {"enabled": True}, "pii": {"enabled": True}}}
#: calls in the bundled corpora (taskmaster_sample.jsonl + the hand-written outbound_calls.jsonl)
HAND_WRITTEN = sum(1 for line in (REPO / "corpora" / "outbound_calls.jsonl").open() if line.strip())
ALL_CALLS = HAND_WRITTEN + sum(1 for line in (REPO / "corpora" / "taskmaster_sample.jsonl").open() if line.strip())


def _rows(db: Any) -> list[tuple]:
    """The scorecards' positions; ``db`` is a backend (from the fixture) or a SQLite path."""
    if not isinstance(db, str):
        return db.query("SELECT tenant, seq, call_id, config_etag FROM scorecards ORDER BY tenant, seq")
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT tenant, seq, call_id, config_etag FROM scorecards ORDER BY tenant, seq").fetchall()


def test_rescore_is_idempotent(backend: Any) -> None:
    db = backend.db
    first = rescore([CORPUS], db=db, config=CONFIG)
    assert first.scored == ALL_CALLS and first.appended == ALL_CALLS
    second = rescore([CORPUS], db=db, config=CONFIG)
    assert second.appended == 0 and second.duplicates == ALL_CALLS
    assert len(_rows(backend)) == ALL_CALLS


def test_changed_config_supersedes(backend: Any) -> None:
    db = backend.db
    path = str(REPO / "corpora" / "outbound_calls.jsonl")
    rescore([path], db=db, config=CONFIG)
    changed = rescore([path], db=db, config={**CONFIG, "rule_packs": {**CONFIG["rule_packs"], "brand_voice": {"enabled": True}}})
    assert changed.appended == HAND_WRITTEN and changed.superseded == HAND_WRITTEN
    assert len(_rows(backend)) == 2 * HAND_WRITTEN  # history stays
    from trace_engine.store.reads import list_interactions

    latest = list_interactions(db, "default", limit=100)
    assert len(latest["data"]) == HAND_WRITTEN  # reads show the latest


def test_workers_give_the_same_scorecards(tmp_path: Path) -> None:
    one, two = str(tmp_path / "one.db"), str(tmp_path / "two.db")
    lines_one: list[dict] = []
    lines_two: list[dict] = []
    rescore([CORPUS], db=one, config=CONFIG, on_result=lines_one.append)
    rescore([CORPUS], db=two, config=CONFIG, workers=2, on_result=lines_two.append)

    def key(line: dict) -> tuple:
        return (line["id"], line["verdict"], line["findings"], tuple(v["rule_id"] for v in line["violations"]))

    assert sorted(map(key, lines_one)) == sorted(map(key, lines_two))


def test_tenants_are_separate(backend: Any) -> None:
    db = backend.db
    path = str(REPO / "corpora" / "outbound_calls.jsonl")
    rescore([path], db=db, config=CONFIG, tenant="acme")
    rescore([path], db=db, config=CONFIG, tenant="globex")
    assert {row[0] for row in _rows(backend)} == {"acme", "globex"}
    assert verify_db(db).ok


@pytest.mark.parametrize("seed, workers", [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2)])
def test_kill_9_then_resume_loses_nothing_acknowledged(backend: Any, tmp_path: Path, seed: int, workers: int) -> None:
    """Killed at a random point (with 2 workers: while the WAL is checkpointed by its own thread and the workers
    hold shards), the log verifies, holds everything reported, and a re-run completes it without duplicates."""
    db = backend.db
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps(CONFIG))
    cmd = [sys.executable, "-m", "trace_engine", "rescore", CORPUS, "--db", db, "--config", str(config), "--format", "jsonl",
           "--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    acknowledged: list[str] = []
    kill_after = random.Random(seed).randint(1, 250)
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        acknowledged.append(json.loads(line)["id"])
        if len(acknowledged) >= kill_after or time.monotonic() > deadline:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    stored = {row[2] for row in _rows(backend)}
    assert set(acknowledged) <= stored  # everything reported as scored is in the log
    report = verify_db(db)
    assert report.ok, report
    resumed = rescore([CORPUS], db=db, config=CONFIG)
    assert resumed.appended + resumed.duplicates == ALL_CALLS
    assert len(_rows(backend)) == ALL_CALLS  # no duplicates
    assert verify_db(db).ok


def test_globs_name_inputs(tmp_path: Path) -> None:
    """A quoted glob (``**`` too) is expanded in sorted order; one that matches nothing is reported as missing."""
    db = str(tmp_path / "t.db")
    summary = rescore([str(REPO / "corpora" / "**" / "outbound_*.jsonl"), str(tmp_path / "none-*.jsonl")], db=db,
                      config=CONFIG)
    assert summary.scored == HAND_WRITTEN
    assert summary.unreadable == [str(tmp_path / "none-*.jsonl")]
