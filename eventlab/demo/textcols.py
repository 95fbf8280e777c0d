"""Vectorized text columns: ids, uuids, numbers and JSON fragments built without a Python loop.

Strings are assembled either as fixed-width byte matrices in numpy (ids, uuids) turned into an
Arrow string array from raw buffers, or with Arrow's `binary_join_element_wise` (JSON).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_M64 = 0xFFFFFFFFFFFFFFFF
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX_PAIRS = np.array(
    [_HEX[b >> 4] | _HEX[b & 15].astype(np.uint16) << 8 for b in range(256)], dtype="<u2"
)  # byte -> its two hex digits, as a little-endian uint16
_DIGIT_PAIRS = np.array(
    [ord(str(i // 10)) | ord(str(i % 10)) << 8 for i in range(100)], dtype="<u2"
)
_U = np.uint64
_CENTS = pa.array([f"{i:02d}" for i in range(100)], pa.string())

Part = str | pa.Array


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer: a fast, well-spread deterministic hash of uint64 values."""
    x = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def seed_key(seed: int, stream: int) -> np.uint64:
    """A 64-bit salt for one id stream (event ids, correlation ids, ...) of one seed."""
    arr = np.array([(seed * 0x100000001B3 + stream) & _M64], dtype=np.uint64)
    return mix64(arr)[0]


def hash_pair(keys: np.ndarray, salt: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of `keys` under `salt` (128 bits for a uuid)."""
    hi = mix64(keys.astype(np.uint64) ^ salt)
    return hi, mix64(hi ^ np.uint64(0x5851F42D4C957F2D))


def _from_fixed(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.StringArray:
    """An Arrow string array from an (n, width) uint8 matrix of ASCII characters."""
    n, width = chars.shape
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int64)
    if offsets[-1] >= 2**31:
        raise ValueError("text column too large for one Arrow string array")
    bitmap = None
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    data = pa.py_buffer(np.ascontiguousarray(chars).reshape(-1))
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.astype(np.int32)), data, bitmap
    )


def uuid_strings(hi: np.ndarray, lo: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """uuid4-shaped hex strings (8-4-4-4-12) from two uint64 arrays; null where not valid.

    The 32 hex digits are moved into place as 64-bit words (little-endian byte order), which
    is much faster than per-column byte copies.
    """
    n = len(hi)
    raw = np.empty((n, 16), dtype=np.uint8)
    raw[:, :8] = hi.astype(">u8").view(np.uint8).reshape(n, 8)
    raw[:, 8:] = lo.astype(">u8").view(np.uint8).reshape(n, 8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    x = _HEX_PAIRS[raw].view("<u8")  # (n, 4) words of 8 hex digits each
    x1, x2, x3 = x[:, 1], x[:, 2], x[:, 3]
    low32, dash = np.uint64(0xFFFFFFFF), np.uint64(ord("-"))
    words = np.empty((n, 5), dtype="<u8")
    words[:, 0] = x[:, 0]
    words[:, 1] = (dash | (x1 & low32) << _U(8) | dash << _U(40)
                   | ((x1 >> _U(32)) & _U(0xFFFF)) << _U(48))
    words[:, 2] = x1 >> _U(48) | dash << _U(16) | (x2 & low32) << _U(24) | dash << _U(56)
    words[:, 3] = x2 >> _U(32) | (x3 & low32) << _U(32)
    words[:, 4] = x3 >> _U(32)
    return _from_fixed(words.view(np.uint8)[:, :36], valid)


def _digits(nums: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative integers, zero-padded."""
    pairs = (width + 1) // 2
    powers = 100 ** np.arange(pairs - 1, -1, -1, dtype=np.int64)
    chars = _DIGIT_PAIRS[(nums.astype(np.int64)[:, None] // powers) % 100].view(np.uint8)
    return chars[:, 2 * pairs - width:]


def prefixed_ids(prefix: str, nums: np.ndarray, width: int) -> pa.Array:
    """Strings like 'order-000123': a constant prefix and zero-padded numbers."""
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    chars = np.empty((len(nums), len(head) + width), dtype=np.uint8)
    chars[:, : len(head)] = head
    chars[:, len(head):] = _digits(nums, width)
    return _from_fixed(chars)


def mixed_ids(
    prefixes: Sequence[str], widths: Sequence[int], kind: np.ndarray, nums: np.ndarray,
    valid: np.ndarray | None = None,
) -> pa.StringArray:
    """Ids whose prefix and width depend on `kind` per row ('customer-00042', 'order-000123')."""
    heads = [np.frombuffer(p.encode(), dtype=np.uint8) for p in prefixes]
    lengths = np.array([len(h) + w for h, w in zip(heads, widths, strict=True)])[kind]
    offsets = np.zeros(len(kind) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    for k, (head, width) in enumerate(zip(heads, widths, strict=True)):
        rows = np.flatnonzero(kind == k)
        if not len(rows):
            continue
        chars = np.empty((len(rows), len(head) + width), dtype=np.uint8)
        chars[:, : len(head)] = head
        chars[:, len(head):] = _digits(nums[rows], width)
        data[offsets[rows][:, None] + np.arange(chars.shape[1])] = chars
    bitmap = None
    if valid is not None and not valid.all():
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(
        len(kind), pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data), bitmap
    )


def digit_strings(nums: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal strings of a fixed width (tracking numbers)."""
    return _from_fixed(_digits(nums, width))


def int_strings(nums: np.ndarray) -> pa.Array:
    """Plain decimal strings of integers."""
    return pc.cast(pa.array(nums, pa.int64()), pa.string())


def money(cents: np.ndarray) -> pa.Array:
    """JSON numbers with two decimals from integer cents: 12345 -> '123.45'."""
    cents = cents.astype(np.int64)
    return join([int_strings(cents // 100), ".", _CENTS.take(pa.array(cents % 100))])


def const(text: str, n: int) -> pa.Array:
    """An array of `n` copies of one string."""
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    return _from_fixed(np.broadcast_to(raw, (n, len(raw))))


def join(parts: Sequence[Part]) -> pa.Array:
    """Concatenate strings and string arrays row by row (a null array part gives null)."""
    if not any(isinstance(p, pa.Array | pa.ChunkedArray) for p in parts):
        raise ValueError("join needs at least one array part")
    return pc.binary_join_element_wise(*parts, "")
