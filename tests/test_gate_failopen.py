"""Fail-open: internal errors and timeouts never reach the turn loop; garbage input is handled in linear work."""

from __future__ import annotations

import sys

import pytest
from faults import fault
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trace_engine import Engine
from trace_engine.gate.call import WITHHELD

PACKS = ["tcpa", "hipaa", "pii", "brand_voice", "debt_collection"]
ALL_PII = ["ssn", "credit_card", "email", "us_phone"]
TEXT = "Your card is 4111 1111 1111 1111."


def engine(mode="modify", timeout_ms=60000.0, packs=("pii",), **guardrails):
    return Engine.from_config(
        {
            "rule_packs": {p: {"enabled": True} for p in packs},
            "guardrails": {"mode": mode, "inline_timeout_ms": timeout_ms, "block_pii": {"patterns": ALL_PII}, **guardrails},
        }
    )


@pytest.mark.parametrize("mode", ["warn", "modify", "block", "human_handoff"])
def test_exception_in_normalize_fails_open(mode):
    call = engine(mode).start_call("c")
    with fault("normalize"):
        d = call.agent_turn(TEXT)
    assert (d.action, d.text, d.findings) == ("pass", TEXT, ())
    card = call.end()
    assert card.gate_health.errors == 1
    assert card.gate_health.fail_open == 1 and card.gate_health.unavailable == 1
    assert card.verdict == "WARN"  # a call the gate did not fully watch is never a clean PASS


def test_exception_in_evaluate_fails_open_and_call_continues():
    call = engine().start_call("c")
    with fault("evaluate"):
        d = call.agent_turn(TEXT, t=1.0)
    assert (d.action, d.text) == ("pass", TEXT)
    d2 = call.agent_turn(TEXT, t=5.0)
    assert d2.action == "modify" and d2.text == "Your card is XXXX XXXX XXXX 1111."
    card = call.end()
    assert card.gate_health.errors == 1 and card.gate_health.fail_open == 1
    assert card.gate_health.turns == 2
    assert call.agent_turns == 2


def test_fail_closed_blocks_with_fallback_line():
    call = Engine.from_config(
        {
            "rule_packs": {"pii": {"enabled": True}},
            "guardrails": {"mode": "modify", "inline_timeout_ms": 60000, "fail_open": False},
            "fallback_line": "One moment please.",
        }
    ).start_call("c")
    with fault("evaluate"):
        d = call.agent_turn(TEXT)
    assert (d.action, d.text) == ("block", "One moment please.")
    card = call.end()
    assert card.gate_health.errors == 1
    assert [e.text for e in card.timeline] == ["One moment please."]


def test_exception_in_caller_turn_is_swallowed():
    call = engine().start_call("c")
    with fault("normalize"):
        assert call.caller_turn("my card is 4111 1111 1111 1111") is None
    card = call.end()
    assert card.gate_health.errors == 1
    # nothing unredacted is stored when the gate could not look
    assert all("4111" not in e.text for e in card.timeline)


def test_exception_in_caller_turn_stores_detector_redaction():
    """The rules failed but the detectors still work: the stored caller text is redacted by them alone."""
    call = engine().start_call("c")
    with fault("scan"):
        call.caller_turn("my card is 4111 1111 1111 1111 ok")
    card = call.end()
    assert [e.text for e in card.timeline] == ["my card is [credit_card] ok"]
    assert [(r.kind, r.span) for r in card.redactions] == [("credit_card", (11, 30))]


def test_exception_everywhere_withholds_the_turn():
    """Normalization broken: not even the detectors can run, so the stored text is withheld."""
    call = engine().start_call("c")
    with fault("normalize"):
        d = call.agent_turn(TEXT)
    assert (d.action, d.text) == ("pass", TEXT)
    assert [e.text for e in call.end().timeline] == [WITHHELD]


