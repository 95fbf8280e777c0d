"""The snapshot built from hand-made cluster answers (`GroupOffsets`) and a real store of
samples: the estimate when the record at the committed offset is gone, verdicts over the
stored window, live members turning STOP into STALL, and the sampler's pace. No broker: the
config points at a closed port, so the one record read that is tried fails, and says so."""

from __future__ import annotations

import pytest

from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.groups import GroupInfo, GroupOffsets, MemberInfo
from eventlab.lag import sampler, samples
from eventlab.lag.rules import STALL, STOP, WARN
from eventlab.lag.snapshot import build
from eventlab.store.eventstore import EventStore

CONFIG = KafkaConfig(bootstrap="127.0.0.1:1", timeout_s=1.0)  # nobody listens there
T0 = 1_800_000_000.0


def offsets(committed: dict, bounds: dict, at: float, members=None) -> GroupOffsets:  # noqa: ANN001
    info = GroupInfo("billing", "Stable", "consumer", members)
    return GroupOffsets((info,), {"billing": committed}, {"orders": len(bounds)}, bounds, at)


def row(at: float, committed: int | None, end: int, p: int = 0) -> dict:
    return {"sampled_at": at, "bootstrap": CONFIG.bootstrap, "group_id": "billing",
            "topic": "orders", "partition": p, "committed": committed, "end_offset": end,
            "lag": None if committed is None else end - committed, "lag_seconds": None,
            "lag_seconds_estimated": False, "status": None}


def test_expired_record_gives_an_estimate_from_sampled_end_offsets(store: EventStore) -> None:
    # The end offset was 100 at T0, 300 at T0+20: offset 200 was reached at T0+10.
    samples.write(store, [row(T0, 150, 100), row(T0 + 20, 200, 300)])
    got = offsets({("orders", 0): 200}, {("orders", 0): (250, 400)}, T0 + 40)
    (p,) = build(CONFIG, got, store=store).rows()
    assert (p.committed, p.end, p.lag) == (200, 400, 200)
    assert p.lag_seconds == pytest.approx(30.0)
    assert p.lag_seconds_estimated and p.lag_seconds_source == "estimate"
    # With no history, it is unknown rather than made up.
    (p,) = build(CONFIG, got, store=None).rows()
    assert p.lag_seconds is None and not p.lag_seconds_estimated


def test_the_verdict_uses_the_stored_window_plus_this_snapshot(store: EventStore) -> None:
    samples.write(store, [row(T0 + 10 * i, 10 * i, 100 + 30 * i) for i in range(5)])
    # Now: committed 50, end 250 (lag 200): moving, lag never shrank (100, 120, ..., 200).
    got = offsets({("orders", 0): 50}, {("orders", 0): (60, 250)}, T0 + 50)
    (p,) = build(CONFIG, got, store=store, seconds=False).rows()
    assert p.status == WARN and len(p.samples) == 6
    assert p.rate_per_s == pytest.approx(1.0) and p.eta_seconds is None  # 1/s vs 3/s


def test_a_live_member_on_a_partition_that_does_not_move_is_stall(store: EventStore) -> None:
    samples.write(store, [row(T0 + 10 * i, 40, 100) for i in range(3)])
    bounds = {("orders", 0): (0, 100)}
    stopped = build(CONFIG, offsets({("orders", 0): 40}, bounds, T0 + 30), store=store,
                    seconds=False)
    assert stopped.rows()[0].status == STOP
    member = MemberInfo("m-1", "billing-1", "/10.0.0.7", (("orders", 0),))
    live = build(CONFIG, offsets({("orders", 0): 40}, bounds, T0 + 30, (member,)),
                 store=store, seconds=False)
    assert live.rows()[0].status == STALL
    assert live.groups[0].status == STALL and live.groups[0].reason.startswith("orders/0: ")


def test_the_sampler_keeps_its_pace_across_sessions(store: EventStore) -> None:
    got = offsets({("orders", 0): 10}, {("orders", 0): (0, 10)}, T0)
    first = build(CONFIG, got, store=store)  # the record read fails: said, not raised
    assert first.notes and "did not answer" in first.notes[0]
    assert first.rows()[0].lag == 0
    assert sampler.sample_if_due(store, first, interval_s=10)
    soon = build(CONFIG, offsets({("orders", 0): 10}, {("orders", 0): (0, 10)}, T0 + 5),
                 store=store, seconds=False)
    assert not sampler.sample_if_due(store, soon, interval_s=10)  # another session, too early
    later = build(CONFIG, offsets({("orders", 0): 10}, {("orders", 0): (0, 10)}, T0 + 10),
                  store=store, seconds=False)
    assert sampler.sample_if_due(store, later, interval_s=10)
    with store.reading() as cur:
        assert samples.last_sampled(cur, CONFIG.bootstrap) == pytest.approx(T0 + 10)
    # Retention: a sample 8 days old goes at the next write.
    samples.write(store, [row(T0 - 8 * 86400, 1, 10)])
    assert samples.prune(store, 7, T0 + 10) == 1
