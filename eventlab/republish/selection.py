"""What to republish: a selection of stored events or quarantined records, and its summary.

A `Selection` is one of: a read-only query returning `event_id` or (`topic`, `partition`,
`offset`) (run through the SQL console's sandbox, `eventlab.store.sandbox`, with bound
parameters); one entity between two seq positions; explicit event ids; every stored record
of a dead-letter topic (its events and its quarantined records: load the topic first); or
quarantined rows. `source_sql` turns it into one SQL relation of source rows (pure: SQL text
and bound parameters); `summarize` counts them in DuckDB before anything else happens.

Send order (docs/safety.md, item 27): Kafka records by (topic, partition, offset), so each
key keeps the order it had in its source partition; events loaded from files by
(entity id, seq); quarantined file rows by (file, row).

Events loaded from files have no Kafka bytes; they are sent as their canonical JSON: one
compact object `{"event_id", "entity_type", "entity_id", "event_type", "event_version",
"seq", "ts", "payload", "metadata", "is_delete"}` in that order (`ts` ISO 8601 UTC with
microseconds, `payload`/`metadata` as JSON values), keyed by the entity id (UTF-8).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eventlab.errors import EventLabError, SqlRefused
from eventlab.store import db, sandbox

SELECTED = "__rp_selected"
"""The name a query selection's result is registered under while it is resolved."""
KINDS = ("sql", "entity", "ids", "dlq", "quarantine")
_SHOWN_IDS = 20

CANONICAL_JSON_SQL = (
    "CAST(json_object('event_id', e.event_id, 'entity_type', e.entity_type, 'entity_id', "
    "e.entity_id, 'event_type', e.event_type, 'event_version', e.event_version, 'seq', e.seq, "
    "'ts', strftime(e.ts, '%Y-%m-%dT%H:%M:%S.%fZ'), 'payload', e.payload, 'metadata', "
    "e.metadata, 'is_delete', e.is_delete) AS VARCHAR)")
"""The canonical JSON of a file event (see the module docstring), over alias `e`."""
_HEADER_BYTES = ("coalesce(list_sum(list_transform({h}, lambda x: strlen(x.key) + "
                 "coalesce(octet_length(x.value), 0))), 0)")


class SelectionError(EventLabError):
    """A selection cannot be resolved (bad query, nothing selected, over the cap)."""


@dataclass(frozen=True)
class Selection:
    """What to republish (see the module); build one with the class methods."""

    kind: str
    sql: str | None = None
    params: tuple[Any, ...] = ()
    entity_id: str | None = None
    from_seq: int | None = None
    to_seq: int | None = None
    event_ids: tuple[str, ...] = ()
    topic: str | None = None
    rows: tuple[tuple[str, str | None, int | None, int], ...] = ()
    reason: str | None = None
    label: str = ""
    words: str = ""
    """A query selection in words for people (Explore's filters), shown instead of its SQL."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SelectionError(f"unknown selection kind {self.kind!r}: use one of "
                                 f"{', '.join(KINDS)}")

    @classmethod
    def query(cls, sql: str, params: Sequence[Any] = (), label: str = "",
              words: str = "") -> Selection:
        """A read-only query returning `event_id`, or `topic`, `partition` and `offset`;
        `words` says what it selects, for people (else they are shown the SQL)."""
        return cls("sql", sql=sql, params=tuple(params), label=label or "SQL query",
                   words=words)

    @classmethod
    def entity(cls, entity_id: str, from_seq: int | None = None, to_seq: int | None = None,
               label: str = "") -> Selection:
        """One entity's events with from_seq <= seq <= to_seq (either end open)."""
        return cls("entity", entity_id=entity_id, from_seq=from_seq, to_seq=to_seq,
                   label=label or "entity")

    @classmethod
    def ids(cls, event_ids: Sequence[str], label: str = "") -> Selection:
        """Explicit event ids (every stored copy of a duplicated id is selected)."""
        clean = tuple(dict.fromkeys(i.strip() for i in event_ids if i and i.strip()))
        return cls("ids", event_ids=clean, label=label or "event ids")

    @classmethod
    def dlq(cls, topic: str, label: str = "") -> Selection:
        """Every stored record (events and quarantined records) of a dead-letter topic."""
        return cls("dlq", topic=topic, label=label or "dead-letter topic")

    @classmethod
    def quarantine(cls, rows: Sequence[tuple[str, str | None, int | None, int]] = (),
                   reason: str | None = None, label: str = "") -> Selection:
        """Quarantined records: the listed (source, topic, partition, offset) rows, else
        every row (of one reason, if given)."""
        return cls("quarantine", rows=tuple((str(s), t, None if p is None else int(p), int(o))
                                            for s, t, p, o in rows),
                   reason=reason, label=label or "quarantine")

    def describe(self) -> dict[str, Any]:
        """JSON-friendly description for the ledger, the audit log and the page (no payloads;
        long id lists shortened)."""
        out: dict[str, Any] = {"kind": self.kind, "label": self.label}
        if self.kind == "sql":
            out.update(sql=self.sql, params=[str(p) for p in self.params])
            if self.words:
                out["words"] = self.words
        elif self.kind == "entity":
            out.update(entity_id=self.entity_id, from_seq=self.from_seq, to_seq=self.to_seq)
        elif self.kind == "ids":
            out.update(ids=list(self.event_ids[:_SHOWN_IDS]), id_count=len(self.event_ids))
        elif self.kind == "dlq":
            out.update(topic=self.topic)
        else:
            out.update(rows=[list(r) for r in self.rows[:_SHOWN_IDS]], row_count=len(self.rows),
                       reason=self.reason)
        return out

    def text(self) -> str:
        """One line for people."""
        d = self.describe()
        if self.kind == "sql":
            return f"{self.label}: {self.words or self.sql}"
        if self.kind == "entity":
            lo = "start" if self.from_seq is None else f"seq {self.from_seq}"
            hi = "end" if self.to_seq is None else f"seq {self.to_seq}"
            return f"{self.label}: entity {self.entity_id}, {lo} to {hi}"
        if self.kind == "ids":
            return f"{self.label}: {d['id_count']:,} event id(s)"
        if self.kind == "dlq":
            return f"{self.label}: dead-letter topic {self.topic}"
        what = f"{len(self.rows):,} row(s)" if self.rows else "every row"
        return f"{self.label}: quarantine, {what}" + (f" ({self.reason})" if self.reason else "")


