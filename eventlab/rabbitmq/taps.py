"""Taps: capture what is published from now on, without disturbing any consumer.

A tap is a stream owned by EventLab (`eventlab.tap.*`) bound to an exchange (with a routing
key), or to every binding of a queue; RabbitMQ copies each routed message into it, the other
queues get theirs as before. Ingest reads the tap like any stream (`ingest-rabbitmq --stream`).
Taps are listed with their size and removed on request; only `eventlab.tap.*` streams are ever
deleted here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eventlab.errors import SourceError
from eventlab.rabbitmq.amqp import channel, management_get, quote
from eventlab.rabbitmq.config import RabbitConfig

TAP_PREFIX = "eventlab.tap."
MAX_AGE = "7D"
"""How long a tap keeps messages (the stream's `x-max-age`); ingest before then."""


@dataclass(frozen=True)
class Tap:
    """A tap stream, what it is bound to, and how much it holds (None: unknown)."""

    stream: str
    bindings: tuple[tuple[str, str], ...]
    """(exchange, routing key) pairs. `bytes` stays None on RabbitMQ 3.10, whose management
    API gives a stream's message count but no byte size."""
    messages: int | None
    bytes: int | None


def tap_name(exchange: str, routing_key: str = "#") -> str:
    """The tap stream for an exchange and routing key (readable, safe characters only)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{exchange or 'default'}.{routing_key or 'all'}")
    return (TAP_PREFIX + safe)[:200]


def create_tap(config: RabbitConfig, exchange: str, routing_key: str = "#",
               stream: str | None = None) -> str:
    """Declare the tap stream and bind it to `exchange` with `routing_key`; its name.

    The default exchange cannot be bound to: tap a queue's exchange instead (`tap_queue`)."""
    if not exchange:
        raise SourceError("the default exchange cannot be tapped (RabbitMQ allows no binding "
                          "to it): tap the exchange the publishers use")
    stream = stream or tap_name(exchange, routing_key)
    if not stream.startswith(TAP_PREFIX):
        raise SourceError(f"a tap's stream name starts with {TAP_PREFIX!r}")
    with channel(config, f"tapping exchange {exchange!r}") as ch:
        ch.exchange_declare(exchange, passive=True)
        ch.queue_declare(stream, durable=True, arguments={"x-queue-type": "stream",
                                                          "x-max-age": MAX_AGE})
        ch.queue_bind(stream, exchange, routing_key)
    return stream


def tap_queue(config: RabbitConfig, queue: str) -> str:
    """One tap bound like `queue` (each of its exchange bindings, from the management API)."""
    doc = management_get(config, f"queues/{quote(config.vhost)}/{quote(queue)}/bindings",
                         config.management_port)
    pairs = [(b["source"], b["routing_key"]) for b in doc if b.get("source")]
    if not pairs:
        raise SourceError(f"queue {queue!r} is bound to no exchange (only the default one): "
                          "nothing to tap")
    stream = TAP_PREFIX + re.sub(r"[^A-Za-z0-9_.-]", "_", f"queue.{queue}")[:180]
    for exchange, key in pairs:
        create_tap(config, exchange, key, stream)
    return stream


def list_taps(config: RabbitConfig) -> list[Tap]:
    """Every tap on the vhost with its bindings and size (the management API on loopback)."""
    vhost = quote(config.vhost)
    queues = management_get(config, f"queues/{vhost}", config.management_port)
    out = []
    for q in queues:
        name = str(q.get("name", ""))
        if not name.startswith(TAP_PREFIX):
            continue
        binds = management_get(config, f"queues/{vhost}/{quote(name)}/bindings",
                               config.management_port)
        pairs = tuple((str(b["source"]), str(b["routing_key"])) for b in binds if b.get("source"))
        messages = q.get("messages")
        size = q.get("message_bytes")
        out.append(Tap(name, pairs, int(messages) if messages is not None else None,
                       int(size) if size is not None else None))
    return sorted(out, key=lambda t: t.stream)


def remove_tap(config: RabbitConfig, stream: str) -> None:
    """Delete a tap stream (and so its bindings). Anything not named `eventlab.tap.*` is
    refused."""
    if not stream.startswith(TAP_PREFIX):
        raise SourceError(f"{stream!r} is not a tap (taps are named {TAP_PREFIX}*): not removed")
    with channel(config, f"removing tap {stream!r}") as ch:
        ch.queue_delete(stream)
