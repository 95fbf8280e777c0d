"""The fast AMQP 1.0 reader gives exactly what rstream's decoder gives: every property type,
application properties of every AMQP type, odd bodies, broken messages, and messages as
RabbitMQ stores them when an AMQP 0.9.1 client publishes into a stream."""

from __future__ import annotations

import asyncio
import struct
import uuid
from collections.abc import Callable
from datetime import UTC
from typing import Any

import pytest
from rstream import AMQPMessage, Consumer, ConsumerOffsetSpecification, OffsetType, Properties

from eventlab.rabbitmq import amqp_fast
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.records import (
    _PROPERTY_NAMES,
    _bytes,
    _key,
    message_parts,
    raw_table,
    rstream_parts,
)


# -- a small hand encoder, one constructor at a time ------------------------------------------
def v8(ctor: int, data: bytes) -> bytes:
    return bytes([ctor, len(data)]) + data


def v32(ctor: int, data: bytes) -> bytes:
    return bytes([ctor]) + struct.pack(">I", len(data)) + data


def compound8(ctor: int, items: list[bytes]) -> bytes:
    body = b"".join(items)
    return bytes([ctor, len(body) + 1, len(items)]) + body


def compound32(ctor: int, items: list[bytes]) -> bytes:
    body = b"".join(items)
    return bytes([ctor]) + struct.pack(">II", len(body) + 4, len(items)) + body


def section(code: int, value: bytes) -> bytes:
    return bytes([0x00, 0x53, code]) + value


def sym(s: str) -> bytes:
    return v8(0xA3, s.encode())


def text(s: str | bytes) -> bytes:
    return v8(0xA1, s if isinstance(s, bytes) else s.encode())


def amap(pairs: list[tuple[bytes, bytes]], wide: bool = False) -> bytes:
    items = [x for pair in pairs for x in pair]
    wide = wide or sum(map(len, items)) > 250
    return (compound32 if wide else compound8)(0xD1 if wide else 0xC1, items)


def alist(items: list[bytes], wide: bool = False) -> bytes:
    wide = wide or sum(map(len, items)) > 250
    return (compound32 if wide else compound8)(0xD0 if wide else 0xC0, items)


U = uuid.UUID("12345678-1234-5678-1234-567812345678")
NULL = b"\x40"
SCALARS: dict[str, bytes] = {
    "null": NULL, "true": b"\x41", "false": b"\x42", "bool1": b"\x56\x01", "bool0": b"\x56\x00",
    "bool7": b"\x56\x07", "ubyte": b"\x50\xff", "ushort": b"\x60\xff\xfe",
    "uint": b"\x70\xff\xff\xff\xfe", "smalluint": b"\x52\xfe", "uint0": b"\x43",
    "ulong": b"\x80" + struct.pack(">Q", 2**64 - 2), "smallulong": b"\x53\xfe", "ulong0": b"\x44",
    "byte": b"\x51\xfe", "short": b"\x61\xff\xfe", "int": b"\x71" + struct.pack(">i", -5),
    "smallint": b"\x54\xfb", "long": b"\x81" + struct.pack(">q", -(2**62)),
    "smalllong": b"\x55\x80", "float": b"\x72" + struct.pack(">f", 1.1),
    "double": b"\x82" + struct.pack(">d", 2.5e-300),
    "nan": b"\x82" + struct.pack(">d", float("nan")),
    "timestamp": b"\x83" + struct.pack(">q", 1_741_183_380_123), "uuid": b"\x98" + U.bytes,
    "vbin8": v8(0xA0, b"\x00\xff bin"), "vbin32": v32(0xB0, b"\x80" * 300),
    "str8": text("naïve 🚀"), "str8-invalid": text(b"\xff\xfe not utf-8"),
    "str32": v32(0xB1, b"x" * 300), "sym8": sym("a-symbol"), "sym32": v32(0xB3, b"s32"),
    "empty-str": text(""),
}
NESTED: dict[str, bytes] = {  # rstream reads these; the fast reader hands them back to it
    "list": alist([SCALARS["int"], text("a")]), "list0": b"\x45",
    "map": amap([(text("k"), SCALARS["int"])]), "map-sym-key": amap([(sym("k"), NULL)]),
    "array": b"\xe0\x05\x02\x54\x01\x02", "described": b"\x00\xa3\x03abc" + text("v"),
}
BROKEN: dict[str, bytes] = {  # rstream cannot read these: the message is undecodable
    "char": b"\x73\x00\x00\x00\x41", "decimal32": b"\x74\x00\x00\x00\x01",
}
DATA = section(0x75, v8(0xA0, b'{"event_id": "e-1"}'))
PROPERTY_VALUES: list[bytes] = [
    v8(0xA1, b"m-1"), v8(0xA0, b"user"), text("to"), text("subject"), text("reply"),
    b"\x98" + U.bytes, sym("application/json"), sym("gzip"),
    b"\x83" + struct.pack(">q", 1_741_183_380_000), b"\x83" + struct.pack(">q", -1),
    text("group"), b"\x70\x00\x00\x00\x07", text("reply-group")]


