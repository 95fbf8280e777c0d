"""The demo producer against the real broker: record shapes, poison bytes, determinism, rate."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner import murmur2

from eventlab.demo import generate
from eventlab.demo.anomalies import planned_counts
from eventlab.demo.poison import (
    HUGE_VALUE_BYTES,
    NON_UTF8_KEY,
    NOT_JSON_VALUE,
    POISON_KINDS,
    poison_positions,
)
from eventlab.demo.produce import ProduceReport, demo_records, produce_demo
from eventlab.errors import BrokerUnavailable
from eventlab.kafka.admin import create_topic, offset_bounds, partition_counts
from eventlab.kafka.broker import free_port
from eventlab.kafka.config import KafkaConfig

EVENTS = 1_000
ENVELOPE_KEYS = {"id", "type", "schemaVersion", "aggregateType", "aggregateId", "version",
                 "timestamp", "data", "metadata"}
CE_REQUIRED = {"specversion", "id", "source", "datacontenttype", "entitytype", "sequence",
               "eventversion", "correlationid", "data"}
Rec = dict[str, Any]


def read_topic(config: KafkaConfig, topic: str) -> list[Rec]:
    """Every record of a topic, partition by partition in offset order, as plain dicts."""
    n = partition_counts(config, [topic])[topic]
    assert n is not None
    ends = offset_bounds(config, [(topic, p) for p in range(n)], "read_uncommitted")
    tps = [TopicPartition(topic, p) for p in range(n)]
    consumer = KafkaConsumer(bootstrap_servers=config.bootstrap, group_id=None,
                             enable_auto_commit=False, max_partition_fetch_bytes=8 << 20,
                             fetch_max_bytes=64 << 20)
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    got: dict[int, list[Rec]] = {p: [] for p in range(n)}
    deadline = time.monotonic() + 20
    while any(consumer.position(tp) < ends[(topic, tp.partition)][1] for tp in tps):
        assert time.monotonic() < deadline, "topic not read in time"
        for tp, records in consumer.poll(timeout_ms=500).items():
            got[tp.partition] += [
                {"partition": tp.partition, "offset": r.offset, "key": r.key, "value": r.value,
                 "headers": list(r.headers), "timestamp": r.timestamp} for r in records]
    consumer.close()
    return [r for p in range(n) for r in got[p]]


def poison_of(record: Rec) -> str | None:
    return next((v.decode() for h, v in record["headers"] if h == "poison"), None)


def header(record: Rec, name: str) -> bytes | None:
    values = [v for h, v in record["headers"] if h == name]
    assert len(values) <= 1, f"header {name} repeated"
    return values[0] if values else None


def iso_ms(text: str) -> int:
    assert text.endswith("Z")
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000) // 1000


@pytest.fixture(scope="module")
def produced(kafka_config: KafkaConfig) -> Callable[[str], tuple[ProduceReport, list[Rec]]]:
    """mode -> (report, records read back) of the 1,000-event demo; produced once per mode."""
    cache: dict[str, tuple[ProduceReport, list[Rec]]] = {}

    def get(mode: str) -> tuple[ProduceReport, list[Rec]]:
        if mode not in cache:
            topic = f"demo-{mode}-{uuid.uuid4().hex[:8]}"
            report = produce_demo(kafka_config, topic, events=EVENTS, seed=42, mode=mode)
            cache[mode] = report, read_topic(kafka_config, topic)
        return cache[mode]

    return get


def _common_checks(report: ProduceReport, records: list[Rec]) -> list[Rec]:
    """Counts, partitions and the poison offsets every mode shares; returns the demo records."""
    assert report.records == len(records) == EVENTS + len(POISON_KINDS)
    assert report.partitions == 3 and {r["partition"] for r in records} == {0, 1, 2}
    assert report.bytes > HUGE_VALUE_BYTES
    by_kind = {poison_of(r): r for r in records if poison_of(r)}
    assert set(by_kind) == set(POISON_KINDS)
    for kind, (partition, offset) in report.poison.items():
        assert (by_kind[kind]["partition"], by_kind[kind]["offset"]) == (partition, offset)
    demo = [r for r in records if not poison_of(r)]
    for r in demo:  # keyed records sit where Kafka's default partitioner puts them
        if r["key"] is not None:
            assert r["partition"] == (murmur2(r["key"]) & 0x7FFFFFFF) % 3
    return demo


def test_envelope_records_have_the_documented_shape(produced: Callable[..., Any]) -> None:
    report, records = produced("envelope")
    demo = _common_checks(report, records)
    table = generate(EVENTS, seed=42)
    assert Counter(json.loads(r["value"])["id"] for r in demo) == Counter(
        table.column("id").to_pylist())
    missing: Counter[str] = Counter()
    for r in demo:
        doc = json.loads(r["value"])
        assert set(doc) <= ENVELOPE_KEYS
        missing.update(ENVELOPE_KEYS - set(doc))
        assert isinstance(doc["data"], dict) and isinstance(doc["metadata"], dict)
        assert r["key"] == (doc["aggregateId"].encode() if "aggregateId" in doc else None)
        if "timestamp" in doc:
            assert r["timestamp"] == iso_ms(doc["timestamp"])
        assert header(r, "event_type") == (doc["type"].encode() if "type" in doc else None)
        assert header(r, "event_id") == doc["id"].encode()
        assert header(r, "event_version") == str(doc["schemaVersion"]).encode()
        assert header(r, "correlation_id") == doc["metadata"]["correlation_id"].encode()
    planned = planned_counts(EVENTS)
    assert missing == {"aggregateId": planned["null_aggregate_id"], "type": planned["null_type"],
                       "timestamp": planned["null_timestamp"]}


def test_structured_cloudevents_have_the_documented_shape(
        produced: Callable[..., Any]) -> None:
    report, records = produced("structured")
    demo = _common_checks(report, records)
    sources = set()
    for r in demo:
        ce = json.loads(r["value"])
        assert set(ce) >= CE_REQUIRED, set(ce)
        assert ce["specversion"] == "1.0" and ce["datacontenttype"] == "application/json"
        assert isinstance(ce["data"], dict) and isinstance(ce["sequence"], str)
        assert isinstance(ce["eventversion"], int)
        assert r["key"] == (ce["subject"].encode() if "subject" in ce else None)
        assert header(r, "content-type") == b"application/cloudevents+json; charset=UTF-8"
        assert header(r, "event_id") == ce["id"].encode()
        assert header(r, "correlation_id") == ce["correlationid"].encode()
        if "time" in ce:
            assert r["timestamp"] == iso_ms(ce["time"])
        sources.add(ce["source"])
    assert sources == {"/shop/customer-service", "/shop/order-service", "/shop/payment-service",
                       "/shop/shipping-service"}
    order = next(json.loads(r["value"]) for r in demo
                 if json.loads(r["value"]).get("type") == "OrderPaid")
    assert order["entitytype"] == "order" and order["causationid"]


def test_binary_cloudevents_have_the_documented_shape(produced: Callable[..., Any]) -> None:
    report, records = produced("binary")
    demo = _common_checks(report, records)
    envelope = {json.loads(r["value"])["id"]: r for r in produced("envelope")[1]
                if not poison_of(r)}
    for r in demo:
        names = [h for h, _ in r["headers"]]
        assert {"ce_specversion", "ce_id", "ce_source", "ce_entitytype", "ce_sequence",
                "ce_eventversion", "ce_correlationid", "content-type"} <= set(names)
        assert header(r, "ce_specversion") == b"1.0"
        assert header(r, "content-type") == b"application/json"
        data = json.loads(r["value"])
        assert isinstance(data, dict)
        twin = json.loads(envelope[header(r, "ce_id").decode()]["value"])
        if twin["data"] == data:  # conflicting duplicates share an id with another payload
            assert header(r, "ce_type") == (twin["type"].encode() if "type" in twin else None)
            assert header(r, "ce_sequence") == str(twin["version"]).encode()
            assert r["key"] == header(r, "ce_subject")


@pytest.mark.parametrize("mode", ["envelope", "structured", "binary"])
def test_every_poison_record_is_there_byte_for_byte(produced: Callable[..., Any],
                                                    mode: str) -> None:
    _, records = produced(mode)
    by_kind = {poison_of(r): r for r in records if poison_of(r)}

    bad = by_kind["not-json"]
    assert (bad["key"], bad["value"]) == (b"poison-not-json", NOT_JSON_VALUE)
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad["value"])

    odd = by_kind["non-utf8-key"]
    assert odd["key"] == NON_UTF8_KEY == b"poison-\xff\xfe-key"
    with pytest.raises(UnicodeDecodeError):
        odd["key"].decode("utf-8")
    json.loads(odd["value"])

    tomb = by_kind["tombstone"]
    assert tomb["value"] is None and tomb["key"].startswith(b"order-")
    earlier = [r for r in records if r["partition"] == tomb["partition"]
               and r["offset"] < tomb["offset"] and r["key"] == tomb["key"]]
    assert earlier, "the tombstone's key is an order that exists before it"

    nulled = by_kind["null-header"]
    assert ("trace_id", None) in nulled["headers"]
    assert nulled["key"] == b"poison-null-header"
    json.loads(nulled["value"])

    huge = by_kind["huge"]
    assert len(huge["value"]) == HUGE_VALUE_BYTES == 1_000_000
    assert json.loads(huge["value"])  # valid JSON with a big field


def test_poison_records_sit_at_the_documented_send_positions() -> None:
    records = list(demo_records(EVENTS, seed=3))
    assert len(records) == EVENTS + 5
    kinds = {i: r[4] for i, r in enumerate(records) if r[4]}
    assert kinds == {k * EVENTS // 6 + k - 1: kind for k, kind in enumerate(POISON_KINDS, 1)}
    assert poison_positions(50_000) == {8333: "not-json", 16666: "non-utf8-key",
                                        25000: "tombstone", 33333: "null-header",
                                        41666: "huge"}
    assert poison_positions(99) == {} and not any(r[4] for r in demo_records(99))


def test_same_seed_same_records(kafka_config: KafkaConfig) -> None:
    def run(seed: int) -> list[tuple[Any, ...]]:
        topic = f"demo-seed-{uuid.uuid4().hex[:8]}"
        produce_demo(kafka_config, topic, events=300, seed=seed, mode="binary")
        return [(r["partition"], r["offset"], r["key"], r["value"], r["headers"],
                 r["timestamp"]) for r in read_topic(kafka_config, topic)]

    first = run(7)
    assert first == run(7)
    assert first != run(8)


def test_rate_limits_the_speed(kafka_config: KafkaConfig) -> None:
    topic = f"demo-rate-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    report = produce_demo(kafka_config, topic, events=300, rate=250)
    elapsed = time.monotonic() - started
    assert report.records == 305
    assert 1.1 <= report.seconds <= 2.5, report.seconds  # 305 records at 250/s: 1.22 s
    assert elapsed < 6
    fast = produce_demo(kafka_config, f"{topic}-fast", events=300)
    assert fast.seconds < report.seconds / 2


def test_a_paced_run_stamps_records_with_the_send_time(kafka_config: KafkaConfig) -> None:
    """With --rate the demo is a live producer: Kafka timestamps are when each record was
    sent (so lag in seconds grows), the event time stays in the payload."""
    topic = f"demo-live-{uuid.uuid4().hex[:8]}"
    before = int(time.time() * 1000)
    produce_demo(kafka_config, topic, events=100, rate=500)
    after = int(time.time() * 1000)
    records = [r for r in read_topic(kafka_config, topic) if not poison_of(r)]
    assert records and all(before <= r["timestamp"] <= after for r in records)
    assert all(iso_ms(json.loads(r["value"])["timestamp"]) < before - 86_400_000
               for r in records if json.loads(r["value"]).get("timestamp"))


def test_an_existing_topic_keeps_its_partitions(kafka_config: KafkaConfig) -> None:
    topic = f"demo-existing-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_config, topic, partitions=2)
    report = produce_demo(kafka_config, topic, events=150, partitions=5)
    assert report.partitions == 2
    assert partition_counts(kafka_config, [topic])[topic] == 2
    assert len(read_topic(kafka_config, topic)) == 155


def test_an_unreachable_broker_is_a_clear_error_in_seconds() -> None:
    config = KafkaConfig(bootstrap=f"127.0.0.1:{free_port()}", timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match=config.bootstrap):
        produce_demo(config, "nowhere", events=100)
    assert time.monotonic() - started < 10
