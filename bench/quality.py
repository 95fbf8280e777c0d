"""Data-quality checks on the 5M-event database: every check, beside DuckDB's raw scan.

Prints `raw_scan_ms` (a bare scan of the columns the checks read), the seconds of each check
(`<kind>_s`, median of three runs; the three sequence findings share one pass) and `check_s`,
the whole run (at most 10 s), with `check_cpu_s` and `raw_scan_cpu_ms` beside them: the CPU
time of this process (both DuckDB threads), steadier than wall time on a loaded machine, and
`cpu_ratio`, the check's CPU over the raw scan's.

First it refreshes the store's summaries and payload shapes as the Quality page does
(`quality.shapes.refresh_store`: `refresh_s`, "rebuilt" on a store that never had them, then
"fresh"); the checks read them.
"""

from __future__ import annotations

import statistics
import time

from _common import ROOT, demo_db, median_ms

from eventlab import quality
from eventlab.quality import shapes
from eventlab.quality.known_types import handled_types
from eventlab.store import db
from eventlab.store.eventstore import EventStore

RUNS = 3


def main() -> None:
    path = demo_db()
    types, label = handled_types(str(ROOT / "eventlab" / "demo" / "rules.toml"))
    with EventStore(path) as store:
        t = time.perf_counter()
        did = shapes.refresh_store(store)
        print(f"refresh_s={time.perf_counter() - t:.2f}  ({did})")
    with EventStore(path, read_only=True) as store:
        cur = store.cursor()
        def scan() -> None:
            db.rows(cur, "SELECT count(DISTINCT event_id), max(entity_id), max(seq), max(ts), "
                         "max(length(payload::VARCHAR)), max(source), max(\"offset\") "
                         "FROM events")
        raw = median_ms(scan, repeat=5, warmup=1)
        cpu0 = time.process_time()
        for _ in range(3):
            scan()
        raw_cpu = (time.process_time() - cpu0) / 3 * 1000
        reports, cpus = [], []
        for _ in range(RUNS):
            t, c = time.perf_counter(), time.process_time()
            reports.append((quality.run_checks(cur, handled_types=types, reducer=label),
                            time.perf_counter() - t))
            cpus.append(time.process_time() - c)
    print(f"# {reports[0][0].events:,} events")
    print(f"raw_scan_ms={raw:.1f}  raw_scan_cpu_ms={raw_cpu:.0f}")
    steps: dict[str, list[float]] = {}
    for rep, _ in reports:
        for f in rep.findings:
            steps.setdefault(f.kind, []).append(f.seconds)
    for kind, secs in steps.items():
        print(f"{kind}_s={statistics.median(secs):.3f}  (count {reports[0][0].get(kind).count:,})")
    print(f"check_s={statistics.median(s for _, s in reports):.2f}")
    cpu = statistics.median(cpus)
    print(f"check_cpu_s={cpu:.2f}  cpu_ratio={cpu * 1000 / raw_cpu:.1f}")


if __name__ == "__main__":
    main()
