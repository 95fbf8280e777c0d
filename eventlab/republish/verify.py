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
    """Look for every acknowledged record of the job in its targets (see the module).

    The records read back stay in Arrow and are matched against the ledger inside DuckDB
    (`ledger.unmatched_acked`): only the records not found come back to Python."""
    with store.reading() as cur:
        firsts = ledger.acked_firsts(cur, job_id)
    if not firsts:
        return Verification(0)
    checked = sum(n for by_part in firsts.values() for _, n in by_part.values())
    counts = admin.partition_counts(config, sorted(firsts))
    lost: list[Lost] = []
    for topic, mine in sorted(firsts.items()):
        have = counts.get(topic)
        if have is None:
            with store.reading() as cur:
                rows = ledger.unmatched_acked(cur, job_id, topic, None)
            lost += [Lost(n, topic, p, o, "the topic no longer exists") for n, p, o in rows]
            continue
        bounds = admin.offset_bounds(config, [(topic, p) for p in range(have)])
        start: dict[TP, int] = {}
        for p in range(have):
            earliest, end = bounds[(topic, p)]
            start[(topic, p)] = min(max(mine[p][0], earliest), end) if p in mine else end
        found = provenance.replayed_table(config, topic, job_id, planning.REPLAY_ID,
                                          planning.IDENTITY, start=start)
        with store.reading() as cur:
            rows = ledger.unmatched_acked(cur, job_id, topic, found)
        for n, part, off in rows:
            if part >= have:
                why = "in a partition the topic no longer has"
            elif off < bounds[(topic, part)][0]:
                why = "below the partition's earliest offset (deleted or truncated)"
            elif off >= bounds[(topic, part)][1]:
                why = "at or past the partition's end offset (the topic was re-created)"
            else:
                why = "not at their acknowledged offset (another record is there)"
            lost.append(Lost(n, topic, part, off, why))
    return Verification(checked, tuple(lost))


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
