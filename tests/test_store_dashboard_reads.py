"""The dashboard's reads (trace_engine.store.reads: exposure_days, rule_activity, list_calls, count_calls,
latest_checkpoint) agree with the exposure read and with a brute-force count over the signed scorecards."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import module_database

from trace_engine.evidence.scorecard import Finding
from trace_engine.evidence.signing import SigningKey, parse_checkpoint
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.store import rollup
from trace_engine.store.cursor import CursorError
from trace_engine.store.log import EvidenceLog
from trace_engine.store.reads import (
    DAY_MS,
    TamperedRecord,
    count_calls,
    exposure,
    exposure_days,
    latest_checkpoint,
    list_calls,
    rule_activity,
    window_start,
)

KEY = SigningKey.generate()
HOUR = 3_600_000
NOW = 1_760_000_000_000 + 17 * HOUR + 123_456  # mid-day, mid-hour: the window's first hour is partial
N = 240


def card(i: int, **kw):
    sc = synthetic_scorecard(i, "acme", **kw)
    sc.started_at = NOW - i * 3 * HOUR - 7_000  # one call every 3 hours, back 30 days
    return sc


def fill(db) -> None:
    with EvidenceLog(db, KEY) as log:
        log.append_many([card(i) for i in range(N)])
        log.append_many([synthetic_scorecard(i, "other", seed=3) for i in range(20)])
        again = card(4, config_etag="etag-2")  # call 4 re-scored: the newer record supersedes
        again.findings = [Finding("tcpa-004", "tcpa", "critical", "block", "c", "r", 1.0, 1, (0, 3))] * 2
        again.verdict = "FAIL"
        log.append(again)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db(request, tmp_path_factory):
    """The same signed log on each backend: the dashboard's reads must agree on both."""
    with module_database(request.param, tmp_path_factory.mktemp("dash")) as db:
        fill(db)
        yield db


def latest() -> list[dict]:
    cards = {i: card(i).to_dict() for i in range(N)}
    again = card(4, config_etag="etag-2")
    again.findings = [Finding("tcpa-004", "tcpa", "critical", "block", "c", "r", 1.0, 1, (0, 3))] * 2
    again.verdict = "FAIL"
    cards[4] = again.to_dict()
    return list(cards.values())


@pytest.mark.parametrize("window_days", [1, 2, 7, 30])
@pytest.mark.parametrize("agent_id", [None, "agent-2"])
def test_days_add_up_to_the_exposure(db, window_days, agent_id):
    exp = exposure(db, "acme", window_days, agent_id, now_ms=NOW)
    days = exposure_days(db, "acme", window_days, agent_id, now_ms=NOW)
    assert sum(d["calls"] for d in days) == exp["interactions_scanned"]
    for v in ("PASS", "WARN", "FAIL"):
        assert sum(d[v] for d in days) == exp["by_verdict"][v]
    assert sum(d["with_a_gap"] for d in days) == exp["with_a_gap"]
    since = window_start(window_days, NOW)
    assert days[0]["start_ms"] == since and days[-1]["end_ms"] > NOW
    assert [d["end_ms"] - d["end_ms"] % DAY_MS for d in days] == [d["end_ms"] for d in days]
    assert len(days) == window_days + 1  # the partial first day and today
    # each day is what a brute-force count of the signed scorecards says
    for d in days:
        want = [
            c for c in latest()
            if d["start_ms"] <= rollup.call_at(c) < d["end_ms"] and (agent_id is None or c["agent_id"] == agent_id)
        ]
        assert d["calls"] == len(want), d["day"]


def brute_activity(rules, since, agent_id=None, pack=None):
    calls, findings = set(), {}
    for c in latest():
        if rollup.call_at(c) < since or (agent_id is not None and c["agent_id"] != agent_id):
            continue
        for f in c["findings"]:
            key = (f["rule_id"], f["pack_id"])
            if (rules is None or key in rules) and (pack is None or f["pack_id"] == pack):
                calls.add(c["call_id"])
                findings[key] = findings.get(key, 0) + 1
    return len(calls), findings


@pytest.mark.parametrize(
    "rules",
    [None, [("tcpa-004", "tcpa")], [("tcpa-001", "tcpa"), ("tcpa-003", "tcpa")], [("pii-001", "pii"), ("nope", None)], []],
)
def test_rule_activity_counts_calls_and_findings(db, rules):
    since = window_start(10, NOW)
    got = rule_activity(db, "acme", rules, since_ms=since)
    calls, findings = brute_activity(rules, since)
    assert (got["calls"], got["findings"]) == (calls, findings)
    assert sum(got["days"].values()) == calls


