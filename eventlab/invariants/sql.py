"""Compile a condition to DuckDB SQL with the rules of `kinds` (the merge-reducer path).

State paths are read from columns the caller provides (`columns[path]`, each the JSON value of
that path in the state after the event, NULL when absent); `event.type` is `event_type` and
`event.payload...` reads the `payload` column. Strings are bound parameters (`$n`); paths are
made of names and indexes only, so the JSON path text holds nothing from outside the grammar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eventlab.invariants.grammar import Binary, Call, In, Lit, Node, Path, Unary, walk
from eventlab.invariants.kinds import ARITHMETIC, kind, mode


def _reads(node: Node) -> set[Path | str]:
    """The state paths a node reads, and "event" when it reads the event (its type or
    payload); paths inside sum() are the list's elements, not the state."""
    out: set[Path | str] = set()
    for n in walk(node):
        if isinstance(n, Path):
            if n.root == "state":
                out.add(n)
            elif n.root in ("type", "payload"):
                out.add("event")
    return out


def _item_spec(body: Node) -> dict[str, Any] | None:
    """The `json_transform` shape of the element fields a sum() reads (leaves as JSON), or
    None when a path has a list index or is both a leaf and a parent."""
    spec: dict[str, Any] = {}
    for n in walk(body):
        if not (isinstance(n, Path) and n.root == "item"):
            continue
        if not all(isinstance(s, str) for s in n.steps):
            return None
        level = spec
        for step in n.steps[:-1]:
            nxt = level.setdefault(step, {})
            if not isinstance(nxt, dict):
                return None
            level = nxt
        if isinstance(level.get(n.steps[-1]), dict):
            return None
        level[n.steps[-1]] = "JSON"
    return spec


def json_path(steps: tuple[str | int, ...]) -> str:
    """`$.a.b[0]` for steps ('a', 'b', 0) (names are identifiers: the grammar allows no other)."""
    return "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps)


def extract(json_sql: str, steps: tuple[str | int, ...]) -> str:
    """The JSON at a path, NULL when missing or a JSON null."""
    return f"nullif(json_extract({json_sql}, '{json_path(steps)}'), 'null'::JSON)"


