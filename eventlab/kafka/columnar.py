"""Kafka record batches decoded straight into Arrow columns.

kafka-python turns every record into Python objects (a `DefaultRecord`, then a
`ConsumerRecord`, bytes for key, value and each header): about 15 µs per record, most of the
cost of a raw consume. EventLab wants columns, so `install(consumer)` gives the consumer's
fetcher `ColumnarRecords`: each partition's fetch response becomes one `RawChunk` of Arrow
arrays instead of a list of records.

The batch level (framing, CRC, decompression, control batches, aborted transactions under
`read_committed`) follows kafka-python's own `Fetcher.PartitionRecords` step by step, using its
batch classes. The record level is decoded here: one Python step per record finds where each
record starts (its length is a varint), then every field is decoded with numpy for all
records of the fetch at once, and keys, values and headers are cut out of the buffer by Arrow.
Legacy batches (message format v0/v1) go through kafka-python's record objects.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import kafka.errors as kerr
import numpy as np
import pyarrow as pa
from kafka.consumer.fetcher import Fetcher, IsolationLevel
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


class RawChunk:
    """Consecutive records of one partition as an Arrow table in `CHUNK_SCHEMA`."""

    __slots__ = ("table", "_offsets")

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self._offsets = table.column("offset").to_numpy()

    def __len__(self) -> int:
        return self.table.num_rows

    @property
    def offset(self) -> int:
        """The first record's offset."""
        return int(self._offsets[0])

    @property
    def last_offset(self) -> int:
        """The last record's offset."""
        return int(self._offsets[-1])

    def count_before(self, offset: int) -> int:
        """How many leading records have an offset below `offset` (offsets ascend in a
        partition; counting the leading run also holds for damaged data, as kafka-python's
        record-by-record skip does)."""
        at_or_after = np.flatnonzero(self._offsets >= offset)
        return int(at_or_after[0]) if len(at_or_after) else len(self._offsets)

    def first_at_or_after(self, timestamp_ms: int) -> int | None:
        """Index of the first record stamped at or after `timestamp_ms`, or None."""
        hits = np.flatnonzero(self.table.column("timestamp_ms").to_numpy() >= timestamp_ms)
        return int(hits[0]) if len(hits) else None

    def tail(self, start: int) -> RawChunk:
        """The records from index `start` on."""
        return RawChunk(self.table.slice(start))

    def head(self, stop: int) -> RawChunk:
        """The records before index `stop`."""
        return RawChunk(self.table.slice(0, stop))


class ColumnarRecords(Fetcher.PartitionRecords):
    """`Fetcher.PartitionRecords` that yields `RawChunk`s instead of `ConsumerRecord`s.

    `take(n)` then counts chunks, not records; the consumer's positions move exactly as with
    records (to the offset after the last batch handed over).
    """

    def _maybe_skip_record(self, chunk: RawChunk) -> bool:  # type: ignore[override]
        # A fetch may start inside a batch (compressed batches are sent whole): drop the
        # records before the fetch offset, as kafka-python does record by record.
        skip = chunk.count_before(self.fetch_offset)
        if skip:
            if skip == len(chunk):
                return True
            chunk.table = chunk.table.slice(skip)
            chunk._offsets = chunk._offsets[skip:]
        return False

    def _unpack_records(self, tp: Any, records: Any, key_deserializer: Any,
                        value_deserializer: Any) -> Iterator[RawChunk]:
        pending: list[DefaultRecordBatch] = []
        last_batch = None
        try:
            batch = records.next_batch()
            while batch is not None:
                last_batch = batch
                if self.check_crcs and not batch.validate_crc():
                    yield from self._flush(pending)
                    raise kerr.CorruptRecordError(
                        f"Record batch for partition {self.topic_partition} at offset "
                        f"{batch.base_offset} failed crc check")
                if batch.magic == 2:
                    self.leader_epoch = batch.leader_epoch
                    committed_only = self.isolation_level == IsolationLevel.READ_COMMITTED
                    if committed_only and batch.has_producer_id():
                        self._consume_aborted_transactions_up_to(batch.last_offset)
                        if self._contains_abort_marker(batch):
                            self.aborted_producer_ids.discard(batch.producer_id)
                        elif self._is_batch_aborted(batch):
                            self.next_fetch_offset = batch.next_offset
                            batch = records.next_batch()
                            continue
                    if batch.is_control_batch:
                        self.next_fetch_offset = batch.next_offset
                        batch = records.next_batch()
                        continue
                    pending.append(batch)
                else:
                    yield from self._flush(pending)
                    yield from self._legacy(batch)
                batch = records.next_batch()
            yield from self._flush(pending)
            if last_batch is not None and last_batch.magic == 2:
                self.next_fetch_offset = last_batch.next_offset
            self.drain()
        except StopIteration:  # see kafka-python issue 545: never let it end the generator
            raise RuntimeError("StopIteration raised unpacking messageset") from None

    def _flush(self, batches: list[DefaultRecordBatch]) -> Iterator[RawChunk]:
        if not batches:
            return
        try:
            table = decode_v2_batches(batches)
        except kerr.CorruptRecordError:
            if len(batches) == 1:
                raise
            # Hand over the good batches before the corrupt one, as kafka-python would.
            for batch in batches:
                yield from self._flush([batch])
        else:
            yield from self._chunk(table)
        finally:
            batches.clear()

    def _chunk(self, table: pa.Table) -> Iterator[RawChunk]:
        if table.num_rows:
            chunk = RawChunk(table)
            self.records_read += table.num_rows
            self.next_fetch_offset = chunk.last_offset + 1
            yield chunk

    def _legacy(self, batch: Any) -> Iterator[RawChunk]:
        rows = list(batch)
        for i, record in enumerate(rows):
            if self.check_crcs and not record.validate_crc():
                yield from self._legacy_rows(rows[:i])
                raise kerr.CorruptRecordError(
                    f"Record for partition {self.topic_partition} at offset {record.offset} "
                    "failed crc check")
        yield from self._legacy_rows(rows)

    def _legacy_rows(self, rows: list[Any]) -> Iterator[RawChunk]:
        if rows:
            table = rows_to_table([(r.offset, r.key, r.value, r.headers, r.timestamp,
                                    r.timestamp_type) for r in rows])
            self.records_read += len(rows)
            self.next_fetch_offset = rows[-1].offset + 1
            yield RawChunk(table)


def install(consumer: Any) -> None:
    """Make `consumer.poll()` return `RawChunk`s (one per partition fetch) instead of records.

    Raises RuntimeError when this kafka-python does not have the fetcher this relies on (the
    version is pinned; the tests exercise every path).
    """
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is None or not hasattr(fetcher, "PartitionRecords"):
        raise RuntimeError("this kafka-python has no Fetcher.PartitionRecords to replace; "
                           "EventLab needs the pinned kafka-python version")
    fetcher.PartitionRecords = ColumnarRecords


# -- record decoding -------------------------------------------------------------------------

def decode_v2_batches(batches: list[DefaultRecordBatch]) -> pa.Table:
    """The records of consecutive v2 batches (CRC already checked) as one `CHUNK_SCHEMA` table."""
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
                               np.asarray(log_append, bool)[per])
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
                    log_append: np.ndarray) -> pa.Table:
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
    return pa.Table.from_arrays([
        pa.array(base + offset_delta, pa.int64()),
        _segments(data, key_start, key_len, pa.binary()),
        _segments(data, value_start, value_len, pa.binary()),
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

