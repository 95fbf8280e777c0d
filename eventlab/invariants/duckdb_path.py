"""Check invariants inside DuckDB for the merge reducer: one pass per entity type.

The state after each event is never built as a whole: for each field path a condition reads,
each event either sets that path (its payload reaches it, replaces a parent with a non-object,
or the event deletes or replaces the state) or leaves it alone, and the path's value after an
event is the one set by the last event that set it, in stream order (`store.order`):
`last_value(... IGNORE NULLS)` over the entity's window. That is exactly RFC 7396 merge patch
read at those paths (see `touch_sql`), the rule of `replay.merge` and `asof.compute`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventlab.invariants import grammar
from eventlab.invariants.results import Result, Violation
from eventlab.invariants.spec import Invariant
from eventlab.invariants.sql import Compiler, extract, json_path
from eventlab.store import db
from eventlab.store.order import ORDER_SQL, WINDOW_SQL

_KIND = """CASE WHEN is_delete OR list_contains($2::VARCHAR[], event_type) THEN 'd'
     WHEN payload IS NULL THEN 'n'
     WHEN starts_with(payload, '{') THEN 'o'
     ELSE CASE json_type(payload) WHEN 'OBJECT' THEN 'o' WHEN 'NULL' THEN 'n' ELSE 'r' END
END"""


def touch_sql(steps: tuple[str | int, ...]) -> str:
    """A struct `{v}` when the event sets the path (v: its new JSON value, NULL when removed),
    else NULL. Key steps are walked while the payload holds an object there; the first key the
    payload lacks leaves the path alone, a non-object (or the last key) sets it."""
    full = extract("payload", steps)
    keys = [s for s in steps[:next((i for i, s in enumerate(steps) if isinstance(s, int)),
                                   len(steps))]]
    whens = ["WHEN kind = 'd' THEN {'v': NULL::JSON}",
             f"WHEN kind = 'r' THEN {{'v': {full}}}", "WHEN kind = 'n' THEN NULL"]
    for j in range(1, len(keys) + 1):
        here = f"json_type(payload, '{json_path(tuple(keys[:j]))}')"
        whens.append(f"WHEN {here} IS NULL THEN NULL")
        if j < len(keys):
            whens.append(f"WHEN {here} <> 'OBJECT' THEN {{'v': {full}}}")
    return "CASE " + " ".join(whens) + f" ELSE {{'v': {full}}} END"


def check_sql(invariants: Sequence[Invariant]) -> tuple[str, list[Any]]:
    """One query over the events of one entity type (`$1`; `$2`: delete types): per entity,
    for each invariant k, `c{k}` violating positions, `f{k}` the first violating event and
    `l{k}` the last violating position, and `n` its positions; only violating entities."""
    trees = [(inv.when_tree, inv.require_tree) for inv in invariants]
    paths: list[grammar.Path] = []
    for when, require in trees:
        for node in (when, require):
            if node is not None:
                paths.extend(p for p in grammar.paths(node) if p not in paths)
    columns = {p: f"p{i}" for i, p in enumerate(paths)}
    comp = Compiler(columns, first_param=3)
    bads = []
    for when, require in trees:
        bad = f"NOT {comp.cond(require)}"
        bads.append(bad if when is None else f"{comp.cond(when)} AND {bad}")
    touches = "".join(f", {touch_sql(p.steps)} AS t{i}" for i, p in enumerate(paths))
    lasts = "".join(f", (last_value(t{i} IGNORE NULLS) OVER w).v AS p{i}"
                    for i in range(len(paths)))
    flags = ", ".join(f"{b} AS b{k}" for k, b in enumerate(bads))
    aggs = ", ".join(
        f"count(*) FILTER (WHERE b{k}) AS c{k}, "
        f"arg_min(struct_pack(event_id, seq, ts, event_type), pos) FILTER (WHERE b{k}) AS f{k}, "
        f"max(pos) FILTER (WHERE b{k}) AS l{k}" for k in range(len(bads)))
    any_bad = " OR ".join(f"b{k}" for k in range(len(bads)))
    sql = f"""
WITH ev AS (
    SELECT entity_id, event_id, seq, ts, event_type, payload, "offset", source, topic,
           "partition", {_KIND} AS kind
    FROM events WHERE entity_type = $1
),
st AS (
    SELECT entity_id, event_id, seq, ts, event_type, payload,
           row_number() OVER w AS pos, count(*) OVER (PARTITION BY entity_id) AS n{lasts}
    FROM (SELECT *{touches} FROM ev)
    WINDOW w AS ({WINDOW_SQL} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
flagged AS (SELECT entity_id, event_id, seq, ts, event_type, pos, n, {flags} FROM st)
SELECT entity_id, any_value(n) AS n, {aggs}
FROM flagged WHERE {any_bad} GROUP BY entity_id ORDER BY entity_id
"""
    assert ORDER_SQL in WINDOW_SQL  # the stream order, defined once
    return sql, comp.params


def check(con: db.Connection, invariants: Sequence[Invariant],
          delete_types: Sequence[str] = ()) -> list[Result]:
    """Every invariant over every position of its entity type, one query per type."""
    by_type: dict[str, list[Invariant]] = {}
    for inv in invariants:
        by_type.setdefault(inv.entity_type, []).append(inv)
    results: dict[str, Result] = {}
    for entity_type, group in by_type.items():
        sql, params = check_sql(group)
        rows = db.rows(con, sql, [entity_type, list(delete_types), *params])
        entities, positions = db.rows(
            con, "SELECT count(DISTINCT entity_id), count(*) FROM events WHERE entity_type = ?",
            [entity_type])[0]
        for k, inv in enumerate(group):
            found = []
            for row in rows:
                n, count, first, last = row[1], row[2 + 3 * k], row[3 + 3 * k], row[4 + 3 * k]
                if count:
                    found.append(Violation(row[0], first["event_id"], first["seq"], first["ts"],
                                           first["event_type"], count, last < n))
            results[inv.name] = Result(inv, entities, positions, tuple(found), "duckdb")
    return [results[inv.name] for inv in invariants]
