"""The append-only, hash-chained, signed evidence log.

Each tenant has one log: a sequence of records at positions ``seq`` = 0, 1, 2, ... A record is either a
**scorecard** (table ``scorecards``; body = RFC 8785 canonical form of
``{"scorecard": <Scorecard.to_dict()>, "violations": [<TraceViolation>...], "supersedes": <audit hash>|null}``)
or an **event** (table ``events``; body = canonical ``{"event": <kind>, "tenant": <tenant>, ...}``) for
everything else a read reports: ``gap`` (scorecards the inline writer lost), ``tier2_finding``, ``agent``,
``config``, ``rule_pack``, ``api_key.created`` / ``api_key.revoked``. Per record::

    leaf_hash  = SHA-256(0x00 || body)                                   (RFC 6962 leaf)
    audit_hash = SHA-256(prev_audit_hash || leaf_hash || tenant || 0x00 || seq as 8-byte big-endian)

with ``prev_audit_hash`` = 32 zero bytes for seq 0. The leaves form one RFC 6962 Merkle tree per tenant.

**Nothing unsigned, ever.** Every transaction that appends records also writes, before it commits, a signed
checkpoint (C2SP signed note, :mod:`trace_engine.evidence.signing`) of every log it extended, at the log's new
size; checkpoints at multiples of 256 are kept for ever, the others only until the next commit replaces them. A
record beyond a log's latest signed checkpoint can therefore only have been written without the key, and
``trace verify`` reports it as tampering.

**The writer signs only what it wrote.** An :class:`EvidenceLog` keeps each log's tree head (size, chain head,
Merkle frontier) in memory, shared by the instances of one process that trust the same keys. Before it extends a
log it reads the log's tail; if the tail is not the head it knows, it accepts the new records only when they link
to that head and a checkpoint signed by a trusted key (its own, or one given in ``trusted_keys``) covers exactly
them. Otherwise it refuses with :class:`LogIntegrityError`, naming the first record it cannot account for: it will
not put its signature over records it did not write.

**The directory.** Tenant ``""`` (origin ``trace.example/directory``) is a log of ``tenant`` events, one per
tenant, appended in the transaction that creates the tenant's first record. Deleting a tenant's records and
checkpoints therefore leaves a signed directory entry without a log.

Idempotence: a scorecard whose ``(tenant, call_id, config_etag, engine_version, input sha256)`` is already in
the log writes nothing (``input`` is the re-scored transcript's content hash; ``None`` for live calls). A
scorecard for a known call with another config, engine version or transcript content is appended and
*supersedes* the call's latest record (its body names the superseded audit hash); reads show only the latest,
history stays.

**Ready records.** A scorecard's record body does not depend on its position, only on the audit hash it
supersedes, so :func:`ready_record` builds it (canonical bytes, leaf hash, row fields, rollup contribution) away
from the sequencer: re-scoring workers do, and the appending process only checks identity, links the record into
the chain and writes rows. When the ``supersedes`` a record was built for is no longer the call's latest record
(another writer, or a second version of the call earlier in the same run), the sequencer splices the right one into
the bytes and hashes the body again (:meth:`ReadyRecord.relinked`); nothing is canonicalized twice.

Signing key: ``key`` may be a :class:`SigningKey` or a path to a ``trace.key`` file. When it is ``None`` the log
uses ``trace.key`` next to the database, generating ``trace.key`` (0600) and ``trace.pub`` there on first use.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trace_engine.evidence.canonical import canonical_bytes
from trace_engine.evidence.merkle import Frontier, leaf_hash
from trace_engine.evidence.scorecard import Scorecard, violations
from trace_engine.evidence.signing import (
    DIRECTORY,
    TENANT_RE,
    NoteError,
    SigningKey,
    VerifierKey,
    checkpoint_body,
    load_signing_key,
    parse_checkpoint,
    sign_note,
    write_keypair,
)
from trace_engine.store import rollup
from trace_engine.store.db import CHECKPOINT_EVERY, TraceConnection, connect, get_meta

GENESIS = b"\x00" * 32

#: event kinds, and the body field each one is looked up by (``events.ref``)
EVENT_REFS: dict[str, str | None] = {
    "tenant": "name",
    "gap": None,
    "tier2_finding": "interaction_id",
    "agent": "agent_id",
    "config": "agent_id",
    "rule_pack": "pack_id",
    "api_key.created": "key_id",
    "api_key.revoked": "key_id",
    "key.rotated": "new",
}
#: the kinds the directory log holds (and only it)
DIRECTORY_KINDS = frozenset({"tenant", "key.rotated"})


def audit_link(prev: bytes, leaf: bytes, tenant: str, seq: int) -> bytes:
    """``SHA-256(prev || leaf || tenant || 0x00 || seq_be64)``."""
    return hashlib.sha256(prev + leaf + tenant.encode("utf-8") + b"\x00" + seq.to_bytes(8, "big")).digest()


def record_body(sc: Scorecard, supersedes: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A scorecard record's body as an object (its canonical bytes are what :func:`ready_record` writes) and the
    scorecard's violations."""
    d = sc.to_dict()
    v = violations(sc)
    return {"scorecard": d, "violations": v, "supersedes": supersedes}, v


# RFC 8785 orders the body's three members "scorecard" < "supersedes" < "violations" (UTF-16 code units), and a
# canonical object's members are canonical on their own: the body is these bytes around the members' bytes.
_OPEN = b'{"scorecard":'
_SUPERSEDES = b',"supersedes":'
_VIOLATIONS = b',"violations":'


