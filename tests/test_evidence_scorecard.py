import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trace_engine.evidence.scorecard import (
    SCHEMA_V0,
    Finding,
    GateHealth,
    Scorecard,
    ScorecardError,
    TimelineEvent,
    compute_verdict,
    violations,
)
from trace_engine.evidence.synthetic import synthetic_scorecard

ROOT = Path(__file__).resolve().parents[1]
V1 = json.loads((ROOT / "schemas" / "scorecard-v1.json").read_text())
V0 = json.loads((ROOT / "schemas" / "scorecard-v0.json").read_text())


def f(sev, remediated=False):
    return Finding("r-1", "p", sev, "flag", "cite", "why", 1.0, 0, (0, 3), remediated)


@pytest.mark.parametrize(
    "findings, gh, want",
    [
        ([], GateHealth(), "PASS"),
        ([], GateHealth(fail_open=1), "WARN"),
        ([], GateHealth(unavailable=2), "WARN"),
        ([f("low")], GateHealth(), "WARN"),
        ([f("medium")], GateHealth(), "WARN"),
        ([f("high")], GateHealth(), "FAIL"),
        ([f("critical")], GateHealth(), "FAIL"),
        ([f("high", True)], GateHealth(), "WARN"),
        ([f("critical", True), f("low")], GateHealth(), "WARN"),
        ([f("critical", True), f("high")], GateHealth(), "FAIL"),
        ([], None, "PASS"),
    ],
)
def test_compute_verdict(findings, gh, want):
    assert compute_verdict(findings, gh) == want


def test_roundtrip_and_schema_v1():
    for i in range(200):
        sc = synthetic_scorecard(i)
        d = sc.to_dict()
        jsonschema.validate(d, V1)
        assert Scorecard.from_dict(json.loads(json.dumps(d))) == sc


def test_schema_v0():
    sc = synthetic_scorecard(3)
    sc.schema = SCHEMA_V0
    d = sc.to_dict()
    assert "timeline" not in d and "quality_metrics" not in d
    jsonschema.validate(d, V0)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(synthetic_scorecard(3).to_dict(), V0)


def test_schemas_are_valid_2020_12():
    jsonschema.Draft202012Validator.check_schema(V1)
    jsonschema.Draft202012Validator.check_schema(V0)


def test_timeline_omits_absent_optional_keys():
    ev = TimelineEvent(seq=0, t_ms=0, role="agent", text="hi")
    assert ev.to_dict() == {"seq": 0, "t_ms": 0, "role": "agent", "text": "hi"}


def test_violations_shape():
    sc = synthetic_scorecard(0)
    sc.findings = [f("high"), f("low")]
    vs = violations(sc)
    assert [v["severity"] for v in vs] == ["high", "low"]
    v = vs[0]
    assert set(v) == {
        "object", "id", "interaction_id", "agent_id", "rule_id", "pack_id", "severity", "action_taken",
        "citation", "reason", "at_t",
    }
    assert v["object"] == "trace.violation" and v["interaction_id"] == sc.call_id
    assert vs[0]["id"] != vs[1]["id"] and vs[0]["id"] == violations(sc)[0]["id"]


def test_from_dict_rejects_bad_input():
    d = synthetic_scorecard(1).to_dict()
    for mutate in (
        lambda d: d.update(verdict="MAYBE"),
        lambda d: d.pop("call_id"),
        lambda d: d.update(scored_at=1.5),
        lambda d: d.update(schema="trace-scorecard-v9"),
        lambda d: d.update(findings=[{"rule_id": "x", "severity": "huge", "action_taken": "flag"}]),
        lambda d: d.update(redactions=[{"kind": "password", "turn": 0, "span": [0, 1]}]),
    ):
        bad = json.loads(json.dumps(d))
        mutate(bad)
        with pytest.raises(ScorecardError):
            Scorecard.from_dict(bad)


finding_st = st.builds(
    Finding,
    rule_id=st.text(min_size=1, max_size=10),
    pack_id=st.none() | st.text(max_size=5),
    severity=st.sampled_from(["low", "medium", "high", "critical"]),
    action_taken=st.sampled_from(["pass", "flag", "modify", "block"]),
    citation=st.text(max_size=20),
    reason=st.text(max_size=20),
    at_t=st.none() | st.floats(0, 1e5, allow_nan=False),
    turn=st.none() | st.integers(0, 1000),
    span=st.none() | st.tuples(st.integers(0, 100), st.integers(0, 100)),
    remediated=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(finding_st, max_size=5), st.integers(0, 3), st.integers(0, 3))
def test_property_roundtrip_and_verdict(findings, fail_open, unavailable):
    gh = GateHealth(turns=3, fail_open=fail_open, unavailable=unavailable)
    sc = synthetic_scorecard(0)
    sc.findings, sc.gate_health = findings, gh
    sc.verdict = compute_verdict(findings, gh)
    d = sc.to_dict()
    jsonschema.validate(d, V1)
    assert Scorecard.from_dict(d) == sc
    if any(x.severity in ("high", "critical") and not x.remediated for x in findings):
        assert sc.verdict == "FAIL"
    elif findings or fail_open or unavailable:
        assert sc.verdict == "WARN"
    else:
        assert sc.verdict == "PASS"
