"""Produce the demo shop (`eventlab.demo`) to a Kafka topic, with its anomalies and poison records.

Every demo event becomes one record, in log order:

- key: the entity id (`aggregateId`) as UTF-8; no key when the row's aggregateId is null.
  Keyed records go to the partition Kafka's default partitioner would pick (murmur2 of the key);
  keyless ones to `send index % partitions`, so the same seed always gives the same partitions.
- timestamp (CreateTime): the event time in ms; for rows whose timestamp is null, the time the
  row was written to the log (its arrival time), so the run stays deterministic.
- value and headers, by mode (`--cloudevents`):

  envelope (default)  value: the JSON envelope {"id", "type", "schemaVersion", "aggregateType",
                      "aggregateId", "version", "timestamp" (ISO 8601 UTC, microseconds),
                      "data": {...}, "metadata": {...}}; headers event_type, event_id,
                      event_version (the schema version), correlation_id.
  structured          value: a CloudEvents 1.0 JSON document: specversion "1.0", id, source
                      ("/shop/<service>", e.g. "/shop/order-service"), type, subject (entity
                      id), time, datacontenttype "application/json", extensions entitytype,
                      sequence (the stream version as a decimal string, as the CloudEvents
                      sequence extension types it), eventversion (integer), correlationid,
                      causationid, and data (an object); headers as in envelope mode plus
                      content-type "application/cloudevents+json; charset=UTF-8".
  binary              value: the data JSON only; attributes as headers ce_specversion, ce_id,
                      ce_source, ce_type, ce_subject, ce_time, ce_entitytype, ce_sequence,
                      ce_eventversion, ce_correlationid, ce_causationid, and content-type
                      "application/json".

  A null type, aggregateId or timestamp of the demo row is left out of the value and its header
  is not sent: those records lack the field. A flow's first event has no causationid (CE modes;
  the envelope's metadata keeps "causation_id": null).
  Duplicates, out-of-order times and sequence gaps travel as they are in the demo table.

Poison records (exports of at least 100 events; `POISON_KINDS`). Five extra records, the k-th
(k = 1..5) sent just before demo event number floor(k * N / 6) (0-based, N = --events), so the
k-th has send index floor(k * N / 6) + k - 1 (for 50,000 events: 8333, 16667, 25002, 33336,
41670). Each carries the header `poison` = its kind; its timestamp is the previous event's:

  not-json      key b"poison-not-json", value `NOT_JSON_VALUE` (a JSON document cut short).
  non-utf8-key  key `NON_UTF8_KEY` (b"poison-\\xff\\xfe-key"); value: a valid event of the mode.
  tombstone     key = the id of the latest order event before it (an existing order), value
                null: "order deleted" on a compacted topic.
  null-header   key b"poison-null-header"; a valid event of the mode whose headers also hold
                ("trace_id", null) - a header with a null value (length -1 on the wire).
  huge          key b"poison-huge"; a valid event of the mode padded to exactly
                `HUGE_VALUE_BYTES` (1,000,000) bytes by a "blob" string inside its data.

The valid poison events (type "PoisonRecordWritten", entity "poison-<kind>", version 1,
aggregateType "poison") sit in streams of their own, so demo counts and anomalies are unchanged.

kafka-python's `KafkaProducer.send` refuses a None header value (a type check in `send`, and its
record accumulator measures header values with len()), though the record format and its batch
builder allow one (value length -1). So the null-header record is written on its own: the
producer is flushed (everything before it is acknowledged, which keeps the log order in every
partition), then the record goes as a one-record batch in a bare ProduceRequest with acks=-1
(`_send_raw`, kafka-python internals of the pinned 3.0.x, in that one function).

Speed: values are built with Arrow string kernels per chunk of rows and the records with C-level
zips; the Python loop only sends. Producer: acks='all', linger_ms=20, batch_size=262144, produce
requests up to 8 MiB; every future gets an errback, the producer is flushed at the end, and any
failure raises `SourceError` with counts. kafka-python's `send` (~30 us per record with four
headers) is the limit: about 23,000 records/s for 1M events on a busy two-core machine.
"""

from __future__ import annotations

import gc
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import kafka.errors as kerr
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.partitioner import murmur2
from kafka.protocol.producer import ProduceRequest
from kafka.record.default_records import DefaultRecordBatchBuilder

from eventlab.demo.anomalies import MIN_EVENTS
from eventlab.demo.domain import generate_with_arrival
from eventlab.demo.table import SCHEMA
from eventlab.errors import SourceError
from eventlab.kafka import admin
from eventlab.kafka.config import KafkaConfig, kafka_errors

