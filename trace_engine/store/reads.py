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
from trace_engine.store.sql import _LATEST as _LATEST_SQL
from trace_engine.store.sql import INDEX_COLS

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


# ------------------------------------------------------------------------------ dashboard reads (trace_engine.web)


#: what the read views select of a scorecard (``interfaces.IndexRow``)
_INDEX_COLS = INDEX_COLS


def _latest_clause(session: Any, tenant: str, alias: str) -> str:
    """The "not superseded" anti-join, or nothing when the tenant has no superseding record at all."""
    return _LATEST_SQL.format(a=alias) if session.has_superseding(tenant) else "1 = 1"


def window_start(window_days: int, now_ms: int) -> int:
    """The first instant (Unix ms) of the trailing window :func:`exposure` counts: calls at or after it."""
    return now_ms - max(1, min(365, int(window_days))) * DAY_MS


def _partial_hour(
    conn: Any, tenant: str, since: int, edge: int, agent_id: str | None
) -> Iterator[dict[str, Any]]:
    """The signed scorecards of the window's partial first hour ``[since, edge)`` (latest records only)."""
    agent_sql = " AND s.agent_id = ?" if agent_id is not None else ""
    for r in conn.execute(
        f"SELECT {_INDEX_COLS} FROM scorecards s WHERE s.tenant = ? AND s.call_at >= ? AND s.call_at < ?"
        + agent_sql
        + " AND "
        + _latest_clause(conn, tenant, "s"),
        [tenant, since, edge] + ([agent_id] if agent_id is not None else []),
    ):
        yield signed_record(tenant, r)["scorecard"]


