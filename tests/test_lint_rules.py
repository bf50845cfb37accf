"""Each lint rule on hand-built IR packs (independent of the DSL parser)."""

from __future__ import annotations

import pytest

from trace_engine import ir
from trace_engine.dsl.lint import RULES, RULES_BY_CODE, lint_pack, lookup
from trace_engine.dsl.lint.base import CATEGORIES, LEVELS, contains_words, default_normalizer
from trace_engine.errors import Location, SourceMap


def rule(rid: str = "r1", *checks: ir.Check, **kw) -> ir.Rule:
    return ir.Rule(
        id=rid,
        title=kw.pop("title", "A rule"),
        severity=kw.pop("severity", "high"),
        citation=kw.pop("citation", "47 CFR § 64.1200"),
        reason=kw.pop("reason", "Because."),
        checks=tuple(checks),
        examples=kw.pop("examples", ("an example line",)),
        **kw,
    )


def pack(*rules: ir.Rule, **kw) -> ir.Pack:
    return ir.Pack("demo", "1.0.0", "US", "draft", rules=tuple(rules), **kw)


def ph(*items: str, ref: str | None = None) -> ir.Phrases:
    return ir.Phrases(tuple(items), ref=ref)


def mns(matcher: ir.Matcher, **kw) -> ir.MustNotSay:
    return ir.MustNotSay(matcher, **kw)


def ms(matcher: ir.Matcher, window: ir.Window | None = None) -> ir.MustSay:
    return ir.MustSay(matcher, window or ir.FirstTurn())


def run(p: ir.Pack, code: str, source: SourceMap | None = None, **kw):
    return lint_pack(p, source or SourceMap("demo.trace"), select={code}, **kw)


def messages(p: ir.Pack, code: str, **kw) -> list[str]:
    return [d.message for d in run(p, code, **kw)]


# --------------------------------------------------------------------------------------------- registry


def test_registry_is_ordered_unique_and_documented() -> None:
    codes = [r.code for r in RULES]
    assert codes == sorted(codes)
    assert len(set(codes)) == len(codes) >= 12
    assert len({r.name for r in RULES}) == len(RULES)
    for r in RULES:
        assert r.code.startswith("TL") and len(r.code) == 5
        assert r.category in CATEGORIES
        assert r.level in LEVELS
        assert r.what and r.why and r.example and r.instead
        assert r.example != r.instead
        assert RULES_BY_CODE[r.code] is r
        assert lookup(r.name) is r and lookup(r.code.lower()) is r
        assert r.__module__.split(".")[-1].startswith(r.code.lower() + "_")


def test_select_unknown_code_raises() -> None:
    with pytest.raises(KeyError):
        lint_pack(pack(rule()), SourceMap("x"), select={"TL999"})


def test_clean_pack_has_no_findings() -> None:
    p = pack(
        rule("tcpa-001", ms(ph("this call is recorded"))),
        rule("tcpa-002", mns(ph("guaranteed returns"))),
    )
    assert lint_pack(p, SourceMap("demo.trace")) == []


def test_messages_have_no_trailing_period() -> None:
    p = pack(
        rule("a", mns(ph("um", "guarantee", "we guarantee it")), citation="", examples=()),
        rule("a", ms(ph("{bogus} calling")), reason=" "),
        patterns=(("p", r"\d+"),),
    )
    diags = lint_pack(p, SourceMap("demo.trace"))
    assert {d.code for d in diags} >= {"TL001", "TL002", "TL003", "TL004", "TL006", "TL007", "TL010", "TL012"}
    for d in diags:
        assert not d.message.endswith(".")
        assert d.level in LEVELS


# --------------------------------------------------------------------------------------------- TL001


def test_tl001_duplicate_rule_id() -> None:
    p = pack(rule("a", mns(ph("x y z"))), rule("b", mns(ph("q r s"))), rule("a", mns(ph("t u v"))))
    diags = run(p, "TL001")
    assert [d.message for d in diags] == ['rule id "a" is already used']
    assert diags[0].level == "error"


