"""Built-in PII detectors over the normalized view's token stream (the Python face of the native core).

Detectors read tokens, not characters, so written and spoken forms are found alike ("4111-1111-…",
"four one one one, …", "jane dot doe at example dot com"). Every hit carries ORIGINAL offsets (through the
tokens' original spans) and a canonical value. Each detector runs independently and in linear time;
:func:`detect_many` / :func:`detect_all` give one finding per value, of its most specific kind (:data:`SPECIFICITY`).
Detectors read the *folded* text (:mod:`trace_engine.text.fold`: fullwidth and Arabic-Indic digits, zero-width
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

What each detector finds, its validator and its value: ``docs/detectors.md``, generated from the registry.

**One definition.** Each detector is defined once, in the native core (``core/src/text/detectors/``: its code and
its registry entry, :class:`DetectorSpec` here); the IR enum, the JSON schemas' enums, the config's PII pattern
names and guardrail rules, the prefilter hints (:data:`MIN_DIGITS`) and ``docs/detectors.md`` are derived from
:data:`DETECTORS`. Adding a detector: :data:`ADDING_A_DETECTOR` (which files, held by a test).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from trace_engine import _core
from trace_engine._core import DetectorHit, aba_ok, luhn_ok, mbi_ok, nanp_ok, ssn_ok
from trace_engine.text.normalize import NormalizedText

__all__ = [
    "DetectorHit",
    "ADDING_A_DETECTOR",
    "DetectorSpec",
    "Guardrail",
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
class Guardrail:
    """The rule a config guardrail (``guardrails.block_pii.patterns``) synthesizes for a detector kind.

    Fields: title, severity, reason (the rule's); ``keep_last`` (mask all but the last N digits) or ``placeholder``
    (replace the value); ``exempt_variable``: the call variable naming values that do not count, or ``None``."""

    title: str
    severity: str
    reason: str
    keep_last: int | None = None
    placeholder: str | None = None
    exempt_variable: str | None = None


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """One detector's registry entry (read from the native core, where it is defined).

    Fields: ``name`` (as packs, configs and findings spell it), ``title`` and ``doc`` (Markdown) for the docs,
    ``examples`` (``(text, value)`` it must find), ``specificity`` (0 is the most specific: one value gives one
    finding of its most specific kind), prefilter hints ``min_digits`` (digits its shortest value has; 0 for a
    detector of words) and ``needs_at`` (it needs an ``at`` token), ``guardrail`` (``None``: config
    ``block_pii`` cannot name it) and ``presidio_entity`` (the Presidio entity type it matches, for benchmarks)."""

    name: str
    title: str
    doc: str
    examples: tuple[tuple[str, str], ...]
    specificity: int
    min_digits: int
    needs_at: bool
    guardrail: Guardrail | None
    presidio_entity: str | None


def _spec(d: dict) -> DetectorSpec:
    g = d["guardrail"]
    return DetectorSpec(
        name=d["name"],
        title=d["title"],
        doc=d["doc"],
        examples=tuple(map(tuple, d["examples"])),
        specificity=d["specificity"],
        min_digits=d["min_digits"],
        needs_at=d["needs_at"],
        guardrail=None if g is None else Guardrail(**g),
        presidio_entity=d["presidio_entity"],
    )


#: The registry: detector name -> its entry, in the order packs and schemas list detectors.
DETECTORS: Mapping[str, DetectorSpec] = MappingProxyType({d["name"]: _spec(d) for d in _core.DETECTOR_SPECS})
#: Most specific first. One value gives one finding: a hit that overlaps a hit of a more specific kind is not
#: reported (spoken card digits are not also a phone number or an SSN; the digits of an e-mail address are not a
#: phone number; a 9-digit number that is both a valid SSN and a valid routing number, with nothing saying it is a
#: routing number, is an SSN).
SPECIFICITY: tuple[str, ...] = tuple(sorted(DETECTORS, key=lambda k: DETECTORS[k].specificity))
#: Digits a numeric detector's shortest valid value has (spoken digits are digits in the normalized view).
MIN_DIGITS: Mapping[str, int] = MappingProxyType({k: s.min_digits for k, s in DETECTORS.items() if s.min_digits})
#: Nouns that introduce a number as some other identifier ("your claim number is 123-45-6789"): not an SSN.
ID_LABELS: frozenset[str] = frozenset(_core.DETECTOR_TABLES["ID_LABELS"])
#: Mail providers that speech recognition splits in two ("g mail", "hot mail", "out look", "ya hoo").
PROVIDER_SPLITS: Mapping[tuple[str, str], str] = MappingProxyType(_core.DETECTOR_TABLES["PROVIDER_SPLITS"])
#: TLDs a spoken domain may end in.
TLDS: frozenset[str] = frozenset(_core.DETECTOR_TABLES["TLDS"])

_NO_EXEMPT: frozenset[str] = frozenset()

#: What adding a detector touches, file -> why (``docs/detectors.md`` shows it; ``tests/test_detector_registry.py``
#: holds it against every file that names a detector). ``"edit"``: written by hand (at most 3); ``"generated"``:
#: rewritten by ``tools/gen_detector_artifacts.py`` (and ``trace docs``), checked for staleness by the tests;
#: ``"only when"``: edits that some detectors need, for the reason given.
ADDING_A_DETECTOR: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "edit": MappingProxyType({
        "core/src/text/detectors/<name>.rs": "the detector, `fn(&mut Ctx, &Exempt) -> Vec<Hit>`, and its Rust unit "
        "tests (a detector over digit windows may live in `numeric.rs` instead)",
        "core/src/text/detectors/mod.rs": "`mod <name>;`, a `Kind` variant and its registry entry: name, title, doc, "
        "examples (found through the core, the Python face and a compiled pack by the tests), specificity, prefilter "
        "hints, canonical form of exempt values, config guardrail, Presidio entity",
        "tests/test_detectors.py": "its cases at the Python face beyond the registry's examples (written, spoken, "
        "near misses)",
    }),
    "generated": MappingProxyType({
        "schemas/rule_pack_schema.json": "the detectors a pack may name",
        "trace_engine/data/rule_pack_schema.json": "the packaged copy of the pack schema",
        "schemas/scorecard-v1.json": "what a redaction hides",
        "docs/detectors.md": "this page",
    }),
    "only when": MappingProxyType({
        "trace_engine/api/openapi_trace.json": "it has a config guardrail: the data contract's `block_pii.patterns` "
        "enum lists it (a contract change is made on purpose, never generated; a test holds the two equal)",
        "trace_engine/bench.py": "a pack that `trace bench` runs names it: the regex baseline's pattern for it",
    }),
})


def canonical_exempt(kind: str, values: Iterable[str]) -> frozenset[str]:
    """Canonicalize exempt values for ``kind`` (digits only for numbers, 10 digits for phones, lower-case
    e-mail, upper-case MBI without separators). Unusable entries are dropped; ``KeyError`` for an unknown kind."""
    return frozenset(_core.canonical_exempt(kind, [v if isinstance(v, str) else str(v) for v in values]))


def detect(kind: str, nt: NormalizedText, exempt: Iterable[str] = _NO_EXEMPT) -> list[DetectorHit]:
    """Run detector ``kind`` over ``nt``. ``exempt`` values (any written form: "(415) 555-0198",
    "+1 415…") are canonicalized and never reported. Raises ``KeyError`` only for an unknown kind."""
    DETECTORS[kind]  # noqa: B018 - an unknown kind raises KeyError before the exempt values are read
    return _core.detect(kind, nt, canonical_exempt(kind, exempt) if exempt else None)


def possible(kind: str, nt: NormalizedText, digits: int) -> bool:
    """Cheap precondition: ``kind`` can have a hit in ``nt`` (``digits``: digit characters in ``nt.text``)."""
    return _core.possible(kind, nt, digits)


def detect_many(
    nt: NormalizedText, requests: Iterable[tuple[str, frozenset[str]]]
) -> list[list[DetectorHit]]:
    """Hits per request ``(kind, canonical exempt values)``, one finding per value: a hit overlapping a hit of a
    more specific kind (:data:`SPECIFICITY`, found whether or not that kind was requested, exempt values
    included) is dropped. Each detector runs at most once per exempt set, and only when :func:`possible`."""
    return _core.detect_many(nt, requests if isinstance(requests, list) else list(requests))


def detect_all(
    nt: NormalizedText,
    kinds: Iterable[str] = tuple(DETECTORS),
    exempt_by_kind: Mapping[str, Iterable[str]] | None = None,
) -> list[DetectorHit]:
    """Run several detectors, one finding per value (:func:`detect_many`); hits sorted by ``(start, end, kind)``."""
    if not exempt_by_kind:  # the common case; the core raises KeyError for an unknown kind
        return _core.detect_all(nt, [(kind, _NO_EXEMPT) for kind in kinds])
    requests = []
    for kind in kinds:
        DETECTORS[kind]  # noqa: B018 - an unknown kind raises KeyError, as detect() does
        exempt = exempt_by_kind.get(kind)
        requests.append((kind, canonical_exempt(kind, exempt) if exempt else _NO_EXEMPT))
    return _core.detect_all(nt, requests)


def detectors_markdown() -> str:
    """``docs/detectors.md``: every built-in detector, from its registry entry."""
    lines = [
        "# Built-in detectors",
        "",
        "Generated by `trace docs` from the detector registry (`core/src/text/detectors/mod.rs`); do not edit.",
        "",
        "A rule names a detector with `detector KIND` (`must_not_say detector us_phone excluding callback_numbers`).",
        "Detectors read the normalized view's tokens, so written, spoken and evasive forms are found alike; each hit",
        "carries the original characters to mask and a canonical value (exempt values are compared in that form).",
        "One value gives one finding, of its most specific kind (the order below, most specific first).",
        "",
        "| detector | finds | min. digits | config guardrail |",
        "|---|---|---|---|",
    ]
    for kind in SPECIFICITY:
        spec = DETECTORS[kind]
        g = spec.guardrail
        guard = "—" if g is None else f"`block_pii: {kind}` ({g.severity})"
        digits = str(spec.min_digits) if spec.min_digits else ("an `at`" if spec.needs_at else "—")
        lines.append(f"| [`{kind}`](#{kind}) | {spec.title} | {digits} | {guard} |")
    for kind in SPECIFICITY:
        spec = DETECTORS[kind]
        lines += ["", f"## {kind}", "", f"**{spec.title}.** {spec.doc}", ""]
        lines += [f"- `{text}` → `{value}`" for text, value in spec.examples]
        g = spec.guardrail
        if g is not None:
            remedy = f"masked but the last {g.keep_last} digits" if g.keep_last else f"replaced by `{g.placeholder}`"
            exempt = f"; values in `{g.exempt_variable}` do not count" if g.exempt_variable else ""
            lines += ["", f"Config guardrail `guardrails.block_pii: [{kind}]`: \"{g.title}\" ({g.severity}), {remedy}{exempt}."]
    intros = {
        "edit": "Files written by hand (a test holds this list against the repository):",
        "generated": "Then `make install` (rebuilds the core) and `.venv/bin/python tools/gen_detector_artifacts.py`, "
        "which rewrites (the tests fail while one is stale):",
        "only when": "Only when:",
    }
    lines += ["", "## Adding a detector"]
    for group, intro in intros.items():
        lines += ["", intro, ""]
        lines += [f"- `{path}`: {why}." for path, why in ADDING_A_DETECTOR[group].items()]
    lines += [
        "",
        "Everything else follows the registry at import: `ir.DETECTORS`, the DSL's check of detector names, the",
        "config's `block_pii` patterns and the guardrail rules, the prefilter's hints, the scorecard's redaction kinds",
        "and the quality benchmark's entity map. A detector more specific than one of the frozen reference's kinds",
        "(`tests/reference_gate`) may take values from it: the equivalence tests show each such change, for review.",
    ]
    return "\n".join(lines) + "\n"
