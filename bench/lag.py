"""Consumer lag: a snapshot of 5 groups over 3 topics of 16 partitions on a local broker.

Starts the local broker, produces 40 records to each of the 48 partitions, and has each group
commit a different offset on every partition (a separate client, as a consumer would), so
every partition lags and needs the timestamp of its record at the committed offset. Measures,
medians of several runs in one process:
- `raw_ms`: the bare admin calls (ListGroups, OffsetFetch of all groups, ListOffsets latest)
- `snapshot_ms`: EventLab's whole snapshot (adds DescribeGroups, Metadata, earliest offsets,
  the bounded read of 240 records' timestamps, the stored windows and Burrow's rules)
- `sample_ms`: one sample of the sampler (snapshot + writing 240 rows + retention prune) and
  `sample_write_ms` the store part alone
Prints `ratio=` (snapshot / raw) last. Budget: snapshot at most 2 s.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)
from kafka import (
    KafkaAdminClient,
    KafkaConsumer,
    KafkaProducer,
    OffsetAndMetadata,
    TopicPartition,
)
from kafka.admin import OffsetSpec

from eventlab.kafka.admin import create_topic
from eventlab.kafka.broker import start_broker
from eventlab.lag import sampler, samples
from eventlab.lag.snapshot import take_snapshot
from eventlab.store.eventstore import EventStore

TOPICS, PARTITIONS, GROUPS, RECORDS = 3, 16, 5, 40
RUNS = 7


def median_ms(fn, runs: int = RUNS) -> float:  # noqa: ANN001
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    with start_broker() as broker, tempfile.TemporaryDirectory() as tmp:
        config = broker.config(timeout_s=10.0)
        topics = [f"bench-lag-{i}" for i in range(TOPICS)]
        for t in topics:
            create_topic(config, t, partitions=PARTITIONS)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        for i in range(RECORDS):  # one record per request: the local broker's ListOffsets
            futures = [producer.send(t, f"v{i}".encode(), partition=p)  # (docs/kafka.md, 2)
                       for t in topics for p in range(PARTITIONS)]
            for f in futures:
                f.get(timeout=10)
        producer.close()
        groups = [f"bench-group-{g}" for g in range(GROUPS)]
        for g, name in enumerate(groups):
            c = KafkaConsumer(**config.client_kwargs(), group_id=name, enable_auto_commit=False)
            c.commit({TopicPartition(t, p): OffsetAndMetadata(5 + 3 * g + p % 4, "", -1)
                      for t in topics for p in range(PARTITIONS)})
            c.close(autocommit=False)
        tps = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        admin = KafkaAdminClient(**config.client_kwargs())

        def raw() -> None:
            admin.list_groups()
            admin.list_group_offsets({g: None for g in groups})
            admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})

        with EventStore(Path(tmp) / "lag.duckdb") as store:
            for _ in range(10):  # a full verdict window of history
                sampler.sample_once(config, store, groups)
            snap = take_snapshot(config, store, groups)
            rows = snap.rows()
            assert len(rows) == TOPICS * PARTITIONS * GROUPS, len(rows)
            assert all(r.lag and r.lag_seconds_source == "read" for r in rows), \
                {r.lag_seconds_source for r in rows}
            raw_ms = median_ms(raw)
            snapshot_ms = median_ms(lambda: take_snapshot(config, store, groups))
            sample_ms = median_ms(lambda: sampler.sample_once(config, store, groups))
            sample_write_ms = median_ms(lambda: (samples.write(store, snap.sample_rows()),
                                                 samples.prune(store, 7, time.time())))
        admin.close()
    print(f"partitions={len(tps)} groups={GROUPS} rows={len(rows)}")
    print(f"raw_ms={raw_ms:.1f}")
    print(f"snapshot_ms={snapshot_ms:.1f}")
    print(f"sample_ms={sample_ms:.1f}")
    print(f"sample_write_ms={sample_write_ms:.1f}")
    print(f"ratio={snapshot_ms / raw_ms:.2f}")


if __name__ == "__main__":
    main()
