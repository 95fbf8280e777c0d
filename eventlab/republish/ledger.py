"""The republish ledger: `republish_jobs` (one row per job) and `republish_log` (one per planned
record, its outcome: docs/safety.md, items 25-26).

A record's status is `unsent`, `unknown` (handed to the producer and not answered: it may be
in the target; written BEFORE sending, so a crash anywhere leaves `unknown`, never a silent
gap), `acked` (with partition and offset), `failed` (refused by the broker, with the error)
or `lost` (acknowledged, then not found where it was acknowledged when the target was read
back: the topic was deleted, re-created or truncated; it keeps that partition and offset).
The plan's records are written once, when the job is planned; execute and resume send from
them, so they send exactly that plan.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from eventlab.republish.plan import BY_PARTITION, Plan
from eventlab.republish.selection import CANONICAL_JSON_SQL
from eventlab.store import db

UNSENT, UNKNOWN, ACKED, FAILED, LOST = "unsent", "unknown", "acked", "failed", "lost"
STATUSES = (UNSENT, UNKNOWN, ACKED, FAILED, LOST)
_TARGETS, _KEYS, _OUT = "__rp_targets", "__rp_keys", "__rp_out"
_POSITION = ("coalesce({a}.topic, '') = coalesce(l.src_topic, '') AND coalesce({a}.\"partition\", "
             "-1) = coalesce(l.src_partition, -1) AND {a}.source = l.source")

_RECORDS_SQL = f"""
SELECT l.n, l.target_topic, l.target_partition, l.src_topic, l.src_partition, l.src_offset,
       l.event_id,
       CASE WHEN l.origin = 'event' THEN (CASE WHEN e.topic IS NULL THEN encode(e.entity_id)
            ELSE e.key END) ELSE q.key END AS key,
       CASE WHEN l.origin = 'event' THEN (CASE WHEN e.topic IS NULL THEN
            encode({CANONICAL_JSON_SQL}) ELSE e.value END) ELSE q.raw END AS value,
       {{headers}} AS headers,
       CASE WHEN l.origin = 'event' THEN CAST(round(epoch_us(coalesce(e.kafka_ts, e.ts))
            / 1000.0) AS BIGINT) END AS ts_ms,
       (l.origin = 'event' AND e.event_id IS NULL) OR (l.origin = 'quarantine' AND
            q.source IS NULL) AS missing
FROM republish_log l
LEFT JOIN events e ON l.origin = 'event' AND e."offset" = l.src_offset AND
     {_POSITION.format(a='e')}
LEFT JOIN quarantine q ON l.origin = 'quarantine' AND coalesce(q."offset", -1) = l.src_offset
     AND {_POSITION.format(a='q')}
WHERE l.job_id = ? AND l.status IN ('unsent', 'failed'){{n_range}}
"""


def records_sql(job_id: str, replayed_at_ms: int, actor: str, reason: str,
                drop_prefix: str | None, n_range: bool = False) -> tuple[str, list[Any]]:
    """The records still to send of a job, in plan order, as they go out: key, value, and the
    headers: `hkeys` the original keys (minus `drop_prefix`), `hvalues` their values followed
    by the values of the `PROVENANCE` headers (as `plan.provenance`: the caller appends the
    constant keys), with the SQL's bound parameters.

    `n_range`: only plan positions `n` BETWEEN two more parameters the caller appends (a
    range at a time: `to_send_span`). Built in DuckDB so the per-record Python path only
    zips two lists.
    """
    headers = "CASE WHEN l.origin = 'event' THEN e.headers ELSE q.headers END"
    params: list[Any] = []
    if drop_prefix:
        headers = f"list_filter({headers}, lambda x: NOT starts_with(x.key, ?))"
        params.append(drop_prefix)
    outer = f"""
SELECT n, target_topic, target_partition, key, value, ts_ms, missing,
       coalesce(list_bool_or(list_transform(headers, lambda x: x.value IS NULL)), false)
           AS null_header,
       coalesce(list_transform(headers, lambda x: x.key), []) AS hkeys,
       list_concat(coalesce(list_transform(headers, lambda x: x.value), []), [
           encode(coalesce(src_topic, '')),
           encode(coalesce(CAST(src_partition AS VARCHAR), '')),
           encode(CAST(src_offset AS VARCHAR)),
           encode(coalesce(CAST(ts_ms AS VARCHAR), '')),
           encode(coalesce(event_id, '')),
           encode(?), encode(?), encode(?), encode(?)]) AS hvalues
