"""Mapping presets, TOML mapping files and mapping errors: pure resolution and real ingests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from helpers_files import events, ingest, write_jsonl, write_parquet

from eventlab.errors import MappingError
from eventlab.ingest.mapping import (
    FieldRef,
    MappingSpec,
    detect_preset,
    load_spec,
    parse_ref,
    resolve,
    spec_from_dict,
)
from eventlab.store.eventstore import EventStore

# --- auto detection (pure) -------------------------------------------------------------------

@pytest.mark.parametrize(("columns", "preset"), [
    (["specversion", "id", "source", "type", "time", "data"], "cloudevents"),
    (["id", "source", "type", "subject", "time", "data"], "cloudevents"),
    (["event_id", "event_type", "aggregate_id", "occurred_at", "payload"], "envelope"),
    (["eventId", "eventType", "streamId", "timestamp", "data"], "envelope"),
    (["id", "type", "aggregateId", "time", "data", "metadata"], "envelope"),
    (["event_id", "event_type", "entity_id", "ts", "amount"], "flat"),
    (["entity_id", "event", "created_at", "correlation_id"], "flat"),
])
def test_detect_preset_from_column_names(columns: list[str], preset: str) -> None:
    assert detect_preset(columns) == preset


def test_auto_resolves_to_the_detected_preset() -> None:
    m = resolve(MappingSpec(), ["specversion", "id", "source", "type", "subject", "time",
                                "data", "traceparent"])
    assert m.preset == "cloudevents"
    assert {k: v.column for k, v in m.fields.items()} == {
        "event_id": "id", "event_type": "type", "entity_id": "subject", "ts": "time",
        "payload": "data"}
    assert m.metadata_columns == ("specversion", "source", "traceparent")


@pytest.mark.parametrize(("columns", "expected"), [
    (["event_id", "event_type", "aggregate_id", "occurred_at", "payload", "version"],
     {"event_id": "event_id", "event_type": "event_type", "entity_id": "aggregate_id",
      "ts": "occurred_at", "payload": "payload", "seq": "version"}),
    (["eventId", "eventType", "streamId", "occurred_at", "payload", "schemaVersion"],
     {"event_id": "eventId", "event_type": "eventType", "entity_id": "streamId",
      "ts": "occurred_at", "payload": "payload", "event_version": "schemaVersion"}),
])
def test_envelope_synonyms_resolve(columns: list[str], expected: dict[str, str]) -> None:
    m = resolve(MappingSpec(), columns)
    assert m.preset == "envelope"
    assert {k: v.column for k, v in m.fields.items()} == expected
    assert m.payload_columns == ()


def test_flat_payload_is_unmapped_columns_and_ids_go_to_metadata() -> None:
    m = resolve(MappingSpec(), ["event_id", "event_type", "entity_id", "ts", "amount",
                                "correlation_id", "causation_id", "currency"])
    assert m.preset == "flat"
    assert m.payload_columns == ("amount", "currency")
    assert m.metadata_columns == ("correlation_id", "causation_id")
    assert m.missing_required() == []


def test_mapping_to_dict_is_the_user_facing_form() -> None:
    m = resolve(MappingSpec(overrides={"entity_type": FieldRef(literal="order"),
                                       "ts": FieldRef(column="meta", path="$.at")}),
                ["entity_id", "event_type", "meta", "x"])
    assert m.to_dict() == {
        "preset": "flat",
        "fields": {"event_type": {"column": "event_type"}, "entity_id": {"column": "entity_id"},
                   "metadata": {"column": "meta"}, "entity_type": {"literal": "order"},
                   "ts": {"column": "meta", "path": "$.at"}},
        "payload_columns": ["x"],
    }


# --- mapping files and errors (pure) ---------------------------------------------------------

def test_parse_ref_forms() -> None:
    assert parse_ref("col", "w") == FieldRef(column="col")
    assert parse_ref("meta.a.b", "w") == FieldRef(column="meta", path="$.a.b")
    assert parse_ref({"column": "data", "path": "schema"}, "w") == \
        FieldRef(column="data", path="$.schema")
    assert parse_ref({"column": "data", "path": "$.items[0]"}, "w") == \
        FieldRef(column="data", path="$.items[0]")
    assert parse_ref({"literal": 3}, "w") == FieldRef(literal=3)


def test_load_spec_reads_column_path_and_literal(tmp_path: Path) -> None:
    f = tmp_path / "m.toml"
    f.write_text('preset = "envelope"\n[fields]\nentity_id = "aggregateId"\n'
                 'ts = "meta.occurred"\nentity_type = { literal = "order" }\n'
                 'event_version = { column = "data", path = "$.schema" }\n')
    spec = load_spec(f)
    assert spec == MappingSpec(preset="envelope", overrides={
        "entity_id": FieldRef(column="aggregateId"),
        "ts": FieldRef(column="meta", path="$.occurred"),
        "entity_type": FieldRef(literal="order"),
        "event_version": FieldRef(column="data", path="$.schema"),
    })


@pytest.mark.parametrize(("doc", "message"), [
    ({"preset": "kafka"}, "unknown preset 'kafka'; choose one of auto, cloudevents, "
                          "envelope, flat"),
    ({"fields": {"entity": "x"}}, "unknown field 'entity'; fields are event_id"),
    ({"fields": {"ts": {"column": "meta", "path": "$.a b"}}}, "bad JSON path '$.a b'"),
    ({"fields": {"ts": {"column": "meta", "path": "a[x"}}}, "bad JSON path '$.a[x'"),
    ({"fields": {"ts": {"path": "$.a"}}}, "a table needs `column`"),
    ({"fields": {"ts": 5}}, "expected a string or a table, got int"),
    ({"fields": {"ts": ""}}, "empty column name"),
    ({"mapping": {}}, "unknown keys ['mapping']"),
])
def test_spec_errors_are_mapping_errors_with_a_clear_message(doc: dict,
                                                            message: str) -> None:
    with pytest.raises(MappingError) as err:
        spec_from_dict(doc, where="m.toml")
    assert str(err.value).startswith("m.toml")
    assert message in str(err.value)


def test_bad_json_path_in_dotted_string_form_is_a_mapping_error() -> None:
    # `ts = "meta.a[x"` is the same bad path as {column="meta", path="a[x"}.
    with pytest.raises(MappingError, match=r"bad JSON path '\$\.a\[x'"):
        spec_from_dict({"fields": {"ts": "meta.a[x"}}, where="m.toml")


def test_non_string_json_path_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="fields.ts"):
        spec_from_dict({"fields": {"ts": {"column": "meta", "path": 3}}}, where="m.toml")


def test_override_of_a_column_the_input_lacks_names_it() -> None:
    spec = MappingSpec(overrides={"ts": FieldRef(column="occurred")})
    with pytest.raises(MappingError) as err:
        resolve(spec, ["entity_id", "event_type", "when"])
    assert str(err.value) == ("mapping sets ts from column 'occurred', which the input does "
                              "not have (columns: entity_id, event_type, when)")


def test_load_spec_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("preset = \n")
    with pytest.raises(MappingError, match=f"Mapping file {bad} is not valid TOML"):
        load_spec(bad)


# --- presets end to end ----------------------------------------------------------------------

CE_LINES = [
    {"specversion": "1.0", "id": "ce-1", "source": "/shop", "type": "OrderPlaced",
     "subject": "order-1", "time": "2026-11-01T10:00:00Z", "datacontenttype":
     "application/json", "data": {"total": 5, "lines": [1, 2]}, "traceparent": "00-ab"},
    {"specversion": "1.0", "id": "ce-2", "source": "/shop", "type": "OrderPaid",
     "subject": "order-1", "time": "2026-11-01T11:00:00Z", "data": {"total": 5},
     "traceparent": "00-cd"},
]


def test_cloudevents_jsonl(store: EventStore, tmp_path: Path) -> None:
    report = ingest(store, write_jsonl(tmp_path / "ce.jsonl", CE_LINES))
    assert report.mapping["preset"] == "cloudevents"
    assert (report.rows_stored, report.rows_quarantined) == (2, 0)
    ev = events(store)
    assert [(e["event_id"], e["entity_type"], e["entity_id"], e["event_type"], e["seq"])
            for e in ev] == [("ce-1", "order", "order-1", "OrderPlaced", 1),
                             ("ce-2", "order", "order-1", "OrderPaid", 2)]
    assert ev[0]["ts"] == datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert ev[0]["payload"] == {"total": 5, "lines": [1, 2]}
    assert ev[0]["metadata"]["source"] == "/shop"
    assert ev[0]["metadata"]["specversion"] == "1.0"
    assert ev[0]["metadata"]["traceparent"] == "00-ab"
    assert ev[0]["metadata"]["datacontenttype"] == "application/json"
    assert ev[1]["metadata"]["traceparent"] == "00-cd"


def test_cloudevents_parquet_with_extensions(store: EventStore, tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "ce.parquet", {
        "specversion": ["1.0", "1.0"], "id": ["a", "b"], "source": ["/bank", "/bank"],
        "type": ["Deposited", "Withdrawn"], "subject": ["acct-1", "acct-2"],
        "time": ["2026-11-01T10:00:00Z", "2026-11-01T12:30:00+02:00"],
        "data": [{"amount": 10}, {"amount": 4}], "entitytype": ["account", "account"],
        "sequence": ["7", "3"], "tenant": ["t1", "t2"]})
    report = ingest(store, f)
    assert report.mapping["preset"] == "cloudevents"
    assert report.mapping["fields"]["entity_type"] == {"column": "entitytype"}
    assert report.mapping["fields"]["seq"] == {"column": "sequence"}
    ev = events(store)
    assert [(e["event_id"], e["entity_type"], e["entity_id"], e["event_type"], e["seq"],
             e["payload"]) for e in ev] == [
        ("a", "account", "acct-1", "Deposited", 7, {"amount": 10}),
        ("b", "account", "acct-2", "Withdrawn", 3, {"amount": 4})]
    assert ev[1]["ts"] == datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    assert ev[0]["metadata"] == {"specversion": "1.0", "source": "/bank", "tenant": "t1"}


@pytest.mark.parametrize("names", [
    {"id": "event_id", "type": "event_type", "entity": "aggregate_id", "ts": "occurred_at",
     "data": "payload"},
    {"id": "eventId", "type": "eventType", "entity": "streamId", "ts": "occurred_at",
     "data": "payload"},
])
def test_envelope_synonyms_ingest(store: EventStore, tmp_path: Path,
                                  names: dict[str, str]) -> None:
    f = write_parquet(tmp_path / "env.parquet", {
        names["data"]: ['{"name": "Ann"}', '{"name": "Bo"}'],
        names["ts"]: ["2026-11-01T10:00:00Z", "2026-11-01T10:05:00Z"],
        names["entity"]: ["user-1", "user-1"],
        names["type"]: ["UserRegistered", "UserRenamed"],
        names["id"]: ["u1", "u2"],
        "version": [1, 2],
        "metadata": ['{"actor": "admin"}', None]})
    report = ingest(store, f)
    assert report.mapping["preset"] == "envelope"
    ev = events(store)
    assert [(e["event_id"], e["entity_type"], e["entity_id"], e["event_type"], e["seq"],
             e["payload"], e["metadata"]) for e in ev] == [
        ("u1", "user", "user-1", "UserRegistered", 1, {"name": "Ann"}, {"actor": "admin"}),
        ("u2", "user", "user-1", "UserRenamed", 2, {"name": "Bo"}, None)]
    assert [e["ts"] for e in ev] == [datetime(2026, 11, 1, 10, tzinfo=UTC),
                                     datetime(2026, 11, 1, 10, 5, tzinfo=UTC)]


def test_flat_ingest_payload_and_metadata(store: EventStore, tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "flat.parquet", {
        "event_id": ["f1", "f2"], "event_type": ["InvoicePaid", "InvoicePaid"],
        "entity_id": ["inv-1", "inv-2"], "ts": ["2026-11-01T10:00:00Z"] * 2,
        "amount": [12.5, 3.0], "currency": ["EUR", "USD"],
        "correlation_id": ["c1", "c2"], "causation_id": ["k1", None]})
    report = ingest(store, f)
    assert report.mapping["preset"] == "flat"
    assert report.mapping["payload_columns"] == ["amount", "currency"]
    ev = events(store)
    assert [(e["event_id"], e["entity_id"], e["payload"], e["metadata"]) for e in ev] == [
        ("f1", "inv-1", {"amount": 12.5, "currency": "EUR"},
         {"correlation_id": "c1", "causation_id": "k1"}),
        ("f2", "inv-2", {"amount": 3.0, "currency": "USD"},
         {"correlation_id": "c2", "causation_id": None})]


def test_toml_mapping_file_column_path_and_literal(store: EventStore, tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "odd.parquet", {
        "aggregateId": ["o-1", "o-2"], "kind": ["Placed", "Paid"],
        "meta": ['{"occurred": "2026-11-01T10:00:00Z", "actor": "bob"}',
                 '{"occurred": "2026-11-01T11:00:00+01:00"}'],
        "body": ['{"schema": 3, "x": 1}', '{"schema": 4}']})
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('preset = "flat"\n[fields]\nentity_id = "aggregateId"\n'
                       'event_type = "kind"\nts = "meta.occurred"\n'
                       'entity_type = { literal = "purchase" }\n'
                       'event_version = { column = "body", path = "$.schema" }\n'
                       'payload = "body"\n')
    report = ingest(store, f, spec=load_spec(mapping))
    assert report.rows_stored == 2
    assert report.mapping["fields"]["ts"] == {"column": "meta", "path": "$.occurred"}
    assert report.mapping["fields"]["entity_type"] == {"literal": "purchase"}
    ev = events(store)
    assert [(e["entity_type"], e["entity_id"], e["event_type"], e["event_version"],
             e["payload"]) for e in ev] == [
        ("purchase", "o-1", "Placed", 3, {"schema": 3, "x": 1}),
        ("purchase", "o-2", "Paid", 4, {"schema": 4})]
    assert [e["ts"] for e in ev] == [datetime(2026, 11, 1, 10, tzinfo=UTC),
                                     datetime(2026, 11, 1, 10, tzinfo=UTC)]


def test_mapping_to_a_missing_column_fails_that_file_with_the_column_named(
        store: EventStore, tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "a.parquet", {"entity_id": ["o-1"], "event_type": ["T"],
                                               "ts": ["2026-11-01T10:00:00Z"]})
    report = ingest(store, f, spec=spec_from_dict({"fields": {"ts": "occurred"}}))
    assert report.rows_stored == 0
    assert [x["file"] for x in report.files_failed] == [str(f)]
    assert "column 'occurred', which the input does not have" in \
        report.files_failed[0]["error"]


def test_no_column_for_a_required_field_fails_with_what_to_do(store: EventStore,
                                                              tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "a.parquet", {"entity_id": ["o-1"], "event_type": ["T"],
                                               "value": [1]})
    report = ingest(store, f)
    assert report.files_read == 0
    err = report.files_failed[0]["error"]
    assert "the flat mapping finds no column for ts" in err
    assert "--" not in err  # the fact only: the page and the command line say what to do
    assert report.files_failed[0]["needs"] == "mapping"


def test_explicit_preset_overrides_detection(store: EventStore, tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "a.parquet", {
        "id": ["x"], "type": ["T"], "entity_id": ["o-1"], "ts": [1793527200000],
        "data": ['{"a": 1}']},
        types={"ts": pa.int64()})
    report = ingest(store, f, spec=MappingSpec(preset="flat"))
    assert report.mapping["preset"] == "flat"
    [ev] = events(store)
    assert ev["payload"] == {"data": '{"a": 1}'}
    assert ev["ts"] == datetime(2026, 11, 1, 10, tzinfo=UTC)
