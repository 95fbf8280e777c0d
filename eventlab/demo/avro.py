"""The demo shop as Confluent-framed Avro (`eventlab demo --kafka ... --format avro`).

Each value is magic byte 0, schema id `SCHEMA_ID`, then the envelope as an Avro record of
`SCHEMA`: the envelope's fields with its nullable ones as unions, `timestamp` as ISO 8601 text,
and `data` / `metadata` as JSON text marked `"logicalType": "json"` (the demo's payloads differ
by event type; EventLab embeds such fields as JSON). Keys stay the entity id as UTF-8 text and
the headers are the envelope mode's. `write_schema` puts `<SCHEMA_ID>.avsc` in a folder for
`eventlab ingest-kafka --schemas DIR`.
"""

from __future__ import annotations

import json
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING

import fastavro
import pyarrow as pa
import pyarrow.compute as pc

from eventlab.demo.encodings import encode
from eventlab.schemas.wire import frame

if TYPE_CHECKING:
    from eventlab.demo.encodings import Record

SCHEMA_ID = 1
_JSON = {"type": "string", "logicalType": "json"}
SCHEMA = {
    "type": "record", "name": "ShopEvent", "namespace": "eventlab.demo",
    "fields": [
        {"name": "id", "type": ["null", "string"], "default": None},
        {"name": "type", "type": ["null", "string"], "default": None},
        {"name": "schemaVersion", "type": ["null", "int"], "default": None},
        {"name": "aggregateType", "type": ["null", "string"], "default": None},
        {"name": "aggregateId", "type": ["null", "string"], "default": None},
        {"name": "version", "type": ["null", "long"], "default": None},
        {"name": "timestamp", "type": ["null", "string"], "default": None},
        {"name": "data", "type": ["null", _JSON], "default": None},
        {"name": "metadata", "type": ["null", _JSON], "default": None},
    ],
}
_FIELDS = tuple(f["name"] for f in SCHEMA["fields"])


def write_schema(folder: str | Path) -> Path:
    """Write `<SCHEMA_ID>.avsc` into `folder` (created if needed); returns its path."""
    path = Path(folder) / f"{SCHEMA_ID}.avsc"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(SCHEMA, indent=2) + "\n", encoding="utf-8")
    return path


def chunk_records(rows: pa.Table, ts_ms: list[int]) -> tuple[list[Record], int]:
    """The Avro records of a chunk of demo rows (envelope headers), and their size in bytes."""
    import io

    parsed = fastavro.parse_schema(SCHEMA)
    _, headers = encode(rows, "envelope")
    n = rows.num_rows
    iso = pc.cast(rows["timestamp"], pa.timestamp("us", tz="UTC"))
    cols = {name: rows[name].to_pylist() for name in _FIELDS if name != "timestamp"}
    cols["timestamp"] = [None if t is None else t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                         for t in iso.to_pylist()]
    write = fastavro.schemaless_writer
    values: list[bytes] = []
    for record in zip(*(cols[name] for name in _FIELDS), strict=True):
        fo = io.BytesIO()
        write(fo, parsed, dict(zip(_FIELDS, record, strict=True)))
        values.append(frame(SCHEMA_ID, fo.getvalue()))
    keys = pc.cast(rows["aggregateId"], pa.binary()).to_pylist()
    pairs = [zip(repeat(name), (c.encode() for c in repeat(col, n)) if isinstance(col, str)
                 else pc.cast(col, pa.binary()).to_pylist()) for name, col in headers]
    header_rows = [[(h, v) for h, v in hv if v is not None] for hv in zip(*pairs, strict=True)]
    records: list[Record] = list(zip(keys, values, header_rows, ts_ms, [None] * n,
                                     strict=True))
    size = sum(map(len, values)) + sum(len(k) for k in keys if k) + sum(
        len(h) + len(v) for hv in header_rows for h, v in hv)
    return records, size
