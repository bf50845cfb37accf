"""Number words for the normalized view: tables, the compound-number parser, and the digit-run pass.

This module works on the *item* stream produced by :mod:`reference_gate.text.normalize`: each item is a tuple
``(text, orig_start, orig_end, gap, kind)`` where ``gap`` classifies the original characters between the
previous item and this one (:data:`GAP_WS` whitespace only / nothing, :data:`GAP_HYPHEN` hyphens and
whitespace, :data:`GAP_OTHER` anything else, e.g. a comma) and ``kind`` is one of :data:`K_WORD`,
:data:`K_DIGITS`, :data:`K_DECIMAL`, :data:`K_PLACEHOLDER`.

Rules (see :func:`convert_numbers`):

* **Fillers** ("uh", "um", …) are removed first; the gap they leave is the widest of the gaps around them, so
  ``four one uh one one`` still reads as one digit run.
* **Digit items** are: a written run of ASCII digits; ``zero`` … ``nine`` and ``niner`` (unless followed by
  ``hundred`` / ``thousand`` / ``million`` / ``billion``, which makes them part of a compound); ``oh`` / ``o`` /
  ``nought`` / ``naught`` (zero); and
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

from __future__ import annotations

from operator import itemgetter

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
    "niner": 9,  # radiotelephony (ICAO) pronunciation
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


def convert_numbers(items: list[Item]) -> list[Item]:
    """Drop fillers, convert number words, merge digit runs. Returns ``(text, start, end, gap, kind)`` items
    (untouched items are passed through as they are; the gap of a produced item is not meaningful)."""
    # 1. fillers out, carrying the widest gap forward (most turns have none: skip the copy then)
    if FILLERS.isdisjoint(map(itemgetter(0), items)):
        cleaned = items
    else:
        cleaned = []
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
    out: list[Item] = []
    append = out.append
    number_words = NUMBER_PASS_WORDS
    n = len(cleaned)
    i = 0
    while i < n:
        it = cleaned[i]
        kind = it[4]
        if kind == K_DIGITS or (kind == K_WORD and it[0] in number_words):
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
                    out.extend(cleaned[i:j])
                else:
                    append(("".join(parts), it[1], cleaned[j - 1][2], GAP_WS, K_DIGITS))
                i = j
                continue
            if kind == K_WORD and it[0] in COMPOUND_WORDS:
                value, j = _parse_compound(cleaned, i, n)
                append((str(value), it[1], cleaned[j - 1][2], GAP_WS, K_DIGITS))
                i = j
                continue
        append(it)
        i += 1
    return out
