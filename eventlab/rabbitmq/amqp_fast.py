"""A fast reader for the common AMQP 1.0 message layout, giving what rstream's decoder gives.

rstream's `amqp_decoder` slices a memoryview per field and builds named tuples: about 30 µs a
message once turned into a record, most of an ingest's time. Stream messages almost always
have the same shape: described sections (`0x00 0x53 <code>`) holding a list (header,
properties) or a map of scalars (annotations, application properties) and one `data` body.
`parts` reads exactly that with integer positions over the bytes and returns the same
(body, [(key, value bytes), ...]) as `records.message_parts` would, or None for anything
else: a constructor it does not know, a nested list/map/array or described value, an
`amqp-sequence`, a field or section running past the end. The caller then falls back to
rstream, so odd messages (and messages rstream cannot read) come out exactly as before.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
from typing import Any

_U16 = struct.Struct(">H").unpack_from
_I16 = struct.Struct(">h").unpack_from
_U32 = struct.Struct(">I").unpack_from
_I32 = struct.Struct(">i").unpack_from
_U64 = struct.Struct(">Q").unpack_from
_I64 = struct.Struct(">q").unpack_from
_F32 = struct.Struct(">f").unpack_from
_F64 = struct.Struct(">d").unpack_from
_I8 = struct.Struct(">b").unpack_from

_HEADER, _DELIVERY_ANN, _MESSAGE_ANN, _PROPERTIES, _APP_PROPS = 0x70, 0x71, 0x72, 0x73, 0x74
_DATA, _VALUE, _FOOTER = 0x75, 0x77, 0x78
_PROPERTY_FIELDS = 13
_HEADER_FIELDS = 5


class _Unsupported(Exception):
    """Not the common layout: let rstream's decoder read this message."""


def _scalar(raw: bytes, pos: int, ctor: int) -> tuple[Any, int]:
    """(value, next position) of one scalar after its constructor byte, typed as rstream
    types it (strings and symbols as bytes, timestamps as ms, booleans as bool)."""
    if ctor == 0xA1 or ctor == 0xA3 or ctor == 0xA0:
        end = pos + 1 + raw[pos]
        if end > len(raw):
            raise _Unsupported
        return raw[pos + 1:end], end
    if ctor == 0xB1 or ctor == 0xB3 or ctor == 0xB0:
        end = pos + 4 + _U32(raw, pos)[0]
        if end > len(raw):
            raise _Unsupported
        return raw[pos + 4:end], end
    if ctor == 0x40:
        return None, pos
    reader = _FIXED.get(ctor)
    if reader is None:
        raise _Unsupported
    size, read = reader
    if pos + size > len(raw):
        raise _Unsupported
    return read(raw, pos), pos + size


_FIXED: dict[int, tuple[int, Callable[[bytes, int], Any]]] = {
    0x41: (0, lambda r, p: True), 0x42: (0, lambda r, p: False),
    0x43: (0, lambda r, p: 0), 0x44: (0, lambda r, p: 0),
    0x56: (1, lambda r, p: r[p] == 1),
    0x50: (1, lambda r, p: r[p]), 0x52: (1, lambda r, p: r[p]), 0x53: (1, lambda r, p: r[p]),
    0x51: (1, lambda r, p: _I8(r, p)[0]), 0x54: (1, lambda r, p: _I8(r, p)[0]),
    0x55: (1, lambda r, p: _I8(r, p)[0]),
    0x60: (2, lambda r, p: _U16(r, p)[0]), 0x61: (2, lambda r, p: _I16(r, p)[0]),
    0x70: (4, lambda r, p: _U32(r, p)[0]), 0x71: (4, lambda r, p: _I32(r, p)[0]),
    0x72: (4, lambda r, p: _F32(r, p)[0]),
    0x80: (8, lambda r, p: _U64(r, p)[0]), 0x81: (8, lambda r, p: _I64(r, p)[0]),
    0x82: (8, lambda r, p: _F64(r, p)[0]), 0x83: (8, lambda r, p: _I64(r, p)[0]),
    0x98: (16, lambda r, p: uuid.UUID(bytes=r[p:p + 16])),
}
"""Fixed-width scalars: constructor -> (width, read). 0x73 char and the decimals are left
out on purpose: rstream cannot read them, and the fallback reproduces that."""


