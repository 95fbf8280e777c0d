"""One message composed by hand, as a plan: the exact bytes that will be sent, decided before
anything is sent. Pure: no I/O.

A `Draft` is what the form or the command line holds (text, with a format for the key and the
value); `make_plan` turns it into a `MessagePlan`: key, value and header bytes, the partition
(given, else the key's murmur2 partition like the Java client, else 0 for a keyless message),
the timestamp, and the provenance headers that say it was composed by hand
(`kafka.provenance.COMPOSED`, plus the original event's id, topic, partition and offset for a
corrected copy of a stored event).

A RabbitMQ target (`target_kind` a stream or an exchange, `republish.plan`'s kinds) has no key
and no partition: the draft's `properties` (message_id, correlation_id, content_type, type)
and its timestamp become the message's properties, its headers the application properties in
order (then the same provenance names), and an exchange takes a routing key. The plan holds
the properties under the names a stream read back shows them (`RABBIT_PROPERTY_HEADERS`).
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventlab.errors import EventLabError
from eventlab.kafka import provenance as prov
from eventlab.kafka.partitioner import partition_for
from eventlab.republish.plan import KAFKA, RABBITMQ_EXCHANGE, RABBITMQ_STREAM

FORMATS = ("json", "text", "hex", "none")
"""How a key or value text becomes bytes: checked JSON (sent as typed), UTF-8 text, hex, or
no bytes at all (a null key; a null value is a tombstone)."""


TARGET_KINDS = (KAFKA, RABBITMQ_STREAM, RABBITMQ_EXCHANGE)
"""Where one message can go: a Kafka topic, a RabbitMQ stream, a RabbitMQ exchange."""
RABBIT_PROPERTIES = ("message_id", "correlation_id", "content_type", "type")
"""The RabbitMQ message properties a draft may set (with its timestamp)."""
RABBIT_PROPERTY_HEADERS = {"message_id": "message-id", "correlation_id": "correlation-id",
                           "content_type": "content-type", "type": "x-basic-type",
                           "timestamp": "creation-time"}
"""Property -> the header name a stored RabbitMQ record gives it (`rabbitmq/records.py`; a
0.9.1 `type` is `x-basic-type`, the timestamp `creation-time` in milliseconds), which is also
what `rabbitmq.publish` turns back into properties."""


class ProduceError(EventLabError):
    """A message cannot be composed or sent as asked (bad JSON or hex, no such partition,
    a guard refused it)."""


@dataclass(frozen=True)
class Draft:
    """A message as typed: texts and their formats, headers in order (repeats allowed)."""

    topic: str
    value: str | None = None
    value_format: str = "json"
    key: str | None = None
    key_format: str = "text"
    partition: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    header_format: str = "text"
    timestamp: datetime | None = None
    reason: str = ""
    original: dict[str, Any] | None = None
    """For a corrected copy: the stored event's event_id, topic, partition and offset."""
    target_kind: str = KAFKA
    routing_key: str | None = None
    """An exchange's routing key (None: empty)."""
    properties: tuple[tuple[str, str], ...] = ()
    """RabbitMQ properties by name (`RABBIT_PROPERTIES`), empty values left out."""


