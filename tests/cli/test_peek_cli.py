"""`eventlab peek` against the real session broker: the table, --json, starts and limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import orjson
import pytest

from eventlab.cli import main
from eventlab.kafka.config import KafkaConfig

T0_MS = int(datetime(2026, 11, 1, 10, 0, tzinfo=UTC).timestamp() * 1000)


def fill(make_producer: Callable, topic: str) -> None:
    p = make_producer()
    for i in range(6):
        value = orjson.dumps({"id": f"ev-{i}", "type": "OrderNoted", "aggregateId": "order-1",
                              "timestamp": f"2026-11-01T10:00:0{i}Z", "data": {"n": i}})
        p.send(topic, key=b"order-1", value=value, headers=[("trace", b"\xff")],
               timestamp_ms=T0_MS + i).get(timeout=10)
    p.send(topic, value=b"\x00not json", timestamp_ms=T0_MS + 10).get(timeout=10)


def test_peek_prints_records_and_how_to_load_them(
        kafka_config: KafkaConfig, topic_factory: Callable, producer: Callable,
        capsys: pytest.CaptureFixture[str]) -> None:
    topic = topic_factory(1)
    fill(producer, topic)
    code = main(["peek", "--bootstrap", kafka_config.bootstrap, "--topic", topic, "--max", "3"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (f"3 record(s) of {topic}: 2 decode (envelope mapping), 1 would be "
                        "quarantined. Nothing was stored.")
    assert lines[2].split("\t")[:2] == ["0", "6"] and "QUARANTINE: invalid JSON" in lines[2]
    assert lines[3].split("\t")[:2] == ["0", "5"] and "trace=0xff" in lines[3]
    assert lines[-1] == (f"load from here: eventlab ingest-kafka --topic {topic} "
                         f"--from {topic}:0:4")

    code = main(["peek", "--bootstrap", kafka_config.bootstrap, "--topic", topic, "--from",
                 "0:1", "--max", "2", "--json", "--preset", "envelope"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [(r["offset"], r["entity_id"], r["status"]) for r in result["rows"]] == [
        (1, "order-1", "decoded"), (2, "order-1", "decoded")]
    assert result["rows"][0]["headers"] == [{"key": "trace", "value": "0xff"}]
    assert result["load_from"] == {f"{topic}/0": 1} and result["records"] == 2
    assert result["rows"][0]["timestamp"] == "2026-11-01T10:00:00.001000+00:00"


def test_peek_errors(kafka_config: KafkaConfig, topic_factory: Callable,
                     capsys: pytest.CaptureFixture[str]) -> None:
    topic = topic_factory(1)
    with pytest.raises(SystemExit):
        main(["peek", "--topic", topic, "--max", "501"])
    assert "1 to 500" in capsys.readouterr().err
    code = main(["peek", "--bootstrap", kafka_config.bootstrap, "--topic", topic + "-x"])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    code = main(["peek", "--bootstrap", kafka_config.bootstrap, "--topic", topic, "--from",
                 "soon"])
    assert code == 2 and "--from 'soon'" in capsys.readouterr().err
    code = main(["peek", "--bootstrap", kafka_config.bootstrap, "--topic", topic, "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["records"] == 0 and result["notes"]
