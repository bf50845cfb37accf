"""Frozen reference copy of ``trace_engine.text.numbers`` + ``trace_engine.text.normalize`` (commit a5137b7).

Used only by ``tests/test_normalize_equivalence.py`` and ``benchmarks/bench_normalize.py``: the optimized
normalizer must produce exactly the same output as this code. Do not edit, do not "fix": any behaviour change
to the normalizer is a spec change and belongs in ``tests/test_normalize.py``.

Spec changes made here deliberately (each in its own commit, with the reason):

* issue 11, text normalized against evasion: Unicode folding before tokenizing (:func:`_ref_fold`: format and
  default-ignorable characters dropped, NFKD compatibility forms, combining marks dropped, every decimal digit to
  ASCII, confusable letter skeletons), token spans mapped back to the original characters; words spelled letter
  by letter become one word (:func:`_ref_merge_spelled`); ``niner`` is 9, ``nought``/``naught`` are zeros. The
  reference versions are deliberately naive (one character, one item at a time); only the data tables (the
  skeleton table, the default-ignorable ranges) and the spelled-word regex, which define the spec, are shared.
"""
# ruff: noqa
# fmt: off

from __future__ import annotations

# ============================================================================ numbers.py (verbatim)
"""Number words for the normalized view: tables, the compound-number parser, and the digit-run pass.

This module works on the *item* stream produced by :mod:`trace_engine.text.normalize`: each item is a tuple
``(text, orig_start, orig_end, gap, kind)`` where ``gap`` classifies the original characters between the
previous item and this one (:data:`GAP_WS` whitespace only / nothing, :data:`GAP_HYPHEN` hyphens and
whitespace, :data:`GAP_OTHER` anything else, e.g. a comma) and ``kind`` is one of :data:`K_WORD`,
:data:`K_DIGITS`, :data:`K_DECIMAL`, :data:`K_PLACEHOLDER`.

Rules (see :func:`convert_numbers`):

* **Fillers** ("uh", "um", …) are removed first; the gap they leave is the widest of the gaps around them, so
  ``four one uh one one`` still reads as one digit run.
* **Digit items** are: a written run of ASCII digits; ``zero`` … ``nine`` (unless followed by ``hundred`` /
  ``thousand`` / ``million`` / ``billion``, which makes them part of a compound); ``oh`` / ``o`` (zero); and
  ``double X`` / ``triple X`` / ``treble X`` with X a single-digit word, ``oh``/``o`` or a one-digit written
  number.
* A **digit run** is a maximal sequence of digit items separated only by whitespace (or by a removed filler).
  It becomes one digit token spanning the whole run: ``four one one one`` → ``4111``,
  ``4111 one one one`` → ``4111111``, ``double five`` → ``55``. Two *written* digit groups never merge with
  each other (``4111 1111`` stays two tokens), so the writer's grouping survives for the detectors (a card
  followed by a written expiry ``4111 1111 1111 1111 12 25`` is still found). A run made only of ``oh``/``o`` is left alone
  (``oh okay`` keeps ``oh``), so ``oh`` is a zero only next to another digit. Commas, dashes, dots and other
  punctuation end a run (``four one five, five five five`` → ``415 555``); detectors read token sequences.
* **Compound numbers** (teens, tens, ``hundred``, scales) become their own digit token and never merge with
  neighbouring digit runs: ``twenty five`` → ``25``, ``nineteen`` → ``19``, ``one hundred`` → ``100``,
  ``two thousand twenty four`` → ``2024``, ``one hundred and five`` → ``105``. Year-style pairs stay apart
  (``nineteen eighty four`` → ``19 84``). Words of a compound may be separated by whitespace or a hyphen.
"""


GAP_WS = 0
GAP_HYPHEN = 1
GAP_OTHER = 2

K_WORD = 0
K_DIGITS = 1
K_DECIMAL = 2
K_PLACEHOLDER = 3

UNITS: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "niner": 9,
}
TEENS: dict[str, int] = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS: dict[str, int] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES: dict[str, int] = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
HUNDRED = "hundred"
MULTIPLIERS: frozenset[str] = frozenset({HUNDRED, *SCALES})
ZERO_WORDS: frozenset[str] = frozenset({"oh", "o", "nought", "naught"})
REPEATERS: dict[str, int] = {"double": 2, "triple": 3, "treble": 3}
FILLERS: frozenset[str] = frozenset({"uh", "um", "uhm", "umm", "er", "erm", "ah", "hmm", "hm", "mm"})

