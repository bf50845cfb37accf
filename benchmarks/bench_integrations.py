"""Added latency per streamed chunk: each framework's Trace processor vs the gate alone.

    .venv/bin/python benchmarks/bench_integrations.py [--runs N] [--chunk C] [--json]

Every agent turn of ``corpora/outbound_calls.jsonl`` is cut into ``C``-character chunks (an LLM token stream) and
streamed, under all the built-in packs in ``modify`` mode, through

* ``gate``: ``AgentStream.feed`` on its own (the gate's own cost);
* ``core``: ``AgentTurn.feed`` (the adapter every integration uses);
* ``pipecat``: ``TraceGate.process_frame(LLMTextFrame)`` (Pipecat's FrameProcessor machinery, a new
  ``LLMTextFrame`` for what is released, the push);
* ``livekit``: one step of ``gate_text_stream`` over ``ChatChunk`` s (the wrapper ``TraceAgent.llm_node`` runs);
* ``realtime``: ``RealtimeGate.on_server_event`` for a transcript delta (text mode), and in audio mode for an
  audio delta plus a transcript delta (audio held in step).

Each chunk goes through the gate alone and through every processor back to back (interleaved per chunk: a load
spike hits all of them alike; the order rotates so no path always pays the cold cache), each on its own call with
identical state; a first run warms up and is not recorded. The added latency of a processor on a
chunk is its time minus the gate-alone time on the same chunk. Reported: raw percentiles over all chunks and runs,
and percentiles of the per-chunk minimum over ``N`` runs (min-of-N: the cost without scheduler noise).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trace_engine import Engine  # noqa: E402
from trace_engine.gate.scoring import percentile  # noqa: E402
from trace_engine.integrations.core import TraceSession  # noqa: E402
from trace_engine.integrations.demo import chunks, load_calls  # noqa: E402

CONFIG = {
    "rule_packs": {p: {"enabled": True} for p in ("tcpa", "hipaa", "pii", "brand_voice", "debt_collection")},
    "guardrails": {"mode": "modify", "inline_timeout_ms": 60000,
                   "block_pii": {"patterns": ["credit_card", "ssn", "email", "us_phone"]}},
}


def _turns() -> list[tuple[dict[str, Any], list[str]]]:
    out = []
    for call in load_calls(ROOT / "corpora" / "outbound_calls.jsonl"):
        for step in call.steps:
            if step.kind == "agent":
                out.append((call.metadata, step.text))
    return out


class Paths:
    """One fresh call per path for each turn, so every path sees the same gate state."""

    def __init__(self, engine: Engine, meta: dict[str, Any], available: set[str]) -> None:
        self.gate = engine.start_call("gate", metadata=meta).agent_stream()
        self.core = TraceSession(engine, "core", metadata=meta).agent_turn()
        self.pipecat: Any = None
        self.rt_text: Any = None
        self.rt_audio: Any = None
        if "pipecat" in available:
            from trace_engine.integrations.pipecat import TracePipecat

            session = TraceSession(engine, "pipecat", metadata=meta)
            self.pipecat = TracePipecat(session).gate()
            self.pipecat._turn = session.agent_turn()  # as after an LLMFullResponseStartFrame
        if "realtime" in available:
            from trace_engine.integrations.realtime import RealtimeGate

            async def send(event: dict[str, Any]) -> None:
                return None

            self.rt_text = RealtimeGate(TraceSession(engine, "rt", metadata=meta), send, audio=False)
            self.rt_audio = RealtimeGate(TraceSession(engine, "rta", metadata=meta), send, audio=True)

    async def start(self) -> None:
        for gate in (self.rt_text, self.rt_audio):
            if gate is not None:
                await gate.on_server_event({"type": "response.created", "response": {"id": "r1"}})


def _available() -> set[str]:
    available = {"gate", "core"}
    for name, module in (("pipecat", "pipecat"), ("livekit", "livekit.agents"), ("realtime", "websockets")):
        try:
            __import__(module)
            available.add(name)
        except ImportError:
            pass
    return available


async def _measure(runs: int, chunk: int) -> dict[str, Any]:
    available = _available()
    engine = Engine.from_config(CONFIG)
    turns = _turns()
    names = ["gate", "core"] + [n for n in ("pipecat", "livekit", "realtime_text", "realtime_audio")
                                if n.split("_")[0] in available]
    samples: dict[str, list[tuple[tuple[int, int], float, float]]] = {n: [] for n in names}  # (key, us, gate us)
    audio_event = {"type": "response.output_audio.delta", "response_id": "r1", "delta": "A" * 4000}
    perf = time.perf_counter_ns
    if "pipecat" in available:
        from pipecat.frames.frames import LLMTextFrame
        from pipecat.processors.frame_processor import FrameDirection
    for run in range(runs + 1):  # run 0 warms up (regex compiles, caches) and is not recorded
        record = run > 0
        for ti, (meta, text) in enumerate(turns):
            paths = Paths(engine, meta, available)
            await paths.start()
            for ci, piece in enumerate(chunks(text, chunk)):
                timed: dict[str, float] = {}

                async def gate(piece: str = piece, paths: Paths = paths) -> None:
                    paths.gate.feed(piece)

                async def core(piece: str = piece, paths: Paths = paths) -> None:
                    paths.core.feed(piece)

                steps: list[tuple[str, Any, Any]] = [("gate", gate, None), ("core", core, None)]
                if paths.pipecat is not None:
                    steps.append(("pipecat", paths.pipecat.process_frame, (
                        LLMTextFrame(piece), FrameDirection.DOWNSTREAM)))  # the LLM made the frame: not timed
                if paths.rt_text is not None:
                    steps.append(("realtime_text", paths.rt_text.on_server_event, (
                        {"type": "response.output_text.delta", "response_id": "r1", "delta": piece},)))
                    transcript = {"type": "response.output_audio_transcript.delta", "response_id": "r1",
                                  "delta": piece}

                    async def audio(transcript: dict[str, Any] = transcript, paths: Paths = paths) -> None:
                        await paths.rt_audio.on_server_event(audio_event)
                        await paths.rt_audio.on_server_event(transcript)

                    steps.append(("realtime_audio", audio, None))
                shift = (run + ci) % len(steps)  # rotate who goes first: no path always pays the cold cache
                for name, fn, args in steps[shift:] + steps[:shift]:
                    t0 = perf()
                    await (fn(*args) if args else fn())
                    timed[name] = (perf() - t0) / 1000
                if record:
                    for name, us in timed.items():
                        samples[name].append(((ti, ci), us, timed["gate"]))
            if "livekit" in available:
                await _livekit_turn(engine, meta, text, chunk, ti, samples["livekit"] if record else [])
    return _report(names, samples, runs, chunk, len(turns))


async def _livekit_turn(engine: Engine, meta: dict[str, Any], text: str, chunk: int, ti: int,
                        out: list[tuple[tuple[int, int], float, float]]) -> None:
    """``gate_text_stream`` over one turn. The source times, per chunk, the gate alone on a twin call right
    before handing the chunk over, and the wrapper's work from the hand-over until it asks for the next chunk
    (feed, the yield to the consumer and back: what ``TraceAgent.llm_node`` adds)."""
    from livekit.agents import llm

    from trace_engine.integrations.livekit import gate_text_stream

    before = engine.start_call("gate-lk", metadata=meta).agent_stream()
    after = engine.start_call("gate-lk2", metadata=meta).agent_stream()
    pieces = [llm.ChatChunk(id="c", delta=llm.ChoiceDelta(role="assistant", content=p)) for p in chunks(text, chunk)]
    perf = time.perf_counter_ns

    async def source() -> Any:
        for ci, item in enumerate(pieces):
            t0 = perf()
            before.feed(item.delta.content)
            gate_us = (perf() - t0) / 1000
            t0 = perf()
            yield item
            wrapper_us = (perf() - t0) / 1000
            t0 = perf()
            after.feed(item.delta.content)  # the gate alone once before and once after: neither side always cold
            gate_us = min(gate_us, (perf() - t0) / 1000)
            out.append(((ti, ci), wrapper_us, gate_us))

    async for _ in gate_text_stream(TraceSession(engine, "livekit", metadata=meta), source()):
        pass


def _pcts(values: list[float]) -> dict[str, float | None]:
    s = sorted(values)
    return {k: (round(v, 2) if v is not None else None)
            for k, v in (("p50", percentile(s, 0.5)), ("p90", percentile(s, 0.9)), ("p99", percentile(s, 0.99)),
                         ("max", s[-1] if s else None))}


def _report(names, samples, runs, chunk, turns) -> dict[str, Any]:  # noqa: ANN001
    out: dict[str, Any] = {"runs": runs, "chunk_chars": chunk, "turns": turns,
                           "chunks_per_run": len(samples["gate"]) // max(runs, 1), "unit": "µs per chunk",
                           "paths": {}}
    for name in names:
        best: dict[tuple[int, int], tuple[float, float]] = {}
        for key, us, gate_us in samples[name]:
            b = best.get(key)
            best[key] = (min(b[0], us), min(b[1], gate_us)) if b else (us, gate_us)
        entry: dict[str, Any] = {
            "raw": _pcts([us for _, us, _ in samples[name]]),
            "min_of_n": _pcts([b for b, _ in best.values()]),
        }
        if name != "gate":
            entry["added_raw"] = _pcts([us - g for _, us, g in samples[name]])
            entry["added_min_of_n"] = _pcts([b - g for b, g in best.values()])
        out["paths"][name] = entry
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=6)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        from loguru import logger

        logger.remove()
    except ImportError:
        pass
    report = asyncio.run(_measure(args.runs, args.chunk))
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['turns']} agent turns, {report['chunks_per_run']} chunks of {report['chunk_chars']} chars, "
          f"{report['runs']} runs; µs per chunk")
    print(f"{'path':16} {'p50':>8} {'p90':>8} {'p99':>8} | added: {'p50':>7} {'p90':>7} {'p99':>7}"
          f" | added min-of-N: {'p50':>7} {'p90':>7} {'p99':>7}")
    for name, e in report["paths"].items():
        r = e["raw"]
        a = e.get("added_raw") or {}
        m = e.get("added_min_of_n") or {}
        print(f"{name:16} {r['p50']:8.2f} {r['p90']:8.2f} {r['p99']:8.2f} | "
              f"{_f(a.get('p50'))} {_f(a.get('p90'))} {_f(a.get('p99'))} | "
              f"               {_f(m.get('p50'))} {_f(m.get('p90'))} {_f(m.get('p99'))}")


def _f(v: float | None) -> str:
    return f"{v:7.2f}" if v is not None else f"{'-':>7}"


if __name__ == "__main__":
    main()
