"""The raw Kafka reader: records as Arrow tables of exact bytes, with explicit positions.

`KafkaRawReader` reads topics with `assign()`: no consumer group, no commits, no deserializers,
no silent offset reset (docs/safety.md, items 1-11). Each `next_batch()` returns one Arrow
table in `RAW_SCHEMA`; `positions()` gives the next offset per partition for exactly what was
returned, so a store that saves both in one transaction resumes with no gap and no duplicate.

Records never become Python objects: the consumer's fetcher gets `columnar.ColumnarRecords`,
so each partition's fetch arrives as one Arrow chunk (about 2 µs a record instead of
kafka-python's 15). A batch holds at most `max_records`; the rest of a chunk is held back for
the next batch, and positions cover exactly what was handed over.

Bounded reads: `until="end"` stops at the end offsets taken at start, `until=N` after N records,
`until="follow"` only on `cancel()`. A read that stops answering is checked against the cluster
(broker down, topic deleted, a record too big to fetch) and raises with topic context.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

import kafka.errors as kerr
import pyarrow as pa
from kafka import KafkaConsumer, TopicPartition

from eventlab.errors import (
    BrokerUnavailable,
    OffsetOutOfRange,
    RecordTooLarge,
    SourceError,
    TopicGone,
)
from eventlab.kafka import admin, columnar
from eventlab.kafka.columnar import RawChunk
from eventlab.kafka.config import KafkaConfig, kafka_errors, unreachable_message
from eventlab.kafka.positions import TP, Start, Until
from eventlab.kafka.recordbatch import CHUNK_SCHEMA, HeaderKeyNotUtf8
from eventlab.timeutil import as_utc

RAW_SCHEMA = pa.schema([pa.field("topic", pa.string(), nullable=False),
                        pa.field("partition", pa.int32(), nullable=False), *CHUNK_SCHEMA])
_POLL_SLICE_S = 0.2


class KafkaRawReader:
    """Read topics as raw records, batch by batch, with exact resumable positions."""

    def __init__(self, config: KafkaConfig, topics: Sequence[str], start: Start = "earliest",
                 until: Until = "end", resume: Mapping[TP, int] | None = None,
                 isolation_level: str = "read_committed", *,
                 max_partition_fetch_bytes: int = 8 * 1024 * 1024,
                 idle_check_s: float = 5.0, stall_timeout_s: float = 30.0,
                 consumer_overrides: Mapping[str, Any] | None = None,
                 payload: bool = True) -> None:
        """Look up partitions and offsets and position the consumer; no records are read yet.

        `resume` (next offset per partition, from `ingest_offsets`) wins over `start` for the
        partitions it covers. A start `dict` gives offsets per partition; partitions it leaves
        out start at earliest. A naive `datetime` is taken as UTC. `payload=False`: the `key`
        and `value` columns are null (not copied out; for reading positions and headers only).
        """
        if isinstance(topics, str) or not topics:
            raise ValueError("topics must be a non-empty list of topic names")
        if not (until in ("end", "follow") or (type(until) is int and until > 0)):
            raise ValueError(
                f"until must be 'end', 'follow' or a positive record cap, not {until!r}")
        self.config = config
        self.topics = list(dict.fromkeys(topics))
        self.until: Until = until
        self.isolation_level = isolation_level
        self.finished = False
        self.stopped_because: str | None = None
        self._fetch_limit = max_partition_fetch_bytes
        self._idle_check_s = idle_check_s
        self._stall_timeout_s = stall_timeout_s
        self._cancel = threading.Event()
        self._returned = 0
        self._pending_error: Exception | None = None
        self._held: list[tuple[TopicPartition, RawChunk, int]] = []  # polled, not handed over
        self._consumer: KafkaConsumer | None = None

        counts = admin.partition_counts(config, self.topics)
        missing = [t for t in self.topics if counts.get(t) is None]
        if missing:
            raise TopicGone(f"topic {', '.join(missing)} does not exist on {config.bootstrap}: "
                            "check the name (topics are case-sensitive)")
        self._counts: dict[str, int] = {t: counts[t] or 0 for t in self.topics}
        tps = [(t, p) for t in self.topics for p in range(self._counts[t])]
        bounds = admin.offset_bounds(config, tps, isolation_level)
        self.earliest: dict[TP, int] = {tp: bounds[tp][0] for tp in tps}
        self.end_offsets: dict[TP, int] = {tp: bounds[tp][1] for tp in tps}

        overrides = {"max_partition_fetch_bytes": max_partition_fetch_bytes,
                     **(consumer_overrides or {})}
        with kafka_errors(config, f"connecting to read {', '.join(self.topics)}"):
            self._consumer = KafkaConsumer(**config.consumer_kwargs(isolation_level, **overrides))
        columnar.install(self._consumer, payload)
        try:
            self.start_offsets, self._after_ts = self._start_positions(tps, start, resume or {})
            self._check_in_range(self.start_offsets)
            self._positions: dict[TP, int] = {}
            self._done: set[TP] = set()
            if until == "end":
                self._done = {tp for tp in tps if self.start_offsets[tp] >= self.end_offsets[tp]}
            todo = [tp for tp in tps if tp not in self._done]
            if todo:
                self._consumer.assign([TopicPartition(*tp) for tp in todo])
                for tp in todo:
                    self._consumer.seek(TopicPartition(*tp), self.start_offsets[tp])
        except BaseException:
            self.close()
            raise
        now = time.monotonic()
        self._last_check = now
        self._progress_at: dict[TP, float] = dict.fromkeys(tps, now)
        self._returned_at: float | None = None

    # -- positions -------------------------------------------------------------------------

    def _start_positions(self, tps: list[TP], start: Start, resume: Mapping[TP, int]
                         ) -> tuple[dict[TP, int], dict[TP, int]]:
        """Start offset per partition, plus timestamp filters for a time-based start."""
        resume = {(str(t), int(p)): int(o) for (t, p), o in resume.items()}
        after_ts: dict[TP, int] = {}
        if start == "earliest":
            starts = dict(self.earliest)
        elif start == "latest":
            starts = dict(self.end_offsets)
        elif isinstance(start, datetime):
            ts = as_utc(start)
            ms = int(ts.timestamp() * 1000)
            wanted = [tp for tp in tps if tp not in resume]
            starts = dict(self.end_offsets)
            assert self._consumer is not None
            with kafka_errors(self.config, f"looking up offsets at {ts.isoformat()}"):
                found = self._consumer.offsets_for_times(
                    {TopicPartition(*tp): ms for tp in wanted},
                    timeout_ms=int(self.config.timeout_s * 1000))
            for tp in wanted:
                hit = found.get(TopicPartition(*tp))
                if hit is not None:
                    # Kafka gives the first offset with timestamp >= ms; a broker that answers
                    # loosely (Tansu gives offset 0, timestamp -1) is corrected by skipping
                    # records older than ms in next_batch, which is a no-op on Kafka.
                    starts[tp] = min(max(hit.offset, self.earliest[tp]), self.end_offsets[tp])
                    after_ts[tp] = ms
        elif isinstance(start, Mapping):
            starts = dict(self.earliest)
            for (t, p), offset in start.items():
                if (str(t), int(p)) in starts:
                    if int(offset) < 0:
                        raise ValueError(f"start offset for {t}[{p}] must be >= 0, not {offset}")
                    starts[(str(t), int(p))] = int(offset)
        else:
            raise ValueError("start must be 'earliest', 'latest', a datetime or a dict of "
                             f"(topic, partition) -> offset, not {start!r}")
        for tp, offset in resume.items():
            if tp in starts:
                starts[tp] = offset
                after_ts.pop(tp, None)
        return starts, after_ts

    def _check_in_range(self, starts: Mapping[TP, int]) -> None:
        for tp, offset in starts.items():
            if offset < self.earliest[tp] or offset > self.end_offsets[tp]:
                raise offset_out_of_range(tp, offset, self.earliest[tp], self.end_offsets[tp])

    def positions(self) -> dict[TP, int]:
        """Next offset to read per partition, for the partitions `next_batch` has moved."""
        return dict(self._positions)

    # -- reading ---------------------------------------------------------------------------

    def cancel(self) -> None:
        """Ask the reader to stop; thread-safe. The next `next_batch` returns None."""
        self._cancel.set()

    def next_batch(self, max_records: int = 10_000, timeout_ms: int = 1000) -> pa.Table | None:
        """Up to `max_records` raw records as one table; empty if none came within the timeout.

        Returns None once finished (`stopped_because` says why). Raises a `SourceError` subclass
        when reading cannot go on; what was returned before, and `positions()`, stay valid.
        """
        if self.finished:
            return None
        self._discount_caller_time()
        if self._pending_error is not None:
            self._fail(self._pending_error)
        if self._cancel.is_set():
            return self._finish("cancelled")
        limit = max_records
        if isinstance(self.until, int):
            limit = min(limit, self.until - self._returned)
            if limit <= 0:
                return self._finish("record cap")
        if self.until == "end" and len(self._done) == len(self.end_offsets):
            return self._finish("end reached")

        held = sum(len(c) for _, c, _ in self._held)
        polled = self._poll(limit - held, 0.0 if held else timeout_ms / 1000) \
            if held < limit else []
        table, moved = self._build(polled, limit)
        if not moved:
            assert self._consumer is not None
            self._catch_up(self._consumer.assignment())
        self._maybe_check(time.monotonic())
        self._returned += table.num_rows
        if isinstance(self.until, int) and self._returned >= self.until:
            self._finish("record cap")
        elif self.until == "end" and len(self._done) == len(self.end_offsets):
            self._finish("end reached")
        elif self._cancel.is_set():
            self._finish("cancelled")
        self._returned_at = time.monotonic()
        return table

    def _discount_caller_time(self) -> None:
        """Time the caller spent between two calls (a slow writer downstream, with the
        records of other partitions still to hand over) is not time a partition was stuck."""
        if self._returned_at is None:
            return
        away = time.monotonic() - self._returned_at
        if away > 0.05:
            for tp in self._progress_at:
                self._progress_at[tp] += away
            self._last_check += away

    def _finish(self, reason: str) -> None:
        self.finished = True
        self.stopped_because = reason
        return None

    def _poll(self, limit: int, timeout_s: float) -> list[tuple[TopicPartition, list[RawChunk]]]:
        """Poll until records come (in slices, so cancel is seen), then drain what is buffered.

        Each partition's fetch arrives as one `RawChunk`, so more than `limit` records may
        come; `_build` holds back what does not fit.
        """
        assert self._consumer is not None
        chunks: list[tuple[TopicPartition, list[RawChunk]]] = []
        if limit <= 0:
            return chunks
        if not self._consumer.assignment():
            time.sleep(min(timeout_s, _POLL_SLICE_S))
            return chunks
        deadline = time.monotonic() + timeout_s
        got = 0
        while got < limit:
            wait_s = 0.0 if got else min(_POLL_SLICE_S, max(0.0, deadline - time.monotonic()))
            try:
                polled = self._consumer.poll(timeout_ms=int(wait_s * 1000), max_records=limit - got)
            except Exception as exc:  # translated with topic context in _fail
                if chunks:  # hand over what came first; raise on the next call
                    self._pending_error = exc
                    break
                self._fail(exc)
            if polled:
                for tp, records in polled.items():
                    chunks.append((tp, records))
                    got += sum(map(len, records))
            elif got or self._cancel.is_set() or time.monotonic() >= deadline:
                break
        return chunks

    def _build(self, polled: list[tuple[TopicPartition, list[RawChunk]]], limit: int
               ) -> tuple[pa.Table, bool]:
        """Up to `limit` records, held-back ones first, as one Arrow table; advance positions
        for exactly what is handed over and hold back the rest, in order."""
        queue = self._held
        for ktp, chunks in polled:
            queue.extend(self._arrived(ktp, chunk) for chunk in chunks)
        tables: list[pa.Table] = []
        moved = False
        room = limit
        taken = 0
        while taken < len(queue) and room > 0:
            ktp, chunk, next_offset = queue[taken]
            if len(chunk) > room:  # hand over the head, hold the tail
                queue[taken] = (ktp, chunk.tail(room), next_offset)
                chunk = chunk.head(room)
                next_offset = chunk.last_offset + 1
            else:
                taken += 1
            room -= len(chunk)
            self._advance((ktp.topic, ktp.partition), next_offset)
            moved = True
            if len(chunk):
                tables.append(_with_partition(chunk.table, ktp.topic, ktp.partition))
        self._held = queue[taken:]
        self._catch_up({ktp for ktp, _ in polled})
        if not tables:
            return RAW_SCHEMA.empty_table(), moved
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0], moved

    def _arrived(self, ktp: TopicPartition, chunk: RawChunk
                 ) -> tuple[TopicPartition, RawChunk, int]:
        """A polled chunk cut at the end offset (and at the start time of a time-based start),
        with the position after it."""
        tp = (ktp.topic, ktp.partition)
        next_offset = chunk.last_offset + 1
        if self.until == "end" and next_offset > self.end_offsets[tp]:
            next_offset = self.end_offsets[tp]
            chunk = chunk.head(chunk.count_before(next_offset))
        if tp in self._after_ts:
            first = chunk.first_at_or_after(self._after_ts[tp]) if len(chunk) else None
            if first is None:
                chunk = chunk.head(0)
            else:
                del self._after_ts[tp]
                chunk = chunk.tail(first)
        return ktp, chunk, next_offset

    def _advance(self, tp: TP, next_offset: int) -> None:
        if next_offset > self._positions.get(tp, self.start_offsets[tp]):
            self._positions[tp] = next_offset
            self._progress_at[tp] = time.monotonic()
        if self.until == "end" and next_offset >= self.end_offsets[tp] and tp not in self._done:
            self._done.add(tp)
            assert self._consumer is not None
            self._consumer.pause(TopicPartition(*tp))

    # -- when nothing comes ----------------------------------------------------------------

    def _catch_up(self, partitions: set[TopicPartition]) -> None:
        """Follow the consumer over offsets it skipped without returning a record.

        Transaction markers, aborted batches and compacted gaps move the consumer's position
        but return nothing; everything before that position has been handed over, so the
        reader's position may follow (else `until="end"` would wait on a trailing marker).
        Not while records of the partition are held back: they come first.
        """
        assert self._consumer is not None
        holding = {ktp for ktp, _, _ in self._held}
        for ktp in partitions - holding:
            tp = (ktp.topic, ktp.partition)
            if tp in self._done or tp in self._after_ts:
                continue
            with kafka_errors(self.config, f"reading {tp[0]}[{tp[1]}]"):
                position = self._consumer.position(ktp, timeout_ms=1000)
            if position is not None:
                end = self.end_offsets[tp] if self.until == "end" else position
                self._advance(tp, min(position, end))

    def _maybe_check(self, now: float) -> None:
        """Every `idle_check_s`, if a partition has not moved for as long, check the cluster
        (broker and topics still there) and look for stuck partitions."""
        if now - self._last_check < self._idle_check_s:
            return
        if all(tp in self._done or now - moved < self._idle_check_s
               for tp, moved in self._progress_at.items()):
            return
        self._last_check = now
        self._check_cluster()
        self._check_stalls(now)

    def _check_cluster(self) -> None:
        """Broker still there? Topics still there? Raise with what was read so far."""
        doing = f"reading {', '.join(self.topics)}"
        try:
            counts = admin.partition_counts(self.config, self.topics)
        except BrokerUnavailable:
            self._stop_with(BrokerUnavailable(
                f"{unreachable_message(self.config, doing)}. {self._read_so_far()}"))
        for topic in self.topics:
            count = counts.get(topic)
            if count is None or count < self._counts[topic]:
                what = "was deleted" if count is None else f"shrank to {count} partitions"
                self._stop_with(TopicGone(
                    f"topic {topic} {what} on {self.config.bootstrap} while it was being read. "
                    f"{self._read_so_far(topic)}"))

    def _check_stalls(self, now: float) -> None:
        """A partition with records ahead that has not moved for `stall_timeout_s` is stuck."""
        assert self._consumer is not None
        for ktp in self._consumer.assignment():
            tp = (ktp.topic, ktp.partition)
            if tp in self._done or tp in self._after_ts:
                continue
            ahead = self.end_offsets[tp]
            highwater = self._consumer.highwater(ktp)
            if self.isolation_level == "read_uncommitted" and highwater is not None:
                ahead = max(ahead, highwater)  # read_committed may wait on an open transaction
            position = self._positions.get(tp, self.start_offsets[tp])
            if position < ahead and now - self._progress_at[tp] >= self._stall_timeout_s:
                self._stop_with(RecordTooLarge(
                    f"topic {tp[0]} partition {tp[1]}: no progress at offset {position} for "
                    f"{now - self._progress_at[tp]:.0f} s although records exist up to offset "
                    f"{ahead - 1}. The record at offset {position} is probably larger than the "
                    f"fetch limit ({self._fetch_limit} bytes per partition); raise "
                    "max_partition_fetch_bytes, or start after it by giving start offsets."))

    # -- errors ----------------------------------------------------------------------------

    def _read_so_far(self, topic: str | None = None) -> str:
        mine = sorted(tp for tp in self._positions if topic is None or tp[0] == topic)
        if not mine:
            return "Nothing was read from it yet."
        return "Next offset to read: " + ", ".join(
            f"{t}[{p}]={self._positions[(t, p)]}" for t, p in mine) + "."

    def _stop_with(self, error: SourceError) -> NoReturn:
        self._finish(str(error))
        raise error

    def _fail(self, exc: Exception) -> NoReturn:
        """Translate an exception from poll() into our errors, with topic context."""
        self._finish(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, SourceError):
            self._stop_with(exc)
        if isinstance(exc, kerr.OffsetOutOfRangeError) and exc.args and isinstance(
                exc.args[0], dict):
            ktp, offset = next(iter(exc.args[0].items()))
            tp = (ktp.topic, ktp.partition)
            earliest, end = self.earliest[tp], self.end_offsets[tp]
            try:
                fresh = admin.offset_bounds(self.config, [tp], self.isolation_level)[tp]
                earliest, end = fresh
            except SourceError:
                pass
            self._stop_with(offset_out_of_range(tp, offset, earliest, end))
        if isinstance(exc, HeaderKeyNotUtf8):
            self._stop_with(SourceError(
                f"reading {', '.join(self.topics)}: {exc} (Kafka requires UTF-8 header keys; "
                f"start after that offset to skip the record). {self._read_so_far()}"))
        if isinstance(exc, kerr.CorruptRecordError):
            self._stop_with(SourceError(
                f"corrupt record data while reading {', '.join(self.topics)}: {exc}. "
                f"{self._read_so_far()}"))
        if isinstance(exc, kerr.KafkaError) and "Failed to make progress" in str(exc):
            self._stop_with(RecordTooLarge(f"{exc}; raise max_partition_fetch_bytes"))
        try:
            with kafka_errors(self.config, f"reading {', '.join(self.topics)}"):
                raise exc
        except SourceError as error:
            self._stop_with(type(error)(f"{error}. {self._read_so_far()}"))
        raise exc  # not a Kafka error: a bug, let it through

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the consumer (no commit: EventLab keeps its own offsets). Idempotent."""
        consumer, self._consumer = self._consumer, None
        if not self.finished:
            self._finish("cancelled")
        if consumer is not None:
            consumer.close(autocommit=False)

    def __enter__(self) -> KafkaRawReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _with_partition(chunk: pa.Table, topic: str, partition: int) -> pa.Table:
    """A chunk's records in `RAW_SCHEMA`: the topic and partition as leading columns."""
    n = chunk.num_rows
    columns = [pa.repeat(pa.scalar(topic, pa.string()), n),
               pa.repeat(pa.scalar(partition, pa.int32()), n), *chunk.columns]
    return pa.Table.from_arrays(columns, schema=RAW_SCHEMA)


def offset_out_of_range(tp: TP, requested: int, earliest: int, end: int) -> OffsetOutOfRange:
    """The error for an offset outside [earliest, end]: what was asked and what exists."""
    topic, partition = tp
    if requested < earliest:
        message = (f"topic {topic} partition {partition}: requested offset {requested}, earliest "
                   f"available {earliest}, {earliest - requested} records expired (removed by "
                   "retention or compaction). EventLab does not skip them silently: start from "
                   "earliest if losing them is acceptable.")
    else:
        message = (f"topic {topic} partition {partition}: requested offset {requested} is past "
                   f"the end of the partition (next offset {end}); was the topic deleted and "
                   "created again? Start from earliest or latest.")
    return OffsetOutOfRange(message, topic=topic, partition=partition, requested=requested,
                            earliest=earliest, end=end)
