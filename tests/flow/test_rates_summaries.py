"""Flow's rates from the store's hourly summaries: the same table as the scan, on random data,
for every scope they can answer (no range or whole hours, a bucket of an hour or more); any
other scope still scans."""

from __future__ import annotations

import random
from datetime import timedelta

from event_rows import T0, add_events

from eventlab import flow

TYPES = ("order", "payment")


def _store(store, seed: int) -> None:
    rng = random.Random(seed)
    add_events(store, [{"entity_type": rng.choice(TYPES), "entity_id": f"e{rng.randrange(30)}",
                        "event_type": rng.choice("ABCD"), "seq": i,
                        "ts": T0 + timedelta(seconds=rng.randrange(0, 5 * 86400))}
                       for i in range(600)])


H = timedelta(hours=1)
TICK = timedelta(microseconds=1)
WHOLE = [(None, None, b) for b in ("1 hour", "6 hours", "1 day", None)] + [
    (T0 + 5 * H, T0 + 50 * H - TICK, "1 hour"), (T0 + 7 * H, None, "6 hours"),
    (None, T0 + 30 * H - TICK, "1 day")]
PARTIAL = [(None, None, "15 minutes"), (T0 + 5 * H + TICK, None, "1 hour"),
           (None, T0 + 30 * H, "1 hour")]


def _rates(store, cases) -> list:
    out = []
    with store.reading() as cur:
        for entity_type in (None, *TYPES):
            for start, end, bucket in cases:
                r = flow.rates(cur, flow.Scope(entity_type, start, end), bucket)
                out.append((r.table.to_pylist(), r.bucket, r.first, r.last, r.table.schema))
    return out


def test_rates_from_the_summaries_equal_the_scan(store) -> None:
    _store(store, 5)
    scanned = _rates(store, WHOLE + PARTIAL)
    assert store.refresh_summaries() == "rebuilt"
    assert _rates(store, WHOLE + PARTIAL) == scanned
    # Only the whole-hour scopes read the summaries: change them and only those change.
    with store.transaction() as cur:
        cur.execute("UPDATE summary_counts SET events = events + 1000")
    assert _rates(store, PARTIAL) == [r for i, r in enumerate(scanned)
                                      if i % len(WHOLE + PARTIAL) >= len(WHOLE)]
    changed = _rates(store, WHOLE)
    assert all(sum(x["events"] for x in c[0]) > sum(x["events"] for x in s[0]) or not s[0]
               for c, s in zip(changed, [r for i, r in enumerate(scanned)
                                         if i % len(WHOLE + PARTIAL) < len(WHOLE)],
                               strict=True))
