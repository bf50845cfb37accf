"""The normalized view: tokens, exact original spans, contractions, numbers, symbols, robustness."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trace_engine.text import NormalizedText, normalize, normalize_phrase


def spans(nt: NormalizedText) -> list[str]:
    return [nt.original[a:b] for a, b in zip(nt.orig_starts, nt.orig_ends, strict=True)]


def check_invariants(nt: NormalizedText) -> None:
    n = len(nt.tokens)
    assert nt.text == " ".join(nt.tokens)
    assert len(nt.norm_starts) == len(nt.orig_starts) == len(nt.orig_ends) == len(nt.is_digits) == n
    for i, tok in enumerate(nt.tokens):
        assert tok and " " not in tok
        assert nt.text[nt.norm_starts[i] : nt.norm_starts[i] + len(tok)] == tok
        assert 0 <= nt.orig_starts[i] < nt.orig_ends[i] <= len(nt.original)
        assert nt.is_digits[i] == (tok.isascii() and tok.isdigit())
        if i:
            assert nt.orig_starts[i - 1] <= nt.orig_starts[i]
            assert nt.orig_ends[i - 1] <= nt.orig_ends[i]


# ------------------------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    "src, expected",
    [
        ("", ""),
        ("   ", ""),
        ("Hello, World!", "hello world"),
        ("  multiple   spaces\tand\nnewlines ", "multiple spaces and newlines"),
        ("Don't call me", "do not call me"),
        ("I DON'T want it", "i do not want it"),
        ("don’t call me", "do not call me"),
        ("I can't, I cannot", "i can not i can not"),
        ("we won't", "we will not"),
        ("that ain't it", "that is not it"),
        ("I'm here, you're there, it's fine", "i am here you are there it is fine"),
        ("let's go y'all", "let us go you all"),
        ("I'll, she'll, you'd, I've", "i will she will you would i have"),
        ("he's sure what's that there's more", "he is sure what is that there is more"),
        ("gonna wanna gotta", "going to want to got to"),
        ("John's car", "john car"),
        ("they'd mightn't", "they would might not"),
        ("five o'clock", "5 o'clock"),
        ("re-call the co-op", "re call the co op"),
        ("“quoted” ‘single’", "quoted single"),
        ("I do not want 4111 1111", "i do not want 4111 1111"),
        ("4111 1111 one one 2222", "4111 1111112222"),
        ("four one one one", "4111"),
        ("4111 one one one", "4111111"),
        ("four one uh one one", "4111"),
        ("um so uh hmm er ah uhm yes", "so yes"),
        ("four one five, five five five, zero one nine eight", "415 555 0198"),
        ("four one five five five five oh one nine eight", "4155550198"),
        ("oh okay", "oh okay"),
        ("oh, five", "oh 5"),
        ("o k", "o k"),
        ("double five", "55"),
        ("triple seven", "777"),
        ("double oh seven", "007"),
        ("double trouble", "double trouble"),
        ("twenty five", "25"),
        ("twenty-five", "25"),
        ("nineteen", "19"),
        ("one hundred", "100"),
        ("five hundred", "500"),
        ("two thousand twenty four", "2024"),
        ("one hundred and five", "105"),
        ("twenty five hundred", "2500"),
        ("nineteen eighty four", "19 84"),
        ("twenty five five five", "25 55"),
        ("ninety nine thousand nine hundred ninety nine", "99999"),
        ("rock and roll", "rock and roll"),
        ("$12", "12 dollars"),
        ("only $12.99 today", "only 12.99 dollars today"),
        ("$1,000", "1000 dollars"),
        ("a $ sign", "a dollars sign"),
        ("100%", "100 percent"),
        ("12.99", "12.99"),
        ("1,000,000.50", "1000000.50"),
        ("jane.doe@example.com", "jane dot doe at example dot com"),
        ("jane dot doe at example dot com", "jane dot doe at example dot com"),
        ("jane_doe@x.io", "jane underscore doe at x dot io"),
        ("4111-1111-1111-1111", "4111 1111 1111 1111"),
        ("415.555.0198", "415 555 0198"),
        ("(415) 555-0198", "415 555 0198"),
        ("+1 415 555 0198", "1 415 555 0198"),
        ("192.168.1.1", "192 168 1 1"),
        ("415,555,0198", "415 555 0198"),
        ("It ends.Then", "it ends dot then"),
        ("Straße", "strasse"),
        ("ÇA VA", "ca va"),  # combining marks are dropped (fold)
        ("emoji 😀 here", "emoji here"),
        ("nul\x00byte", "nul byte"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("90's music", "90 music"),
    ],
)
def test_normalized_text(src: str, expected: str) -> None:
    nt = normalize(src)
    assert nt.text == expected
    check_invariants(nt)


@pytest.mark.parametrize(
    "src, expected_spans",
    [
        ("Don't call me", ["Don't", "Don't", "call", "me"]),
        ("I’m ok", ["I’m", "I’m", "ok"]),
        ("four one uh one one now", ["four one uh one one", "now"]),
        ("$12", ["$12", "$12"]),
        ("100%", ["100", "%"]),
        ("jane.doe@example.com", ["jane", ".", "doe", "@", "example", ".", "com"]),
        ("(415) 555-0198", ["415", "555", "0198"]),
        ("twenty-five cents", ["twenty-five", "cents"]),
        ("one hundred and five", ["one hundred and five"]),
        ("my card is 4111 1111", ["my", "card", "is", "4111", "1111"]),
        ("4111 one one", ["4111 one one"]),
        ("oh, five five", ["oh", "five five"]),
        ("John's", ["John's"]),
        ("1,000 bucks", ["1,000", "bucks"]),
    ],
)
def test_original_spans(src: str, expected_spans: list[str]) -> None:
    nt = normalize(src)
    assert spans(nt) == expected_spans
    check_invariants(nt)


def test_is_digits_flags() -> None:
    nt = normalize("call twenty five or 12.99 or four one")
    assert list(zip(nt.tokens, nt.is_digits, strict=True)) == [
        ("call", False),
        ("25", True),
        ("or", False),
        ("12.99", False),
        ("or", False),
        ("41", True),
    ]


def test_token_offsets_api() -> None:
    nt = normalize("Please don't call 415-555-0198")
    assert nt.text == "please do not call 415 555 0198"
    off = nt.text.index("do not")
    assert nt.token_at(off) == 1
    assert nt.token_at(off + 1) == 1
    assert nt.token_at(off + 2) == 1  # the space after "do"
    assert nt.is_token_start(off)
    assert not nt.is_token_start(off + 1)
    assert nt.is_token_end(off + 2)
    assert not nt.is_token_end(off + 1)
    assert nt.is_token_end(len(nt.text))
    assert not nt.is_token_start(len(nt.text))
    a, b = nt.to_original(off, off + len("do not"))
    assert nt.original[a:b] == "don't"
    a, b = nt.to_original(off + 3, off + 6)  # "not" alone still maps to the contraction
    assert nt.original[a:b] == "don't"
    a, b = nt.to_original(nt.text.index("415"), len(nt.text))
    assert nt.original[a:b] == "415-555-0198"
    a, b = nt.to_original(off + 2, off + 2)  # empty range on a space: the next token
    assert nt.original[a:b] == "don't"


def test_empty_api() -> None:
    nt = normalize("")
    assert nt.tokens == [] and nt.text == ""
    assert nt.token_at(0) == -1
    assert nt.to_original(0, 0) == (0, 0)
    assert not nt.is_token_start(0) and not nt.is_token_end(0)


@pytest.mark.parametrize(
    "phrase, expected",
    [
        ("Don't call me", "do not call me"),
        ("do not call me", "do not call me"),
        ("hi {agent_name}, this is {Company}", "hi {agent_name} this is {Company}"),
        ("call * back", "call * back"),
        ("pay $20 by {due_date}", "pay 20 dollars by {due_date}"),
        ("twenty five {x} five", "25 {x} 5"),
        ("I can't * guarantee", "i can not * guarantee"),
    ],
)
def test_normalize_phrase(phrase: str, expected: str) -> None:
    assert normalize_phrase(phrase) == expected


def test_phrase_and_turn_normalize_alike() -> None:
    for phrase in ["don't call me", "do not call me", "DON'T   call  me!"]:
        assert normalize_phrase(phrase) in normalize("Please, don't call me again.").text


# ------------------------------------------------------------------------------------------- properties

_alphabet = st.sampled_from(
    list("abcxyz ABC019 .,-_'’@$%()+\n\t\x00😀é")
    + ["\ud800", "don't", " one ", " oh ", " double ", " twenty ", " hundred ", " uh ", " and ", "ß", "İ"]
)
_texty = st.lists(_alphabet, max_size=60).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), _texty))
def test_property_invariants(src: str) -> None:
    nt = normalize(src)
    check_invariants(nt)
    if nt.tokens:
        a, b = nt.to_original(0, len(nt.text))
        assert a == nt.orig_starts[0] and b == max(nt.orig_ends)
        for i in range(len(nt.tokens)):
            s = nt.norm_starts[i]
            assert nt.token_at(s) == i
            assert nt.is_token_start(s)
            assert nt.is_token_end(s + len(nt.tokens[i]))
            assert nt.to_original(s, s + len(nt.tokens[i])) == (nt.orig_starts[i], nt.orig_ends[i])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_normalize_phrase_never_raises(src: str) -> None:
    out = normalize_phrase(src)
    assert "  " not in out


# ------------------------------------------------------------------------------------------- scale


@pytest.mark.parametrize(
    "big",
    [
        "4111-" * 40_000,
        "1." * 100_000,
        "1," * 100_000,
        "one " * 50_000,
        "twenty " * 50_000,
        "a" * 1_000_000,
        "don't " * 30_000,
        "x.y_" * 50_000,
        "$" * 100_000,
        "'" * 100_000 + "a",
        "a'" * 100_000,
    ],
)
def test_large_inputs_finish(big: str) -> None:
    nt = normalize(big)
    assert nt.text == " ".join(nt.tokens)
