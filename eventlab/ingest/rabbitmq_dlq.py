"""Drain a dead-letter queue into the store, only with the user's consent.

A queue has no offsets and no peek that keeps bodies, so loading a DLQ means taking its
messages: each batch is got unacknowledged, stored (events, quarantine and the queue's drain
count in `ingest_offsets`, one transaction), and only then acknowledged. Events get source
`rabbitmq-dlq`, topic = the queue, offset = the drain count, and `metadata.x_death` = the
parsed `x-death` entries (original queue and exchange, routing keys, reason, count, time), so
a redrive knows where each came from. A crash between the commit and the acknowledgement
leaves those messages in the queue, redelivered: the next drain stores them again
(at least once; `metadata.redelivered` says which).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from eventlab.errors import SourceError
from eventlab.ingest.kafka_ingest import store_batch
from eventlab.ingest.mapping import MappingSpec
from eventlab.ingest.offsets import save_positions, stored_positions
from eventlab.kafka.reader import RAW_SCHEMA
from eventlab.rabbitmq.amqp import channel
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.deadletters import parse_x_death
from eventlab.rabbitmq.records import _bytes
from eventlab.store.eventstore import EventStore

SOURCE = "rabbitmq-dlq"
DRAIN_COST = ("Draining takes the messages out of the dead-letter queue: each one is stored in "
              "EventLab first and then acknowledged, so it is gone from RabbitMQ afterwards "
              "(redrive puts it back where x-death says it came from).")
_PROPS = ("content_type", "content_encoding", "correlation_id", "reply_to", "expiration",
          "message_id", "timestamp", "type", "user_id", "app_id")


@dataclass
class DrainReport:
    """What one drain did."""

    queue: str
    drained: int = 0
    stored: int = 0
    quarantined: int = 0
    positions: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"drained {self.drained} message(s) from {self.queue}: {self.stored} stored, "
                f"{self.quarantined} quarantined")


def _headers(props: Any) -> list[dict[str, Any]]:
    out = [{"key": n.replace("_", "-"), "value": _bytes(getattr(props, n))}
           for n in _PROPS if getattr(props, n, None) is not None]
    for key, value in (props.headers or {}).items():
        out.append({"key": str(key), "value": _bytes(value) if not isinstance(value, list)
                    else json.dumps(value, default=str).encode()})
    return out


def drain_dlq(store: EventStore, config: RabbitConfig, queue: str, *, consent: bool = False,
              limit: int | None = None, batch: int = 500,
              spec: MappingSpec | None = None) -> DrainReport:
    """Move up to `limit` messages (all, when None) of `queue` into the store; refused
    without `consent` (`DRAIN_COST`)."""
    if not consent:
        raise SourceError(f"not drained: {DRAIN_COST} Confirm to go ahead (--i-understand).")
    spec = spec or MappingSpec()
    broker = config.broker_id
    report = DrainReport(queue)
    with store.reading() as cur:
        next_offset = stored_positions(cur, [queue], source=SOURCE, broker=broker).get(
            (queue, 0), 0)
    with channel(config, f"draining queue {queue!r}") as ch:
        while limit is None or report.drained < limit:
            want = batch if limit is None else min(batch, limit - report.drained)
            got = []
            for _ in range(want):
                method, props, body = ch.basic_get(queue, auto_ack=False)
                if method is None:
                    break
                got.append((method, props, bytes(body)))
            if not got:
                break
            now_ms = int(time.time() * 1000)
            offsets = list(range(next_offset, next_offset + len(got)))
            table = pa.Table.from_arrays([
                pa.array([queue] * len(got), pa.string()),
                pa.array([0] * len(got), pa.int32()),
                pa.array(offsets, pa.int64()),
                pa.nulls(len(got), pa.binary()),
                pa.array([b for _m, _p, b in got], pa.binary()),
                pa.array([_headers(p) for _m, p, _b in got], RAW_SCHEMA.field("headers").type),
                pa.array([p.timestamp * 1000 if isinstance(p.timestamp, int) else now_ms
                          for _m, p, _b in got], pa.int64()),
                pa.array([0 if isinstance(p.timestamp, int) else 1 for _m, p, _b in got],
                         pa.int8()),
                pa.array([len(b) for _m, _p, b in got], pa.int32()),
            ], schema=RAW_SCHEMA)
            with store.transaction() as cur:
                (stored, quarantined, _t), _maps = store_batch(cur, table, spec, source=SOURCE,
                                                               broker=broker)
                for offset, (method, props, _b) in zip(offsets, got, strict=True):
                    deaths = [d.to_dict() for d in parse_x_death((props.headers or {})
                                                                 .get("x-death"))]
                    cur.execute(
                        "UPDATE events SET metadata = json_merge_patch(coalesce(metadata, "
                        "CAST('{}' AS JSON)), json_object('x_death', CAST(? AS JSON), "
                        "'redelivered', ?)) WHERE source = ? AND topic = ? AND \"partition\" = 0 "
                        "AND \"offset\" = ?",
                        [json.dumps(deaths), bool(method.redelivered), SOURCE, queue, offset])
                next_offset += len(got)
                save_positions(cur, {(queue, 0): next_offset}, source=SOURCE, broker=broker)
            ch.basic_ack(got[-1][0].delivery_tag, multiple=True)  # only after the commit
            report.drained += len(got)
            report.stored += stored
            report.quarantined += quarantined
    report.positions = {f"{queue}/0": next_offset}
    return report
