"""A conservative C-speed prefilter: "nothing can match this turn" or "maybe".

Building the normalized view costs tens of microseconds; most agent turns match nothing. The prefilter answers
``False`` only when the exact scan (:meth:`CompiledMatchers.scan`) cannot find anything; it may say "maybe" wrongly,
never "no" wrongly. It works on a *word view* of the turn built with ``str.translate`` (C speed): case-folded,
ASCII punctuation turned into spaces, the symbols the normalizer rewrites (``' @ $ % . _``) kept as words of their
own, whitespace collapsed, padded with a space at each end. In that view a whole word ``w`` is the substring
``" w "``, so one Aho-Corasick pass reports whole-word hits with no per-hit Python work. Non-ASCII text is first
folded exactly as the normalizer folds it (:func:`~trace_engine.text.fold.fold`: invisible characters dropped,
compatibility forms, all decimal digits and confusable letters made ASCII), so a fullwidth SSN or a zero-width-split
phrase is seen as what it reads; a turn with non-ASCII characters left after that and after mapping typographic
quotes and dashes is always "maybe" (word boundaries would be unsure). A word spelled letter by letter
("g u a r a n t e e d", "c.v.v") is always "maybe": the normalizer joins it into one token.

Why single tokens are safe: every normalized token either appears as a whole word of the view (words, hyphen
halves, possessive stems, ``it`` of ``it'll``), or is *produced* by a rewrite: ``not`` of ``won't``, ``do`` of
``don't``, ``at`` of ``@``, digits of number words, ``should`` of ``shouldn't``. For each token we register every
surface that can produce it. Phrases with a rare token (not a common word, 4+ letters) use that token alone; other
phrases use a conjunction: every one of their tokens must be present.

Detectors have preconditions instead, from their registry hints (``min_digits``, ``needs_at``): enough digit
material (digit characters plus weighted number words) for the numeric detectors, an ``@`` or an ``at``. Two have a
sharper test here (:data:`SHAPE_TESTED`): email needs an ``@`` or both ``at`` and ``dot``, and MBI's 5 digits count
only in an MBI-like shape. A detector without one is let through on its hints alone (looser, hence safe).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick

from trace_engine.text.detectors import DETECTORS
from trace_engine.text.fold import fold
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
    # a scale word alone is a number: "thousand" reads as 1000 (four digits), "a million" as seven
    "hundred": 3,
    **{w: len(str(v)) for w, v in SCALES.items()},
}
#: detectors with a sharper precondition here than their registry hints (see the module docstring)
SHAPE_TESTED: frozenset[str] = frozenset({"email", "mbi"})
#: detectors gated on an ``at``/``@`` (the registry's ``needs_at``); every other one on digit material
AT_KINDS: frozenset[str] = frozenset(k for k, spec in DETECTORS.items() if spec.needs_at)
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
_GLUED_DOT = re.compile(rb"[a-z0-9]\.[a-z]{2}").search  # "example.com", not "p.m."
#: an MBI's character classes with any separators between its three groups (letters include excluded ones:
#: looser than the detector, as a prefilter must be)
_MBI_WRITTEN = re.compile(rb"[0-9][a-z][a-z0-9][0-9][^a-z0-9]*[a-z][a-z0-9][0-9][^a-z0-9]*[a-z][a-z][0-9][0-9]").search
_SINGLE_LETTER = re.compile(r"(?<= )[a-z](?= )").findall
#: three single-letter words with nothing but ``.`` / ``_`` words between them: a superset, in the word view, of
#: the normalizer's spelled words (:data:`~trace_engine.text.normalize.SPELLED_RE`; its other separators are
#: spaces in the view)
_SPELLED_VIEW = re.compile(r" [a-z](?: [._])? [a-z](?: [._])? [a-z] ").search


def _view_bytes(raw: bytes) -> str:
    return _view_bytes_singles(raw)[0]


def _view_bytes_singles(raw: bytes) -> tuple[str, int]:
    """The word view of ASCII ``raw`` and how many of its words are one character long."""
    spaced = raw.translate(_SPACE_BYTES)
    for symbol in _KEPT_BYTES:
        if symbol in spaced:
            spaced = spaced.replace(symbol, b" " + symbol + b" ")
    words = spaced.split()
    return (b" " + b" ".join(words) + b" ").decode("ascii"), list(map(len, words)).count(1)


def word_view(text: str) -> str:
    """The case-folded, space-delimited, padded view the prefilter scans (see the module docstring); ``""``
    for text that is not ASCII after folding and mapping typographic quotes and dashes."""
    low = fold(text)[0].casefold().translate(_TYPOGRAPHY)
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
    """For a one-word phrase with a rare word: that word's surfaces (any hit means "maybe"). ``None`` otherwise:
    :func:`conjunction` applies (two rare words together are far more selective than one)."""
    literal = [t for t in tokens if t != "*" and not (t.startswith("{") and t.endswith("}"))]
    if len(set(literal)) != 1:
        return None
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


def conjunction(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The rarest literal tokens of a phrase (rarest first): it can only match if every one of them occurs."""
    literal = [t for t in dict.fromkeys(tokens) if t != "*" and not (t.startswith("{") and t.endswith("}"))]
    return tuple(sorted(literal, key=_rarity, reverse=True)[:CONJUNCTION_TOKENS])


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


