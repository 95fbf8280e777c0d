"""Helpers for the time-travel and "as of" tests: rows straight into a store, a Python oracle."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from event_rows import T0, add_events

from eventlab.errors import ReducerError
from eventlab.replay import Event, Fold, FunctionReducer, MergeReducer, merge_reducer
from eventlab.store.eventstore import EventStore
from eventlab.store.order import stream_key

_MISSING = object()


def row(entity_id: str, seq: int, payload: Any = _MISSING, *, minute: float | None = None,
        event_type: str = "Changed", is_delete: bool = False, offset: int | None = None,
        source: str = "test.parquet", kafka_minute: float | None = None,
        entity_type: str | None = None, event_id: str | None = None) -> dict[str, Any]:
    """One event row; `payload` is a JSON value (`None`: JSON null; omitted: SQL NULL)."""
    offset = seq if offset is None else offset
    return {
        "event_id": event_id or f"{entity_id}/{seq}/{offset}",
        "entity_type": entity_type or entity_id.split("-")[0],
        "entity_id": entity_id,
        "event_type": event_type,
        "event_version": 1,
        "seq": seq,
        "ts": T0 + timedelta(minutes=seq if minute is None else minute),
        "payload": None if payload is _MISSING else json.dumps(payload),
        "metadata": json.dumps({"actor": "test"}),
        "is_delete": is_delete,
        "source": source,
        "offset": offset,
        "kafka_ts": None if kafka_minute is None else T0 + timedelta(minutes=kafka_minute),
    }


def insert(store: EventStore, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows into `events` (the shared `event_rows.add_events`)."""
    add_events(store, rows)


def store_with(rows: Sequence[dict[str, Any]]) -> EventStore:
    """A fresh in-memory store holding the rows."""
    store = EventStore(":memory:")
    insert(store, rows)
    return store


def to_event(r: dict[str, Any]) -> Event:
    """The replay event of a row (independent of EventLab's loader)."""
    return Event(event_id=r["event_id"], entity_type=r["entity_type"],
                 entity_id=r["entity_id"], event_type=r["event_type"],
                 event_version=r["event_version"], seq=r["seq"], ts=r["ts"],
                 payload=None if r["payload"] is None else json.loads(r["payload"]),
                 metadata=json.loads(r["metadata"]), is_delete=r["is_delete"],
                 kafka_ts=r["kafka_ts"], offset=r["offset"])


def oracle(rows: Iterable[dict[str, Any]], at: datetime, basis: str = "event_time",
           delete_types: Sequence[str] = ()) -> dict[str, tuple[int, Any]]:
    """Per entity: (seq of the last event applied, state) by the Python fold, as of `at`."""
    by_entity: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_entity.setdefault(r["entity_id"], []).append(r)
    out: dict[str, tuple[int, Any]] = {}
    for entity_id, items in by_entity.items():
        items.sort(key=stream_key)
        fold = Fold([to_event(r) for r in items], MergeReducer(delete_types))
        try:
            index = fold.index_at_time(at, basis)
        except ReducerError:  # no event has a Kafka time: none is at or before `at`
            continue
        if index >= 0:
            out[entity_id] = (items[index]["seq"], fold.state_at(index))
    return out


def boom_on(event_type: str) -> FunctionReducer:
    """Merge, except that events of `event_type` make the reducer raise."""
    def apply(state: Any, event: Event) -> Any:
        if event.event_type == event_type:
            raise ValueError("cannot handle this")
        return merge_reducer(state, event)
    return FunctionReducer(apply, name="boom")
