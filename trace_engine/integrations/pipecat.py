"""Pipecat: the Trace gate as frame processors in a Pipecat pipeline (``pip install 'trace-engine[pipecat]'``).

::

    trace = TracePipecat(TraceSession(engine, call_id, profile=profile, on_handoff=transfer))
    pipeline = Pipeline([
        transport.input(), stt,
        trace.transcripts(),            # TranscriptionFrame -> caller turn
        context_aggregator.user(),
        trace.instructions(),           # LLMContextFrame: pending preempt_next -> a system message, before the LLM
        llm,
        trace.gate(),                   # LLMTextFrame -> only safe text; block -> fallback; handoff -> transfer
        tts,
        transport.output(),
        trace.spoken(),                 # TTSTextFrame words played -> barge-in keeps only what was heard
        context_aggregator.assistant(),
    ])
    # on connect: await worker.queue_frame(trace.greeting_frame())   # gated like every TTSSpeakFrame

``gate()`` treats ``LLMFullResponseStartFrame`` … ``LLMFullResponseEndFrame`` as one agent turn and pushes
``LLMTextFrame`` s holding only what the gate released (so the TTS aggregates sentences as usual); a
``TTSSpeakFrame`` or any other ``TextFrame`` (a canned line, the greeting, a filler) is one whole agent turn. On an ``InterruptionFrame`` the turn is
cut: ``spoken()``, placed after the output transport, knows which words were played and re-scores the turn on
them; without it, everything released counts as spoken.
"""

from __future__ import annotations

from typing import Any

from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InterimTranscriptionFrame,
    InterruptionFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TextFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    TTSTextFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from trace_engine.integrations.core import AgentTurn, TraceSession
from trace_engine.integrations.instructions import instruction_text

#: text frames that are not the agent's speech (transcripts of the caller, words already played)
_NOT_SPEECH = (TranscriptionFrame, InterimTranscriptionFrame, TTSTextFrame)


class TracePipecat:
    """Builds the four processors that put one :class:`TraceSession` into a pipeline (see the module doc)."""

    def __init__(self, session: TraceSession, *, instructions_role: str = "system") -> None:
        self.session = session
        self.instructions_role = instructions_role
        self.tracks_speech = False

    def transcripts(self) -> FrameProcessor:
        """Before the user context aggregator: final caller transcripts become caller turns."""
        return TraceTranscripts(self)

    def instructions(self) -> FrameProcessor:
        """Between the user context aggregator and the LLM: preempt instructions edit the context first."""
        return TraceInstructions(self)

    def gate(self) -> FrameProcessor:
        """Between the LLM and the TTS: only what the gate releases reaches speech."""
        return TraceGate(self)

    def spoken(self) -> FrameProcessor:
        """After the output transport: counts the words played, for barge-in."""
        self.tracks_speech = True
        return TraceSpoken(self)

    def greeting_frame(self) -> TTSSpeakFrame | None:
        """The profile's opening line (consent line + greeting) as a frame to queue on connect; ``gate()`` checks
        it as the call's first agent turn."""
        opening = self.session.profile.opening()
        return TTSSpeakFrame(opening) if opening else None


class TraceTranscripts(FrameProcessor):
    """Final ``TranscriptionFrame`` s → :meth:`TraceSession.caller_turn`; every frame passes on."""

    def __init__(self, trace: TracePipecat, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session = trace.session

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame) and direction == FrameDirection.DOWNSTREAM:
            self._session.caller_turn(frame.text)
        await self.push_frame(frame, direction)


class TraceInstructions(FrameProcessor):
    """On each ``LLMContextFrame`` (a generation is about to start), pending preempt instructions are added to
    the context as a system message before the frame reaches the LLM."""

    def __init__(self, trace: TracePipecat, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._trace = trace

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame) and not frame.speculation:
            pending = await self._trace.session.before_generation()
            if pending:
                frame.context.add_message({"role": self._trace.instructions_role, "content": instruction_text(pending)})
        await self.push_frame(frame, direction)


class TraceGate(FrameProcessor):
    """The gate between the LLM and the TTS (see the module doc)."""

    def __init__(self, trace: TracePipecat, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._trace = trace
        self._session = trace.session
        self._turn: AgentTurn | None = None

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction != FrameDirection.DOWNSTREAM:
            await self.push_frame(frame, direction)
            return
        if isinstance(frame, LLMTextFrame):
            turn = self._turn
            if turn is None:  # text without a response start: a turn all the same
                turn = self._turn = self._session.agent_turn()
            released = turn.feed(frame.text)
            if released:
                out = LLMTextFrame(released)
                out.skip_tts = frame.skip_tts
                await self.push_frame(out)
            return
        if isinstance(frame, LLMFullResponseStartFrame):
            self._turn = self._session.agent_turn()
            await self.push_frame(frame, direction)
            return
        if isinstance(frame, LLMFullResponseEndFrame):
            await self._finish()
            await self.push_frame(frame, direction)
            return
        if isinstance(frame, TTSSpeakFrame) or (
            isinstance(frame, TextFrame) and not isinstance(frame, _NOT_SPEECH)
        ):  # a canned line (the greeting, a filler) is one whole agent turn
            turn = self._session.agent_turn()
            released = turn.feed(frame.text)
            result = await self._session.finish_turn(turn)
            text = released + result.tail
            if text.strip():
                frame.text = text
                await self.push_frame(frame, direction)
            return
        if isinstance(frame, InterruptionFrame):
            if not self._trace.tracks_speech:
                self._session.barge_in()  # no word timing downstream: all that was released counts as spoken
            self._turn = None
        elif isinstance(frame, (EndFrame, CancelFrame)) and not self._trace.tracks_speech:
            self._session.end()
        await self.push_frame(frame, direction)

    async def _finish(self):  # noqa: ANN202
        turn, self._turn = self._turn, None
        if turn is None or turn.result is not None:
            return None
        result = await self._session.finish_turn(turn)
        if result.tail:
            await self.push_frame(LLMTextFrame(result.tail))
        return result


class TraceSpoken(FrameProcessor):
    """After the output transport: ``TTSTextFrame`` s are the words played; on ``InterruptionFrame`` the current
    agent turn is cut to them. Ends the session on ``EndFrame`` / ``CancelFrame``."""

    def __init__(self, trace: TracePipecat, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._session = trace.session
        self._turn: AgentTurn | None = None
        self._words: list[str] = []

    @property
    def heard(self) -> str:
        """The words played so far of the agent turn being spoken."""
        return " ".join(self._words) if self._turn is self._session.current else ""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSTextFrame):
            current = self._session.current
            if current is not self._turn:
                self._turn, self._words = current, []
            self._words.append(frame.text)
        elif isinstance(frame, InterruptionFrame):
            self._session.barge_in(heard=self.heard)
            self._turn, self._words = None, []
        elif isinstance(frame, (EndFrame, CancelFrame)):
            self._session.end()
        await self.push_frame(frame, direction)