# -- SQL (pure) ---------------------------------------------------------------------------------

def _event_filter(sel: Selection, by: str | None) -> tuple[str, list[Any]] | None:
    """WHERE over `events e` for the selection (None: it selects no events)."""
    if sel.kind == "entity":
        where, params = ["e.entity_id = ?"], [sel.entity_id]
        if sel.from_seq is not None:
            where.append("e.seq >= ?")
            params.append(int(sel.from_seq))
        if sel.to_seq is not None:
            where.append("e.seq <= ?")
            params.append(int(sel.to_seq))
        return " AND ".join(where), params
    if sel.kind == "ids":
        return "e.event_id IN (SELECT unnest(?::VARCHAR[]))", [list(sel.event_ids)]
    if sel.kind == "dlq":
        return "e.topic = ?", [sel.topic]
    if sel.kind == "sql":
        if by == "position":
            return (f"EXISTS (SELECT 1 FROM {SELECTED} s WHERE s.topic = e.topic AND "
                    "s.\"partition\" IS NOT DISTINCT FROM e.\"partition\" AND "  # SQS: none
                    "s.\"offset\" = e.\"offset\")"), []
        return f"e.event_id IN (SELECT event_id FROM {SELECTED})", []
    return None


def _quarantine_filter(sel: Selection) -> tuple[str, list[Any]] | None:
    if sel.kind == "dlq":
        return "q.topic = ?", [sel.topic]
    if sel.kind != "quarantine":
        return None
    if sel.rows:
        return ("EXISTS (SELECT 1 FROM (SELECT unnest(?::VARCHAR[][]) AS r) WHERE "
                "r[1] = q.source AND r[2] = coalesce(q.topic, '') AND CAST(r[3] AS INTEGER) = "
                "coalesce(q.\"partition\", -1) AND CAST(r[4] AS BIGINT) = q.\"offset\")",
                [[[s, t or "", str(-1 if p is None else p), str(o)] for s, t, p, o in sel.rows]])
    if sel.reason:
        return "q.reason = ?", [sel.reason]
    return "true", []


QUARANTINED_FILE_ROW_ID = ("CASE WHEN q.topic IS NULL THEN 'quarantine-' || "
                           "md5(q.source || ':' || coalesce(q.\"offset\", -1)) END")
"""The identity a quarantined file row carries when republished (its `eventlab-original-event-id`
header): rows have no event id and no topic, so row N of two files would otherwise look the
same to settling; this names the file and the row."""


