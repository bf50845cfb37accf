"""The framework-neutral turn-loop adapter every integration is built on (asyncio).

One :class:`TraceSession` per call. The framework glue calls it at six points of the turn loop:

=====================  ==========================================================================================
call start             :meth:`TraceSession.start`: the profile's facts onto the call, the opening line (consent
                       line + greeting) through the gate as agent turn 1
caller transcript      :meth:`TraceSession.caller_turn`
before a generation    :meth:`TraceSession.before_generation`: pending ``preempt_next`` instructions are taken off
                       the call and handed to the ``on_instructions`` hook, which edits the model's instructions
model text             :meth:`TraceSession.agent_turn` → :meth:`AgentTurn.feed` (only safe text comes back) →
                       :meth:`TraceSession.finish_turn` (the tail; the transfer callback on handoff)
barge-in               :meth:`AgentTurn.interrupt` / :meth:`AgentTurn.interrupt_heard`: the evidence keeps what
                       was spoken and marks the rest ``interrupted``
AMD decision           :meth:`TraceSession.amd`: the decision becomes call facts, seen by the rules from the next
                       agent turn on
call end               :meth:`TraceSession.end`: the scorecard, also handed to the engine's evidence writer
=====================  ==========================================================================================

Nothing here imports a voice framework. The per-chunk path (:meth:`AgentTurn.feed`) is one attribute lookup and a
call into the gate's stream: the framework glue must stay within a few microseconds of the gate's own cost
(``benchmarks/bench_integrations.py`` measures it).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from trace_engine.gate.call import Call
from trace_engine.gate.decision import Decision
from trace_engine.gate.engine import Engine
from trace_engine.gate.stream import AgentStream

log = logging.getLogger("trace.integrations")

#: the AMD event's keys that are call facts (seed 003: PyAI's vocabulary and Twilio's ``AnsweredBy`` enum)
AMD_FACTS = ("answered_by", "answered_by_twilio")


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """What the gate needs of an agent profile (seed 001 ``Agent`` / ``AgentConfig``).

    Fields:
        agent_id: the profile's id (``agent_...``).
        greeting: the opening line spoken on connect.
        consent_line: the compliance line spoken first when recordings are enabled.
        recordings_enabled: whether the call is recorded; becomes the ``recording_enabled`` call fact.
        metadata: the profile's key/value annotations; keys that are call facts (``business_name``,
            ``agent_name``, ``direction``...) are passed to the call.
    """

    agent_id: str | None = None
    greeting: str | None = None
    consent_line: str | None = None
    recordings_enabled: bool | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentProfile:
        """Read a seed ``Agent`` (or ``AgentConfig``) object; other keys (voice, tools...) are ignored."""
        if not isinstance(data, dict):
            raise TypeError("an agent profile is a JSON object")
        meta = data.get("metadata") or {}
        if not isinstance(meta, dict):
            raise TypeError("agent profile metadata must be an object")
        recordings = data.get("recordings_enabled")
        return cls(
            agent_id=_opt_str(data, "agent_id"),
            greeting=_opt_str(data, "greeting"),
            consent_line=_opt_str(data, "consent_line"),
            recordings_enabled=bool(recordings) if recordings is not None else None,
            metadata={str(k): str(v) for k, v in meta.items()},
        )

    def facts(self) -> dict[str, Any]:
        """Call facts from the profile: ``recording_enabled`` plus its metadata."""
        out: dict[str, Any] = dict(self.metadata)
        if self.recordings_enabled is not None:
            out["recording_enabled"] = self.recordings_enabled
        return out

    def opening(self) -> str | None:
        """The first thing the agent says: the consent line (when recording) then the greeting."""
        parts = []
        if self.recordings_enabled and self.consent_line and self.consent_line.strip():
            parts.append(self.consent_line.strip())
        if self.greeting and self.greeting.strip():
            parts.append(self.greeting.strip())
        return " ".join(parts) or None


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"agent profile {key} must be a string")
    return value


@dataclass(frozen=True, slots=True)
class HandoffRequest:
    """Handed to the host's transfer callback when the gate hands a turn to a person.

    Fields:
        call_id: the call.
        line: what the agent says before the transfer (the config's ``handoff_line``), or ``None``.
        rule_ids: the rules that asked for it.
        decision: the gate's decision on the turn.
    """

    call_id: str
    line: str | None
    rule_ids: tuple[str, ...]
    decision: Decision


class TurnResult(NamedTuple):
    """The end of one agent turn: ``tail`` is what remains to be spoken after the fed chunks' releases."""

    tail: str
    decision: Decision
    handoff: bool


class AgentTurn:
    """One agent turn through the gate. Create with :meth:`TraceSession.agent_turn`."""

    __slots__ = ("session", "stream", "index", "preempt_before", "result", "feed")

    def __init__(self, session: TraceSession, stream: AgentStream, index: int, preempt_before: tuple[str, ...]):
        self.session = session
        self.stream = stream
        self.index = index
        self.preempt_before = preempt_before
        self.result: TurnResult | None = None
        #: ``feed(chunk) -> str``: the part of the turn now safe to speak (the gate's own method, no wrapper)
        self.feed: Callable[[str], str] = stream.feed

    @property
    def suppressing(self) -> bool:
        """The turn will be replaced (block) or handed off, whatever the model writes next."""
        return self.stream.suppressing

    @property
    def released(self) -> str:
        """Everything handed to speech so far (the fed releases, plus the tail once finished)."""
        return self.stream.emitted + self.stream.tail

    @property
    def spoken(self) -> str:
        """What the caller heard: :attr:`released`, or its spoken part after a barge-in."""
        return self.stream.spoken

    @property
    def interrupted(self) -> bool:
        return self.stream.interrupted

    def interrupt(self, spoken_chars: int, *, detect_ms: float | None = None) -> Decision:
        """Barge-in after ``spoken_chars`` characters of :attr:`released` were spoken (see
        :meth:`AgentStream.interrupt`). Idempotent: a second barge-in on the same turn is ignored."""
        if self.stream.interrupted:
            return self.stream.decision or Decision("pass", self.stream.spoken)
        decision = self.stream.interrupt(spoken_chars, detect_ms=detect_ms)
        if self.result is None:  # interrupted while the model was still writing: nothing more is spoken
            self.result = TurnResult("", self.stream.decision or decision, False)
        return decision

    def interrupt_heard(self, heard: str, *, detect_ms: float | None = None) -> Decision:
        """Barge-in, given the words speech reports as played (a TTS's word timestamps, a synchronized
        transcript): aligned to :attr:`released` word by word, since TTS text need not match it character for
        character."""
        return self.interrupt(heard_chars(self.released, heard), detect_ms=detect_ms)


def heard_chars(released: str, heard: str) -> int:
    """The length of the prefix of ``released`` that holds as many words as ``heard`` (trailing space included)."""
    words = len(heard.split())
    if words == 0:
        return 0
    count = 0
    in_word = False
    for i, ch in enumerate(released):
        if ch.isspace():
            if in_word:
                count += 1
                in_word = False
                if count == words:
                    end = i
                    while end < len(released) and released[end].isspace():
                        end += 1
                    return end
        else:
            in_word = True
    return len(released)


InstructionsHook = Callable[[tuple[str, ...]], Awaitable[None] | None]
HandoffHook = Callable[[HandoffRequest], Awaitable[Any] | Any]


class TraceSession:
    """One call through the Trace gate, for a voice-agent turn loop. See the module docstring for the flow.

    Args:
        engine: the compiled config (:meth:`Engine.from_config`, :meth:`Engine.from_service`...).
        call_id: the call's id in the evidence.
        profile: the agent profile (greeting, consent line, recordings) as an :class:`AgentProfile` or a seed
            ``Agent`` dict.
        metadata: call facts (direction, local_time, business_name...); they win over the profile's.
        on_handoff: the host's transfer (e.g. Omni's ``transfer_to_human`` engine tool); sync or async.
        on_instructions: edits the model's instructions before a generation; sync or async.
        clock: seconds since call start; defaults to a monotonic clock started at construction.
    """

    def __init__(
        self,
        engine: Engine,
        call_id: str,
        *,
        profile: AgentProfile | dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        agent_id: str | None = None,
        tenant: str = "default",
        product: str | None = None,
        on_handoff: HandoffHook | None = None,
        on_instructions: InstructionsHook | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if isinstance(profile, dict):
            profile = AgentProfile.from_dict(profile)
        self.profile = profile or AgentProfile()
        facts = {**self.profile.facts(), **(metadata or {})}
        self.engine = engine
        self.call: Call = engine.start_call(
            call_id, agent_id=agent_id or self.profile.agent_id, metadata=facts, tenant=tenant, product=product
        )
        self.on_handoff = on_handoff
        self.on_instructions = on_instructions
        started = time.monotonic()
        self.clock = clock or (lambda: time.monotonic() - started)
        self.turns: list[AgentTurn] = []
        self.current: AgentTurn | None = None
        self.handoffs: list[HandoffRequest] = []
        self._instructions: tuple[str, ...] = ()
        self.scorecard: Any = None

    @classmethod
    def from_service(cls, url: str, key: str, agent_id: str, call_id: str, *, cache_dir: str | None = None,
                     **kwargs: Any) -> TraceSession:
        """A session whose config and packs are pulled from a Trace service (ETag-cached, last good config when
        the service is unreachable; see :meth:`Engine.from_service`)."""
        engine = Engine.from_service(url, key, agent_id, cache_dir=cache_dir)
        return cls(engine, call_id, agent_id=agent_id, **kwargs)

    # ----------------------------------------------------------------------------------------- the loop

    def _t(self, t: float | None) -> float:
        return self.clock() if t is None else t

    async def start(self, t: float | None = None) -> AgentTurn | None:
        """Call start: the opening line through the gate. Returns the finished turn (speak ``result.tail``), or
        ``None`` when the profile has no opening line."""
        opening = self.profile.opening()
        if opening is None:
            return None
        turn = self.agent_turn(t)
        turn.feed(opening)
        await self.finish_turn(turn)
        return turn

    def caller_turn(self, text: str, t: float | None = None) -> None:
        """A final caller transcript (interim ones are not turns)."""
        if text and text.strip():
            self.call.caller_turn(text, self._t(t))

    async def before_generation(self) -> tuple[str, ...]:
        """Right before the model generates the next agent turn: hand pending ``preempt_next`` instructions to
        the ``on_instructions`` hook. Returns them (empty when there were none)."""
        pending = self.call.take_preempt()
        if pending:
            self._instructions = self._instructions + pending
            if self.on_instructions is not None:
                await _maybe_await(self.on_instructions(pending))
        return pending

    def agent_turn(self, t: float | None = None) -> AgentTurn:
        """Start an agent turn: feed it the model's text as it streams. A turn still open is finished first
        (its tail unspoken: the model moved on)."""
        if self.current is not None and self.current.result is None:
            self._close(self.current)
        turn = AgentTurn(self, self.call.agent_stream(self._t(t)), len(self.turns) + 1, self._instructions)
        self._instructions = ()
        self.turns.append(turn)
        self.current = turn
        return turn

    def _close(self, turn: AgentTurn) -> TurnResult:
        if turn.result is None:
            decision = turn.stream.close()
            turn.result = TurnResult(turn.stream.tail, decision, decision.handoff)
        return turn.result

    async def finish_turn(self, turn: AgentTurn) -> TurnResult:
        """The model finished writing: returns the tail to speak; on handoff, calls the transfer callback."""
        already = turn.result is not None
        result = self._close(turn)
        if result.handoff and not already:
            request = HandoffRequest(
                self.call.call_id,
                result.decision.text,
                tuple(dict.fromkeys(f.rule_id for f in result.decision.findings)),
                result.decision,
            )
            self.handoffs.append(request)
            if self.on_handoff is not None:
                try:
                    await _maybe_await(self.on_handoff(request))
                except Exception:  # noqa: BLE001 - the host's transfer failing must not break the turn loop
                    log.exception("the handoff callback failed on call %s", self.call.call_id)
        return result

    def barge_in(self, *, heard: str | None = None, spoken_chars: int | None = None,
                 detect_ms: float | None = None) -> Decision | None:
        """The caller talked over the current agent turn (no-op when no turn is being spoken)."""
        turn = self.current
        if turn is None or turn.interrupted:
            return None
        if heard is not None:
            return turn.interrupt_heard(heard, detect_ms=detect_ms)
        return turn.interrupt(len(turn.released) if spoken_chars is None else spoken_chars, detect_ms=detect_ms)

    def amd(self, event: dict[str, Any], t: float | None = None) -> dict[str, Any]:
        """An answering-machine-detection decision (seed 003's ``amd`` event): ``answered_by`` and
        ``answered_by_twilio`` become call facts, which the rules see from the next agent turn on. Returns the
        facts applied."""
        facts = {k: event[k] for k in AMD_FACTS if isinstance(event.get(k), str) and event[k]}
        if facts:
            self.call.update_facts(t=self._t(t), **facts)
        return facts

    def end(self, t: float | None = None) -> Any:
        """Call end: closes an open turn and returns the scorecard (handed to the engine's evidence writer)."""
        if self.current is not None and self.current.result is None:
            self._close(self.current)
        if self.scorecard is None:
            self.scorecard = self.call.end(t=self._t(t))
        return self.scorecard


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
