"""``hallucination``: agent claims (prices, dates, numbers, policy statements) checked against the knowledge base.

Judge (no model download, no NLI): the KB is split into sentences; each is indexed by IDF-weighted content stems,
its quantities (spoken or written numbers, percentages, months) and its polarity (no / not / closed / free...).
For an agent turn, the best-matching KB sentences by weighted stem overlap are retrieved, then

* contradicted: the turn is on the same topic and states a quantity the passage does not (nor a sum or difference
  of the passage's quantities), or negates what the passage asserts (or the reverse);
* unsupported: the turn makes an offer or policy claim (free, discount, off, includes, guarantee...) whose content
  the KB does not cover.

A turn about the caller's own account (balances, order numbers, appointment times) matches no KB topic and is
skipped. The reason quotes the passage that disagrees.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from trace_engine.tier2.checks._common import last
from trace_engine.tier2.judges import Verdict

UNITS = {"zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
         "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
ORD = {"first": 1, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
       "ninth": 9, "tenth": 10, "twentieth": 20, "thirtieth": 30, "fourteenth": 14, "fifteenth": 15}
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
NEG = re.compile(r"\b(no|not|never|free|without|closed|don'?t|doesn'?t|isn'?t|aren'?t|won'?t|waive\w*)\b", re.I)
CLAIM = re.compile(
    r"\b(free|discount|off|includes?|included|comes? with|guarantee\w*|credit|gift card|waive|match|lock|double|"
    r"refer|covers?|pay off|save|bonus|coverage|nationwide)\b", re.I)
UNIT_CLAIM = re.compile(r"(\$|%|\b(percent|dollars?|bucks|gb|per (day|month))\b)", re.I)
IDENTIFIER = re.compile(r"\b(order|confirmation|case|ticket|invoice|account|tracking|reference|claim) (number|code|id|#)|"
                        r"\b(one|two|three|four|five|six|seven|eight|nine|zero|oh)( (one|two|three|four|five|six|seven|"
                        r"eight|nine|zero|oh)){2,}\b|\byour (current )?(balance|total|amount due|last payment) (is|was)\b", re.I)
STOP = set("""a an the and or of to for in on at by with is are was be it its this that these those you your we our
us i me my they them there their it's that's there's you'll we'll you'd so if as up per each any all can will just
also then than from into about out over under what which who how when where um uh okay well sure yes yeah let get
gets have has had do does did going go one dollars dollar cents month months monthly day days year years percent
number plan plans""".split())
SYN = {"gigs": "gb", "gig": "gb", "gigabytes": "gb", "gigabyte": "gb", "%": "percent", "half": "fifty percent",
       "sundays": "sunday", "saturdays": "saturday", "24/7": "twenty four seven", "lines": "line"}
_WORD = re.compile(r"\$?\d+(?:[.,:/]\d+)*%?|[a-z]+(?:'[a-z]+)?")


def _tokens(text: str) -> list[str]:
    t = text.lower().replace("-", " ")
    t = re.sub(r"\b(\d+)\s*(am|pm)\b", r"\1 \2", t)
    out: list[str] = []
    for w in _WORD.findall(t):
        w = SYN.get(w, w)
        out.extend(w.split())
    return out


def quantities(text: str) -> set[str]:
    return set().union(*quantity_groups(text)) if quantity_groups(text) else set()


def quantity_groups(text: str) -> list[set[str]]:
    """Numbers (as canonical strings) and month names in ``text``; spoken numbers are parsed, and adjacent
    spoken groups are read the way prices are said ("twenty nine ninety nine" = 29.99, "one twenty" = 120)."""
    toks = _tokens(text)
    vals: list[tuple[float, int, int]] = []  # value, start, end token index
    groups: list[set[str]] = []
    i = 0
    n = len(toks)
    while i < n:
        w = toks[i]
        m = re.fullmatch(r"\$?(\d+(?:,\d{3})*(?:\.\d+)?)%?", w)
        if m:
            vals.append((float(m.group(1).replace(",", "")), i, i + 1))
            i += 1
            continue
        if w in UNITS or w in TENS or w in ORD or (w in ("hundred", "thousand") and i > 0 and toks[i - 1] == "a"):
            total, cur, j = 0.0, 0.0, i
            while j < n and (toks[j] in UNITS or toks[j] in TENS or toks[j] in ORD or toks[j] in ("hundred", "thousand")):
                t = toks[j]
                r = cur % 100
                if t in TENS:
                    if r != 0:
                        break
                    cur += TENS[t]
                elif t in UNITS:
                    if UNITS[t] >= 10 and r != 0:
                        break
                    if r != 0 and (r < 20 or r % 10 != 0):
                        break
                    cur += UNITS[t]
                elif t in ORD:
                    if r != 0 and (r < 20 or r % 10 != 0):
                        break
                    cur += ORD[t]
                    j += 1
                    break
                elif t == "hundred":
                    cur = (cur or 1) * 100
                elif t == "thousand":
                    total += (cur or 1) * 1000
                    cur = 0
                j += 1
            if j < n - 1 and toks[j] == "point" and toks[j + 1] in UNITS:
                cur += UNITS[toks[j + 1]] / 10
                j += 2
            vals.append((total + cur, i, j))
            i = j
            continue
        if w in MONTHS:
            groups.append({"month:" + w})
        i += 1
    merged: list[list[float]] = []
    k = 0
    while k < len(vals):
        v, s, e = vals[k]
        if k + 1 < len(vals) and vals[k + 1][1] == e:
            v2 = vals[k + 1][0]
            if 10 <= v < 100 and 0 <= v2 < 100 and v == int(v):
                merged.append([v + v2 / 100, v, v2])
                k += 2
                continue
            if 1 <= v < 10 and 10 <= v2 < 100:
                merged.append([v * 100 + v2, v, v2])
                k += 2
                continue
        merged.append([v])
        k += 1
    groups.extend({f"{v:g}" for v in g} for g in merged)
    return groups


def _stem(w: str) -> str:
    return (w[:-1] if len(w) > 3 and w.endswith("s") else w)[:5]


def content(text: str) -> list[str]:
    return [_stem(w) for w in _tokens(text) if w not in STOP and not w[0].isdigit() and w not in UNITS
            and w not in TENS and w not in ORD and w not in ("hundred", "thousand", "point", "am", "pm")]


def _numeric(q: set[str]) -> set[float]:
    return {float(x) for x in q if not x.startswith("month:")}


class KBIndex:
    def __init__(self, passages: list[str]) -> None:
        self.sentences: list[tuple[str, str]] = []  # (sentence, full passage)
        for p in passages:
            for s in re.split(r"(?<=[.;!?])\s+", p.strip()):
                if s:
                    self.sentences.append((s, p))
        self.stems = [set(content(s)) for s, _ in self.sentences]
        df = Counter(w for st in self.stems for w in st)
        n = max(1, len(self.sentences))
        self.idf = {w: math.log(1 + n / c) for w, c in df.items()}
        self.qty = [quantities(p) for _, p in self.sentences]  # the whole passage: prices are often split
        self.neg = [bool(NEG.search(s)) for s, _ in self.sentences]

    def ranked(self, stems: set[str]) -> list[tuple[float, int]]:
        unseen = 0.5 * math.log(1 + len(self.sentences))
        total = sum(self.idf.get(w, unseen) for w in stems) or 1.0
        scores = []
        for i, st in enumerate(self.stems):
            s = sum(self.idf[w] for w in stems & st) / total
            if s > 0:
                scores.append((s, i))
        scores.sort(reverse=True)
        return scores


_INDEXES: dict[tuple[str, ...], KBIndex] = {}


def kb_index(passages: list[str]) -> KBIndex:
    key = tuple(passages)
    idx = _INDEXES.get(key)
    if idx is None:
        idx = _INDEXES[key] = KBIndex(passages)
    return idx


TOPIC_MIN = 0.34


class HallucinationJudge:
    check_id = "hallucination"
    speaker = "agent"

    def assess(self, text: str, kb: KBIndex) -> tuple[str | None, float, str | None]:
        stems = set(content(text))
        if not stems or IDENTIFIER.search(text):
            return None, 0.0, None
        ranked = kb.ranked(stems)
        groups = quantity_groups(text)
        q_turn = set().union(*groups) if groups else set()
        claim = bool(CLAIM.search(text)) or bool(q_turn and UNIT_CLAIM.search(text))
        if not ranked or ranked[0][0] < TOPIC_MIN:
            if claim and (q_turn or len(stems) >= 3):
                near = kb.sentences[ranked[0][1]][0] if ranked else None
                return "unsupported", 0.7, near
            return None, 0.0, None
        top = [i for s, i in ranked[:3] if s >= ranked[0][0] * 0.75]
        best = top[0]
        if re.search(r"(\$|\bdollars?\b|\bbucks\b)", text, re.I):
            best = next((i for i in top if "$" in kb.sentences[i][0]), best)
        elif re.search(r"(%|\bpercent\b|\bhalf\b)", text, re.I):
            best = next((i for i in top if "%" in kb.sentences[i][0]), best)
        sentence = kb.sentences[best][0]
        if q_turn:
            kb_q: set[str] = set().union(*(kb.qty[i] for i in top))
            kb_num = _numeric(kb_q)
            nums = sorted(kb_num)
            derived = set(kb_num)
            for ia, a in enumerate(nums if len(groups) > 1 else ()):
                for b in nums[ia + 1:]:
                    if a == int(a) and b == int(b):
                        derived.add(a + b)
                        derived.add(b - a)
            kb_months = {x for x in kb_q if x.startswith("month:")}
            for g in groups:
                # a spoken price is read several ways; the group is supported when any reading is
                if all(x.startswith("month:") for x in g):
                    if kb_months and not (g & kb_months):
                        return "contradicted", 0.8, sentence
                    continue
                if not (_numeric(g) & derived) and not (g & {"1"}):
                    return "contradicted", min(0.95, 0.6 + ranked[0][0] / 2), sentence
        for clause in re.split(r"[,;]|\bbut\b|\band\b", text):
            cst = set(content(clause))
            if not cst:
                continue
            cr = kb.ranked(cst)
            if cr and cr[0][0] >= 0.4 and bool(NEG.search(clause)) != kb.neg[cr[0][1]]:
                return "contradicted", 0.75, kb.sentences[cr[0][1]][0]
        if claim and ranked[0][0] < 0.5 and not q_turn:
            return "unsupported", 0.65, sentence
        return None, 0.0, None

    def judge(self, window, ctx) -> list[Verdict]:  # noqa: ANN001
        turn = last(window)
        if turn is None or turn.role != "agent" or not turn.text.strip():
            return []
        passages = ctx.config.passages() if ctx is not None else []
        if not passages:
            return []
        kind, conf, passage = self.assess(turn.text, kb_index(passages))
        if kind is None:
            return []
        if kind == "contradicted":
            reason = f'The agent said "{turn.text.strip()[:140]}", which the knowledge base contradicts: "{passage}"'
        else:
            reason = f'The agent said "{turn.text.strip()[:140]}", which the knowledge base does not support' + (
                f' (nearest passage: "{passage}")' if passage else "")
        return [Verdict("hallucination", "high" if kind == "contradicted" else "medium", conf, "flag", "agent",
                        reason + ".", None)]
