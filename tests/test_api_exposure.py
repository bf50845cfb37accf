"""The API's hourly exposure rollup equals the store's exposure aggregate, across windows, supersedes and appends."""

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
    sc.scored_at = base + i * step
    return sc


@pytest.fixture()
def db(tmp_path):
    return tmp_path / "t.db"


MEMO = WholeHoursMemo()


def _same(conn, tenant, windows, now=NOW):
    for w in windows:
        want = exposure(conn, tenant, w, now_ms=now)
        assert exposure_rollup(conn, tenant, w, now_ms=now) == want, w
        assert exposure_rollup(conn, tenant, w, now_ms=now, memo=MEMO) == want, w
        assert exposure_rollup(conn, tenant, w, now_ms=now + 1, memo=MEMO) == exposure(
            conn, tenant, w, now_ms=now + 1
        )


def test_rollup_matches_store(db):
    key = SigningKey.generate()
    base = NOW - 40 * DAY
    step = 40 * DAY // 600 + 7  # not hour-aligned, so every window has a partial first hour
    with EvidenceLog(db, key) as log:
        log.append_many([_card(i, "acme", base, step) for i in range(300)])
        log.append_many([_card(i, "other", base, step, seed=3) for i in range(50)])
    conn = open_db(str(db))
    windows = [1, 2, 7, 13, 30, 39, 40, 41, 365]
    _same(conn, "acme", windows)
    _same(conn, "other", windows)
    _same(conn, "nobody", [30])

    # more records, some superseding earlier calls with other verdicts and rules; the rollup catches up
    rng = random.Random(1)
    with EvidenceLog(db, key) as log:
        log.append_many([_card(i, "acme", base, step) for i in range(300, 600)])
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
        log.append_many(redo)
    _same(conn, "acme", windows)
    # a third generation of the same calls
    with EvidenceLog(db, key) as log:
        log.append_many([_card(i, "acme", base, step, config_etag="etag-3") for i in range(0, 600, 7)])
    _same(conn, "acme", windows)
    for now in (NOW - 5 * DAY + 17, NOW + 3 * DAY, NOW + HOUR // 2):
        _same(conn, "acme", [1, 3, 30], now)
    conn.close()
