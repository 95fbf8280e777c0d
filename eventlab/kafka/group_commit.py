"""The one place EventLab commits offsets for a consumer group: the explicit, audited rewind
(`eventlab.rewind`; docs/safety.md, item 32). Everything else reads with `assign()` and never
commits.

`commit_group_offsets` uses the admin API's OffsetCommit for a group with no member
(kafka-python's `alter_group_offsets`): the broker itself refuses it while the group has active
members (UNKNOWN_MEMBER_ID and the like), which is reported as `GroupActive`. Also here: the
first offset at or after a time per partition (ListOffsets by timestamp).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import kafka.errors as kerr
from kafka import OffsetAndMetadata, TopicPartition
from kafka.admin import OffsetTimestamp

from eventlab.errors import SourceError
from eventlab.kafka.admin import admin_client
from eventlab.kafka.config import KafkaConfig, kafka_errors

_BUSY = (kerr.UnknownMemberIdError, kerr.RebalanceInProgressError, kerr.IllegalGenerationError)


class GroupActive(SourceError):
    """The broker refused to move a group's offsets because the group has active members."""


def offsets_for_time(config: KafkaConfig, topic: str, partitions: Iterable[int],
                     at_ms: int) -> dict[int, int | None]:
    """Per partition, the first offset whose timestamp is at or after `at_ms` (None: no such
    record, i.e. the end)."""
    tps = [TopicPartition(topic, p) for p in partitions]
    if not tps:
        return {}
    doing = f"finding the offsets of {topic} at {at_ms} ms"
    with admin_client(config, doing) as client, kafka_errors(config, doing):
        found = client.list_partition_offsets({tp: OffsetTimestamp(at_ms) for tp in tps})
    return {tp.partition: (None if found[tp].offset is None or found[tp].offset < 0
                           else int(found[tp].offset)) for tp in tps}


def commit_group_offsets(config: KafkaConfig, group: str, topic: str,
                         offsets: Mapping[int, int]) -> None:
    """Commit these next offsets for `group` on `topic`, all or report each failure."""
    doing = f"committing offsets of {topic} for group {group}"
    request = {TopicPartition(topic, p): OffsetAndMetadata(o, "", -1) for p, o in offsets.items()}
    with admin_client(config, doing) as client, kafka_errors(config, doing):
        result = client.alter_group_offsets(group, request)
    failed = {tp.partition: err for tp, err in result.items() if err is not kerr.NoError}
    if not failed:
        return
    names = ", ".join(f"{topic}/{p}: {err.__name__}" for p, err in sorted(failed.items()))
    if any(issubclass(err, _BUSY) for err in failed.values()):
        raise GroupActive(f"Kafka at {config.bootstrap} refused to move group {group}: it has "
                          f"active members ({names}). Stop its consumers, then try again.")
    raise SourceError(f"Kafka at {config.bootstrap} refused some offsets of group {group}: "
                      f"{names}")


def committed_offsets(config: KafkaConfig, group: str, topic: str) -> dict[int, int]:
    """The group's committed (next) offsets on `topic` (partitions never committed left out)."""
    doing = f"reading the committed offsets of group {group}"
    with admin_client(config, doing) as client, kafka_errors(config, doing):
        fetched = client.list_group_offsets({group: None})
    return {tp.partition: int(om.offset) for tp, om in fetched.get(group, {}).items()
            if tp.topic == topic and om.offset >= 0}