_SMALL: frozenset[str] = frozenset({*UNITS, *TEENS, *TENS})
COMPOUND_WORDS: frozenset[str] = frozenset({*UNITS, *TEENS, *TENS, *MULTIPLIERS})
#: every word the number pass may rewrite or drop (used by the normalizer's fast path)
NUMBER_PASS_WORDS: frozenset[str] = frozenset({*COMPOUND_WORDS, *ZERO_WORDS, *REPEATERS, *FILLERS})

Item = tuple  # (text, orig_start, orig_end, gap, kind)


def _digit_item(items: list[Item], i: int, n: int) -> tuple[str, int, bool] | None:
    """If ``items[i]`` starts a digit item, return ``(digits, next_index, is_zero_word)``."""
    t, _s, _e, _gap, kind = items[i]
    if kind == K_DIGITS:
        return t, i + 1, False
    if kind != K_WORD:
        return None
    v = UNITS.get(t)
    if v is not None:
        if i + 1 < n:
            nxt = items[i + 1]
            if nxt[4] == K_WORD and nxt[3] <= GAP_HYPHEN and nxt[0] in MULTIPLIERS:
                return None  # "five hundred": a compound
        return str(v), i + 1, False
    if t in ZERO_WORDS:
        return "0", i + 1, True
    r = REPEATERS.get(t)
    if r is not None and i + 1 < n:
        nt, _ns, _ne, ngap, nkind = items[i + 1]
        if ngap == GAP_WS:
            if nkind == K_WORD:
                dv = UNITS.get(nt)
                if dv is None and nt in ZERO_WORDS:
                    dv = 0
                if dv is not None:
                    return str(dv) * r, i + 2, False
            elif nkind == K_DIGITS and len(nt) == 1:
                return nt * r, i + 2, False
    return None


def _parse_compound(items: list[Item], i: int, n: int) -> tuple[int, int]:
    """Parse a compound number starting at ``items[i]``; return ``(value, index after the last word)``."""
    total = 0
    cur = 0
    last = ""  # "", unit, teen, tens, hundred, scale, and
    last_scale = 10**18
    j = i
    end = i
    while j < n:
        t, _s, _e, gap, kind = items[j]
        if kind != K_WORD or (j > i and gap > GAP_HYPHEN):
            break
        if t in UNITS:
            v = UNITS[t]
            if last in ("", "hundred", "scale", "and") or (last == "tens" and v):
                cur += v
                last = "unit"
            else:
                break
        elif t in TEENS:
            if last in ("", "hundred", "scale", "and"):
                cur += TEENS[t]
                last = "teen"
            else:
                break
        elif t in TENS:
            if last in ("", "hundred", "scale", "and"):
                cur += TENS[t]
                last = "tens"
            else:
                break
        elif t == HUNDRED:
            if last == "":
                cur = 100
            elif last in ("unit", "teen", "tens") and 0 < cur < 100:
                cur *= 100
            else:
                break
            last = "hundred"
        elif t in SCALES:
            sv = SCALES[t]
            if sv >= last_scale or last == "and":
                break
            total += (cur if cur else 1) * sv
            cur = 0
            last = "scale"
            last_scale = sv
        elif t == "and":
            if last not in ("hundred", "scale") or j + 1 >= n:
                break
            nt, _ns, _ne, ngap, nkind = items[j + 1]
            if nkind != K_WORD or ngap > GAP_HYPHEN or nt not in _SMALL:
                break
            last = "and"
        else:
            break
        j += 1
        if last != "and":
            end = j
    if end == i:  # defensive: always consume at least the first word
        end = i + 1
    return total + cur, end


