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

**One sequencer per tenant.** A transaction that extends a log first locks it in the database
(:meth:`~trace_engine.store.interfaces.LogStore.lock_logs`: SQLite's write lock; a per-tenant advisory lock on
PostgreSQL), then reads its tail, appends and signs. Writers in many processes on many hosts therefore extend one
chain without forking it, each accounting for the others' records through their signed checkpoints.

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
uses ``trace.key`` next to the database (a SQLite file; ``TRACE_KEY_DIR`` for a server database), generating
``trace.key`` (0600) and ``trace.pub`` there on first use.

Storage: the rows are written and read through a :class:`~trace_engine.store.interfaces.Session`; everything here
(hashes, links, signatures, accounting) is the same on every backend.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
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
from trace_engine.store.interfaces import Session, Store
from trace_engine.store.sql import CHECKPOINT_EVERY

GENESIS = b"\x00" * 32
#: how many of the scorecard records it committed last an :class:`EvidenceLog` remembers the rollup contribution of
REMEMBERED = 1 << 16

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

    def __reduce__(self) -> tuple[Any, tuple]:
        # re-scoring workers send ready records to the appending process pickled: positional arguments cost a
        # third of a slots dataclass's generic ``__getstate__``/``__setstate__`` on both sides
        return (ReadyRecord, ready_fields(self))

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
        # the fields in order, the last five replaced (dataclasses.replace costs as much as the splice and the hash)
        return ReadyRecord(*ready_fields(self)[:-5], supersedes, body, leaf_hash(body), self.scorecard_end, None)


#: a :class:`ReadyRecord`'s fields as a tuple, in the order its constructor takes them
ready_fields = operator.attrgetter(*(f.name for f in dataclasses.fields(ReadyRecord)))
assert [f.name for f in dataclasses.fields(ReadyRecord)][-5:] == [
    "supersedes", "body", "leaf", "scorecard_end", "superseded_contribution"
], "ReadyRecord.relinked replaces the last five fields by position"


def _body_contribution(body: str | bytes | None) -> rollup.Contribution | None:
    """The rollup contribution of a stored record's body (``None`` when it is not a scorecard record)."""
    try:
        return rollup.contribution(json.loads(body)["scorecard"])  # type: ignore[arg-type]
    except (TypeError, ValueError, KeyError):
        return None


def latest_records(
    store: Store, tenant: str, call_ids: Iterable[str]
) -> dict[str, tuple[str, rollup.Contribution | None]]:
    """For each call of ``call_ids`` that has a record, its latest record's audit hash (what a :func:`ready_record`
    for the call should supersede) and rollup contribution (what appending that record takes away). A hint, read
    in its own snapshot (by any process, so re-scoring workers parse the old bodies, not the appender): the
    sequencer checks it."""
    ids = list(dict.fromkeys(call_ids))
    if not ids:
        return {}
    with store.read() as s:
        latest = s.latest_bodies(tenant, ids)  # only the latest record's body is read (no other record's JSON)
    return {call_id: (ah, _body_contribution(body)) for call_id, (ah, body) in latest.items()}


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
    _no_nul("a scorecard's ids", sc.call_id, sc.agent_id, sc.product, sc.config_etag, sc.engine_version,
            *sc.packs_enforced)
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
    for v in viols:
        _no_nul("a violation's fields", *(x for x in v.values() if isinstance(x, str)))
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


def key_dir_of(db: str | os.PathLike[str] | Store) -> Path | None:
    """Where ``trace.key`` / ``trace.pub`` live when no key is given: beside a SQLite file; ``TRACE_KEY_DIR`` for a
    server database (``None`` when unset)."""
    if isinstance(db, Store):
        return db.key_dir
    text = os.fspath(db)
    if text.startswith(("postgresql://", "postgres://")):
        env = os.environ.get("TRACE_KEY_DIR")
        return Path(env) if env else None
    if text == ":memory:":
        return None
    return Path(os.path.abspath(text.removeprefix("sqlite://"))).parent


def default_key_path(db: str | os.PathLike[str] | Store) -> Path:
    folder = key_dir_of(db)
    if folder is None:
        raise ValueError("a server database has no key beside it: pass --key (or set TRACE_KEY_DIR)")
    return folder / "trace.key"


