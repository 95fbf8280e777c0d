"""Explore queries on the 5M-event database: a filtered page, the chart, one entity.

Prints `page_ms`, `chart_ms` and `entity_ms` (medians), each beside DuckDB's raw time for the
equivalent bare query in the same run (`raw_*_ms`).
"""

from __future__ import annotations

from _common import ENTITY_25, demo_db, median_ms

from eventlab import explore
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def main() -> None:
    path = demo_db()
    with EventStore(path) as store:
        cur = store.cursor()
        lo, hi = db.rows(cur, "SELECT min(ts), max(ts) FROM events")[0]
        types = [r[0] for r in db.rows(cur, "SELECT event_type FROM events GROUP BY 1 "
                                            "ORDER BY count(*) DESC LIMIT 3")]
        start, end = lo + (hi - lo) / 4, lo + (hi - lo) * 3 / 4
        # An entity prefix that selects a slice of the orders placed in that window.
        mid = db.scalar(cur, "SELECT entity_id FROM events WHERE event_type = 'OrderPlaced' "
                             "AND ts >= ? ORDER BY ts LIMIT 1", [lo + (hi - lo) / 2])
        f = explore.Filters(start=start, end=end, event_types=tuple(types),
                            entity_prefix=mid[:9])
        entity = ENTITY_25
        n_entity = db.scalar(cur, "SELECT count(*) FROM events WHERE entity_id = ?", [entity])
        total = explore.page(cur, f).total
        print(f"# {db.scalar(cur, 'SELECT count(*) FROM events'):,} events; filtered set "
              f"{total:,} (prefix {f.entity_prefix!r}); entity {entity} has {n_entity} events")
        page_ms = median_ms(lambda: explore.page(cur, f, 3))
        chart_ms = median_ms(lambda: explore.counts_over_time(cur, f, "1 hour"))
        entity_ms = median_ms(lambda: explore.entity_events(cur, entity))
        raw_page = median_ms(lambda: db.arrow(
            cur, "SELECT * FROM events WHERE ts >= ? AND ts <= ? AND list_contains(?, "
                 "event_type) AND starts_with(entity_id, 'order-0') ORDER BY ts LIMIT 100 "
                 "OFFSET 300", [f.start, f.end, list(types)]))
        raw_entity = median_ms(lambda: db.arrow(
            cur, "SELECT * FROM events WHERE entity_id = ?", [entity]))
    print(f"raw_page_ms={raw_page:.1f}")
    print(f"raw_entity_ms={raw_entity:.1f}")
    print(f"page_ms={page_ms:.1f}")
    print(f"chart_ms={chart_ms:.1f}")
    print(f"entity_ms={entity_ms:.1f}")


if __name__ == "__main__":
    main()
