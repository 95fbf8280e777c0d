"""`kafka_ingest.store_batch` on raw batches, without a broker: the shared store step of
Kafka, RabbitMQ and SQS ingest (a real DuckDB file store)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from eventlab.ingest.kafka_ingest import _insert_events, store_batch
from eventlab.ingest.mapping import MappingSpec
from eventlab.kafka.reader import RAW_SCHEMA
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def _batch(offsets: list[int], *, ts: dict[int, str] | None = None,
           headers: dict[int, dict[str, bytes]] | None = None) -> pa.Table:
    """Envelope records of entity order-1 (no seq: it is derived), one per offset."""
    rows: list[dict[str, Any]] = []
    for o in offsets:
        doc = {"event_id": f"e-{o}", "entity_id": "order-1", "event_type": "OrderPaid",
               "ts": (ts or {}).get(o, "2025-03-05T14:03:00Z"), "data": {"o": o}}
        value = json.dumps(doc).encode()
        rows.append({"topic": "t", "partition": 0, "offset": o, "key": f"k{o}".encode(),
                     "value": value, "timestamp_ms": 1_741_183_380_000 + o,
                     "headers": [{"key": k, "value": v}
                                 for k, v in (headers or {}).get(o, {}).items()],
                     "timestamp_type": 0, "serialized_value_size": len(value)})
    return pa.Table.from_pylist(rows, schema=RAW_SCHEMA)


@pytest.fixture()
def store(tmp_path: Path) -> EventStore:
    with EventStore(tmp_path / "s.duckdb") as s:
        yield s


def _stored(store: EventStore) -> list[tuple]:
    with store.reading() as cur:
        return db.rows(cur, 'SELECT "offset", seq, key, value, headers FROM events '
                            'ORDER BY "offset"')


def test_derived_seq_numbers_by_time_then_offset_and_continues(store: EventStore) -> None:
    with store.transaction() as cur:
        store_batch(cur, _batch([0, 1, 2], ts={0: "2025-03-05T15:00:00Z"}), MappingSpec())
    with store.transaction() as cur:
        store_batch(cur, _batch([3, 4]), MappingSpec())
    assert [(o, s) for o, s, *_ in _stored(store)] == [(0, 3), (1, 1), (2, 2), (3, 4), (4, 5)]


def test_a_re_read_numbers_only_the_records_not_stored(store: EventStore) -> None:
    """With dedupe, the rows already stored are skipped before numbering: the new ones
    continue after the stored seq, as if read once."""
    with store.transaction() as cur:
        store_batch(cur, _batch([0, 1]), MappingSpec())
    with store.transaction() as cur:
        (stored, _, _), _ = store_batch(cur, _batch([0, 1, 2, 3]), MappingSpec(), dedupe=True)
    assert stored == 2
    assert [(o, s) for o, s, *_ in _stored(store)] == [(0, 1), (1, 2), (2, 3), (3, 4)]


def test_raw_bytes_and_headers_stay_with_their_record(store: EventStore) -> None:
    """The raw columns join back to the mapped rows by position: each stored row keeps its
    own key, value and headers (a record without headers stores NULL)."""
    batch = _batch([5, 6, 7], headers={6: {"a": b"\x00\xff", "b": b"2"}})
    with store.transaction() as cur:
        store_batch(cur, batch, MappingSpec())
    got = _stored(store)
    assert [(o, k) for o, _, k, *_ in got] == [(5, b"k5"), (6, b"k6"), (7, b"k7")]
    assert [json.loads(v)["data"]["o"] for *_, v, _ in got] == [5, 6, 7]
    assert [h for *_, h in got] == [None, [{"key": "a", "value": b"\x00\xff"},
                                           {"key": "b", "value": b"2"}], None]


def test_the_derived_seq_window_sorts_a_narrow_subquery() -> None:
    """The window reads only the mapped table's order columns (joined back by rowid), not
    the whole rows with their payloads and raw bytes."""
    sql = _insert_events(False, True, "rabbitmq", "b")
    assert ("LEFT JOIN (SELECT c.rowid AS __rid, row_number() OVER (PARTITION BY c.entity_id "
            'ORDER BY c.ts, c.topic, c."partition", c."offset") AS __n FROM __kc c WHERE '
            "c.__reason IS NULL) n ON n.__rid = c.__rid") in sql
    assert "coalesce(c.seq_src, coalesce(prev.max_seq, 0) + n.__n)" in sql
    assert "row_number" not in _insert_events(False, False)
