"""A seeded fuzzer over streamed turns that hold PII, written and spoken: the streaming promise at every chunk.

Each turn strings together cards, SSNs, phones, account and routing numbers, e-mails (written, and spoken with
"at" and "dot"), compound number words ("seventy eight", "five hundred") and plain words, joined by separators
the normalizer reads in different ways (unusual spaces, dashes, quotes, slashes, ellipses, zero-width characters,
line breaks) and glued to words by them. It is streamed in one piece, one word and two words at a time and at random
cuts, in every mode, and held to what ``AgentStream`` promises against the same turn checked whole:

- the feeds' releases plus the tail are the whole turn's text (a turn that is not suppressed);
- nothing released is text the whole turn masks: every release so far is a prefix of the text the turn is spoken
  as when it is rewritten (the whole turn's in modify mode), also in block and handoff mode, where a turn is cut off
  by a violation only after what was already safe;
- the streamed Decision (action, text, findings) is the whole turn's.

The seeds are fixed and the work bounded (a few seconds): the same turns every run. It found the three cases the
word-for-word tests in ``tests/test_stream_incremental.py`` keep (number words glued by punctuation, a release that
stopped mid-word, a compound number word that moved a carried regex match).
"""

from __future__ import annotations

import functools
import random
import re

import pytest
from reference_gate.gate.engine import Engine as ReferenceEngine
from test_gate_stream import META, config, engine

from trace_engine.replay import word_chunks

GREETING = "Hi, this is Sam calling from Acme Solar. This call is recorded."

PII = [
    # cards
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "four one one one one one one one one one one one one one one one",
    "four one one one, one one one one, one one one one, one one one one",
    "５５５５ ５５５５ ５５５５ ４４４４",
    # SSNs
    "123-45-6789",
    "123 45 6789",
    "my ssn is 123456789",
    "one two three, four five, six seven eight nine",
    "social security number one two three four five six seven eight nine",
    # phones
    "(415) 555-0198",
    "212.555.0143",
    "four one five, double five five, oh one nine eight",
    "two one two triple five oh one four three",
    # account and routing numbers, with compound number words
    "account number is 12345678",
    "account number is 123456 seventy eight",
    "account no 98765 forty two",
    "account number is one two three four five six seven eight",
    "account number 4455 sixty six seventy seven",
    "account of 12345-6789",
    "routing 021000021",
    "routing number oh two one oh oh oh oh two one",
    "claim number 123456789",
    "one hundred twenty three forty five sixty seven eighty nine",
    "twelve thousand three hundred forty five",
    "one hundred and five four one one one, one one one one, one one one one",
    # e-mails
    "jane.doe@example.com",
    "jane dot doe at example dot com",
    "j a n e at example dot com",
    "front dash desk at river dash clinic dot com",
]
PLAIN = ["thanks", "for", "the", "details", "we", "can", "help", "okay", "sure", "great", "please", "hold", "and", "at"]
SEPARATORS = [
    " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\u202f", "\x1f", "\x85", "\u2028",
    "\u200b", "\u200d", "\ufeff", ", ", ". ", "; ", ": ", "-", " - ", "\u2013", "\u2014", " \u2014 ", "\u2026",
    "/", "|", "+", "\u00bb", "\u201d", "\u201c", "\"", "'", "\u2019", "(", ")", "*", "#", "\u00b7", "~", "_",
]
MODES = ["warn", "modify", "block", "human_handoff"]
#: turns per mode: each is streamed in four chunkings (the frozen gate, pure Python, gets fewer)
TURNS = 300
REFERENCE_TURNS = 25


def build_turn(rng: random.Random) -> str:
    """A few PII forms and plain runs; some words glued to a separator, some joins made of one."""
    parts = []
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.65:
            words = rng.choice(PII).split(" ")
            sep = rng.choice(SEPARATORS) if rng.random() < 0.4 else None
            out = []
            for w in words:
                r = rng.random()
                w = w + rng.choice(SEPARATORS) if r < 0.1 else rng.choice(SEPARATORS) + w if r < 0.15 else w
                out.append(w)
            text = out[0]
            for w in out[1:]:
                text += (sep if sep is not None and rng.random() < 0.7 else " ") + w
            parts.append(text)
        else:
            parts.append(" ".join(rng.choice(PLAIN) for _ in range(rng.randint(1, 5))))
    return "".join(p + rng.choice([" ", " ", ", ", ". ", rng.choice(SEPARATORS)]) for p in parts)


