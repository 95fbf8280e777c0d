"""Data-quality checks on the 5M-event database: every check, beside DuckDB's raw scan.

Prints `raw_scan_ms` (a bare scan of the columns the checks read), the seconds of each check
(`<kind>_s`, median of three runs; the three sequence findings share one pass) and `check_s`,
the whole run (at most 10 s).
"""

from __future__ import annotations

import statistics
import time

from _common import ROOT, demo_db, median_ms

from eventlab import quality
from eventlab.quality.known_types import handled_types
from eventlab.store import db
from eventlab.store.eventstore import EventStore

RUNS = 3


def main() -> None:
    path = demo_db()
    types, label = handled_types(str(ROOT / "eventlab" / "demo" / "rules.toml"))
    with EventStore(path, read_only=True) as store:
        cur = store.cursor()
        raw = median_ms(lambda: db.rows(
            cur, "SELECT count(DISTINCT event_id), max(entity_id), max(seq), max(ts), "
                 "max(length(payload::VARCHAR)), max(source), max(\"offset\") FROM events"),
            repeat=5, warmup=1)
        reports = []
        for _ in range(RUNS):
            t = time.perf_counter()
            reports.append((quality.run_checks(cur, handled_types=types, reducer=label),
                            time.perf_counter() - t))
    print(f"# {reports[0][0].events:,} events")
    print(f"raw_scan_ms={raw:.1f}")
    steps: dict[str, list[float]] = {}
    for rep, _ in reports:
        for f in rep.findings:
            steps.setdefault(f.kind, []).append(f.seconds)
    for kind, secs in steps.items():
        print(f"{kind}_s={statistics.median(secs):.3f}  (count {reports[0][0].get(kind).count:,})")
    print(f"check_s={statistics.median(s for _, s in reports):.2f}")


if __name__ == "__main__":
    main()
