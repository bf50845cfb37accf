"""The lint rule base class and the shared, cached view of a pack that rules query.

A rule is a class with a ``code``, ``name``, ``category``, ``level`` and four documentation fields, and one method,
``check(pack, source, ctx)``, that yields :class:`~trace_engine.errors.Diagnostic` objects. Rules never build
diagnostics by hand: :meth:`LintRule.diag` fills in the code and the level (which ``strict`` may raise).

:class:`LintContext` walks the IR once and hands rules flat lists of *sites*: every matcher with its role
(``must_say``, ``must_not_say``, ``unless``, ``cue``, ``state``), its rule, the cue it sits in and its source key.
Rules work only on the IR, so they serve ``.trace`` and JSON packs alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

from trace_engine import ir
from trace_engine.errors import Diagnostic, Location, SourceKey, SourceMap
from trace_engine.facts import fact_names

__all__ = [
    "CATEGORIES",
    "CALL_METADATA_KEYS",
    "LEVELS",
    "LintContext",
    "LintRule",
    "MatcherSite",
    "PhraseIndex",
    "PhraseSite",
    "contains_words",
    "default_normalizer",
    "expr_fields",
    "leaves",
    "placeholders",
    "prohibition_covers",
    "quote",
]

CATEGORIES: tuple[str, ...] = ("correctness", "matching", "style", "performance", "documentation")
LEVELS: tuple[str, ...] = ("error", "warning")

#: Metadata keys every call may carry (the call facts of :mod:`trace_engine.facts`); any other ``{variable}`` must
#: come from the config's ``variables``.
CALL_METADATA_KEYS: frozenset[str] = fact_names()

_VAR_RE = re.compile(r"\{([^{}\s]*)\}")


class LintRule:
    """Base class of every lint rule; subclasses live one per file in :mod:`trace_engine.dsl.lint.rules`.

    Class attributes:
        code: ``TL`` plus three digits, stable forever.
        name: kebab-case name (``duplicate-rule-id``).
        category: one of :data:`CATEGORIES`.
        level: ``error`` or ``warning``.
        strict_level: the level under ``strict=True`` (``None``: unchanged).
        short: a one-line summary (defaults to the first sentence of ``what``).
        parser_code: the ``TS`` code under which the ``.trace`` and JSON loaders already reject ``example``
            (the rule then guards packs built in code); ``None`` when the loaders accept it.
        what, why: one paragraph each, for the generated docs.
        example: a complete ``.trace`` pack that triggers the rule.
        instead: the same pack, fixed.
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    category: ClassVar[str] = "correctness"
    level: ClassVar[str] = "error"
    strict_level: ClassVar[str | None] = None
    short: ClassVar[str] = ""
    parser_code: ClassVar[str | None] = None
    what: ClassVar[str] = ""
    why: ClassVar[str] = ""
    example: ClassVar[str] = ""
    instead: ClassVar[str] = ""

    def check(self, pack: ir.Pack, source: SourceMap, ctx: LintContext) -> Iterable[Diagnostic]:
        raise NotImplementedError

    @classmethod
    def effective_level(cls, strict: bool) -> str:
        return cls.strict_level if strict and cls.strict_level else cls.level

    @classmethod
    def summary(cls) -> str:
        """``short``, else the first sentence of ``what``: the SARIF short description and the docs table entry."""
        if cls.short:
            return cls.short
        first = cls.what.strip().split(". ")[0].strip()
        return first.rstrip(".")

    def diag(self, ctx: LintContext, message: str, location: Location, hint: str | None = None) -> Diagnostic:
        return Diagnostic(
            code=self.code,
            message=message,
            location=location,
            hint=hint,
            level=self.effective_level(ctx.strict),
        )


# --------------------------------------------------------------------------------------------- helpers


def leaves(matcher: ir.Matcher | None) -> Iterator[ir.Phrases | ir.Regex | ir.Detector]:
    """The non-union members of a matcher."""
    if matcher is None:
        return
    if isinstance(matcher, ir.AnyOf):
        for member in matcher.members:
            yield from leaves(member)
    else:
        yield matcher


