"""The data-quality checks, each one query (or two) inside DuckDB, and `run_checks`.

Counts, exactly:
- `duplicate_event_id`: distinct event ids stored more than once; identical copies and
  conflicting payloads counted apart (`details`).
- `sequence_gap`: missing positions between an entity's stored seqs (1, 2, 4 is one); an
  entity whose first stored seq is above 1 is counted apart (`details.late_start`), since a
  read that started mid-topic has no earlier events to find.
- `sequence_regression`: events whose seq is not above the previous one of their entity in
  arrival order (source, topic, partition, offset): repeated or decreasing seq.
- `out_of_order_time`: events whose time is before the previous event's in seq order.
- `unknown_event_type`: event types stored that the chosen rules reducer has no rule for.
- `schema_drift`: fields that appear, disappear or change JSON type between the versions of an
  event type (or have two types in one version); the field table is in `details`.
- `late_event`: events whose time is more than `late_seconds` from their Kafka timestamp;
  Kafka timestamps that are -1 or in the future are counted apart (`details`).
- `quarantine`: quarantined rows, by reason in `examples`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from eventlab.explore.duplicates import DUPLICATES_SQL
from eventlab.quality import drift, shapes
from eventlab.quality.findings import (
    ERROR,
    INFO,
    MAX_EXAMPLES,
    OK,
    WARNING,
    Finding,
    severity_for,
)
from eventlab.quality.sequence_sql import FACTS_SQL, sequences_sql
from eventlab.store import db, follows, summaries

DEFAULT_LATE_SECONDS = 300.0
KINDS: tuple[str, ...] = (
    "duplicate_event_id", "sequence_gap", "sequence_regression", "out_of_order_time",
    "unknown_event_type", "schema_drift", "late_event", "quarantine",
)


@dataclass(frozen=True)
class Report:
    """Every finding, in `KINDS` order, and how long the whole run took."""

    findings: tuple[Finding, ...]
    seconds: float
    events: int

    def to_dict(self) -> dict[str, Any]:
        """`eventlab check --json`: `findings` as `{kind, count, severity, examples, ...}`."""
        return {"events": self.events, "seconds": self.seconds,
                "findings": [f.to_dict() for f in self.findings]}

    def get(self, kind: str) -> Finding:
        """The finding of one kind."""
        return next(f for f in self.findings if f.kind == kind)


def _dicts(con: db.Connection, sql: str, params: list[Any] | None = None) -> list[dict]:
    return db.arrow(con, sql, params).to_pylist()


_DUPLICATE_COUNTS = (
    "SELECT count(*), count(*) FILTER (WHERE payloads > 1) FROM {source}")
_DUPLICATE_EXAMPLES = ("SELECT event_id, entity_id, copies, payloads FROM {source} "
                       "ORDER BY payloads > 1 DESC, event_id LIMIT ?")


def duplicates(con: db.Connection) -> Finding:
    """From `summary_duplicates` when the summaries are fresh, else one pass (the same rows:
    `explore.duplicates.DUPLICATES_SQL`); counted and the first examples taken in DuckDB."""
    if summaries.fresh(con):
        source = "summary_duplicates"
    else:
        source = "dups"
        con = con.cursor()  # a cursor of its own for the temporary table
        con.execute(f"CREATE OR REPLACE TEMP TABLE dups AS {DUPLICATES_SQL}")
    try:
        total, conflicting = db.rows(con, _DUPLICATE_COUNTS.format(source=source))[0]
        rows = _dicts(con, _DUPLICATE_EXAMPLES.format(source=source), [MAX_EXAMPLES])
    finally:
        if source == "dups":
            con.execute("DROP TABLE IF EXISTS dups")
            con.close()
    identical = total - conflicting
    return Finding(
        "duplicate_event_id", total,
        ERROR if conflicting else severity_for(total, WARNING),
        f"{total:,} event ids are stored more than once: {identical:,} as identical copies "
        f"(retries, or a file copy beside a Kafka copy), {conflicting:,} with conflicting "
        "payloads (two different events under one id).",
        tuple({"event_id": r["event_id"], "entity_id": r["entity_id"], "copies": r["copies"],
               "conflicting": r["payloads"] > 1} for r in rows),
        {"dup": "1"} if total else {},
        {"identical": identical, "conflicting": conflicting})


_SEQ_SQL = sequences_sql()


def sequences(con: db.Connection) -> list[Finding]:
    """Gaps, regressions and out-of-order times: one pass over every entity's stream, or a
    filter over the store's "follows" facts when they are fresh (`store.follows`)."""
    r = _dicts(con, FACTS_SQL if follows.fresh(con) else _SEQ_SQL)[0]
    gaps = int(r["missing"])
    return [
        Finding("sequence_gap", gaps, severity_for(gaps, WARNING),
                f"{gaps:,} positions are missing from {r['gap_entities']:,} entities' seq "
                "(1, 2, 4 is one): lost or not yet loaded events; events they caused may "
                "name a causation id that is not stored.",
                tuple(r["gap_examples"] or ()), {},
                {"entities": r["gap_entities"], "late_start": r["late_start"]}),
        Finding("sequence_regression", int(r["regressions"]),
                severity_for(int(r["regressions"]), WARNING),
                f"{r['regressions']:,} events arrived with a seq not above the previous one "
                f"of their entity ({r['repeated']:,} repeat it: a retried or duplicated "
                "event).",
                tuple(r["regression_examples"] or ()), {}, {"repeated": r["repeated"]}),
        Finding("out_of_order_time", int(r["out_of_order"]),
                severity_for(int(r["out_of_order"]), INFO),
                f"{r['out_of_order']:,} events have a time before the previous event of their "
                "entity (in seq order): a skewed producer clock, or a late write.",
                tuple(r["ooo_examples"] or ()), {}),
    ]


