"""Lag of named RabbitMQ stream consumers, in the same snapshot shape and with the same
verdicts as Kafka groups (`snapshot.LagSnapshot`): one "group" per consumer name, one
"partition" (0) per stream.

committed = the stored offset + 1 (the next message it reads), end = the stream's next offset,
lag = end - committed, lag in seconds = now minus the broker time of the message at the
committed offset (the oldest one it has not processed), read once, unnamed. Samples go to
`lag_samples` under the broker `rabbitmq:host:stream_port/vhost`, so they never mix with a
Kafka cluster's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from eventlab.kafka.groups import GroupInfo
from eventlab.lag import arith, rules
from eventlab.lag import samples as history
from eventlab.lag.rules import Sample, Verdict
from eventlab.lag.snapshot import GroupLag, LagSnapshot, PartitionLag
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.consumers import broker_time_at, consumer_positions
from eventlab.store.eventstore import EventStore

PROTOCOL = "rabbitmq-stream"


def sample_key(config: RabbitConfig) -> str:
    """The `bootstrap` value of this broker's rows in `lag_samples`."""
    return f"rabbitmq:{config.broker_id}"


def take_stream_snapshot(config: RabbitConfig, pairs: Sequence[tuple[str, str]],
                         store: EventStore | None = None, *,
                         window: int = rules.DEFAULT_WINDOW,
                         allowed_lag: int = rules.DEFAULT_ALLOWED_LAG,
                         now: float | None = None) -> LagSnapshot:
    """Each (stream, consumer name)'s lag now, judged over the stored samples plus this one."""
    positions = consumer_positions(config, pairs)
    now = time.time() if now is None else now
    key = sample_key(config)
    names = sorted({p.name for p in positions})
    past: dict[tuple[str, str, int], list[Sample]] = {}
    if store is not None:
        with store.reading() as cur:
            past = history.windows(cur, key, window, names)
    groups = []
    for name in names:
        parts = []
        verdicts: dict[tuple[str, int], Verdict] = {}
        for pos in (p for p in positions if p.name == name):
            c = pos.next_offset
            lag = arith.lag_records(c, pos.end)
            secs, source = None, ""
            if lag == 0:
                secs, source = 0.0, "caught up"
            elif lag is not None and c is not None:
                ts = broker_time_at(config, pos.stream, c)
                if ts is not None:
                    secs, source = arith.lag_seconds(now, ts, lag), "read"
            window_samples = [*past.get((name, pos.stream, 0), []),
                              Sample(now, c, pos.end, lag)][-window:]
            verdict = rules.evaluate(window_samples, now=now, allowed_lag=allowed_lag,
                                     window=window, active=False)
            verdicts[(pos.stream, 0)] = verdict
            consumed, produced = arith.rates(window_samples)
            parts.append(PartitionLag(
                name, pos.stream, 0, c, pos.end, 0, lag, secs, False, source, consumed,
                arith.eta_seconds(lag, consumed, produced), verdict.status, verdict.reason,
                verdict.samples))
        status, reason = rules.worst(verdicts)
        info = GroupInfo(name, "stored offset", PROTOCOL, None)
        groups.append(GroupLag(info, tuple(parts), status, reason))
    return LagSnapshot(key, now, tuple(groups))
