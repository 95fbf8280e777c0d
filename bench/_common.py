"""Shared set-up for the benchmarks: the cached 5M-event demo export and database."""

from __future__ import annotations

import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / "bench" / ".cache"
EVENTS = 5_000_000
SEED = 7


def demo_export(events: int = EVENTS) -> Path:
    """The demo export as Parquet, generated once and cached under bench/.cache/."""
    from eventlab.demo import write_export

    out = CACHE / f"demo-{events}"
    marker = out / ".complete"
    if not marker.exists():
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        write_export(out, events=events, seed=SEED)
        marker.write_text("ok")
        print(f"# generated {events:,} demo events in {time.perf_counter() - t:.1f} s",
              flush=True)
    return out


ENTITY_25 = "customer-bench25"


def entity_25_file() -> Path:
    """One customer with 25 events (the demo's entities have at most 8, but one)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = CACHE / "entity-25" / "part-0.parquet"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        n = 25
        pq.write_table(pa.table({
            "id": [f"bench25-{i}" for i in range(n)],
            "type": ["CustomerRegistered"] + ["CustomerAddressChanged"] * (n - 1),
            "aggregateType": ["customer"] * n, "aggregateId": [ENTITY_25] * n,
            "version": list(range(1, n + 1)),
            "timestamp": [f"2025-03-0{3 + i // 5}T{10 + i % 5:02d}:00:00Z" for i in range(n)],
            "data": [f'{{"city": "City {i}"}}' for i in range(n)],
        }), out)
    return out


def demo_db(events: int = EVENTS) -> Path:
    """A database holding the demo export plus a 25-event entity, built once with EventLab's
    own ingest."""
    from eventlab.ingest.file_ingest import ingest_paths
    from eventlab.store.eventstore import EventStore

    path = CACHE / f"demo-{events}.duckdb"
    marker = CACHE / f"demo-{events}.duckdb.complete2"
    if not marker.exists():
        path.unlink(missing_ok=True)
        with EventStore(path, memory_limit="8GB") as store:
            ingest_paths(store, [str(demo_export(events))])
            ingest_paths(store, [str(entity_25_file())])
        marker.write_text("ok")
    return path


def cpu_s() -> float:
    """CPU seconds of this process and of its waited-for children (the Kafka reader process):
    on a shared machine a steadier measure than the wall clock."""
    import resource

    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime


def median_ms(fn: Callable[[], object], repeat: int = 15, warmup: int = 2) -> float:
    """Median wall time of `fn` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)
