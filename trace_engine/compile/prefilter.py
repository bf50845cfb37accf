"""A conservative C-speed prefilter: "nothing can match this turn" or "maybe".

Building the normalized view costs tens of microseconds; most agent turns match nothing. The prefilter scans the
case-folded raw text once with an Aho-Corasick automaton of *single-token atoms* and answers ``False`` only when
the exact scan (:meth:`CompiledMatchers.scan`) cannot find anything. It may say "maybe" wrongly; it must never say
"no" wrongly.

Why single tokens are safe: every normalized token either appears verbatim inside the case-folded text (words,
hyphen halves, possessive stems, ``do`` of ``don't``) or is *produced* by a rewrite (``not`` of ``won't``, ``at`` of
``@``, digits of number words). For each phrase we pick one token and register every surface that can produce it:
the token itself when it is stable, the rewritten surfaces (``n't``, ``won't``, ``@``...) when it is not. Whatever
lies between tokens (fillers, punctuation, spaces) cannot hide a single token.

Detectors have preconditions instead: enough digit material (digit characters plus weighted number words) for the
numeric detectors, ``@`` or both `` at `` and ``dot`` for email.
"""

from __future__ import annotations

from dataclasses import dataclass

import ahocorasick

from trace_engine.text.normalize import _GENERIC_SUFFIXES, CONTRACTIONS
from trace_engine.text.numbers import REPEATERS, SCALES, TEENS, TENS, UNITS, ZERO_WORDS

_SYMBOL_WORDS: dict[str, tuple[str, ...]] = {
    "at": ("@",),
    "percent": ("%",),
    "dollars": ("$",),
    "dot": (".",),
    "underscore": ("_",),
}
#: How many digits a number word can contribute at most (compounds and scales make many from few words).
NUMBER_WORD_WEIGHT: dict[str, int] = {
    **{w: 1 for w in UNITS},
    **{w: 1 for w in ZERO_WORDS},
    **{w: 2 for w in TEENS},
    **{w: 2 for w in TENS},
    **{w: 3 for w in REPEATERS},
    "hundred": 2,
    **{w: {1_000: 3, 1_000_000: 6, 1_000_000_000: 9}.get(v, 9) for w, v in SCALES.items()},
}
#: Numeric detectors need at least this much digit material (MBI has the fewest digits: 5 of 11 characters).
MIN_DIGIT_MATERIAL = 5
_DIGIT_ALTERNATIVES: tuple[str, ...] = tuple("0123456789") + tuple(NUMBER_WORD_WEIGHT)
_DELETE_DIGITS = str.maketrans("", "", "0123456789")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _produced_by() -> dict[str, set[str]]:
    """token -> the surfaces (case-folded substrings) that a rewrite turns into that token."""
    out: dict[str, set[str]] = {}
    for surface, expansion in CONTRACTIONS.items():
        for token in expansion:
            if token not in surface:
                out.setdefault(token, set()).add(surface)
    for suffix, token in _GENERIC_SUFFIXES:
        if token is not None:
            out.setdefault(token, set()).add(suffix)
    for token, surfaces in _SYMBOL_WORDS.items():
        out.setdefault(token, set()).update(surfaces)
    return out


_PRODUCED = _produced_by()