def test_error_inside_commit_keeps_findings_as_late_and_one_timeline_entry():
    call = engine("modify").start_call("c")
    with fault("stored agent text"):  # fails after findings were recorded
        d = call.agent_turn(TEXT, t=1.0)
    assert (d.action, d.text) == ("pass", TEXT)  # fail-open: the original text went out
    card = call.end()
    assert [(e.seq, e.text) for e in card.timeline] == [(1, "Your card is [credit_card].")]
    assert {f.rule_id for f in card.findings} == {"pii-001", "guardrails-pii-credit_card"}
    assert {(f.action_taken, f.remediated, f.late, f.turn) for f in card.findings} == {("pass", False, True, 1)}
    assert card.modified_turns == 0 and card.verdict == "FAIL"


def test_deadline_is_checked_between_stages():
    """A scan that overruns the budget stops the turn before the rules run; the turn is judged later, off the
    critical path (at the next turn or at end), with its findings marked late."""
    e = engine("modify", timeout_ms=5.0)
    call = e.start_call("c")
    # the scan takes 50 ms of the gate's clock (past the 5 ms budget); were the mode applied, `decide` would fail
    with fault(("scan", 50_000_000), "decide"):
        d = call.agent_turn(TEXT, t=1.0)
    assert (d.action, d.text) == ("pass", TEXT)
    assert call.errors == 0  # the rules did not run inside the turn
    assert call.timeline == []  # nothing stored yet, nothing stored raw
    card = call.end()
    assert card.gate_health.timeouts == 1 and card.gate_health.fail_open == 1
    assert [e.text for e in card.timeline] == ["Your card is [credit_card]."]
    assert {(f.rule_id, f.action_taken, f.late) for f in card.findings} == {
        ("pii-001", "pass", True), ("guardrails-pii-credit_card", "pass", True)
    }


def test_exception_in_stream_fails_open():
    call = engine().start_call("c")
    s = call.agent_stream()
    with fault("evaluate"):
        released = s.feed("Hello ") + s.feed("there.")
        d = s.close()
    assert released + s.tail == "Hello there."
    assert d.action == "pass"
    assert call.end().gate_health.fail_open >= 1


def test_observer_failure_never_reaches_turn_loop():
    class Bad:
        def on_turn(self, *a):
            raise RuntimeError("observer")

        def on_end(self, *a):
            raise RuntimeError("observer")

    e = Engine.from_config({"rule_packs": {}, "guardrails": {"inline_timeout_ms": 60000}}, observers=(Bad(),))
    call = e.start_call("c")
    assert call.agent_turn("hello").action == "pass"
    call.caller_turn("hi")
    assert call.end().verdict == "PASS"


def test_writer_failure_never_raises():
    class Writer:
        def submit(self, card):
            raise OSError("disk full")

    e = Engine.from_config({"rule_packs": {}, "guardrails": {"inline_timeout_ms": 60000}}, writer=Writer())
    call = e.start_call("c")
    call.agent_turn("hello")
    assert call.end().verdict == "PASS"


@pytest.mark.parametrize(
    "fail_open, action, text, late_action, verdict",
    [(True, "pass", TEXT, "pass", "FAIL"), (False, "block", "Sorry, let me rephrase that.", "block", "WARN")],
)
def test_timeout_fails_open_or_closed(fail_open, action, text, late_action, verdict):
    call = engine(timeout_ms=0.000001, fail_open=fail_open).start_call("c")
    d = call.agent_turn(TEXT)
    assert (d.action, d.text) == (action, text)
    assert d.findings == ()
    card = call.end()
    assert card.gate_health.timeouts == 1
    assert card.gate_health.fail_open == 1
    # the turn is judged after all (off the critical path): the finding is kept, marked late
    late = [f for f in card.findings if f.late]
    assert late and {f.action_taken for f in late} == {late_action}
    assert card.verdict == verdict  # fail-open: the card number went out unmasked, a real violation
    assert all("4111 1111 1111" not in e.text for e in card.timeline)


def test_timeout_still_advances_state():
    """A timed-out turn was spoken (fail-open): an obligation it met stays met."""
    e = Engine.from_config(
        {
            "guardrails": {
                "mode": "modify",
                "inline_timeout_ms": 0.000001,
                "mandatory_disclosures": [{"text": "This call is recorded.", "trigger": "call_start"}],
            }
        }
    )
    call = e.start_call("c")
    call.agent_turn("This call is recorded. Hi!")
    card = call.end()
    assert "guardrails-disclosure-1" not in {f.rule_id for f in card.findings}


