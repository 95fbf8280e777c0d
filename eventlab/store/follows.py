"""Per-data-version "follows" facts: one narrow row per stored event with its predecessor in
its entity's stream, kept in the store and refreshed incrementally (as `store.summaries`).

Flow's transitions and Quality's sequence check both pair each event with the previous one of
its entity: at tens of millions of events that is a sort of every event by entity (tens of
seconds, and past the temp-space limit in Quality's two-order form). These tables hold the
pairs once per data version, so the pages read a GROUP BY over integers:

- `follows`: per event, its rowid in `events`, entity type code `t`, event type code `c`,
  time `us` (epoch microseconds) and `seq`; its stream predecessor's code `pc`, time `pus`
  and seq `pseq` (`store.order`'s stream order); and `aseq`, the seq of its predecessor in
  arrival order (`quality.sequence_sql.ARRIVAL_ORDER`);
- `follows_entities`: per entity id, its entity type (the smallest, `mixed` when it has
  several), its event count, the rowids of its last event in stream and in arrival order
  (the tails an append is checked against), and its event-type codes in stream order (its
  variant);
- `follows_types`: the codes of event types (`kind` 'event') and entity types ('entity'):
  stable and append-only (a new type gets the next code); readers sort by name;
- `follows_state`: how many events they cover and the newest `ingested_at` among them.

`refresh` reads the rows ingested since the watermark: an entity whose new rows all sort
after its stored tail in both orders is appended; any other touched entity is recomputed from
`events` whole; counts that do not add up rebuild everything (in slices of entities, so one
pass never sorts more than `SLICE_EVENTS` rows). Ingest never waits for it: the Flow and
Quality pages refresh first (`EventStore.refresh_follows`), and a stale table is skipped.
"""

from __future__ import annotations

from typing import Any

from eventlab.store import db
from eventlab.store import watermark as wm

TABLES: tuple[str, ...] = ("follows", "follows_entities", "follows_types", "follows_state")
DDL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS follows (rid BIGINT, t USMALLINT, c USMALLINT, us BIGINT, "
    "seq BIGINT, pc USMALLINT, pus BIGINT, pseq BIGINT, aseq BIGINT)",
    "CREATE TABLE IF NOT EXISTS follows_entities (entity_id VARCHAR, entity_type VARCHAR, "
    "mixed BOOLEAN, n BIGINT, stail BIGINT, atail BIGINT, codes USMALLINT[])",
    "CREATE TABLE IF NOT EXISTS follows_types (kind VARCHAR, code USMALLINT, name VARCHAR)",
    "CREATE TABLE IF NOT EXISTS follows_state (covered BIGINT, watermark TIMESTAMPTZ)",
)
SLICE_EVENTS = 5_000_000
"""A rebuild sorts at most about this many events at once (slices of entities by hash)."""

_W = "__follows_w"
_COLUMNS = ('rowid AS rid, entity_id, entity_type, event_type, seq, ts, source, topic, '
            '"partition", "offset"')


STATE = "follows_state"


def state(con: db.Connection) -> wm.State | None:
    """The facts' coverage and the store's size now; None when there are no facts."""
    return wm.state(con, STATE)


def fresh(con: db.Connection) -> bool:
    """True when the facts exist and describe exactly the stored events."""
    return wm.fresh(con, STATE)


def mixed(con: db.Connection) -> bool:
    """True when some entity id has events of several entity types (fresh facts only): then
    an entity-type scope's streams are not the stored ones, and readers scan instead."""
    return bool(db.scalar(con, "SELECT count(*) FROM follows_entities WHERE mixed"))


def names(con: db.Connection, kind: str = "event") -> list[str]:
    """The type names by code: `names[code - 1]` (codes run from 1, without gaps)."""
    return [r[0] for r in db.rows(con, "SELECT name FROM follows_types WHERE kind = ? "
                                       "ORDER BY code", [kind])]