def test_tl001_points_at_the_second_rule_in_source() -> None:
    text = "rule a {\n}\nrule b {\n}\n  rule a {\n}\n"
    source = SourceMap("demo.trace", text, {("rule", "a"): Location("demo.trace", 1, 6)})
    p = pack(rule("a", mns(ph("x y z"))), rule("b", mns(ph("q r s"))), rule("a", mns(ph("t u v"))))
    (diag,) = run(p, "TL001", source)
    assert (diag.location.line, diag.location.col, diag.location.end_col) == (5, 8, 9)


def test_tl001_prefers_rule_at_positions() -> None:
    source = SourceMap("demo.trace", "", {("rule_at", 1): Location("demo.trace", 9, 1)})
    p = pack(rule("a", mns(ph("x y z"))), rule("a", mns(ph("t u v"))))
    (diag,) = run(p, "TL001", source)
    assert diag.location.line == 9


# --------------------------------------------------------------------------------------------- TL002


def test_tl002_filler_and_punctuation_phrases() -> None:
    p = pack(rule("a", mns(ph("um", "?!", "uh, um...", "guarantee"))))
    assert messages(p, "TL002") == [
        'phrase "um" normalizes to nothing and can never match',
        'phrase "?!" normalizes to nothing and can never match',
        'phrase "uh, um..." normalizes to nothing and can never match',
    ]


def test_tl002_symbols_the_view_never_produces() -> None:
    # With a normalizer that leaves symbols in phrases, they can never match: the view spells them as words.
    p = pack(rule("a", mns(ph("0% interest", "$5 fee", "fine"))))
    diags = run(p, "TL002", normalize=default_normalizer)
    assert [d.message for d in diags] == [
        'phrase "0% interest" contains `%`, which the normalized view never produces',
        'phrase "$5 fee" contains `$`, which the normalized view never produces',
    ]
    assert diags[0].hint == "write `percent` instead of `%`"


def test_tl002_named_set_reported_once_at_the_phrase() -> None:
    loc = Location("demo.trace", 3, 20, 3, 24)
    source = SourceMap("demo.trace", "", {("phrase", "fillers", 1): loc})
    p = pack(
        rule("a", mns(ph("hello there", "hmm", ref="fillers"))),
        rule("b", ms(ph("hello there", "hmm", ref="fillers"))),
        phrase_sets=(("fillers", ("hello there", "hmm")),),
    )
    diags = run(p, "TL002", source)
    assert len(diags) == 1 and diags[0].location == loc


def test_tl002_placeholders_and_gaps_are_fine() -> None:
    p = pack(rule("a", ms(ph("this is {agent_name}", "take me off * list", "twenty five dollars"))))
    assert messages(p, "TL002") == []


# --------------------------------------------------------------------------------------------- TL003


def test_tl003_redundant_within_set() -> None:
    p = pack(rule("a", mns(ph("guarantee", "we guarantee it", "money back"))))
    assert messages(p, "TL003") == [
        'phrase "we guarantee it" is redundant: "guarantee" of the same set already matches it'
    ]


def test_tl003_duplicate_within_set_after_normalization() -> None:
    p = pack(rule("a", mns(ph("do not call me", "don't call me"))))
    assert messages(p, "TL003") == ['phrase "don\'t call me" repeats "do not call me" of the same set']


def test_tl003_shadowed_by_another_rule() -> None:
    p = pack(
        rule("no-pitch", mns(ph("special offer for you"))),
        rule("no-offer", mns(ph("special offer"))),
    )
    diags = run(p, "TL003")
    assert [d.message for d in diags] == [
        'phrase "special offer for you" also triggers rule "no-offer" through "special offer"'
    ]
    assert diags[0].level == "warning"


