"""Check invariants in Python, through the fold (any reducer: merge, rules, Python).

Each entity's events (`timetravel.fold_each`, shared with divergence's fold path) are folded
once with `Fold.iter_states`, and every condition is evaluated
on the state after each event. Used for rules and Python reducers, and to check the DuckDB path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventlab.invariants import evaluate
from eventlab.invariants.results import Result, Violation
from eventlab.invariants.spec import Invariant
from eventlab.replay import Event
from eventlab.replay.fold import Fold
from eventlab.replay.reducer import Reducer
from eventlab.store import db
from eventlab.timetravel import fold_each

SLICE_EVENTS = 200_000
"""Events loaded into Python at a time (a slice of entity ids), so memory stays bounded."""


def check(con: db.Connection, invariants: Sequence[Invariant],
          reducer: Reducer | None = None, *, max_events: int | None = None,
          progress: fold_each.Progress | None = None) -> list[Result]:
    """Every invariant over every position, folding each entity once per entity type
    (`fold_each`: refused above `max_events` events of a type; `progress` per entity)."""
    results: dict[str, Result] = {}
    by_type: dict[str, list[Invariant]] = {}
    for inv in invariants:
        by_type.setdefault(inv.entity_type, []).append(inv)
    for entity_type, group in by_type.items():
        trees = [(inv.when_tree, inv.require_tree) for inv in group]
        found: list[list[Violation]] = [[] for _ in group]
        entities = positions = 0
        cost = fold_each.plan(con, entity_type)
        fold_each.check_cost(cost, max_events, "checking invariants")
        for entity in fold_each.each_entity(con, entity_type, per_slice=SLICE_EVENTS,
                                            progress=progress, total=cost.events):
            events = entity.events
            entities += 1
            positions += len(events)
            marks: list[list[int]] = [[] for _ in group]
            fold = Fold(events, reducer, eager=False)
            for i, event, state in fold.iter_states(copy=False):
                for k, (when, require) in enumerate(trees):
                    if _violates(when, require, state, event):
                        marks[k].append(i)
            for k, idx in enumerate(marks):
                if idx:
                    first = events[idx[0]]
                    found[k].append(Violation(first.entity_id, first.event_id, first.seq,
                                              first.ts, first.event_type, len(idx),
                                              idx[-1] < len(events) - 1))
        for inv, vs in zip(group, found, strict=True):
            results[inv.name] = Result(inv, entities, positions,
                                       tuple(sorted(vs, key=lambda v: v.entity_id)), "fold")
    return [results[inv.name] for inv in invariants]


def _violates(when: Any, require: Any, state: Any, event: Event) -> bool:
    payload = event.payload
    if when is not None and not evaluate.truth(when, state, event.event_type, payload):
        return False
    return not evaluate.truth(require, state, event.event_type, payload)
