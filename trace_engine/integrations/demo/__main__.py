"""``python -m trace_engine.integrations.demo --framework pipecat|livekit|realtime --transcript FILE --config CFG
[--interrupt-at TURN:CHARS]``

Plays each call of an Omni transcript file (``corpora/outbound_calls.jsonl`` format) through the chosen framework
with a scripted model, the Trace adapter and a capture sink in place of the TTS; prints one JSON line per agent
turn (``{"turn", "spoken", "action", "handoff", "preempt_before"}``) and then the call's verdict line. No audio,
no network (the realtime server is a fake on 127.0.0.1). Exit codes: 0 done, 2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

from trace_engine.errors import TraceConfigError
from trace_engine.integrations.demo import CHUNK, SessionClock, load_calls

FRAMEWORKS = {
    "pipecat": ("trace_engine.integrations.demo.pipecat_demo", "pipecat"),
    "livekit": ("trace_engine.integrations.demo.livekit_demo", "livekit"),
    "realtime": ("trace_engine.integrations.demo.realtime_demo", "realtime"),
}


def _interrupt(value: str) -> tuple[int, int]:
    turn, sep, chars = value.partition(":")
    try:
        if not sep:
            raise ValueError
        parsed = int(turn), int(chars)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected TURN:CHARS (two integers), got {value!r}") from None
    if parsed[0] < 1 or parsed[1] < 0:
        raise argparse.ArgumentTypeError(f"TURN counts agent turns from 1 and CHARS is >= 0, got {value!r}")
    return parsed


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m trace_engine.integrations.demo", description=__doc__.split("\n\n")[1])
    p.add_argument("--framework", required=True, choices=sorted(FRAMEWORKS))
    p.add_argument("--transcript", required=True, help="Omni call transcripts, one JSON object per line")
    p.add_argument("--config", required=True, help="a Trace config (TraceConfigInput JSON)")
    p.add_argument("--interrupt-at", type=_interrupt, action="append", default=[], metavar="TURN:CHARS",
                   help="the caller barges in once agent turn TURN has spoken CHARS characters (repeatable)")
    p.add_argument("--call-id", help="play only this call of the file")
    p.add_argument("--chunk", type=int, default=CHUNK, help=f"characters per model chunk (default {CHUNK})")
    return p


def _quiet_frameworks() -> None:
    logging.basicConfig(level=logging.WARNING)
    try:  # pipecat logs through loguru at DEBUG by default
        from loguru import logger

        logger.remove()
        logger.add(sys.stderr, level="WARNING")
    except ImportError:
        pass


async def _play(args: argparse.Namespace, calls: list[Any], engine: Any, runner: Any, tier2: Any) -> None:
    from trace_engine.integrations.core import TraceSession

    for call in calls:
        call.interrupt_at = dict(args.interrupt_at)
        clock = SessionClock()
        profile = {"greeting": call.greeting, "recordings_enabled": call.metadata.get("recording_enabled")}
        session = TraceSession(engine, call.call_id, profile=profile, metadata=call.metadata, clock=clock,
                               agent_id=call.agent_id, product="omni")
        result = await runner.run(session, call, clock=clock, tier2=tier2, chunk=max(1, args.chunk))
        for line in result.turns:
            print(json.dumps(line, ensure_ascii=False))
        print(json.dumps(result.verdict_line(), ensure_ascii=False))
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from trace_engine import Engine

    tier2 = None
    try:  # inputs first: a bad file is reported as such whatever is installed
        calls = load_calls(args.transcript)
        if args.call_id:
            calls = [c for c in calls if c.call_id == args.call_id]
            if not calls:
                raise ValueError(f"no call {args.call_id!r} in {args.transcript}")
        engine = Engine.from_config(args.config)
        if engine.config.tier2 and engine.config.tier2.get("enabled", True):
            from trace_engine.tier2.runner import Tier2Runner

            tier2 = Tier2Runner(engine.config.tier2)
            engine.observers.append(tier2)
    except TraceConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    module_name, extra = FRAMEWORKS[args.framework]
    _quiet_frameworks()
    try:
        import importlib

        runner = importlib.import_module(module_name)
    except ImportError as exc:
        print(f"error: the {args.framework} demo needs the {extra!r} extra: pip install 'trace-engine[{extra}]' "
              f"({exc})", file=sys.stderr)
        return 2
    asyncio.run(_play(args, calls, engine, runner, tier2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
