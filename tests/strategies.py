"""Hypothesis strategies that generate VALID random :class:`trace_engine.ir.Pack` objects.

Import with ``from strategies import packs`` (pytest puts ``tests/`` on ``sys.path``) or
``from tests.strategies import packs`` when the repository root is on the path.

What "valid" means here (what both pack forms, DSL and JSON, must be able to express and read back):

* ids and names: ``pack_id`` matches ``^[a-z0-9_]+$``; phrase set, pattern and state names and variables match
  ``[a-z][a-z0-9_]*`` and are never one of :data:`RESERVED` (DSL keywords, built-in names); phrase sets, patterns and
  states never share a name; rule ids (``abc-012``, ``abc_def``) and state names are unique.
* references are consistent: a ``Phrases(items, ref=NAME)`` carries exactly the items of phrase set ``NAME`` and a
  ``Regex(source, ref=NAME)`` the source of pattern ``NAME``; ``UntilState`` and ``state.NAME`` fields name a declared
  state.
* regexes come from :data:`SAFE_REGEXES` (valid RE2, each with a literal atom of 3+ characters, no ``/``).
* every matcher kind (inline/referenced phrases, inline/referenced regex, detectors with and without ``exempt``,
  ``AnyOf`` of two or three non-``AnyOf`` members), every window (``FirstTurn``, ``Turns``, ``Seconds`` as int *and* as
  float, ``CallEnd``), every scope (``Always``; ``UntilState``; ``ForTurns`` inside ``OnCue`` only), every check kind,
  every expression node (``Call`` with the arity from :data:`ir.EXPR_FUNCTIONS`; ``Const`` of str, int, float, bool or a
  *tuple* of str/int), remedies (``mask`` with exactly one of ``keep_last``/``placeholder``, ``inject`` with ``text``,
  the others bare) and ``None`` remedies; state steps with and without ``unless`` / ``and_not``; ``OnCue`` with and
  without ``and_not`` and (caller cues only) ``after``; ``applies_to`` on the pack and on rules (a rule's only narrows
  its pack's: for a fact both name, its values are a subset).
* free text (titles, reasons, examples, string constants...) comes from the ``text`` strategy argument; the default
  :func:`safe_text` avoids ``"``, ``\\`` and control characters so that a DSL printer needs no escapes; pass
  ``text=st.text(min_size=1)`` to stress a form that escapes everything (JSON does).
* numbers are non-negative (the DSL has no unary minus) and floats have at most two decimals.

Main entry points: :func:`packs`, and for narrower tests :func:`matchers`, :func:`exprs`, :func:`checks`,
:func:`rules` (all take a :class:`Ctx` describing what the pack declares).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, replace

from hypothesis import strategies as st

from trace_engine import ir
from trace_engine.facts import FACTS, scope_fact_names

#: Words a generated name never equals: DSL keywords and built-in names.
RESERVED: frozenset[str] = frozenset(
    {
        "pack",
        "version",
        "jurisdiction",
        "legal_status",
        "description",
        "when",
        "phrases",
        "phrase",
        "pattern",
        "patterns",
        "state",
        "states",
        "rule",
        "rules",
        "title",
        "severity",
        "citation",
        "reason",
        "remedy",
        "damages",
        "example",
        "examples",
        "must_say",
        "must_not_say",
        "within",
        "turn",
        "turns",
        "second",
        "seconds",
        "first_turn",
        "call_end",
        "unless",
        "until",
        "for",
        "on",
        "caller",
        "agent",
        "says",
        "say",
        "then",
        "require",
        "tier2",
        "detector",
        "excluding",
        "exempt",
        "and",
        "or",
        "not",
        "in",
        "not_in",
        "between",
        "if",
        "else",
        "true",
        "false",
        "null",
        "none",
        "keep_last",
        "any_of",
        "applies_to",
        "after",
        "field",
        "const",
        "call",
        "compare",
        "kind",
        "match",
        "check",
        "checks",
        "speaker",
        "steps",
        "id",
        "placeholder",
        "text",
        "always",
        *ir.SEVERITIES,
        *ir.SPEAKERS,
        *ir.DETECTORS,
        *ir.REMEDY_KINDS,
        *ir.TIER2_CHECKS,
        *ir.EXPR_FUNCTIONS,
    }
)

#: Valid RE2 sources used for inline regexes and named patterns.
SAFE_REGEXES: tuple[str, ...] = (
    r"\$ ?\d+|\d+ dollars",
    r"guarantee[ds]?",
    r"account number \d{4,}",
    r"(call|text) back",
    r"free (gift|trial|cruise)",
    r"\d+ percent off",
    r"ssn \d{4}",
    r"[a-z]+ insurance",
    r"risk.free",
    r"lowest (price|rate)s?",
)

#: Call metadata keys used for :class:`ir.Field` (besides ``state.NAME``).
METADATA_FIELDS: tuple[str, ...] = (
    "direction",
    "local_time",
    "callee_state",
    "answered_by",
    "recording_enabled",
    "calls_last_7_days",
    "last_conversation_at",
)

#: Variables for ``Detector.exempt``.
EXEMPT_VARIABLES: tuple[str, ...] = ("callback_numbers", "allowed_emails", "company_phones")

COMPARE_OPS: tuple[str, ...] = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in")

_SAFE_ALPHABET = st.characters(
    codec="utf-8",
    categories=("L", "N", "P", "S", "Zs"),
    exclude_characters='"\\\u2028\u2029\x85',
)


def safe_text(min_size: int = 1, max_size: int = 16) -> st.SearchStrategy[str]:
    """Printable text without ``"``, ``\\`` or line breaks, with at least one non-space character."""
    return st.text(_SAFE_ALPHABET, min_size=min_size, max_size=max_size).filter(lambda s: s.strip() != "")