def chunkings(text: str, rng: random.Random) -> list[list[str]]:
    cuts = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, rng.randint(1, 12))))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return [[text], word_chunks(text, 1), word_chunks(text, 2), [p for p in pieces if p]]


@functools.cache
def reference_engine(mode: str) -> ReferenceEngine:
    """The frozen gate (the oracle) with the config of ``test_gate_stream.engine``."""
    return ReferenceEngine.from_config(config(mode))


def past_greeting(mode: str, gate=engine):
    call = gate(mode).start_call("c", metadata=META)
    call.agent_turn(GREETING)
    call.caller_turn("okay")
    return call


def findings(d) -> list:
    return [(f.rule_id, f.span, f.action_taken, f.kind) for f in d.findings]


def problems(mode: str, text: str, chunks: list[str], gate=engine) -> list[str]:
    whole = past_greeting(mode, gate).agent_turn(text)
    rewritten = past_greeting("modify", gate).agent_turn(text).text
    spoken = whole.text if whole.action not in ("block", "handoff") else rewritten
    stream = past_greeting(mode, gate).agent_stream()
    released = ""
    found = []
    for chunk in chunks:
        released += stream.feed(chunk)
        if not (spoken or "").startswith(released):
            found.append(f"a feed released {released!r}; the turn is spoken {spoken!r}")
            break
    decision = stream.close()
    if (decision.action, decision.text, findings(decision)) != (whole.action, whole.text, findings(whole)):
        found.append(f"streamed {decision.action} {decision.text!r} {findings(decision)}; whole {whole.action} "
                     f"{whole.text!r} {findings(whole)}")
    if whole.action not in ("block", "handoff") and released + stream.tail != whole.text:
        found.append(f"released {released!r} + tail {stream.tail!r} != {whole.text!r}")
    return found


def fuzz(mode: str, turns: int, gate=engine) -> list[str]:
    rng = random.Random(f"stream-fuzz:{mode}")
    failures = []
    for _ in range(turns):
        text = build_turn(rng)
        for chunks in chunkings(text, rng):
            for problem in problems(mode, text, chunks, gate):
                failures.append(f"{text!r} in {len(chunks)} chunks: {problem}")
    return failures


@pytest.mark.parametrize("mode", MODES)
def test_streams_keep_their_promise_on_fuzzed_pii(mode):
    failures = fuzz(mode, TURNS)
    assert not failures, "\n".join(failures[:10]) + f"\n({len(failures)} in all)"


CARD = ", ".join(["four one one one"] + ["one one one one"] * 3)
#: the shapes the frozen gate's release rule leaked (fixed in its own commits): number words glued by punctuation,
#: an edit that starts mid-word, a number word before a space only Python calls whitespace, an "and" in a compound
ORACLE_LEAKS = [
    *(f"one one one{g}one one one one one one one one one one one four one{g}one one one one one 1"
      for g in ["\u2013", "\u2014", "\u201d", "/", "\u2026", "|", "+", "\u00bb"]),
    "account 12345-6789 hundred\u00bbthree forty five sixty seven nine br h h h h o e o e r e x n t e e ",
    *(f"account number is 12345678 {CARD}{space}{CARD} " for space in ["\u00a0", "\u2003", "\u3000", "\u202f", "\x1f"]),
    # an "and" inside a compound number broke the hold-back's run of number words
    "calling one hundred and five four one one one, one one one one, one one one one, one one one one five five five. ",
]


@pytest.mark.parametrize("mode", ["modify", "block"])
def test_the_frozen_gate_keeps_it_too(mode):
    """The oracle's streams are held to the same promise: the shapes its release rule leaked, a word and two words
    at a time, and fuzzed turns."""
    failures = [
        f"{text!r} {n} words at a time: {problem}"
        for text in ORACLE_LEAKS
        for n in (1, 2)
        for problem in problems(mode, text, word_chunks(text, n), reference_engine)
    ]
    failures += fuzz(mode, REFERENCE_TURNS, reference_engine)
    assert not failures, "\n".join(failures[:10]) + f"\n({len(failures)} in all)"


def test_the_fuzzer_builds_what_it_says():
    """The turns hold glued separators and spoken forms, and the chunkings cover a turn exactly."""
    rng = random.Random("stream-fuzz:modify")
    turns = [build_turn(rng) for _ in range(TURNS)]
    assert any(re.search(r"[a-z][\u2013\u2014/|+\u00bb\u201d\u2026][a-z]", t) for t in turns)
    assert any(" dot " in t for t in turns) and any(re.search(r"\d{4}", t) for t in turns)
    for t in turns:
        assert all("".join(c) == t for c in chunkings(t, rng))
