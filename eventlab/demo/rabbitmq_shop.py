"""The demo shop on RabbitMQ: one exchange fans every record out to a stream, a classic queue
and a quorum queue; both queues dead-letter into a DLQ; a queue worker rejects the poison it
cannot parse, so the DLQ fills with it (with `x-death`).

    exchange shop (topic, routing key "shop.<event type>", "#" bound)
      ├─ stream  shop-events          read by EventLab and by the named consumer shop-projector
      ├─ classic shop-orders  ──┐      consumed by `run_queue_worker` (rejects poison)
      └─ quorum  shop-audit   ──┴─ dead-letter exchange shop-dlx (fanout) → classic shop-dlq

Records are the Kafka demo's (`demo.produce.demo_chunks`: events with the planted poison),
published with publisher confirms through `rabbitmq.publish.ExchangePublisher`; each Kafka
header becomes an AMQP header, `event_id` also the message id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from eventlab.demo.produce import demo_chunks
from eventlab.errors import SourceError
from eventlab.rabbitmq import amqp
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.publish import ExchangePublisher, basic_properties


@dataclass(frozen=True)
class ShopTopology:
    """The names the demo declares (defaults: the picture above)."""

    exchange: str = "shop"
    stream: str = "shop-events"
    classic: str = "shop-orders"
    quorum: str = "shop-audit"
    dlx: str = "shop-dlx"
    dlq: str = "shop-dlq"


def declare(config: RabbitConfig, topo: ShopTopology = ShopTopology()) -> None:
    """Declare the exchanges, the stream, the queues and their bindings (idempotent)."""
    dead = {"x-dead-letter-exchange": topo.dlx}
    with amqp.channel(config, "declaring the demo shop") as ch:
        ch.exchange_declare(topo.exchange, "topic", durable=True)
        ch.exchange_declare(topo.dlx, "fanout", durable=True)
        ch.queue_declare(topo.dlq, durable=True)
        ch.queue_bind(topo.dlq, topo.dlx)
        ch.queue_declare(topo.stream, durable=True, arguments={"x-queue-type": "stream"})
        ch.queue_declare(topo.classic, durable=True, arguments=dead)
        ch.queue_declare(topo.quorum, durable=True, arguments={"x-queue-type": "quorum", **dead})
        for queue in (topo.stream, topo.classic, topo.quorum):
            ch.queue_bind(queue, topo.exchange, "#")


@dataclass
class PublishReport:
    """What a publish run sent, and the poison kinds among it."""

    published: int = 0
    seconds: float = 0.0
    poison: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rate = self.published / self.seconds if self.seconds > 0 else 0.0
        return (f"published {self.published:,} messages through exchange shop in "
                f"{self.seconds:.1f} s ({rate:,.0f}/s); poison: {', '.join(self.poison) or '-'}")


def publish_shop(config: RabbitConfig, *, events: int = 50_000, seed: int = 42,
                 rate: float = 0.0, topo: ShopTopology = ShopTopology(),
                 stop: threading.Event | None = None,
                 progress: Callable[[PublishReport], None] | None = None) -> PublishReport:
    """Declare the topology, then publish the demo shop (<= `rate` messages/s; 0: no limit),
    each message confirmed; a refused or unroutable one raises `SourceError`."""
    declare(config, topo)
    report = PublishReport()
    started = last = time.monotonic()
    with ExchangePublisher(config) as pub:
        for records, _size in demo_chunks(events, seed):
            for _key, value, headers, _ts, kind in records:
                if stop is not None and stop.is_set():
                    report.seconds = time.monotonic() - started
                    return report
                names = dict(headers)
                etype = (names.get("event_type") or b"unknown").decode("utf-8", "replace")
                props = basic_properties(
                    [("message-id", names["event_id"])] if names.get("event_id") else [], [])
                props.headers = {k: None if v is None else v.decode("utf-8", "replace")
                                 for k, v in headers}
                props.content_type = "application/json"
                problem = pub.publish(topo.exchange, f"shop.{etype}", value or b"", props)
                if problem:
                    raise SourceError(f"publishing the demo message {report.published} to "
                                      f"exchange {topo.exchange!r}: {problem}")
                report.published += 1
                if kind is not None:
                    report.poison.append(kind)
                if rate > 0 and (ahead := started + report.published / rate
                                 - time.monotonic()) > 0.002:
                    time.sleep(ahead)
                if progress is not None and time.monotonic() - last >= 2.0:
                    last = time.monotonic()
                    report.seconds = last - started
                    progress(report)
    report.seconds = time.monotonic() - started
    return report


def is_poison(body: bytes) -> bool:
    """What the demo's queue worker cannot process: a body that is not one JSON object."""
    try:
        return not isinstance(orjson.loads(body), dict)
    except orjson.JSONDecodeError:
        return True


@dataclass
class WorkerProgress:
    """The queue worker's counts."""

    acked: int = 0
    rejected: int = 0

    def line(self) -> str:
        return f"queue worker: {self.acked:,} processed, {self.rejected:,} rejected to the DLQ"


def run_queue_worker(config: RabbitConfig, queue: str, *, rate: float = 0.0,
                     stop: threading.Event | None = None,
                     max_messages: int | None = None) -> WorkerProgress:
    """Consume `queue`: ack what parses, reject poison without requeue (dead-lettered)."""
    stop = stop or threading.Event()
    state = WorkerProgress()
    started = time.monotonic()
    with amqp.channel(config, f"consuming queue {queue!r}") as ch:
        ch.basic_qos(prefetch_count=50)
        for method, _props, body in ch.consume(queue, inactivity_timeout=0.3):
            if stop.is_set() or (max_messages is not None
                                 and state.acked + state.rejected >= max_messages):
                break
            if method is None:
                continue
            if is_poison(body):
                ch.basic_reject(method.delivery_tag, requeue=False)
                state.rejected += 1
            else:
                ch.basic_ack(method.delivery_tag)
                state.acked += 1
            if rate > 0 and (ahead := started + (state.acked + state.rejected) / rate
                             - time.monotonic()) > 0.002:
                stop.wait(ahead)
        ch.cancel()
    return state
