"""Projection divergence: each entity's rebuilt state against its row in a consumer's read
model, field by field. Two paths build the states; one statement compares them.

- DuckDB (the merge reducer): for each compared field, per entity, the last event in stream
  order (`store.order`) at or before the row's cut (its seq or time column; none: the whole
  stream) that set the field, set an ancestor to a non-object, or reset the whole state (a
  delete, a non-object payload). Under JSON merge patch (RFC 7396) that event decides the
  field's value (a JSON null or a reset: absent). Every payload is parsed inside DuckDB; no
  Python loop over entities. A field whose value is an object is taken as the last object set
  there (objects merged across events are the fold's job).
- The fold (rules and Python reducers; `fold_path`): each entity folded once with its
  snapshots (`timetravel.fold_each`), the states' fields handed to DuckDB as Arrow.

Values compare as numbers when both sides read as numbers (|a - b| <= tolerance), else as
text; absent equals NULL. Statuses: `match`, `differ`, `missing` (a live entity the read model
lacks), `only_in_read_model` (an id with no events of the type before its cut). An entity
whose state is None (deleted, or never given data) that the read model lacks is a match.

Each listed differing field names the event that last changed it: the last event at or before
the cut after which the field's value (its JSON) differs from the value before it, absent
counting as a value. That is the event a projection most likely missed or applied wrongly.
Both paths agree on it (`tests/diverge/test_diverge_paths_agree.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from eventlab.diverge.readmodel import DivergeError, ReadModelSpec
from eventlab.replay.merge import MergeReducer
from eventlab.replay.reducer import Reducer
from eventlab.store import db
from eventlab.store.order import STREAM_ORDER
from eventlab.store.sql import quote_ident, quote_literal
from eventlab.timetravel import fold_each

STATUSES: tuple[str, ...] = ("match", "differ", "missing", "only_in_read_model")
VALUE_CHARS = 200
"""Longest value text returned; longer ones are cut, with their length said."""
_RM = "__diverge_rm"
_STATES = "__diverge_states"
_E_ORDER = ", ".join(f"e.{quote_ident(c)}" for c in STREAM_ORDER)  # the stream order


@dataclass(frozen=True)
class Divergence:
    """The result: exact counts, per-field difference counts and the first rows of each kind.

    `differences` has one row per differing field: entity_id, column, path, state_value,
    read_value and the event that last set the field (event_id, seq, ts, event_type, offset,
    source, topic, partition; all null when no event set it).
    """

    entity_type: str
    fields: tuple[tuple[str, str], ...]
    counts: dict[str, int]
    by_field: dict[str, int]
    differences: pa.Table
    missing: list[str]
    only_in_read_model: list[str]
    cut: str
    path: str = "duckdb"
    """Where the states were rebuilt: `duckdb` (merge reducer) or `fold` (any reducer)."""
    reducer: str = "merge"

    def to_dict(self, limit: int = 100) -> dict[str, Any]:
        """A JSON-ready shape (the CLI's --json)."""
        return {"entity_type": self.entity_type, "cut": self.cut, "path": self.path,
                "reducer": self.reducer,
                "fields": [{"column": c, "path": p} for c, p in self.fields],
                "counts": self.counts, "differences_by_field": self.by_field,
                "differences": self.differences.slice(0, limit).to_pylist(),
                "missing": self.missing[:limit],
                "only_in_read_model": self.only_in_read_model[:limit]}


def json_path(path: str) -> str:
    """The JSON path of a dotted state path, each key quoted so any key works."""
    parts = path.split(".")
    if not path or any(p == "" for p in parts):
        raise DivergeError(f"state path {path!r} has an empty part")
    return "$" + "".join('."' + p.replace("\\", "\\\\").replace('"', '\\"') + '"'
                         for p in parts)


def _cut_kind(table: pa.Table, column: str | None) -> str:
    if column is None:
        return "latest"
    kind = table.schema.field(column).type
    if pa.types.is_integer(kind):
        return "seq"
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return "ts"
    raise DivergeError(f"the position column {column!r} must hold a seq (an integer) or a "
                       f"time, not {kind}")


def _text(expr: str) -> str:
    return (f"CASE WHEN length({expr}) > {VALUE_CHARS} THEN left({expr}, {VALUE_CHARS}) || "
            f"'… (' || length({expr}) || ' characters)' ELSE {expr} END")


def _state_text(value: str) -> str:
    """A state value as text: scalars as themselves, objects and arrays as JSON."""
    return (f"CASE WHEN json_type({value}) IN ('OBJECT', 'ARRAY') THEN CAST({value} AS VARCHAR)"
            f" ELSE json_extract_string({value}, '$') END")


def _cut_sql(cut: str, at_column: str | None) -> str:
    """The read-model row's cut as SQL: NULL (latest), a seq or a time."""
    return {"latest": "NULL", "seq": f"CAST({quote_ident(at_column or '')} AS BIGINT)",
            "ts": f"CAST({quote_ident(at_column or '')} AS TIMESTAMPTZ)"}[cut]


def _rm_cte(fields: list[tuple[str, str]], id_column: str, cut: str,
            at_column: str | None) -> str:
    reads = ", ".join(f"{quote_ident(c)} AS r{i}" for i, (c, _) in enumerate(fields))
    return (f"rm AS (SELECT CAST({quote_ident(id_column)} AS VARCHAR) AS entity_id, "
            f"{_cut_sql(cut, at_column)} AS cut{', ' + reads if reads else ''} FROM {_RM})")


def _events_ctes(fields: list[tuple[str, str]], cut: str,
                 only: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """The `ties` and `ev` CTEs (each event at or before its entity's cut: rowid `rid`, rank
    `k`, `kind`, the extracted paths `x`) and, per field, (whether an event sets it, the JSON
    value it sets: NULL when it removes it). `only`: a table of the entity ids to read."""
    source = ("FROM events e WHERE e.entity_type = $1" if cut == "latest" else
              "FROM events e LEFT JOIN rm USING (entity_id) WHERE e.entity_type = $1 AND "
              + ("(rm.cut IS NULL OR e.seq <= rm.cut)" if cut == "seq"
                 else "(rm.cut IS NULL OR e.ts <= rm.cut)"))
    within = f" AND entity_id IN (SELECT entity_id FROM {only})" if only else ""
    if only:
        source += f" AND e.entity_id IN (SELECT entity_id FROM {only})"
    paths: list[str] = []  # every field's path and its ancestors, extracted in one call

    def slot(path: str) -> int:
        if path not in paths:
            paths.append(path)
        return paths.index(path) + 1

    exprs = []
    for _, path in fields:
        parts = path.split(".")
        x = f"x[{slot(path)}]"
        ancestors = [f"x[{slot('.'.join(parts[:j]))}]" for j in range(1, len(parts))]
        touches = " OR ".join([f"{x} IS NOT NULL", *(f"json_type({a}) <> 'OBJECT'"
                                                     for a in ancestors)])
        exprs.append((f"kind IN ('d', 'r') OR (kind = 'o' AND ({touches}))",
                      f"CASE WHEN kind = 'o' AND CAST({x} AS VARCHAR) <> 'null' THEN {x} END"))
    kind = ("CASE WHEN e.is_delete OR list_contains($2::VARCHAR[], e.event_type) THEN 'd' "
            "WHEN e.payload IS NULL THEN 'n' WHEN starts_with(e.payload, '{') THEN 'o' "
            "ELSE CASE json_type(e.payload) WHEN 'OBJECT' THEN 'o' WHEN 'NULL' THEN 'n' "
            "ELSE 'r' END END")
    extract = ("json_extract(e.payload, [" + ", ".join(quote_literal(json_path(p))
                                                     for p in paths) + "])") if paths else "[]"
    # entities with a seq stored twice, by hash (cheap to group; a collision only sends an
    # entity to the exact window below, never a wrong answer)
    ctes = f"""ties AS (
    SELECT DISTINCT any_value(hash(entity_id)) AS eh FROM events
    WHERE entity_type = $1{within} GROUP BY hash(entity_id, seq) HAVING count(*) > 1
),
ev AS (
    SELECT e.entity_id, e.rowid AS rid, e.seq AS k, {kind} AS kind, {extract} AS x
    {source} AND hash(e.entity_id) NOT IN (SELECT eh FROM ties)
    UNION ALL
    SELECT e.entity_id, e.rowid AS rid,
           row_number() OVER (PARTITION BY e.entity_id ORDER BY {_E_ORDER}) AS k,
           {kind} AS kind, {extract} AS x
    {source} AND hash(e.entity_id) IN (SELECT eh FROM ties)
)"""
    return ctes, exprs


def comparison_sql(fields: list[tuple[str, str]], id_column: str, cut: str,
                   at_column: str | None, states: str | None = None) -> str:
    """The statement (pure): `$1` entity type, `$2` delete types, `$3` tolerance; reads the
    registered read model `__diverge_rm`. Each payload is parsed once for all paths (one
    multi-path `json_extract`); the read model joins the events only when it has a cut.
    Events are ranked by seq, except in entities where a seq is stored twice: those are
    ranked by the whole stream order (a window over them alone), so ties break exactly.

    `states`: a table of states the fold built (entity_id, deleted, v0.. as JSON text, b0..
    the rowid of the event that last changed each field) instead of the events, and `$1` the
    tolerance; the comparison after it is the same statement, so both paths compare alike."""
    if states is None:
        ctes, exprs = _events_ctes(fields, cut)
        aggs = "".join(f", arg_max_null({value}, k) FILTER (WHERE {touched}) AS v{i}, "
                       f"NULL::BIGINT AS b{i}" for i, (touched, value) in enumerate(exprs))
        s = f"""{ctes},
s AS (
    SELECT entity_id,
           coalesce(arg_max(kind, k) FILTER (WHERE kind IN ('d', 'r', 'o')) = 'd', true)
               AS deleted{aggs}
    FROM ev GROUP BY entity_id
)"""
    else:
        s = ("s AS (SELECT entity_id, deleted" + "".join(
            f", CAST(v{i} AS JSON) AS v{i}, b{i}" for i in range(len(fields)))
             + f" FROM {states})")
    tolerance = "$3" if states is None else "$1"
    texts, outs = [], []
    for i in range(len(fields)):
        # each side's text once (json_extract_string: a string unquoted, anything else its
        # JSON), then: numbers within the tolerance when both read as numbers, else the text
        texts.append(f", json_extract_string(s.v{i}, '$') AS st{i}, "
                     f"CAST(rm.r{i} AS VARCHAR) AS rt{i}")
        outs.append(
            f"CASE WHEN st{i} IS NULL THEN rt{i} IS NULL WHEN rt{i} IS NULL THEN false "
            f"ELSE coalesce(abs(try_cast(st{i} AS DOUBLE) - try_cast(rt{i} AS DOUBLE)) "
            f"<= {tolerance}, st{i} = rt{i}) END AS eq{i}, v{i}, b{i}, r{i}")
    return f"""
WITH {_rm_cte(fields, id_column, cut, at_column)},
{s},
t AS (
    SELECT coalesce(s.entity_id, rm.entity_id) AS entity_id, s.entity_id IS NOT NULL AS in_s,
           rm.entity_id IS NOT NULL AS in_rm, coalesce(s.deleted, false) AS deleted
           {''.join(f", s.v{i} AS v{i}, s.b{i} AS b{i}, rm.r{i} AS r{i}"
                    for i in range(len(fields)))}{''.join(texts)}
    FROM s FULL OUTER JOIN rm USING (entity_id)
),
j AS (SELECT entity_id, in_s, in_rm, deleted{', ' + ', '.join(outs) if outs else ''} FROM t)
SELECT *, CASE WHEN NOT in_s THEN 'only_in_read_model'
               WHEN NOT in_rm THEN CASE WHEN deleted THEN 'match' ELSE 'missing' END
               WHEN {' AND '.join(f'eq{i}' for i in range(len(fields))) or 'true'}
               THEN 'match' ELSE 'differ' END AS status
FROM j"""


def blame_sql(fields: list[tuple[str, str]], id_column: str, cut: str,
              at_column: str | None, picked: str) -> str:
    """For the entities in `picked` (pure; same parameters as `comparison_sql`): per field
    (`field_no`), the rowid of the last event at or before the cut that changed the field's
    value (its JSON text differs from the value before; absent counts as a value). Only the
    listed differences are blamed, so this runs over a few entities."""
    ctes, exprs = _events_ctes(fields, cut, only=picked)
    per = " UNION ALL ".join(
        f"SELECT entity_id, {i} AS field_no, k, rid, CAST({value} AS VARCHAR) AS v FROM ev "
        f"WHERE {touched}" for i, (touched, value) in enumerate(exprs))
    return f"""
WITH {_rm_cte(fields, id_column, cut, at_column)},
{ctes},
per AS ({per}),
ch AS (SELECT *, v IS DISTINCT FROM lag(v) OVER (PARTITION BY entity_id, field_no ORDER BY k)
                 AS changed FROM per)
SELECT entity_id, field_no, arg_max(rid, k) FILTER (WHERE changed) AS rid
FROM ch GROUP BY entity_id, field_no"""


def _check_unique(table: pa.Table, id_column: str) -> None:
    """One row per entity: a read model with an id twice cannot be compared row by row."""
    ids = pc.cast(table.column(id_column), pa.string())
    counts = pc.value_counts(ids)
    twice = pc.filter(counts, pc.greater(counts.field("counts"), 1))
    if len(twice):
        names = ", ".join(repr(v) for v in twice.field("values")[:5].to_pylist())
        raise DivergeError(f"the read model has {len(twice):,} ids on more than one row "
                           f"(e.g. {names}); one row per entity is needed")


def guess_entity_type(con: db.Connection) -> str | None:
    """The entity type most of the read model's ids have events of."""
    found = db.rows(con, f"SELECT e.entity_type FROM events e JOIN (SELECT DISTINCT entity_id "
                         f"FROM {_RM}__ids) USING (entity_id) GROUP BY 1 "
                         f"ORDER BY count(DISTINCT entity_id) DESC, 1 LIMIT 1")
    return found[0][0] if found else None


def compare(con: db.Connection, table: pa.Table, spec: ReadModelSpec, *,
            entity_type: str | None = None, delete_types: tuple[str, ...] = (),
            limit: int = 1000, reducer: Reducer | None = None,
            max_events: int | None = fold_each.MAX_EVENTS,
            progress: fold_each.Progress | None = None) -> Divergence:
    """Compare the read model `table` with the rebuilt states of `entity_type` (default: the
    type most of its ids have events of); exact counts, the first `limit` rows of each list.

    With the merge reducer (`reducer` None or a `MergeReducer`, whose delete types add to
    `delete_types`) the states are rebuilt inside DuckDB; with any other reducer through the
    fold (`diverge.fold_path`; refused above `max_events` events, `progress` per entity).
    `Divergence.path` says which ran."""
    fields = spec.fields(table.column_names)
    cut = _cut_kind(table, spec.at_column)
    _check_unique(table, spec.id_column)
    in_duckdb = reducer is None or type(reducer) is MergeReducer
    if isinstance(reducer, MergeReducer):
        delete_types = tuple(sorted({*delete_types, *reducer.delete_types}))
    db.register(con, _RM, table)
    name = "__diverge_result"
    try:
        if entity_type is None:
            entity_type = _guess(con, table, spec.id_column)
        states = None
        if not in_duckdb:
            from eventlab.diverge import fold_path

            assert reducer is not None
            states = fold_path.states(con, fields, entity_type, reducer, cut=cut,
                                      cut_sql=_cut_sql(cut, spec.at_column),
                                      id_column=spec.id_column, max_events=max_events,
                                      progress=progress)
            db.register(con, _STATES, states)
        try:
            sql = comparison_sql(fields, spec.id_column, cut, spec.at_column,
                                 None if in_duckdb else _STATES)
            db.rows(con, f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}",
                    [entity_type, list(delete_types), spec.tolerance] if in_duckdb
                    else [spec.tolerance])
        finally:
            if not in_duckdb:
                db.unregister(con, _STATES)
        report = _report(con, name, entity_type, fields, cut, limit, blame=None if not
                         in_duckdb else (spec, list(delete_types)))
    except db.DuckError as exc:
        raise DivergeError(f"cannot compare the read model: {exc}") from exc
    finally:
        db.rows(con, f"DROP TABLE IF EXISTS {name}")
        db.unregister(con, _RM)
    return replace(report, path="duckdb" if in_duckdb else "fold",
                   reducer="merge" if reducer is None else reducer.name)


def _guess(con: db.Connection, table: pa.Table, id_column: str) -> str:
    ids = pa.table({"entity_id": table.column(id_column).cast(pa.string())})
    db.register(con, f"{_RM}__ids", ids)
    try:
        entity_type = guess_entity_type(con)
    finally:
        db.unregister(con, f"{_RM}__ids")
    if entity_type is None:
        raise DivergeError("no id of the read model has events in this database; "
                           "pass the entity type")
    return entity_type


def _report(con: db.Connection, name: str, entity_type: str, fields: list[tuple[str, str]],
            cut: str, limit: int, blame: tuple[ReadModelSpec, list[str]] | None
            ) -> Divergence:
    """Counts and lists from the result table; `blame` (DuckDB path: the spec and delete
    types) finds the event that last changed each listed differing field (`blame_sql`); the
    fold path has already put its rowid in the result."""
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(dict(db.rows(con, f"SELECT status, count(*) FROM {name} GROUP BY 1")))
    per_field = db.rows(con, "SELECT " + ", ".join(
        f"count(*) FILTER (WHERE status = 'differ' AND NOT eq{i})" for i in range(len(fields))
    ) + f" FROM {name}")[0] if fields else ()
    by_field = {column: n for (column, _), n in zip(fields, per_field, strict=True)}
    parts = []
    for i in range(len(fields)):
        parts.append(
            f"SELECT entity_id, $1[{i + 1}] AS column, $2[{i + 1}] AS path, "
            f"{_text(_state_text(f'v{i}'))}"
            f" AS state_value, {_text(f'CAST(r{i} AS VARCHAR)')} AS read_value, "
            f"b{i} AS rid, "
            f"{i} AS field_no FROM {name} WHERE status = 'differ' AND NOT eq{i}")
    if parts:
        picked = "__diverge_picked"
        db.rows(con, f"CREATE OR REPLACE TEMP TABLE {picked} AS "
                     f"{' UNION ALL '.join(parts)} ORDER BY entity_id, field_no LIMIT $3",
                [[c for c, _ in fields], [p for _, p in fields], limit])
        try:
            if blame is not None:
                spec, deletes = blame
                found = f"""WITH b AS ({blame_sql(fields, spec.id_column, cut, spec.at_column,
                                                   picked)})
                    UPDATE {picked} d SET rid = b.rid FROM b
                    WHERE d.entity_id = b.entity_id AND d.field_no = b.field_no"""
                db.rows(con, found, [entity_type, deletes])
            differences = db.arrow(con, f"""
                SELECT d.entity_id, d.column, d.path, d.state_value, d.read_value, e.event_id,
                       e.seq, e.ts, e.event_type, e."offset", e.source, e.topic, e."partition"
                FROM {picked} d LEFT JOIN events e ON e.rowid = d.rid
                ORDER BY d.entity_id, d.field_no""")
        finally:
            db.rows(con, f"DROP TABLE IF EXISTS {picked}")
    else:
        differences = pa.table({"entity_id": pa.array([], pa.string())})

    def ids(status: str) -> list[str]:
        return [r[0] for r in db.rows(con, f"SELECT entity_id FROM {name} WHERE status = ? "
                                           f"ORDER BY entity_id LIMIT ?", [status, limit])]

    return Divergence(entity_type, tuple(fields), counts, by_field, differences,
                      ids("missing"), ids("only_in_read_model"), cut)
