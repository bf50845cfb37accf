"""A call: the small per-call state the gate keeps, and the turn evaluation.

Each agent turn is handled in three steps so that streaming can reuse the first two without side effects:

1. ``_evaluate(text, t)`` scans the turn and works out, against the current state, which rules fire, which
   obligations are met, which states and cues the turn sets — without changing anything;
2. ``_decide(outcome)`` applies the mode: mask, redact, inject, suppress;
3. ``_commit(outcome, decision)`` records findings and advances the state.

Windows count agent turns from 1. Timings ``t`` are seconds since call start and optional.

Two kinds of bad input, two contracts. *Content* (any text at all, however hostile) never raises: the gate decides,
and on an internal error fails open. *Programming errors* at the API boundary raise at once with a message that says
what to do: a ``text`` that is not a ``str`` (``None``, a number, ``bytes`` that would go out unmasked), a ``t`` that
is not a finite number, a turn after :meth:`Call.end` (:class:`CallEndedError`). The checks are a few type tests at
the top of each entry point; the hot path does not pay for more.

Call facts (:mod:`reference_gate.facts`) are resolved when the call starts and again on :meth:`Call.update_facts`;
that is also when each rule's scope (``applies_to``) is decided, so the turn loop only looks a rule up in a dict.

Questions and answers: an agent turn that hits the first step of a two-step state (or the ``after`` of a caller
cue) opens an *exchange*; the caller turns that follow answer it until the agent speaks again. A caller turn that
hits the answer step sets the state; one that hits the step's ``and not`` ends the exchange unanswered.
"""

from __future__ import annotations

import math
import re
import time
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from reference_gate.compile.expr import missing_inputs, truth
from reference_gate.compile.prefilter import token_alternatives
from reference_gate.compile.program import (
    FIRST_TURN,
    FOR_TURNS,
    MODE_CAP,
    REMEDY_RANK,
    SECONDS,
    TURNS,
    UNTIL_STATE,
    CompiledPackSet,
    CueProgram,
    MustNotSayProgram,
    MustSayProgram,
    RuleInfo,
    StepProgram,
)
from reference_gate.facts import FACTS, ResolvedFacts, resolve_facts, scope_fact_names
from reference_gate.gate.decision import Decision, TurnFinding
from reference_gate.text import detect_all, normalize, normalize_phrase

if TYPE_CHECKING:
    from reference_gate.gate.engine import Engine

INF = math.inf
#: Speaking rate used to estimate when a turn ends (the corpora's 150 words a minute) and the usual gap before
#: the agent's next turn; together they decide whether a seconds deadline "falls on" the current turn.
WORDS_PER_SECOND = 2.5
NEXT_TURN_GAP_S = 3.0
_VAR = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
#: what is stored for a turn the gate could not look at and could not redact either
WITHHELD = "[withheld: the gate could not check this turn]"
#: turns that are kept on the timeline but never scored (not speech)
UNSCORED_ROLES = frozenset({"system", "tool"})

#: A rule's scope status when it is off: outside the scope, or a fact it needs is missing.
NOT_APPLICABLE, MISSING_FACT = "not_applicable", "missing"
#: The facts a scope may name: a call's scope depends on these alone.
_SCOPE_FACTS: tuple[str, ...] = scope_fact_names()
#: Words dropped from the edges of a variable's value: "The Lakeside Roofing Co." is said "lakeside roofing".
_LEADING_ARTICLES = frozenset({"the", "a", "an"})
_TRAILING_SUFFIXES = frozenset({"inc", "llc", "ltd", "corp", "co", "pllc", "llp", "lp"})


class OverBudget(Exception):
    """The turn ran past ``inline_timeout_ms`` between two stages. ``pii_spans``: detector hits already found."""

    def __init__(self, pii_spans: list[tuple[int, int, str]] | None = None) -> None:
        super().__init__("inline_timeout_ms exceeded")
        self.pii_spans = pii_spans


class CallEndedError(RuntimeError):
    """A turn, stream or ``end()`` on a call that has already ended."""


def _describe(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _check_text(text: Any, where: str) -> None:
    """Raise ``TypeError`` unless ``text`` is a ``str`` (a subclass is fine)."""
    if isinstance(text, str):
        return
    hint = " (decode it first: text.decode('utf-8'))" if isinstance(text, bytes | bytearray | memoryview) else ""
    raise TypeError(f"{where}: text must be a str, not {_describe(text)}{hint}")


def _check_time(t: Any, where: str) -> None:
    """Raise unless ``t`` is ``None`` or a finite real number of seconds (``bool`` is not a number here)."""
    if t is None:
        return
    if isinstance(t, bool) or not isinstance(t, int | float) and not hasattr(t, "__float__"):
        raise TypeError(f"{where}: t must be seconds since call start (a number) or None, not {_describe(t)}")
    try:
        value = float(t)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: t must be seconds since call start (a number) or None, not {_describe(t)}") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: t must be a finite number of seconds, not {value}")


def _plain_time(t: Any) -> bool:
    """The fast path of the boundary check: ``None``, an ``int`` or a finite ``float``."""
    cls = t.__class__
    return t is None or cls is int or (cls is float and t - t == 0.0)


@dataclass(slots=True)
class Obligation:
    """An open ``must_say``: met by a hit in an agent turn from ``start_turn`` until the window closes."""

    check: MustSayProgram
    start_turn: int
    deadline_turn: float
    deadline_t: float
    prefix: bool  # a first-turn obligation is injected before the turn's text, others after it
    turns_seen: int = 0


@dataclass(slots=True)
class Prohibition:
    """A ``must_not_say`` opened by a cue, in force from ``start_turn`` through ``end_turn``."""

    check: MustNotSayProgram
    start_turn: int
    end_turn: float


@dataclass(slots=True)
class Violation:
    """A rule that fires on this turn, before the mode decides what happens to it."""

    rule: RuleInfo
    span: tuple[int, int] | None
    kind: str | None
    obligation: Obligation | None = None
    effective: int = 0  # REMEDY_RANK capped by the mode
    action_taken: str = "flag"
    remediated: bool = False


@dataclass(slots=True)
class TurnOutcome:
    """Everything one agent turn would do, computed without side effects."""

    text: str
    t: float | None
    turn: int
    violations: list[Violation] = field(default_factory=list)
    met: list[Obligation] = field(default_factory=list)
    closed: list[Obligation] = field(default_factory=list)
    opened: list[Obligation] = field(default_factory=list)
    opened_prohibitions: list[Prohibition] = field(default_factory=list)
    states_set: list[str] = field(default_factory=list)
    pending_set: list[int] = field(default_factory=list)  # two-step states whose question this turn asks
    asked_cues: list[int] = field(default_factory=list)  # caller cues whose ``after`` this turn says
    satisfied_rules: list[int] = field(default_factory=list)
    pii_spans: list[tuple[int, int, str, int]] = field(default_factory=list)  # start, end, kind, rule index
    unresolved_prefix: bool = False  # a first-turn obligation is still open within this turn
    injected: tuple[str, ...] = ()  # text the mode added to the turn (it is spoken, so it meets obligations)
    seen_spans: set[tuple[int, int, int]] = field(default_factory=set)  # (rule, start, end) already reported


