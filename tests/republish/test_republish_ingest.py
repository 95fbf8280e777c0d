"""Records EventLab republished, ingested again, are copies of their originals (issue 17,
finding 11; docs/ingest-provenance in docs/kafka.md): same event id, linked by
`metadata.republished_from`, listed as copies by the duplicate map."""

from __future__ import annotations

import json
from collections.abc import Callable

import orjson

from eventlab import republish
from eventlab.explore.duplicates import COPY, duplicate_map
from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka.config import KafkaConfig
from eventlab.republish import Selection
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def no_id(i: int) -> bytes:
    """An envelope without an id: its event id is the hash of its source position."""
    return orjson.dumps({"type": "OrderPlaced", "aggregateType": "order",
                         "aggregateId": f"order-{i % 2}", "version": i // 2 + 1,
                         "timestamp": f"2026-11-01T10:00:{i:02d}Z", "data": {"n": i}})


def test_republished_records_ingested_again_are_copies_of_their_originals(
        store: EventStore, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable) -> None:
    src = topic_factory(1)
    raw_producer(src, 0, [(f"order-{i % 2}".encode(), no_id(i), [("trace", b"t")],
                           1_700_000_000_000 + i) for i in range(6)])
    assert ingest_kafka(store, kafka_config, [src]).rows_stored == 6
    with store.reading() as cur:
        originals = dict(db.rows(cur, "SELECT \"offset\", event_id FROM events WHERE topic = ?",
                                 [src]))
    dry = republish.dry_run(store, kafka_config, Selection.query(
        "SELECT event_id FROM events WHERE topic = ? AND \"offset\" < 4", [src]))
    job = dry.plan.job_id
    assert republish.execute(store, kafka_config, job).status == "done"
    target = dry.plan.target_topics[0]

    report = ingest_kafka(store, kafka_config, [target])
    assert report.rows_stored == 4 and report.rows_quarantined == 0
    with store.reading() as cur:
        copies = db.rows(cur, "SELECT event_id, metadata, payload, \"offset\" FROM events "
                              "WHERE topic = ? ORDER BY \"offset\"", [target])
        marks = duplicate_map(cur)
        distinct = db.scalar(cur, "SELECT count(DISTINCT event_id) FROM events")
    assert distinct == 6  # no new events: four copies of four originals
    for event_id, metadata, _, _ in copies:
        origin = json.loads(metadata)["republished_from"]
        assert event_id == originals[origin["offset"]] == origin["event_id"]
        assert origin == {"topic": src, "partition": 0, "offset": origin["offset"],
                          "event_id": event_id, "replay_id": job}
        assert marks[event_id] == COPY
    assert sorted(json.loads(m)["republished_from"]["offset"] for _, m, _, _ in copies) \
        == [0, 1, 2, 3]
    assert set(originals.values()) - set(marks) == {originals[4], originals[5]}