def resolve_signing_key(
    key: SigningKey | str | os.PathLike[str] | None, db: str | os.PathLike[str] | Store
) -> SigningKey:
    """The log's key: given, loaded from a path, or ``trace.key`` beside the DB (generated on first use)."""
    if isinstance(key, SigningKey):
        return key
    if key is not None:
        return load_signing_key(key)
    if isinstance(db, Store) and db.url == ":memory:" or str(db) == ":memory:":
        return SigningKey.generate()
    path = default_key_path(db)
    if not path.exists():
        try:
            write_keypair(path.parent)
        except FileExistsError:  # another process won the race, or only trace.pub exists
            if not path.exists():
                raise
    return load_signing_key(path)


def _no_nul(what: str, *values: Any) -> None:
    """Text the log stores in columns must not hold NUL (PostgreSQL text cannot; the same log moves between
    backends). Bodies are canonical JSON, where it is escaped."""
    for v in values:
        if isinstance(v, str) and "\x00" in v:
            raise ValueError(f"{what} must not contain a NUL character")


class EvidenceLog:
    """Appends records to the logs of one store. Thread-safe (each thread has its own transaction); several
    processes, on several hosts for a server database, may append to the same logs at once.

    ``db``: a path or URL (opened, and closed by :meth:`close`) or an open :class:`Store` (left open).
    ``trusted_keys``: verifier keys besides this log's own whose checkpoints it accepts when it finds records it
    did not write (another writer's, or those signed before a key rotation).
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | Store = "trace.db",
        key: SigningKey | str | os.PathLike[str] | None = None,
        *,
        trusted_keys: Sequence[VerifierKey] = (),
        checkpoint_every: int = CHECKPOINT_EVERY,
        connect_hook: Callable[[Any], None] | None = None,
        clock: Callable[[], float] = time.time,
        store: Store | None = None,
    ):
        if checkpoint_every <= 0 or CHECKPOINT_EVERY % checkpoint_every:
            raise ValueError(f"checkpoint_every must divide {CHECKPOINT_EVERY}")
        from trace_engine.store import open_store

        target = store if store is not None else db
        self._own_store = not isinstance(target, Store)
        self.store: Store = open_store(target, connect_hook=connect_hook)
        self.db_path = self.store.url
        self._key_arg = key
        self._key: SigningKey | None = None
        self._extra_trust = tuple(trusted_keys)
        self._trust_id: frozenset[str] | None = None
        self.checkpoint_every = checkpoint_every
        self._clock = clock
        self._local = threading.local()
        if self.store.evidence_log is None:
            self.store.evidence_log = self
        #: ready records relinked by this log's committed transactions (see :meth:`LogTransaction.append_ready`)
        self.relinked = 0
        #: the rollup contributions of the scorecard records this log committed last (audit hash -> contribution):
        #: a record superseding one of them (a call re-scored twice in one run, a live call corrected) takes it
        #: away from the rollup without reading and parsing the old record's body again
        self._contributions: dict[str, rollup.Contribution] = {}

    # ------------------------------------------------------------------------------------------- keys

    @property
    def key(self) -> SigningKey:
        if self._key is None:
            self._key = resolve_signing_key(self._key_arg, self.store)
        return self._key

    @property
    def trusted(self) -> tuple[VerifierKey, ...]:
        """The keys whose checkpoints this log accepts: its own first."""
        return (self.key.verifier, *self._extra_trust)

    def _cache_key(self, tenant: str) -> tuple[str, frozenset[str], str]:
        if self._trust_id is None:  # the keys are fixed once the log's own is known
            self._trust_id = frozenset(k.encode() for k in self.trusted)
        return (self.store.identity, self._trust_id, tenant)

    # ------------------------------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[LogTransaction]:
        """Open the store's write transaction … lock and append records, write other rows … sign every extended
        log … commit (:meth:`Store.transaction`, the one transaction helper).

        The caller may write its own rows through ``tx.session`` inside the block (the service tables do); they
        commit or roll back with the records."""
        if getattr(self._local, "tx", None) is not None:
            raise RuntimeError("an evidence transaction is already open on this thread")
        if self.store.in_transaction:
            raise RuntimeError("an evidence transaction must be the store's outermost transaction")
        self.key  # noqa: B018 - load (or create) the key before anything is locked
        with self.store.transaction() as session:
            tx = LogTransaction(self, session)
            self._local.tx = tx
            try:
                yield tx
                tx._finish()
            finally:
                self._local.tx = None
        self.relinked += tx.relinked
        self._remember(tx._contrib)
        with _HEADS_LOCK:
            for t, st in tx.work.items():
                _HEADS[self._cache_key(t)] = st

    def _remember(self, contributions: dict[str, rollup.Contribution]) -> None:
        """Keep the newest :data:`REMEMBERED` contributions (insertion order is age)."""
        if not contributions:
            return
        with _HEADS_LOCK:
            kept = self._contributions
            kept.update(contributions)
            excess = len(kept) - REMEMBERED
            if excess > 0:
                for audit in list(islice(kept, excess)):
                    del kept[audit]

    def remembered_contribution(self, audit_hash: str) -> rollup.Contribution | None:
        """The rollup contribution of a scorecard record this log committed lately, if it still remembers it."""
        return self._contributions.get(audit_hash)

    @property
    def current(self) -> LogTransaction | None:
        """This thread's open transaction, if any (``chain_event`` appends to it)."""
        return getattr(self._local, "tx", None)

    # ------------------------------------------------------------------------------------- accounting

    def _account(self, s: Session, tenant: str) -> ChainState:
        """The tenant's tree head, after accounting for any records this process did not write (call inside a
        transaction, with the log locked). Raises :class:`LogIntegrityError` when they are not covered by a trusted
        signature."""
        size, head_hex = s.log_tail(tenant)
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
            row = s.audit_hash_at(tenant, known - 1)
            if row is None or row != st.head.hex():
                raise LogIntegrityError(
                    tenant, known - 1, "the record was rewritten after it was signed", s.call_id_at(tenant, known - 1)
                )
        expected = known
        for seq, leaf_hex, prev_hex, audit_hex, _kind, body in s.chain_rows(tenant, known, bodies=tenant == DIRECTORY):
            if seq != expected:
                what = "two records at this position" if isinstance(seq, int) and seq < expected else "a record is missing here"
                raise LogIntegrityError(tenant, expected, what)
            try:
                leaf = bytes.fromhex(leaf_hex)
            except (TypeError, ValueError):
                raise LogIntegrityError(tenant, seq, "the record's leaf hash is not a hash") from None
            link = audit_link(st.head, leaf, tenant, seq)
            if prev_hex != st.head.hex() or audit_hex != link.hex():
                raise LogIntegrityError(tenant, seq, "the record does not link to the chain", s.call_id_at(tenant, seq))
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
            self._require_checkpoint(s, tenant, st, known)
        return st

    def _require_checkpoint(self, s: Session, tenant: str, st: ChainState, known: int) -> None:
        """Records ``known..st.size-1`` are accounted for only if a trusted checkpoint at ``st.size`` signs them."""
        root = st.frontier.root()
        for note in s.checkpoints_at(tenant, st.size):
            try:
                ck = parse_checkpoint(note)
            except NoteError:
                continue
            key, _problem = ck.verify_any(self.trusted)
            if key is not None and ck.tenant == tenant and ck.root == root:
                return
        # name the first record no trusted signature covers
        covered = 0
        for size, note in s.checkpoints_up_to(tenant, st.size):
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
                "was rewritten", s.call_id_at(tenant, st.size - 1)
            )
        first = max(covered, known)
        raise LogIntegrityError(
            tenant,
            first,
            f"records {first}..{st.size - 1} are not covered by a checkpoint signed by a trusted key (the latest "
            f"such checkpoint has size {covered}): they were written without the signing key",
            s.call_id_at(tenant, first),
        )

    def size(self, tenant: str) -> int:
        with self.store.read() as s:
            return s.log_tail(tenant)[0]

    def latest_records(self, tenant: str, call_ids: Iterable[str]) -> dict[str, tuple[str, rollup.Contribution | None]]:
        """See :func:`latest_records`."""
        return latest_records(self.store, tenant, call_ids)

    def head(self, tenant: str) -> ChainState:
        """The tenant's accounted tree head (reads the tail; raises :class:`LogIntegrityError` if tampered)."""
        with self.store.read() as s:
            return self._account(s, tenant)

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
            tx.lock({g[0] for g in gaps} | {sc.tenant for _, sc in prepared} | {f[0] for f in findings})
            by_tenant: dict[str, list[str]] = {}
            for _, sc in prepared:  # validated: tenant and call id are strings
                by_tenant.setdefault(sc.tenant, []).append(sc.call_id)
            for t, call_ids in by_tenant.items():
                tx.prefetch_calls(t, call_ids)
            for t, lost, reason in gaps:
                tx.add_gap(t, lost, reason, now_ms)
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
            tx.session.lock_all_logs()
            tx.append_event(DIRECTORY, "key.rotated", {"old": old.verifier.encode(), "new": new_key.verifier.encode(),
                                                       "at": int(self._clock() * 1000)})
            for t in [DIRECTORY, *sorted(tx.state(DIRECTORY).names)]:
                st = tx.state(t)
                if st.size:
                    tx.cosign(t, new_key)
                    signed[t] = st.size
        return signed

    def latest_checkpoint(self, tenant: str) -> str | None:
        with self.store.read() as s:
            row = s.latest_checkpoint(tenant)
        return row[1] if row else None

    def checkpoint(self, tenant: str) -> str | None:
        """The latest signed checkpoint of the tenant's log, after checking it covers the whole log (every
        commit writes one, so there is never anything left to sign). Raises :class:`LogIntegrityError`."""
        self.head(tenant)
        return self.latest_checkpoint(tenant)

    def close(self) -> None:
        """Close the store when this log opened it (every commit is already signed: there is no final checkpoint
        to write)."""
        if self.store.evidence_log is self:
            self.store.evidence_log = None
        if self._own_store:
            self.store.close()

    def __enter__(self) -> EvidenceLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LogTransaction:
    """Records appended inside one :meth:`EvidenceLog.transaction`; ``session`` is the store's transaction."""

    def __init__(self, log: EvidenceLog, session: Session):
        self.log = log
        self.session = session
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

    def lock(self, tenants: Iterable[str]) -> None:
        """Lock these logs now, in the one order every writer uses (sorted, the directory last), so that two
        writers never wait for each other in a cycle. Logs first touched later are locked then."""
        order = sorted(t for t in set(tenants) if t != DIRECTORY)
        self.session.lock_logs(order)

    def _flush_rows(self) -> None:
        s = self.session
        if self._sc_rows:
            s.insert_scorecards(self._sc_rows)
            self._sc_rows = []
        if self._v_rows:
            s.insert_violations(self._v_rows)
            self._v_rows = []
        if self._agent_rows:
            s.insert_agents(self._agent_rows, ignore_known=True)
            self._agent_rows = []

    def state(self, tenant: str) -> ChainState:
        st = self.work.get(tenant)
        if st is None:
            self.session.lock_logs([tenant])
            st = self.log._account(self.session, tenant)
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
        ref_field = EVENT_REFS[kind]
        ref = payload.get(ref_field) if ref_field else None
        ref = None if ref is None else str(ref)
        _no_nul(f"a {kind} event's {ref_field}", ref)
        st = self._position(tenant)
        seq = st.size
        lh = leaf_hash(body)
        link = audit_link(st.head, lh, tenant, seq)
        self.session.insert_event((tenant, seq, kind, ref, body.decode("utf-8"), lh.hex(), st.head.hex(), link.hex()))
        self._advance(tenant, st, lh, link)
        return seq, link.hex()

    def add_gap(self, tenant: str, lost: int, reason: str, at: int | None = None) -> int:
        at = int(time.time() * 1000) if at is None else at
        _no_nul("a gap's reason", reason)
        seq, _ = self.append_event(tenant, "gap", {"lost": int(lost), "reason": str(reason), "at": at})
        self.session.insert_gap((tenant, int(lost), str(reason), at, seq))
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
        _no_nul("a Tier-2 finding's ids", call_id, fid)
        self._flush_rows()
        if self.session.tier2_finding_exists(tenant, fid):
            return 0
        known = self._known.get((tenant, call_id))
        audit = known[1] if known is not None else self.session.latest_audit_hash(tenant, call_id)
        at = int(time.time() * 1000) if at is None else at
        text = canonical_bytes(body).decode("utf-8")
        seq, _ = self.append_event(
            tenant, "tier2_finding", {"interaction_id": call_id, "audit_hash": audit, "finding": body, "at": at}
        )
        self.session.insert_tier2_finding((tenant, fid, call_id, audit, text, at, seq))
        return 1

    def claim_agent(self, tenant: str, agent_id: str, at: int | None = None) -> int | None:
        """Record ``agent_id`` as the tenant's (an ``agent`` event) unless the tenant already has it."""
        self._flush_rows()
        if self.session.agent_exists(tenant, agent_id):
            return None
        at = int(time.time() * 1000) if at is None else at
        seq, _ = self.append_event(tenant, "agent", {"agent_id": agent_id, "at": at})
        self.session.insert_agents([(tenant, agent_id, at, seq)])
        return seq

    def prefetch_calls(self, tenant: str, call_ids: Iterable[str]) -> None:
        """Read what the log holds of these calls in one query (before appending their scorecards)."""
        wanted = [c for c in dict.fromkeys(call_ids) if (tenant, c) not in self._known]
        if not wanted:
            return
        self._flush_rows()
        for call_id, records in self.session.call_history(tenant, wanted).items():
            ids = {(etag, ev, sha) for etag, ev, sha, _ah, _seq in records}
            latest, latest_seq = (records[-1][3], records[-1][4]) if records else (None, None)
            self._known[(tenant, call_id)] = (ids, latest, latest_seq)

    def _lookup_call(self, t: str, call_id: str) -> tuple[set[tuple[str, str, str | None]], str | None, int | None]:
        if (t, call_id) not in self._known:
            self.prefetch_calls(t, [call_id])
        return self._known[(t, call_id)]

    def _old_contribution(self, t: str, audit: str, seq: int | None) -> rollup.Contribution | None:
        c = self._contrib.get(audit) or self.log.remembered_contribution(audit)
        if c is not None or seq is None:
            return c
        return _body_contribution(self.session.scorecard_body(t, seq))

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
                rec.body, rec.leaf.hex(), st.head.hex(), ah_hex, latest, rec.input_sha256,
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
        self.session.drop_head_checkpoints(tenant, st.size, at=st.size)
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
            self.session.drop_head_checkpoints(t, st.size)
        if self._ck_rows:
            self.session.insert_checkpoints(self._ck_rows)
        if self._rolled:
            verdicts, rules = self._rollup.nonzero()
            self.session.apply_rollup(verdicts, rules, [(t, self.work[t].size) for t in sorted(self._rolled)])


