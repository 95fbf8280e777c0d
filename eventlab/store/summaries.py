"""Per-data-version summaries of `events`, kept in the store and refreshed incrementally.

At tens of millions of events a whole-table pass costs seconds, and Explore's first answer
needs several (the header's counts, the filter widgets' values, the chart, the duplicate
marks). These tables hold what those passes return, so a page reads a few thousand rows:

- `summary_counts`: events per hour bucket, event type and entity type, with the first and
  last time in each (the chart at an hour or coarser, the time span, the type lists);
- `summary_entities`: every entity id once (the header's entity count);
- `summary_duplicates`: every event id stored more than once, its copies and how many
  distinct payloads (`explore.duplicates`' map);
- `summary_state`: how many events they cover and the newest `ingested_at` among them.

`refresh` brings them up to date by reading only the rows ingested since (`ingested_at`
above the watermark: the newest rows, so zone maps skip the rest); when the rows do not add
up (a transaction that began before the watermark committed after it, rows removed) it
rebuilds them whole. `fresh` says whether a read-only cursor may use them as they are.
"""

from __future__ import annotations

from typing import Any

from eventlab.store import db
from eventlab.store import watermark as wm

BUCKET = "1 hour"
"""The summary's time grain: a chart bucket of an hour or more is a sum of summary rows."""

TABLES: tuple[str, ...] = ("summary_counts", "summary_entities", "summary_duplicates",
                           "summary_state")
DDL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS summary_counts (bucket TIMESTAMPTZ, event_type VARCHAR, "
    "entity_type VARCHAR, events BIGINT, first_ts TIMESTAMPTZ, last_ts TIMESTAMPTZ)",
    "CREATE TABLE IF NOT EXISTS summary_entities (entity_id VARCHAR)",
    "CREATE TABLE IF NOT EXISTS summary_duplicates (event_id VARCHAR, copies BIGINT, "
    "payloads BIGINT, entity_id VARCHAR)",
    "CREATE TABLE IF NOT EXISTS summary_state (covered BIGINT, watermark TIMESTAMPTZ)",
)

_COUNTS = (f"SELECT time_bucket(INTERVAL '{BUCKET}', ts) AS bucket, event_type, entity_type, "
           "count(*) AS events, min(ts) AS first_ts, max(ts) AS last_ts FROM events{where} "
           "GROUP BY ALL")
_DUPLICATES = (
    "WITH h AS (SELECT hash(event_id) AS h FROM events{where} GROUP BY ALL "
    "HAVING count(*) > 1) SELECT event_id, count(*) AS copies, "
    "count(DISTINCT coalesce(payload::VARCHAR, '<null>')) AS payloads, "
    "min(entity_id) AS entity_id FROM events WHERE hash(event_id) IN (SELECT h FROM h){also} "
    "GROUP BY event_id HAVING count(*) > 1")
"""What `explore.duplicates.DUPLICATES_SQL` returns, over the ids `where` (and `also`, the same
condition) select: the whole-table pass groups 64-bit hashes of the ids, not the strings;
only the rows of a repeated hash (every duplicated id, and ids whose hash merely collides,
dropped by the second `HAVING`) are grouped by id and their payloads compared."""


STATE = "summary_state"


def state(con: db.Connection) -> wm.State | None:
    """The summaries' coverage and the store's size now; None when there are no summaries."""
    return wm.state(con, STATE)


def fresh(con: db.Connection) -> bool:
    """True when the summaries exist and describe exactly the stored events."""
    return wm.fresh(con, STATE)


def refresh(cur: db.Connection) -> str:
    """Bring the summaries up to date inside the caller's write transaction (`store.watermark`):
    "fresh", "incremental" (only the rows ingested since) or "rebuilt"."""
    return wm.refresh(cur, STATE, DDL, _add, lambda c, _s: _rebuild(c))


