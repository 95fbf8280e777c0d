"""diff / apply_diff, blame and field history, checked against brute force."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from replay_support import JSON, STATES, event_streams, make_event, merge_in_place

from eventlab.replay.diff import (
    Change,
    apply_diff,
    blame,
    diff,
    event_changes,
    field_history,
)
from eventlab.replay.event import Event
from eventlab.replay.fold import Fold
from eventlab.replay.jsonvalue import MISSING, Path, get_path, json_equal


def test_diff_is_leaf_level_for_objects_and_whole_for_lists() -> None:
    before = {"status": "new", "address": {"city": "Ghent", "zip": "9000"}, "items": [1],
              "gone": 1}
    after = {"status": "paid", "address": {"city": "Bruges", "zip": "9000"}, "items": [1, 2],
             "contact": {"email": "a@b"}}
    assert diff(before, after) == [
        Change("change", ("status",), "new", "paid"),
        Change("change", ("address", "city"), "Ghent", "Bruges"),
        Change("change", ("items",), [1], [1, 2]),
        Change("remove", ("gone",), 1, None),
        Change("add", ("contact",), None, {"email": "a@b"}),
    ]
    assert [c.dotted for c in diff(before, after)][:2] == ["status", "address.city"]


def test_diff_root_create_delete_and_json_types() -> None:
    assert diff(None, {"a": 1}) == [Change("add", (), None, {"a": 1})]
    assert diff({"a": 1}, None) == [Change("remove", (), {"a": 1}, None)]
    assert diff(None, None) == [] and diff({"a": 1}, {"a": 1.0}) == []
    assert diff({"a": 1}, {"a": True}) == [Change("change", ("a",), 1, True)]
    assert diff({"a": None}, {}) == [Change("remove", ("a",), None, None)]
    assert Change("add", ()).dotted == ""


@settings(max_examples=150, deadline=None)
@given(STATES, STATES)
def test_apply_diff_round_trips(before: Any, after: Any) -> None:
    snapshot = copy.deepcopy(before)
    result = apply_diff(before, diff(before, after))
    assert json_equal(result, after)
    assert before == snapshot  # not mutated
    assert diff(after, after) == []


@given(st.dictionaries(st.sampled_from("abc"), JSON, max_size=4))
def test_apply_diff_of_empty_changes_is_identity(state: dict[str, Any]) -> None:
    assert apply_diff(state, []) is state


def leaves(value: Any, path: Path = ()) -> list[Path]:
    """Leaf paths the way blame defines them: non-empty objects are not leaves."""
    if isinstance(value, dict) and value:
        return [p for key, child in value.items() for p in leaves(child, (*path, key))]
    return [path]


def value_at(state: Any, path: Path) -> Any:
    """The value at path through objects only (lists are leaves), or MISSING."""
    for key in path:
        if not isinstance(state, dict) or key not in state:
            return MISSING
        state = state[key]
    return state


def brute_blame(states: list[Any], events: list[Event], index: int) -> dict[Path, Event]:
    """For each leaf of the state after `index`, the last event after which its value changed."""
    found: dict[Path, Event] = {}
    for path in leaves(states[index + 1]):
        for k in range(index, -1, -1):
            old, new = value_at(states[k], path), value_at(states[k + 1], path)
            if (old is MISSING) != (new is MISSING) or not json_equal(old, new):
                found[path] = events[k]
                break
    return found


@settings(max_examples=60, deadline=None)
@given(events=event_streams(), k=st.integers(1, 5), in_place=st.booleans())
def test_blame_and_history_match_brute_force(
    events: list[Event], k: int, in_place: bool
) -> None:
    fold = Fold(events, merge_in_place if in_place else None, snapshot_every=k)
    states = [fold.state_at(i) for i in range(-1, len(events))]
    for index in range(-1, len(events)):
        assert blame(fold, index) == brute_blame(states, events, index)
    for path in [("a",), ("a", "b"), ()]:
        values = [get_path(state, path) for state in states[1:]]
        assert [h.value for h in field_history(fold, path, changes_only=False)] == values
        changed = [
            events[i].event_id for i, value in enumerate(values)
            if not _same_value(value, get_path(states[i], path))
        ]
        assert [h.event_id for h in field_history(fold, path)] == changed


def _same_value(a: Any, b: Any) -> bool:
    return a is b if MISSING in (a, b) else json_equal(a, b)


def test_blame_set_removed_and_set_again_goes_to_last_setter() -> None:
    events = [
        make_event(1, "Created", {"a": 1, "b": {"c": 1}}),
        make_event(2, "Cleared", {"a": None}),
        make_event(3, "Other", {"b": {"d": 2}}),
        make_event(4, "Reset", {"a": 1}),
        make_event(5, "Emptied", {"b": {"c": None, "d": None}}),
    ]
    fold = Fold(events, snapshot_every=2)
    who = {path: ev.event_id for path, ev in blame(fold, 3).items()}
    assert who == {("a",): "ev-4", ("b", "c"): "ev-1", ("b", "d"): "ev-3"}
    who = {path: ev.event_id for path, ev in blame(fold, 4).items()}
    assert who == {("a",): "ev-4", ("b",): "ev-5"}  # the emptied object is a leaf now
    assert blame(fold, -1) == {}
    deleted = Fold([*events, make_event(6, "Gone", None, is_delete=True)])
    assert {p: e.event_id for p, e in blame(deleted, 5).items()} == {(): "ev-6"}


def test_blame_ignores_untouched_initial_leaves() -> None:
    fold = Fold([make_event(1, "E", {"b": 2})], initial={"a": 1})
    assert {p: e.event_id for p, e in blame(fold, 0).items()} == {("b",): "ev-1"}


def test_field_history_changes_only_and_all() -> None:
    events = [
        make_event(1, "Placed", {"status": "new", "total": 1}),
        make_event(2, "Touched", {"total": 2}),
        make_event(3, "Paid", {"status": "paid"}),
        make_event(4, "Paid", {"status": "paid"}),
        make_event(5, "Gone", None, is_delete=True),
    ]
    fold = Fold(events, snapshot_every=2)
    history = field_history(fold, "status")
    assert [(h.seq, h.event_type, h.value) for h in history] == [
        (1, "Placed", "new"), (3, "Paid", "paid"), (5, "Gone", MISSING),
    ]
    assert history[0].event_id == "ev-1" and history[0].ts == events[0].ts
    full = field_history(fold, ("status",), changes_only=False)
    assert [h.value for h in full] == ["new", "new", "paid", "paid", MISSING]
    seq, ts, event_id, event_type, value = full[1]  # plain tuples too
    assert (seq, event_id, event_type, value) == (2, "ev-2", "Touched", "new")


def test_field_history_of_nested_path_is_a_copy_and_stops_at_failure() -> None:
    def reducer(state: Any, event: Event) -> Any:
        if event.event_type == "Boom":
            raise ValueError("bad")
        return {**(state or {}), **event.payload}

    events = [make_event(1, "E", {"a": {"b": [1]}}), make_event(2, "E", {"a": {"b": [2]}}),
              make_event(3, "Boom", {}), make_event(4, "E", {"a": 9})]
    fold = Fold(events, reducer)
    history = field_history(fold, "a.b")
    assert [h.value for h in history] == [[1], [2]]
    history[0].value.append(5)
    assert fold.state_at(0) == {"a": {"b": [1]}}
    assert fold.failed_at == 2


def test_event_changes() -> None:
    events = [make_event(1, "A", {"a": 1}), make_event(2, "B", {"a": 2, "b": 1})]
    fold = Fold(events)
    assert event_changes(fold, 0) == [Change("add", (), None, {"a": 1})]
    assert event_changes(fold, 1) == [
        Change("change", ("a",), 1, 2), Change("add", ("b",), None, 1),
    ]


def test_get_path_steps_into_lists() -> None:
    assert get_path({"a": [{"b": 1}]}, ("a", "0", "b")) == 1
    assert get_path({"a": [1]}, ("a", "5")) is MISSING
    assert get_path({"a": 1}, ("a", "b")) is MISSING



@pytest.mark.parametrize(("call", "index"), [(blame, 1), (blame, -2), (event_changes, 1),
                                             (event_changes, -1)])
def test_blame_and_event_changes_check_the_index(call: Any, index: int) -> None:
    with pytest.raises(IndexError):
        call(Fold([make_event(1, "A", {"a": 1})]), index)
