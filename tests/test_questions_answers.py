"""Questions and answers: two-step states and caller cues conditioned on the agent's previous turn (exchanges), the
`unless` / `and not` refinements, `{name|*}` variables, and the JSON form's checks for them."""

from __future__ import annotations

import json

import pytest

from trace_engine import Engine
from trace_engine.dsl import load_pack_text
from trace_engine.dsl.jsonform import dump_json_pack, load_json_pack, pack_to_dict
from trace_engine.errors import TraceSyntaxError

HEADER = 'pack qa\nversion "1"\njurisdiction "US"\nlegal_status "d"\n'
PACK = HEADER + """
state right_party: agent says "is this *" unless "is this a" then caller says ["yes", "speaking"] and not ["who is asking", "his wife"]
rule qa-001 {
  title "t"
  severity high
  citation "c"
  reason "r"
  must_not_say "balance" until right_party
  on caller "no" and not "yes" after agent says "is this *" unless "is this a" {
    must_not_say "payment"
  }
}
"""


def call(mode: str = "warn"):
    pack, _ = load_pack_text(PACK, "qa.trace")
    engine = Engine.from_config({"guardrails": {"mode": mode, "inline_timeout_ms": 60000}}, packs=[pack])
    return engine.start_call("c")


def fired(c, role: str, text: str) -> set[str]:
    if role == "caller":
        c.caller_turn(text)
        return set()
    return {f.rule_id for f in c.agent_turn(text).findings}


def run(turns: list[tuple[str, str]]) -> list[set[str]]:
    c = call()
    return [fired(c, role, text) for role, text in turns]


def test_an_answer_to_the_question_sets_the_state():
    out = run([("agent", "hi, is this pat morgan?"), ("caller", "yes"), ("agent", "your balance is ten dollars")])
    assert out[-1] == set()


def test_a_yes_without_the_question_is_not_an_answer():
    out = run([("agent", "hi there"), ("caller", "yes"), ("agent", "your balance is ten dollars")])
    assert out[-1] == {"qa-001"}


def test_the_question_unless_its_exception_overlaps():
    out = run([("agent", "hi, is this a good time?"), ("caller", "yes"), ("agent", "your balance is ten dollars")])
    assert out[-1] == {"qa-001"}
    # the exception only takes out the hit it overlaps: a second question in the same turn still asks
    out = run([("agent", "is this a good time? is this pat?"), ("caller", "yes"), ("agent", "your balance")])
    assert out[-1] == set()


def test_and_not_makes_a_turn_no_answer_and_ends_the_exchange():
    out = run([("agent", "is this pat?"), ("caller", "yes, who's asking?"), ("agent", "your balance")])
    assert out[-1] == {"qa-001"}
    # after a declining turn, a later yes to the same question no longer counts
    out = run([("agent", "is this pat?"), ("caller", "who's asking"), ("caller", "yes"), ("agent", "your balance")])
    assert out[-1] == {"qa-001"}


def test_an_answer_may_take_several_caller_turns_and_the_question_several_agent_turns():
    out = run([("agent", "is this pat?"), ("caller", "um"), ("caller", "speaking"), ("agent", "your balance")])
    assert out[-1] == set()
    out = run([("agent", "is this pat?"), ("agent", "hello?"), ("caller", "yes"), ("agent", "your balance")])
    assert out[-1] == set()


def test_the_exchange_ends_when_the_agent_speaks_after_a_reply():
    out = run([("agent", "is this pat?"), ("caller", "hello?"), ("agent", "hi there"), ("caller", "yes"),
               ("agent", "your balance")])
    assert out[-1] == {"qa-001"}


def test_a_suppressed_question_was_never_asked():
    pack, _ = load_pack_text(
        HEADER + 'state asked: agent says "is this *" then caller says "yes"\n'
        'rule qa-002 {\n  title "t"\n  severity high\n  citation "c"\n  reason "r"\n'
        '  must_not_say "balance" until asked\n  must_not_say "secret"\n  remedy block\n}\n',
        "qa.trace",
    )
    c = Engine.from_config({"guardrails": {"mode": "block", "inline_timeout_ms": 60000}}, packs=[pack]).start_call("c")
    assert c.agent_turn("is this pat? the secret is out").action == "block"  # the fallback line was spoken instead
    c.caller_turn("yes")
    assert c.agent_turn("your balance").action == "block"


