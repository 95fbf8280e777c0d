"""The Time travel condition: the invariant grammar over the state, `event.*` refused with its
column, runs of holding positions, and bisect taking the parsed condition as it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eventlab.invariants.grammar import ParseError
from eventlab.replay import Event, Fold
from eventlab.timetravel import bisect, condition

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _fold(payloads: list[Any]) -> Fold:
    return Fold([Event(event_id=f"e{i}", entity_type="order", entity_id="o-1",
                       event_type="Changed", seq=i, ts=T0 + timedelta(seconds=i), payload=p)
                 for i, p in enumerate(payloads)], snapshot_every=2)


def test_holds_reads_the_state() -> None:
    cond = condition.parse('status == "paid" and total > 10')
    assert cond.holds({"status": "paid", "total": 11})
    assert not cond.holds({"status": "paid"})  # absent compares false
    assert not cond.holds(None)


@pytest.mark.parametrize(("text", "column", "words"), [
    ("status == ", 11, "expected"),
    ("status = 'x'", 8, "unexpected"),
    ("total > 1 and event.type == 'Paid'", 15, "event.type"),
    ("status exists or event.payload.x exists", 18, "event.type"),
])
def test_errors_name_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(ParseError) as caught:
        condition.parse(text)
    assert caught.value.column == column and words in str(caught.value)


def test_a_field_named_event_is_a_state_path() -> None:
    assert condition.parse("order.event == 1").holds({"order": {"event": 1}})


def test_ranges() -> None:
    assert condition.ranges([]) == []
    assert condition.ranges([True, True, False, True, False, False, True]) == [
        (0, 1), (3, 3), (6, 6)]


def test_bisect_takes_the_condition() -> None:
    fold = _fold([{"n": 1}, {"n": 5}, {"n": 2}, {"n": 7}, {"n": 8}, {"n": 0}])
    cond = condition.parse("n > 4")
    assert bisect.marks(fold, cond) == [False, True, False, True, True, False]
    hit = bisect.find(fold, cond, direction="next", at=1)
    assert hit is not None and hit.index == 3
    stop = bisect.find(fold, cond, what="stops", direction="next", at=3)
    assert stop is not None and stop.index == 5
