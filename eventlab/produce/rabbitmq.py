"""One hand-made message into RabbitMQ (`produce/send.py` calls these for a RabbitMQ plan).

- Stream: the stream protocol with a publisher name of the message's own (its produce id)
  and publishing id 1, so a retried send cannot store it twice; confirmed or refused per
  message, no answer in time is `unknown`.
- Exchange: AMQP 0.9.1 with publisher confirms and `mandatory`: a message no queue takes is
  returned by the broker and reported `failed` ("unroutable ..."), never lost silently.

The plan's properties and application properties go through `rabbitmq.publish` (the same
conversion as republish): provenance and text headers as strings, hex headers as binaries.
"""

from __future__ import annotations

import asyncio

from eventlab.errors import SourceError
from eventlab.produce.plan import MessagePlan
from eventlab.rabbitmq import publish
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.republish.plan import RABBITMQ_STREAM

ACKED, FAILED, UNKNOWN = "acked", "failed", "unknown"


def exists(config: RabbitConfig, kind: str, name: str) -> bool:
    """Does the stream (kind `rabbitmq-stream`) or exchange exist?"""
    if kind == RABBITMQ_STREAM:
        async def run() -> bool:
            async with publish.StreamPublisher(config) as pub:
                return await pub.exists(name)
        return asyncio.run(run())
    with publish.ExchangePublisher(config) as pub:
        return pub.exists("exchange", name)


def _split(plan: MessagePlan) -> tuple[list[publish.Header], list[publish.Header]]:
    """(headers kept as bytes, headers sent as text), in the plan's order: the properties
    first (turned into message properties), then the application properties."""
    props: list[publish.Header] = list(plan.properties)
    headers: list[publish.Header] = list(plan.headers)
    if plan.text_headers:
        return props, headers
    mine = [h for h in headers if not h[0].startswith("eventlab-")]
    return props + mine, headers[len(mine):]


def send(config: RabbitConfig, plan: MessagePlan, timeout_s: float
         ) -> tuple[str, int | None, int | None, str | None]:
    """Send exactly the plan: (state, partition, offset, error); the offset is not known
    from a confirm (None)."""
    as_bytes, as_text = _split(plan)
    body = plan.value or b""
    if plan.target_kind == RABBITMQ_STREAM:
        return _to_stream(config, plan, publish.stream_message(body, as_bytes, as_text, 1),
                          timeout_s)
    try:
        with publish.ExchangePublisher(config) as pub:
            why = pub.publish(plan.topic, plan.routing_key or "",
                              body, publish.basic_properties(as_bytes, as_text))
    except SourceError as exc:
        return UNKNOWN, None, None, str(exc)
    return (FAILED, None, None, why) if why else (ACKED, 0, None, None)


def _to_stream(config: RabbitConfig, plan: MessagePlan, message: object, timeout_s: float
               ) -> tuple[str, int | None, int | None, str | None]:
    async def run() -> dict[int, str | None]:
        async with publish.StreamPublisher(config) as pub:
            return await pub.send(plan.topic, f"eventlab-produce-{plan.produce_id}",
                                  [message], timeout_s)  # type: ignore[list-item]
    try:
        answers = asyncio.run(run())
    except SourceError as exc:
        return UNKNOWN, None, None, str(exc)
    if 1 not in answers:
        return UNKNOWN, None, None, f"no answer within {timeout_s:g} s (it may be stored)"
    if answers[1] is not None:
        return FAILED, None, None, answers[1]
    return ACKED, 0, None, None
