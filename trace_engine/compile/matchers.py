"""Matchers → one Aho-Corasick automaton, RE2 regexes gated by literal atoms, and detectors.

Every matcher of every enabled rule is flattened into *leaves*:

* a **plain phrase** ("stop calling me") is its own key in the automaton: a hit on word boundaries is a match;
* a **template phrase** ("calling from {business_name}", "take me off * list") contributes its longest literal
  segment as an atom; a hit on the atom is verified against the whole template at that place, with variables
  resolved per call. ``{name|*}`` is the variable's value, or a ``*`` gap when the call has none ("calling from
  {business_name|*}": the configured business, else some name); an article may stand before a variable's value
  ("calling from the acme solar");
* a **regex** contributes its literal atoms (YARA-style); RE2 runs over the normalized text only when an atom hit,
  or on every turn when the regex has no atom (lint warns about those);
* a **detector** runs when its cheap precondition holds (digits in the turn, or an ``at`` token for email); one
  value gives one finding of its most specific kind (:func:`~trace_engine.text.detectors.detect_many`).

Scanning a turn returns ``{matcher_id: [(start, end, kind), ...]}`` with spans in the turn's *original* text, so
``unless`` overlap tests, redaction and explain output all speak the same coordinates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ahocorasick
import re2

from trace_engine import ir
from trace_engine.compile.atoms import extract_atoms
from trace_engine.compile.prefilter import (
    AT_KINDS,
    Prefilter,
    build_prefilter,
    choose_atoms,
    conjunction,
    detector_hints,
    regex_atom_words,
)
from trace_engine.text import NormalizedText, detect_many, normalize_phrase

Span = tuple[int, int, str | None]  # original start, original end, detector kind (None for phrases and regexes)

GAP = "*"
GAP_MAX_WORDS = 3
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 8 << 20


def _is_var(token: str) -> bool:
    return len(token) > 2 and token[0] == "{" and token[-1] == "}"


def _var_parts(token: str) -> tuple[str, bool]:
    """``{name}`` -> ``(name, False)``; ``{name|*}`` -> ``(name, True)``: a gap stands in when the value is missing."""
    name, _, fallback = token[1:-1].partition("|")
    return name, fallback == GAP


#: Words that may stand before a variable's value without being part of it.
ARTICLES = frozenset({"the", "a", "an"})


@dataclass(slots=True)
class PhraseTemplate:
    """A phrase with ``{variables}`` or ``*`` gaps, as a token pattern.

    Fields:
        elements: tokens; ``"{name}"`` for a variable and ``"*"`` for a gap of 1..3 words.
        anchor: index of the literal element used as the atom.
        anchor_len: number of consecutive literal tokens starting at ``anchor`` covered by the atom.
        variables: variable names used.
        required: the variables without a ``|*`` fallback (the phrase cannot match on a call without them).
    """

    elements: tuple[str, ...]
    anchor: int
    anchor_len: int
    variables: tuple[str, ...]
    required: tuple[str, ...] = ()


@dataclass(slots=True)
class CompiledMatchers:
    """The scan machinery for a pack set. Picklable: RE2 objects are rebuilt on load."""

    matcher_count: int = 0
    automaton: Any = None
    #: per phrase leaf: (matcher ids, template or None)
    phrase_leaves: list[tuple[tuple[int, ...], PhraseTemplate | None]] = field(default_factory=list)
    #: phrase leaves made only of variables: verified by a direct search per turn
    atomless_phrases: list[int] = field(default_factory=list)
    #: per regex leaf: (matcher ids, source, runs on every turn)
    regex_leaves: list[tuple[tuple[int, ...], str, bool]] = field(default_factory=list)
    #: per detector leaf: (matcher ids, kind, exempt variable)
    detector_leaves: list[tuple[tuple[int, ...], str, str | None]] = field(default_factory=list)
    #: longest phrase/atom in tokens (for the streaming hold-back), with gaps counted at their maximum
    max_phrase_tokens: int = 1
    variables: frozenset[str] = frozenset()
    #: matcher id -> per leaf, the variables it needs; only for matchers whose every leaf needs one
    matcher_vars: dict[int, tuple[frozenset[str], ...]] = field(default_factory=dict)
    #: "nothing can match" tests: ``prefilter`` for agent turns (the matchers checked in agent turns),
    #: ``caller_prefilter`` for caller turns (caller cues and caller state steps) and ``answer_prefilter`` for caller
    #: turns while a question is open (also the answer steps and the cues that answer a question); all keep the
    #: detectors, whose hits are redacted from stored text whoever spoke
    prefilter: Prefilter | None = None
    caller_prefilter: Prefilter | None = None
    answer_prefilter: Prefilter | None = None
    #: matcher id -> the turns it is tested on (``agent``, ``caller``, ``answer``); absent: all of them
    speakers: dict[int, frozenset[str]] = field(default_factory=dict)
    _regexes: list[Any] = field(default_factory=list, repr=False)
    _always_regexes: tuple[int, ...] = ()
    _digit_detectors: tuple[int, ...] = ()
    _email_detectors: tuple[int, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__ if name != "_regexes"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self._regexes = [re2.compile(src, _OPTIONS) for _, src, _ in self.regex_leaves]

    # ----------------------------------------------------------------------------------------- scanning

    def scan(
        self,
        nt: NormalizedText,
        var_tokens: Mapping[str, tuple[str, ...] | None],
        exempt: Mapping[str, frozenset[str]],
    ) -> dict[int, list[Span]]:
        """All matches in one turn, keyed by matcher id; empty when nothing matched."""
        found: dict[int, list[Span]] = {}
        text = nt.text
        if not text:
            return found
        regex_due: set[int] | None = None
        automaton = self.automaton
        if automaton is not None:
            n = len(text)
            for end, payload in automaton.iter(text):
                stop = end + 1
                ends_word = stop == n or text[stop] == " "
                for is_regex, leaf, length in payload:
                    if is_regex:
                        if regex_due is None:
                            regex_due = set()
                        regex_due.add(leaf)
                        continue
                    start = stop - length
                    if not ends_word or (start and text[start - 1] != " "):
                        continue
                    ids, template = self.phrase_leaves[leaf]
                    if template is None:
                        self._add(found, ids, nt, start, stop)
                    else:
                        span = _verify_template(template, nt, start, var_tokens)
                        if span is not None:
                            self._add(found, ids, nt, span[0], span[1])
        for leaf in self.atomless_phrases:
            ids, template = self.phrase_leaves[leaf]
            for start, stop in _search_template(template, nt, var_tokens):
                self._add(found, ids, nt, start, stop)
        for leaf in self._always_regexes:
            if regex_due is None:
                regex_due = set()
            regex_due.add(leaf)
        if regex_due:
            for leaf in sorted(regex_due):
                ids = self.regex_leaves[leaf][0]
                for match in self._regexes[leaf].finditer(text):
                    if match.end() > match.start():
                        self._add(found, ids, nt, match.start(), match.end())
        if self.detector_leaves:
            self._run_detectors(found, nt, exempt)
        for spans in found.values():
            if len(spans) > 1:
                spans[:] = sorted(set(spans))  # several leaves of one matcher may report in any order
        return found

    def _run_detectors(
        self, found: dict[int, list[Span]], nt: NormalizedText, exempt: Mapping[str, frozenset[str]]
    ) -> None:
        leaves = self.detector_leaves
        requests = [(kind, exempt.get(var, frozenset()) if var else frozenset()) for _, kind, var in leaves]
        for (ids, kind, _), hits in zip(leaves, detect_many(nt, requests), strict=True):
            for hit in hits:
                _add_span(found, ids, (hit.start, hit.end, kind))

    @staticmethod
    def _add(found: dict[int, list[Span]], ids: tuple[int, ...], nt: NormalizedText, start: int, stop: int) -> None:
        ostart, oend = nt.to_original(start, stop)
        _add_span(found, ids, (ostart, oend, None))


def _tested_on(owners: list[int], wanted: set[str], speakers: Mapping[int, frozenset[str]] | None) -> bool:
    return speakers is None or any(mid not in speakers or not wanted.isdisjoint(speakers[mid]) for mid in owners)


def _add_span(found: dict[int, list[Span]], ids: tuple[int, ...], span: Span) -> None:
    for mid in ids:
        spans = found.get(mid)
        if spans is None:
            found[mid] = [span]
        elif spans[-1] != span:  # hits arrive in text order, so a repeat can only be the last one
            spans.append(span)


# --------------------------------------------------------------------------------------------- templates


def _token_index(nt: NormalizedText, offset: int) -> int:
    return nt.token_at(offset)


def _match_forward(
    elements: tuple[str, ...], tokens: list[str], pos: int, var_tokens: Mapping[str, tuple[str, ...] | None]
) -> int | None:
    """Match ``elements`` against ``tokens`` from ``pos``; return the index after the match (shortest gaps first)."""
    if not elements:
        return pos
    head, rest = elements[0], elements[1:]
    if head == GAP:
        for width in range(1, GAP_MAX_WORDS + 1):
            if pos + width > len(tokens):
                break
            got = _match_forward(rest, tokens, pos + width, var_tokens)
            if got is not None:
                return got
        return None
    if _is_var(head):
        name, gap = _var_parts(head)
        value = var_tokens.get(name)
        if not value:
            return _match_forward((GAP, *rest), tokens, pos, var_tokens) if gap else None
        if pos < len(tokens) and tokens[pos] in ARTICLES and value[0] != tokens[pos]:
            pos += 1  # "from the acme solar"
        if tuple(tokens[pos : pos + len(value)]) != value:
            return None
        return _match_forward(rest, tokens, pos + len(value), var_tokens)
    if pos < len(tokens) and tokens[pos] == head:
        return _match_forward(rest, tokens, pos + 1, var_tokens)
    return None


def _match_backward(
    elements: tuple[str, ...], tokens: list[str], end: int, var_tokens: Mapping[str, tuple[str, ...] | None]
) -> int | None:
    """Match ``elements`` so that they end just before token ``end``; return the start token index."""
    if not elements:
        return end
    head, rest = elements[-1], elements[:-1]
    if head == GAP:
        for width in range(1, GAP_MAX_WORDS + 1):
            if end - width < 0:
                break
            got = _match_backward(rest, tokens, end - width, var_tokens)
            if got is not None:
                return got
        return None
    if _is_var(head):
        name, gap = _var_parts(head)
        value = var_tokens.get(name)
        if not value:
            return _match_backward((*rest, GAP), tokens, end, var_tokens) if gap else None
        start = end - len(value)
        if start < 0 or tuple(tokens[start:end]) != value:
            return None
        got = _match_backward(rest, tokens, start, var_tokens)
        if got is None and start > 0 and tokens[start - 1] in ARTICLES:
            got = _match_backward(rest, tokens, start - 1, var_tokens)  # "from the acme solar"
        return got
    if end - 1 >= 0 and tokens[end - 1] == head:
        return _match_backward(rest, tokens, end - 1, var_tokens)
    return None


def _token_span(nt: NormalizedText, first: int, last_exclusive: int) -> tuple[int, int]:
    start = nt.norm_starts[first]
    stop = nt.norm_starts[last_exclusive - 1] + len(nt.tokens[last_exclusive - 1])
    return start, stop


def _verify_template(
    template: PhraseTemplate, nt: NormalizedText, atom_start: int, var_tokens: Mapping[str, tuple[str, ...] | None]
) -> tuple[int, int] | None:
    anchor_tok = _token_index(nt, atom_start)
    tokens = nt.tokens
    elements = template.elements
    first = _match_backward(elements[: template.anchor], tokens, anchor_tok, var_tokens)
    if first is None:
        return None
    after = _match_forward(
        elements[template.anchor + template.anchor_len :], tokens, anchor_tok + template.anchor_len, var_tokens
    )
    if after is None or after == first:
        return None
    return _token_span(nt, first, after)


def _search_template(
    template: PhraseTemplate, nt: NormalizedText, var_tokens: Mapping[str, tuple[str, ...] | None]
) -> list[tuple[int, int]]:
    """Find a variable-led template with no literal atom by locating the first variable's value."""
    first_var = next((e for e in template.elements if _is_var(e)), None)
    value = var_tokens.get(_var_parts(first_var)[0]) if first_var else None
    if not value:
        return []
    needle = " ".join(value)
    text = nt.text
    out: list[tuple[int, int]] = []
    pos = text.find(needle)
    while pos != -1:
        if (pos == 0 or text[pos - 1] == " ") and (pos + len(needle) == len(text) or text[pos + len(needle)] == " "):
            anchor_tok = _token_index(nt, pos)
            idx = template.elements.index(first_var)
            first = _match_backward(template.elements[:idx], nt.tokens, anchor_tok, var_tokens)
            after = _match_forward(template.elements[idx:], nt.tokens, anchor_tok, var_tokens)
            if first is not None and after is not None and after > first:
                out.append(_token_span(nt, first, after))
        pos = text.find(needle, pos + 1)
    return out


