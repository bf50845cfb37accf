"""Trace inside voice-agent turn loops.

:mod:`trace_engine.integrations.core` is the framework-neutral adapter (no third-party imports). The framework
modules import their framework and are loaded only when used, each behind an extra:

* :mod:`trace_engine.integrations.pipecat` — ``pip install 'trace-engine[pipecat]'``
* :mod:`trace_engine.integrations.livekit` — ``pip install 'trace-engine[livekit]'``
* :mod:`trace_engine.integrations.realtime` — ``pip install 'trace-engine[realtime]'`` (OpenAI-Realtime-style events)

``python -m trace_engine.integrations.demo`` plays a transcript through any of them with no audio and no network.
"""

from trace_engine.integrations.core import (
    AgentProfile,
    AgentTurn,
    HandoffRequest,
    TraceSession,
    TurnResult,
    heard_chars,
)

__all__ = ["AgentProfile", "AgentTurn", "HandoffRequest", "TraceSession", "TurnResult", "heard_chars"]
