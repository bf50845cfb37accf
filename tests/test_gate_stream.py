"""Streaming agent turns: any split of a turn speaks the same text and finds the same things as the whole turn."""

from __future__ import annotations

import functools
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trace_engine import Engine
from trace_engine.replay import word_chunks

PACKS = ["tcpa", "hipaa", "pii", "brand_voice", "debt_collection"]
ALL_PII = ["ssn", "credit_card", "email", "us_phone"]
META = {
    "direction": "outbound",
    "business_name": "Acme Solar",
    "agent_name": "Sam",
    "local_time": "2026-11-20T10:15:00-05:00",
    "callee_state": "NY",
    "answered_by": "human",
    "recording_enabled": True,
    "callback_numbers": ["415-555-0198"],
}


def config(mode):
    """The streaming tests' gate config in ``mode`` (every pack, PII blocking, two blocked phrases, a disclosure)."""
    return {
        "rule_packs": {p: {"enabled": True} for p in PACKS},
        "guardrails": {
            "mode": mode,
            "inline_timeout_ms": 60000,
            "block_pii": {"patterns": ALL_PII},
            "blocked_phrases": ["trust me", "to be honest"],
            "mandatory_disclosures": [{"text": "This call is recorded.", "trigger": "call_start"}],
        },
    }


@functools.cache
def engine(mode):
    return Engine.from_config(config(mode))


SENTENCES = [
    "Hi, this is Sam calling from Acme Solar.",
    "This call is recorded.",
    "Thanks for your time today, I'll send the details.",
    "We can't guarantee savings, it depends on your roof.",
    "We guarantee you'll save money, trust me.",
    "To be honest, this is a great deal.",
    "Your card on file is 4111 1111 1111 1111, expiring next year.",
    "The card is four one one one, uh, one one one one, one one one one, one one one one.",
    "Your social is 123-45-6789.",
    "Your social is one two three, four five, six seven eight nine.",
    "I'll email jane.doe@example.com today.",
    "Write to jane dot doe at example dot com please.",
    "Call us at four one five, five five five, zero one nine eight.",
    "Call my cell at two one two, double five five, oh one four three.",
    "Or 212-555-0143 works too.",
    "What's the CVV on the back of your card?",
    "Your lab results are ready.",
    "If you'd like us to stop calling, just say stop.",
    "It's a limited time offer, act now!",
    "Don't worry, we won't call again.",
    "I'm an AI assistant.",
]
HISTORY = [
    ("agent", "Hi, this is Sam calling from Acme Solar. This call is recorded. To opt out, say stop."),
    ("caller", "okay, who is this again?"),
]


def fresh_call(mode, history):
    call = engine(mode).start_call("s", metadata=META)
    for role, text in history:
        if role == "agent":
            call.agent_turn(text)
        else:
            call.caller_turn(text)
    return call


def chunks_of(text, cuts):
    points = sorted({c % (len(text) + 1) for c in cuts})
    out, prev = [], 0
    for p in points:
        out.append(text[prev:p])
        prev = p
    out.append(text[prev:])
    return out


def key(findings):
    return sorted((f.rule_id, f.span, f.action_taken) for f in findings)


turn_text = st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=3).map(" ".join)
cuts = st.lists(st.integers(0, 10_000), max_size=12)
history = st.sampled_from([(), tuple(HISTORY)])


def run_stream(mode, hist, text, cut_points):
    call = fresh_call(mode, hist)
    stream = call.agent_stream(t=None)
    released = "".join(stream.feed(c) for c in chunks_of(text, cut_points))
    decision = stream.close()
    return stream, released, decision


