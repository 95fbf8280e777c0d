"""`eventlab lag` against the real session broker: --json objects, the table, and --watch
sampling into a database until interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from repo_paths import ROOT

from eventlab.cli import main
from eventlab.kafka.config import KafkaConfig
from eventlab.store.eventstore import EventStore


def _setup(kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable) -> tuple:
    topic = topic_factory(2)
    p = producer()
    for _ in range(5):
        p.send(topic, b"x", partition=0).get(timeout=10)  # one per request (quirk 2)
    group = f"cli-lag-{topic}"
    c = KafkaConsumer(**kafka_config.client_kwargs(), group_id=group, enable_auto_commit=False)
    c.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "", -1)})
    c.close(autocommit=False)
    return topic, group


def test_lag_json_lists_every_partition(kafka_config: KafkaConfig, topic_factory: Callable,
                                        producer: Callable, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    topic, group = _setup(kafka_config, topic_factory, producer)
    db = tmp_path / "none.duckdb"
    assert main(["lag", "--bootstrap", kafka_config.bootstrap, "--group", group, "--json",
                 "--db", str(db)]) == 2  # --db names a file that is not there
    capsys.readouterr()
    monkeypatch.delenv("EVENTLAB_DB", raising=False)
    monkeypatch.chdir(tmp_path)  # no default database here: a snapshot without history
    assert main(["lag", "--bootstrap", kafka_config.bootstrap, "--group", group, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["topic"], r["partition"], r["committed"], r["end"], r["lag"]) for r in rows] == [
        (topic, 0, 2, 5, 3), (topic, 1, None, 0, None)]
    for key in ("group", "lag_seconds", "lag_seconds_estimated", "rate_per_s", "eta_seconds",
                "status"):
        assert key in rows[0]
    assert rows[1]["status"] == "NO_COMMIT" and rows[0]["lag_seconds"] >= 0
    assert main(["lag", "--bootstrap", kafka_config.bootstrap, "--group", group]) == 0
    out = capsys.readouterr().out
    assert f"{topic}/1  committed=no commit" in out and "lag=3 " in out


def test_lag_watch_samples_until_interrupted(kafka_config: KafkaConfig, topic_factory: Callable,
                                             producer: Callable, tmp_path: Path) -> None:
    topic, group = _setup(kafka_config, topic_factory, producer)
    db = tmp_path / "watch.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-m", "eventlab", "lag", "--bootstrap", kafka_config.bootstrap,
         "--group", group, "--db", str(db), "--watch", "0.3", "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert json.loads(first)[0]["group"] == group
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    printed = 1 + out.count("\n")
    with EventStore(db, read_only=True) as store, store.reading() as cur:
        n, partitions = cur.execute("SELECT count(*), count(DISTINCT \"partition\") "
                                    "FROM lag_samples WHERE group_id = ?", [group]).fetchall()[0]
    assert n == 2 * printed and partitions == 2 and printed >= 3
