"""Records EventLab republished, read back by ingest: stored as copies of their originals.

A Kafka record carrying EventLab's provenance headers (`kafka.provenance`: a replay id and
the original's event id) is not a new event. It is stored with its original's event id, so
the duplicate map (`explore/duplicates.py`) lists it as a copy of the original (or as a
conflict, if its payload differs), and its metadata gets `republished_from`:
`{"topic", "partition", "offset", "event_id", "replay_id"}` (the original's position and id,
and the republish job). Its own topic, partition, offset, key, value and headers are stored
as for any record. A record without an original event id (a republished quarantine record)
keeps the id its mapping gives it and still gets `republished_from`.
"""

from __future__ import annotations

import pyarrow as pa

from eventlab.kafka.provenance import (
    ORIGINAL_EVENT_ID,
    ORIGINAL_OFFSET,
    ORIGINAL_PARTITION,
    ORIGINAL_TOPIC,
    REPLAY_ID,
    has_header,
)
from eventlab.store.sql import quote_literal

_COLS = {"__rp_replay": REPLAY_ID, "__rp_event": ORIGINAL_EVENT_ID,
         "__rp_topic": ORIGINAL_TOPIC, "__rp_partition": ORIGINAL_PARTITION,
         "__rp_offset": ORIGINAL_OFFSET}


def present(raw: pa.Table) -> bool:
    """Does the raw batch hold a record EventLab republished? (Most batches: no, and
    `link_copies` is then not needed.)"""
    return has_header(raw.column("headers"), REPLAY_ID)


def link_copies(mapped_sql: str) -> str:
    """Wrap the mapped batch's SELECT (`event_id_src`, `metadata`, `headers` columns) so that
    republished records take their original's event id and carry `republished_from`."""
    values = ", ".join(
        f"TRY(decode(list_filter(headers, lambda h: h.key = {quote_literal(header)})[1]"
        f".value)) AS {name}" for name, header in _COLS.items())
    origin = ("json_object('topic', nullif(__rp_topic, ''), 'partition', "
              "TRY_CAST(__rp_partition AS INTEGER), 'offset', TRY_CAST(__rp_offset AS BIGINT), "
              "'event_id', nullif(__rp_event, ''), 'replay_id', __rp_replay)")
    return (
        f"SELECT * EXCLUDE ({', '.join(_COLS)}) REPLACE ("
        "CASE WHEN __rp_replay IS NOT NULL AND coalesce(__rp_event, '') <> '' THEN __rp_event "
        "ELSE event_id_src END AS event_id_src, "
        "CASE WHEN __rp_replay IS NULL THEN metadata ELSE json_merge_patch(coalesce(metadata, "
        f"CAST('{{}}' AS JSON)), json_object('republished_from', {origin})) END AS metadata) "
        f"FROM (SELECT *, {values} FROM ({mapped_sql}))")
