"""Prefilter soundness: whenever the exact scan matches, the prefilter must say "maybe".

``engine.program.matchers.prefilter.maybe(text, call.needles)`` may be wrong towards True, never towards False. There
are three prefilters, one per kind of turn (agent turns; caller turns; caller turns while a question is open): each
must say "maybe" whenever a matcher tested on its turns matches, or a detector does (detector hits are redacted from
whatever turn they are in).
"""

from __future__ import annotations

import dataclasses
import functools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trace_engine import Engine, ir
from trace_engine.text import normalize

PACKS = ["tcpa", "hipaa", "pii", "brand_voice", "debt_collection"]
ALL_PII = ["ssn", "credit_card", "email", "us_phone"]
META = {"direction": "outbound", "business_name": "Acme Solar", "agent_name": "Sam"}
GUARDRAILS = {
    "inline_timeout_ms": 60000,
    "block_pii": {"patterns": ALL_PII},
    "blocked_phrases": ["trust me", "to be honest", "no problem", "a hundred percent", "don't worry"],
    "mandatory_disclosures": [{"text": "This call is recorded.", "trigger": "call_start"}, {"text": "I am an AI."}],
}
CONFIGS = {
    "all": {"rule_packs": {p: {"enabled": True} for p in PACKS}, "guardrails": GUARDRAILS},
    **{p: {"rule_packs": {p: {"enabled": True}}, "guardrails": {"inline_timeout_ms": 60000}} for p in PACKS},
    "guardrails": {"guardrails": GUARDRAILS},
}


@functools.cache
def setup(name):
    engine = Engine.from_config(CONFIGS[name])
    call = engine.start_call("prefilter", metadata=META)
    return engine, call


def unsound(name, text):
    """True when the exact scan matches but the prefilter of the turns that matcher is tested on says no."""
    engine, call = setup(name)
    matchers = engine.program.matchers
    matches = matchers.scan(normalize(text), call.var_tokens, call.exempt)
    if not matches:
        return False
    for prefilter, turns in (
        (matchers.prefilter, {"agent"}),
        (matchers.caller_prefilter, {"caller"}),
        (matchers.answer_prefilter, {"caller", "answer"}),
    ):
        relevant = any(
            mid not in matchers.speakers
            or turns & matchers.speakers[mid]
            or any(kind is not None for _, _, kind in spans)
            for mid, spans in matches.items()
        )
        if relevant and not prefilter.maybe(text, call.needles):
            return True
    return False


def _phrases(engine):
    out: set[str] = set()

    def walk(x):
        if isinstance(x, ir.Phrases):
            out.update(x.items)
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            for f in dataclasses.fields(x):
                walk(getattr(x, f.name))
        elif isinstance(x, (tuple, list)):
            for y in x:
                walk(y)
        elif isinstance(x, dict):
            for y in x.values():
                walk(y)

    for pack in engine.program.ir_packs:
        walk(pack)
    return sorted(out)


def fill(phrase, gap="our"):
    return phrase.replace("{business_name}", META["business_name"]).replace("{agent_name}", META["agent_name"]).replace("*", gap)


ALL_PHRASES = [fill(p) for p in _phrases(setup("all")[0])]

CONTRACTIONS = [
    ("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"), ("can not", "can't"), ("can not", "cannot"),
    ("will not", "won't"), ("i am", "I'm"), ("it is", "it's"), ("you are", "you're"), ("we will", "we'll"),
    ("is not", "isn't"), ("let us", "let's"), ("have not", "haven't"), ("going to", "gonna"), ("we are", "we're"),
    ("that is", "that's"), ("i will", "I'll"), ("you will", "you'll"), ("would not", "wouldn't"),
]


def contracted(phrase):
    out = []
    for long, short in CONTRACTIONS:
        if re.search(rf"\b{long}\b", phrase):
            out.append(re.sub(rf"\b{long}\b", short, phrase))
    return out


def _variants(phrase):
    yield phrase
    yield phrase.upper()
    yield phrase.title()
    yield phrase.replace(" ", ", ")
    yield phrase.replace(" ", " - ")
    yield phrase.replace(" ", "\n")
    yield phrase.replace(" ", " uh ")
    yield f"Well, {phrase}!"
    yield f'"{phrase}."'
    yield from contracted(phrase)
    yield from (c.replace("'", "\u2019") for c in contracted(phrase))


