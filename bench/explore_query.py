"""Explore queries on the 5M-event database: a filtered page, the chart, one entity.

Prints `page_ms`, `chart_ms` and `entity_ms` (medians), each beside DuckDB's raw time for the
equivalent bare query in the same run (`raw_*_ms`).
"""

from __future__ import annotations

from _common import demo_db, median_ms

from eventlab import db, explore
from eventlab.store import EventStore


def main() -> None:
    path = demo_db()
    with EventStore(path) as store:
        cur = store.cursor()
        lo, hi = db.rows(cur, "SELECT min(ts), max(ts) FROM events")[0]
        types = [r[0] for r in db.rows(cur, "SELECT event_type FROM events GROUP BY 1 "
                                            "ORDER BY count(*) DESC LIMIT 3")]
        f = explore.Filters(start=lo + (hi - lo) / 4, end=lo + (hi - lo) * 3 / 4,
                            event_types=tuple(types), entity_prefix="order-0")
        entity = db.scalar(cur, "SELECT entity_id FROM (SELECT entity_id, count(*) n FROM "
                                "events GROUP BY 1) ORDER BY abs(n - 25), entity_id LIMIT 1")
        n_entity = db.scalar(cur, "SELECT count(*) FROM events WHERE entity_id = ?", [entity])
        total = explore.page(cur, f).total
        print(f"# {db.scalar(cur, 'SELECT count(*) FROM events'):,} events; filtered set "
              f"{total:,}; entity {entity} has {n_entity} events")
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
