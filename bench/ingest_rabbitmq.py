"""RabbitMQ stream ingest: EventLab's resumable ingest vs a bare rstream consumer of the same
stream.

Starts a local RabbitMQ, publishes N envelope events with AMQP properties and application
properties into a stream (rstream producer, batched), then (in one run, alternating) measures
a bare rstream consumer (unnamed subscription from FIRST, raw bytes, counting messages), the
same with rstream's AMQP decoder (for information), EventLab's reader alone (its own process,
records decoded, nothing stored: where the time goes) and EventLab's ingest into a fresh
database file. Prints the rates and `ratio=X` (EventLab / bare) as the last line.

Two store-side figures on the batches already read show where the ceiling is: the cheapest
store there is (the raw Arrow batch copied into a fresh file database by one CREATE TABLE AS,
nothing decoded) and EventLab's store alone (decode, map, insert: `store_batch`, the code
Kafka's ingest shares). Neither is a baseline of the ratio.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from _common import ROOT  # noqa: F401 - puts the repo on sys.path
from rstream import (
    AMQPMessage,
    Consumer,
    ConsumerOffsetSpecification,
    OffsetType,
    Producer,
    Properties,
    amqp_decoder,
)

from eventlab.ingest import framed
from eventlab.ingest.kafka_ingest import store_batch
from eventlab.ingest.mapping import MappingSpec
from eventlab.ingest.rabbitmq_ingest import ingest_streams
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.reader_proc import StreamReaderProcess
from eventlab.rabbitmq.server import start_server
from eventlab.rabbitmq.streams import read_all
from eventlab.schemas.catalog import build_catalog
from eventlab.store import db
from eventlab.store.eventstore import EventStore

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
STREAM = "bench-shop"
ROUNDS = 3


def _message(i: int) -> AMQPMessage:
    body = json.dumps({"event_id": f"e-{i}", "entity_id": f"order-{i % 5000}",
                       "event_type": ("OrderPlaced", "OrderPaid", "OrderShipped")[i % 3],
                       "ts": "2025-03-05T14:03:00Z", "data": {"i": i, "sku": "A-1"}})
    return AMQPMessage(body=body.encode(),
                       properties=Properties(message_id=f"m-{i}", content_type="application/json",
                                             correlation_id=f"c-{i // 3}"),
                       application_properties={"tenant": "acme", "n": i})


async def publish(config: RabbitConfig, n: int) -> None:
    async with Producer(config.host, config.stream_port, username=config.user,
                        password=config.password.reveal()) as producer:
        await producer.create_stream(STREAM, exists_ok=True)
        for first in range(0, n, 1000):
            await producer.send_batch(STREAM, [_message(i) for i in
                                               range(first, min(n, first + 1000))])


async def bare_consume(config: RabbitConfig, expected: int, decode: bool = False) -> float:
    done = asyncio.Event()
    seen = 0

    async def on_message(msg: object, ctx: object) -> None:
        nonlocal seen
        seen += 1
        if seen >= expected:
            done.set()

    consumer = Consumer(config.host, config.stream_port, username=config.user,
                        password=config.password.reveal())
    await consumer.start()
    t = time.perf_counter()
    await consumer.subscribe(STREAM, on_message, initial_credit=8,
                             decoder=amqp_decoder if decode else None,
                             offset_specification=ConsumerOffsetSpecification(
                                 OffsetType.FIRST, None))
    await done.wait()
    seconds = time.perf_counter() - t
    await consumer.close()
    return seconds


def eventlab_reader(config: RabbitConfig, expected: int) -> float:
    """EventLab's reader alone: its own process, records decoded, nothing stored."""
    t = time.perf_counter()
    reader = StreamReaderProcess(config, [STREAM])
    rows = 0
    try:
        for kind, item, _pos in reader:
            if kind == "batch":
                rows += item.num_rows
            elif kind != "idle":
                break
    finally:
        reader.stop()
    seconds = time.perf_counter() - t
    assert rows == expected, rows
    return seconds


