"""The JSON form of a pack: lossless round trips, schema conformance, located diagnostics."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trace_engine import ir
from trace_engine.dsl import jsonform
from trace_engine.dsl.jsonform import dump_json_pack, load_json_pack, pack_from_dict, pack_to_dict
from trace_engine.errors import Location, TraceSyntaxError

try:
    from strategies import packs
except ImportError:  # pragma: no cover - repository root on sys.path instead of tests/
    from tests.strategies import packs

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: The API contract's envelope (OpenAPI ``TraceRulePackSpec``).
TRACE_RULE_PACK_SPEC = {
    "type": "object",
    "required": ["pack_id", "version", "rules"],
    "properties": {
        "pack_id": {"type": "string", "pattern": "^[a-z0-9_]+$"},
        "version": {"type": "string"},
        "jurisdiction": {"type": "string"},
        "legal_status": {"type": "string"},
        "rules": {"type": "array", "minItems": 1, "items": {"type": "object"}},
    },
}


_ANY_TEXT = st.text(min_size=1, max_size=12)  # one shared object: strategies are cached per text strategy


def _reprs_equal(a: ir.Pack, b: ir.Pack) -> None:
    """Equal, and equal in repr too: catches int/float, bool/int and tuple/list drift that == forgives."""
    assert a == b
    assert repr(a) == repr(b)


# ============================================================================================ round trips

_CHECK_TAGS = {
    ir.MustSay: "must_say",
    ir.MustNotSay: "must_not_say",
    ir.OnCue: "on_cue",
    ir.Require: "require",
    ir.Tier2Ref: "tier2",
}


@SETTINGS
@given(packs())
def test_dict_round_trip_schema_and_api_envelope(pack: ir.Pack) -> None:
    d = pack_to_dict(pack)
    jsonform.schema_validator().validate(d)
    jsonschema.Draft202012Validator(TRACE_RULE_PACK_SPEC).validate(d)
    _reprs_equal(pack_from_dict(d), pack)


@SETTINGS
@given(packs())
def test_text_round_trip_and_canonical(pack: ir.Pack) -> None:
    text = dump_json_pack(pack)
    loaded, source = load_json_pack(text, "p.json")
    _reprs_equal(loaded, pack)
    assert dump_json_pack(loaded) == text  # canonical: a fixed point
    assert text.endswith("}\n") and not text.endswith("\n\n")
    # every rule and check is located on a line that mentions it
    for rule in pack.rules:
        loc = source.get("rule", rule.id)
        assert json.dumps(rule.id) in source.line_text(loc.line)
        for i, check in enumerate(rule.checks):
            tag = _CHECK_TAGS[type(check)]
            assert f'"kind": "{tag}"' in source.line_text(source.get("rule", rule.id, "check", i).line)
    for name, items in pack.phrase_sets:
        assert f'"{name}": [' in source.line_text(source.get("phrase_set", name).line)
        for i, item in enumerate(items):
            assert json.dumps(item, ensure_ascii=False) in source.line_text(
                source.get("phrase", name, i).line
            )
    for st_ in pack.states:
        assert json.dumps(st_.name) in source.line_text(source.get("state", st_.name).line)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packs(text=_ANY_TEXT))
def test_round_trip_any_unicode_text(pack: ir.Pack) -> None:
    loaded, _ = load_json_pack(dump_json_pack(pack), "p.json")
    _reprs_equal(loaded, pack)


def test_lossless_details() -> None:
    phrases = ("stop calling", "take me off * list")
    pack = ir.Pack(
        pack_id="tcpa",
        version="2026.11.0",
        jurisdiction="US",
        legal_status="draft",
        phrase_sets=(("opt_out", phrases),),
        patterns=(("price", r"\$ ?\d+"),),
        rules=(
            ir.Rule(
                "tcpa-001",
                "t",
                "high",
                "c",
                "r",
                (
                    ir.MustSay(ir.Phrases(phrases, ref="opt_out"), ir.Seconds(30)),
                    ir.MustSay(ir.Regex(r"\$ ?\d+", ref="price"), ir.Seconds(30.0)),
                    ir.Require(ir.Compare("in", ir.Field("callee_state"), ir.Const(("FL", "OK")))),
                    ir.Require(ir.Compare("==", ir.Field("x"), ir.Const(True))),
                ),
                remedy=ir.Remedy("flag"),
            ),
        ),
    )
    d = pack_to_dict(pack)
    checks = d["rules"][0]["checks"]
    assert checks[0]["match"] == {"phrase_set": "opt_out"}
    assert checks[1]["match"] == {"pattern": "price"}
    assert checks[1]["within"] == {"seconds": 30.0}
    assert "examples" not in d["rules"][0] and "when" not in d["rules"][0]
    assert d["rules"][0]["remedy"] == {"kind": "flag"}
    assert list(d) == ["pack_id", "version", "jurisdiction", "legal_status", "phrases", "patterns", "rules"]
    text = dump_json_pack(pack)
    assert '"seconds": 30\n' in text and '"seconds": 30.0\n' in text
    back, _ = load_json_pack(text, "p.json")
    _reprs_equal(back, pack)
    assert type(back.rules[0].checks[0].window.seconds) is int
    assert type(back.rules[0].checks[1].window.seconds) is float
    assert back.rules[0].checks[2].expr.right == ir.Const(("FL", "OK"))
    assert back.rules[0].checks[3].expr.right.value is True
    # a rule with remedy None stays None (not flag)
    assert (
        pack_from_dict(
            pack_to_dict(
                pack.__class__(
                    **{
                        **_fields(pack),
                        "rules": (ir.Rule("a", "t", "low", "c", "r", (ir.Tier2Ref("brand_tone"),)),),
                    }
                )
            )
        )
        .rules[0]
        .remedy
        is None
    )


def _fields(p: ir.Pack) -> dict:
    return {f: getattr(p, f) for f in p.__dataclass_fields__}


def test_inconsistent_reference_is_refused() -> None:
    rule = ir.Rule("a", "t", "low", "c", "r", (ir.MustSay(ir.Phrases(("x",), ref="nope"), ir.CallEnd()),))
    with pytest.raises(ValueError, match="Phrases ref 'nope'"):
        pack_to_dict(ir.Pack("p", "1", "US", "draft", (rule,)))


def test_dump_is_canonical_pretty_json() -> None:
    rule = ir.Rule(
        "r-001", "Title", "low", "Cite", "Why", (ir.MustNotSay(ir.Detector("email")),), examples=("é",)
    )
    text = dump_json_pack(ir.Pack("p", "1", "US", "draft", (rule,), description="d"))
    assert text == (
        "{\n"
        '  "pack_id": "p",\n'
        '  "version": "1",\n'
        '  "jurisdiction": "US",\n'
        '  "legal_status": "draft",\n'
        '  "description": "d",\n'
        '  "rules": [\n'
        "    {\n"
        '      "id": "r-001",\n'
        '      "title": "Title",\n'
        '      "severity": "low",\n'
        '      "citation": "Cite",\n'
        '      "reason": "Why",\n'
        '      "checks": [\n'
        "        {\n"
        '          "kind": "must_not_say",\n'
        '          "match": {\n'
        '            "detector": "email"\n'
        "          }\n"
        "        }\n"
        "      ],\n"
        '      "examples": [\n'
        '        "é"\n'
        "      ]\n"
        "    }\n"
        "  ]\n"
        "}\n"
    )


# ============================================================================================ schema file


def test_schema_copies_are_byte_identical() -> None:
    repo = (ROOT / "schemas" / "rule_pack_schema.json").read_bytes()
    packaged = (ROOT / "trace_engine" / "data" / "rule_pack_schema.json").read_bytes()
    assert repo == packaged


def test_schema_is_valid_2020_12_and_uses_ir_constants() -> None:
    schema = jsonform.schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == jsonform.SCHEMA_ID
    jsonschema.Draft202012Validator.check_schema(schema)
    defs = schema["$defs"]
    assert defs["rule"]["properties"]["severity"]["enum"] == list(ir.SEVERITIES)
    assert defs["matcher_detector"]["properties"]["detector"]["enum"] == list(ir.DETECTORS)
    assert defs["remedy"]["properties"]["kind"]["enum"] == list(ir.REMEDY_KINDS)
    assert defs["tier2"]["properties"]["check_id"]["enum"] == list(ir.TIER2_CHECKS)
    assert defs["expr_call"]["properties"]["call"]["enum"] == list(ir.EXPR_FUNCTIONS)
    assert defs["state_step"]["properties"]["speaker"]["enum"] == list(ir.SPEAKERS)
    # the envelope is the API's, tightened
    props = schema["properties"]
    for key in TRACE_RULE_PACK_SPEC["properties"]:
        assert key in props
    assert props["pack_id"]["pattern"] == "^[a-z0-9_]+$"
    assert props["rules"]["minItems"] == 1
    assert set(TRACE_RULE_PACK_SPEC["required"]) <= set(schema["required"])


def test_every_definition_is_documented() -> None:
    defs = jsonform.schema()["$defs"]
    undocumented = [k for k, v in defs.items() if "description" not in v and k != "const_scalar"]
    assert undocumented == []


# ============================================================================================ diagnostics

GOOD = """{
  "pack_id": "tcpa",
  "version": "1",
  "jurisdiction": "US",
  "legal_status": "draft",
  "phrases": {
    "opt_out": ["stop calling", "take me off * list"]
  },
  "rules": [
    {
      "id": "tcpa-001",
      "title": "Honor opt-out",
      "severity": "critical",
      "citation": "47 CFR 64.1200",
      "reason": "The caller asked",
      "checks": [
        {"kind": "must_not_say", "match": {"phrase_set": "opt_out"}}
      ]
    }
  ]
}
"""


def _errors(text: str) -> list[tuple[str, int, int, str, str | None]]:
    with pytest.raises(TraceSyntaxError) as info:
        load_json_pack(text, "p.json")
    return [(d.code, d.location.line, d.location.col, d.message, d.hint) for d in info.value.diagnostics]


def test_good_pack_loads_with_source_map() -> None:
    pack, source = load_json_pack(GOOD, "p.json")
    assert pack.rules[0].checks[0] == ir.MustNotSay(
        ir.Phrases(("stop calling", "take me off * list"), ref="opt_out")
    )
    assert source.get("rule", "tcpa-001") == Location("p.json", 11, 13, 11, 23)
    assert source.get("rule", "tcpa-001", "check", 0) == Location("p.json", 17, 18, 17, 32)
    assert source.get("rule", "tcpa-001", "field", "severity") == Location("p.json", 13, 19, 13, 29)
    assert source.get("phrase_set", "opt_out") == Location("p.json", 7, 5, 7, 14)
    assert source.get("phrase", "opt_out", 1) == Location("p.json", 7, 33, 7, 53)
    assert source.get("header", "pack_id") == Location("p.json", 2, 14, 2, 20)
    assert source.get("rule", "nope") == Location("p.json", 1, 1)


def test_invalid_json() -> None:
    text = GOOD.replace('"version": "1",', '"version": "1"')
    assert _errors(text) == [("TJ001", 4, 3, "invalid JSON: expecting ',' delimiter", None)]
    with pytest.raises(TraceSyntaxError) as info:
        load_json_pack(text, "p.json")
    assert str(info.value) == "p.json:4:3 TJ001 invalid JSON: expecting ',' delimiter"
    assert info.value.render() == (
        'p.json:4:3 TJ001 invalid JSON: expecting \',\' delimiter\n      "jurisdiction": "US",\n      ^'
    )


def test_nan_is_not_json() -> None:
    text = GOOD.replace('"version": "1"', '"version": NaN')
    assert _errors(text) == [("TJ001", 3, 14, "invalid JSON: NaN is not a JSON value", None)]


def test_wrong_severity() -> None:
    text = GOOD.replace('"critical"', '"critcal"')
    assert _errors(text) == [
        (
            "TJ002",
            13,
            19,
            '$.rules[0].severity: "critcal" is not one of "low", "medium", "high", "critical"',
            'did you mean "critical"?',
        )
    ]
    with pytest.raises(TraceSyntaxError) as info:
        load_json_pack(text, "p.json")
    assert info.value.render() == (
        'p.json:13:19 TJ002 $.rules[0].severity: "critcal" is not one of "low", "medium", "high", "critical"\n'
        '          "severity": "critcal",\n'
        "                      ^^^^^^^^^\n"
        '    hint: did you mean "critical"?'
    )


def test_missing_rules() -> None:
    start = GOOD.index('  "rules"')
    text = GOOD[: start - 2] + "\n}\n"  # drop the trailing comma and the rules
    assert _errors(text) == [("TJ002", 1, 1, '$: missing required property "rules"', None)]


def test_empty_rules() -> None:
    start = GOOD.index('  "rules"')
    text = GOOD[:start] + '  "rules": []\n}\n'
    assert _errors(text) == [("TJ002", 9, 12, "$.rules: expected at least 1 item, got 0", None)]


def test_undefined_phrase_set() -> None:
    text = GOOD.replace('{"phrase_set": "opt_out"}', '{"phrase_set": "opt_ot"}')
    assert _errors(text) == [("TJ003", 17, 58, 'undefined phrase set "opt_ot"', 'did you mean "opt_out"?')]


def test_pattern_used_as_phrase_set() -> None:
    text = GOOD.replace('"phrases": {', '"patterns": {"price": "\\\\$ ?\\\\d+"},\n  "phrases": {').replace(
        '{"phrase_set": "opt_out"}', '{"phrase_set": "price"}'
    )
    [(code, _, _, message, hint)] = _errors(text)
    assert (code, message) == ("TJ003", 'undefined phrase set "price"')
    assert hint == '"price" is a pattern; use {"pattern": ...}'


def test_invalid_regex() -> None:
    text = GOOD.replace('{"phrase_set": "opt_out"}', '{"regex": "(a"}')
    assert _errors(text) == [("TJ004", 17, 53, 'invalid RE2 regex "(a": missing )', None)]


def test_undefined_state_in_scope_and_field() -> None:
    text = GOOD.replace(
        '{"phrase_set": "opt_out"}}',
        '{"phrase_set": "opt_out"}, "scope": {"until": "verified"}},\n'
        '        {"kind": "require", "expr": {"field": "state.verified"}}',
    )
    errors = _errors(text)
    assert [(c, m) for c, _, _, m, _ in errors] == [
        ("TJ003", 'undefined state "verified"'),
        ("TJ003", 'undefined state "verified"'),
    ]


def test_all_errors_are_collected_in_source_order() -> None:
    text = (
        GOOD.replace('"critical"', '"urgent"')
        .replace('"pack_id": "tcpa"', '"pack_id": "TCPA"')
        .replace('"must_not_say"', '"must_not_sya"')
        .replace('"reason": "The caller asked",', '"reason": "The caller asked",\n      "sevrity": "low",')
    )
    assert _errors(text) == [
        ("TJ002", 2, 14, '$.pack_id: "TCPA" does not match ^[a-z0-9_]+$', None),
        (
            "TJ002",
            13,
            19,
            '$.rules[0].severity: "urgent" is not one of "low", "medium", "high", "critical"',
            None,
        ),
        ("TJ002", 16, 7, '$.rules[0]: unknown property "sevrity"', 'did you mean "severity"?'),
        (
            "TJ002",
            18,
            18,
            '$.rules[0].checks[0].kind: "must_not_sya" is not one of "must_say", "must_not_say", "on_cue", '
            '"require", "tier2"',
            'did you mean "must_not_say"?',
        ),
    ]


def test_more_schema_messages() -> None:
    cases = {
        '{"kind": "must_not_say", "match": {"phrase_set": "opt_out"}}': None,
        '{"kind": "must_say", "match": {"phrase_set": "opt_out"}}': (
            "TJ002",
            '$.rules[0].checks[0]: missing required property "within"',
        ),
        '{"kind": "must_say", "match": {"phrase_set": "opt_out"}, "within": {"turns": 0}}': (
            "TJ002",
            "$.rules[0].checks[0].within.turns: expected a number >= 1, got 0",
        ),
        '{"kind": "must_not_say", "match": {"phrase_set": "opt_out"}, "scope": {"turns": 2}}': (
            "TJ002",
            '$.rules[0].checks[0].scope: expected an object with one of the keys "until"',
        ),
        '{"kind": "require", "expr": {"call": "has", "args": []}}': (
            "TJ002",
            "$.rules[0].checks[0].expr.args: expected at least 1 item, got 0",
        ),
        '{"kind": "tier2", "check_id": 3}': (
            "TJ002",
            '$.rules[0].checks[0].check_id: 3 is not one of "ambiguous_optout", "context_pii", '
            '"hallucination", "minimum_necessary", "brand_tone"',
        ),
        '{"kind": "must_not_say", "match": {"any_of": [{"phrases": ["a"]}]}}': (
            "TJ002",
            "$.rules[0].checks[0].match.any_of: expected at least 2 items, got 1",
        ),
    }
    for check, expected in cases.items():
        text = GOOD.replace('{"kind": "must_not_say", "match": {"phrase_set": "opt_out"}}', check)
        if expected is None:
            load_json_pack(text, "p.json")
            continue
        assert [(c, m) for c, _, _, m, _ in _errors(text)] == [expected], check


def test_remedy_constraints() -> None:
    text = GOOD.replace("      ]\n    }", '      ],\n      "remedy": {"kind": "flag", "text": "hi"}\n    }')
    assert _errors(text) == [
        ("TJ002", 19, 34, '$.rules[0].remedy: "text" is only allowed when kind is "inject"', None)
    ]
    text = GOOD.replace("      ]\n    }", '      ],\n      "remedy": {"kind": "inject"}\n    }')
    assert [m for _, _, _, m, _ in _errors(text)] == ['$.rules[0].remedy: missing required property "text"']


def test_duplicates() -> None:
    text = GOOD.replace('"version": "1",', '"version": "1",\n  "version": "2",')
    assert _errors(text) == [("TJ005", 4, 3, '$: duplicate key "version"', None)]
    rules_start = GOOD.index('    {\n      "id"')
    rules_end = GOOD.index("  ]\n}")
    rule = GOOD[rules_start:rules_end].rstrip("\n")
    text = GOOD[:rules_end].rstrip("\n") + ",\n" + rule + "\n" + GOOD[rules_end:]
    assert [(c, line, m) for c, line, _, m, _ in _errors(text)] == [
        ("TJ005", 21, 'duplicate rule id "tcpa-001"')
    ]


def test_pack_from_dict_locates_through_a_source_map() -> None:
    _, source = load_json_pack(GOOD, "p.json")
    d = json.loads(GOOD)
    d["rules"][0]["checks"][0]["match"] = {"phrase_set": "nope"}
    with pytest.raises(TraceSyntaxError) as info:
        pack_from_dict(d, source)
    [diag] = info.value.diagnostics
    assert (diag.code, diag.message) == ("TJ003", 'undefined phrase set "nope"')
    assert diag.location == source.get("rule", "tcpa-001", "check", 0)
    with pytest.raises(TraceSyntaxError):
        pack_from_dict(d)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    for depth in (5000, 100000):
        text = GOOD.replace('"version": "1"', '"version": ' + "[" * depth + "]" * depth)
        with pytest.raises(TraceSyntaxError):
            load_json_pack(text, "p.json")
    for depth in (50, 3000):  # ~90 levels is the limit (Python recursion in jsonschema)
        text = GOOD.replace(
            '"version": "1",',
            '"version": "1",\n  "when": ' + '{"not": ' * depth + '{"const": 1}' + "}" * depth + ",",
        )
        try:
            load_json_pack(text, "p.json")
        except TraceSyntaxError as e:
            assert depth == 3000 and e.diagnostics[0].code in ("TJ001", "TJ002")


# ============================================================================================ robustness

_JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["must_say", "opt_out", "critical", "phrase_set", "tcpa-001"]),
    lambda sub: (
        st.lists(sub, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "pack_id",
                    "version",
                    "jurisdiction",
                    "legal_status",
                    "rules",
                    "phrases",
                    "patterns",
                    "states",
                    "id",
                    "title",
                    "severity",
                    "citation",
                    "reason",
                    "checks",
                    "kind",
                    "match",
                    "within",
                    "phrase_set",
                    "regex",
                    "pattern",
                    "until",
                    "scope",
                    "field",
                    "not",
                    "and",
                    "any_of",
                    "then",
                    "remedy",
                    "name",
                    "steps",
                ]
            )
            | st.text(max_size=5),
            sub,
            max_size=5,
        )
    ),
    max_leaves=20,
)


def _never_crashes(text: str) -> None:
    try:
        pack, source = load_json_pack(text, "f.json")
    except TraceSyntaxError as e:
        assert e.diagnostics
        for d in e.diagnostics:
            assert d.code in {"TJ001", "TJ002", "TJ003", "TJ004", "TJ005", "TJ006", "TJ007", "TJ008"}  # every TJ code
            assert d.location.line >= 1 and d.location.col >= 1
        e.render()
    else:
        assert isinstance(pack, ir.Pack)
        _reprs_equal(load_json_pack(dump_json_pack(pack), "g.json")[0], pack)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_is_a_pack_or_a_syntax_error(text: str) -> None:
    _never_crashes(text)


@settings(max_examples=300, deadline=None)
@given(_JSONISH)
def test_any_json_value_is_a_pack_or_a_syntax_error(value: object) -> None:
    _never_crashes(json.dumps(value))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packs(), st.data())
def test_mutated_valid_packs_never_crash(pack: ir.Pack, data: st.DataObject) -> None:
    text = dump_json_pack(pack)
    i = data.draw(st.integers(0, len(text)))
    j = data.draw(st.integers(i, min(len(text), i + 8)))
    _never_crashes(text[:i] + data.draw(st.text(max_size=4)) + text[j:])


def test_the_error_cap_counts_distinct_errors():
    # three empty rules are 23 distinct problems; repeats from several schema branches are not "too many errors"
    with pytest.raises(TraceSyntaxError) as e:
        load_json_pack('{"rules": [{}, {}, {}]}', "f.json")
    codes = [d.code for d in e.value.diagnostics]
    assert "TS009" not in codes and len(codes) == len(set(e.value.diagnostics))
    # and a pack with more distinct problems than the cap still stops at it, and says so
    with pytest.raises(TraceSyntaxError) as e:
        load_json_pack(json.dumps({"rules": [{}] * 40}), "f.json")
    capped = [d for d in e.value.diagnostics if d.code == "TS009"]
    assert [d.message for d in capped] == ["too many errors: reporting stopped after 100"]
    assert len(e.value.diagnostics) == 101
