"""Unicode folding (trace_engine.text.fold) and what it does to the normalized view's spans."""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trace_engine.text import normalize
from trace_engine.text._confusables import SKELETON
from trace_engine.text.fold import fold

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "src, folded",
    [
        ("plain ascii", "plain ascii"),
        ("guar\u200danteed", "guaranteed"),  # zero-width joiner
        ("guar\u200banteed", "guaranteed"),  # zero-width space
        ("guar\u200canteed", "guaranteed"),  # zero-width non-joiner
        ("guar\u00adanteed", "guaranteed"),  # soft hyphen
        ("\ufeffguaranteed", "guaranteed"),  # byte order mark
        ("\u202eguaranteed\u202c", "guaranteed"),  # bidi override and pop
        ("\u2067guaranteed\u2069", "guaranteed"),  # bidi isolate
        ("guar\u2060anteed", "guaranteed"),  # word joiner
        ("guar\u034fanteed", "guaranteed"),  # combining grapheme joiner
        ("guar\ufe0fanteed", "guaranteed"),  # variation selector
        ("\U000e0067uaranteed", "uaranteed"),  # tag characters are invisible: dropped, not decoded
        ("ｇｕａｒａｎｔｅｅｄ", "guaranteed"),  # fullwidth
        ("𝐠𝐮𝐚𝐫𝐚𝐧𝐭𝐞𝐞𝐝", "guaranteed"),  # mathematical bold
        ("ⓖⓤⓐⓡⓐⓝⓣⓔⓔⓓ", "guaranteed"),  # circled
        ("g\u0308u\u0308aranteed", "guaranteed"),  # combining marks
        ("guarant\u0435\u0435d", "guaranteed"),  # Cyrillic ie
        ("gu\u0430r\u0430nteed", "guaranteed"),  # Cyrillic a
        ("\u0261uaranteed", "guaranteed"),  # Latin script g
        (
            "\u0261\u057d\u0430\u0433\u0430\u0578\u0442\u0435\u0435\u0501",
            "guaranteed",
        ),  # every letter a lookalike
        ("Привет мир", "Привет мир"),  # real Cyrillic words stay
        ("０７８-０５-１１２１", "078-05-1121"),
        ("٠٧٨-٠٥-١١٢١", "078-05-1121"),  # Arabic-Indic
        ("۰۷۸-۰۵-۱۱۲۱", "078-05-1121"),  # extended Arabic-Indic
        ("०७८-०५-११२१", "078-05-1121"),  # Devanagari
        ("𝟎𝟕𝟖-𝟎𝟓-𝟏𝟏𝟐𝟏", "078-05-1121"),  # mathematical bold digits
        ("078\u221205\u22121121", "078-05-1121"),  # minus sign
        ("call\u00a0me", "call me"),  # no-break space
        ("call\u3000me", "call me"),  # ideographic space
        ("I\u2019m", "I\u2019m"),  # typographic apostrophe is the tokenizer's business
    ],
)
def test_fold(src: str, folded: str) -> None:
    assert fold(src)[0] == folded


def test_ascii_is_identity_without_map() -> None:
    text = "nothing to fold here, 123"
    out, source = fold(text)
    assert out is text and source is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_fold_map_and_idempotence(text: str) -> None:
    folded, source = fold(text)
    if source is None:
        assert len(folded) == len(text)  # folded in place (or not at all)
        assert fold(folded)[0] == folded
        return
    assert len(source) == len(folded)
    assert source == sorted(source) and all(0 <= i < len(text) for i in source)
    assert fold(folded)[0] == folded


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_token_spans_stay_in_the_original(text: str) -> None:
    nt = normalize(text)
    assert nt.original is text or nt.original == text
    for a, b in zip(nt.orig_starts, nt.orig_ends, strict=True):
        assert 0 <= a < b <= len(text)
    assert nt.orig_starts == sorted(nt.orig_starts) and nt.orig_ends == sorted(nt.orig_ends)


@pytest.mark.parametrize(
    "src, token, original",
    [
        ("ssn ０７８-０５-１１２１ ok", "078", "０７８"),
        ("ssn ٠٧٨ ok", "078", "٠٧٨"),
        ("it is guar\u200danteed.", "guaranteed", "guar\u200danteed"),
        ("\u202eguaranteed\u202c", "guaranteed", "guaranteed"),
        ("ｇｕａｒａｎｔｅｅｄ", "guaranteed", "ｇｕａｒａｎｔｅｅｄ"),
        ("x 𝟒𝟏𝟏𝟏 y", "4111", "𝟒𝟏𝟏𝟏"),
    ],
)
def test_spans_cover_the_original_characters(src: str, token: str, original: str) -> None:
    nt = normalize(src)
    k = nt.tokens.index(token)
    assert src[nt.orig_starts[k] : nt.orig_ends[k]] == original


def test_skeleton_table_is_letters_to_ascii_letters() -> None:
    for c, s in SKELETON.items():
        assert not c.isascii() and c.isalpha(), c
        assert s.isascii() and s.isalpha() and s == s.casefold(), (c, s)
        base = "".join(
            x for x in unicodedata.normalize("NFKD", c) if not unicodedata.category(x).startswith("M")
        )
        assert not (base.isascii() and base.isalpha()), c  # NFKD already handles it: not in the table


@pytest.mark.skipif(
    importlib.util.find_spec("confusable_homoglyphs") is None, reason="confusable-homoglyphs missing"
)
@pytest.mark.skipif(
    unicodedata.unidata_version != "14.0.0", reason="the native tables are made from Unicode 14.0 (CPython 3.11)"
)
def test_native_tables_are_fresh() -> None:
    """core/src/text/tables.rs (fold, character classes, casefold, skeletons) is what the generator makes now."""
    spec = importlib.util.spec_from_file_location("gen_text_tables", REPO / "tools" / "gen_text_tables.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.main(["--check"]) == 0
