"""Directly-follows transitions within an entity, as pm4py's `discover_dfg` defines them.

An entity's events in stream order (`store.order`: seq, then type, time, source position),
each paired with the next event of the same entity. A transition A -> B counts those pairs;
its time is the next event's time minus this event's, summarised as the median and the 95th
percentile (`quantile_cont`, i.e. linear interpolation: numpy's and pandas' default).
Out-of-order times give a negative gap: it counts as 0 in the median and p95, and the pairs
are counted in `negative_gaps`.
Start and end of streams are the nodes START ("^") and END ("$"): ^ -> A counts entities whose
first event is A, A -> $ those whose last is A (pm4py's start and end activities).

Inside DuckDB over integer codes of the event types (`typecodes`): one sort of the scope by
(entity, seq, type, time) and a streaming `lag()` over it, checked in the same pass to have
arrived in sorted order (else the partitioned-window form runs). Ends (or starts) come from
the same aggregate (an event type's occurrences minus its outgoing, or incoming, pairs).
When the store's "follows" facts are fresh and the scope has no time range: one GROUP BY
over them instead (`from_facts`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from eventlab.flow import from_facts
from eventlab.flow.scope import Scope, where
from eventlab.flow.typecodes import type_codes
from eventlab.store import db

START = "^"
"""The node before each entity's first event."""
END = "$"
"""The node after each entity's last event."""

CODED_ORDER = "seq, c, us"
"""`store.order`'s stream order on the coded columns (type code `c` sorts as the type name,
`us` as the time). Rows it leaves tied differ only in source position, which changes no pair:
the same pairs as Explore's `follows` filter (`store.order.follows_clause`) selects."""

SCHEMA = pa.schema([
    ("from_type", pa.string()), ("to_type", pa.string()), ("count", pa.int64()),
    ("median_seconds", pa.float64()), ("p95_seconds", pa.float64()),
    ("negative_gaps", pa.int64())])


def result_sql(extra: str = "") -> str:
    """From `g` (a, b, n, q, neg; a NULL = START, b NULL = END) and `edge_nodes` to the
    result rows (plus the `extra` select items)."""
    return f"""
r AS (
    SELECT a, b, n, q[1] / 1e6 AS median_seconds, q[2] / 1e6 AS p95_seconds, neg FROM g
    UNION ALL
    SELECT a, b, n, NULL, NULL, 0 FROM edge_nodes WHERE n > 0)
SELECT coalesce(list_extract(names.v, r.a), '{START}') AS from_type,
       coalesce(list_extract(names.v, r.b), '{END}') AS to_type, r.n AS "count",
       r.median_seconds, r.p95_seconds, r.neg AS negative_gaps{extra}
FROM r, (SELECT ? AS v) AS names
ORDER BY "count" DESC, from_type, to_type"""


def transitions_sql(scope: Scope, names: Sequence[str]) -> tuple[str, list]:
    """The query: `from_type, to_type, count, median_seconds, p95_seconds, negative_gaps`,
    as a windowed `lead()` per entity.

    `names` are the scope's event types in alphabetical order (`typecodes`): the window
    sorts and carries their codes, in `CODED_ORDER`."""
    sql, params = where(scope)
    text = f"""
WITH e AS (
    SELECT entity_id, seq, epoch_us(ts) AS us,
           CAST(list_position(?, event_type) AS UINTEGER) AS c
    FROM events{sql}),
p AS (
    SELECT c AS a, lead(c) OVER w AS b, lead(us) OVER w - us AS gap
    FROM e WINDOW w AS (PARTITION BY entity_id ORDER BY {CODED_ORDER})),
g AS (
    SELECT a, b, count(*) AS n,
           quantile_cont(CASE WHEN gap < 0 THEN 0 ELSE gap END, [0.5, 0.95]) AS q,
           count(*) FILTER (WHERE gap < 0) AS neg
    FROM p GROUP BY a, b),
edge_nodes AS (  -- starts: occurrences minus incoming pairs
    SELECT NULL AS a, o.a AS b, o.n - coalesce(i.n, 0) AS n
    FROM (SELECT a, sum(n) AS n FROM g GROUP BY a) o
    LEFT JOIN (SELECT b, sum(n) AS n FROM g WHERE b IS NOT NULL GROUP BY b) i ON o.a = i.b),
{result_sql()}"""
    return text, [list(names), *params, list(names)]


def sorted_stream_sql(scope: Scope, names: Sequence[str]) -> tuple[str, list]:
    """The same result from one global sort and a streaming `lag()` over it (about a third
    less CPU than the partitioned window on 5M events), plus a `disorder` count: the rows
    whose predecessor in the stream sorts after them. Only when it is 0 did the stream
    arrive in sorted order, and then the pairs are exactly the window's; else the caller
    runs `transitions_sql` instead."""
    sql, params = where(scope)
    same = "pe = entity_id"
    text = f"""
WITH e AS (
    SELECT entity_id, seq, epoch_us(ts) AS us,
           CAST(list_position(?, event_type) AS UINTEGER) AS c
    FROM events{sql}),
s AS (SELECT * FROM e ORDER BY entity_id, {CODED_ORDER}),
l AS (
    SELECT entity_id, seq, c, us, lag(entity_id) OVER () AS pe, lag(seq) OVER () AS ps,
           lag(c) OVER () AS pc, lag(us) OVER () AS pu
    FROM s),
g0 AS (
    SELECT CASE WHEN {same} THEN pc END AS a, c AS b, count(*) AS n,
           quantile_cont(CASE WHEN {same} THEN (CASE WHEN us < pu THEN 0 ELSE us - pu END)
                         END, [0.5, 0.95]) AS q,
           count(*) FILTER (WHERE {same} AND us < pu) AS neg,
           count(*) FILTER (WHERE pe > entity_id OR ({same} AND (ps > seq OR (ps = seq AND
                            (pc > c OR (pc = c AND pu > us)))))) AS disorder
    FROM l GROUP BY ALL),
g AS (SELECT a, b, n, q, neg FROM g0),
edge_nodes AS (  -- ends: occurrences minus outgoing pairs
    SELECT i.b AS a, NULL AS b, i.n - coalesce(o.n, 0) AS n
    FROM (SELECT b, sum(n) AS n FROM g GROUP BY b) i
    LEFT JOIN (SELECT a, sum(n) AS n FROM g WHERE a IS NOT NULL GROUP BY a) o ON i.b = o.a),
{result_sql(", (SELECT sum(disorder) FROM g0) AS disorder")}"""
    return text, [list(names), *params, list(names)]


def transitions(con: db.Connection, scope: Scope | None = None) -> pa.Table:
    """Every directly-follows transition in the scope, most frequent first."""
    scope = scope or Scope()
    if from_facts.usable(con, scope):
        return from_facts.transitions(con, scope, SCHEMA, result_sql())
    codes = type_codes(con, scope)
    if not codes.names:
        return SCHEMA.empty_table()
    text, params = sorted_stream_sql(scope, codes.names)
    table = db.arrow(con, text, params)
    if table.num_rows and table.column("disorder")[0].as_py() == 0:
        return table.drop_columns(["disorder"]).cast(SCHEMA)
    text, params = transitions_sql(scope, codes.names)
    return db.arrow(con, text, params).cast(SCHEMA)


def duration(seconds: float | None) -> str:
    """A time between events as people read it: 850 ms, 12.3 s, 4.5 min, 2.0 h, 1.5 d."""
    if seconds is None or seconds != seconds:  # None or NaN
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
