"""The live tail with the real local broker: records produced after it started, across
partitions and topics, newest first; Explore's filters and the header filter; the cap; a
paused tail (not polled) keeps what it showed; no group or commit."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest

from eventlab.explore.filters import FilterError
from eventlab.ingest import live_tail
from eventlab.ingest.live_tail import TailFilter, parse_filters
from eventlab.kafka.config import KafkaConfig
from tests.ingest.test_peek import group_offsets

T0_MS = 1_793_527_200_000


def send(make_producer: Callable, topic: str, i: int, partition: int, etype: str = "OrderNoted",
         headers: list | None = None, total: int = 0) -> None:
    value = orjson.dumps({"id": f"{topic}-{i}", "type": etype, "aggregateId": f"order-{i}",
                          "timestamp": "2026-11-01T10:00:00Z", "data": {"total": total}})
    make_producer().send(topic, key=f"order-{i}".encode(), value=value, partition=partition,
                         headers=headers or [], timestamp_ms=T0_MS + i).get(timeout=10)


def test_tail_shows_only_new_records_across_partitions_newest_first(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable) -> None:
    a, b = topic_factory(3), topic_factory(1)
    for i in range(3):
        send(producer, a, i, i % 3)  # before the tail: not shown
    state = live_tail.start(kafka_config, [a, b])
    assert live_tail.poll(kafka_config, state).rows == ()
    for i in range(10, 16):
        send(producer, a, i, i % 3)
    send(producer, b, 20, 0)
    state = live_tail.poll(kafka_config, state)
    shown = [(r["topic"], r["partition"], r["offset"]) for r in state.rows]
    assert [r["entity_id"] for r in state.rows] == [f"order-{i}" for i in (20, 15, 14, 13, 12,
                                                                         11, 10)]
    assert {p for t, p, _ in shown if t == a} == {0, 1, 2}
    assert all(r["status"] == "decoded" for r in state.rows)
    assert state.load_from[(a, 0)] == 1 and state.load_from[(b, 0)] == 0
    # nothing new: the same rows; a later record goes in front
    assert live_tail.poll(kafka_config, state).rows == state.rows
    send(producer, a, 30, 1)
    state = live_tail.poll(kafka_config, state, keep=3)
    assert [r["entity_id"] for r in state.rows] == ["order-30", "order-20", "order-15"]
    assert all(not offsets for offsets in group_offsets(kafka_config, a).values())


def test_tail_filters(kafka_config: KafkaConfig, topic_factory: Callable,
                      producer: Callable) -> None:
    topic = topic_factory(2)
    state = live_tail.start(kafka_config, [topic])
    send(producer, topic, 1, 0, "OrderPlaced", [("source", b"web")], total=50)
    send(producer, topic, 2, 1, "OrderPlaced", [("source", b"app")], total=150)
    send(producer, topic, 3, 0, "OrderShipped", [], total=500)

    def ids(*items: str) -> list[str]:
        got = live_tail.poll(kafka_config, state, where=parse_filters(items))
        return sorted(r["entity_id"] for r in got.rows)

    assert ids() == ["order-1", "order-2", "order-3"]
    assert ids("types=OrderPlaced") == ["order-1", "order-2"]
    assert ids("types=OrderShipped", "types=OrderPlaced") == ["order-1", "order-2", "order-3"]
    assert ids("key=order-2") == ["order-2"]
    assert ids("header=source") == ["order-1", "order-2"]
    assert ids("header=source=web") == ["order-1"]
    assert ids("jpath=total", "jop=>", "jval=100") == ["order-2", "order-3"]
    assert ids("jpath=$.total", "jop=>", "jval=100", "types=OrderPlaced") == ["order-2"]
    with pytest.raises(FilterError):
        parse_filters(["jpath=not a path"]).where()
    with pytest.raises(FilterError):
        TailFilter.from_params({"text": "x"})
    with pytest.raises(FilterError):
        parse_filters(["nonsense"])


def test_start_back_and_missing_topic(kafka_config: KafkaConfig, topic_factory: Callable,
                                      producer: Callable) -> None:
    from eventlab.errors import TopicGone

    topic = topic_factory(1)
    for i in range(5):
        send(producer, topic, i, 0)
    state = live_tail.poll(kafka_config, live_tail.start(kafka_config, [topic], back=2))
    assert [r["offset"] for r in state.rows] == [4, 3]
    with pytest.raises(TopicGone):
        live_tail.start(kafka_config, [topic, "no-such-topic-xyz"])
