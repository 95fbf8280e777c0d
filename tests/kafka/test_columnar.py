"""Columnar record decoding against kafka-python's own record objects, byte for byte.

Every case feeds the same fetched bytes to kafka-python's `Fetcher.PartitionRecords` and to
EventLab's `ColumnarRecords` and compares what comes out: records, positions, errors.
"""

from __future__ import annotations

import struct
from collections import namedtuple
from typing import Any

import kafka.errors as kerr
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kafka import TopicPartition
from kafka.consumer.fetcher import Fetcher, IsolationLevel
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords
from kafka.record.util import calc_crc32c

from eventlab.kafka.columnar import ColumnarRecords, HeaderRecords, RawChunk
from eventlab.kafka.recordbatch import CHUNK_SCHEMA, HeaderKeyNotUtf8, decode_v2_batches

TP = TopicPartition("t", 0)
Aborted = namedtuple("Aborted", "producer_id first_offset")
CONTROL, LOG_APPEND_TIME = 0x20, 0x08

headers_st = st.lists(st.tuples(st.text(max_size=12), st.none() | st.binary(max_size=40)),
                      max_size=5)
record_st = st.tuples(st.none() | st.binary(max_size=60),      # key
                      st.none() | st.binary(max_size=300),     # value
                      headers_st,
                      st.integers(-10**6, 10**9))              # timestamp delta
batch_st = st.fixed_dictionaries({
    "records": st.lists(record_st, min_size=1, max_size=12),
    "codec": st.sampled_from([0, 1, 2, 3, 4]),  # none, gzip, snappy, lz4, zstd
    "log_append": st.booleans(),
    "gap": st.integers(0, 3),           # offsets skipped before the batch (compaction)
    "step": st.integers(1, 3),          # offset step inside the batch (compacted holes)
    "txn": st.sampled_from([None, "commit", "abort"]),
})


def build_batch(base: int, records: list[tuple], *, codec: int = 0, step: int = 1,
                producer_id: int = -1, attrs: int = 0) -> bytes:
    """One v2 batch at `base` (offsets base, base+step, ...), attributes OR-ed with `attrs`."""
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=codec, is_transactional=producer_id >= 0,
        producer_id=producer_id, producer_epoch=0 if producer_id >= 0 else -1,
        base_sequence=0 if producer_id >= 0 else -1, batch_size=10**9)
    for i, (key, value, headers, ts) in enumerate(records):
        builder.append(i * step, timestamp=1_700_000_000_000 + ts, key=key, value=value,
                       headers=headers)
    buf = builder.build()
    struct.pack_into(">q", buf, 0, base)
    if attrs:
        (old,) = struct.unpack_from(">h", buf, 21)
        struct.pack_into(">h", buf, 21, old | attrs)
        struct.pack_into(">I", buf, 17, calc_crc32c(memoryview(buf)[21:]))
    return bytes(buf)


def marker(base: int, producer_id: int, commit: bool) -> bytes:
    """A control batch holding one commit or abort marker."""
    key = struct.pack(">hh", 0, 1 if commit else 0)
    return build_batch(base, [(key, struct.pack(">hi", 0, 0), [], 0)],
                       producer_id=producer_id, attrs=CONTROL)


def fetched(batches: list[dict[str, Any]]) -> tuple[bytes, list[Aborted]]:
    """A fetch response's records and aborted-transaction list for generated batches."""
    out, aborted, offset = [], [], 0
    for n, b in enumerate(batches):
        offset += b["gap"]
        pid = 100 + n % 2 if b["txn"] else -1  # a producer id comes back after its marker
        attrs = LOG_APPEND_TIME if b["log_append"] else 0
        out.append(build_batch(offset, b["records"], codec=b["codec"], step=b["step"],
                               producer_id=pid, attrs=attrs))
        if b["txn"] == "abort":
            aborted.append(Aborted(pid, offset))
        offset += (len(b["records"]) - 1) * b["step"] + 1
        if b["txn"]:
            out.append(marker(offset, pid, commit=b["txn"] == "commit"))
            offset += 1
    return b"".join(out), aborted


