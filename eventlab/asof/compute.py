"""Population "as of T": the merge-reducer state of every entity at a moment, inside DuckDB.

The state of an entity at T is the fold of its events in stream order up to the last event whose
time is at or before T (the same cut as `Fold.index_at_time`: with out-of-order times, earlier
events of a later time are included). The default reducer is a JSON merge patch (RFC 7396), so:
a delete (tombstone, `is_delete`, or a type in `delete_types`) makes the state NULL; a payload
that is not an object replaces the state; an object payload is merged; a null payload changes
nothing. It is one SQL statement (`population_sql`, pure; no Python loop over entities), run
once per slice of entity ids when there are very many events (`id_slices`, bounded memory):

- fast path, almost every entity: its object payloads at or before T, taken in stream order
  by a top-16 `arg_max` on fixed-width keys (no sort), merged into `{}` by one variadic
  `json_merge_patch` call (each payload parsed once).
  DuckDB's `json_merge_patch` follows RFC 7396 for an object target, so starting from `{}`
  strips nulls like `merge_patch(None, patch)` (not from `null`: DuckDB then returns the
  patch as is, nulls kept). This is exact when,
  at or before T, there are at most 16 object payloads and no reset (delete, non-object
  payload), and no event after T comes earlier in the stream than the cut (`flags`);
- exact path, the flagged entities: their events are read again, the cut and the last reset
  are found by comparing full stream keys, and the object payloads after the reset fold in
  order (16 per call, then `list_reduce` for long streams).

The stream order is `store.order` (seq, type, time, then the source position: any tie is
broken the same way everywhere), the order in which the Python fold loads events; tests check
both agree on random data (hypothesis) and on RFC 7396's examples. Results are materialised
in a temporary table of the caller's cursor (`materialize`), which the count and compare
queries read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from eventlab.errors import EventLabError
from eventlab.store import db
from eventlab.store.eventstore import data_version  # noqa: F401  (the asof API names it)
from eventlab.store.order import ORDER_SQL
from eventlab.store.sql import quote_ident

SQL_BASES: dict[str, str] = {"event_time": "ts", "kafka_time": "kafka_ts"}
"""Time bases the SQL "as of" supports, and the column each compares with T."""
FULL = "all"
"""A private basis whose every event is at or before any T: the fold of whole streams (the
current-state table, `asof.current`)."""
_TIME = {**SQL_BASES, FULL: "TIMESTAMPTZ '-infinity'"}

_KEY = ORDER_SQL  # the stream order (store.order)
SLICE_EVENTS = 1_000_000
SLICE_ENTITIES = 400_000
"""Populations over more events or entities than these are computed in entity-id slices, so
DuckDB's memory stays bounded (the default limit is 1.5 GB): the fast path's aggregate holds
about 1.4 KB per event (EXPLAIN ANALYZE: 1.4 GB peak for 985k order events), so a slice of
3M events spilled and thrashed at 50M. Ingest sorts each chunk by entity id, so a slice
reads only its id range's row groups of each chunk. 1M keeps the 5M bench's midpoint (985k
order events) one statement; `asof.current` folds in smaller slices (its facts aggregate
runs beside the fold)."""
VARIADIC = 16
"""Payloads merged in one `json_merge_patch` call (each parsed once). The fast path keeps the
last 16 object payloads per entity; entities with more take the exact path, which chains."""


def _merge_call(items: list[str]) -> str:
    return "json_merge_patch('{}'::JSON, " + ", ".join(items) + ")"


def _fold_sql(n: int = VARIADIC) -> str:
    """Merge the list `objs` into `{}`: one call for short lists, a chain beyond."""
    whens = " ".join(f"WHEN {k} THEN {_merge_call([f'objs[{i}]' for i in range(1, k + 1)])}"
                     for k in range(1, n + 1))
    head = _merge_call([f"objs[{i}]" for i in range(1, n + 1)])
    rest = f"list_reduce(objs[{n + 1}:], lambda acc, x: json_merge_patch(acc, x), {head})"
    return f"CASE len(objs) {whens} ELSE {rest} END"


_FOLD = _fold_sql()
_TEMPLATE = """
WITH ev AS NOT MATERIALIZED (
    SELECT entity_id, entity_type, {key}, event_id, {time} AS t, payload,
           CASE WHEN is_delete OR list_contains($2::VARCHAR[], event_type) THEN 'd'
                WHEN payload IS NULL THEN 'n'
                WHEN starts_with(payload, '{{') THEN 'o'
                ELSE CASE json_type(payload) WHEN 'OBJECT' THEN 'o' WHEN 'NULL' THEN 'n'
                     ELSE 'r' END
           END AS kind
    FROM events {where}
),
flags AS (
    SELECT entity_id FROM ev GROUP BY entity_id
    HAVING bool_or(t <= $1 AND kind IN ('d', 'r'))
        OR min(seq) FILTER (WHERE t > $1 OR t IS NULL) <= max(seq) FILTER (WHERE t <= $1)
        OR count(*) FILTER (WHERE t <= $1 AND kind = 'o') > {top}
),
fast AS (
    SELECT entity_id, any_value(entity_type) AS entity_type,
           max(struct_pack({key}, event_id)) AS last,
           list_reverse(arg_max(payload, struct_pack({key}), {top}) FILTER (WHERE kind = 'o'))
               AS objs, NULL AS rv
    FROM ev WHERE t <= $1 AND entity_id NOT IN (SELECT entity_id FROM flags)
    GROUP BY entity_id
),
sev AS (
    SELECT ev.*, struct_pack({key}) AS k FROM ev
    WHERE entity_id IN (SELECT entity_id FROM flags)
),
scut AS (SELECT entity_id, max(k) FILTER (WHERE t <= $1) AS cut FROM sev GROUP BY entity_id),
sw AS (SELECT sev.* FROM sev JOIN scut USING (entity_id) WHERE sev.k <= scut.cut),
sr AS (
    SELECT entity_id, max(k) FILTER (WHERE kind IN ('d', 'r')) AS r,
           arg_max(struct_pack(kind, payload), k) FILTER (WHERE kind IN ('d', 'r')) AS rv
    FROM sw GROUP BY entity_id
),
slow AS (
    SELECT sw.entity_id, any_value(sw.entity_type) AS entity_type,
           max(struct_pack({key}, event_id)) AS last,
           list(payload ORDER BY sw.k) FILTER (
               WHERE kind = 'o' AND (sr.r IS NULL OR sw.k > sr.r)) AS objs,
           any_value(sr.rv) AS rv
    FROM sw JOIN sr USING (entity_id) GROUP BY sw.entity_id
),
folded AS (
    SELECT entity_id, entity_type, last, objs, rv FROM fast
    UNION ALL BY NAME
    SELECT entity_id, entity_type, last, objs, rv FROM slow
)
SELECT entity_id, entity_type, last.seq AS seq, last.ts AS ts, last.event_type AS event_type,
       last.event_id AS event_id,
       CASE WHEN len(objs) > 0 THEN {fold} WHEN rv.kind = 'r' THEN rv.payload END AS state
