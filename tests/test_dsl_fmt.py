"""fmt: identity fixtures round-trip byte for byte; printing is idempotent and preserves the IR."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import applies_tos

from trace_engine import ir
from trace_engine.dsl import format_source, load_pack_text, print_pack

IDENTITY = sorted((Path(__file__).parent / "fixtures" / "identity").glob("*.trace"))


def test_there_are_enough_identity_fixtures():
    assert len(IDENTITY) >= 6


@pytest.mark.parametrize("path", IDENTITY, ids=lambda p: p.name)
def test_identity(path):
    text = path.read_text(encoding="utf-8")
    assert format_source(text, str(path)) == text


@pytest.mark.parametrize("path", IDENTITY, ids=lambda p: p.name)
def test_print_without_comments_preserves_ir(path):
    pack, _ = load_pack_text(path.read_text(encoding="utf-8"), str(path))
    again, _ = load_pack_text(print_pack(pack))
    assert again == pack


def test_fmt_normalizes_layout():
    messy = (
        'pack p version "1" jurisdiction "US" legal_status "x"\n'
        "rule a-1 { tier2 brand_tone reason \"r\" # why\n citation \"c\" severity low title \"t\" "
        "must_say [\"x\"] within 1 turns remedy flag }\n"
        'phrases ps [ "a" , "b" ]\n'
    )
    assert format_source(messy) == (
        "pack p\n"
        'version "1"\n'
        'jurisdiction "US"\n'
        'legal_status "x"\n'
        "\n"
        "phrases ps [\n"
        '  "a",\n'
        '  "b",\n'
        "]\n"
        "\n"
        "rule a-1 {\n"
        '  title "t"\n'
        "  severity low\n"
        '  citation "c"\n'
        '  reason "r"  # why\n'
        "  tier2 brand_tone\n"
        '  must_say "x" within 1 turn\n'
        "  remedy flag\n"
        "}\n"
    )


def test_comment_after_last_item_goes_at_the_end():
    text = format_source('pack p\nversion "1"\njurisdiction "US"\nlegal_status "x"\nrule a-1 { title "t" severity low '
                         'citation "c" reason "r" tier2 brand_tone }\n# bye\n')
    assert text.endswith("}\n\n# bye\n")


# ------------------------------------------------------------------------------------------ generated packs

KEYWORDS = set(
    "pack version jurisdiction legal_status description when phrases pattern state rule title severity citation "
    "reason example must_say must_not_say within turn turns seconds first_turn call_end unless until for on caller "
    "agent says then require tier2 remedy flag mask keep_last redact inject block handoff detector excluding if "
    "else and or not in between true false applies_to after".split()
)
names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda n: n not in KEYWORDS)


def _expressible_pack_id(pack_id: str) -> bool:
    """Known limitation of the DSL: a pack id whose digits run into a keyword ("0or", "12version") lexes as a
    number then the keyword, so the DSL cannot spell it (the JSON form can)."""
    return pack_id not in KEYWORDS and pack_id.lstrip("0123456789") not in KEYWORDS
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
phrases = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(lambda s: s.strip())
regexes = st.sampled_from([r"abc", r"\d{3}-\d{4}", r"a/b", r"price \$\d+", r"(x|y)z+", r"\\/"])
speakers = st.sampled_from(ir.SPEAKERS)


def exprs(state_names: list[str]) -> st.SearchStrategy[ir.Expr]:
    fields = names.map(ir.Field)
    if state_names:
        fields = fields | st.sampled_from(state_names).map(lambda n: ir.Field("state." + n))
    lits = st.one_of(
        texts, st.integers(-1000, 1000), st.booleans(), st.floats(allow_nan=False, allow_infinity=False, width=32)
    )
    consts = lits.map(ir.Const) | st.lists(lits, max_size=3).map(lambda xs: ir.Const(tuple(xs)))
    base = fields | consts

    def extend(inner):
        return st.one_of(
            st.tuples(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not_in"]), inner, inner).map(
                lambda t: ir.Compare(*t)
            ),
            st.tuples(inner, inner, inner).map(lambda t: ir.Between(*t)),
            st.tuples(st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)).map(
                lambda t: ir.BoolOp(t[0], tuple(t[1]))
            ),
            inner.map(ir.Not),
            st.tuples(inner, inner, inner).map(lambda t: ir.IfElse(*t)),
            st.sampled_from(sorted(ir.EXPR_FUNCTIONS)).flatmap(
                lambda f: st.lists(inner, min_size=ir.EXPR_FUNCTIONS[f], max_size=ir.EXPR_FUNCTIONS[f]).map(
                    lambda args: ir.Call(f, tuple(args))
                )
            ),
        )

    return st.recursive(base, extend, max_leaves=6)


@st.composite
def packs(draw) -> ir.Pack:
    set_names = draw(st.lists(names, max_size=3, unique=True))
    pat_names = draw(st.lists(names.filter(lambda n: n not in set_names), max_size=2, unique=True))
    state_names = draw(st.lists(names, max_size=2, unique=True))
    phrase_sets = tuple((n, tuple(draw(st.lists(phrases, min_size=1, max_size=3)))) for n in set_names)
    patterns = tuple((n, draw(regexes)) for n in pat_names)
    refs = [ir.Phrases(items, ref=n) for n, items in phrase_sets] + [ir.Regex(s, ref=n) for n, s in patterns]

    atoms = [
        st.lists(phrases, min_size=1, max_size=3).map(lambda xs: ir.Phrases(tuple(xs))),
        regexes.map(ir.Regex),
        st.tuples(st.sampled_from(ir.DETECTORS), st.none() | names).map(lambda t: ir.Detector(*t)),
    ]
    if refs:
        atoms.append(st.sampled_from(refs))
    atom = st.one_of(atoms)
    matcher = st.lists(atom, min_size=1, max_size=3).map(lambda ms: ms[0] if len(ms) == 1 else ir.AnyOf(tuple(ms)))
    windows = st.one_of(
        st.just(ir.FirstTurn()),
        st.just(ir.CallEnd()),
        st.integers(1, 50).map(ir.Turns),
        st.sampled_from([0.5, 1.0, 30.0, 2.25]).map(ir.Seconds),
    )
    scopes = [st.just(ir.Always())]
    if state_names:
        scopes.append(st.sampled_from(state_names).map(ir.UntilState))
    must_say = st.tuples(matcher, windows).map(lambda t: ir.MustSay(*t))
    must_not = st.tuples(matcher, st.none() | matcher, st.one_of(scopes)).map(lambda t: ir.MustNotSay(*t))
    cue_must_not = st.tuples(matcher, st.none() | matcher, st.one_of([*scopes, st.integers(1, 9).map(ir.ForTurns)]))
    cue_checks = must_say | cue_must_not.map(lambda t: ir.MustNotSay(*t))
    expr = exprs(state_names)
    def step(speaker: str) -> st.SearchStrategy[ir.StateStep]:
        return st.tuples(matcher, st.none() | matcher, st.none() | matcher).map(lambda t: ir.StateStep(speaker, *t))

    checks = st.one_of(
        must_say,
        must_not,
        st.tuples(speakers, matcher, st.lists(cue_checks, min_size=1, max_size=2), st.none() | matcher).map(
            lambda t: ir.OnCue(t[0], t[1], tuple(t[2]), t[3])
        ),
        st.tuples(matcher, st.lists(cue_checks, min_size=1, max_size=2), st.none() | matcher, step("agent")).map(
            lambda t: ir.OnCue("caller", t[0], tuple(t[1]), t[2], t[3])
        ),
        expr.map(ir.Require),
        st.sampled_from(ir.TIER2_CHECKS).map(ir.Tier2Ref),
    )
    remedies = st.one_of(
        st.none(),
        st.sampled_from(["flag", "redact", "block", "handoff"]).map(ir.Remedy),
        st.integers(0, 8).map(lambda k: ir.Remedy("mask", keep_last=k)),
        texts.map(lambda t: ir.Remedy("mask", placeholder=t)),
        texts.map(lambda t: ir.Remedy("inject", text=t)),
    )
    rule_ids = st.from_regex(r"[a-z]{2,5}-[0-9]{3}", fullmatch=True) | names
    rules = st.builds(
        ir.Rule,
        id=rule_ids,
        title=texts,
        severity=st.sampled_from(ir.SEVERITIES),
        citation=texts,
        reason=texts,
        checks=st.lists(checks, min_size=1, max_size=3).map(tuple),
        when=st.none() | expr,
        remedy=remedies,
        examples=st.lists(texts, max_size=2).map(tuple),
        damages=st.none()
        | st.builds(
            lambda low, extra, per, cite, note: ir.Damages(low, low + extra, per, cite, note),
            st.integers(0, 10**6),
            st.integers(0, 10**6),
            st.sampled_from(ir.DAMAGES_BASES),
            texts.filter(bool),
            st.none() | texts,
        ),
    )
    states = tuple(
        ir.State(n, (draw(step(draw(speakers))),) if draw(st.booleans()) else (draw(step("agent")), draw(step("caller"))))
        for n in state_names
    )
    pack_scope = draw(st.none() | applies_tos())
    return ir.Pack(
        pack_id=draw(st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True).filter(_expressible_pack_id)),
        version=draw(texts),
        jurisdiction=draw(texts),
        legal_status=draw(texts),
        description=draw(st.none() | texts),
        when=draw(st.none() | expr),
        phrase_sets=phrase_sets,
        patterns=patterns,
        states=states,
        rules=tuple(
            replace(r, applies_to=draw(st.none() | applies_tos(pack_scope)))
            for r in draw(st.lists(rules, min_size=1, max_size=3))
        ),
        applies_to=pack_scope,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(packs())
def test_print_parse_lower_round_trip(pack):
    text = print_pack(pack)
    again, _ = load_pack_text(text, "gen.trace")
    assert again == pack


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(packs(), st.lists(st.tuples(st.integers(0, 60), st.text("abc xyz#", max_size=10)), max_size=5))
def test_fmt_is_idempotent(pack, comments):
    lines = print_pack(pack).split("\n")
    for line_no, text in comments:  # sprinkle whole-line comments
        lines.insert(min(line_no, len(lines)), "# " + text)
    source = "\n".join(lines)
    once = format_source(source)
    assert format_source(once) == once
    assert load_pack_text(once)[0] == pack
