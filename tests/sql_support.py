"""A store worth attacking (events, an investigation, audit rows) and its fingerprint: what no
user SQL may change (docs/safety.md, item 17)."""

from __future__ import annotations

from pathlib import Path

from helpers_files import flat_events, ingest, write_parquet

from eventlab.store import db
from eventlab.store.eventstore import EventStore

GUARDED_TABLES = ("events", "investigations", "audit_log", "quarantine")

CTE_DELETE = ("WITH x AS (DELETE FROM events WHERE true RETURNING event_id) "
              "SELECT event_id FROM x")
CTE_UPDATE = ("WITH f AS (UPDATE events SET value = encode('forged'), event_type = 'Forged' "
              "RETURNING event_id) SELECT event_id FROM f")
"""The two statements of issue 17 finding 1 (the CTE forms DuckDB classes as SELECT)."""


def seed(path: Path) -> Path:
    """A store at `path` with 12 events, one investigation and one audit row."""
    data = path.parent / f"{path.stem}-data"
    with EventStore(path) as store:
        ingest(store, write_parquet(data / "a.parquet", flat_events(12)))
        cur = store.cursor()
        db.rows(cur, "INSERT INTO investigations VALUES ('inv-1', 'incident', 'me', now(), "
                     "now(), '{}')")
        db.rows(cur, "INSERT INTO audit_log (actor, action, outcome) VALUES ('me', "
                     "'dry-run', 'planned')")
        cur.close()
    return path


def fingerprint(con: db.Connection) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent hash of every guarded table."""
    out = {}
    for table in GUARDED_TABLES:
        out[table] = tuple(db.rows(
            con, f"SELECT count(*), coalesce(md5(string_agg(h, ',' ORDER BY h)), '') "
                 f"FROM (SELECT md5(CAST(t AS VARCHAR)) AS h FROM {table} t)")[0])
    return out


def fingerprint_file(path: Path) -> dict[str, tuple[int, str]]:
    """`fingerprint` of a closed store file, opened read-only."""
    with EventStore(path, read_only=True) as store:
        cur = store.cursor()
        try:
            return fingerprint(cur)
        finally:
            cur.close()
