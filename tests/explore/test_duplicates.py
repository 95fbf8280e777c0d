"""The duplicate rule: stored more than once; equal payloads are a copy, others a conflict."""

from __future__ import annotations

from event_rows import add_events, event

from eventlab.explore.duplicates import (
    CONFLICT,
    COPY,
    DUPLICATED_IDS_SQL,
    duplicate_map,
)
from eventlab.store import db


def _add(store, event_id: str, offset: int, payload: str | None) -> None:
    add_events(store, [event(event_id=event_id, entity_id="o1", event_type="T", seq=offset,
                             ts="2025-01-01 00:00:00+00:00", payload=payload, source="f.jsonl",
                             offset=offset)])


def test_copies_and_conflicts_are_told_apart(store) -> None:
    _add(store, "a", 1, '{"x": 1}')
    _add(store, "a", 2, '{"x": 1}')      # a retry: identical
    _add(store, "b", 3, '{"x": 1}')
    _add(store, "b", 4, '{"x": 2}')      # same id, other payload
    _add(store, "c", 5, '{"x": 1}')      # once
    _add(store, "d", 6, None)
    _add(store, "d", 7, '{"x": 1}')      # a delete and an event under one id
    with store.reading() as cur:
        assert duplicate_map(cur) == {"a": COPY, "b": CONFLICT, "d": CONFLICT}
        assert sorted(r[0] for r in db.rows(cur, DUPLICATED_IDS_SQL)) == ["a", "b", "d"]


def test_no_duplicates_is_an_empty_map(store) -> None:
    _add(store, "a", 1, '{"x": 1}')
    _add(store, "b", 2, '{"x": 1}')
    with store.reading() as cur:
        assert duplicate_map(cur) == {}
