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
from trace_engine.explain import EVENTS, REASONS, SENTENCES, explain_markdown
from trace_engine.replay import Replay, feed_turn
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


def test_a_rule_that_fires_through_another_check_is_not_said_to_have_not_fired() -> None:
    pack = rule("r-1", 'must_not_say "offer"\n  on caller "stop" {\n    must_not_say "offer" for 1 turn\n  }')
    got = events(pack, [("agent", "an offer")])
    assert ("did_not_fire", "r-1", "outside_window") not in got[1]
    assert ("verified", "r-1", [3, 8], "offer") in got[1]


def test_the_event_tables_come_from_the_core_and_every_event_has_a_sentence() -> None:
    assert list(EVENTS) == [name for name, _ in _core.TRACE_EVENTS]
    assert list(REASONS) == [name for name, _ in _core.TRACE_REASONS]
    assert set(SENTENCES) == set(EVENTS)
    page = explain_markdown()
    assert all(f"| `{name}` |" in page for name in [*EVENTS, *REASONS])
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