def names() -> st.SearchStrategy[str]:
    """A name for a phrase set, pattern, state or variable: ``[a-z][a-z0-9_]{0,9}``, never reserved."""
    return st.from_regex(r"[a-z][a-z0-9_]{0,9}", fullmatch=True).filter(lambda s: s not in RESERVED)


def pack_ids() -> st.SearchStrategy[str]:
    """A pack id matching ``^[a-z0-9_]+$`` (never reserved)."""
    # a digit run followed by a keyword ("0or") lexes as a number then the keyword: the DSL cannot spell it
    return st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True).filter(
        lambda s: s not in RESERVED and s.lstrip("0123456789") not in RESERVED
    )


def rule_ids() -> st.SearchStrategy[str]:
    """A rule id such as ``tcpa-004`` or ``hipaa_phi``."""
    return st.one_of(
        st.from_regex(r"[a-z]{2,6}-[0-9]{3}", fullmatch=True),
        st.from_regex(r"[a-z][a-z0-9_]{1,10}", fullmatch=True),
    ).filter(lambda s: s not in RESERVED)


_WORD = st.from_regex(r"[a-z]{1,8}('[a-z]{1,2})?", fullmatch=True)


@st.composite
def phrase_texts(draw: st.DrawFn) -> str:
    """A phrase: one to four words; maybe a ``*`` gap between two words, maybe a ``{variable}``."""
    words = draw(st.lists(_WORD, min_size=1, max_size=3))
    if len(words) >= 2 and draw(st.booleans()):
        words.insert(draw(st.integers(1, len(words) - 1)), "*")
    if draw(st.integers(0, 4)) == 0:
        words.insert(
            draw(st.integers(0, len(words))), "{" + draw(st.sampled_from(("agent_name", "company"))) + "}"
        )
    return " ".join(words)


def phrase_lists(max_size: int = 3) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(phrase_texts(), min_size=1, max_size=max_size).map(tuple)


#: The default free-text strategy (one shared object, so that strategies built for it are cached).
SAFE_TEXT: st.SearchStrategy[str] = safe_text()


@dataclass(frozen=True)
class Ctx:
    """What a pack declares, for generating consistent references. Hashable: strategies are cached per Ctx.

    Fields:
        phrase_sets: (name, items) pairs.
        patterns: (name, RE2 source) pairs.
        states: declared state names.
        text: the strategy for free text.
    """

    phrase_sets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    patterns: tuple[tuple[str, str], ...] = ()
    states: tuple[str, ...] = ()
    text: st.SearchStrategy[str] = SAFE_TEXT


# --------------------------------------------------------------------------------------------- matchers


