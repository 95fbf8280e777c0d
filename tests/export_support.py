"""A small store with Kafka bytes (non-UTF-8 key, binary and null header values), a delete and
a file event, for the export tests."""

from __future__ import annotations

from pathlib import Path

from event_rows import add_events, event

from eventlab.store.eventstore import EventStore

CANONICAL = ("event_id, entity_type, entity_id, event_type, event_version, seq, ts, "
             "CAST(payload AS VARCHAR), CAST(metadata AS VARCHAR), is_delete")
"""The columns an export must carry back through `eventlab ingest` unchanged."""

KEY = b"\x00\xffk"
VALUE = b'{"n":1,"s":"\xc3\xbc"}'
HEADERS = [{"key": "trace", "value": b"\x00\xff"}, {"key": "none", "value": None}]

COLUMNS = ("event_id", "entity_type", "entity_id", "event_type", "event_version", "seq", "ts",
           "payload", "metadata", "is_delete", "source", "topic", "partition", "offset", "key",
           "value", "headers", "kafka_ts", "kafka_ts_type")
ROWS = [
    ("k-1", "order", "order-1", "OrderPlaced", 1, 1, "2026-11-01 10:00:00.123456+00",
     '{"n":1,"s":"ü"}', '{"correlation_id":"c1"}', False, "kafka", "orders", 0, 0, KEY,
     VALUE, HEADERS, "2026-11-01 10:00:01+00", 0),
    ("k-2", "order", "order-1", "OrderPaid", 2, 2, "2026-11-01 10:05:00+00",
     '{"paid":true,"amount":12.5}', None, False, "kafka", "orders", 0, 1, b"order-1",
     b'{"paid":true}', [], "2026-11-01 10:05:01+00", 0),
    ("k-3", "order", "order-1", "(tombstone)", None, 3, "2026-11-01 10:06:00+00", None,
     None, True, "kafka", "orders", 1, 7, b"order-1", None, [], "2026-11-01 10:06:00+00", 1),
    ("f-1", "customer", "customer-7", "CustomerRegistered", 1, 1, "2026-10-31 09:00:00+00",
     '{"name":"Ada","tags":["a","b"],"address":{"city":"Graz"}}', '{"actor":"x"}', False,
     "/data/customers.parquet", None, None, 3, None, None, None, None, None),
]


def make_store(path: Path) -> Path:
    """A database file holding `ROWS` (closed again)."""
    with EventStore(path) as store:
        add_events(store, [event(**dict(zip(COLUMNS, row, strict=True))) for row in ROWS])
        with store.transaction() as cur:
            cur.execute("INSERT INTO quarantine (source, topic, \"partition\", \"offset\", reason, "
                    "detail, raw, key, headers) VALUES ('kafka', 'orders', 0, 9, "
                        "'invalid JSON', 'not a JSON object', ?, ?, ?)",
                        [b"\xff\x00bad", b"k9", HEADERS])
    return path
