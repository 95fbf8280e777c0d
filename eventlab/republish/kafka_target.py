"""Kafka as a republish target (`republish/target.py`): topics created or checked, unknown
records settled by reading the target's provenance headers, acknowledged records verified,
records sent by `republish/send.py` (an idempotent `acks=all` producer)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from eventlab.errors import SourceError
from eventlab.kafka import admin, provenance
from eventlab.kafka.config import KafkaConfig
from eventlab.republish import guards, ledger, verify
from eventlab.republish import plan as planning
from eventlab.republish import send as sending
from eventlab.republish.guards import RepublishRefused
from eventlab.republish.ledger import Counts
from eventlab.republish.plan import KAFKA, Plan
from eventlab.store.eventstore import EventStore


class KafkaTarget:
    """Kafka topics on one cluster."""

    kind = KAFKA
    creates = True

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config

    def describe(self) -> str:
        """The cluster's bootstrap servers."""
        return self.config.bootstrap

    def partition_counts(self, names: Sequence[str]) -> dict[str, int | None]:
        """Each topic's partition count (None: missing)."""
        return admin.partition_counts(self.config, sorted(names))

    def ensure(self, plan: Plan) -> None:
        """Create missing planned topics; check every target has the planned partitions."""
        _ensure_targets(self.config, plan)

    def settle(self, store: EventStore, job_id: str) -> tuple[int, int, int]:
        """See `_settle`."""
        return _settle(store, self.config, job_id)

    def verify(self, store: EventStore, job_id: str) -> verify.Verification:
        """Read the acknowledged records back (`republish/verify.py`)."""
        return verify.verify_acked(store, self.config, job_id)

    def send(self, store: EventStore, plan: Plan, rate: float | None,
             cancel: threading.Event, progress: Callable[[Counts], None] | None,
             delivery_timeout_s: float) -> tuple[int, str | None]:
        """`republish/send.py`."""
        return sending.send(store, self.config, plan, rate, cancel, progress,
                            delivery_timeout_s)


def _settle(store: EventStore, config: KafkaConfig, job_id: str) -> tuple[int, int, int]:
    """Read the targets for the job's unknown records: (found, missing, extra copies)."""
    with store.reading() as cur:
        unknown = ledger.unknown_rows(cur, job_id)
        if not unknown:
            return 0, 0, 0
        acked = ledger.acked_positions(cur, job_id)
    topics = sorted({row[1] for row in unknown})
    counts = admin.partition_counts(config, topics)
    copies: dict[tuple[str, tuple], list[tuple[int, int]]] = {}
    for topic in topics:
        if counts.get(topic) is None:
            continue  # never created: nothing of this job is there
        for f in provenance.find_replayed(config, topic, job_id, planning.REPLAY_ID,
                                          planning.IDENTITY):
            if (topic, f.partition, f.offset) not in acked:
                copies.setdefault((topic, f.identity), []).append((f.partition, f.offset))
    ns, statuses, parts, offs, errors = [], [], [], [], []
    found = missing = 0
    for n, target, s_topic, s_part, s_off, event_id in unknown:
        key = (target, planning.identity(s_topic, s_part, s_off, event_id))
        hits = copies.get(key)
        ns.append(n)
        if hits:
            p, o = hits.pop(0)
            statuses.append(ledger.ACKED)
            parts.append(p)
            offs.append(o)
            errors.append(None)
            found += 1
        else:
            statuses.append(ledger.UNSENT)
            parts.append(None)
            offs.append(None)
            errors.append("not found in the target when settled")
            missing += 1
    extra = sum(len(v) for v in copies.values())
    with store.transaction() as cur:
        ledger.write_outcomes(cur, job_id, ns, statuses, parts, offs, errors)
    return found, missing, extra


def _ensure_targets(config: KafkaConfig, plan: Plan) -> None:
    counts = admin.partition_counts(config, plan.target_topics)
    for topic in plan.target_topics:
        want = plan.target_partitions[topic]
        have = counts.get(topic)
        if have is None:
            if topic not in plan.create:
                raise SourceError(f"target topic {topic} no longer exists on {config.bootstrap}; "
                                  "plan again")
            if not guards.create_topics():
                raise RepublishRefused(f"target topic {topic} does not exist and creation is "
                                       f"off ({guards.CREATE_TOPICS}=0)")
            have = admin.ensure_topic(config, topic, want)
        if have != want:
            raise SourceError(f"target topic {topic} has {have} partition(s), the plan expected "
                              f"{want}: plan again")