def exposure_days(
    db: DB, tenant: str, window_days: int = 30, agent_id: str | None = None, *, now_ms: int | None = None
) -> list[dict[str, Any]]:
    """The exposure window day by day (UTC days by call time, oldest first; the first is cut at the window's
    start): ``{"day", "start_ms", "end_ms", "calls", "with_a_gap", "PASS", "WARN", "FAIL"}`` for every day from
    the window's start to today (and any later day that has calls). The days add up to :func:`exposure`'s
    ``interactions_scanned`` and ``by_verdict`` for the same ``now_ms``: whole hours come from the rollup, the
    partial first hour from the signed records."""
    from datetime import UTC, datetime

    now = int(time.time() * 1000) if now_ms is None else now_ms
    since = window_start(window_days, now)
    edge = -(-since // HOUR_MS) * HOUR_MS
    per_day: dict[int, dict[str, int]] = {}

    def add(day: int, verdict: str, n: int) -> None:
        cell = per_day.setdefault(day, {})
        cell[verdict] = cell.get(verdict, 0) + n

    with _open(db) as conn:
        own_tx = not conn.in_transaction
        if own_tx:
            conn.execute("BEGIN")
        try:
            signed_size(conn, tenant)
            for hour, verdicts in rollup.hourly_verdicts(conn, tenant, edge, agent_id).items():
                for verdict, n in verdicts.items():
                    add(hour // DAY_MS * DAY_MS, verdict, n)
            for sc in _partial_hour(conn, tenant, since, edge, agent_id):
                add(rollup.call_at(sc) // DAY_MS * DAY_MS, str(sc["verdict"]), 1)
        finally:
            if own_tx and conn.in_transaction:
                conn.execute("COMMIT")
    first = since // DAY_MS * DAY_MS
    last = max([now // DAY_MS * DAY_MS, *per_day])
    out = []
    for day in range(first, last + 1, DAY_MS):
        cell = per_day.get(day, {})
        verdicts = {v: cell.get(v, 0) for v in ("PASS", "WARN", "FAIL")}
        calls = sum(cell.values())
        out.append(
            {
                "day": datetime.fromtimestamp(day / 1000, UTC).strftime("%Y-%m-%d"),
                "start_ms": max(day, since),
                "end_ms": day + DAY_MS,
                "calls": calls,
                "with_a_gap": calls - verdicts["PASS"],
                **verdicts,
            }
        )
    return out


def _rule_filter(rules: list[tuple[str, str | None]] | None, pack_id: str | None, alias: str) -> tuple[str, list]:
    """SQL (and arguments) restricting violation rows to ``rules`` (``(rule_id, pack_id)`` pairs) and/or one pack."""
    sql: list[str] = []
    args: list[Any] = []
    if rules is not None:
        if not rules:
            return "1 = 0", []
        sql.append(
            "(" + " OR ".join(f"({alias}.rule_id = ? AND {alias}.pack_id IS NOT DISTINCT FROM ?)" for _ in rules) + ")"
        )
        for rule_id, pack in rules:
            args.extend((rule_id, pack))
    if pack_id is not None:
        sql.append(f"{alias}.pack_id = ?")
        args.append(pack_id)
    return (" AND ".join(sql) or "1 = 1"), args


def rule_activity(
    db: DB,
    tenant: str,
    rules: list[tuple[str, str | None]] | None = None,
    *,
    pack_id: str | None = None,
    since_ms: int,
    until_ms: int | None = None,
    agent_id: str | None = None,
) -> dict[str, Any]:
    """How often ``rules`` (``(rule_id, pack_id)`` pairs; ``None``: every rule) of ``pack_id`` (``None``: any
    pack) fired in the latest record of calls with ``since_ms <= call time < until_ms``:
    ``{"calls": calls in which any of them fired, "findings": {(rule_id, pack_id): findings},
    "days": {UTC day start ms: calls in which any fired}}``.

    Counted over the ``violations`` index, a projection of the signed records that ``trace verify`` checks row by
    row (as it checks the rollup behind :func:`exposure`); aggregates are not re-read from the bodies."""
    where, args = _rule_filter(rules, pack_id, "v")
    sql = [f"v.tenant = ? AND v.call_at >= ? AND {where}"]
    params: list[Any] = [tenant, since_ms, *args]
    if until_ms is not None:
        sql.append("v.call_at < ?")
        params.append(until_ms)
    if agent_id is not None:
        sql.append("v.agent_id = ?")
        params.append(agent_id)
    # aggregated in SQLite (two index range scans, no row reaches Python); a record has one call time, so its
    # calls per day add up to its calls
    with _open(db) as conn:
        signed_size(conn, tenant)
        sql.append(_latest_clause(conn, tenant, "v"))
        where_sql = " AND ".join(sql)
        findings = {
            (rule_id, pack): n
            for rule_id, pack, n in conn.execute(
                f"SELECT v.rule_id, v.pack_id, count(*) FROM violations v WHERE {where_sql} GROUP BY 1, 2", params
            )
        }
        days = {
            int(day) * DAY_MS: n
            for day, n in conn.execute(
                f"SELECT v.call_at / {DAY_MS}, count(DISTINCT v.seq) FROM violations v WHERE {where_sql} GROUP BY 1",
                params,
            )
        }
    return {"calls": sum(days.values()), "findings": findings, "days": days}


#: what :func:`list_calls` filters on, in its cursor's binding order
CALL_FILTERS = ("verdicts", "agent_id", "rule_id", "pack_id", "since_ms", "until_ms", "call_id_contains")


def _call_where(
    conn: Any, tenant: str, filters: dict[str, Any]
) -> tuple[list[str], list[Any]]:
    where = ["s.tenant = ?"]
    args: list[Any] = [tenant]
    verdicts = filters.get("verdicts")
    if verdicts:
        where.append(f"s.verdict IN ({','.join('?' * len(verdicts))})")
        args.extend(verdicts)
    if filters.get("agent_id") is not None:
        where.append("s.agent_id = ?")
        args.append(filters["agent_id"])
    if filters.get("since_ms") is not None:
        where.append("s.call_at >= ?")
        args.append(filters["since_ms"])
    if filters.get("until_ms") is not None:
        where.append("s.call_at < ?")
        args.append(filters["until_ms"])
    if filters.get("call_id_contains"):
        where.append(conn.contains("s.call_id"))
        args.append(filters["call_id_contains"])
    rule_id, pack = filters.get("rule_id"), filters.get("pack_id")
    if rule_id is not None or pack is not None:
        cond = ["v.tenant = s.tenant", "v.seq = s.seq"]
        if rule_id is not None:
            cond.append("v.rule_id = ?")
            args.append(rule_id)
        if pack is not None:
            cond.append("v.pack_id = ?")
            args.append(pack)
        where.append(f"EXISTS (SELECT 1 FROM violations v WHERE {' AND '.join(cond)})")
    where.append(_latest_clause(conn, tenant, "s"))
    return where, args


def _call_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """``filters`` (keyword arguments of :func:`list_calls`) in :data:`CALL_FILTERS` order, unset ones ``None``."""
    unknown = set(filters) - set(CALL_FILTERS)
    if unknown:
        raise TypeError(f"unknown call filter(s): {', '.join(sorted(unknown))} (known: {', '.join(CALL_FILTERS)})")
    out = {name: filters.get(name) for name in CALL_FILTERS}
    out["verdicts"] = sorted(out["verdicts"]) if out["verdicts"] else None
    out["call_id_contains"] = out["call_id_contains"] or None
    return out


def list_calls(
    db: DB,
    tenant: str,
    *,
    limit: int = 50,
    cursor: str | None = None,
    with_scorecards: bool = False,
    **filters: Any,
) -> dict[str, Any]:
    """The dashboard's call list: the latest record of each call, newest call first, filtered (keyword arguments,
    :data:`CALL_FILTERS`) by ``verdicts`` (a tuple), ``agent_id``, ``rule_id`` / ``pack_id`` (a rule or pack that
    fired in it), a call-time range ``[since_ms, until_ms)`` and ``call_id_contains`` (a call id substring).

    Returns ``{"object": "list", "data": [TraceInteraction + "call_at"], "has_more", "next_cursor"}`` (with
    ``with_scorecards``, each item also carries its signed ``scorecard``). Rows are rebuilt from their signed
    bodies (:func:`signed_record`). ``limit`` is clamped to 1..1000; the cursor is bound to the filters."""
    n = max(1, min(1000, int(limit)))
    filters = _call_filters(filters)
    with _open(db) as conn:
        secret = cursor_secret(conn)
        signed_size(conn, tenant)
        where, args = _call_where(conn, tenant, filters)
        if cursor:
            where.append("(s.call_at, s.seq) < (?, ?)")
            args.extend(_cursor_key(secret, cursor, "calls", tenant, filters, 2))
        rows = conn.execute(
            f"SELECT {_INDEX_COLS} FROM scorecards s WHERE " + " AND ".join(where)
            + " ORDER BY s.call_at DESC, s.seq DESC LIMIT ?",
            [*args, n + 1],
        ).fetchall()
    has_more = len(rows) > n
    rows = rows[:n]
    data = []
    for r in rows:
        sc = signed_record(tenant, r)["scorecard"]
        item = {**_interaction(sc), "call_at": r[4]}
        if with_scorecards:
            item["scorecard"] = sc
        data.append(item)
    nxt = encode_cursor(secret, "calls", tenant, filters, [rows[-1][4], rows[-1][0]]) if has_more else None
    return {"object": "list", "data": data, "has_more": has_more, "next_cursor": nxt}


def count_calls(db: DB, tenant: str, **filters: Any) -> int:
    """How many calls :func:`list_calls` would list with these filters (over the index columns)."""
    filters = _call_filters(filters)
    with _open(db) as conn:
        signed_size(conn, tenant)
        where, args = _call_where(conn, tenant, filters)
        return int(conn.execute("SELECT count(*) FROM scorecards s WHERE " + " AND ".join(where), args).fetchone()[0])


def agent_ids(db: DB, tenant: str, limit: int = 500) -> list[str]:
    """The agents the tenant's calls name (for filter menus), sorted."""
    with _open(db) as conn:
        signed_size(conn, tenant)
        rows = conn.execute(
            "SELECT DISTINCT agent_id FROM scorecards WHERE tenant = ? AND agent_id IS NOT NULL ORDER BY agent_id LIMIT ?",
            (tenant, limit),
        ).fetchall()
    return [r[0] for r in rows]


def latest_checkpoint(db: DB, tenant: str) -> dict[str, Any] | None:
    """The tenant's latest signed checkpoint, after :func:`signed_size` checked that it covers the whole log and
    is signed by the log's key: ``{"size", "note", "origin", "root", "key_ids"}``, or ``None`` for an empty log."""
    import base64

    from trace_engine.evidence.signing import parse_checkpoint

    with _open(db) as conn:
        size = signed_size(conn, tenant)
        if size == 0:
            return None
        row = conn.execute(
            "SELECT note FROM checkpoints WHERE tenant = ? ORDER BY size DESC, rowid DESC LIMIT 1", (tenant,)
        ).fetchone()
    ck = parse_checkpoint(row[0])
    return {
        "size": ck.size,
        "note": row[0],
        "origin": ck.origin,
        "root": base64.b64encode(ck.root).decode(),
        "key_ids": ck.key_ids,
    }
