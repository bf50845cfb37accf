"""Read views over the evidence log, in exactly the seed API's shapes.

Only the latest record of each call is visible: a record superseded by a later one (same call, another config
or engine version) is skipped with an anti-join on the ``scorecards_supersedes`` partial index. History stays in
the log and in ``trace verify``.

Lists are newest first (``scored_at`` desc, then ``seq`` desc; violations also by finding index desc) and use
keyset pagination with signed cursors (:mod:`trace_engine.store.cursor`). ``limit`` is clamped to 1..100.

``db`` may be a path or an open ``sqlite3.Connection``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from trace_engine.evidence.metrics import derived_metrics
from trace_engine.store.cursor import decode_cursor, encode_cursor
from trace_engine.store.db import connect, cursor_secret

MAX_LIMIT = 100
DAY_MS = 86_400_000
_LATEST = "NOT EXISTS (SELECT 1 FROM scorecards n WHERE n.tenant = {a}.tenant AND n.supersedes = {a}.audit_hash)"

DB = str | os.PathLike[str] | sqlite3.Connection


@contextmanager
def _open(db: DB) -> Iterator[sqlite3.Connection]:
    if isinstance(db, sqlite3.Connection):
        yield db
        return
    conn = connect(db, create=False)
    try:
        yield conn
    finally:
        conn.close()


def _latest_clause(conn: sqlite3.Connection, tenant: str, alias: str) -> str:
    """The "not superseded" anti-join, or nothing when the tenant has no superseding record at all."""
    row = conn.execute(
        "SELECT 1 FROM scorecards WHERE tenant = ? AND supersedes IS NOT NULL LIMIT 1", (tenant,)
    ).fetchone()
    return _LATEST.format(a=alias) if row else "1"


def _limit(limit: int | None) -> int:
    if limit is None:
        return 20
    return max(1, min(MAX_LIMIT, int(limit)))


def _interaction(row: sqlite3.Row | tuple) -> dict[str, Any]:
    call_id, agent_id, product, verdict, findings, blocked, modified, packs, scored_at = row[:9]
    return {
        "object": "trace.interaction",
        "id": call_id,
        "agent_id": agent_id,
        "product": product,
        "verdict": verdict,
        "findings": findings,
        "blocked_turns": blocked,
        "modified_turns": modified,
        "packs_enforced": packs,
        "scored_at": scored_at,
    }


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
    with _open(db) as conn:
        secret = cursor_secret(conn)
        where = ["s.tenant = ?"]
        args: list[Any] = [tenant]
        if verdict is not None:
            where.append("s.verdict = ?")
            args.append(verdict)
        if agent_id is not None:
            where.append("s.agent_id = ?")
            args.append(agent_id)
        if cursor:
            k = decode_cursor(secret, cursor, "interactions", tenant, filters)
            if len(k) != 2:
                from trace_engine.store.cursor import CursorError

                raise CursorError("malformed cursor")
            where.append("(s.scored_at, s.seq) < (?, ?)")
            args.extend(k)
        where.append(_latest_clause(conn, tenant, "s"))
        rows = conn.execute(
            "SELECT s.call_id, s.agent_id, s.product, s.verdict, s.findings, s.blocked_turns, s.modified_turns, "
            "s.packs_enforced, s.scored_at, s.seq FROM scorecards s WHERE "
            + " AND ".join(where)
            + " ORDER BY s.scored_at DESC, s.seq DESC LIMIT ?",
            [*args, n + 1],
        ).fetchall()
    has_more = len(rows) > n
    rows = rows[:n]
    nxt = encode_cursor(secret, "interactions", tenant, filters, [rows[-1][8], rows[-1][9]]) if has_more else None
    return {"object": "list", "data": [_interaction(r) for r in rows], "has_more": has_more, "next_cursor": nxt}


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
    with _open(db) as conn:
        secret = cursor_secret(conn)
        where = ["v.tenant = ?"]
        args: list[Any] = [tenant]
        for col, val in filters.items():
            if val is not None:
                where.append(f"v.{col} = ?")
                args.append(val)
        if cursor:
            k = decode_cursor(secret, cursor, "violations", tenant, filters)
            if len(k) != 3:
                from trace_engine.store.cursor import CursorError

                raise CursorError("malformed cursor")
            where.append("(v.scored_at, v.seq, v.idx) < (?, ?, ?)")
            args.extend(k)
        where.append(_latest_clause(conn, tenant, "v"))
        rows = conn.execute(
            "SELECT v.id, v.interaction_id, v.agent_id, v.rule_id, v.pack_id, v.severity, v.action_taken, "
            "v.citation, v.reason, v.at_t, v.scored_at, v.seq, v.idx FROM violations v WHERE "
            + " AND ".join(where)
            + " ORDER BY v.scored_at DESC, v.seq DESC, v.idx DESC LIMIT ?",
            [*args, n + 1],
        ).fetchall()
    has_more = len(rows) > n
    rows = rows[:n]
    nxt = encode_cursor(secret, "violations", tenant, filters, list(rows[-1][10:13])) if has_more else None
    data = [
        {
            "object": "trace.violation",
            "id": r[0],
            "interaction_id": r[1],
            "agent_id": r[2],
            "rule_id": r[3],
            "pack_id": r[4],
            "severity": r[5],
            "action_taken": r[6],
            "citation": r[7] or "",
            "reason": r[8] or "",
            "at_t": r[9],
        }
        for r in rows
    ]
    return {"object": "list", "data": data, "has_more": has_more, "next_cursor": nxt}


def exposure(
    db: DB, tenant: str, window_days: int = 30, agent_id: str | None = None, *, now_ms: int | None = None
) -> dict[str, Any]:
    """``GET /v1/trace/exposure`` over the latest scorecards with ``scored_at`` in the trailing window.

    ``with_a_gap`` counts interactions whose verdict is not PASS. ``by_rule[].count`` is the number of
    interactions in which the rule fired (at least once) and ``rate`` is ``count / interactions_scanned``;
    ranked by count, then rule_id. ``top_exposure`` is the first of that ranking (``null`` when none fired).
    Aggregated in SQL.
    """
    window_days = max(1, min(365, int(window_days)))
    now = int(time.time() * 1000) if now_ms is None else now_ms
    since = now - window_days * DAY_MS
    with _open(db) as conn:
        agent_sql = " AND s.agent_id = ?" if agent_id is not None else ""
        latest = _latest_clause(conn, tenant, "s")
        args: list[Any] = [tenant, since] + ([agent_id] if agent_id is not None else [])
        by_verdict = {"PASS": 0, "WARN": 0, "FAIL": 0}
        for verdict, c in conn.execute(
            "SELECT s.verdict, count(*) FROM scorecards s WHERE s.tenant = ? AND s.scored_at >= ?"
            + agent_sql
            + " AND "
            + latest
            + " GROUP BY s.verdict",
            args,
        ):
            by_verdict[verdict] = by_verdict.get(verdict, 0) + c
        scanned = sum(by_verdict.values())
        rules = conn.execute(
            "SELECT s.rule_id, s.pack_id, count(DISTINCT s.seq) AS c FROM violations s "
            "WHERE s.tenant = ? AND s.scored_at >= ?"
            + agent_sql
            + " AND "
            + latest
            + " GROUP BY s.rule_id, s.pack_id ORDER BY c DESC, s.rule_id, s.pack_id",
            args,
        ).fetchall()
    gap = scanned - by_verdict.get("PASS", 0)
    by_rule = [
        {"rule_id": r, "pack_id": p, "count": c, "rate": (c / scanned) if scanned else 0.0} for r, p, c in rules
    ]
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


def interaction_detail(db: DB, tenant: str, call_id: str) -> dict[str, Any] | None:
    """``GET /v1/trace/interactions/{id}``: the latest scorecard of the call, or ``None`` when unknown."""
    with _open(db) as conn:
        row = conn.execute(
            "SELECT call_id, agent_id, product, verdict, findings, blocked_turns, modified_turns, packs_enforced, "
            "scored_at, body, audit_hash, seq FROM scorecards WHERE tenant = ? AND call_id = ? "
            "ORDER BY +seq DESC LIMIT 1",
            (tenant, call_id),
        ).fetchone()
        if row is None:
            return None
        tier2 = [
            json.loads(b)
            for (b,) in conn.execute(
                "SELECT body FROM tier2_findings WHERE tenant = ? AND interaction_id = ? ORDER BY rowid",
                (tenant, call_id),
            )
        ]
    out = _interaction(row)
    sc = json.loads(row[9])["scorecard"]
    timeline = sc.get("timeline") or []
    out.update(
        {
            "audit_hash": row[10],
            "seq": row[11],
            "scorecard": sc,
            "tier2_findings": tier2,
            "timeline": timeline,
            "quality_metrics": sc.get("quality_metrics"),
            "derived_metrics": derived_metrics(timeline),
        }
    )
    return out
