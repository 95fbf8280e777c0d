"""The demo consumer group against the real local broker: it commits what it processed, it is
slow on purpose (so lag shows), and it stops cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from kafka import KafkaAdminClient, KafkaProducer

from eventlab.demo.consumer import ConsumerProgress, run_demo_consumer
from eventlab.errors import TopicGone
from eventlab.kafka.admin import partition_counts
from eventlab.kafka.config import KafkaConfig

Producer = Callable[..., KafkaProducer]


def group_offsets(config: KafkaConfig, group: str) -> dict[tuple[str, int], int]:
    """Committed offsets of a group, from the admin API (what a lag page reads)."""
    admin = KafkaAdminClient(**config.client_kwargs())
    try:
        offsets = admin.list_group_offsets(group)[group]
    finally:
        admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}


def fill(producer: Producer, topic: str, n: int, partitions: int) -> dict[tuple[str, int], int]:
    """n small records round-robin over the partitions; returns the count per partition."""
    p = producer(linger_ms=5)
    counts: dict[tuple[str, int], int] = {}
    for i in range(n):
        part = i % partitions
        p.send(topic, key=b"k%d" % i, value=b'{"n": %d}' % i, partition=part,
               headers=[("event_type", b"Counted" if i % 2 else b"Noticed")])
        counts[(topic, part)] = counts.get((topic, part), 0) + 1
    p.flush()
    return counts


def test_it_processes_everything_and_commits_per_partition(
        kafka_config: KafkaConfig, topic_factory: Callable[..., str],
        producer: Producer) -> None:
    topic = topic_factory(2)
    ends = fill(producer, topic, 300, 2)
    state = run_demo_consumer(kafka_config, topic, "projector-all", rate=0, max_records=300)
    assert state.processed == 300
    assert state.by_type == {"Counted": 150, "Noticed": 150}
    assert state.committed == ends
    assert group_offsets(kafka_config, "projector-all") == ends
    assert state.commits >= 1 and state.total_lag == 0


def test_a_slow_consumer_shows_lag_and_stops_cleanly_with_its_offsets_committed(
        kafka_config: KafkaConfig, topic_factory: Callable[..., str],
        producer: Producer) -> None:
    topic = topic_factory(1)
    fill(producer, topic, 400, 1)
    stop = threading.Event()
    seen: list[ConsumerProgress] = []
    result: dict[str, ConsumerProgress] = {}

    def run() -> None:
        result["state"] = run_demo_consumer(
            kafka_config, topic, "projector-slow", rate=40, stop=stop,
            progress=lambda s: seen.append(ConsumerProgress(s.processed, lag=dict(s.lag))),
            progress_every_s=0.2)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 15
    while not any(s.processed >= 40 for s in seen):  # the group joins in about 3 s
        assert time.monotonic() < deadline, "no progress from the demo consumer"
        assert thread.is_alive()
        time.sleep(0.1)
    stop.set()
    stopped_at = time.monotonic()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - stopped_at < 2
    state = result["state"]
    assert 40 <= state.processed < 400  # rate-limited: far from done
    assert max(s.lag.get((topic, 0), 0) for s in seen) > 200  # lag is visible
    assert group_offsets(kafka_config, "projector-slow") == {(topic, 0): state.processed}

    again = run_demo_consumer(kafka_config, topic, "projector-slow", rate=0,
                              max_records=400 - state.processed)
    assert again.committed == {(topic, 0): 400}  # resumed from the commit: nothing twice


def test_a_missing_topic_is_a_clear_error_and_is_not_created(kafka_config: KafkaConfig) -> None:
    with pytest.raises(TopicGone, match="topic no-such-demo does not exist"):
        run_demo_consumer(kafka_config, "no-such-demo", "projector-none", max_records=1)
    assert partition_counts(kafka_config, ["no-such-demo"]) == {"no-such-demo": None}
