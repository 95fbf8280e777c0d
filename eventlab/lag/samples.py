"""Lag history in the store (`lag_samples`): write a snapshot's rows, prune by retention, read
the last samples per partition (the verdict window), end-offset points (the estimate), the
history for charts, and the stored record at an offset (its Kafka timestamp)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from eventlab.kafka.positions import TP
from eventlab.lag.rules import Sample
from eventlab.store import db
from eventlab.store.eventstore import EventStore

Key = tuple[str, str, int]
"""(group, topic, partition)."""

_COLUMNS = ("sampled_at", "bootstrap", "group_id", "topic", "partition", "committed",
            "end_offset", "lag", "lag_seconds", "lag_seconds_estimated", "status")
_SCHEMA = pa.schema([("sampled_at", pa.timestamp("us", tz="UTC")), ("bootstrap", pa.string()),
                     ("group_id", pa.string()), ("topic", pa.string()),
                     ("partition", pa.int32()), ("committed", pa.int64()),
                     ("end_offset", pa.int64()), ("lag", pa.int64()),
                     ("lag_seconds", pa.float64()), ("lag_seconds_estimated", pa.bool_()),
                     ("status", pa.string())])


def has_table(cur: db.Connection) -> bool:
    """False for a database made before lag samples existed and opened read-only."""
    return bool(db.scalar(cur, "SELECT count(*) FROM duckdb_tables() "
                               "WHERE table_name = 'lag_samples'"))


def write(store: EventStore, rows: Sequence[Mapping[str, Any]], *,
          unless_sampled_since: float | None = None) -> int:
    """Append sample rows (keys as `lag_samples` columns; `sampled_at` epoch seconds); the
    number written. With `unless_sampled_since`, nothing is written when the cluster already
    has a sample at or after that time: checked inside the write transaction, so two sessions
    that find a sample due at the same moment write it once."""
    if not rows:
        return 0
    data = {c: [r.get(c) for r in rows] for c in _COLUMNS}
    data["sampled_at"] = [datetime.fromtimestamp(t, UTC) for t in data["sampled_at"]]
    data["lag_seconds_estimated"] = [bool(v) for v in data["lag_seconds_estimated"]]
    table = pa.table(data, schema=_SCHEMA)
    cols = ", ".join(f'"{c}"' for c in _COLUMNS)
    with store.transaction() as cur:
        if unless_sampled_since is not None and db.scalar(
                cur, "SELECT count(*) FROM lag_samples WHERE bootstrap = ? AND sampled_at >= ?",
                [rows[0]["bootstrap"], datetime.fromtimestamp(unless_sampled_since, UTC)]):
            return 0
        db.register(cur, "_lag_rows", table)
        try:
            cur.execute(f"INSERT INTO lag_samples ({cols}) SELECT {cols} FROM _lag_rows")
        finally:
            db.unregister(cur, "_lag_rows")
    return len(rows)


def prune(store: EventStore, retention_days: float, now: float) -> int:
    """Delete samples older than the retention; the number deleted."""
    cutoff = datetime.fromtimestamp(now - retention_days * 86400, UTC)
    with store.transaction() as cur:
        return int(db.scalar(cur, "WITH d AS (DELETE FROM lag_samples WHERE sampled_at < ? "
                                  "RETURNING 1) SELECT count(*) FROM d", [cutoff]) or 0)


def last_sampled(cur: db.Connection, bootstrap: str) -> float | None:
    """Epoch seconds of the newest sample of this cluster (any session or process)."""
    if not has_table(cur):
        return None
    value = db.scalar(cur, "SELECT epoch(max(sampled_at)) FROM lag_samples WHERE bootstrap = ?",
                      [bootstrap])
    return None if value is None else float(value)


def windows(cur: db.Connection, bootstrap: str, n: int,
            groups: Iterable[str] | None = None) -> dict[Key, list[Sample]]:
    """The last `n` samples per (group, topic, partition), oldest first."""
    if not has_table(cur):
        return {}
    where, params = "bootstrap = ?", [bootstrap]
    names = None if groups is None else list(groups)
    if names is not None:
        if not names:
            return {}
        where += f" AND group_id IN ({', '.join('?' * len(names))})"
        params += names
    rows = db.rows(cur, f"""
        SELECT group_id, topic, "partition", epoch(sampled_at), committed, end_offset, lag
        FROM lag_samples WHERE {where}
        QUALIFY row_number() OVER (PARTITION BY group_id, topic, "partition"
                                   ORDER BY sampled_at DESC) <= ?
        ORDER BY group_id, topic, "partition", sampled_at""", [*params, n])
    out: dict[Key, list[Sample]] = {}
    for g, t, p, at, committed, end, lag in rows:
        out.setdefault((g, t, int(p)), []).append(Sample(float(at), committed, int(end), lag))
    return out


def end_points(cur: db.Connection, bootstrap: str,
               tps: Iterable[TP]) -> dict[TP, list[tuple[int, float]]]:
    """Sampled (end offset, time) points per partition, any group: the estimate's table."""
    wanted = sorted(set(tps))
    if not wanted or not has_table(cur):
        return {}
    values = ", ".join("(?, ?)" for _ in wanted)
    rows = db.rows(cur, f"""
        WITH w(topic, p) AS (VALUES {values})
        SELECT s.topic, s."partition", s.end_offset, min(epoch(s.sampled_at))
        FROM lag_samples s JOIN w ON s.topic = w.topic AND s."partition" = w.p
        WHERE s.bootstrap = ?
        GROUP BY ALL ORDER BY 1, 2, 3""", [*[x for tp in wanted for x in tp], bootstrap])
    out: dict[TP, list[tuple[int, float]]] = {}
    for t, p, end, at in rows:
        out.setdefault((t, int(p)), []).append((int(end), float(at)))
    return out


def history(cur: db.Connection, bootstrap: str, group: str, since: float) -> pa.Table:
    """A group's samples since `since` (epoch s): sampled_at, topic, partition, partition label,
    lag, lag_seconds, estimated; for the charts (small: one row per partition and sample)."""
    if not has_table(cur):
        return pa.table({"sampled_at": pa.array([], pa.timestamp("us", tz="UTC"))})
    return db.arrow(cur, """
        SELECT sampled_at, topic, "partition", topic || '/' || "partition" AS series,
               lag, lag_seconds, lag_seconds_estimated AS estimated, status
        FROM lag_samples
        WHERE bootstrap = ? AND group_id = ? AND sampled_at >= ?
        ORDER BY sampled_at, topic, "partition" """,
                    [bootstrap, group, datetime.fromtimestamp(since, UTC)])


def stored_timestamps(cur: db.Connection,
                      wanted: Iterable[tuple[TP, int]]) -> dict[tuple[TP, int], float]:
    """Kafka timestamp (epoch s) of the stored event at each ((topic, partition), offset)."""
    items = sorted(set(wanted))
    if not items:
        return {}
    values = ", ".join("(?, ?, ?)" for _ in items)
    rows = db.rows(cur, f"""
        WITH w(topic, p, o) AS (VALUES {values})
        SELECT e.topic, e."partition", e."offset", epoch(min(e.kafka_ts))
        FROM events e JOIN w ON e.topic = w.topic AND e."partition" = w.p AND e."offset" = w.o
        WHERE e.source = 'kafka' AND e.kafka_ts IS NOT NULL
        GROUP BY ALL""", [x for (t, p), o in items for x in (t, p, o)])
    return {((t, int(p)), int(o)): float(ts) for t, p, o, ts in rows}
