"""The Confluent wire format, by hand: header, message indexes, and the Avro decoder's JSON."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from eventlab.schemas.avro import AvroDecoder, encode
from eventlab.schemas.model import SchemaText
from eventlab.schemas.wire import FrameError, encode_indexes, frame, message_indexes, split_frame


def test_split_frame_reads_the_big_endian_schema_id() -> None:
    assert split_frame(b"\x00\x00\x01\x00\x02abc") == (65538, b"abc")
    assert frame(65538, b"abc") == b"\x00\x00\x01\x00\x02abc"
    with pytest.raises(FrameError, match="shorter than the 5-byte"):
        split_frame(b"\x00\x00\x01")
    with pytest.raises(FrameError, match="magic byte 1"):
        split_frame(b"\x01\x00\x00\x00\x01")


def test_message_indexes_zigzag_and_the_zero_shortcut() -> None:
    assert message_indexes(b"\x00rest") == ((0,), b"rest")
    # count 2 (zigzag 4), indexes 1 (2) and 0 (0)
    assert message_indexes(b"\x04\x02\x00rest") == ((1, 0), b"rest")
    assert encode_indexes((1, 0)) == b"\x04\x02\x00"
    assert encode_indexes((0,)) == b"\x00"
    assert message_indexes(encode_indexes((3, 70)) + b"x") == ((3, 70), b"x")
    with pytest.raises(FrameError, match="cut short"):
        message_indexes(b"\x04\x02")


def test_avro_logical_types_render_as_json() -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal",
                                   "precision": 9, "scale": 3}},
        {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "raw", "type": "bytes"},
        {"name": "doc", "type": {"type": "string", "logicalType": "json"}},
        {"name": "tags", "type": {"type": "map", "values": "long"}},
    ]}
    text = SchemaText(9, "AVRO", json.dumps(schema))
    decoder = AvroDecoder(text)
    u = uuid.UUID(int=7)
    payload = encode(decoder._parsed, {  # noqa: SLF001 - the parsed schema, for the writer
        "at": datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), "day": date(2025, 1, 2),
        "price": Decimal("1.250"), "uid": u, "raw": b"\x01\x02", "doc": '{"a": [1]}',
        "tags": {"x": 1}})
    (good, extra), errors = decoder.decode([payload, payload + b"\x00"])
    assert json.loads(good) == {"at": "2025-01-02T03:04:05.123456+00:00", "day": "2025-01-02",
                                "price": "1.250", "uid": str(u), "raw": "AQI=",
                                "doc": {"a": [1]}, "tags": {"x": 1}}
    assert extra is None and list(errors) == [1] and "1 bytes left" in errors[1]
    texts, errors = decoder.decode([payload[:3]])
    assert texts == [None] and "schema id 9" in errors[0]
