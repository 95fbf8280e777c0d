"""Time travel on 5M events with one entity of 100,000 events.

The database is the cached 5M-event demo export plus one extra Parquet file holding a customer
with 100,000 events (register, then address and e-mail changes every few seconds), both
ingested with EventLab's own `ingest_paths` and cached under bench/.cache/.

Prints medians, each on its own line:
- `first_load_ms`: load that entity from the store and fold it (snapshots built), cold cache;
  `raw_fetch_ms` is DuckDB's raw Arrow fetch of the same events, `load_ratio` the quotient;
- `seek_ms`: show the state at a random position once the entity is loaded, as the page does
  (freshness query, state, diff); `seek_ratio` against the raw fetch;
- `asof_s`: the state of every order as of the middle of the week, materialised inside DuckDB
  by `asof.materialize`, as the As of page does: after bringing the current-state facts up to
  date (`asof_refresh_s`, once per data version), only the orders whose events straddle the
  time are folded; a comment line gives the same without the facts (every order event
  folded). `raw_scan_s` is a bare per-entity `arg_max` of the payload over the same rows,
  `asof_ratio` the quotient. Comment lines add the end of the week, for orders and for every
  type.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from _common import CACHE, demo_export, median_ms

BIG_ENTITY = "customer-bench-100k"
BIG_EVENTS = 100_000
DB = CACHE / "replay-5m.duckdb"
_START = datetime(2025, 3, 3, tzinfo=UTC)


def _big_entity_file() -> Path:
    """One customer with BIG_EVENTS events, in the demo's envelope shape."""
    from eventlab.demo.table import SCHEMA

    path = CACHE / "replay-big" / "big-entity.parquet"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    cities = ["Berlin", "Lyon", "Porto", "Gent", "Brno", "Turku", "Cork", "Split"]
    types, data, ts = [], [], []
    for i in range(BIG_EVENTS):
        city = rng.choice(cities)
        address = (f'{{"street": "Main St {rng.randint(1, 999)}", "city": "{city}", '
                   f'"zip": "{rng.randint(10000, 99999)}", "country": "EU"}}')
        if i == 0:
            types.append("CustomerRegistered")
            data.append(f'{{"customer_id": "{BIG_ENTITY}", "name": "Bench Mark", '
                        f'"email": "bench@example.com", "address": {address}, '
                        f'"status": "active"}}')
        elif i % 3:
            types.append("CustomerAddressChanged")
            data.append(f'{{"address": {address}}}')
        else:
            types.append("CustomerEmailChanged")
            data.append(f'{{"email": "bench{i}@example.com"}}')
        ts.append(_START + timedelta(seconds=6 * i, microseconds=rng.randint(0, 999_999)))
    table = pa.table({
        "id": [f"bench-{i:08d}" for i in range(BIG_EVENTS)],
        "type": types,
        "schemaVersion": pa.array([1] * BIG_EVENTS, pa.int32()),
        "aggregateType": ["customer"] * BIG_EVENTS,
        "aggregateId": [BIG_ENTITY] * BIG_EVENTS,
        "version": pa.array(range(1, BIG_EVENTS + 1), pa.int64()),
        "timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "data": data,
        "metadata": ['{"actor": "customer:bench", "source": "customer-service"}'] * BIG_EVENTS,
    }, schema=SCHEMA)
    pq.write_table(table, path, compression="zstd")
    return path


def replay_db() -> Path:
    """The 5M demo events plus the big entity, ingested once with `ingest_paths`."""
    from eventlab.ingest.file_ingest import ingest_paths
    from eventlab.store.eventstore import EventStore

    marker = DB.with_name(DB.name + ".complete")
    if not marker.exists():
        DB.unlink(missing_ok=True)
        t = time.perf_counter()
        export, big = demo_export(), _big_entity_file()
        with EventStore(DB, memory_limit="8GB") as store:
            ingest_paths(store, [str(export)])
            ingest_paths(store, [str(big)])
        marker.write_text("ok")
        print(f"# built {DB.name} in {time.perf_counter() - t:.1f} s", flush=True)
    return DB


@contextmanager
def _without_current_states() -> Iterator[None]:
    """As of as on a store whose current-state facts are stale: every event folded (the path
    before the page's first refresh), for comparison."""
    from eventlab.asof import compute

    fresh = compute._current_fresh
    compute._current_fresh = lambda con: False
    try:
        yield
    finally:
        compute._current_fresh = fresh


