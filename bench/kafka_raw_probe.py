"""Raw read rate: KafkaRawReader.next_batch (Arrow tables) vs a bare kafka-python poll loop.

Starts its own local broker, writes N ~200-byte JSON records with keys and headers into one
topic, then reads them back both ways, a few rounds each, and prints records/s.

    .venv/bin/python bench/kafka_raw_probe.py [--records 200000] [--partitions 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from eventlab.kafka.admin import create_topic
from eventlab.kafka.broker import start_broker
from eventlab.kafka.reader import KafkaRawReader


def produce(bootstrap: str, topic: str, n: int) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=262144,
                             acks=1)
    started = time.perf_counter()
    for i in range(n):
        value = json.dumps({"id": f"evt-{i:09d}", "type": "OrderPlaced",
                            "aggregateId": f"order-{i % 5000}", "timestamp": 1_750_000_000 + i,
                            "data": {"sku": f"SKU-{i % 977:05d}", "qty": i % 7 + 1,
                                     "price": round(i % 1000 * 0.37, 2)}}).encode()
        producer.send(topic, key=b"order-%d" % (i % 5000), value=value,
                      headers=[("ce_type", b"OrderPlaced"), ("trace", b"%016x" % i)])
    producer.flush()
    producer.close()
    return time.perf_counter() - started


def bare_poll(bootstrap: str, topic: str, partitions: int, n: int,
              **extra: object) -> tuple[float, float]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, max_poll_records=10_000, **extra)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    started, cpu = time.perf_counter(), time.process_time()
    count = 0
    while count < n:
        for records in consumer.poll(timeout_ms=1000, max_records=10_000).values():
            count += len(records)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    consumer.close()
    return elapsed, cpu


def raw_reader(config: object, topic: str, n: int) -> tuple[float, float, float]:
    started = time.perf_counter()
    with KafkaRawReader(config, [topic]) as reader:  # type: ignore[arg-type]
        opened, cpu = time.perf_counter(), time.process_time()
        count = 0
        while (table := reader.next_batch(max_records=10_000)) is not None:
            count += table.num_rows
        elapsed, cpu = time.perf_counter() - opened, time.process_time() - cpu
    assert count == n, count
    return elapsed, cpu, opened - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n = args.records
    with start_broker() as broker:
        config = broker.config()
        create_topic(config, "bench", partitions=args.partitions)
        secs = produce(broker.bootstrap, "bench", n)
        print(f"produced {n} records in {secs:.1f} s ({n / secs:,.0f}/s)")
        print("records/s by wall clock [by CPU time of this process, all threads]")
        for _ in range(args.rounds):
            bare, bare_cpu = bare_poll(broker.bootstrap, "bench", args.partitions, n)
            tuned, tuned_cpu = bare_poll(broker.bootstrap, "bench", args.partitions, n,
                                         metrics_enabled=False,
                                         max_partition_fetch_bytes=8 * 1024 * 1024)
            raw, raw_cpu, opening = raw_reader(config, "bench", n)
            print(f"bare poll, defaults: {n / bare:>8,.0f} [{n / bare_cpu:>8,.0f}] | "
                  f"bare poll, reader's settings: {n / tuned:>8,.0f} [{n / tuned_cpu:>8,.0f}] | "
                  f"KafkaRawReader -> Arrow: {n / raw:>8,.0f} [{n / raw_cpu:>8,.0f}] "
                  f"(+{opening * 1000:.0f} ms to open)")


if __name__ == "__main__":
    main()
