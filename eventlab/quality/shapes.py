"""The payload shapes per event type and version, kept per data version for `schema_drift`.

Schema drift reads every payload's keys and the JSON types of its members: at 5M events about
3 CPU-s, at 50M half a minute. `summary_shapes` holds what that pass returns, grouped by
(event type, version, keys, types) with counts and first and last times; `schema_drift`
reads it (a few hundred rows) when it is fresh. Modelled on `store.summaries`:

- `refresh` reads only the rows ingested since (`ingested_at` above the watermark) and appends
  their groups (the reader sums rows of the same group: the answer is the same as one pass);
  when the rows do not add up (covered + new != stored) it rebuilds the table whole.
- It is not part of `eventlab ingest` (ingest stays as fast as it was): the Quality page calls
  `refresh_store` before it checks, which does not wait when a write holds the store, and
  `bench/` calls it and times it.
"""

from __future__ import annotations

from typing import Any

from eventlab.store import db
from eventlab.store import watermark as wm
from eventlab.store.eventstore import EventStore

DDL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS summary_shapes (event_type VARCHAR, event_version INTEGER, "
    "keys VARCHAR, types VARCHAR, events BIGINT, first_ts TIMESTAMPTZ, last_ts TIMESTAMPTZ)",
    "CREATE TABLE IF NOT EXISTS summary_shapes_state (covered BIGINT, watermark TIMESTAMPTZ)",
)

SHAPES_SQL = (
    "SELECT event_type, event_version, CAST(to_json(json_keys(payload)) AS VARCHAR) AS keys, "
    "CAST(to_json(json_type(payload, '$.*')) AS VARCHAR) AS types, count(*) AS events, "
    "min(ts) AS first_ts, max(ts) AS last_ts FROM events WHERE payload IS NOT NULL{more} "
    "GROUP BY ALL")
"""One pass over the payloads: each one's keys and the types of its members (`$.*`, in the
same order), grouped as JSON texts (measured at 5M events: 2.9-3.2 CPU-s; a pass for the keys
and then one `json_type` of every key's path took 4.7, grouping by the lists themselves 3.7)."""

SUMMED_SQL = ("SELECT event_type, event_version, keys, types, sum(events)::BIGINT, "
              "min(first_ts), max(last_ts) FROM summary_shapes GROUP BY ALL")
"""The shapes from the summary: rows of one group appended by several refreshes summed."""


STATE = "summary_shapes_state"


def fresh(con: db.Connection) -> bool:
    """True when `summary_shapes` describes exactly the stored events."""
    return wm.fresh(con, STATE)


def rows(con: db.Connection) -> list[tuple]:
    """(type, version, keys JSON, types JSON, events, first, last) of every payload shape:
    from the summary when it is fresh, else one pass over the payloads."""
    return db.rows(con, SUMMED_SQL if fresh(con) else SHAPES_SQL.format(more=""))


def refresh(cur: db.Connection) -> str:
    """Bring `summary_shapes` up to date inside the caller's write transaction
    (`store.watermark`): "fresh", "incremental" (only the rows ingested since) or "rebuilt"."""
    return wm.refresh(cur, STATE, DDL, _add, _rebuild)


def _add(cur: db.Connection, watermark: Any) -> None:
    cur.execute(f"INSERT INTO summary_shapes {SHAPES_SQL.format(more=' AND ingested_at > ?')}",
                [watermark])


def _rebuild(cur: db.Connection, _state: wm.State) -> None:
    cur.execute("DELETE FROM summary_shapes")
    cur.execute(f"INSERT INTO summary_shapes {SHAPES_SQL.format(more='')}")


def refresh_store(store: EventStore) -> str:
    """Refresh the store's summaries (`store.summaries`) and the shapes before Quality checks:
    "read-only" or "busy" (a write holds the store: the checks then read the events rather
    than wait), "fresh", "incremental" or "rebuilt" (what the shapes needed)."""
    did = store.refresh_summaries()
    if did in ("read-only", "busy"):
        return did
    return store.refresh_lazily(fresh, refresh)
