"""Flat Avro records decoded a whole batch at a time: numpy over the payload bytes.

A writer schema that is a record of null, boolean, int, long and string fields (or unions of
those; a string may carry the JSON mark of `schemas.avro`, and is then embedded as it is) is
read field by field for every payload of a batch at once, and the JSON text is put together
with Arrow kernels: no Python object per record. It is the text `schemas.avro` writes with
fastavro and orjson, byte for byte. A payload that leaves this narrow path (a varint over 64
bits, a string with a byte JSON escapes, a string that is not ASCII and not valid UTF-8, an
unknown union branch, bytes missing or left over, a boolean byte other than 0 or 1) is marked,
and the caller decodes it with fastavro, which says what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

_KINDS = ("null", "boolean", "int", "long", "string")
CHUNK_ROWS = 16384
"""Payloads read together (bounds the temporary index arrays)."""
_MAX_CHUNK_BYTES = 1 << 30


class FlatField:
    """One record field: its JSON key text, its union branches (one when not a union) and
    whether its strings are embedded as JSON."""

    __slots__ = ("branches", "embed", "key", "union")

    def __init__(self, key: bytes, branches: tuple[str, ...], union: bool, embed: bool) -> None:
        self.key, self.branches, self.union, self.embed = key, branches, union, embed


def _kind(schema: Any, marks: tuple[dict[str, str], ...]) -> str | None:
    """The primitive kind of a schema, or None when it is anything else (logical types)."""
    if isinstance(schema, str):
        return schema if schema in _KINDS else None
    if not isinstance(schema, dict) or schema.get("type") not in _KINDS:
        return None
    logical = schema.get("logicalType")
    if logical is None:
        return schema["type"]
    is_mark = schema["type"] == "string" and any(
        all(schema.get(k) == v for k, v in mark.items()) for mark in marks)
    return "string" if is_mark else None


def flat_fields(parsed: Any, json_fields: tuple[str, ...],
                marks: tuple[dict[str, str], ...]) -> list[FlatField] | None:
    """The fields of a flat record schema, or None when the schema is not one."""
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        return None
    fields: list[FlatField] = []
    names: set[str] = set()
    for f in parsed.get("fields", []):
        name, schema = f.get("name"), f.get("type")
        if not isinstance(name, str) or name in names:
            return None
        names.add(name)
        union = isinstance(schema, list)
        kinds = tuple(_kind(s, marks) for s in (schema if union else [schema]))
        if not kinds or None in kinds:
            return None
        fields.append(FlatField(orjson.dumps(name), kinds, union,  # type: ignore[arg-type]
                                name in json_fields))
    return fields


class _Reader:
    """Positions of one chunk of payloads in their bytes, read forward field by field."""

    def __init__(self, payloads: pa.BinaryArray) -> None:
        n = len(payloads)
        _, offs, data = payloads.buffers()
        offsets = np.frombuffer(offs, dtype=np.int32)[payloads.offset:payloads.offset + n + 1]
        size = int(offsets[-1])
        self.data = pa.py_buffer(bytes(16)) if data is None else data[:size]
        used = np.frombuffer(self.data, dtype=np.uint8)[:size]
        self.buf = np.concatenate([used, np.zeros(16, dtype=np.uint8)])  # varints read ahead
        self.pos, self.end = offsets[:-1].astype(np.int64), offsets[1:].astype(np.int64)
        self.bad = np.zeros(n, dtype=bool)

    def clamp(self) -> None:
        """Mark the rows read past their end and keep their position inside the bytes."""
        over = (self.pos > self.end) | (self.pos < 0)
        if over.any():
            self.bad |= over
            self.pos[over] = self.end[over]

    def varint(self, rows: np.ndarray) -> np.ndarray:
        """The zigzag varints at the rows' positions (rows: indices), positions moved on."""
        p = self.pos[rows]
        b = self.buf[p]
        value = (b & 0x7F).astype(np.uint64)
        length = np.ones(len(rows), dtype=np.int64)
        more = np.flatnonzero(b & 0x80)
        shift = 7
        while more.size:
            b = self.buf[p[more] + length[more]]
            if shift == 63:  # the tenth byte holds bit 63 only; more is fastavro's business
                self.bad[rows[more[b > 1]]] = True
                b = b & 1
            value[more] |= (b & 0x7F).astype(np.uint64) << np.uint64(shift)
            length[more] += 1
            more = more[(b & 0x80) != 0]
            shift += 7
        self.pos[rows] = p + length
        self.clamp()
        return (value >> np.uint64(1)).astype(np.int64) ^ -(value & np.uint64(1)).astype(np.int64)


def _view(buf: np.ndarray, data: pa.Buffer, starts: np.ndarray, lens: np.ndarray) -> pa.Array:
    """The (start, length) slices of the bytes as a binary array: a view array over `data`
    (no copy of the bytes, `buf` is the same bytes padded), cast to plain binary by Arrow."""
    n = len(lens)
    views = np.zeros((n, 16), dtype=np.uint8)
    views[:, :4] = lens.astype("<i4").view(np.uint8).reshape(n, 4)
    head = np.lib.stride_tricks.sliding_window_view(buf, 12)[starts]
    short = lens <= 12
    views[:, 4:] = head * (short[:, None] & (np.arange(12) < lens[:, None]))
    long_ = np.flatnonzero(~short)
    if long_.size:  # a prefix, data buffer 0, the offset
        views[long_, 4:8] = head[long_, :4]
        views[long_, 12:] = starts[long_].astype("<i4").view(np.uint8).reshape(-1, 4)
    array = pa.Array.from_buffers(pa.binary_view(), n, [None, pa.py_buffer(views), data])
    return array.cast(pa.binary())


