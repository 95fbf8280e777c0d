"""A deliberately slow consumer group for the demo, so consumer lag has something to show.

`run_demo_consumer` subscribes to a topic as a real member of group `group` (auto-commit off),
"processes" each record (counts it by event type, from the `event_type` or `ce_type` header,
never decoding the value, so poison records cannot stop it) at no more than `rate` records/s,
and commits the offsets it processed after each batch (explicit offsets, so a stop in the
middle of a batch commits only what was processed). Batches hold at most one second of work,
which keeps every poll well inside `max_poll_interval_ms`.

The group membership is `kafka.member.GroupMember` (short group timings: docs/kafka.md, quirk
1). This is the demo's own group; EventLab itself never joins or commits for a group
(docs/safety.md, item 5).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from eventlab.errors import TopicGone
from eventlab.kafka import admin
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.member import GroupMember
from eventlab.kafka.positions import TP, remaining

_TYPE_HEADERS = ("event_type", "ce_type")
MAX_BATCH = 500


@dataclass
class ConsumerProgress:
    """Where the demo consumer is: processed records, commits, and lag per partition."""

    processed: int = 0
    commits: int = 0
    commit_failures: int = 0
    seconds: float = 0.0
    committed: dict[TP, int] = field(default_factory=dict)  # next offset to process
    lag: dict[TP, int] = field(default_factory=dict)  # fetch highwater - committed
    by_type: Counter[str] = field(default_factory=Counter)

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    def line(self) -> str:
        """One progress line for the terminal."""
        rate = self.processed / self.seconds if self.seconds > 0 else 0.0
        parts = ", ".join(f"p{p}={o}" for (_, p), o in sorted(self.committed.items()))
        return (f"processed {self.processed:,} ({rate:,.0f}/s), lag {self.total_lag:,}, "
                f"committed {parts or '-'}")


def _event_type(headers: list[tuple[str, bytes | None]]) -> str:
    for name, value in headers or ():
        if name in _TYPE_HEADERS and value is not None:
            return value.decode("utf-8", "replace")
    return "(none)"


def run_demo_consumer(config: KafkaConfig, topic: str, group: str, *, rate: float = 100.0,
                      stop: threading.Event | None = None,
                      progress: Callable[[ConsumerProgress], None] | None = None,
                      progress_every_s: float = 2.0,
                      max_records: int | None = None,
                      wait_for_topic_s: float = 0.0) -> ConsumerProgress:
    """Consume `topic` as group `group` at <= `rate` records/s (0: no limit) until `stop` is
    set or `max_records` were processed; commit after each batch; close cleanly.

    Starts at the group's committed offsets, or at the earliest offset for a new group. Waits
    up to `wait_for_topic_s` for the topic to appear (a producer started beside it).
    """
    deadline = time.monotonic() + wait_for_topic_s
    while (admin.partition_counts(config, [topic]).get(topic) is None
           and time.monotonic() < deadline):
        time.sleep(0.5)
    if admin.partition_counts(config, [topic]).get(topic) is None:
        raise TopicGone(f"topic {topic} does not exist on {config.bootstrap}: produce the demo "
                        f"first (eventlab demo --kafka {config.bootstrap} --topic {topic})")
    stop = stop or threading.Event()
    state = ConsumerProgress()
    batch = MAX_BATCH if rate <= 0 else max(1, min(MAX_BATCH, int(rate)))
    member = GroupMember(config, topic, group, max_poll_records=batch)
    try:
        started = last_report = time.monotonic()
        due = started
        while not stop.is_set():
            done: dict[TP, int] = {}
            for record in member.poll(timeout_ms=500, max_records=batch):
                if stop.is_set() or (max_records is not None
                                     and state.processed >= max_records):
                    break
                state.by_type[_event_type(record.headers)] += 1
                state.processed += 1
                done[record.tp] = record.offset + 1
                if rate > 0:
                    due = max(due, time.monotonic() - 1.0) + 1.0 / rate
                    if due - time.monotonic() > 0.001:
                        stop.wait(due - time.monotonic())
            if member.commit(done):
                if done:
                    state.commits += 1
                    state.committed.update(done)
            else:
                state.commit_failures += 1  # a rebalance moved the partitions: processed again
            now = time.monotonic()
            state.seconds = now - started
            state.lag.update({tp: remaining(hw, state.committed.get(tp))
                              for tp, hw in member.highwaters().items()})
            if progress is not None and now - last_report >= progress_every_s:
                last_report = now
                progress(state)
            if max_records is not None and state.processed >= max_records:
                break
    finally:
        member.close()
    return state
