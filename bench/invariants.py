"""The demo shop's three invariants over the benchmark store (merge reducer, DuckDB path),
beside one plain DuckDB pass over the same events in the same run.

`python bench/invariants.py [EVENTS]` (default 5,000,000; the store is built once and cached
under bench/.cache/). Prints `raw_pass_s` (one scan of the same events reading the same
columns, each payload parsed once), `invariants_s` (all three invariants, median of three
runs), the findings, and `ratio=` last. Bar: invariants_s at most 10 s, goal under 3 s.
"""

from __future__ import annotations

import statistics
import sys
import time

from _common import EVENTS, demo_db

from eventlab import invariants
from eventlab.invariants.spec import DEMO_FILE
from eventlab.store import db
from eventlab.store.eventstore import EventStore

RUNS = 3
RAW = """SELECT count(*), max(entity_id), max(seq), max(ts), max(event_type), max("offset"),
       count(*) FILTER (WHERE json_type(payload) = 'OBJECT')
FROM events WHERE entity_type = 'order'"""


def _timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else EVENTS
    path = demo_db(events)
    rules = invariants.load_file(DEMO_FILE)
    with EventStore(path, read_only=True) as store:
        cur = store.cursor()
        total = db.scalar(cur, "SELECT count(*) FROM events")
        raws, runs = [], []
        for _ in range(RUNS):
            raws.append(_timed(lambda: db.rows(cur, RAW))[1])
            runs.append(_timed(lambda: invariants.run(cur, rules)))
    results = runs[0][0]
    raw = statistics.median(raws)
    took = statistics.median(s for _, s in runs)
    print(f"# {total:,} events, {results[0].positions:,} order positions, "
          f"{results[0].entities:,} orders")
    for r in results:
        print(f"# {r.invariant.name}: {len(r.violations):,} entities, "
              f"{r.violating_positions:,} positions, {r.recovered:,} recover")
    print(f"raw_pass_s={raw:.2f}")
    print(f"invariants_s={took:.2f}")
    print(f"ratio={took / raw:.1f}")


if __name__ == "__main__":
    main()