FROM ({_RECORDS_SQL.format(headers=headers, n_range=" AND l.n BETWEEN ? AND ?"
                           if n_range else "")}) ORDER BY n"""
    return outer, [job_id, str(replayed_at_ms), actor, reason, *params, job_id]


def to_send_span(cur: db.Connection, job_id: str) -> tuple[int, int] | None:
    """The first and last plan position `n` of the records still to send (`records_sql`),
    None when there are none."""
    row = db.rows(cur, "SELECT min(n), max(n) FROM republish_log WHERE job_id = ? AND "
                       "status IN ('unsent', 'failed')", [job_id])[0]
    return None if row[0] is None else (int(row[0]), int(row[1]))


@dataclass(frozen=True)
class Counts:
    """A job's records by status."""

    planned: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    unsent: int = 0
    lost: int = 0
    """Acknowledged, then not found in the target when it was read back."""

    def to_dict(self) -> dict[str, int]:
        return {"planned": self.planned, "sent": self.sent, "failed": self.failed,
                "unknown": self.unknown, "unsent": self.unsent, "lost": self.lost}


@dataclass(frozen=True)
class JobRow:
    """One row of `republish_jobs`."""

    job_id: str
    created_at: Any
    actor: str
    reason: str
    selection: dict[str, Any]
    plan: Plan
    planned: int
    status: str
    updated_at: Any


def insert_job(cur: db.Connection, plan: Plan, selection: Mapping[str, Any], rows_sql: str,
               params: Sequence[Any], keys: pa.Table, dlq: bool) -> int:
    """Write the job and its planned records (inside the caller's transaction); how many.

    `keys` maps (key, partitions) -> partition for every distinct key (key mode)."""
    targets = pa.table({"src": list(plan.targets), "target": list(plan.targets.values()),
                        "partitions": [plan.target_partitions[t] for t in plan.targets.values()]})
    db.register(cur, _TARGETS, targets)
    db.register(cur, _KEYS, keys)
    src = "r.dest" if dlq else "coalesce(r.src_topic, '')"
    if plan.partitioning == BY_PARTITION:
        part = ("CASE WHEN r.src_partition IS NOT NULL THEN r.src_partition % t.partitions "
                "ELSE CAST(r.n % t.partitions AS INTEGER) END")
    else:
        part = "coalesce(k.partition, CAST(r.n % t.partitions AS INTEGER))"
    try:
        cur.execute(
            "INSERT INTO republish_jobs (job_id, actor, reason, selection, plan, planned, status) "
            "VALUES (?, ?, ?, ?, ?, ?, 'planned')",
            [plan.job_id, plan.actor, plan.reason, json.dumps(selection, default=str),
             json.dumps(plan.to_dict()), plan.count])
        inserted = db.rows(
            cur, "INSERT INTO republish_log (job_id, n, origin, source, src_topic, src_partition, "
                 "src_offset, event_id, bytes, target_topic, target_partition, status) "
                 f"SELECT ?, row_number() OVER (ORDER BY r.n) - 1, r.origin, r.source, "
                 "r.src_topic, r.src_partition, r.src_offset, r.event_id, r.bytes, t.target, "
                 f"{part}, 'unsent' FROM ({rows_sql}) r JOIN {_TARGETS} t ON t.src = {src} "
                 f"LEFT JOIN {_KEYS} k ON k.key = r.key AND k.partitions = t.partitions",
            [plan.job_id, *params])[0][0]
    finally:
        db.unregister(cur, _TARGETS)
        db.unregister(cur, _KEYS)
    return int(inserted)


def counts(cur: db.Connection, job_id: str) -> Counts:
    """The job's records by status."""
    by = dict(db.rows(cur, "SELECT status, count(*) FROM republish_log WHERE job_id = ? "
                           "GROUP BY ALL", [job_id]))
    return Counts(planned=sum(by.values()), sent=by.get(ACKED, 0), failed=by.get(FAILED, 0),
                  unknown=by.get(UNKNOWN, 0), unsent=by.get(UNSENT, 0), lost=by.get(LOST, 0))


