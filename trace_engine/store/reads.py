"""Read views over the evidence log, in exactly the seed API's shapes.

**What a read reports is signed.** A read first checks that the tenant's latest checkpoint covers its whole log
and is signed by the log's key (the service's key, or ``trace.pub`` beside the database), so a record appended
without the key is refused rather than shown (:func:`signed_size`). The ``scorecards`` / ``violations`` columns are an index: they
choose and order rows, but every row a read returns is rebuilt from its record's body after the body was checked
against the record's leaf hash and the index columns against the body. A row that fails either check raises
:class:`TamperedRecord` naming the record (``UPDATE scorecards SET verdict = 'PASS'`` cannot change what
``show``, a list or ``exposure`` says; ``trace verify`` reports it). Exposure reads the rollup the writer keeps
from the scorecards themselves (:mod:`trace_engine.store.rollup`), plus the records of the window's partial first
hour, read from their bodies.

Time: lists are ordered and exposure windows are counted by ``call_at``, when the call happened (its
``started_at``; the scored time when the start is unknown), not by when it was scored.

Only the latest record of each call is visible: a record superseded by a later one (same call, another config
or engine version) is skipped with an anti-join on the ``scorecards_supersedes`` partial index. History stays in
the log and in ``trace verify``.

Lists are newest first (``call_at`` desc, then ``seq`` desc; violations also by finding index desc) and use
keyset pagination with signed cursors (:mod:`trace_engine.store.cursor`). ``limit`` is clamped to 1..100.

``db`` may be a path or URL (opened read-only for the call) or an open :class:`~trace_engine.store.Store`. The
rows come from the store's :class:`~trace_engine.store.interfaces.ReadModel`; every check above is made here, the
same on every backend.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from trace_engine.evidence.merkle import leaf_hash
from trace_engine.evidence.metrics import derived_metrics
from trace_engine.store import rollup
from trace_engine.store.cursor import CursorError, decode_cursor, encode_cursor
from trace_engine.store.interfaces import Session, Store, UnreadableDatabase

MAX_LIMIT = 100
DAY_MS = 86_400_000
HOUR_MS = rollup.HOUR_MS

DB = str | os.PathLike[str] | Store


class TamperedRecord(Exception):
    """A row whose body does not match its hash, or whose index columns do not match its body."""

    def __init__(self, tenant: str, seq: Any, message: str, call_id: str | None = None):
        self.tenant, self.seq, self.call_id, self.message = tenant, seq, call_id, message
        where = f"tenant {tenant} seq {seq}" + (f" (call {call_id})" if call_id else "")
        super().__init__(f"{where}: {message}: the evidence database was tampered with; run `trace verify`")


@contextmanager
def _open(db: DB) -> Iterator[Session]:
    """A read snapshot of ``db`` (a store, or a path/URL opened for the length of the read)."""
    if isinstance(db, Store):
        with db.read() as session:
            yield session
        return
    from trace_engine.store import open_store

    store = open_store(db, create=False)
    try:
        with store.read() as session:
            yield session
    finally:
        store.close()


def cursor_secret(session: Session) -> bytes:
    """The database's cursor HMAC secret."""
    value = session.meta("cursor_secret")
    if value is None:  # a DB opened read-only before its first write
        raise UnreadableDatabase("database has no cursor secret")
    return bytes.fromhex(value)


def _limit(limit: int | None) -> int:
    if limit is None:
        return 20
    return max(1, min(MAX_LIMIT, int(limit)))


# ------------------------------------------------------------------------------------------ row checks

# (store identity, tenant, note) -> tree size whose signature was checked
_SIGNED: dict[tuple[str, str, str], int] = {}


def _reader_keys(store: Store) -> list[Any]:
    """The key reads check checkpoints against: the service's registered key, else ``trace.pub`` in the store's
    key directory (beside a SQLite file)."""
    from pathlib import Path

    from trace_engine.evidence.signing import SigningKey, VerifierKey
    from trace_engine.store.log import registered_key

    key = registered_key(store)
    try:
        if isinstance(key, SigningKey):
            return [key.verifier]
        if key is not None:
            text = Path(key).read_text(encoding="utf-8")
            return [SigningKey.parse(text).verifier if text.startswith("PRIVATE+KEY+") else VerifierKey.parse(text)]
        if store.key_dir is None:
            return []
        return [VerifierKey.parse((store.key_dir / "trace.pub").read_text(encoding="utf-8"))]
    except (OSError, ValueError):
        return []


