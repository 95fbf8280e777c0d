"""Timing of projection divergence (not a test: run it by hand).

    .venv/bin/python bench/diverge.py [entities]

Builds (once, cached under bench/.cache/) a database of `entities` orders with three events
each (placed, paid, shipped: 3 events per order, 3 payload fields compared) and a read model
of one row per order with 1% of rows wrong, then times `diverge.compare` (whole report: counts,
per-field counts, the first 1,000 differences) against one DuckDB pass over the same events
(the last event per entity: `QUALIFY row_number()`), `ratio=` last. Bar: 15 s for 1M, goal 5 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import CACHE  # noqa: E402

from eventlab.diverge import ReadModelSpec, compare  # noqa: E402
from eventlab.store import db  # noqa: E402
from eventlab.store.eventstore import EventStore  # noqa: E402

BUILD = """
INSERT INTO events (event_id, entity_type, entity_id, event_type, event_version, seq, ts,
                    payload, metadata, source, "offset")
SELECT 'ev-' || i || '-' || s, 'order', printf('order-%08d', i),
       ['OrderPlaced', 'OrderPaid', 'OrderShipped'][s], 1, s,
       TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i * 3 + s),
       CASE s WHEN 1 THEN json_object('status', 'placed', 'total', (i % 997) * 1.5,
                                      'customer_id', 'customer-' || (i % 5000))
              WHEN 2 THEN json_object('status', 'paid', 'payment_id', 'pay-' || i)
              ELSE json_object('status', 'shipped', 'tracking', 'T' || i) END,
       '{}', 'bench', i * 3 + s
FROM range(?) r(i), range(1, 4) t(s)
"""
READ_MODEL = """
SELECT printf('order-%08d', i) AS id,
       CASE WHEN i % 100 = 7 THEN 'paid' ELSE 'shipped' END AS status,
       (i % 997) * 1.5 AS total, 'customer-' || (i % 5000) AS customer_id
FROM range(?) r(i)
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    path = CACHE / f"diverge-{n}.duckdb"
    marker = CACHE / f"diverge-{n}.complete"
    if not marker.exists():
        path.unlink(missing_ok=True)
        t = time.perf_counter()
        with EventStore(path, memory_limit="4GB") as store, store.transaction() as cur:
            db.rows(cur, BUILD, [n])
        marker.write_text("ok")
        print(f"# built {3 * n:,} events in {time.perf_counter() - t:.1f} s", flush=True)
    with EventStore(path, read_only=True) as store, store.reading() as cur:
        read_model = db.arrow(cur, READ_MODEL, [n])
        t = time.perf_counter()
        db.rows(cur, "SELECT count(*), count(DISTINCT payload->>'$.status') FROM (SELECT "
                     "entity_id, payload FROM events QUALIFY row_number() OVER (PARTITION BY "
                     "entity_id ORDER BY seq DESC) = 1)")
        one_pass = time.perf_counter() - t
        t = time.perf_counter()
        report = compare(cur, read_model, ReadModelSpec(tolerance=1e-6),
                         entity_type="order")
        took = time.perf_counter() - t
    assert report.counts["differ"] == n // 100 + (1 if n % 100 > 7 else 0), report.counts
    assert report.counts["match"] == n - report.counts["differ"], report.counts
    print(f"diverge {n:,} entities ({3 * n:,} events) vs a {n:,}-row read model: "
          f"{took:.2f} s (bar 15 s, goal 5 s); counts {report.counts}; "
          f"one DuckDB pass {one_pass:.2f} s; ratio={took / one_pass:.1f}")


if __name__ == "__main__":
    main()
