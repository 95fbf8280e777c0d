"""The republish plan: pure rules, no I/O (docs/safety.md, items 22-24 and 27).

- Targets: by default each source topic goes to its own replay topic `<topic>.replay.<job>`
  (events loaded from files: `events.replay.<job>`), or every record to one chosen topic. A
  DLQ redrive sends each record to the topic named in its `kafka_dlt-original-topic` header
  (configurable), grouped by destination. A target that is a source topic (or any topic the
  store holds records of) needs its name typed back.
- Partitioning: by the original key (the Java client's murmur2 rule; keyless records go to
  n mod partitions) or to the original partition number (mod the target's count). A warning
  when source and target partition counts differ.
- Headers: the original ones byte for byte, in order (repeated keys, empty and null values
  kept), then exactly the `PROVENANCE` headers, UTF-8 text: partition and offset decimal,
  timestamps in epoch milliseconds. A DLQ redrive may drop the dead-letter headers first.
- Timestamp: the original record time (file events: their event time) or now.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from eventlab.kafka.partitioner import partition_for
from eventlab.kafka.provenance import (
    HEADERS,
    ORIGINAL_EVENT_ID,
    ORIGINAL_OFFSET,
    ORIGINAL_PARTITION,
    ORIGINAL_TIMESTAMP,
    ORIGINAL_TOPIC,
    REASON,
    REPLAY_ID,
    REPLAYED_AT,
    REPLAYED_BY,
)

PROVENANCE = HEADERS
"""The provenance headers added to every republished record, in this order."""
IDENTITY: tuple[str, ...] = (ORIGINAL_TOPIC, ORIGINAL_PARTITION, ORIGINAL_OFFSET,
                             ORIGINAL_EVENT_ID)
"""With the replay id, what identifies a republished record when the target is read back."""
DLQ_HEADER = "kafka_dlt-original-topic"
DLQ_PREFIX = "kafka_dlt-"
RABBITMQ_DLQ_HEADER = "x-first-death-queue"
"""Where RabbitMQ says a dead letter came from: the queue a redrive sends it back to."""
BY_KEY, BY_PARTITION = "key", "partition"
KAFKA = "kafka"
RABBITMQ_STREAM, RABBITMQ_EXCHANGE, RABBITMQ_QUEUE = (
    "rabbitmq-stream", "rabbitmq-exchange", "rabbitmq-queue")
SQS, SNS = "sqs", "sns"
TARGET_KINDS = (KAFKA, RABBITMQ_STREAM, RABBITMQ_EXCHANGE, RABBITMQ_QUEUE, SQS, SNS)
"""Where a job writes: Kafka topics, RabbitMQ streams (stream protocol, deduplicated), an
exchange (publisher confirms, mandatory), or queues by name through the default exchange
(a dead-letter redrive); SQS queues or SNS topics by name (`republish/aws_target.py`)."""
ORIGINAL, NOW = "original", "now"
FILES_TOPIC = "events"
_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")


@dataclass(frozen=True)
class PlanOptions:
    """The choices of a republish (defaults are the safe ones)."""

    target: str | None = None
    partitioning: str = BY_KEY
    timestamp: str = ORIGINAL
    reason: str = ""
    dlq_header: str = DLQ_HEADER
    drop_dlq_headers: bool = False
    dlq_header_prefix: str = DLQ_PREFIX
    create_topics: bool = True
    target_kind: str = KAFKA
    routing_key: str | None = None

    def check(self) -> list[str]:
        """What is wrong with these options (empty when fine)."""
        problems = []
        if self.partitioning not in (BY_KEY, BY_PARTITION):
            problems.append(f"partitioning must be {BY_KEY!r} or {BY_PARTITION!r}")
        if self.timestamp not in (ORIGINAL, NOW):
            problems.append(f"timestamp must be {ORIGINAL!r} or {NOW!r}")
        if self.target_kind not in TARGET_KINDS:
            problems.append(f"target kind must be one of {', '.join(TARGET_KINDS)}")
        if self.target_kind == RABBITMQ_EXCHANGE and not self.target:
            problems.append("a RabbitMQ exchange target needs the exchange's name")
        if self.target is not None and not valid_topic(self.target):
            problems.append(f"{self.target!r} is not a valid topic name (letters, digits, "
                            "'.', '_' and '-', at most 249)")
        return problems


def valid_topic(name: str) -> bool:
    """Kafka's rule for topic names."""
    return bool(_TOPIC_NAME.fullmatch(name)) and name not in (".", "..")


