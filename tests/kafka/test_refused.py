"""A bootstrap whose port refuses the connection fails at once, not after the timeout; one
that answers is unaffected (the session broker)."""

from __future__ import annotations

import socket
import time

import pytest

from eventlab.errors import BrokerUnavailable
from eventlab.kafka.admin import ping
from eventlab.kafka.broker import BrokerHandle, free_port
from eventlab.kafka.config import KafkaConfig, refused_everywhere


def test_a_refused_port_fails_at_once_whatever_the_timeout() -> None:
    config = KafkaConfig(bootstrap=f"127.0.0.1:{free_port()}", timeout_s=30.0)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match="refused the connection.*nothing listens"):
        ping(config)
    assert time.monotonic() - started < 2


def test_a_listening_port_is_not_refused(kafka_broker: BrokerHandle) -> None:
    assert not refused_everywhere(KafkaConfig(bootstrap=kafka_broker.bootstrap))
    one_dead = f"127.0.0.1:{free_port()},{kafka_broker.bootstrap}"
    assert not refused_everywhere(KafkaConfig(bootstrap=one_dead))
    assert ping(KafkaConfig(bootstrap=one_dead, timeout_s=10)) >= 1


def test_a_port_that_accepts_but_never_answers_is_left_to_the_timeout() -> None:
    with socket.socket() as listener:  # accepts (the kernel completes the handshake)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not refused_everywhere(KafkaConfig(bootstrap=f"127.0.0.1:{port}"))
