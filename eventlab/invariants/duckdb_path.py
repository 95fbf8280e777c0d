"""Check invariants inside DuckDB for the merge reducer: one pass per entity type.

The state after each event is never built as a whole: for each field path a condition reads,
each event either sets that path (its payload reaches it, replaces a parent with a non-object,
or the event deletes or replaces the state) or leaves it alone, and the path's value after an
event is the one set by the last event that set it in its entity's stream (`store.order`).
That is exactly RFC 7396 merge patch read at those paths (see `touch_sql`), the rule of
`replay.merge` and `asof.compute`.

How it stays one fast pass: every payload is parsed once (one multi-path `json_extract` of
all the paths and their parents); the events are sorted once by entity and stream order; then
only streaming windows over that order run (`OVER ()`, no partition): the row number of the
last setter of each path is a running `max`, and its value is `lag(value, distance)`. The
first event of an entity counts as a setter of every path (absent unless it sets it), so
nothing leaks from one entity to the next.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eventlab.invariants import grammar
from eventlab.invariants.results import Result, Violation
from eventlab.invariants.spec import Invariant
from eventlab.invariants.sql import Compiler, json_path
from eventlab.store import db
from eventlab.store.order import ORDER_SQL

_KIND = """CASE WHEN is_delete OR list_contains($2::VARCHAR[], event_type) THEN 'd'
     WHEN payload IS NULL THEN 'n'
     WHEN starts_with(payload, '{') THEN 'o'
     ELSE CASE json_type(payload) WHEN 'OBJECT' THEN 'o' WHEN 'NULL' THEN 'n' ELSE 'r' END
END"""
_RUNNING = "OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"


def _keys(steps: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The leading object keys of a path (up to its first list index)."""
    cut = next((i for i, s in enumerate(steps) if isinstance(s, int)), len(steps))
    return steps[:cut]


def extracted(paths: Sequence[grammar.Path]) -> list[str]:
    """The JSON paths one `json_extract` call reads per event: each path and its parents."""
    out: list[str] = []
    for p in paths:
        keys = _keys(p.steps)
        for j in range(1, len(keys) + 1):
            if json_path(keys[:j]) not in out:
                out.append(json_path(keys[:j]))
        if json_path(p.steps) not in out:
            out.append(json_path(p.steps))
    return out


def touch_sql(steps: tuple[str | int, ...], at: dict[str, int]) -> tuple[str, str]:
    """(whether the event sets the path, its new JSON value, NULL when removed), reading the
    extracted list `j` (`at`: index of each JSON path in it). Key steps are walked while the
    payload holds an object there; the first key it lacks leaves the path alone, a non-object
    (or the last key) sets it; a delete or a non-object payload sets every path."""
    full = f"nullif(j[{at[json_path(steps)]}], 'null'::JSON)"
    keys = _keys(steps)
    whens = ["WHEN kind IN ('d', 'r') THEN true", "WHEN kind = 'n' THEN false"]
    for k in range(1, len(keys) + 1):
        here = f"j[{at[json_path(keys[:k])]}]"
        whens.append(f"WHEN {here} IS NULL THEN false")
        if k < len(keys):
            whens.append(f"WHEN json_type({here}) <> 'OBJECT' THEN true")
    touched = "CASE " + " ".join(whens) + " ELSE true END"
    value = f"CASE WHEN kind = 'd' THEN NULL ELSE {full} END"
    return touched, value


def _carry(column: str, touched: str, name: str, kind: str) -> str:
    """`name`: the value of `column` at the last row (of this entity) where `touched` held.
    A boolean rides in a running integer max (row number * 4 + its code: fast); other values
    in a running `arg_max_null` (NULL is a value to carry, not a row to skip)."""
    if kind == "bool":
        code = f"CASE {column} WHEN true THEN 1 WHEN false THEN 0 ELSE 2 END"
        last = f"max(CASE WHEN first OR {touched} THEN rn * 4 + {code} END) {_RUNNING}"
        return f", CASE ({last}) % 4 WHEN 1 THEN true WHEN 0 THEN false END AS {name}"
    return f", arg_max_null({column}, rn) FILTER (WHERE first OR {touched}) {_RUNNING} AS {name}"