@dataclass(slots=True)
class TurnPlan:
    """The rewrite a mode makes of one turn: span edits, injected prefixes and suffixes, or suppression."""

    edits: list[tuple[int, int, str]] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    suffixes: list[str] = field(default_factory=list)
    suppress: int = 0  # 0 no, 2 block, 3 handoff

    def render(self, text: str, upto: int | None = None) -> str:
        """The spoken text; with ``upto``, only what ``text[:upto]`` becomes (for streaming), without suffixes."""
        if upto is None:
            body = apply_edits(text, self.edits)
        else:
            body = apply_edits(text[:upto], [e for e in self.edits if e[1] <= upto])
        if self.prefixes:
            body = " ".join((*self.prefixes, body)) if body.strip() else " ".join(self.prefixes)
        if self.suffixes and upto is None:
            body = " ".join((body.rstrip(), *self.suffixes)) if body.strip() else " ".join(self.suffixes)
        return body


class Call:
    """One call through the gate. Create with :meth:`Engine.start_call`; finish with :meth:`end`."""

    def __init__(
        self,
        engine: Engine,
        call_id: str,
        *,
        agent_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tenant: str = "default",
        product: str | None = None,
    ) -> None:
        self.engine = engine
        self.program: CompiledPackSet = engine.program
        self.call_id = call_id
        self.agent_id = agent_id
        self.tenant = tenant
        self.product = product
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.started_at_ms = int(time.time() * 1000)
        self.mode_cap = MODE_CAP[engine.config.guardrails.mode]
        self.agent_turns = 0
        self.seq = 0
        self.last_t: float | None = None
        self.states: dict[str, bool] = {}
        #: open exchanges: two-step state index -> caller turns seen since the agent asked
        self.pending: dict[int, int] = {}
        #: open exchanges of caller cues with ``after``: cue check index -> caller turns seen since the agent asked
        self.after_open: dict[int, int] = {}
        self.obligations: list[Obligation] = []
        self.prohibitions: list[Prohibition] = []
        self.ended = False
        # evidence
        self.findings: list[dict[str, Any]] = []
        self._recorded: set[tuple[int, int]] = set()
        self.rule_fired: set[int] = set()
        self.rule_satisfied: dict[int, tuple[float | None, int | None]] = {}
        #: rule index -> why it was not evaluated: a reason string, or the expression that came out UNKNOWN
        self.rule_unknown: dict[int, Any] = {}
        self.rule_evaluated: set[int] = set()
        self.redactions: list[dict[str, Any]] = []
        self.timeline: list[dict[str, Any]] = []
        self.latencies_ns: list[int] = []
        self.timeouts = 0
        self.errors = 0
        self.fail_open_events = 0
        self.blocked_turns = 0
        self.modified_turns = 0
        #: advisory instructions for the next agent turn (Tier-2 ``preempt_next``); appended from other threads
        self.preempt: list[str] = []
        #: perf_counter_ns deadline of the agent turn being checked (0: none); stages check it in between
        self._deadline_ns = 0
        #: an agent turn that ran out of time before it was evaluated: (text, t, detector spans found)
        self._late: tuple[str, float | None, list[tuple[int, int, str]] | None] | None = None
        self._observers = tuple(engine.observers)
        #: facts given by :meth:`update_facts` (they override the metadata)
        self._updates: dict[str, Any] = {}
        #: each :meth:`update_facts`: ``{"seq", "t", "facts"}`` (what was given, as shown on the timeline)
        self.fact_changes: list[dict[str, Any]] = []
        #: rule index -> (NOT_APPLICABLE | MISSING_FACT, reason, decided by the pack's scope)
        self.scope_off: dict[int, tuple[str, str, bool]] = {}
        #: require checks not decided yet (a fact was missing, or the rule was out of scope)
        self.require_pending: list[int] = []
        self._resolve_facts()
        self._resolve_variables()
        self._decide_scope()
        self._start()

    # ----------------------------------------------------------------------------------------- setup

    def _resolve_facts(self) -> None:
        """Facts from the updates, the metadata, then the config's per-agent and org ``call_defaults``."""
        defaults = self.engine.config.call_defaults
        by_agent = defaults.get("by_agent") or {}
        self.fact_info: ResolvedFacts = resolve_facts(
            (
                ("update_facts", self._updates),
                ("metadata", self.metadata),
                ("call_defaults.by_agent", by_agent.get(self.agent_id) if self.agent_id else None),
                ("call_defaults", defaults),
            )
        )
        #: what expressions, scopes and variables read: the usable facts, normalized
        self.facts: dict[str, Any] = self.fact_info.values

    def _decide_scope(self) -> None:
        """Which rules are outside their scope, or cannot tell (a fact is missing). Once per call and per update,
        and cached on the engine by the values of the facts scopes name (calls of one agent share them)."""
        facts = self.facts
        problems = self.fact_info.problems
        key = tuple((facts.get(name), problems.get(name)) for name in _SCOPE_FACTS)
        cached = self.engine.scope_cache.get(key)
        if cached is not None:
            self.scope_off = cached
            return
        rules = self.program.rules
        off: dict[int, tuple[str, str, bool]] = {}
        for index in self.program.scoped_rules:
            rule = rules[index]
            missing: tuple[str, bool] | None = None
            for fact, values, from_pack in rule.scope:
                value = facts.get(fact)
                if value is None:
                    missing = missing or (fact, from_pack)
                elif value not in values or isinstance(value, bool) != isinstance(values[0], bool):
                    whose = f"pack {rule.pack_id}" if from_pack else rule.rule_id
                    allowed = " | ".join(_fact_text(v) for v in values)
                    reason = f"{fact} is {_fact_text(value)}; {whose} applies to {fact}: {allowed}"
                    off[index] = (NOT_APPLICABLE, reason, from_pack)
                    break
            else:
                if missing is not None:
                    off[index] = (MISSING_FACT, self.missing_reason([missing[0]]), missing[1])
        self.scope_off = off
        if len(self.engine.scope_cache) < 1024:
            self.engine.scope_cache[key] = off

    def missing_reason(self, keys: list[str]) -> str:
        """Why facts are missing: not given at all, or given in a form that cannot be used (the value named)."""
        problems = self.fact_info.problems
        unusable = [problems[k] for k in keys if k in problems]
        absent = [k for k in keys if k not in problems]
        parts = []
        if absent:
            parts.append(_missing_reason(absent))
        if unusable:
            parts.append("unusable metadata: " + "; ".join(unusable))
        return "; ".join(parts) or "inputs unusable"

    def _variable(self, name: str) -> Any:
        value = self.facts.get(name)
        if value is None:
            value = self.engine.config.variables.get(name)
        if value is None and name == "callback_numbers" and self.engine.config.callback_numbers:
            value = self.engine.config.callback_numbers
        return value

    def _resolve_variables(self) -> None:
        self.var_tokens: dict[str, tuple[str, ...] | None] = {}
        for name in self.program.matchers.variables:
            value = self._variable(name)
            if isinstance(value, (str, int, float)) and str(value).strip():
                self.var_tokens[name] = _variable_tokens(str(value))
            else:
                self.var_tokens[name] = None
        derived = self.engine.variable_cache.get(tuple(self.var_tokens.items()))
        if derived is None:
            derived = _derive_from_variables(self.program, self.var_tokens)
            if len(self.engine.variable_cache) < 1024:
                self.engine.variable_cache[tuple(self.var_tokens.items())] = derived
        #: must_say matchers that cannot match on this call (every phrase needs a variable it lacks), and the
        #: prefilter needles for phrases made only of variables
        self.unmatchable, self.needles = derived
        numbers = list(self.facts.get("callback_numbers") or []) + list(self.engine.config.callback_numbers)
        self._var_key = (tuple(self.var_tokens.items()), tuple(map(str, numbers)))
        canonical = set()
        for number in numbers:
            digits = "".join(ch for ch in str(number) if ch.isdigit())
            if len(digits) == 11 and digits.startswith("1"):
                digits = digits[1:]
            if digits:
                canonical.add(digits)
        self.exempt = {"callback_numbers": frozenset(canonical)}

    def _start(self) -> None:
        program = self.program
        for ci in program.top_must_say:
            check = program.checks[ci]
            self.obligations.append(self._open_obligation(check, start_turn=1, t0=0.0))
        self.require_pending = list(program.requires)
        self._check_requires(0.0)

    def _check_requires(self, t: float | None) -> None:
        """Decide the metadata requirements that are not decided yet (at call start, and after new facts)."""
        program = self.program
        still: list[int] = []
        for ci in self.require_pending:
            check = program.checks[ci]
            rule = program.rules[check.rule]
            if not self._applies(rule):
                still.append(ci)  # out of scope, or its `when` is not met: new facts may change that
                continue
            verdict = truth(check.expr(self.facts, self.states))
            if verdict is None:
                self.rule_unknown.setdefault(rule.index, check.source)
                still.append(ci)
                continue
            if self.rule_unknown.get(rule.index) is check.source:
                del self.rule_unknown[rule.index]  # decided now that the fact arrived
            self.rule_evaluated.add(rule.index)
            if verdict:
                self.rule_satisfied.setdefault(rule.index, (t, None))
            else:
                self._record(Violation(rule, None, None, action_taken="flag"), turn=None, t=t, role="call_start")
        self.require_pending = still

    def _open_obligation(self, check: MustSayProgram, *, start_turn: int, t0: float) -> Obligation:
        window, amount = check.window, check.amount
        if window == FIRST_TURN:
            return Obligation(check, start_turn, start_turn, INF, prefix=True)
        if window == TURNS:
            return Obligation(check, start_turn, start_turn + amount - 1, INF, prefix=False)
        if window == SECONDS:
            return Obligation(check, start_turn, INF, t0 + amount, prefix=False)
        return Obligation(check, start_turn, INF, INF, prefix=False)

    def _applies(self, rule: RuleInfo) -> bool:
        """Whether ``rule`` applies now: in scope (decided per call, see :meth:`_decide_scope`) and its ``when``
        true; an UNKNOWN ``when`` marks the rule not evaluated."""
        if rule.index in self.scope_off:
            return False
        if rule.when is None:
            return True
        verdict = truth(rule.when(self.facts, self.states))
        if verdict is None:
            if rule.index not in self.rule_unknown:
                self.rule_unknown[rule.index] = rule.when_source  # the reason is worked out at end()
            return False
        return verdict

    # ----------------------------------------------------------------------------------------- turns

    def _check_turn(self, text: Any, t: Any, where: str) -> None:
        """The API-boundary checks of a turn (see the module docstring); raises, or returns when all is well."""
        if self.ended:
            raise CallEndedError(f"{where}: call {self.call_id!r} has ended; start a new call for more turns")
        _check_text(text, where)
        _check_time(t, where)

    def agent_turn(self, text: str, t: float | None = None) -> Decision:
        """Check one agent turn before it is spoken.

        Never raises on content. On an internal error, or when the turn runs past ``inline_timeout_ms`` (checked
        between stages, not only at the end), the gate fails open (or closed, with ``fail_open: false``). Nothing
        unredacted is stored: the text is redacted by the detectors alone (or withheld), and findings already
        computed are kept, marked late. A turn that ran out of time before it was evaluated is evaluated when the
        call is next touched (the next turn or :meth:`end`), off the turn loop's critical path, so the call's state
        and evidence still account for what was said.

        Raises ``TypeError``/``ValueError`` for a ``text`` that is not a ``str`` or a ``t`` that is not a finite
        number, and :class:`CallEndedError` after :meth:`end` (programming errors, not content).
        """
        if self.ended or text.__class__ is not str or not _plain_time(t):
            self._check_turn(text, t, "agent_turn")
        if self._late is not None:
            self._settle()
        started = time.perf_counter_ns()
        seq0 = self.seq
        deadline = started + self.engine.timeout_ns
        decision: Decision | None = None
        try:
            prefilter = self.program.matchers.prefilter
            maybe = prefilter is None or prefilter.maybe(text, self.needles)
            if not maybe and not self._window_closes(text, t):
                return self._pass_through(text, t, started)
            if time.perf_counter_ns() > deadline:
                raise OverBudget()
            self._deadline_ns = deadline
            outcome = self._evaluate(text, t, maybe=maybe)
            self._deadline_ns = 0
            decision = self._decide(outcome)
            elapsed = time.perf_counter_ns() - started
            if elapsed > self.engine.timeout_ns:
                self.timeouts += 1
                return self._unavailable(text, t, elapsed, commit=outcome)
            self._commit(outcome, decision)
            preempt: tuple[str, ...] = ()
            if self.preempt:
                preempt, self.preempt[:] = tuple(self.preempt), []
            decision = Decision(decision.action, decision.text, decision.findings, elapsed, preempt)
            self.latencies_ns.append(elapsed)
            return decision
        except OverBudget as late:
            self._deadline_ns = 0
            self.timeouts += 1
            return self._defer(text, t, time.perf_counter_ns() - started, late.pii_spans)
        except Exception:  # noqa: BLE001 - fail-open is the contract: nothing escapes into the turn loop
            self._deadline_ns = 0
            self.errors += 1
            self._undo_partial_turn(seq0, decision)
            return self._unavailable(text, t, time.perf_counter_ns() - started, commit=None)

    def _defer(self, text: str, t: float | None, elapsed: int, spans: list[tuple[int, int, str]] | None) -> Decision:
        """Out of time before the rules ran: let the turn go (fail open or closed) and judge it later."""
        self.fail_open_events += 1
        self.latencies_ns.append(elapsed)
        self._late = (text, t, spans)
        if self.engine.config.guardrails.fail_open:
            return Decision("pass", text, (), elapsed)
        return Decision("block", self.engine.config.fallback_line, (), elapsed)

    def _settle(self) -> None:
        """Evaluate the turn that ran out of time (see :meth:`agent_turn`) and record it, late."""
        late, self._late = self._late, None
        if late is None:
            return
        text, t, spans = late
        try:
            outcome: TurnOutcome | None = self._evaluate(text, t)  # no side effects: nothing to undo if it fails
        except Exception:  # noqa: BLE001
            self.errors += 1
            outcome = None
        self._record_unavailable(text, t, outcome, spans)

    def _undo_partial_turn(self, seq0: int, decision: Decision | None) -> None:
        """An error inside :meth:`_commit` (the only step that changes the call before the turn is recorded) left
        the turn half-recorded: drop what it stored (redaction happens again in :meth:`_unavailable`) and keep its
        findings as late, since the original text went out. ``seq0``: the sequence number before the turn."""
        try:
            if self.seq == seq0:
                return
            self.seq = seq0
            self.agent_turns -= 1  # _commit set it to the turn's number before advancing seq
            if decision is not None and decision.action in ("block", "handoff"):
                self.blocked_turns -= 1
            elif decision is not None and decision.action == "modify":
                self.modified_turns -= 1
            while self.timeline and self.timeline[-1][0] > seq0:
                self.timeline.pop()
            self.redactions = [r for r in self.redactions if r["turn"] <= seq0]
            for finding in self.findings:
                if finding["turn"] is not None and finding["turn"] > seq0:
                    self._mark_late(finding)
        except Exception:  # noqa: BLE001
            pass

    def _mark_late(self, finding: dict[str, Any]) -> None:
        finding["late"] = True
        if self.engine.config.guardrails.fail_open:
            finding["action_taken"], finding["remediated"] = "pass", False
        else:  # failing closed, the turn was replaced by the fallback line
            finding["action_taken"], finding["remediated"] = "block", True

    def _window_closes(self, text: str, t: float | None) -> bool:
        """Whether an open obligation's window closes (or may, for a seconds deadline) on this agent turn."""
        turn = self.agent_turns + 1
        words = _spoken_words(text)
        for ob in self.obligations:
            if turn >= ob.deadline_turn:
                return True
            if ob.deadline_t != INF and (
                t is None or t >= ob.deadline_t or (self.mode_cap >= 1 and _deadline_falls_on_turn(ob, t, words, turn))
            ):
                return True
        return False

    def _pass_through(self, text: str, t: float | None, started: int) -> Decision:
        self.agent_turns += 1
        self.seq += 1
        if t is not None:
            self.last_t = t
        turn = self.agent_turns
        for ob in self.obligations:
            if ob.start_turn <= turn:
                ob.turns_seen += 1
        if self.pending or self.after_open:
            self._agent_spoke((), ())
        self.timeline.append((self.seq, t if t is not None else (self.last_t or 0.0), "agent", text))
        for observer in self._observers:
            _notify(observer.on_turn, self, "agent", text, t)
        preempt: tuple[str, ...] = ()
        if self.preempt:
            preempt, self.preempt[:] = tuple(self.preempt), []
        elapsed = time.perf_counter_ns() - started
        self.latencies_ns.append(elapsed)
        return Decision("pass", text, (), elapsed, preempt)

    def _unavailable(
        self,
        text: str,
        t: float | None,
        elapsed: int,
        commit: TurnOutcome | None,
        spans: list[tuple[int, int, str]] | None = None,
    ) -> Decision:
        """Fail open (or closed): the turn goes out as it was (or as the fallback line)."""
        self.fail_open_events += 1
        self.latencies_ns.append(elapsed)
        self._record_unavailable(text, t, commit, spans)
        if self.engine.config.guardrails.fail_open:
            return Decision("pass", text, (), elapsed)
        return Decision("block", self.engine.config.fallback_line, (), elapsed)

    def _record_unavailable(
        self, text: str, t: float | None, commit: TurnOutcome | None, spans: list[tuple[int, int, str]] | None
    ) -> None:
        """Record a turn the gate did not act on. Stored: the text redacted by the detectors alone (the hits
        already found, else a fresh detector pass), or :data:`WITHHELD` when even that fails; failing closed,
        the fallback line. Findings ``commit`` computed are kept, marked late."""
        fail_open = self.engine.config.guardrails.fail_open
        try:
            self.agent_turns += 1
            self.seq += 1
            self.last_t = t if t is not None else self.last_t
            if commit is not None:
                self._advance_state(commit, suppressed=not fail_open)
                for v in commit.violations:
                    before = len(self.findings)
                    self._record(v, turn=self.seq, t=t, role="agent")
                    if len(self.findings) > before:
                        self._mark_late(self.findings[-1])
                spans = [(s, e, k) for s, e, k, _ in commit.pii_spans]
            stored = self.redact_by_detectors(text, spans) if fail_open else (self.engine.config.fallback_line or "")
            self.timeline.append(self._event("agent", stored, t))
        except Exception:  # noqa: BLE001
            if not self.timeline or self.timeline[-1][0] != self.seq:
                self.timeline.append((self.seq, t if t is not None else (self.last_t or 0.0), "agent", WITHHELD))

    def redact_by_detectors(
        self, text: str, spans: list[tuple[int, int, str]] | None = None, *, record: bool = True
    ) -> str:
        """``text`` for storage with every hit of the pack set's detectors masked (``[kind]``), recorded as a
        redaction of the current turn unless ``record`` is false; :data:`WITHHELD` if that cannot be done.
        ``spans``: hits already found."""
        try:
            if spans is None:
                kinds = self.program.redact_kinds
                spans = [(h.start, h.end, h.kind) for h in detect_all(normalize(text), kinds)] if kinds else []
            if not spans:
                return text
            if record:
                return self._redact_for_storage(text, spans, role="stored")
            return apply_edits(text, [(s, e, f"[{k}]") for s, e, k in sorted(set(spans))])
        except Exception:  # noqa: BLE001 - nothing unredacted may reach storage
            return WITHHELD

    def other_turn(self, role: str, text: str, t: float | None = None) -> None:
        """Keep a turn that is not speech (``system`` prompt, ``tool`` result) on the timeline. It is never
        scored: no cues, states or windows; PII in it is redacted by the detectors. Never raises on content;
        argument errors raise as for :meth:`agent_turn`."""
        if self.ended or text.__class__ is not str or not _plain_time(t) or not isinstance(role, str):
            if not isinstance(role, str):
                raise TypeError(f"other_turn: role must be a str such as 'system' or 'tool', not {_describe(role)}")
            self._check_turn(text, t, "other_turn")
        if self._late is not None:
            self._settle()
        try:
            self.seq += 1
            if t is not None:
                self.last_t = t
            stored = self.redact_by_detectors(text)
            self.timeline.append((self.seq, t if t is not None else (self.last_t or 0.0), role, stored))
        except Exception:  # noqa: BLE001
            self.errors += 1

    def caller_turn(self, text: str, t: float | None = None) -> None:
        """Feed a caller turn: it can open cues and set states; it is never blocked, and PII in it is redacted
        from what is stored. Argument errors raise as for :meth:`agent_turn`."""
        if self.ended or text.__class__ is not str or not _plain_time(t):
            self._check_turn(text, t, "caller_turn")
        if self._late is not None:
            self._settle()
        try:
            self.seq += 1
            if t is not None:
                self.last_t = t
            program = self.program
            matchers = program.matchers
            # answers to an open question are looked for only while one is open
            prefilter = matchers.answer_prefilter if self.pending or self.after_open else matchers.caller_prefilter
            if prefilter is None or prefilter.maybe(text, self.needles):
                matches = matchers.scan(normalize(text), self.var_tokens, self.exempt)
            else:
                matches = {}
            if matches:
                checks = program.checks
                for ci in program.cues_by_speaker.get("caller", ()):
                    cue = checks[ci]
                    if cue.matcher not in matches or (cue.and_not is not None and cue.and_not in matches):
                        continue
                    if cue.after is not None and ci not in self.after_open:
                        continue  # the agent's previous turn did not ask what this cue answers
                    if self._applies(program.rules[cue.rule]):
                        self._open_cue(cue, start_turn=self.agent_turns + 1, t0=t or 0.0, into=None)
                for mid, steps in program.state_steps_by_matcher.items():
                    if mid not in matches:
                        continue
                    for si, _step_index in steps:
                        state = program.states[si]
                        if len(state.steps) == 1 and state.steps[0][0] == "caller":
                            if _step_hit(matches, state.steps[0]) is not None:
                                self.states[state.name] = True
            if self.pending:
                self._answer(matches)
            for ci in self.after_open:
                self.after_open[ci] += 1
            stored = text
            spans = [(s, e, k) for spans in matches.values() for s, e, k in spans if k is not None]
            if spans:
                stored = self._redact_for_storage(text, spans, role="caller")
            self.timeline.append(self._event("caller", stored, t))
            for observer in self._observers:
                _notify(observer.on_turn, self, "caller", stored, t)
        except Exception:  # noqa: BLE001 - a caller turn must never break the call either
            self.errors += 1
            self.fail_open_events += 1
            if self.timeline and self.timeline[-1][0] == self.seq:
                return  # stored already; what failed came after
            self.redactions = [r for r in self.redactions if r["turn"] != self.seq]
            stored = self.redact_by_detectors(text)
            self.timeline.append((self.seq, t if t is not None else (self.last_t or 0.0), "caller", stored))

    def _answer(self, matches: dict) -> None:
        """A caller turn in open exchanges: it answers (the state is set), declines (``and not``: the exchange
        ends unanswered), or neither (a partial or filler turn: the exchange stays open until the agent speaks)."""
        states = self.program.states
        for si in list(self.pending):
            state = states[si]
            answer = state.steps[1]
            and_not = answer[3]
            if and_not is not None and and_not in matches:
                del self.pending[si]
            elif _step_hit(matches, answer) is not None:
                self.states[state.name] = True
                del self.pending[si]
            else:
                self.pending[si] += 1

    def _agent_spoke(self, asked_states: Iterable[int], asked_cues: Iterable[int]) -> None:
        """An agent turn was spoken: exchanges the caller already replied to are over; the questions this turn
        asks open (or reopen) theirs. Exchanges with no caller reply yet stay open (the agent may speak in two
        turns before the caller answers)."""
        if self.pending:
            self.pending = {si: n for si, n in self.pending.items() if n == 0}
        if self.after_open:
            self.after_open = {ci: n for ci, n in self.after_open.items() if n == 0}
        for si in asked_states:
            self.pending[si] = 0
        for ci in asked_cues:
            self.after_open[ci] = 0

    def update_facts(self, t: float | None = None, **facts: Any) -> None:
        """Tell the gate facts it learned during the call (``call.update_facts(answered_by="voicemail", t=4.2)``).

        Keys are call facts (:data:`reference_gate.facts.FACTS`; ``answered_by_twilio`` too) or any other metadata key
        a pack reads; ``None`` withdraws a value given by an earlier update. The facts override the call's metadata
        and take effect from the next turn: scopes (``applies_to``) are decided again, ``when`` conditions see the
        new values, and metadata requirements not decided yet are checked. The change goes on the timeline (role
        ``facts``) and into the scorecard (``fact_changes``; ``facts`` holds the facts in force at the end). Never
        raises: a failure counts as a fail-open event, like a failed turn.
        """
        try:
            if self.ended or not facts:
                return
            if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t)):
                raise ValueError(f"t must be seconds since call start, got {t!r}")
            for key, value in facts.items():
                if value is None:
                    self._updates.pop(key, None)
                else:
                    self._updates[key] = value
            self.seq += 1
            if t is not None:
                self.last_t = t
            self._resolve_facts()
            self._resolve_variables()
            self._decide_scope()
            if self.require_pending:
                self._check_requires(t if t is not None else self.last_t)
            shown = {key: _shown_fact(key, value, self.fact_info) for key, value in facts.items()}
            self.fact_changes.append({"seq": self.seq, "t": t, "facts": shown})
            self.timeline.append(self._event("facts", ", ".join(f"{k}: {v}" for k, v in shown.items()), t))
        except Exception:  # noqa: BLE001 - like a turn, a fact update must never break the call
            self.errors += 1
            self.fail_open_events += 1

    def take_preempt(self) -> tuple[str, ...]:
        """Remove and return the pending Tier-2 ``preempt_next`` instructions.

        A turn loop calls this right before it starts the next generation and puts them into the model's
        instructions, so they shape the turn they were meant for; what it does not take rides on the next
        :attr:`Decision.preempt`, after the fact."""
        pending = tuple(self.preempt)
        if pending:
            del self.preempt[: len(pending)]  # Tier-2 may append meanwhile: keep what came after
        return pending

    def agent_stream(self, t: float | None = None):  # noqa: ANN201 - returns AgentStream
        """Start a streamed agent turn: ``feed`` chunks as the LLM produces them, then ``close``."""
        from reference_gate.gate.stream import AgentStream

        if self.ended:
            raise CallEndedError(f"agent_stream: call {self.call_id!r} has ended; start a new call for more turns")
        _check_time(t, "agent_stream")
        if self._late is not None:
            self._settle()
        return AgentStream(self, t)

    # ----------------------------------------------------------------------------------------- evaluation

    def _evaluate(self, text: str, t: float | None, *, final: bool = True, maybe: bool | None = None) -> TurnOutcome:
        """What this agent turn would do (no side effects). ``maybe``: the prefilter's answer, when known."""
        program = self.program
        turn = self.agent_turns + 1
        out = TurnOutcome(text=text, t=t, turn=turn)
        matchers = program.matchers
        if maybe is None:
            maybe = matchers.prefilter is None or matchers.prefilter.maybe(text, self.needles)
        if maybe:
            nt = normalize(text)
            matches = matchers.scan(nt, self.var_tokens, self.exempt)
            if self._deadline_ns and time.perf_counter_ns() > self._deadline_ns:
                raise OverBudget([(s, e, k) for hits in matches.values() for s, e, k in hits if k is not None])
        else:
            matches = {}
        words = _spoken_words(text)
        rules = program.rules
        checks = program.checks

        # agent cues open first: "same or next agent turn" windows include the cue turn
        opened_now: list[Obligation] = []
        if matches:
            for ci in program.cues_by_speaker.get("agent", ()):
                cue = checks[ci]
                if cue.matcher in matches and self._applies(rules[cue.rule]):
                    self._open_cue(cue, start_turn=turn, t0=t or 0.0, into=out)
            opened_now = out.opened

        # states this turn sets (committed only if the turn is spoken); a state set mid-turn already counts for
        # what the agent says after it ("this is a sales call ... and our offer")
        turn_states: dict[str, int] = {}
        if matches:
            for mid, steps in program.state_steps_by_matcher.items():
                if mid not in matches:
                    continue
                for si, step_index in steps:
                    state = program.states[si]
                    step = state.steps[step_index]
                    if step[0] != "agent":
                        continue
                    end = _step_hit(matches, step)
                    if end is None:
                        continue
                    if len(state.steps) == 1:
                        out.states_set.append(state.name)
                        turn_states[state.name] = end
                    elif step_index == 0:
                        out.pending_set.append(si)
            for ci in program.after_cues:
                after = checks[ci].after  # type: ignore[union-attr]
                if after is not None and _step_hit(matches, after) is not None:
                    out.asked_cues.append(ci)
            for spans in matches.values():
                for s, e, kind in spans:
                    if kind is not None:
                        out.pii_spans.append((s, e, kind, -1))

        # prohibitions
        if matches:
            for mid in matches:
                for ci in program.must_not_by_matcher.get(mid, ()):
                    self._check_prohibition(checks[ci], matches, out, turn_states)
            for prohibition in (*self.prohibitions, *out.opened_prohibitions):
                if prohibition.start_turn <= turn <= prohibition.end_turn and prohibition.check.matcher in matches:
                    self._check_prohibition(prohibition.check, matches, out, turn_states)

        # obligations
        for ob in (*self.obligations, *opened_now):
            if turn < ob.start_turn:
                continue
            rule = rules[ob.check.rule]
            late = t is not None and t >= ob.deadline_t
            if ob.check.matcher in matches and not late:
                if self._applies(rule):
                    out.met.append(ob)
                continue
            if not final:
                # a streamed turn cannot know yet whether it will need a prefix injected: hold it back
                if ob.prefix and turn == ob.start_turn and self.mode_cap >= 1 and rule.remedy_kind == "inject":
                    out.unresolved_prefix = True
                continue
            if ob.check.matcher in self.unmatchable:
                self.rule_unknown.setdefault(rule.index, self.unmatchable[ob.check.matcher])
                out.closed.append(ob)
                continue
            closes = turn >= ob.deadline_turn or late
            if not closes and ob.check.window == SECONDS and self.mode_cap >= 1:
                closes = _deadline_falls_on_turn(ob, t, words, turn)
            if closes:
                out.closed.append(ob)
                if self._applies(rule):
                    out.violations.append(Violation(rule, None, None, obligation=ob))
                elif rule.index in self.scope_off:
                    self._unjudged(rule)

        return out

    def _check_prohibition(
        self, check: MustNotSayProgram, matches: dict, out: TurnOutcome, turn_states: dict[str, int]
    ) -> None:
        allowed_from = None
        if check.scope == UNTIL_STATE:
            if self.states.get(check.state or ""):
                return
            allowed_from = turn_states.get(check.state or "")
        rule = self.program.rules[check.rule]
        if not self._applies(rule):
            return
        exception_spans = matches.get(check.unless) if check.unless is not None else None
        exceptions = _SpanIndex(exception_spans) if exception_spans else None
        seen = out.seen_spans
        for start, end, kind in matches[check.matcher]:
            if allowed_from is not None and start >= allowed_from:
                continue
            if exceptions is not None and exceptions.overlaps(start, end):
                continue
            key = (rule.index, start, end)
            if key in seen:
                continue
            seen.add(key)
            out.violations.append(Violation(rule, (start, end), kind))

    def _open_cue(self, cue: CueProgram, *, start_turn: int, t0: float, into: TurnOutcome | None) -> None:
        """Open the cue's checks; a check already open from an earlier cue stays as it is (no duplicates)."""
        checks = self.program.checks
        pending_obligations = into.opened if into is not None else self.obligations
        pending_prohibitions = into.opened_prohibitions if into is not None else self.prohibitions
        for ci in cue.then:
            inner = checks[ci]
            if isinstance(inner, MustSayProgram):
                if any(o.check is inner for o in (*self.obligations, *pending_obligations)):
                    continue
                pending_obligations.append(self._open_obligation(inner, start_turn=start_turn, t0=t0))
            elif isinstance(inner, MustNotSayProgram):
                end = start_turn + inner.turns - 1 if inner.scope == FOR_TURNS else INF
                current = [p for p in (*self.prohibitions, *pending_prohibitions) if p.check is inner]
                if any(p.end_turn >= end for p in current):
                    continue
                pending_prohibitions.append(Prohibition(inner, start_turn, end))

    # ----------------------------------------------------------------------------------------- modes

    def _plan(self, out: TurnOutcome) -> TurnPlan:
        """Decide what each violation gets under the mode (mutates the violations' actions)."""
        plan = TurnPlan()
        cap = self.mode_cap
        for v in out.violations:
            want = REMEDY_RANK.get(v.rule.remedy_kind, 0)
            v.effective = min(want, cap)
            if v.effective == 1 and not self._modification(v, out.text, plan):
                # rewriting cannot fix it: block modes suppress the turn, modify mode flags it
                v.effective = 2 if cap >= 2 else 0
            if v.effective >= 2:
                plan.suppress = max(plan.suppress, v.effective)
        if plan.suppress and cap >= 3:
            plan.suppress = 3  # human_handoff: every suppressed turn goes to a person
        if plan.suppress:
            for v in out.violations:
                v.action_taken, v.remediated = "block", True
        else:
            for v in out.violations:
                if v.effective == 1:
                    v.action_taken, v.remediated = "modify", True
                else:
                    v.action_taken, v.remediated = "flag", False
        return plan

    def _decide(self, out: TurnOutcome) -> Decision:
        if not out.violations:
            return Decision("pass", out.text)
        plan = self._plan(out)
        if plan.suppress:
            handoff = plan.suppress >= 3
            line = self.engine.config.handoff_line if handoff else self.engine.config.fallback_line
            return Decision("handoff" if handoff else "block", line, self._turn_findings(out))
        if plan.edits or plan.prefixes or plan.suffixes:
            spoken = plan.render(out.text)
            if not spoken.strip() and self.mode_cap >= 2:
                for v in out.violations:  # nothing left to say: suppress rather than speak silence
                    v.action_taken, v.remediated = "block", True
                return Decision("block", self.engine.config.fallback_line, self._turn_findings(out))
            out.injected = (*plan.prefixes, *plan.suffixes)
            return Decision("modify", spoken, self._turn_findings(out))
        return Decision("flag", out.text, self._turn_findings(out))

    def _modification(self, v: Violation, text: str, plan: TurnPlan) -> bool:
        rule = v.rule
        kind = rule.remedy_kind
        if kind == "inject":
            if v.obligation is None or not rule.inject_text:
                return False
            line = self._fill(rule.inject_text)
            if line is None:
                return False
            (plan.prefixes if v.obligation.prefix else plan.suffixes).append(line)
            return True
        if v.span is None:
            return False
        start, end = v.span
        if kind == "redact":
            plan.edits.append((start, end, ""))
            return True
        if kind == "mask":
            if rule.placeholder is not None:
                plan.edits.append((start, end, rule.placeholder))
            else:
                plan.edits.append((start, end, _mask_digits(text[start:end], rule.keep_last or 0)))
            return True
        return False

    def _fill(self, template: str) -> str | None:
        missing = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal missing
            value = self._variable(match.group(1))
            if value is None or isinstance(value, (list, dict)):
                missing = True
                return match.group(0)
            return str(value)

        line = _VAR.sub(substitute, template)
        return None if missing else line

    def _turn_findings(self, out: TurnOutcome) -> tuple[TurnFinding, ...]:
        return tuple(
            TurnFinding(
                v.rule.rule_id,
                v.rule.pack_id,
                v.rule.severity,
                v.rule.citation,
                v.rule.reason,
                v.span,
                v.action_taken,  # type: ignore[arg-type]
                v.kind,
            )
            for v in out.violations
        )

    # ----------------------------------------------------------------------------------------- commit

    def _commit(self, out: TurnOutcome, decision: Decision) -> None:
        suppressed = decision.action in ("block", "handoff")
        self.agent_turns = out.turn
        self.seq += 1
        if out.t is not None:
            self.last_t = out.t
        if suppressed:
            self.blocked_turns += 1
        elif decision.action == "modify":
            self.modified_turns += 1
        self._advance_state(out, suppressed)
        if out.injected and self.obligations:
            self._meet_with_injected(out)
        for v in out.violations:
            self._record(v, turn=self.seq, t=out.t, role="agent")
        stored = decision.text or ""
        if not suppressed and out.pii_spans:
            stored = self._stored_agent_text(out, decision)
        self.timeline.append(self._event("agent", stored, out.t))
        for observer in self._observers:
            _notify(observer.on_turn, self, "agent", stored, out.t)

    def _meet_with_injected(self, out: TurnOutcome) -> None:
        """Injected disclosures are spoken: let them meet other open obligations (a recording notice injected for
        one rule satisfies another rule asking for the same notice)."""
        text = " ".join(out.injected)
        key = (text, self._var_key)
        cache = self.engine.injected_matches
        matches = cache.get(key)
        if matches is None:  # the same few disclosures are injected call after call: scan each once
            matches = self.program.matchers.scan(normalize(text), self.var_tokens, self.exempt)
            if len(cache) < 4096:
                cache[key] = matches
        if not matches:
            return
        still_open = []
        for ob in self.obligations:
            if ob.start_turn <= out.turn and ob.check.matcher in matches:
                rule = self.program.rules[ob.check.rule]
                if self._applies(rule):
                    self.rule_evaluated.add(rule.index)
                    self.rule_satisfied.setdefault(rule.index, (out.t, self.seq))
                    continue
            still_open.append(ob)
        self.obligations = still_open

    def _advance_state(self, out: TurnOutcome, suppressed: bool) -> None:
        closed = {id(o) for o in out.closed}
        met = {id(o) for o in out.met} if not suppressed else set()
        for ob in out.met:
            if id(ob) in met:
                rule = self.program.rules[ob.check.rule]
                self.rule_evaluated.add(rule.index)
                self.rule_satisfied.setdefault(rule.index, (out.t, self.seq))
        keep = [o for o in self.obligations if id(o) not in closed and id(o) not in met]
        if not suppressed:
            keep.extend(o for o in out.opened if id(o) not in closed and id(o) not in met)
            self.prohibitions.extend(out.opened_prohibitions)
            for name in out.states_set:
                self.states[name] = True
            self._agent_spoke(out.pending_set, out.asked_cues)
        elif self.pending or self.after_open:
            self._agent_spoke((), ())  # the fallback line was spoken instead: the question was not asked
        for ob in keep:
            if ob.start_turn <= out.turn:
                ob.turns_seen += 1
        self.obligations = keep

    def _record(self, v: Violation, *, turn: int | None, t: float | None, role: str) -> None:
        """One scorecard finding per rule per turn (the first span); the Decision keeps every span."""
        rule = v.rule
        self.rule_fired.add(rule.index)
        self.rule_evaluated.add(rule.index)
        if turn is not None:
            key = (rule.index, turn)
            if key in self._recorded:
                return
            self._recorded.add(key)
        self.findings.append(
            {
                "rule_id": rule.rule_id,
                "pack_id": rule.pack_id,
                "severity": rule.severity,
                "action_taken": v.action_taken,
                "citation": rule.citation,
                "reason": rule.reason,
                "at_t": t,
                "turn": turn,
                "span": list(v.span) if v.span else None,
                "remediated": v.remediated,
            }
        )

    # ----------------------------------------------------------------------------------------- storage

    def _redact_for_storage(self, text: str, spans: list[tuple[int, int, str | None]], *, role: str) -> str:
        edits = []
        for start, end, kind in sorted(set(spans)):
            if kind is None:
                continue
            edits.append((start, end, f"[{kind}]"))
            self.redactions.append({"kind": kind, "turn": self.seq, "span": [start, end], "rule_id": None})
        return apply_edits(text, edits)

    def _stored_agent_text(self, out: TurnOutcome, decision: Decision) -> str:
        if decision.text == out.text:
            return self._redact_for_storage(out.text, [(s, e, k) for s, e, k, _ in out.pii_spans], role="agent")
        # the spoken text was rewritten: look again, so nothing unmasked reaches storage
        spoken = decision.text or ""
        nt = normalize(spoken)
        matches = self.program.matchers.scan(nt, self.var_tokens, self.exempt)
        spans = [(s, e, k) for spans in matches.values() for s, e, k in spans if k is not None]
        return self._redact_for_storage(spoken, spans, role="agent") if spans else spoken

    def _event(self, role: str, text: str, t: float | None) -> tuple[int, float, str, str]:
        """A timeline entry as a plain tuple (seq, seconds, role, stored text); the scorecard builds the objects."""
        return (self.seq, t if t is not None else (self.last_t or 0.0), role, text)

    # ----------------------------------------------------------------------------------------- end

    def end(self, t: float | None = None):  # noqa: ANN201 - returns Scorecard
        """Close the call and return its scorecard (also handed to the engine's evidence writer, if any).

        A call ends once: a second ``end()`` raises :class:`CallEndedError` (the scorecard was already written).
        """
        from reference_gate.gate.scoring import build_scorecard

        if self.ended:
            raise CallEndedError(f"end: call {self.call_id!r} has already ended")
        _check_time(t, "end")
        if self._late is not None:
            self._settle()
        self.ended = True
        if t is not None:
            self.last_t = t
        try:
            self._close_windows()
        except Exception:  # noqa: BLE001
            self.errors += 1
            self.fail_open_events += 1
        card = build_scorecard(self)
        for observer in self._observers:
            _notify(observer.on_end, self, card)
        writer = self.engine.writer
        if writer is not None:
            try:
                writer.submit(card)
            except Exception:  # noqa: BLE001 - the writer counts its own losses; the call is over either way
                pass
        return card

    def _unjudged(self, rule: RuleInfo) -> None:
        """An obligation's window closed while its rule was out of scope. If facts learned later bring the rule into
        scope, the scorecard must not call it satisfied: nobody judged that window."""
        status, reason, _ = self.scope_off[rule.index]
        self.rule_unknown.setdefault(rule.index, f"its window closed before its scope was known ({reason})")

    def unknown_reason(self, index: int) -> str:
        """Why rule ``index`` was not evaluated, in words (built only when the scorecard is)."""
        reason = self.rule_unknown[index]
        if isinstance(reason, str):
            return reason
        return self.missing_reason(missing_inputs(reason, self.facts))

    def _close_windows(self) -> None:
        rules = self.program.rules
        for ob in self.obligations:
            rule = rules[ob.check.rule]
            if ob.check.matcher in self.unmatchable:
                self.rule_unknown.setdefault(rule.index, self.unmatchable[ob.check.matcher])
                continue
            if self.agent_turns == 0 or (ob.check.in_cue and ob.turns_seen == 0):
                continue  # the window never saw an agent turn: nothing to judge
            if self._applies(rule):
                self._record(Violation(rule, None, None, action_taken="flag"), turn=None, t=self.last_t, role="end")
            elif rule.index in self.scope_off:
                self._unjudged(rule)
        self.obligations = []
        if self.agent_turns == 0:
            for rule in rules:
                if rule.check_count and rule.index not in self.rule_evaluated:
                    self.rule_unknown.setdefault(rule.index, "no agent turns")


