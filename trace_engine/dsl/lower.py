"""Check an AST and lower it to :mod:`trace_engine.ir`, filling a :class:`~trace_engine.errors.SourceMap`.

Every semantic problem is collected; if there is any, :func:`lower` raises one
:class:`~trace_engine.errors.TraceSyntaxError` carrying all of them (sorted by position).

Codes
-----
=====  ==========================================================================================
TS101  pack id does not match ``^[a-z0-9_]+$``
TS102  duplicate phrase set, pattern or state name
TS103  undefined phrase set or pattern
TS104  a name is both a phrase set and a pattern
TS105  unknown detector
TS106  unknown Tier-2 check
TS107  unknown severity
TS108  unknown expression function
TS109  wrong number of arguments to an expression function
TS110  invalid window or scope count (turns must be a whole number >= 1, seconds > 0)
TS111  ``for N turns`` outside an ``on`` cue
TS112  a rule with no checks
TS113  a pack with no rules
TS114  an empty phrase list, or an empty phrase
TS115  a pattern that RE2 rejects (not linear time, or invalid)
TS116  a missing required field (header or rule)
TS117  a duplicate field (header or rule)
TS118  undefined state (``until NAME`` or ``state.NAME``)
TS119  a check that is not allowed inside an ``on`` cue (only ``must_say`` and ``must_not_say`` are)
TS120  header fields out of order, or after the first item
TS122  a state with more than two steps
TS123  invalid ``keep_last`` (must be a whole number >= 0)
TS124  ``applies_to`` names something that is not a call fact a scope can name (enum and boolean facts)
TS125  ``applies_to`` gives a value the fact never takes
TS126  ``applies_to`` names a fact twice, or a value twice
TS127  a rule's ``applies_to`` widens its pack's (a rule may only narrow where its pack applies)
TS128  ``after`` on a cue other than ``on caller ... after agent says ...``
TS129  a two-step state that is not ``agent says ... then caller says ...`` (a question, then its answer)
TS130  invalid ``damages``: amounts must be whole dollars from 0 to 1,000,000,000 with ``low <= high``, the basis
       ``call`` or ``violation``, the citation not empty, and the connecting words ``to``, ``per``, ``note``
=====  ==========================================================================================

Duplicate rule ids are *not* an error here (lint reports them); both rules are kept.

Source map keys
---------------
``("header", "pack_id")``, ``("header", "version" | "jurisdiction" | "legal_status" | "description" | "applies_to"
| "when")``,
``("phrase_set", name)``, ``("phrase", name, i)``, ``("pattern", name)``, ``("state", name)``,
``("rule", id)``, ``("rule", id, "field", "title" | "severity" | "citation" | "reason" | "applies_to" | "when")``,
``("rule", id, "check", i)``, ``("rule", id, "check", i, "then", j)``, ``("rule", id, "remedy")``,
``("rule", id, "damages")``, ``("rule", id, "example", i)``. With duplicate rule ids the ``("rule", id, ...)`` keys point at the first rule;
the same keys are also recorded per position as ``("rule_at", index, ...)`` (``("rule_at", 0)``,
``("rule_at", 0, "check", 1)``...), which is what the printer uses.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from trace_engine import ir
from trace_engine.dsl import ast
from trace_engine.errors import Diagnostic, Location, SourceMap, TraceSyntaxError
from trace_engine.facts import FACTS, scope_fact_names

PACK_ID_RE = re.compile(r"^[a-z0-9_]+$")
HEADER_ORDER = ("pack", "version", "jurisdiction", "legal_status", "description", "applies_to", "when")
REQUIRED_HEADER = ("pack", "version", "jurisdiction", "legal_status")
REQUIRED_RULE_FIELDS = ("title", "severity", "citation", "reason")


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    """``"did you mean `x`?"`` for the closest choice, or None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def check_regex(source: str) -> str | None:
    """None when RE2 accepts ``source``, else RE2's message."""
    try:
        import re2
    except ImportError:  # pragma: no cover - google-re2 is a dependency
        return None
    options = re2.Options()
    options.log_errors = False
    try:
        re2.compile(source, options=options)
    except Exception as e:  # noqa: BLE001 - re2.error, and UnicodeEncodeError on lone surrogates
        arg = e.args[0] if e.args else ""
        if isinstance(arg, bytes):
            arg = arg.decode("utf-8", errors="replace")
        if isinstance(e, UnicodeError):
            arg = "the pattern is not valid Unicode"
        return str(arg) or type(e).__name__
    return None


