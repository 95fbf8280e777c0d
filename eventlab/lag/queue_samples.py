"""Queue depth history in the store (`queue_samples`): write samples when due, prune by the lag
history's retention, read a queue's history for the Consumers page's chart.

Same pace and retention settings as Kafka lag (EVENTLAB_LAG_SAMPLE_S, EVENTLAB_LAG_HISTORY_DAYS);
the interval is measured from the broker's newest stored sample, so sessions share one pace.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from eventlab.lag import settings
from eventlab.store import db
from eventlab.store.eventstore import EventStore

_SCHEMA = pa.schema([("sampled_at", pa.timestamp("us", tz="UTC")), ("broker", pa.string()),
                     ("queue", pa.string()), ("visible", pa.int64()),
                     ("in_flight", pa.int64()), ("delayed", pa.int64()),
                     ("oldest_age_s", pa.float64()), ("dlq_visible", pa.int64())])
SERIES = ("visible", "in_flight", "delayed", "dlq_visible")


def has_table(cur: db.Connection) -> bool:
    """False for a database made before queue samples existed and opened read-only."""
    return bool(db.scalar(cur, "SELECT count(*) FROM duckdb_tables() "
                               "WHERE table_name = 'queue_samples'"))


def write_if_due(store: EventStore, rows: Sequence[Mapping[str, Any]], *,
                 interval_s: float | None = None) -> int:
    """Append the rows (keys as columns, `sampled_at` epoch seconds) unless the broker has a
    sample newer than the interval (checked inside the write transaction); prune old ones.
    The number written."""
    if not rows:
        return 0
    interval = settings.sample_interval_s() if interval_s is None else interval_s
    if interval <= 0:
        return 0
    now = max(float(r["sampled_at"]) for r in rows)
    data = {f.name: [r.get(f.name) for r in rows] for f in _SCHEMA}
    data["sampled_at"] = [datetime.fromtimestamp(t, UTC) for t in data["sampled_at"]]
    table = pa.table(data, schema=_SCHEMA)
    cols = ", ".join(f'"{c}"' for c in _SCHEMA.names)
    with store.transaction() as cur:
        if db.scalar(cur, "SELECT count(*) FROM queue_samples WHERE broker = ? AND "
                          "sampled_at >= ?",
                     [rows[0]["broker"], datetime.fromtimestamp(now - interval + 0.25, UTC)]):
            return 0
        db.register(cur, "_queue_rows", table)
        try:
            cur.execute(f"INSERT INTO queue_samples ({cols}) SELECT {cols} FROM _queue_rows")
        finally:
            db.unregister(cur, "_queue_rows")
        cutoff = datetime.fromtimestamp(now - settings.retention_days() * 86400, UTC)
        cur.execute("DELETE FROM queue_samples WHERE sampled_at < ?", [cutoff])
    return len(rows)


def history(cur: db.Connection, broker: str, queue: str, since: float) -> pa.Table:
    """The queue's samples since `since` (epoch s) as `sampled_at, series, lag` rows: one series
    per count (visible, in_flight, delayed, dlq_visible), the shape the lag charts draw."""
    if not has_table(cur):
        return pa.table({"sampled_at": [], "series": [], "lag": []})
    unions = " UNION ALL ".join(
        f"SELECT sampled_at, '{name}' AS series, {name} AS lag FROM q WHERE {name} IS NOT NULL"
        for name in SERIES)
    return db.arrow(cur, f"WITH q AS (SELECT * FROM queue_samples WHERE broker = ? AND queue = ? "
                         f"AND sampled_at >= ?) {unions} ORDER BY sampled_at",
                    [broker, queue, datetime.fromtimestamp(since, UTC)])
