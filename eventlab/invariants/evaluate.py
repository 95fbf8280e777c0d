"""Evaluate a condition in Python over one state and event (the fold path).

The rules are those of `kinds`; `sql` compiles the same rules for DuckDB, and the tests check
the two agree. A missing field and a JSON null are both "absent" (None).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from eventlab.invariants.grammar import Binary, Call, In, Lit, Node, Path, Unary
from eventlab.invariants.kinds import ARITHMETIC, kind, mode

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}


def get(value: Any, steps: tuple[str | int, ...]) -> Any:
    """The value at a path (None when any step is missing or of the wrong type)."""
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return None
            value = value[step]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(step)
    return value


def as_num(value: Any) -> float | None:
    """A number as float; None for anything else (booleans are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _as(value: Any, target: str) -> Any:
    if target == "num":
        return as_num(value)
    if target == "str":
        return value if isinstance(value, str) else None
    return value if isinstance(value, bool) else None


def _compare(op: str, left: Any, right: Any, how: str) -> bool:
    if how == "json":
        for target in ("num", "str", "bool"):
            a, b = _as(left, target), _as(right, target)
            if a is not None and b is not None:
                return _COMPARE[op](a, b)
        return False
    a, b = _as(left, how), _as(right, how)
    return a is not None and b is not None and _COMPARE[op](a, b)


def value(node: Node, state: Any, event_type: str | None, payload: Any,
          item: Any = None) -> Any:
    """The value of a node: a JSON value, a number, a string or a boolean (None: absent)."""
    if isinstance(node, Lit):
        return float(node.value) if kind(node) == "num" else node.value
    if isinstance(node, Path):
        base = {"state": state, "payload": payload, "item": item}.get(node.root)
        if node.root == "type":
            return event_type
        return get(base, node.steps)
    if isinstance(node, Unary):
        if node.op == "-":
            v = as_num(value(node.arg, state, event_type, payload, item))
            return None if v is None else -v
        if node.op == "exists":
            return value(node.arg, state, event_type, payload, item) is not None
        return not truth(node.arg, state, event_type, payload, item)
    if isinstance(node, In):
        hit = any(_compare("==", value(node.arg, state, event_type, payload, item), v,
                           mode(node.arg, Lit(v))) for v in node.values)
        return hit != node.negated
    if isinstance(node, Binary):
        if node.op in ("and", "or"):
            left = truth(node.left, state, event_type, payload, item)
            if node.op == "and":
                return left and truth(node.right, state, event_type, payload, item)
            return left or truth(node.right, state, event_type, payload, item)
        a = value(node.left, state, event_type, payload, item)
        b = value(node.right, state, event_type, payload, item)
        if node.op in ARITHMETIC:
            x, y = as_num(a), as_num(b)
            if x is None or y is None or (node.op == "/" and y == 0):
                return None
            return {"+": x + y, "-": x - y, "*": x * y, "/": x / y if y else None}[node.op]
        return _compare(node.op, a, b, mode(node.left, node.right))
    if isinstance(node, Call):
        return _call(node, state, event_type, payload, item)
    raise TypeError(f"not a condition node: {node!r}")


def _call(node: Call, state: Any, event_type: str | None, payload: Any, item: Any) -> Any:
    if node.name == "coalesce":
        for arg in node.args:
            v = value(arg, state, event_type, payload, item)
            if v is not None:
                return v
        return None
    if node.name == "abs":
        v = as_num(value(node.args[0], state, event_type, payload, item))
        return None if v is None else abs(v)
    items = value(node.args[0], state, event_type, payload, item)
    if not isinstance(items, list):
        return None
    if node.name == "count":
        return float(len(items))
    total: float | None = None
    for element in items:
        v = as_num(value(node.args[1], state, event_type, payload, element))
        if v is not None:
            total = v if total is None else total + v
    return total


def truth(node: Node, state: Any, event_type: str | None, payload: Any,
          item: Any = None) -> bool:
    """A node as a condition: tests are true or false; a value is true only when it is the
    boolean true."""
    v = value(node, state, event_type, payload, item)
    return v is True
