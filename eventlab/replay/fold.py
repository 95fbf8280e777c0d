"""`Fold`: the states of one entity after each of its events, with snapshots for time travel.

Folding is `state = reducer(state, event)` over the entity's events in `seq` order. `Fold` keeps
the state after every K-th event (a snapshot), so the state after any event costs at most K-1
reducer calls from the nearest snapshot at or before it, and it remembers the last state it
computed, so moving a slider one step forward costs one call.

Positions are event indexes: `state_at(i)` is the state after the event at index `i` (0-based,
that event included), and `state_at(-1)` the state before the first event. A reducer that fails
on event `f` makes `fold.error` a `FoldError`; the states before `f` stay available, those from
`f` on raise that error again.

Snapshots share unchanged parts with each other (reducers work copy-on-write and never mutate
their inputs, see `reducer`), and every state handed out is a private deep copy. For a reducer
that edits states in place (a user's Python `apply`), the fold copies a state once when it
starts a chain of events from a snapshot and once when it keeps one as a snapshot, and lets the
reducer edit the states in between. One lock guards the snapshots and the cache, so a page may
share a `Fold` between sessions.
"""

from __future__ import annotations

import contextlib
import operator
import threading
import traceback
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from eventlab.errors import EventLabError, ReducerError
from eventlab.replay.columns import EventColumns, field_values
from eventlab.replay.event import Event
from eventlab.replay.jsontext import Unreadable
from eventlab.replay.jsonvalue import copy_value
from eventlab.replay.merge import MergeReducer
from eventlab.replay.reducer import Reducer, ReducerLike, State, as_reducer
from eventlab.timeutil import TIME_BASES, to_utc

BEFORE_FIRST = -1
"""The index meaning "before the first event"."""
BASES: tuple[str, ...] = tuple(TIME_BASES)
"""What `index_at_time` compares with: the event's `ts`, its `kafka_ts`, or its `offset`."""
_NEVER: dict[str, Any] = {
    "event_time": datetime.max.replace(tzinfo=UTC),
    "kafka_time": datetime.max.replace(tzinfo=UTC),
    "offset": float("inf"),
}


class FoldError(ReducerError):
    """The reducer failed on an event; names the event and keeps the state just before it."""

    def __init__(self, message: str, *, event: Event, index: int, state_before: State) -> None:
        super().__init__(message)
        self.event = event
        self.index = index
        self.state_before = state_before

    @property
    def event_id(self) -> str:
        return self.event.event_id

    @property
    def seq(self) -> int:
        return self.event.seq

    @property
    def event_type(self) -> str:
        return self.event.event_type


