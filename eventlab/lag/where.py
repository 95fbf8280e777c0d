"""Where a group stands: the stored event at its committed offset (the next one it will
process), with the query parameters that open it in Explore and in Time travel."""

from __future__ import annotations

from dataclasses import dataclass

from eventlab.store import db


@dataclass(frozen=True)
class StandingEvent:
    """The event at a committed offset, as stored."""

    topic: str
    partition: int
    offset: int
    event_id: str
    entity_type: str
    entity_id: str
    event_type: str
    seq: int
    ts: object
    kafka_ts: object
    payload: str | None

    @property
    def explore_params(self) -> dict[str, str]:
        return {"event_id": self.event_id}

    @property
    def timetravel_params(self) -> dict[str, str]:
        return {"entity_id": self.entity_id, "seq": str(self.seq)}


def event_at(cur: db.Connection, topic: str, partition: int,
             offset: int) -> StandingEvent | None:
    """The stored Kafka event at (topic, partition, offset), or None when it was not ingested
    (or the group is caught up: nothing at the end offset yet)."""
    rows = db.rows(cur, """
        SELECT topic, "partition", "offset", event_id, entity_type, entity_id, event_type, seq,
               ts, kafka_ts, CAST(payload AS VARCHAR)
        FROM events
        WHERE source = 'kafka' AND topic = ? AND "partition" = ? AND "offset" = ?
        ORDER BY ingested_at LIMIT 1""", [topic, partition, offset])
    return StandingEvent(*rows[0]) if rows else None
