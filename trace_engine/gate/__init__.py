"""The inline gate: per-call sessions that check every agent turn before it is spoken."""

from trace_engine.gate.call import Call
from trace_engine.gate.decision import Decision, TurnFinding
from trace_engine.gate.engine import Engine

__all__ = ["Engine", "Call", "Decision", "TurnFinding"]