_CYRILLIC = str.maketrans({"e": "\u0435", "a": "\u0430", "o": "\u043e", "c": "\u0441", "p": "\u0440"})
_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}


def _longest_word(phrase):
    words = re.findall(r"[A-Za-z]+", phrase)
    return max(words, key=len) if words else None


def _evaded(phrase):
    """The issue-11 evasions of a phrase: each must still be seen by the prefilter when the scan matches."""
    word = _longest_word(phrase)
    if word and len(word) >= 2:
        mid = len(word) // 2
        for joiner in ("\u200d", "\u200b", "\u200c", "\u00ad", "\u2060", "\ufeff", "\u202e"):
            yield phrase.replace(word, word[:mid] + joiner + word[mid:], 1)
        for sep in (" ", ".", "-", "_", "*", " . ", "/"):
            yield phrase.replace(word, sep.join(word), 1)
        yield phrase.replace(word, word.translate(_CYRILLIC), 1)
    yield "".join(_FULLWIDTH.get(c, c) for c in phrase)
    yield phrase.replace(" ", "\u00a0")
    yield "\u202e" + phrase + "\u202c"
    yield "\u2066" + phrase.upper() + "\u2069"


@pytest.mark.parametrize("name", ["all", "brand_voice", "tcpa", "pii"])
def test_every_builtin_phrase_evaded(name):
    engine, _ = setup(name)
    phrases = [fill(p) for p in _phrases(engine)]
    bad = [v for p in phrases for v in _evaded(p) if unsound(name, v)]
    assert bad == []


@pytest.mark.parametrize(
    "text",
    [
        "ssn \uff10\uff17\uff18-\uff10\uff15-\uff11\uff11\uff12\uff11",  # fullwidth
        "ssn \u0660\u0667\u0668-\u0660\u0665-\u0661\u0661\u0662\u0661",  # Arabic-Indic
        "\U0001d7ce\U0001d7d5\U0001d7d6 \U0001d7ce\U0001d7d3 \U0001d7cf\U0001d7cf\U0001d7d0\U0001d7cf",  # math bold
        "0\u200b7\u200b8-05-1121",
        "4-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1",
        "zero seven eight, zero five, one one two one",
        "niner niner niner one two three four five six seven",
        "it is g u a r a n t e e d",
        "it is g.u.a.r.a.n.t.e.e.d",
        "it is guarant\u0435\u0435d",
        "it is guar\u200danteed",
        "c v v please",
        "s a m at example dot org",
        "maria.g@outlook dot com",
        "jane at g mail dot com",
        "front dash desk at river dash clinic dot com",
        "j o h n dot smith at example dot com",
    ],
)
def test_evasion_texts(text):
    assert not unsound("all", text)


def test_all_pack_phrases_present():
    assert len(ALL_PHRASES) > 500


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_builtin_phrase_as_written_upper_and_punctuated(name):
    engine, _ = setup(name)
    phrases = [fill(p) for p in _phrases(engine)]
    bad = [v for p in phrases for v in _variants(p) if unsound(name, v)]
    assert bad == []


@pytest.mark.parametrize("name", ["all", "brand_voice"])
def test_a_hundred_percent(name):
    # regression: "a hundred" normalizes to 100; the prefilter once registered only "one"/"100"
    assert not unsound(name, "We're a hundred percent sure.")
    assert not unsound(name, "not a hundred percent")


def test_spoken_at_with_written_domain():
    assert not unsound("all", "you can reach jane at example.com")


@pytest.mark.parametrize("text", ["thousand 10000", "a million and 99", "hundred 100000"])
def test_scale_words_count_the_digits_they_make(text):
    # regression: "thousand" reads as 1000 (four digits); weighted 3 it hid a checksum-valid ABA run
    for name in ("pii", "all"):
        assert not unsound(name, text)


@pytest.mark.parametrize(
    "text",
    [
        "Don't call me again",
        "please DON'T call me again.",
        "I don\u2019t want any more calls",
        "Take me off your list!",
        "you can't-guarantee that",
        "I'm an AI assistant",
        "four one one one, uh, one one one one, one one one one, one one one one",
        "two one two, double five five, oh one four three",
        "jane dot doe at example dot com",
        "JANE.DOE@EXAMPLE.COM",
        "ssn one two three four five six seven eight nine",
        "this is Sam calling from Acme Solar",
        "ACME SOLAR calling",
    ],
)
def test_known_tricky_texts(text):
    assert not unsound("all", text)


