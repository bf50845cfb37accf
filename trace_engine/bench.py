"""``trace bench``: the inline gate's latency on real agent turns, against a baseline run in the same process.

The **default gate** is all four built-in packs plus guardrails blocking all four PII kinds, two mandatory
disclosures and 50 blocked phrases, in ``modify`` mode. The **baseline** is what a team would write first: one
Python ``re`` per rule (its phrases as an alternation, word-bounded, case-insensitive; the PII detectors as the
usual written-form regexes with their validators), run in turn over the raw text. It does strictly less than the
gate (no normalization, no spoken forms, no state), so the ratio understates the gate's advantage per unit of work.

Latency is wall time per ``agent_turn`` call (``time.perf_counter_ns`` around it), percentiles by linear
interpolation between closest ranks. Caller turns are fed too (cues and states need them) but not timed.
"""

from __future__ import annotations

import gc
import os
import platform
import re
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from trace_engine import ir
from trace_engine.gate.engine import _COMPILED, Engine
from trace_engine.gate.scoring import percentile
from trace_engine.text import aba_ok, luhn_ok, mbi_ok, ssn_ok
from trace_engine.transcripts import Transcript, iter_records

REPO = Path(__file__).resolve().parents[1]
SHARED_SGD = REPO.parent / "shared" / "corpora" / "sgd_calls.jsonl"
BUILTIN_PACKS = ("tcpa", "hipaa", "pii", "brand_voice")

#: Phrases a deployment might block: competitor talk, promises, internal jargon.
BLOCKED_PHRASES: tuple[str, ...] = tuple(
    f"{a} {b}"
    for a, b in (
        ("free", "money"), ("guaranteed", "approval"), ("no", "risk"), ("cash", "bonus"), ("secret", "deal"),
        ("insider", "price"), ("cheapest", "rates"), ("best", "in town"), ("unbeatable", "offer"), ("miracle", "cure"),
        ("instant", "approval"), ("zero", "fees"), ("lifetime", "guarantee"), ("double", "your money"),
        ("risk", "free trial"), ("limited", "time only"), ("once in", "a lifetime"), ("no", "credit check"),
        ("pre approved", "loan"), ("tax", "free income"), ("work", "from home"), ("lose", "weight fast"),
        ("earn", "extra cash"), ("get", "rich quick"), ("no", "strings attached"), ("hidden", "charges"),
        ("competitor", "scam"), ("legal", "loophole"), ("off", "the books"), ("under", "the table"),
        ("internal", "code red"), ("escalation", "bypass"), ("manager", "override"), ("test", "account"),
        ("debug", "mode"), ("system", "prompt"), ("ignore", "previous instructions"), ("as an", "ai language model"),
        ("beta", "feature"), ("unreleased", "product"), ("price", "match guarantee"), ("best", "price ever"),
        ("final", "notice"), ("urgent", "response needed"), ("account", "suspended"), ("verify", "your password"),
        ("wire", "transfer now"), ("gift", "card payment"), ("crypto", "payment"), ("bitcoin", "only"),
    )
)


def default_gate_config() -> dict[str, Any]:
    """The configuration the benchmark measures (see the module docstring)."""
    return {
        "rule_packs": {pack: {"enabled": True} for pack in BUILTIN_PACKS},
        "guardrails": {
            "mode": "modify",
            "block_pii": {"patterns": ["credit_card", "ssn", "email", "us_phone"]},
            "mandatory_disclosures": [
                {"text": "this call may be recorded", "trigger": "call_start"},
                {"text": "i am an automated assistant", "required_within_seconds": 30},
            ],
            "blocked_phrases": list(BLOCKED_PHRASES),
            "inline_timeout_ms": 1000,
        },
        "variables": {"business_name": "Acme", "agent_name": "Sam"},
    }


def corpus_calls(paths: Iterable[str] | None, max_turns: int) -> list[Transcript]:
    """Calls from ``paths`` (default: the shared SGD corpus when present, else ``corpora/``) up to ``max_turns``
    agent turns in all."""
    chosen = list(paths or ())
    if not chosen:
        chosen = default_corpus()
    calls: list[Transcript] = []
    agent_turns = 0
    for path in chosen:
        for item in iter_records(path):
            if not isinstance(item, Transcript):
                continue
            calls.append(item)
            agent_turns += sum(1 for role, _, _ in item.turns if role == "agent")
            if agent_turns >= max_turns:
                return calls
    return calls


# --------------------------------------------------------------------------------------------- baseline


