"""The native text layer equals its frozen Python reference (``tests/reference_gate/text``) exactly (issue 14).

Every output is compared: the normalized view (original, text, tokens, all spans, digit flags, the fold and its
source map), ``normalize_phrase``, ``fold`` and ``fold_char``, the view's methods, every detector alone, ``detect_all``
(one finding per value) and exempt values. Inputs: arbitrary Unicode, ASCII, characters and pieces that hit every
rule, evasion forms, PII in written and spoken forms, and a bounded sample of the corpora (one turn in
:data:`CORPUS_EVERY`; ``benchmarks/text_equivalence.py`` compares every one).
"""

from __future__ import annotations

import importlib
import importlib.util
import pickle
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from text_cases import CHARS, EVASIONS, PIECES, PII, SEPS, joined

import trace_engine.text as live
from trace_engine.text.fold import fold_char

REPO = Path(__file__).resolve().parents[1]
ref = importlib.import_module("reference_gate.text")
ref_fold = importlib.import_module("reference_gate.text.fold")

_spec = importlib.util.spec_from_file_location("text_equivalence", REPO / "benchmarks" / "text_equivalence.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules["text_equivalence"] = bench
_spec.loader.exec_module(bench)

#: one corpus turn in this many is compared here (the benchmark script compares every one)
CORPUS_EVERY = 10


def assert_same(text: str) -> None:
    assert bench.compare(text) == [], repr(text)


# ------------------------------------------------------------------------------------------- the fold


@pytest.mark.skipif(unicodedata.unidata_version != "14.0.0", reason="the native tables are made from Unicode 14.0")
def test_fold_char_of_every_code_point() -> None:
    different = [
        hex(cp)
        for cp in range(0x110000)
        if not 0xD800 <= cp <= 0xDFFF and fold_char(chr(cp)) != ref_fold.fold_char(chr(cp))
    ]
    assert different == []


@pytest.mark.parametrize(
    "text",
    ["a\ud800b", "\ud800", "x\udfff\u200by", "е\ud800е", "guarant\u0435\u0435d \udc00 4111", "{\ud800} don't"],
)
def test_lone_surrogates(text: str) -> None:
    """UTF-8 cannot hold them; the face reads each as U+FFFD and puts them back where characters are copied out."""
    assert_same(text)
    nt = live.normalize(text)
    assert nt.original is text
    assert live.normalize_phrase(text) == ref.normalize_phrase(text)


# ------------------------------------------------------------------------------------------- the ASCII fast path

#: the native normalizer reads plain ASCII turns in one pass and hands anything else to the full scanner: each of
#: these sits on an edge between the two (a "$" before a number or not, written numbers, contractions, joiners,
#: number words, single letters)
FAST_PATH_EDGES = [
    "$12", "$ 12", "$\t12.50", "$$12", "$-12", "$12abc", "$ twelve", "pay $", "$%", "$@x", "it is $1,000.00 now",
    "1,000", "1,00", "12.50", "1.2.3", "415.555.0198", "1,000.5", "12,34,567", "0.5%", "50%off", "a@b",
    "I'd", "you'd've", "don't", "90's", "it's.good", "rock'n'roll", "o'clock", "cannot", "y'all's",
    "one", "Oh no", "o k", "a b", "a b c", "A. B. C.", "x y z w", "uh huh", "double check", "p.m.", "snake_case",
    "", " ", "!!!", "'hello'", "'", "a'", "'a", "ten-four", "Ninety9", "2nd and 3rd",
    # number words and single letters stay on the fast path (its number pass rebuilds the gaps from the text)
    "one, two", "twenty-four", "twenty - four", "$5 one", "one $5", "um one two", "five hundred and six",
    "I'm a b c", "a - b", "x. y. z.", "a b. c d", "call 415 five five five", "oh one", "one o o o five",
    "double 5 at 7%", "one don't two", "twenty one's", "1,000 one", "12.50 one", "one/two", "a i a",
]


@pytest.mark.parametrize("text", FAST_PATH_EDGES)
def test_fast_path_edges(text: str) -> None:
    assert_same(text)
    assert_same(f"Sure, {text} then.")


# ------------------------------------------------------------------------------------------- random texts

_pieces = joined(PIECES)
_evasions = joined(EVASIONS + PIECES, max_size=20)
_pii = joined(PII + PIECES + EVASIONS, SEPS + [", ", ". ", " at ", " dot ", "-", "\u200b"], max_size=25)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_unicode(text: str) -> None:
    assert_same(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=150))
def test_arbitrary_ascii(text: str) -> None:
    assert_same(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(CHARS, max_size=80).map("".join))
def test_tricky_characters(text: str) -> None:
    assert_same(text)


