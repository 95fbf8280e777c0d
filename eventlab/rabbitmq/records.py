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

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from rstream import amqp_decoder

from eventlab.kafka.reader import RAW_SCHEMA
from eventlab.rabbitmq import amqp_columnar, amqp_fast

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


def _one(raw: bytes) -> tuple[bytes | None, list[tuple[str, bytes | None]]]:
    """One message's parts, or its raw bytes and the reason when it cannot be decoded."""
    try:
        return message_parts(raw)
    except Exception as exc:  # noqa: BLE001 - kept raw, quarantined by the mapping
        return raw, [(UNDECODABLE, f"{type(exc).__name__}: {exc}".encode()[:500])]


def _with_left_rows(n: int, bodies: pa.Array, offsets: np.ndarray, headers: pa.Array,
                    left: np.ndarray, raws: Sequence[bytes]) -> tuple[pa.Array, pa.Array]:
    """The columnar reader's arrays with the rows it left alone read one by one."""
    parts = [_one(raws[i]) for i in left.tolist()]
    where = np.arange(n)
    where[left] = n + np.arange(len(left))
    bodies = pa.concat_arrays([bodies, pa.array([v for v, _h in parts], pa.binary())]).take(
        pa.array(where))
    extra = [h for _v, hs in parts for h in hs]
    counts = np.diff(offsets)
    rows = np.concatenate([np.repeat(np.arange(n), counts),
                           np.repeat(left, [len(hs) for _v, hs in parts]).astype(np.int64)])
    counts[left] = [len(hs) for _v, hs in parts]
    headers = pa.concat_arrays([headers, pa.StructArray.from_arrays(
        [pa.array([k for k, _v in extra], _HEADER_FIELDS[0].type),
         pa.array([v for _k, v in extra], _HEADER_FIELDS[1].type)], fields=_HEADER_FIELDS)])
    headers = headers.take(pa.array(np.argsort(rows, kind="stable")))
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    return bodies, pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), headers,
                                            type=_HEADERS_TYPE)


def raw_table(stream: str, partition: int, messages: Sequence[tuple[int, int, bytes]]
              ) -> pa.Table:
    """(offset, chunk timestamp ms, AMQP bytes) messages as a raw batch in `RAW_SCHEMA`:
    the batch read column by column (`amqp_columnar`), the rows it leaves alone one by one
    (`message_parts`)."""
    n = len(messages)
    raws = [m[2] for m in messages]
    bodies, offsets, flat, left = amqp_columnar.batch(raws, _PROPERTY_NAMES)
    flat = pa.StructArray.from_arrays([flat.field(0), flat.field(1)], fields=_HEADER_FIELDS)
    if len(left):
        bodies, headers = _with_left_rows(n, bodies, offsets.to_numpy(), flat, left, raws)
    else:
        headers = pa.ListArray.from_arrays(offsets, flat, type=_HEADERS_TYPE)
    return pa.Table.from_arrays([
        pa.array([stream] * n, pa.string()),
        pa.array([partition] * n, pa.int32()),
        pa.array([m[0] for m in messages], pa.int64()),
        pa.nulls(n, pa.binary()),
        bodies,
        headers,
        pa.array([m[1] for m in messages], pa.int64()),
        pa.array([LOG_APPEND_TIME] * n, pa.int8()),
        pc.fill_null(pc.binary_length(bodies), -1).cast(pa.int32()),
    ], schema=RAW_SCHEMA)
