"""Kafka into the store against the real local broker: mapping, quarantine, resume, faults."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from repo_paths import ROOT

from eventlab.errors import BrokerUnavailable
from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.ingest.mapping import spec_from_dict
from eventlab.kafka.broker import start_broker
from eventlab.kafka.config import KafkaConfig
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def envelope(i: int, entity: str, seq: int, **extra: object) -> bytes:
    doc = {"id": f"ev-{i}", "type": "OrderPlaced" if seq == 1 else "OrderPaid",
           "aggregateType": "order", "aggregateId": entity, "version": seq,
           "timestamp": f"2026-11-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
           "data": {"status": "placed" if seq == 1 else "paid", "n": i},
           "metadata": {"correlation_id": f"c-{entity}"}, **extra}
    return orjson.dumps(doc)


def _rows(store: EventStore, sql: str, params: list | None = None) -> list[tuple]:
    cur = store.cursor()
    try:
        return db.rows(cur, sql, params)
    finally:
        cur.close()


def test_envelope_records_become_events(tmp_path: Path, kafka_config: KafkaConfig,
                                        new_topic: str, producer: Callable) -> None:
    p = producer()
    for i in range(30):
        entity = f"order-{i % 5}"
        p.send(new_topic, key=entity.encode(), value=envelope(i, entity, i // 5 + 1),
               headers=[("event_type", b"ignored-because-the-document-has-one")]).get()
    with EventStore(tmp_path / "k.duckdb") as store:
        assert not store.has_entity_index()
        report = ingest_kafka(store, kafka_config, [new_topic])
        assert store.has_entity_index()
        assert (report.records_read, report.rows_stored, report.rows_quarantined) == (30, 30, 0)
        assert report.stopped_because == "end reached"
        assert report.mappings[new_topic]["json"]["preset"] == "envelope"
        rows = _rows(store, "SELECT entity_id, seq, event_type, payload->>'$.status', topic, "
                            "key, kafka_ts IS NOT NULL, source FROM events "
                            "WHERE entity_id = 'order-3' ORDER BY seq")
        assert [r[1] for r in rows] == [1, 2, 3, 4, 5, 6]
        assert rows[0][2:4] == ("OrderPlaced", "placed") and rows[1][2:4] == ("OrderPaid", "paid")
        assert rows[0][4] == new_topic and rows[0][5] == b"order-3" and rows[0][6]
        assert rows[0][7] == "kafka"
        offsets = _rows(store, "SELECT sum(next_offset) FROM ingest_offsets WHERE topic = ?",
                        [new_topic])
        assert offsets[0][0] == 30
        # A second run resumes after the stored offsets: nothing new, nothing twice.
        again = ingest_kafka(store, kafka_config, [new_topic])
        assert (again.records_read, again.rows_stored) == (0, 0)
        assert _rows(store, "SELECT count(*) FROM events")[0][0] == 30
        # Kafka rows are not clustered by entity: reading one entity goes through the index.
        plan = _rows(store, "EXPLAIN ANALYZE SELECT * FROM events WHERE entity_id = ?",
                     ["order-3"])[0][1]
        assert "Index Scan" in plan


def test_poison_records_are_quarantined_with_raw_bytes(tmp_path: Path,
                                                       kafka_config: KafkaConfig,
                                                       topic_factory: Callable,
                                                       raw_producer: Callable) -> None:
    topic = topic_factory(1)
    big = envelope(9, "order-big", 1, blob="x" * 1_000_000)
    records = [
        (b"order-1", envelope(1, "order-1", 1), [("h", b"\x00\xff"), ("n", None)], None),
        (b"order-1", b"{not json", [], None),
        (b"\xff\xfe", envelope(2, "order-2", 1), [], None),
        (b"order-1", None, [], None),
        (b"order-3", orjson.dumps({"aggregateId": "order-3", "timestamp": "2026-11-01T10:00Z",
                                   "data": {}}), [], None),
        (None, big, [], None),
    ]
    for rec in records:  # one batch per record keeps Tansu's end offset right
        raw_producer(topic, 0, [rec])
    with EventStore(tmp_path / "k.duckdb") as store:
        report = ingest_kafka(store, kafka_config, [topic])
        assert report.records_read == 6
        assert report.rows_quarantined == 2
        assert report.tombstones == 1
        q = {r[0]: r[1:] for r in _rows(store, "SELECT \"offset\", reason, raw, key FROM "
                                               "quarantine ORDER BY \"offset\"")}
        assert q[1] == ("invalid JSON", b"{not json", b"order-1")
        assert q[4][0] == "missing event_type"
        ev = {r[0]: r[1:] for r in _rows(store, "SELECT \"offset\", entity_id, event_type, "
                                                "is_delete, key, headers, octet_length(value) "
                                                "FROM events ORDER BY \"offset\"")}
        assert ev[0][4] == [{"key": "h", "value": b"\x00\xff"}, {"key": "n", "value": None}]
        assert ev[2][3] == b"\xff\xfe" and ev[2][0] == "order-2"  # non-UTF-8 key kept
        assert ev[3][:3] == ("order-1", "(tombstone)", True)
        assert ev[5][5] > 1_000_000  # the 1 MB record, stored whole


def test_cloudevents_binary_mode(tmp_path: Path, kafka_config: KafkaConfig,
                                 topic_factory: Callable, producer: Callable) -> None:
    topic = topic_factory(1)
    p = producer()
    for i in range(3):
        p.send(topic, key=b"cart-1", value=orjson.dumps({"items": i}), headers=[
            ("ce_specversion", b"1.0"), ("ce_id", f"id-{i}".encode()),
            ("ce_type", b"com.shop.cart.updated"), ("ce_source", b"/shop/cart"),
            ("ce_subject", b"cart-1"), ("ce_time", f"2026-11-01T10:00:0{i}Z".encode()),
            ("ce_entitytype", b"cart"), ("ce_correlationid", b"k-1")]).get()
    with EventStore(tmp_path / "k.duckdb") as store:
        report = ingest_kafka(store, kafka_config, [topic])
        assert list(report.mappings[topic]) == ["ce-binary"]
        assert report.mappings[topic]["ce-binary"]["preset"] == "cloudevents-binary"
        rows = _rows(store, "SELECT event_id, entity_type, entity_id, event_type, seq, "
                            "payload->>'$.items', metadata->>'$.source', "
                            "metadata->>'$.correlationid' FROM events ORDER BY seq")
        assert rows[2] == ("id-2", "cart", "cart-1", "com.shop.cart.updated", 3, "2",
                           "/shop/cart", "k-1")


def test_structured_cloudevents_and_a_mapping_file(tmp_path: Path, kafka_config: KafkaConfig,
                                                   topic_factory: Callable,
                                                   producer: Callable) -> None:
    topic = topic_factory(1)
    p = producer()
    p.send(topic, key=b"k-1", value=orjson.dumps({
        "specversion": "1.0", "id": "a", "source": "/s", "type": "T", "subject": "acct-7",
        "time": "2026-11-01T10:00:00+02:00", "data": {"x": 1}})).get()
    with EventStore(tmp_path / "k.duckdb") as store:
        ingest_kafka(store, kafka_config, [topic])
        row = _rows(store, "SELECT entity_id, CAST(ts AS VARCHAR), payload FROM events")[0]
        assert row == ("acct-7", "2026-11-01 08:00:00+00", '{"x":1}')
    spec = spec_from_dict({"preset": "flat", "fields": {"entity_id": {"kafka": "key"},
                                                        "event_type": {"literal": "Seen"}}})
    with EventStore(tmp_path / "k2.duckdb") as store:
        report = ingest_kafka(store, kafka_config, [topic], spec=spec)
        assert _rows(store, "SELECT entity_id, event_type FROM events")[0] == ("k-1", "Seen")
        mapping = report.mappings[topic]["json"]
        assert mapping["fields"]["entity_id"] == {"column": "@key"}


def test_unreachable_broker_is_a_clear_error_within_10_s(tmp_path: Path) -> None:
    config = KafkaConfig(bootstrap="127.0.0.1:1", timeout_s=5.0)
    started = time.monotonic()
    with EventStore(tmp_path / "k.duckdb") as store, pytest.raises(BrokerUnavailable) as info:
        ingest_kafka(store, config, ["t"])
    assert time.monotonic() - started < 10
    assert "127.0.0.1:1" in str(info.value)


def test_broker_killed_mid_ingest_then_resume(tmp_path: Path, raw_producer: Callable) -> None:
    """Stored rows stay with their positions and a clear error; a later run resumes from the
    stored positions with no gap and no duplicate (the broker keeps data in memory only, so the
    test replays the same records into a fresh broker)."""
    from eventlab.kafka.admin import create_topic

    N = 400
    PAD = "x" * 100_000

    def fill(config: KafkaConfig) -> None:
        create_topic(config, "orders", partitions=1)
        for i in range(N):
            # 100 KB each: far more than the reader buffers, so the kill lands mid-read.
            raw_producer("orders", 0, [(b"order-1", envelope(i, "order-1", i + 1, pad=PAD),
                                        [], None)], config=config)

    db_path = tmp_path / "k.duckdb"
    with start_broker() as broker:
        config = broker.config(timeout_s=3.0)
        fill(config)

        def kill_after_first_batch(report: object) -> None:
            if broker.running():
                broker.stop()

        with EventStore(db_path) as store:
            report = ingest_kafka(store, config, ["orders"], batch_records=10,
                                  txn_records=10, progress=kill_after_first_batch)
            assert report.error and "127.0.0.1" in report.error
            assert report.partial and report.stopped_because == "error"
            count, last = _rows(store, "SELECT count(*), max(\"offset\") FROM events")[0]
            assert 0 < count < N and last == count - 1
            assert report.positions == {"orders/0": count}
            assert _rows(store, "SELECT next_offset FROM ingest_offsets")[0][0] == count
    # The same cluster again (same address): positions are per broker, so a broker on
    # another port would be another cluster and start from the beginning.
    with start_broker(broker.port) as broker:
        config = broker.config(timeout_s=3.0)
        # (filled through "localhost": the fixture's writer for the old address is dead)
        fill(KafkaConfig(bootstrap=f"localhost:{broker.port}", timeout_s=3.0))
        with EventStore(db_path) as store:
            resumed = ingest_kafka(store, config, ["orders"])
            assert resumed.resumed_from == {"orders/0": count}
            assert resumed.records_read == N - count and not resumed.error
            offsets = [r[0] for r in _rows(store, "SELECT \"offset\" FROM events ORDER BY 1")]
            assert offsets == list(range(N))


def _ingest_cmd(db_path: Path, bootstrap: str, topic: str) -> list[str]:
    return [sys.executable, "-c",
            "import sys; from eventlab.cli import main; sys.exit(main(sys.argv[1:]))",
            "ingest-kafka", "--bootstrap", bootstrap, "--topic", topic, "--db", str(db_path),
            "--batch-records", "100", "--txn-records", "100", "--json"]


def test_exactly_once_under_sigkill(tmp_path: Path, kafka_config: KafkaConfig,
                                    topic_factory: Callable, producer: Callable) -> None:
    """Produce N records; ingest while killing the process at random moments; resume until
    done: every (topic, partition, offset) is stored exactly once."""
    topic = topic_factory(3)
    p = producer(linger_ms=5)
    n = 20_000
    for i in range(n):
        entity = f"order-{i % 97}"
        p.send(topic, key=entity.encode(), value=envelope(i, entity, i // 97 + 1))
    p.flush()
    # Tansu's ListOffsets can be off after multi-record batches; one record per request at
    # the end makes every partition's reported end exact.
    for part in range(3):
        p.send(topic, partition=part, key=b"order-x", value=envelope(n + part, "order-x",
                                                                     part + 1)).get()
    total = n + 3
    db_path = tmp_path / "k.duckdb"
    rng = random.Random(7)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = 0
    for _ in range(8):  # kill at random moments until it was killed mid-run three times
        proc = subprocess.Popen(_ingest_cmd(db_path, kafka_config.bootstrap, topic), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.5, 3.0))  # start-up takes about a second
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        if kills == 3:
            break
    done = subprocess.run(_ingest_cmd(db_path, kafka_config.bootstrap, topic), env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert kills >= 2
    with EventStore(db_path) as store:
        count, distinct = _rows(store, "SELECT count(*), count(DISTINCT (topic, \"partition\", "
                                       "\"offset\")) FROM events")[0]
        assert (count, distinct) == (total, total)
        assert _rows(store, "SELECT sum(next_offset) FROM ingest_offsets")[0][0] == total


def _ce_binary(i: int, entity: str) -> tuple[bytes, bytes, list]:
    return (entity.encode(), orjson.dumps({"n": i}), [
        ("ce_specversion", b"1.0"), ("ce_id", f"bin-{i}".encode()), ("ce_type", b"Binary"),
        ("ce_source", b"/t"), ("ce_subject", entity.encode()),
        ("ce_time", f"2026-11-01T10:00:{i:02d}Z".encode()), ("ce_entitytype", b"cart")])


def _ce_structured(i: int, entity: str, header: bool = True) -> tuple[bytes, bytes, list]:
    doc = {"specversion": "1.0", "id": f"str-{i}", "source": "/t", "type": "Structured",
           "subject": entity, "time": f"2026-11-01T11:00:{i:02d}Z", "entitytype": "cart",
           "data": {"n": i}}
    headers = [("content-type", b"application/cloudevents+json; charset=UTF-8")] if header else []
    return entity.encode(), orjson.dumps(doc), headers


def test_two_topics_of_different_encodings_in_one_run(tmp_path: Path, kafka_config: KafkaConfig,
                                                       topic_factory: Callable,
                                                       producer: Callable) -> None:
    binary, structured = topic_factory(1), topic_factory(1)
    p = producer()
    for i in range(10):
        key, value, headers = _ce_binary(i, f"cart-{i % 3}")
        p.send(binary, key=key, value=value, headers=headers).get()
        key, value, headers = _ce_structured(i, f"cart-{i % 3}")
        p.send(structured, key=key, value=value, headers=headers).get()
    with EventStore(tmp_path / "k.duckdb") as store:
        report = ingest_kafka(store, kafka_config, [binary, structured])
        assert (report.records_read, report.rows_stored, report.rows_quarantined) == (20, 20, 0)
        assert report.mappings[binary]["ce-binary"]["preset"] == "cloudevents-binary"
        assert report.mappings[structured]["ce-structured"]["preset"] == "cloudevents"
        rows = _rows(store, "SELECT topic, event_type, count(*), count(DISTINCT event_id), "
                            "min(entity_type), sum(CAST(payload->>'$.n' AS INT)) FROM events "
                            "GROUP BY ALL ORDER BY 1")
        assert sorted(rows) == sorted([(binary, "Binary", 10, 10, "cart", 45),
                                       (structured, "Structured", 10, 10, "cart", 45)])
        assert f"mapping of {binary}: ce-binary records as cloudevents-binary" in report.summary()


def test_one_topic_mixing_binary_structured_and_envelope(tmp_path: Path,
                                                         kafka_config: KafkaConfig,
                                                         topic_factory: Callable,
                                                         raw_producer: Callable) -> None:
    topic = topic_factory(2)
    records = []
    for i in range(12):
        entity = f"order-{i % 4}"
        kind = i % 4
        if kind == 0:
            key, value, headers = _ce_binary(i, entity)
        elif kind == 1:
            key, value, headers = _ce_structured(i, entity)
        elif kind == 2:  # structured mode without the content-type header
            key, value, headers = _ce_structured(i, entity, header=False)
        else:
            key, value, headers = entity.encode(), envelope(i, entity, 1), []
        records.append((key, value, headers, None))
    raw_producer(topic, 0, records[:6])   # one batch holding every mode
    raw_producer(topic, 1, records[6:])
    with EventStore(tmp_path / "k.duckdb") as store:
        report = ingest_kafka(store, kafka_config, [topic])
        assert report.records_read == 12
        assert (report.rows_stored, report.rows_quarantined) == (12, 0)
        assert sorted(report.mappings[topic]) == ["ce-binary", "ce-structured", "json"]
        assert report.mappings[topic]["json"]["preset"] == "envelope"
        got = _rows(store, "SELECT event_id, event_type, entity_id FROM events ORDER BY "
                           "\"partition\", \"offset\"")
        assert [g[1] for g in got] == ["Binary", "Structured", "Structured", "OrderPlaced"] * 3
        assert got[0] == ("bin-0", "Binary", "order-0")
        assert got[1] == ("str-1", "Structured", "order-1")

