"""Literal atom extraction for regex prefiltering (trace_engine.compile.atoms)."""

from __future__ import annotations

import re

import pytest

from trace_engine.compile.atoms import atoms_or_none, extract_atoms, translate_re2

CASES = [
    (r"account (number )?(is )?\d{6,17}", ["account"]),
    (r"(act now|last chance)", ["act now", "last chance"]),
    (r"\d{3}-\d{2}", []),
    (r"guarantee", ["guarantee"]),
    (r"\bguarantee(d)?\b", ["guarantee"]),
    (r"^hello world$", ["hello world"]),
    (r"(?i)SSN", ["ssn"]),
    (r"Social Security", ["social security"]),
    (r"(cat|car)", ["cat", "car"]),  # sre_parse folds this into ca[tr]
    (r"(act now|action)", ["act now", "action"]),  # common prefix factored out by sre_parse
    (r"ca(ll|me) you", ["call you", "came you"]),
    (r"(foo|barbaz)quux", ["fooquux", "barbazquux"]),
    (r"(ab){3}", ["ababab"]),
    (r"(hello)+ world", ["hello"]),
    (r"\d+ dollars", ["dollars"]),
    (r"\$ ?\d+|\d+ dollars", []),  # one branch has only "$"
    (r"(price|cost) is \d+", ["price is", "cost is"]),  # literal alternations multiply out
    (r"(price|cost) of \d+ dollars", ["dollars"]),  # the longer single atom wins
    (r"a.b.c", []),
    (r"[a-z]+", []),
    (r"\w+@\w+", []),
    (r"(?:x|y)z", []),
    (r"(abc)?def", ["def"]),
    (r"(abc)*", []),
    (r"abc|de", []),
    (r"(abc|de)fgh", ["abcfgh", "defgh"]),
    (r"(abc|de)\d+fgh", ["fgh"]),
    (r"(abcd|efgh)", ["abcd", "efgh"]),
    (r"(?:call|calling) (?:you|me)", ["call you", "call me", "calling you", "calling me"]),
    (r"(?:call|calling)\d", ["call"]),  # 'calling' contains 'call': minimal set
    (r"x{0,3}yes", ["yes"]),
    (r"no{2}", ["noo"]),
    (r"routing (number)?", ["routing"]),
    (r"  spaced  ", ["spaced"]),
    (r"(?P<word>hello) there", ["hello there"]),
    (r"\pL+ social", ["social"]),  # RE2-only syntax
    (r"\Qa.b.c\E", ["a.b.c"]),
    (r"end\z", ["end"]),
    (r"[[:alpha:]]+ fee", ["fee"]),
    (r"", []),
]


@pytest.mark.parametrize(("regex", "expected"), CASES)
def test_extract_atoms(regex: str, expected: list[str]) -> None:
    assert extract_atoms(regex) == expected


def test_min_len_parameter() -> None:
    assert extract_atoms(r"\d+ ok", min_len=2) == ["ok"]
    assert extract_atoms(r"\d+ ok") == []
    assert extract_atoms(r"guarantee", min_len=10) == []


def test_unparseable_regex_has_no_atoms() -> None:
    assert extract_atoms(r"(unclosed") == []
    assert atoms_or_none(r"(unclosed") is None
    assert atoms_or_none(r"\d+") == []
    assert atoms_or_none(r"(?<word>hello) there") == ["hello there"]  # RE2 named group


def test_translate_re2_keeps_plain_regexes() -> None:
    for regex in (r"abc", r"\d{3}", r"(a|b)+", r"[\w.]+"):
        assert translate_re2(regex) == regex


SOUNDNESS = [
    (r"account (number )?(is )?\d{6,17}", ["account number is 123456", "account 1234567"]),
    (r"(act now|last chance)", ["act now", "this is your last chance"]),
    (r"(price|cost) is \d+", ["the price is 12", "cost is 9"]),
    (r"ca(ll|me) you", ["i will call you", "he came you know"]),
]


@pytest.mark.parametrize(("regex", "texts"), SOUNDNESS)
def test_every_match_contains_an_atom(regex: str, texts: list[str]) -> None:
    atoms = extract_atoms(regex)
    assert atoms
    for text in texts:
        m = re.search(regex, text)
        assert m is not None
        assert any(a in m.group(0).lower() for a in atoms)


def test_posix_classes_only_inside_brackets() -> None:
    """RE2 reads `[[:alpha:]]` as a POSIX class but `[:a]` as the class of ':' and 'a'."""
    assert translate_re2("[[:alpha:]x]") == r"[\wx]"
    assert translate_re2("[:a]|bbb:]ccc") == "[:a]|bbb:]ccc"
    assert translate_re2("[]:a]|[^]x]") == "[]:a]|[^]x]"
    assert extract_atoms("[:a]|bbb:]ccc") == []
