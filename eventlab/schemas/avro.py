"""Avro payloads to JSON with fastavro: the writer schema from the registry, named types of
its references parsed first.

Values become JSON as the registry's consumers show them: records as objects, a union as its
branch's value, enums as their symbol, timestamp-millis/-micros as ISO 8601 UTC text, dates and
times as ISO text, decimal as a decimal string (no precision lost), uuid as text, bytes and
fixed as base64. A string field marked as JSON text (`"logicalType": "json"`, or Debezium's
`"connect.name": "io.debezium.data.Json"`) at the top level of the record is embedded as JSON.
A payload with bytes left over after its record does not match the schema.
"""

from __future__ import annotations

import base64
import io
import json
from decimal import Decimal
from typing import Any

import fastavro
import numpy as np
import orjson
import pyarrow as pa

from eventlab.schemas.avro_flat import decode_flat, flat_fields
from eventlab.schemas.model import Decoded, SchemaText, SchemaUnusable

JSON_MARKS = ({"logicalType": "json"}, {"connect.name": "io.debezium.data.Json"})


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def _is_json_text(schema: Any) -> bool:
    if isinstance(schema, list):
        return any(_is_json_text(s) for s in schema)
    return isinstance(schema, dict) and schema.get("type") == "string" and any(
        all(schema.get(k) == v for k, v in mark.items()) for mark in JSON_MARKS)


def parse(schema: SchemaText) -> Any:
    """The parsed writer schema, its references' named types known."""
    named: dict[str, Any] = {}
    todo = [json.loads(d.text) for d in schema.dependencies.values()]
    try:
        for _ in range(len(todo) + 1):  # references may use each other: parse until stable
            left = []
            for dep in todo:
                try:
                    fastavro.parse_schema(dep, named_schemas=named)
                except fastavro.schema.UnknownType:
                    left.append(dep)
            todo = left
            if not todo:
                break
        return fastavro.parse_schema(json.loads(schema.text), named_schemas=named)
    except (ValueError, KeyError, TypeError, fastavro.schema.SchemaParseException) as exc:
        raise SchemaUnusable(f"Avro schema id {schema.id} does not parse: {exc}") from None


class AvroDecoder:
    """Decodes the Avro payloads of one schema id."""

    def __init__(self, schema: SchemaText) -> None:
        self.schema = schema
        raw = json.loads(schema.text)
        self._parsed = parse(schema)
        self._json_fields = tuple(f["name"] for f in raw.get("fields", [])
                                  if _is_json_text(f.get("type"))) \
            if isinstance(raw, dict) and raw.get("type") == "record" else ()
        self._flat = flat_fields(self._parsed, self._json_fields, JSON_MARKS)

    def decode(self, payloads: list[bytes], as_key: bool = False) -> Decoded:
        """JSON text per payload (a key that decodes to a string: that string), and the
        payloads that do not match the schema."""
        read, parsed, marks = fastavro.schemaless_reader, self._parsed, self._json_fields
        dumps, frag, bio = orjson.dumps, orjson.Fragment, io.BytesIO
        out: list[bytes | None] = []
        errors: dict[int, str] = {}
        for i, payload in enumerate(payloads):
            fo = bio(payload)
            try:
                value = read(fo, parsed, None)
                if fo.tell() != len(payload):
                    raise ValueError(f"{len(payload) - fo.tell()} bytes left after the record")
                if as_key and isinstance(value, str):
                    out.append(value.encode())
                    continue
                if marks:
                    for name in marks:
                        field = value.get(name)
                        if field.__class__ is str:
                            value[name] = frag(field)
                out.append(dumps(value, default=_default))
            except (ValueError, EOFError, IndexError, TypeError, KeyError, OverflowError,
                    AttributeError, UnicodeDecodeError, orjson.JSONEncodeError) as exc:
                out.append(None)
                errors[i] = (f"Avro payload does not match schema id {self.schema.id}: "
                             f"{type(exc).__name__}: {exc}")
        return out, errors

    def decode_array(self, payloads: pa.Array, as_key: bool = False
                     ) -> tuple[pa.Array, dict[int, str]]:
        """`decode` of an Arrow binary array, as a binary array: a flat record schema's
        payloads a batch at a time (`avro_flat`), the others (and the payloads that path
        leaves) one by one."""
        if self._flat is None:
            out, errors = self.decode(payloads.to_pylist(), as_key)
            return pa.array(out, pa.binary()), errors
        text, slow = decode_flat(self._flat, payloads)
        if not slow.any():
            return text, {}
        rows = np.flatnonzero(slow)
        out, errors = self.decode(payloads.take(pa.array(rows)).to_pylist(), as_key)
        where = np.arange(len(payloads), dtype=np.int64)
        where[rows] = len(payloads) + np.arange(len(rows))
        merged = pa.concat_arrays([text, pa.array(out, pa.binary())]).take(pa.array(where))
        return merged, {int(rows[i]): why for i, why in errors.items()}


def encode(parsed: Any, record: Any) -> bytes:
    """One record as a schemaless Avro payload (for the demo producer and tests)."""
    fo = io.BytesIO()
    fastavro.schemaless_writer(fo, parsed, record)
    return fo.getvalue()
