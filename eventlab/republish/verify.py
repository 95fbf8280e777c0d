"""Verifying a job's acknowledged records in its targets (docs/safety.md, items 26 and 38).

An acknowledgement says the broker had the record once; it does not say the record is still
there. A broker that restarted empty, a target deleted and re-created, or a retention that
ran, leave the ledger saying "acked" for records the target no longer holds. So before a
resume touches the target, and before a job may be called done, every acknowledged record
is looked for where it was acknowledged (topic, partition, offset) by its provenance
headers (this job's replay id and the record's identity). What is not there is `lost`.

Each target partition is read only from its smallest acknowledged offset (or its earliest,
if later) to its end offset taken at the start; partitions without acknowledged records of
the job are not read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from eventlab.kafka import admin, provenance
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.positions import TP
from eventlab.republish import ledger
from eventlab.republish import plan as planning
from eventlab.store.eventstore import EventStore


@dataclass(frozen=True)
class Lost:
    """An acknowledged record not found where it was acknowledged, and why."""

    n: int
    topic: str
    partition: int
    offset: int
    why: str


@dataclass(frozen=True)
class Verification:
    """How many acknowledged records were looked for, and those not found."""

    checked: int
    lost: tuple[Lost, ...] = ()

    def message(self) -> str:
        """'target lost N acknowledged records (...)' with the reasons, counted."""
        reasons = Counter((r.topic, r.why) for r in self.lost)
        return lost_message(len(self.lost), "; ".join(
            f"{topic}: {count:,} {why}" for (topic, why), count in sorted(reasons.items())))


def lost_message(n: int, detail: str) -> str:
    """What a job that lost acknowledged records reports, and what to do next."""
    return (f"target lost {n:,} acknowledged record{'s' if n != 1 else ''} ({detail}). "
            "They are marked lost and the job is not done; send the job again (a new job "
            "with a new replay id) to replay its records.")


def verify_acked(store: EventStore, config: KafkaConfig, job_id: str) -> Verification:
    """Look for every acknowledged record of the job in its targets (see the module)."""
    with store.reading() as cur:
        rows = ledger.acked_rows(cur, job_id)
    if not rows:
        return Verification(0)
    by_topic: dict[str, list[tuple]] = {}
    for row in rows:
        by_topic.setdefault(row[1], []).append(row)
    counts = admin.partition_counts(config, sorted(by_topic))
    lost: list[Lost] = []
    for topic, mine in sorted(by_topic.items()):
        have = counts.get(topic)
        if have is None:
            lost += [Lost(r[0], topic, r[2], r[3], "the topic no longer exists") for r in mine]
            continue
        bounds = admin.offset_bounds(config, [(topic, p) for p in range(have)])
        first: dict[int, int] = {}
        for r in mine:
            first[r[2]] = min(first.get(r[2], r[3]), r[3])
        start: dict[TP, int] = {}
        for p in range(have):
            earliest, end = bounds[(topic, p)]
            start[(topic, p)] = min(max(first[p], earliest), end) if p in first else end
        found = {(f.partition, f.offset): f.identity for f in provenance.find_replayed(
            config, topic, job_id, planning.REPLAY_ID, planning.IDENTITY, start=start)}
        for n, _, part, off, s_topic, s_part, s_off, event_id in mine:
            if found.get((part, off)) == planning.identity(s_topic, s_part, s_off, event_id):
                continue
            if part >= have:
                why = "in a partition the topic no longer has"
            elif off < bounds[(topic, part)][0]:
                why = "below the partition's earliest offset (deleted or truncated)"
            elif off >= bounds[(topic, part)][1]:
                why = "at or past the partition's end offset (the topic was re-created)"
            else:
                why = "not at their acknowledged offset (another record is there)"
            lost.append(Lost(n, topic, part, off, why))
    return Verification(len(rows), tuple(lost))


def mark_lost(store: EventStore, job_id: str, result: Verification) -> None:
    """Record the lost records in the ledger (status `lost`, where they were acknowledged)."""
    if not result.lost:
        return
    with store.transaction() as cur:
        ledger.write_outcomes(cur, job_id, [r.n for r in result.lost],
                              [ledger.LOST] * len(result.lost),
                              [r.partition for r in result.lost],
                              [r.offset for r in result.lost],
                              [f"acknowledged, then not found in the target: {r.why}"
                               for r in result.lost])
