"""Verdicts on a partition's lag, as pure rules: Burrow's evaluator (linkedin/Burrow,
`core/internal/evaluator/caching.go`, `calculatePartitionStatus`), in its current order.

Only when the current lag exceeds the allowed lag (default 0) is anything checked:
1. STOP: the time since the last commit is longer than the window's commit span (last commit
   minus first), unless an end offset in the window was at or below the last committed offset
   (the group was caught up recently).
2. REWIND: a committed offset went backwards and has not come back to where it was.
3. Only if the lag was above the allowed lag in every sample of the window:
   STALL: the committed offset did not move at all; WARN: it moved, but the lag never shrank
   from one sample to the next.
4. Else OK.
A group's status is its worst partition's, by Burrow's status constants
(OK 1 < WARN 2 < STOP 4 < STALL 5 < REWIND 6).

Burrow's window holds the commits it reads from `__consumer_offsets`, each with its commit
time. EventLab has the samples of OffsetFetch instead, which carry no commit time, so a
sample's commit time is the time its committed offset was first seen in the window (the
commit happened at or before it). A group that re-commits the same offset therefore looks
stopped, not stalled, unless the group's members are known to hold the partition
(`active=True`: a live member commits on its schedule, so each sample counts as a commit).
One more difference: with fewer than 2 samples nothing is judged (Burrow would call a single
lagging commit stalled); the verdict is OK with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eventlab.kafka.positions import TP, tp_text

OK, WARN, STOP, STALL, REWIND, NO_COMMIT = "OK", "WARN", "STOP", "STALL", "REWIND", "NO_COMMIT"
SEVERITY: dict[str, int] = {NO_COMMIT: 0, OK: 1, WARN: 2, STOP: 4, STALL: 5, REWIND: 6}
"""Burrow's status constants; "no commit" (nothing to judge) ranks below OK."""
DEFAULT_WINDOW = 10
DEFAULT_ALLOWED_LAG = 0
MIN_SAMPLES = 2


@dataclass(frozen=True)
class Sample:
    """One observation of a partition: when (epoch seconds), committed offset (None: no
    commit), end offset, and lag in records (None without a commit)."""

    at: float
    committed: int | None
    end: int
    lag: int | None


@dataclass(frozen=True)
class Verdict:
    """A status, why, and the samples that produced it (oldest first)."""

    status: str
    reason: str
    samples: tuple[Sample, ...] = ()
    complete: float = 1.0
    """Share of the window that holds samples (Burrow's `Complete`)."""


def _commit_times(entries: Sequence[Sample], active: bool) -> list[float]:
    if active:
        return [s.at for s in entries]
    times: list[float] = []
    for i, s in enumerate(entries):
        same = i > 0 and entries[i - 1].committed == s.committed
        times.append(times[-1] if same else s.at)
    return times


def evaluate(samples: Sequence[Sample], *, now: float, allowed_lag: int = DEFAULT_ALLOWED_LAG,
             window: int = DEFAULT_WINDOW, active: bool = False) -> Verdict:
    """Burrow's verdict over the last `window` samples (see the module docstring)."""
    ordered = sorted(samples, key=lambda s: s.at)
    if not ordered or ordered[-1].committed is None:
        return Verdict(NO_COMMIT, "no committed offset: nothing to judge, not counted as "
                                  "caught up", tuple(ordered[-window:]))
    entries = [s for s in ordered if s.committed is not None][-window:]
    complete = len(entries) / window
    used = tuple(entries)
    current = entries[-1].lag or 0
    if current <= allowed_lag:
        return Verdict(OK, f"lag {current:,} is within the allowed {allowed_lag:,}", used,
                       complete)
    if len(entries) < MIN_SAMPLES:
        return Verdict(OK, f"lag {current:,}; {len(entries)} sample so far, a verdict needs "
                           f"{MIN_SAMPLES}", used, complete)
    times = _commit_times(entries, active)
    first, last = times[0], times[-1]
    last_offset = entries[-1].committed
    assert last_offset is not None
    recent_zero = any(s.end <= last_offset for s in entries)
    if now - last > last - first and not recent_zero:
        return Verdict(STOP, f"no new commit for {now - last:,.1f} s, longer than the "
                             f"window's commit span of {last - first:,.1f} s; lag {current:,}",
                       used, complete)
    rewind = next((i for i in range(1, len(entries))
                   if entries[i].committed < entries[i - 1].committed), -1)  # type: ignore[operator]
    if rewind > 0:
        before = entries[rewind - 1].committed
        recovered = any(s.committed >= before for s in entries[rewind:])  # type: ignore[operator]
        if not recovered:
            return Verdict(REWIND, f"committed offset went back from {before:,} to "
                                   f"{entries[rewind].committed:,} and has not come back",
                           used, complete)
    if all(s.lag is not None and s.lag > allowed_lag for s in entries):
        if all(s.committed == entries[0].committed for s in entries):
            return Verdict(STALL, f"committed offset stayed at {last_offset:,} over "
                                  f"{len(entries)} samples while the lag stayed above "
                                  f"{allowed_lag:,}; lag {current:,}", used, complete)
        lags = [s.lag for s in entries if s.lag is not None]
        if all(b >= a for a, b in zip(lags, lags[1:], strict=False)):
            return Verdict(WARN, f"consuming ({entries[0].committed:,} → {last_offset:,}) but "
                                 f"the lag never shrank ({lags[0]:,} → {lags[-1]:,})",
                           used, complete)
        return Verdict(OK, f"lag {current:,} but shrinking within the window", used, complete)
    return Verdict(OK, f"lag {current:,}; it was within the allowed {allowed_lag:,} in the "
                       "window", used, complete)


def worst(verdicts: Mapping[TP, Verdict]) -> tuple[str, str]:
    """A group's status (its worst partition's) and a reason naming that partition."""
    if not verdicts:
        return NO_COMMIT, "no partitions"
    tp, verdict = max(verdicts.items(), key=lambda kv: (SEVERITY[kv[1].status],
                                                         kv[1].samples[-1].lag or 0
                                                         if kv[1].samples else 0))
    if verdict.status == NO_COMMIT:
        return NO_COMMIT, "no partition has a committed offset"
    return verdict.status, f"{tp_text(tp)}: {verdict.reason}"
