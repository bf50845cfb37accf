"""The intermediate representation shared by both pack forms.

``.trace`` source is parsed to an AST (:mod:`trace_engine.dsl.ast`) and lowered here; the JSON form
(``schemas/rule_pack_schema.json``) maps onto these classes one to one through :func:`pack_to_dict` and
:func:`pack_from_dict`. The compiler (:mod:`trace_engine.compile`) consumes only this module.

Every node is a frozen, slotted dataclass: hashable, comparable, and cheap. Collections are tuples so that
two packs that mean the same thing compare equal, which is what the round-trip property tests rely on.

Vocabulary
----------
matcher     what a check looks for in a turn: phrases, a regex, a built-in PII detector, or a union.
window      how long a ``must_say`` obligation stays open.
scope       how long a ``must_not_say`` prohibition stays in force.
check       one obligation, prohibition, cue, metadata requirement or Tier-2 reference inside a rule.
state       a named fact about the call that earlier turns establish ("verified", "purpose_stated").
applies_to  where a pack (or a rule, narrowing its pack) applies: call facts and their allowed values
            (:mod:`trace_engine.facts` defines the facts).
exchange    an agent turn that asks something and the caller turns that answer it, until the agent speaks again
            (the second step of a two-step state, and ``after`` on a caller cue).
expr        a metadata predicate, evaluated with Kleene three-valued logic: a missing input is UNKNOWN,
            and a rule whose predicate is UNKNOWN is reported as not evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from trace_engine.text.detectors import DETECTORS as _DETECTOR_REGISTRY

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
SPEAKERS: tuple[str, ...] = ("agent", "caller")
#: the built-in detectors, from their one definition (the native core's registry, :mod:`trace_engine.text.detectors`)
DETECTORS: tuple[str, ...] = tuple(_DETECTOR_REGISTRY)
REMEDY_KINDS: tuple[str, ...] = ("flag", "mask", "redact", "inject", "block", "handoff")
#: what a :class:`Damages` figure is counted per: each call in which the rule fired, or each finding
DAMAGES_BASES: tuple[str, ...] = ("call", "violation")
#: the largest damages amount a pack may state (whole US dollars): far above any statute, far below float trouble
MAX_DAMAGES = 1_000_000_000
TIER2_CHECKS: tuple[str, ...] = (
    "ambiguous_optout",
    "context_pii",
    "hallucination",
    "minimum_necessary",
    "brand_tone",
)
#: Fields that :class:`Expr` functions understand; packs may read any other metadata key too.
EXPR_FUNCTIONS: dict[str, int] = {
    "has": 1,  # has(field) -> bool, never UNKNOWN
    "default": 2,  # default(field, value) -> the field, or value when missing
    "time_of_day": 1,  # time_of_day(local_time) -> "HH:MM" of an ISO 8601 timestamp
    "days_between": 2,  # days_between(earlier, later) -> float days
    "lower": 1,
}

Severity = Literal["low", "medium", "high", "critical"]
Speaker = Literal["agent", "caller"]


# --------------------------------------------------------------------------------------------- matchers


@dataclass(frozen=True, slots=True)
class Phrases:
    """Literal phrases, matched on word boundaries over the normalized view of a turn.

    Fields:
        items: the phrases as written by the author. They may contain ``{variable}`` placeholders
            (resolved per call from metadata, then config variables) and ``*`` gaps (one to three
            arbitrary words).
        ref: the phrase set name when the author referenced a named set; ``None`` for an inline list.
            Lowering keeps the name so that fmt and convert can write the reference back.
    """

    items: tuple[str, ...]
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Regex:
    """A regular expression in RE2 syntax, run over the normalized view (lower case, digits as digits).

    Fields:
        source: the expression without delimiters.
        ref: the pattern name when referenced by name; ``None`` for an inline ``/.../``.
    """

    source: str
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Detector:
    """A built-in PII detector with its validator (Luhn, SSN rules, NANP, MBI format, ABA checksum).

    Fields:
        kind: one of :data:`DETECTORS`.
        exempt: a variable naming a list of values that do not count (``callback_numbers``), or ``None``.
    """

    kind: str
    exempt: str | None = None


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Matches where any member matches. Fields: members (two or more matchers, never nested AnyOf)."""

    members: tuple[Matcher, ...]


Matcher = Phrases | Regex | Detector | AnyOf


# --------------------------------------------------------------------------------------------- windows


@dataclass(frozen=True, slots=True)
class FirstTurn:
    """The obligation must be met in the first agent turn of the call (or of the cue's window)."""


@dataclass(frozen=True, slots=True)
class Turns:
    """Within ``count`` agent turns (inclusive). For an agent cue the cue turn is the first of them."""

    count: int


@dataclass(frozen=True, slots=True)
class Seconds:
    """Within ``seconds`` of call start (or of the cue), measured on the turn's ``t``."""

    seconds: float


