"""The append-only, hash-chained, signed evidence log.

Each record is one scorecard with its violations. Its body is the RFC 8785 canonical form of::

    {"scorecard": <Scorecard.to_dict()>, "violations": [<TraceViolation>...], "supersedes": <audit hash hex>|null}

and, per tenant, with ``seq`` counting from 0:

    leaf_hash  = SHA-256(0x00 || body)                                   (RFC 6962 leaf)
    audit_hash = SHA-256(prev_audit_hash || leaf_hash || tenant || 0x00 || seq as 8-byte big-endian)

with ``prev_audit_hash`` = 32 zero bytes for seq 0. The link covers the previous link, the tenant and the
position, so deleting, reordering or moving a record to another tenant's chain is caught. The leaves also form
one RFC 6962 Merkle tree per tenant; a signed checkpoint (C2SP note, :mod:`trace_engine.evidence.signing`) of
the tree head is written at every multiple of 256 records, when 10 s have passed since the last one while
writing, and at :meth:`EvidenceLog.close`.

Idempotence: a scorecard whose ``(tenant, call_id, config_etag, engine_version, input sha256)`` is already in
the log writes nothing (``input`` is the re-scored transcript's content hash; ``None`` for live calls). A
scorecard for a known call with another config, engine version or transcript content is appended and
*supersedes* the call's latest record (its body names the superseded audit hash); reads show only the latest,
history stays.

Signing key: ``key`` may be a :class:`SigningKey` or a path to a ``trace.key`` file. When it is ``None`` the log
uses ``trace.key`` next to the database, generating ``trace.key`` (0600) and ``trace.pub`` there on first use.
The verifier key is also recorded in the DB's ``meta`` table (self-attested; pass a trusted ``--pubkey`` to
``trace verify`` for a real check).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trace_engine.evidence.canonical import canonical_bytes
from trace_engine.evidence.merkle import Frontier, leaf_hash
from trace_engine.evidence.scorecard import Scorecard, violations
from trace_engine.evidence.signing import (
    TENANT_RE,
    SigningKey,
    checkpoint_body,
    load_signing_key,
    sign_note,
    write_keypair,
)
from trace_engine.store.db import connect, get_meta

GENESIS = b"\x00" * 32
CHECKPOINT_EVERY = 256
CHECKPOINT_INTERVAL_S = 10.0


def audit_link(prev: bytes, leaf: bytes, tenant: str, seq: int) -> bytes:
    """``SHA-256(prev || leaf || tenant || 0x00 || seq_be64)``."""
    return hashlib.sha256(prev + leaf + tenant.encode("utf-8") + b"\x00" + seq.to_bytes(8, "big")).digest()


def record_body(sc: Scorecard, supersedes: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    d = sc.to_dict()
    v = violations(sc)
    return {"scorecard": d, "violations": v, "supersedes": supersedes}, v


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
class _TenantState:
    size: int
    head: bytes
    frontier: Frontier
    checkpointed: int
    checkpoint_time: float


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


class EvidenceLog:
    """Appends scorecards to the log. One instance per thread; several processes may share a DB file."""

    def __init__(
        self,
        db_path: str | os.PathLike[str] = "trace.db",
        key: SigningKey | str | os.PathLike[str] | None = None,
        *,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_interval_s: float = CHECKPOINT_INTERVAL_S,
        connect_hook: Callable[[sqlite3.Connection], None] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.db_path = str(db_path)
        self._key_arg = key
        self._key: SigningKey | None = None
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval_s = checkpoint_interval_s
        self._clock = clock
        self.conn = connect(self.db_path)
        if connect_hook is not None:
            connect_hook(self.conn)
        self._tenants: dict[str, _TenantState] = {}
        self._touched: set[str] = set()

    # ------------------------------------------------------------------------------------------- keys

    @property
    def key(self) -> SigningKey:
        if self._key is None:
            self._key = resolve_signing_key(self._key_arg, self.db_path)
            self.conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('log_pubkey', ?)", (self._key.verifier.encode(),)
            )
        return self._key

    # ------------------------------------------------------------------------------------------- state

    def _state(self, tenant: str) -> _TenantState:
        """The tenant's tail, refreshed from the DB when another writer moved it (call inside a transaction)."""
        row = self.conn.execute(
            "SELECT seq, audit_hash FROM scorecards WHERE tenant = ? ORDER BY seq DESC LIMIT 1", (tenant,)
        ).fetchone()
        size = row[0] + 1 if row else 0
        st = self._tenants.get(tenant)
        if st is not None and st.size == size and (size == 0 or st.head.hex() == row[1]):
            return st
        f = Frontier()
        for (lh,) in self.conn.execute(
            "SELECT leaf_hash FROM scorecards WHERE tenant = ? ORDER BY seq", (tenant,)
        ):
            f.append(bytes.fromhex(lh))
        ck = self.conn.execute("SELECT max(size) FROM checkpoints WHERE tenant = ?", (tenant,)).fetchone()[0] or 0
        st = _TenantState(size, bytes.fromhex(row[1]) if row else GENESIS, f, ck, self._clock())
        self._tenants[tenant] = st
        return st

    def size(self, tenant: str) -> int:
        row = self.conn.execute("SELECT max(seq) FROM scorecards WHERE tenant = ?", (tenant,)).fetchone()
        return 0 if row[0] is None else row[0] + 1

    # ------------------------------------------------------------------------------------------ append

    def append(self, scorecard: Scorecard | dict[str, Any]) -> AppendResult:
        """Append one scorecard (its own transaction). Raises on invalid input or a database error."""
        return self.append_many([scorecard])[0]

    def append_many(
        self,
        scorecards: Iterable[Scorecard | dict[str, Any]],
        *,
        batch_size: int = 2000,
        skip_invalid: bool = False,
        gaps: list[tuple[str, int, str]] | None = None,
    ) -> list[AppendResult]:
        """Append scorecards in batches, one transaction per batch. ``gaps`` ``(tenant, lost, reason)`` are
        written in the first batch's transaction. With ``skip_invalid`` a scorecard that cannot be serialized is
        reported as ``invalid`` instead of raising."""
        results: list[AppendResult] = []
        batch: list[Scorecard | dict[str, Any]] = []
        pending_gaps = list(gaps or [])
        for sc in scorecards:
            batch.append(sc)
            if len(batch) >= batch_size:
                results.extend(self._append_batch(batch, skip_invalid, pending_gaps))
                pending_gaps = []
                batch = []
        if batch or pending_gaps:
            results.extend(self._append_batch(batch, skip_invalid, pending_gaps))
        return results

    def _prepare(self, item: Scorecard | dict[str, Any]) -> Scorecard:
        sc = Scorecard.from_dict(item) if isinstance(item, dict) else item
        if not isinstance(sc, Scorecard):
            raise TypeError(f"expected a Scorecard, got {type(item).__name__}")
        if not isinstance(sc.tenant, str) or not TENANT_RE.match(sc.tenant):
            raise ValueError(f"invalid tenant name {sc.tenant!r}")
        if not isinstance(sc.call_id, str) or not sc.call_id:
            raise ValueError("call_id must be a non-empty string")
        if sc.agent_id is not None and type(sc.agent_id) is not str:
            # a column holding 7 where the signed body says 7 would read back as "7" and fail verification
            raise ValueError(f"agent_id must be a string or null, got {type(sc.agent_id).__name__}")
        return sc

    def _append_batch(
        self, items: list[Scorecard | dict[str, Any]], skip_invalid: bool, gaps: list[tuple[str, int, str]]
    ) -> list[AppendResult]:
        results: list[AppendResult | None] = [None] * len(items)
        prepared: list[tuple[int, Scorecard]] = []
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
        key = self.key if prepared else None
        conn = self.conn
        now_ms = int(self._clock() * 1000)
        conn.execute("BEGIN IMMEDIATE")
        try:
            states: dict[str, _TenantState] = {}
            work: dict[str, _TenantState] = {}
            sc_rows: list[tuple] = []
            v_rows: list[tuple] = []
            agent_rows: list[tuple] = []
            ck_rows: list[tuple] = []
            # (tenant, call_id) -> the (config_etag, engine_version, input sha256) known + latest audit hash
            known: dict[tuple[str, str], tuple[set[tuple[str, str, str | None]], str | None]] = {}
            for i, sc in prepared:
                t = sc.tenant
                if t not in work:
                    states[t] = self._state(t)
                    s = states[t]
                    work[t] = _TenantState(s.size, s.head, s.frontier.copy(), s.checkpointed, s.checkpoint_time)
                st = work[t]
                kc = (t, sc.call_id)
                if kc not in known:
                    ids: set[tuple[str, str, str | None]] = set()
                    latest: str | None = None
                    for etag, ev, input_sha, ah in conn.execute(
                        "SELECT config_etag, engine_version, json_extract(body, '$.scorecard.input.sha256'), "
                        "audit_hash FROM scorecards WHERE tenant = ? AND call_id = ? ORDER BY +seq",
                        (t, sc.call_id),
                    ):
                        ids.add((etag, ev, input_sha))
                        latest = ah
                    known[kc] = (ids, latest)
                ids, latest = known[kc]
                identity = (sc.config_etag, sc.engine_version, sc.input.sha256 if sc.input is not None else None)
                if identity in ids:
                    results[i] = AppendResult("duplicate", t, sc.call_id, audit_hash=latest)
                    continue
                try:
                    body_obj, viols = record_body(sc, latest)
                    body = canonical_bytes(body_obj)
                    body_text = body.decode("utf-8")
                except Exception as exc:
                    if not skip_invalid:
                        raise
                    results[i] = AppendResult("invalid", t, sc.call_id, error=str(exc))
                    continue
                seq = st.size
                lh = leaf_hash(body)
                ah = audit_link(st.head, lh, t, seq)
                ah_hex = ah.hex()
                sc_rows.append(
                    (
                        t, seq, sc.call_id, sc.agent_id, sc.product, sc.config_etag, sc.engine_version, sc.verdict,
                        sc.scored_at, len(sc.findings), sc.blocked_turns, sc.modified_turns,
                        ",".join(sc.packs_enforced), body_text, lh.hex(), st.head.hex(), ah_hex, latest,
                    )
                )
                for j, v in enumerate(viols):
                    v_rows.append(
                        (
                            t, seq, j, v["id"], ah_hex, sc.call_id, sc.agent_id, v["rule_id"], v["pack_id"],
                            v["severity"], v["action_taken"], v["citation"], v["reason"], v["at_t"], sc.scored_at,
                        )
                    )
                if sc.agent_id is not None:
                    agent_rows.append((t, sc.agent_id, sc.scored_at))
                st.frontier.append(lh)
                st.size = seq + 1
                st.head = ah
                ids.add(identity)
                known[kc] = (ids, ah_hex)
                results[i] = AppendResult("appended", t, sc.call_id, seq, ah_hex, latest)
                if self.checkpoint_every and st.size % self.checkpoint_every == 0:
                    assert key is not None
                    ck_rows.append(self._checkpoint_row(key, t, st, now_ms))
            if sc_rows:
                conn.executemany(
                    "INSERT INTO scorecards(tenant, seq, call_id, agent_id, product, config_etag, engine_version, "
                    "verdict, scored_at, findings, blocked_turns, modified_turns, packs_enforced, body, leaf_hash, "
                    "prev_hash, audit_hash, supersedes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    sc_rows,
                )
            if v_rows:
                conn.executemany(
                    "INSERT INTO violations(tenant, seq, idx, id, audit_hash, interaction_id, agent_id, rule_id, "
                    "pack_id, severity, action_taken, citation, reason, at_t, scored_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    v_rows,
                )
            if agent_rows:
                conn.executemany("INSERT OR IGNORE INTO agents(tenant, agent_id, first_seen) VALUES (?,?,?)", agent_rows)
            for t, lost, reason in gaps:
                conn.execute("INSERT INTO gaps(tenant, lost, reason, at) VALUES (?,?,?,?)", (t, lost, reason, now_ms))
            now = self._clock()
            for t, st in work.items():
                if (
                    st.size > st.checkpointed
                    and self.checkpoint_interval_s is not None
                    and now - st.checkpoint_time >= self.checkpoint_interval_s
                ):
                    assert key is not None
                    ck_rows.append(self._checkpoint_row(key, t, st, now_ms))
            if ck_rows:
                conn.executemany(
                    "INSERT INTO checkpoints(tenant, size, root, note, signature, key_id, created_at) "
                    "VALUES (?,?,?,?,?,?,?)",
                    ck_rows,
                )
            conn.execute("COMMIT")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._tenants.clear()
            raise
        self._tenants.update(work)
        self._touched.update(work)
        return [r for r in results if r is not None]

    # -------------------------------------------------------------------------------------- checkpoints

    def _checkpoint_row(self, key: SigningKey, tenant: str, st: _TenantState, now_ms: int) -> tuple:
        root = st.frontier.root()
        note, sig = sign_note(checkpoint_body(tenant, st.size, root), key)
        st.checkpointed = st.size
        st.checkpoint_time = self._clock()
        return (tenant, st.size, root.hex(), note, sig, key.verifier.key_id.hex(), now_ms)

    def checkpoint(self, tenant: str, *, force: bool = False) -> str | None:
        """Write a signed checkpoint of the tenant's current tree unless one already covers it. Returns the note."""
        key = self.key
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            st = self._state(tenant)
            if st.size == 0 or (st.checkpointed >= st.size and not force):
                conn.execute("COMMIT")
                return self.latest_checkpoint(tenant)
            row = self._checkpoint_row(key, tenant, st, int(self._clock() * 1000))
            conn.execute(
                "INSERT INTO checkpoints(tenant, size, root, note, signature, key_id, created_at) VALUES (?,?,?,?,?,?,?)",
                row,
            )
            conn.execute("COMMIT")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._tenants.pop(tenant, None)
            raise
        return row[3]

    def maybe_checkpoint(self, tenant: str) -> None:
        """Checkpoint when records are uncovered and the interval has passed (the writer calls this when idle)."""
        st = self._tenants.get(tenant)
        if st is None or st.size <= st.checkpointed:
            return
        if self._clock() - st.checkpoint_time >= self.checkpoint_interval_s:
            self.checkpoint(tenant)

    def latest_checkpoint(self, tenant: str) -> str | None:
        row = self.conn.execute(
            "SELECT note FROM checkpoints WHERE tenant = ? ORDER BY size DESC, rowid DESC LIMIT 1", (tenant,)
        ).fetchone()
        return row[0] if row else None

    def add_gap(self, tenant: str, lost: int, reason: str) -> None:
        self.append_many([], gaps=[(tenant, lost, reason)])

    def add_tier2_finding(self, tenant: str, finding: dict[str, Any]) -> None:
        """Attach a Tier-2 finding to a call. Stored beside the chain: never changes any audit hash."""
        call_id = finding.get("interaction_id")
        if not call_id:
            raise ValueError("tier-2 finding needs interaction_id")
        row = self.conn.execute(
            "SELECT audit_hash FROM scorecards WHERE tenant = ? AND call_id = ? ORDER BY +seq DESC LIMIT 1",
            (tenant, call_id),
        ).fetchone()
        fid = finding.get("id") or "tfind_" + hashlib.sha256(canonical_bytes(finding)).hexdigest()[:24]
        body = dict(finding, id=fid)
        body.setdefault("object", "trace.finding")
        self.conn.execute(
            "INSERT INTO tier2_findings(tenant, id, interaction_id, audit_hash, body, created_at) VALUES (?,?,?,?,?,?)",
            (tenant, fid, call_id, row[0] if row else None, canonical_bytes(body).decode(), int(self._clock() * 1000)),
        )

    def close(self) -> None:
        """Write a final checkpoint for every tenant this instance appended to, then close the connection."""
        try:
            for t in sorted(self._touched):
                self.checkpoint(t)
        finally:
            self.conn.close()

    def __enter__(self) -> EvidenceLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def log_pubkey(conn: sqlite3.Connection) -> str | None:
    return get_meta(conn, "log_pubkey")