@functools.cache
def simple_matchers(ctx: Ctx) -> st.SearchStrategy[ir.Matcher]:
    """Any matcher but ``AnyOf``."""
    options: list[st.SearchStrategy[ir.Matcher]] = [
        phrase_lists().map(ir.Phrases),
        st.sampled_from(SAFE_REGEXES).map(ir.Regex),
        st.builds(ir.Detector, st.sampled_from(ir.DETECTORS), st.none() | st.sampled_from(EXEMPT_VARIABLES)),
    ]
    if ctx.phrase_sets:
        options.append(st.sampled_from([ir.Phrases(items, ref=n) for n, items in ctx.phrase_sets]))
    if ctx.patterns:
        options.append(st.sampled_from([ir.Regex(src, ref=n) for n, src in ctx.patterns]))
    return st.one_of(options)


@functools.cache
def matchers(ctx: Ctx) -> st.SearchStrategy[ir.Matcher]:
    """Any matcher, including ``AnyOf`` of two or three simple matchers."""
    simple = simple_matchers(ctx)
    return st.one_of(
        simple,
        simple,
        st.lists(simple, min_size=2, max_size=3).map(lambda ms: ir.AnyOf(tuple(ms))),
    )


# --------------------------------------------------------------------------------------------- windows, scopes


@functools.cache
def windows() -> st.SearchStrategy[ir.Window]:
    return st.one_of(
        st.just(ir.FirstTurn()),
        st.integers(1, 20).map(ir.Turns),
        st.integers(1, 600).map(ir.Seconds),
        st.integers(1, 60000).map(lambda k: ir.Seconds(k / 100)),
        st.just(ir.CallEnd()),
    )


@functools.cache
def scopes(ctx: Ctx, in_cue: bool) -> st.SearchStrategy[ir.Scope]:
    options: list[st.SearchStrategy[ir.Scope]] = [st.just(ir.Always())]
    if ctx.states:
        options.append(st.sampled_from(ctx.states).map(ir.UntilState))
    if in_cue:
        options.append(st.integers(1, 10).map(ir.ForTurns))
    return st.one_of(options)


# --------------------------------------------------------------------------------------------- expressions


@functools.cache
def consts(ctx: Ctx) -> st.SearchStrategy[ir.Const]:
    return st.one_of(
        ctx.text,
        st.integers(0, 100000),
        st.integers(0, 1000000).map(lambda k: k / 100),
        st.booleans(),
        st.lists(ctx.text, min_size=1, max_size=3).map(tuple),
        st.lists(st.integers(0, 1000), min_size=1, max_size=3).map(tuple),
        st.sampled_from(("09:00", "21:00", "outbound", "inbound", "FL", "human")),
    ).map(ir.Const)


@functools.cache
def fields(ctx: Ctx) -> st.SearchStrategy[ir.Field]:
    names_ = list(METADATA_FIELDS) + [f"state.{s}" for s in ctx.states]
    return st.sampled_from(names_).map(ir.Field)


@functools.cache
def exprs(ctx: Ctx, max_leaves: int = 5) -> st.SearchStrategy[ir.Expr]:
    """Any expression tree; calls have the right arity."""
    leaves = st.one_of(fields(ctx), consts(ctx))

    def extend(sub: st.SearchStrategy[ir.Expr]) -> st.SearchStrategy[ir.Expr]:
        call = st.sampled_from(sorted(ir.EXPR_FUNCTIONS)).flatmap(
            lambda f: st.lists(sub, min_size=ir.EXPR_FUNCTIONS[f], max_size=ir.EXPR_FUNCTIONS[f]).map(
                lambda args: ir.Call(f, tuple(args))
            )
        )
        return st.one_of(
            call,
            st.builds(ir.Compare, st.sampled_from(COMPARE_OPS), sub, sub),
            st.builds(ir.Between, sub, sub, sub),
            st.builds(
                ir.BoolOp, st.sampled_from(("and", "or")), st.lists(sub, min_size=2, max_size=3).map(tuple)
            ),
            st.builds(ir.Not, sub),
            st.builds(ir.IfElse, sub, sub, sub),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


# --------------------------------------------------------------------------------------------- checks


@functools.cache
def must_says(ctx: Ctx) -> st.SearchStrategy[ir.MustSay]:
    return st.builds(ir.MustSay, matchers(ctx), windows())


@functools.cache
def must_not_says(ctx: Ctx, in_cue: bool = False) -> st.SearchStrategy[ir.MustNotSay]:
    return st.builds(ir.MustNotSay, matchers(ctx), st.none() | matchers(ctx), scopes(ctx, in_cue))


@functools.cache
def steps(ctx: Ctx, speaker: str) -> st.SearchStrategy[ir.StateStep]:
    """A state step (or a cue's ``after``) with or without ``unless`` and ``and not``."""
    return st.builds(
        ir.StateStep, st.just(speaker), matchers(ctx), st.none() | matchers(ctx), st.none() | matchers(ctx)
    )


@functools.cache
def applies_tos(narrowing: ir.AppliesTo | None = None) -> st.SearchStrategy[ir.AppliesTo]:
    """An ``applies_to`` over the scopable call facts; with ``narrowing``, only values its conditions allow."""
    allowed = {c.fact: c.values for c in narrowing.conditions} if narrowing else {}

    def condition(fact: str) -> st.SearchStrategy[ir.FactValues]:
        values = allowed.get(fact, FACTS[fact].scope_values)
        return st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True).map(
            lambda vs: ir.FactValues(fact, tuple(vs))
        )

    facts = st.lists(st.sampled_from(scope_fact_names()), min_size=1, max_size=3, unique=True)
    return facts.flatmap(lambda fs: st.tuples(*(condition(f) for f in fs))).map(ir.AppliesTo)


