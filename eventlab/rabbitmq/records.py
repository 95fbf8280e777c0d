"""Stream messages (AMQP 1.0 encoded) as raw records, in the shape Kafka's reader gives.

One row per message in `kafka.reader.RAW_SCHEMA`, so the same per-record decoding and mapping
(`ingest.kafka_mapping`, `ingest.framed`) turn them into canonical events:

- `offset` the stream offset, `timestamp_ms` the chunk timestamp (broker time, type 1 =
  LogAppendTime), `key` none (a stream message has no key);
- `value` the body bytes as published (an AMQP `data` section; an `amqp-value` string as
  UTF-8);
- `headers`, in order: the AMQP properties that are set, by their AMQP 1.0 names
  (`message-id`, `correlation-id`, `content-type`, `creation-time`, ...: `PROPERTY_HEADERS`),
  then the message annotations (`x-routing-key`, `x-exchange`, ...), then the application
  properties in their order (an AMQP 0.9.1 publisher's `type` arrives as `x-basic-type`,
  its headers as application properties; CloudEvents binary mode as `cloudEvents_*`).
  Values are bytes: strings and binaries as they are, numbers and booleans as text,
  timestamps as milliseconds, anything else as JSON. A message that cannot be decoded keeps
  its raw bytes as the value and a `x-eventlab-undecodable` header, and goes to the
  quarantine with its stream and offset.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
import pyarrow as pa
from rstream import amqp_decoder

from eventlab.kafka.reader import RAW_SCHEMA
from eventlab.rabbitmq import amqp_fast

PROPERTY_HEADERS: tuple[tuple[str, str], ...] = (
    ("message_id", "message-id"), ("user_id", "user-id"), ("to", "to"), ("subject", "subject"),
    ("reply_to", "reply-to"), ("correlation_id", "correlation-id"),
    ("content_type", "content-type"), ("content_encoding", "content-encoding"),
    ("absolute_expiry_time", "absolute-expiry-time"), ("creation_time", "creation-time"),
    ("group_id", "group-id"), ("group_sequence", "group-sequence"),
    ("reply_to_group_id", "reply-to-group-id"))
"""AMQP 1.0 message properties and the header names they are stored under."""
_PROPERTY_NAMES = tuple(name for _attr, name in PROPERTY_HEADERS)
UNDECODABLE = "x-eventlab-undecodable"
LOG_APPEND_TIME = 1


def _bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int | float):
        return str(value).encode()
    if isinstance(value, uuid.UUID):
        return str(value).encode()
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)


def _key(name: Any) -> str:
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)


def message_parts(raw: bytes) -> tuple[bytes | None, list[tuple[str, bytes | None]]]:
    """(body bytes, headers in order as (name, value)) of one AMQP 1.0 encoded message:
    the fast reader for the common layout, rstream's decoder for anything else."""
    fast = amqp_fast.parts(raw, _bytes, _key, _PROPERTY_NAMES)
    return fast if fast is not None else rstream_parts(raw)


def rstream_parts(raw: bytes) -> tuple[bytes | None, list[tuple[str, bytes | None]]]:
    """(body bytes, headers in order as (name, value)) read with rstream's `amqp_decoder`
    (any layout; raises on what it cannot read)."""
    msg = amqp_decoder(raw)
    headers: list[tuple[str, bytes | None]] = []
    props = msg.properties
    if props is not None:
        for attr, name in PROPERTY_HEADERS:
            value = getattr(props, attr)
            if value is not None:
                headers.append((name, _bytes(value)))
    for table in (msg.message_annotations, msg.application_properties):
        if table:
            headers.extend((_key(k), _bytes(v)) for k, v in table.items())
    body = msg.body
    if body is None:
        value = _bytes(msg.value) if msg.value is not None else (
            b"" if msg.sequence is None else _bytes(msg.sequence))
    elif isinstance(body, list):
        value = b"".join(_bytes(part) or b"" for part in body)
    else:
        value = _bytes(body)
    return value, headers


_HEADERS_TYPE = RAW_SCHEMA.field("headers").type
_HEADER_FIELDS = list(_HEADERS_TYPE.value_type)


def raw_table(stream: str, partition: int, messages: Sequence[tuple[int, int, bytes]]
              ) -> pa.Table:
    """(offset, chunk timestamp ms, AMQP bytes) messages as a raw batch in `RAW_SCHEMA`."""
    values: list[bytes | None] = []
    keys: list[str] = []
    header_values: list[bytes | None] = []
    starts = [0]
    for _offset, _ts, raw in messages:
        try:
            value, hdrs = message_parts(raw)
        except Exception as exc:  # noqa: BLE001 - kept raw, quarantined by the mapping
            value = raw
            hdrs = [(UNDECODABLE, f"{type(exc).__name__}: {exc}".encode()[:500])]
        values.append(value)
        for name, hvalue in hdrs:
            keys.append(name)
            header_values.append(hvalue)
        starts.append(len(keys))
    n = len(messages)
    headers = pa.ListArray.from_arrays(
        pa.array(starts, pa.int32()),
        pa.StructArray.from_arrays([pa.array(keys, _HEADER_FIELDS[0].type),
                                    pa.array(header_values, _HEADER_FIELDS[1].type)],
                                   fields=_HEADER_FIELDS),
        type=_HEADERS_TYPE)
    return pa.Table.from_arrays([
        pa.array([stream] * n, pa.string()),
        pa.array([partition] * n, pa.int32()),
        pa.array([m[0] for m in messages], pa.int64()),
        pa.nulls(n, pa.binary()),
        pa.array(values, pa.binary()),
        headers,
        pa.array([m[1] for m in messages], pa.int64()),
        pa.array([LOG_APPEND_TIME] * n, pa.int8()),
        pa.array([len(v) if v is not None else -1 for v in values], pa.int32()),
    ], schema=RAW_SCHEMA)
