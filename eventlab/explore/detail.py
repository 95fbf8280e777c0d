"""One event in detail: its key (the URL's `ev`), the event with its neighbours in the entity's
stream, and raw bytes and headers as text or hex.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventlab.store import db
from eventlab.store.blobs import show_bytes
from eventlab.store.order import ORDER_SQL


@dataclass(frozen=True)
class EventKey:
    """Identifies one stored event: its entity, seq and source position (ids can repeat)."""

    entity_id: str
    seq: int
    offset: int

    def to_param(self) -> str:
        """Compact form for the URL."""
        return f"{self.offset}~{self.seq}~{self.entity_id}"

    @staticmethod
    def from_param(value: str) -> EventKey | None:
        """Parse `to_param`'s form; None when malformed."""
        parts = value.split("~", 2)
        if len(parts) != 3:
            return None
        try:
            return EventKey(parts[2], int(parts[1]), int(parts[0]))
        except ValueError:
            return None


@dataclass
class EventDetail:
    """One event with its neighbours in the same entity's stream."""

    event: dict[str, Any]
    previous: EventKey | None
    next: EventKey | None
    position: int
    count: int


def event_detail(con: db.Connection, key: EventKey) -> EventDetail | None:
    """The event at `key` and the keys of the previous and next event of its entity."""
    rows = db.arrow(
        con, "WITH e AS MATERIALIZED (SELECT * FROM events WHERE entity_id = ?), "
             "w AS (SELECT *, row_number() OVER o - 1 AS __pos, count(*) OVER () AS __n, "
             "lag(seq) OVER o AS __pseq, lag(\"offset\") OVER o AS __poff, "
             "lead(seq) OVER o AS __nseq, lead(\"offset\") OVER o AS __noff FROM e "
             f"WINDOW o AS (ORDER BY {ORDER_SQL})) "
             "SELECT * FROM w WHERE seq = ? AND \"offset\" = ? LIMIT 1",
        [key.entity_id, key.seq, key.offset]).to_pylist()
    if not rows:
        return None
    row = rows[0]
    prev = (EventKey(key.entity_id, row["__pseq"], row["__poff"])
            if row["__pseq"] is not None else None)
    nxt = (EventKey(key.entity_id, row["__nseq"], row["__noff"])
           if row["__nseq"] is not None else None)
    event = {k: v for k, v in row.items() if not k.startswith("__")}
    return EventDetail(event, prev, nxt, row["__pos"], row["__n"])


def headers_for_display(headers: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Kafka headers (key, raw bytes) as key / text-or-hex pairs; null values stay null."""
    return [{"key": h["key"], "value": show_bytes(h["value"])} for h in headers or []]
