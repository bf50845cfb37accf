"""The compiler: etags, artifacts, and the compiled matchers' semantics."""

from __future__ import annotations

import pytest

from trace_engine import ir
from trace_engine.compile import PASSES, compile_packs, pack_set_etag
from trace_engine.compile.artifact import read_artifact, write_artifact
from trace_engine.dsl import load_pack
from trace_engine.dsl.jsonform import dump_json_pack, load_json_pack
from trace_engine.errors import TraceCompileError
from trace_engine.gate.engine import Engine
from trace_engine.version import ENGINE_VERSION

CONFIG = {"rule_packs": {}, "guardrails": {"mode": "modify", "inline_timeout_ms": 60_000}}
TURNS = [
    "hi this is sam calling from acme solar, this call may be recorded",
    "your card is 4111 1111 1111 1111 and the cvv please",
    "we have a special offer, guaranteed savings",
]


@pytest.fixture(scope="module")
def builtin_packs() -> list[ir.Pack]:
    return [load_pack(f"rule_packs/{name}.trace")[0] for name in ("tcpa", "pii", "brand_voice")]


def test_passes_run_in_order() -> None:
    assert [p.__name__ for p in PASSES] == [
        "check_limits", "compute_etag", "lower_states", "lower_rules", "emit_program", "load_core"
    ]


def test_the_program_is_plain_data(builtin_packs: list[ir.Pack]) -> None:
    """No closures, nothing pickle-only: the program survives a JSON round trip unchanged, and loads in the core."""
    import json

    from trace_engine import _core

    program = compile_packs(builtin_packs)
    text = json.dumps(program.data, allow_nan=False)
    assert json.loads(text) == program.data
    assert _core.Program(text.encode()).matcher_count == program.data["matchers"]["count"]


def test_a_program_holds_the_automaton_streams_carry_as_it_loads(builtin_packs: list[ir.Pack]) -> None:
    """The byte automaton a stream carries from chunk to chunk is built as the program loads, not by the first stream:
    that stream's first feed waited for it (about 7 ms for the built-in packs, 400 ms with 100,000 blocked phrases),
    in the middle of a live call."""
    import json

    from trace_engine import _core

    program = compile_packs(builtin_packs)
    assert _core.Program(json.dumps(program.data).encode()).stream_automaton_bytes > 0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["checks"].append({"kind": "must_say", "rule": 999, "matcher": 0, "window": "turns",
                                       "amount": 1.0, "in_cue": False}), "rule 999 out of range"),
        (lambda d: d["checks"].append({"kind": "must_not_say", "rule": 0, "matcher": 10**6, "unless": None,
                                       "scope": "always", "state": None, "turns": 0, "in_cue": False}), "out of range"),
        (lambda d: d["rules"][0].update(when=["call", "eval", []]), "unknown function"),
        (lambda d: d["matchers"]["regexes"].append({"source": "(", "atoms": [], "matchers": [0]}), "cannot run"),
        (lambda d: d.update(format=99), "format 99 is not supported"),
        (lambda d: d["rules"][0]["remedy"].update(kind="explode"), "unknown remedy kind"),
    ],
)
def test_a_bad_program_is_refused_with_the_reason(builtin_packs: list[ir.Pack], edit, message: str) -> None:
    import copy
    import json

    from trace_engine import _core

    data = copy.deepcopy(compile_packs(builtin_packs).data)
    edit(data)
    with pytest.raises(ValueError, match=message):
        _core.Program(json.dumps(data).encode())


def test_etag_is_the_same_for_both_forms(builtin_packs: list[ir.Pack]) -> None:
    pack = builtin_packs[1]
    from_json, _ = load_json_pack(dump_json_pack(pack), "pii.json")
    assert pack_set_etag([pack]) == pack_set_etag([from_json])
    assert pack_set_etag([pack]) != pack_set_etag([pack], {"mode": "block"})


def test_etag_changes_with_any_rule_text(builtin_packs: list[ir.Pack]) -> None:
    pack = builtin_packs[1]
    rule = pack.rules[0]
    edited = ir.Pack(**{**{f: getattr(pack, f) for f in pack.__dataclass_fields__},
                        "rules": (ir.Rule(**{**{f: getattr(rule, f) for f in rule.__dataclass_fields__}, "reason": "x"}),
                                  *pack.rules[1:])})
    assert pack_set_etag([pack]) != pack_set_etag([edited])


