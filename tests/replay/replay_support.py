"""Shared helpers for the replay tests: event factories, hypothesis strategies, a naive fold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from eventlab.replay.event import Event

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def make_event(
    seq: int, event_type: str = "Changed", payload: Any = None, **fields: Any
) -> Event:
    """An event of entity order/o-1 at T0 + seq minutes, unless fields say otherwise."""
    defaults: dict[str, Any] = {
        "event_id": f"ev-{seq}",
        "entity_type": "order",
        "entity_id": "o-1",
        "event_type": event_type,
        "seq": seq,
        "ts": T0 + timedelta(minutes=seq),
        "payload": payload,
    }
    defaults.update(fields)
    return Event(**defaults)


def naive_fold(reducer: Any, events: list[Event], count: int, initial: Any = None) -> Any:
    """The state after the first `count` events, the obvious way."""
    state = initial
    for event in events[:count]:
        state = reducer(state, event)
    return state


def merge_in_place(state: Any, event: Event) -> Any:
    """The default reducer written the way users write Python: editing the state in place."""
    if event.is_delete:
        return None
    if event.payload is None:
        return state
    return _patch_in_place(state, event.payload)


def _patch_in_place(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _patch_in_place(target.get(key), value)
    return target


KEYS = st.sampled_from(["a", "b", "c", "d", "e"])
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False, width=16)
    | st.text("xyz", max_size=2)
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
JSON_DICTS = st.dictionaries(KEYS, JSON, max_size=5)
STATES = st.none() | JSON_DICTS | JSON
SMALL_JSON = st.recursive(
    LEAVES, lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=4
)
PATCHES = st.dictionaries(KEYS, SMALL_JSON | st.lists(LEAVES, max_size=2), max_size=3)


@st.composite
def event_streams(draw: st.DrawFn, max_size: int = 25) -> list[Event]:
    """Entity streams: mostly merge patches (with nulls), some deletes and odd payloads."""
    size = draw(st.integers(0, max_size))
    events = []
    for seq in range(1, size + 1):
        kind = draw(st.sampled_from(["patch"] * 8 + ["delete", "none", "scalar", "clear"]))
        if kind == "clear":  # remove keys until objects are empty, at the root or one level in
            nulls = dict.fromkeys(draw(st.lists(KEYS, min_size=3, unique=True)))
            payload = draw(st.sampled_from([nulls, {"a": nulls}, {"b": nulls}]))
            events.append(make_event(seq, "Clear", payload))
        elif kind == "patch":
            payload = draw(PATCHES)
            events.append(make_event(seq, draw(st.sampled_from(["Set", "Put"])), payload))
        elif kind == "delete":
            events.append(make_event(seq, "Deleted", None, is_delete=True))
        elif kind == "none":
            events.append(make_event(seq, "Ping", None))
        else:
            events.append(make_event(seq, "Replace", draw(LEAVES | st.lists(LEAVES, max_size=2))))
    return events
