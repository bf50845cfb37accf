"""What the gate returns for each agent turn."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

Action = Literal["pass", "flag", "modify", "block", "handoff"]
ActionTaken = Literal["pass", "flag", "modify", "block"]


@dataclass(frozen=True, slots=True)
class TurnFinding:
    """One rule firing on one turn.

    Fields:
        rule_id, pack_id, severity, citation, reason: from the rule.
        span: ``(start, end)`` in the turn's original text, or ``None`` for a missed obligation.
        action_taken: ``pass`` (the gate failed open), ``flag``, ``modify`` or ``block``.
        kind: the detector kind for PII hits (``credit_card``...), else ``None``.
    """

    rule_id: str
    pack_id: str
    severity: str
    citation: str
    reason: str
    span: tuple[int, int] | None
    action_taken: ActionTaken
    kind: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "pack_id": self.pack_id,
            "severity": self.severity,
            "citation": self.citation,
            "reason": self.reason,
            "span": list(self.span) if self.span else None,
            "action_taken": self.action_taken,
            "kind": self.kind,
        }


class Decision(NamedTuple):
    """The gate's answer for one agent turn (immutable; a named tuple because one is built per turn).

    Fields:
        action: ``pass`` nothing fired; ``flag`` findings recorded, text unchanged; ``modify`` text rewritten;
            ``block`` suppressed and replaced by the fallback line; ``handoff`` suppressed, transfer to a person.
        text: what may be spoken (``None`` when suppressed and no fallback line is configured).
        findings: what fired.
        latency_ns: time spent in the gate for this turn.
        preempt: instructions for this turn from Tier-2 findings on earlier turns (advisory).
    """

    action: Action
    text: str | None
    findings: tuple[TurnFinding, ...] = ()
    latency_ns: int = 0
    preempt: tuple[str, ...] = ()

    @property
    def handoff(self) -> bool:
        """True when the turn loop should transfer the call to a person."""
        return self.action == "handoff"

    def to_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "text": self.text,
            "findings": [f.to_dict() for f in self.findings],
            "latency_ns": self.latency_ns,
            "preempt": list(self.preempt),
        }
