"""Bisect (`eventlab.timetravel.bisect`) against a brute-force refold at every position.

Histories are hypothesis-generated merge patches; the oracle folds from the start for each
position (no snapshots), marks where the condition holds, and derives first / next / previous
for holds / starts / stops by hand. Both methods (scan, binary on a monotone condition) must
agree with it from every starting position, for several snapshot spacings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventlab.replay import Event, Fold, merge_reducer
from eventlab.timetravel.bisect import DIRECTIONS, WHATS, BisectError, as_predicate, find, marks

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _events(payloads: list[Any]) -> list[Event]:
    return [Event(event_id=f"e{i}", entity_type="order", entity_id="o-1", event_type="Changed",
                  seq=i, ts=T0 + timedelta(seconds=i), payload=p)
            for i, p in enumerate(payloads)]


def _brute(events: list[Event], predicate: Any) -> list[bool]:
    """The condition at -1 .. n-1, each state folded from the start (never at -1: the entity
    does not exist yet)."""
    out = [False]
    for p in range(len(events)):
        state = None
        for e in events[:p + 1]:
            state = merge_reducer(state, e)
        out.append(bool(predicate(state)))
    return out


def _expected(values: list[bool], what: str, direction: str, at: int) -> int | None:
    n = len(values) - 1

    def ok(p: int) -> bool:
        before, now = values[p], values[p + 1]  # values[0] is position -1
        return {"holds": now, "starts": now and not before, "stops": before and not now}[what]

    if direction == "first":
        return next((p for p in range(n) if ok(p)), None)
    if direction == "next":
        return next((p for p in range(max(at + 1, 0), n) if ok(p)), None)
    return next((p for p in range(min(at, n) - 1, -1, -1) if ok(p)), None)


_values = st.one_of(st.none(), st.integers(0, 5))
_patch = st.dictionaries(st.sampled_from(["a", "b"]), _values, max_size=2)


def _a_above_two(state: Any) -> bool:
    return isinstance(state, dict) and (state.get("a") or 0) > 2


@settings(max_examples=60, deadline=None)
@given(st.lists(_patch, max_size=25), st.integers(1, 6))
def test_scan_agrees_with_a_refold_at_every_position(payloads: list[Any], k: int) -> None:
    events = _events(payloads)
    fold = Fold(events, snapshot_every=k)
    values = _brute(events, _a_above_two)
    assert marks(fold, _a_above_two) == values[1:]
    for what in WHATS:
        for direction in DIRECTIONS:
            for at in range(-1, len(events) + 1):
                hit = find(fold, _a_above_two, what=what, direction=direction, at=at)
                want = _expected(values, what, direction, at)
                assert (None if hit is None else hit.index) == want, (what, direction, at)
                assert hit is None or hit.method == "scan"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=30), st.integers(1, 6), st.integers(0, 40),
       st.booleans())
def test_binary_search_agrees_on_a_monotone_condition(steps: list[int], k: int,
                                                      threshold: int, rising: bool) -> None:
    total, payloads = 0, []
    for step in steps:  # a counter that never goes down: "total >= threshold" is monotone
        total += step
        payloads.append({"total": total})
    events = _events(payloads)
    fold = Fold(events, snapshot_every=k)

    def reached(state: Any) -> bool:
        got = isinstance(state, dict) and state.get("total", 0) >= threshold
        return got if rising else not got

    values = _brute(events, reached)
    for what in WHATS:
        for direction in DIRECTIONS:
            for at in range(-1, len(events) + 1):
                hit = find(fold, reached, what=what, direction=direction, at=at, monotone=True)
                want = _expected(values, what, direction, at)
                assert (None if hit is None else hit.index) == want, (what, direction, at)
                assert hit is None or hit.method == "binary"


def test_binary_search_probes_logarithmically_many_states() -> None:
    events = _events([{"n": i} for i in range(10_000)])
    fold = Fold(events, snapshot_every=100)
    hit = find(fold, lambda s: s["n"] >= 7_777, monotone=True)
    assert hit is not None and hit.index == 7_777 and hit.event.seq == 7_777
    assert hit.probes <= 20


def test_a_condition_object_with_holds_plugs_in() -> None:
    class Condition:  # the shape of a parsed invariant condition
        def holds(self, state: Any) -> bool:
            return state.get("status") == "paid"

    fold = Fold(_events([{"status": "placed"}, {"status": "paid"}, {"status": "shipped"}]))
    assert find(fold, Condition()).index == 1
    assert find(fold, Condition(), what="stops").index == 2
    with pytest.raises(BisectError):
        as_predicate(42)


def test_a_failing_condition_names_the_position() -> None:
    fold = Fold(_events([{"a": 1}, {"a": "x"}]))
    with pytest.raises(BisectError, match="position 1"):
        find(fold, lambda s: s["a"] + 1 > 5)
