"""The compiled form of a pack set: flat rule and check tables the gate indexes by integer.

Everything here is plain data built once per config etag; a call keeps only small per-call state
(:mod:`reference_gate.gate.session`) that points into these tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference_gate.compile.expr import Evaluator, compile_expr
from reference_gate.compile.matchers import CompiledMatchers

#: How far each remedy wants to go; the mode caps it (see :data:`MODE_CAP`).
REMEDY_RANK: dict[str, int] = {"flag": 0, "mask": 1, "redact": 1, "inject": 1, "block": 2, "handoff": 3}
MODE_CAP: dict[str, int] = {"warn": 0, "modify": 1, "block": 2, "human_handoff": 3}

# window kinds
FIRST_TURN, TURNS, SECONDS, CALL_END = "first_turn", "turns", "seconds", "call_end"
# scope kinds
ALWAYS, UNTIL_STATE, FOR_TURNS = "always", "until", "for_turns"


@dataclass(slots=True)
class RuleInfo:
    """A rule's identity and explanation, shared by every finding it produces."""

    index: int
    rule_id: str
    pack_id: str
    pack_version: str
    title: str
    severity: str
    citation: str
    reason: str
    remedy_kind: str
    keep_last: int | None
    placeholder: str | None
    inject_text: str | None
    when: Evaluator | None
    when_source: object | None
    examples: tuple[str, ...]
    tier2: tuple[str, ...] = ()
    check_count: int = 0
    #: where the rule applies: ``(fact, allowed values, from the pack's applies_to)``, the pack's conditions first;
    #: decided once per call (and again when its facts change), never per turn
    scope: tuple[tuple[str, tuple[object, ...], bool], ...] = ()

    # closures do not pickle: a pickled program (sent to another process) carries the expression IR instead
    def __getstate__(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__ if name != "when"}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self.when = compile_expr(self.when_source) if self.when_source is not None else None


@dataclass(slots=True)
class MustSayProgram:
    """Open an obligation; met when ``matcher`` hits in an agent turn before the window closes."""

    index: int
    rule: int
    matcher: int
    window: str
    amount: float  # turns or seconds; 1 for first_turn
    in_cue: bool


@dataclass(slots=True)
class MustNotSayProgram:
    """A prohibition on ``matcher`` in agent turns while the scope holds."""

    index: int
    rule: int
    matcher: int
    unless: int | None
    scope: str
    state: str | None
    turns: int
    in_cue: bool


#: A compiled step: ``(speaker, matcher, unless matcher | None, and-not matcher | None)``.
StepProgram = tuple[str, int, int | None, int | None]


@dataclass(slots=True)
class CueProgram:
    """When ``speaker`` says ``matcher``, open instances of ``then`` checks.

    ``and_not``: a turn that also hits this matcher gives no cue. ``after``: an agent step; a caller cue counts only
    in the caller turns answering an agent turn that hit it (until the agent speaks again).
    """

    index: int
    rule: int
    speaker: str
    matcher: int
    then: tuple[int, ...]  # indexes into CompiledPackSet.checks
    and_not: int | None = None
    after: StepProgram | None = None


@dataclass(slots=True)
class RequireProgram:
    """A metadata predicate evaluated once at call start."""

    index: int
    rule: int
    expr: Evaluator
    source: object

    def __getstate__(self) -> dict:
        return {"index": self.index, "rule": self.rule, "source": self.source}

    def __setstate__(self, state: dict) -> None:
        self.index, self.rule, self.source = state["index"], state["rule"], state["source"]
        self.expr = compile_expr(self.source)


@dataclass(slots=True)
class StateProgram:
    """A named state: one step, or an agent step (a question) and a caller step answering it."""

    name: str
    steps: tuple[StepProgram, ...]


CheckProgram = MustSayProgram | MustNotSayProgram | CueProgram | RequireProgram


@dataclass(slots=True)
class CompiledPackSet:
    """What :func:`reference_gate.compile.compile_packs` returns and ``trace build`` writes.

    Fields:
        etag: sha256 over the canonical packs, the guardrail config and the engine version.
        engine_version: the engine that compiled it.
        packs: ``(pack_id, version)`` in enforcement order.
        rules, checks, states: the flat tables.
        matchers: the automaton, regexes and detectors.
        top_must_say: checks opened at call start.
        must_not_by_matcher: matcher id -> always-on prohibition checks (the hot-path index).
        cues_by_speaker: "agent"/"caller" -> cue checks.
        requires: metadata checks.
        state_steps_by_matcher: matcher id -> [(state index, step index)].
        two_step_states: states that are a question and its answer.
        after_cues: caller cues with ``after`` (they answer a question).
        scoped_rules: rules with an ``applies_to`` (theirs or their pack's).
        redact_kinds: detector kinds whose hits are redacted from stored caller text.
        hold_back_tokens: streaming hold-back in normalized tokens.
        ir_packs: the IR packs it was compiled from (what ``trace build`` writes).
    """

    etag: str
    engine_version: str
    packs: tuple[tuple[str, str], ...]
    rules: list[RuleInfo]
    checks: list[CheckProgram]
    states: list[StateProgram]
    matchers: CompiledMatchers
    top_must_say: tuple[int, ...] = ()
    must_not_by_matcher: dict[int, tuple[int, ...]] = field(default_factory=dict)
    cues_by_speaker: dict[str, tuple[int, ...]] = field(default_factory=dict)
    requires: tuple[int, ...] = ()
    state_steps_by_matcher: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    two_step_states: tuple[int, ...] = ()
    after_cues: tuple[int, ...] = ()
    scoped_rules: tuple[int, ...] = ()
    redact_kinds: frozenset[str] = frozenset()
    hold_back_tokens: int = 8
    ir_packs: tuple = ()
    #: the config part of the etag (``extra_etag_input``): artifacts carry it so a load recomputes the same etag
    etag_input: object = None

    def packs_enforced(self) -> list[str]:
        return [f"{pack_id}@{version}" for pack_id, version in self.packs]
