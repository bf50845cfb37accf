"""The optimized normalizer must match the frozen reference implementation exactly, field for field.

``normalize_reference`` is a verbatim copy of ``normalize.py`` + ``numbers.py`` from before the speed work;
every output field (text, tokens, norm_starts, orig_starts, orig_ends, is_digits) and ``normalize_phrase``
must stay identical on arbitrary Unicode, on texts assembled from tricky pieces, and on a real corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

import normalize_reference as ref
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trace_engine.text.normalize import normalize, normalize_phrase

_SGD = Path("/work/shared/corpora/sgd_calls.jsonl")


def fields(nt) -> tuple:
    return (nt.original, nt.text, nt.tokens, nt.norm_starts, nt.orig_starts, nt.orig_ends, nt.is_digits)


def assert_same(src: str) -> None:
    assert fields(normalize(src)) == fields(ref.normalize(src)), repr(src)
    assert normalize_phrase(src) == ref.normalize_phrase(src), repr(src)


# Pieces chosen to hit every rule and the boundaries between the fast paths and the general path.
_PIECES = [
    # words, case, unicode
    "a",
    "I",
    "Hello",
    "WORLD",
    "ok",
    "and",
    "to",
    "the",
    "ß",
    "İ",
    "é",
    "Straße",
    "ﬁ",
    "Ω",
    "😀",
    "日本",
    "\ud800",
    "\x00",
    "ǅ",
    "K",
    # contractions, apostrophes of every kind
    "don't",
    "Don’t",
    "can't",
    "CAN'T",
    "cannot",
    "won't",
    "I'm",
    "i‘m",
    "it's",
    "It’s",
    "let's",
    "y'all",
    "gonna",
    "wanna",
    "gotta",
    "you'll",
    "we've",
    "they're",
    "he'd",
    "john's",
    "90's",
    "o'clock",
    "rock'n'roll",
    "isn't",
    "ain't",
    "shan't",
    "ʼs",
    "'",
    "’",
    "‘",
    "ʼ",
    "`",
    "'s",
    "n't",
    "x'",
    "'x",
    "a'b'c",
    "don't's",
    # numbers
    "0",
    "1",
    "7",
    "12",
    "45",
    "911",
    "4111",
    "1111",
    "12.99",
    "1,000",
    "1,000,000.50",
    "415.555.0198",
    "192.168.1.1",
    "1.2.3",
    "1,2",
    "12,34",
    "0.5",
    "٣",
    "²",
    "7:30",
    "4111-1111",
    "zero",
    "one",
    "two",
    "five",
    "nine",
    "oh",
    "o",
    "O",
    "double",
    "triple",
    "treble",
    "ten",
    "eleven",
    "nineteen",
    "twenty",
    "ninety",
    "hundred",
    "thousand",
    "million",
    "billion",
    "and",
    "Twenty-five",
    # fillers
    "uh",
    "um",
    "uhm",
    "umm",
    "er",
    "erm",
    "ah",
    "hmm",
    "hm",
    "mm",
    "Uh",
    # symbols, emails, punctuation
    "$",
    "$45",
    "$ 12.99",
    "%",
    "50%",
    "@",
    "jane.doe@example.com",
    "example.com",
    "x_y",
    "a.b",
    "no.Then",
    "e.g.",
    "U.S.",
    "_",
    "__",
    "-",
    "–",
    "—",
    "/",
    "(",
    ")",
    ",",
    ".",
    "!",
    "?",
    ":",
    ";",
    '"',
    "“",
    "”",
    "{name}",
    "{x",
    "*",
    "+1",
]
_SEPS = [" ", " ", " ", "", "  ", "\t", "\n", ", ", ". ", "-", " - ", "/", "'", "’", ".", ",", "_", "\u00a0"]

_pieces = st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_SEPS)), max_size=30).map(
    lambda xs: "".join(p + s for p, s in xs)
)
_chars = st.sampled_from(list("abcxyzABCXYZ0123456789 .,-_'’‘ʼ`@$%()+:\n\t\x00😀éßİ{}*") + ["\ud800"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_unicode(src: str) -> None:
    assert_same(src)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=150))
def test_arbitrary_ascii(src: str) -> None:
    assert_same(src)


@settings(max_examples=300, deadline=None)
@given(st.lists(_chars, max_size=80).map("".join))
def test_tricky_characters(src: str) -> None:
    assert_same(src)


@settings(max_examples=300, deadline=None)
@given(_pieces)
def test_tricky_pieces(src: str) -> None:
    assert_same(src)


@pytest.mark.parametrize(
    "src",
    [
        "",
        " ",
        "Thanks for calling Acme, how can I help you today?",
        "I don't know, it's 7:30 pm for $45 and we'll see.",
        "My number is four one five, five five five, oh one nine eight.",
        "card 4111 1111 1111 1111 exp 12 25",
        "double five triple seven oh oh",
        "two thousand twenty four, one hundred and five, nineteen eighty four",
        "email jane.doe@example.com or JOHN_SMITH@Example.CO.uk",
        "$ $$ $5 $ 12.99 $one 5% @ @@",
        "uh um I, uh, can't — ain't gonna do it",
        "He said “don’t” and ‘it’s’ ok'",
        "DON'T CALL ME AGAIN",
        "hello world and I'm here",
        "$$5 $45's $ 45 $\t7 %@ $cannot a$b $-5 $, 5 5$ $ $one's 90's one's er'd",
        "I booked 7:30 pm for $45 per person, is that okay?",
    ],
)
def test_examples(src: str) -> None:
    assert_same(src)


def _sgd_turns(limit_calls: int = 3000) -> list[str]:
    out = []
    with _SGD.open(encoding="utf-8") as f:
        for k, line in enumerate(f):
            if k >= limit_calls:
                break
            for turn in json.loads(line)["transcript"]["turns"]:
                out.append(turn["text"])
    return out


@pytest.mark.skipif(not _SGD.exists(), reason="SGD corpus not available")
def test_sgd_corpus_identical() -> None:
    bad = [t for t in _sgd_turns() if fields(normalize(t)) != fields(ref.normalize(t))]
    assert not bad, bad[:5]


# issue 11: evasion forms (folding, spelled words, spoken digit variants) against the reference
_EVASIONS = [
    "guar\u200danteed", "guar\u200banteed", "guar\u00adanteed", "\u202eguaranteed\u202c", "\u2066ok\u2069",
    "ｇｕａｒａｎｔｅｅｄ", "𝐠𝐮𝐚𝐫𝐚𝐧𝐭𝐞𝐞𝐝", "guarant\u0435\u0435d", "gυaranteeʼs", "Привет мир", "ΑΒΓ",
    "g u a r a n t e e d", "g.u.a.r.a.n.t.e.e.d", "g-u-a-r-a-n-t-e-e-d", "g_u_a", "s a m at", "o o o", "U.S.A.",
    "٠٧٨-٠٥-١١٢١", "０７８-０５-１１２１", "𝟎𝟕𝟖", "niner", "nought", "4-1-1-1", "\u00a0", "\u2212", "e\u0301",
    "ﬁne", "①", "½", "\ufeff", "\U000e0041", "\ufe0f", "ß", "İ", "i'm", "x\u2019y z",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_EVASIONS + _PIECES), st.sampled_from(_SEPS)), max_size=20).map(
    lambda xs: "".join(p + s for p, s in xs)
))
def test_evasion_pieces(src: str) -> None:
    assert_same(src)