_BASELINE_DETECTORS: dict[str, tuple[str, Any]] = {
    "credit_card": (r"\b(?:\d[ -]?){12,18}\d\b", lambda m: luhn_ok(re.sub(r"\D", "", m))),
    "ssn": (r"\b\d{3}-?\d{2}-?\d{4}\b", lambda m: ssn_ok(re.sub(r"\D", "", m))),
    "email": (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", lambda m: True),
    "us_phone": (r"(?:\+?1[ .-]?)?\(?\b\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}\b", lambda m: True),
    "mbi": (r"\b\d[A-Za-z][A-Za-z0-9]\d-?[A-Za-z][A-Za-z0-9]\d-?[A-Za-z]{2}\d{2}\b", lambda m: mbi_ok(m.replace("-", "").upper())),
    "aba_routing": (r"\b\d{9}\b", lambda m: aba_ok(m)),
}


def _leaves(matcher: ir.Matcher) -> Iterable[ir.Matcher]:
    if isinstance(matcher, ir.AnyOf):
        for member in matcher.members:
            yield from _leaves(member)
    else:
        yield matcher


def _rule_matchers(rule: ir.Rule) -> Iterable[ir.Matcher]:
    for check in rule.checks:
        if isinstance(check, (ir.MustSay, ir.MustNotSay)):
            yield check.matcher
        elif isinstance(check, ir.OnCue):
            yield check.cue
            for inner in check.then:
                yield inner.matcher


class Baseline:
    """One compiled Python ``re`` per rule (plus validators for detector rules), run in turn."""

    def __init__(self, packs: list[ir.Pack], variables: dict[str, str]) -> None:
        self.rules: list[tuple[re.Pattern[str], list[tuple[re.Pattern[str], Any]]]] = []
        for pack in packs:
            for rule in pack.rules:
                phrases: list[str] = []
                regexes: list[str] = []
                detectors: list[tuple[re.Pattern[str], Any]] = []
                for matcher in _rule_matchers(rule):
                    for leaf in _leaves(matcher):
                        if isinstance(leaf, ir.Phrases):
                            for p in leaf.items:
                                for name, value in variables.items():
                                    p = p.replace("{" + name + "}", value)
                                phrases.append(re.escape(p).replace(r"\*", r"(?:\w+\s+){1,3}?\w*"))
                        elif isinstance(leaf, ir.Regex):
                            regexes.append(leaf.source)
                        elif isinstance(leaf, ir.Detector):
                            pattern, validate = _BASELINE_DETECTORS[leaf.kind]
                            detectors.append((re.compile(pattern), validate))
                alternation = [rf"\b(?:{'|'.join(phrases)})\b"] if phrases else []
                combined = "|".join(alternation + [f"(?:{r})" for r in regexes]) or r"(?!x)x"
                self.rules.append((re.compile(combined, re.IGNORECASE), detectors))

    def check(self, text: str) -> int:
        hits = 0
        for pattern, detectors in self.rules:
            if pattern.search(text):
                hits += 1
            for detector, validate in detectors:
                for m in detector.finditer(text):
                    if validate(m.group(0)):
                        hits += 1
        return hits


# --------------------------------------------------------------------------------------------- runs


def _summary(samples_ns: list[int]) -> dict[str, Any]:
    us = sorted(ns / 1000.0 for ns in samples_ns)
    return {
        "p50_us": round(percentile(us, 0.50) or 0.0, 3),
        "p99_us": round(percentile(us, 0.99) or 0.0, 3),
        "p999_us": round(percentile(us, 0.999) or 0.0, 3),
        "mean_us": round(sum(us) / len(us), 3) if us else 0.0,
    }


def _no_tick() -> None:
    pass


def run_gate(engine: Engine, calls: list[Transcript], tick: Callable[[], None] = _no_tick) -> list[int]:
    samples: list[int] = []
    clock = time.perf_counter_ns
    for n, transcript in enumerate(calls):
        tick()  # progress, once per call and outside the timed region
        call = engine.start_call(f"bench-{n}", metadata={"direction": "outbound", **transcript.metadata})
        for role, text, t in transcript.turns:
            if role == "agent":
                started = clock()
                call.agent_turn(text, t)
                samples.append(clock() - started)
            else:
                call.caller_turn(text, t)
    return samples


def run_baseline(baseline: Baseline, calls: list[Transcript], tick: Callable[[], None] = _no_tick) -> list[int]:
    samples: list[int] = []
    clock = time.perf_counter_ns
    for transcript in calls:
        tick()
        for role, text, _ in transcript.turns:
            if role == "agent":
                started = clock()
                baseline.check(text)
                samples.append(clock() - started)
    return samples


def _chunks(text: str, words: int = 2) -> list[str]:
    parts = re.findall(r"\S+\s*", text)
    return ["".join(parts[i : i + words]) for i in range(0, len(parts), words)] or [text]


def run_stream(
    engine: Engine, calls: list[Transcript], max_turns: int, tick: Callable[[], None] = _no_tick
) -> dict[str, Any]:
    samples: list[int] = []
    holdback = 0
    turns = 0
    clock = time.perf_counter_ns
    for n, transcript in enumerate(calls):
        tick()
        call = engine.start_call(f"stream-{n}", metadata={"direction": "outbound", **transcript.metadata})
        for role, text, t in transcript.turns:
            if role != "agent":
                call.caller_turn(text, t)
                continue
            stream = call.agent_stream(t)
            for chunk in _chunks(text):
                started = clock()
                stream.feed(chunk)
                samples.append(clock() - started)
            stream.close()
            holdback = max(holdback, stream.max_holdback_chars)
            turns += 1
            if turns >= max_turns:
                return {"chunks": len(samples), **_summary(samples), "max_holdback_chars": holdback}
    return {"chunks": len(samples), **_summary(samples), "max_holdback_chars": holdback}


def compiled_memory_mb(config: dict[str, Any]) -> float:
    """Memory allocated while compiling the default gate from scratch (tracemalloc)."""
    _COMPILED.clear()
    gc.collect()
    tracemalloc.start()
    engine = Engine.from_config(config)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del engine
    return round(current / 2**20, 2)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(), "cpu": cpu}