@dataclass(slots=True)
class ReadyRecord:
    """A scorecard record ready to append: everything but its position in the log (see the module docstring).

    ``body`` is the canonical record naming ``supersedes``; ``leaf`` its RFC 6962 leaf hash; ``scorecard_end`` the
    offset where the scorecard's bytes end inside ``body``. The other fields are the rows' columns, the
    ``violations`` (``TraceViolation`` objects), the rollup ``contribution`` and the timeline's length (``turns``).
    Make one with :func:`ready_record`.
    """

    tenant: str
    call_id: str
    agent_id: str | None
    product: str | None
    config_etag: str
    engine_version: str
    input_sha256: str | None
    verdict: str
    scored_at: int
    call_at: int
    findings: int
    blocked_turns: int
    modified_turns: int
    packs_enforced: str
    turns: int
    violations: list[dict[str, Any]]
    contribution: rollup.Contribution
    supersedes: str | None
    body: bytes
    leaf: bytes
    scorecard_end: int
    #: the rollup contribution of the record ``supersedes`` names, when its maker read it (the appender then need
    #: not read that record's body again)
    superseded_contribution: rollup.Contribution | None = None

    @property
    def identity(self) -> tuple[str, str, str | None]:
        """What makes a second record of the call a duplicate: config etag, engine version, input content hash."""
        return (self.config_etag, self.engine_version, self.input_sha256)

    def relinked(self, supersedes: str | None) -> ReadyRecord:
        """The same record superseding ``supersedes`` instead: the bytes spliced, the body hashed again."""
        body = b"".join(
            (
                self.body[: self.scorecard_end],
                _SUPERSEDES,
                canonical_bytes(supersedes),
                self.body[self.body.index(_VIOLATIONS, self.scorecard_end + len(_SUPERSEDES)) :],
            )
        )
        return dataclasses.replace(
            self, supersedes=supersedes, body=body, leaf=leaf_hash(body), superseded_contribution=None
        )


