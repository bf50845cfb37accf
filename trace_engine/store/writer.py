"""The inline evidence writer: the gate hands it a scorecard at the end of a call and moves on.

:meth:`EvidenceWriter.submit` never blocks and never raises. It puts the scorecard on a bounded queue; when the
queue is full the scorecard is counted as lost. One background thread drains the queue in batches, one
transaction per batch (:meth:`EvidenceLog.append_many`), each signed by its own checkpoint before it commits.
Any database error (disk full, database locked, I/O error, connection lost) is caught: the batch is counted as lost, the connection
is reopened on the next attempt, and a ``gap`` record saying how many scorecards were lost and why is written as
soon as the database takes writes again (in the same transaction as the next batch), or at :meth:`close`.

**Refusal.** When the log holds records this writer cannot account for (a forged append, a rewritten tail,
checkpoints signed by an unknown key: :class:`~trace_engine.store.log.LogIntegrityError`), the writer does not
sign over them: the batch is counted as lost with the reason, an alert is raised (``stats["refused"]``,
``alerts``, ``on_alert(message)`` and a CRITICAL line on the ``trace.evidence`` logger), and the pending gap record
is written as soon as the log is sound again (restored from a backup).

``on_commit(results)`` is called from the writer thread after each committed batch with the
:class:`~trace_engine.store.log.AppendResult` list; a scorecard is durable once it has been reported there.
Tier-2 findings for the writer's tenant may be queued too (:meth:`submit_findings`).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from trace_engine.evidence.scorecard import Scorecard
from trace_engine.evidence.signing import SigningKey, VerifierKey
from trace_engine.store.interfaces import Store
from trace_engine.store.log import AppendResult, EvidenceLog, LogIntegrityError

_STOP = object()
log = logging.getLogger("trace.evidence")


class _Findings(list):
    """A queue item: Tier-2 findings for the writer's tenant."""


