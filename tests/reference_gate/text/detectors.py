"""Built-in PII detectors over the normalized view's token stream.

Detectors read tokens, not characters, so written and spoken forms are found alike ("4111-1111-…",
"four one one one, …", "jane dot doe at example dot com"). Every hit carries ORIGINAL offsets (through the
tokens' original spans) and a canonical value. Each detector runs independently and in linear time;
:func:`detect_many` / :func:`detect_all` give one finding per value, of its most specific kind (:data:`SPECIFICITY`).
Detectors read the *folded* text (:mod:`reference_gate.text.fold`: fullwidth and Arabic-Indic digits, zero-width
characters gone) and map their spans back to the original characters, so masking a fullwidth SSN masks its
original characters.

Numeric detectors look at *digit runs*: maximal sequences of consecutive digit tokens in the normalized view
(fillers are already gone; punctuation between the tokens is allowed: "(415) 555-0198"). A token is *written*
when its original text has no letters ("415", "1,000") and *spoken* when number words went into it ("four
one five" → "415"); the original text between two tokens (their original spans) tells a comma from a space.

* **Dates and times** written with digits ("2019-07-12 16:30:49", "07/12/2019 4:30 pm", "12.07.2019", a
  compact ``YYYYMMDDhhmmss`` card candidate) are left out of digit runs: they are no card, SSN or phone number.
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
  separated by spaces, or by one dash, dot, slash, underscore, star or bar: "4-1-1-1") count as spoken.
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
  routing number and has "routing" or "aba" among the 3 tokens before it is not reported as an SSN, nor is a
  number introduced as another identifier (an :data:`ID_LABELS` noun, "claim", "order", "policy", "tracking",
  "member", "license", "reference", "confirmation"…, among the 6 tokens before it, and no "ssn"/"social" there).
* ``aba_routing``: a window of exactly 9 digits passing the ABA checksum with a valid prefix (00–12, 21–32,
  61–72, 80). No context word is required.
* ``us_phone``: a window of 10 digits, or 11 starting with the country code 1; NANP-valid (area and exchange
  start 2–9, area not N11). Value: the 10 digits.
* ``email``: ``LOCAL at DOMAIN``. Written (the ``at`` came from ``@``): the local part and domain are the
  tokens glued to it in the original (no whitespace between them; ``.``, ``_``, ``-`` and ``+`` inside
  allowed); value is the original text, lower-cased. A written ``@`` glued on both sides is strong evidence,
  so the domain may end in any TLD of two or more letters or a punycode label (``jane@example.de``,
  ``info@presidio.site``, ``a@xn--d1acufc.xn--p1ai``); it ends at its last built-in, two-letter or punycode
  TLD when it has one (``bob@example.com.Thanks`` → ``bob@example.com``). Spoken or mixed, as speech
  recognition writes it ("jane dot doe at example dot com", "maria.g@outlook dot com", "tom at hot mail dot com",
  "s a m at example dot org", "front dash desk at river dash clinic dot com"): the local part is 1–4 labels
  joined by ``dot`` / ``underscore`` / ``dash`` / ``hyphen`` (letters spelled one by one are one label, a digit
  label may follow a word: "john two three"), ending right before ``at`` (or ``at sign``, ``at the rate``, a
  spaced ``@``); a single-label local part that is a function word (``me``, ``us``, ``him``, …) is rejected.
  The domain is labels joined by ``dot`` (spoken or written), a label being a word, a provider split in two
  (:data:`PROVIDER_SPLITS`: "g mail", "hot mail", "out look", "ya hoo") or words joined by ``dash``/``hyphen``;
  it is cut at its last built-in TLD (:data:`TLDS`, no network, no public-suffix list), because in speech the
  TLD is the only evidence. The hit spans the whole address, so masking leaves nothing of it.
* ``mbi``: Medicare Beneficiary Identifier, 11 characters ``C A AN N A AN N A A N N``. Candidate tokens are
  single letters, digit tokens, and short letter+digit mixes ("1eg4"); consecutive candidates are
  concatenated and every 11-character window that starts and ends on a token boundary — or inside a digit
  token, since spoken digits merge ("seven three" → "73") — is checked. Value: upper case, no separators.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from reference_gate.text.normalize import NormalizedText

__all__ = [
    "DetectorHit",
    "detect",
    "detect_all",
    "detect_many",
    "possible",
    "DETECTORS",
    "SPECIFICITY",
    "MIN_DIGITS",
    "ID_LABELS",
    "PROVIDER_SPLITS",
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


def _datetime_tokens(nt: NormalizedText) -> set[int]:
    """Indices of the digit tokens of written dates and times: ``h:mm`` / ``hh:mm:ss`` (hour < 24, minutes and
    seconds < 60), and three groups joined by the same ``-``, ``/`` or ``.``: ``YYYY-MM-DD`` (year 1800-2099),
    ``MM/DD/YYYY`` or ``DD.MM.YY`` (day and month in range either way round). Their digits are no card, SSN,
    phone or routing number: an ISO timestamp "2019-07-12 16:30:49" is Luhn-valid one time in ten."""
    toks, flags = nt.tokens, nt.is_digits
    folded, starts, ends = nt.folded, nt.folded_starts, nt.folded_ends
    out: set[int] = set()
    n = len(toks)
    k = flags.index(True) if True in flags else n
    while k < n - 1:
        if not flags[k + 1]:
            k += 2
            continue
        if not flags[k]:  # a word right before a digit group ("at:30"): no date or time starts here
            k += 1
            continue
        a, b = toks[k], toks[k + 1]
        gap = folded[ends[k] : starts[k + 1]]
        if gap == ":" and len(a) <= 2 and len(b) == 2 and int(a) < 24 and int(b) < 60:
            out.update((k, k + 1))
            if k + 2 < n and flags[k + 2] and len(toks[k + 2]) == 2 and folded[ends[k + 1] : starts[k + 2]] == ":":
                if int(toks[k + 2]) < 61:
                    out.add(k + 2)
        elif gap in ("-", "/", ".") and k + 2 < n and flags[k + 2] and folded[ends[k + 1] : starts[k + 2]] == gap:
            c = toks[k + 2]
            if len(b) <= 2 and 1 <= int(b) and (
                (len(a) == 4 and 1800 <= int(a) <= 2099 and int(b) <= 12 and len(c) <= 2 and 1 <= int(c) <= 31)
                or (
                    len(a) <= 2
                    and len(c) in (2, 4)
                    and 1 <= int(a)
                    and ((int(a) <= 12 and int(b) <= 31) or (int(a) <= 31 and int(b) <= 12))
                )
            ):
                out.update((k, k + 1, k + 2))
        k += 1
    return out


def _digit_flags(nt: NormalizedText) -> list[bool]:
    """``is_digits`` with the tokens of written dates and times switched off (cached on the view)."""
    cache = nt.cache
    flags = cache.get("digit_flags") if cache is not None else None
    if flags is None:
        flags = nt.is_digits
        barrier = _datetime_tokens(nt) if True in flags else ()
        if barrier:
            flags = [f and k not in barrier for k, f in enumerate(flags)]
        if cache is None:
            nt.cache = cache = {}
        cache["digit_flags"] = flags
    return flags


def _digit_runs(nt: NormalizedText) -> list[tuple[int, int]]:
    """Maximal runs ``(i, j)`` (inclusive) of consecutive digit tokens, dates and times left out."""
    runs: list[tuple[int, int]] = []
    flags = _digit_flags(nt)
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
                        if digits not in exempt and not (pos == 14 and _compact_timestamp(nt, a, b, digits)):
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


def _compact_timestamp(nt: NormalizedText, a: int, b: int, digits: str) -> bool:
    """A written ``YYYYMMDDhhmmss`` (one group, or date and time groups 8 + 6) with a plausible date and time."""
    if (b - a, len(nt.tokens[a])) not in ((0, 14), (1, 8)) or not all(_is_written(nt, k) for k in range(a, b + 1)):
        return False
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    hour, minute, second = int(digits[8:10]), int(digits[10:12]), int(digits[12:])
    return 1800 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61


_BREAK_RE = re.compile(r"[,;!?]|[.:]\s")
_TIGHT_RE = re.compile(r"[-./\u2010-\u2015]+")


def _is_written(nt: NormalizedText, k: int) -> bool:
    """Digit token ``k`` was written with digits (no number word merged into it)."""
    for ch in nt.folded[nt.folded_starts[k] : nt.folded_ends[k]]:
        if ch.isalpha():
            return False
    return True


#: what may stand between two digits dictated one at a time ("4 1 1 1", "4-1-1-1", "4.1.1.1", "4 - 1 - 1")
_DICTATION_GAP_RE = re.compile(r"\s+|\s*[-./_*|+~\u2010-\u2015]\s*")


def _segments(nt: NormalizedText) -> list[tuple[int, int, list[bool]]]:
    """:func:`_segment_runs`, computed once per view (the SSN, routing and phone detectors all read them)."""
    cache = nt.cache
    if cache is None:
        nt.cache = cache = {}
    segments = cache.get("segments")
    if segments is None:
        segments = cache["segments"] = list(_segment_runs(nt))
    return segments


def _segment_runs(nt: NormalizedText) -> Iterable[tuple[int, int, list[bool]]]:
    """Digit runs cut where two WRITTEN digit groups are separated by a comma or sentence punctuation
    (``, ; ! ?`` or ``. :`` followed by a space). Spoken digits are never cut: speech-to-text puts commas
    between spoken groups ("four one five, five five five, …"). Digits dictated one by one and transcribed
    as numerals ("2 1 9, 4 4, 3 3 2 1", "4-1-1-1": two or more single digits separated by spaces or by one
    dash, dot, slash, underscore, star or bar) count as spoken.
    Yields ``(i, j, written)`` with ``written[k - i]`` telling whether token ``k`` counts as written."""
    original, starts, ends, toks = nt.folded, nt.folded_starts, nt.folded_ends, nt.tokens
    for ri, rj in _digit_runs(nt):
        # written with digits: no letter in the token's text (no number word merged into it)
        written = [not any(map(str.isalpha, original[starts[k] : ends[k]])) for k in range(ri, rj + 1)]
        dictated = [
            k
            for k in range(ri, rj)
            if len(toks[k]) == 1
            and len(toks[k + 1]) == 1
            and written[k - ri]
            and written[k + 1 - ri]
            and _DICTATION_GAP_RE.fullmatch(original, ends[k], starts[k + 1]) is not None
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
    return _TIGHT_RE.fullmatch(nt.folded, nt.folded_ends[k], nt.folded_starts[k + 1]) is not None


def _windows(
    nt: NormalizedText, lengths: frozenset[int]
) -> list[tuple[int, int, str, tuple[int, ...] | None]]:
    """:func:`_window_iter`, computed once per view and set of lengths (SSN and routing share the 9-digit ones)."""
    cache = nt.cache
    if cache is None:
        nt.cache = cache = {}
    windows = cache.get(lengths)
    if windows is None:
        windows = cache[lengths] = list(_window_iter(nt, lengths))
    return windows


def _window_iter(
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
    original, starts = nt.folded, nt.folded_starts
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
_SSN_CONTEXT = frozenset({"ssn", "ssns", "social", "ss"})
#: Nouns that introduce a number as some other identifier ("your claim number is 123-45-6789", "order one two
#: three, four five, six seven eight nine"): such a number is not an SSN.
ID_LABELS: frozenset[str] = frozenset(
    """claim order policy tracking member license licence reference ref confirmation account acct invoice case
    ticket booking reservation transaction serial model customer patient employee student record receipt
    group plan itinerary shipment package parcel incident request application loan contract subscriber
    passport permit registration badge voucher coupon promo certificate authorization authorisation
    verification cancellation pnr sku part item product rx prescription medicare medicaid insurance
    visa invoice""".split()
)
#: how many tokens before a number an identifier label or SSN context word is looked for
_LABEL_WINDOW = 6
_SSN_GROUPINGS = frozenset({(9,), (3, 2, 4)})


def _routing_context(nt: NormalizedText, i: int) -> bool:
    return any(t in _ROUTING_CONTEXT for t in nt.tokens[max(0, i - 3) : i])


def _ssn_context(nt: NormalizedText, i: int) -> bool:
    return any(t in _SSN_CONTEXT for t in nt.tokens[max(0, i - 4) : i])


def _other_identifier(nt: NormalizedText, i: int) -> bool:
    """The number starting at token ``i`` is introduced as another identifier: an :data:`ID_LABELS` noun among the
    :data:`_LABEL_WINDOW` tokens before it and no SSN word ("ssn", "social") among them ("the ssn on the
    application is …" is an SSN)."""
    window = nt.tokens[max(0, i - _LABEL_WINDOW) : i]
    return _SSN_CONTEXT.isdisjoint(window) and not ID_LABELS.isdisjoint(window)


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
        if d in exempt or (aba_ok(d) and _routing_context(nt, a)) or _other_identifier(nt, a):
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
    folded = nt.folded
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
        start, end = nt.folded_starts[a], nt.folded_ends[b]
        # include a leading "+" ("+1 415…") or an opening parenthesis closed inside the hit ("(415) …")
        if start > 0:
            prev = folded[start - 1]
            if prev == "+" or (prev == "(" and ")" in folded[start:end]):
                start -= 1
        start, end = nt.folded_to_original(start, end)
        hits.append(DetectorHit("us_phone", start, end, d))
    return hits


# ------------------------------------------------------------------------------------------- email

TLDS: frozenset[str] = frozenset(
    "com net org edu gov io co us uk ca info biz me ai app dev health tv mil int email online site".split()
)
_JOINERS = {"dot": ".", "underscore": "_", "dash": "-", "hyphen": "-"}
_DASHES = frozenset({"dash", "hyphen"})
#: mail providers that speech recognition splits in two ("g mail", "hot mail", "out look", "ya hoo")
PROVIDER_SPLITS: dict[tuple[str, str], str] = {
    ("g", "mail"): "gmail",
    ("gee", "mail"): "gmail",
    ("hot", "mail"): "hotmail",
    ("out", "look"): "outlook",
    ("ya", "hoo"): "yahoo",
    ("i", "cloud"): "icloud",
    ("proton", "mail"): "protonmail",
    ("y", "mail"): "ymail",
    ("a", "ol"): "aol",
    ("web", "mail"): "webmail",
    ("zoho", "mail"): "zohomail",
    ("g", "mx"): "gmx",
    ("fast", "mail"): "fastmail",
}
#: words that say "@" after "at" ("jane at sign example dot com", Indian English "at the rate")
_AT_SUFFIXES: tuple[tuple[str, ...], ...] = (("sign",), ("symbol",), ("the", "rate", "of"), ("the", "rate"))
_AT_FIRST = frozenset(suffix[0] for suffix in _AT_SUFFIXES)
#: most words a spoken first domain label may be heard as ("lakeside roofing dot com")
_DOMAIN_WORDS = 3
#: words that end a multi-word domain label: they are sentence words, not parts of a name
_DOMAIN_STOP = frozenset(
    """a an the my your our their his her its this that these those and or but of for to in on at by with from
    is are was were be been am will would can could should do does did not no yes please thanks thank you me us
    him them it we they i he she there here then than so if as""".split()
)
_LOCAL_STOP = frozenset(
    (
        "me us him her it look is here there email you them at this that i we they am are was were be "
        "mail reach call text write contact arrive arrived stay staying work works live lives home office "
        "back not looking visit visiting check checking find found available online shop order register apply "
        "sign log logged login site website page portal app up in on out go going went"
    ).split()
)
#: most labels a spoken local part may have ("jane dot m dot doe")
_LOCAL_LABELS = 4
_LABEL_RE = re.compile(r"[^\W_]+")


def _is_label(tok: str) -> bool:
    return tok not in _JOINERS and tok != "at" and _LABEL_RE.fullmatch(tok) is not None


_HYPHENS_RE = re.compile(r"-+")


def _glued(nt: NormalizedText, a: int, b: int) -> bool:
    """Tokens ``a`` and ``b = a + 1`` touch in the (folded) text (nothing between them but one ``+`` or hyphens:
    ``my-site``, ``name+tag``, the ``--`` of a punycode label ``xn--bcher-kva``)."""
    e, s = nt.folded_ends[a], nt.folded_starts[b]
    if s <= e:
        return True
    return (s == e + 1 and nt.folded[e] == "+") or _HYPHENS_RE.fullmatch(nt.folded, e, s) is not None


def _hyphenated(nt: NormalizedText, a: int) -> bool:
    """Tokens ``a`` and ``a + 1`` are joined by hyphens only (one written domain label)."""
    return _HYPHENS_RE.fullmatch(nt.folded, nt.folded_ends[a], nt.folded_starts[a + 1]) is not None


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
            label = nt.folded[nt.folded_starts[a] : nt.folded_ends[j]].casefold()
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


def _domain_label(nt: NormalizedText, j: int) -> tuple[int, str] | None:
    """A domain label starting at token ``j``: a word, a provider split in two ("g mail"), words joined by spoken
    "dash"/"hyphen" or written hyphens ("river dash clinic"). Returns ``(last token, label)``."""
    toks = nt.tokens
    n = len(toks)
    if j >= n or not _is_label(toks[j]):
        return None
    provider = PROVIDER_SPLITS.get((toks[j], toks[j + 1])) if j + 1 < n else None
    if provider is not None:
        label, j = provider, j + 1
    else:
        label = toks[j]
    while True:
        if j + 2 < n and toks[j + 1] in _DASHES and _is_label(toks[j + 2]):
            label += "-" + toks[j + 2]
            j += 2
        elif j + 1 < n and _is_label(toks[j + 1]) and _hyphenated(nt, j):
            label += "-" + toks[j + 1]
            j += 1
        else:
            return j, label


def _spoken_domain(nt: NormalizedText, j: int) -> tuple[int, str]:
    """``(last token, domain)`` of a spoken or mixed domain starting at token ``j`` (``(-1, "")`` when there is
    none): labels (:func:`_domain_label`) joined by ``dot`` (spoken or written), cut at the last built-in TLD
    (:data:`TLDS`; in speech the TLD is the only evidence)."""
    toks = nt.tokens
    n = len(toks)
    first = _domain_label(nt, j)
    if first is None:
        return -1, ""
    j, label = first
    # a first label heard as several words ("lakeside roofing dot com"): content words right before a "dot"
    words = 1
    while (
        words < _DOMAIN_WORDS
        and j + 2 < n
        and toks[j + 1] not in _DOMAIN_STOP
        and _is_label(toks[j + 1])
        and not toks[j + 1].isdigit()
        and label not in _DOMAIN_STOP
    ):
        ahead = j + 1
        while ahead < n and ahead - j <= _DOMAIN_WORDS - words and toks[ahead] not in ("dot", *_DASHES):
            ahead += 1
        if ahead >= n or toks[ahead] != "dot" or any(t in _DOMAIN_STOP or not _is_label(t) for t in toks[j + 1 : ahead]):
            break
        label += "".join(toks[j + 1 : ahead])
        words += ahead - j - 1
        j = ahead - 1
    labels = [label]
    best, best_labels = -1, 0
    while j + 2 < n and toks[j + 1] == "dot":
        nxt = _domain_label(nt, j + 2)
        if nxt is None:
            break
        j, label = nxt
        labels.append(label)
        if label in TLDS:
            best, best_labels = j, len(labels)
    if best < 0:
        return -1, ""
    return best, ".".join(labels[:best_labels])


def _at_width(toks: list[str], k: int) -> int:
    """How many tokens say "@" from the ``at`` token ``k`` ("at", "at sign", "at the rate of")."""
    if k + 1 < len(toks) and toks[k + 1] in _AT_FIRST:
        for suffix in _AT_SUFFIXES:
            if tuple(toks[k + 1 : k + 1 + len(suffix)]) == suffix:
                return 1 + len(suffix)
    return 1


def _is_letter(tok: str) -> bool:
    return len(tok) == 1 and "a" <= tok <= "z"


def _spoken_local(nt: NormalizedText, k: int) -> int:
    """First token of a spoken local part ending right before the ``at`` token ``k``, or -1.

    1 to :data:`_LOCAL_LABELS` labels joined by ``dot`` / ``underscore`` / ``dash`` / ``hyphen``; a last label of
    digits may follow a word label directly ("john two three at …" → ``john23``); letters spelled one at a time
    are one label ("j d at …" → ``jd``; three or more are already one token). A single-label local part that is a
    function word ("me", "us", "him", …) is rejected."""
    toks = nt.tokens
    i = k - 1
    if i < 0 or not _is_label(toks[i]):
        return -1
    labels = 1
    if toks[i].isdigit() and i >= 1 and _is_label(toks[i - 1]) and not toks[i - 1].isdigit():
        if toks[i - 1] not in _LOCAL_STOP:
            i -= 1  # "john 23": one label
    while labels < _LOCAL_LABELS and i - 2 >= 0 and toks[i - 1] in _JOINERS and _is_label(toks[i - 2]):
        i -= 2
        labels += 1
    if _is_letter(toks[i]):
        while i >= 1 and _is_letter(toks[i - 1]):
            i -= 1
    elif i >= 1 and _is_letter(toks[i - 1]):
        # spelled initials before a name ("d r smith at …"); a lone "a" or "i" is a word, not an initial
        h = i - 1
        while h >= 1 and _is_letter(toks[h - 1]):
            h -= 1
        if i - h > 1 or toks[h] not in ("a", "i"):
            i = h
    if k - i == 1 and toks[i] in _LOCAL_STOP:
        return -1
    return i


def _written_local(nt: NormalizedText, k: int) -> int:
    """First token of a written local part glued to the ``@`` token ``k``, or -1."""
    toks = nt.tokens
    i = k - 1
    if i < 0 or not _glued(nt, i, k) or not (_is_label(toks[i]) or toks[i].isdigit()):
        return -1
    while i > 0 and _glued(nt, i - 1, i) and toks[i - 1] != "at":
        prev = toks[i - 1]
        if _is_label(prev):
            i -= 1
        elif prev in ("dot", "underscore") and i - 2 >= 0 and _is_label(toks[i - 2]) and _glued(nt, i - 2, i - 1):
            i -= 2
        else:
            break
    return i


def _email(nt: NormalizedText, exempt: frozenset[str]) -> list[DetectorHit]:
    toks = nt.tokens
    if "dot" not in toks:
        return []  # every domain has a dot, written ("example.com" reads "example dot com") or spoken
    folded, fstarts, fends = nt.folded, nt.folded_starts, nt.folded_ends
    hits: list[DetectorHit] = []
    last_end = -1
    for k, tok in enumerate(toks):
        if tok != "at" or k == 0 or k <= last_end:
            continue
        written = folded[fstarts[k] : fends[k]] == "@"
        end = _written_domain(nt, k) if written else -1
        if end >= 0:
            domain = folded[fstarts[k + 1] : fends[end]].casefold()
        else:  # spoken, or a written "@" before a spoken domain ("maria.g@outlook dot com")
            end, domain = _spoken_domain(nt, k + _at_width(toks, k))
            if end < 0:
                continue
        i = _written_local(nt, k) if written else -1
        if i >= 0:
            local = folded[fstarts[i] : fends[k - 1]].casefold()
        else:
            i = _spoken_local(nt, k)
            if i < 0:
                continue
            local = "".join(_JOINERS.get(t, t) for t in toks[i:k])
        value = f"{local}@{domain}"
        if value in exempt:
            continue
        hits.append(DetectorHit("email", nt.orig_starts[i], nt.orig_ends[end], value))
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
                    start, end = nt.folded_starts[ta], nt.folded_ends[tb]
                    # exact character offsets when a token is written verbatim in the (folded) text
                    if nt.folded[start : nt.folded_ends[ta]].lower() == toks[ta]:
                        start += offset_in_tok[p]
                    if nt.folded[nt.folded_starts[tb] : end].lower() == toks[tb]:
                        end = nt.folded_starts[tb] + offset_in_tok[p + 10] + 1
                    start, end = nt.folded_to_original(start, end)
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


#: Most specific first. One value gives one finding: a hit that overlaps a hit of a more specific kind is not
#: reported (spoken card digits are not also a phone number or an SSN; the digits of an e-mail address are not a
#: phone number; a 9-digit number that is both a valid SSN and a valid routing number, with nothing saying it is a
#: routing number, is an SSN).
SPECIFICITY: tuple[str, ...] = ("email", "credit_card", "mbi", "ssn", "aba_routing", "us_phone")
_RANK = {kind: r for r, kind in enumerate(SPECIFICITY)}
#: Digits a detector's shortest valid value has (spoken digits are digits in the normalized view).
MIN_DIGITS: dict[str, int] = {"mbi": 5, "ssn": 9, "aba_routing": 9, "us_phone": 10, "credit_card": 13}
_DELETE_DIGITS = str.maketrans("", "", "0123456789")
_DIGIT_THEN_LETTER = re.compile(r"[0-9][a-z]").search
_SINGLE_LETTERS = re.compile(r"(?:^| )[a-z](?= |$)").findall


def _mbi_possible(text: str) -> bool:
    """An MBI starts with a digit then a letter: written, that is one token ("1eg4"); spelled out, it has at least
    four single-letter tokens ("one e g four t e five m k seven three")."""
    return _DIGIT_THEN_LETTER(text) is not None or len(_SINGLE_LETTERS(text)) >= 4


def possible(kind: str, nt: NormalizedText, digits: int) -> bool:
    """Cheap precondition: ``kind`` can have a hit in ``nt`` (``digits``: digit characters in ``nt.text``)."""
    if kind == "email":
        return " at " in nt.text
    if digits < MIN_DIGITS[kind]:
        return False
    return kind != "mbi" or _mbi_possible(nt.text)


_NO_HITS: list[DetectorHit] = []


def detect_many(
    nt: NormalizedText, requests: Iterable[tuple[str, frozenset[str]]]
) -> list[list[DetectorHit]]:
    """Hits per request ``(kind, canonical exempt values)``, one finding per value: a hit overlapping a hit of a
    more specific kind (:data:`SPECIFICITY`, found whether or not that kind was requested, exempt values
    included) is dropped. Each detector runs at most once per exempt set, and only when :func:`possible`.
    The returned lists must not be mutated (empty results share one list)."""
    requests = list(requests)
    text = nt.text
    digits = len(text) - len(text.translate(_DELETE_DIGITS))
    if digits < 5 and " at " not in text:
        return [_NO_HITS] * len(requests)  # the common case: nothing any detector could find
    can: dict[str, bool] = {}
    raw: dict[str, list[DetectorHit]] = {}

    def run(kind: str, exempt: frozenset[str]) -> list[DetectorHit]:
        ok = can.get(kind)
        if ok is None:
            ok = can[kind] = possible(kind, nt, digits)
        if not ok:
            return _NO_HITS
        if exempt:
            return DETECTORS[kind](nt, exempt)
        hits = raw.get(kind)
        if hits is None:
            hits = raw[kind] = DETECTORS[kind](nt, exempt)
        return hits

    out: list[list[DetectorHit]] = []
    for kind, exempt in requests:
        own = run(kind, exempt)
        if own:
            claims = [h for better in SPECIFICITY[: _RANK[kind]] for h in run(better, _NO_EXEMPT)]
            if claims:
                own = [h for h in own if not any(c.start < h.end and h.start < c.end for c in claims)]
        out.append(own)
    return out


_NO_EXEMPT: frozenset[str] = frozenset()


def detect_all(
    nt: NormalizedText,
    kinds: Iterable[str] = tuple(DETECTORS),
    exempt_by_kind: Mapping[str, Iterable[str]] | None = None,
) -> list[DetectorHit]:
    """Run several detectors, one finding per value (:func:`detect_many`); hits sorted by ``(start, end, kind)``."""
    exempt_by_kind = exempt_by_kind or {}
    kinds = list(kinds)
    for kind in kinds:
        DETECTORS[kind]  # noqa: B018 - an unknown kind raises KeyError, as detect() does
    requests = [
        (kind, canonical_exempt(kind, exempt_by_kind[kind]) if exempt_by_kind.get(kind) else frozenset())
        for kind in kinds
    ]
    hits = [h for found in detect_many(nt, requests) for h in found]
    hits.sort(key=lambda h: (h.start, h.end, h.kind))
    return hits
