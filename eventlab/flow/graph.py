"""Frequency filtering of a directly-follows graph, pure: hide rare transitions without
disconnecting the graph (as process-mining tools do).

Kept: every transition with at least `min_count` pairs; for every node its strongest incoming
and outgoing transition; then, while some node cannot be reached from START, the strongest
transition from a reachable node into an unreachable one (and likewise, backwards, towards END).
So every node stays on a path from START to END whenever the full graph had one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eventlab.flow.transitions import END, START

Edge = Mapping[str, Any]
"""A transition as a row of `transitions()`: at least `from_type`, `to_type`, `count`."""


def _key(e: Edge) -> tuple[str, str]:
    return (e["from_type"], e["to_type"])


def _strength(e: Edge) -> tuple:
    """Strongest first: more pairs, then by names (a stable choice among equals)."""
    return (e["count"], _negated(e["from_type"]), _negated(e["to_type"]))


def _negated(text: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in text)


def _reach(start: str, keep: set[tuple[str, str]], forward: bool) -> set[str]:
    out: dict[str, list[str]] = {}
    for a, b in keep:
        src, dst = (a, b) if forward else (b, a)
        out.setdefault(src, []).append(dst)
    seen, todo = {start}, [start]
    while todo:
        for nxt in out.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _repair(edges: Sequence[Edge], keep: set[tuple[str, str]], nodes: set[str],
            origin: str, forward: bool) -> None:
    if origin not in nodes:
        return
    while True:
        reached = _reach(origin, keep, forward)
        if reached >= nodes:
            return
        near, far = ("from_type", "to_type") if forward else ("to_type", "from_type")
        bridges = [e for e in edges if e[near] in reached and e[far] not in reached]
        if not bridges:
            return
        keep.add(_key(max(bridges, key=_strength)))


def frequent(edges: Sequence[Edge], min_count: int) -> list[Edge]:
    """The transitions to draw at threshold `min_count`, in their input order."""
    keep = {_key(e) for e in edges if e["count"] >= min_count}
    best_out: dict[str, Edge] = {}
    best_in: dict[str, Edge] = {}
    for e in edges:
        a, b = _key(e)
        if a not in best_out or _strength(e) > _strength(best_out[a]):
            best_out[a] = e
        if b not in best_in or _strength(e) > _strength(best_in[b]):
            best_in[b] = e
    keep |= {_key(e) for e in best_out.values()} | {_key(e) for e in best_in.values()}
    nodes = {n for e in edges for n in _key(e)}
    _repair(edges, keep, nodes, START, forward=True)
    _repair(edges, keep, nodes, END, forward=False)
    return [e for e in edges if _key(e) in keep]


def node_counts(edges: Sequence[Edge]) -> dict[str, int]:
    """Events per node: outgoing pairs (each event starts exactly one pair, its last one the
    pair into END); START counts entities, END its incoming pairs."""
    counts: dict[str, int] = {}
    for e in edges:
        counts[e["from_type"]] = counts.get(e["from_type"], 0) + e["count"]
        if e["to_type"] == END:
            counts[END] = counts.get(END, 0) + e["count"]
    return counts
