"""A core-built :class:`Decision` builds its findings on first access; nothing about it may show.

Every way to read a decision (``findings``, equality, ``repr``, ``to_dict``, unpacking, pickling and copying,
hashing) is compared with a decision built eagerly in Python from the same values, each path taken first on a
fresh decision, so that path is the one that builds the findings.
"""

from __future__ import annotations

import copy
import gc
import pickle
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

from trace_engine import Engine
from trace_engine.bench import default_gate_config
from trace_engine.gate.decision import Decision, TurnFinding

#: (label, the turns before, the turn) — findings of every shape the core builds
#: turns that meet the call's opening obligations (their own decisions are modified: the gate injects the rest)
OPENED = ["Hello there, how can I help?", "Sure, one moment."]
TURNS = [
    ("no findings", OPENED, "ok"),
    ("missed obligations only", [], "Hello there, how can I help?"),
    ("a span and a kind", OPENED, "my card is 4111 1111 1111 1111"),
    ("more than two, spans and obligations", [], "Call me back at 415-555-0123 or 212 555 0199 please"),
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_config(default_gate_config())


def fresh(engine: Engine, before: list[str], text: str) -> Decision:
    """The decision on ``text`` after ``before``, in a new call (the same every time but for ``latency_ns``)."""
    call = engine.start_call("lazy", metadata={"direction": "outbound"})
    for line in before:
        call.agent_turn(line)
    return call.agent_turn(text)


def eager_twin(engine: Engine, before: list[str], text: str, latency_ns: int) -> Decision:
    """The same decision built in Python, its findings given at once."""
    d = fresh(engine, before, text)
    return Decision(d.action, d.text, tuple(d.findings), latency_ns, d.preempt)


PATHS: dict[str, Callable[[Decision], Any]] = {
    "findings": lambda d: d.findings,
    "repr": repr,
    "to_dict": lambda d: d.to_dict(),
    "unpacking": lambda d: tuple(d),
    "iteration": lambda d: [x for x in d],
    "action and text": lambda d: (d.action, d.text, d.latency_ns, d.preempt, d.handoff),
}


@pytest.mark.parametrize(("label", "before", "text"), TURNS, ids=[t[0] for t in TURNS])
@pytest.mark.parametrize("path", PATHS)
def test_each_access_path_first_reads_as_an_eager_decision(
    engine: Engine, label: str, before: list[str], text: str, path: str
) -> None:
    lazy = fresh(engine, before, text)
    eager = eager_twin(engine, before, text, lazy.latency_ns)
    assert PATHS[path](lazy) == PATHS[path](eager)
    # and then every other path too, in any order
    for other in PATHS.values():
        assert other(lazy) == other(eager)
    assert lazy == eager and eager == lazy
    assert repr(lazy) == repr(eager)


@pytest.mark.parametrize(("label", "before", "text"), TURNS, ids=[t[0] for t in TURNS])
def test_equality_first_builds_the_findings_of_both_sides(engine: Engine, label: str, before: list[str], text: str) -> None:
    a = fresh(engine, before, text)
    b = fresh(engine, before, text)
    b_same = Decision(b.action, b.text, b.findings, a.latency_ns, b.preempt)
    c = fresh(engine, before, text)
    assert a == b_same
    assert (a == c) is (a.latency_ns == c.latency_ns)  # only the latency may differ


@pytest.mark.parametrize(("label", "before", "text"), TURNS, ids=[t[0] for t in TURNS])
def test_findings_are_the_same_objects_at_every_access(engine: Engine, label: str, before: list[str], text: str) -> None:
    d = fresh(engine, before, text)
    first = d.findings
    assert d.findings is first
    assert tuple(d)[2] is first
    assert isinstance(first, tuple)
    assert all(type(f) is TurnFinding for f in first)
    assert d.to_dict()["findings"] == [f.to_dict() for f in first]


def test_the_shapes_under_test_are_there(engine: Engine) -> None:
    shapes = [fresh(engine, before, text).findings for _, before, text in TURNS]
    assert len(shapes[0]) == 0
    assert shapes[1] and all(f.span is None and f.kind is None for f in shapes[1])
    assert shapes[2] and all(f.span is not None and f.kind == "credit_card" for f in shapes[2])
    assert len(shapes[3]) > 2 and {f.span is None for f in shapes[3]} == {True, False}


def test_a_missed_obligation_is_the_engines_one_object_as_before(engine: Engine) -> None:
    a = fresh(engine, [], "Hello there, how can I help?").findings
    b = fresh(engine, [], "Hello there, how can I help?").findings
    assert a == b and all(x is y for x, y in zip(a, b, strict=True))


def test_hashing_pickling_and_copying_behave_as_an_eager_decisions(engine: Engine) -> None:
    _, before, text = TURNS[3]
    for op in (hash, pickle.dumps, copy.copy, copy.deepcopy):
        lazy = fresh(engine, before, text)
        eager = eager_twin(engine, before, text, lazy.latency_ns)
        outcomes = []
        for d in (lazy, eager):
            try:
                outcomes.append(("ok", op(d)))
            except Exception as e:  # noqa: BLE001 - the same failure, word for word, is the point
                outcomes.append((type(e).__name__, str(e)))
        assert outcomes[0] == outcomes[1], op
        assert lazy.findings == eager.findings  # the failed attempt left the findings intact


def test_a_decision_outlives_its_call_and_engine() -> None:
    engine = Engine.from_config(default_gate_config())
    _, before, text = TURNS[3]
    d = fresh(engine, before, text)
    expected = repr(fresh(engine, before, text).findings)
    del engine
    gc.collect()
    assert repr(d.findings) == expected


def test_two_threads_reading_the_findings_at_once_agree(engine: Engine) -> None:
    _, before, text = TURNS[3]
    decisions = [fresh(engine, before, text) for _ in range(200)]
    seen: list[list[int]] = [[], []]
    barrier = threading.Barrier(2)

    def read(k: int) -> None:
        barrier.wait()
        for d in decisions:
            seen[k].append(id(d.findings))

    threads = [threading.Thread(target=read, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen[0] == seen[1] == [id(d.findings) for d in decisions]


def test_a_decision_the_turn_loop_keeps_never_changes(engine: Engine) -> None:
    """A call refills the object of a decision the turn loop has dropped; one it still holds stays as it was."""
    turns = ["Hello there, how can I help?", "ok", "my card is 4111 1111 1111 1111", "ok", "Call me at 415-555-0123"]
    call = engine.start_call("kept", metadata={"direction": "outbound"})
    kept = []
    for text in turns:
        d = call.agent_turn(text)
        kept.append((d, repr(d), d.to_dict()))
        call.agent_turn("Sure.")  # a decision dropped at once, between two kept ones
    for d, shown, as_dict in kept:
        assert repr(d) == shown and d.to_dict() == as_dict


def test_a_dropped_decision_reads_as_a_fresh_one(engine: Engine) -> None:
    """Each decision is dropped before the next turn (so the call refills one object); each reads as its twin's."""
    turns = ["Hello there, how can I help?", "ok", "my card is 4111 1111 1111 1111", "Sure.", "Call me at 415-555-0123"]
    call = engine.start_call("dropped", metadata={"direction": "outbound"})
    twin = engine.start_call("twin", metadata={"direction": "outbound"})
    for k, text in enumerate(turns):
        expected = twin.agent_turn(text)  # kept: the twin call hands out a new object every turn
        if k % 2:
            assert without_latency(repr(call.agent_turn(text))) == without_latency(repr(expected))
        else:
            got = call.agent_turn(text).to_dict()
            assert {**got, "latency_ns": 0} == {**expected.to_dict(), "latency_ns": 0}


def test_the_call_refills_the_object_once_it_is_dropped(engine: Engine) -> None:
    """The mechanism the two tests above hold to the API: the same object comes back once nothing else holds it."""
    call = engine.start_call("refill", metadata={"direction": "outbound"})
    first = id(call.agent_turn("Hello there, how can I help?"))
    assert id(call.agent_turn("ok")) == first
    kept = call.agent_turn("Sure.")
    assert id(kept) == first
    assert id(call.agent_turn("ok")) != first  # still held: a new object
    assert kept.text == "Sure."


def without_latency(shown: str) -> str:
    """A decision's repr with its latency left out (the one field two runs do not share)."""
    return re.sub(r"latency_ns=\d+", "latency_ns=_", shown)
