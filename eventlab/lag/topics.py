"""Lag per topic, for the Sources topic list: the records behind summed over a topic's
committed partitions, per group, with the partitions no group ever committed counted apart."""

from __future__ import annotations

from dataclasses import dataclass, field

from eventlab.kafka.config import KafkaConfig
from eventlab.lag.snapshot import LagSnapshot, take_snapshot
from eventlab.store.eventstore import EventStore


@dataclass(frozen=True)
class TopicLag:
    """A topic's lag: the total over its groups, per group, and no-commit partitions."""

    topic: str
    total: int = 0
    groups: dict[str, int] = field(default_factory=dict)
    no_commit: dict[str, int] = field(default_factory=dict)


def topic_lag(snapshot: LagSnapshot) -> dict[str, TopicLag]:
    """{topic: TopicLag}; a partition without a commit is listed in `no_commit`, never as 0."""
    groups: dict[str, dict[str, int]] = {}
    missing: dict[str, dict[str, int]] = {}
    for p in snapshot.rows():
        if p.lag is None:
            missing.setdefault(p.topic, {}).setdefault(p.group, 0)
            missing[p.topic][p.group] += 1
            continue
        groups.setdefault(p.topic, {}).setdefault(p.group, 0)
        groups[p.topic][p.group] += p.lag
    return {t: TopicLag(t, sum(groups.get(t, {}).values()), dict(groups.get(t, {})),
                        dict(missing.get(t, {})))
            for t in sorted(set(groups) | set(missing))}


def topic_lag_text(lag: TopicLag | None) -> str:
    """One cell of text: `1,234 (shop-projector 1,200, billing 34)`, "" without groups."""
    if lag is None:
        return ""
    parts = [f"{g} {n:,}" for g, n in sorted(lag.groups.items())]
    parts += [f"{g}: no commit on {n}" for g, n in sorted(lag.no_commit.items())]
    return f"{lag.total:,} ({', '.join(parts)})"


def edges(snapshot: LagSnapshot) -> dict[tuple[str, str], int | None]:
    """(topic, group) → the group's lag on that topic; None when it committed no partition."""
    out: dict[tuple[str, str], int | None] = {}
    for p in snapshot.rows():
        key = (p.topic, p.group)
        if p.lag is None:
            out.setdefault(key, None)
        else:
            out[key] = (out.get(key) or 0) + p.lag
    return out


def lag_by_topic(config: KafkaConfig, store: EventStore | None = None) -> dict[str, TopicLag]:
    """Per-topic lag of every group on the cluster, in records (no record reads): for the
    Sources topic list. Raises `BrokerUnavailable` / `SourceError` like the other listings."""
    return topic_lag(take_snapshot(config, store, seconds=False))
