"""The stream order of an entity's events, defined once: seq, then event type, time and the
source position (offset, source, topic, partition), so two copies of an event never tie.

`ORDER_SQL` is the ORDER BY / window order text, `stream_key` the same order in Python.
Event type comes before time so Flow's coded fast paths (which sort by seq and a type code:
`flow/typecodes`) are this order exactly: rows they leave tied have the same seq and type.
NULLs sort last, as DuckDB's ascending order puts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventlab.store.sql import column_list

STREAM_ORDER: tuple[str, ...] = ("seq", "event_type", "ts", "offset", "source", "topic",
                                 "partition")
"""The columns of the stream order, most significant first."""
ORDER_SQL = column_list(STREAM_ORDER)
"""`"seq", "event_type", ...`: the ORDER BY text of the stream order."""
WINDOW_SQL = f"PARTITION BY entity_id ORDER BY {ORDER_SQL}"
"""The window over each entity's stream (for `lag()` / `lead()` / `row_number()`)."""


def stream_key(row: Mapping[str, Any]) -> tuple[tuple[bool, Any], ...]:
    """The stream order of one event (a mapping of the `STREAM_ORDER` columns; a missing
    column counts as NULL)."""
    return tuple((True, 0) if row.get(name) is None else (False, row[name])
                 for name in STREAM_ORDER)

START, END = "^", "$"
"""The start and end of an entity's stream in a transition (`^>A`, `A>$`)."""


def follows_clause(pair: tuple[str, str], where: str = "") -> tuple[str, list[str]]:
    """`rowid IN (...)`: the events of type A whose next event in their entity's stream is B
    (`^>A`: first events of type A; `A>$`: last events of type A), the stream being the
    events that `where` (` WHERE ...` or "") selects, as Flow pairs them: one event per pair,
    so a transition's count is the number of events this selects. Returns the clause and the
    parameters of the event types; `where`'s own parameters come first."""
    a, b = pair
    if a == START:
        cond, params = "event_type = ? AND __prev IS NULL", [b]
    elif b == END:
        cond, params = "event_type = ? AND __next IS NULL", [a]
    else:
        cond, params = "event_type = ? AND __next = ?", [a, b]
    column = "__next" if a != START else "__prev"
    step = "lead" if a != START else "lag"
    return (f"rowid IN (SELECT __r FROM (SELECT rowid AS __r, event_type, {step}(event_type) "
            f"OVER ({WINDOW_SQL}) AS {column} FROM events{where}) WHERE {cond})", params)
