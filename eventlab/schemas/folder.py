"""Schemas from a folder (`--schemas DIR`), for exports, tests and offline work.

`<id>.avsc`, `<id>.proto` and `<id>.json` hold the schema with that id (Avro, Protobuf, JSON
Schema). Files whose name is not a number are what those schemas reference: Protobuf imports by
their path inside the folder (`shop/common.proto`), Avro named types by file
(`com.shop.Address.avsc`); every one of the same type is handed to the decoder.
"""

from __future__ import annotations

from pathlib import Path

from eventlab.errors import SchemaNotFound, SourceError
from eventlab.schemas.model import SchemaText

SUFFIXES = {".avsc": "AVRO", ".proto": "PROTOBUF", ".json": "JSON"}


class FolderSource:
    """Looks schemas up by id in one folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser()
        if not self.folder.is_dir():
            raise SourceError(f"schema folder {self.folder} does not exist (--schemas DIR: a "
                              "folder of <id>.avsc / <id>.proto / <id>.json files)")

    def describe(self) -> str:
        """Where it reads (for messages and the `schemas` table's `source`)."""
        return f"folder {self.folder}"

    def ids(self) -> list[int]:
        """The schema ids the folder holds."""
        return sorted(int(p.stem) for p in self.folder.iterdir()
                      if p.suffix in SUFFIXES and p.stem.isdigit())

    def schema(self, schema_id: int) -> SchemaText:
        """The schema with this id; SchemaNotFound when no file has it."""
        for suffix, kind in SUFFIXES.items():
            path = self.folder / f"{int(schema_id)}{suffix}"
            if path.is_file():
                return SchemaText(int(schema_id), kind, path.read_text(encoding="utf-8"),
                                  dependencies=self._dependencies(suffix, kind),
                                  source=self.describe())
        raise SchemaNotFound(f"no schema id {schema_id} in {self.describe()} (looked for "
                             f"{schema_id}.avsc, {schema_id}.proto, {schema_id}.json)")

    def _dependencies(self, suffix: str, kind: str) -> dict[str, SchemaText]:
        deps = {}
        for path in sorted(self.folder.rglob(f"*{suffix}")):
            rel = path.relative_to(self.folder)
            if len(rel.parts) == 1 and path.stem.isdigit():
                continue
            name = rel.as_posix() if kind == "PROTOBUF" else path.stem
            deps[name] = SchemaText(None, kind, path.read_text(encoding="utf-8"),
                                    source=self.describe())
        return deps
