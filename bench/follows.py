"""What the "follows" facts (`store.follows`) cost: a whole rebuild on a store, then an
incremental refresh after a slice of new rows, and their size per event.

Usage: `python bench/follows.py COPY.duckdb [SLICE]`: COPY is written (give it a copy of
bench/.cache/demo-5000000.duckdb, never the shared file); its summaries are refreshed too
(Flow's rates read them). The slice (default 500,000 rows; 0: none) is
made of stored events moved later (seq + 1000, a month later, new offsets): most entities
it touches are appended; one row in twenty gets seq 0 instead (a late row that sorts
before its entity's stored events: the entity is recomputed whole).
Prints `follows_rebuild_s`, `follows_incremental_s`, `follows_bytes_per_event` and the
`CPU` seconds of each (the machine's cores are shared: wall time is noisy).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from _common import ROOT  # noqa: F401  (puts the repository on sys.path)

from eventlab.store import db, follows
from eventlab.store.eventstore import EventStore

TABLES = ("follows", "follows_entities", "follows_types")


def _timed(label: str, fn) -> object:
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    print(f"{label}_s={time.perf_counter() - t:.1f}  (cpu {time.process_time() - c:.1f} s; "
          f"{out})", flush=True)
    return out


def _size(cur: db.Connection) -> int:
    """Bytes of the facts' tables on disk: their distinct storage blocks times the block
    size (after a checkpoint)."""
    block = db.scalar(cur, "SELECT block_size FROM pragma_database_size()")
    return sum(block * db.scalar(cur, f"SELECT count(DISTINCT block_id) FROM "
                                      f"pragma_storage_info('{table}') WHERE persistent")
               for table in TABLES)


def main() -> None:
    path = Path(sys.argv[1])
    slice_rows = int(sys.argv[2]) if len(sys.argv) > 2 else 500_000
    with EventStore(path) as store:
        with store.transaction() as cur:
            cur.execute("DROP TABLE IF EXISTS follows_state")
        with store.reading() as cur:
            n = db.scalar(cur, "SELECT count(*) FROM events")
        print(f"# {n:,} events in {path}", flush=True)
        _timed("follows_rebuild", store.refresh_follows)
        with store.reading() as cur:
            cur.execute("CHECKPOINT")
            size = _size(cur)
            print(f"follows_bytes={size}  follows_bytes_per_event={size / n:.1f}")
        _timed("summaries_refresh", store.refresh_summaries)  # Flow's rates read these
        if not slice_rows:
            return
        with store.transaction() as cur:
            step = max(1, n // slice_rows)
            cur.execute(f"""
INSERT INTO events SELECT * REPLACE (
    CASE WHEN hash(rowid) % 20 = 0 THEN 0 ELSE seq + 1000 END AS seq,
    ts + INTERVAL 30 DAY AS ts, "offset" + 1000000000 AS "offset",
    event_id || '-late' AS event_id, now() AS ingested_at)
FROM events WHERE rowid % {step} = 0 LIMIT {slice_rows}""")
        _timed("follows_incremental", store.refresh_follows)
        with store.reading() as cur:
            touched = db.scalar(cur, "SELECT count(*) FROM follows_entities")
            print(f"# {touched:,} entities; facts fresh: {follows.fresh(cur)}")


if __name__ == "__main__":
    main()