def job_id_for(now: datetime, token: str) -> str:
    """A job (and replay) id: UTC time of planning plus a random token, safe in topic names."""
    return f"{now:%Y%m%d%H%M%S}-{token[:6]}"


def default_target(topic: str | None, job_id: str) -> str:
    """`<topic>.replay.<job>`; events loaded from files use `events.replay.<job>`."""
    return f"{topic or FILES_TOPIC}.replay.{job_id}"


def targets_for(source_topics: Iterable[str | None], destinations: Iterable[str],
                options: PlanOptions, job_id: str, dlq: bool) -> dict[str, str]:
    """Source topic ("" for none) -> target topic. For a DLQ redrive the keys are the
    destinations named by the records' headers (unless one target is chosen)."""
    keys = sorted(destinations) if dlq else sorted({t or "" for t in source_topics})
    if options.target:
        return dict.fromkeys(keys, options.target)
    if dlq:
        return {d: d for d in keys}
    return {k: default_target(k or None, job_id) for k in keys}


def allowed(topic: str, pattern: str | None) -> bool:
    """Does the allow-list (a regular expression, EVENTLAB_REPUBLISH_TOPICS) admit `topic`?"""
    return not pattern or re.fullmatch(pattern, topic) is not None


@dataclass(frozen=True)
class Plan:
    """Everything execute will do, decided before anything is sent."""

    job_id: str
    actor: str
    reason: str
    kind: str
    partitioning: str
    timestamp: str
    targets: dict[str, str]
    target_partitions: dict[str, int]
    source_partitions: dict[str, int] = field(default_factory=dict)
    create: tuple[str, ...] = ()
    confirm: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    count: int = 0
    bytes: int = 0
    tombstones: int = 0
    skipped: int = 0
    dlq_header: str = DLQ_HEADER
    drop_dlq_headers: bool = False
    dlq_header_prefix: str = DLQ_PREFIX
    target_kind: str = KAFKA
    routing_key: str | None = None

    @property
    def target_topics(self) -> list[str]:
        """Distinct target topics, sorted."""
        return sorted(set(self.targets.values()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (stored in `republish_jobs.plan`)."""
        d = asdict(self)
        d["create"], d["confirm"], d["warnings"] = (list(self.create), list(self.confirm),
                                                   list(self.warnings))
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Plan:
        """Back from `to_dict`."""
        d = dict(d)
        for k in ("create", "confirm", "warnings"):
            d[k] = tuple(d.get(k) or ())
        d["target_partitions"] = {k: int(v) for k, v in d["target_partitions"].items()}
        d["source_partitions"] = {k: int(v) for k, v in (d.get("source_partitions") or {}).items()}
        return cls(**d)


def make_plan(*, job_id: str, actor: str, kind: str, options: PlanOptions,
              targets: Mapping[str, str], source_partitions: Mapping[str, int],
              existing: Mapping[str, int | None], sensitive: Iterable[str],
              count: int, bytes_: int, tombstones: int, skipped: int = 0) -> Plan:
    """Decide the plan. `existing` is each target's partition count (None: missing);
    `source_partitions` each source topic's ("" for file events: 1); `sensitive` the topics
    that need their name typed back (source topics, topics with stored records)."""
    warnings: list[str] = []
    counts: dict[str, int] = {}
    create: list[str] = []
    for src, target in sorted(targets.items()):
        have = existing.get(target)
        want = source_partitions.get(src) or 1
        if have is None:
            if target not in create:
                create.append(target)
                counts[target] = max(counts.get(target, 0), want)
        else:
            counts[target] = have
    for src, target in sorted(targets.items()):
        n_src = source_partitions.get(src)
        if src and n_src is not None and counts[target] != n_src and src != target:
            how = ("records keep their per-key order; a key may land in another partition "
                   "number" if options.partitioning == BY_KEY else
                   f"partitions at or above {counts[target]} wrap around (partition mod "
                   f"{counts[target]})")
            warnings.append(f"{src} has {n_src} partition(s), target {target} has "
                            f"{counts[target]}: {how}")
    if create:
        if options.create_topics:
            warnings.append("will be created: " + ", ".join(
                f"{t} ({counts[t]} partition(s))" for t in create))
        else:
            warnings.append("target topic(s) missing and creation is off "
                            "(EVENTLAB_REPUBLISH_CREATE_TOPICS=0): " + ", ".join(create))
    if options.timestamp == NOW:
        warnings.append("records get the current time as their timestamp (not the original)")
    if skipped:
        warnings.append(f"{skipped:,} record(s) have no {options.dlq_header} header and are "
                        "not sent")
    sensitive = set(sensitive)
    confirm = tuple(sorted({t for t in targets.values() if t in sensitive}))
    return Plan(job_id=job_id, actor=actor, reason=options.reason, kind=kind,
                partitioning=options.partitioning, timestamp=options.timestamp,
                targets=dict(targets), target_partitions=counts,
                source_partitions={k: int(v) for k, v in source_partitions.items()},
                create=tuple(create), confirm=confirm, warnings=tuple(warnings), count=count,
                bytes=bytes_, tombstones=tombstones, skipped=skipped,
                dlq_header=options.dlq_header, drop_dlq_headers=options.drop_dlq_headers,
                dlq_header_prefix=options.dlq_header_prefix, target_kind=options.target_kind,
                routing_key=options.routing_key)


def confirmed(plan: Plan, typed: str | None) -> bool:
    """True when no confirmation is needed, or `typed` names exactly the topics to confirm
    (comma-separated, any order)."""
    if not plan.confirm:
        return True
    names = {t.strip() for t in (typed or "").split(",") if t.strip()}
    return names == set(plan.confirm)


def target_partition(mode: str, key: bytes | None, src_partition: int | None, n: int,
                     partitions: int) -> int:
    """Where record number `n` goes in a target of `partitions` partitions."""
    if mode == BY_PARTITION and src_partition is not None:
        return src_partition % partitions
    if key is not None and mode == BY_KEY:
        return partition_for(key, partitions)
    return n % partitions


def provenance(src_topic: str | None, src_partition: int | None, src_offset: int,
               ts_ms: int | None, event_id: str | None, job_id: str, replayed_at_ms: int,
               actor: str, reason: str) -> list[tuple[str, bytes]]:
    """The `PROVENANCE` headers of one record (unknown values are empty)."""
    return [
        (ORIGINAL_TOPIC, (src_topic or "").encode()),
        (ORIGINAL_PARTITION, b"" if src_partition is None else str(src_partition).encode()),
        (ORIGINAL_OFFSET, str(src_offset).encode()),
        (ORIGINAL_TIMESTAMP, b"" if ts_ms is None else str(ts_ms).encode()),
        (ORIGINAL_EVENT_ID, (event_id or "").encode()),
        (REPLAY_ID, job_id.encode()),
        (REPLAYED_AT, str(replayed_at_ms).encode()),
        (REPLAYED_BY, actor.encode()),
        (REASON, reason.encode()),
    ]


def identity(src_topic: str | None, src_partition: int | None, src_offset: int,
             event_id: str | None) -> tuple[str, str, str, str]:
    """The `IDENTITY` header values a record of this source carries (as read back)."""
    return (src_topic or "", "" if src_partition is None else str(src_partition),
            str(src_offset), event_id or "")