def test_tl003_respects_word_boundaries_and_conditions() -> None:
    p = pack(
        rule("a", mns(ph("offering now"))),
        rule("b", mns(ph("offer"))),  # "offer" is not a whole word of "offering now"
        rule("c", mns(ph("risk free deal"))),
        rule("d", mns(ph("risk free")), when=ir.Compare("==", ir.Field("direction"), ir.Const("outbound"))),
        rule("e", mns(ph("act now today"))),
        rule("f", ir.OnCue("caller", ph("stop"), (mns(ph("act now")),))),  # only inside a cue
    )
    assert messages(p, "TL003") == []


def test_tl003_gap_in_the_shorter_phrase() -> None:
    p = pack(rule("a", mns(ph("take me off your list"))), rule("b", mns(ph("off * list"))))
    assert len(messages(p, "TL003")) == 1


def test_tl003_equal_phrases_in_two_rules_reported_once() -> None:
    p = pack(rule("a", mns(ph("act now"))), rule("b", mns(ph("act now"))))
    assert messages(p, "TL003") == ['phrase "act now" also triggers rule "a" through "act now"']


def test_contains_words() -> None:
    assert contains_words(("a", "b", "c"), ("b", "c"))
    assert contains_words(("a", "b", "c"), ("a", "*", "c"))
    assert not contains_words(("a", "*", "c"), ("a", "b", "c"))
    assert not contains_words(("a", "{x}", "c"), ("a", "*", "c"))
    assert contains_words(("a", "{x}"), ("{x}",))
    assert not contains_words(("a",), ("a", "b"))
    assert not contains_words(("a",), ())


# --------------------------------------------------------------------------------------------- TL004


def test_tl004_regex_without_atom_named_and_inline() -> None:
    p = pack(
        rule("a", mns(ir.Regex(r"\d{6,17}", ref="acct")), mns(ir.Regex(r"\d{3}-\d{2}-\d{4}"))),
        rule("b", mns(ir.Regex(r"account (number )?\d{6,17}"))),
        patterns=(("acct", r"\d{6,17}"),),
    )
    diags = run(p, "TL004")
    assert [d.message for d in diags] == [
        r"regex /\d{6,17}/ has no literal atom of 3 or more characters",
        r"regex /\d{3}-\d{2}-\d{4}/ has no literal atom of 3 or more characters",
    ]
    assert {d.level for d in diags} == {"warning"}


def test_tl004_strict_makes_it_an_error() -> None:
    p = pack(rule("a", mns(ir.Regex(r"\d+"))))
    (diag,) = run(p, "TL004", strict=True)
    assert diag.level == "error"


# --------------------------------------------------------------------------------------------- TL005


def test_tl005_backreference_lookaround_and_other() -> None:
    p = pack(
        rule("a", mns(ir.Regex(r"(\w+) \1 again"))),
        rule("b", mns(ir.Regex(r"guarantee(?! not)"))),
        rule("c", mns(ir.Regex(r"(?<=no )refund"))),
        rule("d", mns(ir.Regex(r"ok{1001}ay"))),
        rule("e", mns(ir.Regex(r"fine \d+ times"))),
    )
    diags = run(p, "TL005")
    assert [d.message for d in diags] == [
        r"regex /(\w+) \1 again/ uses a backreference, which RE2 cannot run in linear time",
        r"regex /guarantee(?! not)/ uses lookaround, which RE2 cannot run in linear time",
        r"regex /(?<=no )refund/ uses lookaround, which RE2 cannot run in linear time",
        r"regex /ok{1001}ay/ is rejected by RE2: invalid repetition size: {1001}",
    ]
    assert {d.level for d in diags} == {"error"}


def test_tl005_named_pattern_located_at_its_definition() -> None:
    loc = Location("demo.trace", 4, 1, 4, 30)
    p = pack(rule("a", mns(ir.Regex(r"(a)\1aa", ref="p"))), patterns=(("p", r"(a)\1aa"),))
    (diag,) = run(p, "TL005", SourceMap("demo.trace", "", {("pattern", "p"): loc}))
    assert diag.location == loc