def main() -> None:
    from eventlab import asof, timetravel
    from eventlab.asof.current import refresh_store as refresh_current
    from eventlab.replay import MergeReducer
    from eventlab.store import db
    from eventlab.store.eventstore import EventStore

    path = replay_db()
    with EventStore(path, read_only=True) as store:
        cur = store.cursor()
        total = db.scalar(cur, "SELECT count(*) FROM events")
        n = db.scalar(cur, "SELECT count(*) FROM events WHERE entity_id = ?", [BIG_ENTITY])
        print(f"# {total:,} events; {BIG_ENTITY} has {n:,} events", flush=True)
        reducer = "merge"

        def raw() -> object:
            return db.arrow(cur, "SELECT * FROM events WHERE entity_id = ?", [BIG_ENTITY])

        def first_load() -> float:
            """Cold cache: query, build the events, fold them; freeing them is not timed."""
            cache = timetravel.FoldCache(max_folds=2)
            gc.collect()
            started = time.perf_counter()
            loaded = cache.get(cur, str(path), BIG_ENTITY, reducer, MergeReducer)
            elapsed = (time.perf_counter() - started) * 1000
            del loaded
            cache.clear()
            gc.collect()
            return elapsed

        raw_ms = median_ms(raw, repeat=9)
        first_load()  # warm up DuckDB's buffers and the code paths
        load_ms = statistics.median(first_load() for _ in range(7))
        cache = timetravel.FoldCache(max_folds=2)
        loaded = cache.get(cur, str(path), BIG_ENTITY, reducer, MergeReducer)
        rng = random.Random(3)

        def seek() -> object:
            """What the page does on a slider move: freshness check, then the state."""
            hit = cache.get(cur, str(path), BIG_ENTITY, reducer, MergeReducer)
            return timetravel.position(hit.fold, rng.randrange(len(hit.fold)))

        seek_ms = median_ms(seek, repeat=101, warmup=5)
        state_ms = median_ms(lambda: loaded.fold.state_at(rng.randrange(len(loaded.fold))),
                             repeat=101, warmup=5)
        print(f"# state_at alone {state_ms:.2f} ms; freshness query included in seek_ms",
              flush=True)
    with EventStore(path) as store:  # what the As of page does first, once per data version
        t = time.perf_counter()
        how = refresh_current(store)
        refresh_s = time.perf_counter() - t
    print(f"# asof_refresh_s={refresh_s:.2f} (current states {how}: once per data version)",
          flush=True)
    with EventStore(path, read_only=True) as store:
        cur = store.cursor()
        lo, hi = db.rows(cur, "SELECT min(ts), max(ts) FROM events")[0]
        at = lo + (hi - lo) / 2

        def materialize(when: object, entity_type: str | None, version: object) -> tuple:
            t = time.perf_counter()
            result = asof.materialize(cur, when, entity_type=entity_type, version=version)
            seconds = time.perf_counter() - t
            asof.drop(cur, result)
            return result, seconds

        asof_times, direct_times, raw_times = [], [], []
        for i in range(3):
            result, seconds = materialize(at, "order", ("bench", i))
            asof_times.append(seconds)
            with _without_current_states():
                direct_times.append(materialize(at, "order", ("bench-direct", i))[1])
            t = time.perf_counter()
            db.rows(cur, "SELECT count(*), sum(length(p)) FROM (SELECT entity_id, "
                         "arg_max(payload, seq) AS p FROM events WHERE entity_type = 'order' "
                         "AND ts <= ? GROUP BY ALL)", [at])
            raw_times.append(time.perf_counter() - t)
        asof_s, raw_s = statistics.median(asof_times), statistics.median(raw_times)
        for entity_type in ("order", None):
            end, seconds = materialize(hi, entity_type, "bench-end")
            print(f"# as of the end, {entity_type or 'all types'}: {end.entities:,} entities "
                  f"in {seconds:.2f} s", flush=True)
        print(f"# as of {at:%Y-%m-%d %H:%M} UTC: {result.entities:,} orders "
              f"(runs: {', '.join(f'{x:.2f}' for x in asof_times)} s; without the current "
              f"states: {', '.join(f'{x:.2f}' for x in direct_times)} s)", flush=True)
    print(f"raw_fetch_ms={raw_ms:.1f}")
    print(f"first_load_ms={load_ms:.1f}")
    print(f"load_ratio={load_ms / raw_ms:.1f}")
    print(f"seek_ms={seek_ms:.2f}")
    print(f"seek_ratio={seek_ms / raw_ms:.3f}")
    print(f"raw_scan_s={raw_s:.2f}")
    print(f"asof_s={asof_s:.2f}")
    print(f"asof_ratio={asof_s / raw_s:.1f}")


if __name__ == "__main__":
    main()
