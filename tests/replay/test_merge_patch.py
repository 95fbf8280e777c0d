"""RFC 7396 merge patch and the default reducer."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from replay_support import JSON, STATES, make_event

from eventlab.replay.merge import MergeReducer, merge_patch, merge_reducer

# RFC 7396, Appendix A: (original, patch, result)
RFC7396_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("original", "patch", "result"), RFC7396_EXAMPLES)
def test_merge_patch_rfc7396_appendix_a(original: Any, patch: Any, result: Any) -> None:
    before = (copy.deepcopy(original), copy.deepcopy(patch))
    assert merge_patch(original, patch) == result
    assert (original, patch) == before  # inputs untouched


@pytest.mark.parametrize(("original", "patch", "result"), RFC7396_EXAMPLES)
def test_default_reducer_rfc7396_appendix_a(original: Any, patch: Any, result: Any) -> None:
    state = merge_reducer(original, make_event(1, "Changed", patch))
    if patch is None:  # documented: a null payload that is not a delete changes nothing
        assert state == original
    else:
        assert state == result


def test_delete_events_give_none() -> None:
    state = {"a": 1}
    assert merge_reducer(state, make_event(1, "Gone", None, is_delete=True)) is None
    assert merge_reducer(state, make_event(1, "OrderCancelled", {"why": "x"})) == {
        "a": 1, "why": "x",
    }
    reducer = MergeReducer(delete_types={"OrderCancelled"})
    assert reducer(state, make_event(1, "OrderCancelled", {"why": "x"})) is None
    assert reducer.name == "merge"


def test_missing_state_starts_empty_and_deleted_entity_comes_back() -> None:
    assert merge_reducer(None, make_event(1, "Created", {"a": {"b": None}})) == {"a": {}}
    reducer = MergeReducer()
    state = reducer(None, make_event(1, "Created", {"a": 1}))
    state = reducer(state, make_event(2, "Deleted", None, is_delete=True))
    assert reducer(state, make_event(3, "Created", {"b": 2})) == {"b": 2}


def test_non_object_payload_replaces_state() -> None:
    assert merge_reducer({"a": 1}, make_event(1, "Replaced", [1, 2])) == [1, 2]
    assert merge_reducer([1, 2], make_event(2, "Changed", {"a": 1})) == {"a": 1}


@given(JSON, STATES)
def test_merge_patch_never_mutates_and_is_idempotent(target: Any, patch: Any) -> None:
    before = (copy.deepcopy(target), copy.deepcopy(patch))
    once = merge_patch(target, patch)
    assert (target, patch) == before
    assert merge_patch(once, patch) == once  # RFC 7396 patches are idempotent