@functools.cache
def checks(ctx: Ctx) -> st.SearchStrategy[ir.Check]:
    """Any check kind; ``OnCue`` holds one to three ``MustSay``/``MustNotSay`` (which may use ``ForTurns``)."""
    cue_body = st.lists(st.one_of(must_says(ctx), must_not_says(ctx, in_cue=True)), min_size=1, max_size=2)
    return st.one_of(
        must_says(ctx),
        must_not_says(ctx),
        st.builds(ir.OnCue, st.just("agent"), matchers(ctx), cue_body.map(tuple), st.none() | matchers(ctx)),
        st.builds(
            ir.OnCue,
            st.just("caller"),
            matchers(ctx),
            cue_body.map(tuple),
            st.none() | matchers(ctx),
            st.none() | steps(ctx, "agent"),
        ),
        st.builds(ir.Require, exprs(ctx, max_leaves=4)),
        st.sampled_from(ir.TIER2_CHECKS).map(ir.Tier2Ref),
    )


@functools.cache
def remedies(ctx: Ctx) -> st.SearchStrategy[ir.Remedy | None]:
    bare = st.sampled_from([k for k in ir.REMEDY_KINDS if k not in ("mask", "inject")]).map(ir.Remedy)
    return st.one_of(
        st.none(),
        bare,
        st.integers(0, 8).map(lambda n: ir.Remedy("mask", keep_last=n)),
        ctx.text.map(lambda t: ir.Remedy("mask", placeholder=t)),
        ctx.text.map(lambda t: ir.Remedy("inject", text=t)),
    )


@functools.cache
def damages(ctx: Ctx) -> st.SearchStrategy[ir.Damages | None]:
    def build(low: int, extra: int, per: str, citation: str, note: str | None) -> ir.Damages:
        return ir.Damages(low, min(ir.MAX_DAMAGES, low + extra), per, citation, note)

    return st.none() | st.builds(
        build,
        st.integers(0, ir.MAX_DAMAGES),
        st.integers(0, 5000),
        st.sampled_from(ir.DAMAGES_BASES),
        ctx.text.filter(bool),
        st.none() | ctx.text,
    )


@functools.cache
def rules(ctx: Ctx, rule_id: str = "rule-001") -> st.SearchStrategy[ir.Rule]:
    return st.builds(
        ir.Rule,
        id=st.just(rule_id),
        title=ctx.text,
        severity=st.sampled_from(ir.SEVERITIES),
        citation=ctx.text,
        reason=ctx.text,
        checks=st.lists(checks(ctx), min_size=1, max_size=2).map(tuple),
        when=st.none() | exprs(ctx, max_leaves=3),
        remedy=remedies(ctx),
        examples=st.lists(ctx.text, max_size=2).map(tuple),
        damages=damages(ctx),
    )


# --------------------------------------------------------------------------------------------- pack


_PS, _PT, _ST = "_ps", "_pt", "_st"  # placeholder prefixes (names() never starts with "_")


