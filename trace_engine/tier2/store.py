"""Tier-2 findings: signed ``tier2_finding`` records of the tenant's log, projected into the
``tier2_findings`` table (RFC 8785 canonical body, ``tfind_`` ids, the call's latest ``audit_hash`` when its
scorecard is already logged). See ``EvidenceLog.add_tier2_findings``.

A finding is appended after the call's scorecard and never changes its audit hash. Lists are newest first (by
position in the log) with signed keyset cursors (:mod:`trace_engine.store.cursor`, view ``findings``); every
listed row is checked against its signed record first (:func:`trace_engine.store.reads.signed_findings`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trace_engine.store.cursor import CursorError, decode_cursor, encode_cursor
from trace_engine.store.interfaces import Store
from trace_engine.store.reads import DB, _limit, _open, cursor_secret, signed_findings, signed_size


def append_findings(db: Any, tenant: str, findings: Iterable[dict[str, Any]]) -> int:
    """Append findings (dicts in the ``TraceFinding`` shape) as signed ``tier2_finding`` records of the tenant's
    log, in one transaction; returns how many were written. A finding whose id is already stored for the tenant
    is skipped (judging is idempotent).

    ``db`` is an :class:`~trace_engine.store.writer.EvidenceWriter` (the findings are queued to it, same key and
    sequencer as the scorecards; returns the number queued), an :class:`~trace_engine.store.log.EvidenceLog`, an
    open :class:`~trace_engine.store.Store`, or a database path or URL (the log's default key beside it)."""
    from trace_engine.store.log import EvidenceLog, log_for
    from trace_engine.store.writer import EvidenceWriter

    items = list(findings)
    for f in items:
        if not f.get("interaction_id"):
            raise ValueError("tier-2 finding needs interaction_id")
    if not items:
        return 0
    if isinstance(db, EvidenceWriter):
        if tenant != db.tenant:
            raise ValueError(f"findings for tenant {tenant!r} given to the writer of tenant {db.tenant!r}")
        return len(items) if db.submit_findings(items) else 0
    if isinstance(db, EvidenceLog):
        return db.add_tier2_findings(tenant, items)
    if isinstance(db, Store):
        return log_for(db).add_tier2_findings(tenant, items)
    with EvidenceLog(db) as log:
        return log.add_tier2_findings(tenant, items)


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
    with _open(db) as session:
        secret = cursor_secret(session)
        signed_size(session, tenant)
        before = None
        if cursor:
            k = decode_cursor(secret, cursor, "findings", tenant, filters)
            if len(k) != 1:
                raise CursorError("malformed cursor")
            before = k[0]
        rows = session.finding_rows(tenant, filters, alerts, before, n + 1)
        has_more = len(rows) > n
        rows = rows[:n]
        data = signed_findings(session, tenant, rows)
    nxt = encode_cursor(secret, "findings", tenant, filters, [rows[-1][0]]) if has_more else None
    return {"object": "list", "data": data, "has_more": has_more, "next_cursor": nxt}


def list_alerts(db: DB, tenant: str = "default", limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
    """The alerts feed: ``escalate`` and ``critical`` findings, newest first."""
    return list_findings(db, tenant, alerts=True, limit=limit, cursor=cursor)
