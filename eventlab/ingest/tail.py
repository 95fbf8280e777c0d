"""The newest end of the store: the latest events, and how far each topic has been read.

Both are small, bounded queries meant to be polled every second or two while an ingest follows
a topic. `topic_status` joins a cluster listing (`kafka.admin.list_topics`) with the stored
positions (`ingest.offsets`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

from eventlab.kafka.admin import TopicInfo
from eventlab.kafka.positions import TP, remaining
from eventlab.store import db
from eventlab.store.sql import quote_ident

TAIL_LIMIT = 20
TAIL_COLUMNS: tuple[str, ...] = ("ingested_at", "ts", "entity_id", "event_type", "seq",
                                 "topic", "partition", "offset")
_TAIL_SELECT = ", ".join(quote_ident(c) for c in TAIL_COLUMNS)



def tail_sql(topics: Sequence[str] | None = None) -> tuple[str, list[object]]:
    """The newest-events query: `ORDER BY ingested_at DESC` with a bound `LIMIT`."""
    where, params = "", []
    if topics:
        where, params = " WHERE list_contains(?, topic)", [list(topics)]
    return (f"SELECT {_TAIL_SELECT} FROM events{where} ORDER BY ingested_at DESC, "
            f'topic DESC, "partition" DESC, "offset" DESC LIMIT ?', params)


def newest_events(con: db.Connection, topics: Sequence[str] | None = None,
                  limit: int = TAIL_LIMIT) -> pa.Table:
    """The `limit` most recently stored events (of `topics`, when given), newest first."""
    sql, params = tail_sql(topics)
    return db.arrow(con, sql, [*params, max(1, min(int(limit), 1000))])


@dataclass(frozen=True)
class TopicStatus:
    """A topic on the cluster next to what EventLab has read of it."""

    name: str
    partitions: int
    earliest: Mapping[int, int]
    end: Mapping[int, int]
    records: int
    stored: Mapping[int, int]        # next offset per partition EventLab has stored
    behind: int                      # records after what EventLab stored (all, if nothing)

    @property
    def loaded(self) -> bool:
        """True when EventLab has read some partition of this topic before."""
        return bool(self.stored)


def _offsets(values: Mapping[int, int]) -> str:
    return " · ".join(f"p{p}={o:,}" for p, o in sorted(values.items())) or "—"


def topic_status(topics: Sequence[TopicInfo], stored: Mapping[TP, int]) -> list[TopicStatus]:
    """Per topic: offsets on the cluster and how far behind their end EventLab's copy is.

    A partition never read counts from its earliest offset; a stored position below the
    earliest (retention removed records since) counts from the earliest too.
    """
    out = []
    for info in topics:
        mine = {p: n for (t, p), n in stored.items() if t == info.name}
        behind = sum(remaining(end, mine.get(p), info.earliest.get(p, 0))
                     for p, end in info.end_offsets.items())
        out.append(TopicStatus(info.name, info.partitions, dict(info.earliest),
                               dict(info.end_offsets), info.records, mine, behind))
    return out


def status_rows(statuses: Sequence[TopicStatus]) -> list[dict[str, object]]:
    """Rows for a table: one per topic, offsets written `p0=12 · p1=40`."""
    return [{"topic": s.name, "partitions": s.partitions, "records": s.records,
             "earliest offsets": _offsets(s.earliest), "end offsets": _offsets(s.end),
             "EventLab stored up to": _offsets(s.stored) if s.loaded else "not loaded",
             "behind": s.behind} for s in statuses]