# --------------------------------------------------------------------------------------------- TL006


def test_tl006_empty_citation_and_reason() -> None:
    loc = Location("demo.trace", 7, 3)
    source = SourceMap("demo.trace", "", {("rule", "a", "field", "citation"): loc})
    p = pack(rule("a", mns(ph("x y z")), citation="  "), rule("b", mns(ph("q r s")), reason=""))
    diags = run(p, "TL006", source)
    assert [d.message for d in diags] == [
        'rule "b" has an empty reason',
        'rule "a" has an empty citation',
    ] or [d.message for d in diags] == ['rule "a" has an empty citation', 'rule "b" has an empty reason']
    assert any(d.location == loc for d in diags)


# --------------------------------------------------------------------------------------------- TL007


def test_tl007_unknown_variables_in_phrases_inject_and_excluding() -> None:
    p = pack(
        rule(
            "a",
            ms(ph("calling from {business_name}", "this is {agnet_name}")),
            mns(ir.Detector("us_phone", exempt="callback_numbers")),
            mns(ir.Detector("us_phone", exempt="our_numbers")),
            remedy=ir.Remedy("inject", text="This is {company}."),
        ),
        rule("b", mns(ph("hi {product}", ref="s"))),
        phrase_sets=(("s", ("hi {product}",)),),
    )
    diags = run(p, "TL007")
    assert sorted(d.message for d in diags) == sorted(
        [
            'variable "agnet_name" in a phrase is not a call metadata key',
            'variable "our_numbers" in `excluding` is not a call metadata key',
            'variable "company" in the inject text is not a call metadata key',
            'variable "product" in a phrase is not a call metadata key',
        ]
    )
    assert {d.level for d in diags} == {"warning"}
    assert {d.hint for d in diags} == {"pass it in the config's `variables`"}


# --------------------------------------------------------------------------------------------- TL008


def test_tl008_must_say_forbidden_by_same_rule_identical() -> None:
    p = pack(rule("a", ms(ph("act now")), mns(ph("act now"))))
    (diag,) = run(p, "TL008")
    assert diag.message == 'rule "a" forbids what its must_say requires'
    assert diag.level == "error"


def test_tl008_must_say_contains_forbidden_phrase_in_same_cue() -> None:
    cue = ir.OnCue(
        "caller",
        ph("stop calling me"),
        (ms(ph("we will not call you again"), ir.Turns(1)), mns(ph("call you", "special offer"))),
    )
    (diag,) = run(pack(rule("a", cue)), "TL008")
    assert diag.hint == '"we will not call you again" contains the forbidden "call you"'


def test_tl008_not_when_prohibition_is_scoped_or_excepted() -> None:
    p = pack(
        rule("a", ms(ph("act now")), mns(ph("act now"), scope=ir.ForTurns(2))),
        rule("b", ms(ph("act now")), mns(ph("act now"), unless=ph("do not act now"))),
        rule(
            "c", ms(ph("we will not call you again", "done")), mns(ph("call you"))
        ),  # an alternative is fine
        rule("d", ms(ph("act now")), ir.OnCue("caller", ph("stop"), (mns(ph("act now")),))),
    )
    assert messages(p, "TL008") == []


def test_tl008_windows_and_states() -> None:
    p = pack(
        rule("a", ms(ph("recorded line"), ir.Seconds(0.5))),
        rule("b", ms(ph("recorded line"), ir.Turns(0))),
        rule("c", mns(ph("your balance"), scope=ir.ForTurns(0))),
        rule("d", mns(ph("your balance"), scope=ir.UntilState("nowhere"))),
        rule("e", mns(ph("your balance"), scope=ir.UntilState("verified"))),
        rule("f", mns(ph("your balance"), scope=ir.UntilState("fine"))),
        states=(
            ir.State(
                "verified",
                (ir.StateStep("agent", ph("date of birth")), ir.StateStep("caller", ph("um", "uh"))),
            ),
            ir.State("fine", (ir.StateStep("agent", ph("date of birth")),)),
        ),
    )
    assert messages(p, "TL008") == [
        "window of 0.5 seconds is shorter than 1 second",
        "window of 0 turns can never be met",
        "scope of 0 turns holds for no turn",
        'state "nowhere" is never defined',
        'state "verified" can never be set',
    ]


