"""The current-state table: every entity's whole stream folded once per data version.

At tens of millions of events, folding a type's population from the events costs a pass
over all of them and a merge per entity. Most entities of a population as of T are either
finished by T (every event at or before it) or not started; only those whose events straddle
T need their events. So the store keeps, per (entity type, entity id):

- the fold of the whole stream with the default options (merge reducer, no delete types):
  the last event's seq, ts, type and id, and the state, exactly as `population_sql` gives it;
- facts that say when that row is the answer: the event types seen, and per time basis the
  first and last time and how many events have no time on it.

A population as of T (`fill`) takes the stored row of every entity whose times on the basis
are all at or before T and which has no event of a chosen delete type; it folds from the
events only the rest that has an event at or before T (`population_sql` with `among`). Both
halves are the same SQL over the same events, so the result equals the direct one exactly.

`refresh` keeps the table in step with `events` like `store.summaries`: only the entities
touched by rows ingested since the watermark are folded again, whole (a late row that sorts
before stored ones is handled the same way); when the rows do not add up it rebuilds. `fresh`
says whether a reader may use it; a stale table is never used (slower, never wrong).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eventlab.asof.compute import FULL, SQL_BASES, id_slices, population_sql, scope
from eventlab.store import db
from eventlab.store import watermark as wm
from eventlab.store.sql import quote_ident

TABLE, STATE = "asof_current", "asof_current_state"
_FACTS = {"event_time": "ts", "kafka_time": "kt"}
"""Column prefix of each basis' facts (`ts_min`, `ts_max`, `ts_nulls`, `kt_...`)."""
DDL: tuple[str, ...] = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (entity_id VARCHAR, entity_type VARCHAR, seq BIGINT, "
    "ts TIMESTAMPTZ, event_type VARCHAR, event_id VARCHAR, state JSON, types VARCHAR[], "
    "ts_min TIMESTAMPTZ, ts_max TIMESTAMPTZ, ts_nulls BIGINT, "
    "kt_min TIMESTAMPTZ, kt_max TIMESTAMPTZ, kt_nulls BIGINT, events BIGINT)",
    f"CREATE TABLE IF NOT EXISTS {STATE} (covered BIGINT, watermark TIMESTAMPTZ)",
)
_COLUMNS = "entity_id, entity_type, seq, ts, event_type, event_id, state"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FOLD_SLICE = 500_000
"""Events per statement when this module folds (a rebuild slice of 1.1M events with the facts
aggregate beside it ran out of DuckDB's 1.5 GB on 5M)."""


def state(con: db.Connection) -> wm.State | None:
    """The table's coverage and the store's size now; None when there is no table."""
    return wm.state(con, STATE)


def fresh(con: db.Connection) -> bool:
    """True when the table exists and folds exactly the stored events."""
    return wm.fresh(con, STATE)


def _fold_into(cur: db.Connection, entity_type: str, *, low: str | None = None,
               high: str | None = None, among: str | None = None) -> None:
    """Insert the whole-stream fold and facts of a type's entities (a slice, or `among`)."""
    sql, params = population_sql(entity_type, FULL, low=low, high=high, among=among)
    where = scope(entity_type, low=low, high=high, among=among)[0]
    facts = ", ".join(f"min({c}) AS {p}_min, max({c}) AS {p}_max, "
                      f"count(*) FILTER (WHERE {c} IS NULL) AS {p}_nulls"
                      for b, p in _FACTS.items() for c in [SQL_BASES[b]])
    db.rows(cur, f"INSERT INTO {TABLE} SELECT p.*, f.* EXCLUDE (entity_id) FROM ({sql}) p "
                f"JOIN (SELECT entity_id, list(DISTINCT event_type ORDER BY event_type) "
                f"AS types, {facts}, count(*) AS events FROM events {where} "
                f"GROUP BY entity_id) f "
                f"USING (entity_id)", [_EPOCH, *params])


