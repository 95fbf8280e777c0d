"""The rewind plan, pure: targets to offsets, clamping, and the lag left behind."""

from __future__ import annotations

import pytest

from eventlab.rewind.plan import PlanError, Target, build, parse_offsets, resolve

PARTS = {0: (2, 10), 1: (0, 5)}


def test_targets_resolve_per_partition() -> None:
    assert resolve(Target("to-earliest"), PARTS, {}) == {0: 2, 1: 0}
    assert resolve(Target("to-latest"), PARTS, {}) == {0: 10, 1: 5}
    assert resolve(Target("by", "-3"), PARTS, {0: 8, 1: 4}) == {0: 5, 1: 1}
    assert resolve(Target("to-offset", "1:3"), PARTS, {}) == {1: 3}
    assert resolve(Target("to-datetime", "2026-01-01T00:00"), PARTS, {},
                   found={0: 4, 1: None}) == {0: 4, 1: 5}  # no record after it: the end
    assert resolve(Target("to-event", "e1"), PARTS, {}, found={0: 7}) == {0: 7}


def test_bad_targets_are_said() -> None:
    with pytest.raises(PlanError, match="partition\\(s\\) 1 have none"):
        resolve(Target("by", "-1"), PARTS, {0: 3})
    with pytest.raises(PlanError, match="do not exist"):
        resolve(Target("to-offset", "7:1"), PARTS, {})
    with pytest.raises(PlanError, match="PARTITION:OFFSET"):
        parse_offsets("0=1")
    with pytest.raises(PlanError, match="unknown rewind target"):
        Target("to-somewhere")


def test_build_clamps_and_computes_the_lag_left() -> None:
    plan = build("g", "t", Target("by", "-9"), PARTS, {0: 8, 1: 5}, {0: -1, 1: 12},
                 {0: 1000.0}, now=1060.0)
    m0, m1 = plan.moves
    assert (m0.current, m0.new, m0.lag_after, m0.lag_seconds_after) == (8, 2, 8, 60.0)
    assert "asked -1" in m0.note and m0.changes
    assert (m1.current, m1.new, m1.lag_after, m1.lag_seconds_after) == (5, 5, 0, 0.0)
    assert not m1.changes and plan.new_offsets() == {0: 2, 1: 5}
    assert plan.before() == {0: 8, 1: 5} and plan.to_dict()["target"] == "by -9"
