"""A conservative C-speed prefilter: "nothing can match this turn" or "maybe".

Building the normalized view costs tens of microseconds; most agent turns match nothing. The prefilter answers
``False`` only when the exact scan (:meth:`CompiledMatchers.scan`) cannot find anything; it may say "maybe" wrongly,
never "no" wrongly. It works on a *word view* of the turn built with ``str.translate`` (C speed): case-folded,
ASCII punctuation turned into spaces, the symbols the normalizer rewrites (``' @ $ % . _``) kept as words of their
own, whitespace collapsed, padded with a space at each end. In that view a whole word ``w`` is the substring
``" w "``, so one Aho-Corasick pass reports whole-word hits with no per-hit Python work. A turn with non-ASCII
characters left after mapping typographic quotes and dashes is always "maybe" (word boundaries would be unsure).

Why single tokens are safe: every normalized token either appears as a whole word of the view (words, hyphen
halves, possessive stems, ``it`` of ``it'll``), or is *produced* by a rewrite: ``not`` of ``won't``, ``do`` of
``don't``, ``at`` of ``@``, digits of number words, ``should`` of ``shouldn't``. For each token we register every
surface that can produce it. Phrases with a rare token (not a common word, 4+ letters) use that token alone; other
phrases use a conjunction: every one of their tokens must be present.

Detectors have preconditions instead: enough digit material (digit characters plus weighted number words) for the
numeric detectors, ``@`` or both ``at`` and ``dot`` for email.
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
_TYPOGRAPHY = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
     "\u2026": ".", "\u00a0": " "}
)
_KEPT_SYMBOLS = "'@$%._"
_KEPT_BYTES = tuple(c.encode() for c in _KEPT_SYMBOLS)
#: ASCII punctuation, whitespace and control characters become spaces; letters, digits and kept symbols stay.
_SPACE_BYTES = bytes(
    b if (chr(b).isalnum() or chr(b) in _KEPT_SYMBOLS) else 32 for b in range(256)
)
_DIGIT_BYTES = b"0123456789"


def _view_bytes(raw: bytes) -> str:
    spaced = raw.translate(_SPACE_BYTES)
    for symbol in _KEPT_BYTES:
        if symbol in spaced:
            spaced = spaced.replace(symbol, b" " + symbol + b" ")
    return (b" " + b" ".join(spaced.split()) + b" ").decode("ascii")


def word_view(text: str) -> str:
    """The case-folded, space-delimited, padded view the prefilter scans (see the module docstring); ``""``
    for text that is not ASCII after mapping typographic quotes and dashes."""
    low = text.casefold().translate(_TYPOGRAPHY)
    return _view_bytes(low.encode("ascii")) if low.isascii() else ""


def _surface(raw: str) -> str:
    """A rewritten surface (``n't``, ``won't``, ``@``) as it appears inside the word view."""
    return word_view(raw).strip()


def _produced_by() -> dict[str, set[str]]:
    """token -> raw surfaces that a rewrite turns into (among others) that token."""
    out: dict[str, set[str]] = {}
    for surface, expansion in CONTRACTIONS.items():
        for token in expansion:
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
_FIRST_DIGIT_WORDS: dict[str, tuple[str, ...]] = {
    d: tuple(
        w
        for w, v in {**UNITS, **{k: v // 10 for k, v in TENS.items()}}.items()
        if str(v) == d
    )
    for d in "0123456789"
}


def token_alternatives(token: str) -> tuple[str, ...]:
    """Substrings of the word view, one of which must occur if the normalized view has ``token``."""
    if any(ch.isdigit() for ch in token):
        if not token.isdigit():
            whole = token.split(".")[0] if token.replace(".", "").isdigit() else token
            return (f" {whole} ",) if not whole.isdigit() else _digit_alternatives(whole)
        return _digit_alternatives(token)
    # a word can also hide in "<word>n't" (any word: the generic rule) and in the contractions that expand to it
    found = {f" {token} ", f" {token}n ' t "}
    found.update(_surface(raw) for raw in _PRODUCED.get(token, ()))
    return tuple(sorted(found))


def _digit_alternatives(token: str) -> tuple[str, ...]:
    first = token[0]
    words = set(_FIRST_DIGIT_WORDS.get(first, ()))
    if first == "1":
        words.update(TEENS)
    if first == "0":
        words.update(ZERO_WORDS)
    if len(token) > 1 and token[1] == first:
        words.update(REPEATERS)
    if len(token) > 2:
        words.update(("hundred", *SCALES))  # "a hundred" is 100, "a thousand" 1000: no digit word at all
    # a written group that starts the token merges with spoken digits after it: any digit prefix, unbounded
    return (first, *sorted(f" {w} " for w in words))


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
    return token_alternatives(best) if best else None


def _rarity(token: str) -> tuple[int, int, int]:
    """Higher is rarer: not a common word, not a digit, longer."""
    return (token not in COMMON_WORDS, not any(ch.isdigit() for ch in token), len(token))


#: A conjunction needs only some of a phrase's tokens to stay sound; the two rarest keep it selective and cheap.
CONJUNCTION_TOKENS = 2


def conjunction(tokens: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Alternatives for the rarest literal tokens of a phrase: it can only match if every one of them occurs."""
    literal = [t for t in dict.fromkeys(tokens) if t != "*" and not (t.startswith("{") and t.endswith("}"))]
    chosen = sorted(literal, key=_rarity, reverse=True)[:CONJUNCTION_TOKENS]
    return [token_alternatives(token) for token in chosen]


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

    Automaton payloads are tuples of ints: ``0`` a rare atom (any hit means "maybe"); ``> 0`` a number word's
    digit weight; ``< 0`` the conjunction slot ``-(slot + 1)``.
    """

    automaton: object | None
    always: bool
    numeric_detectors: bool
    email_detector: bool
    #: variables whose per-call value is the only literal of some phrase ("{business_name}")
    needle_variables: tuple[str, ...] = ()
    #: conjunction slot -> the other slots of its phrase (all must hit too)
    slot_partners: tuple[tuple[int, ...], ...] = ()

    def maybe(self, text: str, needles: tuple[str, ...] = ()) -> bool:
        """``needles``: word-view surfaces of the call's values of :attr:`needle_variables` (``" acme "``)."""
        if self.always:
            return True
        low = text.casefold()
        if not low.isascii():
            low = low.translate(_TYPOGRAPHY)
            if not low.isascii():
                return True
        raw = low.encode("ascii")
        numeric = self.numeric_detectors
        material = len(raw) - len(raw.translate(None, _DIGIT_BYTES)) if numeric else 0
        if material >= MIN_DIGIT_MATERIAL:
            return True
        view = _view_bytes(raw)
        for needle in needles:
            if needle in view:
                return True
        if self.email_detector and ("@" in view or (" at " in view and (" dot " in view or " . " in view))):
            return True
        if self.automaton is None:
            return False
        slots: set[int] | None = None
        for _, codes in self.automaton.iter(view):
            for code in codes:
                if code == 0:
                    return True
                if code > 0:
                    material += code
                elif slots is None:
                    slots = {-code - 1}
                else:
                    slots.add(-code - 1)
        if material >= MIN_DIGIT_MATERIAL:
            return True
        if slots:
            partners = self.slot_partners
            for slot in slots:
                for other in partners[slot]:
                    if other not in slots:
                        break
                else:
                    return True
        return False


