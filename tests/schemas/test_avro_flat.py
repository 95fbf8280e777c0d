"""The batch decoder of flat Avro records (`schemas.avro_flat`) writes the text of the record
by record fastavro + orjson path byte for byte, and leaves every payload it cannot read exactly
to that path (which then names the error)."""

from __future__ import annotations

import json
import random
import re

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventlab.demo.avro import SCHEMA as DEMO_SCHEMA
from eventlab.schemas.avro import AvroDecoder, encode
from eventlab.schemas.avro_flat import decode_flat
from eventlab.schemas.model import SchemaText

FLAT = {
    "type": "record", "name": "Flat", "namespace": "t",
    "fields": [
        {"name": "s", "type": "string"},
        {"name": "ns", "type": ["null", "string"]},
        {"name": "sn", "type": ["string", "null"]},
        {"name": "i", "type": "int"},
        {"name": "l", "type": ["null", "long"]},
        {"name": "b", "type": "boolean"},
        {"name": "nb", "type": ["null", "boolean", "long"]},
        {"name": "j", "type": ["null", {"type": "string", "logicalType": "json"}]},
        {"name": "d", "type": {"type": "string", "connect.name": "io.debezium.data.Json"}},
        {"name": "quote\"d", "type": "null"},
    ],
}
TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", "plain", 'a "quoted" word', "back\\slash", "tab\tnew\nline\x00\x1f\x7f", "é ü 日本",
     "x" * 300, "\u2028"])
JSON_TEXT = st.sampled_from(['{"a": 1}', "[1, 2]", '"x"', "", "not json {", '{"é": "ü"}',
                             "x" * 200])
INT = st.integers(-(2**31), 2**31 - 1)
LONG = st.integers(-(2**63), 2**63 - 1)
RECORD = st.fixed_dictionaries({
    "s": TEXT, "ns": st.none() | TEXT, "sn": st.none() | TEXT, "i": INT,
    "l": st.none() | LONG, "b": st.booleans(), "nb": st.none() | st.booleans() | LONG,
    "j": st.none() | JSON_TEXT, "d": JSON_TEXT, "quote\"d": st.none()})


def _decoder(schema: dict) -> AvroDecoder:
    return AvroDecoder(SchemaText(id=3, schema_type="AVRO", text=json.dumps(schema)))


def _mangled(payload: bytes, rnd: random.Random) -> bytes:
    """A broken copy: cut short, bytes added, a byte changed, or invalid UTF-8 put in."""
    how = rnd.randrange(5)
    if how == 0:
        return payload[:rnd.randrange(len(payload) + 1)]
    if how == 1:
        return payload + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 4)))
    if how == 2 and payload:
        at = rnd.randrange(len(payload))
        return payload[:at] + bytes([rnd.randrange(256)]) + payload[at + 1:]
    if how == 3:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(30)))
    return payload.replace(b"plain", b"pl\xed\xa0\x80n").replace(b"x", b"\xff", 1)


def _same(decoder: AvroDecoder, payloads: list[bytes]) -> None:
    expected, errors = decoder.decode(payloads)
    text, why = decoder.decode_array(pa.array(payloads, pa.binary()))
    assert text.to_pylist() == expected
    def bare(e: dict[int, str]) -> dict[int, str]:  # fastavro names its stream's address
        return {i: re.sub(r" at 0x[0-9a-f]+", "", w) for i, w in e.items()}

    assert bare(why) == bare(errors)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(RECORD, min_size=1, max_size=30), seed=st.integers(0, 10**6))
def test_flat_records_decode_byte_for_byte_like_fastavro(records: list[dict], seed: int
                                                         ) -> None:
    decoder = _decoder(FLAT)
    assert decoder._flat is not None  # the batch path is the one under test
    good = [encode(decoder._parsed, r) for r in records]
    rnd = random.Random(seed)
    payloads = [_mangled(p, rnd) if rnd.random() < 0.4 else p for p in good]
    _same(decoder, payloads)
    text, slow = decode_flat(decoder._flat, pa.array(good, pa.binary()))
    clean = [i for i, r in enumerate(records)
             if not any(isinstance(v, str) and (any(c in v for c in '"\\') or
                        any(ord(c) < 0x20 for c in v)) for k, v in r.items() if k not in "jd")]
    assert not slow[clean].any()  # text that JSON does not escape stays on the batch path


def test_demo_events_take_the_batch_path_and_match() -> None:
    from eventlab.demo.avro import chunk_records
    from eventlab.demo.domain import generate

    rows = generate(3000, seed=7)
    records, _ = chunk_records(rows, [0] * rows.num_rows)
    decoder = _decoder(DEMO_SCHEMA)
    payloads = [value[5:] for _, value, *_ in records]
    _, slow = decode_flat(decoder._flat, pa.array(payloads, pa.binary()))
    assert not slow.any()
    _same(decoder, payloads)


@pytest.mark.parametrize("field", [
    {"type": "string", "logicalType": "uuid"}, {"type": "long", "logicalType": "timestamp-millis"},
    "double", "bytes", {"type": "enum", "name": "E", "symbols": ["A"]},
    {"type": "array", "items": "int"}, ["null", "float"],
])
def test_other_field_types_use_fastavro(field: object) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "f", "type": field}]}
    assert _decoder(schema)._flat is None


def test_a_schema_that_is_not_a_record_uses_fastavro() -> None:
    decoder = _decoder({"type": "string"})
    assert decoder._flat is None
    text, errors = decoder.decode_array(pa.array([b"\x06abc", b"\x06ab"], pa.binary()), True)
    assert text.to_pylist()[0] == b"abc" and list(errors) == [1]


def test_demo_ingested_as_avro_stores_the_events_of_the_json_demo(
        kafka_config, topic_factory, tmp_path) -> None:
    from eventlab.demo.avro import write_schema
    from eventlab.demo.produce import produce_demo
    from eventlab.ingest.kafka_ingest import ingest_kafka
    from eventlab.schemas.catalog import SchemaCatalog
    from eventlab.schemas.folder import FolderSource
    from eventlab.store import db
    from eventlab.store.eventstore import EventStore

    write_schema(tmp_path / "schemas")
    stored = []
    for fmt in ("avro", "json"):
        topic = topic_factory(1)
        produce_demo(kafka_config, topic, events=1500, seed=3, partitions=1, fmt=fmt)
        with EventStore(tmp_path / f"{fmt}.duckdb") as store:
            catalog = SchemaCatalog(store, folder=FolderSource(tmp_path / "schemas"))
            report = ingest_kafka(store, kafka_config, [topic], schemas=catalog)
            with store.reading() as cur:
                stored.append(db.rows(cur, "SELECT \"offset\", event_id, entity_id, event_type, "
                                           "seq, ts, CAST(payload AS VARCHAR) FROM events "
                                           "WHERE value IS NOT NULL ORDER BY \"offset\""))
        if fmt == "avro":
            assert sum(report.schema_records.values()) > 1400, report.summary()
    assert stored[0] == stored[1]  # tombstones left out: their ids derive from the topic
