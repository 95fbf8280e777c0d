"""The poison records the demo plants between its events on Kafka (exports of at least 100
events; `POISON_KINDS`).

Five extra records, the k-th (k = 1..5) sent just before demo event number floor(k * N / 6)
(0-based, N = --events), so the k-th has send index floor(k * N / 6) + k - 1 (for 50,000
events: 8333, 16667, 25002, 33336, 41670). Each carries the header `poison` = its kind; its
timestamp is the previous event's:

  not-json      key b"poison-not-json", value `NOT_JSON_VALUE` (a JSON document cut short).
  non-utf8-key  key `NON_UTF8_KEY` (b"poison-\xff\xfe-key"); value: a valid event of the mode.
  tombstone     key = the id of the latest order event before it (an existing order), value
                null: "order deleted" on a compacted topic.
  null-header   key b"poison-null-header"; a valid event of the mode whose headers also hold
                ("trace_id", null) - a header with a null value (length -1 on the wire; sent
                raw by `kafka.producer.RecordSender`).
  huge          key b"poison-huge"; a valid event of the mode padded to exactly
                `HUGE_VALUE_BYTES` (1,000,000) bytes by a "blob" string inside its data.

The valid poison events (type "PoisonRecordWritten", entity "poison-<kind>", version 1,
aggregateType "poison") sit in streams of their own, so demo counts and anomalies are unchanged.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pyarrow as pa

from eventlab.demo.anomalies import MIN_EVENTS
from eventlab.demo.encodings import chunk_records
from eventlab.demo.table import SCHEMA

if TYPE_CHECKING:
    from eventlab.demo.encodings import Record
    from eventlab.kafka.producer import Headers

POISON_KINDS = ("not-json", "non-utf8-key", "tombstone", "null-header", "huge")
POISON_HEADER = "poison"
NULL_HEADER = "trace_id"
NOT_JSON_VALUE = b'{"id": "poison-not-json", "type": "OrderPlaced", "data": {"items": [{"sku": "SKU'
NON_UTF8_KEY = b"poison-\xff\xfe-key"
HUGE_VALUE_BYTES = 1_000_000
POISON_TYPE = "PoisonRecordWritten"
_NAMESPACE = uuid.UUID("6f1d3c1e-5b7a-4c2e-9f0a-3e4d5c6b7a80")


# -- poison records ------------------------------------------------------------------------------

def poison_positions(events: int) -> dict[int, str]:
    """Demo event index -> the poison kind sent just before it (empty under 100 events)."""
    if events < MIN_EVENTS:
        return {}
    return {k * events // 6: kind for k, kind in enumerate(POISON_KINDS, start=1)}


def _poison_event(kind: str, seed: int, ts_ms: int, mode: str,
                  pad: int | None = None) -> tuple[bytes, Headers]:
    """A valid event of `mode` in the stream poison-<kind>; `pad`: a blob of that many bytes."""
    data = {"kind": kind, "note": "a poison record planted by the EventLab demo producer"}
    if pad is not None:
        data["blob"] = ("0123456789abcdef" * (pad // 16 + 1))[:pad]
    meta = {"correlation_id": str(uuid.uuid5(_NAMESPACE, f"{seed}:{kind}:correlation")),
            "causation_id": None, "actor": "system:demo-producer", "source": "demo-producer"}
    row = pa.table({
        "id": [str(uuid.uuid5(_NAMESPACE, f"{seed}:{kind}"))], "type": [POISON_TYPE],
        "schemaVersion": [1], "aggregateType": ["poison"], "aggregateId": [f"poison-{kind}"],
        "version": [1], "timestamp": [ts_ms * 1000],
        "data": [json.dumps(data, separators=(",", ":"))],
        "metadata": [json.dumps(meta, separators=(",", ":"))],
    }, schema=SCHEMA)
    (_, value, headers, _, _), = chunk_records(row, [ts_ms], mode)[0]
    assert value is not None
    return value, headers


def poison_record(kind: str, seed: int, ts_ms: int, order_id: bytes | None, mode: str) -> Record:
    mark: Headers = [(POISON_HEADER, kind.encode())]
    if kind == "not-json":
        return b"poison-not-json", NOT_JSON_VALUE, mark, ts_ms, kind
    if kind == "tombstone":
        return order_id or b"order-000001", None, mark, ts_ms, kind
    key = NON_UTF8_KEY if kind == "non-utf8-key" else f"poison-{kind}".encode()
    value, headers = _poison_event(kind, seed, ts_ms, mode, None if kind != "huge" else 0)
    if kind == "huge":
        value, headers = _poison_event(kind, seed, ts_ms, mode, HUGE_VALUE_BYTES - len(value))
    if kind == "null-header":
        headers = [*headers, (NULL_HEADER, None)]
    return key, value, [*headers, *mark], ts_ms, kind
