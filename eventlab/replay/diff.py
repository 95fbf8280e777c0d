"""What changed between two states, who last changed each field, and one field's history.

`diff` walks both states in step through objects (dicts) present on both sides and reports a
`Change` at the first place they differ: a key added, removed, or a value changed. Lists and
scalars are compared as whole values (a list that gained an element is one "change" of the
list), and an object that appears or disappears is one "add"/"remove" carrying all of it. So
changes are leaf-level for nested objects, and `apply_diff(a, diff(a, b)) == b`.

At the root, None means "the entity does not exist": None -> {...} is an "add" at path `()`
and {...} -> None a "remove". Values are compared as JSON (`jsonvalue.json_equal`): 1 and 1.0
are equal, 1 and true are not.

`blame` and `field_history` read a `Fold` in one pass over its events, diffing consecutive
states; with the built-in reducers the states share unchanged parts, so each diff only visits
what the event touched.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from eventlab.replay.event import Event
from eventlab.replay.fold import BEFORE_FIRST, Fold, FoldError
from eventlab.replay.jsonvalue import (
    MISSING,
    Path,
    copy_value,
    dotted,
    get_path,
    json_equal,
    parse_path,
    set_path,
    unset_path,
)
from eventlab.replay.reducer import State

OPS: tuple[str, ...] = ("add", "remove", "change")


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: `op` at `path` (a tuple of keys), from `old` to `new`.

    For "add" `old` is None, for "remove" `new` is None (the op tells them from a JSON null).
    """

    op: str
    path: Path
    old: Any = None
    new: Any = None

    @property
    def dotted(self) -> str:
        """The path as text: `address.city`; `""` is the whole state."""
        return dotted(self.path)


def diff(before: State, after: State) -> list[Change]:
    """The changes that turn `before` into `after`, in key order (before's keys, then new ones)."""
    changes: list[Change] = []
    if before is None and after is not None:
        changes.append(Change("add", (), None, after))
    elif after is None and before is not None:
        changes.append(Change("remove", (), before, None))
    else:
        _diff(before, after, (), changes)
    return changes


def _diff(before: Any, after: Any, path: Path, out: list[Change]) -> None:
    if before is after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key, old in before.items():
            if key not in after:
                out.append(Change("remove", (*path, key), old, None))
            else:
                _diff(old, after[key], (*path, key), out)
        for key, new in after.items():
            if key not in before:
                out.append(Change("add", (*path, key), None, new))
    elif not json_equal(before, after):
        out.append(Change("change", path, before, after))


def apply_diff(before: State, changes: list[Change]) -> State:
    """`before` with the changes applied, without mutating it (unchanged parts are shared)."""
    state = before
    for change in changes:
        if change.op == "remove":
            state = unset_path(state, change.path)
        elif change.op in ("add", "change"):
            state = set_path(state, change.path, change.new)
        else:
            raise ValueError(f"unknown change op {change.op!r} (expected one of {OPS})")
    return state


def event_changes(fold: Fold, index: int) -> list[Change]:
    """What the event at `index` changed (two neighbouring states, one reducer call if cached)."""
    if not 0 <= index < len(fold):
        raise IndexError(f"index {index} is outside 0..{len(fold) - 1}")
    return diff(fold.state_at(index - 1), fold.state_at(index))


class _Leaf:
    """A blamed leaf: the event that last set it (None: untouched since the initial state)."""

    __slots__ = ("event",)

    def __init__(self, event: Event | None) -> None:
        self.event = event


_Node = dict[Hashable, Any] | _Leaf  # a tree mirroring the state: dicts of nodes, or leaves


def blame(fold: Fold, index: int) -> dict[Path, Event]:
    """For each leaf path of the state after `index`, the event that last changed it.

    Leaves are scalars, lists and empty objects; a whole state of None (deleted) is the leaf
    `()`. A path set, removed and set again is blamed on the last setter; a leaf no event has
    changed since the initial state is left out. Raises `FoldError` past a failing event.
    """
    if not BEFORE_FIRST <= index < len(fold):
        raise IndexError(f"index {index} is outside -1..{len(fold) - 1}")
    previous = fold.state_at(BEFORE_FIRST)
    tree: _Node = _build(previous, None)
    keep = copy_value if fold.reducer.mutates else _same_object  # the next step edits states
    for _i, event, state in fold.iter_states(0, index + 1, copy=False):
        for change in diff(previous, state):
            tree = _blame_change(tree, change, event)
        previous = keep(state)
    return dict(_leaves(tree, ()))


def _same_object(state: State) -> State:
    return state


def _build(value: Any, event: Event | None) -> _Node:
    if isinstance(value, dict) and value:
        return {key: _build(child, event) for key, child in value.items()}
    return _Leaf(event)


def _blame_change(tree: _Node, change: Change, event: Event) -> _Node:
    """Update the blame tree in place for one change (the root may be replaced)."""
    if not change.path:
        return _build(change.new, event)
    if isinstance(tree, _Leaf):  # an empty object that now gets keys
        tree = {}
    node = tree
    for key in change.path[:-1]:  # all objects on both sides: diff only descends through them
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    last = change.path[-1]
    if change.op == "remove":
        node.pop(last, None)
        if not node:  # the object is now empty: itself a leaf, set by this event
            return _set_node(tree, change.path[:-1], _Leaf(event))
    else:
        node[last] = _build(change.new, event)
    return tree


def _set_node(tree: _Node, path: Path, node: _Node) -> _Node:
    """Put `node` at `path` in the blame tree (in place; the root may be replaced)."""
    if not path:
        return node
    parent = tree
    for key in path[:-1]:
        parent = parent[key]  # type: ignore[index]
    parent[path[-1]] = node  # type: ignore[index]
    return tree


def _leaves(node: _Node, path: Path) -> Iterator[tuple[Path, Event]]:
    if isinstance(node, _Leaf):
        if node.event is not None:
            yield path, node.event
        return
    for key, child in node.items():
        yield from _leaves(child, (*path, key))


class HistoryEntry(NamedTuple):
    """The value of a path right after one event (`MISSING` when the path is absent)."""

    seq: int
    ts: datetime
    event_id: str
    event_type: str
    value: Any


def field_history(
    fold: Fold, path: str | Path, *, changes_only: bool = True
) -> list[HistoryEntry]:
    """The value at `path` (dotted or a tuple) after each event, in one pass.

    With `changes_only` (default) only the events after which the value differs from before
    (the first entry compares with the initial state). Stops before a failing event
    (`fold.error` tells which).
    """
    keys = parse_path(path)
    previous = get_path(fold.state_at(BEFORE_FIRST), keys)
    history: list[HistoryEntry] = []
    try:
        for _i, event, state in fold.iter_states(0, copy=False):
            value = get_path(state, keys)
            if changes_only and _same(previous, value):
                continue
            value = copy_value(value)  # states are the fold's own, and may be edited next step
            history.append(
                HistoryEntry(event.seq, event.ts, event.event_id, event.event_type, value)
            )
            previous = value
    except FoldError:
        pass
    return history


def _same(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    return json_equal(a, b)
