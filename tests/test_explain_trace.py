"""The core's tracer (``trace explain``, docs/explain.md): the exact events of small hand-written calls, one call per
event kind, and tracing is free of side effects: off, no events; on or off, the same decisions and scorecards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trace_engine import Engine, _core
from trace_engine.dsl import load_pack_text
from trace_engine.explain import CHECKS, EVENTS, REASONS, SENTENCES, explain_markdown
from trace_engine.replay import Replay, explain_transcript, feed_turn, word_chunks
from trace_engine.transcripts import load_transcripts

ROOT = Path(__file__).resolve().parents[1]
HEAD = 'pack t\nversion "1"\njurisdiction "US"\nlegal_status "d"\n\n'
WARN = {"mode": "warn", "inline_timeout_ms": 60000}


def rule(rule_id: str, body: str) -> str:
    return f'rule {rule_id} {{\n  title "t"\n  severity high\n  citation "c"\n  reason "r"\n  {body}\n}}\n\n'


def engine(pack_text: str, mode: str = "warn", **variables: str) -> Engine:
    pack, _ = load_pack_text(HEAD + pack_text, "t.trace")
    guardrails = {**WARN, "mode": mode}
    return Engine.from_config({"guardrails": guardrails, "variables": variables}, packs=[pack])


def events(pack_text: str, turns: list[tuple[str, str]], **variables: str) -> list[list[tuple]]:
    """Per report (call start, each turn, call end): the events as tuples of their fields, sentences left out."""
    replay = Replay(engine(pack_text, **variables), "c", metadata={"direction": "outbound"}, trace=True)
    for role, text in turns:
        replay.turn(role, text)
    replay.end()
    return [[tuple(v for k, v in e.items() if k != "says") for e in r.events or ()] for r in replay.reports]


def test_candidate_and_verified() -> None:
    got = events(rule("r-1", 'must_not_say "guarantee"'), [("agent", "we guarantee it")])
    assert got == [[], [("candidate", "guarantee"), ("verified", "r-1", [3, 12], "guarantee")], []]


def test_excepted_then_did_not_fire_by_exception() -> None:
    got = events(rule("r-1", 'must_not_say "guarantee" unless "not guarantee"'), [("agent", "we do not guarantee it")])
    assert got[1] == [
        ("candidate", "not guarantee"),
        ("candidate", "guarantee"),
        ("excepted", "r-1", [10, 19], "guarantee"),
        ("did_not_fire", "r-1", "exception"),
    ]


def test_state_set_by_the_agent_allows_what_follows_and_later_turns() -> None:
    pack = 'state told: agent says "this is a sales call"\n' + rule("r-1", 'must_not_say "price" until told')
    got = events(pack, [("agent", "this is a sales call and the price is low"), ("agent", "the price")])
    assert got[1] == [
        ("candidate", "this is a sales call"),
        ("candidate", "price"),
        ("allowed_after_state", "r-1", [29, 34], "price"),
        ("did_not_fire", "r-1", "state_set"),
        ("state_set", "t.told", "agent"),
    ]
    assert got[2] == [("candidate", "price"), ("did_not_fire", "r-1", "state_set")]


def test_state_set_by_the_callers_answer() -> None:
    pack = 'state asked: agent says "are you ready" then caller says "yes"\n' + rule("r-1", 'must_not_say "go" until asked')
    got = events(pack, [("agent", "are you ready"), ("caller", "yes")])
    assert got[1:3] == [[("candidate", "are you ready")], [("candidate", "yes"), ("state_set", "t.asked", "answer")]]


def test_window_opened_open_met_and_closed() -> None:
    got = events(rule("r-1", 'must_say "acme" within 2 turns'), [("agent", "hi"), ("agent", "acme here")])
    assert got == [
        [("window_opened", "r-1", "obligation")],
        [("did_not_fire", "r-1", "window_open")],
        [("candidate", "acme"), ("obligation_met", "r-1")],
        [],
    ]
    got = events(rule("r-1", 'must_say "acme" within 1 turn'), [("agent", "hi")])
    assert got[1] == [("window_closed", "r-1", False)]


def test_cue_opens_windows_and_words_before_it_are_outside_the_window() -> None:
    pack = rule("r-1", 'on caller "stop calling" {\n    must_say "removed" within 1 turn\n    must_not_say "offer"\n  }')
    got = events(pack, [("agent", "an offer"), ("caller", "stop calling"), ("agent", "removed, no offer")])
    assert got[1] == [("candidate", "offer"), ("did_not_fire", "r-1", "outside_window")]
    assert got[2] == [
        ("candidate", "stop calling"),
        ("cue_opened", "r-1"),
        ("window_opened", "r-1", "obligation"),
        ("window_opened", "r-1", "prohibition"),
    ]
    assert got[3] == [
        ("candidate", "removed"),
        ("candidate", "offer"),
        ("verified", "r-1", [12, 17], "offer"),
        ("obligation_met", "r-1"),
    ]


def test_a_cue_answering_a_question_not_asked() -> None:
    pack = rule("r-1", 'on caller "yes" after agent says "want to be removed" {\n    must_say "removed" within 1 turn\n  }')
    got = events(pack, [("agent", "hello"), ("caller", "yes")])
    assert got[2] == [("candidate", "yes"), ("did_not_fire", "r-1", "state_not_set")]


def test_not_applicable() -> None:
    got = events(rule("r-1", 'when direction == "inbound"\n  must_not_say "banana"'), [("agent", "banana")])
    assert got[1] == [("candidate", "banana"), ("not_applicable", "r-1"), ("did_not_fire", "r-1", "not_applicable")]


def test_template_rejected_then_verified() -> None:
    pack = rule("r-1", 'must_not_say "calling from {business_name}"')
    got = events(pack, [("agent", "calling from bolt"), ("agent", "calling from acme")], business_name="Acme")
    assert got[1] == [
        ("template_rejected", "calling from {business_name}"),
        ("did_not_fire", "r-1", "template_mismatch"),
    ]
    assert got[2] == [("candidate", "calling from {business_name}"), ("verified", "r-1", [0, 17], "calling from acme")]


def test_regex_ran() -> None:
    got = events(rule("r-1", "must_not_say /zz[0-9]+/"), [("agent", "code zz12")])
    assert got[1][0] == ("regex_ran", "zz[0-9]+")


def rejected(pack_text: str, text: str, **variables: str) -> list[tuple]:
    """The ``validator_rejected`` events of one agent turn: (detector, failed check, the words)."""
    replay = Replay(engine(pack_text, **variables), "c", trace=True)
    replay.turn("agent", text)
    return [(e["detector"], e["failed"], e["text"]) for e in replay.reports[1].events or () if e["event"] == "validator_rejected"]


def test_validator_rejected_names_the_detector_the_span_and_the_check() -> None:
    card = rule("r-1", "must_not_say detector credit_card")
    assert rejected(card, "the card is 4111 1111 1111 1112 ok") == [("credit_card", "luhn", "4111 1111 1111 1112")]
    # a valid card is a finding, not a rejection
    got = events(card, [("agent", "the card is 4111 1111 1111 1111")])[1]
    assert [e[0] for e in got] == ["verified"] and got[0][2] == [12, 31]
    assert rejected(card, "at 20240131235903 we spoke") == [("credit_card", "timestamp", "20240131235903")]
    ssn = rule("r-1", "must_not_say detector ssn")
    assert rejected(ssn, "my ssn is 900-12-3456") == [("ssn", "ssn_area", "900-12-3456")]
    assert rejected(ssn, "my ssn is 123-00-4567") == [("ssn", "ssn_group", "123-00-4567")]
    assert rejected(ssn, "my ssn is 123-45-0000") == [("ssn", "ssn_serial", "123-45-0000")]
    assert rejected(ssn, "my ssn is 078-05-1120") == [("ssn", "ssn_known_fake", "078-05-1120")]
    assert rejected(ssn, "your claim number is 123-45-6789") == [("ssn", "other_identifier", "123-45-6789")]
    assert rejected(ssn, "routing number 021023778") == [("ssn", "routing_number", "021023778")]
    assert rejected(ssn, "code 1 40 62 05 00") == [("ssn", "grouping", "1 40 62 05 00")]
    phone = rule("r-1", "must_not_say detector us_phone")
    assert rejected(phone, "call 115-555-0198 now") == [("us_phone", "nanp_area", "115-555-0198")]
    assert rejected(phone, "call 415-155-0198 now") == [("us_phone", "nanp_exchange", "415-155-0198")]
    assert rejected(phone, "call 411-555-0198 now") == [("us_phone", "nanp_n11", "411-555-0198")]
    assert rejected(phone, "call 23456789012 now") == [("us_phone", "country_code", "23456789012")]
    email = rule("r-1", "must_not_say detector email")
    assert rejected(email, "write to me at example dot zz") == [("email", "email_domain", "at")]
    assert rejected(email, "send it to me at example dot com") == [("email", "email_local", "me at example dot com")]
    mbi = rule("r-1", "must_not_say detector mbi")
    assert rejected(mbi, "the id is 1SG4TE5MK73") == [("mbi", "mbi_format", "1SG4TE5MK73")]


def test_validator_rejected_for_exempt_values_and_one_finding_per_value() -> None:
    pack = rule("r-1", "must_not_say detector us_phone excluding callback_numbers")
    replay = Replay(engine(pack), "c", metadata={"callback_numbers": ["415-555-0198"]}, trace=True)
    replay.turn("agent", "call us at 415-555-0198")
    got = [(e["detector"], e["failed"], e["text"]) for e in replay.reports[1].events or () if e["event"] == "validator_rejected"]
    assert got == [("us_phone", "exempt", "415-555-0198")]
    # a 10-digit phone overlapping a 9-digit window that is a valid SSN: one finding per value, the SSN's is not it
    both = rule("r-1", "must_not_say detector ssn") + rule("r-2", "must_not_say detector email")
    assert ("ssn", "more_specific", "234567890") in rejected(both, "mail 234567890@example.com")


def test_validator_rejected_only_for_the_detectors_the_packs_use() -> None:
    assert rejected(rule("r-1", 'must_not_say "guarantee"'), "the card is 4111 1111 1111 1112") == []


def test_a_rule_that_fires_through_another_check_is_not_said_to_have_not_fired() -> None:
    pack = rule("r-1", 'must_not_say "offer"\n  on caller "stop" {\n    must_not_say "offer" for 1 turn\n  }')
    got = events(pack, [("agent", "an offer")])
    assert ("did_not_fire", "r-1", "outside_window") not in got[1]
    assert ("verified", "r-1", [3, 8], "offer") in got[1]


def test_the_event_tables_come_from_the_core_and_every_event_has_a_sentence() -> None:
    assert list(EVENTS) == [name for name, _ in _core.TRACE_EVENTS]
    assert list(REASONS) == [name for name, _ in _core.TRACE_REASONS]
    assert list(CHECKS) == [name for name, _ in _core.VALIDATOR_CHECKS]
    assert set(SENTENCES) == set(EVENTS)
    page = explain_markdown()
    assert all(f"| `{name}` |" in page for name in [*EVENTS, *REASONS, *CHECKS])
    assert (ROOT / "docs" / "explain.md").read_text(encoding="utf-8") == page


# --------------------------------------------------------------------------------------------- tracing changes nothing

CALLS = list(load_transcripts(str(ROOT / "corpora" / "outbound_calls.jsonl")))


def run(engine: Engine, transcript: Any, trace: bool) -> tuple[list, dict, list]:
    call = engine.start_call(transcript.call_id, metadata=transcript.metadata, agent_id=transcript.agent_id, trace=trace)
    decisions, traced = [], []
    for role, text, t in transcript.turns:
        d = feed_turn(call, role, text, t)
        if d is not None:
            decisions.append((d.action, d.text, [(f.rule_id, f.span) for f in d.findings]))
        traced.extend(call._take_trace())
    card = call.end().to_dict()
    for key in ("started_at", "ended_at", "gate_health", "scored_at"):
        card.pop(key, None)
    return decisions, card, traced


@pytest.mark.parametrize("mode", ["warn", "modify", "block", "human_handoff"])
def test_tracing_off_has_no_events_and_on_or_off_the_same_decisions(mode: str) -> None:
    config = json.loads((ROOT / "examples" / "demo_config.json").read_text())
    config["guardrails"] = {**config.get("guardrails", {}), **WARN, "mode": mode}
    engine = Engine.from_config(config)
    for transcript in CALLS:
        off = run(engine, transcript, trace=False)
        on = run(engine, transcript, trace=True)
        assert off[2] == [] and on[2]
        assert off[:2] == on[:2], transcript.call_id


WORDS = ["we", "guarantee", "not", "stop calling", "removed", "offer", "this is a sales call", "price", "acme", "yes"]
PACK = (
    'state told: agent says "this is a sales call"\n'
    + rule("r-1", 'must_not_say "guarantee" unless "not guarantee"')
    + rule("r-2", 'must_not_say "price" until told')
    + rule("r-3", 'must_say "acme" within 2 turns')
    + rule("r-4", 'on caller "stop calling" {\n    must_say "removed" within 1 turn\n    must_not_say "offer"\n  }')
)
ENGINES = {mode: engine(PACK, mode) for mode in ("warn", "modify", "block", "human_handoff")}


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(ENGINES)),
    st.lists(st.tuples(st.sampled_from(["agent", "caller"]), st.lists(st.sampled_from(WORDS), max_size=6)), max_size=6),
)
def test_random_calls_decide_the_same_traced_or_not(mode: str, turns: list[tuple[str, list[str]]]) -> None:
    class Transcript:
        call_id, metadata, agent_id = "c", {"direction": "outbound"}, None

    Transcript.turns = [(role, " ".join(words) or "ok", None) for role, words in turns]
    off, on = run(ENGINES[mode], Transcript, False), run(ENGINES[mode], Transcript, True)
    assert off[2] == []
    assert off[:2] == on[:2]


# ------------------------------------------------------------------------------------------------- streamed turns


@pytest.mark.parametrize("text", ["", "  ", "one", " lead and  two  spaces ", "a\tb\nc d e f g"])
@pytest.mark.parametrize("words", [1, 2, 3])
def test_word_chunks_join_to_the_text(text: str, words: int) -> None:
    chunks = word_chunks(text, words)
    assert "".join(chunks) == text and all(len(c.split()) <= words for c in chunks)


def test_a_streamed_turn_is_explained_by_its_close_as_the_same_turn_checked_whole() -> None:
    config = json.loads((ROOT / "examples" / "demo_config.json").read_text())
    config["guardrails"] = {**config.get("guardrails", {}), **WARN, "mode": "modify"}
    eng = Engine.from_config(config)
    streamed_turns = 0
    for transcript in CALLS:
        whole = explain_transcript(eng, transcript).to_dict()
        streamed = explain_transcript(eng, transcript, stream_words=2).to_dict()
        for w, s in zip(whole["turns"], streamed["turns"], strict=True):
            if s.pop("streamed", False):
                streamed_turns += 1
            assert s == w, (transcript.call_id, w["turn"])
    assert streamed_turns > 10


def test_a_traced_stream_traces_its_close_not_its_feeds() -> None:
    eng = engine(rule("r-1", 'must_not_say "guarantee"'))
    call = eng.start_call("c", trace=True)
    call._take_trace()
    stream = call.agent_stream()
    for chunk in word_chunks("we guarantee it, we really do guarantee it", 1):
        stream.feed(chunk)
        assert call._take_trace() == []  # a feed's evaluation is provisional: nothing traced
    stream.close()
    names = [e["event"] for e in call._take_trace()]
    assert names == ["candidate", "candidate", "verified", "verified"]
