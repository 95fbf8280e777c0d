"""`ingest_offsets`: the next offset of each (source, broker, topic, partition) EventLab stored.

An ingest (Kafka, RabbitMQ streams) writes them in the same transaction as the events they
cover, so a run that dies anywhere resumes right after the last stored record: no gap, no
duplicate. Positions name their broker, so two clusters with a topic (or stream) of the same
name never mix. Rows from stores made before brokers were recorded have broker '' and are
adopted by the next Kafka ingest of their topic. The Sources page reads them to show how far
behind the end of a topic EventLab's copy is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eventlab.kafka.positions import TP
from eventlab.store import db

LEGACY_BROKER = ""
"""The broker of positions stored before positions named one (Kafka only)."""


def kafka_broker_id(bootstrap: str) -> str:
    """A Kafka cluster as positions name it: its bootstrap servers, trimmed and sorted."""
    return ",".join(sorted(s.strip() for s in bootstrap.split(",") if s.strip()))


def stored_positions(con: db.Connection, topics: Sequence[str] | None = None, *,
                     source: str = "kafka", broker: str | None = None) -> dict[TP, int]:
    """Next offset per (topic, partition) of `source` stored so far (of `topics`, when given).

    With `broker`, only that broker's positions (and, for Kafka, legacy ones it has not
    replaced yet); without, every broker's (the largest where names clash).
    """
    sql = ('SELECT topic, "partition", next_offset, broker FROM ingest_offsets '
           "WHERE source = ?")
    params: list[object] = [source]
    if topics is not None:
        sql += " AND list_contains(?, topic)"
        params.append(list(topics))
    if broker is not None:
        sql += " AND (broker = ? OR (source = 'kafka' AND broker = ?))"
        params += [broker, LEGACY_BROKER]
    found: dict[TP, int] = {}
    # Legacy rows first, so the broker's own rows win.
    for t, p, n, _b in sorted(db.rows(con, sql, params), key=lambda r: r[3] != LEGACY_BROKER):
        found[(t, p)] = n if broker is not None else max(n, found.get((t, p), n))
    return found


def save_positions(cur: db.Connection, positions: Mapping[TP, int], *, source: str = "kafka",
                   broker: str = LEGACY_BROKER) -> None:
    """Record the next offset of each partition; call it inside the events' transaction.

    A broker's position replaces the legacy row of the same topic-partition (it adopted it).
    """
    for (topic, partition), next_offset in positions.items():
        cur.execute('INSERT OR REPLACE INTO ingest_offsets (source, broker, topic, "partition", '
                    "next_offset, updated_at) VALUES (?, ?, ?, ?, ?, now())",
                    [source, broker, topic, partition, next_offset])
        if broker != LEGACY_BROKER:
            cur.execute('DELETE FROM ingest_offsets WHERE source = ? AND broker = ? AND '
                        'topic = ? AND "partition" = ?', [source, LEGACY_BROKER, topic, partition])
