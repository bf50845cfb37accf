"""DSL diagnostics: exact messages (rendered with source line, caret and hint), codes, robustness."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trace_engine.dsl import decode_source, load_pack, load_pack_text, parse
from trace_engine.dsl.parser import MAX_SOURCE_CHARS
from trace_engine.errors import TraceSyntaxError

H = 'pack p\nversion "1"\njurisdiction "US"\nlegal_status "x"\n'


def rule(body: str, rid: str = "a-1") -> str:
    return f'rule {rid} {{\n  title "t"\n  severity low\n  citation "c"\n  reason "r"\n{body}}}\n'


def errors(text: str, filename: str = "p.trace") -> TraceSyntaxError:
    with pytest.raises(TraceSyntaxError) as info:
        load_pack_text(text, filename)
    return info.value


def codes(text: str) -> list[str]:
    return [d.code for d in errors(text).diagnostics]


# ------------------------------------------------------------------------------------------ exact renders


def test_unknown_severity_render():
    text = H + 'rule a-1 {\n  title "t"\n  severity critcal\n  citation "c"\n  reason "r"\n  must_not_say "x"\n}\n'
    assert errors(text).render() == (
        "p.trace:7:12 TS107 unknown severity `critcal`\n"
        "      severity critcal\n"
        "               ^^^^^^^\n"
        "    hint: did you mean `critical`?"
    )


def test_undefined_phrase_set_render():
    text = H + 'phrases opt_out ["stop"]\n' + rule("  must_not_say opt_ot\n")
    assert errors(text).render() == (
        "p.trace:11:16 TS103 undefined phrase set or pattern `opt_ot`\n"
        "      must_not_say opt_ot\n"
        "                   ^^^^^^\n"
        "    hint: did you mean `opt_out`?"
    )


def test_unterminated_string_render():
    text = H + 'rule a-1 {\n  title "t\n  severity low\n}\n'
    assert errors(text).render() == (
        "p.trace:6:9 TS003 unterminated string\n"
        '      title "t\n'
        "            ^\n"
        '    hint: close it with `"` on the same line'
    )


def test_missing_closing_brace_render():
    text = H + 'rule a-1 {\n  title "t"\n  must_not_say "x"\n\nrule a-2 {\n  title "t"\n}\n'
    rendered = errors(text).render()
    assert rendered.startswith(
        "p.trace:9:1 TS001 missing closing `}`\n"
        "    rule a-2 {\n"
        "    ^^^^\n"
        "    hint: every `{` needs a matching `}`\n"
    )
    # the rest of the file is still checked: rule a-2 parsed, and its own problems are reported in the same run
    assert "p.trace:9:6 TS116 rule `a-2` is missing `severity`" in rendered
    assert "a-1" not in rendered  # the broken rule's fields are not reported again


def test_missing_closing_brace_at_end_of_file():
    text = H + rule('  must_not_say "x"\n').rstrip("}\n") + "\n"
    e = errors(text)
    assert [d.code for d in e.diagnostics] == ["TS005"]
    assert e.diagnostics[0].message == "missing closing `}` before end of file"


def test_several_syntax_errors_in_one_file():
    text = (
        H
        + 'rule a-1 {\n  titel "t"\n}\n'
        + 'rule a-2 {\n  must_say "x"\n}\n'
        + 'phrases p ["a" "b"]\n'
        + 'rule a-3 {\n  severity "high"\n}\n'
    )
    assert errors(text).render() == (
        "p.trace:6:3 TS001 unexpected name `titel`; expected `applies_to`, `citation`, `damages`, `example`, "
        "`must_not_say`, `must_say`, `on`, `reason`, `remedy`, `require`, ...\n"
        '      titel "t"\n'
        "      ^^^^^\n"
        "    hint: did you mean `title`?\n"
        "p.trace:10:1 TS001 `must_say` needs a window\n"
        "    }\n"
        "    ^\n"
        "    hint: add `within N turns`, `within N seconds`, `within first_turn` or `within call_end`\n"
        "p.trace:11:16 TS001 phrases must be separated by `,` and the list closed with `]`\n"
        '    phrases p ["a" "b"]\n'
        "                   ^^^\n"
        "p.trace:13:12 TS001 a severity is a bare word, not a string\n"
        '      severity "high"\n'
        "               ^^^^^^\n"
        "    hint: write `severity high`"
    )


def test_several_semantic_errors_in_one_file():
    text = H + rule(
        "  must_not_say detector credit_crd\n"
        "  tier2 brand_tones\n"
        "  require defualt(x, 1) and has(x, y)\n"
        '  must_not_say "x" for 2 turns\n'
        '  must_say "y" within 0 turns\n'
        "  must_not_say /(a)\\1/ until verifed\n"
    )
    assert errors(text).render() == (
        "p.trace:10:25 TS105 unknown detector `credit_crd`\n"
        "      must_not_say detector credit_crd\n"
        "                            ^^^^^^^^^^\n"
        "    hint: did you mean `credit_card`?\n"
        "p.trace:11:9 TS106 unknown Tier-2 check `brand_tones`\n"
        "      tier2 brand_tones\n"
        "            ^^^^^^^^^^^\n"
        "    hint: did you mean `brand_tone`?\n"
        "p.trace:12:11 TS108 unknown function `defualt`\n"
        "      require defualt(x, 1) and has(x, y)\n"
        "              ^^^^^^^\n"
        "    hint: did you mean `default`?\n"
        "p.trace:12:29 TS109 `has` takes 1 argument, got 2\n"
        "      require defualt(x, 1) and has(x, y)\n"
        "                                ^^^^^^^^^\n"
        "p.trace:13:20 TS111 `for N turns` is only allowed inside an `on` cue\n"
        '      must_not_say "x" for 2 turns\n'
        "                       ^^^^^^^^^^^\n"
        "    hint: outside a cue a prohibition holds for the whole call; drop `for ...`\n"
        "p.trace:14:23 TS110 a window must be at least 1 turn, got 0\n"
        '      must_say "y" within 0 turns\n'
        "                          ^^^^^^^\n"
        "p.trace:15:16 TS115 pattern is not linear-time (RE2 rejects it): invalid escape sequence: \\1\n"
        "      must_not_say /(a)\\1/ until verifed\n"
        "                   ^^^^^^^\n"
        "    hint: RE2 has no backreferences or lookaround\n"
        "p.trace:15:30 TS118 undefined state `verifed`\n"
        "      must_not_say /(a)\\1/ until verifed\n"
        "                                 ^^^^^^^"
    )


def test_rule_without_id():
    e = errors(H + 'rule {\n  title "t"\n}\n')
    d = e.diagnostics[0]
    assert (d.code, d.message, d.hint) == ("TS001", "a rule needs an id after `rule`", "write `rule tcpa-001 {`")
    assert (d.location.line, d.location.col) == (5, 6)


def test_misspelled_top_level_keyword():
    d = errors(H + 'rul a-1 {\n}\n').diagnostics[0]
    assert d.message.startswith("unexpected name `rul`; expected ")
    assert d.hint == "did you mean `rule`?"


def test_uppercase_name():
    d = errors("pack Tcpa\n").diagnostics[0]
    assert (d.code, d.message, d.hint) == ("TS002", "unexpected `T`", "names and keywords are lower case: `tcpa`")


def test_unterminated_regex():
    d = errors(H + "pattern p /abc\n").diagnostics[0]
    assert (d.code, d.message) == ("TS004", "unterminated regex")


def test_lookaround_is_rejected():
    e = errors(H + "pattern p /(?=abc)x/\n" + rule("  must_not_say p\n"))
    assert [d.message for d in e.diagnostics] == ["pattern is not linear-time (RE2 rejects it): invalid perl operator: (?="]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("pack Bad-id\n", ["TS002"]),
        ('pack a-b\nversion "1"\njurisdiction "US"\nlegal_status "x"\n' + rule('  must_say "x" within 1 turn\n'),
         ["TS101"]),
        (H + 'phrases p ["a"]\nphrases p ["b"]\n' + rule("  must_not_say p\n"), ["TS102"]),
        (H + "pattern p /abc/\npattern p /abd/\n" + rule("  must_not_say p\n"), ["TS102"]),
        (H + 'state s: agent says "x"\nstate s: agent says "y"\n' + rule("  must_not_say \"z\" until s\n"), ["TS102"]),
        (H + 'phrases p ["a"]\npattern p /abc/\n' + rule("  must_not_say p\n"), ["TS104"]),
        (H + rule("  must_not_say nothing\n"), ["TS103"]),
        (H + rule("  must_not_say detector passport\n"), ["TS105"]),
        (H + rule("  tier2 vibes\n"), ["TS106"]),
        (H + rule("  require now() > 1\n"), ["TS108"]),
        (H + rule("  require lower()\n"), ["TS109"]),
        (H + rule('  must_say "x" within 1.5 turns\n'), ["TS110"]),
        (H + rule('  must_say "x" within 0 seconds\n'), ["TS110"]),
        (H + rule('  on caller "x" {\n    must_not_say "y" for 0 turns\n  }\n'), ["TS110"]),
        (H + rule('  must_not_say "y" for 1 turn\n'), ["TS111"]),
        (H + rule(""), ["TS112"]),
        (H, ["TS113"]),
        (H + "phrases p []\n" + rule("  must_not_say p\n"), ["TS114"]),
        (H + rule("  must_not_say []\n"), ["TS114"]),
        (H + rule('  must_not_say "  "\n'), ["TS114"]),
        (H + 'rule a-1 {\n  title "t"\n  must_not_say "x"\n}\n', ["TS116", "TS116", "TS116"]),
        ('pack p\nversion "1"\n' + rule('  must_not_say "x"\n'), ["TS116", "TS116"]),
        (H + rule('  title "again"\n  must_not_say "x"\n'), ["TS117"]),
        (H + 'version "2"\n' + rule('  must_not_say "x"\n'), ["TS117"]),
        (H + rule('  must_not_say "x"\n  remedy flag\n  remedy block\n'), ["TS117"]),
        (H + rule('  must_not_say "x" until nowhere\n'), ["TS118"]),
        (H + rule("  require state.nowhere\n"), ["TS118"]),
        (H + rule('  on caller "x" {\n    require a\n  }\n'), ["TS119"]),
        (H + rule('  on caller "x" {\n    tier2 brand_tone\n  }\n'), ["TS119"]),
        ('version "1"\npack p\njurisdiction "US"\nlegal_status "x"\n' + rule('  must_not_say "x"\n'), ["TS120"]),
        (H + rule('  must_not_say "x"\n') + 'description "late"\n', ["TS120"]),
        (H + 'state s: agent says "a" then caller says "b" then agent says "c"\n' + rule('  must_not_say "x"\n'),
         ["TS122"]),
        (H + rule('  must_not_say "x"\n  remedy mask keep_last 1.5\n'), ["TS123"]),
        (H + rule('  must_not_say "\\q"\n'), ["TS010"]),
        (H + rule("  require x > 1e999\n"), ["TS011"]),
    ],
)
def test_codes(text, expected):
    assert codes(text) == expected


def test_duplicate_rule_ids_are_kept():
    pack, source = load_pack_text(H + rule('  must_not_say "x"\n') + rule('  must_not_say "y"\n'))
    assert [r.id for r in pack.rules] == ["a-1", "a-1"]
    assert source.get("rule", "a-1").line == 5
    assert source.get("rule_at", 1).line == 12


def test_keywords_are_reserved():
    d = errors(H + "phrases rule [\"x\"]\n").diagnostics[0]
    assert (d.code, d.message) == ("TS001", "unexpected `rule`; expected a name")


# ------------------------------------------------------------------------------------------ robustness


def test_megabytes_of_junk():  # as much as the size limit allows (it was 10 MiB before the 2 MiB limit)
    junk = ("\x00\x01 ~@ pack {{ ]] \"" * 700_000)[:MAX_SOURCE_CHARS]
    e = errors(junk)
    assert [d.code for d in e.diagnostics] == ["TS002"]
    lines = ("\x00\x01 ~@\npack {{ ]] \"\n" * 700_000)[:MAX_SOURCE_CHARS]
    e = errors(lines)
    assert len(e.diagnostics) == 51
    assert e.diagnostics[-1].code == "TS009"


def test_many_duplicate_phrase_sets():
    text = H + rule('  must_not_say "x"\n') + ('phrases p ["a", "b"]\n' * 5_000)
    e = errors(text)
    assert {d.code for d in e.diagnostics} == {"TS102"}


def test_file_too_large():
    e = errors(" " * (MAX_SOURCE_CHARS + 1))
    assert [d.code for d in e.diagnostics] == ["TS007"]


def test_ten_thousand_nested_parentheses():
    text = H + rule("  require " + "(" * 10_000 + "x" + ")" * 10_000 + "\n")
    pack, _ = load_pack_text(text)
    assert pack.rules[0].checks[0].expr.name == "x"


def test_ten_thousand_unbalanced_parentheses():
    assert codes(H + rule("  require " + "(" * 10_000 + "x\n")) == ["TS001"]


@pytest.mark.parametrize("prefix", ["not ", "lower(", "if a then b else "])
def test_deep_nesting_is_reported(prefix):
    close = ")" * 10_000 if prefix == "lower(" else ""
    e = errors(H + rule("  require " + prefix * 10_000 + "x" + close + "\n"))
    assert [d.code for d in e.diagnostics] == ["TS006"]
    assert e.diagnostics[0].message == "expression nested too deeply (more than 100 levels)"


def test_nul_bytes():
    e = errors(H + "\x00\x00" + rule('  must_not_say "x"\n'))
    assert e.diagnostics[0].code == "TS002"
    assert e.diagnostics[0].message == "unexpected character '\\x00'"


def test_surrogate_escaped_bytes():
    text = (H + rule('  must_not_say "x"\n')).encode() + b"\xff\xfe rule"
    e = errors(text.decode("utf-8", errors="surrogateescape"))
    assert e.diagnostics[0].code == "TS002"


def test_invalid_utf8_file(tmp_path):
    path = tmp_path / "bad.trace"
    path.write_bytes(b'pack p\nversion "\xff"\n')
    with pytest.raises(TraceSyntaxError) as info:
        load_pack(path)
    d = info.value.diagnostics[0]
    assert (d.code, d.message, d.location.line, d.location.col) == (
        "TS008", "file is not valid UTF-8 at byte 16", 2, 10,
    )


def test_decode_source_strips_bom():
    assert decode_source(b"\xef\xbb\xbfpack p", "f") == "pack p"


def test_parse_rejects_non_text():
    with pytest.raises(TraceSyntaxError):
        parse(b"pack p")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ fuzzing


def _only_trace_errors(text: str) -> None:
    try:
        load_pack_text(text, "fuzz.trace")
    except TraceSyntaxError as e:
        assert e.diagnostics
        e.render()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_returns_pack_or_trace_error(text):
    _only_trace_errors(text)


VALID = (
    H
    + 'when default(direction, "outbound") == "outbound"\n'
    + 'phrases opt ["stop calling", "take me off"]\n'
    + "pattern price /\\$ ?\\d+/\n"
    + 'state v: agent says "dob" then caller says /\\d{4}/\n'
    + rule(
        '  when x between 1 and 2 or not state.v\n'
        '  on caller opt {\n    must_say "ok" within 1 turn\n    must_not_say price for 2 turns\n  }\n'
        "  must_not_say detector us_phone excluding cb unless \"x\" until v\n"
        '  require if a then [1, "b"] else lower(c) in ["x"]\n'
        "  remedy mask keep_last 4\n  example \"e\"\n"
    )
)


def _tokens(text: str) -> list[str]:
    import re

    return re.findall(r'"(?:[^"\\\n]|\\.)*"|/(?:[^/\\\n]|\\.)+/|[a-z_][a-z0-9_-]*|-?\d+(?:\.\d+)?|\S|\n', text)


TOKENS = _tokens(VALID)


@st.composite
def mutated(draw):
    toks = list(TOKENS)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(toks) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "insert", "swap"]))
        if op == "delete":
            del toks[i]
        elif op == "duplicate":
            toks.insert(i, toks[i])
        elif op == "insert":
            toks.insert(i, draw(st.sampled_from(TOKENS + ["{", "}", "(", ")", '"', "/", "#", "\x00", "é"])))
        else:
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
    return " ".join(toks)


def test_the_mutation_seed_is_valid():
    load_pack_text(VALID)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_packs_return_pack_or_trace_error(text):
    _only_trace_errors(text)