class _Lowerer:
    def __init__(self, node: ast.PackNode, source: SourceMap):
        self.node = node
        self.source = source
        self.diags: list[Diagnostic] = []
        self.phrase_sets: dict[str, tuple[str, ...]] = {}
        self.patterns: dict[str, str] = {}
        self.states: set[str] = set()
        self.pack_scope: ir.AppliesTo | None = None

    def error(self, code: str, message: str, loc: Location, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, loc, hint=hint))

    def put(self, key: tuple, loc: Location) -> None:
        self.source.locations.setdefault(key, loc)

    # ------------------------------------------------------------------ pack
    def lower(self) -> ir.Pack:
        node = self.node
        self.states = {st.name for st in node.states}  # states may be referenced before they are defined
        header = self.header()
        phrase_sets: list[tuple[str, tuple[str, ...]]] = []
        patterns: list[tuple[str, str]] = []
        states: list[ir.State] = []
        first_def: dict[tuple[str, str], Location] = {}

        for ps in node.phrase_sets:
            if ("phrase_set", ps.name) in first_def:
                self.error(
                    "TS102",
                    f"duplicate phrase set `{ps.name}`",
                    ps.name_loc,
                    hint=f"first defined at line {first_def['phrase_set', ps.name].line}",
                )
                continue
            first_def["phrase_set", ps.name] = ps.name_loc
            if not ps.phrases:
                self.error("TS114", f"phrase set `{ps.name}` is empty", ps.loc)
            for p in ps.phrases:
                if not p.value.strip():
                    self.error("TS114", f"empty phrase in phrase set `{ps.name}`", p.loc)
            items = tuple(p.value for p in ps.phrases)
            self.phrase_sets[ps.name] = items
            phrase_sets.append((ps.name, items))
            self.put(("phrase_set", ps.name), ps.loc)
            for i, p in enumerate(ps.phrases):
                self.put(("phrase", ps.name, i), p.loc)

        for pat in node.patterns:
            if ("pattern", pat.name) in first_def:
                self.error(
                    "TS102",
                    f"duplicate pattern `{pat.name}`",
                    pat.name_loc,
                    hint=f"first defined at line {first_def['pattern', pat.name].line}",
                )
                continue
            first_def["pattern", pat.name] = pat.name_loc
            if pat.name in self.phrase_sets:
                self.error(
                    "TS104",
                    f"`{pat.name}` is both a phrase set and a pattern",
                    pat.name_loc,
                    hint=f"the phrase set is at line {first_def['phrase_set', pat.name].line}; rename one",
                )
            self.regex(pat.source, pat.source_loc)
            self.patterns[pat.name] = pat.source
            patterns.append((pat.name, pat.source))
            self.put(("pattern", pat.name), pat.loc)

        defined: set[str] = set()
        for st in node.states:
            if st.name in defined:
                self.error(
                    "TS102",
                    f"duplicate state `{st.name}`",
                    st.name_loc,
                    hint=f"first defined at line {first_def['state', st.name].line}",
                )
                continue
            first_def["state", st.name] = st.name_loc
            defined.add(st.name)
        seen_states: set[str] = set()
        for st in node.states:
            if st.name in seen_states:
                continue
            seen_states.add(st.name)
            if len(st.steps) > 2:
                self.error(
                    "TS122",
                    f"state `{st.name}` has {len(st.steps)} steps; a state has one or two",
                    st.loc,
                    hint="write `state NAME: agent says X then caller says Y`",
                )
            if len(st.steps) == 2 and (st.steps[0].speaker, st.steps[1].speaker) != ("agent", "caller"):
                self.error(
                    "TS129",
                    f"state `{st.name}` must be a question and its answer: `agent says ... then caller says ...`",
                    st.loc,
                    hint="a one-step state (`caller says X`) covers what either side says on its own",
                )
            steps = tuple(self.step(s) for s in st.steps)
            states.append(ir.State(st.name, steps))
            self.put(("state", st.name), st.loc)

        rules = tuple(self.rule(i, r) for i, r in enumerate(node.rules))
        if not node.rules:
            self.error(
                "TS113", "the pack has no rules", self.source.get("header", "pack_id"),
                hint="add at least one `rule ID { ... }`",
            )

        if self.diags:
            self.diags.sort(key=lambda d: (d.location.line, d.location.col))
            raise TraceSyntaxError(self.diags, self.source)
        return ir.Pack(
            pack_id=header.get("pack", ""),
            version=header.get("version", ""),
            jurisdiction=header.get("jurisdiction", ""),
            legal_status=header.get("legal_status", ""),
            rules=rules,
            description=header.get("description"),
            when=header.get("when"),
            phrase_sets=tuple(phrase_sets),
            patterns=tuple(patterns),
            states=tuple(states),
            applies_to=header.get("applies_to"),
        )

    def header(self) -> dict[str, Any]:
        node = self.node
        values: dict[str, Any] = {}
        locs: dict[str, Location] = {}
        order: list[str] = []
        for h in node.headers:
            if h.key in values:
                self.error(
                    "TS117", f"duplicate `{h.key}` in the pack header", h.loc,
                    hint=f"first given at line {locs[h.key].line}",
                )
                continue
            locs[h.key] = h.loc
            order.append(h.key)
            if h.key == "pack":
                if not PACK_ID_RE.match(h.value):
                    self.error(
                        "TS101",
                        f"invalid pack id `{h.value}`",
                        h.value_loc,
                        hint="a pack id uses lower-case letters, digits and `_` only",
                    )
                self.put(("header", "pack_id"), h.loc)
                values[h.key] = h.value
            elif h.key == "when":
                self.put(("header", "when"), h.loc)
                values[h.key] = self.expr(h.value)
            elif h.key == "applies_to":
                self.put(("header", "applies_to"), h.loc)
                values[h.key] = self.pack_scope = self.applies_to(h.value)
            else:
                self.put(("header", h.key), h.loc)
                values[h.key] = h.value
            if node.first_item_line is not None and h.loc.line > node.first_item_line:
                self.error(
                    "TS120",
                    f"`{h.key}` must come before phrase sets, patterns, states and rules",
                    h.loc,
                    hint="move the pack header to the top of the file",
                )
        ranks = [HEADER_ORDER.index(k) for k in order]
        for i in range(1, len(order)):
            if ranks[i] < max(ranks[:i]):
                before = HEADER_ORDER[max(ranks[:i])]
                self.error(
                    "TS120",
                    f"`{order[i]}` must come before `{before}` in the pack header",
                    locs[order[i]],
                    hint="the header order is pack, version, jurisdiction, legal_status, description, applies_to, when",
                )
        first = node.headers[0].loc if node.headers else Location(self.source.file, 1, 1)
        for key in REQUIRED_HEADER:
            if key not in values:
                what = "`pack ID`" if key == "pack" else f"`{key} \"...\"`"
                self.error("TS116", f"the pack header is missing {what}", first)
        return values

    # ------------------------------------------------------------------ matchers
    def regex(self, source: str, loc: Location) -> None:
        msg = check_regex(source)
        if msg is not None:
            self.error("TS115", f"pattern is not linear-time (RE2 rejects it): {msg}", loc,
                       hint="RE2 has no backreferences or lookaround")

    def matcher(self, m: ast.MatcherNode) -> ir.Matcher:
        members: list[ir.Matcher] = []
        for a in m.alternatives:
            low = self.atom(a)
            if isinstance(low, ir.AnyOf):
                members.extend(low.members)
            else:
                members.append(low)
        if len(members) == 1:
            return members[0]
        return ir.AnyOf(tuple(members))

    def atom(self, a: ast.Atom) -> ir.Matcher:
        if isinstance(a, ast.StringAtom):
            if not a.value.strip():
                self.error("TS114", "empty phrase", a.loc)
            return ir.Phrases((a.value,))
        if isinstance(a, ast.ListAtom):
            if not a.items:
                self.error("TS114", "empty phrase list", a.loc)
            for p in a.items:
                if not p.value.strip():
                    self.error("TS114", "empty phrase", p.loc)
            return ir.Phrases(tuple(p.value for p in a.items))
        if isinstance(a, ast.RegexAtom):
            self.regex(a.source, a.loc)
            return ir.Regex(a.source)
        if isinstance(a, ast.DetectorAtom):
            if a.kind not in ir.DETECTORS:
                self.error(
                    "TS105", f"unknown detector `{a.kind}`", a.kind_loc,
                    hint=did_you_mean(a.kind, ir.DETECTORS) or "detectors: " + ", ".join(ir.DETECTORS),
                )
            return ir.Detector(a.kind, a.exempt)
        # a reference
        if a.name in self.phrase_sets:
            return ir.Phrases(self.phrase_sets[a.name], ref=a.name)
        if a.name in self.patterns:
            return ir.Regex(self.patterns[a.name], ref=a.name)
        names = sorted(set(self.phrase_sets) | set(self.patterns))
        hint = did_you_mean(a.name, names)
        if hint is None and a.name in self.states:
            hint = f"`{a.name}` is a state; a matcher needs a phrase set or a pattern"
        self.error("TS103", f"undefined phrase set or pattern `{a.name}`", a.loc, hint=hint)
        return ir.Phrases((), ref=a.name)

    # ------------------------------------------------------------------ rules
    def rule(self, index: int, r: ast.RuleNode) -> ir.Rule:
        prefixes = (("rule", r.id), ("rule_at", index))

        def put(sub: tuple, loc: Location) -> None:
            for p in prefixes:
                self.put(p + sub, loc)

        put((), r.loc)
        fields: dict[str, Any] = {}
        field_locs: dict[str, Location] = {}
        for f in r.fields:
            if f.name in fields:
                self.error(
                    "TS117", f"duplicate `{f.name}` in rule `{r.id}`", f.loc,
                    hint=f"first given at line {field_locs[f.name].line}",
                )
                continue
            field_locs[f.name] = f.loc
            put(("field", f.name), f.loc)
            if f.name == "when":
                fields[f.name] = self.expr(f.value)
            elif f.name == "applies_to":
                fields[f.name] = self.applies_to(f.value, narrowing=True)
            else:
                fields[f.name] = f.value
            if f.name == "severity" and f.value not in ir.SEVERITIES:
                self.error(
                    "TS107", f"unknown severity `{f.value}`", f.value_loc,
                    hint=did_you_mean(f.value, ir.SEVERITIES) or "use one of low, medium, high, critical",
                )
        for name in REQUIRED_RULE_FIELDS:
            if name not in fields:
                self.error("TS116", f"rule `{r.id}` is missing `{name}`", r.id_loc)
        if not r.checks:
            self.error(
                "TS112", f"rule `{r.id}` has no checks", r.id_loc,
                hint="add `must_say`, `must_not_say`, `on`, `require` or `tier2`",
            )
        checks = []
        for i, c in enumerate(r.checks):
            put(("check", i), c.loc)
            if isinstance(c, ast.OnNode):
                for j, inner in enumerate(c.checks):
                    put(("check", i, "then", j), inner.loc)
            checks.append(self.check(c, in_cue=False))
        remedy = None
        for k, rem in enumerate(r.remedies):
            if k:
                self.error("TS117", f"duplicate `remedy` in rule `{r.id}`", rem.loc)
                continue
            put(("remedy",), rem.loc)
            remedy = self.remedy(rem)
        damages = None
        for k, dmg in enumerate(r.damages):
            if k:
                self.error("TS117", f"duplicate `damages` in rule `{r.id}`", dmg.loc)
                continue
            put(("damages",), dmg.loc)
            damages = self.damages(dmg)
        for i, ex in enumerate(r.examples):
            put(("example", i), ex.loc)
        return ir.Rule(
            id=r.id,
            title=fields.get("title", ""),
            severity=fields.get("severity", ""),
            citation=fields.get("citation", ""),
            reason=fields.get("reason", ""),
            checks=tuple(checks),
            when=fields.get("when"),
            remedy=remedy,
            examples=tuple(e.value for e in r.examples),
            applies_to=fields.get("applies_to"),
            damages=damages,
        )

    def damages(self, d: ast.DamagesNode) -> ir.Damages | None:
        ok = True
        for want, said, loc in d.words:
            if said != want:
                self.error(
                    "TS130", f"expected `{want}` in `damages`, got `{said}`", loc,
                    hint='write `damages 500 to 1500 per call citation "..." note "..."`',
                )
                ok = False
        amounts = (d.low,) if d.high is None else (d.low, d.high)
        for value in amounts:
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= ir.MAX_DAMAGES:
                self.error(
                    "TS130", f"a damages amount must be whole US dollars from 0 to {ir.MAX_DAMAGES:,}, got {value}",
                    d.loc, hint="write `damages 500 to 1500 per call citation \"...\"`",
                )
                ok = False
        amounts = (amounts[0], amounts[-1])
        if ok and amounts[0] > amounts[1]:
            self.error("TS130", f"damages `{amounts[0]} to {amounts[1]}`: the low amount is above the high", d.loc)
            ok = False
        if d.per not in ir.DAMAGES_BASES:
            self.error(
                "TS130", f"damages are counted per `call` or per `violation`, not `{d.per}`", d.per_loc,
                hint=did_you_mean(d.per, ir.DAMAGES_BASES),
            )
            ok = False
        if not d.citation:
            self.error("TS130", "damages need the citation of the provision that gives them", d.loc)
            ok = False
        return ir.Damages(int(amounts[0]), int(amounts[1]), d.per, d.citation, d.note) if ok else None

    def remedy(self, r: ast.RemedyNode) -> ir.Remedy:
        keep = r.keep_last
        if r.kind == "mask" and keep is not None and (not isinstance(keep, int) or keep < 0):
            self.error("TS123", f"keep_last must be a whole number >= 0, got {keep}", r.loc)
            keep = 0
        return ir.Remedy(r.kind, keep_last=keep, placeholder=r.placeholder, text=r.text)

    def turn_count(self, count: Any, loc: Location, what: str) -> int:
        if not isinstance(count, int) or isinstance(count, bool):
            self.error("TS110", f"{what} must be a whole number of turns, got {count}", loc)
            return 1
        if count < 1:
            self.error("TS110", f"{what} must be at least 1 turn, got {count}", loc)
            return 1
        return count

    def check(self, c: ast.CheckNode, in_cue: bool) -> Any:
        if isinstance(c, ast.MustSayNode):
            w = c.window
            window: ir.Window
            if w.kind == "first_turn":
                window = ir.FirstTurn()
            elif w.kind == "call_end":
                window = ir.CallEnd()
            elif w.kind == "turns":
                window = ir.Turns(self.turn_count(w.count, w.loc, "a window"))
            else:
                secs = w.count or 0  # keep the literal's type: `30` stays an int, `1.5` a float
                if secs <= 0:
                    self.error("TS110", f"a window must be more than 0 seconds, got {w.count}", w.loc)
                window = ir.Seconds(secs)
            return ir.MustSay(self.matcher(c.matcher), window)
        if isinstance(c, ast.MustNotSayNode):
            scope: ir.Scope = ir.Always()
            if c.scope is not None:
                if c.scope.kind == "until":
                    name = c.scope.state or ""
                    if name not in self.states:
                        self.error(
                            "TS118", f"undefined state `{name}`", c.scope.loc,
                            hint=did_you_mean(name, sorted(self.states)),
                        )
                    scope = ir.UntilState(name)
                else:
                    if not in_cue:
                        self.error(
                            "TS111", "`for N turns` is only allowed inside an `on` cue", c.scope.loc,
                            hint="outside a cue a prohibition holds for the whole call; drop `for ...`",
                        )
                    scope = ir.ForTurns(self.turn_count(c.scope.count, c.scope.loc, "a scope"))
            unless = self.matcher(c.unless) if c.unless is not None else None
            return ir.MustNotSay(self.matcher(c.matcher), unless, scope)
        if in_cue:
            kind = {ast.OnNode: "on", ast.RequireNode: "require", ast.Tier2Node: "tier2"}.get(type(c), "?")
            self.error(
                "TS119", f"`{kind}` is not allowed inside an `on` cue", c.loc,
                hint="a cue holds `must_say` and `must_not_say` checks only",
            )
        if isinstance(c, ast.OnNode):
            then = tuple(self.check(inner, in_cue=True) for inner in c.checks)
            if not c.checks:
                self.error("TS112", "an `on` cue needs at least one check", c.loc)
            then = tuple(t for t in then if isinstance(t, ir.MustSay | ir.MustNotSay))
            after = None
            if c.after is not None:
                if c.speaker != "caller" or c.after.speaker != "agent":
                    self.error(
                        "TS128",
                        "`after` names the agent turn a caller cue answers: write `on caller X after agent says Y`",
                        c.after.loc,
                        hint="an agent cue already sees the caller's turns through states",
                    )
                after = self.step(c.after)
            and_not = self.matcher(c.and_not) if c.and_not is not None else None
            return ir.OnCue(c.speaker, self.matcher(c.cue), then, and_not, after)
        if isinstance(c, ast.RequireNode):
            return ir.Require(self.expr(c.expr))
        assert isinstance(c, ast.Tier2Node)
        if c.check_id not in ir.TIER2_CHECKS:
            self.error(
                "TS106", f"unknown Tier-2 check `{c.check_id}`", c.id_loc,
                hint=did_you_mean(c.check_id, ir.TIER2_CHECKS) or "Tier-2 checks: " + ", ".join(ir.TIER2_CHECKS),
            )
        return ir.Tier2Ref(c.check_id)

    def step(self, s: ast.StateStepNode) -> ir.StateStep:
        unless = self.matcher(s.unless) if s.unless is not None else None
        and_not = self.matcher(s.and_not) if s.and_not is not None else None
        return ir.StateStep(s.speaker, self.matcher(s.matcher), unless, and_not)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ applicability
    def applies_to(self, node: ast.AppliesToNode, narrowing: bool = False) -> ir.AppliesTo:
        conditions: list[ir.FactValues] = []
        seen: dict[str, Location] = {}
        scopable = scope_fact_names()
        pack = {c.fact: c.values for c in self.pack_scope.conditions} if narrowing and self.pack_scope else {}
        for cond in node.conditions:
            fact = FACTS.get(cond.fact)
            if cond.fact in seen:
                self.error(
                    "TS126", f"`{cond.fact}` is named twice in `applies_to`", cond.fact_loc,
                    hint=f"list its values once: `{cond.fact}: a | b`",
                )
                continue
            seen[cond.fact] = cond.fact_loc
            if fact is None or not fact.scopable:
                why = (
                    f"`{cond.fact}` is a {fact.type} fact; `applies_to` names facts with a few values "
                    f"({', '.join(scopable)}); use `when` or `require` for it"
                    if fact is not None
                    else did_you_mean(cond.fact, scopable) or "facts a scope can name: " + ", ".join(scopable)
                )
                self.error("TS124", f"`{cond.fact}` is not a call fact `applies_to` can name", cond.fact_loc, hint=why)
                continue
            values: list[Any] = []
            allowed = fact.scope_values
            for v in cond.values:
                if v.value not in allowed or (fact.type == "bool") != isinstance(v.value, bool):
                    shown = v.value if not isinstance(v.value, bool) else str(v.value).lower()
                    choices = ", ".join(str(a).lower() if isinstance(a, bool) else str(a) for a in allowed)
                    hint = did_you_mean(str(shown), [str(a) for a in allowed]) if fact.type != "bool" else None
                    self.error(
                        "TS125", f"`{shown}` is not a value of `{cond.fact}`", v.loc,
                        hint=hint or f"{cond.fact} is one of {choices}",
                    )
                elif v.value in values:
                    self.error("TS126", f"`{v.value}` is listed twice for `{cond.fact}`", v.loc)
                else:
                    values.append(v.value)
            wider = [x for x in values if cond.fact in pack and x not in pack[cond.fact]]
            if wider:
                shown_pack = " | ".join(_fact_value_text(x) for x in pack[cond.fact])
                self.error(
                    "TS127",
                    f"the rule widens its pack's scope: the pack applies to `{cond.fact}: {shown_pack}`",
                    cond.loc,
                    hint="a rule may only narrow where its pack applies; widen the pack's `applies_to` and narrow "
                    "the other rules",
                )
            if values:
                conditions.append(ir.FactValues(cond.fact, tuple(values)))
        return ir.AppliesTo(tuple(conditions))

    # ------------------------------------------------------------------ expressions
    def expr(self, e: ast.ExprNode) -> ir.Expr:
        if isinstance(e, ast.LiteralNode):
            return ir.Const(e.value)
        if isinstance(e, ast.ListNode):
            return ir.Const(tuple(i.value for i in e.items))
        if isinstance(e, ast.FieldRefNode):
            return ir.Field(e.name)
        if isinstance(e, ast.StateRefNode):
            if e.name not in self.states:
                self.error(
                    "TS118", f"undefined state `{e.name}`", e.name_loc,
                    hint=did_you_mean(e.name, sorted(self.states)),
                )
            return ir.Field("state." + e.name)
        if isinstance(e, ast.CallNode):
            args = tuple(self.expr(a) for a in e.args)
            arity = ir.EXPR_FUNCTIONS.get(e.name)
            if arity is None:
                self.error(
                    "TS108", f"unknown function `{e.name}`", e.name_loc,
                    hint=did_you_mean(e.name, tuple(ir.EXPR_FUNCTIONS))
                    or "functions: " + ", ".join(ir.EXPR_FUNCTIONS),
                )
            elif arity != len(args):
                plural = "argument" if arity == 1 else "arguments"
                self.error(
                    "TS109", f"`{e.name}` takes {arity} {plural}, got {len(args)}", e.loc,
                )
            return ir.Call(e.name, args)
        if isinstance(e, ast.CompareNode):
            return ir.Compare(e.op, self.expr(e.left), self.expr(e.right))
        if isinstance(e, ast.BetweenNode):
            return ir.Between(self.expr(e.value), self.expr(e.low), self.expr(e.high))
        if isinstance(e, ast.BoolNode):
            return ir.BoolOp(e.op, tuple(self.expr(o) for o in e.operands))  # type: ignore[arg-type]
        if isinstance(e, ast.NotNode):
            return ir.Not(self.expr(e.operand))
        assert isinstance(e, ast.IfNode)
        return ir.IfElse(self.expr(e.cond), self.expr(e.then), self.expr(e.otherwise))


def _fact_value_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def lower(node: ast.PackNode, source: SourceMap) -> ir.Pack:
    """Check ``node`` and return its IR; fill ``source.locations``; raise TraceSyntaxError with every error."""
    return _Lowerer(node, source).lower()