@dataclass(frozen=True, slots=True)
class CallEnd:
    """Any time before the call ends."""


Window = FirstTurn | Turns | Seconds | CallEnd


# --------------------------------------------------------------------------------------------- scopes


@dataclass(frozen=True, slots=True)
class Always:
    """For the whole call; inside a cue, from the cue to the end of the call."""


@dataclass(frozen=True, slots=True)
class UntilState:
    """Until the named state is set. ``must_not_say phi until verified`` is an ordering rule."""

    state: str


@dataclass(frozen=True, slots=True)
class ForTurns:
    """For ``count`` agent turns after the cue (inclusive of the cue turn for agent cues)."""

    count: int


Scope = Always | UntilState | ForTurns


# --------------------------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Field:
    """A call metadata key (``local_time``, ``callee_state``...) or a state name (``state.verified``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Const:
    """A literal: str, int, float, bool, or a list of those. Times of day are strings ``"HH:MM"``."""

    value: Any


@dataclass(frozen=True, slots=True)
class Call:
    """A function from :data:`EXPR_FUNCTIONS` applied to ``args``."""

    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right`` where op is one of ``== != < <= > >= in not_in``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Between:
    """``value between low and high``: inclusive low, exclusive high; for times of day ``"HH:MM"``."""

    value: Expr
    low: Expr
    high: Expr


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``and`` / ``or`` over two or more operands (Kleene logic)."""

    op: Literal["and", "or"]
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Negation (Kleene logic: not UNKNOWN is UNKNOWN)."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class IfElse:
    """``if cond then a else b``; an UNKNOWN condition makes the whole expression UNKNOWN."""

    cond: Expr
    then: Expr
    otherwise: Expr


Expr = Field | Const | Call | Compare | Between | BoolOp | Not | IfElse


# --------------------------------------------------------------------------------------------- applicability


@dataclass(frozen=True, slots=True)
class FactValues:
    """One condition of an :class:`AppliesTo`: the call fact ``fact`` has one of ``values``.

    Fields:
        fact: a call fact that scopes may name (:func:`trace_engine.facts.scope_fact_names`).
        values: the allowed values, in the order written (strings for enum facts, booleans for boolean facts).
    """

    fact: str
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class AppliesTo:
    """Where a pack or a rule applies. A call whose fact has another value is outside the scope: the rules produce
    no findings and the scorecard lists them as not applicable, with the reason. A call without the fact is not
    evaluated (the fact is named). A rule's ``applies_to`` narrows its pack's: both must hold.

    Fields:
        conditions: one per fact, all required (and); the values of one fact are alternatives (or).
    """

    conditions: tuple[FactValues, ...]


# --------------------------------------------------------------------------------------------- checks


@dataclass(frozen=True, slots=True)
class MustSay:
    """The agent must say something matching ``matcher`` within ``window``.

    Fields:
        matcher: what counts as saying it.
        window: when the obligation expires; a violation is recorded on the turn that closes it.
    """

    matcher: Matcher
    window: Window


@dataclass(frozen=True, slots=True)
class MustNotSay:
    """The agent must not say something matching ``matcher`` while ``scope`` is in force.

    Fields:
        matcher: what is forbidden.
        unless: an exception; a hit overlapped by an ``unless`` match does not count
            ("guarantee" unless "can't guarantee").
        scope: how long the prohibition holds.
    """

    matcher: Matcher
    unless: Matcher | None = None
    scope: Scope = field(default_factory=Always)


@dataclass(frozen=True, slots=True)
class OnCue:
    """When ``speaker`` says ``cue``, the obligations and prohibitions in ``then`` open.

    Fields:
        speaker: who gives the cue; caller cues open obligations on the following agent turns, agent
            cues on the cue turn itself and after it.
        cue: what opens them.
        then: one or more :class:`MustSay` / :class:`MustNotSay` checks, windows relative to the cue.
        and_not: a turn that also says this (anywhere) gives no cue (``on caller denial and not
            identity_confirmation``); ``None`` for none.
        after: for a caller cue, what the agent's previous turn must have said (an agent :class:`StateStep`):
            the cue counts only in the caller turns answering that agent turn, until the agent speaks again
            (``on caller denial after agent says identity_question``); ``None`` for any time.
    """

    speaker: Speaker
    cue: Matcher
    then: tuple[MustSay | MustNotSay, ...]
    and_not: Matcher | None = None
    after: StateStep | None = None


@dataclass(frozen=True, slots=True)
class Require:
    """A metadata predicate checked at call start: FALSE is a violation, UNKNOWN is not evaluated."""

    expr: Expr


@dataclass(frozen=True, slots=True)
class Tier2Ref:
    """The rule is judged by the named Tier-2 check (asynchronous, advisory). Field: check_id."""

    check_id: str


Check = MustSay | MustNotSay | OnCue | Require | Tier2Ref


# --------------------------------------------------------------------------------------------- remedies


