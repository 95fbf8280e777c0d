"""Check invariants in Python, through the fold (any reducer: merge, rules, Python).

Each entity's events are folded once with `Fold.iter_states`, and every condition is evaluated
on the state after each event. Used for rules and Python reducers, and to check the DuckDB path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from eventlab.invariants import evaluate
from eventlab.invariants.results import Result, Violation
from eventlab.invariants.spec import Invariant
from eventlab.replay import Event
from eventlab.replay.fold import Fold
from eventlab.replay.reducer import Reducer
from eventlab.store import db
from eventlab.store.order import ORDER_SQL
from eventlab.store.sql import column_list
from eventlab.timetravel.load import events_from_arrow

_FIELDS = column_list(("event_id", "entity_type", "entity_id", "event_type", "event_version",
                       "seq", "offset", "is_delete", "ts", "kafka_ts", "payload", "metadata"))


SLICE_EVENTS = 200_000
"""Events loaded into Python at a time (a slice of entity ids), so memory stays bounded."""


def _entities(con: db.Connection, entity_type: str) -> Iterator[tuple[Event, ...]]:
    """Each entity's events in stream order, one entity at a time, loaded slice by slice."""
    from eventlab.asof.compute import id_slices

    for low, high in id_slices(con, entity_type, per_slice=SLICE_EVENTS):
        where, params = "entity_type = ?", [entity_type]
        for value, clause in ((low, " AND entity_id >= ?"), (high, " AND entity_id < ?")):
            if value is not None:
                where += clause
                params.append(value)
        events = events_from_arrow(db.arrow(
            con, f"SELECT {_FIELDS} FROM events WHERE {where} ORDER BY entity_id, {ORDER_SQL}",
            params))
        start = 0
        for i in range(1, len(events) + 1):
            if i == len(events) or events[i].entity_id != events[start].entity_id:
                yield events[start:i]
                start = i


def check(con: db.Connection, invariants: Sequence[Invariant],
          reducer: Reducer | None = None) -> list[Result]:
    """Every invariant over every position, folding each entity once per entity type."""
    results: dict[str, Result] = {}
    by_type: dict[str, list[Invariant]] = {}
    for inv in invariants:
        by_type.setdefault(inv.entity_type, []).append(inv)
    for entity_type, group in by_type.items():
        trees = [(inv.when_tree, inv.require_tree) for inv in group]
        found: list[list[Violation]] = [[] for _ in group]
        entities = positions = 0
        for events in _entities(con, entity_type):
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
