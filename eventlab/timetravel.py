"""Time travel for one entity: load its events from the store, fold them, cache the folds.

`load_events` reads one entity's events in stream order (`ORDER_COLUMNS`: seq, then tie-breakers
that make the order total; the SQL "as of" uses the same order). `FoldCache` keeps folds per
(database, entity, reducer) in a bounded LRU, checks on every use that the entity has no new
events (a cheap count and last-ingest query), and memoises the per-position work a page repeats
(field blame, field history). Positions are indexes into the fold: `state_at(i)` is the state
after event i, -1 before the first. Time bases are `event_time` (ts), `kafka_time` (kafka_ts;
events without one never count) and `offset` (the source offset, in offset order).
"""

from __future__ import annotations

import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from eventlab.errors import EventLabError
from eventlab.replay import (
    Change,
    Event,
    Fold,
    FoldError,
    HistoryEntry,
    Reducer,
    blame,
    diff,
    dotted,
    event_changes,
    field_history,
)
from eventlab.replay.jsonvalue import MISSING, get_path
from eventlab.store import db

ORDER_COLUMNS = 'seq, ts, "offset", hash(source, topic, "partition")'
"""The stream order of an entity's events: seq, then time, offset and (for rows that tie on all
three, e.g. the same row number in two files) a hash of the source position. The SQL "as of"
sorts by the same expression, so both see duplicates in the same order."""
BASIS_LABELS: dict[str, str] = {
    "event_time": "event time (ts)",
    "kafka_time": "Kafka timestamp",
    "offset": "offset order",
}
_COLUMNS = ('event_id, entity_type, entity_id, event_type, event_version, seq, ts, payload, '
            'metadata, is_delete, kafka_ts, "offset"')
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SNAPSHOT_EVERY = 100


class EntityNotFound(EventLabError):
    """The entity has no events in this database."""


def load_events(con: db.Connection, entity_id: str) -> tuple[Event, ...]:
    """Every event of one entity in stream order, as replay `Event`s."""
    table = db.arrow(
        con, f"WITH e AS MATERIALIZED (SELECT {_COLUMNS}, source, topic, \"partition\" "
             f"FROM events WHERE entity_id = ?) SELECT {_COLUMNS} FROM e ORDER BY {ORDER_COLUMNS}",
        [entity_id])
    return events_from_arrow(table)


def events_from_arrow(table: pa.Table) -> tuple[Event, ...]:
    """Build events from the columns of `load_events`' query (column-wise: fast)."""
    if table.num_rows == 0:
        return ()
    names = ("event_id", "entity_type", "entity_id", "event_type", "event_version", "seq",
             "offset")
    cols = [table.column(name).to_pylist() for name in names]
    is_delete = [bool(v) for v in table.column("is_delete").to_pylist()]
    columns = (*cols, is_delete, _datetimes(table.column("ts")),
               _datetimes(table.column("kafka_ts")), _parse_all(table.column("payload")),
               _parse_all(table.column("metadata")))
    return tuple(map(_new_event, zip(*columns, strict=True)))


# `Event` is a frozen slotted dataclass; building 100k of them through its keyword __init__
# costs a third of an entity's load. These slot setters fill the same fields directly.
_EVENT_FIELDS = ("event_id", "entity_type", "entity_id", "event_type", "event_version", "seq",
                 "offset", "is_delete", "ts", "kafka_ts", "payload", "metadata")
_SLOT_SETTERS = tuple(Event.__dict__[name].__set__ for name in _EVENT_FIELDS)
assert len(_SLOT_SETTERS) == 12  # _new_event sets each by position


def _new_event(values: tuple[Any, ...], _new: Any = object.__new__,
               _set: tuple[Any, ...] = _SLOT_SETTERS) -> Event:
    event = _new(Event)  # one line per field: a loop over the setters costs a fifth more
    _set[0](event, values[0])
    _set[1](event, values[1])
    _set[2](event, values[2])
    _set[3](event, values[3])
    _set[4](event, values[4])
    _set[5](event, values[5])
    _set[6](event, values[6])
    _set[7](event, values[7])
    _set[8](event, values[8])
    _set[9](event, values[9])
    _set[10](event, values[10])
    _set[11](event, values[11])
    return event


