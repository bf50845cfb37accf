"""The judge interface and the registry of checks.

A judge looks at a window of recent turns (oldest first; the last one is the turn being judged) and returns zero
or more :class:`Verdict` objects. The runner turns verdicts into seed-spec ``TraceFinding`` dicts
(:func:`make_finding`). Judges are stateless apart from lazily loaded models (:mod:`trace_engine.tier2.models`),
so one instance serves every call in the process.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Role = Literal["agent", "caller"]
Severity = Literal["low", "medium", "high", "critical"]
Action = Literal["flag", "preempt_next", "escalate"]


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    text: str
    t: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    check_id: str
    severity: Severity
    confidence: float
    action: Action
    speaker: Literal["agent", "caller", "any"]
    reason: str
    preempt_instruction: str | None = None


class Judge(Protocol):
    check_id: str
    #: which speaker's turns this judge looks at (``agent``, ``caller`` or ``any``)
    speaker: str

    def judge(self, window: tuple[Turn, ...], ctx: JudgeContext) -> list[Verdict]: ...


@dataclass(slots=True)
class JudgeContext:
    """What a judge may need beyond the turns: the Tier-2 config (knowledge base, thresholds) and the call's
    context as of the judged turn (:class:`trace_engine.tier2.context.CallContext`; None: read from the window)."""

    config: Any
    call_id: str | None = None
    agent_id: str | None = None
    call: Any = None


#: check id -> "module:Class" (imported on first use, so an unused check costs nothing)
REGISTRY: dict[str, str] = {
    "ambiguous_optout": "trace_engine.tier2.checks.ambiguous_optout:AmbiguousOptOutJudge",
    "context_pii": "trace_engine.tier2.checks.context_pii:ContextPiiJudge",
    "hallucination": "trace_engine.tier2.checks.hallucination:HallucinationJudge",
    "minimum_necessary": "trace_engine.tier2.checks.minimum_necessary:MinimumNecessaryJudge",
    "brand_tone": "trace_engine.tier2.checks.brand_tone:BrandToneJudge",
}

_INSTANCES: dict[str, Judge] = {}


def register(check_id: str, target: str) -> None:
    """Add or replace a judge (``"package.module:Class"``)."""
    REGISTRY[check_id] = target
    _INSTANCES.pop(check_id, None)


def get_judge(check_id: str) -> Judge:
    j = _INSTANCES.get(check_id)
    if j is None:
        mod, _, cls = REGISTRY[check_id].partition(":")
        j = getattr(importlib.import_module(mod), cls)()
        _INSTANCES[check_id] = j
    return j


def applies(judge: Judge, role: str) -> bool:
    return judge.speaker == "any" or judge.speaker == role


def make_finding(
    v: Verdict, *, interaction_id: str | None, agent_id: str | None, at_t: float | None, turn_index: int | None = None
) -> dict[str, Any]:
    """A seed-spec ``TraceFinding`` dict. The id is derived from the call, the check, the turn and the reason,
    so judging the same turn twice yields the same id."""
    basis = f"{interaction_id}|{v.check_id}|{turn_index}|{at_t}|{v.reason}"
    return {
        "object": "trace.finding",
        "id": "tfind_" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24],
        "interaction_id": interaction_id,
        "agent_id": agent_id,
        "check_id": v.check_id,
        "severity": v.severity,
        "verdict": "concern",
        "confidence": round(max(0.0, min(1.0, float(v.confidence))), 4),
        "action": v.action,
        "speaker": v.speaker,
        "reason": v.reason,
        "preempt_instruction": v.preempt_instruction,
        "at_t": at_t,
        "tier": 2,
    }
