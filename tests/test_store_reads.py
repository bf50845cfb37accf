import json
from pathlib import Path

import jsonschema
import pytest

from trace_engine.api.schemas import to_jsonschema
from trace_engine.evidence.metrics import derived_metrics
from trace_engine.evidence.scorecard import Finding
from trace_engine.evidence.signing import SigningKey
from trace_engine.evidence.synthetic import synthetic_scorecard
from trace_engine.shared_data import shared_dir
from trace_engine.stats import percentile
from trace_engine.store.cursor import CursorError
from trace_engine.store.log import EvidenceLog
from trace_engine.store.reads import exposure, interaction_detail, list_interactions, list_violations

ROOT = Path(__file__).resolve().parents[1]
SEED = shared_dir() / "seeds" / "001_e3c989389c972ad5.txt"
KEY = SigningKey.generate()
NOW = 1_760_000_000_000 + 200 * 1000 + 1


@pytest.fixture(scope="module")
def spec():
    if not SEED.exists():
        pytest.skip("seed spec not available")
    s = json.loads(SEED.read_text())
    return {"components": {"schemas": to_jsonschema(s["components"]["schemas"])}, "paths": s["paths"]}


def validate(spec, instance, ref=None, schema=None):
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": spec["components"]}
    doc.update({"$ref": f"#/components/schemas/{ref}"} if ref else to_jsonschema(schema))
    jsonschema.Draft202012Validator(doc).validate(instance)


def list_schema(spec, path):
    return spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    p = tmp_path_factory.mktemp("reads") / "t.db"
    with EvidenceLog(p, KEY) as log:
        log.append_many([synthetic_scorecard(i, "acme") for i in range(200)])
        log.append_many([synthetic_scorecard(i, "other", seed=9) for i in range(30)])
        # call 5 rescored with a new config: the new record supersedes the old one
        sc = synthetic_scorecard(5, "acme", config_etag="etag-2")
        sc.findings = [Finding("tcpa-999", "tcpa", "critical", "block", "cite", "rescored", 2.0, 1, (0, 1))]
        sc.verdict = "FAIL"
        log.append(sc)
        log.add_tier2_finding(
            "acme",
            {"interaction_id": sc.call_id, "check_id": "hallucination", "severity": "high", "verdict": "concern",
             "confidence": 0.8, "action": "flag", "speaker": "agent", "reason": "made up a price", "at_t": 3.0, "tier": 2},
        )
    return p


def cards():
    out = {synthetic_scorecard(i, "acme").call_id: synthetic_scorecard(i, "acme") for i in range(200)}
    return out