def test_a_caller_cue_after_the_agents_question():
    # "no" to "is this pat?" opens the prohibition; "no" to anything else does not
    out = run([("agent", "is this pat?"), ("caller", "no"), ("agent", "please make a payment")])
    assert out[-1] == {"qa-001"}
    out = run([("agent", "is this a good time?"), ("caller", "no"), ("agent", "please make a payment")])
    assert out[-1] == set()
    out = run([("agent", "hi there"), ("caller", "no"), ("agent", "please make a payment")])
    assert out[-1] == set()
    out = run([("agent", "is this pat?"), ("caller", "no problem, yes"), ("agent", "please make a payment")])
    assert out[-1] == set()


def test_grammar_checks_for_questions():
    with pytest.raises(TraceSyntaxError) as exc:
        load_pack_text(HEADER + 'state s: caller says "x" then agent says "y"\n'
                       'rule r-1 {\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n'
                       '  must_not_say "z" until s\n}\n', "p.trace")
    assert "TS129 state `s` must be a question and its answer" in str(exc.value)
    with pytest.raises(TraceSyntaxError) as exc:
        load_pack_text(HEADER + 'rule r-1 {\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n'
                       '  on agent "x" after caller says "y" {\n    must_not_say "z"\n  }\n}\n', "p.trace")
    assert "TS128 `after` names the agent turn a caller cue answers" in str(exc.value)


def test_the_json_form_round_trips_and_checks_questions():
    pack, _ = load_pack_text(PACK, "qa.trace")
    text = dump_json_pack(pack)
    assert load_json_pack(text, "qa.json")[0] == pack
    d = pack_to_dict(pack)
    step = d["states"][0]["steps"][1]
    assert list(step) == ["speaker", "match", "and_not"]
    cue = d["rules"][0]["checks"][1]
    assert list(cue) == ["kind", "speaker", "match", "and_not", "after", "then"]
    d["states"][0]["steps"].reverse()
    d["rules"][0]["checks"][1]["speaker"] = "agent"
    with pytest.raises(TraceSyntaxError) as exc:
        load_json_pack(json.dumps(d), "qa.json")
    codes = [x.code for x in exc.value.diagnostics]
    assert codes.count("TJ007") == 1 + 1  # the reversed state and the agent cue with `after`


def test_the_json_form_checks_scopes():
    pack, _ = load_pack_text(
        HEADER + "applies_to call_purpose: healthcare\n"
        'rule r-1 {\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n'
        "  applies_to direction: inbound\n  must_not_say \"z\"\n}\n",
        "p.trace",
    )
    d = pack_to_dict(pack)
    assert d["applies_to"] == {"call_purpose": ["healthcare"]}
    d["rules"][0]["applies_to"] = {"call_purpose": ["telemarketing"], "answered_by": ["voicemail"]}
    with pytest.raises(TraceSyntaxError) as exc:
        load_json_pack(json.dumps(d), "p.json")
    messages = [x.message for x in exc.value.diagnostics]
    assert any(m.startswith("$.rules[0].applies_to.call_purpose: the rule widens its pack's scope") for m in messages)
    assert any('"voicemail" is not one of "human", "machine"' in m for m in messages)


# ------------------------------------------------------------------------------------------------ {name|*}


def identification(metadata: dict, text: str) -> set[str]:
    pack, _ = load_pack_text(
        HEADER + 'rule id-001 {\n  title "t"\n  severity high\n  citation "c"\n  reason "r"\n'
        '  must_say ["calling from {business_name|*}", "from {business_name}"] within first_turn\n}\n',
        "p.trace",
    )
    engine = Engine.from_config({"guardrails": {"mode": "warn", "inline_timeout_ms": 60000}}, packs=[pack])
    return {f.rule_id for f in engine.start_call("c", metadata=metadata).agent_turn(text).findings}


def test_a_variable_with_a_gap_fallback():
    # no business configured: some organization named as the caller is enough
    assert identification({}, "hi, dana calling from lakeside roofing") == set()
    assert identification({}, "hi, this is dana") == {"id-001"}
    # configured: that business must be named, with or without an article; another name does not count
    acme = {"business_name": "The Acme Solar Co."}
    assert identification(acme, "hi, sam calling from acme solar") == set()
    assert identification(acme, "hi, sam from the acme solar team") == set()
    assert identification(acme, "hi, sam calling from sunrise energy") == {"id-001"}


def test_answers_count_only_while_a_question_is_open():
    c = call()
    c.caller_turn("yes")  # nothing was asked: a yes answers nothing
    assert c.states == {}
    c.agent_turn("is this pat?")
    c.caller_turn("yes")
    assert c.states == {"qa.right_party": True}


