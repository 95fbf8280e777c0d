"""Parquet ingest: EventLab into a fresh file database vs DuckDB's own CTAS of read_parquet.

Same files (the 5M-event demo export), same kind of target (a fresh database file), measured
alternately in one run. Prints each median and `ratio=X` (EventLab / DuckDB) last, and the
same for the CPU time of this process (`*_cpu_s`, `cpu_ratio`): both run in this process, and
CPU time is steadier than wall time on a loaded machine.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import duckdb
from _common import demo_export

from eventlab.ingest.file_ingest import ingest_paths
from eventlab.ingest.native_parquet import readable_folders
from eventlab.store.eventstore import EventStore

REPEAT = 3


def duckdb_ctas(src: Path, target: Path) -> tuple[float, float]:
    """The raw baseline: DuckDB reads the Parquet files itself. Wall and CPU seconds."""
    t, c = time.perf_counter(), time.process_time()
    con = duckdb.connect(str(target))
    con.execute("CREATE TABLE t AS SELECT * FROM read_parquet(?, hive_partitioning = true)",
                [str(src / "**" / "*.parquet")])
    con.close()
    return time.perf_counter() - t, time.process_time() - c


def eventlab_ingest(src: Path, target: Path) -> tuple[float, float, int]:
    """EventLab: read, map, quarantine, sort by entity, write, with its default settings
    (the store opened as `eventlab ingest` opens it: DuckDB may read the export's folder).
    Wall and CPU seconds, events stored."""
    t, c = time.perf_counter(), time.process_time()
    with EventStore(target, memory_limit="8GB", readable=readable_folders([str(src)])) as store:
        report = ingest_paths(store, [str(src)])
    return time.perf_counter() - t, time.process_time() - c, report.rows_stored


def main() -> None:
    src = demo_export()
    files = list(src.rglob("*.parquet"))
    size_mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"# {len(files)} Parquet files, {size_mb:.0f} MB")
    raw, ours, raw_cpu, our_cpu = [], [], [], []
    with tempfile.TemporaryDirectory(dir=src.parent) as tmp:
        for i in range(REPEAT):
            secs, cpu = duckdb_ctas(src, Path(tmp) / f"raw{i}.duckdb")
            raw.append(secs)
            raw_cpu.append(cpu)
            secs, cpu, stored = eventlab_ingest(src, Path(tmp) / f"ev{i}.duckdb")
            ours.append(secs)
            our_cpu.append(cpu)
            print(f"# run {i + 1}: duckdb {raw[-1]:.2f} s ({raw_cpu[-1]:.1f} CPU-s), eventlab "
                  f"{secs:.2f} s ({cpu:.1f} CPU-s; {stored:,} events stored)", flush=True)
            for f in Path(tmp).glob("*.duckdb*"):
                f.unlink()
    r, o = statistics.median(raw), statistics.median(ours)
    print(f"duckdb_ctas_s={r:.2f}")
    print(f"eventlab_ingest_s={o:.2f}")
    print(f"ratio={o / r:.2f}")
    rc, oc = statistics.median(raw_cpu), statistics.median(our_cpu)
    print(f"duckdb_ctas_cpu_s={rc:.1f}  eventlab_ingest_cpu_s={oc:.1f}  cpu_ratio={oc / rc:.2f}")


if __name__ == "__main__":
    main()
