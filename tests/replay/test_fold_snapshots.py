"""`Fold`: snapshots equal the naive fold, bounded work per seek, errors, time lookups."""

from __future__ import annotations

import sys
import threading
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from replay_support import T0, event_streams, make_event, merge_in_place, naive_fold

from eventlab.errors import ReducerError
from eventlab.replay.event import Event
from eventlab.replay.fold import Fold, FoldError
from eventlab.replay.merge import MergeReducer
from eventlab.replay.reducer import Reducer, State
from eventlab.replay.rules import RulesReducer


class Counting(Reducer):
    """Merge, counting calls."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0
        self.inner = MergeReducer()

    def apply(self, state: State, event: Event) -> State:
        self.calls += 1
        return self.inner(state, event)


def mutating_log(state: Any, event: Event) -> Any:
    """A user-style reducer that edits its input in place."""
    state = state if isinstance(state, dict) else {}
    state.setdefault("log", []).append(event.seq)
    if isinstance(event.payload, dict):
        state.update(event.payload)
    return state


RULES = RulesReducer.from_toml("""
[events.Set]
inc = { path = "n" }
append = { path = "seen", from_event = "seq" }
[events.Put]
merge = { path = "put" }
""")


@settings(max_examples=50, deadline=None)
@given(
    events=event_streams(),
    k=st.integers(1, 7),
    queries=st.lists(st.integers(-1, 25), max_size=12),
    which=st.sampled_from(["merge", "mutating", "rules"]),
    eager=st.booleans(),
)
def test_state_at_any_index_equals_naive_fold(
    events: list[Event], k: int, queries: list[int], which: str, eager: bool
) -> None:
    reducer: Any = {"merge": MergeReducer(), "mutating": mutating_log, "rules": RULES}[which]
    fold = Fold(events, reducer, snapshot_every=k, eager=eager)
    expected: list[Any] = []
    for n in range(len(events) + 1):
        try:
            expected.append(naive_fold(fold.reducer, events, n))
        except ReducerError:  # rules on a state that a "Replace" event made a list
            break
    positions = list(range(-1, len(events)))
    for index in [q for q in queries if q < len(events)] + positions + positions[::-1]:
        if index + 1 < len(expected):
            assert fold.state_at(index) == expected[index + 1]
        else:
            with pytest.raises(FoldError):
                fold.state_at(index)
    if events and len(expected) == len(events) + 1:
        assert fold.state_at(seq=events[-1].seq) == expected[-1]


@settings(max_examples=30, deadline=None)
@given(events=event_streams(), k=st.integers(1, 6), data=st.data())
def test_each_seek_applies_at_most_k_events_and_a_step_applies_one(
    events: list[Event], k: int, data: st.DataObject
) -> None:
    reducer = Counting()
    fold = Fold(events, reducer, snapshot_every=k)
    assert reducer.calls == len(events)  # built once at construction
    assert fold.snapshot_count == len(events) // k + 1
    for _ in range(5):
        index = data.draw(st.integers(-1, len(events) - 1))
        reducer.calls = 0
        fold.state_at(index)
        assert reducer.calls <= k
        if index + 1 < len(events):
            reducer.calls = 0
            fold.state_at(index + 1)
            assert reducer.calls <= 1


@pytest.mark.parametrize("copy", [True, False])
def test_iter_states_leaves_cache_and_snapshots_intact(copy: bool) -> None:
    events = [make_event(i, "E", {"x": {f"k{i}": i}}) for i in range(1, 8)]
    fold = Fold(events, merge_in_place, snapshot_every=3, initial={"x": {"start": 0}})
    expected = [naive_fold(merge_in_place, [], 0, {"x": {"start": 0}})]
    for n in range(1, 8):
        expected.append(naive_fold(fold.reducer, events, n, {"x": {"start": 0}}))
    fold.state_at(1)  # cache at index 1
    seen = [(i, state == expected[i + 1]) for i, _e, state in fold.iter_states(2, copy=copy)]
    assert seen == [(i, True) for i in range(2, 7)]
    seen = [(i, state == expected[i + 1]) for i, _e, state in fold.iter_states(0, copy=copy)]
    assert seen == [(i, True) for i in range(7)]
    for index in [1, -1, 2, 5, 6, 0]:
        assert fold.state_at(index) == expected[index + 1]


def test_returned_states_are_private_copies() -> None:
    fold = Fold([make_event(1, "A", {"a": {"b": [1]}}), make_event(2, "B", {"c": 1})],
                snapshot_every=1)
    state = fold.state_at(0)
    state["a"]["b"].append(2)
    state["x"] = 1
    assert fold.state_at(0) == {"a": {"b": [1]}}
    assert fold.state_at(1) == {"a": {"b": [1]}, "c": 1}


def test_initial_state_and_seq_lookup() -> None:
    events = [make_event(s, "E", {"s": s}) for s in (10, 20, 20, 30)]
    fold = Fold(events, initial={"start": True})
    assert fold.state_at(-1) == {"start": True}
    assert fold.index_of_seq(5) == -1 and fold.index_of_seq(20) == 2
    assert fold.index_of_seq(25) == 2 and fold.index_of_seq(99) == 3
    assert fold.state_at(seq=25) == {"start": True, "s": 20}
    with pytest.raises(TypeError):
        fold.state_at(1, seq=10)
    with pytest.raises(IndexError):
        fold.state_at(4)
    with pytest.raises(IndexError):
        fold.state_at(-2)


def test_events_must_be_sorted_by_seq_and_rows_are_accepted() -> None:
    with pytest.raises(ReducerError, match="sorted by seq: event ev-1"):
        Fold([make_event(2), make_event(1)])
    row = dict(make_event(1, "E", None).as_dict(), payload='{"a": 1}')
    assert Fold([row]).state_at(0) == {"a": 1}
    with pytest.raises(ValueError):
        Fold([], snapshot_every=0)


class Exploding(Reducer):
    name = "exploding"

    def apply(self, state: State, event: Event) -> State:
        if event.event_type == "Boom":
            raise KeyError("total")
        return MergeReducer()(state, event)


@pytest.mark.parametrize("eager", [True, False])
def test_failing_reducer_gives_fold_error_with_event_and_state_before(eager: bool) -> None:
    events = [make_event(i, "Set", {"n": i}) for i in range(1, 7)]
    events[3] = make_event(4, "Boom", {"x": 1}, event_id="boom-1")
    fold = Fold(events, Exploding(), snapshot_every=2, eager=eager)
    assert fold.state_at(2) == {"n": 3}  # earlier states still available
    with pytest.raises(FoldError) as info:
        fold.state_at(4)
    error = info.value
    assert (error.event_id, error.seq, error.event_type, error.index) == ("boom-1", 4, "Boom", 3)
    assert error.state_before == {"n": 3}
    assert isinstance(error.__cause__, KeyError)
    for text in ("'exploding'", "boom-1", "seq 4", "Boom", "KeyError", "test_fold_snapshots.py"):
        assert text in str(error)
    assert fold.failed_at == 3 and fold.error is not None
    with pytest.raises(FoldError, match="boom-1"):
        fold.state_at(5)
    with pytest.raises(FoldError):
        fold.state_at(3)
    assert fold.state_at(1) == {"n": 2}
    error.state_before["n"] = -1  # the caller's copy
    with pytest.raises(FoldError) as again:
        fold.state_at(3)
    assert again.value.state_before == {"n": 3}


def test_build_reports_failure_without_raising() -> None:
    fold = Fold([make_event(1, "Boom", {})], Exploding(), eager=False)
    assert fold.error is None
    error = fold.build()
    assert isinstance(error, FoldError) and fold.error is error
    assert fold.state_at(-1) is None


def test_index_at_time_event_time_kafka_time_and_offset() -> None:
    minutes = [0, 5, 3, 10]  # event times out of seq order at index 2
    events = [
        make_event(i + 1, "E", {}, ts=T0 + timedelta(minutes=m),
                   kafka_ts=None if i == 1 else T0 + timedelta(minutes=i), offset=100 + i * 2)
        for i, m in enumerate(minutes)
    ]
    fold = Fold(events)
    at = fold.index_at_time
    assert at(T0 - timedelta(seconds=1)) == -1
    assert at(T0) == 0
    assert at(T0 + timedelta(minutes=4)) == 2  # index 2 (3 min) is the last at or before
    assert at(T0 + timedelta(minutes=5)) == 2
    assert at(T0 + timedelta(minutes=11)) == 3
    assert at(T0.replace(tzinfo=None) + timedelta(minutes=4)) == 2  # naive means UTC
    assert at("2024-03-01T12:04:00+00:00") == 2
    assert not fold.is_monotonic("event_time") and fold.is_monotonic("kafka_time")
    assert at(T0 + timedelta(minutes=1, seconds=30), basis="kafka_time") == 0  # index 1: none
    assert at(T0 + timedelta(minutes=2), basis="kafka_time") == 2
    assert at(99, basis="offset") == -1 and at(103, basis="offset") == 1
    assert at(1000, basis="offset") == 3
    with pytest.raises(ValueError, match="basis must be one of"):
        at(T0, basis="wall")
    with pytest.raises(TypeError):
        at(T0, basis="offset")
    no_kafka = Fold([make_event(1, "E", {})])
    with pytest.raises(ReducerError, match="no event has a kafka_ts"):
        no_kafka.index_at_time(T0, basis="kafka_time")


def test_plain_function_reducer_is_wrapped() -> None:
    fold = Fold([make_event(1, "E", {"a": 1}), make_event(2, "E", {"b": 2})], mutating_log)
    assert fold.reducer.name == "mutating_log"
    assert fold.state_at(1) == {"log": [1, 2], "a": 1, "b": 2}
    assert fold.state_at(0) == {"log": [1], "a": 1}
    assert [i for i, _e, _s in fold.iter_states(1)] == [1]
    assert "mutating_log" in repr(fold)
    with pytest.raises(ReducerError, match="not a reducer"):
        Fold([], 3)  # type: ignore[arg-type]


def half_done(state: Any, event: Event) -> Any:
    """Edits the state in place, then fails on "Boom": the error must show the state before."""
    state = state if isinstance(state, dict) else {}
    state["n"] = state.get("n", 0) + 1
    if event.event_type == "Boom":
        raise RuntimeError("half done")
    return state


@pytest.mark.parametrize(("eager", "k"), [(True, 2), (False, 2), (True, 100), (False, 1)])
def test_in_place_reducer_failure_keeps_the_true_state_before(eager: bool, k: int) -> None:
    events = [make_event(i, "Boom" if i == 5 else "E", {}) for i in range(1, 8)]
    fold = Fold(events, half_done, snapshot_every=k, eager=eager)
    with pytest.raises(FoldError) as info:
        fold.state_at(6)
    assert info.value.index == 4 and info.value.state_before == {"n": 4}
    assert fold.state_at(3) == {"n": 4} and fold.state_at(0) == {"n": 1}
    assert [s for _i, _e, s in fold.iter_states(0, 4)] == [{"n": n} for n in range(1, 5)]


def test_threads_may_share_a_fold() -> None:
    events = [make_event(i, "E", {"x": {f"k{i % 7}": i}, "n": i}) for i in range(1, 301)]
    fold = Fold(events, merge_in_place, snapshot_every=10, eager=False)
    expected = [naive_fold(fold.reducer, events, n) for n in range(301)]
    wrong: list[int] = []

    def seek(offset: int) -> None:
        for step in range(200):
            index = (offset * 37 + step * 13) % 300
            if fold.state_at(index) != expected[index + 1]:
                wrong.append(index)

    threads = [threading.Thread(target=seek, args=(n,)) for n in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so that races would show
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert wrong == []


def test_view_at_is_the_folds_own_state_without_a_copy_or_a_refold() -> None:
    events = [make_event(seq, "Changed", {"n": seq}) for seq in range(1, 251)]
    counting = Counting()
    fold = Fold(events, counting, snapshot_every=100)
    built = counting.calls
    snapshot = fold.view_at(199)  # the state after 200 events: a snapshot, no reducer call
    assert counting.calls == built and snapshot == fold.state_at(199) == {"n": 200}
    assert fold.view_at(199) is snapshot and fold.state_at(199) is not snapshot
    assert fold.view_at(-1) is None
    fold.view_at(204)
    assert counting.calls == built + 5  # from the snapshot at 200, never from the start
    with pytest.raises(IndexError):
        fold.view_at(250)