def _run(engine: Engine) -> list[tuple]:
    call = engine.start_call("c", metadata={"direction": "outbound", "business_name": "Acme Solar",
                                            "recording_enabled": True})
    out = []
    for text in TURNS:
        d = call.agent_turn(text)
        out.append((d.action, d.text, tuple((f.rule_id, f.span) for f in d.findings)))
    card = call.end()
    out.append((card.verdict, tuple(f.rule_id for f in card.findings)))
    return out


def test_artifact_round_trip_behaves_identically(tmp_path, builtin_packs: list[ir.Pack]) -> None:
    engine = Engine.from_config(CONFIG, packs=builtin_packs)
    path = tmp_path / "packs.tart"
    header = write_artifact(engine.program, path)
    assert header["etag"] == engine.etag
    loaded = Engine.from_artifact(path, CONFIG)
    assert loaded.etag == engine.etag
    assert _run(loaded) == _run(engine)


def test_artifact_refuses_foreign_files(tmp_path) -> None:
    junk = tmp_path / "junk.tart"
    junk.write_bytes(b"not an artifact")
    with pytest.raises(TraceCompileError) as err:
        read_artifact(junk)
    assert err.value.diagnostics[0].code == "TA001"


def test_artifact_refuses_another_engine_version(tmp_path, builtin_packs: list[ir.Pack]) -> None:
    import hashlib
    import json

    from trace_engine.evidence.canonical import canonical_bytes

    path = tmp_path / "packs.tart"
    write_artifact(Engine.from_config(CONFIG, packs=builtin_packs).program, path)
    doc = json.loads(path.read_text())
    doc["payload"]["engine_version"] = "0.0.0"
    doc["sha256"] = hashlib.sha256(canonical_bytes(doc["payload"])).hexdigest()
    path.write_text(json.dumps(doc))
    with pytest.raises(TraceCompileError) as err:
        read_artifact(path)
    assert err.value.diagnostics[0].code == "TA003"
    assert err.value.diagnostics[0].message == f"artifact was built by engine 0.0.0, this is {ENGINE_VERSION}"


def _pack(*checks: ir.Check, phrase_sets=()) -> ir.Pack:
    rule = ir.Rule("t-001", "t", "high", "c", "r", checks=tuple(checks))
    return ir.Pack("t", "1", "x", "draft", rules=(rule,), phrase_sets=phrase_sets)


@pytest.mark.parametrize(
    ("phrase", "text", "span"),
    [
        ("stop calling me", "Please, STOP calling me!", "STOP calling me"),
        ("do not call me", "don't call me again", "don't call me"),
        ("take me off * list", "take me off your calling list", "take me off your calling list"),
        ("calling from {business_name}", "hi, calling from Acme Solar today", "calling from Acme Solar"),
        ("{business_name}", "welcome to acme solar", "acme solar"),
        ("a one c", "your a one c is high", "a one c"),
    ],
)
def test_phrase_matching_spans(phrase: str, text: str, span: str) -> None:
    program = compile_packs([_pack(ir.MustNotSay(ir.Phrases((phrase,))))])
    call = Engine(Engine.from_config(CONFIG).config, program).start_call("c", metadata={"business_name": "Acme Solar"})
    found = call.scan(text)
    assert [text[s:e] for s, e, _ in found[0]] == [span]


def test_words_do_not_match_inside_other_words() -> None:
    program = compile_packs([_pack(ir.MustNotSay(ir.Phrases(("act now",))))])
    assert _call(program).scan("react nowadays") == {}


def _call(program):
    return Engine(Engine.from_config(CONFIG).config, program).start_call("c")


def test_regex_runs_only_where_its_atom_hits() -> None:
    program = compile_packs([_pack(ir.MustNotSay(ir.Regex(r"account (number )?\d{6,17}")))])
    call = _call(program)
    call._trace(True)
    assert call.scan("nothing to see here 12345678") == {}
    assert [e["event"] for e in call._take_trace()] == []  # no atom: the regex never ran
    assert list(call.scan("my account number 12345678")) == [0]
    assert [e["event"] for e in call._take_trace()] == ["regex_ran"]
