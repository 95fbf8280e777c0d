"""Peek at a topic without loading it: a few records, decoded with the chosen mapping, nothing
stored.

`peek` reads up to 500 raw records (`kafka.peek.read_peek`: `assign()`, no group, no
commit), decodes them exactly as an ingest would (`kafka_mapping`, inside a
throw-away in-memory DuckDB), and returns one row per record: partition, offset, timestamp,
key, headers and value (text, or hex when not UTF-8, cut with its size shown), and the decoded
entity and event type or the reason the record would be quarantined. `load_from` is where an
ingest should start to load "from here": per partition, the first record shown (partitions
with none shown: after what the peek read).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from eventlab.errors import SourceError
from eventlab.ingest import kafka_mapping
from eventlab.ingest.mapping import MappingSpec
from eventlab.kafka.peek import MAX_RECORDS, PeekStart, read_peek
from eventlab.kafka.positions import TP, parse_start, tp_text
from eventlab.store.blobs import show_bytes

PREVIEW_CHARS = 200
DEFAULT_RECORDS = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_peek_start(text: str, topic: str) -> PeekStart:
    """`newest` (or `latest`), `earliest`, `P:OFFSET,...` / `TOPIC:P:OFFSET,...`, or an ISO
    8601 time (naive = UTC): `eventlab peek --from`'s text."""
    value = (text or "newest").strip()
    if value in ("newest", "latest"):
        return "newest"
    if value == "earliest":
        return "earliest"
    start = parse_start(value, [topic])
    if isinstance(start, Mapping):
        other = sorted({t for t, _ in start if t != topic})
        if other:
            raise SourceError(f"the start position names topic {', '.join(other)}, but the "
                              f"peek reads {topic}: use P:OFFSET or {topic}:P:OFFSET")
    return start  # type: ignore[return-value]


def preview(value: bytes | None, limit: int = PREVIEW_CHARS) -> str | None:
    """A raw value as the table shows it (`store.blobs.show_bytes`, cut at `limit`)."""
    return show_bytes(value, limit)


def start_text(positions: Mapping[TP, int]) -> str:
    """Offsets per partition as `ingest-kafka --from` text (`TOPIC:P:OFFSET,...`)."""
    return ",".join(f"{t}:{p}:{o}" for (t, p), o in sorted(positions.items()))


