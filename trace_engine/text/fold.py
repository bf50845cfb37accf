"""Unicode folding against evasion: the first stage of the normalized view.

What an AI voice agent writes is spoken by a text-to-speech engine, so characters that are not pronounced, or are
pronounced like ASCII ones, must not hide a phrase or a number from the gate. :func:`fold` maps a turn to the text
its tokens are read from, character by character, remembering for every folded character the original character it
came from (so a match in the folded text maps back exactly to the characters a redaction must cut):

1. **Invisible characters are dropped**: every format character (Unicode category Cf: zero-width space, joiner and
   non-joiner, soft hyphen, word joiner, BOM, bidi embeddings/overrides/isolates, tag characters…) and every other
   default-ignorable code point (combining grapheme joiner, variation selectors, Hangul fillers…).
2. **Compatibility forms** (NFKC's compatibility mappings, computed per character as NFKD): fullwidth
   ``４１１１`` and ``ｇｕａｒａｎｔｅｅｄ``, mathematical bold/italic/script letters and digits, circled
   letters, superscripts, ligatures ``ﬁ``, the no-break and other Unicode spaces → one space.
3. **Combining marks are dropped** (Mn, Me): ``guäränteed``, stacked "zalgo" marks, accents (``café`` → ``cafe``).
4. **Every decimal digit** (Unicode Nd: Arabic-Indic ``٤``, Devanagari ``४``, Bengali…) becomes its ASCII digit;
   the minus sign becomes ``-``.
5. **Letter skeletons** (UTS #39 confusables, :mod:`trace_engine.text._confusables`): in a word whose every
   non-ASCII letter has an ASCII lookalike, each is replaced by it (Cyrillic ``е`` in ``guarantееd``, Greek
   ``ο``, Cherokee, small capitals). A word with any other non-ASCII letter is left alone, so real text in another
   script is not turned into nonsense.

ASCII text is returned as it is, with no map. Folding is idempotent (``fold(fold(t)) == fold(t)``) and never raises.
"""

from __future__ import annotations

import re
import unicodedata

from trace_engine.text._confusables import SKELETON

__all__ = ["fold", "fold_char"]

#: Default_Ignorable_Code_Point ranges (Unicode DerivedCoreProperties) that are not Cf; Cf is dropped by category.
_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # unassigned specials
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)
#: characters with no compatibility mapping that are read like an ASCII one
_EXTRA: dict[str, str] = {"\u2212": "-", "\u2043": "-"}
_APOSTROPHES = frozenset("'\u2019\u2018\u02bc")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
#: a word (letters/digits) containing a non-ASCII letter
_FOREIGN_WORD = re.compile(r"[^\W_]*[^\x00-\x7f\W\d][^\W_]*")

_CACHE: dict[str, str] = {}
_CACHE_MAX = 1 << 16


def _ignorable(cp: int) -> bool:
    for lo, hi in _IGNORABLE_RANGES:
        if lo <= cp <= hi:
            return True
    return False


def _compute(ch: str) -> str:
    cat = unicodedata.category(ch)
    if cat == "Cf" or _ignorable(ord(ch)):
        return ""
    if cat in ("Cs", "Co", "Cn"):
        return ch  # lone surrogates, private use, unassigned: kept (non-ASCII: never fast-pathed)
    out = []
    for c in unicodedata.normalize("NFKD", ch):
        if c.isascii():
            out.append(c)
            continue
        sub = unicodedata.category(c)
        if sub in ("Mn", "Me", "Cf") or _ignorable(ord(c)):
            continue
        if sub == "Nd":
            out.append(str(unicodedata.decimal(c)))
        else:
            out.append(_EXTRA.get(c, c))
    return "".join(out)


def fold_char(ch: str) -> str:
    """Steps 1-4 for one character (cached): ``""`` for an invisible one, else its folded form."""
    r = _CACHE.get(ch)
    if r is None:
        r = _compute(ch)
        if len(_CACHE) < _CACHE_MAX:
            _CACHE[ch] = r
    return r


def _skeletons(text: str, src: list[int]) -> tuple[str, list[int]]:
    """Step 5 over the words of ``text`` that contain a non-ASCII letter."""
    pieces: list[str] = []
    out_src: list[int] = []
    pos = 0
    changed = False
    for m in _FOREIGN_WORD.finditer(text):
        word = m.group()
        if not all(c.isascii() or c in SKELETON or c in _APOSTROPHES for c in word):
            continue
        if not any(c in SKELETON for c in word):
            continue  # only apostrophes ("donʼt"): nothing to map
        a, b = m.span()
        pieces.append(text[pos:a])
        out_src.extend(src[pos:a])
        for k, c in enumerate(word, a):
            r = SKELETON.get(c, c)
            pieces.append(r)
            out_src.extend([src[k]] * len(r))
        pos = b
        changed = True
    if not changed:
        return text, src
    pieces.append(text[pos:])
    out_src.extend(src[pos:])
    return "".join(pieces), out_src


def fold(text: str) -> tuple[str, list[int] | None]:
    """``(folded, source)``: the folded text and, for each of its characters, the index of the original character
    it came from. ``source`` is ``None`` when nothing changed (``folded is text``), always for ASCII text."""
    if text.isascii():
        return text, None
    pieces: list[str] = []
    src: list[int] = []
    pos = 0
    changed = False
    for m in _NON_ASCII_RUN.finditer(text):
        a, b = m.span()
        if a > pos:
            pieces.append(text[pos:a])
            src.extend(range(pos, a))
        for i in range(a, b):
            ch = text[i]
            r = fold_char(ch)
            if r != ch:
                changed = True
            if r:
                pieces.append(r)
                src.extend([i] * len(r))
        pos = b
    if pos < len(text):
        pieces.append(text[pos:])
        src.extend(range(pos, len(text)))
    folded = "".join(pieces) if changed else text
    if not folded.isascii():
        folded2, src = _skeletons(folded, src)
        changed = changed or folded2 is not folded
        folded = folded2
    if not changed:
        return text, None
    return folded, src
