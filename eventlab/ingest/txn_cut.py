"""Where a broker ingest cuts its transactions: on whole DuckDB row groups.

A large append is written as whole row groups and one short one. DuckDB's checkpoint merges a
short row group with its neighbours when the rows fit in fewer groups, which rewrites (and
compresses again) the whole groups beside it: about 6 s of CPU per million events when every
transaction ended in a short group (docs/speed.md). A transaction that holds a whole number
of row groups leaves nothing to merge; the rows beyond the last whole group wait for the next
one.
"""

from __future__ import annotations

import pyarrow as pa

from eventlab.kafka.positions import TP
from eventlab.store.db import ROW_GROUP_ROWS

Pending = list[tuple[pa.Table, dict[TP, int]]]
"""Raw batches waiting for a transaction, each with the next offsets the reader sent after it."""


def whole_groups(pending: Pending, unit: int = ROW_GROUP_ROWS) -> tuple[Pending, Pending]:
    """Split `pending` into the longest prefix of whole `unit`s of rows and the rest.

    A batch cut in two keeps its reader's positions with its second part; the first part's
    positions are the next offset after its own records (a partition's records are in offset
    order within a batch, so the first part holds a prefix of each partition's records).
    """
    total = sum(t.num_rows for t, _ in pending)
    take = total - total % unit
    head: Pending = []
    rest: Pending = []
    at = 0
    for table, positions in pending:
        n = table.num_rows
        if at + n <= take:
            head.append((table, positions))
        elif at >= take:
            rest.append((table, positions))
        else:
            first = table.slice(0, take - at)
            head.append((first, next_offsets(first)))
            rest.append((table.slice(take - at), positions))
        at += n
    return head, rest


def next_offsets(table: pa.Table) -> dict[TP, int]:
    """The offset after the last record of each (topic, partition) in `table`."""
    g = table.select(["topic", "partition", "offset"]).group_by(
        ["topic", "partition"]).aggregate([("offset", "max")])
    return {(t, p): o + 1 for t, p, o in zip(g.column("topic").to_pylist(),
                                             g.column("partition").to_pylist(),
                                             g.column("offset_max").to_pylist(), strict=True)}