def test_business_name_needle_in_spoken_form():
    """A phrase whose only literal is a variable: the value as the agent would say it."""
    engine = Engine.from_config(CONFIGS["tcpa"])
    for name, spoken in [("21st Century Solar", "21st Century Solar calling"), ("Acme", "ACME calling"), ("O'Brien Co", "O\u2019Brien Co calling")]:
        call = engine.start_call("n", metadata={**META, "business_name": name})
        m = engine.program.matchers
        if m.scan(normalize(spoken), call.var_tokens, call.exempt):
            assert m.prefilter.maybe(spoken, call.needles), (name, spoken)


# ------------------------------------------------------------------------------------------------ property

FILLER = [
    "hi", "so", "the", "your", "account", "today", "okay", "well", "uh", "um", "and", "we", "can", "I", "you",
    "don't", "won't", "it's", "I'm", "we'll", "they're", "can't", "o'clock", "John's", "re-call", "e-mail",
    "at", "dot", "com", "oh", "double", "zero", "one", "two", "five", "nine", "ten", "twenty", "hundred",
    "thousand", "4111", "555", "0143", "12.99", "$20", "50%", "1,000", "@", "-", "call", "calling", "not",
    "number", "is", "a", "of", "percent", "list", "me", "off", "stop", "guarantee", "results",
]
SEPARATORS = [" ", " ", " ", ", ", ". ", " - ", "\n", "  ", "! ", "? ", " uh, ", "; ", "\u2014"]


@st.composite
def turns(draw):
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(ALL_PHRASES),
                st.sampled_from(FILLER),
                st.sampled_from(ALL_PHRASES).flatmap(lambda p: st.sampled_from([p, *contracted(p)])),
                st.integers(0, 10**10).map(str),
            ),
            min_size=1,
            max_size=8,
        )
    )
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(pieces), max_size=len(pieces)))
    text = "".join(p + s for p, s in zip(pieces, seps, strict=False)).strip()
    case = draw(st.sampled_from(["same", "upper", "lower", "title", "capitalize"]))
    return {"same": text, "upper": text.upper(), "lower": text.lower(), "title": text.title(), "capitalize": text.capitalize()}[case]


_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u202a", "\u202e", "\u2066", "\u2069"]


@st.composite
def evaded_turns(draw):
    """A random turn with random issue-11 evasions applied at random places."""
    text = draw(turns())
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["invisible", "spell", "confusable", "fullwidth", "digits", "nbsp"]))
        if not text:
            break
        pos = draw(st.integers(0, len(text) - 1))
        if how == "invisible":
            text = text[:pos] + draw(st.sampled_from(_INVISIBLE)) + text[pos:]
        elif how == "spell":
            words = list(re.finditer(r"[A-Za-z]{2,}", text))
            if words:
                m = draw(st.sampled_from(words))
                sep = draw(st.sampled_from([" ", ".", "-", "_", " . "]))
                text = text[: m.start()] + sep.join(m.group()) + text[m.end() :]
        elif how == "confusable":
            text = text[:pos] + text[pos:].translate(_CYRILLIC)
        elif how == "fullwidth":
            end = draw(st.integers(pos, len(text)))
            text = text[:pos] + "".join(_FULLWIDTH.get(c, c) for c in text[pos:end]) + text[end:]
        elif how == "digits":
            offset = draw(st.sampled_from([0x0660, 0x06F0, 0x0966, 0xFF10, 0x1D7CE]))
            text = "".join(chr(offset + int(c)) if c.isdigit() and c.isascii() else c for c in text)
        else:
            text = text.replace(" ", "\u00a0", 1)
    return text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evaded_turns())
def test_prefilter_sound_on_evaded_turns(text):
    assert not unsound("all", text), text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(turns())
def test_prefilter_sound_on_random_turns_all_packs(text):
    assert not unsound("all", text), text


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([n for n in CONFIGS if n != "all"]), turns())
def test_prefilter_sound_on_random_turns_single_packs(name, text):
    assert not unsound(name, text), (name, text)
