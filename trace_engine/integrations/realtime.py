"""OpenAI-Realtime-style events (Omni's ``/v1/realtime``): the Trace gate between the server and the app.

:class:`RealtimeGate` reads every server event before the app does and returns what the app should get instead:

==========================================================  ===========================================================
server event                                                what the gate does
==========================================================  ===========================================================
``session.created`` / ``session.updated``                   remembers the session's instructions
``conversation.item.input_audio_transcription.completed``   a caller turn
``input_audio_buffer.committed``                            the caller's turn ended, a response comes next: pending
                                                            ``preempt_next`` instructions go out in a
                                                            ``session.update`` *before* it (``response.create`` too
                                                            when the gate creates responses, ``manual_responses``)
``response.created``                                        an agent turn starts
``response.(output_)text.delta``,                           fed to the gate; the app gets only released text
``response.(output_)audio_transcript.delta``
``response.(output_)audio.delta``                           held back in step with the released transcript (audio
                                                            cannot be edited: the unreleased part is never played)
``input_audio_buffer.speech_started``                       barge-in: the turn keeps what was played;
                                                            ``response.cancel`` and ``conversation.item.truncate``
``response.done``                                           the turn ends: the tail; on handoff the transfer callback
==========================================================  ===========================================================

When the model speaks audio directly and the gate must change the words (modify), suppress them (block) or hand
off, it sends ``response.cancel`` (as soon as a suppression is certain), drops the held audio and asks the model to
say the gate's text instead with an out-of-band ``response.create`` (``conversation: "none"``, tagged
``metadata.trace = "replacement"``), whose events pass through ungated. In text modality the app's own TTS speaks
the released deltas, exactly as in a cascaded pipeline.

The mapper is transport-free (``send`` is any coroutine that sends a client event). :func:`relay` runs it over a
``websockets`` connection (``pip install 'trace-engine[realtime]'``).
"""

from __future__ import annotations

import base64
import json
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from trace_engine.integrations.core import AgentTurn, TraceSession
from trace_engine.integrations.instructions import instruction_text

TEXT_DELTAS = frozenset({"response.text.delta", "response.output_text.delta"})
TRANSCRIPT_DELTAS = frozenset({"response.audio_transcript.delta", "response.output_audio_transcript.delta"})
AUDIO_DELTAS = frozenset({"response.audio.delta", "response.output_audio.delta"})
REPLACEMENT = "replacement"

Send = Callable[[dict[str, Any]], Awaitable[None]]