def convert_numbers(items: list[Item]) -> list[tuple[str, int, int, int]]:
    """Drop fillers, convert number words, merge digit runs. Returns ``(text, start, end, kind)`` tuples."""
    # 1. fillers out, carrying the widest gap forward
    cleaned: list[Item] = []
    carry = -1
    for it in items:
        if it[4] == K_WORD and it[0] in FILLERS:
            carry = max(carry, it[3])
            continue
        if carry >= 0:
            if carry > it[3]:
                it = (it[0], it[1], it[2], carry, it[4])
            carry = -1
        cleaned.append(it)

    # 2. digit runs and compounds
    out: list[tuple[str, int, int, int]] = []
    n = len(cleaned)
    i = 0
    while i < n:
        it = cleaned[i]
        kind = it[4]
        if kind == K_DIGITS or (kind == K_WORD and it[0] in NUMBER_PASS_WORDS):
            d = _digit_item(cleaned, i, n)
            if d is not None:
                digits, j, all_zero_words = d
                parts = [digits]
                while j < n and cleaned[j][3] == GAP_WS:
                    if cleaned[j][4] == K_DIGITS and cleaned[j - 1][4] == K_DIGITS:
                        break  # two written groups keep their own tokens: "4111 1111"
                    d2 = _digit_item(cleaned, j, n)
                    if d2 is None:
                        break
                    parts.append(d2[0])
                    all_zero_words = all_zero_words and d2[2]
                    j = d2[1]
                if all_zero_words:  # "oh", "oh oh": not a number
                    for k in range(i, j):
                        c = cleaned[k]
                        out.append((c[0], c[1], c[2], c[4]))
                else:
                    out.append(("".join(parts), it[1], cleaned[j - 1][2], K_DIGITS))
                i = j
                continue
            if kind == K_WORD and it[0] in COMPOUND_WORDS:
                value, j = _parse_compound(cleaned, i, n)
                out.append((str(value), it[1], cleaned[j - 1][2], K_DIGITS))
                i = j
                continue
        out.append((it[0], it[1], it[2], kind))
        i += 1
    return out


# ============================================================================ normalize.py (verbatim)
"""The normalized view of a turn: the text Trace matches phrases, patterns and detectors against.

Every normalized token remembers the span of original characters it came from, so a match found in the
normalized text maps back exactly to the characters a redaction must cut.

Rules (deterministic, linear time, never raise):

1. **Case and quotes.** Tokens are case-folded (``str.casefold``). Curly apostrophes (’ ‘ ʼ) count as ``'``;
   other quotes are punctuation.
2. **Tokens.** A word is a run of letters/digits (Unicode ``\\w`` without ``_``); punctuation at word edges is
   dropped and whitespace collapses to one space. Inside a word:

   * an apostrophe between letters keeps the word together (contractions, ``o'clock``);
   * a hyphen splits (``re-call`` → ``re call``, ``4111-1111`` → ``4111 1111``); so do slashes, parentheses…;
   * a dot between two characters of which at least one is not a digit becomes the token ``dot``
     (``jane.doe`` → ``jane dot doe``, ``example.com`` → ``example dot com``), an underscore becomes
     ``underscore``; a comma splits;
   * digit groups: ``12.99`` (exactly two groups joined by a dot) stays one decimal token; ``1,000`` /
     ``1,000,000.50`` (thousands grouping) becomes ``1000`` / ``1000000.50``; any other dot/comma-joined digit
     groups (``415.555.0198``, ``192.168.1.1``) split into separate digit tokens with no ``dot`` token.
     Consequently a sentence written without a space after its period (``no.Then``) reads ``no dot then``.
3. **Symbols.** ``@`` → ``at``; ``%`` → ``percent``; ``$12`` / ``$ 12.99`` → ``12 dollars`` /
   ``12.99 dollars`` where *both* tokens map to the whole ``$12`` span (so original starts stay
   non-decreasing); a lone ``$`` → ``dollars``.
4. **Contractions** expand to several tokens that all map to the contraction's original span:
   ``don't`` → ``do not``, ``can't``/``cannot`` → ``can not``, ``won't`` → ``will not``, ``ain't`` → ``is not``,
   ``i'm`` → ``i am``, ``it's``/``he's``/``that's``… → ``… is``, ``let's`` → ``let us``, ``y'all`` → ``you all``,
   ``gonna`` → ``going to``, ``wanna`` → ``want to``, ``gotta`` → ``got to`` (full table in :data:`CONTRACTIONS`).
   Other words: ``X'll`` → ``X will``, ``X've`` → ``X have``, ``X're`` → ``X are``, ``X'd`` → ``X would``,
   ``X'm`` → ``X am``, ``Xn't`` → ``X not``; a trailing possessive ``'s`` is dropped (``john's`` → ``john``,
   ``90's`` → ``90``); any other apostrophe word is kept as one token (``o'clock``).
5. **Fillers** ``uh um uhm umm er erm ah hmm hm mm`` are removed; they never break a phrase or a digit run.
6. **Numbers** (see :mod:`trace_engine.text.numbers`): ``zero``–``nine`` are digits; whitespace-adjacent
   digit words merge into one digit token, also with an adjacent written group (``four one one one`` →
   ``4111``, ``4111 one one`` → ``411111``), but two written groups stay apart (``4111 1111``); ``oh``/``o`` is ``0`` only inside such a run; ``double five`` → ``55``,
   ``triple seven`` → ``777``; compounds are their own token (``twenty five`` → ``25``,
   ``two thousand twenty four`` → ``2024``). Punctuation (comma, dash, dot) ends a digit run.

Phrases in rule packs go through the same rules (:func:`normalize_phrase`), except that ``{variable}``
placeholders and ``*`` gap tokens pass through untouched as single tokens.

Fast path: ASCII text with no digit, no ``$ % @ _``, no apostrophe, no dot inside a word and no word that a
later rule rewrites (number words, fillers, ``cannot``/``gonna``/…) is tokenized with a single regex scan.
"""


