"""Super streams as partitions, against the real server: each partition's messages land as
(topic = the super stream, partition = its index, offset = the partition stream's offset), and
a run stopped part-way resumes per partition with no gap and no duplicate."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eventlab.cli.main import main
from eventlab.errors import SourceError
from eventlab.ingest.rabbitmq_ingest import ingest_streams
from eventlab.rabbitmq import amqp, superstreams
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.store import db
from eventlab.store.eventstore import EventStore

_names = itertools.count()


def _super_stream(config: RabbitConfig, partitions: int = 3) -> str:
    name = f"ss-{os.getpid()}-{next(_names)}"
    superstreams.declare(config, name, partitions)
    return name


def _publish(config: RabbitConfig, super_stream: str, per_partition: dict[int, int],
             first: int = 0) -> None:
    """Publish through the super stream's exchange: routing key = the partition index."""
    with amqp.channel(config, "publishing") as ch:
        ch.confirm_delivery()
        for p, n in per_partition.items():
            for i in range(first, first + n):
                body = json.dumps({"event_id": f"p{p}-{i}", "entity_id": f"order-{p}",
                                   "event_type": "OrderPlaced", "seq": i + 1,
                                   "ts": "2025-03-05T14:03:00Z", "data": {"i": i}}).encode()
                ch.basic_publish(super_stream, str(p), body)


def _rows(store: EventStore, sql: str) -> list[tuple]:
    with store.reading() as cur:
        return db.rows(cur, sql)


def test_partitions_are_found_in_order_and_a_missing_one_is_said(
        rabbit_config: RabbitConfig) -> None:
    name = _super_stream(rabbit_config, 3)
    assert superstreams.partitions(rabbit_config, name) == [f"{name}-0", f"{name}-1",
                                                            f"{name}-2"]
    with pytest.raises(SourceError, match="no super stream 'nope-ss'"):
        superstreams.partitions(rabbit_config, "nope-ss")


def test_three_partitions_land_with_their_numbers_and_resume_without_gap_or_duplicate(
        rabbit_config: RabbitConfig) -> None:
    name = _super_stream(rabbit_config, 3)
    _publish(rabbit_config, name, {0: 4, 1: 6, 2: 3})
    with EventStore(":memory:") as store:
        first = ingest_streams(store, rabbit_config, [], super_streams=[name], until=5)
        assert first.records_read == 5 and not first.error
        _publish(rabbit_config, name, {0: 2, 1: 1, 2: 5}, first=100)
        second = ingest_streams(store, rabbit_config, [], super_streams=[name])
        assert not second.error and second.rows_skipped_duplicate == 0
        assert first.records_read + second.records_read == 21  # nothing read twice
        rows = _rows(store, 'SELECT topic, "partition", "offset", event_id FROM events '
                            'ORDER BY "partition", "offset"')
        assert {r[0] for r in rows} == {name}
        for p, n in ((0, 6), (1, 7), (2, 8)):
            mine = [r for r in rows if r[1] == p]
            assert [r[2] for r in mine] == list(range(n))  # every offset once: no gap
            assert all(r[3].startswith(f"p{p}-") for r in mine)  # routed to its partition
        assert second.positions == {f"{name}/0": 6, f"{name}/1": 7, f"{name}/2": 8}
        third = ingest_streams(store, rabbit_config, [], super_streams=[name])
        assert third.records_read == 0  # caught up: positions per partition were stored


def test_cli_reads_a_super_stream(rabbit_config: RabbitConfig, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    name = _super_stream(rabbit_config, 2)
    _publish(rabbit_config, name, {0: 2, 1: 3})
    monkeypatch.setenv("EVENTLAB_RABBITMQ_PORT", str(rabbit_config.port))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_STREAM_PORT", str(rabbit_config.stream_port))
    db_path = str(tmp_path / "e.duckdb")
    assert main(["ingest-rabbitmq", "--super-stream", name, "--json", "--db", db_path]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["records_read"] == 5 and out["positions"] == {f"{name}/0": 2, f"{name}/1": 3}
    assert main(["ingest-rabbitmq", "--db", db_path]) == 1  # neither --stream nor --super-stream


def test_exactly_once_per_partition_under_sigkill(tmp_path: Path,
                                                  rabbit_config: RabbitConfig) -> None:
    name = _super_stream(rabbit_config, 3)
    _publish(rabbit_config, name, {0: 1500, 1: 1200, 2: 1800})
    db_path = tmp_path / "ss.duckdb"
    cmd = [sys.executable, "-m", "eventlab", "ingest-rabbitmq", "--db", str(db_path),
           "--super-stream", name, "--port", str(rabbit_config.port), "--stream-port",
           str(rabbit_config.stream_port), "--batch-records", "200", "--json"]
    kills = 0
    for attempt in range(12):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.2 + 0.25 * attempt)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        if kills == 2:
            break
    assert kills >= 1
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with EventStore(db_path) as store:
        got = _rows(store, 'SELECT "partition", count(*), count(DISTINCT "offset"), '
                           'min("offset"), max("offset") FROM events GROUP BY 1 ORDER BY 1')
        assert got == [(0, 1500, 1500, 0, 1499), (1, 1200, 1200, 0, 1199),
                       (2, 1800, 1800, 0, 1799)]
        assert _rows(store, 'SELECT "partition", next_offset FROM ingest_offsets '
                            'ORDER BY 1') == [(0, 1500), (1, 1200), (2, 1800)]


def test_peek_one_partition_of_a_super_stream(rabbit_config: RabbitConfig,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    name = _super_stream(rabbit_config, 3)
    _publish(rabbit_config, name, {0: 1, 1: 2, 2: 1})
    monkeypatch.setenv("EVENTLAB_RABBITMQ_PORT", str(rabbit_config.port))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_STREAM_PORT", str(rabbit_config.stream_port))
    assert main(["peek-rabbitmq", "--super-stream", name, "--partition", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["offset"] for r in rows] == [0, 1]
    assert [json.loads(r["value"])["event_id"] for r in rows] == ["p1-0", "p1-1"]


def test_lag_of_a_named_consumer_on_every_partition(rabbit_config: RabbitConfig,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from eventlab.rabbitmq.named_consumer import run_named_consumer

    name = _super_stream(rabbit_config, 2)
    _publish(rabbit_config, name, {0: 5, 1: 3})
    run_named_consumer(rabbit_config, f"{name}-0", "billing", rate=0, max_messages=2)
    monkeypatch.setenv("EVENTLAB_RABBITMQ_PORT", str(rabbit_config.port))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_STREAM_PORT", str(rabbit_config.stream_port))
    assert main(["lag", "--rabbitmq", "--super-stream", name, "--consumer", "billing",
                 "--json"]) == 0
    rows = {r["topic"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows[f"{name}-0"]["committed"], rows[f"{name}-0"]["lag"]) == (2, 3)
    assert rows[f"{name}-1"]["committed"] is None  # billing never read partition 1
