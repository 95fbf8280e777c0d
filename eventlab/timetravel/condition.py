"""A condition on an entity's state, typed in Time travel: the invariant grammar, read over the
state after each event, as a `holds(state)` object that `timetravel.bisect` takes.

Bisect sees states only (it probes from the fold's snapshots), so `event.type` and
`event.payload...` are refused here with the column where they start; the grammar's own parse
errors come through unchanged (line, column, what was expected).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventlab.invariants import evaluate, grammar
from eventlab.invariants.grammar import ParseError


@dataclass(frozen=True)
class StateCondition:
    """A parsed condition over the state (the text kept for messages and the URL)."""

    text: str
    tree: grammar.Node

    def holds(self, state: Any) -> bool:
        """True when the condition is true of this state (absent fields compare false)."""
        return evaluate.truth(self.tree, state, None, None)


def _event_column(text: str) -> tuple[int, int]:
    """Line and column of the first `event` path (not a field named so after a dot)."""
    tokens = grammar.tokenize(text)
    for i, t in enumerate(tokens):
        if t.kind == "name" and t.text == "event" and (i == 0 or tokens[i - 1].text != "."):
            return t.line, t.column
    return 1, 1


def parse(text: str) -> StateCondition:
    """The condition in `text`; `ParseError` (line, column, what was expected) otherwise."""
    tree = grammar.parse(text)
    if any(isinstance(n, grammar.Path) and n.root in ("type", "payload")
           for n in grammar.walk(tree)):
        line, column = _event_column(text)
        raise ParseError("expected a path into the state: event.type and event.payload are "
                         "not offered here (the condition is read over the state after each "
                         "event)", line, column)
    return StateCondition(text.strip(), tree)


def ranges(marks: list[bool]) -> list[tuple[int, int]]:
    """The runs of positions where the marks are true, as (first, last) position pairs."""
    out: list[tuple[int, int]] = []
    start: int | None = None
    for i, mark in enumerate([*marks, False]):
        if mark and start is None:
            start = i
        elif not mark and start is not None:
            out.append((start, i - 1))
            start = None
    return out
