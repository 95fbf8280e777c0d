"""A tap captures what is published after it and nothing before; it is listed with its size
and removed on request; other queues are never deleted by it."""

from __future__ import annotations

import dataclasses
import time

import pika
import pytest

from eventlab.errors import SourceError
from eventlab.rabbitmq.amqp import channel
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.server import ServerHandle
from eventlab.rabbitmq.streams import read_all
from eventlab.rabbitmq.taps import create_tap, list_taps, remove_tap, tap_queue


def _publish(config: RabbitConfig, exchange: str, key: str, bodies: list[bytes]) -> None:
    with channel(config, "test publish") as ch:
        ch.confirm_delivery()
        for body in bodies:
            ch.basic_publish(exchange, key, body, pika.BasicProperties(message_id=body.decode()))


def test_tap_captures_what_is_published_after_it_and_nothing_before(
        rabbit_config: RabbitConfig, rabbitmq_server: ServerHandle) -> None:
    config = dataclasses.replace(rabbit_config, management_port=rabbitmq_server.ports.management)
    exchange, queue = f"shop-{time.monotonic_ns()}", f"orders-{time.monotonic_ns()}"
    with channel(config, "test setup") as ch:
        ch.exchange_declare(exchange, "topic", durable=True)
        ch.queue_declare(queue, durable=True)
        ch.queue_bind(queue, exchange, "order.*")
    _publish(config, exchange, "order.placed", [b"before-1", b"before-2"])
    stream = create_tap(config, exchange, "order.*")
    _publish(config, exchange, "order.placed", [b"after-1", b"after-2", b"after-3"])
    _publish(config, exchange, "invoice.sent", [b"other"])
    table = read_all(config, stream)
    assert table is not None and table.column("value").to_pylist() == [
        b"after-1", b"after-2", b"after-3"]
    qtap = tap_queue(config, queue)  # bound like the queue
    _publish(config, exchange, "order.paid", [b"paid"])
    assert read_all(config, qtap).column("value").to_pylist() == [b"paid"]
    with channel(config, "test check") as ch:  # the queue's consumers lost nothing
        assert ch.queue_declare(queue, passive=True).method.message_count == 6
    deadline = time.monotonic() + 15
    while True:
        taps = {t.stream: t for t in list_taps(config)}
        if taps[stream].messages == 4 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert taps[stream].bindings == ((exchange, "order.*"),)
    assert taps[stream].messages == 4  # 3.10 gives no byte size for a stream
    with pytest.raises(SourceError, match="not a tap"):
        remove_tap(config, queue)
    remove_tap(config, stream)
    remove_tap(config, qtap)
    assert stream not in {t.stream for t in list_taps(config)}