class RealtimeGate:
    """Gate one realtime session's server events (see the module doc).

    Args:
        session: the call.
        send: sends a client event to the realtime server.
        audio: the model speaks audio itself (``True``) or writes text the app speaks (``False``).
        manual_responses: the gate sends ``response.create`` after each caller turn (use with
            ``turn_detection.create_response: false``, so preempt instructions always land first).
        playback_ms: how much of the current response's audio the app has played (for barge-in); by default
            all the audio the gate let through counts as played. In text modality the app's own TTS speaks, and
            all released text counts as spoken (an over-estimate, never an under-estimate).
        bytes_per_ms: PCM16 mono at 24 kHz is 48 bytes a millisecond.
    """

    def __init__(
        self,
        session: TraceSession,
        send: Send,
        *,
        audio: bool = True,
        manual_responses: bool = False,
        playback_ms: Callable[[], float | None] | None = None,
        bytes_per_ms: float = 48.0,
    ) -> None:
        self.session = session
        self.send = send
        self.audio = audio
        self.manual_responses = manual_responses
        self.playback_ms = playback_ms
        self.bytes_per_ms = bytes_per_ms
        self.instructions: str | None = None
        self._preempted = False
        self._turn: AgentTurn | None = None
        self._response_id: str | None = None
        self._item_id: str | None = None
        self._replacing: set[str] = set()
        self._fed = 0
        self._released = 0
        self._audio_in = 0
        self._audio_out = 0
        self._held: deque[tuple[int, dict[str, Any]]] = deque()
        self._cancelled = False
        self._replaced = False
        self._replacement_audio = 0
        self.sent: list[dict[str, Any]] = []

    async def _send(self, event: dict[str, Any]) -> None:
        self.sent.append(event)
        await self.send(event)

    # ----------------------------------------------------------------------------------------- events

    async def on_server_event(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Handle one server event; returns the events to hand to the app (possibly none, possibly rewritten)."""
        kind = event.get("type")
        response_id = _response_id(event)
        if kind == "response.created" and is_replacement(event) and response_id:
            self._replacing.add(response_id)
        if response_id is not None and response_id in self._replacing:
            if kind == "response.done":
                self._replacing.discard(response_id)
            elif kind in AUDIO_DELTAS:  # the rest of the turn, spoken for the gate: counts for barge-in timing
                self._audio_out += len(event.get("delta") or "")
                self._replacement_audio += len(event.get("delta") or "")
            elif kind in TRANSCRIPT_DELTAS:
                self._released += len(event.get("delta") or "")
            return [event]  # the gate's own words: already checked
        if kind in TEXT_DELTAS or kind in TRANSCRIPT_DELTAS:
            return await self._delta(event)
        if kind in AUDIO_DELTAS:
            return self._audio(event)
        if kind in ("session.created", "session.updated"):
            if not self._preempted:
                self.instructions = (event.get("session") or {}).get("instructions", self.instructions)
            return [event]
        if kind == "conversation.item.input_audio_transcription.completed":
            self.session.caller_turn(str(event.get("transcript") or ""))
            if self.manual_responses:  # the gate creates the response: after the caller turn is on record
                await self.respond()
            return [event]
        if kind == "input_audio_buffer.committed":
            if not self.manual_responses:  # the server answers now: the instructions must beat it there
                await self._deliver_preempt()
            return [event]
        if kind == "input_audio_buffer.speech_started":
            await self._barge_in()
            return [event]
        if kind == "response.created":
            self._start(event)
            return [event]
        if kind == "response.output_item.added":
            item = event.get("item") or {}
            if self._turn is not None and item.get("id"):
                self._item_id = item["id"]
            return [event]
        if kind == "response.done":
            return await self._done(event)
        return [event]

    async def _deliver_preempt(self) -> None:
        pending = await self.session.before_generation()
        if pending:
            base = (self.instructions or "").rstrip()
            text = instruction_text(pending)
            await self._send({"type": "session.update",
                              "session": {"instructions": f"{base}\n\n{text}" if base else text}})
            self._preempted = True

    async def respond(self) -> None:
        """Ask the server for the next response, pending preempt instructions first (what the gate does after each
        caller turn with ``manual_responses``; call it for a response no caller turn asked for)."""
        await self._deliver_preempt()
        await self._send({"type": "response.create"})

    def _start(self, event: dict[str, Any]) -> None:
        self._turn = self.session.agent_turn()
        self._response_id = _response_id(event)
        self._item_id = None
        self._fed = self._released = self._audio_in = self._audio_out = 0
        self._held.clear()
        self._cancelled = False
        self._replaced = False
        self._replacement_audio = 0

    async def _delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        turn = self._turn
        if turn is None or turn.result is not None:
            return []
        delta = str(event.get("delta") or "")
        self._fed += len(delta)
        released = turn.feed(delta)
        out: list[dict[str, Any]] = []
        if released:
            self._released += len(released)
            out.append({**event, "delta": released})
        if self.audio:
            if turn.suppressing and not self._cancelled:
                self._cancelled = True
                self._held.clear()  # nothing more of this response is played
                await self._send({"type": "response.cancel"})
            else:
                out.extend(self._flush_audio())
        return out

    def _audio(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        if self._turn is None or self._cancelled:
            return []
        size = len(event.get("delta") or "")
        self._audio_in += size
        self._held.append((size, event))
        return self._flush_audio()

    def _flush_audio(self, everything: bool = False) -> list[dict[str, Any]]:
        """Audio may be played as far as the transcript was released (by share: the two run in step)."""
        allowed = self._audio_in if everything else self._audio_in * self._released // max(self._fed, 1)
        out = []
        while self._held and self._audio_out + self._held[0][0] <= allowed:
            size, event = self._held.popleft()
            self._audio_out += size
            out.append(event)
        return out

    async def _done(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        turn, self._turn = self._turn, None
        out: list[dict[str, Any]] = []
        if turn is not None and not turn.interrupted:
            result = await self.session.finish_turn(turn)
            changed = result.decision.action in ("modify", "block", "handoff") or self._cancelled
            if not self.audio:
                if result.tail:
                    out.append({"type": "response.output_text.delta", "response_id": self._response_id,
                                "item_id": self._item_id, "delta": result.tail})
            elif changed:
                self._held.clear()  # the model's audio for the changed words is never played
                if result.tail.strip():
                    await self._say(result.tail)
                self._replaced = True
            else:
                self._released += len(result.tail)
                out.extend(self._flush_audio(everything=True))
                if result.tail:
                    out.append({"type": "response.output_audio_transcript.delta", "response_id": self._response_id,
                                "item_id": self._item_id, "delta": result.tail})
        if self._preempted:  # the instructions were for that one response
            self._preempted = False
            await self._send({"type": "session.update", "session": {"instructions": self.instructions or ""}})
        out.append(event)
        return out

    async def _say(self, text: str) -> None:
        """Have the model speak the gate's text, out of band (not added to the conversation)."""
        await self._send({
            "type": "response.create",
            "response": {
                "conversation": "none",
                "metadata": {"trace": REPLACEMENT},
                "instructions": f"Say exactly the following, word for word, and nothing else: {text}",
            },
        })

    async def _barge_in(self) -> None:
        turn = self.session.current
        if turn is None or turn.interrupted:
            return
        released = turn.released
        played_ms = self.playback_ms() if self.playback_ms is not None else None
        out_ms = self._audio_out / 4 * 3 / self.bytes_per_ms  # base64 characters -> bytes -> ms
        if not self.audio:
            spoken = len(released)  # the app's TTS speaks: all released text counts (an over-estimate)
        elif out_ms > 0 and played_ms is not None and played_ms < out_ms:
            # within the model's own audio: its share of the transcript released with it, whole words only
            spoken = int(self._released * max(0.0, played_ms) / out_ms)
            spoken = released.rfind(" ", 0, spoken + 1) + 1 if spoken < len(released) else spoken
        elif self._replaced or self._turn is None:
            spoken = len(released)  # the model's audio is over; a replacement's playback is not tracked: all of it
        else:
            spoken = self._released  # still generating: what was let through so far
        if self._turn is None and spoken >= len(released):
            return  # the caller spoke after the agent had finished: turn-taking, not a barge-in
        turn.interrupt(spoken)
        if self._turn is not None or self._replacing:  # the model (or the gate's replacement) is still speaking
            self._turn = None
            self._held.clear()
            await self._send({"type": "response.cancel"})
        if self._item_id:  # the conversation item holds only the model's own audio, not the replacement's
            item_ms = (self._audio_out - self._replacement_audio) / 4 * 3 / self.bytes_per_ms
            audio_end = int(item_ms if played_ms is None else min(played_ms, item_ms))
            await self._send({"type": "conversation.item.truncate", "item_id": self._item_id,
                              "content_index": 0, "audio_end_ms": audio_end})


def _response_id(event: dict[str, Any]) -> str | None:
    rid = event.get("response_id")
    if rid is None and isinstance(event.get("response"), dict):
        rid = event["response"].get("id")
    return rid


def is_replacement(event: dict[str, Any]) -> bool:
    """A ``response.created`` for one of the gate's out-of-band replacements (tagged in its metadata)."""
    response = event.get("response") or {}
    return (response.get("metadata") or {}).get("trace") == REPLACEMENT


async def relay(
    url: str,
    session: TraceSession,
    on_event: Callable[[dict[str, Any]], Awaitable[None] | None],
    *,
    subprotocols: list[str] | None = None,
    first: list[dict[str, Any]] | None = None,
    **gate_kwargs: Any,
) -> RealtimeGate:
    """Connect to a realtime server with ``websockets``, send ``first`` client events, and hand every gated server
    event to ``on_event`` until the server closes. Returns the gate (its ``session`` holds the evidence)."""
    import websockets

    async with websockets.connect(url, subprotocols=subprotocols) as ws:  # type: ignore[arg-type]

        async def send(event: dict[str, Any]) -> None:
            await ws.send(json.dumps(event))

        gate = RealtimeGate(session, send, **gate_kwargs)
        for event in first or ():
            await send(event)
        async for message in ws:
            event = json.loads(message)
            for out in await gate.on_server_event(event):
                result = on_event(out)
                if result is not None:
                    await result
        return gate


def audio_delta(pcm: bytes) -> str:
    """Base64 for an audio delta (what the server sends; for fakes and tests)."""
    return base64.b64encode(pcm).decode("ascii")
