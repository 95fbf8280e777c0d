"""Transitions and variants read from the store's "follows" facts (`store.follows`) when they
are fresh and the scope is every entity or one entity type with no time range: a GROUP BY
over one narrow row per event (transitions) or one row per entity (variants), instead of a
sort of every event by entity. Same tables as the scans in `transitions` and `variants`.

Fact codes are the facts' append-only dictionary (not alphabetical): names come from it by
code, and variants are ordered by their codes' alphabetical ranks, as the scan orders them.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from eventlab.flow.scope import Scope
from eventlab.store import db, follows


def usable(con: db.Connection, scope: Scope, by_type: bool = False) -> bool:
    """True when the facts answer for `scope`: fresh, no time range, and (for an entity
    type, or for answers `by_type` such as variants) every entity id of one entity type."""
    if scope.start is not None or scope.end is not None or not follows.fresh(con):
        return False
    return (scope.entity_type is None and not by_type) or not follows.mixed(con)


def _entity_code(con: db.Connection, scope: Scope) -> tuple[str, list[Any]] | None:
    """The facts' filter for the scope's entity type; None when no event has that type."""
    if scope.entity_type is None:
        return "", []
    code = follows.code_of(con, scope.entity_type)
    return None if code is None else (" WHERE t = ?", [code])


def transitions_sql(where: str, result_sql: str) -> str:
    """`transitions.SCHEMA`'s query over the facts `where` selects, ending in the scan's
    `result_sql` (params: the filter's, then the names by code)."""
    return f"""
WITH g AS (
    SELECT pc AS a, c AS b, count(*) AS n,
           quantile_cont(CASE WHEN us < pus THEN 0 ELSE us - pus END, [0.5, 0.95]) AS q,
           count(*) FILTER (WHERE us < pus) AS neg
    FROM follows{where} GROUP BY ALL),
edge_nodes AS (  -- ends: occurrences minus outgoing pairs
    SELECT i.b AS a, NULL AS b, i.n - coalesce(o.n, 0) AS n
    FROM (SELECT b, sum(n) AS n FROM g GROUP BY b) i
    LEFT JOIN (SELECT a, sum(n) AS n FROM g WHERE a IS NOT NULL GROUP BY a) o ON i.b = o.a),
{result_sql}"""


def transitions(con: db.Connection, scope: Scope, schema: pa.Schema,
                result_sql: str) -> pa.Table:
    """Every directly-follows transition in the scope, from the facts (`usable` first);
    `result_sql` is `transitions.result_sql()`, shared with the scan."""
    found = _entity_code(con, scope)
    if found is None:
        return schema.empty_table()
    where, params = found
    table = db.arrow(con, transitions_sql(where, result_sql), [*params, follows.names(con)])
    return table.cast(schema)


VARIANTS_SQL = """
WITH n AS (SELECT entity_type, codes, count(*) AS entities FROM follows_entities{where}
           GROUP BY ALL),
r AS (SELECT entity_type, codes, entities,
             entities / sum(entities) OVER (PARTITION BY entity_type) AS share,
             list_transform(codes, lambda c: ranks.v[c]) AS rk
      FROM n, (SELECT ? AS v) AS ranks
      QUALIFY row_number() OVER (PARTITION BY entity_type ORDER BY entities DESC, rk) <= ?)
SELECT r.entity_type, list_transform(r.codes, lambda c: names.v[c]) AS variant,
       len(r.codes) AS length, r.entities, r.share
FROM r, (SELECT ? AS v) AS names
ORDER BY r.entity_type, r.entities DESC, r.rk"""
"""`variants.SCHEMA`'s query over the entities' stored code lists (params: the filter's,
the alphabetical rank of each code, top, the names by code)."""


def variants(con: db.Connection, scope: Scope, top: int, schema: pa.Schema) -> pa.Table:
    """The `top` most common variants per entity type, from the facts (`usable` first)."""
    where, params = (" WHERE entity_type = ?", [scope.entity_type]) if scope.entity_type \
        else ("", [])
    names = follows.names(con)
    order = sorted(range(len(names)), key=lambda i: names[i])
    ranks = [0] * len(names)
    for rank, i in enumerate(order, 1):
        ranks[i] = rank
    return db.arrow(con, VARIANTS_SQL.format(where=where),
                    [*params, ranks, top, names]).cast(schema)
