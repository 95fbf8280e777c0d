"""Explore queries: filters to bound SQL (pure), and the page, chart and detail queries.

`build_where` is pure and returns `(clauses, params)`; tests assert its exact SQL. Every
query aggregates inside DuckDB and returns at most a page of rows or a small summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from eventlab.errors import EventLabError
from eventlab.store import db
from eventlab.store.sql import prefix_upper_bound

PAGE_SIZE = 100
JSON_OPS = ("=", "!=", "<", "<=", ">", ">=", "contains", "exists", "missing")
_PATH_RE = re.compile(r"^\$(\.[A-Za-z_][\w-]*|\.\"[^\"]+\"|\[\d+\])+$")
_PAGE_COLUMNS = ('ts, entity_type, entity_id, seq, event_type, event_version, event_id, '
                 'is_delete, "offset" AS "offset", topic, "partition"')
_BUCKETS = (("1 second", 1), ("10 seconds", 10), ("1 minute", 60), ("5 minutes", 300),
            ("15 minutes", 900), ("1 hour", 3600), ("6 hours", 21600), ("1 day", 86400),
            ("7 days", 604800), ("30 days", 2592000))


class FilterError(EventLabError):
    """A filter value cannot be used (bad JSON path, unknown operator)."""


@dataclass(frozen=True)
class Filters:
    """What the user filters the events by. Empty values mean 'no filter'."""

    start: datetime | None = None
    end: datetime | None = None
    event_types: tuple[str, ...] = ()
    entity_type: str | None = None
    entity_prefix: str | None = None
    text: str | None = None
    json_path: str | None = None
    json_op: str = "="
    json_value: str | None = None


@dataclass(frozen=True)
class EventKey:
    """Identifies one stored event: its entity, seq and source position (ids can repeat)."""

    entity_id: str
    seq: int
    offset: int

    def to_param(self) -> str:
        """Compact form for the URL."""
        return f"{self.offset}~{self.seq}~{self.entity_id}"

    @staticmethod
    def from_param(value: str) -> EventKey | None:
        """Parse `to_param`'s form; None when malformed."""
        parts = value.split("~", 2)
        if len(parts) != 3:
            return None
        try:
            return EventKey(parts[2], int(parts[1]), int(parts[0]))
        except ValueError:
            return None


def normalize_path(path: str) -> str:
    """Accept `a.b`, `$.a.b` or `$.a[0]`; return the `$` form or raise FilterError."""
    p = path.strip()
    if not p.startswith("$"):
        p = "$." + p
    if not _PATH_RE.match(p):
        raise FilterError(f"JSON path {path!r} is not understood: use a.b, $.a.b or $.items[0]")
    return p


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def build_where(f: Filters) -> tuple[list[str], list[Any]]:
    """Filters to WHERE clauses with bound parameters (no value is ever put in the SQL)."""
    clauses: list[str] = []
    params: list[Any] = []
    if f.start is not None:
        clauses.append("ts >= ?")
        params.append(f.start)
    if f.end is not None:
        clauses.append("ts <= ?")
        params.append(f.end)
    if f.event_types:
        clauses.append("list_contains(?, event_type)")
        params.append(list(f.event_types))
    if f.entity_type:
        clauses.append("entity_type = ?")
        params.append(f.entity_type)
    if f.entity_prefix:
        clauses.append("entity_id >= ? AND entity_id < ?")
        params += [f.entity_prefix, prefix_upper_bound(f.entity_prefix)]
    if f.text:
        clauses.append("contains(lower(CAST(payload AS VARCHAR)), ?)")
        params.append(f.text.lower())
    if f.json_path:
        path = normalize_path(f.json_path)
        op = f.json_op
        if op not in JSON_OPS:
            raise FilterError(f"operator {op!r} is not one of {', '.join(JSON_OPS)}")
        if op == "exists":
            clauses.append("json_exists(payload, ?)")
            params.append(path)
        elif op == "missing":
            clauses.append("NOT coalesce(json_exists(payload, ?), false)")
            params.append(path)
        elif op == "contains":
            clauses.append("contains(lower(json_extract_string(payload, ?)), ?)")
            params += [path, (f.json_value or "").lower()]
        else:
            value = f.json_value or ""
            num = _number(value)
            if num is not None and op != "=" and op != "!=":
                clauses.append(f"TRY_CAST(json_extract_string(payload, ?) AS DOUBLE) {op} ?")
                params += [path, num]
            elif num is not None:
                # Equal as text or as a number ("120" matches 120 and 120.0); != is its
                # negation, and a missing field matches neither.
                equal = ("(json_extract_string(payload, ?) = ? OR "
                         "TRY_CAST(json_extract_string(payload, ?) AS DOUBLE) = ?)")
                if op == "!=":
                    equal = ("NOT (json_extract_string(payload, ?) = ? OR coalesce(TRY_CAST("
                             "json_extract_string(payload, ?) AS DOUBLE) = ?, false))")
                clauses.append(equal)
                params += [path, value, path, num]
            else:
                clauses.append(f"json_extract_string(payload, ?) {op} ?")
                params += [path, value]
    return clauses, params


