"""Consumer lag (issue 10): group offsets from the admin API, lag in records and in seconds,
samples kept in the store, and verdicts as pure rules (Burrow's evaluator as the model).

Built on `kafka/` (admin calls, one bounded read with `assign()`; never a join or a commit for
another group). Modules: `rules` (verdicts, pure), `arith` (lag arithmetic, pure), `snapshot`
(one look at the cluster), `samples` (the `lag_samples` history), `sampler`, `where` (the event
a group stands on), `topics` (lag per topic for the Sources list), `settings`, `background`
(the app's one sampler thread per process). Rewinding a group lives in `eventlab.rewind`.

This file imports nothing heavy; import the names from here or from their modules.
"""

from __future__ import annotations

from eventlab.lag.rules import NO_COMMIT, OK, REWIND, STALL, STOP, WARN, Sample, Verdict, evaluate

__all__ = ["NO_COMMIT", "OK", "REWIND", "STALL", "STOP", "WARN", "Sample", "Verdict",
           "evaluate", "take_snapshot", "topic_lag", "lag_by_topic", "sample_if_due", "event_at"]


def __getattr__(name: str) -> object:
    """The I/O parts load on first use (they bring kafka-python and DuckDB)."""
    if name == "take_snapshot":
        from eventlab.lag.snapshot import take_snapshot
        return take_snapshot
    if name == "topic_lag":
        from eventlab.lag.topics import topic_lag
        return topic_lag
    if name == "lag_by_topic":
        from eventlab.lag.topics import lag_by_topic
        return lag_by_topic
    if name == "sample_if_due":
        from eventlab.lag.sampler import sample_if_due
        return sample_if_due
    if name == "event_at":
        from eventlab.lag.where import event_at
        return event_at
    raise AttributeError(name)