def code_of(con: db.Connection, name: str, kind: str = "entity") -> int | None:
    """The code of one type name, None when no stored event has it."""
    rows = db.rows(con, "SELECT code FROM follows_types WHERE kind = ? AND name = ?",
                   [kind, name])
    return int(rows[0][0]) if rows else None


def refresh(cur: db.Connection) -> str:
    """Bring the facts up to date inside the caller's write transaction (`store.watermark`):
    "fresh", "incremental" (only the rows ingested since) or "rebuilt"."""
    return wm.refresh(cur, STATE, DDL, _add, lambda c, s: _rebuild(c, s.events))


def _add_types(cur: db.Connection, where: str, params: list[Any]) -> None:
    """Give the event and entity types of the selected rows that have no code the next ones."""
    for kind, column in (("event", "event_type"), ("entity", "entity_type")):
        cur.execute(
            f"INSERT INTO follows_types SELECT ?, (SELECT coalesce(max(code), 0) FROM "
            f"follows_types WHERE kind = ?) + row_number() OVER (ORDER BY v), v FROM "
            f"(SELECT DISTINCT {column} AS v FROM events{where} EXCEPT "
            f"SELECT name FROM follows_types WHERE kind = ?)", [kind, kind, *params, kind])


def _window(cur: db.Connection, src: str, params: list[Any]) -> None:
    """Pair the rows of `src` (the `_COLUMNS` and `is_new`) with their predecessors in each
    entity's stream and arrival order, into the temporary table `_W`. Text sort keys are
    replaced by their rank among the values present (as `quality.sequence_sql` does); equal
    keys put stored rows (`is_new` false) first, then order by rowid (copies of one record
    stored twice: the first stored first), so a rebuild pairs them as appends did."""
    cur.execute(f"DROP TABLE IF EXISTS {_W}")
    cur.execute(f"""
CREATE TEMP TABLE {_W} AS
WITH src AS MATERIALIZED ({src}),
et AS (SELECT code, name, row_number() OVER (ORDER BY name) AS r FROM follows_types
       WHERE kind = 'event'),
tt AS (SELECT code, name FROM follows_types WHERE kind = 'entity'),
rs AS (SELECT v, row_number() OVER (ORDER BY v) AS r FROM (SELECT DISTINCT source AS v FROM src)),
rt AS (SELECT v, row_number() OVER (ORDER BY v) AS r FROM (SELECT DISTINCT topic AS v FROM src
       WHERE topic IS NOT NULL)),
k AS (SELECT src.rid, src.entity_id, src.entity_type, src.is_new, src.seq, src."offset",
             src."partition", et.code AS c, et.r AS cr, tt.code AS t, rs.r AS sr, rt.r AS tr,
             epoch_us(src.ts) AS us
      FROM src JOIN et ON src.event_type = et.name JOIN tt ON src.entity_type = tt.name
      JOIN rs ON src.source = rs.v LEFT JOIN rt ON src.topic = rt.v)
SELECT rid, entity_id, entity_type, is_new, t, c, us, seq,
       lag(c) OVER s AS pc, lag(us) OVER s AS pus, lag(seq) OVER s AS pseq,
       row_number() OVER s AS srn, lag(seq) OVER a AS aseq, row_number() OVER a AS arn
FROM k
WINDOW s AS (PARTITION BY entity_id
             ORDER BY seq, cr, us, "offset", sr, tr, "partition", is_new, rid),
       a AS (PARTITION BY entity_id ORDER BY sr, tr, "partition", "offset", is_new, rid)""",
                params)


