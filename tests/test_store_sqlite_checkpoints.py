"""SQLite's WAL checkpoints in a thread of their own (``Store.checkpoints_in_background``, used by ``trace rescore``):
the committing connection stops checkpointing, the thread moves the WAL into the database file, and on exit SQLite's
own policy is back and no thread is left. That a process killed at any point loses nothing and leaves a log that
verifies is ``test_rescore.py::test_kill_9_then_resume_loses_nothing_acknowledged`` (2-worker runs included)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from trace_engine.evidence.signing import SigningKey
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.interfaces import StoreError
from trace_engine.store.log import EvidenceLog
from trace_engine.store.sqlite import SQLiteStore
from trace_engine.store.verify import verify_db

KEY = SigningKey.generate()


def _checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "trace-wal-checkpoint"]


def _autocheckpoint(log: EvidenceLog) -> int:
    with log.store.read() as s:
        return s.execute("PRAGMA wal_autocheckpoint").fetchone()[0]


def test_commits_leave_the_checkpoints_to_a_thread(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with EvidenceLog(db, KEY) as log:
        log.append(synthetic_scorecard(0))
        empty_size = db.stat().st_size
        with log.store.checkpoints_in_background():
            assert len(_checkpointers()) == 1
            assert _autocheckpoint(log) == 0  # this thread's commits no longer checkpoint
            for start in range(1, 1201, 100):
                log.append_many([synthetic_scorecard(i) for i in range(start, start + 100)])
            # only a checkpoint writes pages into the database file; the thread runs when it is scheduled
            deadline = time.monotonic() + 30
            while db.stat().st_size <= empty_size and time.monotonic() < deadline:
                time.sleep(0.01)
            assert db.stat().st_size > empty_size
        assert not _checkpointers()
        assert _autocheckpoint(log) == 1000  # SQLite's own policy again
        assert log.append(synthetic_scorecard(1201)).seq == 1201
    assert verify_db(str(db), pubkey=KEY.verifier).ok
    assert not os.path.exists(f"{db}-wal")  # closed cleanly: the last connection checkpointed and removed it


def test_an_in_memory_store_has_nothing_to_checkpoint() -> None:
    with EvidenceLog(":memory:", KEY) as log, log.store.checkpoints_in_background():
        assert not _checkpointers()
        assert log.append(synthetic_scorecard(0)).status == "appended"


def _no_checkpoints(conn: sqlite3.Connection) -> None:
    """A connection on which every explicit checkpoint fails (as one on a full or failing disk would)."""

    def deny(action: int, arg1: str | None, *_: object) -> int:
        return sqlite3.SQLITE_DENY if action == sqlite3.SQLITE_PRAGMA and arg1 == "wal_checkpoint" else sqlite3.SQLITE_OK

    conn.set_authorizer(deny)


def test_a_checkpoint_that_keeps_failing_is_an_error_on_exit(tmp_path: Path) -> None:
    """The WAL grows without bound while no checkpoint succeeds, and its frames are never synced: the run must hear
    of it. Every commit stays in the WAL and the log verifies."""
    db = tmp_path / "t.db"
    with EvidenceLog(store=SQLiteStore(db, connect_hook=_no_checkpoints), key=KEY) as log:
        with pytest.raises(StoreError, match="checkpoint"), log.store.checkpoints_in_background():
            for start in range(0, 1200, 100):
                log.append_many([synthetic_scorecard(i) for i in range(start, start + 100)])
        assert not _checkpointers()
        assert log.size("default") == 1200
    assert verify_db(str(db), pubkey=KEY.verifier).ok


def test_an_error_in_the_run_is_not_masked_by_a_failing_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with EvidenceLog(store=SQLiteStore(db, connect_hook=_no_checkpoints), key=KEY) as log:
        with pytest.raises(KeyError), log.store.checkpoints_in_background():
            log.append_many([synthetic_scorecard(i) for i in range(300)])
            raise KeyError("the run's own error")
        assert not _checkpointers()


def test_closing_the_store_inside_the_context(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    log = EvidenceLog(db, KEY)
    with log.store.checkpoints_in_background():
        log.append_many([synthetic_scorecard(i) for i in range(300)])
        log.close()
    assert not _checkpointers()
    assert verify_db(str(db), pubkey=KEY.verifier).ok


def test_closing_the_store_waits_for_a_checkpoint_running_in_sqlite(tmp_path: Path) -> None:
    # a background checkpoint runs in SQLite holding `_IN_SQLITE`, with the GIL released: closing its connection
    # then freed what SQLite was using (a worker crashed in `test_closing_the_store_inside_the_context` under load)
    from trace_engine.store import sqlite as sqlite_store

    log = EvidenceLog(tmp_path / "t.db", KEY)
    log.append_many([synthetic_scorecard(i) for i in range(3)])
    closed = threading.Event()
    closer = threading.Thread(target=lambda: (log.close(), closed.set()))
    with sqlite_store._IN_SQLITE:  # as a checkpoint in progress holds it
        closer.start()
        assert not closed.wait(0.2), "the store closed its connections under a checkpoint in progress"
    closer.join()
    assert closed.is_set()
    assert verify_db(str(tmp_path / "t.db"), pubkey=KEY.verifier).ok


def test_a_fork_waits_for_a_checkpoint_in_progress(tmp_path: Path) -> None:
    """`trace rescore` forks its workers after opening the log, and even a read's commit wakes the checkpointer: a
    child forked while that thread is inside SQLite inherits SQLite's mutexes as that thread held them (and its
    locks' bookkeeping), then opens the same file (a worker looks up what each call supersedes) and can hang on
    them. A fork therefore waits for a checkpoint in progress. Here the checkpointer is held inside its statement
    (SQLite's trace callback runs within sqlite3_step) until the parent has forked, or for 1 s."""
    entered, left, forked = threading.Event(), threading.Event(), threading.Event()

    def hold_the_checkpoint(conn: sqlite3.Connection) -> None:
        def trace(statement: str) -> None:
            if "wal_checkpoint" in statement and not entered.is_set():
                entered.set()
                forked.wait(1.0)
                left.set()

        conn.set_trace_callback(trace)

    with EvidenceLog(store=SQLiteStore(tmp_path / "t.db", connect_hook=hold_the_checkpoint), key=KEY) as log:
        with log.store.checkpoints_in_background():
            log.append(synthetic_scorecard(0))
            assert entered.wait(30)
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: was the checkpointer still inside SQLite?
                os.write(w, b"0" if left.is_set() else b"1")
                os._exit(0)
            forked.set()
            os.close(w)
            inside = os.read(r, 1)
            os.close(r)
            os.waitpid(pid, 0)
        assert inside == b"0", "forked while the checkpointer was inside SQLite"