MODES = ("envelope", "structured", "binary")
POISON_KINDS = ("not-json", "non-utf8-key", "tombstone", "null-header", "huge")
POISON_HEADER = "poison"
NULL_HEADER = "trace_id"
NOT_JSON_VALUE = b'{"id": "poison-not-json", "type": "OrderPlaced", "data": {"items": [{"sku": "SKU'
NON_UTF8_KEY = b"poison-\xff\xfe-key"
HUGE_VALUE_BYTES = 1_000_000
POISON_TYPE = "PoisonRecordWritten"
ENVELOPE_HEADERS = ("event_type", "event_id", "event_version", "correlation_id")
CE_JSON = "application/cloudevents+json; charset=UTF-8"
CHUNK_ROWS = 50_000
#: Produce requests up to 8 MiB: many 256 KiB batches per round trip, and room for the 1 MB record.
MAX_REQUEST_BYTES = 8 << 20
_NAMESPACE = uuid.UUID("6f1d3c1e-5b7a-4c2e-9f0a-3e4d5c6b7a80")
_UNSAFE = r'["\\\x00-\x1f]'

Headers = list[tuple[str, bytes | None]]
#: One record in send order: key, value, headers, timestamp (ms), poison kind (None: demo event).
Record = tuple[bytes | None, bytes | None, Headers, int, str | None]
Column = pa.Array | str  # an Arrow text column, or one constant for every row


# -- encoding: Arrow columns -> JSON text and header columns ------------------------------------

def _quoted(col: pa.Array) -> pa.Array:
    """JSON string literals of a text column; null stays null."""
    if pc.any(pc.match_substring_regex(col, _UNSAFE)).as_py():
        return pa.array([None if s is None else json.dumps(s, ensure_ascii=False)
                         for s in col.to_pylist()], pa.string())
    return pc.binary_join_element_wise('"', col, '"', "")


def _object(members: list[tuple[str, Column]]) -> pa.Array:
    """JSON objects from (name, JSON text) columns; a null value leaves its member out."""
    parts = [pc.fill_null(pc.binary_join_element_wise(f'"{name}":', col, ",", ""), "")
             for name, col in members]
    body = pc.utf8_rtrim(pc.binary_join_element_wise(*parts, ""), characters=",")
    return pc.binary_join_element_wise("{", body, "}", "")


def _meta(metadata: pa.Array, name: str) -> pa.Array:
    """One string member of the metadata JSON (null when absent or null)."""
    found = pc.extract_regex(metadata, f'"{name}":"(?P<v>[^"\\\\]*)"')
    return pc.struct_field(found, "v")