def _call_records(conn: sqlite3.Connection, tenant: str, call_ids: Iterable[str]) -> Iterator[tuple]:
    """``(call_id, config_etag, engine_version, input sha256, audit_hash, seq)`` of every scorecard record of the
    calls, in log order; one query per 500 calls. The content hash is read from the signed body, never from a
    column of its own."""
    ids = list(dict.fromkeys(call_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        yield from conn.execute(
            "SELECT call_id, config_etag, engine_version, json_extract(body, '$.scorecard.input.sha256'), audit_hash, "
            f"seq FROM scorecards WHERE tenant = ? AND call_id IN ({','.join('?' * len(chunk))}) ORDER BY +seq",
            (tenant, *chunk),
        )


def _body_contribution(body: str | bytes | None) -> rollup.Contribution | None:
    """The rollup contribution of a stored record's body (``None`` when it is not a scorecard record)."""
    try:
        return rollup.contribution(json.loads(body)["scorecard"])  # type: ignore[arg-type]
    except (TypeError, ValueError, KeyError):
        return None


def latest_records(
    conn: sqlite3.Connection, tenant: str, call_ids: Iterable[str]
) -> dict[str, tuple[str, rollup.Contribution | None]]:
    """For each call of ``call_ids`` that has a record, its latest record's audit hash (what a :func:`ready_record`
    for the call should supersede) and rollup contribution (what appending that record takes away). A hint, read
    outside any transaction (by any process, so re-scoring workers parse the old bodies, not the appender): the
    sequencer checks it."""
    ids = list(dict.fromkeys(call_ids))
    out: dict[str, tuple[str, rollup.Contribution | None]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        # the latest is the last in log order; only its body is read (no other record's JSON is parsed)
        for call_id, ah, body in conn.execute(
            "SELECT call_id, audit_hash, body FROM scorecards WHERE tenant = ? AND seq IN (SELECT max(seq) FROM "
            f"scorecards WHERE tenant = ? AND call_id IN ({','.join('?' * len(chunk))}) GROUP BY call_id)",
            (tenant, tenant, *chunk),
        ):
            out[call_id] = (ah, _body_contribution(body))
    return out


def check_scorecard(sc: Any) -> Scorecard:
    """``sc`` (a :class:`Scorecard` or its dict form) as a scorecard the log accepts, or ``TypeError``/``ValueError``
    saying why not."""
    sc = Scorecard.from_dict(sc) if isinstance(sc, dict) else sc
    if not isinstance(sc, Scorecard):
        raise TypeError(f"expected a Scorecard, got {type(sc).__name__}")
    if not isinstance(sc.tenant, str) or not TENANT_RE.match(sc.tenant):
        raise ValueError(f"invalid tenant name {sc.tenant!r}")
    if not isinstance(sc.call_id, str) or not sc.call_id:
        raise ValueError("call_id must be a non-empty string")
    if sc.agent_id is not None and not isinstance(sc.agent_id, str):
        raise ValueError(f"agent_id must be a string or null, got {type(sc.agent_id).__name__}")
    for name in ("config_etag", "engine_version"):
        if not isinstance(getattr(sc, name), str):
            raise ValueError(f"{name} must be a string")
    return sc


def ready_record(
    sc: Scorecard | dict[str, Any],
    supersedes: str | None = None,
    superseded_contribution: rollup.Contribution | None = None,
) -> ReadyRecord:
    """The record of scorecard ``sc`` superseding ``supersedes`` (whose rollup contribution, when known, is
    ``superseded_contribution``: see :func:`latest_records`), ready for :meth:`LogTransaction.append_ready`.
    Raises ``TypeError``/``ValueError`` (``rfc8785`` errors included) for a scorecard the log refuses."""
    sc = check_scorecard(sc)
    sdict = sc.to_dict()
    viols = violations(sc)
    scorecard_bytes = canonical_bytes(sdict)
    body = b"".join(
        (_OPEN, scorecard_bytes, _SUPERSEDES, canonical_bytes(supersedes), _VIOLATIONS, canonical_bytes(viols), b"}")
    )
    return ReadyRecord(
        tenant=sc.tenant,
        call_id=sc.call_id,
        agent_id=sc.agent_id,
        product=sc.product,
        config_etag=sc.config_etag,
        engine_version=sc.engine_version,
        input_sha256=sc.input.sha256 if sc.input is not None else None,
        verdict=sc.verdict,
        scored_at=sc.scored_at,
        call_at=rollup.call_at(sdict),
        findings=len(sc.findings),
        blocked_turns=sc.blocked_turns,
        modified_turns=sc.modified_turns,
        packs_enforced=",".join(sc.packs_enforced),
        turns=len(sc.timeline),
        violations=viols,
        contribution=rollup.contribution(sdict),
        supersedes=supersedes,
        body=body,
        leaf=leaf_hash(body),
        scorecard_end=len(_OPEN) + len(scorecard_bytes),
        superseded_contribution=superseded_contribution if supersedes is not None else None,
    )


def event_body(tenant: str, kind: str, payload: dict[str, Any]) -> bytes:
    """The canonical bytes of an event record."""
    if kind not in EVENT_REFS:
        raise ValueError(f"unknown event kind {kind!r}")
    if "event" in payload or "tenant" in payload:
        raise ValueError("event payload must not set 'event' or 'tenant'")
    return canonical_bytes({"event": kind, "tenant": tenant, **payload})


class LogIntegrityError(Exception):
    """The log cannot be extended: a record or checkpoint is not what this writer (or a trusted key) wrote."""

    def __init__(self, tenant: str, seq: int | None, message: str, call_id: str | None = None):
        self.tenant, self.seq, self.message, self.call_id = tenant, seq, message, call_id
        super().__init__(self.render())

    def render(self) -> str:
        where = "the directory" if self.tenant == DIRECTORY else f"tenant {self.tenant}"
        if self.seq is not None:
            where += f" seq {self.seq}"
        if self.call_id:
            where += f" (call {self.call_id})"
        return f"{where}: {self.message}; refusing to sign it (run `trace verify`)"


@dataclass(slots=True)
class AppendResult:
    """What happened to one scorecard: ``appended`` (maybe superseding another record), ``duplicate``, ``invalid``."""

    status: str
    tenant: str
    call_id: str
    seq: int | None = None
    audit_hash: str | None = None
    supersedes: str | None = None
    error: str | None = None


@dataclass(slots=True)
class ChainState:
    """A log's tree head as this process knows it: everything up to ``size`` is accounted for."""

    size: int = 0
    head: bytes = GENESIS
    frontier: Frontier = field(default_factory=Frontier)
    #: the directory only: the tenants it lists
    names: set[str] = field(default_factory=set)

    def copy(self) -> ChainState:
        return ChainState(self.size, self.head, self.frontier.copy(), set(self.names))


# tree heads shared by the EvidenceLog instances of this process: (db realpath#log_id, trusted keys, tenant) -> state
_HEADS: dict[tuple[str, frozenset[str], str], ChainState] = {}
_HEADS_LOCK = threading.Lock()


def default_key_path(db_path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(str(db_path))).parent / "trace.key"


def resolve_signing_key(key: SigningKey | str | os.PathLike[str] | None, db_path: str | os.PathLike[str]) -> SigningKey:
    """The log's key: given, loaded from a path, or ``trace.key`` beside the DB (generated on first use)."""
    if isinstance(key, SigningKey):
        return key
    if key is not None:
        return load_signing_key(key)
    if str(db_path) == ":memory:":
        return SigningKey.generate()
    path = default_key_path(db_path)
    if not path.exists():
        try:
            write_keypair(path.parent)
        except FileExistsError:  # another process won the race, or only trace.pub exists
            if not path.exists():
                raise
    return load_signing_key(path)


def _db_file(conn: sqlite3.Connection) -> str:
    for _i, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return file or ":memory:"
    return ":memory:"


class EvidenceLog:
    """Appends records to the log. One instance per thread; several processes may share a DB file.

    ``trusted_keys``: verifier keys besides this log's own whose checkpoints it accepts when it finds records it
    did not write (another writer's, or those signed before a key rotation).
    """

    def __init__(
        self,
        db_path: str | os.PathLike[str] = "trace.db",
        key: SigningKey | str | os.PathLike[str] | None = None,
        *,
        trusted_keys: Sequence[VerifierKey] = (),
        checkpoint_every: int = CHECKPOINT_EVERY,
        connect_hook: Callable[[sqlite3.Connection], None] | None = None,
        clock: Callable[[], float] = time.time,
        conn: sqlite3.Connection | None = None,
    ):
        if checkpoint_every <= 0 or CHECKPOINT_EVERY % checkpoint_every:
            raise ValueError(f"checkpoint_every must divide {CHECKPOINT_EVERY}")
        self._own_conn = conn is None
        self.conn = connect(str(db_path)) if conn is None else conn
        self.db_path = str(db_path) if conn is None else _db_file(conn)
        self._key_arg = key
        self._key: SigningKey | None = None
        self._extra_trust = tuple(trusted_keys)
        self.checkpoint_every = checkpoint_every
        self._clock = clock
        if connect_hook is not None:
            connect_hook(self.conn)
        if isinstance(self.conn, TraceConnection) and self.conn.evidence_log is None:
            self.conn.evidence_log = self
        real = os.path.realpath(self.db_path) if self.db_path != ":memory:" else f":memory:{id(self)}"
        self._cache_prefix = f"{real}#{get_meta(self.conn, 'log_id')}"
        self._tx: LogTransaction | None = None
        #: ready records relinked by this log's committed transactions (see :meth:`LogTransaction.append_ready`)
        self.relinked = 0

    # ------------------------------------------------------------------------------------------- keys

    @property
    def key(self) -> SigningKey:
        if self._key is None:
            self._key = resolve_signing_key(self._key_arg, self.db_path)
        return self._key

    @property
    def trusted(self) -> tuple[VerifierKey, ...]:
        """The keys whose checkpoints this log accepts: its own first."""
        return (self.key.verifier, *self._extra_trust)

    def _cache_key(self, tenant: str) -> tuple[str, frozenset[str], str]:
        return (self._cache_prefix, frozenset(k.encode() for k in self.trusted), tenant)

    # ------------------------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[LogTransaction]:
        """``BEGIN IMMEDIATE`` … append records, write other rows … sign every extended log … ``COMMIT``.

        The caller may write its own rows on ``self.conn`` inside the block (the service tables do); they commit
        or roll back with the records.
        """
        if self._tx is not None:
            raise RuntimeError("an evidence transaction is already open on this connection")
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        tx = LogTransaction(self)
        self._tx = tx
        try:
            yield tx
            tx._finish()
            conn.execute("COMMIT")
            self.relinked += tx.relinked
        except BaseException:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise
        finally:
            self._tx = None
        with _HEADS_LOCK:
            for t, st in tx.work.items():
                _HEADS[self._cache_key(t)] = st

    @property
    def current(self) -> LogTransaction | None:
        """The open transaction, if any (``chain_event`` appends to it)."""
        return self._tx

    # ------------------------------------------------------------------------------------------ tails

    def _tail(self, tenant: str) -> tuple[int, str | None]:
        """The log's size and last audit hash as stored (both tables)."""
        best: tuple[int, str | None] = (-1, None)
        for table in ("scorecards", "events"):
            row = self.conn.execute(
                f"SELECT seq, audit_hash FROM {table} WHERE tenant = ? ORDER BY seq DESC LIMIT 1", (tenant,)
            ).fetchone()
            if row is not None and isinstance(row[0], int) and row[0] > best[0]:
                best = (row[0], row[1])
        return best[0] + 1, best[1]

    def _rows_from(self, tenant: str, start: int) -> Iterator[tuple]:
        """``(seq, leaf_hash, prev_hash, audit_hash, kind, body)`` from ``start`` on, in position order.
        Scorecard bodies are not read (``kind`` is ``None``); event bodies are read only for the directory."""
        sc = self.conn.execute(
            "SELECT seq, leaf_hash, prev_hash, audit_hash, NULL, NULL FROM scorecards WHERE tenant = ? AND seq >= ? "
            "ORDER BY seq",
            (tenant, start),
        )
        body = "body" if tenant == DIRECTORY else "NULL"
        ev = self.conn.execute(
            f"SELECT seq, leaf_hash, prev_hash, audit_hash, kind, {body} FROM events WHERE tenant = ? AND seq >= ? "
            "ORDER BY seq",
            (tenant, start),
        )
        return heapq.merge(sc, ev, key=lambda r: r[0] if isinstance(r[0], int) else -1)

    def _call_at_seq(self, tenant: str, seq: int) -> str | None:
        row = self.conn.execute("SELECT call_id FROM scorecards WHERE tenant = ? AND seq = ?", (tenant, seq)).fetchone()
        return row[0] if row else None

    def _account(self, tenant: str) -> ChainState:
        """The tenant's tree head, after accounting for any records this process did not write (call inside a
        transaction). Raises :class:`LogIntegrityError` when they are not covered by a trusted signature."""
        size, head_hex = self._tail(tenant)
        with _HEADS_LOCK:
            cached = _HEADS.get(self._cache_key(tenant))
            cached = cached.copy() if cached is not None else None
        if cached is not None and cached.size == size and (size == 0 or cached.head.hex() == head_hex):
            return cached
        if cached is not None and cached.size > size:
            raise LogIntegrityError(
                tenant, size, f"the log shrank from {cached.size} to {size} records since this writer last saw it"
            )
        st = cached if cached is not None else ChainState()
        known = st.size
        if known:
            row = self._row_at(tenant, known - 1)
            if row is None or row != st.head.hex():
                raise LogIntegrityError(
                    tenant, known - 1, "the record was rewritten after it was signed", self._call_at_seq(tenant, known - 1)
                )
        expected = known
        for seq, leaf_hex, prev_hex, audit_hex, _kind, body in self._rows_from(tenant, known):
            if seq != expected:
                what = "two records at this position" if isinstance(seq, int) and seq < expected else "a record is missing here"
                raise LogIntegrityError(tenant, expected, what)
            try:
                leaf = bytes.fromhex(leaf_hex)
            except (TypeError, ValueError):
                raise LogIntegrityError(tenant, seq, "the record's leaf hash is not a hash") from None
            link = audit_link(st.head, leaf, tenant, seq)
            if prev_hex != st.head.hex() or audit_hex != link.hex():
                raise LogIntegrityError(
                    tenant, seq, "the record does not link to the chain", self._call_at_seq(tenant, seq)
                )
            if tenant == DIRECTORY:
                try:
                    doc = json.loads(body)
                    if doc["event"] == "tenant":
                        st.names.add(doc["name"])
                except (TypeError, ValueError, KeyError):
                    raise LogIntegrityError(tenant, seq, "directory record is not a directory entry") from None
            st.frontier.append(leaf)
            st.head = link
            st.size = seq + 1
            expected = seq + 1
        if st.size > known:
            self._require_checkpoint(tenant, st, known)
        return st

    def _row_at(self, tenant: str, seq: int) -> str | None:
        for table in ("scorecards", "events"):
            row = self.conn.execute(f"SELECT audit_hash FROM {table} WHERE tenant = ? AND seq = ?", (tenant, seq)).fetchone()
            if row is not None:
                return row[0]
        return None

    def _require_checkpoint(self, tenant: str, st: ChainState, known: int) -> None:
        """Records ``known..st.size-1`` are accounted for only if a trusted checkpoint at ``st.size`` signs them."""
        root = st.frontier.root()
        for (note,) in self.conn.execute(
            "SELECT note FROM checkpoints WHERE tenant = ? AND size = ?", (tenant, st.size)
        ).fetchall():
            try:
                ck = parse_checkpoint(note)
            except NoteError:
                continue
            key, _problem = ck.verify_any(self.trusted)
            if key is not None and ck.tenant == tenant and ck.root == root:
                return
        # name the first record no trusted signature covers
        covered = 0
        for size, note in self.conn.execute(
            "SELECT size, note FROM checkpoints WHERE tenant = ? AND size <= ? ORDER BY size DESC", (tenant, st.size)
        ).fetchall():
            try:
                ck = parse_checkpoint(note)
            except NoteError:
                continue
            if ck.tenant == tenant and ck.size == size and ck.verify_any(self.trusted)[0] is not None:
                covered = size
                break
        if covered >= st.size:
            raise LogIntegrityError(
                tenant, st.size - 1, f"the signed checkpoint at size {st.size} does not match the records: the log "
                "was rewritten", self._call_at_seq(tenant, st.size - 1)
            )
        first = max(covered, known)
        raise LogIntegrityError(
            tenant,
            first,
            f"records {first}..{st.size - 1} are not covered by a checkpoint signed by a trusted key (the latest "
            f"such checkpoint has size {covered}): they were written without the signing key",
            self._call_at_seq(tenant, first),
        )

    def size(self, tenant: str) -> int:
        return self._tail(tenant)[0]

    def latest_records(self, tenant: str, call_ids: Iterable[str]) -> dict[str, tuple[str, rollup.Contribution | None]]:
        """See :func:`latest_records`."""
        return latest_records(self.conn, tenant, call_ids)

    def head(self, tenant: str) -> ChainState:
        """The tenant's accounted tree head (reads the tail; raises :class:`LogIntegrityError` if tampered)."""
        self.conn.execute("BEGIN")
        try:
            return self._account(tenant)
        finally:
            self.conn.execute("COMMIT")

    # ------------------------------------------------------------------------------------------ append

    def append(self, scorecard: Scorecard | dict[str, Any]) -> AppendResult:
        """Append one scorecard (its own transaction). Raises on invalid input or a database error."""
        return self.append_many([scorecard])[0]

    def append_many(
        self,
        scorecards: Iterable[Scorecard | ReadyRecord | dict[str, Any]],
        *,
        batch_size: int = 2000,
        skip_invalid: bool = False,
        gaps: list[tuple[str, int, str]] | None = None,
        findings: list[tuple[str, dict[str, Any]]] | None = None,
    ) -> list[AppendResult]:
        """Append scorecards (or :class:`ReadyRecord` s) in batches, one transaction (and one signed checkpoint per
        log) per batch.

        ``gaps`` ``(tenant, lost, reason)`` are written in the first batch's transaction, before its scorecards;
        Tier-2 ``findings`` ``(tenant, finding)`` in the last one, after them. With ``skip_invalid`` a scorecard
        that cannot be serialized is reported as ``invalid`` instead of raising."""
        results: list[AppendResult] = []
        batch: list[Scorecard | ReadyRecord | dict[str, Any]] = []
        pending_gaps = list(gaps or [])
        for sc in scorecards:
            batch.append(sc)
            if len(batch) >= batch_size:
                results.extend(self._append_batch(batch, skip_invalid, pending_gaps, []))
                pending_gaps = []
                batch = []
        if batch or pending_gaps or findings:
            results.extend(self._append_batch(batch, skip_invalid, pending_gaps, list(findings or [])))
        return results

    @staticmethod
    def _prepare(item: Scorecard | ReadyRecord | dict[str, Any]) -> Scorecard | ReadyRecord:
        return item if isinstance(item, ReadyRecord) else check_scorecard(item)

    def _append_batch(
        self,
        items: list[Scorecard | ReadyRecord | dict[str, Any]],
        skip_invalid: bool,
        gaps: list[tuple[str, int, str]],
        findings: list[tuple[str, dict[str, Any]]],
    ) -> list[AppendResult]:
        results: list[AppendResult | None] = [None] * len(items)
        prepared: list[tuple[int, Scorecard | ReadyRecord]] = []
        for i, item in enumerate(items):
            try:
                prepared.append((i, self._prepare(item)))
            except Exception as exc:
                if not skip_invalid:
                    raise
                results[i] = AppendResult(
                    "invalid", str(getattr(item, "tenant", None) or (item.get("tenant") if isinstance(item, dict) else "")),
                    str(getattr(item, "call_id", None) or (item.get("call_id") if isinstance(item, dict) else "")),
                    error=str(exc),
                )
        if not prepared and not gaps and not findings:
            return [r for r in results if r is not None]
        now_ms = int(self._clock() * 1000)
        with self.transaction() as tx:
            for t, lost, reason in gaps:
                tx.add_gap(t, lost, reason, now_ms)
            calls_by_tenant: dict[str, list[str]] = {}
            for _, sc in prepared:  # validated: tenant and call id are strings
                calls_by_tenant.setdefault(sc.tenant, []).append(sc.call_id)
            for t, call_ids in calls_by_tenant.items():
                tx.prefetch_calls(t, call_ids)
            for i, sc in prepared:
                try:
                    results[i] = tx.append_ready(sc) if isinstance(sc, ReadyRecord) else tx.append_scorecard(sc)
                except (ValueError, TypeError) as exc:
                    if not skip_invalid:
                        raise
                    results[i] = AppendResult("invalid", sc.tenant, sc.call_id, error=str(exc))
            for t, f in findings:
                tx.add_tier2_finding(t, f, now_ms)
        return [r for r in results if r is not None]

    def add_gap(self, tenant: str, lost: int, reason: str) -> None:
        """Record that ``lost`` scorecards were lost (a signed ``gap`` event)."""
        self.append_many([], gaps=[(tenant, lost, reason)])

    def add_tier2_finding(self, tenant: str, finding: dict[str, Any]) -> None:
        """Attach a Tier-2 finding to a call: a signed ``tier2_finding`` event (never changes a scorecard)."""
        self.add_tier2_findings(tenant, [finding])

    def add_tier2_findings(self, tenant: str, findings: Iterable[dict[str, Any]]) -> int:
        """Append Tier-2 findings in one transaction; a finding whose id is already stored is skipped."""
        n = 0
        with self.transaction() as tx:
            for f in findings:
                n += tx.add_tier2_finding(tenant, f)
        return n

    def rotate(self, new_key: SigningKey) -> dict[str, int]:
        """Hand the logs over to ``new_key``: record a ``key.rotated`` entry in the directory, then co-sign every
        log's checkpoint at its current size with this log's key and the new one. Writers holding only the new key
        then accept the logs (their latest checkpoint carries its signature); verifiers trust both keys. Returns
        the size co-signed per log."""
        old = self.key
        signed: dict[str, int] = {}
        with self.transaction() as tx:
            tx.append_event(DIRECTORY, "key.rotated", {"old": old.verifier.encode(), "new": new_key.verifier.encode(),
                                                       "at": int(self._clock() * 1000)})
            for t in [DIRECTORY, *sorted(tx.state(DIRECTORY).names)]:
                st = tx.state(t)
                if st.size:
                    tx.cosign(t, new_key)
                    signed[t] = st.size
        return signed

    def latest_checkpoint(self, tenant: str) -> str | None:
        row = self.conn.execute(
            "SELECT note FROM checkpoints WHERE tenant = ? ORDER BY size DESC, rowid DESC LIMIT 1", (tenant,)
        ).fetchone()
        return row[0] if row else None

    def checkpoint(self, tenant: str) -> str | None:
        """The latest signed checkpoint of the tenant's log, after checking it covers the whole log (every
        commit writes one, so there is never anything left to sign). Raises :class:`LogIntegrityError`."""
        self.head(tenant)
        return self.latest_checkpoint(tenant)

    def close(self) -> None:
        """Close the connection (every commit is already signed: there is no final checkpoint to write)."""
        if self._own_conn:
            self.conn.close()

    def __enter__(self) -> EvidenceLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LogTransaction:
    """Records appended inside one :meth:`EvidenceLog.transaction`."""

    def __init__(self, log: EvidenceLog):
        self.log = log
        self.conn = log.conn
        self.work: dict[str, ChainState] = {}
        self._start: dict[str, int] = {}
        self._ck_rows: list[tuple] = []
        self._rollup = rollup.RollupDelta()
        self._rolled: set[str] = set()
        # (tenant, call_id) -> (identities known: config etag, engine version, input sha256; latest audit hash, seq)
        self._known: dict[tuple[str, str], tuple[set[tuple[str, str, str | None]], str | None, int | None]] = {}
        # audit hash -> rollup contribution, for records appended in this transaction
        self._contrib: dict[str, rollup.Contribution] = {}
        # scorecard, violation and agent rows, inserted in bulk before anything reads those tables
        self._sc_rows: list[tuple] = []
        self._v_rows: list[tuple] = []
        self._agent_rows: list[tuple] = []
        #: ready records whose ``supersedes`` was stale, so their body was spliced and hashed again here
        self.relinked = 0

    def _flush_rows(self) -> None:
        if self._sc_rows:
            self.conn.executemany(
                "INSERT INTO scorecards(tenant, seq, call_id, agent_id, product, config_etag, engine_version, verdict, "
                "scored_at, call_at, findings, blocked_turns, modified_turns, packs_enforced, body, leaf_hash, "
                "prev_hash, audit_hash, supersedes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                self._sc_rows,
            )
            self._sc_rows = []
        if self._v_rows:
            self.conn.executemany(
                "INSERT INTO violations(tenant, seq, idx, id, audit_hash, interaction_id, agent_id, rule_id, "
                "pack_id, severity, action_taken, citation, reason, at_t, scored_at, call_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                self._v_rows,
            )
            self._v_rows = []
        if self._agent_rows:
            self.conn.executemany(
                "INSERT OR IGNORE INTO agents(tenant, agent_id, first_seen, seq) VALUES (?,?,?,?)", self._agent_rows
            )
            self._agent_rows = []

    def state(self, tenant: str) -> ChainState:
        st = self.work.get(tenant)
        if st is None:
            st = self.log._account(tenant)
            self.work[tenant] = st
            self._start[tenant] = st.size
        return st

    def _position(self, tenant: str) -> ChainState:
        st = self.state(tenant)
        if st.size == 0 and tenant != DIRECTORY:
            directory = self.state(DIRECTORY)
            if tenant in directory.names:
                raise LogIntegrityError(
                    tenant, 0, "the tenant is listed in the signed directory but its log is empty: it was deleted"
                )
            self.append_event(DIRECTORY, "tenant", {"name": tenant})
            directory.names.add(tenant)
        return st

    def _advance(self, tenant: str, st: ChainState, leaf: bytes, link: bytes) -> None:
        st.frontier.append(leaf)
        st.size += 1
        st.head = link
        if self.log.checkpoint_every and st.size % self.log.checkpoint_every == 0:
            self._ck_rows.append(self._checkpoint_row(tenant, st))

    def append_event(self, tenant: str, kind: str, payload: dict[str, Any]) -> tuple[int, str]:
        """Append one event record; returns its ``(seq, audit_hash)``."""
        if tenant != DIRECTORY and not (isinstance(tenant, str) and TENANT_RE.match(tenant)):
            raise ValueError(f"invalid tenant name {tenant!r}")
        body = event_body(tenant, kind, payload)
        st = self._position(tenant)
        seq = st.size
        lh = leaf_hash(body)
        link = audit_link(st.head, lh, tenant, seq)
        ref_field = EVENT_REFS[kind]
        ref = payload.get(ref_field) if ref_field else None
        self.conn.execute(
            "INSERT INTO events(tenant, seq, kind, ref, body, leaf_hash, prev_hash, audit_hash) VALUES (?,?,?,?,?,?,?,?)",
            (tenant, seq, kind, None if ref is None else str(ref), body.decode("utf-8"), lh.hex(), st.head.hex(), link.hex()),
        )
        self._advance(tenant, st, lh, link)
        return seq, link.hex()

    def add_gap(self, tenant: str, lost: int, reason: str, at: int | None = None) -> int:
        at = int(time.time() * 1000) if at is None else at
        seq, _ = self.append_event(tenant, "gap", {"lost": int(lost), "reason": str(reason), "at": at})
        self.conn.execute(
            "INSERT INTO gaps(tenant, lost, reason, at, seq) VALUES (?,?,?,?,?)", (tenant, int(lost), str(reason), at, seq)
        )
        return seq

    def add_tier2_finding(self, tenant: str, finding: dict[str, Any], at: int | None = None) -> int:
        """Append one finding (``TraceFinding`` shape); 0 when its id is already stored, else 1."""
        call_id = finding.get("interaction_id")
        if not isinstance(call_id, str) or not call_id:
            raise ValueError("tier-2 finding needs interaction_id")
        body = dict(finding)
        body.setdefault("object", "trace.finding")
        body.setdefault("tier", 2)
        fid = body.get("id") or "tfind_" + hashlib.sha256(canonical_bytes(body)).hexdigest()[:24]
        body["id"] = fid
        self._flush_rows()
        if self.conn.execute("SELECT 1 FROM tier2_findings WHERE tenant = ? AND id = ?", (tenant, fid)).fetchone():
            return 0
        known = self._known.get((tenant, call_id))
        if known is not None:
            audit = known[1]
        else:
            row = self.conn.execute(
                "SELECT audit_hash FROM scorecards WHERE tenant = ? AND call_id = ? ORDER BY +seq DESC LIMIT 1",
                (tenant, call_id),
            ).fetchone()
            audit = row[0] if row else None
        at = int(time.time() * 1000) if at is None else at
        text = canonical_bytes(body).decode("utf-8")
        seq, _ = self.append_event(
            tenant, "tier2_finding", {"interaction_id": call_id, "audit_hash": audit, "finding": body, "at": at}
        )
        self.conn.execute(
            "INSERT INTO tier2_findings(tenant, id, interaction_id, audit_hash, body, created_at, seq) "
            "VALUES (?,?,?,?,?,?,?)",
            (tenant, fid, call_id, audit, text, at, seq),
        )
        return 1

    def claim_agent(self, tenant: str, agent_id: str, at: int | None = None) -> int | None:
        """Record ``agent_id`` as the tenant's (an ``agent`` event) unless the tenant already has it."""
        self._flush_rows()
        if self.conn.execute(
            "SELECT 1 FROM agents WHERE tenant = ? AND agent_id = ?", (tenant, agent_id)
        ).fetchone():
            return None
        at = int(time.time() * 1000) if at is None else at
        seq, _ = self.append_event(tenant, "agent", {"agent_id": agent_id, "at": at})
        self.conn.execute(
            "INSERT INTO agents(tenant, agent_id, first_seen, seq) VALUES (?,?,?,?)", (tenant, agent_id, at, seq)
        )
        return seq

    def _lookup_call(self, t: str, call_id: str) -> tuple[set[tuple[str, str, str | None]], str | None, int | None]:
        kc = (t, call_id)
        if kc not in self._known:
            self.prefetch_calls(t, (call_id,))
        return self._known[kc]

    def prefetch_calls(self, t: str, call_ids: Iterable[str]) -> None:
        """Read what the log holds for each of ``call_ids`` (identities, latest audit hash and position) in one
        query per 500 calls, for the appends that follow. Calls already known to this transaction (its own
        appends among them) are not read again."""
        wanted = [c for c in dict.fromkeys(call_ids) if (t, c) not in self._known]
        found: dict[str, tuple[set[tuple[str, str, str | None]], str | None, int | None]] = {
            c: (set(), None, None) for c in wanted
        }
        for call_id, etag, ev, input_sha, ah, seq in _call_records(self.conn, t, wanted):
            ids = found[call_id][0]
            ids.add((etag, ev, input_sha))
            found[call_id] = (ids, ah, seq)
        for call_id, known in found.items():
            self._known[(t, call_id)] = known

    def _old_contribution(self, t: str, audit: str, seq: int | None) -> rollup.Contribution | None:
        c = self._contrib.get(audit)
        if c is not None or seq is None:
            return c
        row = self.conn.execute("SELECT body FROM scorecards WHERE tenant = ? AND seq = ?", (t, seq)).fetchone()
        return _body_contribution(row[0] if row else None)

    def append_scorecard(self, sc: Scorecard) -> AppendResult:
        """Append one scorecard (``duplicate`` when its identity is in the log already)."""
        ids, latest, _ = self._lookup_call(sc.tenant, sc.call_id)
        if (sc.config_etag, sc.engine_version, sc.input.sha256 if sc.input is not None else None) in ids:
            return AppendResult("duplicate", sc.tenant, sc.call_id, audit_hash=latest)
        return self.append_ready(ready_record(sc, latest))

    def append_ready(self, rec: ReadyRecord) -> AppendResult:
        """Append one ready record: ``duplicate`` when its identity is in the log already; relinked (and counted in
        ``relinked``) when the call's latest record is not the one it was built to supersede."""
        t = rec.tenant
        ids, latest, latest_seq = self._lookup_call(t, rec.call_id)
        identity = rec.identity
        if identity in ids:
            return AppendResult("duplicate", t, rec.call_id, audit_hash=latest)
        if rec.supersedes != latest:
            rec = rec.relinked(latest)
            self.relinked += 1
        st = self._position(t)
        seq = st.size
        link = audit_link(st.head, rec.leaf, t, seq)
        ah_hex = link.hex()
        self._sc_rows.append(
            (
                t, seq, rec.call_id, rec.agent_id, rec.product, rec.config_etag, rec.engine_version, rec.verdict,
                rec.scored_at, rec.call_at, rec.findings, rec.blocked_turns, rec.modified_turns, rec.packs_enforced,
                rec.body.decode("utf-8"), rec.leaf.hex(), st.head.hex(), ah_hex, latest,
            )
        )
        self._v_rows.extend(
            (
                t, seq, j, v["id"], ah_hex, rec.call_id, rec.agent_id, v["rule_id"], v["pack_id"],
                v["severity"], v["action_taken"], v["citation"], v["reason"], v["at_t"], rec.scored_at, rec.call_at,
            )
            for j, v in enumerate(rec.violations)
        )
        if rec.agent_id is not None:
            self._agent_rows.append((t, rec.agent_id, rec.scored_at, seq))
        # the exposure rollup, from the scorecard itself
        if latest is not None:
            old = rec.superseded_contribution  # read by the record's maker for ``latest`` (a relinked record has none)
            if old is None:
                old = self._old_contribution(t, latest, latest_seq)
            if old is not None:
                self._rollup.add(t, old, -1)
        self._rollup.add(t, rec.contribution, 1)
        self._contrib[ah_hex] = rec.contribution
        self._rolled.add(t)
        self._advance(t, st, rec.leaf, link)
        ids.add(identity)
        self._known[(t, rec.call_id)] = (ids, ah_hex, seq)
        return AppendResult("appended", t, rec.call_id, seq, ah_hex, latest)

    # -------------------------------------------------------------------------------------- checkpoints

    def _checkpoint_row(self, tenant: str, st: ChainState) -> tuple:
        key = self.log.key
        note, sig = sign_note(checkpoint_body(tenant, st.size, st.frontier.root()), key)
        created = int(self.log._clock() * 1000)
        return (tenant, st.size, st.frontier.root().hex(), note, sig, key.verifier.key_id.hex(), created)

    def cosign(self, tenant: str, other: SigningKey) -> None:
        """Sign the tenant's log at its current size with this log's key and ``other`` (a key rotation)."""
        st = self.state(tenant)
        key = self.log.key
        # the co-signed note replaces a head at that size (a kept multiple of 256 stays as it is)
        self.conn.execute(
            "DELETE FROM checkpoints WHERE tenant = ? AND size = ? AND size % ? != 0", (tenant, st.size, CHECKPOINT_EVERY)
        )
        note, sig = sign_note(checkpoint_body(tenant, st.size, st.frontier.root()), key, other)
        created = int(self.log._clock() * 1000)
        self._ck_rows.append((tenant, st.size, st.frontier.root().hex(), note, sig, key.verifier.key_id.hex(), created))

    def _finish(self) -> None:
        """Sign every log this transaction extended at its new size; drop the heads that replaces."""
        self._flush_rows()
        for t, st in self.work.items():
            start = self._start[t]
            if st.size == start:
                continue
            if not any(r[0] == t and r[1] == st.size for r in self._ck_rows):
                self._ck_rows.append(self._checkpoint_row(t, st))
            self.conn.execute(
                "DELETE FROM checkpoints WHERE tenant = ? AND size < ? AND size % ? != 0",
                (t, st.size, CHECKPOINT_EVERY),
            )
        if self._ck_rows:
            self.conn.executemany(
                "INSERT INTO checkpoints(tenant, size, root, note, signature, key_id, created_at) VALUES (?,?,?,?,?,?,?)",
                self._ck_rows,
            )
        if self._rolled:
            self._rollup.flush(self.conn, [(t, self.work[t].size) for t in sorted(self._rolled)])


def log_for(conn: sqlite3.Connection, key: SigningKey | str | os.PathLike[str] | None = None) -> EvidenceLog:
    """The evidence log bound to ``conn`` (created on first use; the key defaults to ``trace.key`` beside the DB,
    or the key registered with :func:`use_key` for that file)."""
    existing = getattr(conn, "evidence_log", None)
    if isinstance(existing, EvidenceLog):
        return existing
    if key is None:
        key = _REGISTERED_KEYS.get(os.path.realpath(_db_file(conn)))
    log = EvidenceLog(key=key, conn=conn)
    if isinstance(conn, TraceConnection):
        conn.evidence_log = log
    return log


_REGISTERED_KEYS: dict[str, SigningKey | str | os.PathLike[str]] = {}


def use_key(db_path: str | os.PathLike[str], key: SigningKey | str | os.PathLike[str]) -> None:
    """Sign records appended through :func:`log_for` connections to ``db_path`` with ``key`` (the service's key)."""
    _REGISTERED_KEYS[os.path.realpath(str(db_path))] = key


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[LogTransaction]:
    """An evidence transaction on ``conn`` (see :meth:`EvidenceLog.transaction`)."""
    with log_for(conn).transaction() as tx:
        yield tx


def chain_event(conn: sqlite3.Connection, tenant: str, kind: str, payload: dict[str, Any]) -> tuple[int, str]:
    """Append an event to the transaction open on ``conn`` (opened with :func:`transaction`)."""
    tx = log_for(conn).current
    if tx is None:
        raise RuntimeError("chain_event needs an open evidence transaction (store.log.transaction(conn))")
    return tx.append_event(tenant, kind, payload)


def log_pubkey(conn: sqlite3.Connection) -> str | None:
    return get_meta(conn, "log_pubkey")
