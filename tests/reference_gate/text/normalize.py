"""The normalized view of a turn: the text Trace matches phrases, patterns and detectors against.

Every normalized token remembers the span of original characters it came from, so a match found in the
normalized text maps back exactly to the characters a redaction must cut.

Rules (deterministic, linear time, never raise):

0. **Unicode folding** (:mod:`reference_gate.text.fold`, non-ASCII text only): invisible format characters
   (zero-width, soft hyphen, bidi controls, BOM…) dropped; compatibility forms (fullwidth, mathematical
   alphanumerics, no-break space…) and every Unicode decimal digit made ASCII; combining marks dropped;
   confusable letters (Cyrillic ``е``…) replaced by their ASCII skeleton in words made only of such letters and
   ASCII. Tokens are read from the folded text; their spans are mapped back to the original characters.
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
5. **Spelled words**: three or more single letters, each a word of its own, separated all by spaces or all by
   the same one of ``- . _ * / | + ~ · •`` become one word spanning them (``g u a r a n t e e d``, ``g.u.a.r.a.n.t.e.e.d``,
   ``s a m at …`` → ``sam at …``, ``U.S.A.`` → ``usa``), except a run of ``o`` only (zeros between digits).
   **Fillers** ``uh um uhm umm er erm ah hmm hm mm`` are removed; they never break a phrase or a digit run.
6. **Numbers** (see :mod:`reference_gate.text.numbers`): ``zero``–``nine`` (and ``niner``) are digits; whitespace-adjacent
   digit words merge into one digit token, also with an adjacent written group (``four one one one`` →
   ``4111``, ``4111 one one`` → ``411111``), but two written groups stay apart (``4111 1111``); ``oh``/``o`` is ``0`` only inside such a run; ``double five`` → ``55``,
   ``triple seven`` → ``777``; compounds are their own token (``twenty five`` → ``25``,
   ``two thousand twenty four`` → ``2024``). Punctuation (comma, dash, dot) ends a digit run.

Phrases in rule packs go through the same rules (:func:`normalize_phrase`), except that ``{variable}``
placeholders and ``*`` gap tokens pass through untouched as single tokens.

Fast paths (all produce exactly what the general path would; ``tests/test_normalize_equivalence.py`` checks
them against a frozen copy of the original implementation):

* :func:`_ascii_fast` — ASCII text with no ``. , _`` between two word characters, no spelled word and no
  number word or filler: one ``re.split`` yields words and offsets in C; contractions and ``$ % @`` are spliced in.
* :func:`_ascii_items` — the same ASCII shape with number words/fillers: one loop over that split builds the
  items for :func:`~reference_gate.text.numbers.convert_numbers`.
* :func:`_fast` — plain prose only (no digit, ``$ % @ _``, apostrophe, inner dot or rewritten word); kept as
  the documented plain-prose contract, :func:`_ascii_fast` covers it in :func:`normalize`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from operator import add, itemgetter

from reference_gate.text.fold import fold
from reference_gate.text.numbers import (
    GAP_HYPHEN,
    GAP_OTHER,
    GAP_WS,
    K_DECIMAL,
    K_DIGITS,
    K_PLACEHOLDER,
    K_WORD,
    NUMBER_PASS_WORDS,
    convert_numbers,
)

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
# :func:`_ascii_fast`: splitting on the same words (captured) gives gap, word, gap, …, gap in C; the running
# sum of their lengths gives every word's offsets
_ASCII_SPLIT_RE = re.compile(r"([a-z0-9]++(?:'[a-z0-9]++)*+|[$%@])")
# ". , _" between two word characters (decimals, thousands, e-mails, "dot"/"underscore": the general path);
# led by the rare character class so the regex engine skips ahead fast
_ASCII_INNER_SEP_RE = re.compile(r"[.,_](?<=[a-z0-9][.,_])(?=[a-z0-9])")
_NUMBER_PASS_WORDS = NUMBER_PASS_WORDS
_LETTER_END = r"(?![^\W_]|['\u2019\u2018\u02bc])"
#: A word spelled out letter by letter: three or more single ASCII letters, each a whole word, separated all by
#: spaces or all by the same one of ``- . _ * / | + ~ · •`` (spaces around it allowed): "g u a r a n t e e d",
#: "g.u.a.r.a.n.t.e.e.d", "s-a-m", "c . v . v", "U.S.A."; "a-c-t n-o-w" is two words. Letters joined by an
#: apostrophe ("i'm") are words of their own, not spelled letters.
SPELLED_RE = re.compile(
    r"(?<![^\W_])(?<!['\u2019\u2018\u02bc])[a-zA-Z](?:"
    r"(?:[^\S\n]+[a-zA-Z]" + _LETTER_END + r"){2,}"
    r"|[^\S\n]*([-._*/|+~\u00b7\u2022])[^\S\n]*[a-zA-Z]" + _LETTER_END
    + r"(?:[^\S\n]*\1[^\S\n]*[a-zA-Z]" + _LETTER_END + r")+)"
)
_NO_APOS_CONTRACTIONS: frozenset[str] = frozenset(k for k in CONTRACTIONS if "'" not in k)
_SPLICE_TOKENS: frozenset[str] = _NO_APOS_CONTRACTIONS | {"$", "%", "@"}
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
    #: set only when folding changed the text (:func:`~reference_gate.text.fold.fold`): the folded text the tokens
    #: were read from, the tokens' starts and ends in it, and for each folded character its original index
    #: (``None`` when folding kept every character in its place). See
    #: :attr:`folded`, :attr:`folded_starts`, :attr:`folded_ends`, :meth:`folded_to_original`.
    fold: tuple[str, list[int], list[int], list[int] | None] | None = None
    #: per-view scratch space for consumers that derive data from the view once (the detectors' digit flags)
    cache: dict | None = None

    @property
    def folded(self) -> str:
        """The text the tokens were read from: ``original`` unless folding changed it. Detectors that look at the
        characters between tokens read this, with :attr:`folded_starts` / :attr:`folded_ends`."""
        f = self.fold
        return self.original if f is None else f[0]

    @property
    def folded_starts(self) -> list[int]:
        f = self.fold
        return self.orig_starts if f is None else f[1]

    @property
    def folded_ends(self) -> list[int]:
        f = self.fold
        return self.orig_ends if f is None else f[2]

    def folded_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original ``(start, end)`` of the folded characters ``folded[start:end]`` (``end > start``)."""
        f = self.fold
        m = None if f is None else f[3]
        if m is None:
            return (start, end)
        return (m[start], m[end - 1] + 1)

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
    # token i starts after the i earlier tokens and their i separating spaces; all of it runs in C
    return list(map(add, accumulate(map(len, tokens), initial=0), range(len(tokens))))


