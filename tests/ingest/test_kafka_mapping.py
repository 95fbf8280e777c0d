"""Decoding raw Kafka batches in DuckDB: the relation's exact SQL, and the per-batch mapping.

`relation` is checked as text and params (JSON keys, CloudEvents binary mode, the flat `@rest`
case), then run on an in-memory store over a small Arrow table in the reader's `RAW_SCHEMA`.
`resolve_kafka` and the column helpers are pure and need no database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from eventlab.errors import MappingError
from eventlab.ingest import kafka_mapping as km
from eventlab.ingest.mapping import FieldRef, Mapping, MappingSpec
from eventlab.kafka.reader import RAW_SCHEMA
from eventlab.store import db
from eventlab.store.eventstore import EventStore

RECORD_MS = 1_700_000_000_000
RECORD_TIME = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
CE_HEADERS = ["ce_id", "ce_source", "ce_specversion", "ce_subject", "ce_time", "ce_type"]

_FIXED = ('__text AS "@value", TRY(decode(key)) AS "@key", '
          'to_timestamp(timestamp_ms / 1000.0) AS "@timestamp", ')
_TAIL = ("value IS NULL AS __tombstone, 'kafka' AS __source, \"offset\" AS __row, topic, "
         '"partition", "offset", key, value, headers, timestamp_ms, timestamp_type')
_DECODED = "(SELECT *, TRY(decode(value)) AS __text FROM kb)"


def _header_sql(name: str) -> str:
    return (f"TRY(decode(list_filter(headers, lambda h: h.key = ?)[1].value)) "
            f'AS "@header:{name}", ')


def _record(offset: int, key: bytes | None, value: Any, headers: dict[str, bytes] | None = None,
            timestamp_ms: int = RECORD_MS) -> dict[str, Any]:
    """One raw record; a dict `value` is sent as JSON, bytes as they are, None: a tombstone."""
    raw = json.dumps(value).encode() if isinstance(value, dict) else value
    return {"topic": "orders", "partition": 0, "offset": offset, "key": key, "value": raw,
            "headers": [{"key": k, "value": v} for k, v in (headers or {}).items()],
            "timestamp_ms": timestamp_ms, "timestamp_type": 0,
            "serialized_value_size": -1 if raw is None else len(raw)}


@pytest.fixture()
def cur() -> db.Connection:
    return EventStore(":memory:").cursor()


def _register(cur: db.Connection, records: list[dict[str, Any]]) -> None:
    db.register(cur, "kb", pa.Table.from_pylist(records, schema=RAW_SCHEMA))


def _decoded(cur: db.Connection, sql_params: tuple[str, list[str]], columns: str) -> list[tuple]:
    sql, params = sql_params
    return db.rows(cur, f"SELECT {columns} FROM {sql} ORDER BY __row", params)


# --- relation: exact SQL --------------------------------------------------------------------

def test_relation_with_json_keys_and_a_header_exact_sql() -> None:
    sql, params = km.relation("kb", ["id", "type"], ["event_type"], ce_binary=False)
    assert sql == (
        '(SELECT unnest(__doc), __text AS "@value", TRY(decode(key)) AS "@key", '
        'to_timestamp(timestamp_ms / 1000.0) AS "@timestamp", '
        'TRY(decode(list_filter(headers, lambda h: h.key = ?)[1].value)) '
        'AS "@header:event_type", (value IS NOT NULL AND __doc IS NULL) AS __invalid, '
        "value IS NULL AS __tombstone, 'kafka' AS __source, \"offset\" AS __row, topic, "
        '"partition", "offset", key, value, headers, timestamp_ms, timestamp_type '
        "FROM (SELECT *, CASE WHEN starts_with(ltrim(__text), '{') THEN "
        "TRY(json_transform(__text, '{\"id\": \"JSON\", \"type\": \"JSON\"}')) END AS __doc "
        "FROM (SELECT *, TRY(decode(value)) AS __text FROM kb)))")
    assert params == ["event_type"]


def test_relation_binds_one_param_per_header_in_order() -> None:
    sql, params = km.relation("kb", ["a"], ["b", "a"], ce_binary=False)
    assert params == ["b", "a"]
    assert sql.count("?") == 2
    assert sql.index('"@header:b"') < sql.index('"@header:a"')


def test_relation_in_cloudevents_binary_mode_exact_sql() -> None:
    sql, params = km.relation("kb", ["ignored"], ["ce_id"], ce_binary=True)
    assert sql == (f"(SELECT {_FIXED}{_header_sql('ce_id')}"
                   f"(value IS NOT NULL AND __text IS NULL) AS __invalid, {_TAIL} "
                   f"FROM (SELECT *, NULL AS __doc FROM {_DECODED}))")
    assert params == ["ce_id"]


def test_relation_with_no_keys_only_checks_for_a_json_object() -> None:
    sql, params = km.relation("kb", [], [], ce_binary=False)
    assert sql == (f"(SELECT {_FIXED}(value IS NOT NULL AND __doc IS NULL) AS __invalid, "
                   f"{_TAIL} FROM (SELECT *, CASE WHEN starts_with(ltrim(__text), '{{') AND "
                   f"json_valid(__text) THEN {{'_': 1}} END AS __doc FROM {_DECODED}))")
    assert params == []


def test_relation_flat_rest_is_the_document_without_the_mapped_keys() -> None:
    sql, params = km.relation("kb", ["entity_id", "ts"], [], ce_binary=False,
                              rest_without=["entity_id", "ts"])
    rest = ("CASE WHEN __doc IS NOT NULL THEN json_merge_patch(__text, "
            "'{\"entity_id\": null, \"ts\": null}') END AS \"@rest\", ")
    assert sql == (f"(SELECT unnest(__doc), {rest}{_FIXED}"
                   f"(value IS NOT NULL AND __doc IS NULL) AS __invalid, {_TAIL} "
                   "FROM (SELECT *, CASE WHEN starts_with(ltrim(__text), '{') THEN "
                   "TRY(json_transform(__text, '{\"entity_id\": \"JSON\", \"ts\": \"JSON\"}')) "
                   f"END AS __doc FROM {_DECODED}))")
    assert params == []


def test_relation_quotes_a_key_with_a_single_quote() -> None:
    sql, _ = km.relation("kb", ["it's"], [], ce_binary=False)
    assert "'{\"it''s\": \"JSON\"}'" in sql


# --- relation: on DuckDB --------------------------------------------------------------------

def test_relation_decodes_documents_keys_times_and_headers(cur: db.Connection) -> None:
    _register(cur, [
        _record(0, b"order-1", {"id": "e1", "n": 5}, {"event_type": b"Placed"}),
        _record(1, b"order-2", b"  {\"id\": \"e2\"}", {"event_type": b"A", "x": b"y"}),
        _record(2, None, {"id": "e3"}, {"event_type": b"\xff"}, timestamp_ms=RECORD_MS + 250),
    ])
    got = _decoded(cur, km.relation("kb", ["id"], ["event_type"], ce_binary=False),
                   'id, "@key", "@timestamp", "@header:event_type", __invalid, __tombstone, '
                   "__source, __row, topic")
    assert got == [
        ('"e1"', "order-1", RECORD_TIME, "Placed", False, False, "kafka", 0, "orders"),
        ('"e2"', "order-2", RECORD_TIME, "A", False, False, "kafka", 1, "orders"),
        ('"e3"', None, RECORD_TIME.replace(microsecond=250000), None, False, False, "kafka",
         2, "orders"),
    ]


def test_relation_flags_values_that_are_not_json_objects(cur: db.Connection) -> None:
    _register(cur, [_record(0, b"k", b"not json"), _record(1, b"k", b"[1, 2]"),
                    _record(2, b"k", b"{\"id\": 1"), _record(3, b"k", b"\xff\xfe"),
                    _record(4, b"k", None), _record(5, b"k", {"id": 1})])
    for keys in (["id"], []):
        got = _decoded(cur, km.relation("kb", keys, [], ce_binary=False),
                       "__invalid, __tombstone")
        assert got == [(True, False)] * 4 + [(False, True), (False, False)], keys


def test_relation_first_header_of_a_repeated_name_wins(cur: db.Connection) -> None:
    record = _record(0, b"k", {"a": 1})
    record["headers"] = [{"key": "h", "value": b"first"}, {"key": "h", "value": b"second"}]
    _register(cur, [record])
    assert _decoded(cur, km.relation("kb", [], ["h"], False), '"@header:h"') == [("first",)]


def test_relation_rest_drops_only_the_named_keys(cur: db.Connection) -> None:
    _register(cur, [_record(0, b"k", {"entity_id": "a", "amount": 3, "note": "x"}),
                    _record(1, b"k", b"oops")])
    got = _decoded(cur, km.relation("kb", ["entity_id"], [], False, rest_without=["entity_id"]),
                   'entity_id, "@rest"')
    assert [(e, None if r is None else json.loads(r)) for e, r in got] == [
        ('"a"', {"amount": 3, "note": "x"}), (None, None)]


def test_relation_in_binary_mode_keeps_the_value_as_text(cur: db.Connection) -> None:
    _register(cur, [_record(0, b"k", b"plain data", {"ce_id": b"1"}),
                    _record(1, b"k", b"\xff")])
    got = _decoded(cur, km.relation("kb", [], ["ce_id"], ce_binary=True),
                   '"@value", "@header:ce_id", __invalid')
    assert got == [("plain data", "1", False), (None, None, True)]


# --- header_columns, doc_columns, is_ce_binary ----------------------------------------------

def _mapping(**fields: str) -> Mapping:
    return Mapping(preset="flat", fields={k: FieldRef(column=v) for k, v in fields.items()},
                   metadata_columns=("@header:ce_source", "actor"))


def test_header_and_doc_columns_split_what_a_mapping_reads() -> None:
    mapping = _mapping(event_type="@header:type", entity_id="@key", ts="time",
                       payload="@rest", event_id="id")
    assert km.header_columns(mapping) == ["ce_source", "type"]
    assert km.doc_columns(mapping) == ["actor", "id", "time"]


def test_columns_of_literals_and_paths() -> None:
    mapping = Mapping(preset="flat", fields={
        "entity_type": FieldRef(literal="order"),
        "entity_id": FieldRef(column="doc", path="$.who"),
        "event_type": FieldRef(column="@header:t"),
    })
    assert km.doc_columns(mapping) == ["doc"]
    assert km.header_columns(mapping) == ["t"]


@pytest.mark.parametrize(("preset", "headers", "expected"), [
    ("auto", ["ce_specversion", "ce_id"], True),
    ("cloudevents", ["ce_specversion"], True),
    ("envelope", ["ce_specversion"], False),
    ("flat", ["ce_specversion"], False),
    ("auto", ["ce_id", "ce_type"], False),
    ("cloudevents", [], False),
])
def test_is_ce_binary(preset: str, headers: list[str], expected: bool) -> None:
    assert km.is_ce_binary(MappingSpec(preset=preset), headers) is expected


# --- resolve_kafka --------------------------------------------------------------------------

def _columns(mapping: Mapping) -> dict[str, Any]:
    return {name: ref.column if ref.column else ref.literal
            for name, ref in mapping.fields.items()}


def test_kafka_defaults_fill_what_the_document_lacks() -> None:
    mapping = km.resolve_kafka(MappingSpec(), ["amount", "status"],
                               ["event_type", "event_id", "other"])
    assert _columns(mapping) == {"event_type": "@header:event_type",
                                 "event_id": "@header:event_id", "payload": "@rest",
                                 "entity_id": "@key", "ts": "@timestamp"}
    assert mapping.preset == "flat" and mapping.payload_columns == ()
    assert mapping.notes == ("event_type from the Kafka header 'event_type'",
                             "event_id from the Kafka header 'event_id'",
                             "entity_id from the Kafka key",
                             "event time from the Kafka record timestamp")


def test_document_fields_win_over_headers_key_and_record_time() -> None:
    mapping = km.resolve_kafka(MappingSpec(), ["type", "aggregateId", "timestamp", "data"],
                               ["event_type", "eventId"])
    assert _columns(mapping) == {"event_type": "type", "entity_id": "aggregateId",
                                 "ts": "timestamp", "payload": "data",
                                 "event_id": "@header:eventId"}
    assert mapping.preset == "envelope"
    assert mapping.notes == ("event_id from the Kafka header 'eventId'",)


def test_header_defaults_take_the_first_candidate_present() -> None:
    mapping = km.resolve_kafka(MappingSpec(), ["entity_id"], ["type", "eventType"])
    assert mapping.fields["event_type"] == FieldRef(column="@header:eventType")


def test_cloudevents_binary_takes_attributes_from_ce_headers() -> None:
    mapping = km.resolve_kafka(MappingSpec(), ["ignored"], [*CE_HEADERS, "traceparent"])
    assert mapping.preset == "cloudevents-binary"
    assert _columns(mapping) == {"event_id": "@header:ce_id", "event_type": "@header:ce_type",
                                 "entity_id": "@header:ce_subject", "ts": "@header:ce_time",
                                 "payload": "@value"}
    assert mapping.metadata_columns == ("@header:ce_source", "@header:ce_specversion")


def test_cloudevents_binary_without_subject_or_time_uses_key_and_record_time() -> None:
    mapping = km.resolve_kafka(MappingSpec(), [], ["ce_specversion", "ce_type", "ce_id"])
    assert mapping.fields["entity_id"] == FieldRef(column="@key")
    assert mapping.fields["ts"] == FieldRef(column="@timestamp")
    assert "entity_id from the Kafka key" in mapping.notes


def test_cloudevents_binary_mapping_says_so_in_its_notes() -> None:
    mapping = km.resolve_kafka(MappingSpec(), [], CE_HEADERS)
    assert "CloudEvents binary mode: attributes from ce_ headers" in mapping.notes


def test_overrides_win_and_may_name_headers_and_pseudo_columns() -> None:
    spec = MappingSpec(overrides={"entity_id": FieldRef(column="@header:tenant"),
                                  "ts": FieldRef(column="@timestamp"),
                                  "entity_type": FieldRef(literal="order")})
    mapping = km.resolve_kafka(spec, ["entity_id", "ts", "event_type"], ["tenant"])
    assert mapping.fields["entity_id"] == FieldRef(column="@header:tenant")
    assert mapping.fields["ts"] == FieldRef(column="@timestamp")
    assert mapping.fields["entity_type"] == FieldRef(literal="order")


def test_an_override_naming_a_column_the_records_lack_is_an_error() -> None:
    spec = MappingSpec(overrides={"entity_id": FieldRef(column="customer")})
    with pytest.raises(MappingError, match=r"customer.*keys: id, type; headers: h1"):
        km.resolve_kafka(spec, ["id", "type"], ["h1"])
    header_spec = MappingSpec(overrides={"event_type": FieldRef(column="@header:missing")})
    with pytest.raises(MappingError, match="keys: none; headers: none"):
        km.resolve_kafka(header_spec, [], [])


def test_binary_mode_records_have_no_document_keys_to_override() -> None:
    spec = MappingSpec(overrides={"entity_id": FieldRef(column="subject")})
    with pytest.raises(MappingError, match="subject"):
        km.resolve_kafka(spec, ["subject"], ["ce_specversion"])


# --- the whole batch: resolve, relate, map ---------------------------------------------------

def _canonical(cur: db.Connection, spec: MappingSpec) -> list[dict[str, Any]]:
    """What `kafka_ingest` does to a registered batch, up to the mapped rows."""
    sel, _ = km.mapped_batch(cur, "kb", spec)
    return db.arrow(cur, f"SELECT * FROM ({sel.text}) ORDER BY __row", sel.params).to_pylist()


def test_batch_of_flat_documents_with_key_header_and_tombstone(cur: db.Connection) -> None:
    _register(cur, [_record(0, b"order-1", {"id": "e1", "amount": 3}, {"event_type": b"Paid"}),
                    _record(1, b"order-1", None),
                    _record(2, b"order-2", b"not json", {"event_type": b"Paid"})])
    rows = _canonical(cur, MappingSpec())
    good, tombstone, bad = rows
    assert (good["event_id_src"], good["entity_id"], good["event_type"], good["ts"]) == (
        "e1", "order-1", "Paid", RECORD_TIME)
    assert json.loads(good["payload"]) == {"amount": 3} and good["__reason"] is None
    assert (tombstone["entity_id"], tombstone["event_type"], tombstone["is_delete_src"],
            tombstone["__reason"]) == ("order-1", "(tombstone)", True, None)
    assert bad["__reason"] == "invalid JSON" and bad["offset"] == 2


def test_batch_in_cloudevents_binary_mode(cur: db.Connection) -> None:
    ce = {"ce_specversion": b"1.0", "ce_id": b"c1", "ce_type": b"OrderPlaced",
          "ce_subject": b"order-9", "ce_time": b"2024-03-05T10:00:00Z", "ce_source": b"/shop"}
    _register(cur, [_record(0, b"ignored", b"{\"total\": 5}", ce)])
    (row,) = _canonical(cur, MappingSpec())
    assert (row["event_id_src"], row["entity_id"], row["event_type"]) == (
        "c1", "order-9", "OrderPlaced")
    assert row["ts"] == datetime(2024, 3, 5, 10, tzinfo=UTC) and row["__reason"] is None
    assert json.loads(row["payload"]) == {"total": 5}
    assert json.loads(row["metadata"]) == {"source": "/shop", "specversion": "1.0"}


# --- plain_json: the per-record mode query skipped when no record can be CloudEvents --------

_DOC = {"event_id": "e-1", "entity_id": "order-1", "event_type": "OrderPlaced",
        "ts": "2025-03-05T14:03:00Z"}


@pytest.mark.parametrize(("value", "headers", "preset", "expected"), [
    (_DOC, {"content-type": b"application/json", "n": b"1"}, "auto", True),
    (_DOC, {"ce_specversion": b"1.0"}, "auto", False),
    (_DOC, {"cloudEvents:specversion": b"1.0"}, "cloudevents", False),
    (_DOC, {"Content-Type": b"Application/CloudEvents+json"}, "auto", False),
    ({**_DOC, "specversion": "1.0"}, {}, "auto", False),
    ({**_DOC, "specversion": "1.0"}, {}, "cloudevents", True),  # no sniffing: not auto
    ({**_DOC, "specversion": "1.0"}, {"ce_specversion": b"1.0"}, "envelope", True),
    (None, {}, "auto", True),
])
def test_plain_json_agrees_with_the_per_record_mode(
        cur: db.Connection, value: Any, headers: dict[str, bytes], preset: str,
        expected: bool) -> None:
    records = [_record(0, b"k", _DOC), _record(1, b"k", value, headers)]
    raw = pa.Table.from_pylist(records, schema=RAW_SCHEMA)
    spec = MappingSpec(preset=preset)
    assert km.plain_json(raw, spec) is expected
    _register(cur, records)
    modes = {r[0] for r in db.rows(cur, f"SELECT {km.mode_sql(spec)} FROM kb")}
    if expected:
        assert modes == {"json"}
    queries: list[str] = []
    _, by_topic = km.decoded_batch(_Recorder(cur, queries), "kb", spec, raw=raw)
    assert {t: set(m) for t, m in by_topic.items()} == {
        t: set(m) for t, m in km.decoded_batch(cur, "kb", spec)[1].items()}
    assert any("GROUP BY ALL" in q for q in queries) is not expected  # the mode query


_CE = json.dumps({**_DOC, "specversion": "1.0"}).encode()


@pytest.mark.parametrize(("value", "decoded", "expected"), [
    (b"\x00\x00\x00\x00\x01" + _CE, json.dumps(_DOC).encode(), True),  # raw bytes not read
    (_CE, None, False),  # not decoded: the raw value is what the sniff reads
    (b"\x00\x00\x00\x00\x01", _CE, False),
    (json.dumps(_DOC).encode(), None, True),
])
def test_plain_json_of_a_framed_batch_reads_what_the_mode_query_reads(
        cur: db.Connection, value: bytes, decoded: bytes | None, expected: bool) -> None:
    records = [_record(0, b"k", _DOC), _record(1, b"k", value)]
    raw = pa.Table.from_pylist(records, schema=RAW_SCHEMA).append_column(
        pa.field("decoded", pa.binary()),
        pa.array([json.dumps(_DOC).encode(), decoded], pa.binary()))
    spec = MappingSpec(preset="auto")
    assert km.plain_json(raw, spec, framed=True) is expected
    db.register(cur, "kb", raw)
    modes = {r[0] for r in db.rows(cur, f"SELECT {km.mode_sql(spec, framed=True)} FROM kb")}
    assert (modes == {"json"}) is expected


class _Recorder:
    """A cursor that notes each statement it runs."""

    def __init__(self, cur: db.Connection, queries: list[str]) -> None:
        self._cur, self._queries = cur, queries

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)

    def execute(self, sql: str, *args: Any) -> Any:
        self._queries.append(sql)
        return self._cur.execute(sql, *args)


def test_may_contain_never_misses_a_value_that_holds_the_needle() -> None:
    import random

    rng = random.Random(7)
    needle = b'"specversion"'
    for _ in range(200):
        values = [rng.choice([None, b"", b'{"a": 1}', b'{"specversion": 1}', b'"spec',
                              b'version"', b"x" * rng.randrange(30)])
                  for _ in range(rng.randrange(1, 12))]
        arr = pa.array(values, pa.binary())
        start = rng.randrange(len(values))
        part = arr.slice(start, rng.randrange(len(values) - start + 1))
        column = pa.chunked_array([part, arr], pa.binary())
        expected = any(v is not None and needle in v for v in part.to_pylist() + values)
        assert km._may_contain(column, needle) or not expected
    # the window of a slice is searched, not the buffer around it
    arr = pa.array([b'{"specversion": 1}', b"{}", b'{"specversion": 1}'], pa.binary())
    assert not km._may_contain(pa.chunked_array([arr.slice(1, 1)]), needle)
    assert km._may_contain(pa.chunked_array([arr.slice(2, 1)]), needle)
    assert km._may_contain(pa.chunked_array([arr.slice(1, 1), arr.slice(2, 1)]), needle)
    assert km._may_contain(pa.chunked_array([pa.array(['{"specversion": 1}'])]), needle)