FROM folded
"""


class AsOfError(EventLabError):
    """An "as of" query cannot run as asked (unknown basis or field, missing result)."""


def population_sql(entity_type: str | None = None, basis: str = "event_time",
                   delete_types: tuple[str, ...] | list[str] = (), *, low: str | None = None,
                   high: str | None = None, among: str | None = None) -> tuple[str, list[Any]]:
    """The population query and its parameters after T (`$1`).

    Parameters: `[delete_types]`, then the entity type and the entity-id bounds `[low, high)`
    that were given. `among` (internal SQL, never user text) selects the entity ids to fold;
    it may use `$1`-`$3`. Columns: entity_id, entity_type, seq, ts, event_type, event_id (the last
    event applied), state (JSON; NULL when the entity is deleted or has no data). Entities
    without an event at or before T are not in it.
    """
    if basis not in _TIME:
        raise AsOfError(f"as of supports the bases {', '.join(SQL_BASES)}, not {basis!r}")
    where, params = scope(entity_type, low=low, high=high, among=among)
    params = [list(delete_types), *params]
    sql = _TEMPLATE.format(time=_TIME[basis], where=where, key=_KEY, fold=_FOLD, top=VARIADIC)
    return sql, params


def scope(entity_type: str | None = None, *, low: str | None = None, high: str | None = None,
          among: str | None = None) -> tuple[str, list[Any]]:
    """The `WHERE ...` of a population's events (`$3` on: `$1` is T, `$2` the delete types)
    and its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    for value, clause in ((entity_type, "entity_type = "), (low, "entity_id >= "),
                          (high, "entity_id < ")):
        if value is not None:
            params.append(value)
            clauses.append(f"{clause}${len(params) + 2}")
    if among is not None:
        clauses.append(f"entity_id IN ({among})")
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def id_slices(con: db.Connection, entity_type: str | None = None, at: datetime | None = None,
              basis: str = "event_time",
              per_slice: int | None = None) -> list[tuple[str | None, str | None]]:
    """Entity-id ranges `[low, high)` that split a large population (one range for most).

    A population over many events, or many entities with events by `at`, is computed slice by
    slice so DuckDB's memory stays bounded (the fast path keeps a small state per entity).
    Each slice is one statement; the table is clustered by entity, so a slice reads mostly its
    own row groups. Boundaries come from a sample of entity ids; results do not depend on it.
    """
    where, params = ("WHERE entity_type = ?", [entity_type]) if entity_type else ("", [])
    column = SQL_BASES.get(basis, "ts")
    upto = f"{column} <= ?" if at is not None else "true"
    events, entities = db.rows(
        con, f"SELECT count(*) FILTER (WHERE {upto}), approx_count_distinct(entity_id) "
             f"FILTER (WHERE {upto}) FROM events {where}",
        [*([at, at] if at is not None else []), *params])[0]
    parts = max(-(-(events or 0) // (per_slice or SLICE_EVENTS)),
                -(-(entities or 0) // SLICE_ENTITIES))
    if parts <= 1:
        return [(None, None)]
    sample = [r[0] for r in db.rows(
        con, f"SELECT entity_id FROM (SELECT entity_id FROM events {where}) "
             f"USING SAMPLE reservoir(20000 ROWS) REPEATABLE (7) ORDER BY 1", params)]
    bounds = sorted({sample[len(sample) * i // parts] for i in range(1, parts)})
    edges: list[str | None] = [None, *bounds, None]
    return list(zip(edges[:-1], edges[1:], strict=True))


def population(con: db.Connection, at: datetime, *, entity_type: str | None = None,
               basis: str = "event_time", delete_types: tuple[str, ...] = ()) -> pa.Table:
    """The population as of `at` as an Arrow table, sorted by entity id."""
    return population_reader(con, at, entity_type=entity_type, basis=basis,
                             delete_types=delete_types).read_all()


def population_reader(con: db.Connection, at: datetime, *, entity_type: str | None = None,
                      basis: str = "event_time", delete_types: tuple[str, ...] = (),
                      batch_rows: int = 50_000) -> pa.RecordBatchReader:
    """The population streamed as Arrow batches in entity-id order, slice by slice."""
    def query(low: str | None, high: str | None) -> pa.RecordBatchReader:
        sql, params = population_sql(entity_type, basis, delete_types, low=low, high=high)
        return db.arrow_reader(con, f"SELECT * FROM ({sql}) ORDER BY entity_id",
                               [at, *params], batch_rows)

    slices = id_slices(con, entity_type, at, basis)
    first = query(*slices[0])

    def batches() -> Iterator[pa.RecordBatch]:
        yield from first
        for low, high in slices[1:]:
            yield from query(low, high)

    return pa.RecordBatchReader.from_batches(first.schema, batches())


@dataclass(frozen=True)
class AsOf:
    """A population materialised in a temporary table of one cursor, and its head counts."""

    table: str
    at: datetime
    entity_type: str | None
    basis: str
    entities: int
    deleted: int

    @property
    def existing(self) -> int:
        """Entities whose state is not None at T."""
        return self.entities - self.deleted


def materialize(con: db.Connection, at: datetime, *, entity_type: str | None = None,
                basis: str = "event_time", delete_types: tuple[str, ...] = (),
                version: Any = None) -> AsOf:
    """Compute the population into a temporary table of this cursor (reused when it exists).

    `version` is anything that changes when the data does (e.g. `data_version`), so a new
    ingest gives a new table. When the store's current-state table is fresh (`asof.current`),
    only the entities whose events straddle `at` are folded from the events.
    """
    digest = hashlib.sha1(
        repr((at.isoformat(), entity_type, basis, sorted(delete_types), version)).encode()
    ).hexdigest()[:16]
    name = f"asof_{digest}"
    exists = db.scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE temporary AND "
                            "table_name = ?", [name])
    if not exists and entity_type is not None and _current_fresh(con):
        from eventlab.asof import current  # it builds on this module
        current.fill(con, name, at, entity_type, basis, tuple(delete_types))
    elif not exists:
        for i, (low, high) in enumerate(id_slices(con, entity_type, at, basis)):
            sql, params = population_sql(entity_type, basis, delete_types, low=low, high=high)
            verb = (f"CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS" if i == 0
                    else f"INSERT INTO {quote_ident(name)}")
            db.rows(con, f"{verb} {sql}", [at, *params])
    n, deleted = db.rows(con, f"SELECT count(*), count(*) FILTER (WHERE state IS NULL) "
                              f"FROM {quote_ident(name)}")[0]
    return AsOf(name, at, entity_type, basis, n, deleted)


def _current_fresh(con: db.Connection) -> bool:
    from eventlab.asof import current
    return current.fresh(con)


def basis_span(con: db.Connection, entity_type: str,
               basis: str) -> tuple[datetime, datetime] | None:
    """The first and last time of a type's events on a basis; None when none has one (file
    data has no Kafka timestamp, so "as of" on Kafka time would count nothing)."""
    if basis not in SQL_BASES:
        raise AsOfError(f"as of supports the bases {', '.join(SQL_BASES)}, not {basis!r}")
    column = quote_ident(SQL_BASES[basis])
    lo, hi = db.rows(con, f"SELECT min({column}), max({column}) FROM events "
                          f"WHERE entity_type = ?", [entity_type])[0]
    return None if lo is None else (lo, hi)


def busiest_type(con: db.Connection) -> str | None:
    """The entity type with the most events (the page's default)."""
    return db.scalar(con, "SELECT entity_type FROM events GROUP BY 1 "
                          "ORDER BY count(*) DESC, 1 LIMIT 1")


def drop(con: db.Connection, result: AsOf) -> None:
    """Drop a materialised population."""
    db.rows(con, f"DROP TABLE IF EXISTS {quote_ident(result.table)}")
