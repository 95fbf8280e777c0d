"""One decoder per schema: Avro, Protobuf, or JSON Schema (JSON text after the frame header,
validated as JSON by the mapping like any JSON value)."""

from __future__ import annotations

import json

from eventlab.schemas.model import Decoded, Decoder, SchemaText


class JsonSchemaDecoder:
    """JSON Schema records carry JSON text: the payload is the document."""

    def __init__(self, schema: SchemaText) -> None:
        self.schema = schema

    def decode(self, payloads: list[bytes], as_key: bool = False) -> Decoded:
        """The payloads themselves (the mapping checks they are JSON); a key that is a JSON
        string becomes that string."""
        if not as_key:
            return list(payloads), {}
        out: list[bytes | None] = []
        for p in payloads:
            try:
                value = json.loads(p) if p[:1] == b'"' else None
            except ValueError:
                value = None
            out.append(value.encode() if isinstance(value, str) else p)
        return out, {}


def decoder_for(schema: SchemaText) -> Decoder:
    """The decoder of a schema's type (raises `avro.SchemaUnusable` if it cannot be built)."""
    if schema.schema_type == "AVRO":
        from eventlab.schemas.avro import AvroDecoder

        return AvroDecoder(schema)
    if schema.schema_type == "PROTOBUF":
        from eventlab.schemas.protobuf import ProtobufDecoder

        return ProtobufDecoder(schema)
    return JsonSchemaDecoder(schema)
