"""`EventColumns`: one entity's events held as columns, each `Event` made when it is asked for.

A large entity's first load used to build every `Event` up front (100k objects, 12 slots
each) although the merge fold reads three fields of them. `EventColumns` keeps one list per
field instead, each converted on first use by a loader the caller gives (the store's Arrow
columns), and is a read-only sequence of `Event`s: `events[i]` builds that one event,
iterating or slicing builds them all once, column-wise, and keeps them. A fold runs over the
columns it needs (`Reducer.columns`) and never builds an event.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import repeat
from typing import Any, overload

from eventlab.replay.event import FIELDS, Event
from eventlab.replay.jsontext import Unreadable

ColumnLoader = Callable[[], list[Any]]
"""Returns one field's values for every event, in stream order (called at most once)."""

# `Event` is a frozen slotted dataclass: the events are allocated bare and each slot set by its
# own descriptor (`metadata`'s raw slot, under `Event`'s parse-on-read wrapper), a column at a
# time in C loops, a third less than one keyword `__init__` per event.
_SETTERS = tuple((name, getattr(Event.__dict__[name], "slot", Event.__dict__[name]).__set__)
                 for name in FIELDS)
_new: Any = object.__new__


class EventColumns(Sequence[Event]):
    """A read-only sequence of `n` events given as one lazily loaded column per field."""

    __slots__ = ("_n", "_loaders", "_lists", "_events", "_lock")

    def __init__(self, n: int, loaders: Mapping[str, ColumnLoader]) -> None:
        missing = set(FIELDS) - set(loaders)
        if missing:
            raise ValueError(f"no column for {', '.join(sorted(missing))}")
        self._n = n
        self._loaders = dict(loaders)
        self._lists: dict[str, list[Any]] = {}
        self._events: tuple[Event, ...] | None = None
        self._lock = threading.Lock()  # one conversion per column when sessions share a fold

    def column(self, name: str) -> list[Any]:
        """Every event's value of one field (the fold's own list: read it, never edit it)."""
        values = self._lists.get(name)
        if values is None:
            with self._lock:
                values = self._lists.get(name)
                if values is None:
                    values = self._loaders[name]()
                    if len(values) != self._n:
                        raise ValueError(f"column {name} has {len(values)} values, not {self._n}")
                    self._lists[name] = values
        return values

    def first_unreadable(self) -> int | None:
        """The index of the first event whose payload cannot be read, if any."""
        kinds = list(map(type, self.column("payload")))  # C loop
        return kinds.index(Unreadable) if Unreadable in kinds else None

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Event, ...]: ...

    def __getitem__(self, index: int | slice) -> Event | tuple[Event, ...]:
        if isinstance(index, slice):
            return self.events()[index]
        if self._events is not None:
            return self._events[index]
        i = range(self._n)[index]  # negative indexes, and IndexError out of range
        event = _new(Event)
        for name, setter in _SETTERS:
            setter(event, self.column(name)[i])
        return event

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events())

    def __repr__(self) -> str:
        return repr(self.events())  # what the tuple of events it stands for shows

    def __eq__(self, other: object) -> bool:
        """Equal to a tuple or sequence of the same events (as a tuple of them would be)."""
        if isinstance(other, EventColumns):
            return other is self or self.events() == other.events()
        if isinstance(other, tuple):
            return self.events() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.events())

    @property
    def built(self) -> bool:
        """Whether every event has been built (by iterating or slicing)."""
        return self._events is not None

    def events(self) -> tuple[Event, ...]:
        """Every event, built once column-wise and kept (iteration and slices use them)."""
        if self._events is None:
            events = list(map(_new, repeat(Event, self._n)))
            for name, setter in _SETTERS:
                deque(map(setter, events, self.column(name)), maxlen=0)  # no call per event
            self._events = tuple(events)
        return self._events


def field_values(events: Sequence[Event], name: str) -> list[Any]:
    """One field of every event, without building events held as columns."""
    if isinstance(events, EventColumns):
        return events.column(name)
    return [getattr(e, name) for e in events]
