"""The Confluent wire format, pure: magic byte 0, a 4-byte big-endian schema id, the payload.

Protobuf payloads start with the message-index list that selects the message type inside the
schema's file: a zigzag varint count, then that many zigzag varint indexes (the first into the
file's top-level messages, the next into that message's nested types, ...); a single 0 byte
is the common shortcut for `[0]`.
"""

from __future__ import annotations

MAGIC = 0
HEADER_BYTES = 5


class FrameError(ValueError):
    """The bytes are not a well-formed Confluent frame (too short, wrong magic, bad varint)."""


def is_framed(data: bytes | None) -> bool:
    """True when `data` starts with the magic byte (a candidate frame: JSON text never does)."""
    return bool(data) and data[0] == MAGIC  # type: ignore[index]


def split_frame(data: bytes) -> tuple[int, bytes]:
    """(schema id, payload) of a framed record; FrameError when it is not one."""
    if len(data) < HEADER_BYTES:
        raise FrameError(f"{len(data)} bytes: shorter than the 5-byte Confluent header")
    if data[0] != MAGIC:
        raise FrameError(f"magic byte {data[0]}, not 0")
    return int.from_bytes(data[1:HEADER_BYTES], "big"), data[HEADER_BYTES:]


def frame(schema_id: int, payload: bytes) -> bytes:
    """The framed bytes for a payload (the demo producer and the tests write them)."""
    return bytes([MAGIC]) + schema_id.to_bytes(4, "big") + payload


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A zigzag varint at `pos`: (value, next position)."""
    shift = result = 0
    while True:
        if pos >= len(data):
            raise FrameError("message index list cut short")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise FrameError("message index varint too long")


def message_indexes(payload: bytes) -> tuple[tuple[int, ...], bytes]:
    """(message indexes, the Protobuf message bytes) of a Protobuf payload."""
    count, pos = _varint(payload, 0)
    if count == 0:
        return (0,), payload[pos:]
    if count < 0 or count > 100:
        raise FrameError(f"message index count {count} is not plausible")
    indexes = []
    for _ in range(count):
        value, pos = _varint(payload, pos)
        if value < 0:
            raise FrameError(f"negative message index {value}")
        indexes.append(value)
    return tuple(indexes), payload[pos:]


def encode_indexes(indexes: tuple[int, ...]) -> bytes:
    """The message-index prefix for `indexes` (`(0,)` is the single 0 byte)."""
    if tuple(indexes) == (0,):
        return b"\x00"
    out = bytearray()
    for n in (len(indexes), *indexes):
        z = (n << 1) ^ (n >> 63)
        while z & ~0x7F:
            out.append((z & 0x7F) | 0x80)
            z >>= 7
        out.append(z)
    return bytes(out)