def _types(cur: db.Connection, where: str = "", params: list[Any] | None = None) -> list[str]:
    return [r[0] for r in db.rows(cur, f"SELECT DISTINCT entity_type FROM events{where} "
                                       "ORDER BY 1", params)]


def refresh(cur: db.Connection) -> str:
    """Bring the table up to date inside the caller's write transaction (`store.watermark`):
    "fresh", "incremental" (the entities touched since the watermark) or "rebuilt"."""
    return wm.refresh(cur, STATE, DDL, _add, lambda c, _s: _rebuild(c))


def _rebuild(cur: db.Connection) -> None:
    db.rows(cur, f"DELETE FROM {TABLE}")
    for entity_type in _types(cur):
        for low, high in id_slices(cur, entity_type, per_slice=FOLD_SLICE):
            _fold_into(cur, entity_type, low=low, high=high)
            wm.commit_slice(cur)


def _add(cur: db.Connection, watermark: Any) -> None:
    """Fold again, whole, every entity with a row ingested after `watermark`."""
    db.rows(cur, "CREATE OR REPLACE TEMP TABLE _asof_touched AS SELECT DISTINCT entity_type, "
                "entity_id FROM events WHERE ingested_at > ?", [watermark])
    db.rows(cur, f"DELETE FROM {TABLE} t USING _asof_touched n "
                f"WHERE t.entity_type = n.entity_type AND t.entity_id = n.entity_id")
    for entity_type in _types(cur, " WHERE ingested_at > ?", [watermark]):
        _fold_into(cur, entity_type,
                   among="SELECT entity_id FROM _asof_touched WHERE entity_type = $3")
    db.rows(cur, "DROP TABLE _asof_touched")


def fill(con: db.Connection, name: str, at: datetime, entity_type: str, basis: str,
         delete_types: tuple[str, ...]) -> None:
    """Create the temporary table `name` holding the population as of `at` from the fresh
    current-state table plus a fold of the entities it cannot answer (see the module)."""
    p = _FACTS[basis]
    done = (f"{p}_nulls = 0 AND {p}_max <= $1 AND NOT list_has_any(types, $2::VARCHAR[])")
    cur_sql = f"SELECT {_COLUMNS} FROM {TABLE} WHERE entity_type = $3"
    db.rows(con, f"CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS "
                 f"{cur_sql} AND {done}", [at, list(delete_types), entity_type])
    db.rows(con, f"CREATE OR REPLACE TEMP TABLE _asof_rest AS SELECT entity_id, events "
                 f"FROM {TABLE} WHERE entity_type = $3 AND {p}_min <= $1 AND NOT ({done})",
            [at, list(delete_types), entity_type])
    for low, high in _slices(con):  # none at all after the last event
        sql, params = population_sql(entity_type, basis, delete_types, low=low, high=high,
                                     among="SELECT entity_id FROM _asof_rest")
        db.rows(con, f"INSERT INTO {quote_ident(name)} {sql}", [at, *params])
    db.rows(con, "DROP TABLE _asof_rest")


def _slices(con: db.Connection) -> list[tuple[str | None, str | None]]:
    """Entity-id ranges splitting `_asof_rest` into about FOLD_SLICE events each (their
    event counts are in the table: exact, no sample); none when it is empty."""
    total = int(db.scalar(con, "SELECT coalesce(sum(events), 0) FROM _asof_rest"))
    parts = -(-total // FOLD_SLICE)
    if parts <= 1:
        return [(None, None)] if total else []
    quantiles = ", ".join(str(i / parts) for i in range(1, parts))
    bounds = db.scalar(con, f"SELECT quantile_disc(entity_id, [{quantiles}]) FROM _asof_rest")
    edges: list[str | None] = [None, *sorted(set(bounds)), None]
    return list(zip(edges[:-1], edges[1:], strict=True))


def refresh_store(store: Any) -> str:
    """Refresh lazily (the As of page): `EventStore.refresh_lazily`'s answers."""
    return store.refresh_lazily(fresh, refresh)
