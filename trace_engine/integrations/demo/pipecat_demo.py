"""A scripted call through a real Pipecat pipeline (PipelineWorker + WorkerRunner), no audio, no network.

    transcripts() -> [context: the user-aggregator stand-in] -> instructions() -> ScriptedLLM -> gate()
    -> CaptureTTS (plays words as TTSTextFrame, barges in on cue) -> spoken()
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from pipecat.frames.frames import (
    EndFrame,
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSSpeakFrame,
    TTSTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.workers.runner import WorkerRunner

from trace_engine.integrations.core import TraceSession
from trace_engine.integrations.demo import (
    CHUNK,
    DemoCall,
    DemoResult,
    chunks,
    side_event,
    turn_line,
)
from trace_engine.integrations.pipecat import TracePipecat


class ScriptedLLM(FrameProcessor):
    """Stands in for an LLM service: on each ``LLMContextFrame`` it streams the next scripted reply."""

    def __init__(self, chunk: int = CHUNK, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replies: deque[str] = deque()
        self.chunk = chunk
        self.system_seen: list[str] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            for message in frame.context.get_messages():
                if message.get("role") in ("system", "developer") and isinstance(message.get("content"), str):
                    self.system_seen.append(message["content"])
            reply = self.replies.popleft() if self.replies else ""
            await self.push_frame(LLMFullResponseStartFrame())
            for piece in chunks(reply, self.chunk):
                await self.push_frame(LLMTextFrame(piece))
                await asyncio.sleep(0)  # a token stream, not one burst
            await self.push_frame(LLMFullResponseEndFrame())
            return
        await self.push_frame(frame, direction)


class CaptureTTS(FrameProcessor):
    """Stands in for the TTS and the speaker: "plays" each whole word it receives as a ``TTSTextFrame`` and, on
    cue, barges in (broadcasts an ``InterruptionFrame``) once a turn has played ``n`` characters."""

    def __init__(self, interrupt_at: dict[int, int], heard: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interrupt_at = interrupt_at
        self.heard = heard  # what the speech tracker downstream has seen played (a real transport is slower)
        self.turn = 0
        self.text = ""
        self.played = 0
        self.cut = False
        self.done = asyncio.Event()

    async def _start_turn(self) -> None:
        self.turn += 1
        self.text, self.played, self.cut = "", 0, False

    async def _play(self, final: bool) -> None:
        """Play the whole words received so far (all of it at the turn's end), up to the barge-in cue."""
        limit = self.interrupt_at.get(self.turn)
        end = len(self.text) if final else self.text.rfind(" ") + 1
        while not self.cut and self.played < end:
            start = self.played
            while start < end and self.text[start].isspace():
                start += 1
            stop = start
            while stop < end and not self.text[stop].isspace():
                stop += 1
            if start == stop:
                self.played = end
                break
            if limit is not None and stop > limit:
                self.cut = True
                said = self.text[: self.played].split()
                for _ in range(10_000):  # the words already played have reached the listener
                    if self.heard is None or len(self.heard().split()) >= len(said):
                        break
                    await asyncio.sleep(0)
                await self.broadcast_interruption()
                self.done.set()
                return
            await self.push_frame(TTSTextFrame(self.text[start:stop], text_type="word"))
            self.played = stop

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction != FrameDirection.DOWNSTREAM:
            await self.push_frame(frame, direction)
            return
        if isinstance(frame, LLMFullResponseStartFrame):
            await self._start_turn()
        elif isinstance(frame, LLMTextFrame):
            if not self.cut:
                self.text += frame.text
                await self._play(final=False)
            return
        elif isinstance(frame, LLMFullResponseEndFrame):
            await self._play(final=True)
            self.done.set()
        elif isinstance(frame, TTSSpeakFrame):
            await self._start_turn()
            self.text = frame.text
            await self._play(final=True)
            self.done.set()
            return
        await self.push_frame(frame, direction)


async def run(
    session: TraceSession,
    call: DemoCall,
    *,
    clock: Any = None,
    tier2: Any = None,
    chunk: int = CHUNK,
) -> DemoResult:
    """Play ``call`` through a Pipecat pipeline gated by ``session``."""
    trace = TracePipecat(session)
    llm = ScriptedLLM(chunk)
    spoken = trace.spoken()
    tts = CaptureTTS(call.interrupt_at, heard=lambda: spoken.heard)
    pipeline = Pipeline([trace.transcripts(), trace.instructions(), llm, trace.gate(), tts, spoken])
    worker = PipelineWorker(pipeline, cancel_on_idle_timeout=False, enable_rtvi=False)
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker: Any, _frame: Any) -> None:
        started.set()

    context = LLMContext()

    async def speak_and_wait(frame: Frame) -> None:
        tts.done.clear()
        await worker.queue_frame(frame)
        await asyncio.wait_for(tts.done.wait(), timeout=30)

    async def settle(predicate: Any) -> None:
        for _ in range(10_000):
            if predicate():
                return
            await asyncio.sleep(0)
        raise TimeoutError("the pipeline did not process the frame")

    async def drive() -> None:
        await asyncio.wait_for(started.wait(), timeout=30)
        steps = list(call.steps)
        if call.greeting is not None:
            if clock is not None:
                clock.now = steps[0].t or 0.0
            greeting = trace.greeting_frame()
            if greeting is not None:
                await speak_and_wait(greeting)
            steps = steps[1:]
        for step in steps:
            if clock is not None and step.t is not None:
                clock.now = step.t
            if side_event(session, step):
                continue
            if step.kind == "caller":
                before = session.call.seq
                context.add_message({"role": "user", "content": step.text})
                await worker.queue_frame(TranscriptionFrame(step.text, "caller", ""))
                await settle(lambda before=before: session.call.seq > before)
            elif step.kind == "agent":
                if tier2 is not None:
                    await asyncio.get_running_loop().run_in_executor(None, tier2.flush, 5.0)
                llm.replies.append(step.text)
                await speak_and_wait(LLMContextFrame(context))
                context.add_message({"role": "assistant", "content": session.current.spoken if session.current else ""})
        await worker.queue_frame(EndFrame())

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await asyncio.gather(runner.run(), drive())
    card = session.end()
    return DemoResult([turn_line(t) for t in session.turns], card, list(session.handoffs), llm.system_seen)