def job(cur: db.Connection, job_id: str) -> JobRow | None:
    """One job, None when unknown."""
    found = db.rows(cur, "SELECT job_id, created_at, actor, reason, selection, plan, planned, "
                         "status, updated_at FROM republish_jobs WHERE job_id = ?", [job_id])
    if not found:
        return None
    j, created, actor, reason, sel, plan, planned, status, updated = found[0]
    return JobRow(j, created, actor, reason, json.loads(sel), Plan.from_dict(json.loads(plan)),
                  int(planned), status, updated)


def jobs(cur: db.Connection, limit: int = 50) -> pa.Table:
    """The newest jobs with their counts."""
    return db.arrow(cur, """
        SELECT j.job_id, j.created_at, j.actor, j.status, j.planned,
               count(*) FILTER (WHERE l.status = 'acked') AS sent,
               count(*) FILTER (WHERE l.status = 'failed') AS failed,
               count(*) FILTER (WHERE l.status = 'unknown') AS unknown,
               count(*) FILTER (WHERE l.status = 'unsent') AS unsent,
               count(*) FILTER (WHERE l.status = 'lost') AS lost,
               string_agg(DISTINCT l.target_topic, ', ') AS targets, j.reason, j.updated_at
        FROM republish_jobs j LEFT JOIN republish_log l USING (job_id)
        GROUP BY ALL ORDER BY j.created_at DESC LIMIT ?""", [limit])


def set_status(cur: db.Connection, job_id: str, status: str) -> None:
    """Set a job's status (planned, running, done, partial, cancelled, lost)."""
    cur.execute("UPDATE republish_jobs SET status = ?, updated_at = now() WHERE job_id = ?",
                [status, job_id])


def mark_range(cur: db.Connection, job_id: str, first: int, last: int, status: str,
               only: Sequence[str] = (UNSENT, FAILED)) -> None:
    """Set the status of records first..last whose status is in `only` (the write-ahead)."""
    marks = ", ".join("?" * len(only))
    cur.execute(f"UPDATE republish_log SET status = ?, error = NULL, updated_at = now() "
                f"WHERE job_id = ? AND n BETWEEN ? AND ? AND status IN ({marks})",
                [status, job_id, first, last, *only])


def write_outcomes(cur: db.Connection, job_id: str, ns: Sequence[int], statuses: Sequence[str],
                   partitions: Sequence[int | None], offsets: Sequence[int | None],
                   errors: Sequence[str | None]) -> None:
    """Store each record's outcome."""
    if not ns:
        return
    table = pa.table({"n": pa.array(ns, pa.int64()), "status": pa.array(statuses, pa.string()),
                      "p": pa.array(partitions, pa.int32()), "o": pa.array(offsets, pa.int64()),
                      "error": pa.array(errors, pa.string())})
    db.register(cur, _OUT, table)
    try:
        cur.execute(f"UPDATE republish_log SET status = u.status, \"partition\" = u.p, "
                    f"\"offset\" = u.o, error = u.error, updated_at = now() FROM {_OUT} u "
                    "WHERE republish_log.job_id = ? AND republish_log.n = u.n", [job_id])
    finally:
        db.unregister(cur, _OUT)


def unknown_rows(cur: db.Connection, job_id: str) -> list[tuple]:
    """(n, target_topic, src_topic, src_partition, src_offset, event_id) of unknown records."""
    return db.rows(cur, "SELECT n, target_topic, src_topic, src_partition, src_offset, event_id "
                        "FROM republish_log WHERE job_id = ? AND status = 'unknown' ORDER BY n",
                   [job_id])


def acked_rows(cur: db.Connection, job_id: str) -> list[tuple]:
    """(n, target_topic, partition, offset, src_topic, src_partition, src_offset, event_id)
    of every acknowledged record, in plan order."""
    return db.rows(cur, "SELECT n, target_topic, \"partition\", \"offset\", src_topic, "
                        "src_partition, src_offset, event_id FROM republish_log WHERE "
                        "job_id = ? AND status = 'acked' ORDER BY n", [job_id])


