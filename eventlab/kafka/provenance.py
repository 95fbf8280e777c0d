"""EventLab's provenance headers, and reading a republish target back: which records of one
replay job are in a topic.

The header names are defined here, once: republish writes them (`republish/plan.py`), the
target is read back by them (below), and ingest recognises a record EventLab republished by
them (`ingest/republished.py`).

`find_replayed` reads a topic from its earliest to its end offsets (taken at the start) with
the raw reader (`assign()`, no group, no commit: docs/safety.md, item 32) and returns, for
each record whose `replay_header` equals `replay_id`, the values of `identity_headers` and
where it lies. The republish ledger uses it to settle records whose outcome is unknown
(eventlab/republish/run.py). Header matching runs on the Arrow columns, not per record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.positions import TP

ORIGINAL_TOPIC = "eventlab-original-topic"
ORIGINAL_PARTITION = "eventlab-original-partition"
ORIGINAL_OFFSET = "eventlab-original-offset"
ORIGINAL_TIMESTAMP = "eventlab-original-timestamp"
ORIGINAL_EVENT_ID = "eventlab-original-event-id"
REPLAY_ID = "eventlab-replay-id"
REPLAYED_AT = "eventlab-replayed-at"
REPLAYED_BY = "eventlab-replayed-by"
REASON = "eventlab-reason"
HEADERS: tuple[str, ...] = (ORIGINAL_TOPIC, ORIGINAL_PARTITION, ORIGINAL_OFFSET,
                            ORIGINAL_TIMESTAMP, ORIGINAL_EVENT_ID, REPLAY_ID, REPLAYED_AT,
                            REPLAYED_BY, REASON)
"""The provenance headers added to every republished record, in this order."""
COMPOSED_BY = "eventlab-composed-by"
COMPOSED_AT = "eventlab-composed-at"
PRODUCE_ID = "eventlab-produce-id"
COMPOSED: tuple[str, ...] = (COMPOSED_BY, COMPOSED_AT, PRODUCE_ID, REASON)
"""The provenance headers of a message composed by hand (`eventlab produce`), in this order;
a copy of a stored event adds ORIGINAL_EVENT_ID (and its topic, partition and offset)."""


def has_header(headers: pa.ChunkedArray | pa.ListArray, name: str) -> bool:
    """Does any record of a raw batch's `headers` column carry a header called `name`?"""
    if isinstance(headers, pa.ChunkedArray):
        headers = headers.combine_chunks()
    keys = pc.struct_field(pc.list_flatten(headers), "key")
    return len(keys) > 0 and bool(pc.any(pc.equal(keys, name)).as_py())


@dataclass(frozen=True)
class Found:
    """One record of the replay found in the target: its identity header values and place."""

    identity: tuple[str | None, ...]
    partition: int
    offset: int


def _header_value(headers: pa.ListArray, name: str) -> pa.Array:
    """Per record, the value (bytes) of its first header called `name`, or null."""
    return _header_values(headers, [name])[0]


def _header_values(headers: pa.ListArray, names: Sequence[str]) -> list[pa.Array]:
    """`_header_value` for each of `names`, in one pass over the header keys (a read-back
    looks for five names in every record: one flatten and one key lookup, not five)."""
    flat = pc.list_flatten(headers)
    parents = pc.list_parent_indices(headers).to_numpy(zero_copy_only=False)
    code = pc.fill_null(pc.index_in(pc.struct_field(flat, "key"),
                                    value_set=pa.array(list(names), pa.string())), -1)
    code = code.to_numpy(zero_copy_only=False)
    values = pc.struct_field(flat, "value").cast(pa.binary())
    out = []
    for j in range(len(names)):
        at = np.flatnonzero(code == j)
        rows, first = np.unique(parents[at], return_index=True)  # the first of a name wins
        where = np.full(len(headers), len(first), dtype=np.int64)
        where[rows] = np.arange(len(first))
        picked = values.take(pa.array(at[first], pa.int64()))
        out.append(pa.concat_arrays([picked, pa.nulls(1, pa.binary())]).take(pa.array(where)))
    return out


def _texts(values: pa.Array) -> list[str | None]:
    """UTF-8 text of each value (undecodable bytes replaced), None for null."""
    try:
        return values.cast(pa.string()).to_pylist()
    except pa.ArrowInvalid:  # not UTF-8 somewhere: Python's replacement, value by value
        return [None if v is None else v.decode("utf-8", "replace")
                for v in values.to_pylist()]


def find_replayed(config: KafkaConfig, topic: str, replay_id: str, replay_header: str,
                  identity_headers: Sequence[str], batch_records: int = 50_000,
                  start: Mapping[TP, int] | None = None) -> list[Found]:
    """Every record in `topic` carrying `replay_header` = `replay_id` (see the module).

    `start`: where to begin per partition (in range; partitions it leaves out: earliest)."""
    table = replayed_table(config, topic, replay_id, replay_header, identity_headers,
                           batch_records, start)
    idents = [table.column(i + 2).to_pylist() for i in range(len(identity_headers))]
    return list(map(Found, zip(*idents, strict=True) if idents else [()] * table.num_rows,
                    table.column("partition").to_pylist(), table.column("offset").to_pylist()))


def replayed_table(config: KafkaConfig, topic: str, replay_id: str, replay_header: str,
                   identity_headers: Sequence[str], batch_records: int = 50_000,
                   start: Mapping[TP, int] | None = None) -> pa.Table:
    """`find_replayed` as columns: `partition`, `offset`, then one text column per identity
    header (null where the record lacks it), without a Python object per record (a job's
    verification reads every record it sent back)."""
    from eventlab.kafka.reader import KafkaRawReader  # here: the header names stay light

    wanted = pa.scalar(replay_id.encode(), pa.binary())
    names = ["partition", "offset", *identity_headers]
    parts: list[pa.Table] = []
    reader = KafkaRawReader(config, [topic], start=dict(start) if start else "earliest",
                            until="end", payload=False)
    try:
        while (table := reader.next_batch(batch_records)) is not None:
            if table.num_rows == 0:
                continue
            headers = table.column("headers").combine_chunks()
            replay, *idents = _header_values(headers, [replay_header, *identity_headers])
            mine = pc.fill_null(pc.equal(replay, wanted), False)
            if not pc.any(mine).as_py():
                continue
            parts.append(pa.Table.from_arrays(
                [table.column("partition").filter(mine), table.column("offset").filter(mine),
                 *(_text_array(v.filter(mine)) for v in idents)], names=names))
    finally:
        reader.close()
    if not parts:
        return pa.table({"partition": pa.array([], pa.int32()),
                         "offset": pa.array([], pa.int64()),
                         **{h: pa.array([], pa.string()) for h in identity_headers}})
    return pa.concat_tables(parts).combine_chunks()


def _text_array(values: pa.Array) -> pa.Array:
    """`_texts` as an Arrow string array."""
    try:
        return values.cast(pa.string())
    except pa.ArrowInvalid:
        return pa.array(_texts(values), pa.string())