def _parse_all(column: pa.ChunkedArray) -> list[Any]:
    """Parse a column of JSON texts in one call (one JSON array): NULL becomes None."""
    texts = pc.fill_null(pc.cast(column, pa.string()), "null").combine_chunks()
    whole = pa.ListArray.from_arrays(pa.array([0, len(texts)], pa.int32()), texts)
    joined = pc.binary_join(whole, ",")[0].as_buffer()  # one C++ join: no Python strings
    return orjson.loads(b"[" + joined.to_pybytes() + b"]")


def _datetimes(column: pa.ChunkedArray) -> list[datetime | None]:
    """UTC datetimes (tzinfo `datetime.UTC`, what `Event` expects) from a timestamp column."""
    if column.null_count == len(column):
        return [None] * len(column)
    if column.null_count:
        micros = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64()).to_pylist()
        return [None if us is None else _EPOCH + timedelta(microseconds=us) for us in micros]
    values = pc.cast(column, pa.timestamp("us")).combine_chunks().to_numpy()
    return list(pd.DatetimeIndex(values, tz=UTC).to_pydatetime())  # C loop: tzinfo UTC


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while building many small objects (events, states).

    They hold no cycles, but creating 100k of them triggers collections that walk every
    tracked object: loading a large entity takes about half the time without them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # Hand the new objects straight to the oldest generation (freeze + unfreeze moves
            # lists, it scans nothing); else the first collection after enabling walks them all.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def entity_version(con: db.Connection, entity_id: str) -> tuple[int, Any]:
    """What changes when the entity gets events: their count and the last ingest time."""
    n, last = db.rows(con, "SELECT count(*), max(ingested_at) FROM events WHERE entity_id = ?",
                      [entity_id])[0]
    return int(n), last


def event_types(con: db.Connection, entity_id: str) -> list[str]:
    """The distinct event types of one entity, sorted."""
    return [r[0] for r in db.rows(con, "SELECT DISTINCT event_type FROM events "
                                       "WHERE entity_id = ? ORDER BY 1", [entity_id])]


@dataclass
class Loaded:
    """One entity folded under one reducer, with memoised blame and field histories."""

    entity_id: str
    fold: Fold
    version: tuple[int, Any]
    load_ms: float
    _memo: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def memo(self, key: Hashable, compute: Callable[[], Any], keep: int = 16) -> Any:
        """A cached result of `compute` (a small LRU per fold)."""
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = compute()
        with self._lock:
            self._memo[key] = value
            while len(self._memo) > keep:
                self._memo.popitem(last=False)
        return value


class FoldCache:
    """Folds per (database, entity, reducer), least recently used dropped first.

    Bounded by the number of folds and by their total events. Thread-safe: the app shares one
    between sessions (`st.cache_resource`); a `Fold` is itself safe to share.
    """

    def __init__(self, max_folds: int = 8, max_events: int = 1_500_000) -> None:
        self.max_folds = max_folds
        self.max_events = max_events
        self._folds: OrderedDict[tuple[str, str, str], Loaded] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._folds)

    def get(self, con: db.Connection, db_key: str, entity_id: str, reducer_key: str,
            make_reducer: Callable[[], Reducer], *,
            snapshot_every: int = SNAPSHOT_EVERY) -> Loaded:
        """The entity's fold, loaded if it is not cached or has new events since."""
        key = (db_key, entity_id, reducer_key)
        version = entity_version(con, entity_id)
        with self._lock:
            hit = self._folds.get(key)
            if hit is not None and hit.version == version:
                self._folds.move_to_end(key)
                return hit
        if version[0] == 0:
            raise EntityNotFound(f"no events for entity {entity_id!r} in this database")
        started = time.perf_counter()
        with paused_gc():
            events = load_events(con, entity_id)
            fold = Fold(events, make_reducer(), snapshot_every=snapshot_every)
        loaded = Loaded(entity_id, fold, version, (time.perf_counter() - started) * 1000)
        with self._lock:
            self._folds[key] = loaded
            self._folds.move_to_end(key)
            self._evict()
        return loaded

    def _evict(self) -> None:
        total = sum(len(v.fold) for v in self._folds.values())
        while len(self._folds) > 1 and (len(self._folds) > self.max_folds
                                        or total > self.max_events):
            _, old = self._folds.popitem(last=False)
            total -= len(old.fold)

    def clear(self) -> None:
        """Forget every fold."""
        with self._lock:
            self._folds.clear()


