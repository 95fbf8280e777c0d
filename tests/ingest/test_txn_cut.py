"""Transactions cut on whole row groups: the cut itself, then a real ingest (with 64-row groups)
whose transactions hold whole groups and whose positions stay exact when a run dies after a
batch was cut in two."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from eventlab.ingest import kafka_ingest
from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.ingest.txn_cut import next_offsets, whole_groups
from eventlab.kafka.config import KafkaConfig
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def batch(spans: list[tuple[int, int, int]]) -> pa.Table:
    """Records of (partition, first offset, count) spans, in that order, on topic t."""
    parts, offsets = [], []
    for p, first, n in spans:
        parts += [p] * n
        offsets += range(first, first + n)
    return pa.table({"topic": ["t"] * len(parts), "partition": parts, "offset": offsets,
                     "value": [f"{p}:{o}".encode() for p, o in zip(parts, offsets, strict=True)]})


def test_a_batch_cut_in_two_keeps_the_reader_positions_with_its_second_part() -> None:
    first = batch([(0, 0, 30), (1, 0, 20)])
    second = batch([(0, 30, 25), (1, 20, 25)])
    third = batch([(1, 45, 10)])
    # The reader's positions may run past the records (control records, aborted batches).
    pending = [(first, {("t", 0): 30, ("t", 1): 20}), (second, {("t", 0): 57, ("t", 1): 45}),
               (third, {("t", 1): 55})]
    head, rest = whole_groups(pending, unit=32)
    assert sum(t.num_rows for t, _ in head) == 96 and sum(t.num_rows for t, _ in rest) == 14
    assert head[0] == pending[0]
    cut_first, cut_positions = head[1]
    assert cut_first.num_rows == 46 and cut_positions == {("t", 0): 55, ("t", 1): 41}
    assert rest[0][0].num_rows == 4 and rest[0][1] == {("t", 0): 57, ("t", 1): 45}
    assert rest[1] == pending[2]
    # Nothing lost, nothing twice, in the same order.
    values = [v for t, _ in head + rest for v in t.column("value").to_pylist()]
    assert values == [v for t, _ in pending for v in t.column("value").to_pylist()]


def test_less_than_one_group_waits_and_whole_groups_are_not_cut() -> None:
    pending = [(batch([(0, 0, 20)]), {("t", 0): 20})]
    assert whole_groups(pending, unit=32) == ([], pending)
    exact = [(batch([(0, 0, 32)]), {("t", 0): 32}), (batch([(0, 32, 32)]), {("t", 0): 64})]
    assert whole_groups(exact, unit=32) == (exact, [])


def test_next_offsets_is_the_offset_after_each_partitions_last_record() -> None:
    assert next_offsets(batch([(2, 7, 3), (0, 0, 1)])) == {("t", 2): 10, ("t", 0): 1}


def _envelope(i: int) -> bytes:
    return orjson.dumps({"id": f"ev-{i}", "type": "OrderPlaced", "aggregateType": "order",
                         "aggregateId": f"order-{i % 13}", "version": i // 13 + 1,
                         "timestamp": "2026-11-01T10:00:00Z", "data": {"n": i}})


def test_transactions_hold_whole_row_groups_and_resume_exactly(
        tmp_path: Path, kafka_config: KafkaConfig, topic_factory: Callable,
        producer: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_ingest, "ROW_GROUP_ROWS", 64)
    topic = topic_factory(3)
    p = producer(linger_ms=5)
    n = 1_500
    for i in range(n):
        p.send(topic, value=_envelope(i) if i % 100 else b"{not json")  # 15 quarantined
    p.flush()
    for part in range(3):  # one record per request at the end: exact ends (Tansu)
        p.send(topic, partition=part, value=_envelope(n + part)).get()
    total = n + 3
    sizes: list[int] = []

    def txn_sizes(report: kafka_ingest.KafkaIngestReport) -> None:
        sizes.append(report.records_read - sum(sizes))
        if report.records_read >= 700:
            raise RuntimeError("the run dies after this transaction")

    with EventStore(tmp_path / "k.duckdb") as store:
        with pytest.raises(RuntimeError, match="dies"):
            ingest_kafka(store, kafka_config, [topic], batch_records=50, txn_records=256,
                         progress=txn_sizes)
        # Every transaction after the first holds whole (64-row) groups of records.
        assert len(sizes) >= 2 and all(s % 64 == 0 for s in sizes[1:]), sizes
        done = sum(sizes)
        stored = db.rows(store.cursor(), "SELECT (SELECT count(*) FROM events) + (SELECT "
                                         "count(*) FROM quarantine), (SELECT sum(next_offset) "
                                         "FROM ingest_offsets)")[0]
        assert stored == (done, done)
        sizes.clear()
        resumed = ingest_kafka(store, kafka_config, [topic], batch_records=50,
                               txn_records=10_000)
        assert resumed.records_read == total - done and not resumed.error
        cur = store.cursor()
        counts = db.rows(cur, "SELECT count(*), count(DISTINCT (\"partition\", \"offset\")) "
                              "FROM (SELECT \"partition\", \"offset\" FROM events UNION ALL "
                              "SELECT \"partition\", \"offset\" FROM quarantine)")[0]
        assert counts == (total, total)
        assert db.scalar(cur, "SELECT count(*) FROM quarantine") == 15
        assert db.scalar(cur, "SELECT sum(next_offset) FROM ingest_offsets") == total
