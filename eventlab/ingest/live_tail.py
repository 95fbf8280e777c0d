"""A live tail of Kafka topics: the records produced since the tail started, decoded as an
ingest would decode them, filtered, newest first; nothing is stored.

`start(config, topics)` takes every partition's end offset now (or `back` records before
it). Each `poll(config, state, ...)` reads from where the last one stopped up to the end
offsets of that moment (`KafkaRawReader`: `assign()`, no consumer group, no commit;
docs/safety.md, items 5 and 32), decodes the records with `ingest.peek.decode_rows` (the
ingest's mapping, in a throw-away DuckDB), keeps those the filters match and returns a new
`TailState` with them in front, cut at `keep` records. A paused tail is simply not polled.

Filters use Explore's grammar (`explore.filters`: event types, key and a JSON path with its
operator, the same URL parameter names `types`, `key`, `jpath`, `jop`, `jval`) plus `header`
(`NAME` or `NAME=VALUE`, the value as UTF-8 text).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from eventlab.errors import SourceError
from eventlab.explore.filters import FilterError, Filters, build_where, from_params
from eventlab.ingest.mapping import MappingSpec
from eventlab.ingest.peek import decode_rows, start_text
from eventlab.kafka.positions import TP

DEFAULT_KEEP = 200
MAX_KEEP = 2000
"""The most records a tail keeps (in the browser session or the terminal's memory)."""
MAX_POLL_RECORDS = 5000
"""The most records one poll reads; the rest wait for the next poll."""
HEADER = "header"
"""The tail's own filter parameter (`NAME` or `NAME=VALUE`), next to Explore's."""


@dataclass(frozen=True)
class TailFilter:
    """Explore's filters that apply to a record (types, key, JSON path) and a header."""

    filters: Filters = field(default_factory=Filters)
    header: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TailFilter:
        """From Explore's parameter names plus `header` (raises FilterError on bad values)."""
        rest = {k: v for k, v in params.items() if k != HEADER}
        f = from_params(rest)
        if f.start or f.end or f.entity_type or f.text or f.event_id or f.duplicates_only \
                or f.correlation_id or f.causation_id or f.follows or f.entity_prefix:
            used = sorted(k for k in rest if k not in ("types", "key", "jpath", "jop", "jval"))
            raise FilterError(f"a tail filters by types, key, jpath/jop/jval and header only, "
                              f"not {', '.join(used)}")
        header = params.get(HEADER)
        if isinstance(header, list | tuple):
            header = header[-1] if header else None
        return cls(f, (str(header).strip() or None) if header is not None else None)

    def where(self) -> tuple[list[str], list[Any]]:
        """Bound clauses over the decoded records (Explore's, then the header's)."""
        clauses, params = build_where(self.filters)
        if self.header:
            name, sep, value = self.header.partition("=")
            if sep:
                clauses.append("len(list_filter(headers, lambda h: h.key = ? AND "
                               "TRY(decode(h.value)) = ?)) > 0")
                params += [name, value]
            else:
                clauses.append("list_contains(list_transform(headers, lambda h: h.key), ?)")
                params.append(name)
        return clauses, params


def parse_filters(items: Sequence[str]) -> TailFilter:
    """`NAME=VALUE` items (`types=OrderPlaced`, `jpath=$.total`, `jop=>`, `jval=100`,
    `key=order-1`, `header=source=web`) as a TailFilter; `types` may repeat."""
    params: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise FilterError(f"filter {item!r} is not NAME=VALUE (types, key, jpath, jop, "
                              "jval, header)")
        if name == "types":
            params.setdefault("types", []).append(value)
        else:
            params[name] = value
    return TailFilter.from_params(params)


@dataclass(frozen=True)
class TailState:
    """Where a tail stands: next offset per partition, and the records kept, newest first."""

    topics: tuple[str, ...]
    positions: dict[TP, int]
    rows: tuple[dict[str, Any], ...] = ()
    fresh: tuple[dict[str, Any], ...] = ()
    """The matches of the last poll, newest first."""
    read: int = 0
    matched: int = 0
    polls: int = 0
    last_poll: datetime | None = None

    @property
    def load_from(self) -> dict[TP, int]:
        """Where "load from here" starts: per partition the oldest record kept, else where
        the tail has read up to (as a peek's "load from here")."""
        firsts: dict[TP, int] = {}
        for r in self.rows:
            tp = (r["topic"], r["partition"])
            firsts[tp] = min(firsts.get(tp, r["offset"]), r["offset"])
        return dict(sorted({**self.positions, **firsts}.items()))

    @property
    def load_from_text(self) -> str:
        """`load_from` as `ingest-kafka --from` text."""
        return start_text(self.load_from)


def start(config: Any, topics: Sequence[str], back: int = 0,
          isolation_level: str = "read_committed") -> TailState:
    """A tail of `topics` (all partitions) from their end now, or `back` records per
    partition before it; raises TopicGone for a missing topic."""
    from eventlab.errors import TopicGone
    from eventlab.kafka import admin

    names = tuple(dict.fromkeys(topics))
    if not names:
        raise SourceError("a tail needs at least one topic")
    counts = admin.partition_counts(config, list(names))
    missing = [t for t in names if counts.get(t) is None]
    if missing:
        raise TopicGone(f"topic {', '.join(missing)} does not exist on {config.bootstrap}: "
                        "check the name (topics are case-sensitive)")
    tps = [(t, p) for t in names for p in range(counts[t])]
    bounds = admin.offset_bounds(config, tps, isolation_level)
    begin = {tp: max(bounds[tp][0], bounds[tp][1] - max(0, int(back))) for tp in tps}
    return TailState(names, begin)


def _order(row: Mapping[str, Any]) -> tuple:
    ts = row["timestamp"]
    return (ts.timestamp() if ts else float("-inf"), row["topic"], row["partition"],
            row["offset"])


def poll(config: Any, state: TailState, *, spec: MappingSpec | None = None,
         where: TailFilter | None = None, keep: int = DEFAULT_KEEP,
         max_records: int = MAX_POLL_RECORDS, time_limit_s: float = 3.0,
         isolation_level: str = "read_committed") -> TailState:
    """Read what arrived since `state` (up to the end offsets now, at most `max_records`),
    decode and filter it, and return the next state with the matches in front."""
    import pyarrow as pa

    from eventlab.kafka.reader import RAW_SCHEMA, KafkaRawReader

    keep = max(1, min(int(keep), MAX_KEEP))
    tables = []
    with KafkaRawReader(config, list(state.topics), start=dict(state.positions),
                        until="end", isolation_level=isolation_level) as reader:
        deadline = time.monotonic() + time_limit_s
        ends = dict(reader.end_offsets)
        got = 0
        while got < max_records and time.monotonic() < deadline and any(
                reader.positions().get(tp, reader.start_offsets[tp]) < ends[tp] for tp in ends):
            batch = reader.next_batch(max_records=max_records - got, timeout_ms=200)
            if batch is None:
                break
            if batch.num_rows:
                tables.append(batch)
                got += batch.num_rows
        positions = {tp: reader.positions().get(tp, reader.start_offsets[tp])
                     for tp in state.positions}
    raw = pa.concat_tables(tables) if tables else RAW_SCHEMA.empty_table()
    rows, _ = decode_rows(raw, spec or MappingSpec(), where.where() if where else None)
    new = sorted(rows, key=_order, reverse=True)
    kept = tuple(sorted([*new, *state.rows], key=_order, reverse=True)[:keep])
    return replace(state, positions=positions, rows=kept, fresh=tuple(new),
                   read=state.read + raw.num_rows,
                   matched=state.matched + len(rows), polls=state.polls + 1,
                   last_poll=datetime.now(UTC))
