"""Claims as facts that can be compared: numbers, units, durations, times and ranges, days, negation, quantifiers.

:func:`extract` reads one clause (spoken or written: "twenty nine ninety nine", "$29.99", "two weeks",
"eight a.m. to nine p.m.", "monday through saturday", "up to three hundred dollars", "fifty five and older",
"no activation fee") into a :class:`Claim`: typed :class:`Quantity` values normalised to one unit per kind
(money in dollars, durations in days, times of day in minutes after midnight, data in GB, percentages), each with
its comparator (``eq``, ``le`` for "up to", ``ge`` for "at least" / "and older", ``range``), the weekdays the
clause says something is open or available, its polarity, and its universal quantifier ("all", "every", "any").

:func:`compare` sets a claim against a knowledge-base clause: ``supported`` when every comparable quantity,
day set and polarity agrees, ``contradicted`` when one disagrees, ``None`` when nothing is comparable. "Two
weeks" supports "14 days"; "half off" supports "50%"; "until nine" supports "9 pm" (an hour without am/pm matches
either); "open seven days a week" contradicts "closed on Sundays"; "$300" contradicts "up to $300".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from trace_engine.text.numbers import TEENS, TENS
from trace_engine.text.numbers import UNITS as _UNITS

#: the number words of the gate's normaliser (one definition), plus "oh" for zero as in "eight oh five"
UNITS = {**_UNITS, **TEENS, "oh": 0}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
            "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
            "twentieth": 20, "thirtieth": 30}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DURATION_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1, "business day": 1, "week": 7, "month": 30,
                 "year": 365}
MONEY_WORDS = {"dollar", "dollars", "buck", "bucks", "usd"}
DATA_WORDS = {"gb", "gig", "gigs", "gigabyte", "gigabytes"}
LE = re.compile(r"\b(up to|as much as|no more than|at most|a maximum of|maximum of|max of|not more than|within)\s*$")
GE = re.compile(r"\b(at least|a minimum of|minimum of|no less than|starting at|from just)\s*$")
GT = re.compile(r"\b(more than|over|above|greater than)\s*$")
LT = re.compile(r"\b(less than|under|below|fewer than)\s*$")
GE_AFTER = re.compile(r"^\s*(\+|and (older|over|up|above)|or (older|more|over|above|up)|plus)\b")
LE_AFTER = re.compile(r"^\s*(or (less|fewer|under|younger)|and (under|younger|below))\b")
NEGATION = re.compile(r"\b(no|not|never|none|without|closed|isn'?t|aren'?t|don'?t|doesn'?t|won'?t|can'?t|cannot|"
                      r"free|waived?|zero|nothing)\b")
UNIVERSAL = re.compile(r"\b(all|every|everyone|everybody|anyone|anybody|any customer|any plan|always|whatever)\b")
RESTRICT = re.compile(r"\b(only|just|certain|some|eligible|select(ed)?|if|when|and older|or older|qualif\w+)\b")
_TOKEN = re.compile(r"\$?\d+(?:[.,:]\d+)*%?|[a-z]+(?:'[a-z]+)?|[%$+]")


@dataclass(frozen=True, slots=True)
class Quantity:
    kind: str  # money | percent | duration | time | data | age | day_of_month | count
    lo: float
    hi: float
    op: str = "eq"  # eq | le | ge | lt | gt | range
    #: for a time of day without am/pm: the other reading (minutes after midnight), else None
    alt: float | None = None


@dataclass(slots=True)
class Claim:
    text: str
    quantities: list[Quantity] = field(default_factory=list)
    open_days: frozenset[str] | None = None
    closed_days: frozenset[str] = frozenset()
    negated: bool = False
    universal: bool = False
    restricted: bool = False


def tokens(text: str) -> list[str]:
    t = text.lower().replace("-", " ").replace("–", " to ")
    t = re.sub(r"(\d)\s*(am|pm|a\.m\.|p\.m\.)", r"\1 \2", t)
    t = t.replace("a.m.", "am").replace("p.m.", "pm").replace("24/7", "every day")
    t = re.sub(r"\b(seven days a week|twenty four seven|7 days a week)\b", "every day", t)
    t = re.sub(r"\b(\w+(?: \w+)?) (dollars?|bucks) and (\w+(?: \w+)?) cents?\b", r"\1 point \3 dollars", t)
    return _TOKEN.findall(t)


def _spoken(toks: list[str], i: int) -> tuple[float, int] | None:
    """A spoken number starting at ``toks[i]``: (value, next index)."""
    total = cur = 0.0
    j = i
    seen = False
    while j < len(toks):
        w = toks[j]
        r = cur % 100
        if w in TENS and r == 0:
            cur += TENS[w]
        elif w in UNITS and (r == 0 or (r >= 20 and r % 10 == 0 and UNITS[w] < 10)):
            cur += UNITS[w]
        elif w in ORDINALS and (r == 0 or (r >= 20 and r % 10 == 0 and ORDINALS[w] < 10)):
            cur += ORDINALS[w]
            j += 1
            seen = True
            break
        elif w == "hundred" and seen:
            cur = (cur or 1) * 100
        elif w == "thousand" and seen:
            total += (cur or 1) * 1000
            cur = 0
        elif w == "and" and seen and cur >= 100 and j + 1 < len(toks) and (toks[j + 1] in UNITS or toks[j + 1] in TENS):
            pass  # "three hundred and fifty"
        else:
            break
        seen = True
        j += 1
    if not seen:
        return None
    if j + 1 < len(toks) and toks[j] == "point":
        frac = _spoken(toks, j + 1)
        if frac and frac[0] < 100:
            digits = frac[0]
            cur += digits / 10 if digits < 10 and frac[1] == j + 2 and toks[j + 1] in UNITS else digits / 100
            j = frac[1]
    return total + cur, j


def _numbers(toks: list[str]) -> list[tuple[float, int, int, bool]]:
    """(value, start, end, written-with-$) for each number; spoken prices ("twenty nine ninety nine") merged."""
    out: list[tuple[float, int, int, bool]] = []
    i = 0
    while i < len(toks):
        w = toks[i]
        m = re.fullmatch(r"(\$?)(\d+(?:,\d{3})*(?:\.\d+)?)(%?)", w)
        if m:
            out.append((float(m.group(2).replace(",", "")), i, i + 1, bool(m.group(1))))
            i += 1
            continue
        if w in ("a", "an") and i + 1 < len(toks) and toks[i + 1] in ("hour", "day", "week", "month", "year",
                                                                        "minute", "dozen", "hundred", "thousand"):
            val = {"dozen": 12, "hundred": 100, "thousand": 1000}.get(toks[i + 1], 1)
            nxt = i + 2 if toks[i + 1] in ("dozen", "hundred", "thousand") else i + 1
            out.append((float(val), i, nxt, False))
            i = nxt
            continue
        if w == "half" and not (i > 0 and toks[i - 1] in UNITS):
            out.append((0.5, i, i + 1, False))
            i += 1
            continue
        sp = _spoken(toks, i)
        if sp:
            v, j = sp
            if toks[j : j + 3] == ["and", "a", "half"]:  # "two and a half hours"
                v += 0.5
                j += 3
            out.append((v, i, j, False))
            i = j
            continue
        i += 1
    merged: list[tuple[float, int, int, bool]] = []
    k = 0
    while k < len(out):
        v, s, e, d = out[k]
        if k + 1 < len(out) and out[k + 1][1] == e and not d and not toks[s][0].isdigit():
            v2 = out[k + 1][0]
            nxt = toks[out[k + 1][2]] if out[k + 1][2] < len(toks) else ""
            if 10 <= v < 100 and 0 < v2 < 100 and v == int(v) and nxt not in DURATION_WORDS:
                merged.append((v + v2 / 100, s, out[k + 1][2], True))  # "twenty nine ninety nine": a price
                k += 2
                continue
        merged.append((v, s, e, d))
        k += 1
    return merged


DURATION_WORDS = {"minute", "minutes", "hour", "hours", "day", "days", "week", "weeks", "month", "months", "year",
                  "years", "business"}


def _unit(toks: list[str], s: int, e: int, dollar: bool, value: float) -> Quantity | None:
    nxt = toks[e] if e < len(toks) else ""
    nxt2 = toks[e + 1] if e + 1 < len(toks) else ""
    prev = toks[s - 1] if s > 0 else ""
    raw = toks[s]
    if dollar or nxt in MONEY_WORDS:
        cents = 0.0
        if nxt in MONEY_WORDS and nxt2 == "and" and e + 2 < len(toks):
            sp = _spoken(toks, e + 2)
            if sp and sp[1] < len(toks) and toks[sp[1]] in ("cents", "cent"):
                cents = sp[0] / 100
        return Quantity("money", value + cents, value + cents)
    if nxt in ("cents", "cent"):
        return Quantity("money", value / 100, value / 100)
    if raw.endswith("%") or nxt in ("percent", "%") or (raw == "half" and nxt in ("off", "price")):
        v = 50.0 if raw == "half" else value
        return Quantity("percent", v, v)
    if nxt in DATA_WORDS:
        return Quantity("data", value, value)
    unit = nxt.rstrip("s") if nxt.rstrip("s") in DURATION_DAYS else None
    if nxt == "business" and nxt2.startswith("day"):
        unit = "business day"
    if unit:
        d = value * DURATION_DAYS[unit]
        return Quantity("duration", d, d)
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
    if m or nxt in ("am", "pm", "o'clock", "oclock") or (nxt in ("in", "at") and nxt2 in ("the", "night")) \
            or prev in ("until", "till", "til", "by", "at", "opens", "closes", "from") and value <= 12 and value == int(value):
        if m:
            mins = int(m.group(1)) * 60 + int(m.group(2))
            return Quantity("time", mins, mins)
        h = value % 12
        mins = h * 60
        if nxt == "pm" or (nxt == "at" and nxt2 == "night") or (nxt == "in" and toks[e + 2:e + 3] == ["evening"]):
            return Quantity("time", mins + 720, mins + 720)
        if nxt == "am" or (nxt == "in" and toks[e + 2:e + 3] == ["morning"]):
            return Quantity("time", mins, mins)
        return Quantity("time", mins, mins, alt=mins + 720)
    if nxt in ("and", "or") and nxt2 in ("older", "over", "up") or nxt in ("years",) and nxt2 == "old" \
            or prev in ("aged", "age", "ages"):
        return Quantity("age", value, value)
    if prev in DAYS_MONTHS:
        month = list(DAYS_MONTHS_ORDER).index(prev) + 1
        return Quantity("date", month * 100 + value, month * 100 + value)
    if toks[s] in ORDINALS and (nxt in UNITS or nxt in TENS or nxt[:1].isdigit()):
        return None  # "the first three months"
    if nxt in ("st", "nd", "rd", "th") or toks[s] in ORDINALS:
        return Quantity("day_of_month", value, value)
    if value == 0.5:
        return None
    return Quantity("count", value, value)


DAYS_MONTHS_ORDER = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                     "october", "november", "december")
DAYS_MONTHS = frozenset(DAYS_MONTHS_ORDER)


def _days(text: str) -> tuple[frozenset[str] | None, frozenset[str]]:
    """(days said to be open or available, days said to be closed or excluded)."""
    t = text.lower()
    if re.search(r"\b(seven days a week|every day|daily|twenty four seven|all week)\b", t) and \
            not re.search(r"\b(except|but|other than|closed)\b", t):
        return frozenset(DAYS), frozenset()
    open_: set[str] = set()
    closed: set[str] = set()
    for m in re.finditer(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\s*(to|through|thru|until|"
                         r"till|and)\s*(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b", t):
        a, op, b = DAYS.index(m.group(1)), m.group(2), DAYS.index(m.group(3))
        span = {DAYS[a], DAYS[b]} if op == "and" else {DAYS[i % 7] for i in range(a, a + ((b - a) % 7) + 1)}
        open_ |= span
    if re.search(r"\bweekdays\b", t):
        open_ |= set(DAYS[:5])
    if re.search(r"\bweekends?\b", t):
        (closed if re.search(r"\b(closed|not|except|but)\b[^.]*\bweekends?\b", t) else open_).update(DAYS[5:])
    for m in re.finditer(r"\b(closed|not open|except|but not|but|other than|no service)\b[^.;]*?\b(on )?"
                         r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b", t):
        closed.add(m.group(3))
    if re.search(r"\b(every day|seven days|all week|daily)\b", t) and closed:
        open_ |= set(DAYS) - closed
    for d in DAYS:
        if re.search(rf"\b{d}s?\b", t) and d not in closed and d not in open_:
            if re.search(rf"\b(open|available|on|work|including)\b[^.;]*\b{d}s?\b", t):
                open_.add(d)
    return (frozenset(open_) if open_ else None), frozenset(closed)


def extract(text: str) -> Claim:
    toks = tokens(text)
    joined = " ".join(toks)
    c = Claim(text)
    nums = _numbers(toks)
    qs: list[tuple[Quantity, int, int]] = []
    for v, s, e, d in nums:
        q = _unit(toks, s, e, d, v)
        if q is None:
            continue
        before = " ".join(toks[max(0, s - 4) : s])
        after = " ".join(toks[e : e + 4])
        op = "le" if LE.search(before) or LE_AFTER.search(after) else "ge" if GE.search(before) or GE_AFTER.search(
            after) else "gt" if GT.search(before) else "lt" if LT.search(before) else "eq"
        qs.append((Quantity(q.kind, q.lo, q.hi, op, q.alt), s, e))
    # ranges: "X to Y", "between X and Y", "X through Y" of one kind (the first takes the second's unit)
    merged: list[Quantity] = []
    k = 0
    while k < len(qs):
        q, s, e = qs[k]
        if k + 1 < len(qs):
            q2, s2, e2 = qs[k + 1]
            gap = toks[e:s2]
            unit_gap = len(gap) >= 1 and gap[-1] in ("to", "through", "thru", "and", "until", "till", "or") and \
                len(gap) <= 3
            kinds = {q.kind, q2.kind}
            if unit_gap and (len(kinds) == 1 or "count" in kinds) and not (gap[-1] == "and" and q.kind == "money"):
                kind = q2.kind if q2.kind != "count" else q.kind
                lo, hi, alt = q.lo, q2.hi, None
                if kind == "time":
                    lo = q.lo if q.kind == "time" else (q.lo % 12) * 60
                    hi = q2.hi if q2.kind == "time" else (q2.lo % 12) * 60
                    alt = q.alt if q.kind == "time" else lo + 720
                    if q2.kind != "time" or q2.alt is not None:
                        hi = hi if hi > lo else hi + 720  # "eight to nine" read as 8:00-21:00 or 8:00-9:00
                elif q.kind == "count" and kind == "duration":
                    lo = q.lo * (q2.lo / max(1e-9, _first_value(toks, s2, e2)))
                merged.append(Quantity(kind, min(lo, hi), max(lo, hi), "range", alt))
                k += 2
                continue
        merged.append(q)
        k += 1
    c.quantities = merged
    c.open_days, c.closed_days = _days(joined)
    c.negated = bool(NEGATION.search(joined))
    c.universal = bool(UNIVERSAL.search(joined))
    c.restricted = bool(RESTRICT.search(joined))
    return c


def _first_value(toks: list[str], s: int, e: int) -> float:
    nums = _numbers(toks[s:e])
    return nums[0][0] if nums else 1.0


def _time_values(q: Quantity) -> set[float]:
    vals = {q.lo, q.hi}
    if q.alt is not None:
        vals.add(q.alt)
        if q.op == "range":
            vals.add(q.hi + 720 if q.hi < 720 else q.hi)
    return vals


def _matches(a: Quantity, b: Quantity) -> bool:
    """Does claim quantity ``a`` agree with KB quantity ``b`` (same kind)?"""
    # money to the cent; durations within 5% (a month is 30 days, "336 hours" is two weeks); the rest exact
    if a.kind == "time":
        av, bv = _time_values(a), _time_values(b)
        if a.op == "range" and b.op == "range":
            return bool({a.lo, a.alt or -1} & bv) and bool({a.hi, a.hi + 720} & bv)
        return bool(av & bv) or any(abs(x - y) < 1 for x in av for y in bv)
    def close(x: float, y: float) -> bool:
        if a.kind == "money":
            return abs(x - y) < 0.005
        if a.kind == "duration":
            return abs(x - y) <= 0.05 * max(abs(x), abs(y))
        return abs(x - y) < 1e-6

    if b.op == "range":
        if a.op == "range":
            return close(a.lo, b.lo) and close(a.hi, b.hi)
        return (b.lo <= a.lo <= b.hi or close(a.lo, b.hi)) and a.op in ("eq", "le", "range")
    if a.op == "range":
        return False
    same = close(a.lo, b.lo)
    if a.kind == "duration":  # "within 14 days", "two weeks", "at least 45 minutes before": the same span
        return same
    if b.op == "le":
        # "within 14 days" = "two weeks"; but "$300" overstates "up to $300"
        return same and (a.op == "le" or a.kind == "duration")
    if b.op == "ge":
        return a.op in ("ge", "gt") and same or (a.op == "eq" and same and a.kind == "age")
    if b.op in ("gt", "lt"):
        return a.op == b.op and same
    return same and (a.op == "eq" or (a.op == "le" and a.kind == "duration"))


def compare(claim: Claim, kb: Claim) -> tuple[str | None, str]:
    """(``supported`` | ``contradicted`` | None, what decided it)."""
    compared = False
    for q in claim.quantities:
        same_kind = [b for b in kb.quantities if b.kind == q.kind]
        if not same_kind and q.kind == "count":
            # a bare number ("basic is 39.99 a month") is read in the unit the KB sentence uses for it
            for kind in ("money", "data", "percent", "age"):
                same_kind = [b for b in kb.quantities if b.kind == kind]
                if same_kind:
                    q = Quantity(kind, q.lo, q.hi, q.op, q.alt)
                    break
        if not same_kind:
            continue
        compared = True
        if not any(_matches(q, b) for b in same_kind):
            return "contradicted", f"{q.kind} differs"
    if claim.open_days is not None and (kb.open_days is not None or kb.closed_days):
        compared = True
        if claim.open_days & kb.closed_days or (kb.open_days is not None and not claim.open_days <= kb.open_days):
            return "contradicted", "days differ"
    if claim.closed_days and kb.open_days is not None:
        compared = True
        if claim.closed_days & kb.open_days:
            return "contradicted", "days differ"
    if claim.universal and kb.restricted and not claim.restricted:
        return "contradicted", "quantifier broader than the knowledge base"
    if compared:
        return "supported", "quantities agree"
    return None, "nothing comparable"