def _iso(ts: pa.Array) -> pa.Array:
    """ISO 8601 UTC text with microseconds, 2025-03-03T07:07:39.686363Z (15x faster than
    strftime: the cast of a naive timestamp skips the time zone lookup)."""
    naive = pc.cast(ts.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us")), pa.string())
    return pc.binary_join_element_wise(
        pc.replace_substring(naive, " ", "T", max_replacements=1), "Z", "")


def encode(rows: pa.Table, mode: str) -> tuple[pa.Array, list[tuple[str, Column]]]:
    """Values and header columns of demo rows in one mode (see the module docstring)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    col = {name: rows[name].combine_chunks() for name in rows.column_names}
    text = {name: pc.cast(col[name], pa.string()) for name in ("schemaVersion", "version")}
    iso = _iso(col["timestamp"])
    corr = _meta(col["metadata"], "correlation_id")
    plain: list[tuple[str, Column]] = list(zip(
        ENVELOPE_HEADERS, (col["type"], col["id"], text["schemaVersion"], corr), strict=True))
    if mode == "envelope":
        value = _object([
            ("id", _quoted(col["id"])), ("type", _quoted(col["type"])),
            ("schemaVersion", text["schemaVersion"]),
            ("aggregateType", _quoted(col["aggregateType"])),
            ("aggregateId", _quoted(col["aggregateId"])), ("version", text["version"]),
            ("timestamp", _quoted(iso)), ("data", col["data"]), ("metadata", col["metadata"])])
        return value, plain
    source = pc.binary_join_element_wise("/shop/", _meta(col["metadata"], "source"), "")
    cause = _meta(col["metadata"], "causation_id")
    attrs: list[tuple[str, Column]] = [
        ("specversion", "1.0"), ("id", col["id"]), ("source", source), ("type", col["type"]),
        ("subject", col["aggregateId"]), ("time", iso), ("entitytype", col["aggregateType"]),
        ("sequence", text["version"]), ("eventversion", text["schemaVersion"]),
        ("correlationid", corr), ("causationid", cause)]
    if mode == "binary":
        return col["data"], [(f"ce_{name}", c) for name, c in attrs] + [
            ("content-type", "application/json")]
    members: list[tuple[str, Column]] = [
        (name, c if name == "eventversion" else
         (json.dumps(c) if isinstance(c, str) else _quoted(c))) for name, c in attrs]
    members.insert(6, ("datacontenttype", '"application/json"'))
    return _object([*members, ("data", col["data"])]), [*plain, ("content-type", CE_JSON)]


def _pylist(col: Column, n: int) -> list[bytes | None]:
    """A header column as Python bytes per row."""
    if isinstance(col, str):
        return [col.encode()] * n
    return pc.cast(col, pa.binary()).to_pylist()


def _size(values: pa.Array, keys: pa.Array, headers: list[tuple[str, Column]], n: int) -> int:
    """Bytes of keys, values, header names and header values of a chunk."""
    total = 0
    for col in (values, keys, *(c for _, c in headers)):
        if isinstance(col, str):
            total += len(col.encode()) * n
        else:
            total += pc.sum(pc.binary_length(col)).as_py() or 0
    return total + sum(len(name) * (n if isinstance(c, str) else len(c) - c.null_count)
                       for name, c in headers)


def _chunk(rows: pa.Table, ts_ms: list[int], mode: str) -> tuple[list[Record], int]:
    """The records of a chunk of demo rows, and their size in bytes.

    Built with C-level zips (no Python code per record); only rows with a null header value
    get their header list filtered in Python.
    """
    values, headers = encode(rows, mode)
    n = rows.num_rows
    size = _size(values, rows["aggregateId"], headers, n)
    pairs = [zip(repeat(name), _pylist(col, n)) for name, col in headers]
    keys = pc.cast(rows["aggregateId"], pa.binary()).to_pylist()
    records: list[Record] = list(zip(keys, pc.cast(values, pa.binary()).to_pylist(),
                                     map(list, zip(*pairs, strict=True)), ts_ms,
                                     [None] * n, strict=True))
    nullable = [pc.is_null(col) for _, col in headers if not isinstance(col, str)]
    if nullable:
        any_null = nullable[0]
        for more in nullable[1:]:
            any_null = pc.or_(any_null, more)
        for i in np.flatnonzero(any_null.to_numpy(zero_copy_only=False)):
            key, value, hv, ts, kind = records[i]
            records[i] = key, value, [(h, v) for h, v in hv if v is not None], ts, kind
    return records, size


# -- poison records ------------------------------------------------------------------------------

def poison_positions(events: int) -> dict[int, str]:
    """Demo event index -> the poison kind sent just before it (empty under 100 events)."""
    if events < MIN_EVENTS:
        return {}
    return {k * events // 6: kind for k, kind in enumerate(POISON_KINDS, start=1)}


def _poison_event(kind: str, seed: int, ts_ms: int, mode: str,
                  pad: int | None = None) -> tuple[bytes, Headers]:
    """A valid event of `mode` in the stream poison-<kind>; `pad`: a blob of that many bytes."""
    data = {"kind": kind, "note": "a poison record planted by the EventLab demo producer"}
    if pad is not None:
        data["blob"] = ("0123456789abcdef" * (pad // 16 + 1))[:pad]
    meta = {"correlation_id": str(uuid.uuid5(_NAMESPACE, f"{seed}:{kind}:correlation")),
            "causation_id": None, "actor": "system:demo-producer", "source": "demo-producer"}
    row = pa.table({
        "id": [str(uuid.uuid5(_NAMESPACE, f"{seed}:{kind}"))], "type": [POISON_TYPE],
        "schemaVersion": [1], "aggregateType": ["poison"], "aggregateId": [f"poison-{kind}"],
        "version": [1], "timestamp": [ts_ms * 1000],
        "data": [json.dumps(data, separators=(",", ":"))],
        "metadata": [json.dumps(meta, separators=(",", ":"))],
    }, schema=SCHEMA)
    (_, value, headers, _, _), = _chunk(row, [ts_ms], mode)[0]
    assert value is not None
    return value, headers


def _poison(kind: str, seed: int, ts_ms: int, order_id: bytes | None, mode: str) -> Record:
    mark: Headers = [(POISON_HEADER, kind.encode())]
    if kind == "not-json":
        return b"poison-not-json", NOT_JSON_VALUE, mark, ts_ms, kind
    if kind == "tombstone":
        return order_id or b"order-000001", None, mark, ts_ms, kind
    key = NON_UTF8_KEY if kind == "non-utf8-key" else f"poison-{kind}".encode()
    value, headers = _poison_event(kind, seed, ts_ms, mode, None if kind != "huge" else 0)
    if kind == "huge":
        value, headers = _poison_event(kind, seed, ts_ms, mode, HUGE_VALUE_BYTES - len(value))
    if kind == "null-header":
        headers = [*headers, (NULL_HEADER, None)]
    return key, value, [*headers, *mark], ts_ms, kind


# -- the record stream ---------------------------------------------------------------------------

def demo_chunks(events: int, seed: int = 42,
                mode: str = "envelope") -> Iterator[tuple[list[Record], int]]:
    """The demo on Kafka in send order, as (records, bytes) chunks of `CHUNK_ROWS` events.

    Records are demo events with the poison records planted between them.
    """
    table, arrival = generate_with_arrival(events, seed)
    event_us = pc.cast(table["timestamp"], pa.int64())
    ts_ms = pc.divide(pc.coalesce(event_us, pc.cast(arrival, pa.int64())), 1000)
    ts_list: list[int] = ts_ms.to_pylist()
    orders = np.flatnonzero(
        pc.and_(pc.equal(table["aggregateType"], "order"),
                pc.is_valid(table["aggregateId"])).to_numpy(zero_copy_only=False))
    planted: dict[int, Record] = {}
    for pos, kind in poison_positions(events).items():
        before = orders[orders < pos]
        order_id = table["aggregateId"][int(before[-1])].as_py().encode() if len(before) else None
        planted[pos] = _poison(kind, seed, ts_list[pos - 1], order_id, mode)
    for start in range(0, table.num_rows, CHUNK_ROWS):
        chunk = table.slice(start, CHUNK_ROWS)
        records, size = _chunk(chunk, ts_list[start:start + chunk.num_rows], mode)
        for pos in sorted((p for p in planted if start <= p < start + chunk.num_rows),
                          reverse=True):
            record = planted[pos]
            records.insert(pos - start, record)
            size += len(record[0] or b"") + len(record[1] or b"") + sum(
                len(h) + len(v or b"") for h, v in record[2])
        yield records, size


def demo_records(events: int, seed: int = 42, mode: str = "envelope") -> Iterator[Record]:
    """Every record of the demo on Kafka, in send order (see `demo_chunks`)."""
    for records, _ in demo_chunks(events, seed, mode):
        yield from records


# -- producing -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProduceReport:
    """What a produce run sent: counts, size, time, and where each poison record landed."""

    topic: str
    partitions: int
    records: int
    bytes: int
    seconds: float
    poison: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (partition, offset)

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        lines = [f"produced {self.records:,} records ({self.bytes / 1e6:,.1f} MB of keys, values "
                 f"and headers) to {self.topic} ({self.partitions} partitions) in "
                 f"{self.seconds:.1f} s: {self.rate:,.0f} records/s"]
        lines += [f"  poison {kind}: partition {p} offset {o}"
                  for kind, (p, o) in self.poison.items()]
        return "\n".join(lines)


def ensure_topic(config: KafkaConfig, topic: str, partitions: int) -> int:
    """Create `topic` with `partitions` if it is missing; return its partition count."""
    count = admin.partition_counts(config, [topic]).get(topic)
    if count is None:
        try:
            admin.create_topic(config, topic, partitions=partitions)
        except SourceError:
            count = admin.partition_counts(config, [topic]).get(topic)  # created meanwhile?
            if count is None:
                raise
            return count
        return partitions
    return count


def _send_raw(config: KafkaConfig, tp: TopicPartition, record: Record) -> int:
    """Write one record as its own batch with a bare ProduceRequest; returns its offset.

    For what `KafkaProducer.send` refuses: a None header value. kafka-python 3.0 internals
    (the admin client's connection manager), as in tests/kafka/conftest.py's `raw_producer`.
    """
    key, value, headers, ts_ms, _ = record
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=0, is_transactional=False, producer_id=-1,
        producer_epoch=-1, base_sequence=-1, batch_size=1 << 30)
    builder.append(0, timestamp=ts_ms, key=key, value=value, headers=headers)
    client = KafkaAdminClient(**config.client_kwargs())
    try:
        meta = client.describe_topics([tp.topic])[0]
        leader = next(p["leader_id"] for p in meta["partitions"]
                      if p["partition_index"] == tp.partition)
        data = ProduceRequest.TopicProduceData
        request = ProduceRequest(
            transactional_id=None, acks=-1, timeout_ms=int(config.timeout_s * 1000),
            max_version=9, topic_data=[data(name=tp.topic, partition_data=[
                data.PartitionProduceData(index=tp.partition, records=bytes(builder.build()))])])

        async def _send() -> Any:
            return await client._manager.send(request, node_id=leader)

        result = client._manager.run(_send).responses[0].partition_responses[0]
    finally:
        client.close()
    if result.error_code:
        raise kerr.for_code(result.error_code)()
    return int(result.base_offset)


class _Sender:
    """Sends records in order, choosing partitions like Kafka's default partitioner.

    Every future gets an errback that counts failures and keeps the first error.
    """

    def __init__(self, config: KafkaConfig, producer: KafkaProducer, topic: str,
                 partitions: int) -> None:
        self.config, self.producer, self.topic, self.partitions = (
            config, producer, topic, partitions)
        self.sent = self.failed = 0
        self.first_error: BaseException | None = None
        self.poison: dict[str, tuple[int, int]] = {}
        self._poison_futures: dict[str, Any] = {}
        self._slots: dict[bytes, int] = {}

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

    def send(self, record: Record) -> None:
        key, value, headers, ts, kind = record
        partition = self.partition(key)
        if kind == "null-header":  # after everything before it, so the log order holds
            self.producer.flush()
            tp = TopicPartition(self.topic, partition)
            self.poison[kind] = (partition, _send_raw(self.config, tp, record))
        else:
            future = self.producer.send(self.topic, value=value, key=key, headers=headers,
                                        partition=partition, timestamp_ms=ts)
            future.add_errback(self._failure)
            if kind is not None:
                self._poison_futures[kind] = future
        self.sent += 1

    def landed(self) -> dict[str, tuple[int, int]]:
        """Poison kind -> (partition, offset), once everything is flushed."""
        for kind, future in self._poison_futures.items():
            if future.succeeded():
                self.poison[kind] = (future.value.partition, future.value.offset)
        return {kind: self.poison[kind] for kind in POISON_KINDS if kind in self.poison}


@contextmanager
def _rare_gc() -> Iterator[None]:
    """Collect cycles less often while millions of short-lived tuples pass through.

    With the default thresholds the collector runs every 700 allocations and its full passes
    walk every live record; on 1M events that cost about a quarter of the produce time.
    """
    before = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def produce_demo(config: KafkaConfig, topic: str, *, events: int = 50_000, seed: int = 42,
                 mode: str = "envelope", rate: float = 0.0, partitions: int = 3,
                 progress: Callable[[int, float], None] | None = None) -> ProduceReport:
    """Produce the demo to `topic` (created with `partitions` if missing); `rate` caps records/s.

    Every record's future is checked; the first failure stops the run and raises `SourceError`
    with how many records were acknowledged. `progress(sent, seconds)` is called about once a
    second.
    """
    if mode not in MODES:
        raise SourceError(f"unknown demo mode {mode!r}: use one of {', '.join(MODES)}")
    count = ensure_topic(config, topic, partitions)
    timeout_ms = int(config.timeout_s * 1000)
    size = 0
    with kafka_errors(config, f"producing the demo to topic {topic}"), _rare_gc():
        producer = KafkaProducer(
            **config.client_kwargs(), acks="all", linger_ms=20, batch_size=262144,
            max_request_size=MAX_REQUEST_BYTES, max_block_ms=max(timeout_ms, 10_000),
            delivery_timeout_ms=max(30_000, 3 * timeout_ms))
        sender = _Sender(config, producer, topic, count)
        try:
            started = last_report = time.monotonic()
            for records, chunk_size in demo_chunks(events, seed, mode):
                size += chunk_size
                for record in records:
                    sender.send(record)
                    if rate > 0 and (ahead := started + sender.sent / rate
                                     - time.monotonic()) > 0.002:
                        time.sleep(ahead)
                    if not sender.sent & 1023:
                        now = time.monotonic()
                        if sender.failed:
                            break
                        if progress is not None and now - last_report >= 1.0:
                            last_report = now
                            progress(sender.sent, now - started)
                if sender.failed:
                    break
            producer.flush()
            seconds = time.monotonic() - started
        finally:
            producer.close(timeout=max(config.timeout_s, 5.0))
    if sender.failed:
        first = sender.first_error
        raise SourceError(
            f"{sender.failed:,} of {sender.sent:,} records sent to topic {topic} on "
            f"{config.bootstrap} were not acknowledged ({type(first).__name__}: {first}); "
            f"{sender.sent - sender.failed:,} were. Check the broker and the topic, then "
            "produce again to a new topic.")
    return ProduceReport(topic=topic, partitions=count, records=sender.sent, bytes=size,
                         seconds=seconds, poison=sender.landed())
