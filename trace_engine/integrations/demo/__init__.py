"""The no-audio, no-network demo: an Omni transcript played through a real voice-agent framework.

Each framework runner builds that framework's own pipeline/session with three stand-ins: a scripted model that
streams each agent turn of the transcript in small chunks, the Trace adapter, and a capture sink in place of the
TTS (which reports words as "played", so barge-ins are real). The runners are also what the integration tests
drive, with scripts that exercise PII, blocks, handoff, barge-in, preempt and AMD.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: characters per model chunk (LLM token streams are a few characters each)
CHUNK = 6


@dataclass(frozen=True, slots=True)
class Step:
    """One event of a scripted call: ``agent`` text the model will write, ``caller`` text the STT hears,
    ``amd`` a seed-003 decision event, ``preempt`` a Tier-2 ``preempt_next`` instruction arriving."""

    kind: str
    text: str = ""
    t: float | None = None
    event: dict[str, Any] | None = None


@dataclass(slots=True)
class DemoCall:
    call_id: str
    metadata: dict[str, Any]
    steps: list[Step]
    #: the transcript's agent: the config's ``call_defaults`` for it (business name, callback numbers...) apply
    agent_id: str | None = None
    #: agent turn number -> characters of it spoken before the caller barges in
    interrupt_at: dict[int, int] = field(default_factory=dict)

    @property
    def greeting(self) -> str | None:
        """An agent turn before anything the caller says is the greeting (spoken on connect)."""
        return self.steps[0].text if self.steps and self.steps[0].kind == "agent" else None


@dataclass(slots=True)
class DemoResult:
    """What a runner returns: one line per agent turn, the scorecard, the transfers asked for, and every set of
    model instructions the scripted model saw (for the preempt tests)."""

    turns: list[dict[str, Any]]
    scorecard: Any
    handoffs: list[Any] = field(default_factory=list)
    instructions_seen: list[str] = field(default_factory=list)
    #: the text deltas the speech side received, per agent turn (where the runner records them)
    received: dict[int, list[str]] = field(default_factory=dict)

    def verdict_line(self) -> dict[str, Any]:
        card = self.scorecard
        return {
            "call_id": card.call_id,
            "verdict": card.verdict,
            "findings": [f.rule_id for f in card.findings],
            "blocked_turns": card.blocked_turns,
            "modified_turns": card.modified_turns,
        }


def chunks(text: str, size: int = CHUNK) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def load_calls(path: str | Path) -> list[DemoCall]:
    """Read Omni call transcripts (``corpora/outbound_calls.jsonl`` format: one object per line)."""
    calls = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            turns = record["transcript"]["turns"]
            steps = [
                Step("agent" if turn["role"] == "assistant" else "caller", str(turn["text"]),
                     (turn.get("start_ms") or 0) / 1000.0)
                for turn in turns
                if turn.get("role") in ("assistant", "user") and str(turn.get("text") or "").strip()
            ]
            agent_id = record.get("agent_id")
            if agent_id is not None and not isinstance(agent_id, str):
                raise TypeError(f"agent_id must be a string, not {type(agent_id).__name__}")
            calls.append(DemoCall(str(record["call_id"]), dict(record.get("metadata") or {}), steps, agent_id=agent_id))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{lineno}: not an Omni call transcript ({exc})") from None
    return calls


def turn_line(turn: Any) -> dict[str, Any]:
    """The demo's output line for one finished :class:`~trace_engine.integrations.core.AgentTurn`."""
    result = turn.result
    return {
        "turn": turn.index,
        "spoken": turn.spoken,
        "action": result.decision.action if result else "pass",
        "handoff": bool(result and result.handoff),
        "preempt_before": "\n".join(turn.preempt_before) if turn.preempt_before else None,
    }


class SessionClock:
    """Seconds since call start as the script says (the runner sets it before each step)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def side_event(session: Any, step: Step) -> bool:
    """Apply a step that is not speech (an AMD decision; a Tier-2 instruction arriving, as the Tier-2 runner
    appends it); ``False`` for speech steps."""
    if step.kind == "amd":
        session.amd(step.event or {})
        return True
    if step.kind == "preempt":
        session.call.preempt.append(step.text)
        return True
    return False


async def tier2_settled(tier2: Any) -> None:
    """Let the Tier-2 runner (if any) judge what it has queued before the next generation (bounded)."""
    if tier2 is not None:
        await asyncio.get_running_loop().run_in_executor(None, tier2.flush, 5.0)