import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate


__all__ = ["NormalizedText", "normalize", "normalize_phrase", "CONTRACTIONS"]

CONTRACTIONS: dict[str, tuple[str, ...]] = {
    "don't": ("do", "not"),
    "doesn't": ("does", "not"),
    "didn't": ("did", "not"),
    "can't": ("can", "not"),
    "cannot": ("can", "not"),
    "won't": ("will", "not"),
    "shan't": ("shall", "not"),
    "ain't": ("is", "not"),
    "isn't": ("is", "not"),
    "aren't": ("are", "not"),
    "wasn't": ("was", "not"),
    "weren't": ("were", "not"),
    "shouldn't": ("should", "not"),
    "wouldn't": ("would", "not"),
    "couldn't": ("could", "not"),
    "mustn't": ("must", "not"),
    "needn't": ("need", "not"),
    "haven't": ("have", "not"),
    "hasn't": ("has", "not"),
    "hadn't": ("had", "not"),
    "i'm": ("i", "am"),
    "you're": ("you", "are"),
    "we're": ("we", "are"),
    "they're": ("they", "are"),
    "it's": ("it", "is"),
    "that's": ("that", "is"),
    "there's": ("there", "is"),
    "here's": ("here", "is"),
    "what's": ("what", "is"),
    "where's": ("where", "is"),
    "who's": ("who", "is"),
    "how's": ("how", "is"),
    "he's": ("he", "is"),
    "she's": ("she", "is"),
    "let's": ("let", "us"),
    "i've": ("i", "have"),
    "you've": ("you", "have"),
    "we've": ("we", "have"),
    "they've": ("they", "have"),
    "i'll": ("i", "will"),
    "you'll": ("you", "will"),
    "we'll": ("we", "will"),
    "they'll": ("they", "will"),
    "he'll": ("he", "will"),
    "she'll": ("she", "will"),
    "it'll": ("it", "will"),
    "i'd": ("i", "would"),
    "you'd": ("you", "would"),
    "he'd": ("he", "would"),
    "she'd": ("she", "would"),
    "we'd": ("we", "would"),
    "they'd": ("they", "would"),
    "y'all": ("you", "all"),
    "gonna": ("going", "to"),
    "wanna": ("want", "to"),
    "gotta": ("got", "to"),
}
_GENERIC_SUFFIXES: tuple[tuple[str, str | None], ...] = (
    ("n't", "not"),
    ("'ll", "will"),
    ("'ve", "have"),
    ("'re", "are"),
    ("'d", "would"),
    ("'m", "am"),
    ("'s", None),  # possessive: dropped
)
_APOS_CHARS = "'\u2019\u2018\u02bc"
_APOS_TRANS = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})

_WORD = r"[^\W_]++(?:['\u2019\u2018\u02bc][^\W_]++)*+"
_CHUNK = r"[^\W_]++(?:[.,_'\u2019\u2018\u02bc][^\W_]++)*+"
_SCAN_RE = re.compile(_CHUNK + r"|[$%@]")
_SCAN_PHRASE_RE = re.compile(r"\{[^{}\s]+\}|\*|" + _CHUNK + r"|[$%@]")
_SUB_RE = re.compile(_WORD)
_CHUNK_SPLIT_RE = re.compile(r"[.,_]")
_ASCII_DIGITS_RE = re.compile(r"[0-9]+")
_NUMERIC_SEG_RE = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+\.[0-9]+")
_HYPHEN_GAP_RE = re.compile(r"\s*[-\u2010-\u2015]+\s*")
# fast path
_FAST_SPECIAL_RE = re.compile(r"[0-9$%@_'`]|[a-z]\.[a-z]")
_FAST_WORD_RE = re.compile(r"[a-z]+")
_FAST_REWRITE_WORDS: frozenset[str] = frozenset(
    {*NUMBER_PASS_WORDS, *(k for k in CONTRACTIONS if "'" not in k)}
)


