"""What EventLab knows about one schema: its id, type, text and references (frozen records)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol


class SchemaUnusable(ValueError):
    """The schema text cannot be used to decode (does not parse or compile)."""


TYPES = ("AVRO", "PROTOBUF", "JSON")
"""Schema types as the registry names them (a registry answer without `schemaType` is AVRO)."""


@dataclass(frozen=True)
class Reference:
    """A schema this one imports: the name it uses for it (Avro: the full type name;
    Protobuf: the import path), and where the registry keeps it."""

    name: str
    subject: str
    version: int


@dataclass(frozen=True)
class SchemaText:
    """A schema as fetched: `dependencies` holds every referenced schema, by reference name,
    transitively resolved (so decoding needs nothing else)."""

    id: int | None
    schema_type: str
    text: str
    subject: str | None = None
    version: int | None = None
    references: tuple[Reference, ...] = ()
    dependencies: dict[str, SchemaText] = field(default_factory=dict, compare=False)
    source: str = ""
    """Where it came from: the registry URL (no credentials), a folder, or 'store'."""

    def references_json(self) -> str:
        """The references and their resolved texts as JSON, for the `schemas` table."""
        return json.dumps({
            "references": [r.__dict__ for r in self.references],
            "dependencies": {name: {"schema_type": d.schema_type, "text": d.text,
                                    "subject": d.subject, "version": d.version}
                             for name, d in self.dependencies.items()}})

    def to_row(self) -> tuple[int | None, str, str | None, int | None, str, str, str]:
        """The arguments of `from_row` (a `schemas` row; JSON-serialisable)."""
        return (self.id, self.schema_type, self.subject, self.version, self.text,
                self.references_json(), self.source)

    @classmethod
    def from_row(cls, id: int, schema_type: str, subject: str | None, version: int | None,
                 text: str, references: str | None, source: str) -> SchemaText:
        """A schema read back from the `schemas` table."""
        data = json.loads(references or "{}")
        refs = tuple(Reference(**r) for r in data.get("references", []))
        deps = {name: SchemaText(None, d["schema_type"], d["text"], d.get("subject"),
                                 d.get("version"))
                for name, d in data.get("dependencies", {}).items()}
        return cls(id, schema_type, text, subject, version, refs, deps, source)


Decoded = tuple[list[bytes | None], dict[int, str]]
"""JSON text per payload (None where it failed), and the failures: index -> why."""


class Decoder(Protocol):
    """Turns the payloads (frame header removed) of one schema id into JSON text. Defined here,
    not in `decoders`, so the Avro and Protobuf decoders import nothing that imports them."""

    schema: SchemaText

    def decode(self, payloads: list[bytes], as_key: bool = False) -> Decoded: ...
