"""The background lag sampler: one thread per process that samples a cluster's groups every
EVENTLAB_LAG_SAMPLE_S seconds into the store, whether or not anyone has a page open (issue 22).

The app starts one per process and database (`eventlab.ui.lag_sampler`, an
`st.cache_resource`); `eventlab lag --watch` is the headless twin. Each round is
`sampler.sample_if_due`, so the Consumers page, this thread and a `--watch` process writing to
the same database share one pace (the newest stored sample of the cluster decides), and every
write prunes history older than EVENTLAB_LAG_HISTORY_DAYS. A cluster that does not answer is
remembered as `last_error` and tried again next round; the thread never stops on it.

It writes only to EventLab's own store and never joins or commits for a group (docs/safety.md,
item 32). In read-only mode it is not started (the app writes nothing then).
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from typing import ClassVar

from eventlab.errors import EventLabError
from eventlab.kafka.config import KafkaConfig
from eventlab.lag import sampler
from eventlab.lag.snapshot import take_snapshot
from eventlab.store.eventstore import EventStore


@dataclass(frozen=True)
class SamplerStatus:
    """What the thread did last: for the Consumers page's caption."""

    bootstrap: str
    interval_s: float
    running: bool
    rounds: int
    written: int
    last_at: float | None
    last_error: str | None


class BackgroundSampler:
    """Samples `config`'s groups into `store` every `interval_s` on a daemon thread."""

    _made: ClassVar[weakref.WeakSet[BackgroundSampler]] = weakref.WeakSet()
    """Every sampler made in this process: `running()` and `stop_all()` (tests, shutdown)."""

    def __init__(self, config: KafkaConfig, store: EventStore, interval_s: float,
                 retention_days: float) -> None:
        if interval_s <= 0:
            raise EventLabError("the background lag sampler needs an interval above 0 s")
        self.config = config
        self.store = store
        self.interval_s = interval_s
        self.retention_days = retention_days
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._rounds = self._written = 0
        self._last_at: float | None = None
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"eventlab-lag-sampler-{config.bootstrap}")
        BackgroundSampler._made.add(self)

    @classmethod
    def running(cls) -> list[BackgroundSampler]:
        """The samplers of this process whose thread runs."""
        return [s for s in list(cls._made) if s._thread.is_alive()]

    @classmethod
    def stop_all(cls, timeout: float = 10.0) -> None:
        """Stop every sampler of this process (an AppTest's thread outlives its test)."""
        found = cls.running()
        for s in found:
            s._stop.set()
        for s in found:
            s._thread.join(timeout)

    def start(self) -> BackgroundSampler:
        """Start the thread (once); returns self."""
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the current round."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def round(self) -> bool:
        """One round: snapshot, write if due, prune. True when a sample was written."""
        snapshot = take_snapshot(self.config, self.store)
        return sampler.sample_if_due(self.store, snapshot, self.interval_s, self.retention_days)

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                wrote = self.round()
                error = None
            except EventLabError as exc:
                wrote, error = False, str(exc)
            with self._lock:
                self._rounds += 1
                self._written += int(wrote)
                self._last_at = time.time()
                self._last_error = error
            self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - began)))

    def status(self) -> SamplerStatus:
        """A consistent copy of the counters."""
        with self._lock:
            return SamplerStatus(self.config.bootstrap, self.interval_s, self._thread.is_alive(),
                                 self._rounds, self._written, self._last_at, self._last_error)
