"""The Flow page's queries on the 5M-event database (opened read-only): the rate chart, the
directly-follows transitions and the variants, over every entity and the whole time range.

Prints `raw_scan_ms` (DuckDB's bare scan of the columns the three read: entity_id, event_type,
ts, seq), then `rates_ms`, `transitions_ms` and `variants_ms` (medians of several runs), each
with `*_ratio`, its quotient by `raw_scan_ms` of the same run (issue 23: bar 8, aim 4).
Given a store path (a copy after `bench/follows.py`), it measures that store; when its
follows facts or summaries are fresh, the same calls run again with them switched off
(`*_scan_ms`, `*_scan_ratio`: the scans, as before the facts).
Wall time depends on what else runs on the machine's cores,
so each is also given as `*_cpu_ms`, the process's CPU time (both DuckDB threads) per query.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _common import CACHE, EVENTS, demo_db, median_ms

from eventlab import flow
from eventlab.store import db, follows, summaries
from eventlab.store.eventstore import EventStore

REPEAT = 5
RAW_SQL = "SELECT count(*), min(entity_id), max(event_type), max(ts), max(seq) FROM events"


def median_cpu_ms(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    """Median CPU time of this process (DuckDB's threads included) while `fn` runs: what
    the query costs however busy the machine's cores are with other work."""
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append((time.process_time() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    path = CACHE / f"demo-{EVENTS}.duckdb"
    if len(sys.argv) > 1:  # another store, e.g. a copy with the follows facts (bench/follows.py)
        path = Path(sys.argv[1])
    elif not (CACHE / f"demo-{EVENTS}.duckdb.complete2").exists():
        path = demo_db()  # builds it once (read-write); every measurement below is read-only
    with EventStore(path, read_only=True) as store:
        cur = store.cursor()
        scope = flow.Scope()
        n = db.scalar(cur, "SELECT count(*) FROM events")
        edges = flow.transitions(cur, scope)
        top = flow.variants(cur, scope, 10)
        print(f"# follows facts fresh: {follows.fresh(cur)}, summaries fresh: "
              f"{summaries.fresh(cur)} (stale or none: scans; `_scan` figures: switched off)")
        print(f"# {n:,} events; {edges.num_rows} transitions; "
              f"{top.num_rows} variants shown (10 per entity type); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        raw = median_ms(lambda: db.rows(cur, RAW_SQL), repeat=REPEAT)
        views = {"rates": lambda: flow.rates(cur, scope),
                 "transitions": lambda: flow.transitions(cur, scope),
                 "variants": lambda: flow.variants(cur, scope, 10)}
        passes = [""]
        if follows.fresh(cur) or summaries.fresh(cur):
            passes.append("_scan")  # the same calls with the facts and summaries switched off
        wall: dict[str, float] = {}
        cpu = {"raw_scan": median_cpu_ms(lambda: db.rows(cur, RAW_SQL))}
        fresh = follows.fresh, summaries.fresh
        for suffix in passes:
            if suffix:
                follows.fresh = summaries.fresh = lambda con: False
            for name, fn in views.items():
                wall[name + suffix] = median_ms(fn, repeat=REPEAT)
                cpu[name + suffix] = median_cpu_ms(fn)
        follows.fresh, summaries.fresh = fresh
    print(f"raw_scan_ms={raw:.1f}")
    for name, ms in wall.items():
        print(f"{name}_ms={ms:.1f}")
        print(f"{name}_ratio={ms / raw:.1f}  (bar 8, aim 4)")
    for name, ms in cpu.items():
        print(f"{name}_cpu_ms={ms:.1f}")
        if name != "raw_scan":
            print(f"{name}_cpu_ratio={ms / cpu['raw_scan']:.1f}")
    print(f"# load average {os.getloadavg()[0]:.1f} at the end (other processes share the "
          "cores: compare with raw_scan_ms of the same run)")


if __name__ == "__main__":
    main()