def expr_fields(expr: ir.Expr | None) -> Iterator[str]:
    """Every field name an expression reads (``callee_state``, ``state.verified``)."""
    if expr is None:
        return
    if isinstance(expr, ir.Field):
        yield expr.name
    elif isinstance(expr, ir.Call):
        for arg in expr.args:
            yield from expr_fields(arg)
    elif isinstance(expr, ir.Compare):
        yield from expr_fields(expr.left)
        yield from expr_fields(expr.right)
    elif isinstance(expr, ir.Between):
        for part in (expr.value, expr.low, expr.high):
            yield from expr_fields(part)
    elif isinstance(expr, ir.BoolOp):
        for operand in expr.operands:
            yield from expr_fields(operand)
    elif isinstance(expr, ir.Not):
        yield from expr_fields(expr.operand)
    elif isinstance(expr, ir.IfElse):
        for part in (expr.cond, expr.then, expr.otherwise):
            yield from expr_fields(part)


def contains_words(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    """Whether ``needle`` occurs in ``haystack`` as a contiguous whole-word sequence.

    A ``*`` gap in the needle stands for one to three words, so it is satisfied by any single concrete word of the
    haystack, or by a ``*`` of the haystack. A ``*`` of the haystack is matched only by a ``*`` of the needle; a
    ``{variable}`` only by the same variable.
    """
    n, m = len(haystack), len(needle)
    if m == 0 or m > n:
        return False
    for start in range(n - m + 1):
        for offset, want in enumerate(needle):
            have = haystack[start + offset]
            if want == have:
                continue
            if want == "*" and have != "*" and not have.startswith("{"):
                continue
            break
        else:
            return True
    return False


class PhraseIndex:
    """Which of many *needles* a *haystack* contains, exactly as :func:`contains_words` decides, in one pass.

    Comparing every phrase with every other one is quadratic (a 7,000-rule pack took 66 s in TL003). Here gap-free
    needles go into one word-level Aho-Corasick automaton (pyahocorasick keyed by token-id sequences), so a haystack
    costs its length plus its hits. A needle with ``*`` gaps is anchored on its concrete segment shared by the
    fewest other gapped needles; each anchor hit is verified at one offset. An all-gap needle (``* *``) is tried at
    every offset, but there is at most one per length. Within the compiler's limits a needle has at most
    ``phrase_words`` tokens, so the tries stay shallow.

    ``work`` counts haystack tokens scanned, hits and verification steps, so tests can show it grows linearly.
    """

    def __init__(self, needles: Iterable[tuple[str, ...]]):
        import ahocorasick

        self.needles: list[tuple[str, ...]] = []
        self.work = 0
        self._ids: dict[str, int] = {}
        seen: dict[tuple[str, ...], int] = {}
        exact: dict[tuple[int, ...], int] = {}
        gapped: list[int] = []
        for tokens in needles:
            if not tokens or tokens in seen:
                continue
            seen[tokens] = len(self.needles)
            self.needles.append(tokens)
            if "*" in tokens:
                gapped.append(seen[tokens])
            else:
                exact[self._key(tokens)] = seen[tokens]
        self._exact = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_SEQUENCE)
        for key, n in exact.items():
            self._exact.add_word(key, (n, len(key)))
        if exact:
            self._exact.make_automaton()
        # anchors: each gapped needle's concrete segment with the fewest co-owners
        segments: dict[int, list[tuple[int, tuple[str, ...]]]] = {}
        owners: dict[tuple[str, ...], int] = {}
        self._all_gaps: list[int] = []
        for n in gapped:
            segs = _segments(self.needles[n])
            if not segs:
                self._all_gaps.append(n)
                continue
            segments[n] = segs
            for _, seg in set(segs):
                owners[seg] = owners.get(seg, 0) + 1
        anchors: dict[tuple[int, ...], list[tuple[int, int]]] = {}
        for n, segs in segments.items():
            offset, seg = min(segs, key=lambda s: (owners[s[1]], -len(s[1]), s[0]))
            anchors.setdefault(self._key(seg), []).append((n, offset))
        self._anchors = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_SEQUENCE)
        for key, owned in anchors.items():
            self._anchors.add_word(key, (tuple(owned), len(key)))
        if anchors:
            self._anchors.make_automaton()
        self._has_exact, self._has_anchors = bool(exact), bool(anchors)

    def _key(self, tokens: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(self._ids.setdefault(t, len(self._ids) + 1) for t in tokens)

    def _verify(self, haystack: tuple[str, ...], needle: tuple[str, ...], start: int) -> bool:
        if start < 0 or start + len(needle) > len(haystack):
            return False
        for offset, want in enumerate(needle):
            self.work += 1
            have = haystack[start + offset]
            if want == have or (want == "*" and have != "*" and not have.startswith("{")):
                continue
            return False
        return True

    def contained_in(self, haystack: tuple[str, ...]) -> list[int]:
        """Indexes (into :attr:`needles`) of the needles that ``haystack`` contains, each once, in index order."""
        found: set[int] = set()
        ids = tuple(self._ids.get(t, 0) for t in haystack)  # 0 is no needle's token
        if self._has_exact:
            self.work += len(ids)
            for _, (n, _length) in self._exact.iter(ids):
                self.work += 1
                found.add(n)
        if self._has_anchors:
            self.work += len(ids)
            for end, (owned, length) in self._anchors.iter(ids):
                start_of_anchor = end - length + 1
                for n, offset in owned:
                    self.work += 1
                    if n not in found and self._verify(haystack, self.needles[n], start_of_anchor - offset):
                        found.add(n)
        for n in self._all_gaps:
            needle = self.needles[n]
            for start in range(len(haystack) - len(needle) + 1):
                if self._verify(haystack, needle, start):
                    found.add(n)
                    break
        return sorted(found)


def _segments(tokens: tuple[str, ...]) -> list[tuple[int, tuple[str, ...]]]:
    """The maximal runs of non-gap tokens of ``tokens``, with their offsets."""
    out: list[tuple[int, tuple[str, ...]]] = []
    start = None
    for i, t in enumerate((*tokens, "*")):
        if t != "*" and start is None:
            start = i
        elif t == "*" and start is not None:
            out.append((start, tokens[start:i]))
            start = None
    return out


# --------------------------------------------------------------------------------------------- normalization

_FILLERS = frozenset({"um", "uh", "uhm", "umm", "er", "erm", "ah", "hmm", "mm", "mhm"})
_CONTRACTIONS = {
    "can't": "can not",
    "won't": "will not",
    "shan't": "shall not",
    "n't": " not",
    "'m": " am",
    "'re": " are",
    "'ll": " will",
    "'ve": " have",
    "'d": " would",
}
_NUMBERS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen".split()
    )
}
_EDGE_PUNCT = ".,!?;:\"'()[]<>-_/…“”‘’"