@dataclass(slots=True)
class NormalizedText:
    """A turn's normalized view. ``text == " ".join(tokens)``; token ``i`` starts at ``norm_starts[i]`` in
    ``text`` and came from ``original[orig_starts[i]:orig_ends[i]]``. Original starts and ends are
    non-decreasing (tokens expanded from one contraction share its span)."""

    original: str
    text: str
    tokens: list[str]
    norm_starts: list[int]
    orig_starts: list[int]
    orig_ends: list[int]
    is_digits: list[bool]

    def token_at(self, norm_offset: int) -> int:
        """Index of the token containing (or starting at) ``norm_offset``; on a separating space, the token
        before it. ``-1`` when there are no tokens; offsets are clamped to the text."""
        n = len(self.tokens)
        if n == 0:
            return -1
        i = bisect_right(self.norm_starts, norm_offset) - 1
        return 0 if i < 0 else i

    def is_token_start(self, norm_offset: int) -> bool:
        t = self.text
        return 0 <= norm_offset < len(t) and (norm_offset == 0 or t[norm_offset - 1] == " ")

    def is_token_end(self, norm_offset: int) -> bool:
        t = self.text
        return 0 < norm_offset <= len(t) and (norm_offset == len(t) or t[norm_offset] == " ")

    def to_original(self, norm_start: int, norm_end: int) -> tuple[int, int]:
        """Original ``(start, end)`` covering every token that ``text[norm_start:norm_end]`` touches."""
        n = len(self.tokens)
        if n == 0:
            return (0, 0)
        starts = self.norm_starts
        i = bisect_right(starts, norm_start) - 1
        if i < 0:
            i = 0
        elif i + 1 < n and norm_start >= starts[i] + len(self.tokens[i]):
            i += 1  # on the space after token i
        last = norm_end - 1 if norm_end > norm_start else norm_start
        j = bisect_right(starts, last) - 1
        if j < i:
            j = i
        return (self.orig_starts[i], self.orig_ends[j])

    def token_span(self, i: int, j: int) -> tuple[int, int]:
        """Original span of tokens ``i..j`` inclusive."""
        return (self.orig_starts[i], self.orig_ends[j])


def _gap(text: str, a: int, b: int) -> int:
    if a >= b:
        return GAP_WS
    g = text[a:b]
    if g.isspace():
        return GAP_WS
    if _HYPHEN_GAP_RE.fullmatch(g):
        return GAP_HYPHEN
    return GAP_OTHER


def _add_word(items: list, raw: str, s: int, e: int, gap: int) -> None:
    """Append the item(s) for one word (no dots/commas/underscores inside) spanning ``s:e``."""
    if raw.isascii():
        if raw.isdigit():
            items.append((raw, s, e, gap, K_DIGITS))
            return
        w = raw.lower()
    else:
        w = raw.casefold().translate(_APOS_TRANS)
    exp = CONTRACTIONS.get(w)
    if exp is None and "'" in w:
        for suf, repl in _GENERIC_SUFFIXES:
            if w.endswith(suf) and len(w) > len(suf):
                base = w[: -len(suf)]
                if "'" in base:
                    break
                exp = (base,) if repl is None else (base, repl)
                break
    if exp is None:
        items.append((w, s, e, gap, K_WORD))
        return
    for k, part in enumerate(exp):
        kind = K_DIGITS if (part.isascii() and part.isdigit()) else K_WORD
        items.append((part, s, e, gap if k == 0 else GAP_WS, kind))


