"""Pin and diff (`eventlab.timetravel.pair`): two positions of one fold, one position under two
reducers, the events between, failures kept per side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timetravel_support import boom_on

from eventlab.errors import EventLabError
from eventlab.replay import Event, Fold, FunctionReducer, apply_diff, merge_reducer
from eventlab.timetravel.pair import pair_diff

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _events(payloads: list[Any], types: list[str] | None = None) -> list[Event]:
    return [Event(event_id=f"e{i}", entity_type="order", entity_id="o-1",
                  event_type=(types or ["Changed"] * len(payloads))[i], seq=i + 1,
                  ts=T0 + timedelta(seconds=i), payload=p) for i, p in enumerate(payloads)]


def test_two_positions_diff_and_the_events_between() -> None:
    fold = Fold(_events([{"status": "placed", "n": 1}, {"status": "paid"}, {"n": 2},
                         {"city": "Rome"}]))
    got = pair_diff(fold, 0, 2)
    assert sorted((c.op, c.dotted, c.old, c.new) for c in got.changes) == [
        ("change", "n", 1, 2), ("change", "status", "placed", "paid")]
    assert [e.seq for e in got.between] == [2, 3] and not got.backwards
    back = pair_diff(fold, 3, -1)
    assert back.backwards and [e.seq for e in back.between] == [1, 2, 3, 4]
    assert back.b.state is None and back.b.event is None
    with pytest.raises(EventLabError):
        pair_diff(fold, 0, 9)


def test_one_position_under_two_reducers() -> None:
    events = _events([{"total": 10}, {"total": 5}])

    def adds(state: Any, event: Event) -> Any:
        state = dict(state or {})
        state["total"] = state.get("total", 0) + event.payload["total"]
        return state

    got = pair_diff(Fold(events), 1, 1, Fold(events, FunctionReducer(adds, name="adds")))
    assert [(c.dotted, c.old, c.new) for c in got.changes] == [("total", 5, 15)]
    assert got.between == ()


def test_a_failing_side_keeps_the_state_before_and_the_error() -> None:
    events = _events([{"a": 1}, {"a": 2}], ["Ok", "Bad"])
    got = pair_diff(Fold(events), 0, 1, Fold(events, boom_on("Bad")))
    assert got.b.error is not None and got.b.state == {"a": 1} and got.changes == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from("abc"), st.one_of(st.none(),
                                                                   st.integers(0, 3))),
                min_size=1, max_size=12), st.data())
def test_applying_the_diff_to_a_gives_b(payloads: list[Any], data: st.DataObject) -> None:
    fold = Fold(_events(payloads), snapshot_every=3)
    a = data.draw(st.integers(-1, len(payloads) - 1))
    b = data.draw(st.integers(-1, len(payloads) - 1))
    got = pair_diff(fold, a, b)
    assert apply_diff(got.a.state, got.changes) == got.b.state
    state = got.a.state
    if not got.backwards:  # folding the events between from A's state gives B's
        for e in got.between:
            state = merge_reducer(state, e)
        assert state == got.b.state
