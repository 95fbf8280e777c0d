"""The "follows" facts (`store.follows`): Flow's transitions and variants and Quality's
sequence findings read from them equal the scans over the events, on random data with ties,
out-of-order times, late rows that sort before an entity's stored ones and new event types;
an incremental refresh stores the same facts as a rebuild; stale facts are not used."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from event_rows import T0, add_events

from eventlab import flow
from eventlab.quality import checks
from eventlab.store import db, follows

ENTITY_TYPES = ("order", "payment", "user")


def _rows(rng: random.Random, seen: list[dict[str, Any]], batch: int, n: int,
          types: tuple[str, ...], entities: int) -> list[dict[str, Any]]:
    """`n` random events of `entities` entities: seqs with gaps and repeats, times out of
    order, two sources and topics (and none), one ingest time per batch; one in twenty is a
    copy of an earlier record (the same source position) stored again."""
    rows: list[dict[str, Any]] = []
    for i in range(n):
        if seen and rng.random() < 0.05:
            rows.append({**rng.choice(seen), "ingested_at": T0 + timedelta(days=batch)})
            continue
        k = rng.randrange(entities)
        source, topic = rng.choice([("f.jsonl", None), ("kafka", "t1"), ("kafka", "t2"),
                                    ("a.parquet", None)])
        rows.append({
            "entity_type": ENTITY_TYPES[k % 3], "entity_id": f"e{k}",
            "event_type": rng.choice(types), "seq": rng.randrange(1, 12),
            "ts": T0 + timedelta(seconds=rng.randrange(0, 5000)),
            "source": source, "topic": topic, "partition": None if topic is None else
            rng.randrange(2), "offset": batch * 10_000 + i,
            "event_id": f"id{rng.randrange(n * 4)}",
            "ingested_at": T0 + timedelta(days=batch)})
    seen.extend(rows)
    return rows


def _answers(store) -> tuple:
    with store.reading() as cur:
        scopes = [flow.Scope(), *(flow.Scope(t) for t in ENTITY_TYPES), flow.Scope("none")]
        return (tuple(flow.transitions(cur, s).to_pylist() for s in scopes),
                tuple(flow.variants(cur, s, 50).to_pylist() for s in scopes),
                tuple(flow.variants(cur, s, 2).to_pylist() for s in scopes),
                checks.sequences(cur))


def _fresh(store) -> bool:
    with store.reading() as cur:
        return follows.fresh(cur)


def _facts(store) -> tuple:
    with store.reading() as cur:
        return (db.rows(cur, "SELECT f.rid, e.entity_id, tt.name, et.name, f.us, f.seq, "
                             "pt.name, f.pus, f.pseq, f.aseq FROM follows f "
                             "JOIN events e ON e.rowid = f.rid "
                             "JOIN follows_types et ON et.kind = 'event' AND et.code = f.c "
                             "JOIN follows_types tt ON tt.kind = 'entity' AND tt.code = f.t "
                             "LEFT JOIN follows_types pt ON pt.kind = 'event' AND "
                             "pt.code = f.pc ORDER BY f.rid"),
                db.rows(cur, "SELECT entity_id, entity_type, mixed, n, stail, atail, "
                             "list_transform(codes, lambda c: names.v[c]) "
                             "FROM follows_entities, (SELECT ? AS v) AS names "
                             "ORDER BY entity_id", [follows.names(cur)]))


def _rebuilt(store) -> tuple:
    with store.transaction() as cur:
        cur.execute("DELETE FROM follows_state")
        assert follows.refresh(cur) == "rebuilt"
    return _facts(store)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_facts_answer_as_the_scans_and_refresh_incrementally(store, seed: int) -> None:
    rng, seen = random.Random(seed), []
    add_events(store, _rows(rng, seen, 0, 400, ("B", "A", "C"), 40))
    scanned = _answers(store)
    assert store.refresh_follows() == "rebuilt"
    assert _answers(store) == scanned
    assert store.refresh_follows() == "fresh"
    # Late rows for existing entities (sorting before their stored ones, or after), new
    # entities, and event types that sort before and between the stored ones.
    for batch in range(1, 4):
        add_events(store, _rows(rng, seen, batch, 60, ("B", "A", "C", "AA", "0"), 60 + batch))
        assert not _fresh(store)
        scanned = _answers(store)
        assert store.refresh_follows() == "incremental"
        assert _fresh(store)
        assert _answers(store) == scanned
        incremental = _facts(store)
        assert incremental == _rebuilt(store)
    assert scanned[0][0] and scanned[3][0].count > 0


def test_appends_extend_the_entities_and_late_rows_recompute_them(store) -> None:
    add_events(store, [{"entity_id": "o1", "seq": s, "event_type": t, "offset": s,
                        "ts": T0 + timedelta(seconds=s), "ingested_at": T0}
                       for s, t in ((1, "A"), (2, "B"))])
    store.refresh_follows()
    add_events(store, [{"entity_id": "o1", "seq": 3, "event_type": "C", "offset": 3,
                        "ingested_at": T0 + timedelta(days=1)}])
    assert store.refresh_follows() == "incremental"
    with store.reading() as cur:
        assert db.rows(cur, "SELECT n, len(codes) FROM follows_entities") == [(3, 3)]
        assert flow.variants(cur).column("variant").to_pylist() == [["A", "B", "C"]]
    # seq 0 sorts before every stored event: the entity is recomputed whole.
    add_events(store, [{"entity_id": "o1", "seq": 0, "event_type": "Z", "offset": 9,
                        "ingested_at": T0 + timedelta(days=2)}])
    assert store.refresh_follows() == "incremental"
    with store.reading() as cur:
        assert flow.variants(cur).column("variant").to_pylist() == [["Z", "A", "B", "C"]]
        assert db.rows(cur, "SELECT count(*), count(pc) FROM follows") == [(4, 3)]


def test_stale_facts_are_not_used_and_uneven_rows_rebuild(store) -> None:
    add_events(store, [{"entity_id": "o1", "seq": 1, "event_type": "A"}])
    store.refresh_follows()
    # A transaction that began before the watermark but committed after it.
    add_events(store, [{"entity_id": "o1", "seq": 2, "event_type": "B",
                        "ingested_at": T0 - timedelta(days=1)}])
    with store.reading() as cur:
        assert not follows.fresh(cur)
        assert flow.variants(cur).column("variant").to_pylist() == [["A", "B"]]
    assert store.refresh_follows() == "rebuilt"
    with store.reading() as cur:
        assert flow.variants(cur).column("variant").to_pylist() == [["A", "B"]]


def test_entities_of_several_types_scope_by_scanning(store) -> None:
    add_events(store, [{"entity_id": "x", "entity_type": "order", "seq": 1, "event_type": "A"},
                       {"entity_id": "x", "entity_type": "user", "seq": 2, "event_type": "B"}])
    with store.reading() as cur:
        scanned = [flow.transitions(cur, flow.Scope("order")).to_pylist(),
                   flow.variants(cur).to_pylist()]
    store.refresh_follows()
    with store.reading() as cur:
        assert follows.mixed(cur)
        assert [flow.transitions(cur, flow.Scope("order")).to_pylist(),
                flow.variants(cur).to_pylist()] == scanned


def test_a_rebuild_in_slices_of_entities_stores_the_same_facts(store, monkeypatch) -> None:
    add_events(store, _rows(random.Random(4), [], 0, 500, ("B", "A", "C"), 50))
    store.refresh_follows()
    whole = _facts(store)
    monkeypatch.setattr(follows, "SLICE_EVENTS", 60)  # nine slices
    assert _rebuilt(store) == whole
    with store.reading() as cur:
        assert db.scalar(cur, "SELECT count(*) FROM follows") == 500