def _add_chunk(items: list, text: str, chunk: str, o: int, gap: int) -> None:
    """A chunk is word characters joined by single ``. , _`` or apostrophe characters."""
    if _CHUNK_SPLIT_RE.search(chunk) is None:
        _add_word(items, chunk, o, o + len(chunk), gap)
        return
    subs = [(m.start(), m.end()) for m in _SUB_RE.finditer(chunk)]
    nsub = len(subs)
    isdig = [chunk[a:b].isascii() and chunk[a:b].isdigit() for a, b in subs]
    k = 0
    cur_gap = gap
    while k < nsub:
        a, b = subs[k]
        if isdig[k]:
            j = k
            while j + 1 < nsub and isdig[j + 1] and chunk[subs[j][1]] in ".,":
                j += 1
            if j > k and _NUMERIC_SEG_RE.fullmatch(chunk, a, subs[j][1]):
                seg = chunk[a : subs[j][1]]
                kind = K_DIGITS if "." not in seg else K_DECIMAL
                items.append((seg.replace(",", ""), o + a, o + subs[j][1], cur_gap, kind))
            else:
                for q in range(k, j + 1):
                    qa, qb = subs[q]
                    items.append((chunk[qa:qb], o + qa, o + qb, cur_gap if q == k else GAP_OTHER, K_DIGITS))
            k = j
        else:
            _add_word(items, chunk[a:b], o + a, o + b, cur_gap)
        # the separator after sub k
        if k + 1 < nsub:
            p = subs[k][1]
            sep = chunk[p]
            if sep == "." and not (isdig[k] and isdig[k + 1]):
                items.append(("dot", o + p, o + p + 1, GAP_WS, K_WORD))
                cur_gap = GAP_WS
            elif sep == "_":
                items.append(("underscore", o + p, o + p + 1, GAP_WS, K_WORD))
                cur_gap = GAP_WS
            else:
                cur_gap = GAP_OTHER
        k += 1


def _scan(text: str, phrase: bool) -> tuple[list, bool]:
    """Raw items ``(text, start, end, gap, kind)`` and whether the number pass has anything to do."""
    items: list = []
    append = items.append
    rx = _SCAN_PHRASE_RE if phrase else _SCAN_RE
    prev_end = 0
    dollar: tuple[int, int] | None = None  # (start, gap) of a pending "$"
    number_pass = False
    for m in rx.finditer(text):
        s, e = m.span()
        if s == prev_end or (s == prev_end + 1 and text[prev_end] == " "):
            gap = GAP_WS
        else:
            gap = _gap(text, prev_end, s)
        prev_end = e
        c = m.group()
        if dollar is None and c.isascii():
            if c.isalpha():  # the common case: a plain ASCII word
                w = c.lower()
                if w in CONTRACTIONS:
                    _add_word(items, c, s, e, gap)
                else:
                    append((w, s, e, gap, K_WORD))
                    if w in NUMBER_PASS_WORDS:
                        number_pass = True
                continue
            if c.isdigit():
                append((c, s, e, gap, K_DIGITS))
                number_pass = True
                continue
        number_pass = True  # conservative for everything less common
        ch = c[0]
        if ch == "$":
            if dollar is not None:
                items.append(("dollars", dollar[0], dollar[0] + 1, dollar[1], K_WORD))
            dollar = (s, gap)
            continue
        mark = len(items)
        if ch == "%":
            items.append(("percent", s, e, gap, K_WORD))
        elif ch == "@":
            items.append(("at", s, e, gap, K_WORD))
        elif ch == "*" or ch == "{":
            items.append((c, s, e, gap, K_PLACEHOLDER))
        else:
            _add_chunk(items, text, c, s, gap)
        if dollar is not None:
            ds, dgap = dollar
            dollar = None
            first = items[mark] if len(items) > mark else None
            if (
                len(items) == mark + 1
                and first is not None
                and first[4] in (K_DIGITS, K_DECIMAL)
                and first[3] == GAP_WS
            ):
                items[mark] = (first[0], ds, first[2], dgap, first[4])
                items.append(("dollars", ds, first[2], GAP_WS, K_WORD))
            else:
                items.insert(mark, ("dollars", ds, ds + 1, dgap, K_WORD))
    if dollar is not None:
        items.append(("dollars", dollar[0], dollar[0] + 1, dollar[1], K_WORD))
    return items, number_pass


def _norm_starts(tokens: list[str]) -> list[int]:
    out = [0]
    out.extend(accumulate(len(t) + 1 for t in tokens))
    out.pop()
    return out


def _build(original: str, toks: list[tuple]) -> NormalizedText:
    """``toks`` are ``(text, start, end, …, kind)`` tuples (the kind is always last)."""
    tokens = [t[0] for t in toks]
    return NormalizedText(
        original=original,
        text=" ".join(tokens),
        tokens=tokens,
        norm_starts=_norm_starts(tokens),
        orig_starts=[t[1] for t in toks],
        orig_ends=[t[2] for t in toks],
        is_digits=[t[-1] == K_DIGITS for t in toks],
    )


