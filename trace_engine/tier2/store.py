"""Findings in the evidence DB's ``tier2_findings`` table (same conventions as ``EvidenceLog.add_tier2_finding``:
RFC 8785 canonical body, ``tfind_`` ids, the call's latest ``audit_hash`` when its scorecard is already logged).

The table sits beside the hash chain: appending here never changes any scorecard's audit hash. Lists are newest
first (by rowid) with signed keyset cursors (:mod:`trace_engine.store.cursor`, view ``findings``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from trace_engine.evidence.canonical import canonical_bytes
from trace_engine.store.cursor import CursorError, decode_cursor, encode_cursor
from trace_engine.store.db import connect, cursor_secret
from trace_engine.store.reads import DB, _limit, _open

ALERT_SQL = "(json_extract(body, '$.action') = 'escalate' OR json_extract(body, '$.severity') = 'critical')"


def append_findings(db: DB, tenant: str, findings: Iterable[dict[str, Any]]) -> int:
    """Append findings (dicts in the ``TraceFinding`` shape) in one transaction; returns how many were written.
    A finding whose id is already stored for the tenant is skipped (judging is idempotent)."""
    own = not isinstance(db, sqlite3.Connection)
    conn = connect(db) if own else db
    n = 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for f in findings:
                call_id = f.get("interaction_id")
                if not call_id:
                    raise ValueError("tier-2 finding needs interaction_id")
                body = dict(f)
                body.setdefault("object", "trace.finding")
                body.setdefault("tier", 2)
                fid = body.get("id")
                if fid and conn.execute(
                    "SELECT 1 FROM tier2_findings WHERE tenant = ? AND id = ?", (tenant, fid)
                ).fetchone():
                    continue
                row = conn.execute(
                    "SELECT audit_hash FROM scorecards WHERE tenant = ? AND call_id = ? ORDER BY seq DESC LIMIT 1",
                    (tenant, call_id),
                ).fetchone()
                conn.execute(
                    "INSERT INTO tier2_findings(tenant, id, interaction_id, audit_hash, body, created_at) "
                    "VALUES (?,?,?,?,?,?)",
                    (tenant, fid, call_id, row[0] if row else None, canonical_bytes(body).decode(),
                     int(time.time() * 1000)),
                )
                n += 1
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        if own:
            conn.close()
    return n


def list_findings(
    db: DB,
    tenant: str = "default",
    check_id: str | None = None,
    severity: str | None = None,
    interaction_id: str | None = None,
    alerts: bool = False,
    limit: int = 20,
    cursor: str | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    """``{object: "list", data: [TraceFinding], has_more, next_cursor}``, newest first, keyset-paginated by
    insertion order. ``alerts`` keeps only ``escalate`` or ``critical`` findings (the alerts feed). Shared by
    ``trace findings`` and ``GET /v1/trace/findings``; raises :class:`CursorError` for a bad cursor."""
    n = _limit(limit)
    filters = {
        "check_id": check_id,
        "action": action,
        "severity": severity,
        "interaction_id": interaction_id,
        "alerts": alerts or None,
    }
    with _open(db) as conn:
        secret = cursor_secret(conn)
        where = ["tenant = ?"]
        args: list[Any] = [tenant]
        for name in ("check_id", "action", "severity"):
            if filters[name] is not None:
                where.append(f"json_extract(body, '$.{name}') = ?")
                args.append(filters[name])
        if interaction_id is not None:
            where.append("interaction_id = ?")
            args.append(interaction_id)
        if alerts:
            where.append(ALERT_SQL)
        if cursor:
            k = decode_cursor(secret, cursor, "findings", tenant, filters)
            if len(k) != 1:
                raise CursorError("malformed cursor")
            where.append("rowid < ?")
            args.append(k[0])
        rows = conn.execute(
            "SELECT rowid, body, interaction_id FROM tier2_findings WHERE " + " AND ".join(where)
            + " ORDER BY rowid DESC LIMIT ?",
            [*args, n + 1],
        ).fetchall()
    has_more = len(rows) > n
    rows = rows[:n]
    nxt = encode_cursor(secret, "findings", tenant, filters, [rows[-1][0]]) if has_more else None
    return {"object": "list", "data": [_finding(body, iid) for _, body, iid in rows], "has_more": has_more, "next_cursor": nxt}


def _finding(body: str, interaction_id: str) -> dict[str, Any]:
    """A stored finding in the ``TraceFinding`` shape (tolerating rows written before a field existed)."""
    try:
        d = json.loads(body)
    except ValueError:
        d = {}
    if not isinstance(d, dict):
        d = {}
    d.setdefault("object", "trace.finding")
    d.setdefault("interaction_id", interaction_id)
    d.setdefault("tier", 2)
    return d


def list_alerts(db: DB, tenant: str = "default", limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
    """The alerts feed: ``escalate`` and ``critical`` findings, newest first."""
    return list_findings(db, tenant, alerts=True, limit=limit, cursor=cursor)
