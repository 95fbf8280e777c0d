"""Trigram Bloom filters of payload texts, in NumPy over Arrow buffers (pure, no I/O).

A block of events is summarised by a Bloom filter of the trigrams of its texts as DuckDB's
`lower` sees them for an ASCII search term (`explore.search`): bytes lower-cased through a
table, every byte above ASCII turned into 0 (such a byte can never be part of a match: no
code point above ASCII lowers into ASCII except U+0130 and U+212A, and a block holding either
is marked not vouched for and always scanned). A trigram is the three bytes at a position read
as one little-endian 24-bit code, computed for every position of the block's concatenated
bytes at once: trigrams that span two texts or hold a 0 only add bits (a false positive at
worst, never a missed match). A term of three or more ASCII characters without NUL can then
be ruled out of a block when one of its trigrams is not in the filter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from eventlab.explore.search import LOWERED_INTO_ASCII

LOWER = np.arange(256, dtype=np.uint8)
LOWER[ord("A"):ord("Z") + 1] += 32
LOWER[128:] = 0
"""Byte -> lower-cased ASCII byte; every byte above ASCII -> 0."""


BITS_PER_TRIGRAM = 10
"""Filter bits per distinct trigram before rounding up to a power of two (about 1% false
positives per trigram at the best hash count; 0.1-1% after rounding)."""

WINDOW_BYTES = 1 << 21
"""Bytes turned into trigram codes at a time (bounds the temporaries to a few MB)."""

_LOWERED_INTO_ASCII_UTF8 = tuple(c.encode() for c in LOWERED_INTO_ASCII.values())

MIN_BITS = 64
MAX_HASHES = 8
_CODES = 1 << 23  # three bytes below 128 each
_GOLDEN, _C1, _C2 = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9),
                     np.uint64(0x94D049BB133111EB))


@dataclass(frozen=True)
class BlockFilter:
    """The filter of one block: `bits` (m bits, little-endian bit order), `hashes` (k), the
    distinct trigrams it holds and whether it may rule the block out (`vouched`)."""

    bits: bytes
    m: int
    hashes: int
    trigrams: int
    vouched: bool

    @property
    def false_positive_rate(self) -> float:
        """Chance that a trigram not in the block passes the filter."""
        return false_positive_rate(self.trigrams, self.m, self.hashes)


def indexable(term: str) -> bool:
    """True when a lower-cased search term can be checked against the filters."""
    return len(term) >= 3 and term.isascii() and "\0" not in term


def term_codes(term: str) -> np.ndarray:
    """The distinct trigram codes of a lower-cased ASCII term (`indexable`)."""
    raw = np.frombuffer(term.encode("ascii"), dtype=np.uint8)
    return np.unique(_codes(raw))


def trigram_codes(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, bool]:
    """The distinct trigram codes of the texts and whether the filter may vouch for them
    (False when they hold U+0130 or U+212A)."""
    present = np.zeros(_CODES, dtype=bool)
    vouched = True
    chunks = texts.chunks if isinstance(texts, pa.ChunkedArray) else [texts]
    for chunk in chunks:
        data = _value_bytes(chunk)
        if data.size == 0:
            continue
        if vouched and _holds_lowered_into_ascii(data):
            vouched = False
        for start in range(0, data.size - 2, WINDOW_BYTES):  # windows overlap by two bytes
            present[_codes(data[start:start + WINDOW_BYTES + 2])] = True
    return np.flatnonzero(present).astype(np.uint32), vouched


def size_for(trigrams: int) -> tuple[int, int]:
    """Filter bits (a power of two) and hash count for `trigrams` distinct trigrams."""
    m = max(MIN_BITS, 1 << max(0, math.ceil(math.log2(max(1, trigrams * BITS_PER_TRIGRAM)))))
    k = max(1, min(MAX_HASHES, round(m / max(1, trigrams) * math.log(2))))
    return m, k


def false_positive_rate(trigrams: int, m: int, k: int) -> float:
    """(1 - e^(-kn/m))^k: the usual Bloom filter estimate."""
    return (1.0 - math.exp(-k * trigrams / m)) ** k


def block_filter(texts: pa.Array | pa.ChunkedArray) -> BlockFilter:
    """The filter of one block's texts, sized from its distinct trigrams."""
    codes, vouched = trigram_codes(texts)
    m, k = size_for(len(codes))
    bits = np.zeros(m, dtype=bool)
    bits[positions(codes, m, k).ravel()] = True
    return BlockFilter(np.packbits(bits, bitorder="little").tobytes(), m, k, len(codes),
                       vouched)


def may_hold(bits: bytes, m: int, k: int, codes: np.ndarray) -> bool:
    """True unless one of the trigram `codes` is certainly not in the filter."""
    pos = positions(codes, m, k).ravel()
    arr = np.frombuffer(bits, dtype=np.uint8)
    return bool(np.all((arr[pos >> 3] >> (pos & 7).astype(np.uint8)) & 1))


def positions(codes: np.ndarray, m: int, k: int) -> np.ndarray:
    """The k bit positions of each code (double hashing of a splitmix64 mix), shape (n, k)."""
    z = codes.astype(np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _C1
    z = (z ^ (z >> np.uint64(27))) * _C2
    z ^= z >> np.uint64(31)
    h1, h2 = z >> np.uint64(32), (z & np.uint64(0xFFFFFFFF)) | np.uint64(1)
    i = np.arange(k, dtype=np.uint64)
    return ((h1[:, None] + i[None, :] * h2[:, None]) & np.uint64(m - 1)).astype(np.int64)


def _codes(raw: np.ndarray) -> np.ndarray:
    """The 24-bit code of the trigram at every position of `raw` (uint8, three or more bytes)
    lowered through `LOWER`: a strided little-endian uint32 read masked to three bytes."""
    n = raw.size - 2
    padded = np.empty(raw.size + 1, dtype=np.uint8)
    np.take(LOWER, raw, out=padded[:-1])
    padded[-1] = 0
    words = np.ndarray(shape=(n,), dtype="<u4", buffer=padded.data, strides=(1,))
    return words & np.uint32(0xFFFFFF)


def _holds_lowered_into_ascii(data: np.ndarray) -> bool:
    """True when UTF-8 `data` holds a character DuckDB's `lower` maps into ASCII
    (`search.LOWERED_INTO_ASCII`: U+0130 and U+212A): each found by its lead byte, then the
    rest of its encoding at those places only."""
    for seq in _LOWERED_INTO_ASCII_UTF8:
        at = np.flatnonzero(data[:data.size - len(seq) + 1] == seq[0])
        if at.size and np.all([data[at + i] == b for i, b in enumerate(seq)], axis=0).any():
            return True
    return False


def _value_bytes(chunk: pa.Array) -> np.ndarray:
    """The bytes of a string array's values (between its first and last offset), no copy."""
    if pa.types.is_string_view(chunk.type) or pa.types.is_binary_view(chunk.type):
        chunk = chunk.cast(pa.large_string())
    if len(chunk) == 0:
        return np.zeros(0, dtype=np.uint8)
    _validity, offsets_buf, data_buf = chunk.buffers()[:3]
    wide = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
    offsets = np.frombuffer(offsets_buf, dtype=np.int64 if wide else np.int32)
    lo, hi = int(offsets[chunk.offset]), int(offsets[chunk.offset + len(chunk)])
    if data_buf is None or hi <= lo:
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer(data_buf, dtype=np.uint8)[lo:hi]
