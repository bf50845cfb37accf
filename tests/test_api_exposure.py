"""The exposure the API serves (the store's hourly rollup plus the partial first hour) equals a direct count over
the latest scorecard of every call, by call start time, across windows, supersedes and appends."""

from __future__ import annotations

import random

import pytest

from trace_engine.api.tables import open_db
from trace_engine.api.views import WholeHoursMemo, exposure_rollup
from trace_engine.evidence.scorecard import Finding
from trace_engine.evidence.signing import SigningKey
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store.log import EvidenceLog
from trace_engine.store.reads import exposure

HOUR = 3_600_000
DAY = 24 * HOUR
NOW = 1_770_000_000_000 + 1234567


def _card(i, tenant, base, step, **kw):
    sc = synthetic_scorecard(i, tenant, base_ms=base, **kw)
    sc.started_at = base + i * step  # when the call happened: what windows count by
    sc.scored_at = NOW  # all scored at once (a re-scoring run)
    return sc


LATEST: dict[str, dict] = {}  # tenant -> call_id -> latest scorecard appended


def _log(db, key, cards):
    with EvidenceLog(db, key) as log:
        for r, sc in zip(log.append_many(cards), cards, strict=True):
            if r.status == "appended":
                LATEST.setdefault(sc.tenant, {})[sc.call_id] = sc


def direct(tenant, window_days, now):
    since = now - window_days * DAY
    calls = [sc for sc in LATEST.get(tenant, {}).values() if sc.started_at >= since]
    by_verdict = {v: sum(sc.verdict == v for sc in calls) for v in ("PASS", "WARN", "FAIL")}
    counts = {}
    for sc in calls:
        for k in {(f.rule_id, f.pack_id) for f in sc.findings}:
            counts[k] = counts.get(k, 0) + 1
    ranked = sorted(counts.items(), key=lambda x: (-x[1], x[0][0], x[0][1] is not None, x[0][1] or ""))
    n = len(calls)
    by_rule = [{"rule_id": r, "pack_id": p, "count": c, "rate": c / n if n else 0.0} for (r, p), c in ranked]
    gap = n - by_verdict["PASS"]
    return {
        "object": "trace.exposure", "window_days": window_days, "interactions_scanned": n, "with_a_gap": gap,
        "gap_rate": gap / n if n else 0.0, "by_rule": by_rule, "by_verdict": by_verdict,
        "top_exposure": by_rule[0]["rule_id"] if by_rule else None,
    }


@pytest.fixture()
def db(tmp_path):
    return tmp_path / "t.db"


MEMO = WholeHoursMemo()


def _same(conn, tenant, windows, now=NOW):
    for w in windows:
        want = direct(tenant, w, now)
        assert exposure_rollup(conn, tenant, w, now_ms=now) == want, w
        assert exposure_rollup(conn, tenant, w, now_ms=now, memo=MEMO) == want, w
        assert exposure(conn, tenant, w, now_ms=now) == want, w
        assert exposure_rollup(conn, tenant, w, now_ms=now + 1, memo=MEMO) == direct(tenant, w, now + 1)


def test_rollup_matches_store(db):
    key = SigningKey.generate()
    base = NOW - 40 * DAY
    step = 40 * DAY // 600 + 7  # not hour-aligned, so every window has a partial first hour
    LATEST.clear()
    _log(db, key, [_card(i, "acme", base, step) for i in range(300)])
    _log(db, key, [_card(i, "other", base, step, seed=3) for i in range(50)])
    conn = open_db(str(db))
    windows = [1, 2, 7, 13, 30, 39, 40, 41, 365]
    _same(conn, "acme", windows)
    _same(conn, "other", windows)
    _same(conn, "nobody", [30])

    # more records, some superseding earlier calls with other verdicts and rules; the rollup catches up
    rng = random.Random(1)
    _log(db, key, [_card(i, "acme", base, step) for i in range(300, 600)])
    redo = []
    for i in rng.sample(range(600), 40):
        sc = _card(i, "acme", base, step, config_etag="etag-2")
        if rng.random() < 0.5:
            sc.findings = [
                Finding("zz-001", None, "critical", "block", "c", "r", 1.0, 0, (0, 1)),
                Finding("zz-001", None, "critical", "block", "c", "r", 2.0, 1, (0, 1)),
            ]
            sc.verdict = "FAIL"
        else:
            sc.findings = []
            sc.verdict = "PASS"
        redo.append(sc)
    _log(db, key, redo)
    _same(conn, "acme", windows)
    # a third generation of the same calls
    _log(db, key, [_card(i, "acme", base, step, config_etag="etag-3") for i in range(0, 600, 7)])
    _same(conn, "acme", windows)
    for now in (NOW - 5 * DAY + 17, NOW + 3 * DAY, NOW + HOUR // 2):
        _same(conn, "acme", [1, 3, 30], now)
    conn.close()
