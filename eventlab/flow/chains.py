"""Correlation chains from the store: every event sharing a correlation id (across entities
and topics), the parents they name that carry another correlation id, and the parents that the
store does not hold at all. The tree is built by `causal.build_chain` (pure)."""

from __future__ import annotations

import re

from eventlab.errors import EventLabError
from eventlab.flow.causal import Chain, ChainEvent, build_chain
from eventlab.flow.scope import CAUSATION_SQL, CORRELATION_KEYS, CORRELATION_SQL
from eventlab.store import db

MAX_EVENTS = 5_000
_PLAIN = re.compile(r"^[\w.:@/+-]+$")
_COLUMNS = (f"event_id, entity_type, entity_id, event_type, seq, ts, topic, "
            f"{CORRELATION_SQL} AS correlation_id, {CAUSATION_SQL} AS causation_id")


class ChainNotFound(EventLabError):
    """No event carries the correlation id (or the event to start from is not stored)."""


def _events(rows: list[tuple], in_correlation: bool = True) -> list[ChainEvent]:
    return [ChainEvent(*r, in_correlation=in_correlation) for r in rows]


def correlation_events(con: db.Connection, correlation_id: str,
                       limit: int = MAX_EVENTS) -> list[ChainEvent]:
    """The events whose metadata carries `correlation_id` (at most `limit`, by time).

    A plain id is first looked for in the metadata text (a fast substring scan); the exact
    JSON field comparison then decides."""
    pre, params = "", [correlation_id]
    if _PLAIN.match(correlation_id):
        pre, params = "contains(CAST(metadata AS VARCHAR), ?) AND ", [correlation_id] * 2
    rows = db.rows(con, f"SELECT {_COLUMNS} FROM events WHERE {pre}{CORRELATION_SQL} = ? "
                        f"ORDER BY ts, seq, event_id LIMIT ?", [*params, limit])
    return _events(rows)


def chain(con: db.Connection, correlation_id: str) -> Chain:
    """The chain of a correlation id: its events in causal order, missing parents marked."""
    events = correlation_events(con, correlation_id)
    if not events:
        raise ChainNotFound(f"No event has correlation id {correlation_id!r} in its metadata "
                            f"(fields {' / '.join(CORRELATION_KEYS)}).")
    ids = {e.event_id for e in events}
    wanted = sorted({e.causation_id for e in events if e.causation_id} - ids)
    outside: list[ChainEvent] = []
    if wanted:
        outside = _events(db.rows(con, f"SELECT {_COLUMNS} FROM events "
                                       f"WHERE list_contains(?, event_id)", [wanted]),
                          in_correlation=False)
    found = {e.event_id for e in outside}
    return build_chain(correlation_id, [*events, *outside],
                       missing=[w for w in wanted if w not in found])


def correlation_of(con: db.Connection, event_id: str) -> str:
    """The correlation id of a stored event (to open its chain)."""
    rows = db.rows(con, f"SELECT {CORRELATION_SQL} FROM events WHERE event_id = ? LIMIT 1",
                   [event_id])
    if not rows:
        raise ChainNotFound(f"No event with id {event_id!r} in this database.")
    if rows[0][0] is None:
        raise ChainNotFound(f"Event {event_id!r} has no correlation id in its metadata.")
    return str(rows[0][0])


def recent_correlations(con: db.Connection, limit: int = 5) -> list[str]:
    """Correlation ids of the latest events (examples to open; a top-N, not a full scan of
    the metadata)."""
    rows = db.rows(con, f"SELECT c FROM (SELECT {CORRELATION_SQL} AS c, ts FROM "
                        f"(SELECT metadata, ts FROM events ORDER BY ts DESC LIMIT 500)) "
                        f"WHERE c IS NOT NULL GROUP BY c ORDER BY max(ts) DESC LIMIT ?",
                   [limit])
    return [r[0] for r in rows]
