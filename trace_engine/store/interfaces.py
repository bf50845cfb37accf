"""The storage interfaces: what the evidence log, the read views, the service and ``trace verify`` ask of a backend.

One :class:`Store` per database (OPA's ``storage.Store`` is the model: one interface, several backends). Work
happens in a :class:`Session`, opened by the one transaction helper :meth:`Store.transaction` (a write: the
backend's write lock, commit, or rollback on any exception) or :meth:`Store.read` (one consistent snapshot). A
session is all three of:

* :class:`LogStore`: the evidence log's rows (records, checkpoints, projections, the rollup cache), for the
  sequencer (:class:`trace_engine.store.log.EvidenceLog`), ``trace verify``, ``prove`` and ``store copy``;
* :class:`ReadModel`: the rows behind the lists, the detail view, exposure and the Tier-2 findings;
* :class:`ServiceStore`: API keys, configs, rule-pack uploads and agents, always scoped by tenant.

Backends know rows, never meaning: every check (hashes, links, signatures, rows against signed bodies) lives in the
backend-neutral modules above them, so ``trace verify`` gives the same answer on every backend. Rows are plain
tuples in the column order each method documents. Nothing outside ``trace_engine/store/`` writes SQL.

Backends: :mod:`trace_engine.store.sqlite` (the embedded default; one file) and :mod:`trace_engine.store.postgres`
(psycopg 3 with a connection pool; many writers on many hosts share one chain per tenant).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

#: ``(tenant, seq, call_id, agent_id, product, config_etag, engine_version, verdict, scored_at, call_at, findings,
#: blocked_turns, modified_turns, packs_enforced, body, leaf_hash, prev_hash, audit_hash, supersedes)``; ``body`` is
#: the record's canonical bytes (UTF-8), stored as text
ScorecardRow = tuple
#: ``(tenant, seq, idx, id, audit_hash, interaction_id, agent_id, rule_id, pack_id, severity, action_taken,
#: citation, reason, at_t, scored_at, call_at)``
ViolationRow = tuple
#: ``(tenant, seq, kind, ref, body, leaf_hash, prev_hash, audit_hash)``
EventRow = tuple
#: ``(tenant, size, root, note, signature, key_id, created_at)``
CheckpointRow = tuple
#: what the read views select of a scorecard: ``(seq, call_id, agent_id, verdict, call_at, supersedes, body,
#: leaf_hash)``
IndexRow = tuple

#: every table a backend keeps, in the order ``store copy`` moves them (records before their projections)
TABLES: tuple[str, ...] = (
    "scorecards", "violations", "events", "checkpoints", "gaps", "tier2_findings", "agents",
    "rollup_state", "rollup_verdicts", "rollup_rules", "api_keys", "trace_configs", "trace_rule_packs",
)


class StoreError(Exception):
    """The database failed (disk full, locked, connection lost, a constraint refused a row). ``cause`` is the
    driver's exception."""

    def __init__(self, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.cause = cause


class UnreadableDatabase(Exception):
    """The database is missing, is not a Trace evidence database, is damaged, or has a schema this Trace does not
    read (older and not migrated, or newer)."""


class LogStore(Protocol):
    """The evidence log's rows. Writes happen inside :meth:`Store.transaction`, after :meth:`lock_logs`."""

    def lock_logs(self, tenants: Sequence[str]) -> None:
        """Serialize appends to these logs until the transaction ends (one sequencer per tenant). Call with every
        log the transaction will extend, the directory last; a backend with a database-wide write lock does
        nothing."""

    def lock_all_logs(self) -> None:
        """Serialize against every appender (a key rotation)."""

    def log_tail(self, tenant: str) -> tuple[int, str | None]:
        """``(size, audit hash of the last record)`` as stored, across scorecards and events."""

    def chain_rows(self, tenant: str, start: int, *, bodies: bool) -> Iterator[tuple]:
        """``(seq, leaf_hash, prev_hash, audit_hash, kind, body)`` from ``start`` on, in position order; ``kind``
        is ``None`` for scorecards; ``body`` only for events and when ``bodies``."""

    def audit_hash_at(self, tenant: str, seq: int) -> str | None: ...

    def call_id_at(self, tenant: str, seq: int) -> str | None: ...

    def seq_of_audit_hash(self, tenant: str, audit_hash: Any) -> int | None: ...

    def checkpoints_at(self, tenant: str, size: int) -> list[str]:
        """The notes stored for the log at exactly ``size``."""

    def checkpoints_up_to(self, tenant: str, size: int) -> list[tuple[int, str]]:
        """``(size, note)`` at or below ``size``, largest first."""

    def latest_checkpoint(self, tenant: str) -> tuple[int, str] | None:
        """``(size, note)`` of the largest checkpoint (the latest stored among equals)."""

    def latest_checkpoints(self, tenant: str | None = None) -> list[tuple[str, str]]:
        """``(tenant, note)`` of every log's (or one log's) latest checkpoint, by tenant."""

    def call_history(self, tenant: str, call_ids: Sequence[str]) -> dict[str, list[tuple]]:
        """Per call id, its records in position order as ``(config_etag, engine_version, input sha256 (the
        column, which ``trace verify`` holds to the body), audit_hash, seq)``."""

    def scorecard_body(self, tenant: str, seq: int) -> str | None: ...

    def latest_bodies(self, tenant: str, call_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """Per call id that has a record, ``(audit_hash, body)`` of its latest scorecard record."""

    def latest_audit_hash(self, tenant: str, call_id: str) -> str | None:
        """The audit hash of the call's latest scorecard record."""

    def insert_scorecards(self, rows: Sequence[ScorecardRow]) -> None: ...

    def insert_violations(self, rows: Sequence[ViolationRow]) -> None: ...

    def insert_event(self, row: EventRow) -> None: ...

    def insert_checkpoints(self, rows: Sequence[CheckpointRow]) -> None: ...

    def drop_head_checkpoints(self, tenant: str, below: int, *, at: int | None = None) -> None:
        """Delete the log's replaceable checkpoints (sizes not a multiple of 256) below ``below`` (or exactly at
        ``at``)."""

    def insert_gap(self, row: tuple) -> None:
        """``(tenant, lost, reason, at, seq)``"""

    def tier2_finding_exists(self, tenant: str, finding_id: str) -> bool: ...

    def insert_tier2_finding(self, row: tuple) -> None:
        """``(tenant, id, interaction_id, audit_hash, body, created_at, seq)``"""

    def agent_exists(self, tenant: str, agent_id: str) -> bool: ...

    def insert_agents(self, rows: Sequence[tuple], *, ignore_known: bool = False) -> None:
        """``(tenant, agent_id, first_seen, seq)``; with ``ignore_known`` a known agent is left as it is."""

    def apply_rollup(self, verdicts: dict[tuple, int], rules: dict[tuple, int], sizes: Iterable[tuple[str, int]]) -> None:
        """Add the deltas to the exposure rollup; record each tenant's chain size."""

    def replace_rollup(self, tenant: str, verdicts: dict[tuple, int], rules: dict[tuple, int], size: int) -> None: ...

    def stored_rollup(self, tenant: str) -> tuple[dict[tuple, int], dict[tuple, int]]:
        """The tenant's non-zero rollup cells, keyed ``(tenant, hour, agent, verdict)`` / ``(tenant, hour, agent,
        rule_id, pack)``."""

    def rollup_tenants(self) -> set[Any]: ...

    # whole-log iteration, for ``trace verify``, ``prove`` and ``store copy``

    def log_tenants(self) -> set[Any]:
        """Every tenant that has a row in any evidence table."""

    def has_records(self) -> bool: ...

    def checkpoint_rows(self, tenant: str) -> list[tuple]:
        """``(order, size, root, note, signature, key_id)`` by size, then insertion order."""

    def checkpoint_sizes(self, tenant: str) -> set[Any]: ...

    def scorecard_rows(self, tenant: str) -> Iterator[tuple]:
        """``(seq, 's', call_id, agent_id, product, config_etag, engine_version, verdict, scored_at, call_at,
        findings, blocked_turns, modified_turns, packs_enforced, body bytes, leaf_hash, prev_hash, audit_hash,
        supersedes, input_sha256)`` in position order: the body exactly as stored."""

    def event_rows(self, tenant: str) -> list[tuple]:
        """``(seq, 'e', kind, ref, body bytes, leaf_hash, prev_hash, audit_hash)`` in position order."""

    def violation_rows(self, tenant: str) -> Iterator[tuple]:
        """``(seq, idx, id, audit_hash, interaction_id, agent_id, rule_id, pack_id, severity, action_taken, citation,
        reason, at_t, scored_at, call_at)`` by position."""

    def leaf_hashes(self, tenant: str, below: int) -> list[tuple[Any, Any]]:
        """``(seq, leaf_hash)`` of every record below ``below``, in position order."""

    def gap_totals(self, tenant: str) -> tuple[int, int]:
        """``(scorecards lost, gap records)``"""

    def projection_rows(self, table: str) -> list[tuple] | None:
        """Every row of a projection (``gaps``, ``tier2_findings``, ``agents``, ``api_keys``, ``trace_configs``,
        ``trace_rule_packs``) in the column order ``trace verify`` compares; ``None`` when the table is absent."""

    def dump_table(self, table: str) -> tuple[list[str], Iterator[tuple]]:
        """A table's columns and every row, in insertion order (``store copy``)."""

    def load_rows(self, table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None: ...


class ReadModel(Protocol):
    """The rows behind the read views. Rows are chosen here; checking them against their signed bodies is the
    caller's (:mod:`trace_engine.store.reads`)."""

    def has_superseding(self, tenant: str) -> bool: ...

    def interaction_rows(
        self, tenant: str, verdict: str | None, agent_id: str | None, before: Sequence[int] | None, limit: int,
        latest_only: bool,
    ) -> list[IndexRow]:
        """Newest first by ``(call_at, seq)``, strictly before ``before``; ``latest_only`` skips superseded records."""

    def violation_page(
        self, tenant: str, filters: dict[str, Any], before: Sequence[int] | None, limit: int, latest_only: bool
    ) -> list[tuple]:
        """``(seq, idx, call_at, id, interaction_id, agent_id, rule_id, pack_id, severity, action_taken, citation,
        reason, at_t)``, newest first by ``(call_at, seq, idx)``."""

    def scorecards_at(self, tenant: str, seqs: Sequence[int]) -> list[IndexRow]: ...

    def scorecards_between(
        self, tenant: str, since: int, until: int, agent_id: str | None, latest_only: bool
    ) -> list[IndexRow]:
        """Records whose ``call_at`` is in ``[since, until)``."""

    def latest_scorecard(self, tenant: str, call_id: str) -> tuple | None:
        """The call's latest record: an :data:`IndexRow` plus ``prev_hash, audit_hash``."""

    def rollup_size(self, tenant: str) -> int: ...

    def rollup_whole_hours(
        self, tenant: str, edge: int, agent: str | None
    ) -> tuple[list[tuple[str, int]], list[tuple[str, str, int]]]:
        """``([(verdict, n)], [(rule_id, pack, n)])`` summed over the hours at or after ``edge``."""

    def tier2_rows(self, tenant: str, interaction_id: str) -> list[tuple[Any, str]]:
        """``(seq, body)`` of the call's Tier-2 findings, in log order."""

    def finding_rows(
        self, tenant: str, filters: dict[str, Any], alerts: bool, before: int | None, limit: int
    ) -> list[tuple[Any, str]]:
        """``(seq, body)`` of Tier-2 findings, newest first; ``filters`` on the finding's ``check_id``, ``action``,
        ``severity`` and ``interaction_id``; ``alerts`` keeps ``escalate`` or ``critical`` ones."""

    def event_at(self, tenant: str, seq: int, kind: str) -> tuple[str, str] | None:
        """``(body, leaf_hash)`` of the event at ``seq`` when it is of ``kind``."""

    def events_by_ref(self, tenant: str, kinds: Sequence[str], ref: str) -> list[tuple[Any, Any]]:
        """``(body, leaf_hash)`` of the tenant's events of these kinds about ``ref``, in log order."""


class ServiceStore(Protocol):
    """API keys, configs, rule-pack uploads and agents. Every write also appends a signed record in the same
    transaction (the callers in :mod:`trace_engine.api` do both)."""

    def insert_api_key(self, row: tuple) -> None:
        """``(key_id, tenant, key_hash, scopes, created_at, revoked_at, note)``"""

    def active_key_tenant(self, key_id: str) -> str | None: ...

    def revoke_api_key(self, key_id: str, at: int) -> None: ...

    def api_key_by_hash(self, key_hash: str) -> tuple | None:
        """``(key_id, tenant, scopes, key_hash)`` of an active key."""

    def api_keys(self, tenant: str | None) -> list[tuple]:
        """``(key_id, tenant, scopes, created_at, revoked_at, note)`` by creation."""

    def config_row(self, tenant: str, agent_id: str) -> tuple | None:
        """``(body, etag, updated_at)``"""

    def upsert_config(self, row: tuple) -> None:
        """``(tenant, agent_id, body, etag, updated_at)``"""

    def pack_rows(self, tenant: str, pack_id: str | None) -> list[tuple]:
        """``(id, pack_id, version, jurisdiction, legal_status, etag, created_at, spec)``, by pack id, newest
        upload first."""

    def pack_exists(self, tenant: str, pack_id: str, version: str) -> bool: ...

    def last_pack_upload(self, tenant: str, pack_id: str) -> int | None: ...

    def insert_pack(self, row: tuple) -> None:
        """``(tenant, pack_id, version, id, spec, etag, jurisdiction, legal_status, created_at)``"""

    def agent_tenants(self, agent_id: str) -> list[str]: ...


class Session(LogStore, ReadModel, ServiceStore, Protocol):
    """One transaction (or read snapshot) on a store."""

    store: Store

    def meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    def ping(self) -> None: ...

    def table_exists(self, table: str) -> bool: ...


class Store(ABC):
    """A database holding evidence logs. Thread-safe: each thread gets its own connection (a pooled one on a
    server backend) for the length of a session.

    ``url`` names it (a path for SQLite, ``postgresql://…`` without the password); ``identity`` is what the
    writers' in-memory tree heads are keyed by (the same database reached by two names is one log); ``key_dir``
    is where ``trace.key`` / ``trace.pub`` are looked for when no key is given (beside a SQLite file), or ``None``.
    """

    kind: str = ""

    def __init__(self, url: str, key_dir: Path | None):
        self.url = url
        self.key_dir = key_dir
        self._local = threading.local()
        self._log_id: str | None = None
        #: the evidence log bound to this store by :func:`trace_engine.store.log.log_for`
        self.evidence_log: Any = None

    # ------------------------------------------------------------------------------- the transaction helper

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """The one transaction helper. ``write``: the backend's write lock is taken at once (SQLite ``BEGIN
        IMMEDIATE``; PostgreSQL a read-committed transaction whose appends lock their logs), the block's work
        commits together or rolls back on any exception. Not ``write``: one consistent snapshot, read-only.

        Nested calls on the same thread join the open session (a read inside a write sees the write's rows); a
        write inside a read is refused."""
        open_session: Session | None = getattr(self._local, "session", None)
        if open_session is not None:
            if write and not getattr(self._local, "write", False):
                raise RuntimeError("a write transaction cannot be opened inside a read session")
            yield open_session
            return
        session = self._begin(write)
        self._local.session, self._local.write = session, write
        try:
            yield session
            self._commit(session)
        except BaseException:
            self._rollback(session)
            raise
        finally:
            self._local.session = None
            self._release(session)

    @contextmanager
    def checkpoints_in_background(self) -> Iterator[None]:
        """While open, commits on this thread leave the write-ahead log's checkpoints to a background thread
        (SQLite: see :meth:`SQLiteStore.checkpoints_in_background`); a backend with nothing to checkpoint does
        nothing."""
        yield

    def read(self) -> Any:
        """A read-only snapshot (``transaction(write=False)``)."""
        return self.transaction(write=False)

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "session", None) is not None

    @property
    def log_id(self) -> str:
        """A random id given to the database when it was created (a file recreated at the same path is another
        log, with other tree heads)."""
        if self._log_id is None:
            with self.read() as s:
                self._log_id = s.meta("log_id") or ""
        return self._log_id

    @property
    def identity(self) -> str:
        return f"{self.url}#{self.log_id}"

    def cursor_secret(self) -> bytes:
        """The per-database HMAC secret of the read views' cursors."""
        with self.read() as s:
            value = s.meta("cursor_secret")
        if value is None:
            raise UnreadableDatabase(f"{self.url}: the database has no cursor secret")
        return bytes.fromhex(value)

    # ------------------------------------------------------------------------------------- backend hooks

    @abstractmethod
    def _begin(self, write: bool) -> Session: ...

    @abstractmethod
    def _commit(self, session: Session) -> None: ...

    @abstractmethod
    def _rollback(self, session: Session) -> None: ...

    @abstractmethod
    def _release(self, session: Session) -> None: ...

    @abstractmethod
    def migrate(self, *, target: int | None = None) -> list[str]:
        """Apply the pending schema migrations (``store/<backend>/migrations``); returns the files applied."""

    @abstractmethod
    def schema_version(self) -> int:
        """The last migration applied (0 for an empty database)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


ConnectHook = Callable[[Any], None]