def drain(cls: type, data: bytes, fetch_offset: int, level: IsolationLevel,
          aborted: list[Aborted]) -> tuple[list[tuple], int, Exception | None]:
    """Records (as tuples), next fetch offset and the error (if any) from one class."""
    parts = cls(fetch_offset, TP, MemoryRecords(data), check_crcs=True, isolation_level=level,
                aborted_transactions=aborted)
    rows: list[tuple] = []
    error = None
    try:
        while parts:
            taken = parts.take(3)
            if not taken:
                break
            for item in taken:
                rows.extend(as_rows(item))
    except Exception as exc:  # compared below
        error = exc
    return rows, parts.next_fetch_offset, error


def as_rows(item: Any) -> list[tuple]:
    if isinstance(item, RawChunk):
        assert item.table.schema == CHUNK_SCHEMA
        return [(r["offset"], r["key"], r["value"],
                 [(h["key"], h["value"]) for h in r["headers"]], r["timestamp_ms"],
                 r["timestamp_type"], r["serialized_value_size"])
                for r in item.table.to_pylist()]
    return [(item.offset, item.key, item.value, list(item.headers), item.timestamp,
             item.timestamp_type, item.serialized_value_size)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(batch_st, min_size=1, max_size=6), skip=st.integers(0, 5),
       committed=st.booleans())
def test_same_records_and_positions_as_kafka_python(batches: list[dict], skip: int,
                                                    committed: bool) -> None:
    data, aborted = fetched(batches)
    level = IsolationLevel.READ_COMMITTED if committed else IsolationLevel.READ_UNCOMMITTED
    expected = drain(Fetcher.PartitionRecords, data, skip, level, aborted)
    got = drain(ColumnarRecords, data, skip, level, aborted)
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert expected[2] is None and got[2] is None



@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=st.lists(batch_st, min_size=1, max_size=6), skip=st.integers(0, 5))
def test_headers_only_reads_the_same_records_without_keys_and_values(batches: list[dict],
                                                                     skip: int) -> None:
    """`HeaderRecords` (a republish target read back): the same records, positions, headers
    and sizes as kafka-python's, with key and value left null."""
    data, aborted = fetched(batches)
    level = IsolationLevel.READ_COMMITTED
    rows, next_offset, error = drain(Fetcher.PartitionRecords, data, skip, level, aborted)
    got = drain(HeaderRecords, data, skip, level, aborted)
    assert got[0] == [(o, None, None, *rest) for o, _, _, *rest in rows]
    assert got[1] == next_offset and error is None and got[2] is None

def test_legacy_message_format_goes_through_kafka_python() -> None:
    builder = LegacyRecordBatchBuilder(magic=1, compression_type=0, batch_size=10**6)
    for i in range(3):
        builder.append(i, timestamp=1000 + i, key=b"k%d" % i, value=None if i == 1 else b"v")
    legacy = bytes(builder.build())
    data = legacy + build_batch(3, [(b"k3", b"v3", [("h", b"x")], 5)])
    level = IsolationLevel.READ_COMMITTED
    expected = drain(Fetcher.PartitionRecords, data, 0, level, [])
    got = drain(ColumnarRecords, data, 0, level, [])
    assert got == expected and len(got[0]) == 4


def test_large_fetch_matches_and_keeps_exact_bytes() -> None:
    records = [(b"order-%d" % i, bytes(range(256)) * (i % 5), [("type", b"\x00\xff"),
                                                              ("none", None)], i)
               for i in range(2000)]
    data = b"".join(build_batch(i * 40, records[i * 40:(i + 1) * 40]) for i in range(50))
    level = IsolationLevel.READ_COMMITTED
    assert drain(ColumnarRecords, data, 0, level, []) == drain(
        Fetcher.PartitionRecords, data, 0, level, [])


def test_non_utf8_header_key_is_its_own_error_naming_the_offset() -> None:
    records = [(b"k", b"v", [("h", b"1")], 0), (b"k", b"v", [("h", b"2"), ("ab", b"x")], 0)]
    data = bytearray(build_batch(40, records))
    at = data.index(b"ab")
    data[at:at + 2] = b"\xff\xfe"
    struct.pack_into(">I", data, 17, calc_crc32c(memoryview(data)[21:]))
    with pytest.raises(HeaderKeyNotUtf8, match=r"offset 41 has a header key that is not UTF-8"):
        decode_v2_batches([DefaultRecordBatch(bytes(data))])


