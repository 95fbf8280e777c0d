"""The pure partitioner picks the partitions kafka-python's default partitioner picks."""

from __future__ import annotations

import random

from kafka.partitioner import murmur2 as kafka_murmur2

from eventlab.kafka.partitioner import murmur2, partition_for


def test_murmur2_matches_kafka_python_on_every_length() -> None:
    rng = random.Random(3)
    for length in range(0, 40):
        for _ in range(20):
            data = bytes(rng.randrange(256) for _ in range(length))
            assert murmur2(data) == kafka_murmur2(data)


def test_partition_for_is_the_positive_hash_modulo() -> None:
    assert [partition_for(k, 3) for k in (b"a", b"b", b"order-1")] == [
        (kafka_murmur2(k) & 0x7FFFFFFF) % 3 for k in (b"a", b"b", b"order-1")]
