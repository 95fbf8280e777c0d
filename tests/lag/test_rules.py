"""Burrow's verdict rules on hand-made sample windows, and the lag arithmetic, by hand."""

from __future__ import annotations

import pytest

from eventlab.lag import arith
from eventlab.lag.rules import (
    NO_COMMIT,
    OK,
    REWIND,
    STALL,
    STOP,
    WARN,
    Sample,
    evaluate,
    worst,
)


def window(*rows: tuple[float, int | None, int]) -> list[Sample]:
    """(at, committed, end) rows; lag = end - committed."""
    return [Sample(at, c, end, None if c is None else max(0, end - c)) for at, c, end in rows]


def test_caught_up_is_ok_whatever_the_history() -> None:
    v = evaluate(window((0, 10, 50), (10, 10, 50), (20, 50, 50)), now=20)
    assert v.status == OK and "within the allowed 0" in v.reason


def test_allowed_lag_is_respected() -> None:
    w = window((0, 10, 20), (10, 10, 20))
    assert evaluate(w, now=10, allowed_lag=10).status == OK
    assert evaluate(w, now=10, allowed_lag=9).status == STOP


def test_moving_but_lag_never_shrinking_is_warn() -> None:
    v = evaluate(window((0, 0, 10), (10, 5, 20), (20, 10, 30), (30, 15, 40)), now=30)
    assert v.status == WARN
    assert v.reason == "consuming (0 → 15) but the lag never shrank (10 → 25)"
    assert len(v.samples) == 4


def test_lag_shrinking_somewhere_is_ok() -> None:
    v = evaluate(window((0, 0, 10), (10, 8, 15), (20, 10, 30)), now=20)  # lag 10, 7, 20
    assert v.status == OK and "shrinking" in v.reason


def test_stopped_commits_are_stop() -> None:
    # Moved until t=20, then no new commit: at now=50, 30 s since > span 20 s.
    w = window((0, 0, 100), (10, 10, 100), (20, 20, 100), (30, 20, 100), (40, 20, 100))
    assert evaluate(w, now=39).status != STOP  # 19 s since the last commit < 20 s span
    v = evaluate(w, now=50)
    assert v.status == STOP
    assert "no new commit for 30.0 s, longer than the window's commit span of 20.0 s" in v.reason


def test_stop_is_not_said_when_recently_caught_up() -> None:
    # The end offset was at the committed offset within the window: Burrow's "recent lag zero".
    w = window((0, 20, 20), (10, 20, 25), (20, 20, 30))
    assert evaluate(w, now=100).status == OK


def test_a_live_member_that_does_not_move_is_stall() -> None:
    w = window((0, 20, 100), (10, 20, 100), (20, 20, 110))
    assert evaluate(w, now=20, active=True).status == STALL
    assert evaluate(w, now=20, active=False).status == STOP  # no commit time without members


def test_rewind_not_recovered_is_rewind_and_recovered_is_not() -> None:
    w = window((0, 50, 60), (10, 55, 60), (20, 10, 60))
    v = evaluate(w, now=20)
    assert v.status == REWIND
    assert v.reason == "committed offset went back from 55 to 10 and has not come back"
    healed = window((0, 50, 60), (10, 10, 60), (20, 55, 70))
    assert evaluate(healed, now=20).status == OK  # came back to 55; lag 10, 50, 15 shrank


def test_only_the_last_window_counts() -> None:
    old = window(*[(t, 0, 100) for t in range(0, 50, 10)])
    moving = window(*[(50 + t, 10 * t, 100 + 20 * t) for t in range(1, 11)])
    v = evaluate(old + moving, now=60, window=10)
    assert v.status == WARN and len(v.samples) == 10 and v.samples[0].at == 51


def test_no_commit_and_too_few_samples() -> None:
    assert evaluate(window((0, None, 10)), now=0).status == NO_COMMIT
    v = evaluate(window((0, 5, 10)), now=100)
    assert v.status == OK and "1 sample so far" in v.reason


def test_group_is_its_worst_partition() -> None:
    verdicts = {("t", 0): evaluate(window((0, 0, 10), (10, 5, 20)), now=10),
                ("t", 1): evaluate(window((0, 50, 60), (10, 10, 60)), now=10),
                ("t", 2): evaluate(window((0, None, 5)), now=10)}
    assert [v.status for v in verdicts.values()] == [WARN, REWIND, NO_COMMIT]
    status, reason = worst(verdicts)
    assert status == REWIND and reason.startswith("t/1: committed offset went back")
    assert worst({("t", 2): verdicts[("t", 2)]})[0] == NO_COMMIT


def test_lag_records_and_seconds() -> None:
    assert arith.lag_records(None, 10) is None
    assert arith.lag_records(4, 10) == 6 and arith.lag_records(12, 10) == 0
    assert arith.lag_seconds(100.0, 70.0, 6) == 30.0
    assert arith.lag_seconds(100.0, 70.0, 0) == 0.0
    assert arith.lag_seconds(100.0, None, None) is None


def test_estimate_interpolates_and_extrapolates_like_kafka_lag_exporter() -> None:
    points = [(100, 10.0), (200, 20.0), (400, 30.0)]
    assert arith.time_at_offset(points, 150) == pytest.approx(15.0)
    assert arith.time_at_offset(points, 300) == pytest.approx(25.0)
    assert arith.time_at_offset(points, 50) == pytest.approx(5.0)  # along the first two
    assert arith.time_at_offset([(100, 10.0)], 50) is None
    assert arith.estimated_lag_seconds(40.0, points, 150) == pytest.approx(25.0)


def test_rates_and_eta() -> None:
    s = window((0, 0, 100), (10, 50, 120))
    assert arith.rates(s) == (5.0, 2.0)
    assert arith.eta_seconds(70, 5.0, 2.0) == pytest.approx(70 / 3)
    assert arith.eta_seconds(70, 2.0, 5.0) is None  # falling behind: never
    assert arith.eta_seconds(0, None, None) == 0.0
    assert arith.eta_seconds(None, 5.0, 2.0) is None
