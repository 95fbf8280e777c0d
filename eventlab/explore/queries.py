"""Explore's queries: a page of filtered events, counts over time, the filter widgets' values,
entity ids and one entity's events. Each aggregates inside DuckDB and returns at most a page
of rows or a small summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from eventlab.explore import search_index
from eventlab.explore.filters import FilterError, Filters, build_where, where_sql
from eventlab.store import db, summaries
from eventlab.store.sql import prefix_upper_bound

PAGE_SIZE = 100
_PAGE_COLUMNS = ('ts, entity_type, entity_id, seq, event_type, event_version, event_id, '
                 "is_delete, CASE WHEN source = 'kafka' THEN 'kafka' ELSE "
                 "regexp_extract(source, '[^/]*$') END AS source, topic, \"partition\", "
                 '"offset" AS "offset", CASE WHEN key IS NULL THEN NULL ELSE coalesce('
                 "TRY(decode(key)), '0x' || lower(hex(key))) END AS key")
_BUCKETS = (("1 second", 1), ("10 seconds", 10), ("1 minute", 60), ("5 minutes", 300),
            ("15 minutes", 900), ("1 hour", 3600), ("6 hours", 21600), ("1 day", 86400),
            ("7 days", 604800), ("30 days", 2592000))


COUNT_CAP = 10_000
"""Where Explore stops counting a filter that reads every payload or metadata (text, JSON
path, correlation and causation ids) unless asked to count all: "at least 10,000"."""


@dataclass
class Page:
    """One page of events plus the count of the filtered set: exact, or (`exact` False) a
    lower bound, where a bounded count stopped (`COUNT_CAP`)."""

    rows: pa.Table
    total: int
    page: int
    pages: int
    exact: bool = True


def reads_json(f: Filters) -> bool:
    """True when the filters read every row's payload or metadata (a full pass each time):
    Explore then pages first and counts bounded (`page`)."""
    return bool(f.text or f.json_complete() or f.correlation_id or f.causation_id)


def page(con: db.Connection, f: Filters, page_no: int = 0,
         page_size: int = PAGE_SIZE, count_all: bool = False,
         count_cap: int | None = None) -> Page:
    """The `page_no`-th page (0-based) of filtered events, sorted by time.

    A filter that reads payloads (`reads_json`) is paged first: the time-ordered scan with a
    LIMIT stops early when matches are common; a short page gives the exact count at once
    (a rare term: one pass, not two), else a count that stops at `COUNT_CAP` (or at the page
    asked for), exact only with `count_all`. Other filters count first, exactly."""
    where, params = _where(con, f)
    page_no = max(0, page_no)
    if count_all or not reads_json(f):
        total = db.scalar(con, f"SELECT count(*) FROM events{where}", params)
        pages = max(1, -(-total // page_size))
        page_no = min(page_no, pages - 1)
        return Page(_rows(con, where, params, page_no, page_size), total, page_no, pages)
    rows = _rows(con, where, params, page_no, page_size)
    if rows.num_rows < page_size and (rows.num_rows or page_no == 0):
        total = page_no * page_size + rows.num_rows
        return Page(rows, total, page_no, page_no + 1)
    cap = max(count_cap or COUNT_CAP, (page_no + 1) * page_size)
    counted = db.scalar(con, f"SELECT count(*) FROM (SELECT 1 FROM events{where} LIMIT ?)",
                        [*params, cap + 1])
    total = min(counted, cap)
    pages = max(1, -(-total // page_size))
    if rows.num_rows == 0 and total:  # asked beyond the end: the last page
        page_no = pages - 1
        rows = _rows(con, where, params, page_no, page_size)
    return Page(rows, total, min(page_no, pages - 1), pages, exact=counted <= cap)


def _where(con: db.Connection, f: Filters) -> tuple[str, list[Any]]:
    """`build_where` of the filters, with a text search narrowed to the blocks of rows that
    may match it when the store's search index is fresh (`explore.search_index`)."""
    clauses, params = build_where(f)
    narrowed = search_index.narrowing(con, f.text) if f.text else None
    if narrowed is not None:
        clauses, params = [*clauses, narrowed[0]], [*params, *narrowed[1]]
    return where_sql(clauses), params


def _rows(con: db.Connection, where: str, params: list[Any], page_no: int,
          page_size: int) -> pa.Table:
    return db.arrow(con, f"SELECT {_PAGE_COLUMNS} FROM events{where} "
                         f"ORDER BY ts, entity_id, seq, \"offset\" LIMIT ? OFFSET ?",
                    [*params, page_size, page_no * page_size])


def bucket_for(span: timedelta, target: int = 120) -> str:
    """A time bucket that gives about `target` bars over `span`."""
    seconds = max(span.total_seconds(), 1)
    for name, width in _BUCKETS:
        if seconds / width <= target:
            return name
    return _BUCKETS[-1][0]


