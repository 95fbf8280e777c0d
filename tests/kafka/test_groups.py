"""The consumer-group adapter on the real local broker: groups, committed offsets, end
offsets, and the bounded read of the record at an offset (no group, no commit)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.groups import end_offsets, group_offsets, read_records_at

BASE_MS = 1_750_000_000_000


@pytest.fixture()
def committer(kafka_config: KafkaConfig) -> Iterator[Callable[[str, dict], None]]:
    """commit(group, {(topic, p): offset}): a test-only client committing for a group."""
    made: list[KafkaConsumer] = []

    def commit(group: str, offsets: dict) -> None:
        c = KafkaConsumer(**kafka_config.client_kwargs(), group_id=group,
                          enable_auto_commit=False)
        made.append(c)
        c.commit({TopicPartition(*tp): OffsetAndMetadata(o, "", -1)
                  for tp, o in offsets.items()})

    yield commit
    for c in made:
        c.close(autocommit=False)


def produce_one_by_one(producer: Callable, topic: str, partition: int, n: int) -> None:
    p = producer()
    for i in range(n):  # one record per request: the local broker's ListOffsets (quirk 2)
        p.send(topic, f"v{i}".encode(), partition=partition,
               timestamp_ms=BASE_MS + i * 1000).get(timeout=10)


def test_groups_offsets_and_bounds(kafka_config: KafkaConfig, topic_factory: Callable,
                                   producer: Callable, committer: Callable) -> None:
    topic = topic_factory(2)
    produce_one_by_one(producer, topic, 0, 5)
    produce_one_by_one(producer, topic, 1, 2)
    group = f"g-{topic}"
    committer(group, {(topic, 0): 3})
    got = group_offsets(kafka_config, [group])
    (info,) = got.groups
    assert info.group == group
    assert info.state  # as the broker gives it ("Unknown" on the local broker)
    if info.members is None:  # describe_groups failed (docs/kafka.md, quirk 3): said so
        assert info.describe_error
    assert got.committed == {group: {(topic, 0): 3}}  # p1 never committed: absent, not 0
    assert got.partitions == {topic: 2}
    assert got.bounds == {(topic, 0): (0, 5), (topic, 1): (0, 2)}
    assert end_offsets(kafka_config, [(topic, 0)]) == {(topic, 0): (0, 5)}


def test_all_groups_are_listed(kafka_config: KafkaConfig, topic_factory: Callable,
                               committer: Callable) -> None:
    topic = topic_factory(1)
    committer(f"a-{topic}", {(topic, 0): 0})
    names = {g.group for g in group_offsets(kafka_config).groups}
    assert f"a-{topic}" in names


def test_read_record_at_an_offset(kafka_config: KafkaConfig, topic_factory: Callable,
                                  producer: Callable) -> None:
    topic = topic_factory(2)
    produce_one_by_one(producer, topic, 0, 5)
    produce_one_by_one(producer, topic, 1, 3)
    read = read_records_at(kafka_config, {(topic, 0): [3, 1], (topic, 1): [0, 3]})
    got = read.found
    assert got[((topic, 0), 3)].offset == 3
    assert got[((topic, 0), 3)].timestamp_ms == BASE_MS + 3000
    assert got[((topic, 0), 1)].timestamp_ms == BASE_MS + 1000  # two groups, one partition
    assert got[((topic, 1), 0)].timestamp_ms == BASE_MS
    assert len(got) == 3  # offset 3 of partition 1 is its end: no record there yet
    assert read.highwater == {(topic, 0): 5, (topic, 1): 3}
    # Past the end: nothing there, settled by the highwater (not a wait for the limit).
    began = time.monotonic()
    past = read_records_at(kafka_config, {(topic, 1): [99]}, limit_s=2.0)
    assert past.found == {} and time.monotonic() - began < 1.5


def test_highwater_gives_the_true_end_where_list_offsets_understates_it(
        kafka_config: KafkaConfig, topic_factory: Callable, raw_producer: Callable) -> None:
    """docs/kafka.md, quirk 2: one batch of 4 records; the fetch highwater is the true end."""
    topic = topic_factory(1)
    raw_producer(topic, 0, [(None, b"a", [], BASE_MS), (None, b"b", [], BASE_MS + 1),
                            (None, b"c", [], BASE_MS + 2), (None, b"d", [], BASE_MS + 3)])
    listed = end_offsets(kafka_config, [(topic, 0)])[(topic, 0)][1]
    read = read_records_at(kafka_config, {(topic, 0): [max(0, listed - 1), 2]})
    assert read.highwater == {(topic, 0): 4}
    assert listed in (1, 4)  # 1 on the local broker, 4 on Apache Kafka
    assert read.found[((topic, 0), 2)].timestamp_ms == BASE_MS + 2


def test_members_and_their_assignment_are_parsed_in_both_forms() -> None:
    from kafka.protocol.consumer.metadata import ConsumerProtocolAssignment

    from eventlab.kafka.groups import parse_members

    raw = ConsumerProtocolAssignment(
        version=3, assigned_partitions=[ConsumerProtocolAssignment.TopicPartition(
            topic="orders", partitions=[2, 0])], user_data=None).encode()
    decoded = ConsumerProtocolAssignment.decode(raw)
    described = {"members": [
        {"member_id": "m-1", "client_id": "billing-1", "client_host": "/10.0.0.7",
         "member_assignment": decoded},
        {"member_id": "m-2", "client_id": "billing-2", "client_host": "/10.0.0.8",
         "member_assignment": decoded.to_dict()},
        {"member_id": "m-3", "client_id": "x", "client_host": "h", "member_assignment": b"?"}]}
    m1, m2, m3 = parse_members(described)
    assert (m1.member_id, m1.client_id, m1.host) == ("m-1", "billing-1", "/10.0.0.7")
    assert m1.assignment == m2.assignment == (("orders", 0), ("orders", 2))
    assert m3.assignment == ()
