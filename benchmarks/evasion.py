"""Evasion table: does the gate still catch a violation written to slip past it (issue 11)?

    .venv/bin/python benchmarks/evasion.py                  # the table + false positives on the corpora
    .venv/bin/python benchmarks/evasion.py --no-corpora     # the table only (a second)
    options: --sgd-calls N (default 2000)  --json-only  --out FILE

1. ``table``: every evasion class in :data:`CASES` (written and spoken: other digit scripts, "niner", per-digit
   separators, confusable letters, spelled-out words, invisible characters, bidi controls, compatibility forms,
   Unicode spaces…), each case through the real gate (:class:`~trace_engine.Engine` with the built-in tcpa,
   hipaa, pii, brand_voice and debt_collection packs, modify mode). A case is **caught** when the rule it breaks
   reports a finding; for a PII case it is also **masked** when the modified text keeps none of the value's
   characters but the last four digits the remedy keeps. Goal: every case caught and masked.
2. ``corpora``: every agent turn of the repository's ``corpora/``, ``../shared/corpora/taskmaster_calls.jsonl``
   and the first ``--sgd-calls`` SGD calls through the same gate; findings per rule. Run it before and after a
   normalization change: a rule whose count grows is a new false positive to review.

``tests/test_evasion.py`` asserts the catch list, one test per evasion class.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from trace_engine.gate import Engine  # noqa: E402
from trace_engine.shared_data import shared_dir  # noqa: E402
from trace_engine.text.fold import fold  # noqa: E402
from trace_engine.transcripts import Transcript, iter_records  # noqa: E402

SHARED = shared_dir()
PACKS = ("tcpa", "hipaa", "pii", "brand_voice", "debt_collection")
CONFIG = {
    "rule_packs": {p: {"enabled": True} for p in PACKS},
    "guardrails": {"mode": "modify", "inline_timeout_ms": 60000},
}
METADATA = {
    "direction": "outbound",
    "call_purpose": "telemarketing",
    "business_name": "Acme Solar",
    "agent_name": "Sam",
    "callback_numbers": ["415-555-0198"],
}

# ------------------------------------------------------------------------------------------ transformations


def _shift_digits(zero: int) -> Callable[[str], str]:
    return lambda s: "".join(chr(zero + ord(c) - 48) if "0" <= c <= "9" else c for c in s)


def _shift_letters(lower_a: int, upper_a: int | None = None) -> Callable[[str], str]:
    def f(s: str) -> str:
        out = []
        for c in s:
            if "a" <= c <= "z":
                out.append(chr(lower_a + ord(c) - 97))
            elif "A" <= c <= "Z" and upper_a is not None:
                out.append(chr(upper_a + ord(c) - 65))
            else:
                out.append(c)
        return "".join(out)

    return f


def _inside(mark: str) -> Callable[[str], str]:
    """Put ``mark`` between every two characters of every word (letters and digits)."""

    def f(s: str) -> str:
        out = []
        for i, c in enumerate(s):
            out.append(c)
            if c.isalnum() and i + 1 < len(s) and s[i + 1].isalnum():
                out.append(mark)
        return "".join(out)

    return f


def _wrap(before: str, after: str) -> Callable[[str], str]:
    return lambda s: before + s + after


def _translate(table: dict[str, str]) -> Callable[[str], str]:
    t = str.maketrans(table)
    return lambda s: s.translate(t)


_SUPERSCRIPT = {str(d): s for d, s in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}
_CYRILLIC = {"a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "i": "і", "s": "ѕ", "j": "ј"}
_GREEK = {"a": "α", "o": "ο", "v": "ν", "p": "ρ", "i": "ι", "u": "υ", "k": "κ"}
_ALL_LOOKALIKE = {
    "a": "а", "c": "с", "d": "ԁ", "e": "е", "g": "ɡ", "h": "һ", "i": "і", "j": "ј", "n": "ո", "o": "о",
    "p": "р", "q": "ԛ", "r": "г", "s": "ѕ", "t": "т", "u": "ս", "w": "ԝ", "x": "х", "y": "у",
}


def _spell(sep: str) -> Callable[[str], str]:
    """Spell the longest word out letter by letter."""

    def f(s: str) -> str:
        words = [w for w in s.split() if w.isalpha()]
        word = max(words, key=len)
        return s.replace(word, sep.join(word), 1)

    return f


def _zalgo(s: str) -> str:
    return "".join(c + "\u0301\u0316" if c.isalpha() else c for c in s)


# ------------------------------------------------------------------------------------------ cases

#: targets: (name, rule, text, the part of the text an evasion rewrites, value characters that must be masked)
TARGETS = {
    "ssn": ("pii-004", "the social on file is {}", "123-45-6789"),
    "card": ("pii-001", "the card on file is {}", "4111 1111 1111 1111"),
    "email": ("pii-005", "i have your email as {}", "jane.doe@example.com"),
    "guarantee": ("brand-001", "{} or your money back", "results guaranteed"),
    "urgency": ("brand-003", "{} before it is gone", "act now"),
    "cvv": ("pii-002", "can you read me the {} please", "cvv"),
}

#: (class, description, target, transformation of the target's text)
EVASIONS: list[tuple[str, str, str, Callable[[str], str]]] = [
    # digits of other scripts and forms
    ("fullwidth_digits", "fullwidth digits", "ssn", _shift_digits(0xFF10)),
    ("fullwidth_digits", "fullwidth digits", "card", _shift_digits(0xFF10)),
    ("arabic_indic_digits", "Arabic-Indic digits", "ssn", _shift_digits(0x0660)),
    ("arabic_indic_digits", "extended Arabic-Indic (Persian) digits", "ssn", _shift_digits(0x06F0)),
    ("arabic_indic_digits", "Arabic-Indic digits", "card", _shift_digits(0x0660)),
    ("other_script_digits", "Devanagari digits", "ssn", _shift_digits(0x0966)),
    ("other_script_digits", "Bengali digits", "card", _shift_digits(0x09E6)),
    ("other_script_digits", "Thai digits", "ssn", _shift_digits(0x0E50)),
    ("math_digits", "mathematical bold digits", "ssn", _shift_digits(0x1D7CE)),
    ("math_digits", "mathematical double-struck digits", "card", _shift_digits(0x1D7D8)),
    ("math_digits", "mathematical monospace digits", "ssn", _shift_digits(0x1D7F6)),
    ("superscript_digits", "superscript digits", "ssn", _translate(_SUPERSCRIPT)),
    ("mixed_script_digits", "ASCII and Arabic-Indic digits mixed", "card",
     lambda s: s[:5] + _shift_digits(0x0660)(s[5:10]) + _shift_digits(0xFF10)(s[10:])),
    # digit separators
    ("per_digit_separators", "a hyphen between every digit", "ssn", lambda s: "-".join(c for c in s if c.isdigit())),
    ("per_digit_separators", "a hyphen between every digit", "card", lambda s: "-".join(c for c in s if c.isdigit())),
    ("per_digit_separators", "a dot between every digit", "ssn", lambda s: ".".join(c for c in s if c.isdigit())),
    ("per_digit_separators", "a space between every digit", "card", lambda s: " ".join(c for c in s if c.isdigit())),
    ("per_digit_separators", "a slash between every digit", "ssn", lambda s: "/".join(c for c in s if c.isdigit())),
    # spoken
    ("spoken_niner", "digits spoken, nine as niner", "ssn", lambda s: "one two three, four five, six seven eight niner"),
    ("spoken_niner", "niner twice, no pauses", "ssn", lambda s: "one two niner four five six seven eight niner"),
    ("spoken_digits", "digits spoken with double and oh", "card",
     lambda s: "four one double one, double one double one, one one double one, one triple one"),
    ("spoken_digits", "digits spoken with fillers", "ssn", lambda s: "one two three, uh, four five, um, six seven eight nine"),
    # invisible characters
    ("zero_width", "zero-width space inside every word", "guarantee", _inside("\u200b")),
    ("zero_width", "zero-width joiner inside every word", "guarantee", _inside("\u200d")),
    ("zero_width", "zero-width non-joiner inside every word", "urgency", _inside("\u200c")),
    ("zero_width", "word joiner inside every word", "cvv", _inside("\u2060")),
    ("zero_width", "zero-width space between digits", "ssn", _inside("\u200b")),
    ("zero_width", "zero-width joiner inside the e-mail", "email", _inside("\u200d")),
    ("soft_hyphen", "soft hyphen inside every word", "guarantee", _inside("\u00ad")),
    ("soft_hyphen", "soft hyphen between digits", "card", _inside("\u00ad")),
    ("bom", "byte order mark inside every word", "urgency", _inside("\ufeff")),
    ("bidi_controls", "right-to-left override around the phrase", "guarantee", _wrap("\u202e", "\u202c")),
    ("bidi_controls", "left-to-right/right-to-left marks inside words", "guarantee", _inside("\u200f")),
    ("bidi_controls", "bidi isolates around the number", "ssn", _wrap("\u2067", "\u2069")),
    ("bidi_controls", "bidi embedding inside words", "cvv", _inside("\u202b")),
    ("variation_selectors", "variation selectors inside words", "guarantee", _inside("\ufe0f")),
    ("tag_characters", "invisible tag characters inside words", "urgency", _inside("\U000e0020")),
    ("combining_marks", "combining marks on every letter (zalgo)", "guarantee", _zalgo),
    ("combining_marks", "combining grapheme joiner inside words", "cvv", _inside("\u034f")),
    # confusable letters
    ("cyrillic_confusables", "Cyrillic е for e", "guarantee", _translate({"e": "е"})),
    ("cyrillic_confusables", "Cyrillic а, е, о, с, р", "guarantee", _translate(_CYRILLIC)),
    ("cyrillic_confusables", "Cyrillic letters in the e-mail", "email", _translate({"a": "а", "e": "е", "o": "о"})),
    ("greek_confusables", "Greek α, ο, ν", "urgency", _translate(_GREEK)),
    ("mixed_scripts", "every letter a lookalike from another script", "guarantee", _translate(_ALL_LOOKALIKE)),
    ("mixed_scripts", "upper case with Cyrillic and Greek capitals", "guarantee",
     lambda s: s.upper().translate(str.maketrans({"E": "Е", "A": "Α", "T": "Т"}))),
    # compatibility forms
    ("fullwidth_letters", "fullwidth letters", "guarantee", _shift_letters(0xFF41, 0xFF21)),
    ("fullwidth_letters", "fullwidth e-mail with fullwidth @ and dot",
     "email", lambda s: _shift_letters(0xFF41, 0xFF21)(s).replace("@", "＠").replace(".", "．")),
    ("math_letters", "mathematical bold letters", "guarantee", _shift_letters(0x1D41A, 0x1D400)),
    ("math_letters", "mathematical script letters", "urgency", _shift_letters(0x1D4EA, 0x1D4D0)),
    ("circled_letters", "circled letters", "cvv", _shift_letters(0x24D0, 0x24B6)),
    ("ligatures", "ligature and small capital", "guarantee", lambda s: s.replace("r", "ʀ")),
    # spacing
    ("spelled_letters", "letters separated by spaces", "guarantee", _spell(" ")),
    ("spelled_letters", "letters separated by dots", "guarantee", _spell(".")),
    ("spelled_letters", "letters separated by hyphens", "urgency", lambda s: "a-c-t n-o-w"),
    ("spelled_letters", "letters separated by underscores", "cvv", _spell("_")),
    ("spelled_letters", "letters separated by stars", "guarantee", _spell("*")),
    ("spelled_letters", "letters separated by spaced dots", "cvv", _spell(" . ")),
    ("unicode_spaces", "no-break space between words", "urgency", lambda s: s.replace(" ", "\u00a0")),
    ("unicode_spaces", "ideographic space between words", "urgency", lambda s: s.replace(" ", "\u3000")),
    ("unicode_spaces", "narrow no-break and thin spaces", "guarantee", lambda s: s.replace(" ", "\u202f\u2009")),
    ("unicode_spaces", "line separator between words", "urgency", lambda s: s.replace(" ", "\u2028")),
    ("unicode_spaces", "no-break spaces in a card number", "card", lambda s: s.replace(" ", "\u00a0")),
    # combinations
    ("combined", "spelled, Cyrillic and zero-width at once", "guarantee",
     lambda s: _inside("\u200b")(_translate({"e": "е"})(_spell(" ")(s)))),
    ("combined", "fullwidth digits with zero-width spaces and NBSP", "card",
     lambda s: _inside("\u200b")(_shift_digits(0xFF10)(s)).replace(" ", "\u00a0")),
    ("combined", "upper case, bidi override and soft hyphens", "urgency",
     lambda s: "\u202e" + _inside("\u00ad")(s.upper()) + "\u202c"),
]


def cases() -> list[dict[str, Any]]:
    """The plain control case of every target, then every evasion."""
    out = []
    for target, (rule, template, value) in TARGETS.items():
        out.append({"class": "plain", "description": "no evasion (control)", "target": target, "rule": rule,
                    "text": template.format(value), "value": value})
    for cls, description, target, transform in EVASIONS:
        rule, template, value = TARGETS[target]
        evaded = transform(value)
        out.append({"class": cls, "description": description, "target": target, "rule": rule,
                    "text": template.format(evaded), "value": evaded})
    return out


_PII_TARGETS = {"ssn", "card", "email"}


_DIGIT_WORDS = ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "niner")


def _masked(case: dict[str, Any], output: str) -> bool:
    """The modified text keeps nothing of the value but the last four digits a mask may keep."""
    text, value = case["text"], case["value"]
    prefix = text[: text.index(value)]
    at = output.find(prefix)  # modify mode may inject a disclosure before the turn
    if at < 0:
        return False
    rest = fold(output[at + len(prefix) :])[0].casefold()
    if case["target"] == "email":
        return "@" not in rest and "jane" not in rest and "example" not in rest
    digits = sum(ch.isdigit() for ch in rest)
    spoken = sum(rest.split().count(w) for w in _DIGIT_WORDS)
    return digits + spoken <= 4


def run_table(engine: Engine) -> dict[str, Any]:
    rows = []
    for k, case in enumerate(cases()):
        call = engine.start_call(f"evasion-{k}", metadata=METADATA)
        decision = call.agent_turn(case["text"])
        rules = sorted({f.rule_id for f in decision.findings})
        caught = case["rule"] in rules
        row = {**case, "caught": caught, "rules": rules}
        if case["target"] in _PII_TARGETS:
            row["masked"] = caught and _masked(case, decision.text or "")
            row["output"] = decision.text
        rows.append(row)
    per_class: dict[str, dict[str, int]] = {}
    for row in rows:
        c = per_class.setdefault(row["class"], {"cases": 0, "caught": 0})
        c["cases"] += 1
        c["caught"] += row["caught"]
    evasions = [r for r in rows if r["class"] != "plain"]
    pii = [r for r in evasions if "masked" in r]
    return {
        "cases": len(evasions),
        "caught": sum(r["caught"] for r in evasions),
        "classes": len({r["class"] for r in evasions}),
        "pii_cases": len(pii),
        "pii_masked": sum(r["masked"] for r in pii),
        "controls_caught": all(r["caught"] for r in rows if r["class"] == "plain"),
        "per_class": per_class,
        "rows": rows,
    }


def _agent_turns(path: Path, limit: int | None) -> Iterable[tuple[str, list[str]]]:
    n = 0
    for rec in iter_records(str(path)):
        if not isinstance(rec, Transcript):
            continue
        if limit is not None and n >= limit:
            return
        n += 1
        yield rec.call_id, [text for role, text, _t in rec.turns if role == "agent"]


def run_corpora(engine: Engine, sgd_calls: int) -> dict[str, Any]:
    sources = [
        ("repo corpora/", sorted((REPO / "corpora").glob("*.jsonl")), None),
        ("taskmaster", [SHARED / "corpora" / "taskmaster_calls.jsonl"], None),
        ("sgd", [SHARED / "corpora" / "sgd_calls.jsonl"], sgd_calls),
    ]
    out: dict[str, Any] = {}
    for name, paths, limit in sources:
        per_rule: collections.Counter[str] = collections.Counter()
        calls = turns = 0
        for path in paths:
            if not path.exists():
                continue
            for call_id, texts in _agent_turns(path, limit):
                calls += 1
                call = engine.start_call(call_id, metadata=METADATA)
                for text in texts:
                    turns += 1
                    for f in call.agent_turn(text).findings:
                        per_rule[f.rule_id] += 1
        out[name] = {"calls": calls, "agent_turns": turns, "findings_per_rule": dict(sorted(per_rule.items()))}
    return out


def summary(res: dict[str, Any]) -> Iterable[str]:
    t = res["table"]
    yield (f"== Evasions: {t['caught']}/{t['cases']} caught across {t['classes']} classes; PII masked "
           f"{t['pii_masked']}/{t['pii_cases']}; plain controls caught: {t['controls_caught']}")
    for row in t["rows"]:
        mark = "caught" if row["caught"] else "MISSED"
        masked = "" if "masked" not in row else ("  masked" if row["masked"] else "  NOT MASKED")
        yield f"  {mark:6} {row['class']:22} {row['target']:9} {row['description']}{masked}  {row['text']!r}"
    for name, c in res.get("corpora", {}).items():
        yield f"== {name}: {c['calls']} calls, {c['agent_turns']} agent turns; findings per rule: {c['findings_per_rule']}"
    yield f"(cpu {res['cpu_s']} s)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-corpora", action="store_true", help="only the evasion table")
    ap.add_argument("--sgd-calls", type=int, default=2000, help="SGD calls for the false-positive check")
    ap.add_argument("--json-only", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    started = time.process_time()
    engine = Engine.from_config(CONFIG)
    res: dict[str, Any] = {"table": run_table(engine)}
    if not args.no_corpora:
        res["corpora"] = run_corpora(engine, args.sgd_calls)
    res["cpu_s"] = round(time.process_time() - started, 1)
    doc = json.dumps(res, indent=2, ensure_ascii=False)
    print(doc)
    if args.out:
        args.out.write_text(doc + "\n", encoding="utf-8")
    if not args.json_only:
        print("\n".join(summary(res)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
