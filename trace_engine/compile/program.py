"""The compiled program: plain data the native evaluator reads.

:func:`trace_engine.compile.compile_packs` produces a :class:`CompiledPackSet`. Its :attr:`~CompiledPackSet.data`
is the **program**, a JSON object of flat tables indexed by integer, with no closures and nothing that needs
pickle::

    {"format": 1,
     "rules":    [{"id", "pack_id", "pack_version", "title", "severity", "citation", "reason",
                   "remedy": {"kind", "keep_last", "placeholder", "text"}, "when": <expr> | null,
                   "when_text": str | null, "tier2": [...], "check_count": n, "scope": [[fact, [values], from_pack]],
                   "examples": [...]}],
     "checks":   [{"kind": "must_say", "rule", "matcher", "window", "amount", "in_cue"}
                | {"kind": "must_not_say", "rule", "matcher", "unless", "scope", "state", "turns", "in_cue"}
                | {"kind": "cue", "rule", "speaker", "matcher", "then": [...], "and_not", "after": <step> | null}
                | {"kind": "require", "rule", "expr": <expr>}],
     "states":   [{"name": "pack.state", "steps": [<step>, ...]}],      step: {"speaker", "matcher", "unless", "and_not"}
     "matchers": {"count": n, "phrases": [...], "regexes": [...], "detectors": [...]}}

(expressions: :mod:`trace_engine.compile.expr`; matcher tables: :mod:`trace_engine.compile.matchers`). The core
(``trace_engine._core.Program``) validates every index and derives its own indexes (the automaton, the checks by
matcher, cues by speaker...) from these tables, so there is one definition of each. ``trace build`` writes the
program into the artifact (:mod:`trace_engine.compile.artifact`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: How far each remedy wants to go; the mode caps it (see :data:`MODE_CAP`).
REMEDY_RANK: dict[str, int] = {"flag": 0, "mask": 1, "redact": 1, "inject": 1, "block": 2, "handoff": 3}
MODE_CAP: dict[str, int] = {"warn": 0, "modify": 1, "block": 2, "human_handoff": 3}

#: The program format this engine writes and reads.
PROGRAM_FORMAT = 1

# window kinds
FIRST_TURN, TURNS, SECONDS, CALL_END = "first_turn", "turns", "seconds", "call_end"
# scope kinds
ALWAYS, UNTIL_STATE, FOR_TURNS = "always", "until", "for_turns"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule's identity and explanation, shared by every finding it produces (a Python view of ``rules[i]``)."""

    index: int
    rule_id: str
    pack_id: str
    pack_version: str
    title: str
    severity: str
    citation: str
    reason: str
    remedy_kind: str
    keep_last: int | None
    placeholder: str | None
    inject_text: str | None
    #: the rule's condition (its pack's and its own), in the data form of :mod:`trace_engine.compile.expr`
    when: Any
    #: the condition as written in the pack (``state.X`` unqualified), for "applies when ..." reasons
    when_text: str | None
    examples: tuple[str, ...] = ()
    tier2: tuple[str, ...] = ()
    check_count: int = 0
    #: where the rule applies: ``(fact, allowed values, from the pack's applies_to)``, the pack's conditions first
    scope: tuple[tuple[str, tuple[object, ...], bool], ...] = ()

    @classmethod
    def from_data(cls, index: int, d: dict[str, Any]) -> RuleInfo:
        remedy = d["remedy"]
        return cls(
            index=index,
            rule_id=d["id"],
            pack_id=d["pack_id"],
            pack_version=d["pack_version"],
            title=d["title"],
            severity=d["severity"],
            citation=d["citation"],
            reason=d["reason"],
            remedy_kind=remedy["kind"],
            keep_last=remedy.get("keep_last"),
            placeholder=remedy.get("placeholder"),
            inject_text=remedy.get("text"),
            when=d.get("when"),
            when_text=d.get("when_text"),
            examples=tuple(d.get("examples") or ()),
            tier2=tuple(d.get("tier2") or ()),
            check_count=d.get("check_count", 0),
            scope=tuple((fact, tuple(values), bool(from_pack)) for fact, values, from_pack in d.get("scope") or ()),
        )


@dataclass(slots=True)
class CompiledPackSet:
    """What :func:`trace_engine.compile.compile_packs` returns and ``trace build`` writes.

    Fields:
        etag: sha256 over the canonical packs, the guardrail config and the engine version.
        engine_version: the engine that compiled it.
        packs: ``(pack_id, version)`` in enforcement order.
        data: the program (see the module docstring).
        rules: a Python view of ``data["rules"]`` (ids, titles, citations for scorecards and reports).
        core: the program loaded into the native core (``trace_engine._core.Program``).
        ir_packs: the IR packs it was compiled from (empty when loaded from an artifact).
        etag_input: the config part of the etag (``extra_etag_input``).
    """

    etag: str
    engine_version: str
    packs: tuple[tuple[str, str], ...]
    data: dict[str, Any]
    core: Any
    rules: list[RuleInfo] = field(default_factory=list)
    ir_packs: tuple = ()
    etag_input: object = None

    @classmethod
    def load(
        cls,
        data: dict[str, Any],
        *,
        etag: str,
        engine_version: str,
        packs: tuple[tuple[str, str], ...],
        ir_packs: tuple = (),
        etag_input: object = None,
    ) -> CompiledPackSet:
        """Load ``data`` into the core (which validates it: a bad program raises ``ValueError`` with the reason)."""
        from trace_engine import _core

        body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        core = _core.Program(body)
        rules = [RuleInfo.from_data(i, r) for i, r in enumerate(data["rules"])]
        return cls(etag, engine_version, packs, data, core, rules, ir_packs, etag_input)

    def packs_enforced(self) -> list[str]:
        return [f"{pack_id}@{version}" for pack_id, version in self.packs]

    @property
    def hold_back_tokens(self) -> int:
        """Streaming hold-back in normalized tokens (the longest phrase, gaps at their widest, plus slack)."""
        return int(self.core.hold_back_tokens)

    @property
    def redact_kinds(self) -> frozenset[str]:
        """Detector kinds whose hits are redacted from stored text."""
        return frozenset(d["kind"] for d in self.data["matchers"]["detectors"])

    def caller_dependent_rules(self) -> frozenset[int]:
        """Indexes of the rules that need to know what the caller said: opened by a caller cue, or waiting for (or
        conditioned on) a state the caller's words set."""
        states = self.data["states"]
        caller_states = {s["name"] for s in states if any(step["speaker"] == "caller" for step in s["steps"])}
        dependent: set[int] = set()
        for check in self.data["checks"]:
            kind = check["kind"]
            if kind == "must_not_say" and check["scope"] == UNTIL_STATE and check["state"] in caller_states:
                dependent.add(check["rule"])
            elif kind == "cue" and check["speaker"] == "caller":
                dependent.add(check["rule"])
        for rule in self.rules:
            if rule.when is not None and _state_names(rule.when) & caller_states:
                dependent.add(rule.index)
        return frozenset(dependent)


def _state_names(expr: Any) -> set[str]:
    """The states an expression in data form reads."""
    out: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        tag = node[0]
        if tag == "state":
            out.add(node[1])
        elif tag in ("and", "or"):
            stack.extend(node[1])
        elif tag == "call":
            stack.extend(node[2])
        elif tag == "cmp":
            stack.extend(node[2:])
        elif tag in ("between", "not", "if"):
            stack.extend(node[1:])
    return out
