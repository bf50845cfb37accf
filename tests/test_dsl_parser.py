"""The DSL parses every construct of docs/dsl.md into the expected IR."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trace_engine import ir
from trace_engine.dsl import load_pack, load_pack_text, parse
from trace_engine.dsl.parser import get_parser

H = 'pack p\nversion "1"\njurisdiction "US"\nlegal_status "x"\n'


def rule_checks(body: str, extra: str = "") -> tuple:
    pack, _ = load_pack_text(H + extra + f'rule a-1 {{\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n{body}}}\n')
    return pack.rules[0].checks


def expr_of(text: str, extra: str = "") -> ir.Expr:
    (check,) = rule_checks(f"  require {text}\n", extra)
    return check.expr


def test_grammar_is_strict():
    pytest.importorskip("interegular")
    assert get_parser().options.strict


def test_docs_example():
    doc = (Path(__file__).parents[1] / "docs" / "dsl.md").read_text(encoding="utf-8")
    src = doc.split("```trace")[1].split("```")[0]
    src += (
        'phrases identity_question ["is this *"]\nphrases not_a_name ["is this a"]\nphrases affirm ["yes"]\n'
        'phrases denial ["no"]\nphrases question_back ["who is this"]\n'
        'phrases dnc_confirmation ["you will not be called"]\nphrases pitch ["special offer"]\n'
    )
    pack, source = load_pack_text(src, "doc.trace")
    opt_out = ("stop calling me", "take me off * list", "don't call me again")
    assert pack == ir.Pack(
        pack_id="tcpa",
        version="2026.11.0",
        jurisdiction="US",
        legal_status="draft - not attorney-reviewed",
        description="TCPA and the Telemarketing Sales Rule for outbound calls.",
        applies_to=ir.AppliesTo((ir.FactValues("direction", ("outbound",)),)),
        phrase_sets=(
            ("opt_out_request", opt_out),
            ("identity_question", ("is this *",)),
            ("not_a_name", ("is this a",)),
            ("affirm", ("yes",)),
            ("denial", ("no",)),
            ("question_back", ("who is this",)),
            ("dnc_confirmation", ("you will not be called",)),
            ("pitch", ("special offer",)),
        ),
        patterns=(("price", r"\$ ?\d+|\d+ dollars"),),
        states=(
            ir.State("purpose_stated", (ir.StateStep("agent", ir.Phrases(("calling to offer", "this is a sales call"))),)),
            ir.State(
                "right_party",
                (
                    ir.StateStep(
                        "agent",
                        ir.Phrases(("is this *",), ref="identity_question"),
                        unless=ir.Phrases(("is this a",), ref="not_a_name"),
                    ),
                    ir.StateStep(
                        "caller",
                        ir.Phrases(("yes",), ref="affirm"),
                        and_not=ir.AnyOf(
                            (ir.Phrases(("no",), ref="denial"), ir.Phrases(("who is this",), ref="question_back"))
                        ),
                    ),
                ),
            ),
        ),
        rules=(
            ir.Rule(
                id="tcpa-004",
                title="Honor a do-not-call request",
                severity="critical",
                citation="47 CFR § 64.1200(d)(3)",
                reason="The caller asked not to be called again; the agent must confirm and stop selling.",
                checks=(
                    ir.OnCue(
                        "caller",
                        ir.Phrases(opt_out, ref="opt_out_request"),
                        (
                            ir.MustSay(ir.Phrases(("you will not be called",), ref="dnc_confirmation"), ir.Turns(1)),
                            ir.MustNotSay(ir.Phrases(("special offer",), ref="pitch")),
                        ),
                    ),
                ),
                remedy=ir.Remedy("block"),
                examples=("before you go, we have a special offer for you",),
                applies_to=ir.AppliesTo((ir.FactValues("call_purpose", ("telemarketing",)),)),
            ),
        ),
    )
    assert source.get("header", "pack_id").line == 3
    assert source.get("phrase_set", "opt_out_request").line == 10
    assert source.get("phrase", "opt_out_request", 1).line == 12
    assert source.get("pattern", "price").line == 16
    assert source.get("state", "right_party").line == 19
    assert source.get("rule", "tcpa-004").line == 21
    assert source.get("rule", "tcpa-004", "field", "citation").line == 24
    assert source.get("rule", "tcpa-004", "field", "applies_to").line == 26
    assert source.get("rule", "tcpa-004", "check", 0).line == 27
    assert source.get("rule", "tcpa-004", "check", 0, "then", 1).line == 29
    assert source.get("rule", "tcpa-004", "remedy").line == 31
    assert source.get("rule", "tcpa-004", "example", 0).line == 32


@pytest.mark.parametrize(
    "window, expected",
    [
        ("first_turn", ir.FirstTurn()),
        ("call_end", ir.CallEnd()),
        ("1 turn", ir.Turns(1)),
        ("1 turns", ir.Turns(1)),
        ("3 turns", ir.Turns(3)),
        ("30 seconds", ir.Seconds(30.0)),
        ("1.5 seconds", ir.Seconds(1.5)),
    ],
)
def test_windows(window, expected):
    assert rule_checks(f'  must_say "x" within {window}\n') == (ir.MustSay(ir.Phrases(("x",)), expected),)


def test_matchers():
    extra = 'phrases ps ["a", "b"]\npattern pt /abc\\/d/\n'
    checks = rule_checks(
        "  must_not_say ps\n"
        "  must_not_say pt\n"
        '  must_not_say "one"\n'
        '  must_not_say ["one", "two",]\n'
        "  must_not_say /x\\/y\\d/\n"
        "  must_not_say detector credit_card\n"
        "  must_not_say detector us_phone excluding callback_numbers\n"
        '  must_not_say ps | "c" | ["d", "e"] | detector ssn | /abc/\n',
        extra,
    )
    assert [c.matcher for c in checks] == [
        ir.Phrases(("a", "b"), ref="ps"),
        ir.Regex("abc/d", ref="pt"),
        ir.Phrases(("one",)),
        ir.Phrases(("one", "two")),
        ir.Regex("x/y\\d"),
        ir.Detector("credit_card"),
        ir.Detector("us_phone", "callback_numbers"),
        ir.AnyOf(
            (
                ir.Phrases(("a", "b"), ref="ps"),
                ir.Phrases(("c",)),
                ir.Phrases(("d", "e")),
                ir.Detector("ssn"),
                ir.Regex("abc"),
            )
        ),
    ]


def test_scopes_and_cues():
    extra = 'state verified: caller says "yes"\n'
    checks = rule_checks(
        '  must_not_say "guarantee" unless "can\'t guarantee"\n'
        '  must_not_say "balance" until verified\n'
        '  must_not_say "a" unless "b" until verified\n'
        '  on agent "let me check" {\n    must_not_say "price" for 2 turns\n    must_not_say "x" for 1 turn\n'
        '    must_say "thanks" within first_turn\n  }\n'
        '  on caller "what" {\n    must_not_say "y"\n  }\n'
        "  tier2 ambiguous_optout\n",
        extra,
    )
    assert checks == (
        ir.MustNotSay(ir.Phrases(("guarantee",)), ir.Phrases(("can't guarantee",)), ir.Always()),
        ir.MustNotSay(ir.Phrases(("balance",)), None, ir.UntilState("verified")),
        ir.MustNotSay(ir.Phrases(("a",)), ir.Phrases(("b",)), ir.UntilState("verified")),
        ir.OnCue(
            "agent",
            ir.Phrases(("let me check",)),
            (
                ir.MustNotSay(ir.Phrases(("price",)), None, ir.ForTurns(2)),
                ir.MustNotSay(ir.Phrases(("x",)), None, ir.ForTurns(1)),
                ir.MustSay(ir.Phrases(("thanks",)), ir.FirstTurn()),
            ),
        ),
        ir.OnCue("caller", ir.Phrases(("what",)), (ir.MustNotSay(ir.Phrases(("y",))),)),
        ir.Tier2Ref("ambiguous_optout"),
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("remedy flag", ir.Remedy("flag")),
        ("remedy mask keep_last 4", ir.Remedy("mask", keep_last=4)),
        ('remedy mask "[email]"', ir.Remedy("mask", placeholder="[email]")),
        ("remedy redact", ir.Remedy("redact")),
        ('remedy inject "hi {name}"', ir.Remedy("inject", text="hi {name}")),
        ("remedy block", ir.Remedy("block")),
        ("remedy handoff", ir.Remedy("handoff")),
    ],
)
def test_remedies(text, expected):
    pack, _ = load_pack_text(
        H + f'rule a-1 {{\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n  must_not_say "x"\n  {text}\n}}\n'
    )
    assert pack.rules[0].remedy == expected


def test_optional_fields_default():
    pack, _ = load_pack_text(H + 'rule a-1 {\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n  tier2 brand_tone\n}\n')
    assert (pack.description, pack.when, pack.phrase_sets, pack.patterns, pack.states) == (None, None, (), (), ())
    r = pack.rules[0]
    assert (r.when, r.remedy, r.examples) == (None, None, ())


def test_fields_in_any_order():
    pack, _ = load_pack_text(
        H + 'rule a-1 {\n  example "e"\n  tier2 brand_tone\n  reason "r"\n  citation "c"\n  when x\n'
        '  severity high\n  title "t"\n}\n'
    )
    assert pack.rules[0] == ir.Rule(
        "a-1", "t", "high", "c", "r", (ir.Tier2Ref("brand_tone"),), when=ir.Field("x"), examples=("e",)
    )


F, C = ir.Field, ir.Const


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x", F("x")),
        ('"s"', C("s")),
        ("42", C(42)),
        ("-1", C(-1)),
        ("1.5", C(1.5)),
        ("true", C(True)),
        ("false", C(False)),
        ('["FL", "OK",]', C(("FL", "OK"))),
        ("[]", C(())),
        ("state.v", F("state.v")),
        ("a == 1", ir.Compare("==", F("a"), C(1))),
        ("a != 1", ir.Compare("!=", F("a"), C(1))),
        ("a < 1", ir.Compare("<", F("a"), C(1))),
        ("a <= 1", ir.Compare("<=", F("a"), C(1))),
        ("a > 1", ir.Compare(">", F("a"), C(1))),
        ("a >= 1", ir.Compare(">=", F("a"), C(1))),
        ('a in ["x"]', ir.Compare("in", F("a"), C(("x",)))),
        ('a not in ["x"]', ir.Compare("not_in", F("a"), C(("x",)))),
        ('t between "08:00" and "21:00"', ir.Between(F("t"), C("08:00"), C("21:00"))),
        ("a and b and c", ir.BoolOp("and", (F("a"), F("b"), F("c")))),
        ("a or b or c", ir.BoolOp("or", (F("a"), F("b"), F("c")))),
        ("a or b and c", ir.BoolOp("or", (F("a"), ir.BoolOp("and", (F("b"), F("c")))))),
        ("(a or b) and c", ir.BoolOp("and", (ir.BoolOp("or", (F("a"), F("b"))), F("c")))),
        ("not a and b", ir.BoolOp("and", (ir.Not(F("a")), F("b")))),
        ("not a == 1", ir.Not(ir.Compare("==", F("a"), C(1)))),
        ("(a or b) or c", ir.BoolOp("or", (ir.BoolOp("or", (F("a"), F("b"))), F("c")))),
        ("if a then b else c", ir.IfElse(F("a"), F("b"), F("c"))),
        ("if a then b else if c then d else e", ir.IfElse(F("a"), F("b"), ir.IfElse(F("c"), F("d"), F("e")))),
        ("has(x)", ir.Call("has", (F("x"),))),
        ("default(x, 1)", ir.Call("default", (F("x"), C(1)))),
        ("time_of_day(local_time)", ir.Call("time_of_day", (F("local_time"),))),
        ("days_between(a, b) > 30", ir.Compare(">", ir.Call("days_between", (F("a"), F("b"))), C(30))),
        ("lower(s) == \"x\"", ir.Compare("==", ir.Call("lower", (F("s"),)), C("x"))),
        ("((a))", F("a")),
    ],
)
def test_expressions(text, expected):
    assert expr_of(text, 'state v: agent says "x"\n') == expected


def test_string_escapes():
    (check,) = rule_checks('  must_not_say "a\\"b\\\\c\\n\\u00e9\\t"\n')
    assert check.matcher == ir.Phrases(('a"b\\c\né\t',))


def test_comments_are_collected():
    node = parse(H + "# one\n" + 'rule a-1 { # two\n  tier2 brand_tone }\n')
    assert node.comments == [(5, 1, "# one"), (6, 12, "# two")]


def test_load_pack_trace_file(tmp_path):
    path = tmp_path / "p.trace"
    path.write_text(H + 'rule a-1 {\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n  tier2 hallucination\n}\n')
    pack, source = load_pack(path)
    assert pack.pack_id == "p"
    assert source.file == str(path)
    assert source.line_text(1) == "pack p"


def test_load_pack_json_dispatch(tmp_path):
    jsonform = pytest.importorskip("trace_engine.dsl.jsonform")
    trace_pack, _ = load_pack_text(
        H + 'rule a-1 {\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n  tier2 hallucination\n}\n'
    )
    if not hasattr(ir, "pack_to_dict"):
        pytest.skip("ir.pack_to_dict not available")
    path = tmp_path / "p.json"
    path.write_text(json.dumps(ir.pack_to_dict(trace_pack)))
    pack, _ = load_pack(path)
    assert pack == trace_pack
    assert jsonform.load_json_pack