class Fold:
    """The states of one entity's events (sorted by `seq`) under a reducer (default: merge)."""

    def __init__(
        self,
        events: Iterable[Event | Mapping[str, Any]],
        reducer: Reducer | ReducerLike | None = None,
        *,
        snapshot_every: int = 100,
        initial: State = None,
        eager: bool = True,
    ) -> None:
        if snapshot_every < 1:
            raise ValueError("snapshot_every must be at least 1")
        # events held as columns stay so: the fold reads the fields its reducer needs, and
        # an `Event` is made only when someone asks for it (`replay.columns`)
        self.events: Sequence[Event] = events if isinstance(events, EventColumns) else tuple(
            e if isinstance(e, Event) else Event.from_row(e) for e in events
        )
        self.reducer: Reducer = MergeReducer() if reducer is None else as_reducer(reducer)
        self.snapshot_every = snapshot_every
        self.error: FoldError | None = None
        self._seqs = field_values(self.events, "seq")
        if not all(map(operator.le, self._seqs, islice(self._seqs, 1, None))):
            i = next(i for i in range(1, len(self._seqs)) if self._seqs[i] < self._seqs[i - 1])
            ev = self.events[i]
            raise ReducerError(
                f"events must be sorted by seq: event {ev.event_id} (seq {ev.seq}) comes "
                f"after seq {self._seqs[i - 1]}"
            )
        self._mutates = self.reducer.mutates
        # the fields the reducer folds column-wise, when the events are held as columns
        self._columns = self.reducer.columns if isinstance(self.events, EventColumns) \
            and not self._mutates else None
        self._readable = len(self.events)  # events before the first unreadable payload
        if self._columns is not None:
            first = self.events.first_unreadable()  # type: ignore[attr-defined]
            self._readable = self._readable if first is None else first
        self._lock = threading.RLock()  # pages may share one Fold between sessions
        initial = copy_value(initial)
        self._snapshots: list[State] = [initial]  # [j]: the state after j * K events
        # how far snapshots are built: (events applied, state); the state is the fold's own
        self._frontier = (0, copy_value(initial) if self._mutates else initial)
        # the last state computed: (events applied, state, not shared with a snapshot)
        self._cache: tuple[int, State, bool] = (0, initial, False)
        self._time_keys: dict[str, list[Any]] = {}
        if eager:
            self.build()

    def __len__(self) -> int:
        return len(self.events)

    def __repr__(self) -> str:
        return f"Fold({len(self)} events, reducer={self.reducer.name!r}, K={self.snapshot_every})"

    @property
    def snapshot_count(self) -> int:
        """How many snapshots are stored (the initial state included)."""
        return len(self._snapshots)

    @property
    def failed_at(self) -> int | None:
        """The index of the event the reducer failed on, if it did."""
        return None if self.error is None else self.error.index

    def build(self) -> FoldError | None:
        """Fold every event now, storing all snapshots; returns the failure, if any."""
        with self._lock, contextlib.suppress(FoldError):  # recorded in self.error
            self._extend(len(self.events))
        return self.error

    def state_at(self, index: int | None = None, *, seq: int | None = None) -> State:
        """A copy of the state after the event at `index` (-1: before any), or after `seq`."""
        return self._state(self._count(index, seq), private=True)

    def view_at(self, index: int) -> State:
        """The fold's own state after the event at `index` (-1: before any), not a copy: a
        snapshot or the cached state. Read it, never edit it; with a reducer that `mutates`,
        the next call may edit it (use `state_at` to keep one)."""
        return self._state(self._count(index, None))

    def index_of_seq(self, seq: int) -> int:
        """The index of the last event with a seq at or before `seq` (-1 if none)."""
        return bisect_right(self._seqs, seq) - 1

    def index_at_time(self, t: datetime | str | int, basis: str = "event_time") -> int:
        """The index of the last event at or before `t` (-1 if none).

        `basis` is "event_time" (`ts`), "kafka_time" (`kafka_ts`; events without one never
        count) or "offset" (then `t` is an offset). A naive `t` is taken as UTC. When times are
        not in seq order, this is the last event in seq order whose time is at or before `t`.
        """
        keys = self._keys(basis)
        if basis != "offset":
            t = to_utc(t)
        elif not isinstance(t, int):
            raise TypeError(f"with basis 'offset', t must be an offset (int), not {t!r}")
        return bisect_right(keys, t) - 1

    def is_monotonic(self, basis: str = "event_time") -> bool:
        """Whether the events' times (or offsets) never go back in seq order."""
        values = [v for v in self._values(basis) if v is not None]
        return all(a <= b for a, b in zip(values, values[1:], strict=False))

    def iter_states(
        self, start: int = 0, stop: int | None = None, *, copy: bool = True
    ) -> Iterator[tuple[int, Event, State]]:
        """Yield `(index, event, state after it)` for indexes in [start, stop), in one pass.

        With `copy=False` the states are the fold's own: read them, never edit them, and with a
        reducer that `mutates` states read each one before the next step, which edits it.
        """
        stop = len(self.events) if stop is None else min(stop, len(self.events))
        if not 0 <= start <= len(self.events):
            raise IndexError(f"start {start} is outside 0..{len(self.events)}")
        # a reducer that edits states in place gets a copy: the cached state stays intact
        state = self._state(start, private=self._mutates and start < stop)
        events = self._built()
        for i in range(start, stop):
            state = self._apply(i, state, owned=True)
            yield i, events[i], copy_value(state) if copy else state

    def _count(self, index: int | None, seq: int | None) -> int:
        """Events applied for an index or a seq (exactly one of them)."""
        if (index is None) == (seq is None):
            raise TypeError("give exactly one of index or seq")
        if seq is not None:
            index = self.index_of_seq(seq)
        assert index is not None
        if not BEFORE_FIRST <= index < len(self.events):
            raise IndexError(f"index {index} is outside -1..{len(self.events) - 1}")
        return index + 1

    def _state(self, count: int, *, private: bool = False) -> State:
        """The state after `count` events (`private`: a copy, else the fold's own)."""
        with self._lock:
            state = self._state_unlocked(count)
            return copy_value(state) if private else state

    def _state_unlocked(self, count: int) -> State:
        """From the cache or the nearest snapshot; the lock is held."""
        if self.error is not None and count > self.error.index:
            raise self._again(self.error)
        k = self.snapshot_every
        base = count // k * k
        self._extend(base)
        start, state, owned = self._cache
        if not base <= start <= count:
            start, state, owned = base, self._snapshots[count // k], False
        if start < count and self._mutates:  # the chain below edits its state in place
            if owned:
                self._cache = (0, self._snapshots[0], False)  # given up, kept again at the end
            else:
                state = copy_value(state)
            owned = True
        if self._columns is not None and start < count:
            stop = min(count, self._readable)
            with contextlib.suppress(Exception):  # the loop below names the failing event
                state, start = self._run(state, start, stop), stop
        for i in range(start, count):
            state = self._apply(i, state, owned=True)
        self._cache = (count, state, owned)
        return state

    def _extend(self, count: int) -> None:
        """Fold forward until the snapshots cover the first `count` events."""
        if self.error is not None:
            count = min(count, self.error.index)
        done, state = self._frontier
        k = self.snapshot_every
        if self._columns is None and done < count:
            self._built()  # the reducer reads whole events: build them once, not one by one
        try:
            if self._columns is not None:
                done, state = self._extend_columns(done, state, count)
            elif not self._mutates:
                done, state = self._extend_shared(done, state, count)
            while done < count:
                state = self._apply(done, state, owned=True)
                done += 1
                if done % k == 0:
                    self._snapshots.append(copy_value(state) if self._mutates else state)
        finally:
            self._frontier = (done, state)

    def _extend_shared(self, done: int, state: State, count: int) -> tuple[int, State]:
        """`_extend`'s loop for a reducer that never edits its inputs (the merge and rules
        reducers), with the per-event call inlined (about a quarter of a large entity's first
        load went into `_apply`'s own overhead). Stops before an event that cannot be read or
        that the reducer fails on: `_extend` then applies it through `_apply`, which records
        the failure."""
        call, events, k, snapshots = self.reducer.call_owned, self._built(), \
            self.snapshot_every, self._snapshots
        while done < count:
            event = events[done]
            if isinstance(event.payload, Unreadable):
                break
            try:
                state = call(state, event)
            except Exception:  # noqa: BLE001 (the reducer may be user code: `_apply` says why)
                break
            done += 1
            if done % k == 0:
                snapshots.append(state)
        return done, state

    def _extend_columns(self, done: int, state: State, count: int) -> tuple[int, State]:
        """`_extend`'s loop over events held as columns: the reducer folds each run of K
        events from the fields it reads, and no `Event` is built. Stops before an unreadable
        payload, or at the start of a run the reducer fails on: `_extend` then goes on event
        by event through `_apply`, which records the failure."""
        k, snapshots = self.snapshot_every, self._snapshots
        end = min(count, self._readable)
        while done < end:
            stop = min(end, (done // k + 1) * k)
            try:
                state = self._run(state, done, stop)
            except Exception:  # noqa: BLE001 (`_apply` says why, naming the event)
                break
            done = stop
            if done % k == 0:
                snapshots.append(state)
        return done, state

    def _run(self, state: State, start: int, stop: int) -> State:
        """The reducer over events [start, stop) given as its columns."""
        assert self._columns is not None
        cols = self.events.column  # type: ignore[attr-defined]
        return self.reducer.run(state, *(cols(name)[start:stop] for name in self._columns))

    def _built(self) -> Sequence[Event]:
        """The events for a loop over many: events held as columns are built once (a
        reducer without `columns`, blame and field history read whole events)."""
        events = self.events
        return events.events() if isinstance(events, EventColumns) else events

    def _apply(self, index: int, state: State, *, owned: bool = False) -> State:
        """The state after event `index`; `owned`: `state` is the fold's own and may be edited."""
        event = self.events[index]
        try:
            if isinstance(event.payload, Unreadable):
                raise ReducerError(f"its payload cannot be read: {event.payload.reason}")
            if owned:
                return self.reducer.call_owned(state, event)
            return self.reducer(state, event)
        except Exception as exc:  # the reducer may be user code: any failure names the event
            error = FoldError(
                _message(self.reducer.name, event, index, exc),
                event=event,
                index=index,
                state_before=self._state_before(index, state, owned),
            )
            error.__cause__ = exc
            if self.error is None or index < self.error.index:
                self.error = error
            raise self._again(error) from exc

    def _state_before(self, index: int, state: State, owned: bool) -> State:
        """A copy of the state before the failing event `index`, which may have edited `state`."""
        if not (owned and self._mutates):
            return copy_value(state)
        k = self.snapshot_every
        j = min(index // k, len(self._snapshots) - 1)
        state = copy_value(self._snapshots[j])
        try:
            for i in range(j * k, index):
                state = self.reducer.call_owned(state, self.events[i])
        except Exception:  # the reducer is not deterministic: nothing trustworthy to show
            return None
        return state

    @staticmethod
    def _again(error: FoldError) -> FoldError:
        """A fresh copy of a stored failure, to raise again."""
        again = FoldError(
            str(error), event=error.event, index=error.index,
            state_before=copy_value(error.state_before),
        )
        again.__cause__ = error.__cause__
        return again

    def _values(self, basis: str) -> list[Any]:
        if basis == "event_time":
            return [to_utc(t) for t in field_values(self.events, "ts")]
        if basis == "kafka_time":
            return [None if t is None else to_utc(t) for t in field_values(self.events, "kafka_ts")]
        if basis == "offset":
            return field_values(self.events, "offset")
        raise ValueError(f"basis must be one of {', '.join(BASES)}, not {basis!r}")

    def _keys(self, basis: str) -> list[Any]:
        """Suffix minima of the times: non-decreasing, so bisect finds the last event <= t."""
        if basis not in self._time_keys:
            values = self._values(basis)
            if values and all(v is None for v in values):
                field = "kafka_ts" if basis == "kafka_time" else basis
                raise ReducerError(f"no event has a {field}; use basis='event_time'")
            keys: list[Any] = [None] * len(values)
            low = _NEVER[basis]
            for i in range(len(values) - 1, -1, -1):
                value = values[i]
                if value is not None and value < low:
                    low = value
                keys[i] = low
            self._time_keys[basis] = keys
        return self._time_keys[basis]


def _message(name: str, event: Event, index: int, exc: Exception) -> str:
    what = str(exc) if isinstance(exc, EventLabError) else f"{type(exc).__name__}: {exc}"
    where = ""
    if not isinstance(exc, EventLabError):
        frames = traceback.extract_tb(exc.__traceback__)
        if frames:
            where = f" (at {frames[-1].filename}, line {frames[-1].lineno})"
    return (
        f"reducer {name!r} failed on event {event.event_id} (seq {event.seq}, "
        f"{event.event_type}, position {index}): {what}{where}"
    )
