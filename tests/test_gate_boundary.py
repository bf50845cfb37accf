"""The Python API's boundary: programming errors raise at once with a clear message; content never raises."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest

from trace_engine import Engine
from trace_engine.dsl import load_pack
from trace_engine.errors import TraceConfigError
from trace_engine.gate.call import CallEndedError

CFG = {"rule_packs": {"pii": {"enabled": True}}, "guardrails": {"mode": "modify", "inline_timeout_ms": 60_000}}


@pytest.fixture
def call():
    return Engine.from_config(CFG).start_call("boundary")


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "agent_turn: text must be a str, not None"),
        (123, "agent_turn: text must be a str, not int"),
        (b"my ssn is 123-45-6789", "agent_turn: text must be a str, not bytes (decode it first: text.decode('utf-8'))"),
        (["hello"], "agent_turn: text must be a str, not list"),
    ],
)
def test_agent_turn_rejects_non_text(call, text, message):
    with pytest.raises(TypeError) as info:
        call.agent_turn(text)
    assert str(info.value) == message
    assert call.agent_turns == 0 and call.timeline == []  # nothing evaluated, nothing recorded


@pytest.mark.parametrize("text", [None, 7, b"x"])
def test_caller_turn_and_feed_reject_non_text(call, text):
    with pytest.raises(TypeError, match="caller_turn: text must be a str"):
        call.caller_turn(text)
    stream = call.agent_stream()
    with pytest.raises(TypeError, match="feed: text must be a str"):
        stream.feed(text)


@pytest.mark.parametrize(
    "t, error, message",
    [
        ("soon", TypeError, "t must be seconds since call start (a number) or None, not str"),
        (True, TypeError, "not bool"),
        (math.nan, ValueError, "t must be a finite number of seconds, not nan"),
        (math.inf, ValueError, "not inf"),
    ],
)
def test_times_must_be_finite_numbers(call, t, error, message):
    for method in (call.agent_turn, call.caller_turn):
        with pytest.raises(error) as info:
            method("hello", t=t)
        assert message in str(info.value)
    with pytest.raises(error):
        call.agent_stream(t=t)
    with pytest.raises(error):
        call.end(t=t)
    assert not call.ended


@pytest.mark.parametrize("t", [None, 0, 12, 12.5, Decimal("3.5")])
def test_number_like_times_are_accepted(call, t):
    assert call.agent_turn("hello", t=t).action == "pass"


def test_a_str_subclass_is_text(call):
    class Spoken(str):
        pass

    assert call.agent_turn(Spoken("your card 4111 1111 1111 1111")).text == "your card XXXX XXXX XXXX 1111"


def test_everything_after_end_raises(call):
    call.agent_turn("hello", t=1)
    stream = call.agent_stream(t=2)
    stream.feed("still ")
    card = call.end(t=3)
    assert card.verdict == "PASS"
    for attempt, where in [
        (lambda: call.agent_turn("more"), "agent_turn"),
        (lambda: call.caller_turn("more"), "caller_turn"),
        (lambda: call.agent_stream(), "agent_stream"),
        (lambda: stream.feed("talking"), "feed"),
        (lambda: call.end(), "end"),
    ]:
        with pytest.raises(CallEndedError) as info:
            attempt()
        assert str(info.value).startswith(f"{where}: call 'boundary' has")
    assert len(card.timeline) == 1  # nothing after end() was recorded


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"call_id": None}, TypeError, "start_call: call_id must be a non-empty str, not None"),
        ({"call_id": 42}, TypeError, "not int"),
        ({"call_id": "  "}, ValueError, "start_call: call_id must be a non-empty str"),
        ({"call_id": "c", "metadata": [1, 2]}, TypeError, "start_call: metadata must be a dict of call facts, not list"),
        ({"call_id": "c", "metadata": {1: "x"}}, TypeError, "metadata keys must be str, not int"),
        ({"call_id": "c", "agent_id": 7}, TypeError, "start_call: agent_id must be a str or None, not int"),
        ({"call_id": "c", "tenant": ""}, TypeError, "start_call: tenant must be a non-empty str"),
    ],
)
def test_start_call_checks_its_arguments(kwargs, error, message):
    engine = Engine.from_config(CFG)
    call_id = kwargs.pop("call_id")
    with pytest.raises(error) as info:
        engine.start_call(call_id, **kwargs)
    assert message in str(info.value)


def test_from_config_type_errors():
    with pytest.raises(TypeError, match="config must be a dict, a path to a JSON file, a TraceConfig or None, not list"):
        Engine.from_config([1, 2])
    with pytest.raises(TypeError, match="packs must be a list of trace_engine.ir.Pack"):
        Engine.from_config(CFG, packs=["rule_packs/tcpa.trace"])
    # load_pack returns (pack, source map): the message says which part to pass
    with pytest.raises(TypeError, match=r"load_pack\(path\)\[0\]"):
        Engine.from_config(CFG, packs=[load_pack("rule_packs/tcpa.trace")])
    with pytest.raises(TypeError, match="writer must have a submit"):
        Engine.from_config(CFG, writer=object())


def test_config_errors_are_located_by_json_pointer_or_line(tmp_path):
    with pytest.raises(TraceConfigError) as info:
        Engine.from_config({"guardrails": {"mode": "blok", "block_pii": {"patterns": ["ssn", "passport"]}}})
    wheres = [d.location.where() for d in info.value.diagnostics]
    assert wheres == ["<config>#/guardrails/mode", "<config>#/guardrails/block_pii/patterns/1"]
    assert str(info.value).startswith("<config>#/guardrails/mode TC004 guardrails.mode: Input should be")

    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"rule_packs": {"tcpa": {}}, "guardrails": {"mode": "blok"}}, indent=2))
    with pytest.raises(TraceConfigError) as info:
        Engine.from_config(path)
    assert info.value.diagnostics[0].location.where() == f"{path}:6:13"

    with pytest.raises(TraceConfigError) as info:
        Engine.from_config({"rule_packs": {"tcpx": {"enabled": True}}})
    (diag,) = info.value.diagnostics
    assert (diag.code, diag.location.where()) == ("TC010", "<config>#/rule_packs/tcpx")

    with pytest.raises(TraceConfigError) as info:
        Engine.from_config(tmp_path / "missing.json")
    assert str(info.value) == f"{tmp_path / 'missing.json'} TC001 cannot read config: No such file or directory"


def test_content_never_raises(call):
    for text in ["", "\x00\ud800", "4111 1111 1111 1111 " * 500, "😀" * 1000]:
        assert call.agent_turn(text).action in ("pass", "modify")
        call.caller_turn(text)
    assert call.errors == 0
