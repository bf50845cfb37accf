"""Built-in PII detectors over the normalized view's token stream.

Detectors read tokens, not characters, so written and spoken forms are found alike ("4111-1111-…",
"four one one one, …", "jane dot doe at example dot com"). Every hit carries ORIGINAL offsets (through the
tokens' original spans) and a canonical value. Each detector runs independently and in linear time; callers
decide what to do about overlaps between kinds.

Numeric detectors look at *digit runs*: maximal sequences of consecutive digit tokens in the normalized view
(fillers are already gone; punctuation between the tokens is allowed: "(415) 555-0198"). A token is *written*
when its original text has no letters ("415", "1,000") and *spoken* when number words went into it ("four
one five" → "415"); the original text between two tokens (their original spans) tells a comma from a space.

* **Segments.** A run is cut where two written groups are separated by a comma or sentence punctuation
  (``, ; ! ?``, or ``. :`` before a space): "open 9 to 5, 415-555-0132", "4175, 42151 Blacow Road". Spoken
  groups are never cut, because speech-to-text puts commas between them ("four one five, five five five, zero
  one nine eight" is one phone number).
* **Windows.** ``ssn``, ``aba_routing`` and ``us_phone`` look for their number as a window of consecutive
  whole tokens inside a segment (never cutting a token), so two numbers side by side are both found
  ("078-05-1121 078-05-1121"). A written window that continues into a neighbouring written group through a
  dash, dot or slash with no space ("2-415-555-0198", "123-45-6789-01") is part of a longer number and is
  skipped. Among overlapping valid windows the longest wins, then the leftmost.
* **Groupings.** Spoken digits merge into one token, so a window containing a spoken token may be grouped
  any way. A window of written groups must be grouped like the number it claims to be: SSN 3-2-4 or 9
  ungrouped digits (other groupings only with "ssn"/"social" among the 4 tokens before it: "my ssn is
  078-051121"); phone 3-3-4, 3-7 or 10 ungrouped, optionally after a ``1`` group (``1-800-555-0199``), or 11
  ungrouped starting with 1; ABA routing number 9 ungrouped, 4-4-1 (``3222-7162-7``) or 3-3-3. Digits
  dictated one by one and transcribed as numerals ("2 1 9, 4 4, 3 3 2 1": two or more single digits
  separated by spaces) count as spoken.
* **International numbers.** A window that starts after a ``+`` country code in its segment ("+61 2 9265
  8888", "+91 4155550132") is part of an international number and is skipped (with ``+1`` the window that
  starts at the code is the US number).

* ``credit_card``: 13–19 digits formed by consecutive whole tokens of a run, Luhn-valid. Candidate windows
  are aligned to token boundaries (a card is never cut out of the middle of a token); the longest valid window
  wins, then the leftmost, and chosen windows never overlap. A run that is longer than the card (an expiry
  date spoken right after it) still yields the card. There is deliberately no issuer (IIN) prefix table:
  issuer ranges are reassigned and extended over time (Mastercard's 2-series, 8-digit IINs), a stale table
  silently misses real cards, and Luhn plus length is the PCI DSS guidance for cardholder-data discovery.
* ``ssn``: a window of exactly 9 digits (grouping above), with area not 000/666/900–999, group not 00,
  serial not 0000, and not a well-known fake (078-05-1120, 219-09-9999). A 9-digit window that is a valid ABA
  routing number and has "routing" or "aba" among the 3 tokens before it is not reported as an SSN.
* ``aba_routing``: a window of exactly 9 digits passing the ABA checksum with a valid prefix (00–12, 21–32,
  61–72, 80). No context word is required.
* ``us_phone``: a window of 10 digits, or 11 starting with the country code 1; NANP-valid (area and exchange
  start 2–9, area not N11). Value: the 10 digits.
* ``email``: ``LOCAL at DOMAIN``. Written (the ``at`` came from ``@``): the local part and domain are the
  tokens glued to it in the original (no whitespace between them; ``.``, ``_``, ``-`` and ``+`` inside
  allowed); value is the original text, lower-cased. A written ``@`` glued on both sides is strong evidence,
  so the domain may end in any TLD of two or more letters or a punycode label (``jane@example.de``,
  ``info@presidio.site``, ``a@xn--d1acufc.xn--p1ai``); it ends at its last built-in, two-letter or punycode
  TLD when it has one (``bob@example.com.Thanks`` → ``bob@example.com``). Spoken: the local part is 1–3
  labels joined by ``dot`` / ``underscore`` / ``dash``, ending right before ``at``; a single-label local part
  that is a function word (``me``, ``us``, ``him``, …) is rejected, and the domain is labels joined by
  ``dot`` cut at its last built-in TLD (:data:`TLDS`, no network, no public-suffix list), because in speech
  the TLD is the only evidence.
* ``mbi``: Medicare Beneficiary Identifier, 11 characters ``C A AN N A AN N A A N N``. Candidate tokens are
  single letters, digit tokens, and short letter+digit mixes ("1eg4"); consecutive candidates are
  concatenated and every 11-character window that starts and ends on a token boundary — or inside a digit
  token, since spoken digits merge ("seven three" → "73") — is checked. Value: upper case, no separators.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from trace_engine.text.normalize import NormalizedText

__all__ = [
    "DetectorHit",
    "detect",
    "detect_all",
    "DETECTORS",
    "TLDS",
    "luhn_ok",
    "ssn_ok",
    "nanp_ok",
    "aba_ok",
    "mbi_ok",
    "canonical_exempt",
]


@dataclass(frozen=True, slots=True)
class DetectorHit:
    """One detector finding. ``start``/``end`` are offsets in the ORIGINAL text; ``value`` is canonical."""

    kind: str
    start: int
    end: int
    value: str


# ------------------------------------------------------------------------------------------- validators

_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_ok(digits: str) -> bool:
    """Luhn checksum over an ASCII digit string (False for anything else or fewer than 2 digits)."""
    if len(digits) < 2 or not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += _LUHN_DOUBLE[d] if k & 1 else d
    return total % 10 == 0


_FAKE_SSNS = frozenset({"078051120", "219099999"})


def ssn_ok(d: str) -> bool:
    """A 9-digit SSN: area not 000/666/9xx, group not 00, serial not 0000, not a well-known fake."""
    if len(d) != 9 or not (d.isascii() and d.isdigit()):
        return False
    area, group, serial = d[:3], d[3:5], d[5:]
    if area == "000" or area == "666" or area[0] == "9":
        return False
    if group == "00" or serial == "0000":
        return False
    return d not in _FAKE_SSNS


def nanp_ok(d10: str) -> bool:
    """A 10-digit NANP number: area NXX and exchange NXX with N = 2–9; area code not N11 (911, 411, …)."""
    if len(d10) != 10 or not (d10.isascii() and d10.isdigit()):
        return False
    if d10[0] < "2" or d10[3] < "2":
        return False
    return d10[1:3] != "11"


def _aba_prefix_ok(p: int) -> bool:
    return 0 <= p <= 12 or 21 <= p <= 32 or 61 <= p <= 72 or p == 80


def aba_ok(d9: str) -> bool:
    """ABA routing number: 9 digits, 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10), valid prefix."""
    if len(d9) != 9 or not (d9.isascii() and d9.isdigit()):
        return False
    if not _aba_prefix_ok(int(d9[:2])):
        return False
    v = [ord(c) - 48 for c in d9]
    s = 3 * (v[0] + v[3] + v[6]) + 7 * (v[1] + v[4] + v[7]) + (v[2] + v[5] + v[8])
    return s % 10 == 0


_MBI_A = "ACDEFGHJKMNPQRTUVWXY"
_MBI_RE = re.compile(
    r"[1-9][{A}][{A}0-9][0-9][{A}][{A}0-9][0-9][{A}][{A}][0-9][0-9]".format(A=_MBI_A)  # noqa: UP032
)


def mbi_ok(s: str) -> bool:
    """Medicare Beneficiary Identifier format (11 characters, separators not allowed; case-insensitive)."""
    if len(s) != 11 or not s.isascii():
        return False
    return _MBI_RE.fullmatch(s.upper()) is not None


# ------------------------------------------------------------------------------------------- helpers


def _digit_runs(nt: NormalizedText) -> list[tuple[int, int]]:
    """Maximal runs ``(i, j)`` (inclusive) of consecutive digit tokens."""
    runs: list[tuple[int, int]] = []
    flags = nt.is_digits
    if True not in flags:
        return runs
    n = len(flags)
    i = flags.index(True)
    while True:
        j = i
        while j + 1 < n and flags[j + 1]:
            j += 1
        runs.append((i, j))
        try:
            i = flags.index(True, j + 1)
        except ValueError:
            return runs


def canonical_exempt(kind: str, values: Iterable[str]) -> frozenset[str]:
    """Canonicalize exempt values for ``kind`` (digits only for numbers, 10 digits for phones, lower-case
    e-mail, upper-case MBI without separators). Unusable entries are dropped."""
    out = set()
    for v in values:
        if not isinstance(v, str):
            v = str(v)
        if kind == "email":
            out.add(v.strip().casefold())
        elif kind == "mbi":
            out.add("".join(ch for ch in v if ch.isascii() and ch.isalnum()).upper())
        else:
            d = "".join(ch for ch in v if "0" <= ch <= "9")
            if kind == "us_phone" and len(d) == 11 and d[0] == "1":
                d = d[1:]
            if d:
                out.add(d)
    return frozenset(out)


def _hit(kind: str, nt: NormalizedText, i: int, j: int, value: str) -> DetectorHit:
    return DetectorHit(kind, nt.orig_starts[i], nt.orig_ends[j], value)


# ------------------------------------------------------------------------------------------- numeric


def _credit_card(nt: NormalizedText, exempt: frozenset[str]) -> list[DetectorHit]:
    """Luhn-valid windows of 13-19 digits. Deliberately no issuer (IIN) prefix table: issuer ranges change
    (Mastercard's 2-series, the move to 8-digit IINs) and a stale table silently misses real cards, while
    Luhn plus length is PCI's own guidance for discovering cardholder data. The cost is the occasional
    Luhn-valid number that no issuer uses ("1748503543012")."""
    toks = nt.tokens
    cands: list[tuple[int, int, int, str]] = []  # (-len, i, j, digits)
    for ri, rj in _digit_runs(nt):
        for a in range(ri, rj + 1):
            # incremental Luhn: s_even doubles digits at even left positions, s_odd at odd ones
            s_even = s_odd = 0
            pos = 0
            b = a
            while b <= rj and pos + len(toks[b]) <= 19:
                for ch in toks[b]:
                    d = ord(ch) - 48
                    if pos & 1:
                        s_even += d
                        s_odd += _LUHN_DOUBLE[d]
                    else:
                        s_even += _LUHN_DOUBLE[d]
                        s_odd += d
                    pos += 1
                if pos >= 13:
                    # the rightmost digit (left position pos-1) is undoubled, so for a window of even
                    # length the even left positions are doubled (s_even), for odd length the odd ones
                    total = s_even if (pos & 1) == 0 else s_odd
                    if total % 10 == 0:
                        digits = "".join(toks[a : b + 1])
                        if digits not in exempt:
                            cands.append((-pos, a, b, digits))
                b += 1
    if not cands:
        return []
    cands.sort()
    used: set[int] = set()
    hits = []
    for _neg, a, b, digits in cands:
        if any(k in used for k in range(a, b + 1)):
            continue
        used.update(range(a, b + 1))
        hits.append(_hit("credit_card", nt, a, b, digits))
    hits.sort(key=lambda h: h.start)
    return hits


_BREAK_RE = re.compile(r"[,;!?]|[.:]\s")
_TIGHT_RE = re.compile(r"[-./\u2010-\u2015]+")


def _is_written(nt: NormalizedText, k: int) -> bool:
    """Digit token ``k`` was written with digits (no number word merged into it)."""
    for ch in nt.original[nt.orig_starts[k] : nt.orig_ends[k]]:
        if ch.isalpha():
            return False
    return True


def _segments(nt: NormalizedText) -> Iterable[tuple[int, int, list[bool]]]:
    """Digit runs cut where two WRITTEN digit groups are separated by a comma or sentence punctuation
    (``, ; ! ?`` or ``. :`` followed by a space). Spoken digits are never cut: speech-to-text puts commas
    between spoken groups ("four one five, five five five, …"). Digits dictated one by one and transcribed
    as numerals ("2 1 9, 4 4, 3 3 2 1": two or more single digits separated by spaces) count as spoken.
    Yields ``(i, j, written)`` with ``written[k - i]`` telling whether token ``k`` counts as written."""
    original, starts, ends, toks = nt.original, nt.orig_starts, nt.orig_ends, nt.tokens
    for ri, rj in _digit_runs(nt):
        written = [_is_written(nt, k) for k in range(ri, rj + 1)]
        dictated = [
            k
            for k in range(ri, rj)
            if len(toks[k]) == 1
            and len(toks[k + 1]) == 1
            and written[k - ri]
            and written[k + 1 - ri]
            and original[ends[k] : starts[k + 1]].isspace()
        ]
        for k in dictated:
            written[k - ri] = written[k + 1 - ri] = False
        a = ri
        for k in range(ri, rj):
            if (
                written[k - ri]
                and written[k + 1 - ri]
                and _BREAK_RE.search(original, ends[k], starts[k + 1]) is not None
            ):
                yield a, k, written[a - ri : k + 1 - ri]
                a = k + 1
        yield a, rj, written[a - ri :]


def _tight(nt: NormalizedText, k: int) -> bool:
    """Digit tokens ``k`` and ``k + 1`` are joined by a dash, dot or slash with no space around it."""
    return _TIGHT_RE.fullmatch(nt.original, nt.orig_ends[k], nt.orig_starts[k + 1]) is not None


def _windows(
    nt: NormalizedText, lengths: frozenset[int]
) -> Iterable[tuple[int, int, str, tuple[int, ...] | None]]:
    """Candidate numbers: windows ``(a, b, digits, grouping)`` of consecutive whole digit tokens of one
    segment (:func:`_segments`) whose digit count is in ``lengths``. ``grouping`` is the tuple of token
    lengths when every token of the window was written with digits, else ``None`` (spoken digits merge, so
    their grouping says nothing). A written window that continues into a neighbouring written group through
    a dash, dot or slash ("2-415-555-0198", "123-45-6789-01") is part of a longer number and is skipped, and so
    is a window that starts after a ``+`` country code of its segment ("+61 2 9265 8888", "+44 4155550132"):
    an international number (with ``+1`` the window starting at the code is the number)."""
    toks = nt.tokens
    original, starts = nt.original, nt.orig_starts
    longest = max(lengths)
    for si, sj, written in _segments(nt):
        after_plus = False
        for a in range(si, sj + 1):
            if a > si and starts[a - 1] > 0 and original[starts[a - 1] - 1] == "+":
                after_plus = True
            if after_plus:
                break
            if a > si and written[a - si] and written[a - 1 - si] and _tight(nt, a - 1):
                continue
            total = 0
            for b in range(a, sj + 1):
                total += len(toks[b])
                if total > longest:
                    break
                if total not in lengths:
                    continue
                if b < sj and written[b - si] and written[b + 1 - si] and _tight(nt, b):
                    continue
                all_written = all(written[a - si : b + 1 - si])
                grouping = tuple(len(toks[k]) for k in range(a, b + 1)) if all_written else None
                yield a, b, "".join(toks[a : b + 1]), grouping


def _pick(cands: list[tuple[int, int, int, str]]) -> list[tuple[int, int, str]]:
    """Non-overlapping candidates ``(-length, a, b, value)``: longest first, then leftmost; in text order."""
    cands.sort()
    used: set[int] = set()
    out = []
    for _neg, a, b, value in cands:
        if any(k in used for k in range(a, b + 1)):
            continue
        used.update(range(a, b + 1))
        out.append((a, b, value))
    out.sort()
    return out


_ROUTING_CONTEXT = frozenset({"routing", "aba"})
_SSN_CONTEXT = frozenset({"ssn", "ssns", "social"})
_SSN_GROUPINGS = frozenset({(9,), (3, 2, 4)})


def _routing_context(nt: NormalizedText, i: int) -> bool:
    return any(t in _ROUTING_CONTEXT for t in nt.tokens[max(0, i - 3) : i])


def _ssn_context(nt: NormalizedText, i: int) -> bool:
    return any(t in _SSN_CONTEXT for t in nt.tokens[max(0, i - 4) : i])


_NINE = frozenset({9})


def _ssn(nt: NormalizedText, exempt: frozenset[str]) -> list[DetectorHit]:
    cands = []
    for a, b, d, grouping in _windows(nt, _NINE):
        if grouping is not None and grouping not in _SSN_GROUPINGS and not _ssn_context(nt, a):
            continue  # a written 9-digit number grouped unlike an SSN ("1 40 62 05 00", "2 9298 3777")
        if ssn_ok(d):
            cands.append((-9, a, b, d))
    hits = []
    for a, b, d in _pick(cands):
        if d in exempt or (aba_ok(d) and _routing_context(nt, a)):
            continue
        hits.append(_hit("ssn", nt, a, b, d))
    return hits


_ABA_GROUPINGS = frozenset({(9,), (4, 4, 1), (3, 3, 3)})


def _aba_routing(nt: NormalizedText, exempt: frozenset[str]) -> list[DetectorHit]:
    cands = [
        (-9, a, b, d)
        for a, b, d, grouping in _windows(nt, _NINE)
        if (grouping is None or grouping in _ABA_GROUPINGS) and aba_ok(d)
    ]
    return [_hit("aba_routing", nt, a, b, d) for a, b, d in _pick(cands) if d not in exempt]


_PHONE_LENGTHS = frozenset({10, 11})
_PHONE_GROUPINGS = frozenset({(10,), (3, 3, 4), (3, 7)})


def _phone_grouping_ok(g: tuple[int, ...]) -> bool:
    if g == (11,):
        return True
    if g[0] == 1 and sum(g) == 11:
        g = g[1:]
    return g in _PHONE_GROUPINGS


def _us_phone(nt: NormalizedText, exempt: frozenset[str]) -> list[DetectorHit]:
    original = nt.original
    cands = []
    for a, b, d, grouping in _windows(nt, _PHONE_LENGTHS):
        if len(d) == 11:
            if d[0] != "1":
                continue
            d10 = d[1:]
        else:
            d10 = d
        if grouping is not None and not _phone_grouping_ok(grouping):
            continue  # a written number grouped unlike a US phone ("55 5395 4586")
        if nanp_ok(d10):
            cands.append((-len(d), a, b, d10))
    hits = []
    for a, b, d in _pick(cands):
        if d in exempt:
            continue
        start, end = nt.orig_starts[a], nt.orig_ends[b]
        # include a leading "+" ("+1 415…") or an opening parenthesis closed inside the hit ("(415) …")
        if start > 0:
            prev = original[start - 1]
            if prev == "+" or (prev == "(" and ")" in original[start:end]):
                start -= 1
        hits.append(DetectorHit("us_phone", start, end, d))
    return hits


# ------------------------------------------------------------------------------------------- email

TLDS: frozenset[str] = frozenset("com net org edu gov io co us uk ca info biz me ai app dev health".split())
_JOINERS = {"dot": ".", "underscore": "_", "dash": "-", "hyphen": "-"}
_LOCAL_STOP = frozenset(
    (
        "me us him her it look is here there email you them at this that i we they am are was were be "
        "mail reach call text write contact arrive arrived stay staying work works live lives home office "
        "back not"
    ).split()
)
_LABEL_RE = re.compile(r"[^\W_]+")


def _is_label(tok: str) -> bool:
    return tok not in _JOINERS and tok != "at" and _LABEL_RE.fullmatch(tok) is not None


_HYPHENS_RE = re.compile(r"-+")


def _glued(nt: NormalizedText, a: int, b: int) -> bool:
    """Tokens ``a`` and ``b = a + 1`` touch in the original (nothing between them but one ``+`` or hyphens:
    ``my-site``, ``name+tag``, the ``--`` of a punycode label ``xn--bcher-kva``)."""
    e, s = nt.orig_ends[a], nt.orig_starts[b]
    if s <= e:
        return True
    return (s == e + 1 and nt.original[e] == "+") or _HYPHENS_RE.fullmatch(nt.original, e, s) is not None


def _hyphenated(nt: NormalizedText, a: int) -> bool:
    """Tokens ``a`` and ``a + 1`` are joined by hyphens only (one written domain label)."""
    return _HYPHENS_RE.fullmatch(nt.original, nt.orig_ends[a], nt.orig_starts[a + 1]) is not None


_PUNYCODE_RE = re.compile(r"xn--[a-z0-9]+(?:-[a-z0-9]+)*")


def _written_domain(nt: NormalizedText, k: int) -> int:
    """Index of the last token of a WRITTEN domain glued to the ``@`` token ``k``, or -1.

    The domain is labels (tokens joined by hyphens) joined by glued dots. Any label after the first can end
    it: a *strong* TLD (a built-in one, any two-letter country code, a punycode ``xn--…`` label) or else a
    *generic* one (two or more letters: ``.site``, ``.online``). The domain ends at its last strong TLD, or
    at its last generic one when it has no strong one, so a sentence glued to the address
    (``bob@example.com.Thanks``) is left out."""
    toks = nt.tokens
    n = len(toks)
    j = k + 1
    if j >= n or not _is_label(toks[j]) or not _glued(nt, k, j):
        return -1
    strong = generic = -1
    first = True
    while True:
        a = j
        while j + 1 < n and _is_label(toks[j + 1]) and _hyphenated(nt, j):
            j += 1
        if not first:
            label = nt.original[nt.orig_starts[a] : nt.orig_ends[j]].casefold()
            if label in TLDS or (len(label) == 2 and label.isalpha()) or _PUNYCODE_RE.fullmatch(label):
                strong = j
            elif len(label) >= 2 and label.isalpha():
                generic = j
        first = False
        if (
            j + 2 < n
            and toks[j + 1] == "dot"
            and _is_label(toks[j + 2])
            and _glued(nt, j, j + 1)
            and _glued(nt, j + 1, j + 2)
        ):
            j += 2
        else:
            break
    return strong if strong >= 0 else generic


def _spoken_domain(nt: NormalizedText, k: int) -> int:
    """Index of the last (TLD) token of a spoken domain after the ``at`` token ``k``, or -1: labels joined by
    ``dot``, cut at the last built-in TLD (:data:`TLDS`; the TLD is the only evidence in speech)."""
    toks = nt.tokens
    n = len(toks)
    j = k + 1
    if j >= n or not _is_label(toks[j]):
        return -1
    best = -1
    while j + 2 < n and toks[j + 1] == "dot" and _is_label(toks[j + 2]):
        j += 2
        if toks[j] in TLDS:
            best = j
    return best


def _email(nt: NormalizedText, exempt: frozenset[str]) -> list[DetectorHit]:
    toks = nt.tokens
    hits: list[DetectorHit] = []
    last_end = -1
    for k, tok in enumerate(toks):
        if tok != "at" or k == 0 or k <= last_end:
            continue
        written = nt.original[nt.orig_starts[k] : nt.orig_ends[k]] == "@"
        end = _written_domain(nt, k) if written else _spoken_domain(nt, k)
        if end < 0:
            continue
        if written:
            i = k - 1
            if not _glued(nt, i, k) or not (_is_label(toks[i]) or toks[i].isdigit()):
                continue
            while i > 0 and _glued(nt, i - 1, i) and toks[i - 1] != "at":
                prev = toks[i - 1]
                if _is_label(prev):
                    i -= 1
                elif (
                    prev in ("dot", "underscore")
                    and i - 2 >= 0
                    and _is_label(toks[i - 2])
                    and _glued(nt, i - 2, i - 1)
                ):
                    i -= 2
                else:
                    break
            s, e = nt.orig_starts[i], nt.orig_ends[end]
            value = nt.original[s:e].casefold()
        else:
            i = k - 1
            if not _is_label(toks[i]):
                continue
            labels = 1
            while labels < 3 and i - 2 >= 0 and toks[i - 1] in _JOINERS and _is_label(toks[i - 2]):
                i -= 2
                labels += 1
            if labels == 1 and toks[i] in _LOCAL_STOP:
                continue
            local = "".join(_JOINERS.get(t, t) for t in toks[i:k])
            domain = "".join("." if t == "dot" else t for t in toks[k + 1 : end + 1])
            value = f"{local}@{domain}"
            s, e = nt.orig_starts[i], nt.orig_ends[end]
        if value in exempt:
            continue
        hits.append(DetectorHit("email", s, e, value))
        last_end = end
    return hits


# ------------------------------------------------------------------------------------------- mbi

_MBI_TOKEN_RE = re.compile(r"[a-z0-9]{1,11}")
_MBI_HINT_RE = re.compile(r"[1-9]")


def _mbi_candidate(tok: str, is_digits: bool) -> bool:
    """Single letters, digit tokens (any length: they are split back into characters) and short
    letter+digit mixes such as "1eg4"."""
    if is_digits:
        return True
    if len(tok) == 1:
        return "a" <= tok <= "z"
    if len(tok) > 11 or tok.isalpha():
        return False
    return _MBI_TOKEN_RE.fullmatch(tok) is not None


def _mbi(nt: NormalizedText, exempt: frozenset[str]) -> list[DetectorHit]:
    hits: list[DetectorHit] = []
    if _MBI_HINT_RE.search(nt.text) is None:  # an MBI starts with a digit 1-9
        return hits
    toks = nt.tokens
    flags = nt.is_digits
    n = len(toks)
    i = 0
    while i < n:
        if not _mbi_candidate(toks[i], flags[i]):
            i += 1
            continue
        j = i
        size = len(toks[i])
        while j + 1 < n and _mbi_candidate(toks[j + 1], flags[j + 1]):
            j += 1
            size += len(toks[j])
        if size < 11:
            i = j + 1
            continue
        # the run i..j: concatenate, remembering token of each char and the allowed boundaries
        chars: list[str] = []
        owner: list[int] = []
        offset_in_tok: list[int] = []
        boundary: list[bool] = []
        for t in range(i, j + 1):
            tok = toks[t]
            split = tok.isdigit()
            for q, ch in enumerate(tok):
                boundary.append(q == 0 or split)
                chars.append(ch)
                owner.append(t)
                offset_in_tok.append(q)
        boundary.append(True)
        s_all = "".join(chars).upper()
        L = len(s_all)
        p = 0
        while p + 11 <= L:
            if boundary[p] and boundary[p + 11] and _MBI_RE.fullmatch(s_all, p, p + 11):
                value = s_all[p : p + 11]
                if value not in exempt:
                    ta, tb = owner[p], owner[p + 10]
                    start, end = nt.orig_starts[ta], nt.orig_ends[tb]
                    # exact character offsets when a token is written verbatim in the original
                    if nt.original[start : nt.orig_ends[ta]].lower() == toks[ta]:
                        start += offset_in_tok[p]
                    if nt.original[nt.orig_starts[tb] : end].lower() == toks[tb]:
                        end = nt.orig_starts[tb] + offset_in_tok[p + 10] + 1
                    hits.append(DetectorHit("mbi", start, end, value))
                p += 11
            else:
                p += 1
        i = j + 1
    return hits


# ------------------------------------------------------------------------------------------- API

DETECTORS: dict[str, Callable[[NormalizedText, frozenset[str]], list[DetectorHit]]] = {
    "credit_card": _credit_card,
    "ssn": _ssn,
    "email": _email,
    "us_phone": _us_phone,
    "mbi": _mbi,
    "aba_routing": _aba_routing,
}


def detect(kind: str, nt: NormalizedText, exempt: Iterable[str] = frozenset()) -> list[DetectorHit]:
    """Run detector ``kind`` over ``nt``. ``exempt`` values (any written form: "(415) 555-0198",
    "+1 415…") are canonicalized and never reported. Raises ``KeyError`` only for an unknown kind."""
    fn = DETECTORS[kind]
    return fn(nt, canonical_exempt(kind, exempt) if exempt else frozenset())


def detect_all(
    nt: NormalizedText,
    kinds: Iterable[str] = tuple(DETECTORS),
    exempt_by_kind: Mapping[str, Iterable[str]] | None = None,
) -> list[DetectorHit]:
    """Run several detectors; hits sorted by ``(start, end, kind)``."""
    exempt_by_kind = exempt_by_kind or {}
    hits: list[DetectorHit] = []
    for kind in kinds:
        hits.extend(detect(kind, nt, exempt_by_kind.get(kind, ())))
    hits.sort(key=lambda h: (h.start, h.end, h.kind))
    return hits