@pytest.mark.parametrize("damage", ["record_length", "header_count", "truncate_value"])
def test_corrupt_records_raise_instead_of_misreading(damage: str) -> None:
    records = [(b"k%d" % i, b"value-%d" % i, [("h", b"x")], i) for i in range(5)]
    data = bytearray(build_batch(0, records))
    first = DefaultRecordBatch.HEADER_STRUCT.size
    if damage == "record_length":
        data[first] += 2  # the first record claims two more bytes than it has
    elif damage == "header_count":
        at = data.index(b"value-0") + len(b"value-0")
        data[at] = 0x7F  # -64 headers (zigzag)
    else:
        at = data.index(b"value-0") - 1
        data[at] = 0x7E  # value length 63: runs past the record
    struct.pack_into(">I", data, 17, calc_crc32c(memoryview(data)[21:]))
    with pytest.raises(kerr.CorruptRecordError):
        decode_v2_batches([DefaultRecordBatch(bytes(data))])


def test_crc_failure_hands_over_earlier_batches_first() -> None:
    good = build_batch(0, [(b"a", b"1", [], 0), (b"b", b"2", [], 1)])
    bad = bytearray(build_batch(2, [(b"c", b"3", [], 2)]))
    bad[-1] ^= 0xFF
    data = good + bytes(bad)
    level = IsolationLevel.READ_UNCOMMITTED
    rows, _, error = drain(ColumnarRecords, data, 0, level, [])
    expected_rows, _, expected_error = drain(Fetcher.PartitionRecords, data, 0, level, [])
    assert rows == expected_rows and len(rows) == 2
    assert isinstance(error, kerr.CorruptRecordError)
    assert type(error) is type(expected_error)


def test_corrupt_record_hands_over_the_good_batches_before_it() -> None:
    good = [build_batch(i * 2, [(b"k", b"v%d" % i, [], 0), (b"k", b"w%d" % i, [], 0)])
            for i in range(2)]
    bad = bytearray(build_batch(4, [(b"k", b"x", [], 0)]))
    bad[DefaultRecordBatch.HEADER_STRUCT.size] += 2  # its first record claims too many bytes
    struct.pack_into(">I", bad, 17, calc_crc32c(memoryview(bad)[21:]))
    data = b"".join(good) + bytes(bad)
    level = IsolationLevel.READ_UNCOMMITTED
    rows, _, error = drain(ColumnarRecords, data, 0, level, [])
    expected_rows, _, expected_error = drain(Fetcher.PartitionRecords, data, 0, level, [])
    assert rows == expected_rows and [r[2] for r in rows] == [b"v0", b"w0", b"v1", b"w1"]
    assert isinstance(error, kerr.CorruptRecordError)
    assert isinstance(expected_error, kerr.CorruptRecordError)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(record_st, min_size=1, max_size=6), data=st.data())
def test_damaged_records_fail_as_kafka_python_fails(records: list[tuple],
                                                    data: st.DataObject) -> None:
    """Random bytes of the records section changed (CRC fixed up): either both decoders read
    the same records, or both fail, ours with CorruptRecordError."""
    batch = bytearray(build_batch(0, records))
    first = DefaultRecordBatch.HEADER_STRUCT.size
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(first, len(batch) - 1))
        batch[at] = data.draw(st.integers(0, 255))
    struct.pack_into(">I", batch, 17, calc_crc32c(memoryview(batch)[21:]))
    level = IsolationLevel.READ_UNCOMMITTED
    expected_rows, _, expected_error = drain(Fetcher.PartitionRecords, bytes(batch), 0, level, [])
    rows, _, error = drain(ColumnarRecords, bytes(batch), 0, level, [])
    if expected_error is None and error is None:
        assert rows == expected_rows
    else:
        assert expected_error is not None
        assert isinstance(error, kerr.CorruptRecordError), repr(error)
        assert rows == []  # one batch: nothing from it is handed over
