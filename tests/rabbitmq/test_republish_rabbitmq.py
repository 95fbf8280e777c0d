"""Republish into RabbitMQ against a real server: a stream (byte for byte, provenance as
application properties, deduplicated across runs and after SIGKILL), an exchange with
confirms, unroutable messages reported, dry run sends nothing, read-only refuses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pika
import pytest
from repo_paths import ROOT

from eventlab import republish, settings
from eventlab.errors import ReadOnlyError
from eventlab.ingest.rabbitmq_ingest import ingest_streams
from eventlab.kafka import provenance as prov
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import read_all
from eventlab.republish import ledger
from eventlab.republish.plan import RABBITMQ_EXCHANGE, RABBITMQ_STREAM, PlanOptions
from eventlab.store import db
from eventlab.store.eventstore import EventStore

ALL = "SELECT event_id FROM events"


def _envelope(i: int) -> bytes:
    return json.dumps({"event_id": f"e{i}", "entity_id": f"order-{i % 3}",
                       "event_type": "OrderPlaced", "ts": "2025-03-05T14:03:00Z",
                       "seq": i + 1, "data": {"i": i, "bin": "\u00e9"}}).encode()


def _loaded(store: EventStore, config: RabbitConfig, stream_factory: Callable[..., str],
            n: int) -> str:
    stream = stream_factory([(_envelope(i), {
        "message_id": f"m-{i}", "correlation_id": f"c-{i}", "content_type": "application/json",
        "type": "OrderPlaced", "timestamp": 1741183380 + i,
        "headers": {"tenant": "acme", "n": i}}) for i in range(n)])
    assert ingest_streams(store, config, [stream]).rows_stored == n
    return stream


def _channel(config: RabbitConfig) -> pika.adapters.blocking_connection.BlockingChannel:
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        config.host, config.port, config.vhost,
        pika.PlainCredentials(config.user, config.password.reveal())))
    return conn.channel()


def _provenance(headers: list[dict]) -> dict[str, str]:
    return {h["key"]: h["value"].decode() for h in headers if h["key"] in prov.HEADERS}


def test_stream_byte_for_byte_with_provenance_and_dry_run_sends_nothing(
        rabbit_config: RabbitConfig, stream_factory: Callable[..., str], store: EventStore,
        manager: object) -> None:
    src = _loaded(store, rabbit_config, stream_factory, 5)
    target = f"{src}-out"
    dry = republish.dry_run(store, rabbit_config, republish.Selection.query(ALL),
                            PlanOptions(target=target, target_kind=RABBITMQ_STREAM,
                                        reason="fix"))
    assert dry.plan.target_kind == RABBITMQ_STREAM and dry.plan.create == (target,)
    assert dry.plan.count == 5
    with pytest.raises(Exception, match="no stream"):  # the dry run created nothing
        read_all(rabbit_config, target)
    done = republish.execute(store, rabbit_config, dry.plan.job_id)
    assert done.status == "done", done
    assert done.counts.sent == 5
    out = read_all(rabbit_config, target).to_pylist()
    with store.reading() as cur:
        stored = db.rows(cur, 'SELECT "offset", value, headers FROM events ORDER BY "offset"')
    assert [r["value"] for r in out] == [v for _, v, _ in stored]
    for r, (offset, _, headers) in zip(out, stored, strict=True):
        original = [(h["key"], h["value"]) for h in r["headers"] if h["key"] not in prov.HEADERS]
        assert original == [(h["key"], h["value"]) for h in headers]
        p = _provenance(r["headers"])
        assert p[prov.ORIGINAL_TOPIC] == src and p[prov.ORIGINAL_OFFSET] == str(offset)
        assert p[prov.REPLAY_ID] == dry.plan.job_id and p[prov.REASON] == "fix"
    with store.reading() as cur:  # verified: the ledger knows where each record landed
        offsets = [r[3] for r in ledger.acked_rows(cur, dry.plan.job_id)]
    assert offsets == [0, 1, 2, 3, 4]


def test_stream_sent_twice_and_after_sigkill_holds_each_record_once(
        tmp_path: Path, rabbit_config: RabbitConfig,
        stream_factory: Callable[..., str]) -> None:
    n = 600
    path = tmp_path / "rp.duckdb"
    with EventStore(path) as store:
        _loaded(store, rabbit_config, stream_factory, n)
        dry = republish.dry_run(store, rabbit_config, republish.Selection.query(ALL),
                                PlanOptions(target_kind=RABBITMQ_STREAM))
    job_id, target = dry.plan.job_id, dry.plan.target_topics[0]
    script = textwrap.dedent("""
        import sys
        from eventlab import republish
        from eventlab.rabbitmq.config import RabbitConfig
        from eventlab.store.eventstore import EventStore
        path, port, stream_port, job_id = sys.argv[1:]
        config = RabbitConfig(port=int(port), stream_port=int(stream_port), timeout_s=5.0)
        with EventStore(path) as store:
            republish.execute(store, config, job_id, rate=400,
                              starting=lambda: print("sending", flush=True))
    """)
    env = {k: v for k, v in os.environ.items() if k != "EVENTLAB_READ_ONLY"}
    proc = subprocess.Popen([sys.executable, "-c", script, str(path), str(rabbit_config.port),
                             str(rabbit_config.stream_port), job_id], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and "sending" in proc.stdout.readline()
    time.sleep(0.8)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with EventStore(path) as store:
        with store.reading() as cur:
            after_kill = ledger.counts(cur, job_id)
        assert after_kill.sent < n, after_kill  # killed part way
        # Sent twice: forget every outcome (as if no ledger write had happened): the broker's
        # deduplication by publisher name and publishing id still keeps each record once.
        with store.transaction() as cur:
            cur.execute("UPDATE republish_log SET status = 'unsent' WHERE job_id = ?", [job_id])
        report = republish.execute(store, rabbit_config, job_id)
        assert report.status == "done", report
    out = read_all(rabbit_config, target)
    offsets = Counter(_provenance(h)[prov.ORIGINAL_OFFSET]
                      for h in out.column("headers").to_pylist())
    assert len(offsets) == n and set(offsets.values()) == {1}


def test_exchange_with_confirms_and_unroutable_reported(
        rabbit_config: RabbitConfig, stream_factory: Callable[..., str],
        store: EventStore) -> None:
    _loaded(store, rabbit_config, stream_factory, 4)
    ch = _channel(rabbit_config)
    exchange, queue = f"x-{os.getpid()}-{time.time_ns()}", f"q-{os.getpid()}-{time.time_ns()}"
    ch.exchange_declare(exchange, "direct")
    ch.queue_declare(queue, arguments={"x-queue-type": "classic"})
    ch.queue_bind(queue, exchange, "orders")
    dry = republish.dry_run(store, rabbit_config, republish.Selection.query(ALL),
                            PlanOptions(target=exchange, target_kind=RABBITMQ_EXCHANGE,
                                        routing_key="orders"))
    done = republish.execute(store, rabbit_config, dry.plan.job_id)
    assert done.status == "done" and done.counts.sent == 4, done
    method, props, body = ch.basic_get(queue, auto_ack=True)
    assert method.message_count == 3 and body == _envelope(0)
    assert (props.message_id, props.correlation_id, props.type, props.timestamp) == (
        "m-0", "c-0", "OrderPlaced", 1741183380)
    assert props.headers["tenant"] == b"acme"
    assert props.headers[prov.REPLAY_ID] == dry.plan.job_id

    lost = republish.dry_run(store, rabbit_config, republish.Selection.query(ALL),
                             PlanOptions(target=exchange, target_kind=RABBITMQ_EXCHANGE,
                                         routing_key="nobody-listens"))
    report = republish.execute(store, rabbit_config, lost.plan.job_id)
    assert report.status == "partial" and report.counts.failed == 4, report
    with store.reading() as cur:
        errors = ledger.records(cur, lost.plan.job_id).column("error").to_pylist()
    assert all(e.startswith("unroutable") for e in errors)
    ch.connection.close()


def test_missing_exchange_and_read_only_are_refused_and_audited(
        rabbit_config: RabbitConfig, stream_factory: Callable[..., str], store: EventStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _loaded(store, rabbit_config, stream_factory, 2)
    with pytest.raises(republish.RepublishRefused, match="declare them first"):
        republish.dry_run(store, rabbit_config, republish.Selection.query(ALL),
                          PlanOptions(target="no-such-exchange", target_kind=RABBITMQ_EXCHANGE))
    dry = republish.dry_run(store, rabbit_config, republish.Selection.query(ALL),
                            PlanOptions(target_kind=RABBITMQ_STREAM))
    monkeypatch.setattr(settings, "_GUARDS", settings.Guards(read_only=True))
    with pytest.raises(ReadOnlyError):
        republish.execute(store, rabbit_config, dry.plan.job_id)
    with pytest.raises(ReadOnlyError):
        republish.dry_run(store, rabbit_config, republish.Selection.query(ALL),
                          PlanOptions(target_kind=RABBITMQ_STREAM))
    with store.reading() as cur:
        outcomes = [r["outcome"] for r in republish.audit_rows(cur).to_pylist()]
    assert outcomes.count("refused") == 3
    with pytest.raises(Exception, match="no stream"):
        read_all(rabbit_config, dry.plan.target_topics[0])


def test_cli_redrives_a_dead_letter_queue_to_the_queue_in_x_death(
        tmp_path: Path, rabbit_config: RabbitConfig) -> None:
    tag = f"{os.getpid()}-{time.time_ns()}"
    work, dlq, kept = f"work-{tag}", f"dlq-{tag}", f"kept-{tag}"
    ch = _channel(rabbit_config)
    ch.queue_declare(dlq)
    ch.queue_declare(work, arguments={"x-dead-letter-exchange": "",
                                      "x-dead-letter-routing-key": dlq})
    ch.queue_declare(kept, durable=True, arguments={"x-queue-type": "stream"})
    ch.confirm_delivery()
    for i in range(3):
        ch.basic_publish("", work, _envelope(i), pika.BasicProperties(
            message_id=f"m-{i}", headers={"tenant": "acme"}))
    for _ in range(3):
        method, _props, _body = ch.basic_get(work)
        ch.basic_reject(method.delivery_tag, requeue=False)
    # RabbitMQ 3.10 cannot dead-letter into a stream: the dead letters are moved from the
    # classic DLQ into a stream as they are (what a drain or a tap stores), then loaded.
    for _ in range(3):
        method, props, body = ch.basic_get(dlq, auto_ack=True)
        assert props.headers["x-first-death-queue"] == work
        ch.basic_publish("", kept, body, props)
    path = tmp_path / "dlq.duckdb"
    with EventStore(path) as store:
        assert ingest_streams(store, rabbit_config, [kept]).rows_stored == 3
        with store.reading() as cur:
            keys = [h["key"] for h in db.rows(cur, "SELECT headers FROM events")[0][0]]
    assert "x-first-death-queue" in keys, keys
    env = {k: v for k, v in os.environ.items() if k != "EVENTLAB_READ_ONLY"}
    out = subprocess.run(
        [sys.executable, "-m", "eventlab", "republish", "--dlq", kept, "--to-rabbitmq-queues",
         "--drop-dead-letter-headers", "--execute", "--yes", "--db", str(path), "--json",
         "--rabbitmq-port", str(rabbit_config.port),
         "--rabbitmq-stream-port", str(rabbit_config.stream_port)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "done" and result["sent"] == 3
    method, props, body = ch.basic_get(work, auto_ack=True)
    assert body == _envelope(0) and method.message_count == 2
    assert props.message_id == "m-0" and props.headers["tenant"] == b"acme"
    assert not [k for k in props.headers if "death" in k]
    assert props.headers[prov.ORIGINAL_TOPIC] == kept  # provenance as text
    ch.connection.close()