def default_normalizer(phrase: str) -> str:
    """A small stand-in for :func:`trace_engine.text.normalize.normalize_phrase`, used only when that module is
    missing: lower case, common contractions, single number words, fillers dropped, edge punctuation dropped;
    ``{var}`` and ``*`` kept; symbols such as ``%`` and ``$`` kept as they are."""
    text = phrase.lower().replace("’", "'")
    text = text.replace("@", " at ")
    for src, dst in _CONTRACTIONS.items():
        text = text.replace(src, dst)
    out: list[str] = []
    for raw in text.split():
        if raw == "*" or (raw.startswith("{") and raw.endswith("}")):
            out.append(raw)
            continue
        word = raw.strip(_EDGE_PUNCT)
        if not word or word in _FILLERS:
            continue
        out.append(_NUMBERS.get(word, word))
    return " ".join(out)


def _symbol_view(text: str) -> str:
    """The stand-in text view: turn text never contains a symbol (they are spelled as words)."""
    return " ".join(w for w in text.split() if all(ch.isalnum() or ch == "'" for ch in w) or w.isdigit())


def _load_text_view() -> Callable[[str], str]:
    try:
        from trace_engine.text.normalize import normalize  # type: ignore[import-not-found]
    except ImportError:
        return _symbol_view
    return lambda text: normalize(text).text


