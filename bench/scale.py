"""50 million events on one machine: build the store once, then time every page's first answer.

Build (once; reused while its markers exist), under $EVENTLAB_SCALE_DIR (default
/work/scale-data, outside the repository):
1. `base-<BASE>/`: the demo generator's hive-partitioned Parquet export of BASE events.
2. `parquet/copy=NN/day=.../*.parquet`: COPIES copies of the base made inside DuckDB, copy k
   with its entity ids suffixed `-kK`, event/correlation/causation ids prefixed `kK` (not a
   hex digit: never a real id; payloads are copied as they are: string functions only, a
   regexp over every payload tripled the copy time), and times and day folders moved k
   spans later: a history COPIES times longer, not one week stacked up (snappy, not zstd:
   cheaper to write; each copy is written while the one before is ingested). Plus
   `parquet/copy=planted/`: one customer with 1,000 events (Time travel's 1k-event entity).
3. `scale-<N>.duckdb`: `eventlab ingest` of one copy at a time, printing the rate per slice
   (does it stay flat as the store grows?) and the store size in bytes per event.

Then measures, with the functions the pages call (median of a few runs, first run shown too):
Explore's first page and a filtered page, one entity's events, Time travel's first load of
the 1k-event entity, As of for one type (the current-state refresh, then the midpoint and
the page's default time: the minute after the last event), Flow's three views, Quality's
checks, an export of 1M rows, and the app's peak RSS with Explore rendered (headless
Chromium, as app_memory.py).

    nice -n 10 .venv/bin/python bench/scale.py            # build if needed, then measure
    nice -n 10 .venv/bin/python bench/scale.py --build    # build only
    EVENTLAB_SCALE_COPIES=2 ... bench/scale.py            # a smaller store (2 x 5M)
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import ROOT

SCALE_DIR = Path(os.environ.get("EVENTLAB_SCALE_DIR", "/work/scale-data"))
BASE = int(os.environ.get("EVENTLAB_SCALE_BASE", "5000000"))
COPIES = int(os.environ.get("EVENTLAB_SCALE_COPIES", "10"))
SEED = 7
ENTITY_1K = "customer-scale1k"
ENTITY_1K_EVENTS = 1000
EXPORT_ROWS = 1_000_000


def _say(text: str) -> None:
    print(text, flush=True)


def base_export() -> Path:
    """The demo generator's export of BASE events (generated once)."""
    from eventlab.demo import write_export

    out = SCALE_DIR / f"base-{BASE}"
    if not (out / ".complete").exists():
        t = time.perf_counter()
        write_export(out, events=BASE, seed=SEED)
        (out / ".complete").write_text("ok")
        _say(f"# generated {BASE:,} demo events in {time.perf_counter() - t:.1f} s")
    return out


def _copy_sql(base: Path, k: int, shift_days: int) -> str:
    """Copy k of the base: event, correlation, causation and entity ids and times shifted."""
    src = f"read_parquet('{base}/day=*/*.parquet', hive_partitioning = true)"
    if k == 0:
        return f"SELECT * EXCLUDE (day), CAST(day AS DATE) AS d FROM {src}"
    tag = f"k{k}"
    shift = f"INTERVAL {k * shift_days} DAY"
    return (
        f"SELECT '{tag}' || id AS id, type, schemaVersion, aggregateType, "
        f"aggregateId || '-{tag}' AS aggregateId, version, timestamp + {shift} AS timestamp, "
        f"data, replace(replace(metadata, '\"correlation_id\":\"', "
        f"'\"correlation_id\":\"{tag}'), '\"causation_id\":\"', "
        f"'\"causation_id\":\"{tag}') AS metadata, "
        f"CAST(CAST(day AS DATE) + {shift} AS DATE) AS d FROM {src}")


