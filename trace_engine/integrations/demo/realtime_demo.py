"""A scripted call through a fake OpenAI-Realtime-style server on loopback (``websockets``), gated by
:class:`~trace_engine.integrations.realtime.RealtimeGate`. The "app" is a capture sink that plays the audio the
gate lets through and barges in on cue.

The fake server speaks the protocol's events (``session.created``, ``response.created``,
``response.output_audio_transcript.delta`` with ``response.output_audio.delta``, ``response.done``,
``input_audio_buffer.*``, ``conversation.item.input_audio_transcription.completed``...) and honours
``session.update``, ``response.create`` (including out-of-band ``conversation: "none"``), ``response.cancel`` and
``conversation.item.truncate``. Two test-only client events stand in for the caller's audio: ``fake.caller``
(the caller says a line) and ``fake.barge`` (the caller starts talking).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import deque
from typing import Any

import websockets

from trace_engine.integrations.core import TraceSession
from trace_engine.integrations.demo import (
    CHUNK,
    DemoCall,
    DemoResult,
    chunks,
    side_event,
    turn_line,
)
from trace_engine.integrations.realtime import RealtimeGate, audio_delta

#: fake audio: this many PCM16 bytes per transcript character (~ 150 words a minute at 24 kHz)
BYTES_PER_CHAR = 3000
_SAY = re.compile(r"word for word, and nothing else: (.*)\Z", re.S)


class FakeRealtimeServer:
    """A scripted realtime server on 127.0.0.1 (see the module doc). ``received`` holds every client event."""

    def __init__(self, replies: list[str] | None = None, *, chunk: int = CHUNK, instructions: str = "You are Sam.") -> None:
        self.replies: deque[str] = deque(replies or [])
        self.chunk = chunk
        self.instructions = instructions
        self.received: list[dict[str, Any]] = []
        self.instructions_at_response: list[str] = []
        self.port = 0
        self._server: Any = None
        self._n = 0
        self._streaming: asyncio.Task | None = None

    async def __aenter__(self) -> FakeRealtimeServer:
        self._server = await websockets.serve(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/realtime?model=pyai-omni-realtime"

    def _id(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n:04d}"

    async def _handle(self, ws: Any) -> None:
        async def emit(event: dict[str, Any]) -> None:
            event.setdefault("event_id", self._id("event"))
            await ws.send(json.dumps(event))

        await emit({"type": "session.created", "session": {"instructions": self.instructions}})
        try:
            await self._serve(ws, emit)
        except websockets.ConnectionClosed:
            pass
        finally:
            if self._streaming is not None and not self._streaming.done():
                self._streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                if self._streaming is not None:
                    await self._streaming

    async def _serve(self, ws: Any, emit: Any) -> None:
        async for message in ws:
            event = json.loads(message)
            self.received.append(event)
            kind = event.get("type")
            if kind == "session.update":
                self.instructions = (event.get("session") or {}).get("instructions", self.instructions)
                await emit({"type": "session.updated", "session": {"instructions": self.instructions}})
            elif kind == "response.create":
                await self._wait_streaming()
                self._streaming = asyncio.create_task(self._respond(emit, event.get("response") or {}))
            elif kind == "response.cancel":
                if self._streaming is not None and not self._streaming.done():
                    self._streaming.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._streaming
            elif kind == "conversation.item.truncate":
                await emit({"type": "conversation.item.truncated", "item_id": event.get("item_id"),
                            "content_index": 0, "audio_end_ms": event.get("audio_end_ms")})
            elif kind == "fake.caller":
                await self._wait_streaming()
                item = self._id("item")
                await emit({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": item})
                await emit({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 900, "item_id": item})
                await emit({"type": "input_audio_buffer.committed", "item_id": item})
                await emit({"type": "conversation.item.input_audio_transcription.completed", "item_id": item,
                            "content_index": 0, "transcript": event.get("text", "")})
            elif kind == "fake.barge":
                await emit({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0,
                            "item_id": self._id("item")})

    async def _wait_streaming(self) -> None:
        if self._streaming is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._streaming

    async def _respond(self, emit: Any, request: dict[str, Any]) -> None:
        rid, item = self._id("resp"), self._id("item")
        instructions = request.get("instructions") or self.instructions
        out_of_band = request.get("conversation") == "none"
        said = _SAY.search(instructions) if out_of_band else None
        if said:
            text = said.group(1)
        else:
            self.instructions_at_response.append(instructions)
            text = self.replies.popleft() if self.replies else ""
        status = "completed"
        await emit({"type": "response.created",
                    "response": {"id": rid, "status": "in_progress", "metadata": request.get("metadata")}})
        await emit({"type": "response.output_item.added", "response_id": rid,
                    "item": {"id": item, "type": "message", "role": "assistant"}})
        try:
            for piece in chunks(text, self.chunk):
                await emit({"type": "response.output_audio.delta", "response_id": rid, "item_id": item,
                            "delta": audio_delta(b"\0" * (BYTES_PER_CHAR * len(piece)))})
                await emit({"type": "response.output_audio_transcript.delta", "response_id": rid, "item_id": item,
                            "delta": piece})
                await asyncio.sleep(0.001)
        except asyncio.CancelledError:
            status = "cancelled"
        await emit({"type": "response.done", "response": {"id": rid, "status": status}})
        if status == "cancelled":
            raise asyncio.CancelledError


class CaptureApp:
    """The app: plays the audio the gate lets through; barges in once a turn's released transcript reaches the
    cue (and reports the audio played up to that word as the playback position)."""

    def __init__(self, interrupt_at: dict[int, int]) -> None:
        self.interrupt_at = interrupt_at
        self.turn = 0
        self.transcript = ""
        self.audio_ms = 0.0
        self.frozen_ms: float | None = None
        self.barge = False
        self.done = asyncio.Event()

    def playback_ms(self) -> float | None:
        return self.frozen_ms

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "response.created":
            # the gate's replacement speaks the rest of the same turn
            if ((event.get("response") or {}).get("metadata") or {}).get("trace") != "replacement":
                self.turn += 1
                self.transcript, self.audio_ms, self.frozen_ms, self.barge = "", 0.0, None, False
        elif kind == "response.output_audio.delta" and self.frozen_ms is None:
            self.audio_ms += len(event["delta"]) * 3 / 4 / 48.0
        elif kind == "response.output_audio_transcript.delta":
            self.transcript += event["delta"]
        elif kind == "response.done":
            self.done.set()

    def after_batch(self) -> bool:
        """After the events one server event turned into: has the cue been reached (barge in now)?"""
        limit = self.interrupt_at.get(self.turn)
        if limit is None or self.barge or self.frozen_ms is not None or len(self.transcript) < limit:
            return False
        self.barge = True
        # the audio played up to the cue, in step with the transcript the app was shown
        self.frozen_ms = self.audio_ms * limit / len(self.transcript)
        return True


async def run(session: TraceSession, call: DemoCall, *, clock: Any = None, tier2: Any = None,
              chunk: int = CHUNK, audio: bool = True) -> DemoResult:
    """Play ``call`` through the fake realtime server, gated by ``session``."""
    replies = [s.text for s in call.steps if s.kind == "agent"]
    greeting = call.greeting
    async with FakeRealtimeServer(replies, chunk=chunk) as server:
        app = CaptureApp(call.interrupt_at)
        async with websockets.connect(server.url) as ws:

            requested = 0  # response.create events sent (by the gate or this driver): each ends in one response.done

            async def send(event: dict[str, Any]) -> None:
                nonlocal requested
                if event.get("type") == "response.create":
                    requested += 1
                await ws.send(json.dumps(event))

            gate = RealtimeGate(session, send, audio=audio, manual_responses=True, playback_ms=app.playback_ms)
            responses = 0

            async def pump() -> None:
                nonlocal responses
                async for message in ws:
                    for out in await gate.on_server_event(json.loads(message)):
                        app.on_event(out)
                    if app.after_batch():
                        await send({"type": "fake.barge"})
                    if json.loads(message).get("type") == "response.done":
                        responses += 1
                        waiter.set()

            waiter = asyncio.Event()
            reader = asyncio.create_task(pump())

            async def until_responses(n: int) -> None:
                # at least n, and every response asked for so far: a turn the gate changed is spoken by a
                # replacement (asked for when the turn's own response ends), which must not pass for the next
                # turn's response
                while responses < max(n, requested):
                    waiter.clear()
                    await asyncio.wait_for(waiter.wait(), timeout=30)

            async def settle() -> None:
                await asyncio.sleep(0.02)  # let replacements and truncations finish

            expected = 0
            steps = list(call.steps)
            if greeting is not None:
                if clock is not None:
                    clock.now = steps[0].t or 0.0
                await send({"type": "response.create"})
                expected += 1
                await until_responses(expected)
                await settle()
                steps = steps[1:]
            for i, step in enumerate(steps):
                if clock is not None and step.t is not None:
                    clock.now = step.t
                if side_event(session, step):
                    continue
                if step.kind == "caller":
                    before = session.call.seq
                    upcoming = next((s for s in steps[i + 1 :] if s.kind in ("agent", "caller")), None)
                    if not any(s.kind == "agent" for s in steps[i + 1 :]):
                        session.caller_turn(step.text)  # the call ends on it: no response to ask the server for
                        continue
                    await send({"type": "fake.caller", "text": step.text})
                    for _ in range(3000):
                        if session.call.seq > before:
                            break
                        await asyncio.sleep(0.001)
                    if clock is not None and upcoming is not None and upcoming.kind == "agent" and upcoming.t is not None:
                        clock.now = upcoming.t  # the gate starts the response right after the transcript
                elif step.kind == "agent":
                    if tier2 is not None:
                        await asyncio.get_running_loop().run_in_executor(None, tier2.flush, 5.0)
                    if not _follows_caller(call, step):  # else the gate asked already, after the transcript
                        await gate.respond()
                    expected += 1
                    await until_responses(expected)
                    await settle()
                    expected = responses  # replacements count as responses too
            await ws.close()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await reader
        card = session.end()
        return DemoResult([turn_line(t) for t in session.turns], card, list(session.handoffs),
                          list(server.instructions_at_response))


def _follows_caller(call: DemoCall, step: Any) -> bool:
    """Whether the caller spoke last before this agent step (then the gate already asked for the response)."""
    previous = None
    for s in call.steps:
        if s is step:
            break
        if s.kind in ("agent", "caller"):
            previous = s.kind
    return previous == "caller"
