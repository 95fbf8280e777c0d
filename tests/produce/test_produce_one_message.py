"""Producing one message with the real local broker: the bytes sent are exactly the dry
run's; read-only, the allow-list and an unconfirmed source topic refuse inside the function
and are audited; prefills from a stored event and an event type's latest example."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest

from eventlab import settings
from eventlab.errors import ReadOnlyError
from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka import provenance as prov
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.partitioner import partition_for
from eventlab.kafka.reader import KafkaRawReader
from eventlab.produce import prefill
from eventlab.produce.plan import Draft, ProduceError, encode, make_plan
from eventlab.produce.send import dry_run, send
from eventlab.republish import audit
from eventlab.store.eventstore import EventStore


def read_all(config: KafkaConfig, topic: str) -> list[dict]:
    with KafkaRawReader(config, [topic], start="earliest", until="end") as reader:
        out = []
        while (batch := reader.next_batch()) is not None:
            out += batch.to_pylist()
    return out


def audit_rows(store: EventStore) -> list[tuple[str, str]]:
    with store.reading() as cur:
        return [(r["action"], r["outcome"]) for r in audit.rows(cur).to_pylist()][::-1]


def test_pure_plan_encodings_and_partition() -> None:
    assert encode('{"a": 1}', "json", "v") == b'{"a": 1}'
    assert encode("0x00ff", "hex", "v") == b"\x00\xff"
    assert encode("x", "none", "v") is None
    with pytest.raises(ProduceError, match="not valid JSON"):
        encode("{nope", "json", "the value")
    with pytest.raises(ProduceError, match="not hex"):
        encode("zz", "hex", "the key")
    plan = make_plan(Draft("t", value="{}", key="k1", headers=(("a", "1"), ("a", "2"))),
                     partitions=4, sensitive={"t"}, actor="me", produce_id="p1", now_ms=5)
    assert plan.partition == partition_for(b"k1", 4) and plan.confirm == "t"
    assert plan.headers[:2] == (("a", b"1"), ("a", b"2"))
    assert [k for k, _ in plan.headers[2:]] == list(prov.COMPOSED)
    with pytest.raises(ProduceError, match="no partition 9"):
        make_plan(Draft("t", value="{}", partition=9), partitions=4, sensitive=set(),
                  actor="me", produce_id="p", now_ms=0)
    with pytest.raises(ProduceError, match="eventlab-"):
        make_plan(Draft("t", headers=(("eventlab-reason", "x"),)), partitions=1,
                  sensitive=set(), actor="me", produce_id="p", now_ms=0)


def test_send_writes_exactly_the_dry_run_bytes(kafka_config: KafkaConfig,
                                               topic_factory: Callable,
                                               store: EventStore) -> None:
    topic = topic_factory(3)
    at = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    draft = Draft(topic, value='{"type": "OrderFixed", "n": 1}', key="00ff10", key_format="hex",
                  headers=(("trace", "abc"), ("trace", "def"), ("empty", "")), timestamp=at,
                  reason="fix order 4711")
    plan = dry_run(store, kafka_config, draft, actor="tester")
    shown = plan.to_dict()
    assert shown["key"]["hex"] == "00ff10" and shown["value"]["text"] == draft.value
    assert read_all(kafka_config, topic) == []  # a dry run sends nothing
    result = send(store, kafka_config, plan)
    assert result.state == "acked" and result.partition == plan.partition
    (record,) = read_all(kafka_config, topic)
    assert (record["partition"], record["offset"]) == (plan.partition, result.offset)
    assert record["key"] == plan.key == bytes.fromhex(shown["key"]["hex"])
    assert record["value"] == plan.value == bytes.fromhex(shown["value"]["hex"])
    assert [(h["key"], h["value"]) for h in record["headers"]] == list(plan.headers)
    assert [(h["key"], bytes.fromhex(h["hex"])) for h in shown["headers"]] == list(plan.headers)
    assert record["timestamp_ms"] == int(at.timestamp() * 1000)
    got = dict((h["key"], h["value"]) for h in record["headers"])
    assert got[prov.COMPOSED_BY] == b"tester" and got[prov.REASON] == b"fix order 4711"
    assert got[prov.PRODUCE_ID] == plan.produce_id.encode()
    assert audit_rows(store) == [("produce-dry-run", "planned"), ("produce", "acked")]


def test_read_only_and_allow_list_refuse_in_the_function(
        kafka_config: KafkaConfig, topic_factory: Callable, store: EventStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    topic = topic_factory(1)
    plan = dry_run(store, kafka_config, Draft(topic, value="{}"))
    monkeypatch.setattr(settings, "_GUARDS", settings.Guards(read_only=True))
    with pytest.raises(ReadOnlyError):
        dry_run(store, kafka_config, Draft(topic, value="{}"))
    with pytest.raises(ReadOnlyError):
        send(store, kafka_config, plan)  # a plan made before cannot be sent either
    monkeypatch.setattr(settings, "_GUARDS", settings.Guards(republish_topics="fixes\\..*"))
    with pytest.raises(ProduceError, match="not allowed"):
        send(store, kafka_config, plan)
    assert read_all(kafka_config, topic) == []
    assert audit_rows(store) == [("produce-dry-run", "planned"), ("produce-dry-run", "refused"),
                                 ("produce", "refused"), ("produce", "refused")]


def test_source_topic_needs_its_name_and_prefills(kafka_config: KafkaConfig,
                                                  topic_factory: Callable,
                                                  producer: Callable, store: EventStore) -> None:
    topic = topic_factory(1)
    value = orjson.dumps({"id": "ev-1", "type": "OrderPlaced", "aggregateId": "order-1",
                          "timestamp": "2026-11-01T10:00:00Z", "data": {"total": 5}})
    producer().send(topic, key=b"order-1", value=value, headers=[("trace", b"t1")]).get(10)
    ingest_kafka(store, kafka_config, [topic])
    with store.reading() as cur:
        (event_id,) = [r[0] for r in cur.execute("SELECT event_id FROM events").fetchall()]
        copy = prefill.from_event(cur, event_id)
        example = prefill.latest_example(cur, "OrderPlaced")
    assert (copy.topic, copy.key, copy.value, copy.value_format) == (
        topic, "order-1", value.decode(), "json")
    assert copy.headers == (("trace", "t1"),) and copy.original["offset"] == 0
    assert example.original is None and example.value == value.decode()
    plan = dry_run(store, kafka_config, copy)
    assert plan.confirm == topic
    with pytest.raises(ProduceError, match="typed back"):
        send(store, kafka_config, plan, confirm="other")
    assert send(store, kafka_config, plan, confirm=topic).state == "acked"
    sent = read_all(kafka_config, topic)[-1]
    got = dict((h["key"], h["value"]) for h in sent["headers"])
    assert got[prov.ORIGINAL_EVENT_ID] == event_id.encode() and sent["value"] == value
