"""The local broker: starts on loopback, answers Kafka, stops; the `eventlab broker` modes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eventlab.errors import BrokerStartError, BrokerUnavailable
from eventlab.kafka.admin import ping
from eventlab.kafka.broker import (
    BrokerHandle,
    broker_main,
    free_port,
    pid_path,
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


def test_detach_writes_a_pid_file_and_stop_ends_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    port = free_port()
    assert broker_main(["--port", str(port), "--detach"]) == 0
    pidfile = tmp_path / pid_path(port)
    pid = int(pidfile.read_text())
    assert ping(KafkaConfig(bootstrap=f"127.0.0.1:{port}")) == 1
    assert f"eventlab broker --stop --port {port}" in capsys.readouterr().out

    assert broker_main(["--port", str(port), "--detach"]) == 1
    assert f"already runs on port {port} (pid {pid})" in capsys.readouterr().err

    assert broker_main(["--port", str(port), "--stop"]) == 0
    assert not pidfile.exists()
    assert not port_in_use("127.0.0.1", port)
    assert broker_main(["--port", str(port), "--stop"]) == 1
    assert "no detached broker" in capsys.readouterr().err


def test_foreground_broker_stops_on_ctrl_c() -> None:
    port = free_port()
    code = f"import sys; from eventlab.kafka.broker import broker_main; " \
           f"sys.exit(broker_main(['--port', '{port}']))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert f"listening on 127.0.0.1:{port}" in lines[0]
        assert "Ctrl-C" in lines[2]
        assert ping(KafkaConfig(bootstrap=f"127.0.0.1:{port}")) == 1
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not port_in_use("127.0.0.1", port)
