"""Folds shared between sessions: `FoldCache` keeps one fold per (database, entity, reducer)
in a bounded LRU and checks on every use that the entity has no new events (a cheap count and
last-ingest query); `Loaded` memoises the per-position work a page repeats (field blame, field
history, the paths events touched).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from eventlab.replay import (
    Fold,
    HistoryEntry,
    Reducer,
    blame,
    dotted,
    field_history,
    field_values,
)
from eventlab.replay.jsonvalue import get_path
from eventlab.store import db
from eventlab.timetravel.load import EntityNotFound, entity_version, load_events, paused_gc
from eventlab.timetravel.positions import leaf_paths

SNAPSHOT_EVERY = 100


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


def seen_paths(loaded: Loaded, limit: int = 500) -> list[str]:
    """Top-level and nested paths any event payload touched (the field picker's choices)."""
    def compute() -> list[str]:
        paths: set[str] = set()
        for payload in field_values(loaded.fold.events, "payload"):  # no Event built
            if isinstance(payload, dict):
                paths.update(leaf_paths(payload, limit=limit))
            if len(paths) >= limit:
                break
        return sorted(paths)
    return loaded.memo("seen_paths", compute)
