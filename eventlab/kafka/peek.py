"""A bounded read of a few raw records of one topic, for a peek: nothing is stored.

`read_peek` reads up to `max_records` (at most `MAX_RECORDS`) records with
`KafkaRawReader`: `assign()`, no consumer group, no commit, no deserializer (docs/safety.md,
items 5 and 32). It starts at the newest records (the last N over all partitions, by record
time), at the earliest ones, at an offset per partition (partitions left out are not read), or
at a time (`offsets_for_times`, the reader's time start), and always stops at the end offsets
taken at the start, within a time limit: a peek never waits for new records.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from eventlab.errors import SourceError, TopicGone
from eventlab.kafka import admin
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.positions import TP
from eventlab.kafka.reader import RAW_SCHEMA, KafkaRawReader, offset_out_of_range

MAX_RECORDS = 500
"""The most records one peek reads."""
PeekStart = Literal["newest", "earliest"] | datetime | Mapping[TP, int]
"""Where a peek starts: the newest records, the earliest, a time, or offsets per partition."""


@dataclass(frozen=True)
class PeekRecords:
    """Raw records of one topic (`reader.RAW_SCHEMA`) and where the read started and ended.

    `rows` is in display order: newest first for a `newest` start, else by record time.
    `next_offsets` is, per partition read, the next offset after the last record read.
    """

    topic: str
    rows: pa.Table
    start_offsets: dict[TP, int]
    next_offsets: dict[TP, int]
    earliest: dict[TP, int]
    end_offsets: dict[TP, int]
    partial: bool


def read_peek(config: KafkaConfig, topic: str, start: PeekStart = "newest",
                max_records: int = 50, *, isolation_level: str = "read_committed",
                time_limit_s: float = 10.0) -> PeekRecords:
    """Read up to `max_records` raw records of `topic` from `start` (see the module doc)."""
    if not 1 <= max_records <= MAX_RECORDS:
        raise SourceError(f"a peek reads 1 to {MAX_RECORDS} records, not {max_records}")
    count = admin.partition_counts(config, [topic]).get(topic)
    if count is None:
        raise TopicGone(f"topic {topic} does not exist on {config.bootstrap}: check the name "
                        "(topics are case-sensitive)")
    tps = [(topic, p) for p in range(count)]
    bounds = admin.offset_bounds(config, tps, isolation_level)
    earliest = {tp: bounds[tp][0] for tp in tps}
    ends = {tp: bounds[tp][1] for tp in tps}
    begin: datetime | dict[TP, int]
    if start == "newest":
        begin = {tp: max(earliest[tp], ends[tp] - max_records) for tp in tps}
    elif start == "earliest":
        begin = dict(earliest)
    elif isinstance(start, datetime):
        begin = start
    elif isinstance(start, Mapping):
        unknown = sorted(p for (t, p) in start if (t, p) not in ends)
        if unknown:
            raise SourceError(f"topic {topic} has partitions 0..{count - 1}; there is no "
                              f"partition {', '.join(map(str, unknown))}")
        begin = dict(ends)  # partitions not listed are not read
        for (t, p), offset in start.items():
            if not earliest[(t, p)] <= offset <= ends[(t, p)]:
                raise offset_out_of_range((t, p), offset, earliest[(t, p)], ends[(t, p)])
            begin[(t, p)] = offset
    else:
        raise SourceError(f"a peek starts at newest, earliest, a time or offsets, not {start!r}")
    tables, per_partition, partial = [], dict.fromkeys(tps, 0), False
    with KafkaRawReader(config, [topic], start=begin, until="end",
                        isolation_level=isolation_level) as reader:
        deadline = time.monotonic() + time_limit_s
        # Up to N per partition, so the N first (or newest) by time can be chosen fairly.
        while not all(n >= max_records or reader.end_offsets[tp] <= reader.positions().get(
                tp, reader.start_offsets[tp]) for tp, n in per_partition.items()):
            if time.monotonic() >= deadline:
                partial = True
                break
            if sum(per_partition.values()) >= max_records * count:
                break
            batch = reader.next_batch(max_records=max_records * count, timeout_ms=300)
            if batch is None:
                break
            if batch.num_rows:
                tables.append(batch)
                for p, n in zip(*_partition_counts(batch), strict=True):
                    per_partition[(topic, p)] += n
        start_offsets = dict(reader.start_offsets)
        next_offsets = {tp: reader.positions().get(tp, start_offsets[tp]) for tp in tps}
    rows = pa.concat_tables(tables) if tables else RAW_SCHEMA.empty_table()
    rows = _choose(rows, max_records, newest=start == "newest")
    return PeekRecords(topic, rows, start_offsets, next_offsets, earliest, ends, partial)


def _partition_counts(batch: pa.Table) -> tuple[list[int], list[int]]:
    counted = pc.value_counts(batch.column("partition")).to_pylist()
    return [c["values"] for c in counted], [c["counts"] for c in counted]


def _choose(rows: pa.Table, n: int, *, newest: bool) -> pa.Table:
    """The `n` newest records (newest first), or the `n` first by record time."""
    if rows.num_rows == 0:
        return rows
    order = "descending" if newest else "ascending"
    keys = [("timestamp_ms", order), ("partition", "ascending"), ("offset", order)]
    return rows.sort_by(keys).slice(0, n)
