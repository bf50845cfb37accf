"""Matchers → leaf tables: phrases (normalized tokens), regexes (with their literal atoms) and detectors.

Every matcher of every rule gets an id (equal matchers share one); its members are flattened into *leaves*, each
listing the matcher ids it serves:

* a **phrase** is its normalized tokens (:func:`~trace_engine.text.normalize_phrase`), where ``{name}`` is a
  variable, ``{name|*}`` a variable that becomes a gap when the call has no value, and ``*`` a gap of one to three
  words;
* a **regex** is its RE2 source and its literal atoms (:func:`~trace_engine.compile.atoms.extract_atoms`): the
  native scan runs it only where one of its atoms occurs in the turn (YARA-style), or on every turn when it has
  none (lint TL004 warns about those);
* a **detector** is its kind and the variable naming values it ignores (``callback_numbers``).

From these tables the native core builds one Aho-Corasick automaton over normalized tokens (plain phrases, the
longest literal run of each template, every regex atom), verifies templates at their anchor hits with the call's
variable values, and runs the detectors (see ``core/src/engine/scan.rs``).
"""

from __future__ import annotations

from typing import Any

from trace_engine import ir
from trace_engine.compile.atoms import extract_atoms
from trace_engine.text import normalize_phrase

__all__ = ["MatcherBuilder"]


class MatcherBuilder:
    """Assigns ids to IR matchers and accumulates their leaves; :meth:`tables` returns them as data."""

    def __init__(self) -> None:
        self._ids: dict[ir.Matcher, int] = {}
        self._phrase_leaf: dict[tuple[str, ...], int] = {}
        self._regex_leaf: dict[str, int] = {}
        self._detector_leaf: dict[tuple[str, str | None], int] = {}
        self._leaf_matchers: dict[tuple[str, int], list[int]] = {}
        self._phrase_tokens: list[tuple[str, ...]] = []

    @property
    def count(self) -> int:
        return len(self._ids)

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

    def tables(self) -> dict[str, Any]:
        """The leaf tables, in leaf order (the order decides the automaton's payload order, hence the order in
        which a turn's matches are reported)."""
        return {
            "count": len(self._ids),
            "phrases": [
                {"tokens": list(tokens), "matchers": self._leaf_matchers[("phrase", leaf)]}
                for leaf, tokens in enumerate(self._phrase_tokens)
            ],
            "regexes": [
                {
                    "source": source,
                    "atoms": [a for a in extract_atoms(source) if a.strip()],
                    "matchers": self._leaf_matchers[("regex", leaf)],
                }
                for source, leaf in sorted(self._regex_leaf.items(), key=lambda kv: kv[1])
            ],
            "detectors": [
                {"kind": kind, "exempt": exempt, "matchers": self._leaf_matchers[("detector", leaf)]}
                for (kind, exempt), leaf in sorted(self._detector_leaf.items(), key=lambda kv: kv[1])
            ],
        }
