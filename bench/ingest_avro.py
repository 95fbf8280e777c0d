"""Avro ingest: EventLab's ingest of Confluent-framed Avro vs a raw kafka-python consume.

Produces 1,000,000 demo events as Avro (`eventlab demo --format avro`: schema id 1, written to
a folder) to a local broker, then (in one run, alternating) measures a bare kafka-python read
of the same topic (assign, poll, raw bytes, no processing) and EventLab's ingest (Avro decoded
to JSON, mapped, stored) into a fresh database file. Prints both rates and `ratio=X`
(EventLab / raw) as the last line.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import CACHE, cpu_s
from ingest_kafka import raw_consume

from eventlab.demo.avro import write_schema
from eventlab.demo.produce import produce_demo
from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka.broker import start_broker
from eventlab.kafka.config import KafkaConfig
from eventlab.schemas.catalog import SchemaCatalog
from eventlab.schemas.folder import FolderSource
from eventlab.store.eventstore import EventStore

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
TOPIC = "bench-shop-avro"
ROUNDS = 3


def eventlab_ingest(config: KafkaConfig, topic: str, folder: Path
                    ) -> tuple[float, int, int, float]:
    """Records/s of EventLab's ingest into a fresh database file, events stored, the
    records decoded as Avro, and CPU seconds (the reader process included)."""
    cpu = cpu_s()
    path = folder / "kafka.duckdb"
    path.unlink(missing_ok=True)
    with EventStore(path, memory_limit="4GB") as store:
        catalog = SchemaCatalog(store, folder=FolderSource(folder / "schemas"))
        report = ingest_kafka(store, config, [topic], schemas=catalog)
    path.unlink(missing_ok=True)
    if report.error or report.schema_error:
        raise SystemExit(f"ingest failed: {report.error or report.schema_error}")
    return report.records_read / report.seconds, report.rows_stored, \
        sum(report.schema_records.values()), cpu_s() - cpu


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    with start_broker() as broker, tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        config = broker.config(timeout_s=30.0)
        write_schema(Path(tmp) / "schemas")
        t = time.perf_counter()
        produced = produce_demo(config, TOPIC, events=EVENTS, seed=7, fmt="avro")
        print(f"# produced {produced.records:,} Avro records in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        raw, ours, cpu = [], [], []
        for i in range(ROUNDS):
            raw_rate, raw_cpu = raw_consume(config, TOPIC, produced.records)
            raw.append(raw_rate)
            rate, stored, avro, our_cpu = eventlab_ingest(config, TOPIC, Path(tmp))
            ours.append(rate)
            cpu.append(raw_cpu / our_cpu)
            print(f"# round {i + 1}: raw {raw[-1]:,.0f}/s, eventlab {rate:,.0f}/s "
                  f"({stored:,} events stored, {avro:,} decoded from Avro); CPU s raw "
                  f"{raw_cpu:.1f}, eventlab {our_cpu:.1f}", flush=True)
    r, o = statistics.median(raw), statistics.median(ours)
    print(f"raw_consume_per_s={r:,.0f}")
    print(f"eventlab_avro_ingest_per_s={o:,.0f}")
    print(f"cpu_ratio={statistics.median(cpu):.2f}  (raw CPU / EventLab CPU)")
    print(f"ratio={o / r:.2f}")


if __name__ == "__main__":
    main()
