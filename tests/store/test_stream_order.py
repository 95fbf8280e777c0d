"""One stream order (`store.order`): every reader of an entity's events sees them in the same
order, on a set with equal seqs, equal times, out-of-order times and duplicated ids; and a
Flow transition's count equals the number of events its Explore `follows` link selects."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from eventlab import asof, explore, flow
from eventlab.explore.detail import EventKey, event_detail
from eventlab.explore.export import entity_events
from eventlab.explore.filters import Filters
from eventlab.quality.checks import sequences
from eventlab.store import db
from eventlab.store.eventstore import EventStore
from eventlab.store.order import END, START, follows_clause, stream_key
from eventlab.timetravel.load import load_events
from tests.timetravel_support import T0, row, store_with


def _rows() -> list[dict[str, Any]]:
    """Entity `o-1`: equal seqs (types and times decide), equal seq, type and time (the source
    position decides), an out-of-order time, and one id stored twice (two files)."""
    return [
        row("o-1", 1, {"a": 1}, event_type="Placed", offset=10),
        row("o-1", 2, {"b": 1}, event_type="Paid", minute=5, offset=3),
        row("o-1", 2, {"b": 2}, event_type="Added", minute=7, offset=4),  # type before time
        row("o-1", 3, {"c": 1}, event_type="Added", minute=1, offset=2),  # out-of-order time
        row("o-1", 3, {"c": 2}, event_type="Added", minute=1, offset=1),  # offset decides
        row("o-1", 4, {"d": 1}, event_type="Shipped", offset=7, event_id="dup"),
        row("o-1", 4, {"d": 1}, event_type="Shipped", offset=7, event_id="dup",
            source="b.parquet"),  # the same row of another file: the source decides
        row("o-2", 1, {"a": 1}, event_type="Placed", minute=30),
        row("o-2", 2, {"b": 1}, event_type="Paid", minute=31),
        row("o-2", 3, {"c": 1}, event_type="Shipped", minute=40),
    ]


@pytest.fixture
def store() -> Iterator[EventStore]:
    store = store_with(_rows())
    yield store
    store.close()


def _ident(r: Any) -> tuple[Any, ...]:
    return (r["event_id"], r["offset"], r["source"])


def test_every_reader_sees_the_stream_order(store: EventStore) -> None:
    cur = store.cursor()
    want = [_ident(r) for r in sorted((r for r in _rows() if r["entity_id"] == "o-1"),
                                      key=stream_key)]
    assert [w[1] for w in want] == [10, 4, 3, 1, 2, 7, 7]
    # Time travel (events carry no source: compare id and offset)
    assert [(e.event_id, e.offset) for e in load_events(cur, "o-1")] == [w[:2] for w in want]
    # Export
    query = entity_events("o-1")
    exported = db.arrow(cur, query.sql, list(query.params)).to_pylist()
    assert [_ident(r) for r in exported] == want
    # Explore's entity navigation: the position of each event, and next leads along the order
    # ((seq, offset) keys cannot tell the two copies apart: walk up to the first copy)
    key: EventKey | None = EventKey("o-1", 1, 10)
    walked: list[tuple[Any, ...]] = []
    while key is not None and len(walked) < 6:
        detail = event_detail(cur, key)
        assert detail is not None and detail.position == len(walked)
        walked.append((detail.event["event_id"], detail.event["offset"]))
        key = detail.next
    assert walked == [w[:2] for w in want[:6]]
    # As of: the last event applied at the end is the stream's last
    population = {r["entity_id"]: r for r in
                  asof.population(cur, T0 + timedelta(days=1)).to_pylist()}
    assert population["o-1"]["event_type"] == "Shipped"
    assert population["o-1"]["state"] is not None
    # Quality: out-of-order times counted along the same order (o-1: 7, 5, 1 minutes)
    found = {f.kind: f for f in sequences(cur)}
    ordered = sorted(_rows(), key=lambda r: (r["entity_id"], stream_key(r)))
    expected = sum(1 for p, n in zip(ordered, ordered[1:], strict=False)
                   if p["entity_id"] == n["entity_id"] and n["ts"] < p["ts"])
    assert found["out_of_order_time"].count == expected == 2


def _pairs(rows: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """Directly-follows pairs of the rows by the Python stream key (^ and $ at the ends)."""
    out: Counter[tuple[str, str]] = Counter()
    by_entity: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_entity.setdefault(r["entity_id"], []).append(r)
    for items in by_entity.values():
        types = [START, *(r["event_type"] for r in sorted(items, key=stream_key)), END]
        out.update(zip(types, types[1:], strict=False))
    return out


SCOPES = [flow.Scope(), flow.Scope(entity_type="o"),
          flow.Scope(start=T0 + timedelta(minutes=2)),  # cuts o-1 (and its out-of-order rows)
          flow.Scope(end=T0 + timedelta(minutes=3)),  # cuts both entities at the end
          flow.Scope(start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=31))]


@pytest.mark.parametrize("scope", SCOPES, ids=range(len(SCOPES)))
def test_a_transitions_count_is_what_its_explore_link_shows(store: EventStore,
                                                            scope: flow.Scope) -> None:
    cur = store.cursor()
    edges = flow.transitions(cur, scope).to_pylist()
    inside = [r for r in _rows() if (scope.start is None or r["ts"] >= scope.start)
              and (scope.end is None or r["ts"] <= scope.end)]
    assert {(e["from_type"], e["to_type"]): e["count"] for e in edges} == _pairs(inside)
    for e in edges:
        f = Filters(start=scope.start, end=scope.end, entity_type=scope.entity_type,
                    follows=(e["from_type"], e["to_type"]))
        assert explore.page(cur, f, 0).total == e["count"], e


def test_the_follows_clause_pairs_inside_the_scope_by_row() -> None:
    """Exact SQL: rows by `rowid` (two copies with the same seq and offset stay two rows),
    paired by `lead()` over the stream order inside the scope's WHERE."""
    clause, params = follows_clause(("A", END), " WHERE ts >= ?")
    assert clause == (
        'rowid IN (SELECT __r FROM (SELECT rowid AS __r, event_type, lead(event_type) OVER '
        '(PARTITION BY entity_id ORDER BY "seq", "event_type", "ts", "offset", "source", '
        '"topic", "partition") AS __next FROM events WHERE ts >= ?) '
        "WHERE event_type = ? AND __next IS NULL)")
    assert params == ["A"]
    assert follows_clause((START, "B"))[0].endswith(
        "AS __prev FROM events) WHERE event_type = ? AND __prev IS NULL)")
    assert follows_clause(("A", "B"))[1] == ["A", "B"]