_TYPES_SQL = "SELECT event_type, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC, 1"
_TYPES_SUMMED = ("SELECT event_type, sum(events)::BIGINT FROM summary_counts GROUP BY 1 "
                 "ORDER BY 2 DESC, 1")


def unknown_types(con: db.Connection, handled: Iterable[str] | None,
                  reducer: str | None = None) -> Finding:
    """Stored event types the rules reducer has no rule for (None: no reducer chosen)."""
    types = db.rows(con, _TYPES_SUMMED if summaries.fresh(con) else _TYPES_SQL)
    if handled is None:
        return Finding("unknown_event_type", 0, OK,
                       "No rules reducer is configured (EVENTLAB_RULES or --rules), so no "
                       "event type can be unknown to it.", (), {}, {"types": len(types)})
    known = set(handled)
    missing = [(t, n) for t, n in types if t not in known]
    return Finding(
        "unknown_event_type", len(missing), severity_for(len(missing), WARNING),
        f"{len(missing):,} of {len(types):,} event types have no rule in "
        f"{reducer or 'the rules reducer'}: their events are merged or skipped, not applied "
        "by a rule.",
        tuple({"event_type": t, "events": n} for t, n in missing[:MAX_EXAMPLES]),
        {"types": ",".join(t for t, _ in missing)} if missing else {},
        {"types": len(types)})


def _payload_fields(con: db.Connection) -> list[drift.Seen]:
    """Per (event type, version, the JSON type of each top-level field): events, first, last;
    from `quality.shapes` (the per-data-version summary when fresh, else one pass). A key
    repeated in one object keeps its first value's type, as a path reads it."""
    out = []
    for etype, version, keys, types, n, first, last in shapes.rows(con):
        fields: dict[str, str] = {}
        for key, kind in zip(json.loads(keys), json.loads(types), strict=True):
            fields.setdefault(key, kind)
        out.append(drift.Seen(etype, version, json.dumps(fields), n, first, last))
    return out


