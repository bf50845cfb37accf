"""Trace: a compliance rules engine for AI voice agents.

Pipeline: source (.trace or JSON) -> AST -> IR (:mod:`trace_engine.ir`) -> automata (:mod:`trace_engine.compile`)
-> inline gate (:mod:`trace_engine.gate`) -> scorecard (:mod:`trace_engine.evidence`) -> signed log and reads
(:mod:`trace_engine.store`).

    >>> from trace_engine import Engine
    >>> engine = Engine.from_config({"rule_packs": {"pii": {"enabled": True}}, "guardrails": {"mode": "modify"}})
    >>> call = engine.start_call("call-1", metadata={"direction": "outbound"})
    >>> call.agent_turn("your card 4111 1111 1111 1111 is on file").text
    'your card XXXX XXXX XXXX 1111 is on file'
"""

from typing import TYPE_CHECKING, Any

from trace_engine.version import ENGINE_VERSION

if TYPE_CHECKING:
    from trace_engine.gate import Call, Decision, Engine, TurnFinding

__all__ = ["ENGINE_VERSION", "Engine", "Call", "Decision", "TurnFinding"]


def __getattr__(name: str) -> Any:
    # the gate pulls in the compiler and automata; import it only when asked so `trace --help` stays fast
    if name in ("Engine", "Call", "Decision", "TurnFinding"):
        from trace_engine import gate

        return getattr(gate, name)
    raise AttributeError(name)
