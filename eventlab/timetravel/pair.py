"""Pin two positions of an entity (or one position under two reducers) and compare them: the
state diff from A to B and the events between, pure.

Positions are fold indexes (-1: before the first event). With one fold, the events between are
those applied going from A to B (indexes min+1 .. max, in stream order; `backwards` when B is
before A). With two folds (two reducers over the same events), the positions are the same
events and nothing lies between: the diff is what the reducers disagree on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventlab.errors import EventLabError
from eventlab.replay import Change, Event, Fold, FoldError, diff


@dataclass(frozen=True)
class Side:
    """One pinned position: its index, the event there and the state (or the failure)."""

    index: int
    event: Event | None
    state: Any
    error: FoldError | None


@dataclass(frozen=True)
class PairDiff:
    """From A to B: the changes, the events between, and which way the stream runs."""

    a: Side
    b: Side
    changes: list[Change]
    between: tuple[Event, ...]
    backwards: bool


def _side(fold: Fold, index: int) -> Side:
    if not -1 <= index < len(fold):
        raise EventLabError(f"position {index} is outside -1..{len(fold) - 1}")
    event = fold.events[index] if index >= 0 else None
    try:
        return Side(index, event, fold.state_at(index), None)
    except FoldError as exc:
        return Side(index, event, exc.state_before, exc)


def pair_diff(fold: Fold, a: int, b: int, other: Fold | None = None) -> PairDiff:
    """The diff from position `a` of `fold` to position `b` (of `other`, a fold of the same
    events under another reducer, when given)."""
    if other is not None and [e.event_id for e in other.events] != [
            e.event_id for e in fold.events]:
        raise EventLabError("the two folds are not over the same events")
    left, right = _side(fold, a), _side(other or fold, b)
    between = () if other is not None else fold.events[min(a, b) + 1:max(a, b) + 1]
    return PairDiff(left, right, diff(left.state, right.state), between, b < a)