def planted_entity(folder: Path) -> None:
    """One customer with ENTITY_1K_EVENTS events, in the base's shape."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = ENTITY_1K_EVENTS
    folder.mkdir(parents=True, exist_ok=True)
    ts = pa.array([1741003200_000000 + i * 600_000_000 for i in range(n)],
                  pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({
        "id": [f"scale1k-{i:04d}" for i in range(n)],
        "type": ["CustomerRegistered"] + ["CustomerAddressChanged"] * (n - 1),
        "schemaVersion": pa.array([2] * n, pa.int32()),
        "aggregateType": ["customer"] * n, "aggregateId": [ENTITY_1K] * n,
        "version": pa.array(range(1, n + 1), pa.int64()), "timestamp": ts,
        "data": [f'{{"customer_id": "{ENTITY_1K}", "address": {{"city": "City {i}", '
                 f'"street": "Street {i % 97}"}}}}' for i in range(n)],
        "metadata": ['{"correlation_id": "scale1k", "actor": "bench"}'] * n,
    }), folder / "part-0.parquet")


def parquet_copies() -> Iterator[Path]:
    """The planted entity, then the COPIES copies as hive Parquet, each yielded once it is
    on disk (made once: a folder with its `.complete` marker is reused)."""
    import duckdb

    out = SCALE_DIR / "parquet"
    out.mkdir(parents=True, exist_ok=True)
    planted = out / "copy=planted"
    if not (planted / ".complete").exists():
        planted_entity(planted / "day=2025-03-03")
        (planted / ".complete").write_text("ok")
    yield planted
    base = None
    con = None
    for k in range(COPIES):
        folder = out / f"copy={k:02d}"
        if not (folder / ".complete").exists():
            base = base or base_export()
            if con is None:
                con = duckdb.connect(config={"threads": 2, "memory_limit": "4GB"})
                lo, hi = con.execute(f"SELECT min(day), max(day) FROM read_parquet("
                                     f"'{base}/day=*/*.parquet', hive_partitioning = true)"
                                     ).fetchall()[0]
                span = (hi - lo).days + 1
            t = time.perf_counter()
            con.execute(f"COPY (SELECT * EXCLUDE (d), strftime(d, '%Y-%m-%d') AS day FROM "
                        f"({_copy_sql(base, k, span)})) TO '{folder}' (FORMAT parquet, "
                        f"PARTITION_BY (day), COMPRESSION {'zstd' if k == 0 else 'snappy'}, "
                        f"ROW_GROUP_SIZE 100000, FILENAME_PATTERN 'part-{{i}}', "
                        f"OVERWRITE_OR_IGNORE true)")
            (folder / ".complete").write_text("ok")
            _say(f"# copy {k}: {time.perf_counter() - t:.1f} s")
        yield folder
    if con is not None:
        con.close()


def _ahead(items: Iterator[Path]) -> Iterator[Path]:
    """`items` made in a thread, one ahead of the consumer: the next copy is written while
    this one is ingested (DuckDB releases the GIL)."""
    q: queue.Queue[Path | BaseException | None] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            for item in items:
                q.put(item)
            q.put(None)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    threading.Thread(target=run, daemon=True).start()
    while (item := q.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item


def build() -> Path:
    """The store: each slice loaded with `eventlab ingest`, its rate printed (once)."""
    path = SCALE_DIR / f"scale-{BASE * COPIES}.duckdb"
    log = SCALE_DIR / f"scale-{BASE * COPIES}.ingest.jsonl"
    done = {json.loads(line)["slice"]: json.loads(line) for line in
            (log.read_text().splitlines() if log.exists() else [])}
    for folder in _ahead(parquet_copies()):
        if folder.name not in done:
            t = time.perf_counter()
            res = subprocess.run([str(Path(sys.executable).parent / "eventlab"), "ingest",
                                  str(folder), "--db", str(path), "--json"],
                                 cwd=ROOT, capture_output=True, text=True, check=True)
            secs = time.perf_counter() - t
            report = json.loads(res.stdout)
            row = {"slice": folder.name, "stored": report["rows_stored"], "seconds": secs,
                   "ingest_seconds": report["seconds"], "db_bytes": path.stat().st_size,
                   "quarantined": report["rows_quarantined"]}
            done[row["slice"]] = row
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
        row = done[folder.name]
        total = sum(r["stored"] for r in done.values()
                    if list(done).index(r["slice"]) <= list(done).index(folder.name))
        _say(f"ingest_slice {row['slice']}: {row['stored']:,} events in {row['seconds']:.1f} s"
             f" = {row['stored'] / row['seconds']:,.0f} events/s (store {total:,} events, "
             f"{row['db_bytes'] / 1e9:.2f} GB)")
    from eventlab.quality import shapes
    from eventlab.store.eventstore import EventStore

    with EventStore(path) as store:  # a store loaded before the summaries existed
        t = time.perf_counter()
        did = store.refresh_summaries()
        _say(f"# summaries: {did} in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()  # what the Quality page refreshes before it checks
        did = shapes.refresh_store(store)
        _say(f"quality_shapes_refresh_s={time.perf_counter() - t:.2f}  ({did}: once per store, "
             "then the new rows only)")
        t = time.perf_counter()  # Flow's and Quality's pairs, once per data version
        did = store.refresh_follows()
        _say(f"follows_refresh_s={time.perf_counter() - t:.1f}  ({did}; store.follows)")
        search_index_refresh(store)
    return path


def search_index_refresh(store: Any) -> None:
    """Build or refresh Explore's search skip index (`explore.search_index`) and say its size
    and its filters' estimated false-positive rate per trigram."""
    from eventlab.explore import search_index
    from eventlab.store import db

    t = time.perf_counter()
    did = store.refresh_lazily(search_index.fresh, search_index.refresh)
    secs = time.perf_counter() - t
    with store.reading() as cur:
        s = search_index.stats(cur)
        n = db.scalar(cur, "SELECT count(*) FROM events")
    _say(f"search_index_refresh_s={secs:.1f}  ({did}; {s['blocks']} blocks, "
         f"{s['bytes'] / max(n, 1) * 1e6 / 1e3:.0f} KB per million events, distinct trigrams "
         f"per block {s['trigrams_min']}/{s['trigrams_median']:.0f}/{s['trigrams_max']}, "
         f"false positives per trigram {s['false_positive_rate']:.2%}, "
         f"{s['not_vouched']} blocks always read)")