def _load_normalizer() -> Callable[[str], str]:
    try:
        from trace_engine.text.normalize import normalize_phrase  # type: ignore[import-not-found]
    except ImportError:
        return default_normalizer
    return normalize_phrase


# --------------------------------------------------------------------------------------------- sites


@dataclass(frozen=True, slots=True)
class MatcherSite:
    """One place a matcher is used.

    Fields:
        role: ``must_say``, ``must_not_say``, ``unless`` (a must_not_say's exception), ``cue``, ``state`` (a state
            step, or a cue's ``after``), ``step_unless`` (a step's exception) or ``and_not`` (what a step's or a
            cue's turn must not also say).
        matcher: the matcher.
        key: its :class:`SourceMap` key (``("rule", id, "check", i)``, ``("rule", id, "check", i, "then", j)`` for
            a check inside a cue, ``("state", name, "step", k)``); ``("rule_at", index, ...)`` replaces
            ``("rule", id, ...)`` when the source map records it.
        rule: the rule, or ``None`` for a state step.
        check: the :class:`ir.MustSay` / :class:`ir.MustNotSay` / :class:`ir.OnCue`, or ``None`` for a state step.
        cue: the enclosing :class:`ir.OnCue` for checks inside one (and for the cue itself), else ``None``.
        cue_index: the enclosing top-level check index (the cue's or the check's own).
        state: the state for a state step.
    """

    role: str
    matcher: ir.Matcher
    key: SourceKey
    rule: ir.Rule | None = None
    check: object | None = None
    cue: ir.OnCue | None = None
    cue_index: int = -1
    state: ir.State | None = None


@dataclass(frozen=True, slots=True)
class PhraseSite:
    """One phrase of a matcher. ``set_name``/``index`` locate phrases of named sets; ``key`` is the best source
    key (``("phrase", set, i)`` for named sets, the check's key for inline lists)."""

    text: str
    index: int
    set_name: str | None
    key: SourceKey
    site: MatcherSite


