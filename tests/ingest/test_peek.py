"""Peek at a topic with the real local broker: newest, offset and time starts, the cap,
decoding (events, poison, tombstones, binary headers, huge values), and no group or commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, OffsetAndMetadata, TopicPartition

from eventlab.errors import OffsetOutOfRange, SourceError, TopicGone
from eventlab.ingest.mapping import MappingSpec
from eventlab.ingest.peek import load_positions, parse_peek_start, peek, preview, start_text
from eventlab.kafka.config import KafkaConfig

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)


def doc(i: int) -> bytes:
    return orjson.dumps({"id": f"ev-{i}", "type": "OrderNoted", "aggregateId": f"order-{i % 3}",
                         "timestamp": (T0 + timedelta(seconds=i)).isoformat(),
                         "data": {"n": i}})


def fill(make_producer: Callable, topic: str, count: int, partitions: int = 1) -> None:
    """Record i goes to partition i % partitions at T0 + i seconds, one per request
    (docs/kafka.md, quirk 2)."""
    p = make_producer()
    for i in range(count):
        p.send(topic, key=f"order-{i % 3}".encode(), value=doc(i), partition=i % partitions,
               timestamp_ms=T0_MS + i * 1000).get(timeout=10)


def group_offsets(config: KafkaConfig, topic: str) -> dict[str, dict[int, int]]:
    """Every group the broker lists, with its committed offsets on `topic`."""
    admin = KafkaAdminClient(**config.client_kwargs())
    try:
        names = sorted(g["group_id"] if isinstance(g, dict) else g[0]
                       for g in admin.list_groups())
        out = {}
        for name in names:
            offsets = admin.list_group_offsets(name).get(name, {})
            out[name] = {tp.partition: m.offset for tp, m in offsets.items() if tp.topic == topic}
        return out
    finally:
        admin.close()


def commit_as(config: KafkaConfig, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """A separate test-only client committing for `group` (EventLab itself never does)."""
    c = KafkaConsumer(**config.client_kwargs(), group_id=group, enable_auto_commit=False)
    try:
        c.commit({TopicPartition(*tp): OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
    finally:
        c.close(autocommit=False)


def test_newest_reads_the_last_records_newest_first(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable) -> None:
    topic = topic_factory(2)
    fill(producer, topic, 30, partitions=2)
    result = peek(kafka_config, topic, "newest", 10)
    assert [r["offset"] for r in result.rows] == [14, 14, 13, 13, 12, 12, 11, 11, 10, 10]
    assert [r["partition"] for r in result.rows] == [1, 0] * 5
    assert result.rows[0]["timestamp"] == T0 + timedelta(seconds=29)
    assert [r["event_type"] for r in result.rows] == ["OrderNoted"] * 10
    assert result.rows[0]["entity_id"] == "order-2"  # record 29
    assert result.rows[0]["value"] == doc(29).decode()
    assert result.decoded == 10 and result.quarantined == 0
    assert result.load_from == {(topic, 0): 10, (topic, 1): 10}
    assert result.load_from_text == f"{topic}:0:10,{topic}:1:10"
    assert result.end_offsets == {(topic, 0): 15, (topic, 1): 15}
    assert [m["preset"] for m in result.mappings] == ["envelope"]
    assert result.presets == "envelope"


def test_offsets_read_only_the_listed_partition(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable) -> None:
    topic = topic_factory(2)
    fill(producer, topic, 20, partitions=2)
    result = peek(kafka_config, topic, "0:7", 5)
    assert [(r["partition"], r["offset"]) for r in result.rows] == [(0, o) for o in range(7, 10)]
    # partition 1 is not read: "load from here" leaves it at its end
    assert result.load_from == {(topic, 0): 7, (topic, 1): 10}
    result = peek(kafka_config, topic, f"{topic}:1:2", 3)
    assert [(r["partition"], r["offset"]) for r in result.rows] == [(1, 2), (1, 3), (1, 4)]


def test_time_start_reads_the_first_records_at_or_after_it(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable) -> None:
    topic = topic_factory(2)
    fill(producer, topic, 20, partitions=2)
    at = (T0 + timedelta(seconds=11)).isoformat()
    result = peek(kafka_config, topic, at, 4)
    assert [r["timestamp"] for r in result.rows] == [T0 + timedelta(seconds=s)
                                                     for s in (11, 12, 13, 14)]
    assert [(r["partition"], r["offset"]) for r in result.rows] == [(1, 5), (0, 6), (1, 6),
                                                                    (0, 7)]
    assert result.load_from == {(topic, 0): 6, (topic, 1): 5}


def test_the_cap_and_bad_starts(kafka_config: KafkaConfig, topic_factory: Callable,
                                producer: Callable) -> None:
    topic = topic_factory(1)
    p = producer(linger_ms=20)
    for i in range(520):
        p.send(topic, value=doc(i), timestamp_ms=T0_MS + i)
    p.flush()
    assert len(peek(kafka_config, topic, "earliest", 500).rows) == 500
    assert [r["offset"] for r in peek(kafka_config, topic, "earliest", 3).rows] == [0, 1, 2]
    with pytest.raises(SourceError, match="1 to 500"):
        peek(kafka_config, topic, "newest", 501)
    with pytest.raises(OffsetOutOfRange, match="past the end"):
        peek(kafka_config, topic, "0:100000", 5)
    with pytest.raises(SourceError, match="no partition 3"):
        peek(kafka_config, topic, "3:0", 5)
    with pytest.raises(TopicGone):
        peek(kafka_config, topic + "-missing", "newest", 5)


def test_records_decode_or_say_why_not(kafka_config: KafkaConfig, topic_factory: Callable,
                                       raw_producer: Callable) -> None:
    topic = topic_factory(1)
    huge = orjson.dumps({"id": "big", "type": "Big", "aggregateId": "order-9",
                         "timestamp": T0.isoformat(), "data": {"blob": "x" * 3000}})
    raw_producer(topic, 0, [
        (b"order-1", doc(1), [("trace", b"\x00\xff"), ("empty", None)], T0_MS),
        (b"\xfe\xff", b"\xff\x00not json", [], T0_MS + 1),
        (b"order-1", None, [], T0_MS + 2),
        (None, huge, [], T0_MS + 3),
    ])
    result = peek(kafka_config, topic, "earliest", 10)
    good, poison, tomb, big = result.rows
    assert good["status"] == "decoded" and good["entity_id"] == "order-1"
    assert good["headers"] == [{"key": "trace", "value": "0x00ff"}, {"key": "empty",
                                                                     "value": None}]
    assert good["event_time"] == T0 + timedelta(seconds=1)
    assert poison["status"] == "quarantined" and poison["reason"] == "invalid JSON"
    assert poison["key"] == "0xfeff" and poison["value"] == "0xff006e6f74206a736f6e"
    assert poison["entity_id"] is None and poison["detail"] == "not a JSON object"
    assert tomb["status"] == "tombstone" and tomb["value"] is None
    assert tomb["value_bytes"] is None and tomb["entity_id"] == "order-1"
    assert big["key"] is None and big["value_bytes"] == len(huge)
    assert big["value"].endswith(f"… ({len(huge):,} bytes)") and len(big["value"]) < 260
    assert result.decoded == 3 and result.quarantined == 1
    flat = peek(kafka_config, topic, "earliest", 1, spec=MappingSpec(preset="flat"))
    assert [m["preset"] for m in flat.mappings] == ["flat"]
    assert flat.rows[0]["status"] == "decoded"  # key -> entity, type field, record time


def test_no_group_is_created_and_nothing_is_committed(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable) -> None:
    topic = topic_factory(2)
    fill(producer, topic, 10, partitions=2)
    witness = f"witness-{topic}"  # someone else's group, committed on this topic
    commit_as(kafka_config, witness, {(topic, 0): 3})
    before = group_offsets(kafka_config, topic)
    assert before[witness] == {0: 3}
    for start in ("newest", "earliest", "0:1", T0.isoformat()):
        assert peek(kafka_config, topic, start, 5).rows
    assert group_offsets(kafka_config, topic) == before  # no new group, no new commit


def test_pure_parts() -> None:
    assert parse_peek_start("latest", "t") == "newest"
    assert parse_peek_start("", "t") == "newest"
    assert parse_peek_start("0:5,1:7", "t") == {("t", 0): 5, ("t", 1): 7}
    assert parse_peek_start("2026-11-01T10:00:00", "t") == T0
    with pytest.raises(SourceError, match="^the start position names topic u") as raised:
        parse_peek_start("u:0:5", "t")  # said on the page too: no command-line flag in it
    assert "--" not in str(raised.value)
    assert preview(b"abc") == "abc"
    assert preview(b"\xff\x01") == "0xff01"
    assert preview(b"a" * 10, 4) == "aaaa… (10 bytes)"
    assert preview(None) is None
    rows = [{"partition": 0, "offset": 9}, {"partition": 0, "offset": 4}]
    assert load_positions(rows, "t", {("t", 0): 10, ("t", 1): 3}) == {("t", 0): 4, ("t", 1): 3}
    assert start_text({("t", 1): 3, ("t", 0): 4}) == "t:0:4,t:1:3"