def _timed(label: str, fn: Callable[[], Any], repeat: int = 3) -> Any:
    """Run `fn` `repeat` times; print the first (cold) run and the median of all, in seconds."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        try:
            out = fn()
        except Exception as exc:  # a limit hit at this size is a figure too
            _say(f"{label}_s=FAILED after {time.perf_counter() - t:.1f} s: "
                 f"{str(exc).splitlines()[0][:200]}")
            return None
        times.append(time.perf_counter() - t)
    _say(f"{label}_s={times[0]:.2f}  (median {statistics.median(times):.2f}, "
         f"runs {', '.join(f'{x:.2f}' for x in times)})")
    return out


def measure(path: Path) -> None:
    """Every page's first answer, with the functions the pages call."""
    from eventlab import explore, timetravel
    from eventlab.explore import export, search_index
    from eventlab.explore.duplicates import duplicate_map
    from eventlab.replay import MergeReducer
    from eventlab.store import db, summaries
    from eventlab.store.eventstore import EventStore

    fresh = summaries.fresh
    with EventStore(path, read_only=True) as store:
        cur = store.cursor()
        n = db.scalar(cur, "SELECT count(*) FROM events")
        size = path.stat().st_size
        _say(f"# {n:,} events; store {size / 1e9:.2f} GB = {size / n:.0f} bytes/event; "
             f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        _say(f"store_bytes_per_event={size / n:.0f}")
        # Explore's first answer: the header, the filter widgets, page 0, the chart, the marks;
        # from the summaries (store.summaries), then the same calls with them switched off.
        _say(f"# summaries fresh: {summaries.fresh(cur)}")
        for suffix in ("", "_scan"):
            if suffix:
                summaries.fresh = lambda con: False  # the readers' fallback: a pass each
            _timed(f"explore_stats{suffix}", store.stats)
            facets = _timed(f"explore_facets{suffix}", lambda: explore.facets(cur))
            _timed(f"explore_page0{suffix}", lambda: explore.page(cur, explore.Filters(), 0))
            _timed(f"explore_chart{suffix}",
                   lambda: explore.counts_over_time(cur, explore.Filters()))
            _timed(f"explore_duplicate_map{suffix}", lambda: duplicate_map(cur), repeat=1)
        summaries.fresh = fresh
        lo, hi = facets.first_ts, facets.last_ts
        mid = db.scalar(cur, "SELECT entity_id FROM events WHERE event_type = 'OrderPlaced' "
                             "AND ts >= ? ORDER BY ts LIMIT 1", [lo + (hi - lo) / 2])
        f = explore.Filters(start=lo + (hi - lo) / 4, end=lo + (hi - lo) * 3 / 4,
                            event_types=("OrderPlaced", "OrderPaid", "ItemAdded"),
                            entity_prefix=mid[:9])
        _timed("explore_filtered_page", lambda: explore.page(cur, f, 3))
        _timed("explore_filtered_chart", lambda: explore.counts_over_time(cur, f))
        # A search pages first and counts up to explore.COUNT_CAP ("at least"); a rare term
        # reads every payload once; "Count all" and the chart (drawn after the table, cached
        # per data version) read them again.
        _timed("explore_text_page", lambda: explore.page(cur, explore.Filters(text="hamburg")),
               repeat=1)
        _timed("explore_text_page_rare", lambda: explore.page(
            cur, explore.Filters(text="no-such-word")), repeat=1)
        _timed("explore_text_page_few", lambda: explore.page(  # 1,000 matches, one block
            cur, explore.Filters(text="scale1k")), repeat=1)
        search_fresh = search_index.fresh  # the same searches without the skip index
        _say(f"# search index fresh: {search_fresh(cur)}")
        search_index.fresh = lambda con: False
        _timed("explore_text_page_rare_scan", lambda: explore.page(
            cur, explore.Filters(text="no-such-word")), repeat=1)
        _timed("explore_text_page_few_scan", lambda: explore.page(
            cur, explore.Filters(text="scale1k")), repeat=1)
        search_index.fresh = search_fresh
        _timed("explore_text_count_all", lambda: explore.page(
            cur, explore.Filters(text="hamburg"), count_all=True), repeat=1)
        _timed("explore_text_chart", lambda: explore.counts_over_time(
            cur, explore.Filters(text="hamburg")), repeat=1)
        _timed("entity_events", lambda: explore.entity_events(cur, mid))

        def first_load() -> int:
            cache = timetravel.FoldCache(max_folds=1)
            return len(cache.get(cur, str(path), ENTITY_1K, "merge", MergeReducer).fold)

        _timed("timetravel_picker", lambda: explore.entity_ids(cur, "", limit=25))
        _timed("timetravel_picker_prefix", lambda: explore.entity_ids(cur, "order-00", 25))
        _timed("timetravel_first_load_1k", first_load)
        with tempfile.TemporaryDirectory(dir=SCALE_DIR) as tmp:
            for fmt in export.FORMATS:
                result = _timed(f"export_1m_{fmt}", lambda fmt=fmt: export.export(
                    cur, export.filtered_events(explore.Filters()), Path(tmp) / f"x.{fmt}",
                    fmt, max_rows=EXPORT_ROWS), repeat=1)
                assert result is None or result.rows == min(EXPORT_ROWS, n), result.rows


def measure_whole(path: Path) -> None:
    """The whole-store views: As of, Flow, Quality (each cached per data version by its
    page: this is the first, uncached computation)."""
    from eventlab import asof, flow, quality
    from eventlab.quality import checks, shapes
    from eventlab.quality.known_types import handled_types
    from eventlab.store import db, summaries
    from eventlab.store.eventstore import EventStore

    with EventStore(path) as store:  # what the As of page does first (asof.current)
        t = time.perf_counter()
        did = asof.refresh_current(store)
        _say(f"asof_refresh_s={time.perf_counter() - t:.2f}  ({did})")
    with EventStore(path, read_only=True) as store:
        cur = store.cursor()
        lo, hi = db.rows(cur, "SELECT min(ts), max(ts) FROM events")[0]
        at = lo + (hi - lo) / 2
        _say(f"# asof current-state table fresh: {asof.current_fresh(cur)}")
        _timed("asof_order", lambda: asof.drop(cur, asof.materialize(
            cur, at, entity_type="order", version=time.time())), repeat=1)
        last = asof.basis_span(cur, "order", "event_time")[1]  # the page's default T
        default = last.replace(second=0, microsecond=0) + timedelta(minutes=1)
        _timed("asof_order_default", lambda: asof.drop(cur, asof.materialize(
            cur, default, entity_type="order", version=time.time())), repeat=1)
        scope = flow.Scope()
        _timed("flow_rates", lambda: flow.rates(cur, scope), repeat=1)
        _timed("flow_transitions", lambda: flow.transitions(cur, scope), repeat=1)
        _timed("flow_variants", lambda: flow.variants(cur, scope, 10), repeat=1)
        types, label = handled_types(str(ROOT / "eventlab" / "demo" / "rules.toml"))
        report = _timed("quality_check", lambda: quality.run_checks(
            cur, handled_types=types, reducer=label), repeat=1)
        _say(f"# quality read summaries: {summaries.fresh(cur)}, shapes: {shapes.fresh(cur)}")
        for finding in report.findings if report else ():
            _say(f"#   quality {finding.kind}: {finding.seconds:.2f} s")
        # The fallbacks a stale store takes (one pass each), within the memory/temp limits.
        fresh, shapes_fresh = summaries.fresh, shapes.fresh
        summaries.fresh = shapes.fresh = lambda con: False
        try:
            _timed("quality_duplicates_scan", lambda: checks.duplicates(cur), repeat=1)
            _timed("quality_types_scan", lambda: checks.unknown_types(cur, types, label),
                   repeat=1)
            _timed("quality_drift_scan", lambda: checks.schema_drift(cur), repeat=1)
        finally:
            summaries.fresh, shapes.fresh = fresh, shapes_fresh


def _bundled_demo_store() -> Path:
    """The bundled demo data (`data/demo`, what `make run` shows) in a store of its own."""
    from eventlab.ingest.file_ingest import ingest_paths
    from eventlab.store.eventstore import EventStore

    path = SCALE_DIR / "bundled-demo.duckdb"
    if not (SCALE_DIR / "bundled-demo.complete").exists():
        path.unlink(missing_ok=True)
        with EventStore(path) as store:
            ingest_paths(store, [str(ROOT / "data" / "demo")])
        (SCALE_DIR / "bundled-demo.complete").write_text("ok")
    return path


def _render(path: Path) -> tuple[float, float, float]:
    """An app on the store at `path`: seconds to Explore's first render (cold app) and to a
    filtered Explore page, and the server's peak RSS in MB after a search page too."""
    from app_memory import _free_port, _peak_mb, _wait
    from playwright.sync_api import sync_playwright

    port = _free_port()
    env = {**os.environ, "EVENTLAB_DB": str(path)}
    proc = subprocess.Popen([sys.executable, "-m", "eventlab.ui.serve", "--server.port",
                             str(port), "--server.address", "127.0.0.1"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t = time.perf_counter()
            page.goto(url)
            _wait(page)  # includes a 1.5 s settle
            cold = time.perf_counter() - t - 1.5
            t = time.perf_counter()
            page.goto(f"{url}/?types=OrderPlaced&types=OrderPaid&entity=order-00&page=40")
            _wait(page)
            filtered = time.perf_counter() - t - 1.5
            page.goto(f"{url}/?text=hamburg")
            _wait(page)
            browser.close()
        peak = _peak_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return cold, filtered, peak


def app_rss(path: Path) -> None:
    """The app on the store: time to Explore's first render and the server's peak RSS; the same
    pages on the bundled demo's store in the same run say how much of it is the browser's page
    load and Streamlit's session rather than the store's size."""
    cold, filtered, peak = _render(path)
    small_cold, small_filtered, _ = _render(_bundled_demo_store())
    _say(f"app_explore_render_s={cold:.2f}  (cold app; on the bundled demo {small_cold:.2f})")
    _say(f"app_explore_filtered_render_s={filtered:.2f}  (on the bundled demo "
         f"{small_filtered:.2f})")
    _say(f"app_peak_rss_mb={peak:.0f}  (limit 2048)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="build the store only")
    parser.add_argument("--no-app", action="store_true", help="skip the browser RSS run")
    parser.add_argument("--no-build", action="store_true",
                        help="measure the store as it is (a partial build included)")
    args = parser.parse_args()
    started = time.perf_counter()
    path = SCALE_DIR / f"scale-{BASE * COPIES}.duckdb" if args.no_build else build()
    if args.build:
        return
    measure(path)
    if not args.no_app:
        app_rss(path)
    measure_whole(path)
    _say(f"total_s={time.perf_counter() - started:.0f}")


if __name__ == "__main__":
    main()
