"""The syntax tree of a ``.trace`` file, as written (before name resolution and validation).

:func:`trace_engine.dsl.parser.parse` builds these nodes; :func:`trace_engine.dsl.lower.lower` checks them and turns
them into :mod:`trace_engine.ir`. Every node carries ``loc`` (a :class:`~trace_engine.errors.Location` spanning the
construct) so that every diagnostic can point at source. Nodes mirror the surface syntax closely: a rule keeps its
fields in source order (duplicates included) so that lowering can report them; strings are already unescaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trace_engine.errors import Location

# ------------------------------------------------------------------------------------------------ strings


@dataclass(slots=True)
class StringNode:
    """A string literal. Fields: loc; value (unescaped text)."""

    loc: Location
    value: str


# ------------------------------------------------------------------------------------------------ matchers


@dataclass(slots=True)
class RefAtom:
    """A bare name in matcher position: a phrase set or a pattern. Fields: loc (of the name); name."""

    loc: Location
    name: str


@dataclass(slots=True)
class StringAtom:
    """An inline single phrase ``"x"``. Fields: loc; value."""

    loc: Location
    value: str


@dataclass(slots=True)
class ListAtom:
    """An inline phrase list ``["a", "b"]``. Fields: loc; items (StringNode, possibly empty)."""

    loc: Location
    items: list[StringNode]


@dataclass(slots=True)
class RegexAtom:
    """An inline pattern ``/.../``. Fields: loc; source (without delimiters, ``\\/`` unescaped to ``/``)."""

    loc: Location
    source: str


@dataclass(slots=True)
class DetectorAtom:
    """``detector KIND [excluding VAR]``. Fields: loc; kind; kind_loc; exempt (variable name or None)."""

    loc: Location
    kind: str
    kind_loc: Location
    exempt: str | None = None


Atom = RefAtom | StringAtom | ListAtom | RegexAtom | DetectorAtom


@dataclass(slots=True)
class MatcherNode:
    """``A1 | A2 | ...``. Fields: loc; alternatives (one or more atoms, in source order)."""

    loc: Location
    alternatives: list[Atom]


# ------------------------------------------------------------------------------------------------ expressions


@dataclass(slots=True)
class LiteralNode:
    """A literal: str, int, float or bool. Fields: loc; value."""

    loc: Location
    value: Any


@dataclass(slots=True)
class ListNode:
    """A list literal ``["FL", "OK"]``. Fields: loc; items (LiteralNode)."""

    loc: Location
    items: list[LiteralNode]


@dataclass(slots=True)
class FieldRefNode:
    """A metadata key ``local_time``. Fields: loc; name."""

    loc: Location
    name: str


@dataclass(slots=True)
class StateRefNode:
    """``state.NAME``. Fields: loc (of the whole reference); name (the state, without ``state.``); name_loc."""

    loc: Location
    name: str
    name_loc: Location


@dataclass(slots=True)
class CallNode:
    """A function call ``f(a, b)``. Fields: loc; name; name_loc; args."""

    loc: Location
    name: str
    name_loc: Location
    args: list[ExprNode]


@dataclass(slots=True)
class CompareNode:
    """``left op right``. Fields: loc; op (``== != < <= > >= in not_in``); left; right."""

    loc: Location
    op: str
    left: ExprNode
    right: ExprNode


@dataclass(slots=True)
class BetweenNode:
    """``value between low and high``. Fields: loc; value; low; high."""

    loc: Location
    value: ExprNode
    low: ExprNode
    high: ExprNode


@dataclass(slots=True)
class BoolNode:
    """A chain ``a and b and c`` / ``a or b``. Fields: loc; op (``and``/``or``); operands (two or more)."""

    loc: Location
    op: str
    operands: list[ExprNode]


@dataclass(slots=True)
class NotNode:
    """``not x``. Fields: loc; operand."""

    loc: Location
    operand: ExprNode


@dataclass(slots=True)
class IfNode:
    """``if cond then a else b``. Fields: loc; cond; then; otherwise."""

    loc: Location
    cond: ExprNode
    then: ExprNode
    otherwise: ExprNode


ExprNode = LiteralNode | ListNode | FieldRefNode | StateRefNode | CallNode | CompareNode | BetweenNode | BoolNode | NotNode | IfNode

# ------------------------------------------------------------------------------------------------ checks


@dataclass(slots=True)
class WindowNode:
    """A ``within`` window. Fields: loc; kind (``first_turn``, ``call_end``, ``turns``, ``seconds``);
    count (the number for ``turns``/``seconds``, else None)."""

    loc: Location
    kind: str
    count: int | float | None = None


@dataclass(slots=True)
class ScopeNode:
    """A ``must_not_say`` scope. Fields: loc; kind (``until`` or ``for``); state (for ``until``);
    count (for ``for N turns``)."""

    loc: Location
    kind: str
    state: str | None = None
    count: int | float | None = None


@dataclass(slots=True)
class MustSayNode:
    """``must_say M within W``. Fields: loc; matcher; window."""

    loc: Location
    matcher: MatcherNode
    window: WindowNode


@dataclass(slots=True)
class MustNotSayNode:
    """``must_not_say M [unless U] [until S | for N turns]``. Fields: loc; matcher; unless (or None); scope (or None)."""

    loc: Location
    matcher: MatcherNode
    unless: MatcherNode | None = None
    scope: ScopeNode | None = None


@dataclass(slots=True)
class OnNode:
    """``on SPEAKER M [and not N] [after STEP] { checks }``. Fields: loc; speaker; cue; checks (as written; lowering
    allows only must_say / must_not_say); and_not (N, or None); after (a :class:`StateStepNode`, or None; lowering
    allows only ``after agent says ...`` on a caller cue)."""

    loc: Location
    speaker: str
    cue: MatcherNode
    checks: list[CheckNode]
    and_not: MatcherNode | None = None
    after: StateStepNode | None = None


@dataclass(slots=True)
class RequireNode:
    """``require EXPR``. Fields: loc; expr."""

    loc: Location
    expr: ExprNode


@dataclass(slots=True)
class Tier2Node:
    """``tier2 CHECK_ID``. Fields: loc; check_id; id_loc."""

    loc: Location
    check_id: str
    id_loc: Location


CheckNode = MustSayNode | MustNotSayNode | OnNode | RequireNode | Tier2Node


@dataclass(slots=True)
class RemedyNode:
    """``remedy KIND ...``. Fields: loc; kind; keep_last; placeholder; text (as in :class:`trace_engine.ir.Remedy`)."""

    loc: Location
    kind: str
    keep_last: int | float | None = None
    placeholder: str | None = None
    text: str | None = None


@dataclass(slots=True)
class DamagesNode:
    """``damages LOW [to HIGH] per BASIS citation "..." [note "..."]``.

    Fields: loc; low; high (``None`` when one amount was given); per (the basis as written: ``call`` or
    ``violation``); per_loc; citation; note (``None`` when absent); words (the connecting words as written, each
    with its location: ``to``, ``per``, ``note``; lowering checks them, they are not reserved). Amounts are as
    written (lowering checks them).
    """

    loc: Location
    low: int | float
    high: int | float | None
    per: str
    per_loc: Location
    citation: str
    note: str | None = None
    words: list[tuple[str, str, Location]] = field(default_factory=list)


@dataclass(slots=True)
class FieldNode:
    """A scalar rule field: ``title``, ``severity``, ``citation``, ``reason``, ``applies_to`` or ``when``.

    Fields: loc (the whole field); name; value (str, an AppliesToNode for ``applies_to``, or an ExprNode for
    ``when``); value_loc.
    """

    loc: Location
    name: str
    value: Any
    value_loc: Location


@dataclass(slots=True)
class RuleNode:
    """``rule ID { ... }``.

    Fields: loc; id; id_loc; fields (FieldNode, source order, duplicates kept); checks; remedies (normally zero
    or one; more is reported by lowering); examples (StringNode); damages (DamagesNode, normally zero or one).
    """

    loc: Location
    id: str
    id_loc: Location
    fields: list[FieldNode] = field(default_factory=list)
    checks: list[CheckNode] = field(default_factory=list)
    remedies: list[RemedyNode] = field(default_factory=list)
    examples: list[StringNode] = field(default_factory=list)
    damages: list[DamagesNode] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ top level


@dataclass(slots=True)
class HeaderNode:
    """A header line. Fields: loc; key (``pack``, ``version``, ``jurisdiction``, ``legal_status``, ``description``,
    ``applies_to``, ``when``); value (str, an AppliesToNode for ``applies_to``, or an ExprNode for ``when``);
    value_loc."""

    loc: Location
    key: str
    value: Any
    value_loc: Location


@dataclass(slots=True)
class PhraseSetNode:
    """``phrases NAME [ ... ]``. Fields: loc; name; name_loc; phrases (StringNode)."""

    loc: Location
    name: str
    name_loc: Location
    phrases: list[StringNode]


@dataclass(slots=True)
class PatternNode:
    """``pattern NAME /RE2/``. Fields: loc; name; name_loc; source; source_loc."""

    loc: Location
    name: str
    name_loc: Location
    source: str
    source_loc: Location


@dataclass(slots=True)
class StateStepNode:
    """``SPEAKER says M [unless U] [and not N]``. Fields: loc; speaker; matcher; unless (U, an overlap exception,
    or None); and_not (N, which the turn must not say anywhere, or None)."""

    loc: Location
    speaker: str
    matcher: MatcherNode
    unless: MatcherNode | None = None
    and_not: MatcherNode | None = None


@dataclass(slots=True)
class FactValueNode:
    """One allowed value in an ``applies_to`` condition. Fields: loc; value (str from a bare name or a string;
    bool from ``true``/``false``); quoted (True when written as a string)."""

    loc: Location
    value: Any
    quoted: bool = False


@dataclass(slots=True)
class FactConditionNode:
    """``FACT: V1 | V2`` in an ``applies_to``. Fields: loc; fact; fact_loc; values (FactValueNode, source order)."""

    loc: Location
    fact: str
    fact_loc: Location
    values: list[FactValueNode]


@dataclass(slots=True)
class AppliesToNode:
    """``applies_to C1, C2`` (a pack header line or a rule field). Fields: loc; conditions (FactConditionNode,
    source order)."""

    loc: Location
    conditions: list[FactConditionNode]


@dataclass(slots=True)
class StateNode:
    """``state NAME: step [then step]``. Fields: loc; name; name_loc; steps."""

    loc: Location
    name: str
    name_loc: Location
    steps: list[StateStepNode]


@dataclass(slots=True)
class PackNode:
    """A whole file.

    Fields: loc; headers (HeaderNode, source order); phrase_sets; patterns; states; rules (each in source order);
    comments (``(line, col, text)`` for every ``#`` comment, in source order, text including the ``#``);
    first_item_line (line of the first phrase set/pattern/state/rule, or None; used to check that the header
    comes first).
    """

    loc: Location
    headers: list[HeaderNode] = field(default_factory=list)
    phrase_sets: list[PhraseSetNode] = field(default_factory=list)
    patterns: list[PatternNode] = field(default_factory=list)
    states: list[StateNode] = field(default_factory=list)
    rules: list[RuleNode] = field(default_factory=list)
    comments: list[tuple[int, int, str]] = field(default_factory=list)
    first_item_line: int | None = None