#: Words too common to gate anything on their own; a phrase made only of these (or of short tokens) is matched by
#: a conjunction of all its tokens instead of one atom.
COMMON_WORDS: frozenset[str] = frozenset(
    """a an the and or but if so to of in on at by for from with about as into over after before than then
    i me my mine you your yours he him his she her it its we us our they them their this that these those
    is am are was were be been being do does did done have has had having will would shall should can could
    may might must not no yes ok okay just like get got go going come make take give say said tell know
    think want need let one two all any some more most very much many what which who whom whose when where
    why how there here now out up down off only also too again well good right back time call calling
    please thank thanks sure hi hello bye""".split()
)
#: Letters and digits that make a surface word (for word-boundary checks on the case-folded text).
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_FIRST_DIGIT_WORDS: dict[str, tuple[str, ...]] = {
    d: tuple(
        w
        for w, v in {**UNITS, **{k: v // 10 for k, v in TENS.items()}}.items()
        if str(v) == d
    )
    for d in "0123456789"
}


def token_alternatives(token: str) -> tuple[tuple[str, bool], ...]:
    """``(surface, word_bounded)`` pairs, one of which the case-folded raw text must contain if the normalized
    view has ``token``. ``word_bounded`` surfaces stand alone (no letter or digit on either side)."""
    if any(ch.isdigit() for ch in token):
        if not token.isdigit():
            return ((token, True),)  # alphanumeric ("a1c", an MBI): only ever written as such
        first = token[0]
        words = set(_FIRST_DIGIT_WORDS.get(first, ()))
        if first == "1":
            words.update(TEENS)
        if first == "0":
            words.update(ZERO_WORDS)
        if len(token) > 1 and token[1] == first:
            words.update(REPEATERS)
        return ((token, True), *((w, True) for w in sorted(words)))
    produced = _PRODUCED.get(token)
    if produced:
        return ((token, True), *((p, False) for p in sorted(produced)))
    return ((token, True),)


def _strong(token: str) -> bool:
    return (
        not any(ch.isdigit() for ch in token)
        and token not in _PRODUCED
        and token not in COMMON_WORDS
        and len(token) >= 4
    )


def choose_atoms(tokens: tuple[str, ...]) -> tuple[str, ...] | None:
    """One rare token's surface for a phrase (any hit means "maybe"), or ``None`` when no token is rare enough
    (then :func:`conjunction` applies) or the phrase has no literal token at all."""
    best = None
    for token in tokens:
        if token == "*" or (token.startswith("{") and token.endswith("}")):
            continue
        if _strong(token) and (best is None or len(token) > len(best)):
            best = token
    return (best,) if best else None


def conjunction(tokens: tuple[str, ...]) -> list[tuple[tuple[str, bool], ...]]:
    """Per literal token, its alternatives: a phrase can only match if every token has a hit."""
    return [
        token_alternatives(token)
        for token in dict.fromkeys(tokens)
        if token != "*" and not (token.startswith("{") and token.endswith("}"))
    ]


def regex_atom_words(atoms: list[str]) -> tuple[str, ...] | None:
    """Prefilter atoms for a regex whose literal atoms are ``atoms`` (any of them occurs in every match)."""
    out: list[str] = []
    for atom in atoms:
        pieces = [p for p in "".join(ch if ch.isalpha() else " " for ch in atom).split() if len(p) >= 3]
        safe = [p for p in pieces if not any(p in produced for produced in _PRODUCED)]
        if not safe:
            return None  # an atom made of digits or rewritten words: the regex runs whenever we look closer
        out.append(max(safe, key=len))
    return tuple(out) or None


@dataclass(slots=True)
class Prefilter:
    """Answers whether a turn may match anything. Picklable (pyahocorasick automata pickle).

    Automaton payloads are tuples of ints: ``0`` a rare atom (any hit means "maybe"); ``> 0`` a number word,
    ``len * 100 + weight``; ``< 0`` a conjunction slot, ``-((slot << 7 | len << 1 | bounded) + 1)``.
    """

    automaton: object | None
    always: bool
    numeric_detectors: bool
    email_detector: bool
    #: variables whose per-call value is the only literal of some phrase ("{business_name}")
    needle_variables: tuple[str, ...] = ()
    #: conjunction slot -> its phrase; phrase -> its slots
    slot_phrase: tuple[int, ...] = ()
    phrase_slots: tuple[tuple[int, ...], ...] = ()

    def maybe(self, text: str, needles: tuple[str, ...] = ()) -> bool:
        """``needles``: the call's case-folded first tokens of :attr:`needle_variables`' values."""
        if self.always:
            return True
        low = text.casefold().translate(_APOSTROPHES)
        for needle in needles:
            if needle in low:
                return True
        if self.email_detector and ("@" in low or (" at " in low and "dot" in low)):
            return True
        numeric = self.numeric_detectors
        material = len(low) - len(low.translate(_DELETE_DIGITS)) if numeric else 0
        if material >= MIN_DIGIT_MATERIAL:
            return True
        if self.automaton is None:
            return False
        n = len(low)
        slots: set[int] | None = None
        for end, codes in self.automaton.iter(low):
            for code in codes:
                if code == 0:
                    return True
                if code > 0:
                    if numeric:
                        start = end - code // 100 + 1
                        if (start == 0 or low[start - 1] not in _ALNUM) and (end + 1 == n or low[end + 1] not in _ALNUM):
                            material += code % 100
                    continue
                packed = -code - 1
                if packed & 1:
                    start = end - ((packed >> 1) & 63) + 1
                    if (start > 0 and low[start - 1] in _ALNUM) or (end + 1 < n and low[end + 1] in _ALNUM):
                        continue
                slot = packed >> 7
                if slots is None:
                    slots = set()
                slots.add(slot)
        if material >= MIN_DIGIT_MATERIAL:
            return True
        if slots:
            phrase_slots = self.phrase_slots
            for phrase in {self.slot_phrase[s] for s in slots}:
                if all(s in slots for s in phrase_slots[phrase]):
                    return True
        return False


def build_prefilter(
    phrase_atoms: list[tuple[str, ...] | None],
    regex_atoms: list[tuple[str, ...] | None],
    numeric_detectors: bool,
    email_detector: bool,
    needle_variables: tuple[str, ...] = (),
    conjunctions: list[list[tuple[tuple[str, bool], ...]]] | None = None,
) -> Prefilter:
    """Assemble the prefilter. ``phrase_atoms``: one rare-atom tuple per strong phrase; ``conjunctions``: per weak
    phrase, per token, its alternatives. A regex with no usable atom makes the prefilter always answer "maybe"."""
    always = any(a is None for a in regex_atoms)
    payloads: dict[str, list[int]] = {}
    for atoms in (*phrase_atoms, *regex_atoms):
        for atom in atoms or ():
            payloads.setdefault(atom, []).append(0)
    slot_phrase: list[int] = []
    phrase_slots: list[tuple[int, ...]] = []
    for phrase, tokens in enumerate(conjunctions or ()):
        if not tokens:
            always = True
            continue
        mine = []
        for alternatives in tokens:
            slot = len(slot_phrase)
            slot_phrase.append(len(phrase_slots))
            mine.append(slot)
            for surface, bounded in alternatives:
                payloads.setdefault(surface, []).append(-(((slot << 6 | min(len(surface), 63)) << 1 | int(bounded)) + 1))
        phrase_slots.append(tuple(mine))
        del phrase
    if numeric_detectors:
        for word, weight in NUMBER_WORD_WEIGHT.items():
            payloads.setdefault(word, []).append(len(word) * 100 + weight)
    automaton = ahocorasick.Automaton()
    for surface, codes in payloads.items():
        automaton.add_word(surface, tuple(dict.fromkeys(codes)))
    if payloads:
        automaton.make_automaton()
    return Prefilter(
        automaton if payloads else None,
        always,
        numeric_detectors,
        email_detector,
        needle_variables,
        tuple(slot_phrase),
        tuple(phrase_slots),
    )
