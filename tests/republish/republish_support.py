"""Helpers of the republish tests: source records with awkward bytes, loading them, and
reading a target topic back record by record (headers in order, null values kept)."""

from __future__ import annotations

from collections.abc import Callable

import orjson

from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.reader import KafkaRawReader
from eventlab.store.eventstore import EventStore

Record = tuple[bytes | None, bytes | None, list[tuple[str, bytes | None]], int]


def envelope(i: int, entity: str, seq: int) -> bytes:
    return orjson.dumps({"id": f"ev-{i}", "type": "OrderPlaced" if seq == 1 else "OrderPaid",
                         "aggregateType": "order", "aggregateId": entity, "version": seq,
                         "timestamp": f"2026-11-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
                         "data": {"n": i}})


def records(count: int, entities: int = 5, first: int = 0, nulls: bool = True
            ) -> list[Record]:
    """Envelopes keyed by entity, each with binary, repeated, empty (and, with `nulls`, on
    every 7th a null) header value, timestamps 1_700_000_000_000 + i."""
    out: list[Record] = []
    seqs: dict[str, int] = {}
    for i in range(first, first + count):
        entity = f"order-{i % entities}"
        seqs[entity] = seqs.get(entity, 0) + 1
        headers: list[tuple[str, bytes | None]] = [
            ("trace", bytes([0, 255, i % 256, 0x80])), ("dup", b"one"), ("dup", b"two"),
            ("empty", b"")]
        if nulls and i % 7 == 3:
            headers.append(("null", None))
        out.append((entity.encode(), envelope(i, entity, seqs[entity]), headers,
                    1_700_000_000_000 + i))
    return out


def load(store: EventStore, config: KafkaConfig, topic: str,
         raw_producer: Callable, recs: list[Record], partitions: int = 1) -> None:
    """Write `recs` (record i to partition i % partitions, one batch each) and ingest them."""
    for i, rec in enumerate(recs):
        raw_producer(topic, i % partitions, [rec])
    report = ingest_kafka(store, config, [topic])
    assert report.rows_stored == len(recs), report


def read_all(config: KafkaConfig, topic: str) -> list[dict]:
    """Every record of `topic`: partition, offset, key, value, headers (list of tuples),
    timestamp_ms, sorted by (partition, offset)."""
    reader = KafkaRawReader(config, [topic], start="earliest", until="end")
    out: list[dict] = []
    try:
        while (table := reader.next_batch(10_000)) is not None:
            for row in table.to_pylist():
                row["headers"] = [(h["key"], h["value"]) for h in row["headers"]]
                out.append(row)
    finally:
        reader.close()
    return sorted(out, key=lambda r: (r["partition"], r["offset"]))


def provenance_of(record: dict) -> dict[str, str]:
    """The eventlab-* headers of a record read back, decoded."""
    return {k: v.decode() for k, v in record["headers"] if k.startswith("eventlab-")}