def _rebuild(cur: db.Connection) -> None:
    for table in TABLES:
        cur.execute(f"DELETE FROM {table}")
    cur.execute(f"INSERT INTO summary_counts {_COUNTS.format(where='')}")
    cur.execute("INSERT INTO summary_entities SELECT DISTINCT entity_id FROM events")
    cur.execute(f"INSERT INTO summary_duplicates {_DUPLICATES.format(where='', also='')}")


def _add(cur: db.Connection, watermark: Any) -> None:
    """Fold the rows ingested after `watermark` into the summaries."""
    new = " WHERE ingested_at > ?"
    cur.execute(f"INSERT INTO summary_counts {_COUNTS.format(where=new)}", [watermark])
    cur.execute("INSERT INTO summary_entities SELECT DISTINCT entity_id FROM events"
                f"{new} EXCEPT SELECT entity_id FROM summary_entities", [watermark])
    # An id is newly duplicated only if one of its copies is new: recount those ids whole.
    touched = ("event_id IN (SELECT event_id FROM events WHERE ingested_at > ?)")
    cur.execute(f"DELETE FROM summary_duplicates WHERE {touched}", [watermark])
    cur.execute(f"INSERT INTO summary_duplicates "
                f"{_DUPLICATES.format(where=' WHERE ' + touched, also=' AND ' + touched)}",
                [watermark, watermark])


def totals(con: db.Connection) -> tuple[int, int, int, Any, Any]:
    """Events, entities, event types, first and last time (fresh summaries only)."""
    n, types, lo, hi = db.rows(con, "SELECT coalesce(sum(events), 0), count(DISTINCT "
                                    "event_type), min(first_ts), max(last_ts) "
                                    "FROM summary_counts")[0]
    return int(n), int(db.scalar(con, "SELECT count(*) FROM summary_entities")), int(types), \
        lo, hi


def type_lists(con: db.Connection) -> tuple[list[str], list[str]]:
    """The distinct event types and entity types, sorted (fresh summaries only)."""
    events = [r[0] for r in db.rows(con, "SELECT DISTINCT event_type FROM summary_counts "
                                         "ORDER BY 1")]
    entities = [r[0] for r in db.rows(con, "SELECT DISTINCT entity_type FROM summary_counts "
                                           "ORDER BY 1")]
    return events, entities


def _scope(event_types: tuple[str, ...], entity_type: str | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if event_types:
        clauses.append("list_contains(?, event_type)")
        params.append(list(event_types))
    if entity_type:
        clauses.append("entity_type = ?")
        params.append(entity_type)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def span(con: db.Connection, event_types: tuple[str, ...] = (),
         entity_type: str | None = None) -> tuple[Any, Any]:
    """First and last time of the events of these types (fresh summaries only)."""
    where, params = _scope(event_types, entity_type)
    return db.rows(con, f"SELECT min(first_ts), max(last_ts) FROM summary_counts{where}",
                   params)[0]


def counts(con: db.Connection, bucket: str, event_types: tuple[str, ...] = (),
           entity_type: str | None = None, start: Any = None, before: Any = None) -> Any:
    """Events per `bucket` (an hour or coarser) and event type, as Arrow: what
    `explore.counts_over_time` returns, summed from the hourly rows (fresh summaries only;
    `start` / `before`: only the hours from / before these whole hours)."""
    where, params = _scope(event_types, entity_type)
    for op, value in ((">=", start), ("<", before)):
        if value is not None:
            where, params = f"{where} {'AND' if where else 'WHERE'} bucket {op} ?", \
                [*params, value]
    return db.arrow(con, f"SELECT time_bucket(INTERVAL '{bucket}', bucket) AS bucket, "
                         f"event_type, CAST(sum(events) AS BIGINT) AS events "
                         f"FROM summary_counts{where} GROUP BY ALL ORDER BY bucket, event_type",
                    params)


def duplicates(con: db.Connection) -> list[tuple[str, int]]:
    """(event id, distinct payloads) of every duplicated id (fresh summaries only)."""
    return db.rows(con, "SELECT event_id, payloads FROM summary_duplicates")
