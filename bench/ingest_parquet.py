"""Parquet ingest: EventLab into a fresh file database vs DuckDB's own CTAS of read_parquet.

Same files (the 5M-event demo export), same kind of target (a fresh database file), measured
alternately in one run. Prints each median and `ratio=X` (EventLab / DuckDB) last.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import duckdb
from _common import demo_export

from eventlab.ingest.file_ingest import ingest_paths
from eventlab.store.eventstore import EventStore

REPEAT = 3


def duckdb_ctas(src: Path, target: Path) -> float:
    """The raw baseline: DuckDB reads the Parquet files itself."""
    t = time.perf_counter()
    con = duckdb.connect(str(target))
    con.execute("CREATE TABLE t AS SELECT * FROM read_parquet(?, hive_partitioning = true)",
                [str(src / "**" / "*.parquet")])
    con.close()
    return time.perf_counter() - t


def eventlab_ingest(src: Path, target: Path) -> tuple[float, int]:
    """EventLab: read, map, quarantine, sort by entity, write, with its default settings."""
    t = time.perf_counter()
    with EventStore(target, memory_limit="8GB") as store:
        report = ingest_paths(store, [str(src)])
    return time.perf_counter() - t, report.rows_stored


def main() -> None:
    src = demo_export()
    files = list(src.rglob("*.parquet"))
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"# {len(files)} Parquet files, {size_mb:.0f} MB")
    raw, ours = [], []
    with tempfile.TemporaryDirectory(dir=src.parent) as tmp:
        for i in range(REPEAT):
            raw.append(duckdb_ctas(src, Path(tmp) / f"raw{i}.duckdb"))
            secs, stored = eventlab_ingest(src, Path(tmp) / f"ev{i}.duckdb")
            ours.append(secs)
            print(f"# run {i + 1}: duckdb {raw[-1]:.2f} s, eventlab {secs:.2f} s "
                  f"({stored:,} events stored)", flush=True)
            for f in Path(tmp).glob("*.duckdb*"):
                f.unlink()
    r, o = statistics.median(raw), statistics.median(ours)
    print(f"duckdb_ctas_s={r:.2f}")
    print(f"eventlab_ingest_s={o:.2f}")
    print(f"ratio={o / r:.2f}")


if __name__ == "__main__":
    main()
