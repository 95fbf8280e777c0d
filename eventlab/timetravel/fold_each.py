"""Fold every entity of a type, one at a time: the Python path of invariants and divergence.

Both need each entity's events in stream order (`store.order`) folded once with any reducer
(merge, rules, Python) and read after each event. `each_entity` loads the events slice by
slice of entity ids (`asof.compute.id_slices`), so memory stays bounded, and yields one
`Entity` (its events and their DuckDB row ids, for naming an event later) at a time.

The fold runs one reducer call per event in Python, so its cost is the number of events:
`plan` counts them (and the entities) first and `FoldTooLarge` refuses a run above
`max_events` with a message that says how much and what to do instead. `progress` is called
after each entity with (events folded, events in all), so a page or the CLI can show it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from eventlab.errors import EventLabError
from eventlab.replay import Event
from eventlab.store import db
from eventlab.store.order import ORDER_SQL
from eventlab.store.sql import column_list
from eventlab.timetravel.load import events_from_arrow

FIELDS = ("event_id", "entity_type", "entity_id", "event_type", "event_version", "seq",
          "offset", "is_delete", "ts", "kafka_ts", "payload", "metadata")
_SELECT = column_list(FIELDS)
SLICE_EVENTS = 200_000
"""Events loaded into Python at a time (a slice of entity ids)."""
MAX_EVENTS = 1_000_000
"""Default bound of a fold over a whole entity type (about a minute on a loaded machine)."""
EVENTS_PER_SECOND = 15_000
"""A rough rate of the fold with a Python reducer (3M events of 1M entities: about 200 s on
2 shared cores under load), for the estimate in the refusal."""

Progress = Callable[[int, int], None]


class FoldTooLarge(EventLabError):
    """A fold over every entity of a type would take too long; says how much and what to do."""


@dataclass(frozen=True)
class Plan:
    """What a fold over one entity type costs: entities and events (reducer calls)."""

    entity_type: str
    entities: int
    events: int

    @property
    def seconds(self) -> float:
        """A rough estimate of the fold's time."""
        return self.events / EVENTS_PER_SECOND


@dataclass(frozen=True)
class Entity:
    """One entity's events in stream order and the DuckDB row id of each."""

    events: tuple[Event, ...]
    rowids: tuple[int, ...]

    @property
    def entity_id(self) -> str:
        return self.events[0].entity_id


def plan(con: db.Connection, entity_type: str) -> Plan:
    """Count the events a fold over `entity_type` visits (exact) and its entities (estimated:
    an exact distinct count costs seconds on millions of events)."""
    entities, events = db.rows(
        con, "SELECT approx_count_distinct(entity_id), count(*) FROM events "
             "WHERE entity_type = ?", [entity_type])[0]
    return Plan(entity_type, int(entities), int(events))


def check_cost(p: Plan, max_events: int | None, what: str) -> None:
    """Refuse (`FoldTooLarge`) a fold above `max_events` (None: no bound)."""
    if max_events is None or p.events <= max_events:
        return
    raise FoldTooLarge(
        f"{what} through the fold would apply the reducer to {p.events:,} events of "
        f"about {p.entities:,} {p.entity_type} entities ({p.seconds:,.0f} s at about "
        f"{EVENTS_PER_SECOND:,} events/s), over the bound of {max_events:,} events. "
        f"Use the merge reducer (it runs inside DuckDB), narrow the data, or raise the bound "
        f"(--max-events).")


def each_entity(con: db.Connection, entity_type: str, *, per_slice: int | None = None,
                progress: Progress | None = None, total: int | None = None
                ) -> Iterator[Entity]:
    """Each entity of the type with its events in stream order, one at a time."""
    from eventlab.asof.compute import id_slices

    done = 0
    for low, high in id_slices(con, entity_type, per_slice=per_slice or SLICE_EVENTS):
        where, params = "entity_type = ?", [entity_type]
        for value, clause in ((low, " AND entity_id >= ?"), (high, " AND entity_id < ?")):
            if value is not None:
                where += clause
                params.append(value)
        table = db.arrow(con, f"SELECT {_SELECT}, rowid AS __rowid FROM events WHERE {where} "
                              f"ORDER BY entity_id, {ORDER_SQL}", params)
        events = tuple(events_from_arrow(table))  # built once: sliced per entity below
        rowids = table.column("__rowid").to_pylist() if len(events) else []
        start = 0
        for i in range(1, len(events) + 1):
            if i == len(events) or events[i].entity_id != events[start].entity_id:
                yield Entity(events[start:i], tuple(rowids[start:i]))
                done += i - start
                if progress is not None:
                    progress(done, total if total is not None else done)
                start = i
