"""Lag arithmetic, pure: records behind, seconds behind, the estimate when the record is gone,
consumption rate and time to catch up."""

from __future__ import annotations

from collections.abc import Sequence

from eventlab.lag.rules import Sample


def lag_records(committed: int | None, end: int) -> int | None:
    """End minus committed, never below 0; None without a commit ("no commit", never 0)."""
    return None if committed is None else max(0, end - committed)


def lag_seconds(now: float, record_ts: float | None, lag: int | None) -> float | None:
    """Age of the oldest unconsumed record: now minus its timestamp; 0 when caught up."""
    if lag is None:
        return None
    if lag == 0:
        return 0.0
    return None if record_ts is None else max(0.0, now - record_ts)


def time_at_offset(points: Sequence[tuple[int, float]], offset: int) -> float | None:
    """When the partition's end offset was `offset`, from sampled (end offset, time) points,
    as kafka-lag-exporter does: interpolate between the points around it, extrapolate along
    the outermost two beyond them. None with fewer than two distinct end offsets."""
    pts = sorted({end: at for end, at in sorted(points, key=lambda p: p[1])}.items())
    if len(pts) < 2:
        return None
    for (o1, t1), (o2, t2) in zip(pts, pts[1:], strict=False):
        if o1 <= offset <= o2:
            return t1 + (t2 - t1) * (offset - o1) / (o2 - o1)
    (o1, t1), (o2, t2) = (pts[0], pts[1]) if offset < pts[0][0] else (pts[-2], pts[-1])
    return t1 + (t2 - t1) * (offset - o1) / (o2 - o1)


def estimated_lag_seconds(now: float, points: Sequence[tuple[int, float]],
                          committed: int) -> float | None:
    """now minus the estimated time the end offset passed `committed` (see `time_at_offset`)."""
    at = time_at_offset(points, committed)
    return None if at is None else max(0.0, now - at)


def rates(samples: Sequence[Sample]) -> tuple[float | None, float | None]:
    """(consumed, produced) records per second over the samples with a commit."""
    s = [x for x in sorted(samples, key=lambda x: x.at) if x.committed is not None]
    if len(s) < 2 or s[-1].at <= s[0].at:
        return None, None
    span = s[-1].at - s[0].at
    return ((s[-1].committed - s[0].committed) / span,  # type: ignore[operator]
            (s[-1].end - s[0].end) / span)


def eta_seconds(lag: int | None, consumed: float | None, produced: float | None) -> float | None:
    """Seconds until caught up at the current rates; 0 when caught up, None when not catching
    up (or unknown)."""
    if lag is None:
        return None
    if lag == 0:
        return 0.0
    if consumed is None or produced is None or consumed - produced <= 0:
        return None
    return lag / (consumed - produced)


def lag_duration(seconds: float) -> str:
    """`12.3 s`, `4 min 5 s`, `3 h 20 min`, `12 d 4 h`: a lag a person can read (the
    Consumers page and the rewind plan)."""
    s = max(0.0, seconds)
    if s < 120:
        return f"{s:.1f} s"
    m = int(s // 60)
    if m < 120:
        return f"{m} min {int(s % 60)} s"
    h = m // 60
    if h < 48:
        return f"{h} h {m % 60} min"
    return f"{h // 24:,} d {h % 24} h"