#: plain ASCII words, number words, fillers, single letters and written numbers: the fast path's own number pass and
#: its spelled-word check against the full scanner's
_FAST_WORDS = [
    "one", "two", "five", "oh", "o", "zero", "ten", "twenty", "hundred", "thousand", "and", "double", "uh", "um",
    "a", "b", "i", "I", "x", "it's", "don't", "cat's", "4", "12", "1,000", "12.50", "$5", "$", "%", "@", "call",
    "the", "First", "5th", "Ninety",
]
_FAST_SEPS = [" ", " ", " ", "  ", "-", " - ", ", ", ". ", "/", " / ", "\t", "? ", "+", "_ "]
_fast_texts = st.lists(st.tuples(st.sampled_from(_FAST_WORDS), st.sampled_from(_FAST_SEPS)), max_size=24).map(
    lambda parts: "".join(w + sep for w, sep in parts)
)


@settings(max_examples=500, deadline=None)
@given(_fast_texts)
def test_fast_path_number_words_and_letters(text: str) -> None:
    assert_same(text)


@settings(max_examples=300, deadline=None)
@given(_pieces)
def test_tricky_pieces(text: str) -> None:
    assert_same(text)


@settings(max_examples=300, deadline=None)
@given(_evasions)
def test_evasion_pieces(text: str) -> None:
    assert_same(text)


@settings(max_examples=500, deadline=None)
@given(_pii)
def test_pii_pieces(text: str) -> None:
    assert_same(text)


@settings(max_examples=200, deadline=None)
@given(_pii.map(str.upper) | _pieces.map(str.title))
def test_cased_pieces(text: str) -> None:
    assert_same(text)


# ------------------------------------------------------------------------------------------- the view's methods


@settings(max_examples=300, deadline=None)
@given(_pieces | st.text(max_size=60), st.lists(st.integers(-3, 90), min_size=2, max_size=2))
def test_view_methods(text: str, offsets: list[int]) -> None:
    a, b = ref.normalize(text), live.normalize(text)
    x, y = offsets
    assert a.token_at(x) == b.token_at(x)
    assert a.is_token_start(x) == b.is_token_start(x) and a.is_token_end(x) == b.is_token_end(x)
    assert a.to_original(x, y) == b.to_original(x, y)
    assert (a.folded, a.folded_starts, a.folded_ends) == (b.folded, b.folded_starts, b.folded_ends)
    n = len(a.tokens)
    if n:
        i, j = x % n, y % n
        assert a.token_span(i, j) == b.token_span(i, j)
        assert a.token_span(-1, -1) == b.token_span(-1, -1)
    folded = len(a.folded)
    if folded:
        s = x % folded
        assert a.folded_to_original(s, s + 1) == b.folded_to_original(s, s + 1)


def test_view_is_immutable_and_comparable() -> None:
    a, b = live.normalize("Don't call 415-555-0198"), live.normalize("Don't call 415-555-0198")
    assert a == b and a != live.normalize("don't call")
    assert a.tokens is a.tokens  # built once, on first access
    with pytest.raises(AttributeError):
        a.text = "x"  # type: ignore[misc]


def test_hits_are_values() -> None:
    h = live.detect("ssn", live.normalize("ssn 078-05-1121"))[0]
    assert h == live.DetectorHit("ssn", 4, 15, "078051121")
    assert hash(h) == hash(live.DetectorHit("ssn", 4, 15, "078051121"))
    assert pickle.loads(pickle.dumps(h)) == h
    assert repr(h) == "DetectorHit(kind='ssn', start=4, end=15, value='078051121')"


def test_unknown_kinds_raise_key_error() -> None:
    nt = live.normalize("hello")
    for call in (
        lambda: live.detect("iban", nt),
        lambda: live.detect_all(nt, ["iban"]),
        lambda: live.detect_many(nt, [("iban", frozenset())]),
        lambda: live.canonical_exempt("iban", ["x"]),
    ):
        with pytest.raises(KeyError):
            call()


# ------------------------------------------------------------------------------------------- corpora


@pytest.mark.skipif(not (bench.SHARED / "corpora").exists(), reason="../shared/corpora not available")
def test_corpus_sample() -> None:
    different = [(source, text) for source, text in bench.corpus_texts(CORPUS_EVERY) if bench.compare(text)]
    assert different == [], different[:5]


def test_corpus_sample_as_a_language_model_writes_it() -> None:
    """The same sample with curly apostrophes and quotes, em dashes, ellipses, accents and no-break spaces put in
    (``benchmarks/as_written.py``): the native layer normalizes such text in pieces cut at restart points, the frozen
    one whole."""
    texts = [(s, t) for s, t in bench.with_written(bench.corpus_texts(CORPUS_EVERY)) if s.endswith(" as written")]
    if not texts:
        pytest.skip("the shared corpora are not here")
    different = [(source, text) for source, text in texts if bench.compare(text)]
    assert different == [], different[:5]


def test_hand_made_sets_and_evasion_cases() -> None:
    """The spoken PII and ASR e-mail sets and the evasion table (in the repository: never skipped)."""
    texts = [text for source, text in bench.corpus_texts(10**9) if source not in bench.CORPORA]
    assert len(texts) > 150
    for text in texts:
        assert_same(text)