def _marked_rows(array: pa.Array, marked: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Rows of a binary array holding a byte that `marked` flags."""
    _, offs, data = array.buffers()
    if data is None:
        return np.zeros(0, dtype=np.int64)
    offsets = np.frombuffer(offs, dtype=np.int32)[array.offset:array.offset + len(array) + 1]
    values = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]
    hits = np.flatnonzero(marked(values)) + offsets[0]
    return np.unique(np.searchsorted(offsets, hits, side="right") - 1)


def _escaped(b: np.ndarray) -> np.ndarray:
    """The bytes JSON escapes in a string (orjson writes every other byte as it is)."""
    return (b < 0x20) | (b == 0x22) | (b == 0x5C)


def _high(b: np.ndarray) -> np.ndarray:
    return b >= 0x80


def _check_utf8(r: _Reader, text: pa.Array, starts: np.ndarray, lens: np.ndarray) -> None:
    """Mark the rows whose string is not strict UTF-8 (fastavro would not read them)."""
    rows = _marked_rows(text, _high)
    if not rows.size:
        return
    try:  # Arrow's check is strict UTF-8 too: surrogates and overlong forms fail
        text.take(pa.array(rows)).cast(pa.string())
        return
    except pa.ArrowInvalid:
        pass
    for row in rows.tolist():
        try:
            r.buf[starts[row]:starts[row] + lens[row]].tobytes().decode()
        except UnicodeDecodeError:
            r.bad[row] = True


def _strings(r: _Reader, rows: np.ndarray, n: int, embed: bool) -> pa.Array:
    """The JSON text of the strings at `rows` (n long; other rows empty)."""
    lens = np.zeros(n, dtype=np.int64)
    starts = np.zeros(n, dtype=np.int64)
    size = r.varint(rows)
    negative = size < 0
    r.bad[rows[negative]] = True
    size[negative] = 0
    starts[rows] = r.pos[rows]
    r.pos[rows] += size
    r.clamp()
    lens[rows] = np.where(r.bad[rows], 0, size)
    text = _view(r.buf, r.data, starts, lens)
    if not embed:
        r.bad[_marked_rows(text, _escaped)] = True
    _check_utf8(r, text, starts, lens)
    if embed:
        return text
    return pc.binary_join_element_wise(b'"', text, b'"', b"")


def _values(r: _Reader, field: FlatField, n: int) -> pa.Array:
    """The JSON text of one field's value in every row."""
    if field.union:
        branch = r.varint(np.arange(n))
        unknown = (branch < 0) | (branch >= len(field.branches))
        r.bad |= unknown
        branch[unknown] = 0
    else:
        branch = np.zeros(n, dtype=np.int64)
    result: pa.Array | None = None
    for k, kind in enumerate(field.branches):
        rows = np.flatnonzero((branch == k) & ~r.bad)
        if kind == "null":
            text: Any = pa.scalar(b"null")
        elif kind == "boolean":
            b = r.buf[r.pos[rows]]
            r.bad[rows[b > 1]] = True
            r.pos[rows] += 1
            r.clamp()
            flags = np.zeros(n, dtype=bool)
            flags[rows] = b == 1
            text = pc.if_else(pa.array(flags), b"true", b"false")
        elif kind in ("int", "long"):
            ints = np.zeros(n, dtype=np.int64)
            ints[rows] = r.varint(rows)
            text = pc.cast(pc.cast(pa.array(ints), pa.string()), pa.binary())
        else:
            text = _strings(r, rows, n, field.embed)
        result = text if result is None else pc.if_else(pa.array(branch == k), text, result)
    if isinstance(result, pa.Scalar):
        result = pa.array([result.as_py()] * n, pa.binary())
    return result  # type: ignore[return-value]


def _chunk(fields: list[FlatField], payloads: pa.BinaryArray) -> tuple[pa.Array, np.ndarray]:
    n = len(payloads)
    if not fields:
        return pa.array([b"{}"] * n, pa.binary()), pc.binary_length(payloads).to_numpy() != 0
    r = _Reader(payloads)
    parts: list[Any] = []
    for i, field in enumerate(fields):
        parts.append(pa.scalar((b"{" if i == 0 else b",") + field.key + b":"))
        parts.append(_values(r, field, n))
    parts.append(pa.scalar(b"}"))
    r.bad |= r.pos != r.end
    return pc.binary_join_element_wise(*parts, b""), r.bad


def decode_flat(fields: list[FlatField], payloads: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """JSON text of each payload (binary), and a mask of the payloads to decode the slow
    way (their text here is meaningless)."""
    if payloads.type != pa.binary() or payloads.null_count:
        return pa.nulls(len(payloads), pa.binary()), np.ones(len(payloads), dtype=bool)
    texts, bad = [], []
    for at in range(0, len(payloads), CHUNK_ROWS):
        part = payloads.slice(at, CHUNK_ROWS)
        if (pc.sum(pc.binary_length(part)).as_py() or 0) > _MAX_CHUNK_BYTES:
            texts.append(pa.nulls(len(part), pa.binary()))
            bad.append(np.ones(len(part), dtype=bool))
            continue
        text, mask = _chunk(fields, part)
        texts.append(text)
        bad.append(mask)
    if not texts:
        return pa.array([], pa.binary()), np.zeros(0, dtype=bool)
    return pa.concat_arrays(texts), np.concatenate(bad)
