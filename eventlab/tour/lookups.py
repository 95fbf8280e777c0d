"""The tour's lookups: each one names an example in the live store (an entity, an event id)
by one small query, so the tour's links open on real data. A lookup that finds nothing
returns None, and the step says so instead of linking to an empty view."""

from __future__ import annotations

from collections.abc import Callable

from eventlab.explore.duplicates import DUPLICATES_SQL
from eventlab.store import db

Lookup = Callable[[db.Connection], str | None]


def _first(con: db.Connection, sql: str) -> str | None:
    rows = db.rows(con, sql)
    return str(rows[0][0]) if rows and rows[0][0] is not None else None


LOOKUPS: dict[str, Lookup] = {
    "busiest_customer": lambda con: _first(
        con, "SELECT entity_id FROM events WHERE entity_type = 'customer' GROUP BY 1 "
             "ORDER BY count(*) DESC, 1 LIMIT 1"),
    "conflicting_duplicate": lambda con: _first(
        con, f"SELECT event_id FROM ({DUPLICATES_SQL}) WHERE payloads > 1 ORDER BY 1 LIMIT 1"),
    "order_v1": lambda con: _first(
        con, "SELECT entity_id FROM events WHERE event_type = 'OrderPlaced' AND "
             "event_version = 1 ORDER BY ts, entity_id LIMIT 1"),
    "order_v2": lambda con: _first(
        con, "SELECT entity_id FROM events WHERE event_type = 'OrderPlaced' AND "
             "event_version = 2 ORDER BY ts, entity_id LIMIT 1"),
}
"""Name -> the query giving its value."""
