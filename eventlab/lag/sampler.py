"""The lag sampler: take a snapshot, write it to `lag_samples` when the interval has passed
(measured from the newest stored sample of that cluster, so several sessions and processes
share one pace), prune by retention. `watch` repeats it until stopped (`eventlab lag --watch`);
the Consumers page calls `sample_if_due` from its refreshing fragment."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from eventlab.kafka.config import KafkaConfig
from eventlab.lag import samples, settings
from eventlab.lag.snapshot import LagSnapshot, take_snapshot
from eventlab.store.eventstore import EventStore


def sample_if_due(store: EventStore, snapshot: LagSnapshot, interval_s: float | None = None,
                  retention_days: float | None = None) -> bool:
    """Write the snapshot's rows if the cluster's newest sample is `interval_s` old or more
    (default EVENTLAB_LAG_SAMPLE_S); prune old ones. True when written."""
    interval = settings.sample_interval_s() if interval_s is None else interval_s
    # A small tolerance: a page refreshing every 5 s samples every 10 s, not every 15 s.
    since = snapshot.taken_at - interval + 0.25
    if not samples.write(store, snapshot.sample_rows(), unless_sampled_since=since):
        return False
    days = settings.retention_days() if retention_days is None else retention_days
    samples.prune(store, days, snapshot.taken_at)
    return True


def sample_once(config: KafkaConfig, store: EventStore, groups: Sequence[str] | None = None,
                **kwargs: object) -> LagSnapshot:
    """One snapshot, written unconditionally (with pruning)."""
    snapshot = take_snapshot(config, store, groups, **kwargs)  # type: ignore[arg-type]
    samples.write(store, snapshot.sample_rows())
    samples.prune(store, settings.retention_days(), snapshot.taken_at)
    return snapshot


def watch(config: KafkaConfig, store: EventStore, interval_s: float, stop: threading.Event,
          groups: Sequence[str] | None = None,
          on_sample: Callable[[LagSnapshot], None] | None = None, **kwargs: object) -> int:
    """Sample every `interval_s` until `stop` is set; the number of samples written."""
    written = 0
    while not stop.is_set():
        began = time.monotonic()
        snapshot = sample_once(config, store, groups, **kwargs)
        written += 1
        if on_sample is not None:
            on_sample(snapshot)
        stop.wait(max(0.0, interval_s - (time.monotonic() - began)))
    return written