# ------------------------------------------------------------------------------------------------ adversarial text

_ALL = Engine.from_config(
    {
        "rule_packs": {p: {"enabled": True} for p in PACKS},
        "guardrails": {
            "mode": "modify",
            "inline_timeout_ms": 60000,
            "block_pii": {"patterns": ALL_PII},
            "blocked_phrases": ["trust me"],
            "mandatory_disclosures": [{"text": "This call is recorded."}],
        },
    }
)
_META = {"direction": "outbound", "business_name": "Acme", "agent_name": "Sam"}

ADVERSARIAL = [
    "",
    " ",
    "\ud800",
    "abc\udfffdef \ud83d",
    "\x00\x01\x02\x1b[31m\x7f",
    "nul\x00in\x00the\x00middle 4111\x001111\x001111\x001111",
    "😀" * 1000,
    "\u202e\u200b\u200d\ufeff",
    "٤١١١ ١١١١ ١١١١ ١١١١",
    "４１１１ １１１１ １１１１ １１１１",
    "1" * 100_000,
    "one " * 20_000,
    "@" * 10_000,
    "a." * 20_000,
    "don't " * 10_000,
    "$" * 200 + "%" * 200 + "$%" * 100,
    "x" * 1_000_000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda t: repr(t[:12]) + f"..{len(t)}")
def test_adversarial_text_no_exception(text):
    call = _ALL.start_call("adv", metadata=_META)
    d = call.agent_turn(text)
    assert d.action in ("pass", "flag", "modify", "block", "handoff")
    assert call.errors == 0, "the gate failed open on garbage instead of handling it"
    call.caller_turn(text)
    assert call.errors == 0
    s = call.agent_stream()
    s.feed(text[: len(text) // 2])
    s.feed(text[len(text) // 2 :])
    s.close()
    assert call.errors == 0
    call.end()


def count_work(fn, *args):
    """Python-level work done by ``fn(*args)``: function calls plus lines executed (``sys.settrace``).

    Deterministic, so it holds on a busy machine where wall-clock ratios do not. The C-level parts of the hot path
    (RE2, Aho-Corasick, str methods on the whole turn) are linear-time by construction; what can go quadratic is
    Python looping over matches, spans or tokens, which this counts.
    """
    calls = lines = 0

    def local(frame, event, arg):
        nonlocal lines
        lines += 1
        return local

    def tracer(frame, event, arg):
        nonlocal calls
        calls += 1
        return local

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn(*args)
    finally:
        sys.settrace(previous)
    return calls + lines


def _turn_work(text):
    call = _ALL.start_call("t", metadata=_META)
    return count_work(call.agent_turn, text)


def _assert_linear(unit, n, factor):
    small, big = _turn_work(unit * n), _turn_work(unit * (factor * n))
    # linear work grows by ``factor``; a quadratic pass would grow by about factor**2
    assert big <= 1.25 * factor * small + 2_000, (unit, small, big, round(big / small, 2))


def test_work_counter_catches_quadratic_code():
    def quadratic(n):
        return sum(1 for i in range(n) for j in range(i))

    def linear(n):
        return sum(1 for i in range(n))

    assert count_work(linear, 8_000) <= 1.25 * 8 * count_work(linear, 1_000) + 2_000
    assert count_work(quadratic, 800) > 1.25 * 8 * count_work(quadratic, 100) + 2_000


@pytest.mark.parametrize("unit", ["x", "1", "one ", "four one one one, uh, ", "a.b@", "😀\ud800\x00 "])
def test_linear_work(unit):
    _assert_linear(unit, 5_000 // len(unit) + 1, 4)


@pytest.mark.parametrize(
    "unit, chars",
    [
        ("$", 250),
        ("dollars ", 2_000),
        ("jane dot doe at example dot com ", 4_000),
    ],
)
def test_linear_work_with_many_matches(unit, chars):
    _assert_linear(unit, chars // len(unit) + 1, 8)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300))
def test_arbitrary_unicode_never_raises_or_fails_open(text):
    call = _ALL.start_call("h", metadata=_META)
    d = call.agent_turn(text)
    assert d.text is not None
    call.caller_turn(text)
    assert call.errors == 0