# --------------------------------------------------------------------------------------------- TL009


def test_tl009_required_and_forbidden_across_rules() -> None:
    p = pack(
        rule("purpose", ms(ph("this is a sales call"))),
        rule("no-sales", mns(ph("sales call"))),
        rule("identify", ms(ph("my name is {agent_name}"))),
        rule("no-names", mns(ph("my name is {agent_name}"))),
    )
    assert messages(p, "TL009") == [
        'required phrase "this is a sales call" contains "sales call", forbidden by rule "no-sales"',
        'phrase "my name is {agent_name}" is required here and forbidden by rule "no-names"',
    ]


def test_tl009_after_normalization_and_skips_scoped_prohibitions() -> None:
    p = pack(
        rule("a", ms(ph("we don't call again"))),
        rule("b", mns(ph("we do not call again"))),
        rule("c", ms(ph("act now"))),
        rule("d", mns(ph("act now"), scope=ir.UntilState("verified"))),
        rule("e", mns(ph("act now"), unless=ph("do not act now"))),
        states=(ir.State("verified", (ir.StateStep("caller", ph("yes")),)),),
    )
    assert messages(p, "TL009") == [
        'phrase "we don\'t call again" is required here and forbidden by rule "b"'
    ]


def test_tl009_leaves_same_rule_conflicts_to_tl008() -> None:
    p = pack(rule("a", ms(ph("act now")), mns(ph("act now"))))
    assert messages(p, "TL009") == []
    assert len(messages(p, "TL008")) == 1


# --------------------------------------------------------------------------------------------- TL010 / TL011


def test_tl010_unused_phrase_set_and_pattern() -> None:
    p = pack(
        rule("a", mns(ph("we guarantee", ref="used"), unless=ph("no refund", ref="exc"))),
        phrase_sets=(("used", ("we guarantee",)), ("exc", ("no refund",)), ("orphan", ("hello there",))),
        patterns=(("lonely", "refund"), ("via_state", "verify")),
        states=(ir.State("s", (ir.StateStep("agent", ir.Regex("verify", ref="via_state")),)),),
    )
    assert messages(p, "TL010") == ['phrase set "orphan" is never used', 'pattern "lonely" is never used']


def test_tl011_unused_state() -> None:
    verified = ir.State("verified", (ir.StateStep("caller", ph("yes")),))
    consent = ir.State("consent", (ir.StateStep("caller", ph("i agree")),))
    in_expr = ir.State("opted_in", (ir.StateStep("caller", ph("sign me up")),))
    lonely = ir.State("lonely", (ir.StateStep("caller", ph("hello there")),))
    p = pack(
        rule("a", mns(ph("your balance"), scope=ir.UntilState("verified"))),
        rule("b", ir.Require(ir.Field("state.consent"))),
        rule("c", mns(ph("act now")), when=ir.Not(ir.Field("state.opted_in"))),
        states=(verified, consent, in_expr, lonely),
    )
    assert messages(p, "TL011") == ['state "lonely" is never used']


# --------------------------------------------------------------------------------------------- TL012


def test_tl012_missing_example() -> None:
    p = pack(
        rule("a", mns(ph("act now")), examples=()),
        rule("b", mns(ph("act now")), examples=("act now, please",)),
        rule("c", ir.Require(ir.Field("recording_enabled")), examples=()),
    )
    diags = run(p, "TL012")
    assert [d.message for d in diags] == ['rule "a" has no example']
    assert diags[0].level == "warning"
    assert RULES_BY_CODE["TL012"].category == "documentation"
