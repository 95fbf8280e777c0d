"""One decoder per schema: Avro, Protobuf, or JSON Schema (JSON text after the frame header,
validated as JSON by the mapping like any JSON value)."""

from __future__ import annotations

from typing import Protocol

from eventlab.schemas.model import SchemaText


class Decoder(Protocol):
    """Turns the payloads (frame header removed) of one schema id into JSON text."""

    schema: SchemaText

    def decode(self, payloads: list[bytes], as_key: bool = False
               ) -> list[bytes | ValueError]: ...


class JsonSchemaDecoder:
    """JSON Schema records carry JSON text: the payload is the document."""

    def __init__(self, schema: SchemaText) -> None:
        self.schema = schema

    def decode(self, payloads: list[bytes], as_key: bool = False
               ) -> list[bytes | ValueError]:
        """The payloads themselves (the mapping checks they are JSON)."""
        return list(payloads)


def decoder_for(schema: SchemaText) -> Decoder:
    """The decoder of a schema's type (raises `avro.SchemaUnusable` if it cannot be built)."""
    if schema.schema_type == "AVRO":
        from eventlab.schemas.avro import AvroDecoder

        return AvroDecoder(schema)
    if schema.schema_type == "PROTOBUF":
        from eventlab.schemas.protobuf import ProtobufDecoder

        return ProtobufDecoder(schema)
    return JsonSchemaDecoder(schema)