def common_messages() -> dict[str, bytes]:
    """Messages in the common layout: the fast reader must read every one itself."""
    out = {
        "every-property": section(0x73, alist(PROPERTY_VALUES)) + DATA,
        "every-property-wide": section(0x73, alist(PROPERTY_VALUES, wide=True)) + DATA,
        "ulong-message-id": section(0x73, alist([b"\x80" + struct.pack(">Q", 9)])) + DATA,
        "binary-message-id": section(0x73, alist([v8(0xA0, b"\x01\x02"), NULL])) + DATA,
        "smallulong-correlation": section(0x73, alist([NULL] * 5 + [b"\x53\x09"])) + DATA,
        "uint0-group-sequence": section(0x73, alist([NULL] * 11 + [b"\x43"])) + DATA,
        "empty-properties": section(0x73, b"\x45") + DATA,
        "app-props-every-type": section(0x74, amap(
            [(text(name), value) for name, value in SCALARS.items()], wide=True)) + DATA,
        "app-props-odd-keys": section(0x74, amap(
            [(sym("symkey"), text("v")), (b"\x53\x05", text("ulong key")),
             (text(b"\xff key"), text("bad utf-8 key")), (b"\x41", text("bool key"))])) + DATA,
        "app-props-repeated-key": section(0x74, amap(
            [(text("a"), text("1")), (text("b"), text("2")), (text("a"), text("3"))])) + DATA,
        "header-annotations-footer": (
            section(0x70, alist([b"\x41", b"\x50\x04", b"\x70\x00\x00\x03\xe8"]))
            + section(0x71, amap([(sym("x-opt-d"), text("d"))]))
            + section(0x72, amap([(sym("x-routing-key"), text("rk")),
                                  (sym("x-exchange"), text("")),
                                  (sym("x-basic-type"), text("OrderPlaced"))]))
            + section(0x73, alist([text("m-2")])) + section(0x74, amap([(text("h"), NULL)]))
            + DATA + section(0x78, amap([(sym("f"), b"\x43")]))),
        "empty-data": section(0x75, v8(0xA0, b"")),
        "data32": section(0x75, v32(0xB0, b"{}" * 200)),
        "two-data-sections": DATA + section(0x75, v8(0xA0, b"second")),
        "value-string": section(0x77, text("a value")),
        "value-int": section(0x77, SCALARS["long"]),
        "value-bool": section(0x77, b"\x42"),
        "value-null": section(0x77, NULL),
        "value-uuid": section(0x77, SCALARS["uuid"]),
        "value-and-data": section(0x77, text("v")) + DATA,
        "no-body": section(0x73, alist([text("m")])),
        "empty-message": b"",
    }
    for name, value in SCALARS.items():
        out[f"property-{name}"] = section(0x73, alist([value, NULL, value])) + DATA
    return out


def odd_messages() -> dict[str, bytes]:
    """Messages outside the common layout, or broken: rstream's answer stands."""
    out = {f"app-prop-{name}": section(0x74, amap([(text("k"), value)])) + DATA
           for name, value in {**NESTED, **BROKEN}.items()}
    out |= {
        "value-list": section(0x77, NESTED["list"]), "value-map": section(0x77, NESTED["map"]),
        "sequence": section(0x76, alist([text("a")])) + section(0x76, alist([SCALARS["int"]])),
        "properties-too-long": section(0x73, alist([NULL] * 14)) + DATA,
        "properties-as-map": section(0x73, amap([(text("a"), NULL)])) + DATA,
        "app-props-as-list": section(0x74, alist([text("a"), NULL])) + DATA,
        "header-too-long": section(0x70, alist([NULL] * 6)) + DATA,
        "data-as-string": section(0x75, text("body as str8")),
        "unknown-section": section(0x7A, text("?")) + DATA,
        "ulong-descriptor": b"\x00\x80" + struct.pack(">Q", 0x75) + v8(0xA0, b"x"),
        "truncated": (section(0x73, alist(PROPERTY_VALUES)) + DATA)[:-5],
        "truncated-field": section(0x74, b"\xc1\x30\x02" + text("k")[:2]),
        "trailing-garbage": DATA + b"\x07",
        "not-amqp": b'{"plain": "json"}',
        "one-byte": b"\x00",
        "map-size-mismatch": section(0x74, b"\xc1\x09\x02" + text("k") + NULL + b"\x40\x40")
        + DATA,
    }
    return out


