"""`Reducer`: what the fold calls to turn (state, event) into the next state.

Three kinds exist: the default merge reducer (`merge.MergeReducer`), declarative rules
(`rules.RulesReducer`) and a user's Python file (`pyreducer.load_python_reducer`). Each has a
`name` and is called as `reducer(state, event)`, which upcasts the event first, then applies it.

The contract the fold relies on: calling a reducer never mutates the state or the event it is
given (states share unchanged parts, see `jsonvalue`). Built-in reducers work copy-on-write.
User code is wrapped in `FunctionReducer` (`mutates = True`), which hands it private copies, so
a user's `apply` may edit the state in place and return it; `call_owned` skips the state copy
when the caller gives its state up (the fold does, along a chain of events, and copies only the
states it keeps).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from eventlab.errors import ReducerError
from eventlab.replay.event import Event
from eventlab.replay.jsonvalue import copy_value

State = Any
"""A state: usually `dict | None` (None: the entity does not exist), any JSON-like value."""

ApplyFn = Callable[[State, Event], State]
UpcastFn = Callable[[Event], Any]


@runtime_checkable
class ReducerLike(Protocol):
    """Anything the fold accepts: called as `reducer(state, event) -> state`."""

    def __call__(self, state: State, event: Event) -> State: ...


class Reducer:
    """Base class: a name, an `upcast` (identity by default) and an `apply`."""

    name: str = "reducer"
    mutates: bool = False
    """True when `apply` may edit the state it is given (then use `call_owned` to save copies)."""
    columns: tuple[str, ...] | None = None
    """The `Event` fields `run` reads, when this reducer can fold events given as columns
    (`replay.columns`: the fold then builds no `Event`); None when it needs each `Event`."""

    def upcast(self, event: Event) -> Event:
        """Bring an old version of an event to the current one (default: unchanged)."""
        return event

    def apply(self, state: State, event: Event) -> State:
        """The next state; must not mutate `state` or `event`."""
        raise NotImplementedError

    def __call__(self, state: State, event: Event) -> State:
        return self.apply(state, self.upcast(event))

    def call_owned(self, state: State, event: Event) -> State:
        """Like calling the reducer, but `state` is given up: it may be edited in place."""
        return self(state, event)

    def run(self, state: State, *columns: Sequence[Any]) -> State:
        """The state after a run of events given as the values of `self.columns` (one
        sequence per field, in that order): the same as calling the reducer on each event."""
        raise NotImplementedError(f"{self.name} folds whole events only")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class FunctionReducer(Reducer):
    """User functions `apply(state, event)` and optional `upcast(event)`, given private copies."""

    mutates = True

    def __init__(
        self, apply: ApplyFn, upcast: UpcastFn | None = None, *, name: str | None = None
    ) -> None:
        self._apply = apply
        self._upcast = upcast
        self.name = name or getattr(apply, "__name__", "function")

    def upcast(self, event: Event) -> Event:
        return self._checked_upcast(copy_event(event))

    def apply(self, state: State, event: Event) -> State:
        return self._apply(copy_value(state), copy_event(event))

    def __call__(self, state: State, event: Event) -> State:
        return self.call_owned(copy_value(state), event)

    def call_owned(self, state: State, event: Event) -> State:
        return self._apply(state, self._checked_upcast(copy_event(event)))

    def _checked_upcast(self, event: Event) -> Event:
        if self._upcast is None:
            return event
        result = self._upcast(event)
        if isinstance(result, Event):
            return result
        if isinstance(result, Mapping):
            return Event.from_row(result)
        raise ReducerError(
            f"{self.name}: upcast returned {type(result).__name__}, expected the event "
            "(return event.replace(...) or the event itself)"
        )


def copy_event(event: Event) -> Event:
    """The event with private copies of its payload and metadata (the only mutable fields)."""
    if not isinstance(event.payload, (dict, list)) and not isinstance(event.metadata, dict):
        return event
    return Event(  # not dataclasses.replace: this runs once per event and call, twice as fast
        event_id=event.event_id, entity_type=event.entity_type, entity_id=event.entity_id,
        event_type=event.event_type, event_version=event.event_version, seq=event.seq,
        ts=event.ts, payload=copy_value(event.payload), metadata=copy_value(event.metadata),
        is_delete=event.is_delete, kafka_ts=event.kafka_ts, offset=event.offset,
    )


def as_reducer(reducer: Reducer | ReducerLike) -> Reducer:
    """A `Reducer` as is; any other callable `(state, event) -> state` wrapped with copies."""
    if isinstance(reducer, Reducer):
        return reducer
    if callable(reducer):
        return FunctionReducer(reducer)
    raise ReducerError(f"not a reducer: {reducer!r} (expected a callable (state, event) -> state)")
