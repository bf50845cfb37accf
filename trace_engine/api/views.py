"""The read views behind ``/v1/trace/interactions``, ``/violations``, ``/findings`` and ``/exposure``.

Interactions, violations, exposure and the detail view are :mod:`trace_engine.store.reads`; this module adds the
Tier-2 findings list (read from the store's ``tier2_findings`` table), maps cursor errors to API errors (a cursor
minted for another tenant is a 404, a malformed or altered one a 400) and serves exposure from an hourly rollup.

Exposure rollup: the store's exposure aggregate scans every call in the window (about 2 s for 100,000 calls).
The API keeps per-tenant, per-hour counts of verdicts and of calls in which each rule fired (``api_exposure_*``),
brought up to date from the append-only log on each request (only records appended since the last request are
read), and answers a window from the whole hours plus an exact scan of the partial first hour. The result is
identical to :func:`trace_engine.store.reads.exposure` (tests compare them).
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
from trace_engine.store.cursor import CursorError


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




def list_findings(conn: sqlite3.Connection, tenant: str, *, cursor: str | None = None, **filters: Any) -> dict[str, Any]:
    """``GET /v1/trace/findings``: the Tier-2 store's list, with cursor errors as HTTP errors."""
    from trace_engine.tier2.store import list_findings as store_list_findings

    try:
        return store_list_findings(conn, tenant, cursor=cursor, **filters)
    except CursorError as exc:
        raise cursor_error(exc, cursor or "", tenant) from None


HOUR_MS = 3_600_000
_NULL = "\x00"  # pack_id NULL in the rollup's primary key


