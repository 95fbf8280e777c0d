"""What kind of value each node of a condition gives, decided from the tree alone.

Both evaluators (Python in `evaluate`, SQL in `sql`) use these rules, so they agree: a number
node (`num`), a string (`str`), a boolean (`bool`: a literal or a test), or a JSON value read by
a path (`json`, its type known only at run time). A comparison compares numbers if either side
is a number node, strings if either is a string node, booleans if either is boolean, else the
two JSON values when both are numbers, both strings or both booleans. Any other pair (a missing
value, a list, mixed types) is not comparable, and the comparison is false (so is `!=`).
"""

from __future__ import annotations

from eventlab.invariants.grammar import Binary, Call, In, Lit, Node, Path, Unary

ARITHMETIC = ("+", "-", "*", "/")
TESTS = ("and", "or", "==", "!=", "<", "<=", ">", ">=")


def kind(node: Node) -> str:
    """`num`, `str`, `bool` or `json`."""
    if isinstance(node, Lit):
        if isinstance(node.value, bool):
            return "bool"
        return "str" if isinstance(node.value, str) else "num"
    if isinstance(node, Path):
        return "str" if node.root == "type" else "json"
    if isinstance(node, Unary):
        return "num" if node.op == "-" else "bool"
    if isinstance(node, Binary):
        return "num" if node.op in ARITHMETIC else "bool"
    if isinstance(node, In):
        return "bool"
    if isinstance(node, Call):
        if node.name == "coalesce":
            kinds = {kind(a) for a in node.args}
            return kinds.pop() if len(kinds) == 1 else "json"
        return "num"
    raise TypeError(f"not a condition node: {node!r}")


def mode(left: Node, right: Node) -> str:
    """How two sides compare: `num`, `str`, `bool`, or `json` (decided per value)."""
    kinds = {kind(left), kind(right)}
    for k in ("num", "str", "bool"):
        if k in kinds:
            return k
    return "json"