@dataclass
class Compiler:
    """Compiles nodes; `params` collects the bound values, numbered from `first_param`."""

    columns: dict[Path, str]
    first_param: int = 1
    params: list[Any] = field(default_factory=list)
    per_event: dict[Path, str] | None = None
    """When set (path -> its column of the value an event sets), a part of a condition that
    reads one state path and nothing else is computed per event on that value (`hoisted`) and
    carried like a path: f(value after the event) = f(value its last setter set). The heavy
    parts then run before the sort, in parallel, and the sort carries small values."""
    hoisted: list[tuple[Path, str, str]] = field(default_factory=list)
    """(path, SQL over the per-event value, kind) of each hoisted part, column `hc{k}`."""

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return f"${self.first_param + len(self.params) - 1}"

    def value(self, node: Node, item: str | None = None) -> str:
        """SQL for a node's value, of the type its `kind` says (JSON, DOUBLE, VARCHAR, BOOL)."""
        if self.per_event is not None and item is None and not isinstance(node, Lit | Path):
            reads = _reads(node)
            if len(reads) == 1 and "event" not in reads:
                path = next(iter(reads))
                assert isinstance(path, Path)
                saved, self.columns, self.per_event = self.columns, dict(self.per_event), None
                try:
                    self.hoisted.append((path, self.value(node), kind(node)))
                finally:
                    self.per_event, self.columns = self.columns, saved
                return f"hc{len(self.hoisted) - 1}"
        return self._value(node, item)

    def _value(self, node: Node, item: str | None = None) -> str:
        if isinstance(node, Lit):
            if isinstance(node.value, bool):
                return "true" if node.value else "false"
            if isinstance(node.value, str):
                return f"{self.bind(node.value)}::VARCHAR"
            return f"{float(node.value)!r}::DOUBLE"
        if isinstance(node, Path):
            if node.root == "type":
                return "event_type"
            if node.root == "payload":
                return extract("payload", node.steps)
            if node.root == "item":
                if item == "struct:x":
                    fields = "".join(f'."{s}"' for s in node.steps)
                    return f"nullif(x{fields}, 'null'::JSON)"
                return extract(item or "x", node.steps)
            return self.columns[node]
        if isinstance(node, Unary):
            if node.op == "-":
                return f"(-{self.num(node.arg, item)})"
            if node.op == "exists":
                return f"({self.value(node.arg, item)} IS NOT NULL)"
            return f"(NOT {self.cond(node.arg, item)})"
        if isinstance(node, In):
            modes = {mode(node.arg, Lit(v)) for v in node.values}
            if len(modes) == 1 and "json" not in modes:  # one conversion, one IN list
                how = modes.pop()
                lits = ", ".join(self.typed(Lit(v), how, item) for v in node.values)
                hit = f"coalesce({self.typed(node.arg, how, item)} IN ({lits}), false)"
            else:
                hit = "(" + " OR ".join(self.compare("==", node.arg, Lit(v), item)
                                        for v in node.values) + ")"
            return f"(NOT {hit})" if node.negated else hit
        if isinstance(node, Binary):
            if node.op in ("and", "or"):
                return (f"({self.cond(node.left, item)} {node.op.upper()} "
                        f"{self.cond(node.right, item)})")
            if node.op in ARITHMETIC:
                a, b = self.num(node.left, item), self.num(node.right, item)
                if node.op == "/":
                    return f"(CASE WHEN {b} <> 0 THEN {a} / {b} END)"
                return f"({a} {node.op} {b})"
            return self.compare(node.op, node.left, node.right, item)
        if isinstance(node, Call):
            return self.call(node, item)
        raise TypeError(f"not a condition node: {node!r}")

    def call(self, node: Call, item: str | None) -> str:
        if node.name == "coalesce":
            if kind(node) == "json":
                return "coalesce(" + ", ".join(self.as_json(a, item) for a in node.args) + ")"
            return "coalesce(" + ", ".join(self.value(a, item) for a in node.args) + ")"
        if node.name == "abs":
            return f"abs({self.num(node.args[0], item)})"
        items = self.value(node.args[0], item)
        if node.name == "count":
            return (f"(CASE WHEN starts_with({items}::VARCHAR, '[') "
                    f"THEN json_array_length({items})::DOUBLE END)")
        spec = _item_spec(node.args[1])
        if spec is None:  # paths that no one shape describes: read each element's JSON
            body = self.num(node.args[1], "x")
            elements = f"json_extract({items}, '$[*]')"
        else:  # parse the list once into structs of the fields the expression reads
            body = self.num(node.args[1], "struct:x")
            elements = f"json_transform({items}, '{json.dumps([spec])}')"
        return (f"(CASE WHEN starts_with({items}::VARCHAR, '[') THEN list_sum(list_transform("
                f"{elements}, lambda x: {body})) END)")

    def as_json(self, node: Node, item: str | None) -> str:
        k, v = kind(node), self.value(node, item)
        return v if k == "json" else f"to_json({v})"

    def num(self, node: Node, item: str | None) -> str:
        k, v = kind(node), self.value(node, item)
        if k == "num":
            return v
        if k == "json":  # JSON text parses as a double only when it is a number
            return f"TRY_CAST({v}::VARCHAR AS DOUBLE)"
        return "NULL::DOUBLE"

    def typed(self, node: Node, target: str, item: str | None) -> str:
        k, v = kind(node), self.value(node, item)
        if k == target:
            return v
        if target == "num":
            return self.num(node, item)
        if k != "json":
            return "NULL"
        # extracted JSON is compact text: its first character says its type
        if target == "str":
            return f"(CASE WHEN starts_with({v}::VARCHAR, '\"') THEN {v}->>'$' END)"
        return f"(CASE {v}::VARCHAR WHEN 'true' THEN true WHEN 'false' THEN false END)"

    def compare(self, op: str, left: Node, right: Node, item: str | None) -> str:
        sql_op = "=" if op == "==" else op
        how = mode(left, right)
        if how != "json":
            a, b = self.typed(left, how, item), self.typed(right, how, item)
            return f"coalesce({a} {sql_op} {b}, false)"
        parts = [f"{self.typed(left, t, item)} {sql_op} {self.typed(right, t, item)}"
                 for t in ("num", "str", "bool")]
        return f"coalesce({', '.join(parts)}, false)"

    def cond(self, node: Node, item: str | None = None) -> str:
        """SQL that is true or false, never NULL (a value counts only when it is `true`)."""
        if kind(node) == "bool" and not isinstance(node, Lit | Path | Call):
            return self.value(node, item)
        return f"coalesce({self.typed(node, 'bool', item)}, false)"
