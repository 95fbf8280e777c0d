"""Live tail: one poll of 5,000 new records over 3 partitions on a local broker.

Starts the local broker, starts a tail, produces 5,000 JSON records, then measures (medians
of several runs, each from the same start) one `live_tail.poll`: read, decode as ingest would
(in a throw-away DuckDB), keep the newest 200; the same with a JSON-path filter; and an idle
poll (nothing new). The page polls every 1-5 s, so a poll must stay well under a second.
Budget: a 5,000-record poll at most 1 s, an idle poll at most 0.2 s.
"""

from __future__ import annotations

import statistics
import time

import _common  # noqa: F401  (puts the repository on sys.path)
import orjson
from kafka import KafkaProducer

from eventlab.ingest import live_tail
from eventlab.kafka.admin import create_topic
from eventlab.kafka.broker import start_broker

RECORDS, PARTITIONS, RUNS = 5_000, 3, 5


def main() -> None:
    with start_broker() as handle:
        config = handle.config()
        create_topic(config, "tail-bench", PARTITIONS)
        state = live_tail.start(config, ["tail-bench"])
        producer = KafkaProducer(bootstrap_servers=handle.bootstrap, linger_ms=20,
                                 batch_size=262144)
        for i in range(RECORDS):
            producer.send("tail-bench", key=f"order-{i % 50}".encode(), value=orjson.dumps(
                {"id": f"ev-{i}", "type": "OrderNoted", "aggregateId": f"order-{i % 50}",
                 "timestamp": "2026-11-01T10:00:00Z", "data": {"total": i}}))
        producer.flush()
        producer.close()
        where = live_tail.parse_filters(["jpath=total", "jop=>", "jval=4000"])
        full, filtered, idle = [], [], []
        for _ in range(RUNS):
            t = time.perf_counter()
            after = live_tail.poll(config, state, keep=200)
            full.append(time.perf_counter() - t)
            t = time.perf_counter()
            matched = live_tail.poll(config, state, keep=200, where=where)
            filtered.append(time.perf_counter() - t)
            t = time.perf_counter()
            live_tail.poll(config, after)
            idle.append(time.perf_counter() - t)
    assert after.read == RECORDS and matched.matched == RECORDS - 4001
    print(f"records={RECORDS} partitions={PARTITIONS} "
          f"poll_s={statistics.median(full):.3f} filtered_poll_s={statistics.median(filtered):.3f} "
          f"matched={matched.matched} idle_poll_s={statistics.median(idle):.3f}")


if __name__ == "__main__":
    main()