def acked_firsts(cur: db.Connection, job_id: str) -> dict[str, dict[int, tuple[int, int]]]:
    """Per target topic and partition: the smallest acknowledged offset and how many records
    were acknowledged there."""
    out: dict[str, dict[int, tuple[int, int]]] = {}
    for topic, part, first, n in db.rows(
            cur, "SELECT target_topic, \"partition\", min(\"offset\"), count(*) FROM "
                 "republish_log WHERE job_id = ? AND status = 'acked' GROUP BY ALL", [job_id]):
        out.setdefault(topic, {})[int(part)] = (int(first), int(n))
    return out


_FOUND = "__rp_found"


def unmatched_acked(cur: db.Connection, job_id: str, topic: str, found: pa.Table | None
                    ) -> list[tuple[int, int, int]]:
    """(n, partition, offset) of the job's acknowledged records in `topic` that `found` (the
    target read back: partition, offset, then the `plan.IDENTITY` header texts) does not hold
    at their acknowledged place with their identity (`plan.identity`), in plan order; every
    one when `found` is None."""
    sql = ("SELECT l.n, l.\"partition\", l.\"offset\" FROM republish_log l {join} WHERE "
           "l.job_id = ? AND l.status = 'acked' AND l.target_topic = ?{cond} ORDER BY l.n")
    if found is None:
        return db.rows(cur, sql.format(join="", cond=""), [job_id, topic])
    db.register(cur, _FOUND, found.rename_columns(["p", "o", "i0", "i1", "i2", "i3"]))
    try:
        return db.rows(cur, sql.format(
            join=f"LEFT JOIN {_FOUND} f ON f.p = l.\"partition\" AND f.o = l.\"offset\"",
            cond=" AND NOT coalesce(f.i0 = coalesce(l.src_topic, '') AND f.i1 = "
                 "coalesce(CAST(l.src_partition AS VARCHAR), '') AND f.i2 = "
                 "CAST(l.src_offset AS VARCHAR) AND f.i3 = coalesce(l.event_id, ''), false)"),
            [job_id, topic])
    finally:
        db.unregister(cur, _FOUND)


def acked_positions(cur: db.Connection, job_id: str) -> set[tuple[str, int, int]]:
    """(target topic, partition, offset) of every acknowledged record."""
    return {(t, int(p), int(o)) for t, p, o in db.rows(
        cur, "SELECT target_topic, \"partition\", \"offset\" FROM republish_log WHERE "
             "job_id = ? AND status = 'acked'", [job_id])}


def by_target(cur: db.Connection, job_id: str) -> pa.Table:
    """Planned records per target partition: count, bytes."""
    return db.arrow(cur, "SELECT target_topic, target_partition, count(*) AS records, "
                         "CAST(sum(bytes) AS BIGINT) AS bytes FROM republish_log WHERE job_id = ? "
                         "GROUP BY ALL ORDER BY ALL", [job_id])


def records(cur: db.Connection, job_id: str, limit: int = 10_000, status: str | None = None
            ) -> pa.Table:
    """The job's records in plan order (no payloads): source position, target, outcome."""
    where, params = ("AND status = ?", [status]) if status else ("", [])
    return db.arrow(cur, "SELECT n, origin, src_topic, src_partition, src_offset, event_id, "
                         "bytes, target_topic, target_partition, status, \"partition\", "
                         f"\"offset\", error FROM republish_log WHERE job_id = ? {where} "
                         "ORDER BY n LIMIT ?", [job_id, *params, limit])


def copy_job(cur: db.Connection, old: str, plan: Plan, selection: Mapping[str, Any]) -> int:
    """A new job with the same planned records as `old` (send again); how many."""
    cur.execute(
        "INSERT INTO republish_jobs (job_id, actor, reason, selection, plan, planned, status) "
        "VALUES (?, ?, ?, ?, ?, ?, 'planned')",
        [plan.job_id, plan.actor, plan.reason, json.dumps(selection, default=str),
         json.dumps(plan.to_dict()), plan.count])
    return int(db.rows(
        cur, "INSERT INTO republish_log (job_id, n, origin, source, src_topic, src_partition, "
             "src_offset, event_id, bytes, target_topic, target_partition, status) SELECT ?, n, "
             "origin, source, src_topic, src_partition, src_offset, event_id, bytes, "
             "target_topic, target_partition, 'unsent' FROM republish_log WHERE job_id = ?",
        [plan.job_id, old])[0][0])
