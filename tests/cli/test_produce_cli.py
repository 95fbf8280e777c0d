"""`eventlab produce` against the real session broker: a dry run sends nothing and shows the
bytes; --execute sends exactly them; read-only refuses (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from eventlab.cli import main
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.reader import KafkaRawReader


def records(config: KafkaConfig, topic: str) -> list[dict]:
    with KafkaRawReader(config, [topic], start="earliest", until="end") as reader:
        out = []
        while (batch := reader.next_batch()) is not None:
            out += batch.to_pylist()
    return out


def test_dry_run_then_execute(kafka_config: KafkaConfig, topic_factory: Callable,
                              tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    topic = topic_factory(2)
    db = str(tmp_path / "p.duckdb")
    args = ["produce", "--db", db, "--bootstrap", kafka_config.bootstrap, "--topic", topic,
            "--key", "order-9", "--value", '{"fixed": true}', "--header", "a=1",
            "--header", "a=2", "--reason", "teach", "--json"]
    assert main([*args, "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] and dry["value"]["text"] == '{"fixed": true}'
    assert records(kafka_config, topic) == []
    assert main([*args, "--execute"]) == 0
    sent = json.loads(capsys.readouterr().out)
    (record,) = records(kafka_config, topic)
    assert sent["state"] == "acked" and record["offset"] == sent["offset"]
    assert record["key"] == b"order-9" and record["value"] == b'{"fixed": true}'
    assert [(h["key"], h["value"]) for h in record["headers"]][:2] == [("a", b"1"), ("a", b"2")]
    assert main(["produce", "--db", db, "--bootstrap", kafka_config.bootstrap, "--topic", topic,
                 "--value", "{bad", "--dry-run"]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_read_only_process_refuses(kafka_config: KafkaConfig, topic_factory: Callable,
                                   tmp_path: Path) -> None:
    topic = topic_factory(1)
    proc = subprocess.run(
        [sys.executable, "-m", "eventlab", "produce", "--db", str(tmp_path / "r.duckdb"),
         "--bootstrap", kafka_config.bootstrap, "--topic", topic, "--value", "{}",
         "--execute"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "EVENTLAB_READ_ONLY": "1"})
    assert proc.returncode == 2 and "read-only" in proc.stderr
    assert records(kafka_config, topic) == []
