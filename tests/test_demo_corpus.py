"""The demo corpus says what each hand-written call should get, in its name, and these tests hold it to that.

Naming convention (corpora/README.md): a call id ending in ``-compliant``, ``-clean`` or ``-verified`` must PASS;
one ending in ``-warn`` must WARN; any other id names the violation the call shows and must FAIL. The calls are
scored the way ``make demo`` scores them (``trace rescore`` with ``examples/demo_config.json``) and with the mixed
call-center example config, which must agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from trace_engine.gate import Engine
from trace_engine.rescore import offline_config, score_transcript
from trace_engine.transcripts import load_transcripts

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpora" / "outbound_calls.jsonl"
CONFIGS = ["examples/demo_config.json", "examples/mixed_call_center.json"]
PASS_SUFFIXES = ("-compliant", "-clean", "-verified")


def expected_verdict(call_id: str) -> str:
    if call_id.endswith(PASS_SUFFIXES):
        return "PASS"
    if call_id.endswith("-warn"):
        return "WARN"
    return "FAIL"


CALLS = list(load_transcripts(str(CORPUS)))


@pytest.fixture(scope="module", params=CONFIGS)
def engine(request) -> Engine:
    return Engine.from_config(offline_config(str(ROOT / request.param)))


@pytest.mark.parametrize("transcript", CALLS, ids=[t.call_id for t in CALLS])
def test_verdict_matches_the_name(engine: Engine, transcript) -> None:
    card = score_transcript(engine, transcript)
    fired = sorted({(f.rule_id, f.severity) for f in card.findings})
    assert card.verdict == expected_verdict(transcript.call_id), fired
    assert card.gate_health.errors == 0 and card.gate_health.fail_open == 0
    # a pack or rule listed as not applicable produced nothing, and nothing is both applicable and not
    off_packs = {n.pack_id for n in card.not_applicable if n.rule_id is None}
    off_rules = {n.rule_id for n in card.not_applicable if n.rule_id is not None}
    assert not [f for f in card.findings if f.pack_id in off_packs or f.rule_id in off_rules]
    # every call states its purpose through its agent's call_defaults or its metadata: nothing is guessed
    assert card.facts["call_purpose"]["value"] and card.facts["direction"]["value"]


def test_the_corpus_covers_the_new_behaviour() -> None:
    ids = [t.call_id for t in CALLS]
    assert len(ids) == len(set(ids)) >= 19
    by_id = {t.call_id: t for t in CALLS}
    # an inbound service call, a voicemail under each AMD vocabulary, a right-party call, a refused verification
    assert by_id["support-013-inbound-clean"].metadata.get("direction") is None  # inbound comes from call_defaults
    assert by_id["clinic-014-voicemail-pyai-compliant"].metadata["answered_by"] == "voicemail"
    assert by_id["collections-015-voicemail-twilio-compliant"].metadata["answered_by_twilio"] == "machine_end_beep"
    assert "collections-017-right-party-compliant" in by_id
    assert {"clinic-018-verification-refused-phi-shared", "clinic-019-verification-refused-compliant"} <= set(ids)
    assert {expected_verdict(i) for i in ids} == {"PASS", "FAIL"}
