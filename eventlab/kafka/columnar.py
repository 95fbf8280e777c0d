"""Kafka record batches decoded straight into Arrow columns.

kafka-python turns every record into Python objects (a `DefaultRecord`, then a
`ConsumerRecord`, bytes for key, value and each header): about 15 µs per record, most of the
cost of a raw consume. EventLab wants columns, so `install(consumer)` gives the consumer's
fetcher `ColumnarRecords`: each partition's fetch response becomes one `RawChunk` of Arrow
arrays instead of a list of records.

The batch level (framing, CRC, decompression, control batches, aborted transactions under
`read_committed`) follows kafka-python's own `Fetcher.PartitionRecords` step by step, using its
batch classes. The records of the kept batches are decoded by `recordbatch`, all at once.
Legacy batches (message format v0/v1) go through kafka-python's record objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kafka.errors as kerr
import numpy as np
import pyarrow as pa
from kafka.consumer.fetcher import Fetcher, IsolationLevel
from kafka.record.default_records import DefaultRecordBatch

from eventlab.kafka.recordbatch import decode_v2_batches, rows_to_table


class RawChunk:
    """Consecutive records of one partition as an Arrow table in `CHUNK_SCHEMA`."""

    __slots__ = ("table", "_offsets")

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self._offsets = table.column("offset").to_numpy()

    def __len__(self) -> int:
        return self.table.num_rows

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

    def drop_head(self, count: int) -> None:
        """Drop the first `count` records, in place."""
        self.table = self.table.slice(count)
        self._offsets = self._offsets[count:]

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

    payload = True  # False: keys and values are not copied out (`decode_v2_batches`)

    def _maybe_skip_record(self, chunk: RawChunk) -> bool:  # type: ignore[override]
        # A fetch may start inside a batch (compressed batches are sent whole): drop the
        # records before the fetch offset, as kafka-python does record by record.
        chunk.drop_head(chunk.count_before(self.fetch_offset))
        return len(chunk) == 0

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
            table = decode_v2_batches(batches, self.payload)
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


class HeaderRecords(ColumnarRecords):
    """`ColumnarRecords` without keys and values (null): positions, timestamps and headers."""

    payload = False


def install(consumer: Any, payload: bool = True) -> None:
    """Make `consumer.poll()` return `RawChunk`s (one per partition fetch) instead of records;
    `payload=False`: v2 records' keys and values are left null (`HeaderRecords`).

    Raises RuntimeError when this kafka-python does not have the fetcher this relies on (the
    version is pinned; the tests exercise every path).
    """
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is None or not hasattr(fetcher, "PartitionRecords"):
        raise RuntimeError("this kafka-python has no Fetcher.PartitionRecords to replace; "
                           "EventLab needs the pinned kafka-python version")
    fetcher.PartitionRecords = ColumnarRecords if payload else HeaderRecords
