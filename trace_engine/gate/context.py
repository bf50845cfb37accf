"""What a call knows about itself: its facts, the scope of each rule, and its variables.

Resolved when the call starts and again on :meth:`Call.update_facts <trace_engine.gate.call.Call.update_facts>`
(never per turn), then handed to the core as plain values. Calls of one agent share most of it, so the engine
caches the derived parts by the values they depend on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from trace_engine.facts import FACTS, ResolvedFacts, fact_names, resolve_facts, scope_fact_names
from trace_engine.text import normalize_phrase

if TYPE_CHECKING:
    from trace_engine.gate.engine import Engine

#: A rule's scope status when it is off: outside the scope, or a fact it needs is missing.
NOT_APPLICABLE, MISSING_FACT = "not_applicable", "missing"
#: The facts a scope may name: a call's scope depends on these alone.
_SCOPE_FACTS: tuple[str, ...] = scope_fact_names()
#: Words dropped from the edges of a variable's value: "The Lakeside Roofing Co." is said "lakeside roofing".
_LEADING_ARTICLES = frozenset({"the", "a", "an"})
_TRAILING_SUFFIXES = frozenset({"inc", "llc", "ltd", "corp", "co", "pllc", "llp", "lp"})


def resolve(engine: Engine, agent_id: str | None, metadata: dict[str, Any], updates: dict[str, Any]) -> ResolvedFacts:
    """Facts from the updates, the metadata, then the config's per-agent and org ``call_defaults``."""
    defaults = engine.config.call_defaults
    by_agent = defaults.get("by_agent") or {}
    return resolve_facts(
        (
            ("update_facts", updates),
            ("metadata", metadata),
            ("call_defaults.by_agent", by_agent.get(agent_id) if agent_id else None),
            ("call_defaults", defaults),
        )
    )


def missing_reason(info: ResolvedFacts, keys: list[str]) -> str:
    """Why facts are missing: not given at all, or given in a form that cannot be used (the value named)."""
    problems = info.problems
    unusable = [problems[k] for k in keys if k in problems]
    absent = [k for k in keys if k not in problems]
    parts = []
    if absent:
        parts.append("missing metadata: " + ", ".join(absent))
    if unusable:
        parts.append("unusable metadata: " + "; ".join(unusable))
    return "; ".join(parts) or "inputs unusable"


def fact_text(value: Any) -> str:
    """A fact value as the reasons write it (``true``, ``customer_service``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def scope_off(engine: Engine, info: ResolvedFacts) -> list[tuple[int, bool, str, bool]]:
    """The rules outside their scope, or that cannot tell (a fact is missing): ``(rule, missing, reason,
    decided by the pack's scope)``. Cached on the engine by the values of the facts scopes name."""
    facts, problems = info.values, info.problems
    key = tuple((facts.get(name), problems.get(name)) for name in _SCOPE_FACTS)
    cached = engine.scope_cache.get(key)
    if cached is not None:
        return cached
    off: list[tuple[int, bool, str, bool]] = []
    for rule in engine.program.rules:
        if not rule.scope:
            continue
        missing: tuple[str, bool] | None = None
        for fact, values, from_pack in rule.scope:
            value = facts.get(fact)
            if value is None:
                missing = missing or (fact, from_pack)
            elif value not in values or isinstance(value, bool) != isinstance(values[0], bool):
                whose = f"pack {rule.pack_id}" if from_pack else rule.rule_id
                allowed = " | ".join(fact_text(v) for v in values)
                off.append((rule.index, False, f"{fact} is {fact_text(value)}; {whose} applies to {fact}: {allowed}", from_pack))
                break
        else:
            if missing is not None:
                off.append((rule.index, True, missing_reason(info, [missing[0]]), missing[1]))
    if len(engine.scope_cache) < 1024:
        engine.scope_cache[key] = off
    return off


def variable(engine: Engine, facts: dict[str, Any], name: str) -> Any:
    """A variable's value: the call's facts first, then the config's variables (and its callback numbers)."""
    value = facts.get(name)
    if value is None:
        value = engine.config.variables.get(name)
    if value is None and name == "callback_numbers" and engine.config.callback_numbers:
        value = engine.config.callback_numbers
    return value


@lru_cache(maxsize=8192)
def variable_tokens(value: str) -> tuple[str, ...] | None:
    """A variable's value as normalized tokens. A leading article and a trailing corporate suffix are dropped:
    "The Lakeside Roofing Co." is said "lakeside roofing" (matching also lets an article stand before the value)."""
    tokens = normalize_phrase(value).split()
    if len(tokens) > 1 and tokens[0] in _LEADING_ARTICLES:
        tokens = tokens[1:]
    while len(tokens) > 1 and tokens[-1] in _TRAILING_SUFFIXES:
        tokens = tokens[:-1]
    return tuple(tokens) or None


@dataclass(slots=True, frozen=True)
class Variables:
    """A call's variables as the core reads them."""

    tokens: dict[str, tuple[str, ...] | None]
    exempt: list[str]
    fill: dict[str, str | None]


def variables(engine: Engine, facts: dict[str, Any]) -> Variables:
    """The call's variable values for matching (tokens), its exempt callback numbers, and the values inject texts
    fill in."""
    core = engine.program.core
    tokens: dict[str, tuple[str, ...] | None] = {}
    for name in core.variables:
        value = variable(engine, facts, name)
        tokens[name] = variable_tokens(str(value)) if isinstance(value, (str, int, float)) and str(value).strip() else None
    numbers = list(facts.get("callback_numbers") or []) + list(engine.config.callback_numbers)
    canonical = set()
    for number in numbers:
        digits = "".join(ch for ch in str(number) if ch.isdigit())
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        if digits:
            canonical.add(digits)
    fill: dict[str, str | None] = {}
    for name in core.fill_variables:
        value = variable(engine, facts, name)
        fill[name] = None if value is None or isinstance(value, (list, dict)) else str(value)
    return Variables(tokens, sorted(canonical), fill)


def shown_fact(key: str, raw: Any, info: ResolvedFacts) -> str:
    """What the timeline says about one updated fact: its value (and category), why it is unusable, or, for a key
    that is not a call fact, only that it was set."""
    if raw is None:
        return "withdrawn"
    if key not in fact_names():
        return "set"
    fact = next(f for f in FACTS.values() if key in f.keys)
    if fact.name in info.problems and info.sources.get(fact.name) == "update_facts":
        return f"unusable ({info.problems[fact.name]})"
    value, problem = fact.normalize(raw)
    if problem is not None:
        return f"unusable ({problem})"
    text = fact_text(raw) if not isinstance(raw, list) else ", ".join(map(str, raw))
    text = text if len(text) <= 80 else text[:77] + "..."
    shown = fact_text(value) if not isinstance(value, list) else text
    return text if shown == text else f"{text} ({shown})"
