"""Producing to Kafka: records sent in order with every acknowledgement checked, and record
batches written byte for byte, null header values included.

`RecordSender` sends to one topic through an `acks='all'` KafkaProducer. It picks partitions
like the Java client's default partitioner (murmur2 of the key; keyless records round-robin by
send index, so a run is repeatable), gives every future an errback that counts failures and
keeps the first error, and hands back a `Sent` per record that tells where it landed.

kafka-python's `KafkaProducer.send` refuses a header whose value is None (a type check in
`send`; its accumulator measures header values with len()), though the record format allows
one (length -1 on the wire). Such a record is sent after a flush of everything before it (so
the log order holds in every partition) through `RawBatchWriter`: a v2 record batch built with
kafka-python's builder, sent in a bare ProduceRequest with acks=-1. That class is the one place
that uses kafka-python 3.0 internals (the admin client's connection manager).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

import kafka.errors as kerr
from kafka import KafkaAdminClient, KafkaProducer
from kafka.partitioner import murmur2
from kafka.protocol.producer import ProduceRequest
from kafka.record.default_records import DefaultRecordBatchBuilder

from eventlab.errors import BrokerUnavailable, SourceError
from eventlab.kafka.config import KafkaConfig, kafka_errors

Headers = list[tuple[str, bytes | None]]
"""Record headers in order: repeated keys and null values are allowed."""
RawRecord = tuple[bytes | None, bytes | None, Headers, int | None]
"""key, value (None: a tombstone), headers, timestamp in epoch ms (None: the broker's time)."""
MAX_REQUEST_BYTES = 8 << 20
"""Produce requests up to 8 MiB: many 256 KiB batches per round trip, and room for 1 MB records."""


class RawBatchWriter:
    """Writes records as one v2 record batch, exactly as given; returns the batch's offset."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self._client: KafkaAdminClient | None = None

    def send(self, topic: str, partition: int, records: Sequence[RawRecord]) -> int:
        """Write `records` as ONE batch to the partition's leader; the first record's offset."""
        with kafka_errors(self.config, f"writing a record batch to {topic}[{partition}]"):
            if self._client is None:
                self._client = KafkaAdminClient(**self.config.client_kwargs())
            client = self._client
            builder = DefaultRecordBatchBuilder(
                magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                producer_epoch=-1, base_sequence=-1, batch_size=1 << 30)
            for i, (key, value, headers, ts_ms) in enumerate(records):
                builder.append(i, timestamp=ts_ms, key=key, value=value, headers=headers)
            meta = client.describe_topics([topic])[0]
            leader = next(p["leader_id"] for p in meta["partitions"]
                          if p["partition_index"] == partition)
            data = ProduceRequest.TopicProduceData
            request = ProduceRequest(
                transactional_id=None, acks=-1, timeout_ms=int(self.config.timeout_s * 1000),
                max_version=9, topic_data=[data(name=topic, partition_data=[
                    data.PartitionProduceData(index=partition,
                                              records=bytes(builder.build()))])])

            async def _send() -> Any:
                return await client._manager.send(request, node_id=leader)

            result = client._manager.run(_send).responses[0].partition_responses[0]
            if result.error_code:
                raise kerr.for_code(result.error_code)()
        return int(result.base_offset)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> RawBatchWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# Errors after which the broker has certainly not written the record: it refused it. Any
# other failure (a timeout, a lost connection, a sequence error after a broker restart) may
# come after the broker wrote it, so its outcome is UNKNOWN, never FAILED.
_REFUSED = (kerr.MessageSizeTooLargeError, kerr.RecordListTooLargeError, kerr.InvalidTopicError,
            kerr.TopicAuthorizationFailedError, kerr.ClusterAuthorizationFailedError,
            kerr.InvalidRecordError, kerr.InvalidTimestampError, kerr.CorruptRecordError,
            kerr.UnsupportedVersionError, kerr.UnsupportedForMessageFormatError,
            kerr.InvalidRequiredAcksError)
ACKED, FAILED, UNKNOWN, PENDING = "acked", "failed", "unknown", "pending"
"""A record's delivery outcome (`Sent.outcome`)."""


def delivery_state(exc: BaseException) -> str:
    """FAILED when the broker refused the record (certainly not written), else UNKNOWN."""
    cause = exc.__cause__ if isinstance(exc, SourceError) and exc.__cause__ else exc
    return FAILED if isinstance(cause, _REFUSED) else UNKNOWN


class Sent:
    """One record handed to a `RecordSender`: where it landed, once acknowledged."""

    __slots__ = ("_error", "_future", "_position")

    def __init__(self, future: Any = None, position: tuple[int, int] | None = None,
                 error: BaseException | None = None) -> None:
        self._future = future
        self._position = position
        self._error = error

    def position(self) -> tuple[int, int] | None:
        """(partition, offset) once acknowledged; None before that or when it failed."""
        if self._position is None and self._future is not None and self._future.succeeded():
            self._position = (self._future.value.partition, self._future.value.offset)
        return self._position

    def wait(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the broker's answer; True once there is one."""
        future = self._future
        if future is None or future.is_done:
            return True
        with contextlib.suppress(Exception):  # the outcome is read with outcome()
            future.get(timeout_s)
        return bool(future.is_done)

    def outcome(self) -> tuple[str, int | None, int | None, str | None]:
        """(state, partition, offset, error): ACKED with where it landed, FAILED (refused by
        the broker), UNKNOWN (no answer in time or a failure after which it may have been
        written) or PENDING (no answer yet)."""
        if self.position() is not None:
            partition, offset = self._position  # type: ignore[misc]
            return ACKED, partition, offset, None
        error = self._error
        if error is None and self._future is not None:
            if not self._future.is_done:
                return PENDING, None, None, None
            error = self._future.exception
        if error is None:
            return UNKNOWN, None, None, "no answer"
        return delivery_state(error), None, None, f"{type(error).__name__}: {error}"


class Outcomes:
    """The delivery outcomes of records in send order, as columns (state, partition, offset,
    error; see `Sent.outcome`).

    `sweep` reads the answers that have arrived at the front and lets their `Sent` go: a
    sender that sweeps every hundred records or so (`send.SWEEP`) holds a few hundred futures,
    not one per record of a whole run. Futures that live across many allocations reach the
    cyclic GC's oldest generation, and enough of them trigger full collections: that cost
    a third of a republish's CPU when a chunk's futures were kept until the chunk was done.
    """

    __slots__ = ("_open", "errors", "offsets", "parts", "states")

    def __init__(self, sents: Sequence[Sent] = ()) -> None:
        self.states: list[str] = []
        self.parts: list[int | None] = []
        self.offsets: list[int | None] = []
        self.errors: list[str | None] = []
        self._open: list[Sent] = list(sents)

    def add(self, sent: Sent) -> None:
        """The next record's `Sent`."""
        self._open.append(sent)

    @property
    def held(self) -> int:
        """How many records' `Sent` are still held (their outcome not taken yet)."""
        return len(self._open)

    def sweep(self) -> None:
        """Take the outcomes of the records at the front that have their answer."""
        opened = self._open
        done = 0
        for s in opened:
            f = s._future
            if f is not None and not f.is_done:
                break
            self._take(s)
            done += 1
        del opened[:done]

    def _take(self, s: Sent) -> None:
        f = s._future
        if f is not None and f.is_done and f.exception is None:  # the common case, inline
            value = f.value
            self.states.append(ACKED)
            self.parts.append(value.partition)
            self.offsets.append(value.offset)
            self.errors.append(None)
            return
        state, p, o, err = s.outcome()
        self.states.append(state)
        self.parts.append(p)
        self.offsets.append(o)
        self.errors.append(err)

    def finish(self, timeout_s: float
               ) -> tuple[list[str], list[int | None], list[int | None], list[str | None]]:
        """Wait up to `timeout_s` in all for the remaining answers; every record's outcome
        as columns (state, partition, offset, error). PENDING after the wait stays PENDING."""
        deadline = time.monotonic() + timeout_s
        for s in self._open:
            s.wait(max(0.0, deadline - time.monotonic()))
            self._take(s)
        self._open = []
        return self.states, self.parts, self.offsets, self.errors


def outcomes_of(sents: Sequence[Sent], timeout_s: float
                ) -> tuple[list[str], list[int | None], list[int | None], list[str | None]]:
    """Wait up to `timeout_s` in all for the answers; each record's `Sent.outcome`, as
    columns (state, partition, offset, error). PENDING after the wait stays PENDING."""
    return Outcomes(sents).finish(timeout_s)


class RecordSender:
    """Sends records to one topic in order, acks='all', counting failures (see the module)."""

    def __init__(self, config: KafkaConfig, topic: str, partitions: int,
                 **producer_options: Any) -> None:
        timeout_ms = int(config.timeout_s * 1000)
        options: dict[str, Any] = {
            "acks": "all", "linger_ms": 20, "batch_size": 262144,
            "max_request_size": MAX_REQUEST_BYTES, "max_block_ms": max(timeout_ms, 10_000),
            "delivery_timeout_ms": max(30_000, 3 * timeout_ms), **producer_options}
        self.config, self.topic, self.partitions = config, topic, partitions
        self._flush_timeout_s = options["delivery_timeout_ms"] / 1000 + 1
        self.sent = self.failed = 0
        self.first_error: BaseException | None = None
        self._slots: dict[bytes, int] = {}
        self._raw: RawBatchWriter | None = None
        with kafka_errors(config, f"connecting to send to {topic}"):
            self._producer = KafkaProducer(**{**config.client_kwargs(), **options})

    def _failure(self, exc: BaseException) -> None:
        self.failed += 1
        if self.first_error is None:
            self.first_error = exc

    def partition(self, key: bytes | None) -> int:
        """murmur2 of the key like the Java client; keyless records round-robin by send index."""
        if key is None:
            return self.sent % self.partitions
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = (murmur2(key) & 0x7FFFFFFF) % self.partitions
        return slot

    def send(self, key: bytes | None, value: bytes | None, headers: Headers,
             timestamp_ms: int | None, partition: int | None = None,
             null_header: bool | None = None) -> Sent:
        """Send one record after all sent before it; failures are counted when they happen.

        `partition` overrides the default choice (`partition(key)`); `null_header` says
        whether a header value is None (None: look). A failure to hand the record over (no
        metadata within max_block_ms) raises `SourceError`: it was not sent.
        """
        if partition is None:
            partition = self.partition(key)
        if null_header is None:
            null_header = None in (v for _, v in headers)
        if null_header:  # KafkaProducer refuses it: flush, then write raw
            if not self.flush(self._flush_timeout_s):  # never out of order: not sent at all
                raise BrokerUnavailable(
                    f"records sent to {self.topic} before one with a null header value were "
                    f"not acknowledged within {self._flush_timeout_s:g} s; it was not sent")
            if self._raw is None:
                self._raw = RawBatchWriter(self.config)
            self.sent += 1
            try:
                offset = self._raw.send(self.topic, partition,
                                        [(key, value, headers, timestamp_ms)])
            except SourceError as exc:
                self._failure(exc)
                return Sent(error=exc)
            return Sent(position=(partition, offset))
        try:  # not `with kafka_errors(...)`: this is the per-record path
            future = self._producer.send(self.topic, value=value, key=key, headers=headers,
                                         partition=partition, timestamp_ms=timestamp_ms)
        except kerr.KafkaError:
            with kafka_errors(self.config, f"sending to {self.topic}"):
                raise
        future.add_errback(self._failure)
        self.sent += 1
        return Sent(future)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every record sent so far is acknowledged or failed; False when
        `timeout_s` passed first (the records still out have an unknown outcome)."""
        if timeout_s is None:
            self._producer.flush()
            return True
        # KafkaProducer.flush(timeout) waits up to `timeout` for EACH batch in turn; this
        # waits `timeout_s` in total (kafka-python 3.0 internals, like RawBatchWriter).
        deadline = time.monotonic() + timeout_s
        accumulator = self._producer._accumulator
        accumulator.begin_flush()
        self._producer._sender.wakeup()
        try:
            for batch in accumulator._incomplete.all():
                left = deadline - time.monotonic()
                if left <= 0 or not batch.produce_future.wait(timeout=left):
                    return False
        finally:
            accumulator._flushes_in_progress.decrement()
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        """Close the producer (sending what is buffered first) and the raw writer."""
        try:
            self._producer.close(timeout=timeout_s)
        finally:
            if self._raw is not None:
                self._raw.close()
