"""Producing one message into RabbitMQ against the real local server: a stream (read back
with its properties and ordered application properties; sent twice, stored once), an
exchange with confirms (read back from a bound queue), an unroutable message reported and
audited, read-only refusing inside the functions, and the pure plan's RabbitMQ rules."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

import pika
import pytest

from eventlab import settings
from eventlab.errors import ReadOnlyError
from eventlab.kafka import provenance as prov
from eventlab.produce.plan import Draft, ProduceError, make_plan
from eventlab.produce.send import dry_run, send
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import read_all
from eventlab.republish import audit
from eventlab.republish.plan import RABBITMQ_EXCHANGE, RABBITMQ_STREAM
from eventlab.store.eventstore import EventStore

WHEN = datetime(2025, 3, 5, 14, 3, 0, tzinfo=UTC)
PROPS = (("message_id", "m-1"), ("correlation_id", "c-1"),
         ("content_type", "application/json"), ("type", "OrderFixed"))
APP = (("tenant", "acme"), ("z", "1"), ("a", "2"))


def audit_rows(store: EventStore) -> list[tuple[str, str]]:
    with store.reading() as cur:
        return [(r["action"], r["outcome"]) for r in audit.rows(cur).to_pylist()][::-1]


def _channel(config: RabbitConfig) -> pika.adapters.blocking_connection.BlockingChannel:
    conn = pika.BlockingConnection(pika.ConnectionParameters(
        config.host, config.port, config.vhost,
        pika.PlainCredentials(config.user, config.password.reveal())))
    return conn.channel()


@pytest.fixture()
def exchange(rabbit_config: RabbitConfig) -> tuple[str, str]:
    """A direct exchange with one queue bound for routing key `k`: (exchange, queue)."""
    name = f"x-{os.getpid()}-{datetime.now().timestamp()}"
    channel = _channel(rabbit_config)
    channel.exchange_declare(name, "direct")
    channel.queue_declare(f"{name}-q")
    channel.queue_bind(f"{name}-q", name, "k")
    channel.connection.close()
    return name, f"{name}-q"


def test_a_stream_gets_the_dry_runs_message_with_its_properties_once(
        rabbit_config: RabbitConfig, stream_factory: Callable[..., str],
        store: EventStore) -> None:
    stream = stream_factory()
    draft = Draft(stream, value='{"fixed": true}', key=None, target_kind=RABBITMQ_STREAM,
                  properties=PROPS, headers=APP, timestamp=WHEN, reason="fix by hand")
    plan = dry_run(store, rabbit_config, draft, actor="tester")
    assert [k for k, _ in plan.properties] == ["message-id", "correlation-id", "content-type",
                                               "x-basic-type", "creation-time"]
    assert read_all(rabbit_config, stream) is None  # the dry run sent nothing
    result = send(store, rabbit_config, plan)
    assert result.state == "acked", result
    assert send(store, rabbit_config, plan).state == "acked"  # the same plan again ...
    out = read_all(rabbit_config, stream).to_pylist()
    assert len(out) == 1  # ... is deduplicated by the broker
    got = out[0]
    assert got["value"] == plan.value == b'{"fixed": true}'
    headers = [(h["key"], h["value"]) for h in got["headers"]]
    names = [k for k, _ in headers]
    assert names == ["message-id", "correlation-id", "content-type", "creation-time",
                     "x-basic-type", "tenant", "z", "a", *list(prov.COMPOSED)]
    by = dict(headers)
    assert by["message-id"] == b"m-1" and by["correlation-id"] == b"c-1"
    assert by["content-type"] == b"application/json" and by["x-basic-type"] == b"OrderFixed"
    assert by["creation-time"] == str(int(WHEN.timestamp() * 1000)).encode()
    assert by[prov.REASON] == b"fix by hand" and by[prov.COMPOSED_BY] == b"tester"
    assert by[prov.PRODUCE_ID] == plan.produce_id.encode()
    assert audit_rows(store) == [("produce-dry-run", "planned"), ("produce", "acked"),
                                 ("produce", "acked")]


def test_an_exchange_routes_it_with_confirms(rabbit_config: RabbitConfig,
                                             exchange: tuple[str, str],
                                             store: EventStore) -> None:
    name, queue = exchange
    draft = Draft(name, value="plain text body", value_format="text",
                  target_kind=RABBITMQ_EXCHANGE, routing_key="k", properties=PROPS,
                  headers=APP, timestamp=WHEN)
    plan = dry_run(store, rabbit_config, draft)
    result = send(store, rabbit_config, plan)
    assert result.state == "acked", result
    channel = _channel(rabbit_config)
    method, props, body = channel.basic_get(queue, auto_ack=True)
    channel.connection.close()
    assert method is not None and body == b"plain text body"
    assert (props.message_id, props.correlation_id, props.content_type, props.type) == (
        "m-1", "c-1", "application/json", "OrderFixed")
    assert props.timestamp == int(WHEN.timestamp())
    assert list(props.headers)[:3] == ["tenant", "z", "a"]
    assert props.headers["tenant"] == b"acme" or props.headers["tenant"] == "acme"
    assert props.headers[prov.PRODUCE_ID] in (plan.produce_id, plan.produce_id.encode())


def test_an_unroutable_message_is_reported_and_audited(rabbit_config: RabbitConfig,
                                                       exchange: tuple[str, str],
                                                       store: EventStore) -> None:
    name, queue = exchange
    plan = dry_run(store, rabbit_config, Draft(name, value="{}", target_kind=RABBITMQ_EXCHANGE,
                                               routing_key="nobody-listens"))
    result = send(store, rabbit_config, plan)
    assert result.state == "failed" and "unroutable" in (result.error or "")
    assert audit_rows(store)[-1] == ("produce", "failed")
    with store.reading() as cur:
        assert "unroutable" in audit.rows(cur).to_pylist()[0]["detail"]


def test_a_missing_exchange_or_stream_is_refused_at_the_dry_run(
        rabbit_config: RabbitConfig, store: EventStore) -> None:
    for kind in (RABBITMQ_STREAM, RABBITMQ_EXCHANGE):
        with pytest.raises(ProduceError, match="does not exist"):
            dry_run(store, rabbit_config, Draft("no-such-thing", value="{}", target_kind=kind))
    assert audit_rows(store) == [("produce-dry-run", "refused")] * 2


def test_read_only_refuses_inside_the_functions(rabbit_config: RabbitConfig,
                                                stream_factory: Callable[..., str],
                                                store: EventStore,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    stream = stream_factory()
    plan = dry_run(store, rabbit_config, Draft(stream, value="{}", target_kind=RABBITMQ_STREAM))
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    monkeypatch.setattr(settings, "_GUARDS", None)
    with pytest.raises(ReadOnlyError):
        send(store, rabbit_config, plan)
    with pytest.raises(ReadOnlyError):
        dry_run(store, rabbit_config, Draft(stream, value="{}", target_kind=RABBITMQ_STREAM))
    assert read_all(rabbit_config, stream) is None
    assert audit_rows(store)[-2:] == [("produce", "refused"), ("produce-dry-run", "refused")]


def test_pure_rabbitmq_plan_rules() -> None:
    def plan(**kw: object) -> object:
        return make_plan(Draft("s", **{"value": "{}", "target_kind": RABBITMQ_STREAM, **kw}),
                         partitions=1, sensitive={"s"}, actor="me", produce_id="p", now_ms=0)

    assert plan().confirm == "s"  # a stream EventLab loaded from: typed back
    with pytest.raises(ProduceError, match="no key"):
        plan(key="k")
    with pytest.raises(ProduceError, match="no partitions"):
        plan(partition=0)
    with pytest.raises(ProduceError, match="needs a body"):
        plan(value=None, value_format="none")
    with pytest.raises(ProduceError, match="routing key goes with an exchange"):
        plan(routing_key="k")
    with pytest.raises(ProduceError, match="not one of"):
        plan(properties=(("priority", "9"),))
    hexed = plan(headers=(("bin", "00ff"),), header_format="hex")
    assert hexed.headers[0] == ("bin", b"\x00\xff") and not hexed.text_headers


def test_a_corrected_copy_of_a_stored_stream_event_goes_back_as_it_came(
        rabbit_config: RabbitConfig, stream_factory: Callable[..., str],
        store: EventStore) -> None:
    from eventlab.ingest.rabbitmq_ingest import ingest_streams
    from eventlab.produce import prefill

    body = b'{"event_id": "e1", "entity_id": "o-1", "event_type": "OrderPlaced", "seq": 1}'
    src = stream_factory([(body, {"message_id": "m-9", "type": "OrderPlaced",
                                  "headers": {"tenant": "acme"}})])
    assert ingest_streams(store, rabbit_config, [src]).rows_stored == 1
    with store.reading() as cur:
        draft = prefill.from_event(cur, "e1")
    assert (draft.target_kind, draft.topic, draft.key) == (RABBITMQ_STREAM, src, None)
    assert dict(draft.properties) == {"message_id": "m-9", "type": "OrderPlaced"}
    assert draft.headers == (("tenant", "acme"),)
    plan = dry_run(store, rabbit_config, draft)
    assert plan.confirm == src  # a stream EventLab loaded from
    assert send(store, rabbit_config, plan, confirm=src).state == "acked"
    out = read_all(rabbit_config, src).to_pylist()
    assert len(out) == 2 and out[1]["value"] == body
    by = {h["key"]: h["value"] for h in out[1]["headers"]}
    assert by["message-id"] == b"m-9" and by["tenant"] == b"acme"
    assert by[prov.ORIGINAL_EVENT_ID] == b"e1" and by[prov.ORIGINAL_TOPIC] == src.encode()
