"""LiveKit Agents: the Trace gate on the agent's text-to-speech path (``pip install 'trace-engine[livekit]'``).

::

    class MyAgent(TraceAgent):
        ...                              # your instructions, tools; TraceAgent does the rest

    agent = MyAgent(instructions="You are Sam...", trace=TraceSession(engine, call_id, profile=profile,
                                                                      on_handoff=transfer))
    await session.start(agent=agent, room=room)
    watch_session(session, agent.trace)   # caller transcripts and barge-ins

Where the gate sits: :meth:`TraceAgent.llm_node` wraps the model's text stream, so what reaches ``tts_node``
*and* ``transcription_node`` (and the chat history) is only what the gate released; chunks carrying tool calls
pass through untouched. Gating later, in ``tts_node``, would leave the unmasked words in the transcript sent to
the room and in the chat context. ``llm_node`` runs right before each generation, so pending ``preempt_next``
instructions are added to its ``chat_ctx`` there. Lines spoken with ``session.say`` do not pass ``llm_node``:
speak them with :meth:`TraceAgent.say` (the greeting, on enter, does).

Caller turns are read from each generation's ``chat_ctx`` in ``llm_node``: LiveKit announces a user message with
``conversation_item_added`` only after the reply has started, too late for the gate. :func:`watch_session`
listens to ``conversation_item_added`` for barge-ins: an assistant message marked ``interrupted`` carries the text
LiveKit reports as played (synchronized with the audio), and that is what the evidence keeps.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from livekit.agents import Agent, llm
from livekit.agents.voice import AgentSession
from livekit.agents.voice.events import ConversationItemAddedEvent

from trace_engine.integrations.core import TraceSession
from trace_engine.integrations.instructions import instruction_text


class TraceAgent(Agent):
    """An ``Agent`` whose model output passes the Trace gate before speech (see the module doc).

    Args:
        trace: the call's :class:`TraceSession`.
        greet: speak the profile's opening line (through the gate) when the agent starts.
        **kwargs: ``Agent`` arguments (instructions, llm, tts, tools...).
    """

    def __init__(self, *, trace: TraceSession, greet: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trace = trace
        self.greet = greet
        self._seen_user: set[str] = set()

    async def on_enter(self) -> None:
        if self.greet:
            turn = await self.trace.start()
            if turn is not None and turn.released.strip():
                self.session.say(turn.released, add_to_chat_ctx=True)

    def _record_caller_turns(self, chat_ctx: llm.ChatContext) -> None:
        """The user messages this generation answers, oldest first, each once (LiveKit announces them with
        ``conversation_item_added`` only after the reply has started, too late for the gate)."""
        new: list[str] = []
        for item in reversed(chat_ctx.items):
            if not isinstance(item, llm.ChatMessage) or item.role in ("system", "developer"):
                continue
            if item.role != "user" or item.id in self._seen_user:
                break
            self._seen_user.add(item.id)
            new.append(item.text_content or "")
        for text in reversed(new):
            self.trace.caller_turn(text)

    async def say(self, text: str, **kwargs: Any) -> Any:
        """``session.say`` through the gate (one whole agent turn); returns the speech handle, or ``None`` when
        nothing is left to say."""
        turn = self.trace.agent_turn()
        released = turn.feed(text)
        result = await self.trace.finish_turn(turn)
        spoken = released + result.tail
        return self.session.say(spoken, **kwargs) if spoken.strip() else None

    async def llm_node(
        self, chat_ctx: llm.ChatContext, tools: list[llm.Tool], model_settings: Any
    ) -> AsyncIterator[llm.ChatChunk | str]:
        self._record_caller_turns(chat_ctx)
        pending = await self.trace.before_generation()
        if pending:
            chat_ctx.add_message(role="system", content=instruction_text(pending))
        source = Agent.default.llm_node(self, chat_ctx, tools, model_settings)
        async for chunk in gate_text_stream(self.trace, source):
            yield chunk


async def gate_text_stream(trace: TraceSession, source: Any) -> AsyncIterator[Any]:
    """Gate an ``llm_node`` output stream (``str`` or ``ChatChunk`` items; an awaitable of one is accepted too):
    text is fed to the gate and only released text goes on; the tail follows the last chunk."""
    if hasattr(source, "__await__"):
        source = await source
    if source is None:
        return
    if isinstance(source, (str, llm.ChatChunk)):
        source = _single(source)
    turn = trace.agent_turn()
    feed = turn.feed
    try:
        async for chunk in source:
            if isinstance(chunk, str):
                released = feed(chunk)
                if released:
                    yield released
            elif isinstance(chunk, llm.ChatChunk) and chunk.delta is not None and chunk.delta.content:
                delta = chunk.delta
                if delta.tool_calls:  # rare: a tool call and text in one chunk; the call goes on without the text
                    yield chunk.model_copy(update={"delta": delta.model_copy(update={"content": None})})
                released = feed(delta.content)  # type: ignore[arg-type]
                if released:
                    yield released  # llm_node may yield plain text: no model copy per chunk
            else:
                yield chunk  # tool calls, usage: not speech
        result = await trace.finish_turn(turn)
        if result.tail:
            yield result.tail
    finally:
        if turn.result is None:  # the generation was cancelled (barge-in, a new turn): close on what was written
            await trace.finish_turn(turn)


async def _single(item: Any) -> AsyncIterator[Any]:
    yield item


#: LiveKit's AMD categories in seed 003's ``answered_by`` vocabulary (``uncertain`` decides nothing)
AMD_CATEGORIES = {"human": "human", "machine-vm": "voicemail", "machine-unavailable": "voicemail",
                  "machine-ivr": "ivr"}


def amd_event(prediction: Any) -> dict[str, Any]:
    """A LiveKit ``AMDPredictionEvent`` as a seed-003 ``amd`` event (``{}`` when it decided nothing)."""
    category = getattr(getattr(prediction, "category", None), "value", getattr(prediction, "category", None))
    answered_by = AMD_CATEGORIES.get(str(category))
    if answered_by is None:
        return {}
    return {"event": "amd", "answered_by": answered_by, "reason": getattr(prediction, "reason", ""),
            "decision_ms": round(float(getattr(prediction, "delay", 0.0)) * 1000)}


def watch_session(session: AgentSession, trace: TraceSession) -> None:
    """Barge-ins and AMD from the session: an interrupted assistant message cuts the current agent turn to the
    text LiveKit reports as played; LiveKit's own AMD verdict (when the session runs one) becomes the call's
    ``answered_by`` fact. (Caller turns are read in :meth:`TraceAgent.llm_node`, before the reply.)"""

    def on_item(event: ConversationItemAddedEvent) -> None:
        item = event.item
        if isinstance(item, llm.ChatMessage) and item.role == "assistant" and item.interrupted:
            trace.barge_in(heard=item.text_content or "")

    session.on("conversation_item_added", on_item)
    detector = getattr(session, "amd", None)
    if detector is not None:
        detector.on("amd_prediction", lambda prediction: _apply_amd(trace, prediction))


def _apply_amd(trace: TraceSession, prediction: Any) -> None:
    event = amd_event(prediction)
    if event:
        trace.amd(event)


class ScriptedLLM(llm.LLM):
    """A model that streams scripted replies in small chunks (for tests and the demo; no network)."""

    def __init__(self, replies: list[str] | None = None, chunk: int = 6) -> None:
        super().__init__()
        self.replies = list(replies or [])
        self.chunk = chunk
        self.contexts: list[llm.ChatContext] = []

    def chat(self, *, chat_ctx: llm.ChatContext, tools: list[llm.Tool] | None = None, conn_options: Any = None,
             **kwargs: Any) -> llm.LLMStream:
        from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

        self.contexts.append(chat_ctx.copy())
        reply = self.replies.pop(0) if self.replies else ""
        return _ScriptedStream(self, reply, chat_ctx=chat_ctx, tools=tools or [],
                               conn_options=conn_options or DEFAULT_API_CONNECT_OPTIONS)


class _ScriptedStream(llm.LLMStream):
    def __init__(self, model: ScriptedLLM, reply: str, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self._reply = reply
        self._size = model.chunk

    async def _run(self) -> None:
        import asyncio

        for i in range(0, len(self._reply), self._size):
            self._event_ch.send_nowait(
                llm.ChatChunk(id="scripted", delta=llm.ChoiceDelta(role="assistant", content=self._reply[i : i + self._size]))
            )
            await asyncio.sleep(0)


def iter_text(source: AsyncIterable[Any]) -> AsyncIterable[str]:  # pragma: no cover - a convenience for hosts
    """Only the text of an ``llm_node`` stream."""

    async def gen() -> AsyncIterator[str]:
        async for chunk in source:
            if isinstance(chunk, str):
                yield chunk
            elif isinstance(chunk, llm.ChatChunk) and chunk.delta is not None and chunk.delta.content:
                yield chunk.delta.content

    return gen()
