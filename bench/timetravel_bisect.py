"""Timing of bisect on one entity with 100k events (not a test: run it by hand).

    .venv/bin/python bench/timetravel_bisect.py [events]

The fold is built first (the page has it cached); then the median time of the first hit of a
condition that first holds near the end (the scan's worst case), of a monotone condition by
binary search, and of `marks` over the whole history. Bar: first hit in at most 200 ms.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import median_ms  # noqa: E402

from eventlab.replay import Event, Fold  # noqa: E402
from eventlab.timetravel.bisect import find, marks  # noqa: E402

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    events = [Event(event_id=f"e{i}", entity_type="order", entity_id="o-1",
                    event_type="Changed", seq=i, ts=T0 + timedelta(seconds=i),
                    payload={"n": i, "status": "open" if i % 7 else "paused",
                             "note": f"step {i}"})
              for i in range(n)]
    t = time.perf_counter()
    fold = Fold(events, snapshot_every=100)
    print(f"fold of {n:,} events built in {(time.perf_counter() - t) * 1000:.0f} ms")
    late = n - n // 50  # holds first at 98% of the history

    def scan() -> object:
        hit = find(fold, lambda s: s["n"] >= late and s["status"] == "open")
        assert hit is not None and hit.index >= late
        return hit

    def binary() -> object:
        hit = find(fold, lambda s: s["n"] >= late, monotone=True)
        assert hit is not None and hit.index == late
        return hit

    ms_scan = median_ms(scan, repeat=7, warmup=1)
    ms_binary = median_ms(binary, repeat=15, warmup=1)
    ms_marks = median_ms(lambda: marks(fold, lambda s: s["status"] == "paused"),
                         repeat=5, warmup=1)
    print(f"first hit, scan (non-monotone, at {late:,} of {n:,}): {ms_scan:.1f} ms "
          f"(bar 200 ms)")
    print(f"first hit, binary (monotone): {ms_binary:.2f} ms, {binary().probes} probes")
    print(f"marks over all {n:,} positions: {ms_marks:.1f} ms")


if __name__ == "__main__":
    main()
