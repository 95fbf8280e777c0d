"""Topic facts from the cluster: names, partition counts, offset bounds; topic create/delete.

Every version-sensitive kafka-python admin call lives here. Calls are bounded by the config's
timeout and raise `eventlab.errors` naming the bootstrap.

End offsets: ListOffsets(latest) is the truth on Apache Kafka (the last stable offset under
read_committed). The local Tansu broker answers it with "base offset of the last batch + 1",
short of the true end when that batch holds several records. `offset_bounds` therefore reads
once from just before the listed end and takes the position reached, which on Kafka is the
listed end itself and on Tansu is the true end (docs/kafka.md, quirk 2).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import kafka.errors as kerr
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from eventlab.errors import BrokerUnavailable, SourceError
from eventlab.kafka.config import (
    KafkaConfig,
    kafka_errors,
    nobody_listens_message,
    refused_everywhere,
)
from eventlab.kafka.positions import TP

_PROBE_MAX_S = 5.0


@dataclass(frozen=True)
class TopicInfo:
    """One topic: partition count and, per partition, earliest and end (next) offset."""

    name: str
    partitions: int
    end_offsets: dict[int, int] = field(default_factory=dict)
    earliest: dict[int, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        """Offsets between earliest and end: the record count, an upper bound when compacted."""
        return sum(end - self.earliest.get(p, 0) for p, end in self.end_offsets.items())


@contextmanager
def admin_client(config: KafkaConfig, doing: str) -> Iterator[KafkaAdminClient]:
    """A short-lived admin client; construction bootstraps, so a dead broker fails here (at
    once when its port refuses the connection, else after the configured timeout)."""
    if refused_everywhere(config):
        raise BrokerUnavailable(nobody_listens_message(config, doing))
    with kafka_errors(config, doing):
        client = KafkaAdminClient(**config.client_kwargs())
        try:
            yield client
        finally:
            client.close()


def ping(config: KafkaConfig) -> int:
    """Number of brokers in the cluster; raises `BrokerUnavailable` when nobody answers."""
    with admin_client(config, "checking the connection") as client:
        return len(client.describe_cluster().get("brokers", []))


def partition_counts(config: KafkaConfig,
                     topics: Sequence[str] | None = None) -> dict[str, int | None]:
    """Partition count per topic, None for a topic that does not exist.

    With `topics=None`, every topic the user may see except internal ones (`__consumer_offsets`).
    """
    what = "listing topics" if topics is None else f"describing topic(s) {', '.join(topics)}"
    with admin_client(config, what) as client:
        try:
            described = client.describe_topics(None if topics is None else list(topics))
        except ValueError as exc:  # kafka-python 3.0 cannot parse some brokers' ACL bits
            raise SourceError(f"could not parse the topic metadata from {config.bootstrap} "
                              f"while {what}: {exc}") from exc
    counts: dict[str, int | None] = {}
    for topic in described:
        name, code = topic["name"], topic.get("error_code", 0)
        if topics is None and topic.get("is_internal"):
            continue
        if code == 0:
            counts[name] = len(topic.get("partitions") or [])
        elif kerr.for_code(code) in (kerr.UnknownTopicOrPartitionError, kerr.UnknownTopicIdError):
            counts[name] = None
        else:
            raise SourceError(f"Kafka at {config.bootstrap} refused to describe topic {name}: "
                              f"{kerr.for_code(code).__name__}")
    for name in topics or ():
        counts.setdefault(name, None)
    return counts


def offset_bounds(config: KafkaConfig, partitions: Iterable[TP],
                  isolation_level: str = "read_committed") -> dict[TP, tuple[int, int]]:
    """(earliest, end) per partition, end being the next offset a reader would get.

    The partitions must exist (check with `partition_counts` first): ListOffsets retries an
    unknown partition until the timeout.
    """
    tps = [TopicPartition(t, p) for t, p in partitions]
    if not tps:
        return {}
    topics = ", ".join(sorted({tp.topic for tp in tps}))
    timeout_ms = int(config.timeout_s * 1000)
    with kafka_errors(config, f"reading the offsets of {topics}"):
        consumer = KafkaConsumer(**config.consumer_kwargs(
            isolation_level, max_partition_fetch_bytes=1024 * 1024,
            fetch_max_bytes=16 * 1024 * 1024, fetch_max_wait_ms=100))
        try:
            earliest = consumer.beginning_offsets(tps, timeout_ms=timeout_ms)
            listed = consumer.end_offsets(tps, timeout_ms=timeout_ms)
            ends = _probe_ends(consumer, earliest, listed, min(config.timeout_s, _PROBE_MAX_S))
        finally:
            consumer.close(autocommit=False)
    return {(tp.topic, tp.partition): (earliest[tp], max(ends[tp], earliest[tp])) for tp in tps}


def _probe_ends(consumer: KafkaConsumer, earliest: dict[TopicPartition, int],
                listed: dict[TopicPartition, int], limit_s: float) -> dict[TopicPartition, int]:
    """Read from (listed end - 1) and return the position reached: the true end offset.

    A partition is settled when its fetch highwater is at or below the listed end (nothing
    beyond it: Apache Kafka's normal case), or when the consumer has moved past the listed end
    (Tansu's understated end, or records appended since). Unsettled ones keep the listed end.
    """
    ends = dict(listed)
    todo = [tp for tp in listed if listed[tp] > earliest[tp]]
    if not todo:
        return ends
    consumer.assign(todo)
    for tp in todo:
        consumer.seek(tp, listed[tp] - 1)
    pending = set(todo)
    deadline = time.monotonic() + limit_s
    while pending and time.monotonic() < deadline:
        try:
            consumer.poll(timeout_ms=100, max_records=1_000_000)
        except kerr.OffsetOutOfRangeError:
            break  # retention moved the start meanwhile: keep the listed ends
        for tp in list(pending):
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            if highwater <= listed[tp]:
                pending.discard(tp)
                continue
            position = consumer.position(tp, timeout_ms=1000)
            if position is not None and position >= listed[tp]:
                ends[tp] = max(listed[tp], position)
                pending.discard(tp)
    return ends


def list_topics(config: KafkaConfig, isolation_level: str = "read_committed") -> list[TopicInfo]:
    """Every non-internal topic with its partition count and offset bounds, sorted by name."""
    counts = {name: n for name, n in partition_counts(config).items() if n is not None}
    bounds = offset_bounds(
        config, [(name, p) for name, n in counts.items() for p in range(n)], isolation_level)
    return [
        TopicInfo(
            name=name, partitions=n,
            end_offsets={p: bounds[(name, p)][1] for p in range(n)},
            earliest={p: bounds[(name, p)][0] for p in range(n)},
        )
        for name, n in sorted(counts.items())
    ]


def create_topic(config: KafkaConfig, name: str, partitions: int = 1,
                 replication_factor: int = -1, configs: dict[str, str] | None = None) -> None:
    """Create a topic and wait until every partition has a leader.

    `replication_factor=-1` takes the broker default. An existing topic is an error.
    """
    spec: dict[str, Any] = {"num_partitions": partitions,
                            "replication_factor": replication_factor}
    if configs:
        spec["configs"] = dict(configs)
    with admin_client(config, f"creating topic {name}") as client:
        try:
            client.create_topics({name: spec}, wait_for_metadata=True)
        except kerr.TopicAlreadyExistsError:
            raise SourceError(f"topic {name} already exists on {config.bootstrap}") from None


def ensure_topic(config: KafkaConfig, name: str, partitions: int) -> int:
    """Create topic `name` with `partitions` if it is missing; its partition count."""
    count = partition_counts(config, [name]).get(name)
    if count is not None:
        return count
    try:
        create_topic(config, name, partitions=partitions)
    except SourceError:
        count = partition_counts(config, [name]).get(name)  # created meanwhile?
        if count is None:
            raise
        return count
    return partitions
