"""Variants: each entity's complete sequence of event types in stream order, counted per
entity type (the process-mining "variant" of a case), and the entities that follow one.

Inside DuckDB: event types become small integer codes (alphabetical, `typecodes`), each
entity's events are collected unordered as one integer `seq << bits | code` and the list is
sorted (several times cheaper than an ordered aggregate of strings), and the code lists are
grouped. Equal seqs order by event type, as in the stream order (`store.order`). When the
store's "follows" facts are fresh and the scope has no time range, the entities' stored code
lists are grouped instead (`from_facts`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from eventlab.flow import from_facts
from eventlab.flow.scope import Scope, where
from eventlab.flow.typecodes import TypeCodes, type_codes
from eventlab.store import db

TOP = 20


SCHEMA = pa.schema([
    ("entity_type", pa.string()), ("variant", pa.list_(pa.string())), ("length", pa.int64()),
    ("entities", pa.int64()), ("share", pa.float64())])


def _sorted_codes(codes: TypeCodes) -> str:
    """Per entity (in a GROUP BY), its event-type codes in stream order: one BIGINT per
    event `seq << bits | code` when that fits, else a (seq, code) struct (slower)."""
    if codes.packable():
        mask = (1 << codes.bits) - 1
        packed = f"CAST((seq << {codes.bits}) | c AS {codes.packed_type()})"
        return f"list_transform(list_sort(list({packed})), lambda x: x & {mask})"
    return "list_transform(list_sort(list({'s': seq, 'c': c})), lambda x: x.c)"


def variants_sql(scope: Scope, codes: TypeCodes, top: int = TOP) -> tuple[str, list]:
    """The query: `entity_type, variant (list of event types), length, entities, share`,
    the `top` most common variants of each entity type."""
    sql, params = where(scope)
    text = f"""
WITH e AS (SELECT entity_type, entity_id, seq,
                  CAST(list_position(?, event_type) AS BIGINT) AS c FROM events{sql}),
v AS (SELECT entity_type, {_sorted_codes(codes)} AS codes
      FROM e GROUP BY entity_type, entity_id),
n AS (SELECT entity_type, codes, count(*) AS entities FROM v GROUP BY entity_type, codes),
r AS (SELECT entity_type, codes, entities,
             entities / sum(entities) OVER (PARTITION BY entity_type) AS share
      FROM n
      QUALIFY row_number() OVER (PARTITION BY entity_type ORDER BY entities DESC, codes) <= ?)
SELECT r.entity_type, list_transform(r.codes, lambda c: names.v[c]) AS variant,
       len(r.codes) AS length, r.entities, r.share
FROM r, (SELECT ? AS v) AS names
ORDER BY r.entity_type, r.entities DESC, r.codes"""
    return text, [list(codes.names), *params, top, list(codes.names)]


def variants(con: db.Connection, scope: Scope | None = None, top: int = TOP) -> pa.Table:
    """The `top` most common variants per entity type, with counts and share of entities."""
    if top < 1:
        raise ValueError("top must be >= 1")
    scope = scope or Scope()
    if from_facts.usable(con, scope, by_type=True):
        return from_facts.variants(con, scope, top, SCHEMA)
    codes = type_codes(con, scope)
    if not codes.names:
        return SCHEMA.empty_table()
    text, params = variants_sql(scope, codes, top)
    return db.arrow(con, text, params).cast(SCHEMA)


def variant_entities(con: db.Connection, entity_type: str, variant: Sequence[str],
                     scope: Scope | None = None, limit: int = 50) -> list[str]:
    """Ids of entities of `entity_type` whose sequence in the scope is exactly `variant`
    (first `limit`, by id)."""
    base = Scope(entity_type, *(scope.start, scope.end) if scope else (None, None))
    codes = type_codes(con, base)
    index = {name: i + 1 for i, name in enumerate(codes.names)}
    if not variant or any(name not in index for name in variant):
        return []
    sql, params = where(base)
    rows = db.rows(con, f"""
WITH e AS (SELECT entity_id, seq, CAST(list_position(?, event_type) AS BIGINT) AS c
           FROM events{sql})
SELECT entity_id FROM (
    SELECT entity_id, {_sorted_codes(codes)} AS codes FROM e
    GROUP BY entity_id HAVING count(*) = ?)
WHERE codes = ? ORDER BY entity_id LIMIT ?""",
                   [list(codes.names), *params, len(variant), [index[n] for n in variant],
                    limit])
    return [r[0] for r in rows]