@pytest.mark.parametrize("mode", ["warn", "modify"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=turn_text, cut_points=cuts, hist=history)
def test_split_equals_whole_turn(mode, text, cut_points, hist):
    whole = fresh_call(mode, hist).agent_turn(text)
    stream, released, decision = run_stream(mode, hist, text, cut_points)
    assert released + stream.tail == whole.text
    assert stream.spoken == whole.text
    assert decision.text == whole.text and decision.action == whole.action
    assert key(decision.findings) == key(whole.findings)


@pytest.mark.parametrize("mode", ["block", "human_handoff"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=turn_text, cut_points=cuts, hist=history)
def test_split_in_suppressing_modes(mode, text, cut_points, hist):
    whole = fresh_call(mode, hist).agent_turn(text)
    stream, released, decision = run_stream(mode, hist, text, cut_points)
    assert key(decision.findings) == key(whole.findings)
    assert decision.action == whole.action
    if whole.action in ("block", "handoff"):
        line = whole.text or ""
        expected_tail = line if not released else (" " + line if line else "")
        assert stream.tail == expected_tail
        assert stream.spoken == released + expected_tail
        # whatever was released before the violation is a prefix of the original turn, masked where needed
        assert "4111 1111 1111 1111" not in released and "123-45-6789" not in released
    else:
        assert released + stream.tail == whole.text


def test_stream_holds_back_pii_until_safe():
    call = fresh_call("modify", HISTORY)
    s = call.agent_stream()
    out = [s.feed("Your card on file is "), s.feed("4111 1111 "), s.feed("1111 1111"), s.feed(", expiring next year.")]
    d = s.close()
    assert "".join(out) + s.tail == "Your card on file is XXXX XXXX XXXX 1111, expiring next year."
    assert d.action == "modify"
    # nothing of the card number was released unmasked at any point
    assert all("4111" not in piece for piece in out)


def test_stream_first_turn_disclosure_prefix():
    call = engine("modify").start_call("s", metadata=META)
    s = call.agent_stream()
    # a first-turn disclosure may still be said later in the turn: nothing is released before close
    released = s.feed("Hi, this is Sam calling from Acme Solar. ") + s.feed("How are you today?")
    assert released == ""
    d = s.close()
    assert s.tail == "This call is recorded. Hi, this is Sam calling from Acme Solar. How are you today?"
    assert d.action == "modify"


def test_stream_close_twice_raises_and_feed_after_close_is_empty():
    s = fresh_call("warn", ()).agent_stream()
    s.feed("hello")
    s.close()
    assert s.feed("more") == ""
    with pytest.raises(RuntimeError):
        s.close()


def test_stream_counts_as_one_agent_turn():
    call = fresh_call("warn", HISTORY)
    before = call.agent_turns
    s = call.agent_stream()
    for piece in ["Thanks ", "for ", "your ", "time."]:
        s.feed(piece)
    s.close()
    assert call.agent_turns == before + 1
    card = call.end()
    assert [e.text for e in card.timeline if e.role == "agent"][-1] == "Thanks for your time."


def test_chunk_latencies_are_each_feeds_own_time():
    """``chunk_latencies_ns`` has one figure per chunk, within the time the caller measured around that feed (the core
    reads the same monotonic clock inside the call), and a "slow" fault at the stream's release counts in it as the
    gate's other latencies count it."""
    from faults import fault

    call = engine("modify").start_call("lat", metadata=META)
    call.agent_turn("Hi, this is Sam calling from Acme Solar. This call is recorded.")
    stream = call.agent_stream()
    around = []
    for chunk in word_chunks("thanks for your time today, we can call you back at 415 555 0198 tomorrow", 2):
        started = time.perf_counter_ns()
        stream.feed(chunk)
        around.append(time.perf_counter_ns() - started)
    with fault(("stream release", 5_000_000)):
        stream.feed("and then ")
    stream.close()
    latencies = stream.chunk_latencies_ns
    assert len(latencies) == len(around) + 1
    pairs = list(zip(latencies[:-1], around, strict=True))
    assert all(0 <= got <= outside + 2_000 for got, outside in pairs), pairs
    assert 5_000_000 <= latencies[-1] < 5_000_000 + 10_000_000