@dataclass(frozen=True)
class Position:
    """What the page shows at one position: the event, the state after it, what it changed.

    With a failing reducer at or before this position, `error` is set, `state` is the state
    before the failing event and `changes` is empty.
    """

    index: int
    event: Event | None
    state: Any
    changes: list[Change]
    error: FoldError | None


def position(fold: Fold, index: int) -> Position:
    """The state after event `index` (-1: before the first), its diff, or the failure."""
    event = fold.events[index] if index >= 0 else None
    try:
        state = fold.state_at(index)
        changes = event_changes(fold, index) if index >= 0 else []
    except FoldError as exc:
        return Position(index, event, exc.state_before, [], exc)
    return Position(index, event, state, changes, None)


def creation_changes(state: dict[str, Any]) -> list[Change]:
    """The first state as one "add" per top-level field (how an entity comes into being)."""
    return diff({}, state)


def basis_values(fold: Fold, basis: str) -> list[Any]:
    """Each event's time (or offset) on a basis, in stream order."""
    if basis == "event_time":
        return [e.ts for e in fold.events]
    if basis == "kafka_time":
        return [e.kafka_ts for e in fold.events]
    if basis == "offset":
        return [e.offset for e in fold.events]
    raise EventLabError(f"unknown time basis {basis!r}; use one of {', '.join(BASIS_LABELS)}")


def available_bases(fold: Fold) -> list[str]:
    """The bases this entity's events support (Kafka time only when some event has one)."""
    out = ["event_time"]
    if any(e.kafka_ts is not None for e in fold.events):
        out.append("kafka_time")
    out.append("offset")
    return out


def index_at(fold: Fold, at: datetime | int, basis: str) -> int:
    """The position of the last event (in stream order) at or before `at` on `basis`."""
    try:
        return fold.index_at_time(at, basis)
    except (TypeError, ValueError) as exc:
        raise EventLabError(f"cannot find a position at {at!r} on {basis}: {exc}") from exc


def out_of_order(fold: Fold, basis: str) -> int:
    """How many times the basis goes back in stream order (0: monotonic)."""
    values = [v for v in basis_values(fold, basis) if v is not None]
    return sum(1 for a, b in zip(values, values[1:], strict=False) if b < a)


def blame_rows(loaded: Loaded, index: int) -> list[dict[str, Any]]:
    """Field blame at a position: each leaf path with its value and the event that set it."""
    def compute() -> list[dict[str, Any]]:
        state = loaded.fold.state_at(index)
        rows = []
        for path, event in sorted(blame(loaded.fold, index).items(),
                                  key=lambda kv: dotted(kv[0])):
            rows.append({"path": dotted(path) or "(whole state)",
                         "value": get_path(state, path), "seq": event.seq,
                         "event_type": event.event_type, "ts": event.ts,
                         "event_id": event.event_id})
        return rows
    return loaded.memo(("blame", index), compute)


def history(loaded: Loaded, path: str) -> list[HistoryEntry]:
    """The value at a dotted path after each event that changed it (memoised)."""
    return loaded.memo(("history", path), lambda: field_history(loaded.fold, path))


def leaf_paths(state: Any, prefix: str = "", limit: int = 500) -> list[str]:
    """Dotted paths of the leaves and objects of a state (for a field picker), sorted."""
    out: list[str] = []

    def walk(value: Any, path: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(value, dict) and value:
            if path:
                out.append(path)
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else str(key))
        elif path:
            out.append(path)

    walk(state, prefix)
    return sorted(out)


def seen_paths(loaded: Loaded, limit: int = 500) -> list[str]:
    """Top-level and nested paths any event payload touched (the field picker's choices)."""
    def compute() -> list[str]:
        paths: set[str] = set()
        for e in loaded.fold.events:
            if isinstance(e.payload, dict):
                paths.update(leaf_paths(e.payload, limit=limit))
            if len(paths) >= limit:
                break
        return sorted(paths)
    return loaded.memo("seen_paths", compute)


def jsonable(value: Any) -> Any:
    """A value ready for JSON output: MISSING as None, datetimes as ISO text."""
    if value is MISSING:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def change_dicts(changes: list[Change]) -> list[dict[str, Any]]:
    """Changes as plain dicts: `{op, path, old, new}` (the CLI's and the page's shape)."""
    return [{"op": c.op, "path": c.dotted, "old": jsonable(c.old), "new": jsonable(c.new)}
            for c in changes]


def event_dict(event: Event) -> dict[str, Any]:
    """An event as a plain JSON-ready dict."""
    return jsonable(event.as_dict())

