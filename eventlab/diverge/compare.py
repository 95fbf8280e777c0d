"""Projection divergence: each entity's rebuilt state (the merge reducer) against its row in a
consumer's read model, field by field, inside DuckDB.

One statement per comparison, materialised in a temporary table of the caller's cursor. For
each compared field it takes, per entity, the last event in stream order (`store.order`) at or
before the row's cut (its seq or time column; none: the whole stream) that set the field, set
an ancestor to a non-object, or reset the whole state (a delete, a non-object payload). Under
JSON merge patch (RFC 7396) that event decides the field: its value is the field's value (a
JSON null or a reset: absent), and it is the event "that last set the field", the one a
projection most likely missed or applied wrongly. Every payload is parsed inside DuckDB; no
Python loop over entities. A field whose value is an object is compared as the last object
set there (objects merged across events are the fold's job: `compare_fold` checks it).

Values compare as numbers when both sides read as numbers (|a - b| <= tolerance), else as
text; absent equals NULL. Statuses: `match`, `differ`, `missing` (a live entity the read model
lacks), `only_in_read_model` (an id with no events of the type). A deleted entity the read
model lacks is a match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from eventlab.diverge.readmodel import DivergeError, ReadModelSpec
from eventlab.store import db
from eventlab.store.order import STREAM_ORDER
from eventlab.store.sql import quote_ident, quote_literal

STATUSES: tuple[str, ...] = ("match", "differ", "missing", "only_in_read_model")
VALUE_CHARS = 200
"""Longest value text returned; longer ones are cut, with their length said."""
_RM = "__diverge_rm"
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

    def to_dict(self, limit: int = 100) -> dict[str, Any]:
        """A JSON-ready shape (the CLI's --json)."""
        return {"entity_type": self.entity_type, "cut": self.cut,
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


def comparison_sql(fields: list[tuple[str, str]], id_column: str, cut: str,
                   at_column: str | None) -> str:
    """The statement (pure): `$1` entity type, `$2` delete types, `$3` tolerance; reads the
    registered read model `__diverge_rm`. Each payload is parsed once for all paths (one
    multi-path `json_extract`); the read model joins the events only when it has a cut.
    Events are ranked by seq, except in entities where a seq is stored twice: those are
    ranked by the whole stream order (a window over them alone), so ties break exactly."""
    cut_expr = {"latest": "NULL", "seq": f"CAST({quote_ident(at_column or '')} AS BIGINT)",
                "ts": f"CAST({quote_ident(at_column or '')} AS TIMESTAMPTZ)"}[cut]
    source = ("FROM events e WHERE e.entity_type = $1" if cut == "latest" else
              "FROM events e LEFT JOIN rm USING (entity_id) WHERE e.entity_type = $1 AND "
              + ("(rm.cut IS NULL OR e.seq <= rm.cut)" if cut == "seq"
                 else "(rm.cut IS NULL OR e.ts <= rm.cut)"))
    reads = ", ".join(f"{quote_ident(c)} AS r{i}" for i, (c, _) in enumerate(fields))
    paths: list[str] = []  # every field's path and its ancestors, extracted in one call

    def slot(path: str) -> int:
        if path not in paths:
            paths.append(path)
        return paths.index(path) + 1

    aggs, outs = [], []
    for i, (_, path) in enumerate(fields):
        parts = path.split(".")
        x = f"x[{slot(path)}]"
        ancestors = [f"x[{slot('.'.join(parts[:j]))}]" for j in range(1, len(parts))]
        touches = " OR ".join([f"{x} IS NOT NULL", *(f"json_type({a}) <> 'OBJECT'"
                                                     for a in ancestors)])
        value = f"CASE WHEN kind = 'o' AND CAST({x} AS VARCHAR) <> 'null' THEN {x} END"
        aggs.append(f"arg_max(struct_pack(v := {value}, rid), k) FILTER (WHERE kind IN "
                    f"('d', 'r') OR (kind = 'o' AND ({touches}))) AS f{i}")
        sv = f"s.f{i}.v"
        num = (f"try_cast(json_extract_string({sv}, '$') AS DOUBLE)",
               f"try_cast(CAST(rm.r{i} AS VARCHAR) AS DOUBLE)")
        outs.append(
            f"CASE WHEN {sv} IS NULL THEN rm.r{i} IS NULL WHEN rm.r{i} IS NULL THEN false "
            f"WHEN {num[0]} IS NOT NULL AND {num[1]} IS NOT NULL "
            f"THEN abs({num[0]} - {num[1]}) <= $3 "
            f"ELSE ({_state_text(sv)}) = CAST(rm.r{i} AS VARCHAR) END AS eq{i}"
            f", s.f{i} AS f{i}, rm.r{i} AS r{i}")
    kind = ("CASE WHEN e.is_delete OR list_contains($2::VARCHAR[], e.event_type) THEN 'd' "
            "WHEN e.payload IS NULL THEN 'n' WHEN starts_with(e.payload, '{') THEN 'o' "
            "ELSE CASE json_type(e.payload) WHEN 'OBJECT' THEN 'o' WHEN 'NULL' THEN 'n' "
            "ELSE 'r' END END")
    extract = ("json_extract(e.payload, [" + ", ".join(quote_literal(json_path(p))
                                                     for p in paths) + "])") if paths else "[]"
    return f"""
WITH rm AS (SELECT CAST({quote_ident(id_column)} AS VARCHAR) AS entity_id,
                   {cut_expr} AS cut{', ' + reads if reads else ''} FROM {_RM}),
ties AS (
    SELECT DISTINCT entity_id FROM events WHERE entity_type = $1
    GROUP BY entity_id, seq HAVING count(*) > 1
),
ev AS (
    SELECT e.entity_id, e.rowid AS rid, e.seq AS k, {kind} AS kind, {extract} AS x
    {source} AND e.entity_id NOT IN (SELECT entity_id FROM ties)
    UNION ALL
    SELECT e.entity_id, e.rowid AS rid,
           row_number() OVER (PARTITION BY e.entity_id ORDER BY {_E_ORDER}) AS k,
           {kind} AS kind, {extract} AS x
    {source} AND e.entity_id IN (SELECT entity_id FROM ties)
),
s AS (
    SELECT entity_id,
           coalesce(arg_max(kind, k) FILTER (WHERE kind IN ('d', 'r', 'o')) = 'd', false)
               AS deleted{', ' + ', '.join(aggs) if aggs else ''}
    FROM ev GROUP BY entity_id
),
j AS (
    SELECT coalesce(s.entity_id, rm.entity_id) AS entity_id, s.entity_id IS NOT NULL AS in_s,
           rm.entity_id IS NOT NULL AS in_rm, coalesce(s.deleted, false) AS deleted
           {', ' + ', '.join(outs) if outs else ''}
    FROM s FULL OUTER JOIN rm USING (entity_id)
)
SELECT *, CASE WHEN NOT in_s THEN 'only_in_read_model'
               WHEN NOT in_rm THEN CASE WHEN deleted THEN 'match' ELSE 'missing' END
               WHEN {' AND '.join(f'eq{i}' for i in range(len(fields))) or 'true'}
               THEN 'match' ELSE 'differ' END AS status
FROM j"""


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
            limit: int = 1000) -> Divergence:
    """Compare the read model `table` with the rebuilt states of `entity_type` (default: the
    type most of its ids have events of); exact counts, the first `limit` rows of each list."""
    fields = spec.fields(table.column_names)
    cut = _cut_kind(table, spec.at_column)
    _check_unique(table, spec.id_column)
    db.register(con, _RM, table)
    try:
        if entity_type is None:
            ids = pa.table({"entity_id": table.column(spec.id_column).cast(pa.string())})
            db.register(con, f"{_RM}__ids", ids)
            try:
                entity_type = guess_entity_type(con)
            finally:
                db.unregister(con, f"{_RM}__ids")
            if entity_type is None:
                raise DivergeError("no id of the read model has events in this database; "
                                   "pass the entity type")
        sql = comparison_sql(fields, spec.id_column, cut, spec.at_column)
        name = "__diverge_result"
        db.rows(con, f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}",
                [entity_type, list(delete_types), spec.tolerance])
    except db.DuckError as exc:
        raise DivergeError(f"cannot compare the read model: {exc}") from exc
    finally:
        db.unregister(con, _RM)
    try:
        return _report(con, name, entity_type, fields, cut, limit)
    finally:
        db.rows(con, f"DROP TABLE IF EXISTS {name}")