def _build(original: str, toks: list[tuple]) -> NormalizedText:
    """``toks`` are ``(text, start, end, …, kind)`` tuples (the kind is always last; all of one length)."""
    if not toks:
        return NormalizedText(original, "", [], [], [], [], [])
    # transpose once in C instead of one list comprehension per field
    cols = list(zip(*toks, strict=True))  # every item has the same length
    tokens = list(cols[0])
    return NormalizedText(
        original,
        " ".join(tokens),
        tokens,
        _norm_starts(tokens),
        list(cols[1]),
        list(cols[2]),
        list(map(K_DIGITS.__eq__, cols[-1])),
    )


def _fast(text: str) -> NormalizedText | None:
    """Single-scan path for plain ASCII prose; ``None`` when the general path is needed."""
    if not text.isascii():
        return None
    low = text.lower()
    if _FAST_SPECIAL_RE.search(low) is not None or SPELLED_RE.search(low) is not None:
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


def _ascii_fast(text: str, low: str) -> NormalizedText:
    """ASCII text (``low`` is it lower-cased) without ``. , _`` between two word characters (a spelled word hands
    over to the general path), with almost no
    per-character Python work: one ``re.split`` gives the words and their offsets in C; contractions and
    ``$ % @`` are spliced in afterwards. Text with a number word or filler goes through :func:`_ascii_items`
    and the number pass instead, reusing the split.

    Equivalent to the general path because each ``_CHUNK`` is then exactly one ``[a-z0-9]+('[a-z0-9]+)*``
    word, and with no number/filler word :func:`convert_numbers` is the identity (gaps do not matter)."""
    parts = _ASCII_SPLIT_RE.split(low)  # gap0, word0, gap1, word1, …, gapN
    tokens = parts[1::2]
    # a spelled word is three single-letter words in a row: look for it only when there are three single
    # characters at all (counted in C)
    if list(map(len, tokens)).count(1) >= 3 and SPELLED_RE.search(low) is not None:
        return _normalize_general(text)
    pos = list(accumulate(map(len, parts)))  # pos[2k] = start of word k, pos[2k+1] = its end
    starts = pos[0:-1:2]
    ends = pos[1::2]
    if not _NUMBER_PASS_WORDS.isdisjoint(tokens):
        return _ascii_numbers(text, parts, starts, ends)
    if "'" in low or not _SPLICE_TOKENS.isdisjoint(tokens):
        todo = [i for i, t in enumerate(tokens) if "'" in t or t in _SPLICE_TOKENS]
        nt: list[str] = []
        ns: list[int] = []
        ne: list[int] = []
        prev = 0
        n = len(tokens)
        for i in todo:
            if i < prev:  # the digits after a "$", already consumed
                continue
            t = tokens[i]
            s = starts[i]
            e = ends[i]
            last = i
            if t == "$":
                j = i + 1
                if j < n and tokens[j].isdigit() and (not parts[2 * j] or parts[2 * j].isspace()):
                    # "$12" / "$ 12" reads "12 dollars", both tokens spanning "$12"
                    exp: tuple[str, ...] | None = (tokens[j], "dollars")
                    e = ends[j]
                    last = j
                elif j < n and "'" in tokens[j]:
                    # "$45's": which item count the "$" sees depends on the expansion
                    return _ascii_numbers(text, parts, pos[0:-1:2], pos[1::2])
                else:
                    exp = ("dollars",)
            elif t == "%":
                exp = ("percent",)
            elif t == "@":
                exp = ("at",)
            else:
                exp = _expand(t)
                if exp is None:
                    continue
                if not _NUMBER_PASS_WORDS.isdisjoint(exp):  # "one's" -> "one": the number pass decides
                    return _ascii_numbers(text, parts, pos[0:-1:2], pos[1::2])
            nt += tokens[prev:i]
            ns += starts[prev:i]
            ne += ends[prev:i]
            nt += exp
            ns += [s] * len(exp)
            ne += [e] * len(exp)
            prev = last + 1
        if prev:
            tokens = nt + tokens[prev:]
            starts = ns + starts[prev:]
            ends = ne + ends[prev:]
    return NormalizedText(
        text,
        " ".join(tokens),
        tokens,
        _norm_starts(tokens),
        starts,
        ends,
        list(map(str.isdigit, tokens)),  # ASCII tokens: digits-only means a digit token
    )