class EvidenceWriter:
    """Background, batching, never-failing scorecard writer for one tenant, into ``db_path``: a SQLite path, a
    ``postgresql://`` URL (many writers on many hosts share the tenant's chain) or an open store."""

    def __init__(
        self,
        db_path: str | os.PathLike[str] | Store,
        tenant: str,
        key: SigningKey | str | os.PathLike[str] | None = None,
        queue_size: int = 1024,
        *,
        batch_size: int = 256,
        retry_interval_s: float = 0.25,
        on_commit: Callable[[list[AppendResult]], None] | None = None,
        on_alert: Callable[[str], None] | None = None,
        connect_hook: Callable[[Any], None] | None = None,
        trusted_keys: tuple[VerifierKey, ...] = (),
    ):
        from trace_engine.evidence.signing import TENANT_RE

        if not isinstance(tenant, str) or not TENANT_RE.match(tenant):
            raise ValueError(f"invalid tenant name {tenant!r}")
        self.db_path = db_path if isinstance(db_path, Store) else str(db_path)
        self.tenant = tenant
        self._key = key
        self._trusted = tuple(trusted_keys)
        self._q: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
        self._batch_size = batch_size
        self._retry_interval = retry_interval_s
        self._on_commit = on_commit
        self._on_alert = on_alert
        self._connect_hook = connect_hook
        self._lock = threading.Lock()
        self._pending_lost = 0
        self._pending_reasons: dict[str, int] = {}
        self._closing = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._log: EvidenceLog | None = None
        self._last_failure = 0.0
        self.stats: dict[str, int] = {
            "submitted": 0,
            "committed": 0,
            "duplicates": 0,
            "lost": 0,
            "errors": 0,
            "refused": 0,
            "gaps_written": 0,
            "findings": 0,
        }
        self.last_error: str | None = None
        #: integrity alerts (a log this writer refused to extend), newest last
        self.alerts: list[str] = []
        self._thread = threading.Thread(target=self._run, name=f"trace-evidence-{tenant}", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------------------------------- caller side

    def submit(self, scorecard: Scorecard | dict[str, Any]) -> bool:
        """Queue a scorecard. Returns ``False`` (and counts it lost) when it cannot be queued. Never raises."""
        try:
            tenant = scorecard.tenant if isinstance(scorecard, Scorecard) else scorecard.get("tenant")
            if tenant != self.tenant:
                self._lose(1, "scorecard for another tenant")
                return False
            if self._closing.is_set():
                self._lose(1, "writer closed")
                return False
            with self._lock:
                self._in_flight += 1
            try:
                self._q.put_nowait(scorecard)
            except queue.Full:
                with self._lock:
                    self._in_flight -= 1
                self._lose(1, "queue full")
                return False
            with self._lock:
                self.stats["submitted"] += 1
            return True
        except Exception:  # noqa: BLE001 - the gate must never see an evidence failure
            try:
                self._lose(1, "submit failed")
            except Exception:  # noqa: BLE001
                pass
            return False

    def submit_findings(self, findings: list[dict[str, Any]]) -> bool:
        """Queue Tier-2 findings (``TraceFinding`` dicts) of this writer's tenant. Never raises."""
        try:
            if self._closing.is_set() or not findings:
                return False
            with self._lock:
                self._in_flight += 1
            try:
                self._q.put_nowait(_Findings(findings))
            except queue.Full:
                with self._lock:
                    self._in_flight -= 1
                return False
            return True
        except Exception:  # noqa: BLE001
            return False

    def _lose(self, n: int, reason: str) -> None:
        with self._lock:
            self._pending_lost += n
            self._pending_reasons[reason] = self._pending_reasons.get(reason, 0) + n
            self.stats["lost"] += n

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued scorecard was committed or counted lost. ``True`` when drained in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._in_flight > 0:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(timeout=0.05 if left is None else min(left, 0.05))
        return True

    def close(self, timeout: float | None = 30.0) -> None:
        """Flush, write any pending gap record, stop the thread. Never raises."""
        if self._closing.is_set() and not self._thread.is_alive():
            return
        self._closing.set()
        self._thread.join(timeout)

    def __enter__(self) -> EvidenceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------- thread side

    def _open(self) -> EvidenceLog:
        if self._log is None:
            self._log = EvidenceLog(
                self.db_path, self._key, trusted_keys=self._trusted, connect_hook=self._connect_hook
            )
        return self._log

    def _alert(self, message: str) -> None:
        log.critical("ALERT evidence log integrity: %s", message)
        with self._lock:
            self.stats["refused"] += 1
            self.alerts.append(message)
            del self.alerts[:-100]
        if self._on_alert is not None:
            try:
                self._on_alert(message)
            except Exception:  # noqa: BLE001
                pass

    def _drop_log(self) -> None:
        if self._log is not None:
            try:
                self._log.close()
            except Exception:  # noqa: BLE001
                pass
            self._log = None

    def _take_gap(self) -> tuple[int, dict[str, int]]:
        """Take the pending lost count and reasons (restored by :meth:`_restore_gap` if the write fails)."""
        with self._lock:
            n, reasons = self._pending_lost, self._pending_reasons
            self._pending_lost, self._pending_reasons = 0, {}
            return n, reasons

    def _restore_gap(self, n: int, reasons: dict[str, int]) -> None:
        with self._lock:
            self._pending_lost += n
            for k, v in reasons.items():
                self._pending_reasons[k] = self._pending_reasons.get(k, 0) + v

    def _done(self, n: int) -> None:
        with self._idle:
            self._in_flight -= n
            self._idle.notify_all()

    def _write(self, items: list[Any]) -> None:
        batch = [x for x in items if not isinstance(x, _Findings)]
        findings = [(self.tenant, f) for x in items if isinstance(x, _Findings) for f in x]
        if not items:
            with self._lock:
                if not self._pending_lost:
                    return
            if time.monotonic() - self._last_failure < self._retry_interval:
                return
        lost_n, reasons = self._take_gap()
        reason = ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items())) or "lost"
        gaps = [(self.tenant, lost_n, reason)] if lost_n else None
        try:
            results = self._open().append_many(
                batch, batch_size=len(batch) + 1, skip_invalid=True, gaps=gaps, findings=findings
            )
        except LogIntegrityError as exc:
            self._last_failure = time.monotonic()
            self.last_error = str(exc)
            self._drop_log()
            self._restore_gap(lost_n, reasons)
            self._alert(str(exc))
            if batch:
                self._lose(len(batch), "refused: the log holds records this writer cannot account for")
            return
        except Exception as exc:  # noqa: BLE001 - disk full, locked, I/O error, ...
            self._last_failure = time.monotonic()
            self.last_error = f"{type(exc).__name__}: {exc}"
            self._drop_log()
            self._restore_gap(lost_n, reasons)
            with self._lock:
                self.stats["errors"] += 1
            if batch:
                why = "database error: " + (
                    "disk full" if "full" in str(exc).lower() else "locked" if "locked" in str(exc).lower() else str(exc)
                )
                self._lose(len(batch), why)
            return
        if lost_n:
            with self._lock:
                self.stats["gaps_written"] += 1
        committed = [r for r in results if r.status == "appended"]
        invalid = [r for r in results if r.status == "invalid"]
        with self._lock:
            self.stats["committed"] += len(committed)
            self.stats["duplicates"] += sum(1 for r in results if r.status == "duplicate")
            self.stats["findings"] += len(findings)
        if invalid:
            self._lose(len(invalid), "invalid scorecard")
        if self._on_commit is not None and results:
            try:
                self._on_commit(results)
            except Exception:  # noqa: BLE001
                pass

    def _run(self) -> None:
        while True:
            closing = self._closing.is_set()
            try:
                first = self._q.get(timeout=0.05)
                batch = [first]
            except queue.Empty:
                batch = []
            while len(batch) < self._batch_size:
                try:
                    batch.append(self._q.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            finally:
                if batch:
                    self._done(len(batch))
            if not batch and closing:
                break
        # Closing: one last try for a pending gap record (every commit is already signed).
        self._last_failure = 0.0
        try:
            self._write([])
        except Exception:  # noqa: BLE001
            pass
        finally:
            self._drop_log()