class LintContext:
    """A read-only, cached view of one pack for the rules of one lint run.

    Fields:
        pack, source: what is being linted.
        strict: raise ``strict_level`` rules to their strict level.
        normalize: the phrase normalizer (the real one from :mod:`trace_engine.text.normalize` when present).
        lint_work: steps counted by rules that index phrases (:class:`PhraseIndex`), for linear-time tests.
    """

    def __init__(
        self,
        pack: ir.Pack,
        source: SourceMap,
        *,
        strict: bool = False,
        normalize: Callable[[str], str] | None = None,
    ) -> None:
        self.pack = pack
        self.source = source
        self.strict = strict
        self._normalize = normalize or _load_normalizer()
        self._norm_cache: dict[str, str] = {}
        self._view_cache: dict[str, str] = {}
        self._text_view = _load_text_view() if normalize is None else _symbol_view
        self.lint_work = 0

    # ---- normalization

    def normalize(self, phrase: str) -> str:
        cached = self._norm_cache.get(phrase)
        if cached is None:
            try:
                cached = " ".join(str(self._normalize(phrase)).split())
            except Exception:  # a normalizer bug must not take lint down; treat the phrase as written
                cached = " ".join(phrase.lower().split())
            self._norm_cache[phrase] = cached
        return cached

    def tokens(self, phrase: str) -> tuple[str, ...]:
        return tuple(self.normalize(phrase).split())

    def phrase_problem(self, phrase: str) -> tuple[str, str | None] | None:
        """Why a phrase can never match after normalization, as ``(message, hint)``; ``None`` when it can.

        A phrase fails when it normalizes to nothing, or when its normalized form is not something the normalized
        view of a turn can contain: normalizing it again as turn text (``{var}`` and ``*`` aside) changes it.
        """
        norm = self.normalize(phrase)
        shown = quote(phrase)
        if not norm.strip():
            return (
                f"phrase {shown} normalizes to nothing and can never match",
                "fillers and punctuation are dropped from the normalized view",
            )
        segment: list[str] = []
        for token in [*norm.split(), "*"]:
            if token != "*" and not _VAR_RE.fullmatch(token):
                segment.append(token)
                continue
            if segment:
                text = " ".join(segment)
                if self._view(text) != text:
                    return self._foreign(shown, text)
                segment = []
        return None

    def _foreign(self, shown: str, text: str) -> tuple[str, str | None]:
        for ch in text:
            if ch.isalnum() or ch in " '":
                continue
            word = _SYMBOL_WORDS.get(ch)
            hint = f"write `{word}` instead of `{ch}`" if word else "write the words a speaker would say"
            return (f"phrase {shown} contains `{ch}`, which the normalized view never produces", hint)
        return (
            f'phrase {shown} normalizes to "{text}", which the normalized view never produces',
            f'write it as a turn would read: "{self._view(text)}"',
        )

    def _view(self, text: str) -> str:
        """``text`` as the normalized view of a turn would read it."""
        cached = self._view_cache.get(text)
        if cached is None:
            try:
                cached = " ".join(str(self._text_view(text)).split())
            except Exception:
                cached = text
            self._view_cache[text] = cached
        return cached

    def never_matches(self, matcher: ir.Matcher | None) -> bool:
        """Whether a matcher can never match: every member is a phrase list whose phrases all fail
        :meth:`phrase_problem` (or an empty list)."""
        if matcher is None:
            return False
        for leaf in leaves(matcher):
            if not isinstance(leaf, ir.Phrases):
                return False
            if any(self.phrase_problem(p) is None for p in leaf.items):
                return False
        return True

    def canon(self, matcher: ir.Matcher | None) -> frozenset:
        """A comparable form of a matcher: normalized phrases, regex sources, detectors (names are ignored)."""
        out: set = set()
        for leaf in leaves(matcher):
            if isinstance(leaf, ir.Phrases):
                out.update(("phrase", self.normalize(p)) for p in leaf.items)
            elif isinstance(leaf, ir.Regex):
                out.add(("regex", leaf.source))
            else:
                out.add(("detector", leaf.kind, leaf.exempt))
        return frozenset(out)

    # ---- walking the pack

    @cached_property
    def sites(self) -> tuple[MatcherSite, ...]:
        out: list[MatcherSite] = []
        for index, rule in enumerate(self.pack.rules):
            prefix = self.rule_prefix(index, rule)
            for i, check in enumerate(rule.checks):
                key = (*prefix, "check", i)
                if isinstance(check, ir.OnCue):
                    out.append(MatcherSite("cue", check.cue, key, rule, check, check, i))
                    if check.and_not is not None:
                        out.append(MatcherSite("and_not", check.and_not, key, rule, check, check, i))
                    if check.after is not None:
                        out.extend(_step_sites(check.after, key, rule=rule, cue=check, index=i))
                    for j, inner in enumerate(check.then):
                        out.extend(_check_sites(inner, (*key, "then", j), rule, check, i))
                elif isinstance(check, ir.MustSay | ir.MustNotSay):
                    out.extend(_check_sites(check, key, rule, None, i))
        for state in self.pack.states:
            for k, step in enumerate(state.steps):
                out.extend(_step_sites(step, ("state", state.name, "step", k), state=state))
        return tuple(out)

    @cached_property
    def phrase_sites(self) -> tuple[PhraseSite, ...]:
        """Phrases of every matcher site (named sets included, once per use)."""
        out: list[PhraseSite] = []
        for site in self.sites:
            for leaf in leaves(site.matcher):
                if isinstance(leaf, ir.Phrases):
                    for i, text in enumerate(leaf.items):
                        key = ("phrase", leaf.ref, i) if leaf.ref else site.key
                        out.append(PhraseSite(text, i, leaf.ref, key, site))
        return tuple(out)

    @cached_property
    def used_refs(self) -> frozenset[str]:
        """Names of phrase sets and patterns referenced anywhere."""
        refs: set[str] = set()
        for site in self.sites:
            for leaf in leaves(site.matcher):
                if isinstance(leaf, ir.Phrases | ir.Regex) and leaf.ref:
                    refs.add(leaf.ref)
        return frozenset(refs)

    @cached_property
    def state_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.pack.states)

    def rule_prefix(self, index: int, rule: ir.Rule) -> SourceKey:
        """The source key prefix of the ``index``-th rule: ``("rule_at", index)`` when the source map records
        positions (so duplicate ids point at the right rule), else ``("rule", id)``."""
        if ("rule_at", index) in self.source.locations:
            return ("rule_at", index)
        return ("rule", rule.id)

    def regex_sites(self) -> Iterator[tuple[str, Location]]:
        """Every regex of the pack once per place: named patterns, then inline ``/.../`` matchers."""
        for name, regex in self.pack.patterns:
            yield regex, self.location("pattern", name)
        seen: set[tuple] = set()
        for site in self.sites:
            for leaf in leaves(site.matcher):
                if isinstance(leaf, ir.Regex) and leaf.ref is None and (site.key, leaf.source) not in seen:
                    seen.add((site.key, leaf.source))
                    yield leaf.source, self.location(*site.key)

    def location(self, *key: object) -> Location:
        return self.source.get(*key)