def _expand(w: str) -> tuple[str, ...] | None:
    """Contraction expansion of a lower-cased word (``None``: keep it), exactly as :func:`_add_word`."""
    exp = CONTRACTIONS.get(w)
    if exp is None and "'" in w:
        for suf, repl in _GENERIC_SUFFIXES:
            if w.endswith(suf) and len(w) > len(suf):
                base = w[: -len(suf)]
                if "'" in base:
                    break
                exp = (base,) if repl is None else (base, repl)
                break
    return exp


def _ascii_numbers(text: str, parts: list[str], starts: list[int], ends: list[int]) -> NormalizedText:
    items, number_pass = _ascii_items(parts, starts, ends)
    return _build(text, convert_numbers(items) if number_pass else items)


def _ascii_items(parts: list[str], starts: list[int], ends: list[int]) -> tuple[list, bool]:
    """Items for the text shape of :func:`_ascii_fast` (words of letters/digits joined only by apostrophes,
    ``$ % @``), from its split ``parts`` (gap, word, …) and word offsets: no regex, no per-chunk helpers.

    Returns exactly the items :func:`_scan` would, and
    whether the number pass has anything to do: only a number word, ``oh``/``o``, a repeater or a filler can
    change anything there (written digit groups never merge with each other), so unlike :func:`_scan` the
    flag is not raised for digits or punctuation, where :func:`convert_numbers` copies the items unchanged."""
    items: list = []
    append = items.append
    contractions = CONTRACTIONS
    number_words = NUMBER_PASS_WORDS
    number_pass = False
    dollar = -1  # start of a pending "$"
    dgap = 0
    for g, w, s, e in zip(parts[0:-1:2], parts[1::2], starts, ends, strict=True):
        # gap classification, as in _scan/_gap (most gaps are one space)
        if g == " " or not g or g.isspace():
            gap = GAP_WS
        elif _HYPHEN_GAP_RE.fullmatch(g):
            gap = GAP_HYPHEN
        else:
            gap = GAP_OTHER
        c = w[0]
        if c == "$":
            if dollar >= 0:
                append(("dollars", dollar, dollar + 1, dgap, K_WORD))
            dollar = s
            dgap = gap
            continue
        mark = len(items)
        if c == "%":
            append(("percent", s, e, gap, K_WORD))
        elif c == "@":
            append(("at", s, e, gap, K_WORD))
        elif w.isdigit():
            append((w, s, e, gap, K_DIGITS))
        else:
            exp = contractions.get(w) if "'" not in w else _expand(w)
            if exp is None:
                append((w, s, e, gap, K_WORD))
                if w in number_words:
                    number_pass = True
            else:
                g = gap
                for part in exp:
                    if part.isdigit():  # "90's" -> "90"
                        append((part, s, e, g, K_DIGITS))
                    else:
                        append((part, s, e, g, K_WORD))
                        if part in number_words:  # "one's" -> "one"
                            number_pass = True
                    g = GAP_WS
        if dollar >= 0:
            # "$12" reads "12 dollars", both tokens spanning "$12"; otherwise "dollars" goes first
            if len(items) == mark + 1 and items[mark][4] == K_DIGITS and items[mark][3] == GAP_WS:
                items[mark] = (items[mark][0], dollar, e, dgap, K_DIGITS)
                append(("dollars", dollar, e, GAP_WS, K_WORD))
            else:
                items.insert(mark, ("dollars", dollar, dollar + 1, dgap, K_WORD))
            dollar = -1
    if dollar >= 0:
        append(("dollars", dollar, dollar + 1, dgap, K_WORD))
    return items, number_pass