def default_corpus() -> list[str]:
    """The shared SGD corpus when present, else the repository's ``corpora/``; empty in an installed wheel."""
    for candidate in (SHARED_SGD, REPO / "corpora"):
        if candidate.exists():
            return [str(candidate)]
    return []


def run(
    corpus: list[str] | None = None,
    turns: int = 20_000,
    stream_turns: int = 2_000,
    tier2: bool = False,
    phase: Callable[[str, int | None], Callable[[], None]] | None = None,
) -> dict[str, Any]:
    """Everything ``trace bench`` prints. ``phase(description, calls)`` is called as each phase starts and returns
    the function to call once per call (progress display; never inside a timed region)."""
    start = phase or (lambda description, total: _no_tick)
    config = default_gate_config()
    start("compiling", None)
    memory_mb = compiled_memory_mb(config)
    engine = Engine.from_config(config)
    start("loading corpus", None)
    calls = corpus_calls(corpus, turns)
    baseline = Baseline(list(engine.program.ir_packs), {k: str(v) for k, v in config["variables"].items()})
    warm = calls[: max(1, len(calls) // 10)]
    run_gate(engine, warm, start("warm-up", len(warm)))  # caches, branch predictors, lazy imports
    gate = run_gate(engine, calls, start("gate", len(calls)))
    base = run_baseline(baseline, calls, start("baseline", len(calls)))
    gate_summary = _summary(gate)
    base_summary = _summary(base)
    result: dict[str, Any] = {
        "machine": machine(),
        "corpus": [str(c) for c in (corpus or default_corpus())],
        "config": {"packs": engine.packs_enforced, "mode": "modify", "blocked_phrases": len(BLOCKED_PHRASES)},
        "gate": {"turns": len(gate), **gate_summary},
        "baseline": {"turns": len(base), **base_summary},
        "speedup_p50": round(base_summary["p50_us"] / gate_summary["p50_us"], 2) if gate_summary["p50_us"] else None,
        "speedup_p99": round(base_summary["p99_us"] / gate_summary["p99_us"], 2) if gate_summary["p99_us"] else None,
        "stream": run_stream(engine, calls, stream_turns, start("streaming", None)),
        "memory_mb": memory_mb,
    }
    if tier2:
        result["gate_with_tier2"] = _with_tier2(config, calls, start("gate + tier-2", len(calls)))
    return result


def _with_tier2(config: dict[str, Any], calls: list[Transcript], tick: Callable[[], None] = _no_tick) -> dict[str, Any]:
    try:
        from trace_engine.tier2.runner import tier2_observer_for_bench
    except ImportError:
        return {"available": False}
    observer = tier2_observer_for_bench()
    engine = Engine.from_config(config, observers=(observer,))
    samples = run_gate(engine, calls, tick)
    close = getattr(observer, "close", None)
    if close:
        close()
    return {"turns": len(samples), **_summary(samples)}
