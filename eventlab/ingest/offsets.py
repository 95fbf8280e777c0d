"""`ingest_offsets`: the next offset of each topic-partition EventLab has stored.

A Kafka ingest writes them in the same transaction as the events they cover, so a run that
dies anywhere resumes right after the last stored record: no gap, no duplicate. The Sources
page reads them to show how far behind the end of a topic EventLab's copy is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eventlab.kafka.positions import TP
from eventlab.store import db


def stored_positions(con: db.Connection, topics: Sequence[str] | None = None) -> dict[TP, int]:
    """Next offset per (topic, partition) stored so far (of `topics`, when given)."""
    sql = 'SELECT topic, "partition", next_offset FROM ingest_offsets'
    params: list[object] = []
    if topics is not None:
        sql += " WHERE list_contains(?, topic)"
        params.append(list(topics))
    return {(t, p): n for t, p, n in db.rows(con, sql, params)}


def save_positions(cur: db.Connection, positions: Mapping[TP, int]) -> None:
    """Record the next offset of each partition; call it inside the events' transaction."""
    for (topic, partition), next_offset in positions.items():
        cur.execute('INSERT OR REPLACE INTO ingest_offsets (topic, "partition", next_offset, '
                    "updated_at) VALUES (?, ?, ?, now())", [topic, partition, next_offset])
