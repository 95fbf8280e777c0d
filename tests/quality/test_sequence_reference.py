"""The sequence checks against an independent reference in Python: random events over a few
entities, several source files (stored in an order unlike their names), topics with NULLs,
event types and repeated seqs, so both orders depend on every text column they rank."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from event_rows import add_events, event

from eventlab.quality.checks import sequences
from eventlab.store.eventstore import EventStore
from eventlab.store.order import stream_key

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SOURCES = ["b.jsonl", "a.jsonl", "kafka", "c/z.parquet", "c/a.parquet"]
TOPICS = [None, "orders", "Orders", "audit"]
TYPES = ["Placed", "Paid", "paid", "Shipped"]


def _rows(seed: int) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    for i in range(400):
        rows.append(event(
            event_id=f"e{i}", entity_id=f"ent-{rnd.randrange(12)}",
            event_type=rnd.choice(TYPES), seq=rnd.randrange(1, 9),
            ts=T0 + timedelta(minutes=rnd.randrange(30)), source=rnd.choice(SOURCES),
            topic=rnd.choice(TOPICS), partition=rnd.choice([None, 0, 1]), offset=i))
    return rows


def _null_last(*values: object) -> tuple:
    return tuple((v is None, v if v is not None else 0) for v in values)


def _reference(rows: list[dict]) -> dict[str, int]:
    by_entity: dict[str, list[dict]] = {}
    for r in rows:
        by_entity.setdefault(r["entity_id"], []).append(r)
    out = dict.fromkeys(("missing", "gap_entities", "late_start", "regressions", "repeated",
                         "out_of_order"), 0)
    for events in by_entity.values():
        stream = sorted(events, key=stream_key)
        out["late_start"] += stream[0]["seq"] > 1
        gaps = [b["seq"] - a["seq"] - 1 for a, b in pairwise(stream) if b["seq"] - a["seq"] > 1]
        out["missing"] += sum(gaps)
        out["gap_entities"] += bool(gaps)
        out["out_of_order"] += sum(b["ts"] < a["ts"] for a, b in pairwise(stream))
        arrival = sorted(events, key=lambda r: _null_last(r["source"], r.get("topic"),
                                                           r.get("partition"), r["offset"]))
        out["regressions"] += sum(b["seq"] <= a["seq"] for a, b in pairwise(arrival))
        out["repeated"] += sum(b["seq"] == a["seq"] for a, b in pairwise(arrival))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sequence_checks_match_a_reference(store: EventStore, seed: int) -> None:
    rows = _rows(seed)
    add_events(store, rows)
    with store.reading() as cur:
        gap, regression, ooo = sequences(cur)
    want = _reference(rows)
    assert (gap.count, gap.details) == (want["missing"], {
        "entities": want["gap_entities"], "late_start": want["late_start"]})
    assert (regression.count, regression.details) == (want["regressions"],
                                                      {"repeated": want["repeated"]})
    assert ooo.count == want["out_of_order"]