def signed_size(session: Session, tenant: str) -> int:
    """The tenant's log size, after checking that its latest checkpoint covers all of it and is signed by the
    log's key (when one is known). Every commit writes that checkpoint, so anything else is tampering: raises
    :class:`TamperedRecord` naming the first record no signature covers."""
    from trace_engine.evidence.signing import NoteError, parse_checkpoint

    size = session.log_tail(tenant)[0]
    if size == 0:
        return 0
    ck = session.latest_checkpoint(tenant)
    covered = ck[0] if ck is not None and isinstance(ck[0], int) else 0
    if ck is None or covered < size:
        raise TamperedRecord(tenant, covered, f"records {covered}..{size - 1} are not covered by a signed checkpoint")
    store = session.store
    memo = (store.identity, tenant, ck[1])
    if _SIGNED.get(memo) == size:
        return size
    keys = _reader_keys(store)
    if keys:
        try:
            note = parse_checkpoint(ck[1])
            signer, bad = note.verify_any(keys)
        except NoteError as exc:
            note, signer, bad = None, None, str(exc)
        if signer is None or note is None or note.size != size or note.tenant != tenant:
            raise TamperedRecord(tenant, size - 1, f"the latest checkpoint is not the log's signed checkpoint ({bad})")
    if len(_SIGNED) > 10_000:
        _SIGNED.clear()
    _SIGNED[memo] = size
    return size


def signed_record(tenant: str, row: tuple) -> dict[str, Any]:
    """The record body of an :data:`~trace_engine.store.interfaces.IndexRow`, after checking it against its leaf hash and the index columns
    against it. Raises :class:`TamperedRecord`."""
    seq, call_id, agent_id, verdict, call_at, supersedes, body, leaf = row
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
    if leaf_hash(raw).hex() != leaf:
        raise TamperedRecord(tenant, seq, "the record's body does not match its hash", call_id)
    try:
        doc = json.loads(raw)
        sc = doc["scorecard"]
        want = (sc["tenant"], sc["call_id"], sc.get("agent_id"), sc["verdict"], rollup.call_at(sc), doc.get("supersedes"))
    except (ValueError, KeyError, TypeError):
        raise TamperedRecord(tenant, seq, "the record's body is not a scorecard record", call_id) from None
    if want != (tenant, call_id, agent_id, verdict, call_at, supersedes):
        raise TamperedRecord(tenant, seq, "the row's columns differ from its signed body", call_id)
    return doc


def _interaction(sc: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "trace.interaction",
        "id": sc["call_id"],
        "agent_id": sc.get("agent_id"),
        "product": sc.get("product"),
        "verdict": sc["verdict"],
        "findings": len(sc.get("findings") or []),
        "blocked_turns": sc.get("blocked_turns", 0),
        "modified_turns": sc.get("modified_turns", 0),
        "packs_enforced": ",".join(sc.get("packs_enforced") or []),
        "scored_at": sc["scored_at"],
    }


def _cursor_key(secret: bytes, cursor: str, view: str, tenant: str, filters: dict[str, Any], n: int) -> list[int]:
    k = decode_cursor(secret, cursor, view, tenant, filters)
    if len(k) != n:
        raise CursorError("malformed cursor")
    return k


# ----------------------------------------------------------------------------------------------- lists


