"""RabbitMQ fixtures: a real local server per session (Debian's rabbitmq-server on free
loopback ports), a fresh stream per test, and a publisher (pika, with confirms)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.server import ServerHandle, start_server

_names = itertools.count()
Message = tuple[bytes, dict[str, Any]]
"""(body, pika BasicProperties keyword arguments)."""


@pytest.fixture(scope="session")
def rabbitmq_server() -> Iterator[ServerHandle]:
    with start_server() as handle:
        yield handle


@pytest.fixture(scope="session")
def rabbit_config(rabbitmq_server: ServerHandle) -> RabbitConfig:
    return RabbitConfig(port=rabbitmq_server.ports.amqp,
                        stream_port=rabbitmq_server.ports.stream, timeout_s=5.0)


def publish(config: RabbitConfig, stream: str, messages: Sequence[Message | bytes]) -> None:
    """Publish to a stream (declared if missing) through AMQP 0.9.1, each message confirmed."""
    import pika

    params = pika.ConnectionParameters(config.host, config.port, config.vhost,
                                       pika.PlainCredentials(config.user,
                                                             config.password.reveal()))
    with pika.BlockingConnection(params) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        channel.queue_declare(stream, durable=True, arguments={"x-queue-type": "stream"})
        for message in messages:
            body, props = (message, {}) if isinstance(message, bytes) else message
            channel.basic_publish("", stream, body, pika.BasicProperties(**props))


@pytest.fixture
def stream_factory(rabbit_config: RabbitConfig) -> Callable[..., str]:
    """make(messages=()) declares a stream unique to this test and publishes into it."""

    def make(messages: Sequence[Message | bytes] = ()) -> str:
        name = f"s-{os.getpid()}-{next(_names)}"
        publish(rabbit_config, name, messages)
        return name

    return make


@pytest.fixture
def publisher(rabbit_config: RabbitConfig) -> Callable[[str, Sequence[Message | bytes]], None]:
    """send(stream, messages): publish more into a stream."""
    return lambda stream, messages: publish(rabbit_config, stream, messages)
