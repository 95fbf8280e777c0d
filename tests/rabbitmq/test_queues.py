"""Queues peeked honestly: a quorum-queue peek leaves every message in place and not
redelivered; a classic peek is refused without consent and leaves no consumer and no unacked
message (but its cost, `redelivered`, is real and said)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import pika
import pytest

from eventlab.errors import SourceError
from eventlab.rabbitmq.amqp import channel
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.queues import peek_classic, peek_quorum, queue_depth
from eventlab.rabbitmq.server import ServerHandle


@pytest.fixture
def queue_factory(rabbit_config: RabbitConfig) -> Callable[..., str]:
    """make(kind, n) declares a queue of that kind unique to this test with n JSON messages."""
    counter = iter(range(10_000))

    def make(kind: str, n: int) -> str:
        name = f"q-{kind}-{os.getpid()}-{time.monotonic_ns()}-{next(counter)}"
        with channel(rabbit_config, "test setup") as ch:
            ch.confirm_delivery()
            ch.queue_declare(name, durable=True, arguments={"x-queue-type": kind})
            for i in range(n):
                ch.basic_publish("", name, json.dumps({"i": i}).encode(),
                                 pika.BasicProperties(message_id=f"m{i}", headers={"h": i}))
        return name

    return make


def _drain(config: RabbitConfig, queue: str) -> list[tuple[bytes, bool, object]]:
    """(body, redelivered, x-delivery-count) of every message, acknowledged (test cleanup)."""
    out = []
    with channel(config, "test drain") as ch:
        while True:
            method, props, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                return out
            out.append((body, method.redelivered, (props.headers or {}).get("x-delivery-count")))


def _settled_depth(config: RabbitConfig, queue: str, ready: int) -> object:
    deadline = time.monotonic() + 15  # management stats are emitted every few seconds
    while True:
        depth = queue_depth(config, queue)
        if (depth.ready, depth.unacked, depth.consumers) == (ready, 0, 0) \
                or time.monotonic() > deadline:
            return depth
        time.sleep(0.5)


@pytest.fixture
def mgmt_config(rabbit_config: RabbitConfig, rabbitmq_server: ServerHandle) -> RabbitConfig:
    import dataclasses
    return dataclasses.replace(rabbit_config, management_port=rabbitmq_server.ports.management,
                               node=rabbitmq_server.node)


def test_quorum_peek_leaves_every_message_in_place_not_redelivered(
        mgmt_config: RabbitConfig, rabbitmq_server: ServerHandle,
        queue_factory: Callable[..., str]) -> None:
    queue = queue_factory("quorum", 4)
    seen = peek_quorum(mgmt_config, queue, limit=10, env=rabbitmq_server.env())
    assert [m.position for m in seen] == [1, 2, 3, 4]
    assert [m.body for m in seen] == [json.dumps({"i": i}).encode() for i in range(4)]
    assert [m.properties["message_id"] for m in seen] == ["m0", "m1", "m2", "m3"]
    assert seen[2].headers["h"] == 2 and not seen[0].truncated
    depth = _settled_depth(mgmt_config, queue, 4)
    assert (depth.ready, depth.unacked, depth.consumers, depth.source) == (
        4, 0, 0, "management")
    after = _drain(mgmt_config, queue)
    assert [b for b, _r, _c in after] == [json.dumps({"i": i}).encode() for i in range(4)]
    assert not any(r for _b, r, _c in after)
    assert all(c in (None, 0) for _b, _r, c in after)


def test_quorum_peek_needs_a_node_name(rabbit_config: RabbitConfig) -> None:
    with pytest.raises(SourceError, match="EVENTLAB_RABBITMQ_NODE"):
        peek_quorum(rabbit_config, "whatever")


def test_classic_peek_refused_without_consent_then_leaves_no_consumer_or_unacked(
        mgmt_config: RabbitConfig, queue_factory: Callable[..., str]) -> None:
    queue = queue_factory("classic", 3)
    with pytest.raises(SourceError, match="redelivered"):
        peek_classic(mgmt_config, queue, limit=2)
    seen = peek_classic(mgmt_config, queue, limit=2, i_understand=True)
    assert [m.properties["message_id"] for m in seen] == ["m0", "m1"]
    assert not any(m.redelivered for m in seen)
    depth = _settled_depth(mgmt_config, queue, 3)
    assert (depth.ready, depth.unacked, depth.consumers) == (3, 0, 0)
    after = _drain(mgmt_config, queue)
    assert len(after) == 3  # nothing acknowledged by the peek
    assert [r for _b, r, _c in after] == [True, True, False]  # the cost it said


def test_x_death_is_parsed_from_a_dead_lettered_message(
        rabbit_config: RabbitConfig) -> None:
    dlq, work = f"dlq-{time.monotonic_ns()}", f"work-{time.monotonic_ns()}"
    with channel(rabbit_config, "test setup") as ch:
        ch.confirm_delivery()
        ch.queue_declare(dlq, durable=True)
        ch.queue_declare(work, durable=True, arguments={
            "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq})
        ch.basic_publish("", work, b'{"i": 1}', pika.BasicProperties(message_id="d1"))
        method, _p, _b = ch.basic_get(work)
        ch.basic_reject(method.delivery_tag, requeue=False)
    time.sleep(0.3)
    [msg] = peek_classic(rabbit_config, dlq, limit=5, i_understand=True)
    [death] = msg.deaths
    assert (death.queue, death.exchange, death.routing_keys, death.reason, death.count) == (
        work, "", (work,), "rejected", 1)
    assert death.time is not None and death.time.endswith("+00:00")


def test_cli_classic_peek_says_its_cost_and_does_nothing_without_consent(
        rabbit_config: RabbitConfig, queue_factory: Callable[..., str]) -> None:
    import subprocess
    import sys

    queue = queue_factory("classic", 2)
    env = {**os.environ, "EVENTLAB_RABBITMQ_PORT": str(rabbit_config.port)}
    cmd = [sys.executable, "-m", "eventlab", "peek-queue", "--queue", queue, "--kind", "classic"]
    refused = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "redelivered" in refused.stderr
    assert not any(r for _b, r, _c in _drain(rabbit_config, queue))  # untouched
