"""A loaded entity held as columns (`replay.columns.EventColumns`): events made on demand, and
a merge fold over the columns that equals the fold over whole events and builds none."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timetravel_support import row, store_with

from eventlab import timetravel
from eventlab.replay import Fold, FoldError, MergeReducer
from eventlab.replay.columns import EventColumns, field_values
from eventlab.timetravel import FoldCache

_DEEP = "[" * 300 + "]" * 300  # valid JSON, deeper than the fold may read: Unreadable

_payloads = st.one_of(
    st.dictionaries(st.sampled_from("abc"), st.one_of(
        st.none(), st.integers(0, 3), st.dictionaries(st.sampled_from("xy"),
                                                      st.one_of(st.none(), st.integers(0, 3)),
                                                      max_size=2)), max_size=3),
    st.none(), st.integers(0, 3), st.just("text"), st.just([1, 2]), st.just("DEEP"))
_steps = st.lists(st.tuples(_payloads, st.booleans(), st.sampled_from(["Changed", "Closed"])),
                  min_size=1, max_size=30)


def _rows(steps: list[tuple[Any, bool, str]]) -> list[dict[str, Any]]:
    rows = []
    for i, (payload, deleted, kind) in enumerate(steps):
        r = row("o-1", i + 1, payload, event_type=kind, is_delete=deleted)
        if payload == "DEEP":
            r["payload"] = _DEEP
        rows.append(r)
    return rows


def _outcomes(fold: Fold) -> list[Any]:
    out: list[Any] = []
    for i in range(-1, len(fold)):
        try:
            out.append(fold.state_at(i))
        except FoldError as exc:
            out.append(("failed", exc.index, exc.event_id, exc.state_before))
    return out


@settings(max_examples=60, deadline=None)
@given(steps=_steps, every=st.integers(1, 4), delete_types=st.sampled_from([(), ("Closed",)]))
def test_the_fold_over_columns_equals_the_fold_over_events_and_builds_none(
        steps: list[tuple[Any, bool, str]], every: int, delete_types: tuple[str, ...]) -> None:
    events = timetravel.load_events(store_with(_rows(steps)).cursor(), "o-1")
    assert isinstance(events, EventColumns)
    whole = Fold(tuple(events),  # a tuple: folded event by event
                 MergeReducer(delete_types), snapshot_every=every)
    columns = timetravel.load_events(store_with(_rows(steps)).cursor(), "o-1")
    lazy = Fold(columns, MergeReducer(delete_types), snapshot_every=every)
    assert lazy.failed_at == whole.failed_at
    assert _outcomes(lazy) == _outcomes(whole)
    assert lazy.snapshot_count == whole.snapshot_count
    assert lazy.error is not None or not columns.built  # a failure names (builds) its event


def test_events_are_made_on_demand_and_equal_the_ones_built_together() -> None:
    rows = [row("o-1", i + 1, {"i": i}, offset=10 + i) for i in range(5)]
    events = timetravel.load_events(store_with(rows).cursor(), "o-1")
    assert isinstance(events, EventColumns)
    one, last = events[1], events[-1]
    assert not events.built  # indexing builds one event, not all
    assert field_values(events, "offset") == [10, 11, 12, 13, 14] and not events.built
    with pytest.raises(IndexError):
        events[5]
    assert events[1:3] == tuple(events)[1:3] and events.built
    assert one == events[1] and last == events[4] and last.payload == {"i": 4}
    assert events == tuple(events) and hash(events) == hash(tuple(events))
    assert [e.seq for e in reversed(events)] == [5, 4, 3, 2, 1]


def test_first_load_and_seeking_build_no_event() -> None:
    rows = [row("o-1", i + 1, {"n": i, "k": {"x": i % 3}}) for i in range(250)]
    store = store_with(rows)
    loaded = FoldCache().get(store.cursor(), "db", "o-1", "merge", MergeReducer)
    assert isinstance(loaded.fold.events, EventColumns)
    assert loaded.fold.state_at(137) == {"n": 137, "k": {"x": 137 % 3}}
    assert loaded.fold.index_at_time(rows[200]["ts"]) == 200
    position = timetravel.position(loaded.fold, 249)
    assert position.event is not None and position.event.seq == 250
    assert not loaded.fold.events.built


def _count_types(state: Any, event: Any) -> Any:
    """A user reducer that edits its state in place and reads fields merge never reads."""
    state = state or {}
    state[event.event_type] = state.get(event.event_type, 0) + 1
    state["last_offset"] = event.offset
    return state


def test_a_reducer_that_needs_whole_events_gets_them_built_once() -> None:
    rows = [row("o-1", i + 1, {"i": i}, event_type="AB"[i % 2]) for i in range(230)]
    columns = timetravel.load_events(store_with(rows).cursor(), "o-1")
    lazy = Fold(columns, _count_types, snapshot_every=50)
    whole = Fold(tuple(timetravel.load_events(store_with(rows).cursor(), "o-1")),
                 _count_types, snapshot_every=50)
    assert columns.built  # type: ignore[attr-defined]
    assert _outcomes(lazy) == _outcomes(whole)
    assert lazy.state_at(229) == {"A": 115, "B": 115, "last_offset": 230}
    assert [(i, e.seq) for i, e, _ in lazy.iter_states(10, 12)] == [(10, 11), (11, 12)]
