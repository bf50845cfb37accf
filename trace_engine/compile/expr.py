"""IR expressions as data: the small form the native evaluator reads (no closures).

Each node is a JSON array whose first element names it::

    ["field", name]                   a call fact or other metadata key
    ["state", "pack.name"]            a state of the rule's own pack (``state.name`` in the source)
    ["const", value]                  str, int, float, bool, or a list of those (a tuple in the evaluator)
    ["call", function, [args...]]     a function of :data:`trace_engine.ir.EXPR_FUNCTIONS`
    ["cmp", op, left, right]          ``== != < <= > >= in not_in``
    ["between", value, low, high]     inclusive low, exclusive high
    ["and", [operands...]]  ["or", [operands...]]
    ["not", operand]
    ["if", cond, then, otherwise]

The core evaluates it with Kleene (three-valued) logic: a missing input is UNKNOWN, ``True or UNKNOWN`` is True,
``False and UNKNOWN`` is False, and a rule whose condition is UNKNOWN is reported as not evaluated, with the missing
inputs its evaluation actually read named. Comparisons follow Python's: ``1 == 1.0``, a string never equals a
number, and ordering a string against a number is UNKNOWN (the input is unusable, not false).
"""

from __future__ import annotations

from typing import Any

from trace_engine import ir

__all__ = ["expr_data", "fields_of"]

STATE_PREFIX = "state."


def expr_data(expr: ir.Expr) -> list[Any]:
    """``expr`` in the data form above. State fields must already be qualified (``state.<pack_id>.<name>``)."""
    if isinstance(expr, ir.Field):
        if expr.name.startswith(STATE_PREFIX):
            return ["state", expr.name[len(STATE_PREFIX) :]]
        return ["field", expr.name]
    if isinstance(expr, ir.Const):
        value = expr.value
        return ["const", list(value) if isinstance(value, (list, tuple)) else value]
    if isinstance(expr, ir.Call):
        if expr.name not in ir.EXPR_FUNCTIONS:
            raise ValueError(f"unknown function {expr.name!r}")
        return ["call", expr.name, [expr_data(a) for a in expr.args]]
    if isinstance(expr, ir.Compare):
        if expr.op not in ("==", "!=", "<", "<=", ">", ">=", "in", "not_in"):
            raise ValueError(f"unknown comparison {expr.op!r}")
        return ["cmp", expr.op, expr_data(expr.left), expr_data(expr.right)]
    if isinstance(expr, ir.Between):
        return ["between", expr_data(expr.value), expr_data(expr.low), expr_data(expr.high)]
    if isinstance(expr, ir.BoolOp):
        return [expr.op, [expr_data(o) for o in expr.operands]]
    if isinstance(expr, ir.Not):
        return ["not", expr_data(expr.operand)]
    if isinstance(expr, ir.IfElse):
        return ["if", expr_data(expr.cond), expr_data(expr.then), expr_data(expr.otherwise)]
    raise TypeError(f"not an expression: {expr!r}")


def fields_of(expr: ir.Expr) -> set[str]:
    """Metadata keys (and ``state.X`` names) that ``expr`` reads."""
    out: set[str] = set()
    stack: list[Any] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ir.Field):
            out.add(node.name)
        elif isinstance(node, ir.Call):
            stack.extend(node.args)
        elif isinstance(node, ir.Compare):
            stack.extend((node.left, node.right))
        elif isinstance(node, ir.Between):
            stack.extend((node.value, node.low, node.high))
        elif isinstance(node, ir.BoolOp):
            stack.extend(node.operands)
        elif isinstance(node, ir.Not):
            stack.append(node.operand)
        elif isinstance(node, ir.IfElse):
            stack.extend((node.cond, node.then, node.otherwise))
    return out
