"""Consumer groups as the admin API sees them: groups with state and members, committed offsets,
log bounds, and one bounded read of the record at a committed offset (its timestamp).

For consumer lag (`eventlab.lag`). Nothing here joins, commits for or resets a group
(docs/safety.md, items 5 and 32): offsets come from OffsetFetch (`list_group_offsets`), end
offsets from ListOffsets, and the record read uses `assign()` with no group and no commit.

End offsets are ListOffsets(latest), the truth on Apache Kafka. The local Tansu broker answers
it with "base offset of the last batch + 1" (docs/kafka.md, quirk 2), short of the true end when
that batch held several records: tests of lag produce one record per request. `describe_groups`
fails on that broker (quirk 3: kafka-python cannot parse its authorized operations); the
groups are then listed with the state `list_groups` gives and members unknown (None).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import kafka.errors as kerr
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import OffsetSpec

from eventlab.errors import BrokerUnavailable, SourceError
from eventlab.kafka.admin import admin_client
from eventlab.kafka.config import KafkaConfig, kafka_errors
from eventlab.kafka.positions import TP

READ_LIMIT_S = 3.0
"""Longest the bounded record read waits for the records it asked for."""


@dataclass(frozen=True)
class MemberInfo:
    """One member of a group and the partitions assigned to it."""

    member_id: str
    client_id: str
    host: str
    assignment: tuple[TP, ...]


@dataclass(frozen=True)
class GroupInfo:
    """A consumer group: state as the broker gives it, members (None: could not be described)."""

    group: str
    state: str
    protocol_type: str
    members: tuple[MemberInfo, ...] | None
    describe_error: str | None = None


@dataclass(frozen=True)
class GroupOffsets:
    """Everything one lag snapshot needs from the cluster, read with one admin client."""

    groups: tuple[GroupInfo, ...]
    committed: dict[str, dict[TP, int]]
    """Per group, the committed (next) offset of each partition it ever committed."""
    partitions: dict[str, int]
    """Partition count of every topic any group committed to or is assigned."""
    bounds: dict[TP, tuple[int, int]]
    """(earliest, end) per partition of those topics; end = ListOffsets(latest)."""
    read_at: float
    """time.time() when the end offsets were listed."""


@dataclass(frozen=True)
class RecordAt:
    """The first record at or after an asked offset: its offset and timestamp (ms)."""

    offset: int
    timestamp_ms: int
    timestamp_type: int


def _field(obj: object, name: str) -> object:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def parse_members(described: Mapping) -> tuple[MemberInfo, ...]:
    """The members of one `describe_groups` entry, with their assigned partitions. The
    assignment comes decoded (an object with `assigned_partitions`) or as its dict; one that
    cannot be read counts as no assignment."""
    out = []
    for m in described.get("members") or ():
        tps: list[TP] = []
        try:
            for topic in _field(m.get("member_assignment"), "assigned_partitions") or ():
                name = _field(topic, "topic")
                tps.extend((str(name), int(p)) for p in _field(topic, "partitions") or ())
        except (TypeError, ValueError):
            tps = []
        out.append(MemberInfo(str(m.get("member_id", "")), str(m.get("client_id", "")),
                              str(m.get("client_host", "")), tuple(sorted(tps))))
    return tuple(out)


def group_offsets(config: KafkaConfig, groups: Sequence[str] | None = None, *,
                  describe: bool = True) -> GroupOffsets:
    """Groups (all, or the named ones), their committed offsets, and the bounds of the topics
    they consume: ListGroups, DescribeGroups (best effort), OffsetFetch, Metadata, ListOffsets.
    """
    with admin_client(config, "listing consumer groups") as client:
        with kafka_errors(config, "listing consumer groups"):
            listed = client.list_groups()
        known = {g["group_id"]: g for g in listed}
        names = sorted(known) if groups is None else list(groups)
        described: dict[str, Mapping] = {}
        error = None
        if describe and names:
            try:
                with kafka_errors(config, "describing consumer groups"):
                    try:
                        described = client.describe_groups([n for n in names if n in known])
                    except (ValueError, KeyError, TypeError) as exc:  # docs/kafka.md, quirk 3
                        error = f"the broker's group description could not be parsed ({exc})"
            except BrokerUnavailable:
                raise
            except SourceError as exc:  # refused (no DESCRIBE on the group, say): best effort
                error = f"the groups could not be described: {exc}"
        infos = []
        for name in names:
            g = known.get(name, {})
            d = described.get(name)
            state = str((d or {}).get("group_state") or g.get("group_state") or
                        ("Dead" if name not in known else "Unknown"))
            infos.append(GroupInfo(name, state, str(g.get("protocol_type", "")),
                                   None if d is None else parse_members(d),
                                   error if d is None and name in known else None))
        committed: dict[str, dict[TP, int]] = {name: {} for name in names}
        if names:
            with kafka_errors(config, f"reading the committed offsets of {', '.join(names)}"):
                fetched = client.list_group_offsets({name: None for name in names})
            for name, offsets in fetched.items():
                committed[name] = {(tp.topic, tp.partition): int(om.offset)
                                   for tp, om in offsets.items() if om.offset >= 0}
        topics = {t for offs in committed.values() for t, _ in offs}
        topics |= {t for info in infos for m in info.members or () for t, _ in m.assignment}
        partitions: dict[str, int] = {}
        if topics:
            with kafka_errors(config, "describing the consumed topics"):
                try:
                    meta = client.describe_topics(sorted(topics))
                except ValueError as exc:  # kafka-python 3.0 cannot parse some ACL bits
                    raise kerr.KafkaError(f"topic metadata unparsable: {exc}") from exc
            partitions = {t["name"]: len(t.get("partitions") or []) for t in meta
                          if t.get("error_code", 0) == 0}
        bounds = _bounds(client, config, [(t, p) for t, n in partitions.items()
                                          for p in range(n)])
        read_at = time.time()
    return GroupOffsets(tuple(infos), committed, partitions, bounds, read_at)


def _bounds(client: object, config: KafkaConfig, tps: Iterable[TP]) -> dict[TP, tuple[int, int]]:
    ktps = [TopicPartition(t, p) for t, p in tps]
    if not ktps:
        return {}
    with kafka_errors(config, "listing the end offsets of the consumed topics"):
        latest = client.list_partition_offsets({tp: OffsetSpec.LATEST for tp in ktps})
        earliest = client.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in ktps})
    return {(tp.topic, tp.partition): (int(earliest[tp].offset), int(latest[tp].offset))
            for tp in ktps}


def end_offsets(config: KafkaConfig, partitions: Iterable[TP]) -> dict[TP, tuple[int, int]]:
    """(earliest, end) per partition via ListOffsets: the bare admin call (the bench baseline)."""
    with admin_client(config, "listing end offsets") as client:
        return _bounds(client, config, partitions)


@dataclass(frozen=True)
class RecordsRead:
    """What one bounded read found: the record per asked (partition, offset), and the fetch
    highwater (the end offset the broker reported with the fetch) per partition read."""

    found: dict[tuple[TP, int], RecordAt]
    highwater: dict[TP, int]


def read_records_at(config: KafkaConfig, wanted: Mapping[TP, Iterable[int]],
                    limit_s: float = READ_LIMIT_S) -> RecordsRead:
    """For each asked (partition, offset), the first record at or after that offset, read with
    `assign()` (no group, no commit) by one consumer within `limit_s` in all.

    Several offsets of one partition (groups at different places) are taken in order, seeking
    forward between them. An offset at or past the partition's fetch highwater has no record
    yet and is settled at once; offsets out of range (expired) and those that gave nothing in
    time are left out. The highwaters also correct the local broker's understated ListOffsets
    (docs/kafka.md, quirk 2); on Apache Kafka they equal it, or are newer.
    """
    queues = {TopicPartition(*tp): sorted({o for o in offs if o >= 0})
              for tp, offs in wanted.items()}
    queues = {ktp: q for ktp, q in queues.items() if q}
    found: dict[tuple[TP, int], RecordAt] = {}
    highwater: dict[TP, int] = {}
    if not queues:
        return RecordsRead(found, highwater)
    with kafka_errors(config, "reading the records at the committed offsets"):
        consumer = KafkaConsumer(**config.consumer_kwargs(
            "read_uncommitted", max_partition_fetch_bytes=64 * 1024, fetch_max_wait_ms=50))
        try:
            consumer.assign(list(queues))
            for ktp, q in queues.items():
                consumer.seek(ktp, q[0])
            deadline = time.monotonic() + limit_s

            def settle(ktp: TopicPartition) -> None:
                del queues[ktp]
                consumer.pause(ktp)

            while queues and time.monotonic() < deadline:
                try:
                    polled = consumer.poll(timeout_ms=100, max_records=len(queues) * 64)
                except kerr.OffsetOutOfRangeError as exc:
                    asked = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
                    for ktp in set(asked) or set(queues):
                        q = queues.get(ktp)
                        if q is None:
                            continue
                        q.pop(0)  # that offset is gone: try the partition's next one
                        if q:
                            consumer.seek(ktp, q[0])
                        else:
                            settle(ktp)
                    continue
                for ktp, records in polled.items():
                    q = queues.get(ktp)
                    if not q:
                        continue
                    tp = (ktp.topic, ktp.partition)
                    for r in records:
                        while q and r.offset >= q[0]:
                            found[(tp, q.pop(0))] = RecordAt(r.offset, int(r.timestamp),
                                                             int(r.timestamp_type))
                    if q and records and records[-1].offset + 1 < q[0]:
                        consumer.seek(ktp, q[0])  # skip ahead to the next asked offset
                for ktp in list(queues):
                    hw = consumer.highwater(ktp)
                    if hw is None:
                        continue
                    highwater[(ktp.topic, ktp.partition)] = hw
                    q = queues[ktp]
                    while q and q[-1] >= hw:  # nothing there (yet)
                        q.pop()
                    if not q:
                        settle(ktp)
        finally:
            consumer.close(autocommit=False)
    return RecordsRead(found, highwater)
