"""Peeking a stream leaves nothing behind; `eventlab rabbitmq` runs on loopback only and
stops with its epmd."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from eventlab.ingest.rabbitmq_peek import peek_stream
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.server import CTL_BIN, ServerHandle, _epmd_pids, answers, free_port


def _ctl(server: ServerHandle, *args: str) -> str:
    return subprocess.run([str(CTL_BIN), "-n", server.node, "--quiet", *args],
                          env=server.env(), capture_output=True, text=True,
                          timeout=60, check=True).stdout.strip()


def test_peek_first_last_and_at_offset_leaves_no_consumer(
        rabbit_config: RabbitConfig, rabbitmq_server: ServerHandle,
        stream_factory: Callable[..., str]) -> None:
    stream = stream_factory([json.dumps({"i": i}).encode() for i in range(50)])
    assert [r["offset"] for r in peek_stream(rabbit_config, stream, limit=3)] == [0, 1, 2]
    assert [r["offset"] for r in peek_stream(rabbit_config, stream, at="last", limit=4)] == [
        46, 47, 48, 49]
    rows = peek_stream(rabbit_config, stream, at=10, limit=2)
    assert [(r["offset"], r["value"]) for r in rows] == [(10, b'{"i": 10}'), (11, b'{"i": 11}')]
    consumers = _ctl(rabbitmq_server, "list_stream_consumers", "stream")
    assert stream not in consumers
    assert "eventlab" not in _ctl(rabbitmq_server, "list_stream_connections", "conn_name")


def test_cli_starts_detached_on_loopback_and_stops_with_its_epmd(tmp_path: Path) -> None:
    amqp, streams = free_port(), free_port()
    cmd = [sys.executable, "-m", "eventlab", "rabbitmq", "--port", str(amqp)]
    started = subprocess.run([*cmd, "--stream-port", str(streams), "--detach"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    state = json.loads((tmp_path / ".eventlab" / f"rabbitmq-{amqp}.json").read_text())
    try:
        assert answers(amqp) and answers(streams)
        listening = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout
        for port in state["ports"].values():
            addrs = [line.split()[3] for line in listening.splitlines()
                     if line.split()[3].endswith(f":{port}")]
            assert addrs and all(a.startswith(("127.0.0.1:", "[::1]:")) for a in addrs), port
        assert _epmd_pids(state["ports"]["epmd"])
    finally:
        stopped = subprocess.run([*cmd, "--stop"], cwd=tmp_path, capture_output=True,
                                 text=True, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert not answers(amqp) and not answers(streams)
    assert not _epmd_pids(state["ports"]["epmd"])


def test_peek_of_a_stream_shorter_than_the_limit_returns_what_it_holds(
        rabbit_config: RabbitConfig, stream_factory: Callable[..., str]) -> None:
    stream = stream_factory([b"a", b"b", b"c"])
    assert [r["offset"] for r in peek_stream(rabbit_config, stream, limit=20)] == [0, 1, 2]
    assert [r["offset"] for r in peek_stream(rabbit_config, stream, at="last", limit=20)] == [
        0, 1, 2]
    assert [r["offset"] for r in peek_stream(rabbit_config, stream, at=1, limit=20)] == [1, 2]
