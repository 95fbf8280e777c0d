"""Which partition a keyed record goes to: the Java client's default rule, in pure Python.

`partition_for(key, n)` is `(murmur2(key) & 0x7fffffff) % n`, what Apache Kafka's Java
producer (and kafka-python's DefaultPartitioner) pick for a record with a key. Pure, without
kafka-python, so a plan (eventlab/republish/plan.py) can say where each record will land
before anything is sent; tests/kafka/test_partitioner.py compares it with kafka-python's.
"""

from __future__ import annotations

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """MurmurHash2 (seed 0x9747b28c) as `org.apache.kafka.common.utils.Utils.murmur2`."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    end = length - length % 4
    for i in range(0, end, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    extra = length % 4
    if extra >= 3:
        h ^= data[end + 2] << 16
    if extra >= 2:
        h ^= data[end + 1] << 8
    if extra >= 1:
        h ^= data[end]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_for(key: bytes, partitions: int) -> int:
    """The partition of a keyed record in a topic of `partitions` partitions."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
