"""A member of a consumer group that commits the offsets it is told to, for the demo's slow
consumer and for tests of consumer lag. EventLab itself never joins or commits for a group
(docs/safety.md, items 5 and 32): this is for groups of its own.

The member subscribes with auto-commit off and hands back records as `GroupRecord`s (position
and headers; values are never decoded here). Its group timings are short because the local
broker delays a group's first records by the rebalance timeout (docs/kafka.md, quirk 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import kafka.errors as kerr
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition

from eventlab.kafka.config import KafkaConfig, kafka_errors
from eventlab.kafka.positions import TP

GROUP_TIMINGS = {"max_poll_interval_ms": 3000, "session_timeout_ms": 6000,
                 "heartbeat_interval_ms": 1000}


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """One polled record: where it is and its headers (the value stays unread)."""

    tp: TP
    offset: int
    headers: list[tuple[str, bytes | None]]


class GroupMember:
    """Subscribed to one topic as a member of `group`; commits only in `commit`."""

    def __init__(self, config: KafkaConfig, topic: str, group: str, *,
                 max_poll_records: int = 500) -> None:
        self.config = config
        self.doing = f"consuming {topic} as group {group}"
        with kafka_errors(config, self.doing):
            self._consumer = KafkaConsumer(
                **config.client_kwargs(), group_id=group, enable_auto_commit=False,
                auto_offset_reset="earliest", allow_auto_create_topics=False,
                max_poll_records=max_poll_records, **GROUP_TIMINGS)
        try:
            with kafka_errors(config, self.doing):
                self._consumer.subscribe([topic])
        except BaseException:
            self.close()
            raise

    def poll(self, timeout_ms: int, max_records: int) -> list[GroupRecord]:
        """The records that arrived within `timeout_ms`, in order per partition."""
        with kafka_errors(self.config, self.doing):
            polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        return [GroupRecord((ktp.topic, ktp.partition), r.offset, list(r.headers or ()))
                for ktp, records in polled.items() for r in records]

    def commit(self, offsets: dict[TP, int]) -> bool:
        """Commit these next offsets; False when a rebalance took the partitions meanwhile
        (their records will be processed again by whoever has them now)."""
        if not offsets:
            return True
        with kafka_errors(self.config, self.doing):
            try:
                self._consumer.commit({TopicPartition(*tp): OffsetAndMetadata(off, "", -1)
                                       for tp, off in offsets.items()})
            except (kerr.CommitFailedError, kerr.RebalanceInProgressError):
                return False
        return True

    def highwaters(self) -> dict[TP, int]:
        """The end offset the last fetch reported, per assigned partition."""
        out = {}
        for ktp in self._consumer.assignment():
            highwater = self._consumer.highwater(ktp)
            if highwater is not None:
                out[(ktp.topic, ktp.partition)] = highwater
        return out

    def close(self) -> None:
        """Leave the group without committing anything more."""
        self._consumer.close(autocommit=False)
