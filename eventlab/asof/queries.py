"""What the As of page asks of a materialised population (`compute.materialize`): its
fields, counts by a field's value, a page of entities, and how it moved between two times.
Every query runs on the population's temporary table and returns a small result.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from eventlab.asof.compute import AsOf
from eventlab.store import db
from eventlab.store.sql import quote_ident


def top_fields(con: db.Connection, result: AsOf, limit: int = 40) -> list[str]:
    """The top-level fields of the states, most common first."""
    rows = db.rows(con, f"SELECT k, count(*) AS n FROM (SELECT unnest(json_keys(state)) AS k "
                        f"FROM {quote_ident(result.table)} WHERE json_type(state) = 'OBJECT') "
                        f"GROUP BY k ORDER BY n DESC, k LIMIT ?", [limit])
    return [r[0] for r in rows]


def field_path(field: str) -> str:
    """The JSON path of a top-level field, quoted so any key works."""
    return "$." + '"' + field.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value_sql(column: str) -> str:
    """A displayable text of the field `$2` in `column`: scalars as text, others as JSON."""
    return (f"CASE WHEN {column} IS NULL THEN '(deleted)' "
            f"WHEN json_type({column}) <> 'OBJECT' THEN '(not an object)' "
            f"WHEN json_exists({column}, $2) IS NOT TRUE THEN '(missing)' "
            f"WHEN json_type({column}, $2) IN ('OBJECT', 'ARRAY') "
            f"THEN CAST(json_extract({column}, $2) AS VARCHAR) "
            f"ELSE coalesce(json_extract_string({column}, $2), 'null') END")


VALUE_CHARS = 200
"""Longest value text a page gets; longer ones are cut, with their length said (a 1 MB string
field must not reach a chart or the browser whole)."""


def _cut(expr: str) -> str:
    """`expr` (text) cut at VALUE_CHARS characters, saying how long it was."""
    return (f"CASE WHEN length({expr}) > {VALUE_CHARS} THEN left({expr}, {VALUE_CHARS}) || "
            f"'… (' || length({expr}) || ' characters)' ELSE {expr} END")


def counts_by(con: db.Connection, result: AsOf, field: str, limit: int = 50) -> pa.Table:
    """Entities per value of a top-level field (`(missing)`, `(deleted)` included); values
    are grouped whole and shown cut (`VALUE_CHARS`)."""
    return db.arrow(con, f"SELECT {_cut('whole')} AS value, entities FROM ("
                         f"SELECT {_value_sql('state')} AS whole, count(*) AS entities "
                         f"FROM {quote_ident(result.table)} GROUP BY ALL "
                         f"ORDER BY entities DESC, whole LIMIT $1) ORDER BY entities DESC, whole",
                    [limit, field_path(field)])


def rows_page(con: db.Connection, result: AsOf, fields: list[str], *, prefix: str = "",
              limit: int = 200, offset: int = 0) -> pa.Table:
    """One page of entities with the chosen top-level fields as text columns."""
    cols = ", ".join(
        _cut(f"(CASE WHEN json_type(state, ${i + 4}) IN ('OBJECT', 'ARRAY') "
             f"THEN CAST(json_extract(state, ${i + 4}) AS VARCHAR) "
             f"ELSE json_extract_string(state, ${i + 4}) END)") + f" AS {quote_ident(f)}"
        for i, f in enumerate(fields))
    cols = (", " + cols) if cols else ""
    return db.arrow(con, f"SELECT entity_id, seq, ts, event_type, state IS NULL AS deleted"
                         f"{cols} FROM {quote_ident(result.table)} "
                         f"WHERE starts_with(entity_id, $1) ORDER BY entity_id "
                         f"LIMIT $2 OFFSET $3",
                    [prefix, limit, offset, *[field_path(f) for f in fields]])


@dataclass(frozen=True)
class Comparison:
    """How a population moved between T1 and T2."""

    created: int
    deleted: int
    changed: int
    unchanged: int
    counts: pa.Table  # value, at_t1, at_t2, delta
    transitions: pa.Table  # from_value, to_value, entities (only entities whose value moved)


def compare(con: db.Connection, a: AsOf, b: AsOf, field: str, limit: int = 50) -> Comparison:
    """Entities created, deleted and changed from `a` to `b`, and how counts of `field` moved.

    An entity counts as changed when it had events between the two times and its state text
    differs (JSON merge patch output is deterministic for the same events).
    """
    ta, tb = quote_ident(a.table), quote_ident(b.table)
    join = f"FROM {ta} x FULL OUTER JOIN {tb} y USING (entity_id)"
    created, deleted, changed, unchanged = db.rows(con, f"""
        SELECT count(*) FILTER (WHERE (x.entity_id IS NULL OR x.state IS NULL)
                                AND y.state IS NOT NULL),
               count(*) FILTER (WHERE x.state IS NOT NULL
                                AND (y.entity_id IS NULL OR y.state IS NULL)),
               count(*) FILTER (WHERE x.state IS NOT NULL AND y.state IS NOT NULL
                                AND x.event_id IS DISTINCT FROM y.event_id
                                AND CAST(x.state AS VARCHAR) <> CAST(y.state AS VARCHAR)),
               count(*) FILTER (WHERE x.state IS NOT NULL AND y.state IS NOT NULL
                                AND (x.event_id IS NOT DISTINCT FROM y.event_id
                                     OR CAST(x.state AS VARCHAR) = CAST(y.state AS VARCHAR)))
        {join}""")[0]
    path = field_path(field)
    va = _value_sql("x.state").replace("(deleted)", "(absent)")
    vb = _value_sql("y.state").replace("(deleted)", "(absent)")
    counts = db.arrow(con, f"""
        WITH v AS (SELECT {va} AS a, {vb} AS b {join}),
        c AS (SELECT value, sum(one)::BIGINT AS at_t1, sum(two)::BIGINT AS at_t2
              FROM (SELECT a AS value, 1 AS one, 0 AS two FROM v
                    UNION ALL SELECT b, 0, 1 FROM v) GROUP BY value)
        SELECT {_cut('value')} AS value, at_t1, at_t2, at_t2 - at_t1 AS delta FROM c
        ORDER BY greatest(at_t1, at_t2) DESC, value LIMIT $1""", [limit, path])
    transitions = db.arrow(con, f"""
        SELECT {_cut('a')} AS from_value, {_cut('b')} AS to_value, count(*) AS entities
        FROM (SELECT {va} AS a, {vb} AS b {join}) WHERE a <> b
        GROUP BY a, b ORDER BY entities DESC, a, b LIMIT $1""", [limit, path])
    return Comparison(created, deleted, changed, unchanged, counts, transitions)


def changed_page(con: db.Connection, a: AsOf, b: AsOf, field: str, *, limit: int = 200,
                 offset: int = 0) -> pa.Table:
    """Entities whose state differs between `a` and `b`, with the field's value at both times
    and the top-level fields that changed."""
    ta, tb = quote_ident(a.table), quote_ident(b.table)
    va = _value_sql("x.state").replace("(deleted)", "(absent)")
    vb = _value_sql("y.state").replace("(deleted)", "(absent)")
    keys = ("list_distinct(list_concat(coalesce(json_keys(x.state), []), "
            "coalesce(json_keys(y.state), [])))")
    return db.arrow(con, f"""
        SELECT entity_id, {_cut(f"({va})")} AS at_t1, {_cut(f"({vb})")} AS at_t2,
               array_to_string(list_sort(list_filter({keys}, lambda k:
                   json_extract(x.state, '$."' || replace(k, '"', '\\"') || '"')::VARCHAR
                   IS DISTINCT FROM
                   json_extract(y.state, '$."' || replace(k, '"', '\\"') || '"')::VARCHAR)),
                   ', ') AS changed_fields,
               x.seq AS seq_t1, y.seq AS seq_t2
        FROM {ta} x FULL OUTER JOIN {tb} y USING (entity_id)
        WHERE x.event_id IS DISTINCT FROM y.event_id
          AND CAST(x.state AS VARCHAR) IS DISTINCT FROM CAST(y.state AS VARCHAR)
        ORDER BY entity_id LIMIT $1 OFFSET $3""", [limit, field_path(field), offset])