def test_interactions_shape_and_pagination(db, spec):
    seen = []
    cursor = None
    while True:
        page = list_interactions(db, "acme", limit=37, cursor=cursor)
        validate(spec, page, schema=list_schema(spec, "/v1/trace/interactions"))
        for row in page["data"]:
            validate(spec, row, "TraceInteraction")
        seen += [r["id"] for r in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 200
    # newest first; the rescored call 5 has the old scored_at but a later seq
    times = [r for r in seen]
    assert times[0] == synthetic_scorecard(199, "acme").call_id
    first = list_interactions(db, "acme", limit=1)["data"][0]
    assert first["packs_enforced"] == "tcpa@2026.11.0,hipaa@2026.10.2"


def test_interactions_filters(db):
    want = {cid for cid, sc in cards().items() if sc.verdict == "PASS" and sc.agent_id == "agent-1"}
    got, cursor = [], None
    while True:
        page = list_interactions(db, "acme", verdict="PASS", agent_id="agent-1", limit=5, cursor=cursor)
        got += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(got) == want and all(
        r["verdict"] == "PASS" for r in list_interactions(db, "acme", verdict="PASS", limit=100)["data"]
    )


def test_superseded_hidden(db):
    rows = list_interactions(db, "acme", limit=100)["data"] + list_interactions(
        db, "acme", limit=100, cursor=list_interactions(db, "acme", limit=100)["next_cursor"]
    )["data"]
    five = [r for r in rows if r["id"] == synthetic_scorecard(5, "acme").call_id]
    assert len(five) == 1 and five[0]["verdict"] == "FAIL"
    v = list_violations(db, "acme", interaction_id=five[0]["id"])
    assert [x["rule_id"] for x in v["data"]] == ["tcpa-999"]


def test_limit_capped(db):
    assert len(list_interactions(db, "acme", limit=1000)["data"]) == 100
    assert len(list_interactions(db, "acme", limit=0)["data"]) == 1


def test_cursor_bound_to_tenant_view_filters_and_db(db, tmp_path):
    c = list_interactions(db, "acme", limit=2)["next_cursor"]
    with pytest.raises(CursorError, match="another tenant"):
        list_interactions(db, "other", limit=2, cursor=c)
    with pytest.raises(CursorError):
        list_violations(db, "acme", cursor=c)
    with pytest.raises(CursorError, match="filters"):
        list_interactions(db, "acme", verdict="FAIL", cursor=c)
    payload, mac = c.split(".")
    with pytest.raises(CursorError):
        list_interactions(db, "acme", cursor=payload[:-2] + "AA." + mac)
    with pytest.raises(CursorError):
        list_interactions(db, "acme", cursor="garbage")
    other = tmp_path / "o.db"
    with EvidenceLog(other, KEY) as log:
        log.append_many([synthetic_scorecard(i, "acme") for i in range(5)])
    with pytest.raises(CursorError, match="another database"):
        list_interactions(other, "acme", cursor=c)


def test_violations_shape_filters_pagination(db, spec):
    allv, cursor = [], None
    while True:
        page = list_violations(db, "acme", limit=50, cursor=cursor)
        validate(spec, page, schema=list_schema(spec, "/v1/trace/violations"))
        for v in page["data"]:
            validate(spec, v, "TraceViolation")
        allv += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    expected = sum(len(sc.findings) for cid, sc in cards().items() if not cid.endswith("00000005")) + 1
    assert len(allv) == expected == len({v["id"] for v in allv})
    high = list_violations(db, "acme", severity="high", limit=100)["data"]
    assert high and all(v["severity"] == "high" for v in high)
    r = list_violations(db, "acme", rule_id="tcpa-003", agent_id="agent-2", limit=100)["data"]
    assert all(v["rule_id"] == "tcpa-003" and v["agent_id"] == "agent-2" for v in r)
    assert list_violations(db, "nobody")["data"] == []


def test_exposure(db, spec):
    e = exposure(db, "acme", window_days=30, now_ms=NOW)
    validate(spec, e, "TraceExposure")
    cs = cards()
    cs[synthetic_scorecard(5, "acme").call_id].verdict = "FAIL"
    assert e["interactions_scanned"] == 200
    assert e["by_verdict"] == {v: sum(1 for sc in cs.values() if sc.verdict == v) for v in ("PASS", "WARN", "FAIL")}
    assert e["with_a_gap"] == 200 - e["by_verdict"]["PASS"]
    assert e["gap_rate"] == pytest.approx(e["with_a_gap"] / 200)
    counts = [r["count"] for r in e["by_rule"]]
    assert counts == sorted(counts, reverse=True) and e["top_exposure"] == e["by_rule"][0]["rule_id"]
    assert e["by_rule"][0]["rate"] == pytest.approx(counts[0] / 200)
    # window: only the last 50 seconds' worth -> a tiny window of days still includes all (all within 1 day)
    assert exposure(db, "acme", window_days=1, now_ms=NOW + 86_400_000 - 150_000)["interactions_scanned"] < 200
    agent = exposure(db, "acme", agent_id="agent-0", now_ms=NOW)
    assert agent["interactions_scanned"] == sum(1 for sc in cs.values() if sc.agent_id == "agent-0")
    empty = exposure(db, "nobody", now_ms=NOW)
    assert empty["interactions_scanned"] == 0 and empty["gap_rate"] == 0.0 and empty["top_exposure"] is None


def test_interaction_detail(db, spec):
    cid = synthetic_scorecard(5, "acme").call_id
    d = interaction_detail(db, "acme", cid)
    validate(spec, d, "TraceInteractionDetail")
    assert d["verdict"] == "FAIL" and d["scorecard"]["config_etag"] == "etag-2"
    assert len(d["audit_hash"]) == 64
    assert [f["check_id"] for f in d["tier2_findings"]] == ["hallucination"]
    validate(spec, d["tier2_findings"][0], "TraceFinding")
    assert d["timeline"] == d["scorecard"]["timeline"] and d["derived_metrics"]["turns"] == 6
    assert interaction_detail(db, "acme", "nope") is None
    assert interaction_detail(db, "other", cid) is None


def test_percentile_linear_interpolation():
    assert percentile([], 50) is None
    assert percentile([7], 99) == 7
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20], 95) == pytest.approx(19.5)
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)
    assert percentile([3, 1, 2], 0) == 1 and percentile([3, 1, 2], 100) == 3


