"""A lag snapshot: per group and partition, committed and end offsets, lag in records and in
seconds, rate, time to catch up and Burrow's verdict over the stored samples plus this one.

Lag in seconds is exact: now minus the timestamp of the record at the committed offset (the
oldest unconsumed one), from the stored events when that topic was ingested, else one bounded
read with `assign()` (`kafka.groups.read_records_at`). Only when that record is gone (retention)
is it estimated from sampled (end offset, time) points, and flagged `lag_seconds_estimated`.

End offsets are ListOffsets(latest), raised to the fetch highwater of that read where it is
higher: equal or newer on Apache Kafka, and the true end on the local broker, whose ListOffsets
understates it (docs/kafka.md, quirk 2). So the read also covers partitions a group seems to
have caught up on (one fetch each, settled by the highwater).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from eventlab.errors import SourceError
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.groups import GroupInfo, GroupOffsets, group_offsets, read_records_at
from eventlab.kafka.positions import TP
from eventlab.lag import arith, rules
from eventlab.lag import samples as history
from eventlab.lag.rules import Sample, Verdict
from eventlab.store.eventstore import EventStore


@dataclass(frozen=True)
class PartitionLag:
    """One group on one partition."""

    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    earliest: int
    lag: int | None
    lag_seconds: float | None
    lag_seconds_estimated: bool
    lag_seconds_source: str
    """"store", "read" (bounded fetch), "estimate", "caught up", or "" (unknown)."""
    rate_per_s: float | None
    eta_seconds: float | None
    status: str
    reason: str
    samples: tuple[Sample, ...] = field(repr=False, default=())

    @property
    def tp(self) -> TP:
        return (self.topic, self.partition)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`eventlab lag --json`)."""
        d = asdict(self)
        d["samples"] = [asdict(s) for s in self.samples]
        return d


@dataclass(frozen=True)
class GroupLag:
    """A group: what the broker says of it, its partitions, its worst status."""

    info: GroupInfo
    partitions: tuple[PartitionLag, ...]
    status: str
    reason: str

    @property
    def group(self) -> str:
        return self.info.group

    @property
    def total_lag(self) -> int:
        """Records behind over the committed partitions (no-commit ones are not counted)."""
        return sum(p.lag for p in self.partitions if p.lag is not None)

    @property
    def no_commit(self) -> int:
        """Partitions of its topics the group never committed."""
        return sum(1 for p in self.partitions if p.committed is None)

    @property
    def max_lag_seconds(self) -> float | None:
        values = [p.lag_seconds for p in self.partitions if p.lag_seconds is not None]
        return max(values) if values else None


@dataclass(frozen=True)
class LagSnapshot:
    """Every group's lag at one moment (`taken_at`, epoch seconds) on one cluster."""

    bootstrap: str
    taken_at: float
    groups: tuple[GroupLag, ...]
    notes: tuple[str, ...] = ()
    """What could not be done (e.g. the record read was refused): shown beside the numbers."""

    def rows(self) -> list[PartitionLag]:
        return [p for g in self.groups for p in g.partitions]

    def group(self, name: str) -> GroupLag | None:
        return next((g for g in self.groups if g.group == name), None)

    def sample_rows(self) -> list[dict[str, Any]]:
        """This snapshot as `lag_samples` rows."""
        return [{"sampled_at": self.taken_at, "bootstrap": self.bootstrap, "group_id": p.group,
                 "topic": p.topic, "partition": p.partition, "committed": p.committed,
                 "end_offset": p.end, "lag": p.lag, "lag_seconds": p.lag_seconds,
                 "lag_seconds_estimated": p.lag_seconds_estimated, "status": p.status}
                for p in self.rows()]


def _timestamps(config: KafkaConfig, store: EventStore | None, wanted: dict[TP, set[int]],
                listed_end: dict[TP, int], notes: list[str]
                ) -> tuple[dict[tuple[TP, int], tuple[float, str]], dict[TP, int]]:
    """Timestamp (epoch s) and where it came from, per asked (partition, offset): the oldest
    unconsumed record of a group standing there; and the fetch highwater per partition read.

    Stored events first for offsets below the listed end; the rest, and every offset at or past
    the listed end (caught up, or the local broker's understated end: docs/kafka.md, quirk 2),
    in one bounded read. A read that fails (no READ permission on a topic, say) leaves the
    seconds unknown and says why in `notes`: the offsets are still shown."""
    found: dict[tuple[TP, int], tuple[float, str]] = {}
    pairs = [(tp, off) for tp, offs in wanted.items() for off in offs]
    lagging = [(tp, off) for tp, off in pairs if off < listed_end.get(tp, 0)]
    if store is not None and lagging:
        with store.reading() as cur:
            for key, ts in history.stored_timestamps(cur, lagging).items():
                found[key] = (ts, "store")
    rest: dict[TP, list[int]] = {}
    for tp, off in pairs:
        if (tp, off) not in found:
            rest.setdefault(tp, []).append(off)
    try:
        read = read_records_at(config, rest)
    except SourceError as exc:
        notes.append(f"lag in seconds unknown where not stored: {exc}")
        return found, {}
    for key, rec in read.found.items():
        found[key] = (rec.timestamp_ms / 1000.0, "read")
    return found, read.highwater


