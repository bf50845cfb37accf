"""Trace: a compliance rules engine for AI voice agents.

Pipeline: source (.trace or JSON) -> AST -> IR (:mod:`trace_engine.ir`) -> automata (:mod:`trace_engine.compile`)
-> inline gate (:mod:`trace_engine.gate`) -> scorecard (:mod:`trace_engine.evidence`) -> signed log and reads
(:mod:`trace_engine.store`).

    >>> from trace_engine import Engine
    >>> engine = Engine.from_config({"rule_packs": {"pii": {"enabled": True}}, "guardrails": {"mode": "modify"}})
    >>> call = engine.start_call("call-1", metadata={"direction": "outbound"})
    >>> call.agent_turn("your card 4111 1111 1111 1111 is on file").text
    'your card XXXX XXXX XXXX 1111 is on file'

The names below are the public API; each is imported on first use, so ``import trace_engine`` (and ``trace --help``)
stays fast.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from trace_engine.version import ENGINE_VERSION

__version__ = ENGINE_VERSION

if TYPE_CHECKING:
    from trace_engine.errors import TraceConfigError, TraceError, TraceSyntaxError
    from trace_engine.evidence.scorecard import Scorecard
    from trace_engine.gate import Call, Decision, Engine, TurnFinding
    from trace_engine.gate.call import CallEndedError
    from trace_engine.gate.stream import AgentStream
    from trace_engine.store.writer import EvidenceWriter
    from trace_engine.tier2.runner import Tier2Runner

#: public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "Engine": "trace_engine.gate.engine",
    "Call": "trace_engine.gate.call",
    "CallEndedError": "trace_engine.gate.call",
    "AgentStream": "trace_engine.gate.stream",
    "Decision": "trace_engine.gate.decision",
    "TurnFinding": "trace_engine.gate.decision",
    "Scorecard": "trace_engine.evidence.scorecard",
    "EvidenceWriter": "trace_engine.store.writer",
    "Tier2Runner": "trace_engine.tier2.runner",
    "TraceError": "trace_engine.errors",
    "TraceConfigError": "trace_engine.errors",
    "TraceSyntaxError": "trace_engine.errors",
}

__all__ = [
    "__version__",
    "ENGINE_VERSION",
    "Engine",
    "Call",
    "CallEndedError",
    "AgentStream",
    "Decision",
    "TurnFinding",
    "Scorecard",
    "EvidenceWriter",
    "Tier2Runner",
    "TraceError",
    "TraceConfigError",
    "TraceSyntaxError",
]
assert set(__all__[2:]) == set(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trace_engine' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
