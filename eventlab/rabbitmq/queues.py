"""Queues looked at honestly: depth, a quorum queue's non-destructive peek, and a classic
queue's peek that says what it costs.

RabbitMQ 3.10 has one non-destructive peek: `rabbitmq-queues peek QUEUE POSITION`, quorum
queues only, over the Erlang distribution (node name and cookie, so on the broker's host or a
host with its cookie). It leaves the message in place, not redelivered, its delivery count
unchanged; it returns the properties, the headers and only the first 64 bytes of the body.
AMQP 0.9.1 and the management API have no peek: their "get" is a consume-and-requeue, which is
what `peek_classic` does, after consent (`CLASSIC_PEEK_COST`), never acknowledging.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventlab.errors import SourceError
from eventlab.rabbitmq.amqp import channel, management_get, quote
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.deadletters import Death, parse_x_death

QUEUES_BIN = Path("/usr/lib/rabbitmq/bin/rabbitmq-queues")
QUORUM_PREVIEW_BYTES = 64
"""`rabbitmq-queues peek` shows at most this many bytes of a body (RabbitMQ 3.10)."""
NO_MESSAGE = "does not have a message at that position"
"""What `rabbitmq-queues peek` says past the last message (3.10)."""
CLASSIC_PEEK_COST = (
    "Peeking a classic queue is a consume-and-requeue (AMQP has no peek): while EventLab holds "
    "them the messages are unacknowledged and invisible to other consumers; when they are "
    "returned RabbitMQ sets `redelivered` on them, their order may change, and on a queue with "
    "a delivery limit one delivery of that limit is spent. EventLab never acknowledges them.")


@dataclass(frozen=True)
class QueueDepth:
    """How full a queue is and who reads it. `unacked` is None when only AMQP answered."""

    queue: str
    kind: str
    ready: int
    unacked: int | None
    consumers: int
    source: str
    """"management" (the API on loopback) or "amqp" (a passive declare)."""


@dataclass(frozen=True)
class PeekedMessage:
    """One message seen in a queue: its position (1 = head), properties, headers, body."""

    position: int
    body: bytes
    truncated: bool
    properties: dict[str, Any]
    headers: dict[str, Any]
    redelivered: bool = False
    deaths: tuple[Death, ...] = field(default=())


def queue_depth(config: RabbitConfig, queue: str) -> QueueDepth:
    """Ready, unacked and consumers from the management API on loopback, else ready and
    consumers from an AMQP passive declare (which cannot tell unacked)."""
    try:
        doc = management_get(config, f"queues/{quote(config.vhost)}/{quote(queue)}",
                             config.management_port)
        return QueueDepth(queue, str(doc.get("type", "classic")),
                          int(doc.get("messages_ready", 0) or 0),
                          int(doc.get("messages_unacknowledged", 0) or 0),
                          int(doc.get("consumers", 0) or 0), "management")
    except SourceError:
        pass
    with channel(config, f"looking at queue {queue!r}") as ch:
        ok = ch.queue_declare(queue, passive=True).method
        return QueueDepth(queue, "unknown", int(ok.message_count), None,
                          int(ok.consumer_count), "amqp")


def peek_quorum(config: RabbitConfig, queue: str, limit: int = 10, *,
                node: str | None = None, env: Mapping[str, str] | None = None
                ) -> list[PeekedMessage]:
    """The first `limit` messages of a quorum queue, left in place (`rabbitmq-queues peek`).

    `node` defaults to `config.node`; `env` to this process's environment (the CLI finds the
    cookie in $HOME/.erlang.cookie). Bodies are cut at `QUORUM_PREVIEW_BYTES`. Each position
    is one run of the CLI (an Erlang VM start, about a second)."""
    node = node or config.node
    if not node:
        raise SourceError("a quorum-queue peek needs the RabbitMQ node name (rabbit@host): set "
                          "EVENTLAB_RABBITMQ_NODE")
    if not QUEUES_BIN.exists():
        raise SourceError(f"{QUEUES_BIN} is missing: the quorum-queue peek runs RabbitMQ's own "
                          "CLI; install rabbitmq-server (the CLI) on this host")
    out: list[PeekedMessage] = []
    for position in range(1, limit + 1):
        cmd = [str(QUEUES_BIN), "-n", node, "-q", "--formatter", "json", "peek",
               "--vhost", config.vhost, queue, str(position)]
        try:
            done = subprocess.run(cmd, env=dict(env if env is not None else os.environ),
                                  capture_output=True, text=True,
                                  timeout=config.timeout_s + 10)
        except subprocess.TimeoutExpired:
            raise SourceError(f"rabbitmq-queues peek on node {node} did not answer within "
                              f"{config.timeout_s + 10:g} s") from None
        doc = _json(done.stdout) or _json(done.stderr) or {}
        if doc.get("result") == "error" and NO_MESSAGE in str(doc.get("message", "")):
            break  # past the last message
        if done.returncode != 0 or "message" not in doc:
            said = str(doc.get("message") or done.stderr.strip() or done.stdout.strip())[:300]
            raise SourceError(f"rabbitmq-queues peek of {queue!r} on node {node} failed: {said} "
                              "(is it a quorum queue, and is the node name and cookie right?)")
        out.append(_peeked(position, doc["message"]))
    return out


def _json(text: str) -> dict[str, Any] | None:
    for line in text.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            return doc
    return None


def _peeked(position: int, msg: Mapping[str, Any]) -> PeekedMessage:
    props: dict[str, Any] = {}
    headers: dict[str, Any] = {}
    body = b""
    for key, value in msg.items():
        if key.startswith("header."):
            headers[key[len("header."):]] = value
        elif key.startswith("payload"):
            body = str(value).encode("utf-8", "surrogateescape")
        else:
            props[key] = value
    truncated = len(body) >= QUORUM_PREVIEW_BYTES
    return PeekedMessage(position, body, truncated, props, headers,
                         deaths=parse_x_death(headers.get("x-death")))


def peek_classic(config: RabbitConfig, queue: str, limit: int = 10, *,
                 i_understand: bool = False) -> list[PeekedMessage]:
    """Up to `limit` messages of a queue by basic.get, then all returned (nack, requeue) and
    the channel closed: never acknowledged. Refused unless `i_understand` (see
    `CLASSIC_PEEK_COST`)."""
    if not i_understand:
        raise SourceError(f"not peeked: {CLASSIC_PEEK_COST} Confirm to go ahead "
                          "(--i-understand).")
    out: list[PeekedMessage] = []
    with channel(config, f"peeking queue {queue!r}") as ch:
        last_tag = None
        try:
            for position in range(1, limit + 1):
                method, props, body = ch.basic_get(queue, auto_ack=False)
                if method is None:
                    break
                last_tag = method.delivery_tag
                headers = dict(props.headers or {})
                out.append(PeekedMessage(
                    position, bytes(body), False, _props(props), headers,
                    bool(method.redelivered), parse_x_death(headers.get("x-death"))))
        finally:
            if last_tag is not None:
                ch.basic_nack(last_tag, multiple=True, requeue=True)
    return out


def _props(props: Any) -> dict[str, Any]:
    names = ("content_type", "content_encoding", "delivery_mode", "priority", "correlation_id",
             "reply_to", "expiration", "message_id", "timestamp", "type", "user_id", "app_id")
    return {n: getattr(props, n) for n in names if getattr(props, n, None) is not None}
