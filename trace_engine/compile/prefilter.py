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


def token_alternatives(token: str) -> tuple[str, ...]:
    """Case-folded substrings, one of which the raw text must contain if the normalized view has ``token``."""
    if any(ch.isdigit() for ch in token):
        return _DIGIT_ALTERNATIVES
    produced = _PRODUCED.get(token)
    if produced:
        return (token, *sorted(produced))
    return (token,)


def choose_atoms(tokens: tuple[str, ...]) -> tuple[str, ...] | None:
    """The best single-token atoms for a phrase: the token whose shortest surface is longest (a proxy for rarity).
    ``None`` when the phrase has no literal token (only variables and gaps)."""
    best: tuple[str, ...] | None = None
    best_score = (-1, -1)
    for token in tokens:
        if token == "*" or (token.startswith("{") and token.endswith("}")):
            continue
        alternatives = token_alternatives(token)
        score = (min(len(a) for a in alternatives), -len(alternatives))
        if score > best_score:
            best, best_score = alternatives, score
    return best


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
    """Answers whether a turn may match anything. Picklable (pyahocorasick automata pickle)."""

    automaton: object | None
    always: bool
    numeric_detectors: bool
    email_detector: bool
    #: variables whose per-call value is the only literal of some phrase ("{business_name}")
    needle_variables: tuple[str, ...] = ()

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
        digit_material = len(low) - len(low.translate(_DELETE_DIGITS)) if self.numeric_detectors else 0
        if self.automaton is not None:
            n = len(low)
            for end, weight in self.automaton.iter(low):
                if weight == 0:
                    return True
                if self.numeric_detectors:
                    start = end - weight // 100 + 1
                    if (start == 0 or not low[start - 1].isalpha()) and (end + 1 == n or not low[end + 1].isalpha()):
                        digit_material += weight % 100
        return digit_material >= MIN_DIGIT_MATERIAL


def build_prefilter(
    phrase_atoms: list[tuple[str, ...] | None],
    regex_atoms: list[tuple[str, ...] | None],
    numeric_detectors: bool,
    email_detector: bool,
    needle_variables: tuple[str, ...] = (),
) -> Prefilter:
    """Assemble the prefilter; a phrase or regex with no usable atom makes it always answer "maybe".

    Number words are registered with payload ``len(word) * 100 + weight`` so one int carries both; phrase and
    regex atoms carry 0."""
    always = any(a is None for a in phrase_atoms) or any(a is None for a in regex_atoms)
    automaton = ahocorasick.Automaton()
    words = 0
    for atoms in (*phrase_atoms, *regex_atoms):
        for atom in atoms or ():
            automaton.add_word(atom, 0)
            words += 1
    if numeric_detectors:
        for word, weight in NUMBER_WORD_WEIGHT.items():
            payload = len(word) * 100 + weight
            if automaton.exists(word):
                continue  # already an atom: any hit means "maybe" anyway
            automaton.add_word(word, payload)
            words += 1
    if words:
        automaton.make_automaton()
    return Prefilter(automaton if words else None, always, numeric_detectors, email_detector, needle_variables)
