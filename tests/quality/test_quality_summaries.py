"""Quality from the per-data-version summaries: on random data, the findings read from fresh
summaries equal the direct passes over the events, refreshed incrementally or rebuilt."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from event_rows import add_events

from eventlab import quality
from eventlab.quality import shapes
from eventlab.store import summaries
from eventlab.store.eventstore import EventStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
TYPES = ("Placed", "Paid", "Shipped", "Odd")
VALUES = (1, 2.5, "x", True, None, [1], {"a": 1})


def _payload(rng: random.Random, etype: str, version: int) -> object:
    if rng.random() < 0.03:
        return None
    if rng.random() < 0.03:
        return [1, 2]  # not an object: no fields
    names = ["id", "amount", f"v{version}", "note", etype.lower()]
    return {n: rng.choice(VALUES) for n in rng.sample(names, rng.randint(0, len(names)))}


def _batch(rng: random.Random, start: int, n: int, ingested: datetime) -> list[dict]:
    rows = []
    for i in range(start, start + n):
        etype = rng.choice(TYPES)
        eid = f"e{rng.randint(0, start + n)}" if rng.random() < 0.1 else f"e{i}"
        ts = T0 + timedelta(minutes=rng.randint(0, 5000))
        kafka = ts + timedelta(seconds=rng.choice([0, 10, 400, 9000, -600])) \
            if rng.random() < 0.5 else None
        rows.append({"event_id": eid, "entity_id": f"order-{rng.randint(1, 30)}",
                     "event_type": etype, "event_version": rng.randint(1, 3), "seq": i,
                     "offset": i, "ts": ts, "kafka_ts": kafka, "ingested_at": ingested,
                     "payload": _payload(rng, etype, rng.randint(1, 3)),
                     "source": "kafka" if kafka else "f.jsonl"})
    return rows


def _mine(store: EventStore) -> list[dict]:
    """The findings this module owns (not the sequence pass), without their timings."""
    with store.reading() as cur:
        rep = quality.run_checks(cur, handled_types={"Placed", "Paid"}, reducer="r.toml")
    return [{**f.to_dict(), "seconds": 0} for f in rep.findings
            if f.kind in ("duplicate_event_id", "unknown_event_type", "schema_drift",
                          "late_event", "quarantine")]


def _fresh(store: EventStore) -> tuple[bool, bool]:
    with store.reading() as cur:
        return summaries.fresh(cur), shapes.fresh(cur)


def test_summaries_incremental_rebuilt_and_direct_agree() -> None:
    rng = random.Random(23)
    with EventStore(":memory:") as store:
        add_events(store, _batch(rng, 0, 400, T0))
        direct = _mine(store)
        assert _fresh(store) == (False, False)
        assert shapes.refresh_store(store) == "rebuilt"
        assert _fresh(store) == (True, True)
        assert _mine(store) == direct
        assert shapes.refresh_store(store) == "fresh"
        for k in range(1, 4):  # later loads: folded in from the new rows only
            add_events(store, _batch(rng, 400 * k, 300, T0 + timedelta(hours=k)))
            direct = _mine(store)  # stale summaries are not read: a pass over the events
            assert shapes.refresh_store(store) == "incremental"
            assert _mine(store) == direct
        with store.transaction() as cur:  # rebuilt from scratch: the same again
            cur.execute("DELETE FROM summary_shapes_state")
            assert shapes.refresh(cur) == "rebuilt"
        assert _mine(store) == direct
        kinds = {f["kind"]: f["count"] for f in direct}
        assert kinds["duplicate_event_id"] and kinds["schema_drift"] and kinds["late_event"]
        assert kinds["unknown_event_type"] == 2


def test_fresh_summaries_are_what_the_checks_read(store: EventStore) -> None:
    add_events(store, _batch(random.Random(5), 0, 200, T0))
    shapes.refresh_store(store)
    with store.transaction() as cur:  # doctored, still fresh: the finding must follow it
        cur.execute("UPDATE summary_shapes SET events = events * 10")
        cur.execute("UPDATE summary_duplicates SET copies = 99")
    rep = _mine(store)
    fields = next(f for f in rep if f["kind"] == "schema_drift")["details"]["fields"]
    with store.reading() as cur:
        stored = cur.execute("SELECT count(*) FROM events WHERE payload IS NOT NULL "
                             "AND json_type(payload) = 'OBJECT' AND event_type = 'Paid' "
                             "AND event_version = 1 AND json_exists(payload, '$.id')"
                             ).fetchall()[0][0]
    uses = [u for u in fields if (u["event_type"], u["version"], u["field"]) == ("Paid", 1, "id")]
    assert uses and uses[0]["events"] == 10 * stored
    dups = next(f for f in rep if f["kind"] == "duplicate_event_id")
    assert dups["examples"] and {e["copies"] for e in dups["examples"]} == {99}


def test_a_busy_or_read_only_store_is_not_waited_for(tmp_path) -> None:
    path = tmp_path / "q.duckdb"
    with EventStore(path) as store:
        add_events(store, _batch(random.Random(1), 0, 50, T0))
        with store.transaction():
            assert shapes.refresh_store(store) == "busy"
    with EventStore(path, read_only=True) as store:
        assert shapes.refresh_store(store) == "read-only"
        before = _mine(store)  # no summaries: the direct passes
    with EventStore(path) as store:
        assert shapes.refresh_store(store) == "rebuilt"
        assert _mine(store) == before
