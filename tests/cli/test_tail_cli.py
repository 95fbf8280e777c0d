"""`eventlab tail` as a process against the real session broker: only records produced after
it started, filtered, and it stops after --max."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import orjson

from eventlab.kafka.config import KafkaConfig


def test_tail_prints_new_matching_records_and_stops_after_max(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable) -> None:
    topic = topic_factory(2)
    p = producer()

    def send(i: int, etype: str) -> None:
        value = orjson.dumps({"id": f"ev-{i}", "type": etype, "aggregateId": f"order-{i}",
                              "timestamp": "2026-11-01T10:00:00Z", "data": {}})
        p.send(topic, key=f"order-{i}".encode(), value=value, partition=i % 2).get(timeout=10)

    send(0, "OrderPlaced")  # before the tail: never shown
    proc = subprocess.Popen(
        [sys.executable, "-m", "eventlab", "tail", "--bootstrap", kafka_config.bootstrap,
         "--topic", topic, "--filter", "types=OrderPlaced", "--max", "2", "--interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("topic\tpartition\toffset")
        for i, etype in ((1, "OrderPlaced"), (2, "OrderShipped"), (3, "OrderPlaced"),
                         (5, "OrderPlaced")):
            send(i, etype)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    shown = [line.split("\t") for line in lines[:-1]]
    assert sorted(r[4] for r in shown) == ["order-1", "order-3"]
    assert all(r[6] == "OrderPlaced" for r in shown)
    assert lines[-1].startswith("# 2 record(s) shown")
