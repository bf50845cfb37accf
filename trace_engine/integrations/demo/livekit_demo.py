"""A scripted call through a real LiveKit ``AgentSession`` (no room, no server, no audio: text output, which
LiveKit forwards as it would a transcript), gated by :class:`~trace_engine.integrations.livekit.TraceAgent`.

The scripted model is a ``livekit.agents.llm.LLM`` streaming each agent turn in small chunks; the caller's lines go
in as ``generate_reply(user_input=...)``; a barge-in is LiveKit's own ``session.interrupt()``, called once the turn
has put the cue's number of characters out. The capture sink is the session's chat history, which LiveKit fills
with what it forwarded (cut short and marked ``interrupted`` on a barge-in).
"""

from __future__ import annotations

import asyncio
from typing import Any

from livekit.agents.voice import AgentSession
from livekit.agents.voice.agent import ModelSettings

from trace_engine.integrations.core import TraceSession
from trace_engine.integrations.demo import CHUNK, DemoCall, DemoResult, side_event, turn_line
from trace_engine.integrations.instructions import PREFIX
from trace_engine.integrations.livekit import ScriptedLLM, TraceAgent, watch_session


class PacedAgent(TraceAgent):
    """Forwards the gated text word by word, as speech would play it; at the barge-in cue it stops forwarding
    (the caller talks over the next word) and signals the runner, which interrupts the session."""

    def __init__(self, *, interrupt_at: dict[int, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interrupt_at = interrupt_at
        self.cue = asyncio.Event()
        #: every text delta the speech side received, per agent turn number
        self.received: dict[int, list[str]] = {}

    async def transcription_node(self, text: Any, model_settings: ModelSettings) -> Any:
        turn = self.trace.current
        cut = self.interrupt_at.get(turn.index) if turn is not None else None
        played = 0
        pending = ""
        received = self.received.setdefault(turn.index if turn is not None else 0, [])
        async for delta in text:
            received.append(str(delta))
            pending += str(delta)
            while pending:
                end = _word_end(pending)
                if end is None:
                    break
                word, pending = pending[:end], pending[end:]
                if cut is not None and played + len(word.rstrip()) > cut:
                    self.cue.set()
                    await asyncio.Event().wait()  # until LiveKit cancels this node on the interruption
                played += len(word)
                yield word
                await asyncio.sleep(0)
        if pending:
            if cut is not None and played + len(pending.rstrip()) > cut:
                self.cue.set()
                await asyncio.Event().wait()
            yield pending


def _word_end(text: str) -> int | None:
    """End of the first whole word and the spaces after it, if the text holds one (else ``None``)."""
    i = 0
    while i < len(text) and text[i].isspace():
        i += 1
    while i < len(text) and not text[i].isspace():
        i += 1
    if i == len(text):
        return None
    while i < len(text) and text[i].isspace():
        i += 1
    return i


async def run(session: TraceSession, call: DemoCall, *, clock: Any = None, tier2: Any = None,
              chunk: int = CHUNK) -> DemoResult:
    """Play ``call`` through a LiveKit AgentSession gated by ``session``."""
    model = ScriptedLLM([s.text for s in call.steps if s.kind == "agent" and s is not call.steps[0]]
                        if call.greeting is not None else [s.text for s in call.steps if s.kind == "agent"],
                        chunk=chunk)
    agent = PacedAgent(trace=session, greet=call.greeting is not None, interrupt_at=call.interrupt_at,
                       instructions="You are the agent.")
    steps = list(call.steps)
    if call.greeting is not None:
        if clock is not None:
            clock.now = steps[0].t or 0.0
        steps = steps[1:]
    async with AgentSession(llm=model) as lk:
        watch_session(lk, session)
        await lk.start(agent)
        if lk.current_speech is not None:
            await lk.current_speech.wait_for_playout()
        pending_caller: str | None = None
        for step in steps:
            if clock is not None and step.t is not None:
                clock.now = step.t
            if side_event(session, step):
                continue
            if step.kind == "caller":
                if pending_caller is not None:  # two caller lines in a row: the first gets no reply
                    session.caller_turn(pending_caller)
                pending_caller = step.text
            elif step.kind == "agent":
                if tier2 is not None:  # judged so far (the caller's new line is read in llm_node, after this)
                    await asyncio.get_running_loop().run_in_executor(None, tier2.flush, 5.0)
                handle = lk.generate_reply(user_input=pending_caller) if pending_caller is not None else lk.generate_reply()
                pending_caller = None
                agent.cue.clear()
                cue = asyncio.ensure_future(agent.cue.wait())
                await asyncio.wait([cue, asyncio.ensure_future(handle.wait_for_playout())],
                                   return_when=asyncio.FIRST_COMPLETED, timeout=30)
                if agent.cue.is_set():
                    lk.interrupt()
                cue.cancel()
                await handle
                await asyncio.sleep(0)  # conversation_item_added for an interrupted reply
        if pending_caller is not None:
            session.caller_turn(pending_caller)
    card = session.end()
    seen = [
        item.text_content or ""
        for ctx in model.contexts
        for item in ctx.items
        if getattr(item, "role", None) == "system" and (item.text_content or "").startswith(PREFIX)
    ]
    return DemoResult([turn_line(t) for t in session.turns], card, list(session.handoffs), seen, agent.received)
