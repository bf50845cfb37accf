"""A call through the gate: the Python face of the core's per-call state.

:class:`Call` subclasses the core's ``CallCore``: ``agent_turn``, ``caller_turn`` and ``other_turn`` run in the
core (one call each: normalize, scan, detectors, rules, plan, commit, Decision); this module keeps what happens
once per call or off the turn loop: resolving facts, scopes and variables (:mod:`trace_engine.gate.context`),
``update_facts``, ``end`` and the scorecard, streaming and barge-in.

Windows count agent turns from 1. Timings ``t`` are seconds since call start and optional.

Two kinds of bad input, two contracts. *Content* (any text at all, however hostile) never raises: the gate decides,
and on an internal error fails open. *Programming errors* at the API boundary raise at once with a message that says
what to do: a ``text`` that is not a ``str`` (``None``, a number, ``bytes`` that would go out unmasked), a ``t`` that
is not a finite number, a turn after :meth:`Call.end` (:class:`CallEndedError`).

Questions and answers: an agent turn that hits the first step of a two-step state (or the ``after`` of a caller
cue) opens an *exchange*; the caller turns that follow answer it until the agent speaks again. A caller turn that
hits the answer step sets the state; one that hits the step's ``and not`` ends the exchange unanswered.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from trace_engine import _core
from trace_engine.gate import context

if TYPE_CHECKING:
    from trace_engine.evidence.scorecard import Scorecard
    from trace_engine.gate.engine import Engine
    from trace_engine.gate.stream import AgentStream

#: what is stored for a turn the gate could not look at and could not redact either
WITHHELD = "[withheld: the gate could not check this turn]"
#: turns that are kept on the timeline but never scored (not speech)
UNSCORED_ROLES = frozenset({"system", "tool"})
NOT_APPLICABLE, MISSING_FACT = context.NOT_APPLICABLE, context.MISSING_FACT


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


class Call(_core.CallCore):
    """One call through the gate. Create with :meth:`Engine.start_call`; finish with :meth:`end`.

    ``agent_turn(text, t=None) -> Decision`` checks one agent turn before it is spoken; ``caller_turn(text, t=None)``
    feeds what the caller said (cues, answers; PII redacted from storage); ``other_turn(role, text, t=None)`` keeps a
    ``system``/``tool`` turn on the timeline, unscored. They never raise on content; on an internal error or past
    ``inline_timeout_ms`` the gate fails open (or closed, with ``fail_open: false``) and stores nothing raw.
    """

    def __new__(cls, engine: Engine, call_id: str, **kwargs: Any) -> Call:
        return super().__new__(cls, engine.core, tuple(engine.observers), [])

    def __init__(
        self,
        engine: Engine,
        call_id: str,
        *,
        agent_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tenant: str = "default",
        product: str | None = None,
        trace: bool = False,
    ) -> None:
        self.engine = engine
        self.program = engine.program
        self.call_id = call_id
        self.agent_id = agent_id
        self.tenant = tenant
        self.product = product
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.started_at_ms = int(time.time() * 1000)
        #: facts given by :meth:`update_facts` (they override the metadata)
        self._updates: dict[str, Any] = {}
        #: each :meth:`update_facts`: ``{"seq", "t", "facts"}`` (what was given, as shown on the timeline)
        self.fact_changes: list[dict[str, Any]] = []
        self._load_context()
        if trace:
            self._trace(True)  # before the call opens: its call-start windows are events too
        self._start()

    # ----------------------------------------------------------------------------------------- context

    def _load_context(self) -> None:
        engine = self.engine
        self.fact_info = context.resolve(engine, self.agent_id, self.metadata, self._updates)
        #: what expressions, scopes and variables read: the usable facts, normalized
        self.facts: dict[str, Any] = self.fact_info.values
        values = context.variables(engine, self.facts)
        self._set_context(self.facts, context.scope_off(engine, self.fact_info), values.tokens, values.exempt, values.fill)

    @property
    def scope_off(self) -> dict[int, tuple[str, str, bool]]:
        """Rule index -> ``(NOT_APPLICABLE | MISSING_FACT, reason, decided by the pack's scope)``, for the rules off
        on this call (decided at call start and on :meth:`update_facts`, never per turn)."""
        return {i: (MISSING_FACT if missing else NOT_APPLICABLE, why, from_pack) for i, missing, why, from_pack in self._scope_off}

    def missing_reason(self, keys: list[str]) -> str:
        """Why facts are missing: not given at all, or given in a form that cannot be used (the value named)."""
        return context.missing_reason(self.fact_info, keys)

    def _check_turn(self, text: Any, t: Any, where: str) -> None:
        """The API-boundary checks of a turn (see the module docstring); raises, or returns when all is well."""
        if self.ended:
            raise CallEndedError(f"{where}: call {self.call_id!r} has ended; start a new call for more turns")
        _check_text(text, where)
        _check_time(t, where)

    # ----------------------------------------------------------------------------------------- facts

    def update_facts(self, t: float | None = None, **facts: Any) -> None:
        """Tell the gate facts it learned during the call (``call.update_facts(answered_by="voicemail", t=4.2)``).

        Keys are call facts (:data:`trace_engine.facts.FACTS`; ``answered_by_twilio`` too) or any other metadata key
        a pack reads; ``None`` withdraws a value given by an earlier update. The facts override the call's metadata
        and take effect from the next turn: scopes (``applies_to``) are decided again, ``when`` conditions see the
        new values, and metadata requirements not decided yet are checked. The change goes on the timeline (role
        ``facts``) and into the scorecard (``fact_changes``; ``facts`` holds the facts in force at the end). Never
        raises: a failure counts as a fail-open event, like a failed turn. After :meth:`end` it does nothing (unlike
        a turn, which raises :class:`CallEndedError`): an AMD result may well arrive after the hang-up, and the
        scorecard is already signed.
        """
        try:
            if self.ended or not facts:
                return
            _check_time(t, "update_facts")  # raises into the fail-open count below, like a turn's failure
            for key, value in facts.items():
                if value is None:
                    self._updates.pop(key, None)
                else:
                    self._updates[key] = value
            self._begin_update(t)
            self._load_context()
            if self._has_pending_requires():
                self._check_requires(t if t is not None else self.last_t)
            shown = {key: context.shown_fact(key, value, self.fact_info) for key, value in facts.items()}
            self.fact_changes.append({"seq": self.seq, "t": t, "facts": shown})
            self._facts_event(", ".join(f"{k}: {v}" for k, v in shown.items()), t)
        except Exception:  # noqa: BLE001 - like a turn, a fact update must never break the call
            self.errors += 1
            self.fail_open_events += 1

    # ----------------------------------------------------------------------------------------- Tier-2, streams

    def take_preempt(self) -> tuple[str, ...]:
        """Remove and return the pending Tier-2 ``preempt_next`` instructions.

        A turn loop calls this right before it starts the next generation and puts them into the model's
        instructions, so they shape the turn they were meant for; what it does not take rides on the next
        :attr:`Decision.preempt`, after the fact."""
        pending = tuple(self.preempt)
        if pending:
            del self.preempt[: len(pending)]  # Tier-2 may append meanwhile: keep what came after
        return pending

    def agent_stream(self, t: float | None = None) -> AgentStream:
        """Start a streamed agent turn: ``feed`` chunks as the LLM produces them, then ``close``."""
        if self.ended:
            raise CallEndedError(f"agent_stream: call {self.call_id!r} has ended; start a new call for more turns")
        _check_time(t, "agent_stream")
        if self._late_pending:
            self._settle()
        return stream.AgentStream(self, t)

    # ----------------------------------------------------------------------------------------- end

    def end(self, t: float | None = None) -> Scorecard:
        """Close the call and return its scorecard (also handed to the engine's evidence writer, if any).

        A call ends once: a second ``end()`` raises :class:`CallEndedError` (the scorecard was already written).
        """
        from trace_engine.gate.scoring import build_scorecard

        if self.ended:
            raise CallEndedError(f"end: call {self.call_id!r} has already ended")
        _check_time(t, "end")
        if self._late_pending:
            self._settle()
        self._end(t)
        card = build_scorecard(self)
        for observer in self._observers:
            try:
                observer.on_end(self, card)
            except Exception:  # noqa: BLE001 - an observer's failure never reaches the turn loop
                pass
        writer = self.engine.writer
        if writer is not None:
            try:
                writer.submit(card)
            except Exception:  # noqa: BLE001 - the writer counts its own losses; the call is over either way
                pass
        return card


# Imported last, as a module: ``stream`` subclasses the core's stream and imports this module's errors, so it can
# only be bound once ``Call`` exists. A module-level name, not an import inside ``agent_stream``: that import ran on
# every stream (6.7k of the 17k instructions a stream cost to create, by callgrind).
from trace_engine.gate import stream  # noqa: E402