@dataclass(frozen=True)
class PeekResult:
    """What a peek read and how it decodes; `to_dict` is `eventlab peek --json`."""

    topic: str
    rows: list[dict[str, Any]]
    mappings: list[dict[str, Any]]
    start_offsets: dict[TP, int]
    load_from: dict[TP, int]
    end_offsets: dict[TP, int]
    partial: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def presets(self) -> str:
        """The presets the records were decoded with, e.g. `envelope` or
        `cloudevents-binary, envelope` (a topic may mix content modes)."""
        return ", ".join(dict.fromkeys(m.get("preset", "?") for m in self.mappings)) or "no"

    @property
    def decoded(self) -> int:
        """Records that would become events."""
        return sum(1 for r in self.rows if r["reason"] is None)

    @property
    def quarantined(self) -> int:
        """Records an ingest would put in the quarantine."""
        return len(self.rows) - self.decoded

    @property
    def load_from_text(self) -> str:
        """`load_from` as `ingest-kafka --from` text."""
        return start_text(self.load_from)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output (times as ISO text)."""
        def pos(d: Mapping[TP, int]) -> dict[str, int]:
            return {tp_text(tp): n for tp, n in sorted(d.items())}
        return {"topic": self.topic, "records": len(self.rows), "decoded": self.decoded,
                "quarantined": self.quarantined, "partial": self.partial,
                "mappings": self.mappings, "start_offsets": pos(self.start_offsets),
                "load_from": pos(self.load_from), "load_from_text": self.load_from_text,
                "end_offsets": pos(self.end_offsets), "notes": self.notes,
                "rows": [{k: (v.isoformat() if isinstance(v, datetime) else v)
                          for k, v in r.items()} for r in self.rows]}


def _timestamp(ms: int) -> datetime | None:
    return None if ms is None or ms < 0 else _EPOCH + timedelta(milliseconds=ms)


def _decoded(con: Any, table: str, spec: MappingSpec) -> tuple[Any, list[dict[str, Any]]]:
    """The ingest's decoding SELECT over a registered raw table (a mapping per topic and per
    record content mode, as ingest resolves it), and the mappings it used."""
    sql, by_topic = kafka_mapping.decoded_batch(con, table, spec)
    return sql, [{"mode": mode, **m.to_dict()} for modes in by_topic.values()
                 for mode, m in modes.items()]


def decode_rows(raw: Any, spec: MappingSpec, where: tuple[list[str], list[Any]] | None = None
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Decode a raw table (`reader.RAW_SCHEMA`, one topic or several) with the mapping, in an
    in-memory DuckDB that is closed afterwards; rows in the table's order, and the mappings
    resolved. `where`: bound clauses over the decoded columns (`event_type`, `key`,
    `payload`, `headers`, ... as Explore's `build_where` writes them); only matching records
    are returned."""
    from eventlab.store import db

    if raw.num_rows == 0:
        return [], []
    clauses, params = where or ([], [])
    con = db.connect(":memory:", memory_limit="256MB", threads=1)
    try:
        db.register(con, "__peek", raw)
        sql, mappings = _decoded(con, "__peek", spec)
        filtered = (" WHERE " + " AND ".join(f"({c})" for c in clauses)) if clauses else ""
        decoded = db.arrow(con, f"SELECT topic, \"partition\", \"offset\", entity_type_src, "
                                f"entity_id, event_type, event_id_src, ts, __tombstone, __reason, "
                                f"__detail FROM ({sql.text}){filtered}",
                           [*sql.params, *params]).to_pylist()
    finally:
        con.close()
    by_pos = {(d["topic"], d["partition"], d["offset"]): d for d in decoded}
    rows = []
    for r in raw.to_pylist():
        d = by_pos.get((r["topic"], r["partition"], r["offset"]))
        if d is None:
            if clauses:
                continue
            d = {}
        reason = d.get("__reason")
        headers = [{"key": h["key"], "value": preview(h["value"], 100)}
                   for h in r["headers"] or []]
        rows.append({
            "topic": r["topic"], "partition": r["partition"], "offset": r["offset"],
            "timestamp": _timestamp(r["timestamp_ms"]),
            "key": preview(r["key"], 100),
            "headers": headers,
            "value": preview(r["value"]),
            "value_bytes": None if r["value"] is None else len(r["value"]),
            "entity_id": None if reason else d.get("entity_id"),
            "event_type": None if reason else d.get("event_type"),
            "event_time": None if reason else d.get("ts"),
            "status": ("quarantined" if reason else
                       "tombstone" if d.get("__tombstone") else "decoded"),
            "reason": reason,
            "detail": d.get("__detail") if reason else None,
        })
    return rows, mappings


def load_positions(rows: list[dict[str, Any]], topic: str,
                   next_offsets: Mapping[TP, int]) -> dict[TP, int]:
    """Where "load from here" starts: per partition the lowest offset shown, else the next
    offset after what the peek read."""
    firsts: dict[TP, int] = {}
    for r in rows:
        tp = (topic, r["partition"])
        firsts[tp] = min(firsts.get(tp, r["offset"]), r["offset"])
    return dict(sorted({**next_offsets, **firsts}.items()))


def peek(config: Any, topic: str, start: PeekStart | str = "newest",
         max_records: int = DEFAULT_RECORDS, *, spec: MappingSpec | None = None,
         isolation_level: str = "read_committed", time_limit_s: float = 10.0) -> PeekResult:
    """Read up to `max_records` (1-500) records of `topic` from `start` and decode them;
    nothing is stored and no consumer group is created or committed for."""
    if not 1 <= int(max_records) <= MAX_RECORDS:
        raise SourceError(f"a peek reads 1 to {MAX_RECORDS} records, not {max_records}")
    if isinstance(start, str) and start not in ("newest", "earliest"):
        start = parse_peek_start(start, topic)
    peeked = read_peek(config, topic, start, int(max_records),  # type: ignore[arg-type]
                       isolation_level=isolation_level, time_limit_s=time_limit_s)
    rows, mappings = decode_rows(peeked.rows, spec or MappingSpec())
    notes = []
    if peeked.partial:
        notes.append(f"stopped after {time_limit_s:g} s with {len(rows)} record(s)")
    if not rows:
        notes.append("no records at that start (the partitions hold nothing from there to "
                     "their end)")
    return PeekResult(topic, rows, mappings, peeked.start_offsets,
                      load_positions(rows, topic, peeked.next_offsets), peeked.end_offsets,
                      peeked.partial, notes)
