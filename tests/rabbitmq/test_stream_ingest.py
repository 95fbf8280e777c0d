"""RabbitMQ streams into the store, against a real server: canonical events, encodings,
resume, exactly once under SIGKILL, a server stopped mid-read, and errors said as such."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rabbitmq_fixtures import publish

from eventlab.errors import BrokerUnavailable, SourceError
from eventlab.ingest.rabbitmq_ingest import ingest_streams
from eventlab.kafka.config import Secret
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.server import free_port, start_server
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def _envelope(i: int, entity: str = "order-1") -> bytes:
    return json.dumps({"event_id": f"e{i}", "entity_id": entity, "event_type": "OrderPlaced",
                       "ts": "2025-03-05T14:03:00Z", "seq": i + 1, "data": {"i": i}}).encode()


def _rows(store: EventStore, sql: str, params: list[object] | None = None) -> list[tuple]:
    with store.reading() as cur:
        return db.rows(cur, sql, params or [])


def test_canonical_event_keeps_properties_in_order_and_resumes(
        rabbit_config: RabbitConfig, stream_factory: Callable[..., str],
        publisher: Callable[..., None]) -> None:
    stream = stream_factory([(_envelope(0), {
        "message_id": "m-0", "correlation_id": "corr-7", "content_type": "application/json",
        "type": "OrderPlaced", "timestamp": 1741183380, "headers": {"tenant": "acme", "n": 3}})])
    with EventStore(":memory:") as store:
        report = ingest_streams(store, rabbit_config, [stream])
        assert report.rows_stored == 1 and not report.error
        row = _rows(store, 'SELECT source, topic, "partition", "offset", event_id, value, '
                           "headers, kafka_ts IS NOT NULL FROM events")[0]
        assert row[:6] == ("rabbitmq", stream, 0, 0, "e0", _envelope(0))
        headers = [(h["key"], h["value"]) for h in row[6]]
        assert headers[:4] == [("message-id", b"m-0"), ("correlation-id", b"corr-7"),
                               ("content-type", b"application/json"),
                               ("creation-time", b"1741183380000")]
        assert [k for k, _ in headers][-3:] == ["x-basic-type", "tenant", "n"]
        assert ("tenant", b"acme") in headers and row[7]
        publisher(stream, [_envelope(1), _envelope(2)])
        again = ingest_streams(store, rabbit_config, [stream])
        assert again.resumed_from == {f"{stream}/0": 1}
        assert again.records_read == 2 and again.rows_stored == 2
        assert _rows(store, 'SELECT list("offset" ORDER BY "offset") FROM events')[0][0] == [
            0, 1, 2]
        assert _rows(store, "SELECT source, broker, next_offset FROM ingest_offsets") == [
            ("rabbitmq", rabbit_config.broker_id, 3)]


def test_mixed_encodings_in_one_stream(rabbit_config: RabbitConfig,
                                       stream_factory: Callable[..., str]) -> None:
    ce_structured = json.dumps({"specversion": "1.0", "id": "ce-s", "type": "OrderPaid",
                                "source": "/shop", "subject": "order-2",
                                "time": "2025-03-05T14:04:00Z", "data": {"paid": True}})
    stream = stream_factory([
        _envelope(0),
        (b'{"amount": 5}', {"content_type": "application/json", "headers": {
            "cloudEvents_specversion": "1.0", "cloudEvents_id": "ce-b",
            "cloudEvents_type": "OrderShipped", "cloudEvents_source": "/shop",
            "cloudEvents_subject": "order-3", "cloudEvents_time": "2025-03-05T14:05:00Z"}}),
        (ce_structured.encode(), {"content_type": "application/cloudevents+json"}),
        (b"{not json", {}),
    ])
    with EventStore(":memory:") as store:
        report = ingest_streams(store, rabbit_config, [stream])
        assert (report.rows_stored, report.rows_quarantined) == (3, 1)
        rows = _rows(store, 'SELECT "offset", event_id, entity_id, event_type FROM events '
                            'ORDER BY "offset"')
        assert rows == [(0, "e0", "order-1", "OrderPlaced"),
                        (1, "ce-b", "order-3", "OrderShipped"),
                        (2, "ce-s", "order-2", "OrderPaid")]
        quarantined = _rows(store, 'SELECT source, topic, "offset", raw, detail FROM '
                                   "quarantine")
        assert quarantined[0][:4] == ("rabbitmq", stream, 3, b"{not json")
        assert f"{stream}/0 offset 3" in quarantined[0][4]


def _ingest_cmd(db_path: Path, config: RabbitConfig, stream: str) -> list[str]:
    return [sys.executable, "-m", "eventlab", "ingest-rabbitmq", "--db", str(db_path),
            "--stream", stream, "--port", str(config.port), "--stream-port",
            str(config.stream_port), "--batch-records", "300", "--json"]


def test_exactly_once_under_repeated_sigkill(tmp_path: Path, rabbit_config: RabbitConfig,
                                             stream_factory: Callable[..., str]) -> None:
    n = 6000
    stream = stream_factory([_envelope(i, f"order-{i % 50}") for i in range(n)])
    db_path = tmp_path / "r.duckdb"
    kills = 0
    for attempt in range(12):
        proc = subprocess.Popen(_ingest_cmd(db_path, rabbit_config, stream),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.2 + 0.25 * attempt)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        if kills == 3:
            break
    assert kills >= 2
    done = subprocess.run(_ingest_cmd(db_path, rabbit_config, stream), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with EventStore(db_path) as store:
        assert _rows(store, 'SELECT count(*), count(DISTINCT "offset"), min("offset"), '
                            'max("offset") FROM events') == [(n, n, 0, n - 1)]
        assert _rows(store, "SELECT next_offset FROM ingest_offsets")[0][0] == n


def test_server_stopped_mid_read_then_a_later_run_resumes(tmp_path: Path) -> None:
    base = tmp_path / "node"
    amqp, streams = free_port(), free_port()
    pad = "x" * 20_000
    messages = [json.dumps({"event_id": f"e{i}", "entity_id": "order-1",
                            "event_type": "OrderPlaced", "ts": "2025-03-05T14:03:00Z",
                            "pad": pad}).encode() for i in range(3000)]
    handle = start_server(amqp, streams, base=base)
    handle.remove_base = False
    config = RabbitConfig(port=amqp, stream_port=streams, timeout_s=3.0)
    publish(config, "orders", messages)
    with EventStore(tmp_path / "r.duckdb") as store:
        def stop_after_first_batch(report: object) -> None:
            if handle.running():
                handle.stop()

        report = ingest_streams(store, config, ["orders"], batch_records=100,
                                progress=stop_after_first_batch)
        assert report.partial and report.stopped_because == "error"
        assert report.error and f"127.0.0.1:{streams}" in report.error
        count = _rows(store, "SELECT count(*) FROM events")[0][0]
        assert 0 < count < 3000 and report.positions == {"orders/0": count}
        with start_server(amqp, streams, base=base):
            resumed = ingest_streams(store, config, ["orders"])
            assert resumed.resumed_from == {"orders/0": count} and not resumed.error
        assert _rows(store, 'SELECT count(*), count(DISTINCT "offset") FROM events') == [
            (3000, 3000)]


def test_refused_auth_failed_and_vhost_missing_are_said_as_such(
        rabbit_config: RabbitConfig, stream_factory: Callable[..., str]) -> None:
    stream = stream_factory([_envelope(0)])
    cases = [
        (dataclasses.replace(rabbit_config, stream_port=free_port()), BrokerUnavailable,
         "refused the connection"),
        (dataclasses.replace(rabbit_config, password=Secret("wrong-pw-123")), SourceError,
         "refused the login of user 'guest'"),
        (dataclasses.replace(rabbit_config, vhost="/nowhere"), SourceError,
         "virtual host '/nowhere' does not exist"),
        (rabbit_config, SourceError, "has no stream 'no-such-stream'"),
    ]
    for config, kind, text in cases:
        name = "no-such-stream" if config is rabbit_config else stream
        started = time.monotonic()
        with EventStore(":memory:") as store, pytest.raises(kind) as caught:
            ingest_streams(store, config, [name])
        assert text in str(caught.value)
        assert "wrong-pw-123" not in str(caught.value)
        assert time.monotonic() - started < config.timeout_s + 5


def test_password_is_never_shown() -> None:
    config = RabbitConfig.from_env({"EVENTLAB_RABBITMQ_PASSWORD": "s3cret!",
                                    "EVENTLAB_RABBITMQ_USER": "ops"})
    assert config.password.reveal() == "s3cret!"
    for text in (repr(config), str(config), config.describe(), config.broker_id):
        assert "s3cret" not in text


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("EVENTLAB_RABBITMQ_"):
            monkeypatch.delenv(key)