def _store_window(cur: db.Connection) -> list[str]:
    """Store `_W`'s new rows: entities not stored yet are inserted, stored ones whose rows in
    `_W` (their tails, then the new rows) kept the tails first in both orders are appended.
    Returns the other entity ids (their new rows sort before stored ones: recompute them)."""
    cur.execute(f"""
CREATE OR REPLACE TEMP TABLE __follows_ok AS
SELECT entity_id, count(*) FILTER (WHERE NOT is_new) AS old,
       coalesce(max(srn) FILTER (WHERE NOT is_new), 0) = old
       AND coalesce(max(arn) FILTER (WHERE NOT is_new), 0) = old AS ok
FROM {_W} GROUP BY entity_id""")
    late = [r[0] for r in db.rows(cur, "SELECT entity_id FROM __follows_ok WHERE NOT ok "
                                       "ORDER BY entity_id")]
    cur.execute(f"""
INSERT INTO follows SELECT rid, t, c, us, seq, pc, pus, pseq, aseq FROM {_W}
WHERE is_new AND entity_id IN (SELECT entity_id FROM __follows_ok WHERE ok)""")
    cur.execute(f"""
CREATE OR REPLACE TEMP TABLE __follows_add AS
SELECT w.entity_id, min(entity_type) AS lo, max(entity_type) AS hi, count(*) AS n,
       arg_max(rid, srn) AS stail, arg_max(rid, arn) AS atail,
       CAST(list(c ORDER BY srn) AS USMALLINT[]) AS codes, any_value(o.old) AS old
FROM {_W} w JOIN __follows_ok o ON w.entity_id = o.entity_id AND o.ok
WHERE is_new GROUP BY w.entity_id""")
    cur.execute("""
UPDATE follows_entities f SET mixed = f.mixed OR a.lo <> f.entity_type OR a.hi <> f.entity_type,
    n = f.n + a.n, stail = a.stail, atail = a.atail, codes = list_concat(f.codes, a.codes)
FROM __follows_add a WHERE f.entity_id = a.entity_id AND a.old > 0""")
    cur.execute("""
INSERT INTO follows_entities SELECT entity_id, lo, lo <> hi, n, stail, atail, codes
FROM __follows_add WHERE old = 0""")
    for table in (_W, "__follows_ok", "__follows_add"):
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    return late


def _recompute(cur: db.Connection, where: str, params: list[Any]) -> None:
    """Pair every stored event of the entities `where` selects from scratch (their facts and
    entity rows must be gone)."""
    _window(cur, f"SELECT {_COLUMNS}, true AS is_new FROM events{where}", params)
    left = _store_window(cur)
    assert not left, left  # no stored rows, so every entity is new


def _rebuild(cur: db.Connection, events: int) -> None:
    for table in TABLES:
        cur.execute(f"DELETE FROM {table}")
    _add_types(cur, "", [])
    slices = max(1, -(-events // SLICE_EVENTS))
    for i in range(slices):
        where = f" WHERE hash(entity_id) % {slices} = {i}" if slices > 1 else ""
        _recompute(cur, where, [])
        wm.commit_slice(cur)


def _add(cur: db.Connection, watermark: Any) -> None:
    """Fold the rows ingested after `watermark` into the facts."""
    new = " WHERE ingested_at > ?"
    _add_types(cur, new, [watermark])
    tails = ("SELECT unnest([stail, atail]) FROM follows_entities WHERE entity_id IN "
             "(SELECT entity_id FROM events WHERE ingested_at > ?)")
    _window(cur, f"SELECT {_COLUMNS}, true AS is_new FROM events{new} UNION ALL "
                 f"SELECT {_COLUMNS}, false FROM events WHERE rowid IN ({tails})",
            [watermark, watermark])
    late = _store_window(cur)
    if not late:
        return
    cur.execute("CREATE OR REPLACE TEMP TABLE __follows_late (entity_id VARCHAR)")
    cur.execute("INSERT INTO __follows_late SELECT unnest(?)", [late])
    cur.execute("DELETE FROM follows WHERE rid IN (SELECT rowid FROM events WHERE entity_id "
                "IN (SELECT entity_id FROM __follows_late))")
    cur.execute("DELETE FROM follows_entities WHERE entity_id IN "
                "(SELECT entity_id FROM __follows_late)")
    _recompute(cur, " WHERE entity_id IN (SELECT entity_id FROM __follows_late)", [])
    cur.execute("DROP TABLE IF EXISTS __follows_late")