# the phrases an agent turn's scan drops: a caller step's ("yes", "speaking", "who is asking", "his wife") and a
# caller cue's trigger and exception ("no", "yes"); the agent's question, its exception and the checks are heard
CALLER_SIDE_TEXT = "yes we are speaking with his wife and no more questions today " * 6


def streamed_quietly(pack_text: str, text: str) -> tuple[int, int]:
    """``text`` streamed in 2-word chunks as an agent turn of a call on ``pack_text`` (the carried matches checked
    against a fresh scan after every chunk): how many feeds were quiet (taken without an update), of how many. The
    Decision is the whole turn's."""
    pack, _ = load_pack_text(pack_text, "qa.trace")
    engine = Engine.from_config({"guardrails": {"mode": "modify", "inline_timeout_ms": 60000}}, packs=[pack])
    words = text.split()
    chunks = [" ".join(words[i : i + 2]) + " " for i in range(0, len(words), 2)]
    stream = engine.start_call("s").agent_stream()
    for chunk in chunks:
        stream.feed(chunk)
        assert stream._check_carried() == ""
    quiet = stream._work()[5]
    decision = stream.close()
    whole = engine.start_call("w").agent_turn(text)
    assert (decision.action, decision.text, [f.rule_id for f in decision.findings]) == (
        whole.action,
        whole.text,
        [f.rule_id for f in whole.findings],
    )
    return quiet, len(chunks)


def test_an_agent_stream_passes_the_phrases_only_caller_turns_read_quietly():
    """No agent turn reads a caller step's phrases or a caller cue's trigger: an agent turn's scan drops their keys,
    so a streamed agent turn full of them takes its feeds without an update. Heard by an agent check (the control
    below), the same words make most feeds update."""
    quiet, feeds = streamed_quietly(PACK, CALLER_SIDE_TEXT)
    assert quiet >= feeds - 2
    heard = PACK.replace(
        "  on caller",
        '  on agent ["yes", "speaking", "his wife", "no"] {\n    must_not_say "x"\n  }\n  on caller',
    )
    heard_quiet, _ = streamed_quietly(heard, CALLER_SIDE_TEXT)
    assert heard_quiet <= feeds // 2


SHARED = HEADER + """
phrases refusal_words ["stop calling", "not interested"]
rule qa-002 {
  title "t"
  severity high
  citation "c"
  reason "r"
  must_not_say refusal_words
  on caller refusal_words {
    must_not_say "special offer"
  }
}
"""


def test_a_phrase_set_a_caller_cue_and_an_agent_check_share_is_heard_on_both_sides():
    pack, _ = load_pack_text(SHARED, "qa.trace")
    engine = Engine.from_config({"guardrails": {"mode": "warn", "inline_timeout_ms": 60000}}, packs=[pack])
    c = engine.start_call("c")
    assert {f.rule_id for f in c.agent_turn("should I stop calling you?").findings} == {"qa-002"}
    c.caller_turn("I am not interested")
    assert {f.rule_id for f in c.agent_turn("one special offer first").findings} == {"qa-002"}
    stream = engine.start_call("s").agent_stream()
    for chunk in ["I will ", "stop calling ", "you now "]:
        stream.feed(chunk)
    assert {f.rule_id for f in stream.close().findings} == {"qa-002"}


AFTER_ONLY = HEADER + """
rule qa-003 {
  title "t"
  severity high
  citation "c"
  reason "r"
  on caller "yes" after agent says "shall we continue" {
    must_not_say "payment"
  }
}
"""


def test_the_question_a_caller_cue_waits_for_is_heard_on_agent_turns():
    """The agent's question in a caller cue's ``after`` step is read on agent turns (only the cue's trigger, the
    caller's "yes", is a caller turn's): the cue opens after the question and its answer, and not without them."""
    pack, _ = load_pack_text(AFTER_ONLY, "qa.trace")
    engine = Engine.from_config({"guardrails": {"mode": "warn", "inline_timeout_ms": 60000}}, packs=[pack])
    asked = engine.start_call("a")
    asked.agent_turn("shall we continue?")
    asked.caller_turn("yes")
    assert {f.rule_id for f in asked.agent_turn("your payment is due").findings} == {"qa-003"}
    unasked = engine.start_call("u")
    unasked.agent_turn("hello there")
    unasked.caller_turn("yes")
    assert {f.rule_id for f in unasked.agent_turn("your payment is due").findings} == set()
