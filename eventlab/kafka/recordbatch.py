"""Kafka record batches (message format v2) decoded into Arrow columns, a fetch at a time.

One Python step per record finds where it starts (its length is a varint); then every field is
decoded with numpy for all records at once, and keys, values and headers are cut out of the
buffer by Arrow. Damaged data raises `CorruptRecordError` where kafka-python's own decoder would
(tests/kafka/test_columnar.py compares the two, also on randomly damaged bytes).
"""

from __future__ import annotations

import itertools

import kafka.errors as kerr
import numpy as np
import pyarrow as pa
from kafka.record.default_records import DefaultRecordBatch

HEADER_TYPE = pa.struct([pa.field("key", pa.string(), nullable=False),
                         pa.field("value", pa.binary())])
HEADERS_TYPE = pa.list_(HEADER_TYPE)
CHUNK_SCHEMA = pa.schema([
    pa.field("offset", pa.int64(), nullable=False),
    pa.field("key", pa.binary()),
    pa.field("value", pa.binary()),             # null = tombstone
    pa.field("headers", HEADERS_TYPE, nullable=False),
    pa.field("timestamp_ms", pa.int64(), nullable=False),
    pa.field("timestamp_type", pa.int8(), nullable=False),  # 0 CreateTime, 1 LogAppendTime
    pa.field("serialized_value_size", pa.int32(), nullable=False),  # -1 for a tombstone
])
_PAD = bytes(16)  # lets a varint read run past a corrupt buffer's end without IndexError


class HeaderKeyNotUtf8(kerr.CorruptRecordError):
    """A record header key that is not UTF-8 (the protocol requires it)."""


def decode_v2_batches(batches: list[DefaultRecordBatch], payload: bool = True) -> pa.Table:
    """The records of consecutive v2 batches (CRC already checked) as one `CHUNK_SCHEMA` table.

    `payload=False`: keys and values are checked as with it but not copied out (both columns
    null; `serialized_value_size` still tells a tombstone), for readers that need only where
    records lie and their headers (a republish target read back, `provenance`)."""
    sections: list[bytes | memoryview] = []
    counts, bases, first_ts, max_ts, log_append = [], [], [], [], []
    for batch in batches:
        batch._maybe_uncompress()  # the records section, decompressed, from batch._pos on
        sections.append(memoryview(batch._buffer)[batch._pos:])
        counts.append(batch.records_count)
        bases.append(batch.base_offset)
        first_ts.append(batch.first_timestamp)
        max_ts.append(batch.max_timestamp)
        log_append.append(batch.timestamp_type == 1)
    buf = b"".join(sections)
    ends = list(itertools.accumulate(len(s) for s in sections))
    try:
        body, lengths = _record_bounds(buf, counts, ends)
        if len(body) == 0:
            return CHUNK_SCHEMA.empty_table()
        per = np.repeat(np.arange(len(batches)), counts)
        return _decode_records(buf + _PAD, len(buf), body, lengths,
                               np.asarray(bases, np.int64)[per],
                               np.asarray(first_ts, np.int64)[per],
                               np.asarray(max_ts, np.int64)[per],
                               np.asarray(log_append, bool)[per], payload)
    except (IndexError, ValueError, OverflowError) as exc:  # lengths that point nowhere
        raise kerr.CorruptRecordError(f"Found invalid record structure: {exc!r}") from None