def source_sql(sel: Selection, by: str | None = None,
               dlq_header: str = "kafka_dlt-original-topic") -> tuple[str, list[Any]]:
    """One relation of the selected source rows, in send order, and its parameters.

    Columns: n (0-based send order), origin, source, src_topic, src_partition, src_offset,
    event_id, from_file, tombstone, key, bytes, dest (the DLQ header's topic, DLQ only).
    `by` is how a query selection's result is matched: "event_id" or "position".
    """
    parts: list[str] = []
    params: list[Any] = []
    dest = ("TRY(decode(list_filter({h}, lambda x: x.key = ?)[1].value))" if sel.kind == "dlq"
            else "CAST(NULL AS VARCHAR)")
    ev = _event_filter(sel, by)
    if ev is not None:
        value = f"CASE WHEN e.topic IS NULL THEN encode({CANONICAL_JSON_SQL}) ELSE e.value END"
        parts.append(
            "SELECT 'event' AS origin, e.source, e.topic AS src_topic, e.\"partition\" AS "
            "src_partition, e.\"offset\" AS src_offset, e.event_id, e.topic IS NULL AS from_file, "
            "(e.topic IS NOT NULL AND e.value IS NULL) AS tombstone, "
            "CASE WHEN e.topic IS NULL THEN encode(e.entity_id) ELSE e.key END AS key, "
            f"coalesce(octet_length(CASE WHEN e.topic IS NULL THEN encode(e.entity_id) ELSE e.key "
            f"END), 0) + coalesce(octet_length({value}), 0) + "
            f"{_HEADER_BYTES.format(h='e.headers')} AS bytes, "
            f"{dest.format(h='e.headers')} AS dest, "
            "CASE WHEN e.topic IS NULL THEN e.entity_id END AS sort_entity, "
            "CASE WHEN e.topic IS NULL THEN e.seq END AS sort_seq "
            f"FROM events e WHERE {ev[0]}")
        if sel.kind == "dlq":
            params.append(dlq_header)
        params.extend(ev[1])
    qf = _quarantine_filter(sel)
    if qf is not None:
        parts.append(
            "SELECT 'quarantine' AS origin, q.source, q.topic AS src_topic, q.\"partition\" AS "
            "src_partition, coalesce(q.\"offset\", -1) AS src_offset, "
            f"{QUARANTINED_FILE_ROW_ID} AS event_id, q.topic IS NULL AS from_file, "
            "(q.topic IS NOT NULL AND q.raw IS NULL) AS tombstone, q.key, "
            "coalesce(octet_length(q.key), 0) + coalesce(octet_length(q.raw), 0) + "
            f"{_HEADER_BYTES.format(h='q.headers')} AS bytes, "
            f"{dest.format(h='q.headers')} AS dest, CAST(NULL AS VARCHAR) AS sort_entity, "
            "CAST(NULL AS BIGINT) AS sort_seq "
            f"FROM quarantine q WHERE {qf[0]}")
        if sel.kind == "dlq":
            params.append(dlq_header)
        params.extend(qf[1])
    order = ("src_topic NULLS LAST, src_partition NULLS LAST, sort_entity NULLS LAST, "
             "sort_seq NULLS LAST, source, src_offset, origin")
    sql = (f"SELECT row_number() OVER (ORDER BY {order}) - 1 AS n, * EXCLUDE (sort_entity, "
           f"sort_seq) FROM ({' UNION ALL '.join(parts)})")
    return sql, params


# -- resolving (I/O on a cursor) ------------------------------------------------------------------

def prepare(cur: db.Connection, sel: Selection, max_rows: int) -> str | None:
    """Run a query selection through the sandbox and register its result as `SELECTED` on
    `cur`; returns how it matches ("event_id" or "position"). None for other kinds."""
    if sel.kind != "sql":
        return None
    if not sel.sql:
        raise SelectionError("the selection query is empty: write a SELECT returning event_id "
                             "or topic, partition, offset")
    try:
        result = sandbox.run_sql(cur, sel.sql, params=list(sel.params), max_rows=max_rows,
                                 timeout_s=30.0)
    except SqlRefused as exc:
        raise SelectionError(f"the selection query was refused: {exc}") from exc
    if result.truncated_by == "bytes":
        raise SelectionError(f"the selection query's result is too big: {result.notice} "
                             "Return only event_id, or topic, partition and offset")
    if result.truncated:
        raise SelectionError(f"the selection query returns more than {max_rows:,} rows (the "
                             "republish cap, EVENTLAB_REPUBLISH_MAX_RECORDS): narrow it")
    cols = set(result.columns)
    if {"topic", "partition", "offset"} <= cols:
        table, by = result.table.select(["topic", "partition", "offset"]), "position"
    elif "event_id" in cols:
        table, by = result.table.select(["event_id"]), "event_id"
    else:
        raise SelectionError("the selection query must return an event_id column, or topic, "
                             f"partition and offset (it returns {', '.join(result.columns)})")
    db.register(cur, SELECTED, table)
    return by