# --------------------------------------------------------------------------------------------- helpers


class _SpanIndex:
    """Answers "does any span overlap [start, end)?" in O(log n): spans sorted by start, with the running maximum
    of their ends (a span that starts before ``end`` overlaps iff the furthest end among them passes ``start``)."""

    __slots__ = ("starts", "max_ends")

    def __init__(self, spans: list[tuple[int, int, str | None]]) -> None:
        self.starts = [s for s, _, _ in spans]
        self.max_ends: list[int] = []
        furthest = -1
        for _, e, _ in spans:
            furthest = max(furthest, e)
            self.max_ends.append(furthest)

    def overlaps(self, start: int, end: int) -> bool:
        before = bisect_left(self.starts, end)
        return before > 0 and self.max_ends[before - 1] > start


def _missing_reason(missing: list[str]) -> str:
    return "missing metadata: " + ", ".join(missing) if missing else "inputs unusable"


def _step_hit(matches: dict, step: StepProgram) -> int | None:
    """Where a state step's (or an ``after``'s) hit in this turn ends (the earliest), or ``None`` when the turn does
    not count for it: no hit, every hit overlapped by its ``unless``, or its ``and not`` anywhere in the turn."""
    _, mid, unless, and_not = step
    spans = matches.get(mid)
    if not spans or (and_not is not None and and_not in matches):
        return None
    exceptions = matches.get(unless) if unless is not None else None
    if exceptions:
        index = _SpanIndex(exceptions)
        ends = [e for s, e, _ in spans if not index.overlaps(s, e)]
        return min(ends) if ends else None
    return min(e for _, e, _ in spans)


