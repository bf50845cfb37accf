"""Compile IR expressions into closures evaluated with Kleene (three-valued) logic.

A closure takes ``(metadata, states)`` and returns a value, or :data:`UNKNOWN` when an input it needs is missing.
Boolean operators follow Kleene: ``True or UNKNOWN`` is True, ``False and UNKNOWN`` is False, anything else touching
UNKNOWN is UNKNOWN. Compiling once means the hot path never walks the IR tree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from trace_engine import ir


class _Unknown:
    """The third truth value: an input the expression needs is missing or unusable."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; test `is UNKNOWN` first")


UNKNOWN: Any = _Unknown()

Evaluator = Callable[[Mapping[str, Any], Mapping[str, bool]], Any]


def compile_expr(expr: ir.Expr) -> Evaluator:
    """Turn ``expr`` into a closure ``(metadata, states) -> value | UNKNOWN``."""
    compiler = _COMPILERS.get(type(expr))
    if compiler is None:
        raise TypeError(f"not an expression: {expr!r}")
    return compiler(expr)


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


class _ReadRecorder(dict):
    """Metadata that remembers which missing keys an evaluation actually needed."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        self.missing: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        value = dict.get(self, key, default)
        if value is None:
            self.missing.add(key)
        return value


def missing_inputs(expr: ir.Expr, metadata: Mapping[str, Any], states: Mapping[str, bool] | None = None) -> list[str]:
    """The metadata keys that made ``expr`` UNKNOWN: the missing keys its evaluation really read (keys tested
    only through ``has()``/``default()``, or skipped by short-circuit, are not blamed)."""
    recorder = _ReadRecorder(metadata)
    _compiled(expr)(recorder, states or {})
    return sorted(recorder.missing)


@lru_cache(maxsize=4096)
def _compiled(expr: ir.Expr) -> Evaluator:
    """IR expressions are frozen and hashable: compile each once per process."""
    return compile_expr(expr)


# --------------------------------------------------------------------------------------------- nodes


def _field(node: ir.Field) -> Evaluator:
    name = node.name
    if name.startswith("state."):
        state = name[len("state.") :]
        return lambda meta, states: bool(states.get(state, False))

    def read(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
        value = meta.get(name)
        return UNKNOWN if value is None else value

    return read


def _const(node: ir.Const) -> Evaluator:
    value = tuple(node.value) if isinstance(node.value, list) else node.value
    return lambda meta, states: value


def _has(args: tuple[ir.Expr, ...]) -> Evaluator:
    (arg,) = args
    if not isinstance(arg, ir.Field):
        inner = compile_expr(arg)
        return lambda meta, states: inner(meta, states) is not UNKNOWN
    name = arg.name
    return lambda meta, states: dict.get(meta, name) is not None if isinstance(meta, dict) else meta.get(name) is not None


def _default(args: tuple[ir.Expr, ...]) -> Evaluator:
    if isinstance(args[0], ir.Field) and not args[0].name.startswith("state."):
        name, fallback = args[0].name, compile_expr(args[1])

        def run_field(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
            got = dict.get(meta, name) if isinstance(meta, dict) else meta.get(name)
            return fallback(meta, states) if got is None else got

        return run_field
    value, fallback = (compile_expr(a) for a in args)

    def run(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
        got = value(meta, states)
        return fallback(meta, states) if got is UNKNOWN else got

    return run


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _time_of_day(args: tuple[ir.Expr, ...]) -> Evaluator:
    inner = compile_expr(args[0])

    def run(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
        stamp = _parse_time(inner(meta, states))
        return UNKNOWN if stamp is None else f"{stamp.hour:02d}:{stamp.minute:02d}"

    return run


def _days_between(args: tuple[ir.Expr, ...]) -> Evaluator:
    first, second = (compile_expr(a) for a in args)

    def run(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
        a, b = _parse_time(first(meta, states)), _parse_time(second(meta, states))
        if a is None or b is None or (a.tzinfo is None) != (b.tzinfo is None):
            return UNKNOWN
        return (b - a).total_seconds() / 86400.0

    return run


def _lower(args: tuple[ir.Expr, ...]) -> Evaluator:
    inner = compile_expr(args[0])

    def run(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
        value = inner(meta, states)
        return value.lower() if isinstance(value, str) else UNKNOWN

    return run


_FUNCTIONS: dict[str, Callable[[tuple[ir.Expr, ...]], Evaluator]] = {
    "has": _has,
    "default": _default,
    "time_of_day": _time_of_day,
    "days_between": _days_between,
    "lower": _lower,
}


def _call(node: ir.Call) -> Evaluator:
    factory = _FUNCTIONS.get(node.name)
    if factory is None:
        raise ValueError(f"unknown function {node.name!r}")
    return factory(node.args)


def _compare_values(op: str, left: Any, right: Any) -> Any:
    try:
        if op == "==":
            return left == right
        if op == "!=":
            return left != right
        if op == "in":
            return left in right
        if op == "not_in":
            return left not in right
        if op == "<":
            return left < right
        if op == "<=":
            return left <= right
        if op == ">":
            return left > right
        if op == ">=":
            return left >= right
    except TypeError:
        return UNKNOWN  # comparing a string with a number: the input is unusable, not false
    raise ValueError(f"unknown comparison {op!r}")


def _compare(node: ir.Compare) -> Evaluator:
    left, right, op = compile_expr(node.left), compile_expr(node.right), node.op

    def run(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
        a = left(meta, states)
        if a is UNKNOWN:
            return UNKNOWN
        b = right(meta, states)
        if b is UNKNOWN:
            return UNKNOWN
        return _compare_values(op, a, b)

    return run


def _between(node: ir.Between) -> Evaluator:
    value, low, high = compile_expr(node.value), compile_expr(node.low), compile_expr(node.high)

    def run(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
        v, lo, hi = value(meta, states), low(meta, states), high(meta, states)
        if v is UNKNOWN or lo is UNKNOWN or hi is UNKNOWN:
            return UNKNOWN
        try:
            return lo <= v < hi
        except TypeError:
            return UNKNOWN

    return run


def _bool_op(node: ir.BoolOp) -> Evaluator:
    operands = tuple(compile_expr(o) for o in node.operands)
    if node.op == "and":

        def run_and(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
            unknown = False
            for operand in operands:
                value = operand(meta, states)
                if value is UNKNOWN:
                    unknown = True
                elif not value:
                    return False
            return UNKNOWN if unknown else True

        return run_and

    def run_or(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
        unknown = False
        for operand in operands:
            value = operand(meta, states)
            if value is UNKNOWN:
                unknown = True
            elif value:
                return True
        return UNKNOWN if unknown else False

    return run_or


def _not(node: ir.Not) -> Evaluator:
    inner = compile_expr(node.operand)

    def run(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
        value = inner(meta, states)
        return UNKNOWN if value is UNKNOWN else not value

    return run


def _if_else(node: ir.IfElse) -> Evaluator:
    cond, then, otherwise = compile_expr(node.cond), compile_expr(node.then), compile_expr(node.otherwise)

    def run(meta: Mapping[str, Any], states: Mapping[str, bool]) -> Any:
        c = cond(meta, states)
        if c is UNKNOWN:
            return UNKNOWN
        return then(meta, states) if c else otherwise(meta, states)

    return run


_COMPILERS: dict[type, Callable[[Any], Evaluator]] = {
    ir.Field: _field,
    ir.Const: _const,
    ir.Call: _call,
    ir.Compare: _compare,
    ir.Between: _between,
    ir.BoolOp: _bool_op,
    ir.Not: _not,
    ir.IfElse: _if_else,
}


def truth(value: Any) -> bool | None:
    """Collapse an evaluated value to True / False / None (UNKNOWN)."""
    if value is UNKNOWN:
        return None
    return bool(value)