def schema_drift(con: db.Connection) -> Finding:
    uses = drift.field_uses(_payload_fields(con))
    found = drift.drifts(uses)
    types = sorted({d.event_type for d in found})
    return Finding(
        "schema_drift", len(found), severity_for(len(found), INFO),
        f"{len(found):,} payload fields appear, disappear or change JSON type between versions "
        f"of {len(types):,} event types: readers and reducers must handle both shapes "
        "(an upcaster).",
        tuple(asdict(d) for d in found[:MAX_EXAMPLES]),
        {"types": ",".join(types)} if types else {},
        {"fields": [{**asdict(u), "first": _iso(u.first), "last": _iso(u.last)}
                    for u in uses]})


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def late_events(con: db.Connection, late_seconds: float = DEFAULT_LATE_SECONDS) -> Finding:
    """One pass over the events with a Kafka timestamp; the 20 latest kept by a bounded
    `max_by` (not a list of every late event, sorted)."""
    r = _dicts(con, """
        WITH k AS (SELECT event_id, entity_id, seq, ts, kafka_ts,
                          abs(epoch(ts) - epoch(kafka_ts)) AS off_s
                   FROM events WHERE kafka_ts IS NOT NULL)
        SELECT count(*) AS with_kafka_ts,
               count(*) FILTER (WHERE off_s > ?) AS late,
               count(*) FILTER (WHERE epoch_ms(kafka_ts) < 0) AS negative,
               count(*) FILTER (WHERE kafka_ts > now() + INTERVAL 1 DAY) AS future,
               max_by({'event_id': event_id, 'entity_id': entity_id, 'seq': seq,
                       'seconds_apart': round(off_s, 3)}, off_s, ?)
                 FILTER (WHERE off_s > ?) AS examples
        FROM k""", [late_seconds, MAX_EXAMPLES, late_seconds])[0]
    late, bad = int(r["late"]), int(r["negative"]) + int(r["future"])
    if not r["with_kafka_ts"]:
        text = "No event has a Kafka timestamp (file data), so none can be late."
    else:
        text = (f"{late:,} events have an event time more than {late_seconds:g} s from their "
                f"Kafka record time (EVENTLAB_LATE_EVENT_SECONDS)")
        text += (f"; {bad:,} Kafka timestamps are -1 or in the future." if bad else ".")
    return Finding("late_event", late, WARNING if bad else severity_for(late, INFO), text,
                   tuple(r["examples"] or ()), {},
                   {"with_kafka_ts": r["with_kafka_ts"], "kafka_ts_negative": r["negative"],
                    "kafka_ts_future": r["future"], "threshold_seconds": late_seconds})


def quarantine(con: db.Connection) -> Finding:
    rows = _dicts(con, "SELECT reason, count(*) AS rows FROM quarantine GROUP BY 1 "
                       "ORDER BY 2 DESC, 1")
    total = sum(r["rows"] for r in rows)
    return Finding("quarantine", total, severity_for(total, ERROR),
                   f"{total:,} input rows or records could not become events; each is kept "
                   "with its raw bytes and reason on the Quarantine page.",
                   tuple(rows[:MAX_EXAMPLES]), {})


def run_checks(con: db.Connection, *, handled_types: Iterable[str] | None = None,
               reducer: str | None = None,
               late_seconds: float = DEFAULT_LATE_SECONDS,
               progress: Callable[[str], None] | None = None) -> Report:
    """Every check, in `KINDS` order, each timed (`Finding.seconds`)."""
    started = time.perf_counter()
    steps: list[tuple[str, Callable[[], Finding | list[Finding]]]] = [
        ("duplicates", lambda: duplicates(con)),
        ("sequences", lambda: sequences(con)),
        ("event types", lambda: unknown_types(con, handled_types, reducer)),
        ("schema drift", lambda: schema_drift(con)),
        ("late events", lambda: late_events(con, late_seconds)),
        ("quarantine", lambda: quarantine(con)),
    ]
    found: list[Finding] = []
    for name, step in steps:
        if progress:
            progress(name)
        t0 = time.perf_counter()
        out = step()
        spent = round(time.perf_counter() - t0, 3)
        for f in out if isinstance(out, list) else [out]:
            found.append(_timed(f, spent))
    found.sort(key=lambda f: KINDS.index(f.kind))
    events = int(db.scalar(con, "SELECT count(*) FROM events"))
    return Report(tuple(found), round(time.perf_counter() - started, 3), events)


def _timed(f: Finding, seconds: float) -> Finding:
    return Finding(**{**f.__dict__, "seconds": seconds})