def _template_of(tokens: tuple[str, ...]) -> PhraseTemplate:
    best, best_len, run_start = -1, 0, None
    for i, token in enumerate((*tokens, GAP)):
        literal = token != GAP and not _is_var(token)
        if literal and run_start is None:
            run_start = i
        elif not literal and run_start is not None:
            length = sum(len(t) for t in tokens[run_start:i])
            if length > best_len:
                best, best_len = run_start, length
                best_run = i - run_start
            run_start = None
    parts = [_var_parts(t) for t in tokens if _is_var(t)]
    variables = tuple(name for name, _ in parts)
    required = tuple(name for name, gap in parts if not gap)
    if best < 0:
        return PhraseTemplate(tokens, -1, 0, variables, required)
    return PhraseTemplate(tokens, best, best_run, variables, required)


# --------------------------------------------------------------------------------------------- building


class MatcherBuilder:
    """Assigns ids to IR matchers and accumulates their leaves; :meth:`build` makes the automaton."""

    def __init__(self) -> None:
        self._ids: dict[ir.Matcher, int] = {}
        self._phrase_leaf: dict[tuple[str, ...], int] = {}
        self._regex_leaf: dict[str, int] = {}
        self._detector_leaf: dict[tuple[str, str | None], int] = {}
        self._leaf_matchers: dict[tuple[str, int], list[int]] = {}
        self.out = CompiledMatchers()
        self._phrase_tokens: list[tuple[str, ...]] = []

    def add(self, matcher: ir.Matcher) -> int:
        """The id of ``matcher`` (equal matchers share one id)."""
        known = self._ids.get(matcher)
        if known is not None:
            return known
        mid = len(self._ids)
        self._ids[matcher] = mid
        members = matcher.members if isinstance(matcher, ir.AnyOf) else (matcher,)
        for member in members:
            self._add_leaf(member, mid)
        return mid

    def _link(self, kind: str, leaf: int, mid: int) -> None:
        owners = self._leaf_matchers.setdefault((kind, leaf), [])
        if mid not in owners:
            owners.append(mid)

    def _add_leaf(self, member: ir.Matcher, mid: int) -> None:
        if isinstance(member, ir.Phrases):
            for phrase in member.items:
                tokens = tuple(normalize_phrase(phrase).split())
                if not tokens:
                    continue  # lint TL002 reports a phrase that normalizes to nothing
                leaf = self._phrase_leaf.get(tokens)
                if leaf is None:
                    leaf = len(self._phrase_tokens)
                    self._phrase_leaf[tokens] = leaf
                    self._phrase_tokens.append(tokens)
                self._link("phrase", leaf, mid)
        elif isinstance(member, ir.Regex):
            leaf = self._regex_leaf.setdefault(member.source, len(self._regex_leaf))
            self._link("regex", leaf, mid)
        elif isinstance(member, ir.Detector):
            key = (member.kind, member.exempt)
            leaf = self._detector_leaf.setdefault(key, len(self._detector_leaf))
            self._link("detector", leaf, mid)
        elif isinstance(member, ir.AnyOf):
            for inner in member.members:
                self._add_leaf(inner, mid)
        else:  # pragma: no cover - the IR admits nothing else
            raise TypeError(f"not a matcher: {member!r}")

    def _prefilter(
        self,
        speaker: set[str],
        speakers: Mapping[int, frozenset[str]] | None,
        regex_atoms: list[tuple[str, ...] | None],
    ) -> Prefilter:
        """The prefilter of some turns, over the leaves of the matchers tested on them (see :meth:`build`)."""
        out = self.out
        phrase_atoms: list[tuple[str, ...] | None] = []
        conjunctions: list[tuple[str, ...]] = []
        needle_variables: list[str] = []
        for leaf, tokens in enumerate(self._phrase_tokens):
            if not _tested_on(self._leaf_matchers[("phrase", leaf)], speaker, speakers):
                continue
            atoms = choose_atoms(tokens)
            if atoms is not None:
                phrase_atoms.append(atoms)
                continue
            literal = conjunction(tokens)
            if literal:
                conjunctions.append(literal)
            else:  # only variables and gaps: look for the call's value of the first variable
                needle_variables.append(next(_var_parts(t)[0] for t in tokens if _is_var(t)))
        regexes = [
            atoms
            for leaf, atoms in enumerate(regex_atoms)
            if _tested_on(self._leaf_matchers[("regex", leaf)], speaker, speakers)
        ]
        return build_prefilter(
            phrase_atoms,
            regexes,
            numeric_detectors=bool(out._digit_detectors),
            email_detector=bool(out._email_detectors),
            needle_variables=tuple(dict.fromkeys(needle_variables)),
            conjunctions=conjunctions,
            **detector_hints({k for _, k, _ in out.detector_leaves}),
        )

    def build(self, speakers: Mapping[int, frozenset[str]] | None = None) -> CompiledMatchers:
        """Make the automaton and the prefilters. ``speakers``: matcher id -> which turns it is tested on:
        ``agent``, ``caller``, or ``answer`` (caller turns while a question is open); a matcher absent from it
        counts for all."""
        out = self.out
        out.matcher_count = len(self._ids)
        automaton = ahocorasick.Automaton()
        keys: dict[str, list[tuple[bool, int, int]]] = {}
        variables: set[str] = set()
        max_tokens = 1
        for leaf, tokens in enumerate(self._phrase_tokens):
            ids = tuple(self._leaf_matchers[("phrase", leaf)])
            has_template = any(t == GAP or _is_var(t) for t in tokens)
            max_tokens = max(max_tokens, sum(GAP_MAX_WORDS if t == GAP else 1 for t in tokens))
            if not has_template:
                out.phrase_leaves.append((ids, None))
                key = " ".join(tokens)
                keys.setdefault(key, []).append((False, leaf, len(key)))
                continue
            template = _template_of(tokens)
            variables.update(template.variables)
            out.phrase_leaves.append((ids, template))
            if template.anchor < 0:
                out.atomless_phrases.append(leaf)
                continue
            key = " ".join(tokens[template.anchor : template.anchor + template.anchor_len])
            keys.setdefault(key, []).append((False, leaf, len(key)))
        regex_atoms: list[tuple[str, ...] | None] = []
        always: list[int] = []
        for source, leaf in sorted(self._regex_leaf.items(), key=lambda kv: kv[1]):
            ids = tuple(self._leaf_matchers[("regex", leaf)])
            atoms = [a for a in extract_atoms(source) if a.strip()]
            out.regex_leaves.append((ids, source, not atoms))
            regex_atoms.append(regex_atom_words(atoms) if atoms else None)
            if not atoms:
                always.append(leaf)
            for atom in atoms:
                # atoms are substrings, not words: accept any position (boundary test is skipped for regexes)
                keys.setdefault(atom, []).append((True, leaf, len(atom)))
        for (kind, exempt), leaf in sorted(self._detector_leaf.items(), key=lambda kv: kv[1]):
            ids = tuple(self._leaf_matchers[("detector", leaf)])
            out.detector_leaves.append((ids, kind, exempt))
            if exempt:
                variables.add(exempt)
        for key, payload in keys.items():
            automaton.add_word(key, tuple(payload))
        if keys:
            automaton.make_automaton()
            out.automaton = automaton
        leaf_vars: dict[int, list[frozenset[str]]] = {}
        for (kind, leaf), owners in self._leaf_matchers.items():
            needs = frozenset()
            if kind == "phrase":
                template = out.phrase_leaves[leaf][1]
                needs = frozenset(template.required) if template else frozenset()
            for mid in owners:
                leaf_vars.setdefault(mid, []).append(needs)
        out.matcher_vars = {mid: tuple(v) for mid, v in leaf_vars.items() if all(v)}
        out._always_regexes = tuple(always)
        out._regexes = [re2.compile(src, _OPTIONS) for _, src, _ in out.regex_leaves]
        out._digit_detectors = tuple(i for i, (_, k, _) in enumerate(out.detector_leaves) if k not in AT_KINDS)
        out._email_detectors = tuple(i for i, (_, k, _) in enumerate(out.detector_leaves) if k in AT_KINDS)
        out.speakers = dict(speakers or {})
        out.prefilter = self._prefilter({"agent"}, speakers, regex_atoms)
        out.caller_prefilter = self._prefilter({"caller"}, speakers, regex_atoms)
        out.answer_prefilter = self._prefilter({"caller", "answer"}, speakers, regex_atoms)
        out.max_phrase_tokens = max_tokens
        out.variables = frozenset(variables)
        return out
