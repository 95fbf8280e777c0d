"""Positions in one entity's fold (`eventlab.timetravel.positions`), pure and in memory.

Folds are built from `Event`s made here (no store): the state, diff or failure at a position,
the time bases and finding a position on each, and the plain shapes the page and CLI print.
Two hypothesis properties tie positions to the fold: the state at a position is the fold's,
and `index_at` is the last event in stream order at or before the time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timetravel_support import boom_on

from eventlab.errors import EventLabError
from eventlab.replay import MISSING, Change, Event, Fold, FoldError, apply_diff
from eventlab.timetravel.positions import (
    Position,
    available_bases,
    basis_values,
    change_dicts,
    creation_changes,
    index_at,
    jsonable,
    leaf_paths,
    out_of_order,
    position,
)

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def _at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def _event(seq: int, payload: Any = None, *, event_type: str = "Changed",
           minute: float | None = None, kafka_minute: float | None = None,
           offset: int | None = None) -> Event:
    """Event `seq` of order o-1 at T0 + `minute` (default: seq) minutes."""
    return Event(event_id=f"ev-{seq}", entity_type="order", entity_id="o-1",
                 event_type=event_type, seq=seq, ts=_at(seq if minute is None else minute),
                 payload=payload,
                 kafka_ts=None if kafka_minute is None else _at(kafka_minute),
                 offset=offset)


def _order_fold() -> Fold:
    return Fold([_event(1, {"status": "placed", "n": 1}), _event(2, {"status": "paid"}),
                 _event(3, {"n": None, "addr": {"city": "Rome"}})])


def _ops(pos: Position) -> list[tuple[str, str, Any, Any]]:
    return [(c.op, c.dotted, c.old, c.new) for c in pos.changes]


# --- position -------------------------------------------------------------------------------

def test_position_before_the_first_event() -> None:
    pos = position(_order_fold(), -1)
    assert pos == Position(index=-1, event=None, state=None, changes=[], error=None)


def test_position_at_the_first_event_adds_the_whole_state() -> None:
    fold = _order_fold()
    pos = position(fold, 0)
    assert pos.event is fold.events[0] and pos.error is None
    assert pos.state == {"status": "placed", "n": 1}
    assert _ops(pos) == [("add", "", None, {"status": "placed", "n": 1})]


def test_position_at_the_last_event_has_its_changes() -> None:
    pos = position(_order_fold(), 2)
    assert pos.state == {"status": "paid", "addr": {"city": "Rome"}}
    assert _ops(pos) == [("remove", "n", 1, None), ("add", "addr", None, {"city": "Rome"})]
    assert pos.event is not None and pos.event.seq == 3


def test_position_state_is_a_private_copy() -> None:
    fold = _order_fold()
    position(fold, 2).state["status"] = "edited"
    assert position(fold, 2).state["status"] == "paid"


def test_position_at_and_past_a_failing_reducer() -> None:
    fold = Fold([_event(1, {"s": "placed"}), _event(2, {"s": "paid"}),
                 _event(3, {"s": "sent"}, event_type="Boom"), _event(4, {"s": "done"})],
                boom_on("Boom"))
    for index in (2, 3):
        pos = position(fold, index)
        assert isinstance(pos.error, FoldError) and pos.error.index == 2
        assert pos.state == {"s": "paid"}  # the state before the failing event
        assert pos.changes == []
        assert pos.event is fold.events[index]
    before = position(fold, 1)
    assert before.error is None and before.state == {"s": "paid"}
    assert _ops(before) == [("change", "s", "placed", "paid")]


# --- bases ----------------------------------------------------------------------------------

def _mixed_fold() -> Fold:
    return Fold([_event(1, minute=1, kafka_minute=2, offset=10),
                 _event(2, minute=5, offset=20),
                 _event(3, minute=3, kafka_minute=9, offset=15)])


def test_basis_values_in_stream_order() -> None:
    fold = _mixed_fold()
    assert basis_values(fold, "event_time") == [_at(1), _at(5), _at(3)]
    assert basis_values(fold, "kafka_time") == [_at(2), None, _at(9)]
    assert basis_values(fold, "offset") == [10, 20, 15]
    with pytest.raises(EventLabError, match="unknown time basis 'wall'.*event_time"):
        basis_values(fold, "wall")


def test_available_bases_offer_kafka_time_only_when_some_event_has_one() -> None:
    assert available_bases(_mixed_fold()) == ["event_time", "kafka_time", "offset"]
    assert available_bases(_order_fold()) == ["event_time", "offset"]
    assert available_bases(Fold([])) == ["event_time", "offset"]


def test_index_at_on_event_time() -> None:
    fold = _mixed_fold()  # times 1, 5, 3
    assert index_at(fold, _at(0), "event_time") == -1
    assert index_at(fold, _at(1), "event_time") == 0
    assert index_at(fold, _at(4), "event_time") == 2  # the last event at or before: seq 3
    assert index_at(fold, _at(3), "event_time") == 2
    assert index_at(fold, _at(60), "event_time") == 2
    assert index_at(fold, (T0 + timedelta(minutes=1)).replace(tzinfo=None), "event_time") == 0


def test_index_at_on_kafka_time_skips_events_without_one() -> None:
    fold = _mixed_fold()  # kafka times 2, None, 9
    assert index_at(fold, _at(1), "kafka_time") == -1
    assert index_at(fold, _at(8), "kafka_time") == 0
    assert index_at(fold, _at(9), "kafka_time") == 2


def test_index_at_on_kafka_time_without_any_kafka_time_is_an_error() -> None:
    with pytest.raises(EventLabError, match="no event has a kafka_ts"):
        index_at(_order_fold(), _at(5), "kafka_time")


def test_index_at_on_offsets() -> None:
    fold = _mixed_fold()  # offsets 10, 20, 15
    assert [index_at(fold, n, "offset") for n in (9, 10, 14, 15, 19, 20)] == [-1, 0, 0, 2, 2, 2]
    with pytest.raises(EventLabError, match="cannot find a position"):
        index_at(fold, _at(1), "offset")


def test_index_at_on_an_unknown_basis_is_an_error() -> None:
    with pytest.raises(EventLabError, match="cannot find a position at .* on wall"):
        index_at(_mixed_fold(), _at(1), "wall")


def test_index_at_in_an_empty_fold_is_before_the_first() -> None:
    assert index_at(Fold([]), _at(1), "event_time") == -1


def test_out_of_order_counts_steps_back() -> None:
    fold = Fold([_event(i + 1, minute=m, kafka_minute=k, offset=i)
                 for i, (m, k) in enumerate([(1, None), (5, 3), (3, None), (4, 1), (2, 1),
                                             (2, None)])])
    assert out_of_order(fold, "event_time") == 2  # 5 -> 3 and 4 -> 2; 2 -> 2 is no step back
    assert out_of_order(fold, "kafka_time") == 1  # Nones are skipped: 3 -> 1 -> 1
    assert out_of_order(fold, "offset") == 0
    assert out_of_order(_order_fold(), "kafka_time") == 0


# --- plain shapes ---------------------------------------------------------------------------

def test_leaf_paths_are_sorted_leaves_and_objects() -> None:
    state = {"z": 1, "a": {"c": {"d": None}, "b": [1, 2], "e": {}}}
    assert leaf_paths(state) == ["a", "a.b", "a.c", "a.c.d", "a.e", "z"]
    assert leaf_paths(state, prefix="s") == ["s", "s.a", "s.a.b", "s.a.c", "s.a.c.d", "s.a.e",
                                             "s.z"]


def test_leaf_paths_of_scalars_and_empty_states() -> None:
    assert leaf_paths(None) == [] and leaf_paths({}) == [] and leaf_paths(5) == []
    assert leaf_paths(5, prefix="x") == ["x"]


def test_leaf_paths_stop_at_the_limit() -> None:
    state = {f"k{i:02d}": {"v": i} for i in range(30)}
    assert len(leaf_paths(state)) == 60
    limited = leaf_paths(state, limit=7)
    assert len(limited) == 7 and limited == sorted(limited)
    assert set(limited) <= set(leaf_paths(state))


def test_jsonable() -> None:
    value = {"t": T0, 1: (MISSING, [T0]), "n": {"x": None}}
    assert jsonable(value) == {"t": "2025-06-01T08:00:00+00:00",
                               "1": [None, ["2025-06-01T08:00:00+00:00"]], "n": {"x": None}}
    assert jsonable(MISSING) is None and jsonable(3.5) == 3.5


def test_change_dicts() -> None:
    changes = [Change("add", ("a", "b"), None, T0), Change("remove", ("c",), {"d": 1}, None),
               Change("change", (), 1, MISSING)]
    assert change_dicts(changes) == [
        {"op": "add", "path": "a.b", "old": None, "new": "2025-06-01T08:00:00+00:00"},
        {"op": "remove", "path": "c", "old": {"d": 1}, "new": None},
        {"op": "change", "path": "", "old": 1, "new": None}]
    assert change_dicts([]) == []


def test_creation_changes_add_each_top_level_field() -> None:
    changes = creation_changes({"a": 1, "b": {"c": 2}})
    assert [(c.op, c.path, c.old, c.new) for c in changes] == [
        ("add", ("a",), None, 1), ("add", ("b",), None, {"c": 2})]
    assert creation_changes({}) == []


# --- properties -----------------------------------------------------------------------------

MINUTES = st.integers(0, 20)
PATCHES = st.dictionaries(st.sampled_from("abc"), st.integers(0, 3) | st.none(), max_size=3)


@settings(max_examples=60, deadline=None)
@given(st.lists(MINUTES, min_size=1, max_size=15), st.integers(-2, 22))
def test_index_at_is_the_last_event_in_stream_order_at_or_before(minutes: list[int],
                                                                 t: int) -> None:
    fold = Fold([_event(i + 1, minute=m) for i, m in enumerate(minutes)])
    expected = max((i for i, m in enumerate(minutes) if m <= t), default=-1)
    assert index_at(fold, _at(t), "event_time") == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(MINUTES | st.none(), min_size=1, max_size=15).filter(
    lambda ks: any(k is not None for k in ks)), st.integers(-2, 22))
def test_index_at_on_kafka_time_ignores_events_without_one(kafka: list[int | None],
                                                           t: int) -> None:
    fold = Fold([_event(i + 1, kafka_minute=k) for i, k in enumerate(kafka)])
    expected = max((i for i, k in enumerate(kafka) if k is not None and k <= t), default=-1)
    assert index_at(fold, _at(t), "kafka_time") == expected


@settings(max_examples=40, deadline=None)
@given(st.lists(PATCHES, max_size=12), st.integers(1, 4))
def test_positions_agree_with_the_fold_and_their_changes(patches: list[dict[str, Any]],
                                                         k: int) -> None:
    fold = Fold([_event(i + 1, p) for i, p in enumerate(patches)], snapshot_every=k)
    previous = position(fold, -1)
    for i in range(len(patches)):
        pos = position(fold, i)
        assert pos.error is None and pos.state == fold.state_at(i)
        assert apply_diff(previous.state, pos.changes) == pos.state
        previous = pos