def _where_sql(clauses: list[str]) -> str:
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


@dataclass
class Page:
    """One page of events plus the total count of the filtered set."""

    rows: pa.Table
    total: int
    page: int
    pages: int


def page(con: db.Connection, f: Filters, page_no: int = 0,
         page_size: int = PAGE_SIZE) -> Page:
    """The `page_no`-th page (0-based) of filtered events, sorted by time."""
    clauses, params = build_where(f)
    where = _where_sql(clauses)
    total = db.scalar(con, f"SELECT count(*) FROM events{where}", params)
    pages = max(1, -(-total // page_size))
    page_no = min(max(0, page_no), pages - 1)
    rows = db.arrow(con, f"SELECT {_PAGE_COLUMNS} FROM events{where} "
                         f"ORDER BY ts, entity_id, seq, \"offset\" LIMIT ? OFFSET ?",
                    [*params, page_size, page_no * page_size])
    return Page(rows, total, page_no, pages)


def bucket_for(span: timedelta, target: int = 120) -> str:
    """A time bucket that gives about `target` bars over `span`."""
    seconds = max(span.total_seconds(), 1)
    for name, width in _BUCKETS:
        if seconds / width <= target:
            return name
    return _BUCKETS[-1][0]


def counts_over_time(con: db.Connection, f: Filters,
                     bucket: str | None = None) -> tuple[pa.Table, str]:
    """Event counts per time bucket and type for the filtered set; returns (table, bucket)."""
    clauses, params = build_where(f)
    where = _where_sql(clauses)
    if bucket is None:
        lo, hi = db.rows(con, f"SELECT min(ts), max(ts) FROM events{where}", params)[0]
        bucket = bucket_for((hi - lo) if lo and hi else timedelta(0))
    if bucket not in {b for b, _ in _BUCKETS}:
        raise FilterError(f"unknown bucket {bucket!r}")
    table = db.arrow(con, f"SELECT time_bucket(INTERVAL '{bucket}', ts) AS bucket, "
                          f"event_type, count(*) AS events FROM events{where} "
                          f"GROUP BY ALL ORDER BY bucket, event_type", params)
    return table, bucket


@dataclass
class Facets:
    """Values for the filter widgets."""

    event_types: list[str]
    entity_types: list[str]
    first_ts: datetime | None
    last_ts: datetime | None


def facets(con: db.Connection) -> Facets:
    """Distinct event and entity types and the time span (small results)."""
    types = [r[0] for r in db.rows(con, "SELECT DISTINCT event_type FROM events ORDER BY 1")]
    ents = [r[0] for r in db.rows(con, "SELECT DISTINCT entity_type FROM events ORDER BY 1")]
    lo, hi = db.rows(con, "SELECT min(ts), max(ts) FROM events")[0]
    return Facets(types, ents, lo, hi)


def entity_ids(con: db.Connection, prefix: str, limit: int = 20) -> list[str]:
    """Entity ids starting with `prefix` (for pickers)."""
    if not prefix:
        return [r[0] for r in db.rows(
            con, "SELECT DISTINCT entity_id FROM events ORDER BY 1 LIMIT ?", [limit])]
    return [r[0] for r in db.rows(
        con, "SELECT DISTINCT entity_id FROM events WHERE entity_id >= ? AND entity_id < ? "
             "ORDER BY 1 LIMIT ?", [prefix, prefix_upper_bound(prefix), limit])]


def entity_events(con: db.Connection, entity_id: str) -> pa.Table:
    """Every event of one entity in stream order (uses the entity clustering).

    A bare `entity_id = ?` scan reads only the row groups whose zone maps can hold the id;
    the few rows are then ordered in Arrow, cheaper than a sort operator in the query.
    """
    table = db.arrow(con, "SELECT * FROM events WHERE entity_id = ?", [entity_id])
    return table.sort_by([("seq", "ascending"), ("ts", "ascending"), ("offset", "ascending")])


@dataclass
class EventDetail:
    """One event with its neighbours in the same entity's stream."""

    event: dict[str, Any]
    previous: EventKey | None
    next: EventKey | None
    position: int
    count: int


def event_detail(con: db.Connection, key: EventKey) -> EventDetail | None:
    """The event at `key` and the keys of the previous and next event of its entity."""
    rows = db.arrow(
        con, "WITH e AS MATERIALIZED (SELECT * FROM events WHERE entity_id = ?), "
             "w AS (SELECT *, row_number() OVER o - 1 AS __pos, count(*) OVER () AS __n, "
             "lag(seq) OVER o AS __pseq, lag(\"offset\") OVER o AS __poff, "
             "lead(seq) OVER o AS __nseq, lead(\"offset\") OVER o AS __noff FROM e "
             "WINDOW o AS (ORDER BY seq, ts, \"offset\")) "
             "SELECT * FROM w WHERE seq = ? AND \"offset\" = ? LIMIT 1",
        [key.entity_id, key.seq, key.offset]).to_pylist()
    if not rows:
        return None
    row = rows[0]
    prev = (EventKey(key.entity_id, row["__pseq"], row["__poff"])
            if row["__pseq"] is not None else None)
    nxt = (EventKey(key.entity_id, row["__nseq"], row["__noff"])
           if row["__nseq"] is not None else None)
    event = {k: v for k, v in row.items() if not k.startswith("__")}
    return EventDetail(event, prev, nxt, row["__pos"], row["__n"])


def show_bytes(value: bytes | None, limit: int = 200) -> str | None:
    """Bytes as text when they are UTF-8, else as hex; long values cut with their size."""
    if value is None:
        return None
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = "0x" + value.hex()
    if len(text) > limit:
        return f"{text[:limit]}… ({len(value):,} bytes)"
    return text


def headers_for_display(headers: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Kafka headers (key, raw bytes) as key / text-or-hex pairs; null values stay null."""
    return [{"key": h["key"], "value": show_bytes(h["value"])} for h in headers or []]


def quarantine_summary(con: db.Connection) -> pa.Table:
    """Quarantined rows counted by reason and source."""
    return db.arrow(con, "SELECT reason, source, count(*) AS rows FROM quarantine "
                         "GROUP BY ALL ORDER BY rows DESC, reason")


def quarantine_rows(con: db.Connection, reason: str | None = None,
                    limit: int = 200) -> pa.Table:
    """Quarantined rows (newest first), with a text preview of the raw bytes."""
    where, params = ("WHERE reason = ?", [reason]) if reason else ("", [])
    return db.arrow(con, f"SELECT reason, detail, source, topic, \"partition\", \"offset\", "
                         f"octet_length(raw) AS raw_bytes, "
                         f"left(coalesce(TRY(decode(raw)), hex(raw)), 300) AS raw_preview, "
                         f"quarantined_at FROM quarantine {where} "
                         f"ORDER BY quarantined_at DESC, source, \"offset\" LIMIT ?",
                    [*params, limit])
