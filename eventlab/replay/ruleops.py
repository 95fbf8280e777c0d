"""The compiled operations of a rules file (see `rules` for the format) and how each runs.

Every operation takes the state and the event and returns a new state, copy-on-write: it never
edits the state it was given. A value taken from the payload that is not there skips the
operation (unless the rule has a `default`); a value of the wrong type raises `ReducerError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventlab.errors import ReducerError
from eventlab.replay.event import Event
from eventlab.replay.jsonvalue import (
    MISSING,
    Path,
    dotted,
    get_path,
    json_equal,
    kind_of,
    set_path,
    unset_path,
)
from eventlab.replay.merge import merge_patch
from eventlab.replay.reducer import State

EVENT_FIELDS: tuple[str, ...] = (
    "event_id", "event_type", "event_version", "entity_id", "entity_type", "seq", "ts",
    "kafka_ts", "offset", "is_delete", "metadata",
)
"""What `from_event` may name; `metadata.<path>` reaches into the metadata."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where an operation's value comes from: a literal, the payload, the event, or all of it."""

    kind: str  # "value" | "payload" | "event" | "whole"
    literal: Any = None
    path: Path = ()
    default: Any = MISSING

    def resolve(self, event: Event) -> Any:
        """The value for this event, or `MISSING` (then the operation is skipped)."""
        if self.kind == "value":
            return self.literal
        if self.kind == "whole":
            value = MISSING if event.payload is None else event.payload
        elif self.kind == "payload":
            value = get_path(event.payload, self.path)
        else:
            value = _event_field(event, self.path)
        return self.default if value is MISSING else value

    def describe(self) -> str:
        if self.kind == "value":
            return "the value"
        if self.kind == "whole":
            return "the payload"
        key = "from" if self.kind == "payload" else "from_event"
        return f"the value {key} {dotted(self.path)!r}"


def _event_field(event: Event, path: Path) -> Any:
    name, rest = path[0], path[1:]
    if name == "metadata":
        return get_path(event.metadata, rest)
    value = getattr(event, str(name))
    if value is None:
        return MISSING
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True, slots=True)
class Op:
    """One operation of a rule: `kind` (set, unset, inc, ...) at `path` with a value `source`."""

    kind: str
    path: Path
    where: str  # e.g. "[events.OrderPaid] set #2", for error messages
    source: Source | None = None
    match: Path | None = None
    all: bool = False

    def run(self, state: State, event: Event) -> State:
        """The state after this operation."""
        try:
            return _RUNNERS[self.kind](self, state, event)
        except TypeError as exc:
            raise ReducerError(f"{self.where}: {exc}") from exc


def _value(op: Op, event: Event) -> Any:
    assert op.source is not None
    return op.source.resolve(event)


def _run_set(op: Op, state: State, event: Event) -> State:
    value = _value(op, event)
    return state if value is MISSING else set_path(state, op.path, value)


def _run_unset(op: Op, state: State, event: Event) -> State:
    return unset_path(state, op.path)


def _run_add(op: Op, state: State, event: Event) -> State:
    amount = 1 if op.source is None else _value(op, event)
    if amount is MISSING:
        return state
    if not _is_number(amount):
        raise ReducerError(f"{op.where}: {op.source.describe()} is {kind_of(amount)}, not a number")
    current = get_path(state, op.path)
    if current is MISSING or current is None:
        current = 0
    if not _is_number(current):
        raise ReducerError(
            f"{op.where}: {dotted(op.path)!r} in the state is {kind_of(current)}, not a number"
        )
    return set_path(state, op.path, current + amount if op.kind == "inc" else current - amount)


def _list_at(op: Op, state: State) -> list[Any] | None:
    current = get_path(state, op.path)
    if current is MISSING or current is None:
        return None
    if not isinstance(current, list):
        raise ReducerError(
            f"{op.where}: {dotted(op.path)!r} in the state is {kind_of(current)}, not a list"
        )
    return current


def _run_append(op: Op, state: State, event: Event) -> State:
    value = _value(op, event)
    if value is MISSING:
        return state
    current = _list_at(op, state) or []
    return set_path(state, op.path, [*current, value])


def _run_remove(op: Op, state: State, event: Event) -> State:
    value = _value(op, event)
    current = _list_at(op, state)
    if value is MISSING or not current:
        return state
    if op.all:
        kept = [item for item in current if not _matches(op, item, value)]
        return state if len(kept) == len(current) else set_path(state, op.path, kept)
    for i, item in enumerate(current):
        if _matches(op, item, value):
            return set_path(state, op.path, current[:i] + current[i + 1 :])
    return state


def _matches(op: Op, item: Any, value: Any) -> bool:
    """Whether a list element (or its `match` path) equals the value."""
    return json_equal(item if op.match is None else get_path(item, op.match), value)


def _run_merge(op: Op, state: State, event: Event) -> State:
    value = _value(op, event)
    if value is MISSING:
        return state
    if not op.path:
        return merge_patch(state, value)
    if value is None:
        return unset_path(state, op.path)
    current = get_path(state, op.path)
    return set_path(state, op.path, merge_patch(None if current is MISSING else current, value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_RUNNERS = {
    "set": _run_set,
    "unset": _run_unset,
    "inc": _run_add,
    "dec": _run_add,
    "append": _run_append,
    "remove": _run_remove,
    "merge": _run_merge,
}
