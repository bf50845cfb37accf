"""The frozen Python gate (tests/reference_gate) is the oracle the native gate is held to: decisions, streamed
releases, scorecards and end states agree on the demo corpus, on a sample of every shared corpus (SGD, Taskmaster,
MTS-Dialog) in all four modes, and on random turns cut into random chunks (hypothesis).

``benchmarks/equivalence.py`` runs the same comparison over whole corpora.
"""

from __future__ import annotations

import functools
import json
import random

import pytest
from gate_equivalence import CORPORA, FACT_VARIANTS, MODES, configs, first_difference, replay, stream_turn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_gate.gate.engine import Engine as ReferenceEngine

from trace_engine import Engine
from trace_engine.transcripts import load_transcripts

#: calls per shared corpus, spread over the file (every call of the demo corpus is compared)
SAMPLE = 12


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


@functools.cache
def _engines(mode: str, k: int) -> tuple[Engine, ReferenceEngine]:
    cfg = configs(mode)[k]
    return Engine.from_config(cfg), ReferenceEngine.from_config(cfg)


def _compare(path: str, mode: str, picks: list[int]) -> list[str]:
    calls = list(load_transcripts(path))
    differences = []
    for i in picks:
        for k in range(len(configs(mode))):
            live, ref = _engines(mode, k)
            seed = f"{path}:{i}:{mode}:{k}"
            a = replay(live, calls[i], FACT_VARIANTS[i % len(FACT_VARIANTS)], random.Random(seed))
            b = replay(ref, calls[i], FACT_VARIANTS[i % len(FACT_VARIANTS)], random.Random(seed))
            if not _same(a, b):
                differences.append(f"{calls[i].call_id} (config {k}): {first_difference(a, b)}")
    return differences


@pytest.mark.parametrize("mode", MODES)
def test_demo_corpus_identical(mode: str) -> None:
    path = CORPORA["demo"]
    n = sum(1 for line in path.open(encoding="utf-8") if line.strip())
    assert _compare(str(path), mode, list(range(n))) == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("corpus", ["sgd", "taskmaster", "mts"])
