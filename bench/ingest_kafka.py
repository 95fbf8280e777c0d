"""Kafka ingest: EventLab's resumable ingest vs a raw kafka-python consume of the same topic.

Produces 1,000,000 demo events to a local broker, then (in one run, alternating) measures a
bare kafka-python read (assign, poll, raw bytes, no processing) and EventLab's ingest into a
fresh database file. Prints both rates and `ratio=X` (EventLab / raw) as the last line.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import CACHE, cpu_s
from kafka import KafkaConsumer, TopicPartition

from eventlab.demo.produce import produce_demo
from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka.broker import start_broker
from eventlab.kafka.config import KafkaConfig
from eventlab.store.eventstore import EventStore

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
TOPIC = "bench-shop"
ROUNDS = 3


def raw_consume(config: KafkaConfig, topic: str, expected: int) -> tuple[float, float]:
    """Records/s of a bare assign+poll loop that touches nothing but the record count, and
    its CPU seconds."""
    cpu = cpu_s()
    consumer = KafkaConsumer(bootstrap_servers=config.bootstrap, enable_auto_commit=False,
                             group_id=None, auto_offset_reset="earliest",
                             isolation_level="read_committed",
                             max_partition_fetch_bytes=8 * 1024 * 1024)
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    started = time.perf_counter()
    n = 0
    while n < expected:
        for records in consumer.poll(timeout_ms=1000, max_records=10_000).values():
            n += len(records)
    elapsed = time.perf_counter() - started
    consumer.close()
    return n / elapsed, cpu_s() - cpu


def eventlab_ingest(config: KafkaConfig, topic: str, folder: Path
                    ) -> tuple[float, int, float]:
    """Records/s of EventLab's ingest into a fresh database file, events stored, and CPU
    seconds (the reader process included)."""
    cpu = cpu_s()
    path = folder / "kafka.duckdb"
    path.unlink(missing_ok=True)
    with EventStore(path, memory_limit="4GB") as store:
        report = ingest_kafka(store, config, [topic])
    path.unlink(missing_ok=True)
    if report.error:
        raise SystemExit(f"ingest failed: {report.error}")
    return report.records_read / report.seconds, report.rows_stored, cpu_s() - cpu


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    with start_broker() as broker, tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        config = broker.config(timeout_s=30.0)
        t = time.perf_counter()
        produced = produce_demo(config, TOPIC, events=EVENTS, seed=7)
        print(f"# produced {produced.records:,} records in {time.perf_counter() - t:.1f} s",
              flush=True)
        raw, ours, cpu = [], [], []
        for i in range(ROUNDS):
            raw_rate, raw_cpu = raw_consume(config, TOPIC, produced.records)
            raw.append(raw_rate)
            rate, stored, our_cpu = eventlab_ingest(config, TOPIC, Path(tmp))
            ours.append(rate)
            cpu.append(raw_cpu / our_cpu)
            print(f"# round {i + 1}: raw {raw[-1]:,.0f}/s, eventlab {rate:,.0f}/s "
                  f"({stored:,} events stored); CPU s raw {raw_cpu:.1f}, eventlab "
                  f"{our_cpu:.1f}", flush=True)
    r, o = statistics.median(raw), statistics.median(ours)
    print(f"raw_consume_per_s={r:,.0f}")
    print(f"eventlab_ingest_per_s={o:,.0f}")
    print(f"cpu_ratio={statistics.median(cpu):.2f}  (raw CPU / EventLab CPU: the rate ratio if "
          "both were CPU-bound on one core each)")
    print(f"ratio={o / r:.2f}")


if __name__ == "__main__":
    main()