def encode(text: str | None, fmt: str, what: str) -> bytes | None:
    """`text` as bytes in `fmt` (see FORMATS); ProduceError naming `what` when it cannot be."""
    if fmt not in FORMATS:
        raise ProduceError(f"{what}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "none" or text is None:
        return None
    if fmt == "hex":
        clean = "".join(text.split()).removeprefix("0x")
        try:
            return binascii.unhexlify(clean)
        except (binascii.Error, ValueError):
            raise ProduceError(f"{what} is not hex (pairs of 0-9a-f): {text[:40]!r}") from None
    if fmt == "json":
        try:
            json.loads(text)
        except ValueError as exc:
            raise ProduceError(f"{what} is not valid JSON: {exc}") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ProduceError(f"{what} cannot be UTF-8: {exc}") from None


@dataclass(frozen=True)
class MessagePlan:
    """Exactly what will be sent, and what must happen first (`confirm`: type the topic)."""

    produce_id: str
    actor: str
    topic: str
    partition: int
    partitions: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int | None
    reason: str
    confirm: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    target_kind: str = KAFKA
    routing_key: str | None = None
    properties: tuple[tuple[str, bytes], ...] = ()
    """RabbitMQ: the message properties under their stored header names, in order."""
    text_headers: bool = True
    """RabbitMQ: the application properties are strings (else binaries, typed as hex)."""

    @property
    def bytes(self) -> int:
        """Key, value, property and header bytes."""
        return (len(self.key or b"") + len(self.value or b"")
                + sum(len(k.encode()) + len(v) for k, v in (*self.headers, *self.properties)))

    @property
    def rabbitmq(self) -> bool:
        """Is the target a RabbitMQ stream or exchange?"""
        return self.target_kind != KAFKA

    def target(self) -> str:
        """Where it goes, for the audit log and messages."""
        if self.target_kind == RABBITMQ_STREAM:
            return f"stream {self.topic}"
        if self.target_kind == RABBITMQ_EXCHANGE:
            return f"exchange {self.topic} (routing key {self.routing_key or ''!r})"
        return f"{self.topic}[{self.partition}]"

    def to_dict(self) -> dict[str, Any]:
        """The dry run as shown: every byte as hex, and as text where it is UTF-8."""
        def show(b: bytes | None) -> dict[str, Any] | None:
            if b is None:
                return None
            try:
                text: str | None = b.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            return {"hex": b.hex(), "text": text, "bytes": len(b)}
        return {"produce_id": self.produce_id, "actor": self.actor, "topic": self.topic,
                "partition": self.partition, "partitions": self.partitions,
                "key": show(self.key), "value": show(self.value),
                "tombstone": self.value is None,
                "headers": [{"key": k, **(show(v) or {})} for k, v in self.headers],
                "timestamp_ms": self.timestamp_ms, "reason": self.reason,
                "confirm": self.confirm, "notes": list(self.notes), "total_bytes": self.bytes,
                "target_kind": self.target_kind, "routing_key": self.routing_key,
                "properties": [{"key": k, **(show(v) or {})} for k, v in self.properties]}


def composed_headers(actor: str, at_ms: int, produce_id: str, reason: str,
                     original: dict[str, Any] | None) -> list[tuple[str, bytes]]:
    """The provenance headers of a hand-made message (unknown values are empty)."""
    out = [(prov.COMPOSED_BY, actor.encode()), (prov.COMPOSED_AT, str(at_ms).encode()),
           (prov.PRODUCE_ID, produce_id.encode()), (prov.REASON, reason.encode())]
    if original:
        for name, field_ in ((prov.ORIGINAL_EVENT_ID, "event_id"),
                             (prov.ORIGINAL_TOPIC, "topic"),
                             (prov.ORIGINAL_PARTITION, "partition"),
                             (prov.ORIGINAL_OFFSET, "offset")):
            value = original.get(field_)
            out.append((name, b"" if value is None else str(value).encode()))
    return out


def make_plan(draft: Draft, *, partitions: int, sensitive: set[str], actor: str,
              produce_id: str, now_ms: int) -> MessagePlan:
    """Decide the bytes and the partition (see the module); ProduceError when the draft
    cannot be sent as typed."""
    if not draft.topic:
        raise ProduceError("a message needs a topic")
    if draft.target_kind not in TARGET_KINDS:
        raise ProduceError(f"target kind {draft.target_kind!r} is not one of "
                           f"{', '.join(TARGET_KINDS)}")
    if draft.target_kind != KAFKA:
        return _rabbit_plan(draft, sensitive=sensitive, actor=actor, produce_id=produce_id,
                            now_ms=now_ms)
    key = encode(draft.key, draft.key_format, "the key")
    value = encode(draft.value, draft.value_format, "the value")
    headers = _headers(draft)
    notes: list[str] = []
    if draft.partition is not None:
        if not 0 <= draft.partition < partitions:
            raise ProduceError(f"topic {draft.topic} has partitions 0..{partitions - 1}; there "
                               f"is no partition {draft.partition}")
        partition = draft.partition
    elif key is not None:
        partition = partition_for(key, partitions)
        notes.append(f"partition {partition} by the key (murmur2, as the Java client)")
    else:
        partition = 0
        notes.append("no key and no partition given: partition 0")
    if value is None:
        notes.append("no value: a tombstone (a delete for compacted topics)")
    ts = None if draft.timestamp is None else int(draft.timestamp.timestamp() * 1000)
    if ts is None:
        notes.append("no timestamp: the producer's current time")
    headers += composed_headers(actor, now_ms, produce_id, draft.reason, draft.original)
    confirm = draft.topic if draft.topic in sensitive else None
    if confirm:
        notes.append(f"{draft.topic} is a topic EventLab loaded from: type its name to send")
    return MessagePlan(produce_id, actor, draft.topic, partition, partitions, key, value,
                       tuple(headers), ts, draft.reason, confirm, tuple(notes))


def _headers(draft: Draft) -> list[tuple[str, bytes]]:
    """The typed headers (application properties) as bytes, in order."""
    headers: list[tuple[str, bytes]] = []
    for name, text in draft.headers:
        if not name:
            raise ProduceError("a header needs a name")
        if name.startswith("eventlab-"):
            raise ProduceError(f"header {name!r}: names starting with eventlab- are EventLab's "
                               "provenance headers, added by it")
        headers.append((name, encode(text, draft.header_format, f"header {name}") or b""))
    return headers


def _rabbit_plan(draft: Draft, *, sensitive: set[str], actor: str, produce_id: str,
                 now_ms: int) -> MessagePlan:
    """A message for a RabbitMQ stream or exchange (see the module)."""
    where = "stream" if draft.target_kind == RABBITMQ_STREAM else "exchange"
    if draft.key is not None and draft.key_format != "none":
        raise ProduceError("a RabbitMQ message has no key: leave it empty (an exchange takes "
                           "a routing key; use an application property for anything else)")
    if draft.partition is not None:
        raise ProduceError(f"a RabbitMQ {where} has no partitions: leave the partition empty")
    if draft.value_format == "none" or draft.value is None:
        raise ProduceError("a RabbitMQ message needs a body (there are no tombstones): give a "
                           "value, an empty text is allowed")
    if draft.routing_key is not None and draft.target_kind != RABBITMQ_EXCHANGE:
        raise ProduceError("a routing key goes with an exchange target")
    value = encode(draft.value, draft.value_format, "the value") or b""
    props: list[tuple[str, bytes]] = []
    for name, text in draft.properties:
        if name not in RABBIT_PROPERTIES:
            raise ProduceError(f"property {name!r} is not one of {', '.join(RABBIT_PROPERTIES)}")
        if text:
            props.append((RABBIT_PROPERTY_HEADERS[name], text.encode("utf-8")))
    ts = None if draft.timestamp is None else int(draft.timestamp.timestamp() * 1000)
    notes: list[str] = []
    if ts is None:
        notes.append("no timestamp: the message carries no timestamp property")
    else:
        props.append((RABBIT_PROPERTY_HEADERS["timestamp"], str(ts).encode()))
        if draft.target_kind == RABBITMQ_EXCHANGE and ts % 1000:
            notes.append("AMQP 0.9.1 timestamps are whole seconds: the milliseconds are dropped")
    headers = _headers(draft) + composed_headers(actor, now_ms, produce_id, draft.reason,
                                                 draft.original)
    if draft.target_kind == RABBITMQ_EXCHANGE:
        notes.append("published with confirms and mandatory: a message no queue takes is "
                     "returned and reported as unroutable")
    else:
        notes.append(f"published with a publisher name of its own ({produce_id}): sent "
                     "twice, the stream keeps it once")
    confirm = draft.topic if draft.topic in sensitive else None
    if confirm:
        notes.append(f"{draft.topic} is a {where} EventLab loaded from: type its name to send")
    return MessagePlan(produce_id, actor, draft.topic, 0, 1, None, value, tuple(headers), ts,
                       draft.reason, confirm, tuple(notes), target_kind=draft.target_kind,
                       routing_key=(draft.routing_key or "")
                       if draft.target_kind == RABBITMQ_EXCHANGE else None,
                       properties=tuple(props), text_headers=draft.header_format != "hex")