def log_for(store: Store | str | os.PathLike[str], key: SigningKey | str | os.PathLike[str] | None = None) -> EvidenceLog:
    """The evidence log bound to ``store`` (created on first use; the key defaults to the one registered with
    :func:`use_key` for that database, else ``trace.key`` beside it)."""
    from trace_engine.store import open_store

    store = open_store(store)
    with _LOG_FOR_LOCK:  # two threads' first use must get one log: a transaction is found through it
        existing = store.evidence_log
        if isinstance(existing, EvidenceLog):
            return existing
        if key is None:
            key = registered_key(store)
        return EvidenceLog(store=store, key=key)


_LOG_FOR_LOCK = threading.Lock()


_REGISTERED_KEYS: dict[str, SigningKey | str | os.PathLike[str]] = {}


def _key_name(db: str | os.PathLike[str] | Store) -> str:
    if isinstance(db, Store):
        return db.url if db.kind != "sqlite" else os.path.realpath(db.url)
    text = os.fspath(db)
    if text.startswith(("postgresql://", "postgres://")):
        from trace_engine.store import store_name

        return store_name(text)
    return os.path.realpath(text)


def use_key(db: str | os.PathLike[str] | Store, key: SigningKey | str | os.PathLike[str]) -> None:
    """Sign records appended through :func:`log_for` stores of ``db`` with ``key`` (the service's key)."""
    _REGISTERED_KEYS[_key_name(db)] = key


def registered_key(db: str | os.PathLike[str] | Store) -> SigningKey | str | os.PathLike[str] | None:
    return _REGISTERED_KEYS.get(_key_name(db))


@contextmanager
def transaction(store: Store) -> Iterator[LogTransaction]:
    """An evidence transaction on ``store`` (see :meth:`EvidenceLog.transaction`)."""
    with log_for(store).transaction() as tx:
        yield tx


def chain_event(store: Store, tenant: str, kind: str, payload: dict[str, Any]) -> tuple[int, str]:
    """Append an event to the transaction open on ``store`` in this thread (opened with :func:`transaction`)."""
    tx = log_for(store).current
    if tx is None:
        raise RuntimeError("chain_event needs an open evidence transaction (store.log.transaction(store))")
    return tx.append_event(tenant, kind, payload)