def _fast(text: str) -> NormalizedText | None:
    """Single-scan path for plain ASCII prose; ``None`` when the general path is needed."""
    if not text.isascii():
        return None
    low = text.lower()
    if _FAST_SPECIAL_RE.search(low) is not None:
        return None
    ms = list(_FAST_WORD_RE.finditer(low))
    tokens = [m.group() for m in ms]
    if not _FAST_REWRITE_WORDS.isdisjoint(tokens):
        return None
    return NormalizedText(
        text,
        " ".join(tokens),
        tokens,
        _norm_starts(tokens),
        [m.start() for m in ms],
        [m.end() for m in ms],
        [False] * len(tokens),
    )


# ============================================================================ issue 11 (spec change)
import unicodedata

from trace_engine.text._confusables import SKELETON
from trace_engine.text.fold import _IGNORABLE_RANGES
from trace_engine.text.normalize import SPELLED_RE


def _ref_fold_char(ch: str) -> str:
    cp = ord(ch)
    if unicodedata.category(ch) == "Cf" or any(lo <= cp <= hi for lo, hi in _IGNORABLE_RANGES):
        return ""
    if unicodedata.category(ch) in ("Cs", "Co", "Cn"):
        return ch
    out = ""
    for c in unicodedata.normalize("NFKD", ch):
        cat = unicodedata.category(c)
        if c.isascii():
            out += c
        elif cat in ("Mn", "Me", "Cf") or any(lo <= ord(c) <= hi for lo, hi in _IGNORABLE_RANGES):
            pass
        elif cat == "Nd":
            out += str(unicodedata.decimal(c))
        elif c in ("\u2212", "\u2043"):
            out += "-"
        else:
            out += c
    return out


def _ref_fold(text: str) -> tuple[str, list[int]]:
    chars: list[tuple[str, int]] = []  # (folded char, original index)
    for i, ch in enumerate(text):
        for c in _ref_fold_char(ch):
            chars.append((c, i))
    # skeletons: words (letters/digits) with a non-ASCII letter, all of whose non-ASCII characters have one
    out: list[tuple[str, int]] = []
    k = 0
    while k < len(chars):
        c = chars[k][0]
        if not (c.isalnum()):
            out.append(chars[k])
            k += 1
            continue
        j = k
        while j < len(chars) and chars[j][0].isalnum():
            j += 1
        word = chars[k:j]
        mapped = any(w in SKELETON for w, _ in word)
        if mapped and all(w.isascii() or w in SKELETON or w in "\u2019\u2018\u02bc" for w, _ in word):
            for w, i in word:
                out.extend((x, i) for x in SKELETON.get(w, w))
        else:
            out.extend(word)
        k = j
    return "".join(c for c, _ in out), [i for _, i in out]


def _ref_merge_spelled(text: str, items: list) -> list:
    for m in reversed(list(SPELLED_RE.finditer(text))):
        a, b = m.span()
        letters = "".join(ch for ch in m.group() if ch.isalpha()).lower()
        if set(letters) == {"o"}:
            continue
        inside = [k for k, it in enumerate(items) if a <= it[1] and it[2] <= b]
        first = inside[0]
        items[first : inside[-1] + 1] = [(letters, a, b, items[first][3], K_WORD)]
    return items


def _normalize_general(text: str, phrase: bool = False) -> NormalizedText:
    items, number_pass = _scan(text, phrase)
    items = _ref_merge_spelled(text, items)
    return _build(text, convert_numbers(items))


def normalize(text: str) -> NormalizedText:
    """Build the normalized view of ``text`` (see the module docstring for the rules). Never raises for
    any ``str``; non-``str`` input is coerced with ``str()``."""
    if not isinstance(text, str):
        text = str(text)
    folded, source = _ref_fold(text)
    nt = _normalize_general(folded)
    nt.original = text
    nt.orig_starts = [source[s] for s in nt.orig_starts]
    nt.orig_ends = [source[e - 1] + 1 for e in nt.orig_ends]
    return nt


def normalize_phrase(phrase: str) -> str:
    """Normalize a rule phrase with the same rules; ``{variable}`` placeholders and ``*`` stay single
    tokens, verbatim."""
    if not isinstance(phrase, str):
        phrase = str(phrase)
    return _normalize_general(_ref_fold(phrase)[0], phrase=True).text
