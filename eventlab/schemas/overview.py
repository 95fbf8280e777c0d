"""What the store knows about schema-registry records, for the Sources page and Explore: the
schemas kept, the schemas each topic used with its events and quarantined records per schema
id, and the schema of one event (from its metadata). Small results, computed in DuckDB."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eventlab.store import db

_LABELS = {"AVRO": "Avro", "PROTOBUF": "Protobuf", "JSON": "JSON Schema"}


@dataclass(frozen=True)
class EventSchema:
    """The schema an event's value (and key) was decoded with."""

    schema_id: int
    schema_type: str
    subject: str | None = None
    version: int | None = None
    key_schema_id: int | None = None

    def label(self) -> str:
        """One line, e.g. `Avro · schema id 3 (orders-value v2) · key schema id 1`."""
        text = f"{_LABELS.get(self.schema_type, self.schema_type)} · schema id {self.schema_id}"
        if self.subject:
            text += f" ({self.subject}" + (f" v{self.version}" if self.version else "") + ")"
        if self.key_schema_id is not None:
            text += f" · key schema id {self.key_schema_id}"
        return text


def kept_schemas(cur: db.Connection) -> list[dict[str, Any]]:
    """The `schemas` table without the texts: id, type, subject, version, source, fetched."""
    cols = ("id", "schema_type", "subject", "version", "source", "fetched_at")
    return [dict(zip(cols, r, strict=True)) for r in db.rows(
        cur, "SELECT id, schema_type, subject, version, source, fetched_at FROM schemas "
             "ORDER BY id")]


def topic_schemas(cur: db.Connection) -> list[dict[str, Any]]:
    """Per topic and schema id: the type and subject, events stored and records quarantined.

    Scans the events' metadata only when the store has met a framed record (a `schemas` row
    or a quarantined record with a schema id); otherwise returns [] at once.
    """
    met = db.scalar(cur, "SELECT (SELECT count(*) FROM schemas) + (SELECT count(*) FROM "
                         "quarantine WHERE schema_id IS NOT NULL)")
    if not met:
        return []
    rows = db.rows(cur, """
        WITH ev AS (
            SELECT topic, TRY_CAST(json_extract_string(metadata, '$.schema_id') AS INTEGER)
                   AS schema_id, count(*) AS events
            FROM events WHERE source = 'kafka' AND metadata IS NOT NULL GROUP BY ALL),
        q AS (SELECT topic, schema_id, count(*) AS quarantined FROM quarantine
              WHERE schema_id IS NOT NULL GROUP BY ALL)
        SELECT coalesce(ev.topic, q.topic) AS topic, coalesce(ev.schema_id, q.schema_id),
               s.schema_type, s.subject, s.version, coalesce(ev.events, 0),
               coalesce(q.quarantined, 0)
        FROM (SELECT * FROM ev WHERE schema_id IS NOT NULL) ev
        FULL JOIN q ON q.topic = ev.topic AND q.schema_id = ev.schema_id
        LEFT JOIN schemas s ON s.id = coalesce(ev.schema_id, q.schema_id)
        ORDER BY 1, 2""")
    cols = ("topic", "schema_id", "schema_type", "subject", "version", "events",
            "quarantined")
    return [dict(zip(cols, r, strict=True)) for r in rows]


def event_schema(metadata: Any, cur: db.Connection | None = None) -> EventSchema | None:
    """The schema of an event from its metadata (a JSON text or dict), with the subject from
    the `schemas` table when a cursor is given; None for an event that was plain JSON."""
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return None
    if not isinstance(metadata, dict) or metadata.get("schema_id") is None:
        return None
    sid = int(metadata["schema_id"])
    subject = version = None
    if cur is not None:
        found = db.rows(cur, "SELECT subject, version FROM schemas WHERE id = ?", [sid])
        if found:
            subject, version = found[0]
    key = metadata.get("key_schema_id")
    return EventSchema(sid, str(metadata.get("schema_type") or "?"), subject, version,
                       None if key is None else int(key))