def _merge_spelled(text: str, items: list) -> list:
    """Replace the items of each spelled-out word (:data:`SPELLED_RE`) with one word item spanning it."""
    out: list = []
    k = 0
    n = len(items)
    for m in SPELLED_RE.finditer(text):
        a, b = m.span()
        word = m.group()
        letters = "".join(ch for ch in word if ch.isalpha()).lower()
        if letters.strip("o") == "":
            continue  # "o o o": zeros between digits ("one o o o five"), not a word
        while k < n and items[k][1] < a:
            out.append(items[k])
            k += 1
        gap = items[k][3] if k < n else GAP_WS
        while k < n and items[k][2] <= b:
            k += 1
        out.append((letters, a, b, gap, K_WORD))
    out.extend(items[k:])
    return out


def _normalize_general(text: str, phrase: bool = False) -> NormalizedText:
    items, number_pass = _scan(text, phrase)
    if SPELLED_RE.search(text) is not None:
        items = _merge_spelled(text, items)
        number_pass = True  # a spelled word may be a number word ("t w o"); checked exactly below
    # _scan's flag is conservative; the number pass only changes anything when some item is a number word,
    # ``oh``/``o``, a repeater or a filler (written digit groups never merge with each other), so check that
    # exactly, in C, before paying for the pass
    if number_pass and not _NUMBER_PASS_WORDS.isdisjoint(map(itemgetter(0), items)):
        items = convert_numbers(items)
    return _build(text, items)


def _unfold(nt: NormalizedText, original: str, source: list[int] | None) -> NormalizedText:
    """``nt`` was built over the folded text: keep its folded offsets, map token spans to ``original``
    (``source`` ``None``: the folded text kept the original's offsets)."""
    if source is None:
        starts, ends = nt.orig_starts, nt.orig_ends
    else:
        starts = [source[s] for s in nt.orig_starts]
        ends = [source[e - 1] + 1 for e in nt.orig_ends]
    return NormalizedText(
        original,
        nt.text,
        nt.tokens,
        nt.norm_starts,
        starts,
        ends,
        nt.is_digits,
        (nt.original, nt.orig_starts, nt.orig_ends, source),
    )


def normalize(text: str) -> NormalizedText:
    """Build the normalized view of ``text`` (see the module docstring for the rules). Never raises for
    any ``str``; non-``str`` input is coerced with ``str()``."""
    if not isinstance(text, str):
        text = str(text)
    if text.isascii():
        low = text.lower()  # ASCII: same length, same offsets
        if _ASCII_INNER_SEP_RE.search(low) is None:
            return _ascii_fast(text, low)
        return _normalize_general(text)
    folded, source = fold(text)
    if folded is text:
        return _normalize_general(text)
    return _unfold(_normalize_general(folded), text, source)


def normalize_phrase(phrase: str) -> str:
    """Normalize a rule phrase with the same rules; ``{variable}`` placeholders and ``*`` stay single
    tokens, verbatim."""
    if not isinstance(phrase, str):
        phrase = str(phrase)
    return _normalize_general(fold(phrase)[0], phrase=True).text
