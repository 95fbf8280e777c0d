"""`eventlab produce` into RabbitMQ against the real session server: a stream (dry run sends
nothing and shows the properties; --execute sends them), an exchange whose message no queue
takes says so and exits 1."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pika
import pytest

from eventlab.cli import main
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import read_all


def _args(config: RabbitConfig, db: Path) -> list[str]:
    return ["produce", "--db", str(db), "--rabbitmq-port", str(config.port),
            "--rabbitmq-stream-port", str(config.stream_port)]


def test_stream_dry_run_then_execute(rabbit_config: RabbitConfig,
                                     stream_factory: Callable[..., str], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    stream = stream_factory()
    args = [*_args(rabbit_config, tmp_path / "p.duckdb"), "--to-rabbitmq-stream", stream,
            "--value", '{"fixed": true}', "--message-id", "m-1", "--type", "OrderFixed",
            "--header", "b=1", "--header", "a=2", "--json"]
    assert main([*args, "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["target_kind"] == "rabbitmq-stream"
    assert [(p["key"], p["text"]) for p in dry["properties"]] == [
        ("message-id", "m-1"), ("x-basic-type", "OrderFixed")]
    assert read_all(rabbit_config, stream) is None
    assert main([*args, "--execute"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "acked"
    (got,) = read_all(rabbit_config, stream).to_pylist()
    names = [h["key"] for h in got["headers"]]
    assert got["value"] == b'{"fixed": true}' and names[:4] == ["message-id", "x-basic-type",
                                                                "b", "a"]


def test_unroutable_exchange_message_is_said(rabbit_config: RabbitConfig, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    name = f"x-cli-{os.getpid()}"
    with pika.BlockingConnection(pika.ConnectionParameters(
            rabbit_config.host, rabbit_config.port)) as conn:
        conn.channel().exchange_declare(name, "direct")
    code = main([*_args(rabbit_config, tmp_path / "x.duckdb"), "--to-rabbitmq-exchange", name,
                 "--routing-key", "nobody", "--value", "{}", "--execute"])
    out = capsys.readouterr().out
    assert code == 1 and "sent: failed" in out and "unroutable" in out