def _compound(raw: bytes, pos: int, ctor: int) -> tuple[int, int, int]:
    """(count, first element position, end) of a list or map after its constructor."""
    if ctor == 0xC0 or ctor == 0xC1:
        size, count, first = raw[pos], raw[pos + 1], pos + 2
        end = pos + 1 + size
    elif ctor == 0xD0 or ctor == 0xD1:
        size, count = _U32(raw, pos)[0], _U32(raw, pos + 4)[0]
        first, end = pos + 8, pos + 4 + size
    elif ctor == 0x45:
        return 0, pos, pos
    else:
        raise _Unsupported
    if end > len(raw):
        raise _Unsupported
    return count, first, end


def _list(raw: bytes, pos: int, ctor: int) -> tuple[list[Any], int]:
    if ctor not in (0xC0, 0xD0, 0x45):
        raise _Unsupported
    count, pos, end = _compound(raw, pos, ctor)
    values = []
    for _ in range(count):
        value, pos = _scalar(raw, pos + 1, raw[pos])
        values.append(value)
    if pos != end:
        raise _Unsupported
    return values, pos


def _map(raw: bytes, pos: int, ctor: int) -> tuple[list[tuple[Any, Any]], int]:
    if ctor not in (0xC1, 0xD1):
        raise _Unsupported  # a list where a map belongs: rstream fails on it
    count, pos, end = _compound(raw, pos, ctor)
    if count % 2:
        raise _Unsupported
    items = []
    for _ in range(count // 2):
        key, pos = _scalar(raw, pos + 1, raw[pos])
        value, pos = _scalar(raw, pos + 1, raw[pos])
        items.append((key, value))
    if pos != end:
        raise _Unsupported
    return items, pos


def sections(raw: bytes) -> tuple[list[Any] | None, list[tuple[Any, Any]],
                                  list[tuple[Any, Any]], Any, bool]:
    """(properties fields, message annotations, application properties, body, body is a
    data section) of a message in the common layout; raises `_Unsupported` otherwise."""
    props: list[Any] | None = None
    annotations: list[tuple[Any, Any]] = []
    app: list[tuple[Any, Any]] = []
    body: Any = None
    value: Any = None
    is_data = False
    pos, n = 0, len(raw)
    while pos < n:
        if pos + 4 > n or raw[pos] != 0 or raw[pos + 1] != 0x53:
            raise _Unsupported
        code, ctor = raw[pos + 2], raw[pos + 3]
        pos += 4
        if code == _DATA:
            if ctor not in (0xA0, 0xB0):
                raise _Unsupported
            body, pos = _scalar(raw, pos, ctor)
            is_data = True
        elif code in (_PROPERTIES, _HEADER):
            fields, pos = _list(raw, pos, ctor)
            if code == _PROPERTIES:
                if len(fields) > _PROPERTY_FIELDS:
                    raise _Unsupported
                props = fields
            elif len(fields) > _HEADER_FIELDS:
                raise _Unsupported
        elif code in (_MESSAGE_ANN, _APP_PROPS, _DELIVERY_ANN, _FOOTER):
            items, pos = _map(raw, pos, ctor)
            # rstream keeps a dict: a repeated key keeps its first place and its last value
            items = list(dict(items).items()) if len({k for k, _ in items}) < len(items) \
                else items
            if code == _MESSAGE_ANN:
                annotations = items
            elif code == _APP_PROPS:
                app = items
        elif code == _VALUE:
            value, pos = _scalar(raw, pos, ctor)
        else:
            raise _Unsupported  # amqp-sequence, or a section code rstream ignores
    if not is_data:
        body = value
    return props, annotations, app, body, is_data


def parts(raw: bytes, to_bytes: Callable[[Any], bytes | None],
          key: Callable[[Any], str], property_names: tuple[str, ...]
          ) -> tuple[bytes | None, list[tuple[str, bytes | None]]] | None:
    """(body bytes, [(header name, value bytes), ...]) as `records.message_parts` gives it,
    or None when the message is not in the common layout."""
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    try:
        props, annotations, app, body, is_data = sections(raw)
    except (_Unsupported, IndexError, struct.error, ValueError):
        return None
    headers: list[tuple[str, bytes | None]] = []
    if props:
        for name, value in zip(property_names, props, strict=False):
            if value is not None:
                headers.append((name, value if type(value) is bytes else to_bytes(value)))
    for items in (annotations, app):
        for k, v in items:
            headers.append((k.decode("utf-8", "replace") if type(k) is bytes else key(k),
                            v if type(v) is bytes else to_bytes(v)))
    if is_data:
        return body, headers
    return (b"" if body is None else to_bytes(body)), headers