def _step_sites(
    step: ir.StateStep,
    key: SourceKey,
    *,
    rule: ir.Rule | None = None,
    cue: ir.OnCue | None = None,
    index: int = -1,
    state: ir.State | None = None,
) -> list[MatcherSite]:
    """The matchers of a state step (or of a cue's ``after``)."""
    out = [MatcherSite("state", step.matcher, key, rule, cue, cue, index, state)]
    if step.unless is not None:
        out.append(MatcherSite("step_unless", step.unless, key, rule, cue, cue, index, state))
    if step.and_not is not None:
        out.append(MatcherSite("and_not", step.and_not, key, rule, cue, cue, index, state))
    return out


def _check_sites(
    check: ir.MustSay | ir.MustNotSay, key: SourceKey, rule: ir.Rule, cue: ir.OnCue | None, index: int
) -> list[MatcherSite]:
    if isinstance(check, ir.MustSay):
        return [MatcherSite("must_say", check.matcher, key, rule, check, cue, index)]
    out = [MatcherSite("must_not_say", check.matcher, key, rule, check, cue, index)]
    if check.unless is not None:
        out.append(MatcherSite("unless", check.unless, key, rule, check, cue, index))
    return out


_SYMBOL_WORDS = {
    "%": "percent",
    "$": "dollars",
    "@": "at",
    "&": "and",
    "#": "number",
    "+": "plus",
    "=": "equals",
}


def quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def placeholders(text: str) -> list[str]:
    """The ``{variable}`` names in a phrase or inject text (``{name|*}``, a variable with a gap as fallback, gives
    ``name``)."""
    return [v.partition("|")[0] for v in _VAR_RE.findall(text)]


def prohibition_covers(required: MatcherSite, forbidden: MatcherSite) -> bool:
    """Whether the ``must_not_say`` at ``forbidden`` is in force for the whole window of the ``must_say`` at
    ``required``: same rule, scope ``Always``, no ``unless``, and either top-level or in the same cue."""
    check = forbidden.check
    if forbidden.role != "must_not_say" or required.rule is None or forbidden.rule is not required.rule:
        return False
    if (
        not isinstance(check, ir.MustNotSay)
        or check.unless is not None
        or not isinstance(check.scope, ir.Always)
    ):
        return False
    return forbidden.cue is None or (required.cue is not None and required.cue_index == forbidden.cue_index)