def test_rule_activity_by_pack_and_agent(db):
    since = window_start(30, NOW)
    got = rule_activity(db, "acme", pack_id="tcpa", agent_id="agent-1", since_ms=since)
    assert (got["calls"], got["findings"]) == brute_activity(None, since, "agent-1", "tcpa")
    # the superseded record's findings are not counted: call 4's latest record has two tcpa-004 findings
    four = rule_activity(db, "acme", [("tcpa-004", "tcpa")], since_ms=window_start(1, NOW))
    assert four["findings"][("tcpa-004", "tcpa")] >= 2


def test_one_rule_activity_equals_the_exposure_ranking(db):
    exp = exposure(db, "acme", 30, now_ms=NOW)
    since = window_start(30, NOW)
    for row in exp["by_rule"]:
        assert rule_activity(db, "acme", [(row["rule_id"], row["pack_id"])], since_ms=since)["calls"] == row["count"]


def walk(db, **filters):
    ids, cursor = [], None
    while True:
        page = list_calls(db, "acme", limit=17, cursor=cursor, **filters)
        ids += [r["id"] for r in page["data"]]
        if not page["has_more"]:
            return ids
        cursor = page["next_cursor"]


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"verdicts": ("WARN", "FAIL")},
        {"verdicts": ("PASS",), "agent_id": "agent-3"},
        {"rule_id": "tcpa-001"},
        {"rule_id": "tcpa-004", "pack_id": "tcpa"},
        {"pack_id": "hipaa", "since_ms": NOW - 5 * DAY_MS},
        {"since_ms": NOW - 2 * DAY_MS, "until_ms": NOW - DAY_MS},
        {"call_id_contains": "0001"},
    ],
)
def test_list_calls_filters_match_a_brute_force_count(db, filters):
    def keep(c):
        if filters.get("verdicts") and c["verdict"] not in filters["verdicts"]:
            return False
        if filters.get("agent_id") and c["agent_id"] != filters["agent_id"]:
            return False
        fired = {(f["rule_id"], f["pack_id"]) for f in c["findings"]}
        if filters.get("rule_id") and not any(r == filters["rule_id"] for r, _ in fired):
            return False
        if filters.get("pack_id") and not any(
            p == filters["pack_id"] and (filters.get("rule_id") in (None, r)) for r, p in fired
        ):
            return False
        at = rollup.call_at(c)
        if "since_ms" in filters and at < filters["since_ms"] or "until_ms" in filters and at >= filters["until_ms"]:
            return False
        return filters.get("call_id_contains", "") in c["call_id"]

    want = [c["call_id"] for c in sorted(latest(), key=lambda c: -rollup.call_at(c)) if keep(c)]
    assert walk(db, **filters) == want
    assert count_calls(db, "acme", **filters) == len(want)


def test_list_calls_rows_and_scorecards(db):
    page = list_calls(db, "acme", limit=3, with_scorecards=True, rule_id="tcpa-004")
    row = page["data"][0]
    assert row["id"] == row["scorecard"]["call_id"] and row["call_at"] == rollup.call_at(row["scorecard"])
    assert row["object"] == "trace.interaction" and row["findings"] == len(row["scorecard"]["findings"])


def test_a_cursor_is_bound_to_its_filters(db):
    page = list_calls(db, "acme", limit=5, verdicts=("FAIL",))
    assert page["has_more"]
    with pytest.raises(CursorError):
        list_calls(db, "acme", limit=5, verdicts=("WARN",), cursor=page["next_cursor"])
    with pytest.raises(CursorError):
        list_calls(db, "other", limit=5, verdicts=("FAIL",), cursor=page["next_cursor"])


def test_latest_checkpoint_is_the_signed_tree_head(db):
    ck = latest_checkpoint(db, "acme")
    note = parse_checkpoint(ck["note"])
    assert note.verify(KEY.verifier) is None and ck["size"] == note.size == N + 1
    assert ck["key_ids"] == [KEY.verifier.key_id.hex()] and ck["origin"].endswith("/acme")
    assert latest_checkpoint(db, "nobody") is None


def test_an_edited_row_is_refused(tmp_path):
    p = tmp_path / "t.db"
    gap = next(i for i in range(N) if card(i).verdict != "PASS")
    with EvidenceLog(p, KEY) as log:
        log.append_many([card(i) for i in range(gap + 1)])
    conn = sqlite3.connect(p)
    conn.execute("DROP TRIGGER scorecards_no_update")
    conn.execute("UPDATE scorecards SET verdict = 'PASS' WHERE call_id = ?", (card(gap).call_id,))
    conn.commit()
    conn.close()
    with pytest.raises(TamperedRecord):
        list_calls(p, "acme")