def eventlab_ingest(config: RabbitConfig, expected: int) -> float:
    with tempfile.TemporaryDirectory() as tmp, EventStore(Path(tmp) / "bench.duckdb") as store:
        t = time.perf_counter()
        report = ingest_streams(store, config, [STREAM])
        seconds = time.perf_counter() - t
        assert report.rows_stored == expected and not report.error, report.summary()
    return seconds


def store_floor(table: pa.Table) -> float:
    """Seconds to copy the raw batch into a fresh file database: the cheapest store."""
    with tempfile.TemporaryDirectory() as tmp, EventStore(Path(tmp) / "floor.duckdb") as store:
        t = time.perf_counter()
        with store.transaction() as cur:
            db.register(cur, "__raw", table)
            cur.execute("CREATE TABLE raw_copy AS SELECT * FROM __raw")
            db.unregister(cur, "__raw")
        return time.perf_counter() - t


def store_alone(table: pa.Table) -> float:
    """Seconds for EventLab's store side alone (decode, map, insert) on batches read."""
    with tempfile.TemporaryDirectory() as tmp, EventStore(Path(tmp) / "store.duckdb") as store:
        store.ensure_entity_index()
        catalog = build_catalog(store)
        t = time.perf_counter()
        for start in range(0, table.num_rows, 20_000):
            batch = framed.decode_table(table.slice(start, 20_000), catalog)
            with store.transaction() as cur:
                store_batch(cur, batch, MappingSpec(), catalog, source="rabbitmq",
                            broker="bench")
        return time.perf_counter() - t


def main() -> None:
    with start_server() as server:
        config = RabbitConfig(port=server.ports.amqp, stream_port=server.ports.stream)
        t = time.perf_counter()
        asyncio.run(publish(config, EVENTS))
        print(f"# published {EVENTS:,} messages in {time.perf_counter() - t:.1f} s")
        table = read_all(config, STREAM)
        assert table is not None and table.num_rows == EVENTS
        bare, decoding, reading, ours, floor, alone = [], [], [], [], [], []
        for _ in range(ROUNDS):
            bare.append(asyncio.run(bare_consume(config, EVENTS)))
            decoding.append(asyncio.run(bare_consume(config, EVENTS, decode=True)))
            reading.append(eventlab_reader(config, EVENTS))
            ours.append(eventlab_ingest(config, EVENTS))
            floor.append(store_floor(table))
            alone.append(store_alone(table))
        b, d, r, o, f, a = (statistics.median(x) for x in (bare, decoding, reading, ours,
                                                            floor, alone))
        print(f"bare rstream consumer: {EVENTS / b:,.0f} messages/s (median of {ROUNDS}: "
              f"{b:.2f} s; raw bytes, not decoded)")
        print(f"rstream + amqp_decoder: {EVENTS / d:,.0f} messages/s (median of {ROUNDS}: "
              f"{d:.2f} s; properties decoded, nothing stored)")
        print(f"EventLab reader alone:  {EVENTS / r:,.0f} messages/s (median of {ROUNDS}: "
              f"{r:.2f} s; own process, records decoded, nothing stored)")
        print(f"store floor:           {EVENTS / f:,.0f} messages/s (median of {ROUNDS}: "
              f"{f:.2f} s; raw batch copied into a file by DuckDB, nothing decoded: "
              f"ceiling {b / f:.2f} of bare for any store)")
        print(f"EventLab store alone:  {EVENTS / a:,.0f} messages/s (median of {ROUNDS}: "
              f"{a:.2f} s; decoded, mapped, inserted, on batches already read: "
              f"{b / a:.2f} of bare)")
        print(f"EventLab ingest:       {EVENTS / o:,.0f} messages/s (median of {ROUNDS}: "
              f"{o:.2f} s; decoded, mapped, stored with positions)")
        print(f"ratio={b / o:.2f}")


if __name__ == "__main__":
    main()
