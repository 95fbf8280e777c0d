"""Consumer lag against the real local broker: no commit, exact lag in seconds (read and
stored), and the verdicts of a real slow consumer (WARN, then STOP/STALL when stopped, OK when
caught up, REWIND when a test-only client commits lower offsets). Samples are taken every
0.3 s here instead of 10 s."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from event_rows import add_events, event
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

from eventlab.demo.consumer import run_demo_consumer
from eventlab.kafka.config import KafkaConfig
from eventlab.lag import NO_COMMIT, OK, REWIND, STALL, STOP, WARN, sampler
from eventlab.lag.snapshot import LagSnapshot, take_snapshot
from eventlab.lag.topics import lag_by_topic, topic_lag, topic_lag_text
from eventlab.lag.where import event_at
from eventlab.store.eventstore import EventStore


def commit_as(config: KafkaConfig, group: str, offsets: dict) -> None:
    """A separate test-only client committing for `group` (EventLab itself never does)."""
    c = KafkaConsumer(**config.client_kwargs(), group_id=group, enable_auto_commit=False)
    try:
        c.commit({TopicPartition(*tp): OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
    finally:
        c.close(autocommit=False)


def send_one_by_one(producer: Callable, topic: str, stamps_ms: list[int],
                    partition: int = 0) -> None:
    p = producer()
    for i, ts in enumerate(stamps_ms):  # one per request: ListOffsets is exact (quirk 2)
        p.send(topic, f"v{i}".encode(), key=b"k", partition=partition,
               timestamp_ms=ts).get(timeout=10)


def test_a_partition_never_committed_is_no_commit(kafka_config: KafkaConfig,
                                                 topic_factory: Callable,
                                                 producer: Callable) -> None:
    topic = topic_factory(2)
    now_ms = int(time.time() * 1000)
    send_one_by_one(producer, topic, [now_ms] * 4, partition=0)
    send_one_by_one(producer, topic, [now_ms] * 3, partition=1)
    group = f"half-{topic}"
    commit_as(kafka_config, group, {(topic, 0): 1})
    snap = take_snapshot(kafka_config, None, [group])
    g = snap.group(group)
    assert g is not None
    p0, p1 = g.partitions
    assert (p0.committed, p0.end, p0.lag) == (1, 4, 3)
    assert (p1.committed, p1.end, p1.lag, p1.lag_seconds) == (None, 3, None, None)
    assert p1.status == NO_COMMIT and p1.to_dict()["committed"] is None
    assert (g.total_lag, g.no_commit) == (3, 1)  # p1 is not counted as caught up
    lag = topic_lag(snap)[topic]
    assert (lag.total, lag.groups, lag.no_commit) == (3, {group: 3}, {group: 1})
    assert topic_lag_text(lag) == f"3 ({group} 3, {group}: no commit on 1)"
    by_topic = lag_by_topic(kafka_config)  # what the Sources topic list can show
    assert by_topic[topic].groups == {group: 3}


def test_lag_seconds_is_the_age_of_the_record_at_the_committed_offset(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable,
        store: EventStore) -> None:
    topic = topic_factory(1)
    base = int(time.time() * 1000) - 120_000
    stamps = [base + i * 10_000 for i in range(6)]  # 120 s ago, 110 s ago, ...
    send_one_by_one(producer, topic, stamps)
    group = f"secs-{topic}"
    commit_as(kafka_config, group, {(topic, 0): 2})
    other = f"other-{topic}"  # a second group elsewhere on the same partition
    commit_as(kafka_config, other, {(topic, 0): 4})
    p, q = take_snapshot(kafka_config, None, [group, other]).rows()
    truth = time.time() - stamps[2] / 1000
    assert p.lag == 4 and p.lag_seconds_source == "read" and not p.lag_seconds_estimated
    assert abs(p.lag_seconds - truth) < 2.0
    assert q.lag == 2 and abs(q.lag_seconds - (time.time() - stamps[4] / 1000)) < 2.0
    # Once ingested, the stored event's Kafka timestamp is used instead of a read.
    at_2 = datetime.fromtimestamp(stamps[2] / 1000, UTC)
    add_events(store, [event(event_id="e-2", entity_id="order-7", event_type="OrderPlaced",
                             seq=3, ts=at_2, source="kafka", topic=topic, partition=0, offset=2,
                             kafka_ts=at_2, payload={"total": 5})])
    (p,) = take_snapshot(kafka_config, store, [group]).rows()
    assert p.lag_seconds_source == "store" and abs(p.lag_seconds - truth) < 2.0
    # Where the group stands: that event, with the position its links open.
    with store.reading() as cur:
        ev = event_at(cur, topic, 0, p.committed)
    assert ev is not None and ev.event_id == "e-2"
    assert (ev.entity_id, ev.seq, ev.topic, ev.partition, ev.offset) == ("order-7", 3, topic, 0, 2)
    commit_as(kafka_config, group, {(topic, 0): 6})
    (p,) = take_snapshot(kafka_config, None, [group]).rows()
    assert (p.lag, p.lag_seconds, p.lag_seconds_source) == (0, 0.0, "caught up")


class Producing:
    """Produce to `topic` one record per request, about `rate` a second, until stopped."""

    def __init__(self, producer: Callable, topic: str, rate: float) -> None:
        self.stop = threading.Event()
        self._p = producer()
        self._thread = threading.Thread(target=self._run, args=(topic, rate), daemon=True)
        self._thread.start()

    def _run(self, topic: str, rate: float) -> None:
        while not self.stop.is_set():
            self._p.send(topic, b"x", partition=0).get(timeout=10)
            self.stop.wait(1 / rate)

    def close(self) -> None:
        self.stop.set()
        self._thread.join(10)


class Consuming:
    """The demo consumer as group `group` in a thread, at `rate` records/s (0: no limit)."""

    def __init__(self, config: KafkaConfig, topic: str, group: str, rate: float) -> None:
        self.stop = threading.Event()
        self._thread = threading.Thread(target=run_demo_consumer, daemon=True, args=(
            config, topic, group), kwargs={"rate": rate, "stop": self.stop})
        self._thread.start()

    def close(self) -> None:
        self.stop.set()
        self._thread.join(15)
        assert not self._thread.is_alive()


@pytest.fixture()
def file_store(tmp_path) -> Iterator[EventStore]:
    with EventStore(tmp_path / "lag.duckdb") as s:
        yield s


def sample_until(config: KafkaConfig, store: EventStore, group: str,
                 check: Callable[[LagSnapshot], bool], timeout: float,
                 every: float = 0.3) -> LagSnapshot:
    deadline = time.monotonic() + timeout
    while True:
        snap = sampler.sample_once(config, store, [group])
        if check(snap) or time.monotonic() > deadline:
            return snap
        time.sleep(every)


def status(snap: LagSnapshot, group: str) -> str:
    g = snap.group(group)
    return g.status if g else "missing"


def test_verdicts_of_a_real_slow_consumer(kafka_config: KafkaConfig, topic_factory: Callable,
                                         producer: Callable, file_store: EventStore) -> None:
    topic = topic_factory(1)
    group = f"slow-{topic}"
    feed = Producing(producer, topic, rate=150)
    slow = Consuming(kafka_config, topic, group, rate=10)
    try:
        # The group joins (about 3 s on the local broker), commits, and falls behind.
        snap = sample_until(kafka_config, file_store, group,
                            lambda s: bool(s.rows()) and s.rows()[0].committed is not None, 20)
        snap = sample_until(kafka_config, file_store, group,
                            lambda s: len(s.rows()[0].samples) >= 10, 10)
        (p,) = snap.rows()
        assert p.status == WARN, p.reason
        assert p.lag > 0 and p.rate_per_s is not None and 3 < p.rate_per_s < 30
        assert p.eta_seconds is None  # producing faster than consuming: never catches up
    finally:
        slow.close()
        feed.close()
    # Stopped with lag left: no commit moves any more.
    snap = sample_until(kafka_config, file_store, group,
                        lambda s: status(s, group) in (STOP, STALL), 8)
    assert status(snap, group) in (STOP, STALL), snap.group(group).reason
    # Let it catch up.
    fast = Consuming(kafka_config, topic, group, rate=0)
    try:
        snap = sample_until(kafka_config, file_store, group,
                            lambda s: s.rows()[0].lag == 0, 30)
        assert snap.rows()[0].lag == 0 and status(snap, group) == OK
    finally:
        fast.close()
    end = snap.rows()[0].end
    # A separate client rewinds the group's offset.
    commit_as(kafka_config, group, {(topic, 0): end // 2})
    snap = sampler.sample_once(kafka_config, file_store, [group])
    (p,) = snap.rows()
    assert p.committed == end // 2 and p.status == REWIND, p.reason
    assert f"went back from {end:,} to {end // 2:,}" in p.reason


def test_a_snapshot_neither_joins_nor_commits(kafka_config: KafkaConfig,
                                              topic_factory: Callable,
                                              producer: Callable) -> None:
    """Safety items 5 and 32: lag reads offsets and one record; no group appears, no offset
    moves."""
    from eventlab.kafka.groups import group_offsets

    topic = topic_factory(1)
    send_one_by_one(producer, topic, [int(time.time() * 1000)] * 3)
    group = f"still-{topic}"
    commit_as(kafka_config, group, {(topic, 0): 1})
    before = group_offsets(kafka_config)
    snap = take_snapshot(kafka_config, None)
    assert snap.group(group).partitions[0].lag_seconds_source == "read"  # the bounded read ran
    after = group_offsets(kafka_config)
    assert {g.group for g in after.groups} == {g.group for g in before.groups}
    assert after.committed == before.committed


def test_lag_is_right_when_list_offsets_understates_the_end(
        kafka_config: KafkaConfig, topic_factory: Callable, raw_producer: Callable) -> None:
    """docs/kafka.md, quirk 2: four records in one batch; the local broker lists end 1. The
    fetch highwater of the bounded read gives the true end 4 (on Apache Kafka both say 4)."""
    topic = topic_factory(1)
    base = int(time.time() * 1000) - 30_000
    raw_producer(topic, 0, [(None, f"v{i}".encode(), [], base + i * 1000) for i in range(4)])
    group = f"batch-{topic}"
    commit_as(kafka_config, group, {(topic, 0): 2})
    (p,) = take_snapshot(kafka_config, None, [group]).rows()
    assert (p.end, p.lag) == (4, 2)
    assert abs(p.lag_seconds - (time.time() - (base + 2000) / 1000)) < 2.0
