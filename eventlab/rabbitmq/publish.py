"""Writing into RabbitMQ: streams over the stream protocol (rstream, with deduplication) and
exchanges over AMQP 0.9.1 (pika, with publisher confirms and mandatory routing).

A stored record's headers (`records.py`: AMQP 1.0 property names first, then annotations and
application properties) are turned back into a message: the names of `PROPERTY_HEADERS` become
the message's properties, every other header an application property (stream) or an AMQP
0.9.1 header (exchange), its value as the bytes stored. Header keys are a map in AMQP: a key
repeated in the record (a Kafka record may do that) keeps its last value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from rstream import AMQPMessage, ConfirmationStatus, Producer, Properties
from rstream import exceptions as rexc
from rstream.recovery import BackOffRecoveryStrategy

from eventlab.errors import SourceError
from eventlab.rabbitmq import amqp
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.records import PROPERTY_HEADERS
from eventlab.rabbitmq.streams import connection_error

Header = tuple[str, bytes | None]
_AMQP10 = {name: attr for attr, name in PROPERTY_HEADERS}
_INT_PROPERTIES = {"absolute_expiry_time", "creation_time", "group_sequence"}
_BASIC = {"message-id": "message_id", "correlation-id": "correlation_id",
          "content-type": "content_type", "content-encoding": "content_encoding",
          "reply-to": "reply_to", "x-basic-type": "type", "x-basic-app-id": "app_id",
          "x-basic-expiration": "expiration", "type": "type", "app-id": "app_id",
          "expiration": "expiration"}
"""Stored header -> AMQP 0.9.1 basic property (strings): the names a stream gives (AMQP 1.0,
`x-basic-*`) and those of a drained queue (`ingest/rabbitmq_dlq.py`: 0.9.1 names, '-')."""
_BASIC_NUMBERS = {"x-basic-priority": "priority", "x-basic-delivery-mode": "delivery_mode",
                  "priority": "priority", "delivery-mode": "delivery_mode"}
_BASIC_TIME = {"creation-time": 1000, "timestamp": 1}
"""Headers that become `timestamp` (seconds), with the divisor of their stored unit."""
DEAD_LETTER = ("x-death", "x-first-death-", "x-last-death-")
"""The headers RabbitMQ adds when it dead-letters a message (dropped on request in a redrive)."""

for _name in ("rstream", "rstream.client", "rstream.producer", "pika"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


def is_dead_letter_header(key: str) -> bool:
    """Is `key` one of the headers RabbitMQ adds when dead-lettering?"""
    return key == DEAD_LETTER[0] or key.startswith(DEAD_LETTER[1:])


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "surrogateescape")


def stream_message(body: bytes | None, headers: Sequence[Header], provenance: Sequence[Header],
                   publishing_id: int) -> AMQPMessage:
    """The AMQP 1.0 message for a stream: properties from their headers, the rest (then the
    provenance, as text) as application properties, the body as one data section."""
    props: dict[str, Any] = {}
    app: dict[str, Any] = {}
    for key, value in headers:
        attr = _AMQP10.get(key)
        if attr is not None and value is not None:
            try:
                props[attr] = int(value) if attr in _INT_PROPERTIES else value.decode()
                continue
            except (UnicodeDecodeError, ValueError):
                pass  # kept byte for byte as an application property instead
        app[key] = value
    for key, value in provenance:
        app[key] = _text(value)
    message = AMQPMessage(body=body or b"", properties=Properties(**props) if props else None,
                          application_properties=app or None)
    message.publishing_id = publishing_id
    return message


def basic_properties(headers: Sequence[Header], provenance: Sequence[Header]) -> Any:
    """The pika `BasicProperties` for an exchange: properties from their headers, the rest
    (then the provenance, as text) as headers. Persistent unless the record said otherwise."""
    import pika

    kwargs: dict[str, Any] = {"delivery_mode": 2}
    table: dict[str, Any] = {}
    for key, value in headers:
        try:
            if key in _BASIC and value is not None:
                kwargs[_BASIC[key]] = value.decode()
                continue
            if key in _BASIC_TIME and value is not None:
                kwargs["timestamp"] = int(value) // _BASIC_TIME[key]
                continue
            if key in _BASIC_NUMBERS and value is not None:
                kwargs[_BASIC_NUMBERS[key]] = int(value)
                continue
        except (UnicodeDecodeError, ValueError):
            pass
        table[key] = value
    for key, value in provenance:
        table[key] = _text(value)
    return pika.BasicProperties(headers=table or None, **kwargs)


# -- streams ------------------------------------------------------------------------------------

def _producer(config: RabbitConfig) -> Producer:
    return Producer(config.host, config.stream_port, username=config.user,
                    password=config.password.reveal(), vhost=config.vhost,
                    ssl_context=config.ssl_context(), max_retries=1,
                    connection_name="eventlab-republish",
                    recovery_strategy=BackOffRecoveryStrategy(False))


class StreamPublisher:
    """One stream producer (async): publishes with a publisher name, so the broker drops any
    publishing id it already stored for that name (deduplication across runs)."""

    def __init__(self, config: RabbitConfig) -> None:
        self.config = config
        self._producer = _producer(config)

    async def __aenter__(self) -> StreamPublisher:
        await self._bounded(self._producer.start(), "connecting a stream producer")
        return self

    async def __aexit__(self, *_: object) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._producer.close(), 5)

    async def _bounded(self, coro: Any, doing: str) -> Any:
        try:
            return await asyncio.wait_for(coro, self.config.timeout_s)
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            raise connection_error(self.config, exc, doing) from exc

    async def exists(self, stream: str) -> bool:
        """Does the stream exist?"""
        client = await self._producer.default_client
        return bool(await self._bounded(client.stream_exists(stream),
                                        f"looking up stream {stream!r}"))

    async def create(self, stream: str) -> None:
        """Declare the stream (no error when it exists)."""
        await self._bounded(self._producer.create_stream(stream, exists_ok=True),
                            f"creating stream {stream!r}")

    async def send(self, stream: str, publisher: str, messages: Sequence[AMQPMessage],
                   timeout_s: float) -> dict[int, str | None]:
        """Publish `messages` (their publishing ids set) as `publisher`; per publishing id
        None (confirmed) or the broker's error, after at most `timeout_s` (missing: no answer).
        """
        answers: dict[int, str | None] = {}
        done = asyncio.Event()
        want = len(messages)

        def on_confirm(status: ConfirmationStatus) -> None:
            answers[status.message_id] = None if status.is_confirmed else (
                f"refused by the broker (code {status.response_code})")
            if len(answers) >= want:
                done.set()

        try:
            await self._bounded(self._producer.send_batch(
                stream, list(messages), publisher_name=publisher,
                on_publish_confirm=on_confirm), f"publishing to stream {stream!r}")
        except rexc.StreamDoesNotExist:
            raise SourceError(f"stream {stream!r} no longer exists on {self.config.describe()}"
                              ": plan again") from None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout_s)
        return answers


# -- exchanges and queues (AMQP 0.9.1) ----------------------------------------------------------

class ExchangePublisher:
    """A blocking AMQP channel with publisher confirms; `publish` says per message whether the
    broker took it (None), could not route it, or refused it."""

    def __init__(self, config: RabbitConfig) -> None:
        import pika

        self.config = config
        try:
            self._conn = pika.BlockingConnection(amqp.parameters(config))
            self._channel = self._conn.channel()
            self._channel.confirm_delivery()
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            raise amqp.amqp_error(config, exc, "connecting") from exc

    def __enter__(self) -> ExchangePublisher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(Exception):
            self._conn.close()

    def exists(self, kind: str, name: str) -> bool:
        """Does the exchange (`kind` "exchange") or queue exist? A passive declare on a
        channel of its own (a missing one closes that channel)."""
        import pika.exceptions as pexc

        if kind == "exchange" and name == "":
            return True  # the default exchange
        channel = self._conn.channel()
        try:
            if kind == "exchange":
                channel.exchange_declare(name, passive=True)
            else:
                channel.queue_declare(name, passive=True)
            return True
        except pexc.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                return False
            raise amqp.amqp_error(self.config, exc, f"looking up {kind} {name!r}") from exc
        finally:
            with contextlib.suppress(Exception):
                if channel.is_open:
                    channel.close()

    def publish(self, exchange: str, routing_key: str, body: bytes, properties: Any
                ) -> str | None:
        """Publish one message, mandatory, and wait for its confirm: None when confirmed and
        routed, else why not (unroutable: returned by the broker; refused: nacked)."""
        import pika.exceptions as pexc

        try:
            self._channel.basic_publish(exchange, routing_key, body, properties,
                                        mandatory=True)
            return None
        except pexc.UnroutableError:
            return (f"unroutable: no queue is bound to exchange {exchange or '(default)'!r} for "
                    f"routing key {routing_key!r} (returned by the broker, not delivered)")
        except pexc.NackError:
            return "refused by the broker (nack)"
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            raise amqp.amqp_error(self.config, exc, f"publishing to exchange {exchange!r}") from exc

