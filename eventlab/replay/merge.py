"""The default reducer: JSON merge patch (RFC 7396) of each event's payload into the state.

An event that sets `{"status": "paid"}` changes that key and keeps the others; a key set to null
in the payload is removed; nested objects merge key by key; anything that is not an object (a
list, a string, a number) replaces what was there. A delete (tombstone, `is_delete`, or an
event type in `delete_types`) makes the state None: the entity no longer exists. An event with a
null payload that is not a delete carries no data and leaves the state unchanged (RFC 7396 alone
would make the whole state null).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from eventlab.replay.event import Event
from eventlab.replay.reducer import Reducer, State

_COLUMNS = ("payload", "is_delete", "event_type")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 MergePatch(target, patch), without mutating either argument.

    The result shares unchanged sub-values with `target` and `patch` (copy it before editing).
    """
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = merge_patch(result.get(key), value)
        else:  # what merge_patch(old, value) would return, without the call (hot path)
            result[key] = value
    return result


def merge_reducer(
    state: State, event: Event, delete_types: Iterable[str] = frozenset()
) -> State:
    """Merge the event's payload into the state; a delete gives None.

    A missing state starts from `{}`; a payload that is not an object replaces the state; a null
    payload on a non-delete event leaves it unchanged.
    """
    return merge_step(state, event.payload, event.is_delete or event.event_type in delete_types)


def merge_step(state: State, payload: Any, deleted: bool) -> State:
    """The merge rule for one event's payload and whether it deletes the entity: a delete
    gives None, a null payload leaves the state, any other is merge-patched in."""
    if deleted:
        return None
    if payload is None:
        return state
    return merge_patch(state, payload)


class MergeReducer(Reducer):
    """`merge_reducer` as a `Reducer`, with the event types that delete the entity."""

    def __init__(self, delete_types: Iterable[str] = (), *, name: str = "merge") -> None:
        self.delete_types = frozenset(delete_types)
        self.name = name

    def apply(self, state: State, event: Event) -> State:
        return merge_reducer(state, event, self.delete_types)

    def __call__(self, state: State, event: Event) -> State:
        return merge_reducer(state, event, self.delete_types)

    # The fold calls this once per event: skip `Reducer.call_owned`'s extra hop (merge patch
    # never edits its arguments, so an owned state needs nothing else).
    call_owned = __call__

    @property
    def columns(self) -> tuple[str, ...] | None:  # type: ignore[override]
        """What `merge_reducer` reads of an event; None for a subclass that upcasts or
        applies events its own way (it needs whole events)."""
        own = type(self)
        if (own.upcast is not Reducer.upcast or own.apply is not MergeReducer.apply
                or own.__call__ is not MergeReducer.__call__):
            return None
        return _COLUMNS

    def run(self, state: State, payloads: Sequence[Any], is_delete: Sequence[Any],
            event_types: Sequence[str]) -> State:
        """`merge_reducer` over a run of events given column-wise (the fold's hot loop: no
        `Event`, no call per event but the patch)."""
        delete_types = self.delete_types
        if not delete_types and not any(is_delete):
            for payload in payloads:
                if payload is not None:
                    state = merge_patch(state, payload)
            return state
        for payload, deleted, event_type in zip(payloads, is_delete, event_types, strict=True):
            state = merge_step(state, payload, deleted or event_type in delete_types)
        return state