def test_derived_metrics(spec):
    tl = [
        {"seq": 0, "t_ms": 0, "role": "agent", "text": "a", "ttfb_ms": 100},
        {"seq": 1, "t_ms": 10, "role": "caller", "text": "b", "endpointing_ms": 50, "barge": {"detect_ms": 80, "recovered": True}},
        {"seq": 2, "t_ms": 20, "role": "agent", "text": "c", "ttfb_ms": 300, "tool_calls": [{"name": "x"}, {"name": "y"}]},
        {"seq": 3, "t_ms": 30, "role": "caller", "text": "d", "barge": {"detect_ms": 120, "recovered": False}},
    ]
    m = derived_metrics(tl)
    validate(spec, m, "TraceDerivedCallMetrics")
    assert m["turns"] == 4 and m["turns_by_role"] == {"agent": 2, "caller": 2}
    assert m["ttfb_ms"] == {"count": 2, "p50": 200.0, "p95": 290.0, "p99": 298.0}
    assert m["barge"]["count"] == 2 and m["barge"]["recovered"] == 1 and m["barge"]["recovery_rate"] == 0.5
    assert m["tool_calls"] == 2
    empty = derived_metrics([])
    validate(spec, empty, "TraceDerivedCallMetrics")
    assert empty["ttfb_ms"] == {"count": 0, "p50": None, "p95": None, "p99": None} and empty["barge"]["recovery_rate"] is None


def test_exposure_reads_bodies_only_for_the_partial_first_hour(tmp_path, monkeypatch):
    """Whole hours come from the rollup the writer keeps; only the window's partial first hour is read from the
    records' bodies. Counted, not timed."""
    from trace_engine.store import reads

    p = tmp_path / "big.db"
    base = 1_760_000_000_000
    with EvidenceLog(p, KEY) as log:
        cards = []
        for i in range(3000):  # one call a minute for 50 hours
            sc = synthetic_scorecard(i, "t", base_ms=base)
            sc.started_at = base + i * 60_000
            sc.scored_at = sc.started_at + 999_000_000  # scored much later (a re-scoring run): time is call time
            cards.append(sc)
        log.append_many(cards, batch_size=500)
    now = base + 3000 * 60_000 + 17 * 60_000 + 5  # not hour-aligned
    checked = []
    real = reads.signed_record
    monkeypatch.setattr(reads, "signed_record", lambda t, r: checked.append(r[0]) or real(t, r))
    e = exposure(p, "t", window_days=1, now_ms=now)
    since = now - 86_400_000
    want = [c for c in cards if c.started_at >= since]
    assert e["interactions_scanned"] == len(want)
    assert e["by_verdict"] == {v: sum(c.verdict == v for c in want) for v in ("PASS", "WARN", "FAIL")}
    assert 0 < len(checked) <= 60  # the calls of one partial hour
    page = list_interactions(p, "t", verdict="FAIL", limit=100)
    assert len(page["data"]) == min(100, sum(c.verdict == "FAIL" for c in cards))
    starts = [next(c.started_at for c in cards if c.call_id == r["id"]) for r in page["data"]]
    assert starts == sorted(starts, reverse=True)  # newest call first


def test_reads_refuse_rows_that_differ_from_their_signed_record(tmp_path):
    import sqlite3

    from trace_engine.store.reads import TamperedRecord

    p = tmp_path / "t.db"
    with EvidenceLog(p, KEY) as log:
        log.append_many([synthetic_scorecard(i, "acme") for i in range(30)])
    fail = next(i for i in range(30) if synthetic_scorecard(i, "acme").verdict == "FAIL")
    cid = synthetic_scorecard(fail, "acme").call_id
    before = exposure(p, "acme", window_days=365, now_ms=NOW)
    c = sqlite3.connect(p)
    c.execute("DROP TRIGGER scorecards_no_update")
    c.execute("UPDATE scorecards SET verdict = 'PASS' WHERE call_id = ?", (cid,))
    c.commit()
    with pytest.raises(TamperedRecord, match=f"seq {fail} .*columns differ from its signed body"):
        interaction_detail(p, "acme", cid)
    with pytest.raises(TamperedRecord):
        list_interactions(p, "acme", verdict="PASS", limit=100)
    assert exposure(p, "acme", window_days=365, now_ms=NOW) == before  # the rollup came from the scorecards
    c.execute("UPDATE scorecards SET verdict = 'FAIL', body = replace(body, '\"FAIL\"', '\"PASS\"') WHERE call_id = ?", (cid,))
    c.commit()
    with pytest.raises(TamperedRecord, match="does not match its hash"):
        interaction_detail(p, "acme", cid)