def outcome(read: Callable[[bytes], Any], raw: bytes) -> Any:
    try:
        return read(raw)
    except Exception as exc:  # noqa: BLE001 - the error is part of what must be equal
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize("name", sorted(common_messages()))
def test_fast_reader_reads_the_common_layout_exactly_as_rstream(name: str) -> None:
    raw = common_messages()[name]
    fast = amqp_fast.parts(raw, _bytes, _key, _PROPERTY_NAMES)
    assert fast is not None, "the fast reader gave this common message to rstream"
    assert fast == rstream_parts(raw)


@pytest.mark.parametrize("name", sorted(odd_messages()))
def test_odd_and_broken_messages_come_out_as_rstream_says(name: str) -> None:
    raw = odd_messages()[name]
    assert outcome(message_parts, raw) == outcome(rstream_parts, raw)


def test_rstream_encoded_messages_and_the_batch_table() -> None:
    messages = [bytes(AMQPMessage(
        body=f'{{"i": {i}}}'.encode(),
        properties=Properties(message_id=f"m-{i}", content_type="application/json",
                              correlation_id=i, creation_time=1_700_000_000_000 + i),
        application_properties={"tenant": "acme", "n": i, "ok": i % 2 == 0, "f": i / 3,
                                "u": U, "b": b"\x00\xff"})) for i in range(50)]
    assert all(amqp_fast.parts(m, _bytes, _key, _PROPERTY_NAMES) is not None for m in messages)
    every = messages + list(common_messages().values()) + list(odd_messages().values())
    table = raw_table("s", 0, [(i, 1000 + i, m) for i, m in enumerate(every)])
    for i, raw in enumerate(every):
        got = outcome(rstream_parts, raw)
        row = table.slice(i, 1).to_pylist()[0]
        if isinstance(got[0], str):  # rstream failed: raw bytes kept, reason in a header
            assert row["value"] == raw
            assert row["headers"][0]["key"] == "x-eventlab-undecodable"
            assert row["headers"][0]["value"] == f"{got[0]}: {got[1]}".encode()[:500]
        else:
            assert (row["value"], [(h["key"], h["value"]) for h in row["headers"]]) == got


async def _raw_messages(config: RabbitConfig, stream: str, count: int) -> list[bytes]:
    got: list[bytes] = []
    done = asyncio.Event()

    async def on_message(msg: bytes, _ctx: object) -> None:
        got.append(msg)
        if len(got) >= count:
            done.set()

    consumer = Consumer(config.host, config.stream_port, username=config.user,
                        password=config.password.reveal(), vhost=config.vhost)
    await consumer.start()
    try:
        await consumer.subscribe(stream, on_message, decoder=lambda b: b,
                                 offset_specification=ConsumerOffsetSpecification(
                                     OffsetType.FIRST, None))
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await consumer.close()
    return got


def test_messages_an_amqp_091_client_published_read_as_rstream_reads_them(
        rabbit_config: RabbitConfig, stream_factory: Callable[..., str]) -> None:
    from datetime import datetime

    headers = {"s": "text", "i": 7, "neg": -(2**40), "t": True, "f": False, "b": b"\xff\x00",
               "when": datetime(2025, 3, 5, 14, 3, tzinfo=UTC),
               "nested": {"a": 1}, "list": [1, "x"], "cloudEvents_id": "ce-1"}
    messages = [
        (b'{"event_id": "e-1"}', {"message_id": "m-1", "correlation_id": "c-1",
                                  "content_type": "application/json", "type": "OrderPlaced",
                                  "timestamp": 1_741_183_380, "app_id": "shop",
                                  "user_id": "guest", "reply_to": "r", "expiration": "60000",
                                  "priority": 3, "delivery_mode": 2,
                                  "content_encoding": "utf-8", "headers": headers}),
        (b"", {}),
        (b"\xff\xfe not json", {"headers": {"only": "one"}}),
    ] + [(f'{{"i": {i}}}'.encode(), {"message_id": f"m-{i}", "headers": {"n": i}})
         for i in range(20)]
    stream = stream_factory(messages)
    raws = asyncio.run(_raw_messages(rabbit_config, stream, len(messages)))
    for raw in raws:
        assert outcome(message_parts, raw) == outcome(rstream_parts, raw)
    # the plain ones (no nested header values) are read by the fast reader itself
    assert all(amqp_fast.parts(raw, _bytes, _key, _PROPERTY_NAMES) is not None
               for raw in raws[1:])