def _record_bounds(buf: bytes, counts: list[int], ends: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Where each record's body starts and how long it is (one varint read per record)."""
    body: list[int] = []
    lengths: list[int] = []
    add_body, add_len = body.append, lengths.append
    pos = 0
    for count, end in zip(counts, ends, strict=True):
        for _ in range(count):
            b = buf[pos]
            pos += 1
            raw = b & 0x7F
            shift = 7
            while b & 0x80:
                b = buf[pos]
                pos += 1
                raw |= (b & 0x7F) << shift
                shift += 7
            length = (raw >> 1) ^ -(raw & 1)
            if length < 0:
                raise kerr.CorruptRecordError(f"Found invalid record length {length}")
            add_body(pos)
            add_len(length)
            pos += length
        if pos != end:
            raise kerr.CorruptRecordError(
                f"{end - pos} unconsumed bytes after all records consumed" if pos < end
                else "Found invalid record structure: a record runs past its batch")
    return np.asarray(body, np.int64), np.asarray(lengths, np.int64)


def _varint(arr: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zigzag varints starting at each of `pos`: (values, positions after them)."""
    b = arr[pos]
    raw = (b & 0x7F).astype(np.uint64)
    pos = pos + 1
    more = np.flatnonzero(b & 0x80)
    shift = 7
    while len(more):
        if shift > 63:
            raise kerr.CorruptRecordError("Found invalid record structure: varint too long")
        b = arr[pos[more]]
        raw[more] |= (b & 0x7F).astype(np.uint64) << np.uint64(shift)
        pos[more] += 1
        more = more[(b & 0x80) != 0]
        shift += 7
    value = (raw >> np.uint64(1)).astype(np.int64) ^ -(raw & np.uint64(1)).astype(np.int64)
    return value, pos


def _decode_records(padded: bytes, size: int, body: np.ndarray, lengths: np.ndarray,
                    base: np.ndarray, first_ts: np.ndarray, max_ts: np.ndarray,
                    log_append: np.ndarray, payload: bool = True) -> pa.Table:
    arr = np.frombuffer(padded, np.uint8)
    end = body + lengths

    def check(pos: np.ndarray) -> None:
        if (pos > end).any():
            raise kerr.CorruptRecordError("Found invalid record structure: a field runs past "
                                          "its record")

    pos = body
    _, pos = _varint(arr, pos)            # attributes (unused in v2)
    ts_delta, pos = _varint(arr, pos)
    offset_delta, pos = _varint(arr, pos)
    key_len, pos = _varint(arr, pos)
    key_start = pos
    pos = pos + np.maximum(key_len, 0)
    check(pos)
    value_len, pos = _varint(arr, pos)
    value_start = pos
    pos = pos + np.maximum(value_len, 0)
    check(pos)
    count, pos = _varint(arr, pos)
    if (count < 0).any():
        raise kerr.CorruptRecordError(f"Found invalid number of record headers {count.min()}")
    if (count > (end - pos) // 2).any():  # a header takes at least two bytes
        raise kerr.CorruptRecordError("Found invalid record structure: more headers than "
                                      "the record has room for")
    list_offsets = np.zeros(len(body) + 1, np.int64)
    np.cumsum(count, out=list_offsets[1:])
    total = int(list_offsets[-1])
    hk_start = np.empty(total, np.int64)
    hk_len = np.empty(total, np.int64)
    hv_start = np.empty(total, np.int64)
    hv_len = np.empty(total, np.int64)
    rows = np.flatnonzero(count)
    level = 0
    while len(rows):
        p = pos[rows]
        kl, p = _varint(arr, p)
        if (kl < 0).any():
            raise kerr.CorruptRecordError(f"Invalid negative header key size {kl.min()}")
        ks = p
        p = p + kl
        if (p > end[rows]).any():
            raise kerr.CorruptRecordError("Found invalid record structure: a header key runs "
                                          "past its record")
        vl, p = _varint(arr, p)
        vs = p
        p = p + np.maximum(vl, 0)
        if len(p) and int((p - end[rows]).max()) > 0:
            raise kerr.CorruptRecordError("Found invalid record structure: a header runs past "
                                          "its record")
        flat = list_offsets[rows] + level
        hk_start[flat], hk_len[flat], hv_start[flat], hv_len[flat] = ks, kl, vs, vl
        pos[rows] = p
        level += 1
        rows = rows[count[rows] > level]
    if (pos != end).any():
        i = int(np.flatnonzero(pos != end)[0])
        raise kerr.CorruptRecordError(
            f"Invalid record size: expected to read {int(lengths[i])} bytes in record payload, "
            f"but instead read {int(pos[i] - body[i])}")
    if size and int(end.max()) > size:
        raise kerr.CorruptRecordError("Found invalid record structure: past the buffer")

    data = pa.py_buffer(padded)
    raw_keys = _segments(data, hk_start, hk_len, pa.binary())
    try:
        header_keys = raw_keys.cast(pa.string())
    except pa.ArrowInvalid:
        bad = next(i for i, k in enumerate(raw_keys.to_pylist()) if not _is_utf8(k))
        record = int(np.searchsorted(list_offsets, bad, side="right")) - 1
        raise HeaderKeyNotUtf8(
            f"the record at offset {int(base[record] + offset_delta[record])} has a header key "
            f"that is not UTF-8: {raw_keys[bad].as_py()!r}") from None
    header_values = _segments(data, hv_start, hv_len, pa.binary())
    headers = pa.ListArray.from_arrays(
        pa.array(list_offsets.astype(np.int32)),
        pa.StructArray.from_arrays([header_keys, header_values], fields=list(HEADER_TYPE)))
    stamps = np.where(log_append, max_ts, first_ts + ts_delta)
    if payload:
        keys = _segments(data, key_start, key_len, pa.binary())
        values = _segments(data, value_start, value_len, pa.binary())
    else:
        keys = values = pa.nulls(len(body), pa.binary())
    return pa.Table.from_arrays([
        pa.array(base + offset_delta, pa.int64()),
        keys,
        values,
        headers,
        pa.array(stamps, pa.int64()),
        pa.array(log_append.astype(np.int8), pa.int8()),
        pa.array(np.maximum(value_len, -1).astype(np.int32), pa.int32()),  # -1: null
    ], schema=CHUNK_SCHEMA)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _segments(data: pa.Buffer, starts: np.ndarray, lengths: np.ndarray,
              type_: pa.DataType) -> pa.Array:
    """Byte ranges of `data` as one binary array (length < 0: null), copied by Arrow.

    The ranges ascend and do not overlap, so [s0, e0, s1, e1, ...] are valid offsets of an
    array whose even elements are the ranges; `take` copies just those.
    """
    n = len(starts)
    if n == 0:
        return pa.array([], type_)
    valid = lengths >= 0
    bounds = np.empty(2 * n, np.int32)
    bounds[0::2] = starts
    bounds[1::2] = starts + np.where(valid, lengths, 0)
    every = np.ones(2 * n - 1, bool)
    every[0::2] = valid
    null_count = int(n - valid.sum())
    mask = pa.py_buffer(np.packbits(every, bitorder="little")) if null_count else None
    view = pa.Array.from_buffers(type_, 2 * n - 1, [mask, pa.py_buffer(bounds), data],
                                 null_count=null_count)
    return view.take(pa.array(np.arange(0, 2 * n, 2, dtype=np.int32)))


def rows_to_table(rows: list[tuple[int, bytes | None, bytes | None,
                                   list[tuple[str, bytes | None]], int, int]]) -> pa.Table:
    """`CHUNK_SCHEMA` table from (offset, key, value, headers, timestamp, timestamp type) rows."""
    offsets, keys, values, headers, stamps, types = (list(c) for c in zip(*rows, strict=True))
    return pa.Table.from_arrays([
        pa.array(offsets, pa.int64()),
        pa.array(keys, pa.binary()),
        pa.array(values, pa.binary()),
        pa.array([h or [] for h in headers], HEADERS_TYPE),
        pa.array(stamps, pa.int64()),
        pa.array(types, pa.int8()),
        pa.array([-1 if v is None else len(v) for v in values], pa.int32()),
    ], schema=CHUNK_SCHEMA)