def counts_over_time(con: db.Connection, f: Filters,
                     bucket: str | None = None) -> tuple[pa.Table, str]:
    """Event counts per time bucket and type for the filtered set; returns (table, bucket).

    With no filter but event and entity types, and a bucket of an hour or more, the answer is
    summed from the store's hourly summary (`store.summaries`) when it is fresh: a few
    thousand rows instead of a pass over every event."""
    summed = _summarised(con, f)
    where, params = _where(con, f)
    if bucket is None:
        if summed:
            lo, hi = summaries.span(con, f.event_types, f.entity_type)
        else:
            lo, hi = db.rows(con, f"SELECT min(ts), max(ts) FROM events{where}", params)[0]
        bucket = bucket_for((hi - lo) if lo and hi else timedelta(0))
    if bucket not in {b for b, _ in _BUCKETS}:
        raise FilterError(f"unknown bucket {bucket!r}")
    if summed and dict(_BUCKETS)[bucket] >= _SUMMARY_SECONDS:
        return summaries.counts(con, bucket, f.event_types, f.entity_type), bucket
    table = db.arrow(con, f"SELECT time_bucket(INTERVAL '{bucket}', ts) AS bucket, "
                          f"event_type, count(*) AS events FROM events{where} "
                          f"GROUP BY ALL ORDER BY bucket, event_type", params)
    return table, bucket


_SUMMARY_SECONDS = 3600
"""`summaries.BUCKET` in seconds: coarser chart buckets are sums of summary rows."""


def _summarised(con: db.Connection, f: Filters) -> bool:
    """True when the summaries can answer for `f`: fresh, and `f` filters by types only."""
    return f == Filters(event_types=f.event_types, entity_type=f.entity_type) \
        and summaries.fresh(con)


@dataclass
class Facets:
    """Values for the filter widgets."""

    event_types: list[str]
    entity_types: list[str]
    first_ts: datetime | None
    last_ts: datetime | None


def facets(con: db.Connection) -> Facets:
    """Distinct event and entity types and the time span (small results; from the store's
    summaries when they are fresh)."""
    if summaries.fresh(con):
        types, ents = summaries.type_lists(con)
        lo, hi = summaries.span(con)
        return Facets(types, ents, lo, hi)
    types = [r[0] for r in db.rows(con, "SELECT DISTINCT event_type FROM events ORDER BY 1")]
    ents = [r[0] for r in db.rows(con, "SELECT DISTINCT entity_type FROM events ORDER BY 1")]
    lo, hi = db.rows(con, "SELECT min(ts), max(ts) FROM events")[0]
    return Facets(types, ents, lo, hi)


def entity_ids(con: db.Connection, prefix: str, limit: int = 20) -> list[str]:
    """Entity ids starting with `prefix` (for pickers); from the summaries' entity list when
    it is fresh (each id once already: a top-N, no DISTINCT over every event)."""
    source = "summary_entities" if summaries.fresh(con) else "events"
    ids = f"SELECT entity_id FROM {source}" if source != "events" \
        else "SELECT DISTINCT entity_id FROM events"
    if not prefix:
        return [r[0] for r in db.rows(con, f"{ids} ORDER BY 1 LIMIT ?", [limit])]
    return [r[0] for r in db.rows(
        con, f"{ids} WHERE entity_id >= ? AND entity_id < ? ORDER BY 1 LIMIT ?",
        [prefix, prefix_upper_bound(prefix), limit])]


def entity_events(con: db.Connection, entity_id: str) -> pa.Table:
    """Every event of one entity in stream order (uses the entity clustering).

    A bare `entity_id = ?` scan reads only the row groups whose zone maps can hold the id;
    the few rows are then ordered in Arrow, cheaper than a sort operator in the query.
    """
    table = db.arrow(con, "SELECT * FROM events WHERE entity_id = ?", [entity_id])
    if _seq_increasing(table):  # ingest stores each entity sorted by seq: the usual case
        return table
    return table.sort_by([("seq", "ascending"), ("ts", "ascending"), ("offset", "ascending")])


def _seq_increasing(table: pa.Table) -> bool:
    """True when seq strictly increases down the rows: then they are in the order above
    already (no ties for ts and offset to break), and the sort (~90 µs even for 25 rows, most
    of a small entity's fixed cost) is skipped."""
    seq = table.column("seq")
    if seq.null_count:
        return False
    values = seq.to_pylist()
    return all(a < b for a, b in zip(values, values[1:], strict=False))


def event_ids_query(f: Filters) -> tuple[str, list[Any]]:
    """SQL (bound parameters) selecting the event ids of the filtered set: what Explore hands
    to Republish as its selection."""
    clauses, params = build_where(f)
    return f"SELECT event_id FROM events{where_sql(clauses)}", params
