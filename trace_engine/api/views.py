"""The read views behind ``/v1/trace/interactions``, ``/violations``, ``/findings`` and ``/exposure``.

Interactions, violations, exposure and the detail view are :mod:`trace_engine.store.reads`; this module adds the
Tier-2 findings list (read from the store's ``tier2_findings`` table), maps cursor errors to API errors (a cursor
minted for another tenant is a 404, a malformed or altered one a 400) and caches exposure aggregates.

Exposure cache: an aggregate is reused while the tenant's log has not grown (same newest ``seq``) and for at most ``EXPOSURE_TTL_S`` seconds, so the trailing window moves on. Every hit is
re-validated with one indexed lookup.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
from collections import OrderedDict
from typing import Any

from trace_engine.api.errors import ApiError, bad_request, not_found
from trace_engine.store import reads
from trace_engine.store.cursor import CursorError, decode_cursor, encode_cursor
from trace_engine.store.db import cursor_secret

EXPOSURE_TTL_S = 5.0
_EXPOSURE_MAX = 256


def cursor_error(exc: CursorError, cursor: str, tenant: str) -> ApiError:
    """Another tenant's (validly signed) cursor: 404, as for any other tenant's resource. Anything else: 400."""
    owner = None
    try:
        payload = cursor.split(".", 1)[0]
        owner = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("t")
    except Exception:  # noqa: BLE001 - a cursor we cannot read is simply malformed
        owner = None
    if owner is not None and owner != tenant and "another tenant" in str(exc):
        return not_found("No such cursor for this tenant.")
    return bad_request(f"Invalid cursor: {exc}.", "invalid_cursor", param="cursor")


def list_interactions(conn: sqlite3.Connection, tenant: str, **kw: Any) -> dict[str, Any]:
    try:
        return reads.list_interactions(conn, tenant, **kw)
    except CursorError as exc:
        raise cursor_error(exc, kw.get("cursor") or "", tenant) from None


def list_violations(conn: sqlite3.Connection, tenant: str, **kw: Any) -> dict[str, Any]:
    try:
        return reads.list_violations(conn, tenant, **kw)
    except CursorError as exc:
        raise cursor_error(exc, kw.get("cursor") or "", tenant) from None


_FINDING_FILTERS = ("check_id", "action", "severity")


def _finding(body: str, interaction_id: str) -> dict[str, Any]:
    d = json.loads(body)
    if not isinstance(d, dict):
        d = {}
    d.setdefault("object", "trace.finding")
    d.setdefault("interaction_id", interaction_id)
    d.setdefault("tier", 2)
    return d


def list_findings(
    conn: sqlite3.Connection,
    tenant: str,
    *,
    check_id: str | None = None,
    action: str | None = None,
    severity: str | None = None,
    interaction_id: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> dict[str, Any]:
    """``GET /v1/trace/findings``: Tier-2 findings, newest first, keyset-paginated by insertion order."""
    n = max(1, min(reads.MAX_LIMIT, int(limit)))
    filters = {"check_id": check_id, "action": action, "severity": severity, "interaction_id": interaction_id}
    secret = cursor_secret(conn)
    where = ["tenant = ?"]
    args: list[Any] = [tenant]
    if interaction_id is not None:
        where.append("interaction_id = ?")
        args.append(interaction_id)
    for name in _FINDING_FILTERS:
        val = filters[name]
        if val is not None:
            where.append(f"json_extract(body, '$.{name}') = ?")
            args.append(val)
    if cursor:
        try:
            k = decode_cursor(secret, cursor, "findings", tenant, filters)
        except CursorError as exc:
            raise cursor_error(exc, cursor, tenant) from None
        if len(k) != 1:
            raise bad_request("Invalid cursor: malformed cursor.", "invalid_cursor", param="cursor")
        where.append("rowid < ?")
        args.append(k[0])
    rows = conn.execute(
        "SELECT rowid, body, interaction_id FROM tier2_findings WHERE " + " AND ".join(where) + " ORDER BY rowid DESC LIMIT ?",
        [*args, n + 1],
    ).fetchall()
    has_more = len(rows) > n
    rows = rows[:n]
    nxt = encode_cursor(secret, "findings", tenant, filters, [rows[-1][0]]) if has_more else None
    return {"object": "list", "data": [_finding(r[1], r[2]) for r in rows], "has_more": has_more, "next_cursor": nxt}


class ExposureCache:
    """A small LRU of exposure aggregates keyed by (tenant, window, agent), valid while the log is unchanged."""

    def __init__(self, ttl_s: float = EXPOSURE_TTL_S, max_entries: int = _EXPOSURE_MAX):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._data: OrderedDict[tuple, tuple[float, tuple, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _version(conn: sqlite3.Connection, tenant: str) -> tuple:
        return conn.execute("SELECT max(seq) FROM scorecards WHERE tenant = ?", (tenant,)).fetchone()

    def get(self, conn: sqlite3.Connection, tenant: str, window_days: int, agent_id: str | None = None) -> dict[str, Any]:
        key = (tenant, window_days, agent_id)
        version = self._version(conn, tenant)
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and hit[1] == version and now - hit[0] < self.ttl_s:
                self._data.move_to_end(key)
                return hit[2]
        value = reads.exposure(conn, tenant, window_days=window_days, agent_id=agent_id)
        with self._lock:
            self._data[key] = (now, version, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
        return value