def check_sql(invariants: Sequence[Invariant]) -> tuple[str, list[Any]]:
    """One query over the events of one entity type (`$1`; `$2`: delete types): per entity,
    for each invariant k, `c{k}` violating positions, `f{k}` the first violating event and
    `e{k}` whether the last position violates; only violating entities."""
    trees = [(inv.when_tree, inv.require_tree) for inv in invariants]
    paths: list[grammar.Path] = []
    for when, require in trees:
        for node in (when, require):
            if node is not None:
                paths.extend(p for p in grammar.paths(node) if p not in paths)
    columns = {p: f"p{i}" for i, p in enumerate(paths)}
    comp = Compiler(columns, first_param=3, per_event={p: f"v{i}" for i, p in enumerate(paths)})
    bads = []
    for when, require in trees:
        bad = f"NOT {comp.cond(require)}"
        bads.append(bad if when is None else f"{comp.cond(when)} AND {bad}")
    json_paths = extracted(paths)
    at = {jp: i + 1 for i, jp in enumerate(json_paths)}
    extract = ("json_extract(payload, [" + ", ".join(f"'{jp}'" for jp in json_paths) + "])"
               if json_paths else "NULL::JSON[]")
    payload = ", payload" if _reads_payload(trees) else ""
    touches = "".join(f", {t} AS t{i}, {v} AS v{i}"
                      for i, (t, v) in ((i, touch_sql(p.steps, at)) for i, p in enumerate(paths)))
    hoisted = "".join(f", {sql} AS h{k}" for k, (_, sql, _) in enumerate(comp.hoisted))
    text = " ".join(bads)
    bare = [i for i in range(len(paths)) if re.search(rf"\bp{i}\b", text)]
    keep = ", ".join(["entity_id", "r", "event_type", *(["payload"] if payload else []),
                      *(f"t{i}" for i in range(len(paths))), *(f"v{i}" for i in bare),
                      *(f"h{k}" for k in range(len(comp.hoisted)))])
    carried = "".join(f", arg_max_null(v{i}, rn) FILTER (WHERE first OR t{i}) {_RUNNING} AS p{i}"
                      for i in bare)
    carried += "".join(_carry(f"h{k}", f"t{paths.index(p)}", f"hc{k}", k_kind)
                       for k, (p, _, k_kind) in enumerate(comp.hoisted))
    flags = ", ".join(f"{b} AS b{k}" for k, b in enumerate(bads))
    aggs = ", ".join(f"count(*) FILTER (WHERE b{k}) AS c{k}, arg_min(r, rn) FILTER (WHERE b{k}) "
                     f"AS f{k}, bool_or(b{k} AND last) AS e{k}" for k in range(len(bads)))
    any_bad = " OR ".join(f"b{k}" for k in range(len(bads)))
    sql = f"""
WITH parsed AS (
    SELECT entity_id, rowid AS r{payload}, {ORDER_SQL}, {_KIND} AS kind, {extract} AS j
    FROM events WHERE entity_type = $1
),
touched AS (SELECT *{touches} FROM parsed),
hoist AS (SELECT *{hoisted} FROM touched),
sorted AS (SELECT {keep} FROM hoist ORDER BY entity_id, {ORDER_SQL}),
marked AS (
    SELECT *, row_number() OVER () AS rn,
           entity_id IS DISTINCT FROM lag(entity_id) OVER () AS first,
           entity_id IS DISTINCT FROM lead(entity_id) OVER () AS last
    FROM sorted
),
st AS (SELECT *{carried} FROM marked),
flagged AS (SELECT entity_id, r, rn, last, {flags} FROM st)
SELECT entity_id, {aggs}
FROM flagged WHERE {any_bad} GROUP BY entity_id ORDER BY entity_id
"""
    return sql, comp.params


def _reads_payload(trees: Sequence[tuple[Any, Any]]) -> bool:
    """Whether a condition reads `event.payload` (then the sort carries the payload)."""
    return any(isinstance(n, grammar.Path) and n.root == "payload"
               for pair in trees for node in pair if node is not None
               for n in grammar.walk(node))


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
        firsts = sorted({row[2 + 3 * k] for row in rows for k in range(len(group))} - {None})
        events = {r: (eid, seq, ts, etype) for r, eid, seq, ts, etype in db.rows(
            con, "SELECT rowid, event_id, seq, ts, event_type FROM events "
                 "WHERE rowid IN (SELECT unnest($1::BIGINT[]))", [firsts])}
        entities, positions = db.rows(
            con, "SELECT count(DISTINCT entity_id), count(*) FROM events WHERE entity_type = ?",
            [entity_type])[0]
        for k, inv in enumerate(group):
            found = []
            for row in rows:
                count, first, at_end = row[1 + 3 * k], row[2 + 3 * k], row[3 + 3 * k]
                if count:
                    found.append(Violation(row[0], *events[first], count, not at_end))
            results[inv.name] = Result(inv, entities, positions, tuple(found), "duckdb")
    return [results[inv.name] for inv in invariants]
