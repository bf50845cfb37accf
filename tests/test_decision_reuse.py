"""A call refills the Decision object it returned last when nothing but the call holds it (8a04020,
``Decision::issue``). That is safe only while nothing else can reach such an object and nothing can re-enter the
call while it is refilled. These tests pin each of those conditions, so that a change that breaks one (a decision
that takes weak references, is tracked by the garbage collector, can be subclassed or copied; an observer or a
finalizer that gets to run a nested turn on the object being refilled) fails here rather than in a turn loop."""

from __future__ import annotations

import copy
import gc
import sys
import threading
import weakref

import pytest

from trace_engine import Engine
from trace_engine.bench import default_gate_config
from trace_engine.gate.decision import Decision

META = {"direction": "outbound"}
OPENING = ["Hello there, this is Sam from Acme, this call is recorded. How can I help?", "Sure, one moment."]
CARD = "my card is 4111 1111 1111 1111"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_config(default_gate_config())


def _opened(engine: Engine, observers: tuple = ()) -> object:
    e = Engine(engine.config, engine.program, None, observers) if observers else engine
    call = e.start_call("reuse", metadata=META)
    for line in OPENING:
        call.agent_turn(line)
    return call


def _twin(engine: Engine, text: str) -> str:
    """The decision on ``text`` in a fresh, opened call: its repr without the latency."""
    return _shape(_opened(engine).agent_turn(text))


def _shape(d: Decision) -> str:
    return repr(Decision(d.action, d.text, d.findings, 0, d.preempt))


def test_nothing_reaches_a_decision_but_its_references(engine: Engine) -> None:
    d = _opened(engine).agent_turn(CARD)
    assert not gc.is_tracked(d)  # gc.get_objects / get_referrers cannot hand it out
    with pytest.raises(TypeError, match="weak reference"):
        weakref.ref(d)
    with pytest.raises(TypeError, match="not an acceptable base type"):
        type("Sub", (Decision,), {})
    for op in (copy.copy, copy.deepcopy):  # no __reduce__ that could hand the live object to someone else
        with pytest.raises(TypeError):
            op(d)


def test_a_finalizer_that_reenters_the_call_during_a_refill_cannot_change_the_turn(engine: Engine) -> None:
    """The refill releases the old decision's fields; a Tier-2 instruction in its ``preempt`` can run Python code
    then. A nested turn on the same call is refused (the call is busy), and the turn's own decision is intact."""
    call = _opened(engine)
    nested: list[BaseException | Decision] = []

    class Instruction(str):
        def __del__(self) -> None:
            try:
                nested.append(call.agent_turn("ok"))
            except BaseException as exc:  # noqa: BLE001 - pyo3's PanicException is a BaseException
                nested.append(exc)

    call.preempt.append(Instruction("mention the offer"))
    d = call.agent_turn("Sure.")
    assert d.preempt == ("mention the offer",)
    del d  # the call's reference is the only one left: the next turn refills this object
    unraisable = sys.unraisablehook
    sys.unraisablehook = lambda *_: None
    try:
        out = call.agent_turn(CARD)
    finally:
        sys.unraisablehook = unraisable
    assert len(nested) == 1 and isinstance(nested[0], BaseException) and "borrowed" in str(nested[0])
    assert _shape(out) == _twin(engine, CARD)


def test_an_observer_that_runs_a_nested_turn_leaves_the_outer_decision_alone(engine: Engine) -> None:
    """Observers hear of a turn after its decision is made, while the call still holds it as well (so a nested
    turn gets a new object)."""
    nested: list[Decision] = []

    class Nested:
        def on_turn(self, call, role, text, t) -> None:  # noqa: ANN001 - the observer protocol
            if role == "agent" and not nested and text.startswith("my card"):
                nested.append(call.agent_turn("ok"))

        def on_end(self, *args: object) -> None:
            pass

    call = _opened(engine, (Nested(),))
    out = call.agent_turn(CARD)
    assert nested and nested[0] is not out
    assert nested[0].action == "pass" and _shape(out) == _twin(engine, CARD)
    del out
    again = call.agent_turn(CARD)  # and the refilled object reads as a fresh one afterwards
    assert _shape(again) == _twin(engine, CARD)


def test_decisions_a_tracer_keeps_never_change(engine: Engine) -> None:
    """A tracer (sys.setprofile) that keeps every decision the turn loop's step returns keeps them as they were,
    while the loop itself drops each one at once."""
    kept: list[Decision] = []

    def profile(frame, event, arg):  # noqa: ANN001, ANN202
        if event == "return" and isinstance(arg, Decision):
            kept.append(arg)

    call = _opened(engine)
    turns = [CARD, "ok", "Call me at 415-555-0123", "Sure.", CARD]

    def step(text: str) -> Decision:
        return call.agent_turn(text)

    sys.setprofile(profile)
    try:
        shown = [repr(step(t)) for t in turns]
    finally:
        sys.setprofile(None)
    assert len(kept) == len(turns) and len({id(d) for d in kept}) == len(kept)
    assert [repr(d) for d in kept] == shown


def test_two_threads_keeping_every_other_decision_see_them_unchanged(engine: Engine) -> None:
    seen: list[list[tuple[Decision, str]]] = [[], []]
    errors: list[BaseException] = []
    turns = [CARD, "ok", "Call me at 415-555-0123", "Sure."]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def run(k: int) -> None:
        try:
            call = _opened(engine)
            for i in range(400):
                d = call.agent_turn(turns[i % len(turns)])
                if i % 2:
                    seen[k].append((d, repr(d)))
                del d
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert not errors
    for kept in seen:
        assert all(repr(d) == shown for d, shown in kept)