def list_interactions(
    db: DB,
    tenant: str,
    verdict: str | None = None,
    agent_id: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    """``GET /v1/trace/interactions``: ``{object: "list", data: [TraceInteraction], has_more, next_cursor}``."""
    n = _limit(limit)
    filters = {"verdict": verdict, "agent_id": agent_id}
    with _open(db) as session:
        secret = cursor_secret(session)
        signed_size(session, tenant)
        before = _cursor_key(secret, cursor, "interactions", tenant, filters, 2) if cursor else None
        rows = session.interaction_rows(
            tenant, verdict, agent_id, before, n + 1, latest_only=session.has_superseding(tenant)
        )
    has_more = len(rows) > n
    rows = rows[:n]
    data = [_interaction(signed_record(tenant, r)["scorecard"]) for r in rows]
    nxt = encode_cursor(secret, "interactions", tenant, filters, [rows[-1][4], rows[-1][0]]) if has_more else None
    return {"object": "list", "data": data, "has_more": has_more, "next_cursor": nxt}


def list_violations(
    db: DB,
    tenant: str,
    rule_id: str | None = None,
    severity: str | None = None,
    agent_id: str | None = None,
    interaction_id: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    """``GET /v1/trace/violations``: every fired rule of the latest scorecards, as ``TraceViolation``."""
    n = _limit(limit)
    filters = {"rule_id": rule_id, "severity": severity, "agent_id": agent_id, "interaction_id": interaction_id}
    with _open(db) as session:
        secret = cursor_secret(session)
        signed_size(session, tenant)
        before = _cursor_key(secret, cursor, "violations", tenant, filters, 3) if cursor else None
        rows = session.violation_page(tenant, filters, before, n + 1, latest_only=session.has_superseding(tenant))
        has_more = len(rows) > n
        rows = rows[:n]
        docs: dict[int, dict[str, Any]] = {}
        for rec in session.scorecards_at(tenant, sorted({r[0] for r in rows})):
            docs[rec[0]] = signed_record(tenant, rec)
    data = []
    for seq, idx, call_at, *cols in rows:
        doc = docs.get(seq)
        v = None
        if doc is not None and isinstance(idx, int) and 0 <= idx < len(doc.get("violations") or []):
            v = doc["violations"][idx]
        fields = ("id", "interaction_id", "agent_id", "rule_id", "pack_id", "severity", "action_taken", "citation",
                  "reason", "at_t")
        if v is None or call_at != rollup.call_at(doc["scorecard"]) or tuple(cols) != tuple(v.get(f) for f in fields):
            raise TamperedRecord(tenant, seq, f"violation row {idx} differs from its signed record")
        data.append(
            {
                "object": "trace.violation",
                **{f: v.get(f) for f in fields},
                "citation": v.get("citation") or "",
                "reason": v.get("reason") or "",
            }
        )
    nxt = encode_cursor(secret, "violations", tenant, filters, [rows[-1][2], rows[-1][0], rows[-1][1]]) if has_more else None
    return {"object": "list", "data": data, "has_more": has_more, "next_cursor": nxt}


# -------------------------------------------------------------------------------------------- exposure


def exposure(
    db: DB,
    tenant: str,
    window_days: int = 30,
    agent_id: str | None = None,
    *,
    now_ms: int | None = None,
    memo: Any = None,
) -> dict[str, Any]:
    """``GET /v1/trace/exposure`` over the latest record of every call that started in the trailing window.

    ``with_a_gap`` counts interactions whose verdict is not PASS. ``by_rule[].count`` is the number of
    interactions in which the rule fired (at least once) and ``rate`` is ``count / interactions_scanned``;
    ranked by count, then rule_id. ``top_exposure`` is the first of that ranking (``null`` when none fired).

    Whole hours come from the rollup; the window's partial first hour from the records' bodies. ``memo`` (an
    object with ``get(key)`` / ``put(key, value)``) caches the whole-hours part per rollup state.
    """
    window_days = max(1, min(365, int(window_days)))
    now = int(time.time() * 1000) if now_ms is None else now_ms
    since = now - window_days * DAY_MS
    edge = -(-since // HOUR_MS) * HOUR_MS  # first whole hour inside the window
    with _open(db) as session:  # one snapshot: rollup and records agree
        signed_size(session, tenant)
        mkey = (tenant, session.rollup_size(tenant), edge, agent_id)
        whole = memo.get(mkey) if memo is not None else None
        if whole is None:
            whole = rollup.whole_hours(session, tenant, edge, agent_id)
            if memo is not None:
                memo.put(mkey, whole)
        by_verdict: dict[str, int] = {"PASS": 0, "WARN": 0, "FAIL": 0}
        for v, c in whole[0].items():
            by_verdict[v] = by_verdict.get(v, 0) + c
        counts: dict[tuple[str, str | None], int] = dict(whole[1])
        for r in session.scorecards_between(
            tenant, since, edge, agent_id, latest_only=session.has_superseding(tenant)
        ):
            sc = signed_record(tenant, r)["scorecard"]
            _hour, _agent, verdict, rules = rollup.contribution(sc)
            by_verdict[verdict] = by_verdict.get(verdict, 0) + 1
            for rule_id, pack in rules:
                k = (rule_id, None if pack == rollup.NONE else pack)
                counts[k] = counts.get(k, 0) + 1
    by_verdict = {k: v for k, v in by_verdict.items() if v or k in ("PASS", "WARN", "FAIL")}
    scanned = sum(by_verdict.values())
    ranked = sorted(
        ((r, p, c) for (r, p), c in counts.items() if c > 0),
        key=lambda x: (-x[2], x[0], x[1] is not None, x[1] or ""),
    )
    gap = scanned - by_verdict.get("PASS", 0)
    by_rule = [{"rule_id": r, "pack_id": p, "count": c, "rate": (c / scanned) if scanned else 0.0} for r, p, c in ranked]
    return {
        "object": "trace.exposure",
        "window_days": window_days,
        "interactions_scanned": scanned,
        "with_a_gap": gap,
        "gap_rate": (gap / scanned) if scanned else 0.0,
        "by_rule": by_rule,
        "by_verdict": by_verdict,
        "top_exposure": by_rule[0]["rule_id"] if by_rule else None,
    }


# ---------------------------------------------------------------------------------------------- detail


def signed_findings(session: Session, tenant: str, rows: list[tuple[Any, str]]) -> list[dict[str, Any]]:
    """Tier-2 finding rows ``(seq, body)`` as their signed events say them. Raises :class:`TamperedRecord`."""
    out = []
    for seq, body in rows:
        ev = session.event_at(tenant, seq, "tier2_finding")
        if ev is None:
            raise TamperedRecord(tenant, seq, "a Tier-2 finding has no signed record")
        raw = ev[0].encode("utf-8")
        if leaf_hash(raw).hex() != ev[1]:
            raise TamperedRecord(tenant, seq, "the Tier-2 finding's record does not match its hash")
        try:
            finding = json.loads(raw)["finding"]
            same = json.loads(body) == finding
        except (ValueError, KeyError, TypeError):
            same = False
        if not same:
            raise TamperedRecord(tenant, seq, "the Tier-2 finding row differs from its signed record")
        out.append(finding)
    return out


def interaction_detail(db: DB, tenant: str, call_id: str) -> dict[str, Any] | None:
    """``GET /v1/trace/interactions/{id}``: the latest scorecard of the call, or ``None`` when unknown."""
    from trace_engine.store.log import audit_link

    with _open(db) as session:
        signed_size(session, tenant)
        row = session.latest_scorecard(tenant, call_id)
        if row is None:
            return None
        doc = signed_record(tenant, row[:8])
        seq, prev, audit = row[0], row[8], row[9]
        try:
            linked = audit_link(bytes.fromhex(prev), bytes.fromhex(row[7]), tenant, seq).hex() == audit
        except (TypeError, ValueError):
            linked = False
        if not linked:
            raise TamperedRecord(tenant, seq, "the record's audit hash does not recompute", call_id)
        tier2 = signed_findings(session, tenant, session.tier2_rows(tenant, call_id))
    sc = doc["scorecard"]
    out = _interaction(sc)
    timeline = sc.get("timeline") or []
    out.update(
        {
            "audit_hash": audit,
            "seq": seq,
            "scorecard": sc,
            "tier2_findings": tier2,
            "timeline": timeline,
            "quality_metrics": sc.get("quality_metrics"),
            "derived_metrics": derived_metrics(timeline),
        }
    )
    return out