def detector_hints(kinds: set[str]) -> dict[str, object]:
    """:func:`build_prefilter`'s detector arguments for the enabled detector ``kinds``, from the registry's hints
    (``min_digits``, ``needs_at``). A detector with no sharper test here (:data:`SHAPE_TESTED`) counts with its
    hints alone: digit material of at least its ``min_digits`` (0, a detector of words: every turn), or an ``at``.
    Looser than a sharper test, so a new detector is safe before the prefilter learns about it."""
    return {
        "numeric_min": min(
            (DETECTORS[k].min_digits for k in kinds if k not in AT_KINDS and k not in SHAPE_TESTED), default=10**6
        ),
        "mbi": "mbi" in kinds,
        "at_alone": any(k not in SHAPE_TESTED for k in kinds & AT_KINDS),
    }


@dataclass(slots=True)
class Prefilter:
    """Answers whether a turn may match anything. Picklable (pyahocorasick automata pickle).

    Automaton payloads are tuples of ints: ``0`` a rare atom (any hit means "maybe"); ``> 0`` a number word's
    digit weight; ``< 0`` a conjunction token ``-(token_id + 1)``.
    """

    automaton: object | None
    always: bool
    numeric_detectors: bool
    email_detector: bool
    #: variables whose per-call value is the only literal of some phrase ("{business_name}")
    needle_variables: tuple[str, ...] = ()
    #: conjunction token id -> for each phrase whose rarest token it is, the partner token id (-1: alone)
    triggers: tuple[tuple[int, ...], ...] = ()
    #: digit material that can make a hit for the enabled numeric detectors other than MBI (SSN/ABA: 9)
    numeric_min: int = MIN_DIGIT_MATERIAL
    #: the MBI detector is enabled: 5+ digits in an MBI-like shape also mean "maybe"
    mbi: bool = False
    #: a detector needing an ``at`` other than email is enabled: an ``at`` alone means "maybe" (no ``dot`` needed)
    at_alone: bool = False

    @staticmethod
    def _mbi_shape(raw: bytes, view: str) -> bool:
        """Written MBI (``1EG4-TE5-MK73`` and separated variants) or spoken one (4+ single letters)."""
        return _MBI_WRITTEN(raw) is not None or len(_SINGLE_LETTER(view)) >= 4

    def maybe(self, text: str, needles: tuple[str, ...] = ()) -> bool:
        """``needles``: word-view surfaces of the call's values of :attr:`needle_variables` (``" acme "``)."""
        if self.always:
            return True
        low = text.casefold()
        if not low.isascii():
            # the normalizer reads the folded text: fold the same way, then look at it like ASCII text
            low = fold(text)[0].casefold().translate(_TYPOGRAPHY)
            if not low.isascii():
                return True
        raw = low.encode("ascii")
        numeric = self.numeric_detectors
        material = len(raw) - len(raw.translate(None, _DIGIT_BYTES)) if numeric else 0
        if material >= self.numeric_min:
            return True
        view, singles = _view_bytes_singles(raw)
        if singles >= 3 and _SPELLED_VIEW(view) is not None:
            return True  # a word spelled letter by letter becomes one token: any phrase may hide in it
        for needle in needles:
            if needle in view:
                return True
        if self.email_detector and (
            b"@" in raw or (" at " in view and (self.at_alone or " dot " in view or _GLUED_DOT(raw) is not None))
        ):
            return True
        if self.automaton is None:
            return False
        seen: set[int] | None = None
        for _, codes in self.automaton.iter(view):
            for code in codes:
                if code == 0:
                    return True
                if code > 0:
                    material += code
                elif seen is None:
                    seen = {-code - 1}
                else:
                    seen.add(-code - 1)
        if material >= self.numeric_min or (material >= MIN_DIGIT_MATERIAL and self.mbi and self._mbi_shape(raw, view)):
            return True
        if seen:
            triggers = self.triggers
            for token in seen:
                for partner in triggers[token]:
                    if partner < 0 or partner in seen:
                        return True
        return False


def build_prefilter(
    phrase_atoms: list[tuple[str, ...] | None],
    regex_atoms: list[tuple[str, ...] | None],
    numeric_detectors: bool,
    email_detector: bool,
    needle_variables: tuple[str, ...] = (),
    conjunctions: list[tuple[str, ...]] | None = None,
    numeric_min: int = MIN_DIGIT_MATERIAL,
    mbi: bool = False,
    at_alone: bool = False,
) -> Prefilter:
    """Assemble the prefilter. ``phrase_atoms``: word-view surfaces per one-word rare phrase; ``conjunctions``: per
    other phrase, its rarest tokens (rarest first). A regex with no usable atom makes it always answer "maybe"."""
    always = any(a is None for a in regex_atoms)
    payloads: dict[str, list[int]] = {}
    for atoms in (*phrase_atoms, *regex_atoms):
        for atom in atoms or ():
            payloads.setdefault(atom, []).append(0)
    token_ids: dict[str, int] = {}
    triggers: list[set[int]] = []

    def token_id(token: str) -> int:
        if token not in token_ids:
            token_ids[token] = len(token_ids)
            triggers.append(set())
            for surface in token_alternatives(token):
                payloads.setdefault(surface, []).append(-(token_ids[token] + 1))
        return token_ids[token]

    for tokens in conjunctions or ():
        if not tokens:
            always = True
            continue
        rare = token_id(tokens[0])
        triggers[rare].add(token_id(tokens[1]) if len(tokens) > 1 else -1)
    if numeric_detectors:
        for word, weight in NUMBER_WORD_WEIGHT.items():
            payloads.setdefault(f" {word} ", []).append(weight)
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
        tuple(tuple(sorted(t)) for t in triggers),
        numeric_min,
        mbi,
        at_alone,
    )
