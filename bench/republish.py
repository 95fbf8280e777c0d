"""Republish: EventLab's job (ledger, provenance headers, every future checked) vs a bare
kafka-python producer sending the same records with the same settings.

Produces 100,000 demo events to a local broker it starts, loads them into a fresh database,
then, in rounds that alternate, (a) plans and executes a republish of every stored event into
a new replay topic, and (b) sends exactly the records that job sent (key, value, the original
headers plus the same provenance headers, timestamp) with a bare KafkaProducer of identical
settings (acks, idempotence, linger, batch size, max request size) and one flush. Both are
timed over their whole life: EventLab's `execute` (checks, target, producer, sending, ledger,
audit) and the bare producer's create, send, flush, close; the records the bare producer
sends are built before its clock starts. Prints both rates and `ratio=X` (the median over
rounds of EventLab / raw) as the last line.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import CACHE
from kafka import KafkaProducer

from eventlab import republish
from eventlab.demo.produce import produce_demo
from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka.admin import create_topic
from eventlab.kafka.broker import start_broker
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.producer import MAX_REQUEST_BYTES
from eventlab.kafka.reader import KafkaRawReader
from eventlab.republish.send import PRODUCER_SETTINGS
from eventlab.store.eventstore import EventStore

EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
ROUNDS = 5
TOPIC = "bench-republish"
# kafka-python refuses a None header value; the demo plants a few such records (EventLab
# sends them raw): leave them out so both sides send the same records the same way.
SELECT = ("SELECT topic, \"partition\", \"offset\" FROM events WHERE topic = ? AND NOT "
          "coalesce(list_bool_or(list_transform(headers, lambda h: h.value IS NULL)), false)")


def read_back(config: KafkaConfig, topic: str) -> list[tuple]:
    """(key, value, headers, timestamp) of every record EventLab sent, to replay them raw."""
    reader = KafkaRawReader(config, [topic], start="earliest", until="end")
    out = []
    try:
        while (t := reader.next_batch(50_000)) is not None:
            for k, v, hs, ts in zip(t.column("key").to_pylist(), t.column("value").to_pylist(),
                                    t.column("headers").to_pylist(),
                                    t.column("timestamp_ms").to_pylist(), strict=True):
                out.append((k, v, [(h["key"], h["value"]) for h in hs], ts))
    finally:
        reader.close()
    return out


def raw_send(config: KafkaConfig, topic: str, recs: list[tuple]) -> float:
    """Records/s of a bare producer over its whole life, as EventLab's job is timed over its
    own: create it, send each record, flush, close."""
    started = time.perf_counter()
    producer = KafkaProducer(bootstrap_servers=config.bootstrap,
                             max_request_size=MAX_REQUEST_BYTES, **PRODUCER_SETTINGS)
    for key, value, headers, ts in recs:
        producer.send(topic, key=key, value=value, headers=headers, timestamp_ms=ts)
    producer.flush()
    producer.close()
    return len(recs) / (time.perf_counter() - started)


def main() -> None:
    os.environ["EVENTLAB_REPUBLISH_MAX_RECORDS"] = str(10 * EVENTS)
    CACHE.mkdir(parents=True, exist_ok=True)
    with start_broker() as broker, tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        config = broker.config(timeout_s=30.0)
        produced = produce_demo(config, TOPIC, events=EVENTS, seed=7, partitions=3)
        with EventStore(Path(tmp) / "republish.duckdb", memory_limit="4GB") as store:
            stored = ingest_kafka(store, config, [TOPIC]).rows_stored
            print(f"# produced {produced.records:,} records, stored {stored:,} events",
                  flush=True)
            ours, raw, plans, cpu = [], [], [], []
            for i in range(ROUNDS):
                t = time.perf_counter()
                dry = republish.dry_run(store, config, republish.Selection.query(
                    SELECT, [TOPIC]), preview=10)
                plans.append(time.perf_counter() - t)
                c0 = time.process_time()
                result = republish.execute(store, config, dry.plan.job_id)
                ours_cpu = time.process_time() - c0
                assert result.status == "done", result
                ours.append(result.sent_now / result.seconds)
                recs = read_back(config, dry.plan.target_topics[0])
                assert len(recs) == result.sent_now
                target = f"raw-{i}"
                create_topic(config, target, partitions=3)
                c0 = time.process_time()
                raw.append(raw_send(config, target, recs))
                cpu.append((time.process_time() - c0) / ours_cpu)
                print(f"# round {i + 1}: {result.sent_now:,} records, plan "
                      f"{plans[-1]:.2f} s, eventlab {ours[-1]:,.0f}/s, raw {raw[-1]:,.0f}/s, "
                      f"CPU raw/eventlab {cpu[-1]:.2f}",
                      flush=True)
    o, r = statistics.median(ours), statistics.median(raw)
    print(f"plan_s={statistics.median(plans):.2f}")
    print(f"eventlab_republish_per_s={o:,.0f}")
    print(f"raw_produce_per_s={r:,.0f}")
    # The median of each round's pair: the machine is shared, so rounds drift; a pair runs
    # back to back.
    print(f"cpu_ratio={statistics.median(cpu):.2f}  (CPU of the process: the bare producer's "
          "life over EventLab's execute, the rate ratio if both were CPU-bound)")
    print(f"ratio={statistics.median(a / b for a, b in zip(ours, raw, strict=True)):.2f}")


if __name__ == "__main__":
    main()
