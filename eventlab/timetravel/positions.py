"""Positions in one entity's fold, pure: the state, diff or failure at an index, the time
bases, and the plain shapes the page and the CLI print.

Positions are indexes into the fold: the state at i is the state after event i, -1 before the
first. Time bases are `event_time` (ts), `kafka_time` (kafka_ts; events without one never
count) and `offset` (the source offset, in offset order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventlab.errors import EventLabError
from eventlab.replay import (
    Change,
    Event,
    Fold,
    FoldError,
    diff,
    event_changes,
    field_values,
)
from eventlab.replay.jsontext import Unreadable, finite_or_text
from eventlab.replay.jsonvalue import MISSING
from eventlab.timeutil import TIME_BASES


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


_BASIS_FIELDS = {"event_time": "ts", "kafka_time": "kafka_ts", "offset": "offset"}


def basis_values(fold: Fold, basis: str) -> list[Any]:
    """Each event's time (or offset) on a basis, in stream order."""
    if basis in _BASIS_FIELDS:
        return field_values(fold.events, _BASIS_FIELDS[basis])  # no Event built
    raise EventLabError(f"unknown time basis {basis!r}; use one of {', '.join(TIME_BASES)}")


def available_bases(fold: Fold) -> list[str]:
    """The bases this entity's events support (Kafka time only when some event has one)."""
    out = ["event_time"]
    if any(t is not None for t in field_values(fold.events, "kafka_ts")):
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


def jsonable(value: Any) -> Any:
    """A value ready for strict JSON output: MISSING as None, datetimes as ISO text, NaN and
    the infinities as text, an unreadable stored value as its description."""
    if value is MISSING:
        return None
    if isinstance(value, float):
        return finite_or_text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Unreadable):
        return str(value)
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