def build_prefilter(
    phrase_atoms: list[tuple[str, ...] | None],
    regex_atoms: list[tuple[str, ...] | None],
    numeric_detectors: bool,
    email_detector: bool,
    needle_variables: tuple[str, ...] = (),
    conjunctions: list[list[tuple[str, ...]]] | None = None,
) -> Prefilter:
    """Assemble the prefilter. ``phrase_atoms``: word-view surfaces per strong phrase; ``conjunctions``: per weak
    phrase, per token, its surfaces. A regex with no usable atom makes the prefilter always answer "maybe"."""
    always = any(a is None for a in regex_atoms)
    payloads: dict[str, list[int]] = {}
    for atoms in (*phrase_atoms, *regex_atoms):
        for atom in atoms or ():
            payloads.setdefault(atom, []).append(0)
    slot_phrase: list[int] = []
    phrase_slots: list[tuple[int, ...]] = []
    for tokens in conjunctions or ():
        if not tokens:
            always = True
            continue
        mine = []
        for alternatives in tokens:
            slot = len(slot_phrase)
            slot_phrase.append(len(phrase_slots))
            mine.append(slot)
            for surface in alternatives:
                payloads.setdefault(surface, []).append(-(slot + 1))
        phrase_slots.append(tuple(mine))
    if numeric_detectors:
        for word, weight in NUMBER_WORD_WEIGHT.items():
            payloads.setdefault(f" {word} ", []).append(weight)
    automaton = ahocorasick.Automaton()
    for surface, codes in payloads.items():
        automaton.add_word(surface, tuple(dict.fromkeys(codes)))
    if payloads:
        automaton.make_automaton()
    partners = tuple(
        tuple(other for other in phrase_slots[phrase] if other != slot) for slot, phrase in enumerate(slot_phrase)
    )
    return Prefilter(automaton if payloads else None, always, numeric_detectors, email_detector, needle_variables, partners)
