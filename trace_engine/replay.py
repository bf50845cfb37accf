"""Replay a transcript through the gate and attribute what happened to each turn.

Shared by ``trace test`` (pack tests in ``.calls`` files), ``trace explain`` and offline re-scoring: a
:class:`Replay` drives a real :class:`~trace_engine.gate.call.Call` turn by turn and records, per turn, the
findings, the requirements it satisfied and the states it set. Nothing here re-implements rule semantics.

With ``trace=True`` the core's tracer is on for the call and each report also carries the evaluator's events for
its turn (:func:`describe_events`): what matched, what an exception or a state allowed, which rules did not apply,
which obligations were met or closed unmet, which rules did not fire and why. Off (the default, and always on the live gate), tracing costs nothing.

A replay can stream its agent turns (``stream_words``): each is fed to an :class:`~trace_engine.gate.stream.AgentStream`
a few words at a time and closed. The feeds are not traced (their evaluation is provisional); the close is the
turn's final evaluation and is traced like a whole turn, so a streamed turn explains itself as the same turn
checked whole does. :func:`explain_transcript` is ``trace explain``'s one code path (the CLI and the API's
``/v1/trace/interactions/{id}/explain`` both call it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from trace_engine.explain import describe_events
from trace_engine.gate.call import UNSCORED_ROLES, Call
from trace_engine.gate.decision import Decision
from trace_engine.gate.engine import Engine
from trace_engine.transcripts import Transcript


def feed_turn(
    call: Call, role: str, text: str, t: float | None = None, *, stream_words: int | None = None
) -> Decision | None:
    """Feed one transcript turn to ``call`` by its role: ``agent`` turns are checked (and so are turns whose
    speaker is ``unknown``: nothing an agent must not say escapes), ``caller`` turns open cues and set states,
    ``system``/``tool`` turns are kept on the timeline unscored, and ``facts`` (a pack test's ``facts:`` line, ``text``
    a JSON object) are call facts learned mid-call (``Call.update_facts``). Returns the agent turn's decision.

    With ``stream_words``, an agent turn is streamed instead: fed ``stream_words`` words at a time (each chunk
    keeps the whitespace after its words, so the chunks join to ``text`` exactly), then closed."""
    if role == "agent" or role == "unknown":
        if stream_words is None:
            return call.agent_turn(text, t)
        stream = call.agent_stream(t)
        for chunk in word_chunks(text, stream_words):
            stream.feed(chunk)
        return stream.close()
    if role == "caller":
        call.caller_turn(text, t)
    elif role in UNSCORED_ROLES:
        call.other_turn(role, text, t)
    elif role == "facts":
        call.update_facts(t, **json.loads(text))
    else:
        raise ValueError(f"unknown role {role!r}")
    return None


def word_chunks(text: str, words: int) -> list[str]:
    """``text`` cut after every ``words`` words (at least 1), whitespace kept: ``"".join(chunks) == text``."""
    words = max(1, int(words))
    pieces = re.findall(r"\s*\S+\s*", text) or [text]  # the first piece takes any leading whitespace
    return ["".join(pieces[i : i + words]) for i in range(0, len(pieces), words)]


def model_pieces(text: str, letters: int = 4) -> list[str]:
    """``text`` in the pieces a model's API streams it in: each word with the whitespace before it, in pieces of up
    to ``letters`` characters (``" Tha"``, ``"nks"``), so that nearly every piece ends inside a word:
    ``"".join(pieces) == text``."""
    return re.findall(rf"\s*\S{{1,{max(1, int(letters))}}}|\s+", text)


@dataclass(slots=True)
class TurnReport:
    """What one turn did.

    Fields:
        index: position in the transcript (0-based); ``-1`` for call start, ``len(turns)`` for call end. People see
            :attr:`turn` instead, which is 1-based like a finding's ``turn`` in the scorecard and ``trace show``.
        role: ``agent``, ``caller``, ``unknown`` (scored as the agent), ``system``/``tool`` (not scored),
            ``start`` or ``end``.
        text: the turn as given.
        t: seconds since call start, if known.
        findings: finding dicts (scorecard shape) recorded on this turn.
        satisfied: rule ids whose requirement this turn met.
        states: states this turn set.
        spoken: what the gate let the agent say (agent turns only).
        action: the gate's action (agent turns only).
        streamed: the agent turn was streamed (fed in chunks, then closed); its events are the close's.
        events: the evaluator's events for this turn (:func:`describe_events`), when the replay is traced.
    """

    index: int
    role: str
    text: str
    t: float | None
    findings: list[dict[str, Any]] = field(default_factory=list)
    satisfied: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    spoken: str | None = None
    action: str | None = None
    streamed: bool = False
    events: list[dict[str, Any]] | None = None

    @property
    def turn(self) -> int | None:
        """The turn number (1-based, every role alike, as in scorecards); ``None`` for call start and end."""
        return self.index + 1 if self.role not in ("start", "end") else None

    @property
    def fired(self) -> set[str]:
        return {f["rule_id"] for f in self.findings}

    def to_dict(self) -> dict[str, Any]:
        return {
            "turn": self.turn,
            "role": self.role,
            "text": self.text,
            "t": self.t,
            "action": self.action,
            "spoken": self.spoken,
            "findings": self.findings,
            "satisfied": self.satisfied,
            "states": self.states,
            **({"streamed": True} if self.streamed else {}),
            **({"events": self.events} if self.events is not None else {}),
        }


class Replay:
    """Drive one call through ``engine`` and collect :class:`TurnReport` objects."""

    def __init__(
        self, engine: Engine, call_id: str, metadata: dict[str, Any] | None = None, *, trace: bool = False, **kwargs: Any
    ) -> None:
        self.engine = engine
        self.trace = trace
        self.call: Call = engine.start_call(call_id, metadata=metadata, trace=trace, **kwargs)
        self.reports: list[TurnReport] = []
        self._seen_findings = 0
        self._seen_satisfied: set[int] = set()
        self._seen_states: set[str] = set()
        self.reports.append(self._collect(TurnReport(-1, "start", "", 0.0)))

    def _collect(self, report: TurnReport) -> TurnReport:
        call = self.call
        report.findings = call.findings[self._seen_findings :]
        self._seen_findings = len(call.findings)
        rules = call.program.rules
        for index in call.rule_satisfied:
            if index not in self._seen_satisfied:
                self._seen_satisfied.add(index)
                report.satisfied.append(rules[index].rule_id)
        for name, value in call.states.items():
            if value and name not in self._seen_states:
                self._seen_states.add(name)
                report.states.append(name)
        if self.trace:
            report.events = describe_events(self.engine, call._take_trace(), report.text)
        return report

    def turn(self, role: str, text: str, t: float | None = None, *, stream_words: int | None = None) -> TurnReport:
        """Feed one turn (see :func:`feed_turn` for the roles and ``stream_words``)."""
        report = TurnReport(len(self.reports) - 1, role, text, t)
        decision = feed_turn(self.call, role, text, t, stream_words=stream_words)
        if decision is not None:
            report.spoken, report.action = decision.text, decision.action
            report.streamed = stream_words is not None
        self.reports.append(self._collect(report))
        return report

    def end(self, t: float | None = None):  # noqa: ANN201 - returns the Scorecard
        card = self.call.end(t)
        self.reports.append(self._collect(TurnReport(len(self.reports) - 1, "end", "", self.call.last_t)))
        return card



@dataclass(slots=True)
class Explained:
    """One call explained (:func:`explain_transcript`): the transcript, its traced replay and the scorecard."""

    transcript: Transcript
    replay: Replay
    card: Any

    def to_dict(self) -> dict[str, Any]:
        """``trace explain --format json``'s object for the call (the API's explain view embeds it)."""
        card = self.card
        return {
            "call_id": self.transcript.call_id,
            "verdict": card.verdict,
            "packs_enforced": card.packs_enforced,
            "turns": [r.to_dict() for r in self.replay.reports],
            "not_evaluated": [n.to_dict() for n in card.not_evaluated],
            "not_applicable": [n.to_dict() for n in card.not_applicable or ()],
        }


def explain_transcript(engine: Engine, transcript: Transcript, *, stream_words: int | None = None) -> Explained:
    """``trace explain`` of one call: the transcript replayed through ``engine`` with the tracer on (agent turns
    streamed ``stream_words`` words at a time when given)."""
    replay = Replay(engine, transcript.call_id, metadata=transcript.metadata, agent_id=transcript.agent_id, trace=True)
    for role, text, t in transcript.turns:
        replay.turn(role, text, t, stream_words=stream_words)
    return Explained(transcript, replay, replay.end())
