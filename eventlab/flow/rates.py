"""Event rate over time: events per time bucket and event type, the bucket chosen from the
range (one second to one day), counted inside DuckDB: summed from the store's hourly
summaries (`store.summaries`) when they are fresh, the bucket is an hour or more and the
range is whole hours (or none); else a pass over the events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from eventlab.explore.queries import bucket_for
from eventlab.flow.scope import Scope, where
from eventlab.store import db, summaries

BUCKETS: dict[str, int] = {
    "1 second": 1, "10 seconds": 10, "1 minute": 60, "5 minutes": 300, "15 minutes": 900,
    "1 hour": 3600, "6 hours": 21600, "1 day": 86400,
}
"""The buckets a rate chart uses and their width in seconds (Explore's, up to one day)."""


def choose_bucket(span: timedelta) -> str:
    """Explore's rule (about 120 bars over the span), capped at one day."""
    name = bucket_for(span)
    return name if name in BUCKETS else "1 day"


@dataclass(frozen=True)
class Rates:
    """Events per bucket and type (`bucket`, `event_type`, `events`), and the bucket used."""

    table: pa.Table
    bucket: str
    first: datetime | None
    last: datetime | None

    @property
    def seconds(self) -> int:
        """The bucket's width in seconds (events / seconds = events per second)."""
        return BUCKETS[self.bucket]


def span(con: db.Connection, scope: Scope) -> tuple[datetime | None, datetime | None]:
    """First and last event time in the scope (the scope's own bounds when both are set;
    the store's summaries when fresh and there is no time range)."""
    if scope.start is not None and scope.end is not None:
        return scope.start, scope.end
    if scope.start is None and scope.end is None and summaries.fresh(con):
        return summaries.span(con, (), scope.entity_type)
    sql, params = where(scope)
    lo, hi = db.rows(con, f"SELECT min(ts), max(ts) FROM events{sql}", params)[0]
    return scope.start or lo, scope.end or hi


def rates(con: db.Connection, scope: Scope, bucket: str | None = None) -> Rates:
    """Events per bucket and event type in the scope, oldest bucket first."""
    lo, hi = span(con, scope)
    if bucket is None:
        bucket = choose_bucket((hi - lo) if lo is not None and hi is not None else timedelta(0))
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}; one of {', '.join(BUCKETS)}")
    hours = _whole_hours(con, scope, bucket)
    if hours is not None:
        return Rates(summaries.counts(con, bucket, (), scope.entity_type, *hours), bucket,
                     lo, hi)
    sql, params = where(scope)
    # `bucket` is one of our constants (checked above), never user text.
    table = db.arrow(con, f"SELECT time_bucket(INTERVAL '{bucket}', ts) AS bucket, event_type, "
                          f"count(*) AS events FROM events{sql} GROUP BY ALL "
                          f"ORDER BY bucket, event_type", params)
    return Rates(table, bucket, lo, hi)


_HOUR = timedelta(hours=1)
_TICK = timedelta(microseconds=1)


def _whole_hours(con: db.Connection, scope: Scope,
                 bucket: str) -> tuple[datetime | None, datetime | None] | None:
    """The summaries' hour range that equals the scope's time range (from, before), when
    they can answer: fresh, a bucket of an hour or more, and a range of whole hours (start
    on an hour, end the last microsecond before one: `ts <= end` is inclusive). Else None."""
    if BUCKETS[bucket] < BUCKETS["1 hour"]:
        return None
    before = None if scope.end is None else scope.end + _TICK
    if any(t is not None and not _on_hour(t) for t in (scope.start, before)):
        return None
    return (scope.start, before) if summaries.fresh(con) else None


def _on_hour(t: datetime) -> bool:
    """True on a whole UTC hour (a naive time is UTC)."""
    u = t if t.tzinfo is None else t.astimezone(UTC)
    return (u.minute, u.second, u.microsecond) == (0, 0, 0)
