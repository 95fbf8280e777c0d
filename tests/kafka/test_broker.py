"""The local broker: starts on loopback, answers Kafka, stops; a missing binary is reported."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from eventlab.errors import BrokerStartError, BrokerUnavailable
from eventlab.kafka.admin import ping
from eventlab.kafka.broker import (
    BrokerHandle,
    port_in_use,
    start_broker,
)
from eventlab.kafka.config import KafkaConfig


def test_session_broker_answers_kafka_metadata(kafka_broker: BrokerHandle) -> None:
    assert kafka_broker.bootstrap == f"127.0.0.1:{kafka_broker.port}"
    assert kafka_broker.running()
    assert ping(kafka_broker.config()) == 1


def test_stop_ends_the_process_and_frees_the_port() -> None:
    with start_broker() as broker:
        port, log = broker.port, broker.log_path
        assert ping(broker.config()) == 1
    assert not broker.running()
    assert not port_in_use("127.0.0.1", port)
    assert not log.exists()
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match=f"127.0.0.1:{port}"):
        ping(KafkaConfig(bootstrap=f"127.0.0.1:{port}", timeout_s=1.0))
    assert time.monotonic() - started < 5


def test_a_taken_port_is_refused_with_a_clear_message(kafka_broker: BrokerHandle) -> None:
    with pytest.raises(BrokerStartError, match=f"port {kafka_broker.port} .* already in use"):
        start_broker(kafka_broker.port)


def test_only_loopback_is_allowed() -> None:
    with pytest.raises(BrokerStartError, match="loopback only"):
        start_broker(host="0.0.0.0")


def test_a_missing_binary_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CALF_TANSU_BIN", str(tmp_path / "no-such-tansu"))
    with pytest.raises(BrokerStartError, match="no Tansu broker binary"):
        start_broker()


def test_the_broker_ends_with_the_process_that_started_it_even_after_sigkill() -> None:
    import signal
    import subprocess
    import sys

    from eventlab.kafka.broker import free_port

    port = free_port()
    code = ("import time; from eventlab.kafka.broker import start_broker; "
            f"start_broker({port}); print('up', flush=True); time.sleep(600)")
    starter = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert starter.stdout is not None and starter.stdout.readline().strip() == "up"
        assert port_in_use("127.0.0.1", port)
    finally:
        starter.send_signal(signal.SIGKILL)
        starter.wait()
    deadline = time.monotonic() + 10
    while port_in_use("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not port_in_use("127.0.0.1", port), "the broker outlived the process that started it"
