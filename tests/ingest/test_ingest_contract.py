"""One ingest contract, run against file ingest and Kafka ingest (a real local broker): the
same rows in give the same events out (the canonical columns: `canonical_sql.event_exprs`,
shared), bad rows go to the quarantine with a reason, and loading again stores nothing new."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from eventlab.ingest.file_ingest import ingest_paths
from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka.config import KafkaConfig
from eventlab.store import db
from eventlab.store.eventstore import EventStore

Load = Callable[[Sequence[bytes]], tuple[int, int]]
"""Load raw rows (one JSON document each) into the store: (stored, quarantined)."""

CANONICAL = ("entity_type, entity_id, event_type, event_version, seq, ts, "
             "CAST(payload AS VARCHAR), CAST(metadata AS VARCHAR), is_delete")

DOCS: list[dict[str, Any]] = [
    {"event_id": "e-1", "entity_id": "order-1", "event_type": "Placed", "seq": 1,
     "ts": "2026-11-01T10:00:00Z", "total": 10, "metadata": {"actor": "a"}},
    {"event_id": "e-2", "entity_id": "order-1", "event_type": "Paid", "seq": 2,
     "ts": "2026-11-01T10:05:00+02:00", "total": 10},
    {"event_id": "e-3", "entity_id": "order-1", "event_type": "Paid", "seq": 2,  # equal seq
     "ts": "2026-11-01T10:05:00Z", "total": 11},
    {"event_id": "e-1", "entity_id": "order-1", "event_type": "Placed", "seq": 1,  # a copy
     "ts": "2026-11-01T10:00:00Z", "total": 10, "metadata": {"actor": "a"}},
    {"entity_id": "cart-7", "event_type": "Opened", "ts": "2026-11-01T09:00:00Z"},  # no id/seq
    {"entity_id": "cart-7", "event_type": "Closed", "ts": "2026-11-01T08:00:00Z"},  # earlier
    {"event_type": "Orphan", "ts": "2026-11-01T10:00:00Z"},  # no entity: quarantined
]


def _at(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 1, hour, minute, tzinfo=UTC)


CONTRACT: list[tuple] = sorted([
    ("cart", "cart-7", "Closed", None, 1, _at(8, 0), "{}", None, False),
    ("cart", "cart-7", "Opened", None, 2, _at(9, 0), "{}", None, False),
    ("order", "order-1", "Paid", None, 2, _at(10, 5), '{"total":11}', None, False),
    ("order", "order-1", "Paid", None, 2, _at(8, 5), '{"total":10}', None, False),
    ("order", "order-1", "Placed", None, 1, _at(10, 0), '{"total":10}', '{"actor":"a"}', False),
    ("order", "order-1", "Placed", None, 1, _at(10, 0), '{"total":10}', '{"actor":"a"}', False),
], key=repr)
"""The events DOCS give (entity_type, entity_id, event_type, event_version, seq, ts, payload,
metadata, is_delete), whichever adapter read them."""
RAW: list[bytes] = [orjson.dumps(d) for d in DOCS] + [b'{"entity_id": "x", broken']


@pytest.fixture(params=["file", "kafka"])
def load(request: pytest.FixtureRequest, tmp_path: Path,
         store: EventStore) -> Callable[[Sequence[bytes]], tuple[int, int]]:
    """The same contract through each adapter."""
    if request.param == "file":
        path = tmp_path / "rows.jsonl"

        def load_file(rows: Sequence[bytes]) -> tuple[int, int]:
            path.write_bytes(b"\n".join(rows) + b"\n")
            report = ingest_paths(store, [str(path)])
            return report.rows_stored, report.rows_quarantined
        return load_file
    config: KafkaConfig = request.getfixturevalue("kafka_config")
    topic: str = request.getfixturevalue("new_topic")
    producer = request.getfixturevalue("producer")()
    sent = 0

    def load_kafka(rows: Sequence[bytes]) -> tuple[int, int]:
        nonlocal sent
        for value in rows[sent:]:
            producer.send(topic, value=value).get()
        sent = len(rows)
        report = ingest_kafka(store, config, [topic])
        return report.rows_stored, report.rows_quarantined
    return load_kafka


def _events(store: EventStore) -> list[tuple]:
    cur = store.cursor()
    try:
        return sorted(db.rows(cur, f"SELECT {CANONICAL} FROM events"), key=repr)
    finally:
        cur.close()


def test_the_same_rows_give_the_same_events(load: Load, store: EventStore) -> None:
    assert load(RAW) == (6, 2)
    got = _events(store)
    cur = store.cursor()
    ids = db.rows(cur, "SELECT entity_id, seq, event_id FROM events ORDER BY ALL")
    quarantined = db.rows(cur, "SELECT reason FROM quarantine ORDER BY reason")
    cur.close()
    assert quarantined == [("invalid JSON",), ("missing entity_id",)]
    # derived seqs: by time then position (Closed comes first), ids: kept, or derived
    assert [(e, s) for e, s, _ in ids] == [("cart-7", 1), ("cart-7", 2), ("order-1", 1),
                                           ("order-1", 1), ("order-1", 2), ("order-1", 2)]
    assert [i for e, _, i in ids if e == "order-1"] == ["e-1", "e-1", "e-2", "e-3"]
    assert len({i for e, _, i in ids if e == "cart-7"}) == 2
    assert got == CONTRACT


def test_a_flat_payload_is_the_document_without_the_mapped_keys(load: Load,
                                                               store: EventStore) -> None:
    """A flat payload is the document minus the mapped keys (`canonical_sql.rest_payload`):
    a key that only another document has is not added as null (JSONL files did that)."""
    load(RAW)
    cur = store.cursor()
    payloads = db.rows(cur, "SELECT CAST(payload AS VARCHAR) FROM events "
                            "WHERE entity_id = 'cart-7'")
    cur.close()
    assert payloads == [("{}",), ("{}",)]


def test_loading_again_stores_nothing_new(load: Load, store: EventStore) -> None:
    load(RAW)
    before = _events(store)
    assert load(RAW) == (0, 0)
    assert _events(store) == before