def _placeholder_ctx(n_sets: int, n_patterns: int, n_states: int, text: st.SearchStrategy[str]) -> Ctx:
    return Ctx(
        tuple((f"{_PS}{i}", ("_",)) for i in range(n_sets)),
        tuple((f"{_PT}{i}", "_") for i in range(n_patterns)),
        tuple(f"{_ST}{i}" for i in range(n_states)),
        text,
    )


def _resolve(x, sets: dict, patterns: dict, states: dict):
    """Replace placeholder references in an IR tree by the real names (and phrase items / regex sources)."""
    if isinstance(x, ir.Phrases) and x.ref is not None and x.ref in sets:
        name, items = sets[x.ref]
        return ir.Phrases(items, ref=name)
    if isinstance(x, ir.Regex) and x.ref is not None and x.ref in patterns:
        name, src = patterns[x.ref]
        return ir.Regex(src, ref=name)
    if isinstance(x, ir.UntilState):
        return ir.UntilState(states.get(x.state, x.state))
    if isinstance(x, ir.Field) and x.name.startswith("state."):
        return ir.Field("state." + states.get(x.name[6:], x.name[6:]))
    if isinstance(x, ir.Const):
        return x
    if isinstance(x, tuple):
        return tuple(_resolve(y, sets, patterns, states) for y in x)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return type(x)(
            **{f.name: _resolve(getattr(x, f.name), sets, patterns, states) for f in dataclasses.fields(x)}
        )
    return x


@st.composite
def packs(draw: st.DrawFn, text: st.SearchStrategy[str] | None = None, max_rules: int = 2) -> ir.Pack:
    """A valid random pack (see the module docstring for what valid means).

    Args:
        text: the strategy for free text; defaults to :data:`SAFE_TEXT`. Pass one shared object (not a new
            strategy per call) to keep generation fast.
        max_rules: at most this many rules (at least one).
    """
    text = text if text is not None else SAFE_TEXT
    n_sets = draw(st.integers(0, 2))
    n_patterns = draw(st.integers(0, 2))
    n_states = draw(st.integers(0, 2))
    total = n_sets + n_patterns + n_states
    all_names = draw(st.lists(names(), min_size=total, max_size=total, unique=True))
    set_names = all_names[:n_sets]
    pattern_names = all_names[n_sets : n_sets + n_patterns]
    state_names = all_names[n_sets + n_patterns :]
    phrase_sets = [(n, draw(phrase_lists())) for n in set_names]
    patterns = [(n, draw(st.sampled_from(SAFE_REGEXES))) for n in pattern_names]
    sets_map = {f"{_PS}{i}": ps for i, ps in enumerate(phrase_sets)}
    patterns_map = {f"{_PT}{i}": pt for i, pt in enumerate(patterns)}
    states_map = {f"{_ST}{i}": n for i, n in enumerate(state_names)}

    # Strategies are built for placeholder names (so they are cached across examples), then resolved.
    ctx = _placeholder_ctx(n_sets, n_patterns, n_states, text)
    step_ctx = _placeholder_ctx(n_sets, n_patterns, 0, text)
    states = []
    for n in state_names:
        if draw(st.booleans()):
            state_steps = (draw(steps(step_ctx, draw(st.sampled_from(ir.SPEAKERS)))),)
        else:
            state_steps = (draw(steps(step_ctx, "agent")), draw(steps(step_ctx, "caller")))
        states.append(ir.State(n, state_steps))
    ids = draw(st.lists(rule_ids(), min_size=1, max_size=max_rules, unique=True))
    rule_strategy = rules(ctx)
    pack_scope = draw(st.none() | applies_tos())
    rule_scopes = st.none() | applies_tos(pack_scope)
    pack = ir.Pack(
        pack_id=draw(pack_ids()),
        version=draw(text),
        jurisdiction=draw(text),
        legal_status=draw(text),
        rules=tuple(replace(draw(rule_strategy), id=rid, applies_to=draw(rule_scopes)) for rid in ids),
        description=draw(st.none() | text),
        when=draw(st.none() | exprs(ctx, max_leaves=3)),
        phrase_sets=tuple(phrase_sets),
        patterns=tuple(patterns),
        states=tuple(states),
        applies_to=pack_scope,
    )
    return _resolve(pack, sets_map, patterns_map, states_map)