def _report(con: db.Connection, name: str, entity_type: str, fields: list[tuple[str, str]],
            cut: str, limit: int) -> Divergence:
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(dict(db.rows(con, f"SELECT status, count(*) FROM {name} GROUP BY 1")))
    per_field = db.rows(con, "SELECT " + ", ".join(
        f"count(*) FILTER (WHERE status = 'differ' AND NOT eq{i})" for i in range(len(fields))
    ) + f" FROM {name}")[0] if fields else ()
    by_field = {column: n for (column, _), n in zip(fields, per_field, strict=True)}
    parts = []
    for i in range(len(fields)):
        sv = f"f{i}.v"
        parts.append(
            f"SELECT entity_id, $1[{i + 1}] AS column, $2[{i + 1}] AS path, "
            f"{_text(_state_text(sv))}"
            f" AS state_value, {_text(f'CAST(r{i} AS VARCHAR)')} AS read_value, "
            f"f{i}.rid AS rid, "
            f"{i} AS field_no FROM {name} WHERE status = 'differ' AND NOT eq{i}")
    if parts:
        differences = db.arrow(con, f"""
            WITH d AS ({" UNION ALL ".join(parts)} ORDER BY entity_id, field_no LIMIT $3)
            SELECT d.entity_id, d.column, d.path, d.state_value, d.read_value, e.event_id,
                   e.seq, e.ts, e.event_type, e."offset", e.source, e.topic, e."partition"
            FROM d LEFT JOIN events e ON e.rowid = d.rid ORDER BY d.entity_id, d.field_no""",
                               [[c for c, _ in fields], [p for _, p in fields], limit])
    else:
        differences = pa.table({"entity_id": pa.array([], pa.string())})

    def ids(status: str) -> list[str]:
        return [r[0] for r in db.rows(con, f"SELECT entity_id FROM {name} WHERE status = ? "
                                           f"ORDER BY entity_id LIMIT ?", [status, limit])]

    return Divergence(entity_type, tuple(fields), counts, by_field, differences,
                      ids("missing"), ids("only_in_read_model"), cut)