def test_shared_corpus_sample_identical(corpus: str, mode: str) -> None:
    path = CORPORA[corpus]
    if not path.exists():
        pytest.skip(f"{path} not available (set TRACE_SHARED_DIR)")
    n = sum(1 for line in path.open(encoding="utf-8") if line.strip())
    picks = sorted({(j * n) // SAMPLE for j in range(SAMPLE)})
    assert _compare(str(path), mode, picks) == []


SENTENCES = [
    "Hi, this is Sam calling from Acme Solar.",
    "This call is recorded.",
    "We guarantee you'll save money, trust me.",
    "To be honest, this is a great deal.",
    "Your card on file is 4111 1111 1111 1111, expiring next year.",
    "The card is four one one one, uh, one one one one, one one one one, one one one one.",
    "Your social is 123-45-6789.",
    "Your social is one two three, four five, six seven eight nine.",
    "I'll email jane.doe@example.com today.",
    "Write to jane dot doe at example dot com please.",
    "Call us at four one five, five five five, zero one nine eight.",
    "Or 212-555-0143 works too.",
    "The apartment is located at 1282 Mattox Road and the rent is $5,150 per month.",
    "What's the CVV on the back of your card?",
    "Your lab results are ready.",
    "If you'd like us to stop calling, just say stop.",
    "It's a limited time offer, act now!",
    "I'm an AI assistant.",
    "Your Medicare number is 1EG4-TE5-MK73.",
    "The routing number is 021000021.",
]
CALLER = ["okay, who is this again?", "stop calling me", "yes, this is Jane", "my date of birth is May 4 1980", "sure"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mode=st.sampled_from(MODES),
    k=st.integers(0, 1),
    facts=st.sampled_from(FACT_VARIANTS),
    turns=st.lists(
        st.one_of(
            st.tuples(st.just("agent"), st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=3).map(" ".join),
                      st.lists(st.integers(0, 10_000), max_size=8)),
            st.tuples(st.just("caller"), st.sampled_from(CALLER), st.just([])),
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_random_turns_and_chunkings_identical(mode, k, facts, turns) -> None:
    """Random calls, each agent turn checked whole or streamed at random cuts (an empty list of cuts: whole)."""

    def run(engine):
        gate = engine.start_call("h", metadata=dict(facts))
        out = []
        for role, text, cuts in turns:
            if role == "caller":
                gate.caller_turn(text)
            elif cuts:
                out.append(stream_turn(gate, text, None, sorted({c % (len(text) + 1) for c in cuts})))
            else:
                d = gate.agent_turn(text)
                out.append((d.action, d.text, [f.to_dict() for f in d.findings]))
        card = gate.end().to_dict()
        for volatile in ("gate_health", "scored_at", "started_at"):
            card.pop(volatile, None)
        return out, card, dict(gate.states)

    live, ref = _engines(mode, k)
    a, b = run(live), run(ref)
    assert _same(a, b), first_difference(a, b)


#: words that meet around a rewrite: plain words (restart points), number words and fillers, digit groups, phone
#: numbers, SSNs and cards written and spoken, e-mail words, single letters, punctuation glued on
WORDS = [
    "the", "phone", "number", "is", "call", "us", "at", "dot", "com", "jane", "doe", "example", "and", "oh", "one",
    "two", "four", "five", "seven", "nine", "zero", "twenty", "hundred", "double", "uh", "um", "a", "b", "i", "e",
    "415", "555", "0198", "4111", "1111", "123-45-6789", "408-247-8880", "(212) 555-0143", "021000021", "1EG4-TE5-MK73",
    "$322.", "11:30", "am", "we'll", "it's", "jane.doe@example.com", "ssn", "social", "card", "routing", "claim",
    "reach", "them", "by", "Their", "Sure.", "Okay,", "guarantee", "honest,", "recorded.", "stop", "calling",
]
SEPARATORS = [" ", " ", " ", " ", ", ", ". ", " - ", "-", "  "]


@st.composite
def word_turns(draw) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=24))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(words), max_size=len(words)))
    return "".join(w + s for w, s in zip(words, seps, strict=True)).rstrip() + draw(st.sampled_from(["", ".", "?"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from(("modify", "warn")), k=st.integers(0, 1), facts=st.sampled_from(FACT_VARIANTS),
       turns=st.lists(word_turns(), min_size=1, max_size=4))
def test_rewritten_turns_store_what_the_oracle_stores(mode, k, facts, turns) -> None:
    """Random turns dense in digits, number words and e-mail words: a rewritten turn's stored text (the storage
    re-scan reuses the turn's own normalized view around the rewrite) and redactions equal the frozen gate's."""

    def run(engine):
        gate = engine.start_call("h", metadata=dict(facts))
        out = [(d.action, d.text) for d in (gate.agent_turn(text) for text in turns)]
        card = gate.end().to_dict()
        return out, card["timeline"], card["redactions"], card["findings"]

    live, ref = _engines(mode, k)
    a, b = run(live), run(ref)
    assert _same(a, b), first_difference(a, b)


#: turns a rewrite puts injected lines around (the first turn of a call gets the call-start disclosures, later ones
#: the scheduled reminders): the native gate joins the turn's own ``str`` with the lines' in Python, so the turn's
#: characters must come out exactly, whatever they are
AROUND = ["Hello there.", "Café crème at 8 ☕", "a lone \ud800 surrogate", "trailing spaces   ", "  ", "",
          "emoji 👋🏽 and ＦＵＬＬＷＩＤＴＨ", "I'm calling about your account, is now a good time?"]


@pytest.mark.parametrize("facts", range(len(FACT_VARIANTS)))
def test_lines_injected_around_any_turn_identical(facts: int) -> None:
    live, ref = _engines("modify", 1)  # the benchmark's config: its guardrails inject lines
    call = type("Call", (), {"call_id": "around", "agent_id": None, "metadata": {},
                             "turns": [("agent", text, float(i)) for i, text in enumerate(AROUND * 2)]})()
    a = replay(live, call, FACT_VARIANTS[facts])
    b = replay(ref, call, FACT_VARIANTS[facts])
    assert _same(a, b), first_difference(a, b)
    assert any(action == "modify" for action, *_ in a[0])  # lines were injected