def _fact_text(value: Any) -> str:
    """A fact value as the reasons write it (``true``, ``customer_service``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _shown_fact(key: str, raw: Any, info: ResolvedFacts) -> str:
    """What the timeline says about one updated fact: its value (and category), why it is unusable, or, for a key
    that is not a call fact, only that it was set (its value may be anything; nothing unexpected goes on record)."""
    from reference_gate.facts import fact_names

    if raw is None:
        return "withdrawn"
    if key not in fact_names():
        return "set"
    fact = next(f for f in FACTS.values() if key in f.keys)
    if fact.name in info.problems and info.sources.get(fact.name) == "update_facts":
        return f"unusable ({info.problems[fact.name]})"
    value, problem = fact.normalize(raw)
    if problem is not None:
        return f"unusable ({problem})"
    text = _fact_text(raw) if not isinstance(raw, list) else ", ".join(map(str, raw))
    text = text if len(text) <= 80 else text[:77] + "..."
    shown = _fact_text(value) if not isinstance(value, list) else text
    return text if shown == text else f"{text} ({shown})"


def _derive_from_variables(
    program: CompiledPackSet, var_tokens: dict[str, tuple[str, ...] | None]
) -> tuple[dict[int, str], tuple[str, ...]]:
    unmatchable: dict[int, str] = {}
    for mid, leaf_vars in program.matchers.matcher_vars.items():
        missing = [sorted(v for v in leaf if not var_tokens.get(v)) for leaf in leaf_vars]
        if all(missing):
            unmatchable[mid] = "missing variable: " + ", ".join(sorted({n for leaf in missing for n in leaf}))
    prefilters = (program.matchers.prefilter, program.matchers.answer_prefilter)
    needles = tuple(
        surface
        for name in dict.fromkeys(n for pf in prefilters if pf is not None for n in pf.needle_variables)
        if (tokens := var_tokens.get(name))
        for surface in token_alternatives(tokens[0])
    )
    return unmatchable, needles


@lru_cache(maxsize=8192)
def _variable_tokens(value: str) -> tuple[str, ...] | None:
    """A variable's value as normalized tokens (the same business names recur on every call). A leading article and
    a trailing corporate suffix are dropped: "The Lakeside Roofing Co." is said "lakeside roofing" (matching also
    lets an article stand before the value: "calling from the lakeside roofing")."""
    tokens = normalize_phrase(value).split()
    if len(tokens) > 1 and tokens[0] in _LEADING_ARTICLES:
        tokens = tokens[1:]
    while len(tokens) > 1 and tokens[-1] in _TRAILING_SUFFIXES:
        tokens = tokens[:-1]
    return tuple(tokens) or None


def _spoken_words(text: str) -> int:
    """Words in a turn, for estimating how long it takes to say (cheap: spaces, not tokens)."""
    return text.count(" ") + 1


def _deadline_falls_on_turn(ob: Obligation, t: float | None, words: int, turn: int) -> bool:
    """Whether a seconds deadline is best met on this turn: the next agent turn would likely start too late.
    Without timings, fall back to the two-turn default."""
    if t is None:
        return turn >= ob.start_turn + 1
    return t + words / WORDS_PER_SECOND + NEXT_TURN_GAP_S >= ob.deadline_t


def _mask_digits(segment: str, keep_last: int) -> str:
    """Mask all digits of a written number but the last ``keep_last``, keeping its separators; a spoken number
    becomes ``ending in NNNN``."""
    digit_positions = [i for i, ch in enumerate(segment) if ch.isdigit()]
    if len(digit_positions) >= max(keep_last, 1) + 4:
        keep = set(digit_positions[-keep_last:]) if keep_last else set()
        return "".join("X" if (ch.isdigit() and i not in keep) else ch for i, ch in enumerate(segment))
    digits = "".join(tok for tok in normalize(segment).tokens if tok.isdigit())
    if keep_last and len(digits) >= keep_last:
        return "ending in " + " ".join(digits[-keep_last:])
    return "[redacted]"


def _next_visible(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _prev_visible(text: str, pos: int) -> int:
    """Index of the last non-blank character before ``pos`` (-1 when there is none)."""
    pos -= 1
    while pos >= 0 and text[pos] in " \t":
        pos -= 1
    return pos


def removal_extent(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a removal so that it leaves no double space, no space before punctuation and no orphaned comma
    ("I will, trust me." -> "I will."; "We can, to be honest, help." -> "We can help."; "To be honest, it
    works." -> "it works."). It looks one visible character either side, so streaming can hold that much back."""
    before = _prev_visible(text, start)
    after = _next_visible(text, end)
    prev_ch = text[before] if before >= 0 else ""
    next_ch = text[after] if after < len(text) else ""
    if prev_ch == "," and next_ch == ",":
        return before, after + 1  # "can, X, help" -> "can help"
    if prev_ch == "," and next_ch in ".;:!?":
        return before, after
    if prev_ch in ("", ".", "!", "?") and next_ch == ",":
        return start, _next_visible(text, after + 1)
    if next_ch in ",.;:!?":
        return before + 1, after
    if next_ch == "":
        return before + 1, len(text)
    if prev_ch == "":
        return start, after
    return start, after


def apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply replacements (overlaps merge into the widest; removals tidy their own spacing)."""
    if not edits:
        return text
    merged: list[list[Any]] = []
    for start, end, repl in sorted(edits, key=lambda e: (e[0], -e[1])):
        if repl == "":
            start, end = removal_extent(text, start, end)
            if 0 < start and end < len(text) and text[start - 1] not in " \t" and text[end] not in " \t,.;:!?":
                repl = " "  # keep the words on either side apart
        if merged and start < merged[-1][1]:
            last = merged[-1]
            if end > last[1]:
                last[1] = end
            continue
        merged.append([start, end, repl])
    if merged and merged[0][0] == 0 and merged[0][2] == "":
        merged[0][1] = _next_visible(text, merged[0][1])  # nothing left before it: no leading space either
    for edit in merged:
        start, end, repl = edit
        # a capitalized sentence opening was removed: the next word now opens the sentence
        if repl == "" and end < len(text) and text[end].islower() and text[start].isupper():
            before = _prev_visible(text, start)
            if before == -1 or text[before] in ".!?":
                edit[1], edit[2] = end + 1, text[end].upper()
    parts = []
    pos = 0
    for start, end, repl in merged:
        parts.append(text[pos:start])
        parts.append(repl)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _notify(hook: Any, *args: Any) -> None:
    """Call an observer hook; an observer's failure is its own business and never reaches the turn loop."""
    try:
        hook(*args)
    except Exception:  # noqa: BLE001
        pass