@dataclass(frozen=True, slots=True)
class Remedy:
    """What the rule wants done when it fires; the configured mode caps it.

    Fields:
        kind: one of :data:`REMEDY_KINDS`.
            ``flag`` record only; ``mask`` replace the matched span (``keep_last`` characters kept, or
            ``placeholder``); ``redact`` remove the span; ``inject`` add ``text`` to the turn (prefix for
            a first-turn obligation, suffix otherwise); ``block`` suppress the turn; ``handoff`` suppress
            and ask for a person.
        keep_last: for ``mask``: how many trailing digits stay visible.
        placeholder: for ``mask``: the replacement text, e.g. ``"[email]"``.
        text: for ``inject``: the text, may contain ``{variables}``.
    """

    kind: str
    keep_last: int | None = None
    placeholder: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Damages:
    """The statutory damages a violation of the rule may carry, for an exposure *estimate* (never legal advice):
    what a statute lets a person recover, not what any court would award.

    Fields:
        low, high: whole US dollars, ``0 <= low <= high`` (``high`` the willful/knowing figure where the statute
            trebles: TCPA ``500`` to ``1500``).
        per: ``call`` (one recovery per call, however many rules citing the same provision fired in it: the TCPA
            counts calls, the FDCPA actions) or ``violation`` (each finding counts).
        citation: the provision that gives the figure (``47 U.S.C. § 227(c)(5)``); rules whose damages cite the
            same provision with the same figure and ``per call`` make one claim per call.
        note: the conditions in words (``trebled if willful or knowing``), or ``None``.
    """

    low: int
    high: int
    per: str
    citation: str
    note: str | None = None


# --------------------------------------------------------------------------------------------- pack


@dataclass(frozen=True, slots=True)
class StateStep:
    """One step of a state definition (also the ``after`` of a caller cue): ``speaker`` says ``matcher``.

    Fields:
        speaker: ``agent`` or ``caller``.
        matcher: what the turn must say.
        unless: an exception, as in ``must_not_say``: a hit of ``matcher`` overlapped by a hit of ``unless`` does not
            count ("is this *" unless "is this a good time"); ``None`` for none.
        and_not: the turn must not also say this, anywhere: a caller turn that affirms *and* asks back ("yes, who's
            asking?") is no answer, and it ends the exchange; ``None`` for none.
    """

    speaker: Speaker
    matcher: Matcher
    unless: Matcher | None = None
    and_not: Matcher | None = None


@dataclass(frozen=True, slots=True)
class State:
    """A named fact that turns establish.

    Fields:
        name: referenced by ``until NAME`` scopes and by expressions as ``state.NAME``.
        steps: one step (``agent says X``) or two (``agent says X then caller says Y``: a question and its answer.
            Y must come in a caller turn answering the agent turn that said X, before the agent speaks again; a
            caller turn that hits the second step's ``and_not`` ends the exchange unanswered).
    """

    name: str
    steps: tuple[StateStep, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of a pack.

    Fields:
        id: stable id, referenced by configs, tests, scorecards (``tcpa-001``).
        title: short human title.
        severity: one of :data:`SEVERITIES`.
        citation: the regulation or policy it enforces.
        reason: plain-English explanation shown with every finding.
        checks: what the rule checks; all must hold.
        when: applicability predicate over call facts and states; ``None`` means always.
        remedy: what to do on a violation; ``None`` means ``flag``.
        examples: illustrative violating agent lines, used in generated docs.
        applies_to: where the rule applies, narrowing its pack's ``applies_to``; ``None`` means wherever the pack
            applies.
        damages: the statutory damages a violation may carry (:class:`Damages`), or ``None`` when the pack
            states none.
    """

    id: str
    title: str
    severity: str
    citation: str
    reason: str
    checks: tuple[Check, ...]
    when: Expr | None = None
    remedy: Remedy | None = None
    examples: tuple[str, ...] = ()
    applies_to: AppliesTo | None = None
    damages: Damages | None = None


@dataclass(frozen=True, slots=True)
class Pack:
    """A rule pack: header, named phrase sets and patterns, states, and rules.

    Fields:
        pack_id: matches ``^[a-z0-9_]+$``.
        version, jurisdiction, legal_status: header strings (``legal_status`` records provenance).
        description: optional one-paragraph summary.
        when: pack-wide applicability predicate over call facts and states.
        phrase_sets: name -> phrases, in source order.
        patterns: name -> RE2 source, in source order.
        states: state definitions, in source order.
        rules: the rules, in source order (never empty).
        applies_to: where the pack applies (``direction: outbound``); ``None`` means every call.
    """

    pack_id: str
    version: str
    jurisdiction: str
    legal_status: str
    rules: tuple[Rule, ...]
    description: str | None = None
    when: Expr | None = None
    phrase_sets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    patterns: tuple[tuple[str, str], ...] = ()
    states: tuple[State, ...] = ()
    applies_to: AppliesTo | None = None