def catch_up(conn: sqlite3.Connection, tenant: str) -> int:
    """Fold the tenant's records appended since the last call into the hourly rollup; returns the watermark.

    Each record adds 1 to its (hour, verdict) and to each distinct (rule_id, pack_id) that fired in it; a record
    that supersedes another first takes the superseded record's contributions away, so the rollup always
    describes the latest record of every call, as the read views do.
    """
    row = conn.execute("SELECT last_seq FROM api_exposure_state WHERE tenant = ?", (tenant,)).fetchone()
    last = row[0] if row else -1
    head = conn.execute("SELECT max(seq) FROM scorecards WHERE tenant = ?", (tenant,)).fetchone()[0]
    if head is None or head <= last:
        return last
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT last_seq FROM api_exposure_state WHERE tenant = ?", (tenant,)).fetchone()
        last = row[0] if row else -1
        verdicts: dict[tuple[int, str], int] = {}
        rules: dict[tuple[int, str, str], int] = {}
        fired: dict[int, set[tuple[str, str]]] = {}
        for seq, rule_id, pack_id in conn.execute(
            "SELECT seq, rule_id, pack_id FROM violations WHERE tenant = ? AND seq > ?", (tenant, last)
        ):
            fired.setdefault(seq, set()).add((rule_id, _NULL if pack_id is None else pack_id))

        def add(hour: int, verdict: str, pairs: set[tuple[str, str]], sign: int) -> None:
            verdicts[(hour, verdict)] = verdicts.get((hour, verdict), 0) + sign
            for rule_id, pack_id in pairs:
                rules[(hour, rule_id, pack_id)] = rules.get((hour, rule_id, pack_id), 0) + sign

        top = last
        for seq, scored_at, verdict, supersedes in conn.execute(
            "SELECT seq, scored_at, verdict, supersedes FROM scorecards WHERE tenant = ? AND seq > ? ORDER BY seq",
            (tenant, last),
        ).fetchall():
            if supersedes:
                old = conn.execute(
                    "SELECT seq, scored_at, verdict FROM scorecards WHERE tenant = ? AND audit_hash = ?",
                    (tenant, supersedes),
                ).fetchone()
                if old is not None:
                    pairs = fired.get(old[0])
                    if pairs is None:
                        pairs = {
                            (r, _NULL if p is None else p)
                            for r, p in conn.execute(
                                "SELECT rule_id, pack_id FROM violations WHERE tenant = ? AND seq = ?",
                                (tenant, old[0]),
                            )
                        }
                    add(old[1] // HOUR_MS * HOUR_MS, old[2], pairs, -1)
            add(scored_at // HOUR_MS * HOUR_MS, verdict, fired.get(seq, set()), 1)
            top = seq
        conn.executemany(
            "INSERT INTO api_exposure_verdicts(tenant, hour, verdict, n) VALUES (?,?,?,?) "
            "ON CONFLICT(tenant, hour, verdict) DO UPDATE SET n = n + excluded.n",
            [(tenant, h, v, n) for (h, v), n in verdicts.items() if n],
        )
        conn.executemany(
            "INSERT INTO api_exposure_rules(tenant, hour, rule_id, pack_id, n) VALUES (?,?,?,?,?) "
            "ON CONFLICT(tenant, hour, rule_id, pack_id) DO UPDATE SET n = n + excluded.n",
            [(tenant, h, r, p, n) for (h, r, p), n in rules.items() if n],
        )
        conn.execute(
            "INSERT INTO api_exposure_state(tenant, last_seq) VALUES (?, ?) "
            "ON CONFLICT(tenant) DO UPDATE SET last_seq = excluded.last_seq",
            (tenant, top),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return top


class WholeHoursMemo:
    """Per-app memo of the whole-hours part of an exposure: keyed by (tenant, rollup watermark, first whole hour),
    which fully determines it (the rollup only changes when the watermark moves), so a hit is never stale."""

    def __init__(self, max_entries: int = 512):
        self.max_entries = max_entries
        self._data: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def put(self, key: tuple, value: tuple) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)


def _whole_hours(
    conn: sqlite3.Connection, tenant: str, edge: int
) -> tuple[dict[str, int], dict[tuple[str, str | None], int]]:
    verdicts: dict[str, int] = {}
    for verdict, c in conn.execute(
        "SELECT verdict, sum(n) FROM api_exposure_verdicts WHERE tenant = ? AND hour >= ? GROUP BY verdict",
        (tenant, edge),
    ):
        verdicts[verdict] = verdicts.get(verdict, 0) + c
    counts: dict[tuple[str, str | None], int] = {}
    for rule_id, pack_id, c in conn.execute(
        "SELECT rule_id, pack_id, sum(n) FROM api_exposure_rules WHERE tenant = ? AND hour >= ? GROUP BY rule_id, pack_id",
        (tenant, edge),
    ):
        k = (rule_id, None if pack_id == _NULL else pack_id)
        counts[k] = counts.get(k, 0) + c
    return verdicts, counts


def exposure_rollup(
    conn: sqlite3.Connection,
    tenant: str,
    window_days: int = 30,
    *,
    now_ms: int | None = None,
    memo: WholeHoursMemo | None = None,
) -> dict[str, Any]:
    """``GET /v1/trace/exposure``, equal to :func:`trace_engine.store.reads.exposure` but read from the hourly
    rollup: whole hours of the window from ``api_exposure_*``, the partial first hour exactly from the evidence
    tables, all in one read snapshot at the rollup's watermark."""
    window_days = max(1, min(365, int(window_days)))
    now = int(time.time() * 1000) if now_ms is None else now_ms
    since = now - window_days * reads.DAY_MS
    edge = -(-since // HOUR_MS) * HOUR_MS  # first whole hour inside the window
    catch_up(conn, tenant)
    conn.execute("BEGIN")
    try:
        row = conn.execute("SELECT last_seq FROM api_exposure_state WHERE tenant = ?", (tenant,)).fetchone()
        wm = row[0] if row else -1
        whole = memo.get((tenant, wm, edge)) if memo is not None else None
        if whole is None:
            whole = _whole_hours(conn, tenant, edge)
            if memo is not None:
                memo.put((tenant, wm, edge), whole)
        by_verdict = {"PASS": 0, "WARN": 0, "FAIL": 0, **whole[0]}
        counts: dict[tuple[str, str | None], int] = dict(whole[1])
        # unary + keeps SQLite from answering the seq bounds with the (tenant, seq) index (a scan of the whole log)
        latest = "NOT EXISTS (SELECT 1 FROM scorecards n WHERE n.tenant = {a}.tenant AND n.supersedes = {a}.audit_hash AND +n.seq <= ?)"
        for verdict, c in conn.execute(
            "SELECT s.verdict, count(*) FROM scorecards s WHERE s.tenant = ? AND s.scored_at >= ? AND s.scored_at < ? "
            "AND +s.seq <= ? AND " + latest.format(a="s") + " GROUP BY s.verdict",
            (tenant, since, edge, wm, wm),
        ):
            by_verdict[verdict] = by_verdict.get(verdict, 0) + c
        for rule_id, pack_id, c in conn.execute(
            "SELECT v.rule_id, v.pack_id, count(DISTINCT v.seq) FROM violations v WHERE v.tenant = ? AND v.scored_at >= ? "
            "AND v.scored_at < ? AND +v.seq <= ? AND "
            + latest.format(a="v")
            + " GROUP BY v.rule_id, v.pack_id",
            (tenant, since, edge, wm, wm),
        ):
            counts[(rule_id, pack_id)] = counts.get((rule_id, pack_id), 0) + c
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    by_verdict = {k: v for k, v in by_verdict.items() if v or k in ("PASS", "WARN", "FAIL")}
    scanned = sum(by_verdict.values())
    ranked = sorted(
        ((r, p, c) for (r, p), c in counts.items() if c > 0),
        key=lambda x: (-x[2], x[0], x[1] is not None, x[1] or ""),
    )
    gap = scanned - by_verdict.get("PASS", 0)
    by_rule = [
        {"rule_id": r, "pack_id": p, "count": c, "rate": (c / scanned) if scanned else 0.0}
        for r, p, c in ranked
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
