"""Builders of small export files (Parquet, JSONL, CSV) in a test's tmp_path, and store peeks.

Files are written with pyarrow (Parquet, CSV) or as exact bytes (JSONL), so a test controls
column types, column order and every byte of a bad line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from eventlab.ingest.file_ingest import IngestReport, ingest_paths
from eventlab.ingest.mapping import MappingSpec
from eventlab.store import db
from eventlab.store.eventstore import EventStore

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)

EVENT_FIELDS = ("event_id", "entity_type", "entity_id", "event_type", "event_version", "seq",
                "ts", "payload", "metadata", "is_delete", "source", "offset", "ts_assumed_utc")


def _table(data: dict[str, Sequence[Any]] | pa.Table,
           types: dict[str, pa.DataType] | None = None) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    types = types or {}
    return pa.table({name: pa.array(list(values), types.get(name))
                     for name, values in data.items()})


def write_parquet(path: Path, data: dict[str, Sequence[Any]] | pa.Table,
                  types: dict[str, pa.DataType] | None = None) -> Path:
    """Write columns (name -> values, in this order) as one Parquet file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(_table(data, types), path)
    return path


def write_csv(path: Path, data: dict[str, Sequence[Any]] | pa.Table,
              types: dict[str, pa.DataType] | None = None) -> Path:
    """Write columns as a CSV file with a header (None becomes an empty field)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(_table(data, types), path)
    return path


def write_jsonl(path: Path, lines: Sequence[dict[str, Any] | str | bytes]) -> Path:
    """Write one line per item: dicts as compact JSON, str/bytes exactly as given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for item in lines:
        if isinstance(item, dict):
            out.append(json.dumps(item, separators=(",", ":")).encode())
        elif isinstance(item, str):
            out.append(item.encode())
        else:
            out.append(item)
    path.write_bytes(b"\n".join(out) + b"\n")
    return path


def write_random_bytes(path: Path, size: int = 512) -> Path:
    """A file of random bytes (for a '.parquet' that is not Parquet)."""
    path.write_bytes(os.urandom(size))
    return path


def write_truncated_copy(src: Path, dst: Path) -> Path:
    """The first half of `src` (a half-written file)."""
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


def flat_events(n: int, *, start: int = 0, entities: int = 3,
                minutes: int = 1) -> dict[str, list[Any]]:
    """`n` flat-preset rows e{start}.. over `entities` entities, one every `minutes` minutes."""
    ids = range(start, start + n)
    return {
        "event_id": [f"e{i}" for i in ids],
        "entity_id": [f"order-{i % entities}" for i in ids],
        "event_type": ["OrderNoted"] * n,
        "ts": [f"2026-11-01T{10 + (i * minutes) // 60:02d}:{(i * minutes) % 60:02d}:00Z"
               for i in ids],
        "n": list(ids),
    }


def ingest(store: EventStore, *paths: Path | str, spec: MappingSpec | None = None,
           fmt: str | None = None) -> IngestReport:
    """Ingest the given paths into `store`."""
    return ingest_paths(store, [str(p) for p in paths], spec=spec, fmt=fmt)


def events(store: EventStore, where: str = "", params: Sequence[Any] = ()) -> list[dict]:
    """Stored events as dicts (payload and metadata parsed), by source then offset."""
    cur = store.cursor()
    try:
        cols = ", ".join(f'"{c}"' for c in EVENT_FIELDS)
        rows = db.rows(cur, f"SELECT {cols} FROM events {where} "
                            f'ORDER BY source, "offset"', params)
    finally:
        cur.close()
    out = []
    for row in rows:
        d = dict(zip(EVENT_FIELDS, row, strict=True))
        for key in ("payload", "metadata"):
            d[key] = None if d[key] is None else json.loads(d[key])
        out.append(d)
    return out


def quarantine(store: EventStore) -> list[dict]:
    """Quarantined rows as dicts, by source then offset."""
    cur = store.cursor()
    try:
        rows = db.rows(cur, 'SELECT source, "offset", reason, detail, raw FROM quarantine '
                            'ORDER BY source, "offset"')
    finally:
        cur.close()
    return [dict(zip(("source", "offset", "reason", "detail", "raw"), r, strict=True))
            for r in rows]


def count(store: EventStore, table: str) -> int:
    """Row count of one of the store's own tables (`table` is a fixed name from a test)."""
    cur = store.cursor()
    try:
        return int(db.scalar(cur, f"SELECT count(*) FROM {table}"))
    finally:
        cur.close()