def release(cur: db.Connection) -> None:
    """Unregister a query selection's result (safe when none is registered)."""
    with contextlib.suppress(db.DuckError):
        db.unregister(cur, SELECTED)


@dataclass(frozen=True)
class PartitionRange:
    """Selected records of one source partition (topic None: loaded from files)."""

    topic: str | None
    partition: int | None
    count: int
    bytes: int
    first_offset: int
    last_offset: int
    tombstones: int


@dataclass(frozen=True)
class Summary:
    """What a selection holds, shown before anything else happens (docs/safety.md, item 23)."""

    count: int
    bytes: int
    tombstones: int
    from_files: int
    quarantined: int
    ranges: tuple[PartitionRange, ...] = ()
    destinations: dict[str, int] = field(default_factory=dict)
    no_destination: int = 0

    @property
    def topics(self) -> list[str]:
        """Source topics, sorted."""
        return sorted({r.topic for r in self.ranges if r.topic is not None})

    @property
    def partitions(self) -> dict[str, list[int]]:
        """Source partitions per topic."""
        out: dict[str, list[int]] = {}
        for r in self.ranges:
            if r.topic is not None and r.partition is not None:
                out.setdefault(r.topic, []).append(r.partition)
        return {t: sorted(ps) for t, ps in out.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (CLI, page, audit)."""
        return {"count": self.count, "bytes": self.bytes, "tombstones": self.tombstones,
                "from_files": self.from_files, "quarantined": self.quarantined,
                "topics": self.topics, "destinations": dict(self.destinations),
                "no_destination": self.no_destination,
                "ranges": [{"topic": r.topic, "partition": r.partition, "count": r.count,
                            "bytes": r.bytes, "first_offset": r.first_offset,
                            "last_offset": r.last_offset} for r in self.ranges]}


def summary_of(cur: db.Connection, rows_sql: str, params: list[Any], dlq: bool = False
               ) -> Summary:
    """Count a source relation (from `source_sql`) in DuckDB (`dlq`: count destinations)."""
    groups = db.rows(
        cur, "SELECT src_topic, src_partition, count(*), sum(bytes), min(src_offset), "
             "max(src_offset), count(*) FILTER (WHERE tombstone), count(*) FILTER "
             "(WHERE from_file), count(*) FILTER (WHERE origin = 'quarantine') "
             f"FROM ({rows_sql}) GROUP BY ALL ORDER BY ALL", params)
    dests = db.rows(cur, f"SELECT dest, count(*) FROM ({rows_sql}) GROUP BY ALL ORDER BY ALL",
                    params) if dlq else []
    ranges = tuple(PartitionRange(t, p, int(c), int(b or 0), int(lo), int(hi), int(ts))
                   for t, p, c, b, lo, hi, ts, _, _ in groups)
    return Summary(
        count=sum(r.count for r in ranges), bytes=sum(r.bytes for r in ranges),
        tombstones=sum(r.tombstones for r in ranges), from_files=sum(int(g[7]) for g in groups),
        quarantined=sum(int(g[8]) for g in groups), ranges=ranges,
        destinations={d: int(c) for d, c in dests if d is not None},
        no_destination=sum(int(c) for d, c in dests if d is None))


def summarize(cur: db.Connection, sel: Selection, max_rows: int = 1_000_000,
              dlq_header: str = "kafka_dlt-original-topic") -> Summary:
    """The selection's summary: count, bytes, source topics, partitions, offset ranges."""
    by = prepare(cur, sel, max_rows)
    try:
        sql, params = source_sql(sel, by, dlq_header)
        return summary_of(cur, sql, params, sel.kind == "dlq")
    finally:
        if by is not None:
            release(cur)


def to_json(sel: Selection) -> str:
    """The selection as JSON (session state, URLs)."""
    d = {k: getattr(sel, k) for k in ("kind", "sql", "params", "entity_id", "from_seq",
                                      "to_seq", "event_ids", "topic", "rows", "reason", "label")}
    return json.dumps(d, default=str)


STORED_TOPICS_SQL = ("SELECT DISTINCT topic FROM events WHERE topic IS NOT NULL UNION "
                     "SELECT DISTINCT topic FROM quarantine WHERE topic IS NOT NULL")


def stored_topics(cur: db.Connection) -> set[str]:
    """Topics EventLab has loaded records of: writing into one needs its name typed back
    (republish and produce, docs/safety.md, item 22)."""
    return {t for (t,) in db.rows(cur, STORED_TOPICS_SQL)}
