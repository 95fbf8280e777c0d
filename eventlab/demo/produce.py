"""Produce the demo shop to a Kafka topic: its events (`demo.encodings`) with the poison records
planted between them (`demo.poison`), in log order, through `kafka.producer.RecordSender`.

Speed: values are built a chunk at a time and the records with C-level zips; the Python loop
only sends. Producer: acks='all', linger_ms=20, batch_size=262144, produce requests up to
8 MiB; every future gets an errback, the producer is flushed at the end, and any failure
raises `SourceError` with counts. kafka-python's `send` (~30 us per record with four headers)
is the limit: about 23,000 records/s for 1M events on a busy two-core machine.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eventlab.demo.domain import generate_with_arrival
from eventlab.demo.encodings import MODES, chunk_records
from eventlab.demo.poison import POISON_KINDS, poison_positions, poison_record
from eventlab.errors import SourceError
from eventlab.kafka.admin import ensure_topic
from eventlab.kafka.config import KafkaConfig, kafka_errors
from eventlab.kafka.producer import RecordSender, Sent

if TYPE_CHECKING:
    from eventlab.demo.encodings import Record

CHUNK_ROWS = 50_000
FORMATS = ("json", "avro")
"""Value formats of the demo on Kafka: JSON text, or Confluent-framed Avro (`demo.avro`)."""


# -- the record stream ---------------------------------------------------------------------------

def demo_chunks(events: int, seed: int = 42, mode: str = "envelope",
                fmt: str = "json") -> Iterator[tuple[list[Record], int]]:
    """The demo on Kafka in send order, as (records, bytes) chunks of `CHUNK_ROWS` events.

    Records are demo events with the poison records planted between them. `fmt="avro"`:
    the events' values are Confluent-framed Avro (`demo.avro`; envelope mode only), the
    poison records stay as they are.
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
        planted[pos] = poison_record(kind, seed, ts_list[pos - 1], order_id, mode)
    for start in range(0, table.num_rows, CHUNK_ROWS):
        chunk = table.slice(start, CHUNK_ROWS)
        if fmt == "avro":
            from eventlab.demo import avro

            records, size = avro.chunk_records(chunk, ts_list[start:start + chunk.num_rows])
        else:
            records, size = chunk_records(chunk, ts_list[start:start + chunk.num_rows], mode)
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
                 progress: Callable[[int, float], None] | None = None,
                 fmt: str = "json") -> ProduceReport:
    """Produce the demo to `topic` (created with `partitions` if missing); `rate` caps records/s.

    Kafka timestamps: without `rate` each record carries its event time (a fast, repeatable
    load of history); with `rate` it carries the send time, as a live producer's records do,
    so a consumer's lag in seconds grows while it falls behind. The event time stays in the
    payload either way.

    Every record's future is checked; the first failure stops the run and raises `SourceError`
    with how many records were acknowledged. `progress(sent, seconds)` is called about once a
    second.
    """
    if mode not in MODES:
        raise SourceError(f"unknown demo mode {mode!r}: use one of {', '.join(MODES)}")
    if fmt not in FORMATS:
        raise SourceError(f"unknown demo format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "avro" and mode != "envelope":
        raise SourceError("--format avro writes the envelope; it does not combine with "
                          "--cloudevents")
    count = ensure_topic(config, topic, partitions)
    size = 0
    poison: dict[str, Sent] = {}
    with kafka_errors(config, f"producing the demo to topic {topic}"), _rare_gc():
        sender = RecordSender(config, topic, count)
        try:
            started = last_report = time.monotonic()
            for records, chunk_size in demo_chunks(events, seed, mode, fmt):
                size += chunk_size
                for key, value, headers, ts_ms, kind in records:
                    sent = sender.send(key, value, headers,
                                       int(time.time() * 1000) if rate > 0 else ts_ms)
                    if kind is not None:
                        poison[kind] = sent
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
            sender.flush()
            seconds = time.monotonic() - started
        finally:
            sender.close(timeout_s=max(config.timeout_s, 5.0))
    if sender.failed:
        first = sender.first_error
        raise SourceError(
            f"{sender.failed:,} of {sender.sent:,} records sent to topic {topic} on "
            f"{config.bootstrap} were not acknowledged ({type(first).__name__}: {first}); "
            f"{sender.sent - sender.failed:,} were. Check the broker and the topic, then "
            "produce again to a new topic.")
    landed = {kind: poison[kind].position() for kind in POISON_KINDS if kind in poison}
    return ProduceReport(topic=topic, partitions=count, records=sender.sent, bytes=size,
                         seconds=seconds,
                         poison={k: where for k, where in landed.items() if where is not None})
