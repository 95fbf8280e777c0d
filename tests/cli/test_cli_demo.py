"""`eventlab demo --kafka` and `eventlab demo-consumer` against the real session broker."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import uuid

import pytest
from kafka import KafkaAdminClient
from repo_paths import ROOT

from eventlab.cli import main
from eventlab.kafka.admin import partition_counts
from eventlab.kafka.broker import BrokerHandle
from eventlab.kafka.config import KafkaConfig


@pytest.fixture
def broker(kafka_broker: BrokerHandle) -> BrokerHandle:
    return kafka_broker


def topic_name() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


def committed(config: KafkaConfig, group: str) -> int:
    admin = KafkaAdminClient(**config.client_kwargs())
    try:
        return sum(m.offset for m in admin.list_group_offsets(group)[group].values())
    finally:
        admin.close()


def test_demo_kafka_produces_and_prints_a_summary(
        broker: BrokerHandle, capsys: pytest.CaptureFixture[str]) -> None:
    topic = topic_name()
    code = main(["demo", "--kafka", broker.bootstrap, "--topic", topic, "--events", "200",
                 "--seed", "5", "--cloudevents", "binary", "--partitions", "2"])
    out = capsys.readouterr().out
    assert code == 0
    assert "produced 205 records" in out and f"to {topic} (2 partitions)" in out
    assert "records/s" in out and "poison huge: partition" in out
    assert partition_counts(broker.config(), [topic]) == {topic: 2}


def test_demo_needs_a_target_and_kafka_needs_a_topic(
        broker: BrokerHandle, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--events", "10"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["demo", "--out", "x", "--kafka", broker.bootstrap])
    capsys.readouterr()
    assert main(["demo", "--kafka", broker.bootstrap]) == 2
    assert "--kafka needs --topic" in capsys.readouterr().err


def test_demo_consumer_commits_and_stops_on_sigterm(broker: BrokerHandle) -> None:
    topic, config = topic_name(), broker.config()
    assert main(["demo", "--kafka", broker.bootstrap, "--topic", topic, "--events", "1000"]) == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "eventlab", "demo-consumer", "--bootstrap", broker.bootstrap,
         "--topic", topic, "--group", "cli-projector", "--rate", "200",
         "--progress-every", "0.3"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 20
        assert proc.stdout is not None
        while not any(line.startswith("processed") and not line.startswith("processed 0 ")
                      for line in lines):
            assert time.monotonic() < deadline, f"no progress: {lines}"
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                lines.append(proc.stdout.readline())
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    final = out.strip().splitlines()[-1]
    assert final.startswith("stopped: processed")
    processed = int(final.split()[2].replace(",", ""))
    assert 0 < processed < 1005
    assert committed(config, "cli-projector") == processed
