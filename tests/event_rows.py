"""Events straight into a store, written once for every test: `event(**fields)` fills what the
`events` table requires, `add_events(store, rows)` inserts them in one transaction.

Fields are the table's columns. JSON columns (`payload`, `metadata`) take a JSON text or any
other value, which is serialised (`None` stays SQL NULL); times take a datetime or ISO text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from eventlab.store import db
from eventlab.store.eventstore import EventStore

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
_TIME = pa.timestamp("us", tz="UTC")
TYPES: dict[str, pa.DataType] = {
    "event_version": pa.int32(), "seq": pa.int64(), "offset": pa.int64(),
    "partition": pa.int32(), "kafka_ts_type": pa.int16(), "ts": _TIME, "kafka_ts": _TIME,
    "ingested_at": _TIME, "is_delete": pa.bool_(), "ts_assumed_utc": pa.bool_(),
    "key": pa.binary(), "value": pa.binary(),
    "headers": pa.list_(pa.struct([("key", pa.string()), ("value", pa.binary())])),
}
"""Arrow types of the non-text columns (every other column is text)."""


def _time(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def event(**fields: Any) -> dict[str, Any]:
    """One row: the given columns, plus defaults for those the table requires."""
    row: dict[str, Any] = {"entity_type": "order", "entity_id": "order-1",
                           "event_type": "Changed", "seq": 1, "ts": T0, "source": "test.jsonl",
                           "is_delete": False}
    row.update(fields)
    row.setdefault("offset", row["seq"])
    row.setdefault("event_id", f"{row['entity_id']}/{row['seq']}/{row['offset']}")
    for name in ("payload", "metadata"):
        if name in row and row[name] is not None and not isinstance(row[name], str):
            row[name] = json.dumps(row[name])
    for name in ("ts", "kafka_ts", "ingested_at"):
        if name in row:
            row[name] = _time(row[name])
    return row


def add_events(store: EventStore, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert `rows` (each completed by `event`) into `events` in one transaction."""
    full = [event(**r) for r in rows]
    if not full:
        return
    names = list(dict.fromkeys(name for r in full for name in r))
    if "ingested_at" in names:
        now = datetime.now(UTC)
        for r in full:
            r.setdefault("ingested_at", now)
    table = pa.table({n: pa.array([r.get(n) for r in full], TYPES.get(n, pa.string()))
                      for n in names})
    cols = ", ".join(f'"{n}"' for n in names)
    with store.transaction() as cur:
        db.register(cur, "__event_rows", table)
        try:
            cur.execute(f"INSERT INTO events ({cols}) SELECT {cols} FROM __event_rows")
        finally:
            db.unregister(cur, "__event_rows")
