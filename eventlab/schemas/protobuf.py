"""Protobuf payloads to JSON: the registry's `.proto` text compiled at run time with the protoc
bundled in grpcio-tools (imports from the references, Google's well-known types from the
bundle), the message chosen by the frame's message-index list, rendered by `json_format` with
the field names of the .proto file (int64 as text and enums by name, as the Protobuf JSON
mapping says; fields at their default value are shown too).

A schema given as a base64 serialized FileDescriptorProto (what Confluent's Python serializer
registers, and what a registry returns with `?format=serialized`) is used as it is, no protoc.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import importlib.resources
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError

from eventlab.schemas.model import Decoded, SchemaText, SchemaUnusable
from eventlab.schemas.wire import FrameError, message_indexes

_BUNDLED = "google/protobuf/"
COMPILE_TIMEOUT_S = 60


def _serialized(text: str) -> bytes | None:
    """The bytes of a base64 serialized descriptor, or None for .proto text."""
    t = text.strip()
    if not t or any(c in t for c in "{;\n ") or "syntax" in t:
        return None
    try:
        return base64.b64decode(t, validate=True)
    except (binascii.Error, ValueError):
        return None


def _well_known(name: str) -> descriptor_pb2.FileDescriptorProto:
    module = importlib.import_module(name.removesuffix(".proto").replace("/", ".") + "_pb2")
    proto = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(proto)
    return proto


def _from_descriptors(schema: SchemaText, raw: bytes
                      ) -> tuple[descriptor_pool.DescriptorPool,
                                 descriptor_pb2.FileDescriptorProto]:
    try:
        main = descriptor_pb2.FileDescriptorProto.FromString(raw)
        files: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        for name, dep in schema.dependencies.items():
            data = _serialized(dep.text)
            if data is None:
                raise SchemaUnusable(f"Protobuf schema id {schema.id} is serialized but its "
                                     f"reference {name} is .proto text")
            proto = descriptor_pb2.FileDescriptorProto.FromString(data)
            files[proto.name or name] = proto
        pool = descriptor_pool.DescriptorPool()
        added: set[str] = set()

        def add(proto: descriptor_pb2.FileDescriptorProto) -> None:
            for dep in proto.dependency:
                if dep not in added:
                    if dep in files:
                        add(files[dep])
                    elif dep.startswith(_BUNDLED):
                        add(_well_known(dep))
                    else:
                        raise SchemaUnusable(f"Protobuf schema id {schema.id} imports {dep}, "
                                             "which is not among its references")
            if proto.name not in added:
                pool.Add(proto)
                added.add(proto.name)

        add(main)
    except (DecodeError, TypeError, ValueError, ImportError) as exc:
        if isinstance(exc, SchemaUnusable):
            raise
        raise SchemaUnusable(f"Protobuf schema id {schema.id}: the serialized descriptor does "
                             f"not load ({type(exc).__name__}: {exc})") from None
    return pool, main


def compile_schema(schema: SchemaText) -> tuple[descriptor_pool.DescriptorPool,
                                                descriptor_pb2.FileDescriptorProto]:
    """A descriptor pool holding the schema's file and its imports, and the file itself."""
    raw = _serialized(schema.text)
    if raw is not None:
        return _from_descriptors(schema, raw)
    include = str(importlib.resources.files("grpc_tools") / "_proto")
    main = f"eventlab_schema_{schema.id}.proto"
    with tempfile.TemporaryDirectory(prefix="eventlab-proto-") as tmp:
        root = Path(tmp)
        for name, dep in schema.dependencies.items():
            if name.startswith(_BUNDLED) or ".." in Path(name).parts or Path(name).is_absolute():
                continue
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(dep.text, encoding="utf-8")
        (root / main).write_text(schema.text, encoding="utf-8")
        out = root / "set.pb"
        try:
            done = subprocess.run(
                [sys.executable, "-m", "grpc_tools.protoc", f"-I{root}", f"-I{include}",
                 f"--descriptor_set_out={out}", "--include_imports", main],
                capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S, cwd=root)
        except subprocess.TimeoutExpired:
            raise SchemaUnusable(f"Protobuf schema id {schema.id}: protoc took over "
                                 f"{COMPILE_TIMEOUT_S} s") from None
        if done.returncode != 0:
            message = (done.stderr or done.stdout).replace(str(root) + "/", "").strip()
            raise SchemaUnusable(f"Protobuf schema id {schema.id} does not compile: "
                                 f"{message[:500]}")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    mine = None
    for proto in files.file:  # --include_imports lists dependencies first
        pool.Add(proto)
        if proto.name == main:
            mine = proto
    assert mine is not None
    return pool, mine


def message_name(file: descriptor_pb2.FileDescriptorProto, indexes: tuple[int, ...]) -> str:
    """The full name of the message that `indexes` select in `file`."""
    names, types = [], file.message_type
    for i in indexes:
        if i >= len(types):
            raise FrameError(f"message index {list(indexes)} is not in the schema "
                             f"({len(types)} message(s) at that level)")
        names.append(types[i].name)
        types = types[i].nested_type
    return ".".join(([file.package] if file.package else []) + names)


class ProtobufDecoder:
    """Decodes the Protobuf payloads of one schema id."""

    def __init__(self, schema: SchemaText) -> None:
        self.schema = schema
        self._pool, self._file = compile_schema(schema)
        self._classes: dict[tuple[int, ...], Any] = {}

    def message_class(self, indexes: tuple[int, ...]) -> Any:
        """The generated message class for one message-index list (cached)."""
        cls = self._classes.get(indexes)
        if cls is None:
            desc = self._pool.FindMessageTypeByName(message_name(self._file, indexes))
            cls = self._classes[indexes] = message_factory.GetMessageClass(desc)
        return cls

    def decode(self, payloads: list[bytes], as_key: bool = False) -> Decoded:
        """JSON text per payload, and the payloads that do not match the schema."""
        out: list[bytes | None] = []
        errors: dict[int, str] = {}
        to_dict, dumps = json_format.MessageToDict, orjson.dumps
        for i, payload in enumerate(payloads):
            try:
                indexes, data = message_indexes(payload)
                message = self.message_class(indexes).FromString(data)
                out.append(dumps(to_dict(message, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True)))
            except (DecodeError, FrameError, KeyError, ValueError, TypeError) as exc:
                out.append(None)
                errors[i] = (f"Protobuf payload does not match schema id {self.schema.id}: "
                             f"{type(exc).__name__}: {exc}")
        return out, errors
