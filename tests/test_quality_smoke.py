"""Smoke test for ``benchmarks/quality.py``: the script's logic runs on a bounded sample (about 50 conformance
vectors, a few calls, the spoken set) and computes agreement. It does not assert the goal numbers (those are
measured and documented in docs/quality.md). Skipped when ``../shared`` is absent."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from trace_engine.shared_data import shared_dir

REPO = Path(__file__).resolve().parents[1]
SHARED = shared_dir()

pytestmark = pytest.mark.skipif(
    not (SHARED / "conformance" / "presidio_vectors.jsonl").exists()
    or not (SHARED / "corpora" / "taskmaster_calls.jsonl").exists(),
    reason="shared conformance vectors / corpora not available",
)


@pytest.fixture(scope="module")
def quality():
    spec = importlib.util.spec_from_file_location("quality_bench", REPO / "benchmarks" / "quality.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_conformance_on_a_bounded_sample(quality):
    vectors = quality.load_vectors(limit=50)
    assert 30 <= len(vectors) <= 50
    assert {v["entity_type"] for v in vectors} == set(quality.ENTITY_KIND)
    res = quality.conformance(vectors)
    assert res["vectors"] == len(vectors)
    assert 0 < res["agree"] <= res["vectors"]
    for row in res["per_entity"].values():
        assert 0.0 <= row["agreement"] <= 1.0
        assert row["agree"] == row["asserted_agree"] + row["context_agree"]
    # every disagreement is listed with a known class and reason
    assert sum(v["count"] for v in res["classes"].values()) == len(res["disagreements"])
    for d in res["disagreements"]:
        assert d["class"] in quality.CLASS_REASONS
    json.dumps(res)


def test_false_positive_scan_and_spoken_set(quality):
    from trace_engine.gate import Engine

    engine = Engine.from_config(quality.ALL_PACKS_CFG)
    fp = quality.false_positives(engine, quality.TASKMASTER, limit=20)
    assert fp["calls"] == 20 and fp["agent_turns"] > 0 and fp["gate_errors"] == 0
    assert {"pii-001", "pii-004", "pii-005", "brand-001"} <= set(fp["per_rule"])
    spoken = quality.load_spoken()
    assert len(spoken) >= 40
    res = quality.spoken_recall(spoken[:6], quality.gate_hits(Engine.from_config(quality.PII_CFG),
                                                             [r["text"] for r in spoken[:6]]), [[]] * 6)
    assert res["entities"] >= 6 and res["trace_recall"] is not None and res["presidio_recall"] == 0.0


def test_agreement_arithmetic(quality):
    ours = [[("US_SSN", 0, 11)], [], [("PHONE_NUMBER", 3, 15)]]
    theirs = [[("US_SSN", 2, 9)], [("PHONE_NUMBER", 0, 5)], []]
    a = quality.agreement(ours, theirs, ["123-45-6789", "x", "at (415) 555-0132"])
    assert a["US_SSN"] == {**a["US_SSN"], "both": 1, "only_trace": 0, "only_presidio": 0, "turn_agreement": 1.0}
    assert a["PHONE_NUMBER"]["only_trace"] == 1 and a["PHONE_NUMBER"]["only_presidio"] == 1
    assert a["PHONE_NUMBER"]["turn_agreement"] == round(1 / 3, 4)


def test_verdict_section_on_a_bounded_sample(quality):
    res = quality.verdicts(quality.SGD, 40, quality.INBOUND_SERVICE)
    assert res["calls"] == 40 and sum(res["verdicts"].values()) == 40 and res["gate_errors"] == 0
    # an inbound service call is outside the tcpa, hipaa and debt_collection scopes: none of their findings
    assert res["findings_out_of_scope"] == 0
    assert quality.in_catalog_scope("pii-001", quality.INBOUND_SERVICE)
    assert not quality.in_catalog_scope("hipaa-001", quality.INBOUND_SERVICE)
    assert not quality.in_catalog_scope("tcpa-007", quality.INBOUND_SERVICE)  # recording_enabled unknown
    assert quality.in_catalog_scope("tcpa-007", {**quality.INBOUND_SERVICE, "recording_enabled": True})
    assert list(quality.verdict_summary({"sgd": res}))[0].startswith("== Verdicts: sgd (40 calls")
