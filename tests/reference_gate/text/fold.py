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
5. **Letter skeletons** (UTS #39 confusables, :mod:`reference_gate.text._confusables`): in a word whose every
   non-ASCII letter has an ASCII lookalike, each is replaced by it (Cyrillic ``е`` in ``guarantееd``, Greek
   ``ο``, Cherokee, small capitals). A word with any other non-ASCII letter is left alone, so real text in another
   script is not turned into nonsense.

ASCII text is returned as it is, with no map. Folding is idempotent (``fold(fold(t)) == fold(t)``) and never raises.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from reference_gate.text._confusables import SKELETON

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


@lru_cache(maxsize=256)
def _resizing(codepoints: frozenset[int]) -> re.Pattern[str]:
    """A character class of the characters whose fold is not one character (the same few recur turn after turn)."""
    return re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(codepoints)) + "]")


_SKELETON_TABLE = str.maketrans(SKELETON)
#: the same, with typographic apostrophes made ASCII: a word qualifies when this makes it ASCII
_QUALIFY_TABLE = str.maketrans({**SKELETON, **{c: "'" for c in _APOSTROPHES}})
_WIDE = frozenset(c for c, r in SKELETON.items() if len(r) != 1)


def _skeletons(text: str, src: list[int] | None) -> tuple[str, list[int] | None]:
    """Step 5 over the words of ``text`` that contain a non-ASCII letter. ``src``: original index per character
    (``None``: the identity); returned the same way, ``None`` when no skeleton changed the length."""
    pieces: list[str] = []
    pos = 0
    wide: list[tuple[int, str]] = []  # (start in text, replaced word) of words whose length changes
    for m in _FOREIGN_WORD.finditer(text):
        word = m.group()
        mapped = word.translate(_SKELETON_TABLE)
        if mapped == word or not word.translate(_QUALIFY_TABLE).isascii():
            continue  # nothing to map ("donʼt"), or a letter with no lookalike: a real word of another script
        a, b = m.span()
        pieces.append(text[pos:a])
        pieces.append(mapped)
        if len(mapped) != len(word):
            wide.append((a, word))
        pos = b
    if not pieces:
        return text, src
    pieces.append(text[pos:])
    folded = "".join(pieces)
    if not wide:
        return folded, src
    base = list(range(len(text))) if src is None else src
    out: list[int] = []
    pos = 0
    for a, word in wide:
        out.extend(base[pos:a])
        for k, c in enumerate(word, a):
            out.extend([base[k]] * len(SKELETON.get(c, c)))
        pos = a + len(word)
    out.extend(base[pos:])
    return folded, out


def fold(text: str) -> tuple[str, list[int] | None]:
    """``(folded, source)``: the folded text and, for each of its characters, the index of the original character
    it came from. ``source`` is ``None`` when every character kept its place (``folded`` has the original's
    offsets), and ``folded is text`` when nothing changed (always for ASCII text)."""
    if text.isascii():
        return text, None
    # each distinct character is looked at once (set() and translate() run in C), so the cost per character of
    # text stays that of the C loops whatever the text repeats
    changes = {}
    resize = skeleton = False
    for ch in set(text):
        if ch.isascii():
            continue
        r = fold_char(ch)
        if r != ch:
            changes[ord(ch)] = r
            resize = resize or len(r) != 1
        if ch in SKELETON or r in SKELETON:
            skeleton = True
    if not changes and not skeleton:
        return text, None
    folded = text.translate(changes) if changes else text
    src: list[int] | None = None
    if resize:
        # only characters that vanish or expand move offsets: walk those, copy the runs between them in C
        src = []
        pos = 0
        for m in _resizing(frozenset(c for c, r in changes.items() if len(r) != 1)).finditer(text):
            i = m.start()
            src.extend(range(pos, i))
            src.extend([i] * len(changes[ord(text[i])]))
            pos = i + 1
        src.extend(range(pos, len(text)))
    if skeleton and not folded.isascii():
        folded, src = _skeletons(folded, src)
    if folded == text:
        return text, None
    return folded, src