def build(config: KafkaConfig, offsets: GroupOffsets, *, store: EventStore | None = None,
          window: int = rules.DEFAULT_WINDOW, allowed_lag: int = rules.DEFAULT_ALLOWED_LAG,
          now: float | None = None, seconds: bool = True) -> LagSnapshot:
    """The snapshot from what the cluster said (`group_offsets`), the stored samples and, for
    lagging partitions, the record timestamps (`seconds=False` skips them: records only)."""
    now = offsets.read_at if now is None else now
    bootstrap = config.bootstrap
    past: dict[tuple[str, str, int], list[Sample]] = {}
    points: dict[TP, list[tuple[int, float]]] = {}
    if store is not None:
        with store.reading() as cur:
            past = history.windows(cur, bootstrap, window, [g.group for g in offsets.groups])
            points = history.end_points(cur, bootstrap, offsets.bounds)
    # Which (partition, offset) records we need: one per committed partition, shared by groups.
    plan: dict[str, list[tuple[TP, int | None, int, int]]] = {}
    wanted: dict[TP, set[int]] = {}
    for info in offsets.groups:
        committed = offsets.committed.get(info.group, {})
        topics = {t for t, _ in committed} | {t for m in info.members or ()
                                             for t, _ in m.assignment}
        rows = []
        for topic in sorted(topics):
            for p in range(offsets.partitions.get(topic, 0)):
                earliest, end = offsets.bounds.get((topic, p), (0, 0))
                c = committed.get((topic, p))
                rows.append(((topic, p), c, earliest, end))
                if c is not None and c >= earliest:
                    wanted.setdefault((topic, p), set()).add(c)
        plan[info.group] = rows
    found: dict[tuple[TP, int], tuple[float, str]] = {}
    highwater: dict[TP, int] = {}
    notes: list[str] = []
    if seconds:
        found, highwater = _timestamps(config, store, wanted,
                                       {tp: b[1] for tp, b in offsets.bounds.items()}, notes)
    groups = []
    for info in offsets.groups:
        active = {tp for m in info.members or () for tp in m.assignment}
        parts = []
        verdicts: dict[TP, Verdict] = {}
        for tp, c, earliest, listed in plan[info.group]:
            end = max(listed, highwater.get(tp, listed))
            lag = arith.lag_records(c, end)
            estimated, source = False, ""
            secs: float | None = None
            if lag == 0:
                secs, source = 0.0, "caught up"
            elif lag is not None and c is not None:
                hit = found.get((tp, c))
                if hit is not None:
                    secs, source = arith.lag_seconds(now, hit[0], lag), hit[1]
                elif c < earliest:  # the record is gone: estimate
                    secs = arith.estimated_lag_seconds(now, points.get(tp, []), c)
                    estimated, source = secs is not None, "estimate" if secs is not None else ""
            window_samples = [*past.get((info.group, *tp), []), Sample(now, c, end, lag)]
            window_samples = window_samples[-window:]
            verdict = rules.evaluate(window_samples, now=now, allowed_lag=allowed_lag,
                                     window=window, active=tp in active)
            verdicts[tp] = verdict
            consumed, produced = arith.rates(window_samples)
            parts.append(PartitionLag(
                info.group, tp[0], tp[1], c, end, earliest, lag, secs, estimated, source,
                consumed, arith.eta_seconds(lag, consumed, produced), verdict.status,
                verdict.reason, verdict.samples))
        status, reason = rules.worst(verdicts)
        groups.append(GroupLag(info, tuple(parts), status, reason))
    return LagSnapshot(bootstrap, now, tuple(groups), tuple(notes))


def take_snapshot(config: KafkaConfig, store: EventStore | None = None,
                  groups: Sequence[str] | None = None, **kwargs: Any) -> LagSnapshot:
    """Read the groups (all, or the named ones) from the cluster and build their snapshot."""
    return build(config, group_offsets(config, groups), store=store, **kwargs)
